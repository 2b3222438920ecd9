/* test_ratelimit.c -- unit tests of core/ratelimit.h: the --rate-limits
 * text (valid forms over the defaults, every malformed form refused, the
 * rule limit) and the in-memory fixed-window store (counts per key, the
 * 429 past max with the seconds left, a new window starts afresh). Time is
 * passed in, so no test waits. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "core/auth/ratelimit.h"

static void test_defaults(void **state)
{
    (void)state;
    struct core_ratelimit_config cfg;
    core_ratelimit_defaults(&cfg);
    assert_int_equal(cfg.auth_ip.max, 1000);
    assert_int_equal(cfg.auth_ip.window_s, 10);
    assert_int_equal(cfg.auth_identity.max, 20);
    assert_int_equal(cfg.auth_identity.window_s, 60);
    assert_int_equal(cfg.rule_count, 0);
}

static void test_parse_valid_forms(void **state)
{
    (void)state;
    struct core_ratelimit_config cfg;
    core_ratelimit_defaults(&cfg);
    assert_int_equal(core_ratelimit_parse(
                         "auth-ip=50/10s, auth-identity=5/2m,/api/=300/10,/api/files=0/1s", &cfg),
                     RC_OK);
    assert_int_equal(cfg.auth_ip.max, 50);
    assert_int_equal(cfg.auth_ip.window_s, 10);
    assert_int_equal(cfg.auth_identity.max, 5);
    assert_int_equal(cfg.auth_identity.window_s, 120);
    assert_int_equal(cfg.rule_count, 2);
    assert_string_equal(cfg.rules[0].prefix, "/api/");
    assert_int_equal(cfg.rules[0].max, 300);
    assert_int_equal(cfg.rules[0].window_s, 10);
    assert_string_equal(cfg.rules[1].prefix, "/api/files");
    assert_int_equal(cfg.rules[1].max, 0); /* 0 turns the rule off */

    /* Only what is named changes; the empty text changes nothing. */
    core_ratelimit_defaults(&cfg);
    assert_int_equal(core_ratelimit_parse("auth-identity=3/60s", &cfg), RC_OK);
    assert_int_equal(cfg.auth_ip.max, 1000);
    assert_int_equal(cfg.auth_identity.max, 3);
    assert_int_equal(core_ratelimit_parse("", &cfg), RC_OK);
    assert_int_equal(cfg.auth_identity.max, 3);
}

static void test_parse_refuses_malformed(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "auth-ip",          /* no limit */
        "=5/10s",           /* no name */
        "auth-ip=",         /* empty limit */
        "auth-ip=5",        /* no window */
        "auth-ip=5/",       /* empty window */
        "auth-ip=/10s",     /* no count */
        "auth-ip=x/10s",    /* not a number */
        "auth-ip=5/0s",     /* zero window */
        "auth-ip=5/10h",    /* unknown unit */
        "auth-ip=5/10ss",   /* trailing text */
        "auth-ip=5/86401s", /* over a day */
        "auth-ip=5/1441m",  /* over a day in minutes */
        "auth-ip=2000000000/10s",
        "login=5/10s", /* neither a label nor a path */
        "auth-ip=5/10s,api=1/1s",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct core_ratelimit_config cfg;
        core_ratelimit_defaults(&cfg);
        if (core_ratelimit_parse(bad[i], &cfg) != RC_INVALID)
            fail_msg("accepted \"%s\"", bad[i]);
    }
}

static void test_parse_limits_rules_and_length(void **state)
{
    (void)state;
    char text[1024] = "";
    for (int i = 0; i < CORE_RATELIMIT_MAX_RULES; i++)
        snprintf(text + strlen(text), sizeof(text) - strlen(text), "%s/p%d=1/1s", i ? "," : "", i);
    struct core_ratelimit_config cfg;
    core_ratelimit_defaults(&cfg);
    assert_int_equal(core_ratelimit_parse(text, &cfg), RC_OK);
    assert_int_equal(cfg.rule_count, CORE_RATELIMIT_MAX_RULES);
    snprintf(text + strlen(text), sizeof(text) - strlen(text), ",/one-more=1/1s");
    core_ratelimit_defaults(&cfg);
    assert_int_equal(core_ratelimit_parse(text, &cfg), RC_INVALID);

    char prefix[300];
    memset(prefix, 'a', sizeof(prefix));
    prefix[0] = '/';
    snprintf(prefix + 200, sizeof(prefix) - 200, "=1/1s"); /* a 200-byte prefix */
    core_ratelimit_defaults(&cfg);
    assert_int_equal(core_ratelimit_parse(prefix, &cfg), RC_INVALID);

    char huge[2000];
    memset(huge, ' ', sizeof(huge) - 1);
    huge[sizeof(huge) - 1] = '\0';
    assert_int_equal(core_ratelimit_parse(huge, &cfg), RC_INVALID);
}

