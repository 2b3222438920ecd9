/* test_oauth2.c -- unit tests of core/schema/oauth2.h: the provider table,
 * the `oauth2` options of an auth collection parsed, validated at their
 * field paths, written without the client secret except for storage, and a
 * secret kept when an update omits it; the user-info shapes of each
 * provider. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/jsonw.h"
#include "base/utf8.h"
#include "core/problem.h"
#include "core/schema/oauth2.h"

static bool has_name_or_avatar(const void *ctx, const char *name)
{
    (void)ctx;
    return strcmp(name, "name") == 0 || strcmp(name, "avatar") == 0;
}

static void parse(struct core_oauth2_options *o, const char *text, struct core_problem *p)
{
    json_t *in = json_loads(text, 0, NULL);
    assert_non_null(in);
    core_problem_init(p);
    core_oauth2_options_parse(in, o, p);
    core_oauth2_check_mapped(o, has_name_or_avatar, NULL, p);
    json_decref(in);
}

static char *write_text(const struct core_oauth2_options *o, bool with_secrets)
{
    struct buf b;
    buf_init(&b, 1 << 16);
    struct jsonw w;
    jsonw_init(&w, &b);
    jsonw_object_begin(&w);
    core_oauth2_options_write(&w, o, with_secrets);
    jsonw_object_end(&w);
    assert_int_equal(jsonw_finish(&w), RC_OK);
    char *s = xstrndup(b.data, b.len);
    buf_cleanup(&b);
    return s;
}

static bool has_field_error(const struct core_problem *p, const char *path, const char *code)
{
    /* data is nested: {"oauth2": {"providers": {"0": {"name": {...}}}}} */
    json_t *at = p->data;
    char copy[128];
    snprintf(copy, sizeof(copy), "%s", path);
    for (char *save = NULL, *part = strtok_r(copy, ".", &save); part && at;
         part = strtok_r(NULL, ".", &save))
        at = json_object_get(at, part);
    const char *got = json_string_value(json_object_get(at, "code"));
    return got && strcmp(got, code) == 0;
}

static void test_provider_table(void **state)
{
    (void)state;
    const char *names[] = {"oidc", "google", "apple", "github", "microsoft", "facebook"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        const struct core_oauth2_provider *p = core_oauth2_provider_find(names[i]);
        assert_non_null(p);
        assert_string_equal(p->name, names[i]);
        assert_non_null(p->map);
    }
    assert_null(core_oauth2_provider_find("nosuch"));
    assert_null(core_oauth2_provider_find(NULL));
    assert_string_equal(core_oauth2_provider_find("oidc")->auth_url, ""); /* configured */
    /* Apple: no user-info endpoint, its keys and issuer, the form_post answer */
    const struct core_oauth2_provider *apple = core_oauth2_provider_find("apple");
    assert_string_equal(apple->user_info_url, "");
    assert_string_equal(apple->jwks_url, "https://appleid.apple.com/auth/keys");
    assert_string_equal(apple->issuers[0], "https://appleid.apple.com");
    assert_null(apple->issuers[1]);
    assert_string_equal(apple->response_mode, "form_post");
    assert_true(apple->has_id_token);
    assert_false(core_oauth2_provider_find("github")->has_id_token);
}

/* `extra` holds the settings the provider reads; they are stored, written
 * back, copied, and decide whether id_token sign-in is possible. */
