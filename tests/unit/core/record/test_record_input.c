/* test_record_input.c -- unit tests of the password fields in core/record_input.h
 * (issue #11): a sent value never enters values, becomes a secret checked
 * against min/max (in characters, 0 = 71)/pattern/required, an empty or
 * absent one keeps the stored hash, modifiers do nothing, a hidden one is
 * dropped for guests, hashing makes argon2id strings that verify, and
 * core_write_job_set_hashes() puts them where the write stores them. Also
 * the schema's option checks (core_collection_from_json). Hashes use
 * m=64 KiB t=1 to stay fast. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "base/secure.h"
#include "core/schema/field_pattern.h"
#include "core/schema/collection_json.h"
#include "core/credential/password.h"
#include "core/record/record_input.h"
#include "core/record/record_write.h"

static const struct core_password_params FAST = {64, 1};

/* A PHC string made with FAST, to play the stored hash. */
static const char STORED[] = "$argon2id$v=19$m=64,t=1,p=1$hmBKAOLnMKcU3UyDy2LWnA$"
                             "9PZ1GyEZG9Xy5xHSdykt+QpQfmPyTOlANJYH7qGZo18";

static struct core_field field(const char *name, enum core_field_type type)
{
    struct core_field f = {0};
    f.name = (char *)name;
    f.id = (char *)name;
    f.type = type;
    f.max_select = 1;
    f.pattern = (char *)"";
    f.autogenerate_pattern = (char *)"";
    f.min_date = (char *)"";
    f.max_date = (char *)"";
    f.collection_id = (char *)"";
    return f;
}

static struct core_field fields[8];
static struct core_collection vault;

/* vault: id, label text, f password min 3, pin password min 4 max 6 pattern
 * ^[0-9]+$, req password required, sealed password hidden. */
static void make_vault(void)
{
    size_t n = 0;
    fields[n] = field("id", CORE_FIELD_TEXT);
    fields[n++].is_primary_key = true;
    fields[n++] = field("label", CORE_FIELD_TEXT);
    fields[n] = field("f", CORE_FIELD_PASSWORD);
    fields[n].has_min = true;
    fields[n++].min = 3;
    fields[n] = field("pin", CORE_FIELD_PASSWORD);
    fields[n].has_min = fields[n].has_max = true;
    fields[n].min = 4;
    fields[n].max = 6;
    fields[n++].pattern = (char *)"^[0-9]+$";
    fields[n] = field("req", CORE_FIELD_PASSWORD);
    fields[n++].is_required = true;
    fields[n] = field("sealed", CORE_FIELD_PASSWORD);
    fields[n++].is_hidden = true;
    vault = (struct core_collection){.id = (char *)"pbc_vault",
                                     .name = (char *)"vault",
                                     .type = CORE_COLLECTION_BASE,
                                     .fields = fields,
                                     .field_count = n};
}

static struct core_auth guest_auth, su_auth = {.is_superuser = true};

/* Builds body (JSON text) as a create (current NULL) or an update of current
 * (JSON text); returns the rc, with in and p for the caller to clean up. */
static enum rc build(const char *body_text, const char *current_text, bool is_su,
                     struct core_record_input *in, struct core_problem *p)
{
    struct core_request r = {.auth = is_su ? &su_auth : &guest_auth};
    json_t *body = json_loads(body_text, 0, NULL);
    json_t *current = current_text ? json_loads(current_text, 0, NULL) : NULL;
    assert_non_null(body);
    core_problem_init(p);
    enum rc rc = core_record_input_build(&r, &vault, body, current, in, p);
    json_decref(body);
    json_decref(current);
    return rc;
}

static const char *code_of(const struct core_problem *p, const char *field_name)
{
    return json_string_value(json_object_get(json_object_get(p->data, field_name), "code"));
}

