/* test_token_cache.c -- the verified-token memo: a hit needs the same token
 * bytes, a live expiry and the same signing key; replacement and wiping. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "base/secure.h"
#include "core/credential/token_cache.h"

static struct core_token_claims claims_for(const char *col, const char *id, int64_t exp)
{
    struct core_token_claims c = {0};
    c.type = STR_LIT("auth");
    c.collection_id = str_from_cstr(col);
    c.id = str_from_cstr(id);
    c.exp = exp;
    c.is_refreshable = true;
    return c;
}

static void test_a_put_token_is_found_with_its_claims(void **state)
{
    (void)state;
    struct core_token_cache *tc = core_token_cache_new();
    struct core_token_claims cl = claims_for("_pb_users_auth_", "u1", 2000);
    core_token_cache_put(tc, STR_LIT("tok.en.one"), STR_LIT("tokenKeySecret"), &cl);
    struct core_token_memo m;
    assert_true(core_token_cache_get(tc, STR_LIT("tok.en.one"), 1000, &m));
    assert_true(str_eq(m.collection_id, STR_LIT("_pb_users_auth_")));
    assert_true(str_eq(m.id, STR_LIT("u1")));
    assert_int_equal(m.exp, 2000);
    assert_true(m.is_refreshable);
    assert_true(core_token_cache_key_matches(&m, STR_LIT("tokenKeySecret")));
    /* a changed tokenKey (or secret) is not the key it verified with */
    assert_false(core_token_cache_key_matches(&m, STR_LIT("tokenKeySecreT")));
    assert_false(core_token_cache_key_matches(&m, STR_LIT("tokenKeySecret2")));
    assert_false(core_token_cache_key_matches(&m, STR_LIT("")));
    core_token_cache_free(tc);
}

/* A hit is a copy: the cache changing afterwards (another request's put,
 * while this one waits for its record on PostgreSQL) leaves it whole. */
static void test_a_memo_outlives_the_entry_it_came_from(void **state)
{
    (void)state;
    struct core_token_cache *tc = core_token_cache_new();
    struct core_token_claims cl = claims_for("_pb_users_auth_", "u1", 2000);
    core_token_cache_put(tc, STR_LIT("tok.en.one"), STR_LIT("key-one"), &cl);
    struct core_token_memo m;
    assert_true(core_token_cache_get(tc, STR_LIT("tok.en.one"), 1000, &m));
    struct core_token_claims other = claims_for("pbc_other", "u2", 3000);
    core_token_cache_put(tc, STR_LIT("tok.en.one"), STR_LIT("key-two"), &other);
    assert_true(str_eq(m.collection_id, STR_LIT("_pb_users_auth_")));
    assert_true(str_eq(m.id, STR_LIT("u1")));
    assert_true(core_token_cache_key_matches(&m, STR_LIT("key-one")));
    assert_false(core_token_cache_key_matches(&m, STR_LIT("key-two")));
    /* ids a slot cannot hold are not kept */
    char long_id[CORE_TOKEN_CACHE_MAX_ID + 2];
    memset(long_id, 'x', sizeof(long_id) - 1);
    long_id[sizeof(long_id) - 1] = '\0';
    struct core_token_claims big = claims_for("c", long_id, 2000);
    core_token_cache_put(tc, STR_LIT("tok.en.two"), STR_LIT("k"), &big);
    assert_false(core_token_cache_get(tc, STR_LIT("tok.en.two"), 1000, &m));
    core_token_cache_free(tc);
}

static void test_other_bytes_and_expired_tokens_miss(void **state)
{
    (void)state;
    struct core_token_cache *tc = core_token_cache_new();
    struct core_token_claims cl = claims_for("c", "u1", 2000);
    core_token_cache_put(tc, STR_LIT("abc.def.ghi"), STR_LIT("k"), &cl);
    struct core_token_memo m;
    assert_false(core_token_cache_get(tc, STR_LIT("abc.def.gh"), 1000, &m));
    assert_false(core_token_cache_get(tc, STR_LIT("abc.def.ghj"), 1000, &m));
    assert_false(core_token_cache_get(tc, STR_LIT("abc.def.ghi "), 1000, &m));
    assert_false(core_token_cache_get(tc, STR_LIT(""), 1000, &m));
    assert_true(core_token_cache_get(tc, STR_LIT("abc.def.ghi"), 1999, &m));
    /* expiry is checked on every hit: at exp the token is no longer good */
    assert_false(core_token_cache_get(tc, STR_LIT("abc.def.ghi"), 2000, &m));
    assert_false(core_token_cache_get(tc, STR_LIT("abc.def.ghi"), 10, &m)); /* dropped */
    core_token_cache_free(tc);
}

static void test_many_tokens_replace_each_other_without_mixing(void **state)
{
    (void)state;
    struct core_token_cache *tc = core_token_cache_new();
    char tok[64], id[32], key[32];
    int n = CORE_TOKEN_CACHE_SLOTS * 3;
    for (int i = 0; i < n; i++) {
        snprintf(tok, sizeof(tok), "token-%d", i);
        snprintf(id, sizeof(id), "id%d", i);
        snprintf(key, sizeof(key), "key%d", i);
        struct core_token_claims cl = claims_for("c", id, 5000);
        core_token_cache_put(tc, str_from_cstr(tok), str_from_cstr(key), &cl);
    }
    int hits = 0;
    for (int i = 0; i < n; i++) {
        snprintf(tok, sizeof(tok), "token-%d", i);
        snprintf(id, sizeof(id), "id%d", i);
        snprintf(key, sizeof(key), "key%d", i);
        struct core_token_memo m;
        if (!core_token_cache_get(tc, str_from_cstr(tok), 100, &m))
            continue;
        hits++;
        assert_true(str_eq(m.id, str_from_cstr(id))); /* never another token's claims */
        assert_true(core_token_cache_key_matches(&m, str_from_cstr(key)));
    }
    assert_in_range(hits, 1, CORE_TOKEN_CACHE_SLOTS);
    core_token_cache_free(tc);
}

static void test_oversized_tokens_are_not_kept(void **state)
{
    (void)state;
    struct core_token_cache *tc = core_token_cache_new();
    char big[2000];
    memset(big, 'a', sizeof(big));
    struct core_token_claims cl = claims_for("c", "u", 5000);
    core_token_cache_put(tc, (struct str){big, sizeof(big)}, STR_LIT("k"), &cl);
    struct core_token_memo m;
    assert_false(core_token_cache_get(tc, (struct str){big, sizeof(big)}, 1, &m));
    core_token_cache_free(tc);
    core_token_cache_free(NULL);
}

int main(void)
{
    if (secure_init() != RC_OK)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_put_token_is_found_with_its_claims),
        cmocka_unit_test(test_a_memo_outlives_the_entry_it_came_from),
        cmocka_unit_test(test_other_bytes_and_expired_tokens_miss),
        cmocka_unit_test(test_many_tokens_replace_each_other_without_mixing),
        cmocka_unit_test(test_oversized_tokens_are_not_kept),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