static void test_extra_settings(void **state)
{
    (void)state;
    struct core_oauth2_options o = {0};
    struct core_problem p;
    parse(&o,
          "{\"providers\":[{\"name\":\"oidc\",\"clientId\":\"c\",\"clientSecret\":\"s\","
          "\"authURL\":\"https://idp/a\",\"tokenURL\":\"https://idp/t\","
          "\"extra\":{\"jwksURL\":\"https://idp/keys\",\"issuers\":[\"https://idp\"],"
          "\"audiences\":[\"ios\",\"android\"]}},"
          "{\"name\":\"oidc2\",\"clientId\":\"c\",\"clientSecret\":\"s\","
          "\"extra\":{\"discoveryURL\":\"https://idp/.well-known/openid-configuration\"}},"
          "{\"name\":\"oidc3\",\"clientId\":\"c\",\"clientSecret\":\"s\","
          "\"authURL\":\"https://idp/a\",\"tokenURL\":\"https://idp/t\"},"
          "{\"name\":\"google\",\"clientId\":\"c\",\"clientSecret\":\"s\","
          "\"extra\":{\"audiences\":[\"ios.apps.googleusercontent.com\"]}},"
          "{\"name\":\"github\",\"clientId\":\"c\",\"clientSecret\":\"s\"}]}",
          &p);
    if (core_problem_has_fields(&p)) {
        char *d = json_dumps(p.data, 0);
        fail_msg("%s", d);
    }
    core_problem_cleanup(&p);
    const struct core_oauth2_config *oidc = core_oauth2_config_find(&o, "oidc");
    assert_string_equal(oidc->jwks_url, "https://idp/keys");
    assert_int_equal(oidc->issuer_count, 1);
    assert_string_equal(oidc->issuers[0], "https://idp");
    assert_int_equal(oidc->audience_count, 2);
    assert_string_equal(oidc->audiences[1], "android");
    assert_string_equal(oidc->discovery_url, "");
    assert_true(core_oauth2_config_is_id_token_ready(oidc));
    const struct core_oauth2_config *disc = core_oauth2_config_find(&o, "oidc2");
    assert_string_equal(disc->discovery_url, "https://idp/.well-known/openid-configuration");
    assert_string_equal(disc->auth_url, ""); /* discovery's */
    assert_true(core_oauth2_config_is_id_token_ready(disc));
    /* no keys, no issuers: its id_token is checked only as the token endpoint's answer */
    assert_false(core_oauth2_config_is_id_token_ready(core_oauth2_config_find(&o, "oidc3")));
    assert_true(core_oauth2_config_is_id_token_ready(core_oauth2_config_find(&o, "google")));
    assert_false(core_oauth2_config_is_id_token_ready(core_oauth2_config_find(&o, "github")));
    char *pub = write_text(&o, false);
    assert_non_null(strstr(pub, "\"extra\":{\"jwksURL\":\"https://idp/keys\",\"issuers\":"
                                "[\"https://idp\"],\"audiences\":[\"ios\",\"android\"]}"));
    assert_non_null(strstr(pub, "\"name\":\"github\",\"clientId\":\"c\",\"authURL\":\"\","));
    /* what is stored parses back to the same settings (the schema's load) */
    char *stored = write_text(&o, true);
    struct core_oauth2_options back = {0};
    char wrapped[8192];
    snprintf(wrapped, sizeof(wrapped), "%s", stored + strlen("{\"oauth2\":"));
    xfree(stored);
    wrapped[strlen(wrapped) - 1] = '\0';
    parse(&back, wrapped, &p);
    assert_false(core_problem_has_fields(&p));
    core_problem_cleanup(&p);
    assert_string_equal(core_oauth2_config_find(&back, "oidc")->audiences[0], "ios");
    core_oauth2_options_cleanup(&back);
    /* the copy owns its own settings */
    struct core_oauth2_options copy = {0};
    core_oauth2_options_copy(&copy, &o);
    core_oauth2_options_cleanup(&o);
    const struct core_oauth2_config *c = core_oauth2_config_find(&copy, "oidc");
    assert_string_equal(c->jwks_url, "https://idp/keys");
    assert_string_equal(c->issuers[0], "https://idp");
    core_oauth2_options_cleanup(&copy);
    xfree(pub);
}

static void test_parse_write_and_secret(void **state)
{
    (void)state;
    struct core_oauth2_options o = {0};
    struct core_problem p;
    parse(&o,
          "{\"enabled\":true,\"mappedFields\":{\"name\":\"name\",\"avatarURL\":\"avatar\"},"
          "\"providers\":[{\"name\":\"google\",\"clientId\":\"cid\",\"clientSecret\":\"S3CRET\","
          "\"pkce\":false,\"extra\":{}}]}",
          &p);
    assert_false(core_problem_has_fields(&p));
    core_problem_cleanup(&p);
    assert_true(o.is_enabled);
    assert_int_equal(o.provider_count, 1);
    const struct core_oauth2_config *g = core_oauth2_config_find(&o, "google");
    assert_non_null(g);
    assert_false(core_oauth2_config_is_pkce(g));
    char *pub = write_text(&o, false);
    assert_null(strstr(pub, "S3CRET"));
    assert_null(strstr(pub, "clientSecret"));
    assert_non_null(strstr(pub, "\"pkce\":false"));
    assert_non_null(strstr(pub, "\"extra\":null")); /* {} carries nothing */
    assert_non_null(strstr(pub, "\"avatarURL\":\"avatar\""));
    char *stored = write_text(&o, true);
    assert_non_null(strstr(stored, "\"clientSecret\":\"S3CRET\""));
    /* an update that omits the secret keeps it */
    parse(&o, "{\"providers\":[{\"name\":\"google\",\"clientId\":\"cid2\"}]}", &p);
    assert_false(core_problem_has_fields(&p));
    core_problem_cleanup(&p);
    g = core_oauth2_config_find(&o, "google");
    assert_string_equal(g->client_secret, "S3CRET");
    assert_string_equal(g->client_id, "cid2");
    assert_true(core_oauth2_config_is_pkce(g)); /* null again: google's default */
    /* a copy is deep */
    struct core_oauth2_options copy = {0};
    core_oauth2_options_copy(&copy, &o);
    core_oauth2_options_cleanup(&o);
    assert_string_equal(core_oauth2_config_find(&copy, "google")->client_secret, "S3CRET");
    core_oauth2_options_cleanup(&copy);
    xfree(pub);
    xfree(stored);
}

