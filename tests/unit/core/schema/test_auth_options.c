/* test_auth_options.c -- unit tests of core/schema/auth_options.h: the
 * `mfa` and `authAlert` options of an auth collection (PocketBase's
 * defaults, a partial object over the current values, what a client may
 * not send, what storage is trusted with, deep copies), and the collection
 * checks that need the whole collection (two auth methods for MFA). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "base/alloc.h"
#include "base/jsonw.h"
#include "core/problem.h"
#include "core/schema/auth_options.h"
#include "core/schema/collection_json.h"

static json_t *parse_json(const char *text)
{
    json_error_t err;
    json_t *j = json_loads(text, JSON_DECODE_ANY, &err);
    if (!j)
        fail_msg("bad test JSON: %s: %s", err.text, text);
    return j;
}

/* The code of the error at a dotted path of p ("mfa.duration"), or NULL. */
static const char *code_at(const struct core_problem *p, const char *path)
{
    json_t *node = p->data;
    char key[64];
    const char *s = path;
    while (node) {
        const char *dot = strchr(s, '.');
        size_t n = dot ? (size_t)(dot - s) : strlen(s);
        memcpy(key, s, n);
        key[n] = '\0';
        node = json_object_get(node, key);
        if (!dot)
            return json_string_value(json_object_get(node, "code"));
        s = dot + 1;
    }
    return NULL;
}

/* Applies text to o as a client would; returns whether p got errors. */
static bool mfa_from_client(const char *text, struct core_mfa_options *o, struct core_problem *p)
{
    json_t *in = parse_json(text);
    core_mfa_options_parse(in, o, true, p);
    json_decref(in);
    return core_problem_has_fields(p);
}

static void test_mfa_defaults_are_pocketbases(void **state)
{
    (void)state;
    struct core_mfa_options o = {0};
    struct core_problem p;
    core_problem_init(&p);
    core_mfa_options_parse(NULL, &o, true, &p);
    assert_false(core_problem_has_fields(&p));
    assert_false(o.is_enabled);
    assert_int_equal(o.duration_s, 600);
    assert_string_equal(o.rule, "");
    core_mfa_options_cleanup(&o);
    core_problem_cleanup(&p);
}

static void test_mfa_partial_object_keeps_the_rest(void **state)
{
    (void)state;
    struct core_mfa_options o = {0};
    struct core_problem p;
    core_problem_init(&p);
    assert_false(mfa_from_client("{\"enabled\":true,\"duration\":120,\"rule\":\"verified = true\"}",
                                 &o, &p));
    assert_false(mfa_from_client("{\"duration\":300}", &o, &p));
    assert_true(o.is_enabled);
    assert_int_equal(o.duration_s, 300);
    assert_string_equal(o.rule, "verified = true");
    assert_false(mfa_from_client("{\"rule\":null}", &o, &p));
    assert_string_equal(o.rule, "");
    assert_false(mfa_from_client("null", &o, &p)); /* null: nothing changes */
    assert_true(o.is_enabled);
    core_mfa_options_cleanup(&o);
    core_problem_cleanup(&p);
}