static int setup_store(void **state)
{
    struct core_ratelimit_store *s = xcalloc(1, sizeof(*s));
    *s = core_ratelimit_memory_store();
    *state = s;
    return 0;
}

static int teardown_store(void **state)
{
    struct core_ratelimit_store *s = *state;
    s->release(s->ctx);
    xfree(s);
    return 0;
}

static enum rc hit(struct core_ratelimit_store *s, const char *key, uint32_t max, uint32_t window_s,
                   int64_t now_ms, uint32_t *retry)
{
    return s->hit(s->ctx, str_from_cstr(key), max, window_s, now_ms, retry);
}

static void test_store_counts_per_key_and_window(void **state)
{
    struct core_ratelimit_store *s = *state;
    uint32_t retry = 0;
    const int64_t t0 = 1700000000000; /* a window start for a 10 s window */
    for (int i = 0; i < 3; i++)
        assert_int_equal(hit(s, "1.2.3.4|login", 3, 10, t0 + i * 1000, &retry), RC_OK);
    assert_int_equal(hit(s, "1.2.3.4|login", 3, 10, t0 + 2500, &retry), RC_RATE_LIMITED);
    assert_int_equal(retry, 8); /* 7.5 s left, rounded up */
    assert_int_equal(hit(s, "1.2.3.4|login", 3, 10, t0 + 9999, &retry), RC_RATE_LIMITED);
    assert_int_equal(retry, 1);
    /* Another key has its own counter. */
    assert_int_equal(hit(s, "5.6.7.8|login", 3, 10, t0 + 3000, &retry), RC_OK);
    /* The next window starts afresh. */
    assert_int_equal(hit(s, "1.2.3.4|login", 3, 10, t0 + 10000, &retry), RC_OK);
}

static void test_store_max_zero_limits_every_hit(void **state)
{
    struct core_ratelimit_store *s = *state;
    uint32_t retry = 0;
    assert_int_equal(hit(s, "k", 0, 60, 1700000000000, &retry), RC_RATE_LIMITED);
    assert_int_equal(retry, 40); /* 1700000000 s is 20 s into its minute */
}

static void test_store_survives_many_keys(void **state)
{
    struct core_ratelimit_store *s = *state;
    uint32_t retry = 0;
    char key[64];
    /* Far more keys than slots: a full table reuses slots (an older counter
     * is lost, which admits), never fails or overflows. */
    for (int i = 0; i < 20000; i++) {
        snprintf(key, sizeof(key), "10.0.%d.%d|x", i / 256, i % 256);
        assert_int_equal(hit(s, key, 1000, 10, 1700000000000, &retry), RC_OK);
    }
    /* A key longer than a slot holds is cut, still counted. */
    char longkey[400];
    memset(longkey, 'k', sizeof(longkey) - 1);
    longkey[sizeof(longkey) - 1] = '\0';
    assert_int_equal(hit(s, longkey, 1, 10, 1700000000000, &retry), RC_OK);
    assert_int_equal(hit(s, longkey, 1, 10, 1700000000000, &retry), RC_RATE_LIMITED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_parse_valid_forms),
        cmocka_unit_test(test_parse_refuses_malformed),
        cmocka_unit_test(test_parse_limits_rules_and_length),
        cmocka_unit_test_setup_teardown(test_store_counts_per_key_and_window, setup_store,
                                        teardown_store),
        cmocka_unit_test_setup_teardown(test_store_max_zero_limits_every_hit, setup_store,
                                        teardown_store),
        cmocka_unit_test_setup_teardown(test_store_survives_many_keys, setup_store, teardown_store),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