static void test_validation_errors(void **state)
{
    (void)state;
    struct core_oauth2_options o = {0};
    struct core_problem p;
    parse(&o,
          "{\"mappedFields\":{\"name\":\"nosuch\"},\"providers\":[{\"name\":\"nosuch\"},"
          "{\"name\":\"github\",\"clientId\":\"\",\"clientSecret\":\"x\"},"
          "{\"name\":\"oidc\",\"clientId\":\"a\",\"clientSecret\":\"b\",\"authURL\":\"ftp://x\"},"
          "{\"name\":\"github\",\"clientId\":\"a\",\"clientSecret\":\"b\"}]}",
          &p);
    assert_true(has_field_error(&p, "oauth2.mappedFields.name", "validation_missing_field"));
    assert_true(has_field_error(&p, "oauth2.providers.0.name", "validation_invalid_provider"));
    assert_true(has_field_error(&p, "oauth2.providers.1.clientId", "validation_required"));
    assert_true(has_field_error(&p, "oauth2.providers.2.authURL", "validation_is_url"));
    assert_true(has_field_error(&p, "oauth2.providers.2.tokenURL", "validation_required"));
    assert_true(has_field_error(&p, "oauth2.providers.3.name", "validation_duplicated_provider"));
    core_problem_cleanup(&p);
    core_oauth2_options_cleanup(&o);
    parse(&o, "{\"providers\":{}}", &p);
    assert_true(has_field_error(&p, "oauth2.providers", "validation_invalid_value"));
    core_problem_cleanup(&p);
    core_oauth2_options_cleanup(&o);
}

static void map(const char *provider, const char *info_text, struct core_oauth2_user *u);

/* Wrong types are refused at their path, never taken as absent; an `extra`
 * key the provider does not read is refused by name, a known one of the
 * wrong shape at its path; a list longer than the table is
 * refused before any work; non-objects in the list are refused. In every case
 * the options keep a valid state. */