static void test_mfa_refuses_bad_values_from_a_client(void **state)
{
    (void)state;
    static const struct {
        const char *in, *path, *code;
    } cases[] = {
        {"{\"enabled\":true,\"duration\":9}", "mfa.duration",
         "validation_min_greater_equal_than_required"},
        {"{\"enabled\":true,\"duration\":86401}", "mfa.duration",
         "validation_max_less_equal_than_required"},
        {"{\"enabled\":true,\"duration\":0}", "mfa.duration", "validation_required"},
        {"{\"duration\":\"600\"}", "mfa.duration", "validation_invalid_value"},
        {"{\"duration\":1.5}", "mfa.duration", "validation_invalid_value"},
        {"{\"enabled\":1}", "mfa.enabled", "validation_invalid_value"},
        {"{\"rule\":7}", "mfa.rule", "validation_invalid_value"},
        {"[1]", "mfa", "validation_invalid_value"},
        {"\"on\"", "mfa", "validation_invalid_value"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct core_mfa_options o = {0};
        struct core_problem p;
        core_problem_init(&p);
        if (!mfa_from_client(cases[i].in, &o, &p))
            fail_msg("accepted %s", cases[i].in);
        const char *code = code_at(&p, cases[i].path);
        if (!code || strcmp(code, cases[i].code) != 0)
            fail_msg("%s: %s is %s, want %s", cases[i].in, cases[i].path, code ? code : "none",
                     cases[i].code);
        core_mfa_options_cleanup(&o);
        core_problem_cleanup(&p);
    }
    /* Off, the duration is not checked (PocketBase's When(enabled)). */
    struct core_mfa_options o = {0};
    struct core_problem p;
    core_problem_init(&p);
    assert_false(mfa_from_client("{\"enabled\":false,\"duration\":3}", &o, &p));
    assert_int_equal(o.duration_s, 3);
    /* ...and turned on later without a good one, it is. */
    assert_true(mfa_from_client("{\"enabled\":true}", &o, &p));
    assert_string_equal(code_at(&p, "mfa.duration"), "validation_min_greater_equal_than_required");
    core_mfa_options_cleanup(&o);
    core_problem_cleanup(&p);
}

static void test_stored_values_are_trusted(void **state)
{
    (void)state;
    struct core_mfa_options o = {0};
    struct core_auth_alert_options a = {0};
    struct core_problem p;
    core_problem_init(&p);
    json_t *in = parse_json("{\"enabled\":true,\"duration\":5}");
    core_mfa_options_parse(in, &o, false, &p);
    json_decref(in);
    in = parse_json("{\"emailTemplate\":{\"subject\":\"\"}}");
    core_auth_alert_options_parse(in, &a, false, &p);
    json_decref(in);
    assert_false(core_problem_has_fields(&p));
    assert_int_equal(o.duration_s, 5);
    /* A stored template part that no mail could use (blank, several lines)
     * loads as the default: core_mail_template_parse, shared by every
     * template. */
    assert_string_equal(a.email.subject, "Login from a new location");
    core_mfa_options_cleanup(&o);
    core_auth_alert_options_cleanup(&a);
    core_problem_cleanup(&p);
}

static void test_alert_defaults_and_template_checks(void **state)
{
    (void)state;
    struct core_auth_alert_options a = {0};
    struct core_problem p;
    core_problem_init(&p);
    core_auth_alert_options_parse(NULL, &a, true, &p);
    assert_true(a.is_enabled); /* PocketBase's default */
    assert_string_equal(a.email.subject, "Login from a new location");
    assert_non_null(strstr(a.email.body, "{ALERT_INFO}"));
    json_t *in =
        parse_json("{\"enabled\":false,\"emailTemplate\":{\"body\":\"<p>{APP_NAME}</p>\"}}");
    core_auth_alert_options_parse(in, &a, true, &p);
    json_decref(in);
    assert_false(core_problem_has_fields(&p));
    assert_false(a.is_enabled);
    assert_string_equal(a.email.subject, "Login from a new location");
    assert_string_equal(a.email.body, "<p>{APP_NAME}</p>");
    static const struct {
        const char *in, *path, *code;
    } cases[] = {
        {"{\"emailTemplate\":{\"subject\":\"\"}}", "authAlert.emailTemplate.subject",
         "validation_required"},
        {"{\"emailTemplate\":{\"body\":\"\"}}", "authAlert.emailTemplate.body",
         "validation_required"},
        {"{\"emailTemplate\":{\"subject\":\"a\\nBcc: x@example.com\"}}",
         "authAlert.emailTemplate.subject", "validation_invalid_value"},
        {"{\"emailTemplate\":{\"subject\":1}}", "authAlert.emailTemplate.subject",
         "validation_invalid_value"},
        {"{\"emailTemplate\":\"x\"}", "authAlert.emailTemplate", "validation_invalid_value"},
        {"{\"enabled\":\"yes\"}", "authAlert.enabled", "validation_invalid_value"},
        {"true", "authAlert", "validation_invalid_value"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct core_auth_alert_options b = {0};
        struct core_problem q;
        core_problem_init(&q);
        in = parse_json(cases[i].in);
        core_auth_alert_options_parse(in, &b, true, &q);
        json_decref(in);
        const char *code = code_at(&q, cases[i].path);
        if (!code || strcmp(code, cases[i].code) != 0)
            fail_msg("%s: %s is %s, want %s", cases[i].in, cases[i].path, code ? code : "none",
                     cases[i].code);
        core_auth_alert_options_cleanup(&b);
        core_problem_cleanup(&q);
    }
    /* A copy owns its strings. */
    struct core_auth_alert_options c;
    core_auth_alert_options_copy(&c, &a);
    core_auth_alert_options_cleanup(&a);
    assert_string_equal(c.email.body, "<p>{APP_NAME}</p>");
    core_auth_alert_options_cleanup(&c);
    core_problem_cleanup(&p);
}

/* Parses a collection as a create of a client. */
static enum rc collection(const char *text, struct core_collection **out, struct core_problem *p)
{
    static const struct core_schema empty = {0};
    json_t *in = parse_json(text);
    core_problem_init(p);
    *out = NULL;
    enum rc rc = core_collection_from_json(in, NULL, &empty, "2026-01-01 00:00:00.000Z", out, p);
    json_decref(in);
    return rc;
}

static void test_mfa_needs_two_auth_methods(void **state)
{
    (void)state;
    struct core_collection *c;
    struct core_problem p;
    assert_int_equal(
        collection("{\"name\":\"m1\",\"type\":\"auth\",\"mfa\":{\"enabled\":true}}", &c, &p),
        RC_INVALID);
    assert_string_equal(code_at(&p, "mfa.enabled"), "validation_mfa_not_enough_auths");
    core_problem_cleanup(&p);
    assert_int_equal(collection("{\"name\":\"m2\",\"type\":\"auth\",\"mfa\":{\"enabled\":true},"
                                "\"passwordAuth\":{\"enabled\":false},\"otp\":{\"enabled\":true},"
                                "\"oauth2\":{\"enabled\":true}}",
                                &c, &p),
                     RC_OK);
    core_problem_cleanup(&p);
    /* What is stored comes back as it was written. */
    struct buf b;
    buf_init(&b, 1 << 20);
    struct jsonw w;
    jsonw_init(&w, &b);
    core_collection_write_json(&w, c, true);
    assert_int_equal(jsonw_finish(&w), RC_OK);
    json_t *j = json_loadb(b.data, b.len, 0, NULL);
    assert_non_null(j);
    assert_true(json_is_true(json_object_get(json_object_get(j, "mfa"), "enabled")));
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "mfa"), "duration")),
                     600);
    assert_true(json_is_true(json_object_get(json_object_get(j, "authAlert"), "enabled")));
    struct core_collection *again = NULL;
    assert_int_equal(core_collection_from_json(j, NULL, NULL, "", &again, &p), RC_OK);
    assert_true(again->mfa.is_enabled);
    assert_string_equal(again->auth_alert.email.subject, c->auth_alert.email.subject);
    json_decref(j);
    buf_cleanup(&b);
    core_collection_free(again);
    core_collection_free(c);
    core_problem_cleanup(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mfa_defaults_are_pocketbases),
        cmocka_unit_test(test_mfa_partial_object_keeps_the_rest),
        cmocka_unit_test(test_mfa_refuses_bad_values_from_a_client),
        cmocka_unit_test(test_stored_values_are_trusted),
        cmocka_unit_test(test_alert_defaults_and_template_checks),
        cmocka_unit_test(test_mfa_needs_two_auth_methods),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