static void test_record_input_password_value_never_enters_values(void **state)
{
    struct core_record_input in;
    struct core_problem p;
    assert_int_equal(build("{\"f\":\"abc-secret\",\"req\":\"r3q\"}", NULL, false, &in, &p), RC_OK);
    assert_string_equal(json_string_value(json_object_get(in.values, "f")), "");
    assert_string_equal(json_string_value(json_object_get(in.values, "req")), "");
    assert_int_equal(in.secret_count, 2);
    assert_string_equal(in.secrets[0].field->name, "f");
    assert_string_equal(in.secrets[0].plain, "abc-secret");
    assert_null(in.secrets[0].hash);
    assert_null(in.password); /* not an auth collection */
    core_record_input_cleanup(&in);
    core_problem_cleanup(&p);
}

static void test_record_input_password_below_min_is_refused(void **state)
{
    struct core_record_input in;
    struct core_problem p;
    assert_int_equal(build("{\"f\":\"ab\",\"req\":\"r3q\"}", NULL, false, &in, &p), RC_INVALID);
    assert_string_equal(code_of(&p, "f"), "validation_min_text_constraint");
    core_record_input_cleanup(&in);
    core_problem_cleanup(&p);
}

static void test_record_input_password_max_counts_characters_default_71(void **state)
{
    char body[512];
    char value[200];
    struct core_record_input in;
    struct core_problem p;
    /* 71 two-byte characters: 142 bytes, within max */
    value[0] = '\0';
    for (int i = 0; i < 71; i++)
        strcat(value, "\xc3\xa9");
    snprintf(body, sizeof(body), "{\"f\":\"%s\",\"req\":\"r3q\"}", value);
    assert_int_equal(build(body, NULL, false, &in, &p), RC_OK);
    core_record_input_cleanup(&in);
    core_problem_cleanup(&p);
    memset(value, 'x', 72);
    value[72] = '\0';
    snprintf(body, sizeof(body), "{\"f\":\"%s\",\"req\":\"r3q\"}", value);
    assert_int_equal(build(body, NULL, false, &in, &p), RC_INVALID);
    assert_string_equal(code_of(&p, "f"), "validation_max_text_constraint");
    core_record_input_cleanup(&in);
    core_problem_cleanup(&p);
}

static void test_record_input_password_own_max_and_pattern(void **state)
{
    struct core_record_input in;
    struct core_problem p;
    assert_int_equal(build("{\"pin\":\"1234567\",\"req\":\"r3q\"}", NULL, false, &in, &p),
                     RC_INVALID);
    assert_string_equal(code_of(&p, "pin"), "validation_max_text_constraint");
    core_record_input_cleanup(&in);
    core_problem_cleanup(&p);
    assert_int_equal(build("{\"pin\":\"12ab\",\"req\":\"r3q\"}", NULL, false, &in, &p), RC_INVALID);
    assert_string_equal(code_of(&p, "pin"), "validation_invalid_format");
    core_record_input_cleanup(&in);
    core_problem_cleanup(&p);
}

static void test_record_input_password_required_met_by_value_or_stored_hash(void **state)
{
    char current[512];
    struct core_record_input in;
    struct core_problem p;
    assert_int_equal(build("{\"label\":\"x\"}", NULL, false, &in, &p), RC_INVALID);
    assert_string_equal(code_of(&p, "req"), "validation_required");
    core_record_input_cleanup(&in);
    core_problem_cleanup(&p);
    snprintf(current, sizeof(current),
             "{\"id\":\"abcdefghijklmno\",\"label\":\"\",\"f\":\"%s\",\"pin\":\"\",\"req\":\"%s\","
             "\"sealed\":\"\"}",
             STORED, STORED);
    assert_int_equal(build("{\"label\":\"y\"}", current, false, &in, &p), RC_OK);
    core_record_input_cleanup(&in);
    core_problem_cleanup(&p);
}