static void test_bad_input_is_refused(void **state)
{
    (void)state;
    static const struct {
        const char *in, *path, *code;
    } cases[] = {
        {"\"on\"", "oauth2", "validation_invalid_value"},
        {"[]", "oauth2", "validation_invalid_value"},
        {"{\"enabled\":\"yes\"}", "oauth2.enabled", "validation_invalid_value"},
        {"{\"enabled\":1}", "oauth2.enabled", "validation_invalid_value"},
        {"{\"mappedFields\":[]}", "oauth2.mappedFields", "validation_invalid_value"},
        {"{\"mappedFields\":{\"name\":5}}", "oauth2.mappedFields.name", "validation_invalid_value"},
        {"{\"providers\":\"google\"}", "oauth2.providers", "validation_invalid_value"},
        {"{\"providers\":[7]}", "oauth2.providers.0", "validation_invalid_value"},
        {"{\"providers\":[{\"name\":7}]}", "oauth2.providers.0.name", "validation_invalid_value"},
        {"{\"providers\":[{\"name\":\"google\",\"clientId\":1,\"clientSecret\":\"s\"}]}",
         "oauth2.providers.0.clientId", "validation_invalid_value"},
        {"{\"providers\":[{\"name\":\"google\",\"clientId\":\"c\",\"clientSecret\":[]}]}",
         "oauth2.providers.0.clientSecret", "validation_invalid_value"},
        {"{\"providers\":[{\"name\":\"oidc\",\"clientId\":\"c\",\"clientSecret\":\"s\","
         "\"authURL\":true,\"tokenURL\":\"https://t\",\"userInfoURL\":\"https://u\"}]}",
         "oauth2.providers.0.authURL", "validation_invalid_value"},
        {"{\"providers\":[{\"name\":\"google\",\"clientId\":\"c\",\"clientSecret\":\"s\","
         "\"pkce\":\"false\"}]}",
         "oauth2.providers.0.pkce", "validation_invalid_value"},
        {"{\"providers\":[{\"name\":\"google\",\"clientId\":\"c\",\"clientSecret\":\"s\","
         "\"extra\":{\"hd\":\"example.com\"}}]}",
         "oauth2.providers.0.extra.hd", "validation_unsupported"},
        {"{\"providers\":[{\"name\":\"google\",\"clientId\":\"c\",\"clientSecret\":\"s\","
         "\"extra\":\"x\"}]}",
         "oauth2.providers.0.extra", "validation_invalid_value"},
        {"{\"providers\":[{\"name\":\"github\",\"clientId\":\"c\",\"clientSecret\":\"s\","
         "\"extra\":{\"jwksURL\":\"https://k\"}}]}",
         "oauth2.providers.0.extra.jwksURL", "validation_unsupported"},
        {"{\"providers\":[{\"name\":\"microsoft\",\"clientId\":\"c\",\"clientSecret\":\"s\","
         "\"extra\":{\"idTokenEmailClaim\":\"email\"}}]}",
         "oauth2.providers.0.extra.idTokenEmailClaim", "validation_unsupported"},
        {"{\"providers\":[{\"name\":\"google\",\"clientId\":\"c\",\"clientSecret\":\"s\","
         "\"extra\":{\"discoveryURL\":\"https://d\"}}]}",
         "oauth2.providers.0.extra.discoveryURL", "validation_unsupported"},
        {"{\"providers\":[{\"name\":\"oidc\",\"clientId\":\"c\",\"clientSecret\":\"s\","
         "\"extra\":{\"jwksURL\":\"ftp://k\",\"discoveryURL\":\"https://d\"}}]}",
         "oauth2.providers.0.extra.jwksURL", "validation_is_url"},
        {"{\"providers\":[{\"name\":\"oidc\",\"clientId\":\"c\",\"clientSecret\":\"s\","
         "\"extra\":{\"discoveryURL\":7}}]}",
         "oauth2.providers.0.extra.discoveryURL", "validation_is_url"},
        {"{\"providers\":[{\"name\":\"oidc\",\"clientId\":\"c\",\"clientSecret\":\"s\","
         "\"extra\":{\"discoveryURL\":\"https://d\",\"issuers\":\"https://i\"}}]}",
         "oauth2.providers.0.extra.issuers", "validation_invalid_value"},
        {"{\"providers\":[{\"name\":\"apple\",\"clientId\":\"c\",\"clientSecret\":\"s\","
         "\"extra\":{\"audiences\":[\"a\",\"\"]}}]}",
         "oauth2.providers.0.extra.audiences", "validation_invalid_value"},
        {"{\"providers\":[{\"name\":\"apple\",\"clientId\":\"c\",\"clientSecret\":\"s\","
         "\"extra\":{\"audiences\":[\"1\",\"2\",\"3\",\"4\",\"5\",\"6\",\"7\",\"8\",\"9\",\"10\","
         "\"11\",\"12\",\"13\",\"14\",\"15\",\"16\",\"17\"]}}]}",
         "oauth2.providers.0.extra.audiences", "validation_invalid_value"},
        {"{\"providers\":[{\"name\":\"oidc\",\"clientId\":\"c\",\"clientSecret\":\"s\","
         "\"authURL\":\"https://a\"}]}",
         "oauth2.providers.0.tokenURL", "validation_required"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct core_oauth2_options o = {0};
        struct core_problem p;
        char text[512];
        snprintf(text, sizeof(text), "{\"oauth2\":%s}", cases[i].in);
        json_t *doc = json_loads(text, 0, NULL);
        assert_non_null(doc);
        core_problem_init(&p);
        core_oauth2_options_parse(json_object_get(doc, "oauth2"), &o, &p);
        core_oauth2_check_mapped(&o, has_name_or_avatar, NULL, &p);
        json_decref(doc);
        if (!has_field_error(&p, cases[i].path, cases[i].code))
            fail_msg("%s: no %s at %s", cases[i].in, cases[i].code, cases[i].path);
        assert_false(o.is_enabled);
        assert_non_null(o.mapped_name);
        core_problem_cleanup(&p);
        core_oauth2_options_cleanup(&o);
    }
    /* null and {} for extra carry nothing: accepted */
    struct core_oauth2_options o = {0};
    struct core_problem p;
    parse(&o,
          "{\"providers\":[{\"name\":\"google\",\"clientId\":\"c\",\"clientSecret\":\"s\","
          "\"extra\":null},{\"name\":\"github\",\"clientId\":\"c\",\"clientSecret\":\"s\","
          "\"extra\":{}}]}",
          &p);
    assert_false(core_problem_has_fields(&p));
    core_problem_cleanup(&p);
    core_oauth2_options_cleanup(&o);
    /* a huge list: refused as a whole, without parsing each entry */
    json_t *big = json_pack("{s:[]}", "providers");
    json_t *list = json_object_get(big, "providers");
    for (int i = 0; i < 100000; i++)
        json_array_append_new(list, json_pack("{s:s}", "name", "google"));
    core_problem_init(&p);
    core_oauth2_options_parse(big, &o, &p);
    core_oauth2_check_mapped(&o, has_name_or_avatar, NULL, &p);
    assert_true(has_field_error(&p, "oauth2.providers", "validation_length_too_long"));
    assert_int_equal(o.provider_count, 0);
    core_problem_cleanup(&p);
    core_oauth2_options_cleanup(&o);
    json_decref(big);
}

/* User-info objects of the wrong shape give empty strings, never a crash
 * or a non-string identity. */
static void test_user_shapes_with_bad_input(void **state)
{
    (void)state;
    const char *const infos[] = {
        "{}",
        "{\"sub\":{\"a\":1},\"name\":[1],\"email\":7,\"email_verified\":\"yes\","
        "\"picture\":null}",
        "{\"id\":1.5,\"login\":false,\"avatar_url\":{}}",
        "{\"picture\":\"not an object\",\"id\":null}",
        "{\"picture\":{\"data\":[]}}",
        "{\"email\":\"a@b.c\",\"verified_email\":1}",
    };
    const char *const names[] = {"oidc", "google", "apple", "github", "microsoft", "facebook"};
    for (size_t n = 0; n < sizeof(names) / sizeof(names[0]); n++) {
        for (size_t i = 0; i < sizeof(infos) / sizeof(infos[0]); i++) {
            struct core_oauth2_user u;
            map(names[n], infos[i], &u);
            assert_non_null(u.id);
            assert_non_null(u.name);
            assert_non_null(u.username);
            assert_non_null(u.email);
            assert_non_null(u.avatar_url);
            assert_string_equal(u.id, "");
            if (strcmp(names[n], "google") == 0 || strcmp(names[n], "oidc") == 0 ||
                strcmp(names[n], "apple") == 0)
                assert_string_equal(u.email, ""); /* not verified by a boolean */
            core_oauth2_user_cleanup(&u);
        }
    }
    /* an integer id is kept as text (GitHub, Facebook) */
    struct core_oauth2_user u;
    map("github", "{\"id\":-9223372036854775807}", &u);
    assert_string_equal(u.id, "-9223372036854775807");
    core_oauth2_user_cleanup(&u);
}

static void map(const char *provider, const char *info_text, struct core_oauth2_user *u)
{
    json_t *info = json_loads(info_text, 0, NULL);
    assert_non_null(info);
    memset(u, 0, sizeof(*u));
    core_oauth2_provider_find(provider)->map(info, u);
    json_decref(info);
}

static void test_user_shapes(void **state)
{
    (void)state;
    struct core_oauth2_user u;
    map("oidc",
        "{\"sub\":\"s1\",\"name\":\"N\",\"preferred_username\":\"nn\",\"email\":\"a@b.c\","
        "\"email_verified\":true,\"picture\":\"https://p\"}",
        &u);
    assert_string_equal(u.id, "s1");
    assert_string_equal(u.username, "nn");
    assert_string_equal(u.email, "a@b.c");
    assert_string_equal(u.avatar_url, "https://p");
    core_oauth2_user_cleanup(&u);
    map("oidc", "{\"sub\":\"s1\",\"email\":\"a@b.c\",\"email_verified\":false}", &u);
    assert_string_equal(u.email, ""); /* unverified: not an identity */
    core_oauth2_user_cleanup(&u);
    map("github", "{\"id\":12345,\"login\":\"octo\",\"avatar_url\":\"https://a\"}", &u);
    assert_string_equal(u.id, "12345");
    assert_string_equal(u.username, "octo");
    core_oauth2_user_cleanup(&u);
    map("facebook", "{\"id\":\"9\",\"name\":\"F\",\"picture\":{\"data\":{\"url\":\"https://f\"}}}",
        &u);
    assert_string_equal(u.avatar_url, "https://f");
    core_oauth2_user_cleanup(&u);
    map("microsoft", "{\"id\":\"m\",\"displayName\":\"M S\",\"mail\":\"m@s.com\"}", &u);
    assert_string_equal(u.name, "M S");
    assert_string_equal(u.email, "m@s.com");
    core_oauth2_user_cleanup(&u);
    map("google", "{\"id\":\"g\",\"email\":\"g@x.com\",\"verified_email\":true}", &u);
    assert_string_equal(u.id, "g");
    assert_string_equal(u.email, "g@x.com");
    core_oauth2_user_cleanup(&u);
    /* Apple's id_token claims: email_verified may be the string "true" */
    map("apple",
        "{\"sub\":\"001.a\",\"email\":\"x@privaterelay.appleid.com\","
        "\"email_verified\":\"true\",\"is_private_email\":\"true\"}",
        &u);
    assert_string_equal(u.id, "001.a");
    assert_string_equal(u.email, "x@privaterelay.appleid.com");
    assert_string_equal(u.name, "");
    core_oauth2_user_cleanup(&u);
    map("apple", "{\"sub\":\"001.a\",\"email\":\"x@y.z\",\"email_verified\":\"false\"}", &u);
    assert_string_equal(u.email, "");
    core_oauth2_user_cleanup(&u);
}

/* The name Apple posts once: joined, trimmed, cut on a character boundary;
 * NULL for anything without one. */
static void test_apple_name(void **state)
{
    (void)state;
    struct {
        const char *in, *want;
    } cases[] = {
        {"{\"name\":{\"firstName\":\"Ada\",\"lastName\":\"Lovelace\"},\"email\":\"a@b.c\"}",
         "Ada Lovelace"},
        {"{\"name\":{\"firstName\":\"Ada\"}}", "Ada"},
        {"{\"name\":{\"lastName\":\" Lovelace \"}}", "Lovelace"},
        {"{\"name\":{\"firstName\":\"\u00c9mile\",\"lastName\":\"Zola\"}}", "\xc3\x89mile Zola"},
        {"{\"name\":{}}", NULL},
        {"{\"name\":{\"firstName\":\"  \",\"lastName\":\"\"}}", NULL},
        {"{\"name\":\"Ada\"}", NULL},
        {"{\"name\":{\"firstName\":7}}", NULL},
        {"{\"email\":\"a@b.c\"}", NULL},
        {"not json", NULL},
        {"", NULL},
        {"[]", NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *got = core_oauth2_apple_name(cases[i].in);
        if (cases[i].want)
            assert_string_equal(got, cases[i].want);
        else if (got)
            fail_msg("case %zu gave \"%s\"", i, got);
        xfree(got);
    }
    assert_null(core_oauth2_apple_name(NULL));
    /* a long name is cut to 150 bytes, never inside a character (é is 2 bytes) */
    char in[1024] = "{\"name\":{\"firstName\":\"";
    for (int i = 0; i < 120; i++)
        strcat(in, "\u00e9");
    strcat(in, "\"}}");
    char *got = core_oauth2_apple_name(in);
    assert_non_null(got);
    assert_int_equal(strlen(got), 150);
    assert_true(utf8_is_valid(got, strlen(got)));
    xfree(got);
    strcpy(in, "{\"name\":{\"firstName\":\"x");
    for (int i = 0; i < 120; i++)
        strcat(in, "\u00e9");
    strcat(in, "\",\"lastName\":\"Zed\"}}");
    got = core_oauth2_apple_name(in);
    assert_int_equal(strlen(got), 149); /* x + 74 whole é */
    assert_true(utf8_is_valid(got, strlen(got)));
    xfree(got);
}

int main(void)
{
    json_set_alloc_funcs(xmalloc, xfree);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_provider_table),
        cmocka_unit_test(test_parse_write_and_secret),
        cmocka_unit_test(test_extra_settings),
        cmocka_unit_test(test_validation_errors),
        cmocka_unit_test(test_user_shapes),
        cmocka_unit_test(test_bad_input_is_refused),
        cmocka_unit_test(test_user_shapes_with_bad_input),
        cmocka_unit_test(test_apple_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
