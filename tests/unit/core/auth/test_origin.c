/* test_origin.c -- unit tests of core/auth/origin.h over a real data
 * directory: the fingerprint (IP + user agent, cut as PocketBase cuts it),
 * and the bookkeeping of `_authOrigins` a sign-in does on the writer: a
 * first sign-in, a known origin, a new one, and the 5 newest kept. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "core_fixture.h"

#include "core/auth/origin.h"
#include "store/writer.h"

#define COL "_pb_users_auth_"
#define REC "rec000000000001"

struct touch {
    const char *record;
    char fingerprint[CORE_AUTH_FINGERPRINT_LEN + 1];
    bool is_new, is_first;
};

static enum rc touch_apply(struct store_conn *db, void *ctx)
{
    struct touch *t = ctx;
    return core_auth_origin_record(db, COL, t->record, t->fingerprint, &t->is_new, &t->is_first);
}

/* A sign-in of record from user agent ua at 127.0.0.1. */
static struct touch sign_in(struct fixture *fx, const char *record, const char *ua)
{
    struct touch t = {.record = record};
    core_auth_origin_fingerprint(STR_LIT("127.0.0.1"), str_from_cstr(ua), t.fingerprint);
    assert_int_equal(store_writer_run(fx->app->writer, touch_apply, &t), RC_OK);
    return t;
}

static int64_t count(struct fixture *fx, const char *record)
{
    char sql[160];
    snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM _authOrigins WHERE recordRef = '%s'", record);
    return fixture_query_int(fx->app, sql);
}

static void test_fingerprint_is_ip_and_cut_user_agent(void **state)
{
    (void)state;
    char a[65], b[65], c[65];
    core_auth_origin_fingerprint(STR_LIT("10.0.0.1"), STR_LIT("ua"), a);
    core_auth_origin_fingerprint(STR_LIT("10.0.0.2"), STR_LIT("ua"), b);
    core_auth_origin_fingerprint(STR_LIT("10.0.0.1"), STR_LIT("ub"), c);
    assert_int_equal(strlen(a), 64);
    assert_string_not_equal(a, b);
    assert_string_not_equal(a, c);
    /* Past 200 bytes the user agent is cut: what follows does not count. */
    char long1[300], long2[300];
    memset(long1, 'x', 299);
    long1[299] = '\0';
    memcpy(long2, long1, sizeof(long1));
    long2[250] = 'y';
    core_auth_origin_fingerprint(STR_LIT("ip"), str_from_cstr(long1), a);
    core_auth_origin_fingerprint(STR_LIT("ip"), str_from_cstr(long2), b);
    assert_string_equal(a, b);
    char cut[CORE_AUTH_ORIGIN_UA_MAX + 4];
    core_auth_origin_user_agent(str_from_cstr(long1), cut);
    assert_int_equal(strlen(cut), 203);
    assert_string_equal(cut + 200, "...");
}

static void test_first_known_and_new_origins(void **state)
{
    (void)state;
    struct fixture fx;
    fixture_open(&fx);
    struct touch t = sign_in(&fx, REC, "phone");
    assert_true(t.is_new);
    assert_true(t.is_first); /* a first sign-in alerts nobody */
    t = sign_in(&fx, REC, "phone");
    assert_false(t.is_new);
    assert_false(t.is_first);
    t = sign_in(&fx, REC, "laptop");
    assert_true(t.is_new);
    assert_false(t.is_first);
    assert_int_equal(count(&fx, REC), 2);
    /* Another record's origins are its own. */
    t = sign_in(&fx, "rec000000000002", "phone");
    assert_true(t.is_first);
    fixture_close(&fx);
}

static void test_the_five_newest_are_kept(void **state)
{
    (void)state;
    struct fixture fx;
    fixture_open(&fx);
    const char *uas[] = {"d1", "d2", "d3", "d4", "d5", "d6", "d7"};
    for (size_t i = 0; i < 7; i++)
        assert_true(sign_in(&fx, REC, uas[i]).is_new);
    assert_int_equal(count(&fx, REC), CORE_AUTH_ORIGINS_MAX);
    /* d1 and d2 made room: they are new again; d7 is known. */
    assert_false(sign_in(&fx, REC, "d7").is_new);
    assert_false(sign_in(&fx, REC, "d3").is_new);
    assert_true(sign_in(&fx, REC, "d1").is_new);
    assert_int_equal(count(&fx, REC), CORE_AUTH_ORIGINS_MAX);
    fixture_close(&fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fingerprint_is_ip_and_cut_user_agent),
        cmocka_unit_test(test_first_known_and_new_origins),
        cmocka_unit_test(test_the_five_newest_are_kept),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