static void test_record_input_password_update_keeps_the_stored_hash(void **state)
{
    char current[512];
    snprintf(current, sizeof(current),
             "{\"id\":\"abcdefghijklmno\",\"label\":\"\",\"f\":\"%s\",\"pin\":\"\",\"req\":\"%s\","
             "\"sealed\":\"\"}",
             STORED, STORED);
    static const char *const bodies[] = {"{}",
                                         "{\"f\":\"\"}",
                                         "{\"f\":null}",
                                         "{\"f+\":\"zzzz\"}",
                                         "{\"+f\":\"zzzz\"}",
                                         "{\"f-\":\"zzzz\"}"};
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        struct core_record_input in;
        struct core_problem p;
        assert_int_equal(build(bodies[i], current, false, &in, &p), RC_OK);
        assert_int_equal(in.secret_count, 0);
        assert_string_equal(json_string_value(json_object_get(in.values, "f")), STORED);
        core_record_input_cleanup(&in);
        core_problem_cleanup(&p);
    }
}

static void test_record_input_password_a_hash_sent_back_is_not_taken_as_given(void **state)
{
    char body[512];
    struct core_record_input in;
    struct core_problem p;
    snprintf(body, sizeof(body), "{\"f\":\"%s\",\"req\":\"r3q\"}", STORED);
    /* 107 characters: over max 71, so refused; never a stored value either way */
    assert_int_equal(build(body, NULL, true, &in, &p), RC_INVALID);
    assert_string_equal(code_of(&p, "f"), "validation_max_text_constraint");
    assert_string_equal(json_string_value(json_object_get(in.values, "f")), "");
    core_record_input_cleanup(&in);
    core_problem_cleanup(&p);
}

static void test_record_input_hidden_password_dropped_for_guests(void **state)
{
    struct core_record_input in;
    struct core_problem p;
    assert_int_equal(build("{\"sealed\":\"guest-value\",\"req\":\"r3q\"}", NULL, false, &in, &p),
                     RC_OK);
    assert_int_equal(in.secret_count, 1); /* req only */
    core_record_input_cleanup(&in);
    core_problem_cleanup(&p);
    assert_int_equal(build("{\"sealed\":\"su-value\",\"req\":\"r3q\"}", NULL, true, &in, &p),
                     RC_OK);
    assert_int_equal(in.secret_count, 2);
    core_record_input_cleanup(&in);
    core_problem_cleanup(&p);
}

static void test_record_input_hash_verifies_and_job_gets_it(void **state)
{
    struct core_record_input in;
    struct core_problem p;
    assert_int_equal(build("{\"f\":\"abc-secret\",\"req\":1234}", NULL, false, &in, &p), RC_OK);
    assert_string_equal(in.secrets[1].plain, "1234"); /* numbers are text, as PocketBase casts */
    assert_int_equal(core_record_input_hash(&in, FAST), RC_OK);
    assert_int_equal(core_password_verify(STR_LIT("abc-secret"), str_from_cstr(in.secrets[0].hash)),
                     RC_OK);
    assert_int_equal(core_password_verify(STR_LIT("1234"), str_from_cstr(in.secrets[1].hash)),
                     RC_OK);
    /* values still hold no secret: the loop keeps them while the pool hashes */
    assert_string_equal(json_string_value(json_object_get(in.values, "f")), "");
    struct core_write_job job = {.kind = CORE_WRITE_CREATE, .values = json_incref(in.values)};
    core_write_job_set_hashes(&job, &in);
    assert_string_equal(json_string_value(json_object_get(job.values, "f")), in.secrets[0].hash);
    assert_string_equal(json_string_value(json_object_get(job.hashes, "req")), in.secrets[1].hash);
    core_write_job_cleanup(&job);
    core_record_input_cleanup(&in);
    core_problem_cleanup(&p);
}

static void test_record_input_hash_refuses_bad_params_and_keeps_no_hash(void **state)
{
    struct core_record_input in;
    struct core_problem p;
    assert_int_equal(build("{\"f\":\"abc-secret\",\"req\":\"r3q\"}", NULL, false, &in, &p), RC_OK);
    assert_int_equal(core_record_input_hash(&in, (struct core_password_params){1, 1}), RC_INVALID);
    assert_null(in.secrets[0].hash);
    assert_null(in.secrets[1].hash);
    core_record_input_cleanup(&in);
    core_problem_cleanup(&p);
}

static void test_record_input_has_secret_names_password_fields_only(void **state)
{
    json_t *a = json_pack("{s:s}", "f", "x");
    json_t *b = json_pack("{s:s, s:s}", "label", "x", "f+", "y");
    assert_true(core_record_input_has_secret(&vault, a));
    assert_false(core_record_input_has_secret(&vault, b));
    json_decref(a);
    json_decref(b);
}

/* Creates a collection with one password field given as JSON; returns the
 * code of the error at fields.*.<key>, "" when there is none (and then the
 * collection must be valid). */
static const char *option_error(const char *field_json, const char *key, char *code, size_t n)
{
    char text[512];
    snprintf(text, sizeof(text), "{\"name\":\"probe\",\"fields\":[%s]}", field_json);
    json_t *in = json_loads(text, 0, NULL);
    struct core_schema empty = {0};
    struct core_collection *c = NULL;
    struct core_problem p;
    core_problem_init(&p);
    enum rc rc = core_collection_from_json(in, NULL, &empty, "", &c, &p);
    code[0] = '\0';
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(p.data, "fields"), k, v)
    {
        const char *got = json_string_value(json_object_get(json_object_get(v, key), "code"));
        if (got)
            snprintf(code, n, "%s", got);
    }
    if (!code[0])
        assert_int_equal(rc, RC_OK);
    core_collection_free(c);
    core_problem_cleanup(&p);
    json_decref(in);
    return code;
}

static void test_collection_password_options_are_enforced_or_refused(void **state)
{
    char code[64];
    const char *pw = "{\"name\":\"p\",\"type\":\"password\"";
    char f[256];
    snprintf(f, sizeof(f), "%s,\"min\":72}", pw);
    assert_string_equal(option_error(f, "min", code, sizeof(code)),
                        "validation_max_less_equal_than_required");
    snprintf(f, sizeof(f), "%s,\"min\":-1}", pw);
    assert_string_equal(option_error(f, "min", code, sizeof(code)),
                        "validation_min_greater_equal_than_required");
    snprintf(f, sizeof(f), "%s,\"max\":72}", pw);
    assert_string_equal(option_error(f, "max", code, sizeof(code)),
                        "validation_max_less_equal_than_required");
    snprintf(f, sizeof(f), "%s,\"min\":8,\"max\":5}", pw);
    assert_string_equal(option_error(f, "max", code, sizeof(code)),
                        "validation_min_greater_equal_than_required");
    snprintf(f, sizeof(f), "%s,\"cost\":10}", pw);
    assert_string_equal(option_error(f, "cost", code, sizeof(code)), "validation_invalid_value");
    snprintf(f, sizeof(f), "%s,\"pattern\":\"(ab\"}", pw);
    assert_string_equal(option_error(f, "pattern", code, sizeof(code)), "validation_invalid_regex");
    snprintf(f, sizeof(f), "%s,\"min\":1,\"max\":71,\"cost\":0,\"pattern\":\"^a\"}", pw);
    assert_string_equal(option_error(f, "min", code, sizeof(code)), "");
}

int main(void)
{
    if (secure_init()) {
        fputs("secure_init failed\n", stderr);
        return 1;
    }
    make_vault();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_record_input_password_value_never_enters_values),
        cmocka_unit_test(test_record_input_password_below_min_is_refused),
        cmocka_unit_test(test_record_input_password_max_counts_characters_default_71),
        cmocka_unit_test(test_record_input_password_own_max_and_pattern),
        cmocka_unit_test(test_record_input_password_required_met_by_value_or_stored_hash),
        cmocka_unit_test(test_record_input_password_update_keeps_the_stored_hash),
        cmocka_unit_test(test_record_input_password_a_hash_sent_back_is_not_taken_as_given),
        cmocka_unit_test(test_record_input_hidden_password_dropped_for_guests),
        cmocka_unit_test(test_record_input_hash_verifies_and_job_gets_it),
        cmocka_unit_test(test_record_input_hash_refuses_bad_params_and_keeps_no_hash),
        cmocka_unit_test(test_record_input_has_secret_names_password_fields_only),
        cmocka_unit_test(test_collection_password_options_are_enforced_or_refused),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    core_field_pattern_cleanup();
    return failed;
}
