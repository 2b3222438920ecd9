/* test_password.c -- unit tests of core/password.h: hash then verify, wrong
 * passwords, a hash copied from the bench data set (argon2-cffi, the real
 * m=19456 t=2), strings made by libsodium's crypto_pwhash_str verifying here
 * and ours verifying there, parameters honoured and read back, needs-rehash,
 * the dummy verification, and a table of malformed PHC strings plus every
 * truncation and many byte flips of a valid one, refused without crashing.
 * Everything but the bench-compat case uses m=64 KiB t=1 to stay fast. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "base/secure.h"
#include "core/credential/password.h"

static const struct core_password_params FAST = {64, 1};

/* sqlite3 /work/shared/bench/data/bench.db "select password from users limit 1"
 * (user1@example.com; make-db hashes "password123" with argon2-cffi). */
static const char BENCH_PHC[] = "$argon2id$v=19$m=19456,t=2,p=1$W255a2g5BLeyLpstHOIM9Q$"
                                "pXJ5Lq1Q7u+GH6+41npiPoyh9dd1pkR7N0F4GQyCI/I";

/* Printed by a C program calling libsodium 1.0.18's
 * crypto_pwhash_str_alg(out, "correct horse", 13, 1, 65536, crypto_pwhash_ALG_ARGON2ID13). */
static const char SODIUM_PHC[] = "$argon2id$v=19$m=64,t=1,p=1$hmBKAOLnMKcU3UyDy2LWnA$"
                                 "9PZ1GyEZG9Xy5xHSdykt+QpQfmPyTOlANJYH7qGZo18";

/* Hashes password with params into a NUL-terminated string in dst (room for
 * CORE_PASSWORD_PHC_MAX + 1 bytes). */
static void hash_into(char *dst, const char *password, struct core_password_params params)
{
    struct buf b;
    buf_init(&b, CORE_PASSWORD_PHC_MAX);
    assert_int_equal(core_password_hash(str_from_cstr(password), params, &b), RC_OK);
    memcpy(dst, b.data, b.len);
    dst[b.len] = '\0';
    buf_cleanup(&b);
}

static void test_password_hash_then_verify_matches(void **state)
{
    char phc[CORE_PASSWORD_PHC_MAX + 1];
    hash_into(phc, "s3cret pass", FAST);
    assert_int_equal(core_password_verify(STR_LIT("s3cret pass"), str_from_cstr(phc)), RC_OK);
}

static void test_password_verify_refuses_wrong_passwords(void **state)
{
    char phc[CORE_PASSWORD_PHC_MAX + 1];
    hash_into(phc, "s3cret pass", FAST);
    const char *wrong[] = {"s3cret pas", "s3cret pass ", "S3cret pass", "", "s3cret pass\n"};
    for (size_t i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++)
        assert_int_equal(core_password_verify(str_from_cstr(wrong[i]), str_from_cstr(phc)),
                         RC_UNAUTHORIZED);
    /* the password is a slice: a NUL and what follows it count */
    assert_int_equal(core_password_verify((struct str){"s3cret pass\0x", 13}, str_from_cstr(phc)),
                     RC_UNAUTHORIZED);
}

static void test_password_hash_writes_the_bench_format(void **state)
{
    char phc[CORE_PASSWORD_PHC_MAX + 1];
    hash_into(phc, "x", (struct core_password_params){19456, 2});
    /* prefix, 22-char salt, 43-char hash: the shape of every bench.db row */
    const char *prefix = "$argon2id$v=19$m=19456,t=2,p=1$";
    assert_int_equal(strncmp(phc, prefix, strlen(prefix)), 0);
    assert_int_equal(strlen(phc), strlen(prefix) + 22 + 1 + 43);
    assert_int_equal(phc[strlen(prefix) + 22], '$');
    assert_int_equal(strlen(phc), strlen(BENCH_PHC));
}

static void test_password_verifies_the_bench_data_set_hash(void **state)
{
    assert_int_equal(core_password_verify(STR_LIT("password123"), str_from_cstr(BENCH_PHC)), RC_OK);
    assert_int_equal(core_password_verify(STR_LIT("password124"), str_from_cstr(BENCH_PHC)),
                     RC_UNAUTHORIZED);
    assert_false(core_password_needs_rehash(str_from_cstr(BENCH_PHC),
                                            (struct core_password_params){19456, 2}));
}

static void test_password_verifies_libsodium_strings_and_libsodium_verifies_ours(void **state)
{
    assert_int_equal(core_password_verify(STR_LIT("correct horse"), str_from_cstr(SODIUM_PHC)),
                     RC_OK);
    assert_int_equal(core_password_verify(STR_LIT("correct horsf"), str_from_cstr(SODIUM_PHC)),
                     RC_UNAUTHORIZED);
    char phc[CORE_PASSWORD_PHC_MAX + 1];
    hash_into(phc, "battery staple", FAST);
    assert_int_equal(crypto_pwhash_str_verify(phc, "battery staple", 14), 0);
    assert_int_not_equal(crypto_pwhash_str_verify(phc, "battery stapl", 13), 0);
}

static void test_password_hash_honours_parameters(void **state)
{
    char phc[CORE_PASSWORD_PHC_MAX + 1];
    struct core_password_params p = {96, 3};
    hash_into(phc, "pw", p);
    assert_non_null(strstr(phc, "$m=96,t=3,p=1$"));
    struct core_password_phc parsed;
    assert_int_equal(core_password_parse(str_from_cstr(phc), &parsed), RC_OK);
    assert_int_equal(parsed.params.m_kib, 96);
    assert_int_equal(parsed.params.t, 3);
    assert_int_equal(parsed.hash_len, CORE_PASSWORD_HASH_BYTES);
    assert_int_equal(core_password_verify(STR_LIT("pw"), str_from_cstr(phc)), RC_OK);

    /* Verification recomputes with the stored m and t: the same salt and hash
     * under other parameters no longer match. */
    char edited[CORE_PASSWORD_PHC_MAX + 1];
    const char *rest = strstr(phc, ",p=1$");
    snprintf(edited, sizeof(edited), "$argon2id$v=19$m=96,t=2%s", rest);
    assert_int_equal(core_password_verify(STR_LIT("pw"), str_from_cstr(edited)), RC_UNAUTHORIZED);
    snprintf(edited, sizeof(edited), "$argon2id$v=19$m=64,t=3%s", rest);
    assert_int_equal(core_password_verify(STR_LIT("pw"), str_from_cstr(edited)), RC_UNAUTHORIZED);
}

static void test_password_hash_uses_a_fresh_salt_each_time(void **state)
{
    char a[CORE_PASSWORD_PHC_MAX + 1];
    char b[CORE_PASSWORD_PHC_MAX + 1];
    hash_into(a, "same", FAST);
    hash_into(b, "same", FAST);
    assert_string_not_equal(a, b);
    assert_int_equal(core_password_verify(STR_LIT("same"), str_from_cstr(a)), RC_OK);
    assert_int_equal(core_password_verify(STR_LIT("same"), str_from_cstr(b)), RC_OK);
}

static void test_password_hash_accepts_empty_and_long_passwords(void **state)
{
    char phc[CORE_PASSWORD_PHC_MAX + 1];
    hash_into(phc, "", FAST);
    assert_int_equal(core_password_verify((struct str){NULL, 0}, str_from_cstr(phc)), RC_OK);
    static char longpw[5000];
    memset(longpw, 'p', sizeof(longpw) - 1);
    hash_into(phc, longpw, FAST);
    assert_int_equal(core_password_verify(str_from_cstr(longpw), str_from_cstr(phc)), RC_OK);
    longpw[4000] = 'q';
    assert_int_equal(core_password_verify(str_from_cstr(longpw), str_from_cstr(phc)),
                     RC_UNAUTHORIZED);
}

static void test_password_hash_refuses_out_of_range_parameters(void **state)
{
    struct core_password_params bad[] = {
        {0, 1}, {7, 1}, {64, 0}, {64, CORE_PASSWORD_MAX_T + 1}, {CORE_PASSWORD_MAX_M_KIB + 1, 1},
    };
    struct buf b;
    buf_init(&b, CORE_PASSWORD_PHC_MAX);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_false(core_password_params_are_valid(bad[i]));
        assert_int_equal(core_password_hash(STR_LIT("pw"), bad[i], &b), RC_INVALID);
        assert_int_equal(core_password_verify_dummy(STR_LIT("pw"), bad[i]), RC_INVALID);
    }
    assert_int_equal(b.len, 0);
    assert_true(core_password_params_are_valid((struct core_password_params){8, 1}));
    buf_cleanup(&b);
}

static void test_password_hash_respects_the_buffer_maximum(void **state)
{
    struct buf b;
    buf_init(&b, 40);
    assert_int_equal(buf_append_cstr(&b, "keep"), RC_OK);
    assert_int_equal(core_password_hash(STR_LIT("pw"), FAST, &b), RC_TOO_LARGE);
    assert_int_equal(b.len, 4);
    buf_cleanup(&b);
}

static void test_password_dummy_verify_always_fails(void **state)
{
    assert_int_equal(core_password_verify_dummy(STR_LIT("password123"), FAST), RC_UNAUTHORIZED);
    assert_int_equal(core_password_verify_dummy(STR_LIT(""), FAST), RC_UNAUTHORIZED);
}

static void test_password_needs_rehash_when_parameters_differ(void **state)
{
    char phc[CORE_PASSWORD_PHC_MAX + 1];
    hash_into(phc, "pw", FAST);
    struct str s = str_from_cstr(phc);
    assert_false(core_password_needs_rehash(s, FAST));
    assert_true(core_password_needs_rehash(s, (struct core_password_params){128, 1}));
    assert_true(core_password_needs_rehash(s, (struct core_password_params){64, 2}));
    assert_true(core_password_needs_rehash(STR_LIT("$2a$10$notargon"), FAST));
    /* a 16-byte hash is readable but not what we write */
    assert_true(core_password_needs_rehash(
        STR_LIT("$argon2id$v=19$m=64,t=1,p=1$hmBKAOLnMKcU3UyDy2LWnA$9PZ1GyEZG9Xy5xHSdykt+Q"),
        FAST));
}

/* Valid parts to build malformed strings from. */
#define SALT "hmBKAOLnMKcU3UyDy2LWnA"
#define HASH "9PZ1GyEZG9Xy5xHSdykt+QpQfmPyTOlANJYH7qGZo18"
#define A8 "AAAAAAAA"

static const char *const MALFORMED[] = {
    "",
    "$",
    "$argon2id",
    "$argon2id$",
    "$argon2id$v=19$m=64,t=1,p=1$",
    "$argon2id$v=19$m=64,t=1,p=1$" SALT,
    "$argon2id$v=19$m=64,t=1,p=1$" SALT "$",
    "$argon2id$v=19$m=64,t=1,p=1$$" HASH,
    "$argon2i$v=19$m=64,t=1,p=1$" SALT "$" HASH,
    "$argon2d$v=19$m=64,t=1,p=1$" SALT "$" HASH,
    "$argon2ID$v=19$m=64,t=1,p=1$" SALT "$" HASH,
    "argon2id$v=19$m=64,t=1,p=1$" SALT "$" HASH,
    "$argon2id$m=64,t=1,p=1$" SALT "$" HASH,      /* no version */
    "$argon2id$v=16$m=64,t=1,p=1$" SALT "$" HASH, /* argon2 1.0 */
    "$argon2id$v=190$m=64,t=1,p=1$" SALT "$" HASH,
    "$argon2id$v=19$m=,t=1,p=1$" SALT "$" HASH,
    "$argon2id$v=19$m=0,t=1,p=1$" SALT "$" HASH,
    "$argon2id$v=19$m=7,t=1,p=1$" SALT "$" HASH,
    "$argon2id$v=19$m=064,t=1,p=1$" SALT "$" HASH, /* leading zero */
    "$argon2id$v=19$m=-64,t=1,p=1$" SALT "$" HASH,
    "$argon2id$v=19$m=+64,t=1,p=1$" SALT "$" HASH,
    "$argon2id$v=19$m=1048577,t=1,p=1$" SALT "$" HASH, /* past 1 GiB */
    "$argon2id$v=19$m=4294967296,t=1,p=1$" SALT "$" HASH,
    "$argon2id$v=19$m=99999999999999999999999,t=1,p=1$" SALT "$" HASH,
    "$argon2id$v=19$m=64,t=0,p=1$" SALT "$" HASH,
    "$argon2id$v=19$m=64,t=65,p=1$" SALT "$" HASH,
    "$argon2id$v=19$m=64,t=01,p=1$" SALT "$" HASH,
    "$argon2id$v=19$m=64,t=1,p=0$" SALT "$" HASH,
    "$argon2id$v=19$m=64,t=1,p=2$" SALT "$" HASH,
    "$argon2id$v=19$m=64,t=1,p=10$" SALT "$" HASH,
    "$argon2id$v=19$t=1,m=64,p=1$" SALT "$" HASH, /* reordered */
    "$argon2id$v=19$m=64,t=1$" SALT "$" HASH,     /* no p */
    "$argon2id$v=19$m=64,t=1,p=1,keyid=x$" SALT "$" HASH,
    "$argon2id$v=19$m=64 ,t=1,p=1$" SALT "$" HASH,
    "$argon2id$v=19$m=64,t=1,p=1$" SALT "==$" HASH, /* padded salt */
    "$argon2id$v=19$m=64,t=1,p=1$" SALT "$" HASH "=",
    "$argon2id$v=19$m=64,t=1,p=1$hmBKAOLnMKcU3UyDy2LWn$" HASH,    /* 15.75 bytes */
    "$argon2id$v=19$m=64,t=1,p=1$hmBKAOLnMKcU3UyDy2LW$" HASH,     /* 15-byte salt */
    "$argon2id$v=19$m=64,t=1,p=1$hmBKAOLnMKcU3UyDy2LWnAAA$" HASH, /* 18-byte salt */
    "$argon2id$v=19$m=64,t=1,p=1$hmBKAOLnMKcU3UyDy2LWnB$" HASH,   /* trailing bits */
    "$argon2id$v=19$m=64,t=1,p=1$hmBKAOLnMKcU3UyDy2LW-A$" HASH,   /* URL alphabet */
    "$argon2id$v=19$m=64,t=1,p=1$" SALT "$9PZ1GyEZG9Xy5xHSdykt",  /* 15-byte hash */
    "$argon2id$v=19$m=64,t=1,p=1$" SALT "$9PZ1GyEZG9Xy5xHSdykt+QpQfmPyTOlANJYH7qGZo19",
    "$argon2id$v=19$m=64,t=1,p=1$" SALT "$9PZ1GyEZG9Xy5xHSdykt_QpQfmPyTOlANJYH7qGZo18",
    "$argon2id$v=19$m=64,t=1,p=1$" SALT "$" A8 A8 A8 A8 A8 A8 A8 A8 A8 A8 A8, /* 66 bytes */
    "$argon2id$v=19$m=64,t=1,p=1$" SALT "$" HASH "$",
    "$argon2id$v=19$m=64,t=1,p=1$" SALT "$" HASH "$x",
    "$argon2id$v=19$m=64,t=1,p=1$" SALT "$" HASH "\n",
    " $argon2id$v=19$m=64,t=1,p=1$" SALT "$" HASH,
    "$argon2id$v=19$m=64,t=1,p=1$" SALT "$ " HASH,
    "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy", /* bcrypt */
    "password123",
};

static void test_password_malformed_phc_strings_are_refused(void **state)
{
    for (size_t i = 0; i < sizeof(MALFORMED) / sizeof(MALFORMED[0]); i++) {
        struct str s = str_from_cstr(MALFORMED[i]);
        struct core_password_phc parsed;
        if (core_password_parse(s, &parsed) != RC_INVALID)
            fail_msg("parsed: %s", MALFORMED[i]);
        /* bcrypt is no PHC string, but a hash verify reads (imports) */
        assert_int_equal(core_password_verify(STR_LIT("correct horse"), s),
                         core_password_is_bcrypt(s) ? RC_UNAUTHORIZED : RC_INVALID);
        assert_true(core_password_needs_rehash(s, FAST));
    }
    /* the base they are built from is valid */
    assert_int_equal(core_password_verify(STR_LIT("correct horse"),
                                          STR_LIT("$argon2id$v=19$m=64,t=1,p=1$" SALT "$" HASH)),
                     RC_OK);
}

static void test_password_embedded_nul_is_refused(void **state)
{
    char s[sizeof(SODIUM_PHC)];
    memcpy(s, SODIUM_PHC, sizeof(s));
    for (size_t i = 0; i < sizeof(s) - 1; i++) {
        char saved = s[i];
        s[i] = '\0';
        struct core_password_phc parsed;
        assert_int_equal(core_password_parse((struct str){s, sizeof(s) - 1}, &parsed), RC_INVALID);
        s[i] = saved;
    }
}

/* Every proper prefix of a valid string is refused by the parser, except
 * those cutting the hash where the cut is itself canonical base64 of 16 or
 * more bytes: they read as a shorter hash, which argon2id (whose output
 * depends on its length) then fails to match. */
static void test_password_every_truncation_is_refused(void **state)
{
    size_t n = strlen(SODIUM_PHC);
    size_t parsed_count = 0;
    for (size_t len = 0; len < n; len++) {
        struct core_password_phc parsed;
        struct str s = {SODIUM_PHC, len};
        if (core_password_parse(s, &parsed) != RC_OK) {
            assert_int_equal(core_password_verify(STR_LIT("correct horse"), s), RC_INVALID);
            continue;
        }
        parsed_count++;
        assert_true(parsed.hash_len < CORE_PASSWORD_HASH_BYTES);
        assert_int_equal(core_password_verify(STR_LIT("correct horse"), s), RC_UNAUTHORIZED);
    }
    /* the hash cut after 22, 24, 28, 32, 35, 36 or 40 characters (checked
     * with Python's base64 module) */
    assert_int_equal(parsed_count, 7);
}

static void test_password_parse_accepts_hash_lengths_16_to_64(void **state)
{
    struct core_password_phc parsed;
    assert_int_equal(
        core_password_parse(STR_LIT("$argon2id$v=19$m=64,t=1,p=1$" SALT "$9PZ1GyEZG9Xy5xHSdykt+Q"),
                            &parsed),
        RC_OK);
    assert_int_equal(parsed.hash_len, 16);
    assert_int_equal(core_password_parse(STR_LIT("$argon2id$v=19$m=64,t=1,p=1$" SALT
                                                 "$" A8 A8 A8 A8 A8 A8 A8 A8 A8 A8 "AAAAAA"),
                                         &parsed),
                     RC_OK);
    assert_int_equal(parsed.hash_len, 64);
    assert_int_equal(parsed.params.m_kib, 64);
    assert_int_equal(parsed.params.t, 1);
}

/* Fuzz-like: change bytes all over a valid string with a fixed LCG. Whatever
 * still parses has in-bounds values, and verifies only if it is unchanged
 * (strict parsing gives each (params, salt, hash) one spelling). */
static void test_password_random_byte_flips_never_crash(void **state)
{
    static const char alphabet[] = "$=,+/-_09azAZmtpv\0\xff ";
    uint32_t seed = 12345;
    size_t n = strlen(SODIUM_PHC);
    size_t parsed_count = 0;
    for (int round = 0; round < 3000; round++) {
        char s[sizeof(SODIUM_PHC)];
        memcpy(s, SODIUM_PHC, sizeof(s));
        int flips = 1 + round % 3;
        for (int f = 0; f < flips; f++) {
            seed = seed * 1103515245u + 12345u;
            size_t pos = (seed >> 8) % n;
            seed = seed * 1103515245u + 12345u;
            s[pos] = alphabet[(seed >> 8) % (sizeof(alphabet) - 1)];
        }
        struct core_password_phc parsed;
        if (core_password_parse((struct str){s, n}, &parsed) != RC_OK)
            continue;
        parsed_count++;
        assert_true(core_password_params_are_valid(parsed.params));
        assert_true(parsed.hash_len >= CORE_PASSWORD_HASH_MIN_BYTES &&
                    parsed.hash_len <= CORE_PASSWORD_HASH_MAX_BYTES);
        enum rc want = memcmp(s, SODIUM_PHC, n) == 0 ? RC_OK : RC_UNAUTHORIZED;
        assert_int_equal(core_password_verify(STR_LIT("correct horse"), (struct str){s, n}), want);
    }
    assert_true(parsed_count < 3000);
}

/* PocketBase's bcrypt hashes (imports): the OpenBSD test vector, a wrong
 * password, a cost past the ceiling, and that they always ask for a rehash. */
static void test_password_reads_bcrypt_hashes(void **state)
{
    (void)state;
    const struct str phc = STR_LIT("$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW");
    assert_true(core_password_is_bcrypt(phc));
    assert_int_equal(core_password_verify(STR_LIT("U*U"), phc), RC_OK);
    assert_int_equal(core_password_verify(STR_LIT("U*V"), phc), RC_UNAUTHORIZED);
    assert_int_equal(core_password_verify(STR_LIT("U*U"),
                                          STR_LIT("$2b$31$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0Xou"
                                                  "QYb4YMJKvyOeW")),
                     RC_INVALID);
    assert_false(core_password_is_bcrypt(STR_LIT("$2a$05$short")));
    struct core_password_params p = {.m_kib = CORE_PASSWORD_DEFAULT_M_KIB,
                                     .t = CORE_PASSWORD_DEFAULT_T};
    assert_true(core_password_needs_rehash(phc, p));
}

int main(void)
{
    if (secure_init()) {
        fputs("secure_init failed\n", stderr);
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_password_reads_bcrypt_hashes),
        cmocka_unit_test(test_password_hash_then_verify_matches),
        cmocka_unit_test(test_password_verify_refuses_wrong_passwords),
        cmocka_unit_test(test_password_hash_writes_the_bench_format),
        cmocka_unit_test(test_password_verifies_the_bench_data_set_hash),
        cmocka_unit_test(test_password_verifies_libsodium_strings_and_libsodium_verifies_ours),
        cmocka_unit_test(test_password_hash_honours_parameters),
        cmocka_unit_test(test_password_hash_uses_a_fresh_salt_each_time),
        cmocka_unit_test(test_password_hash_accepts_empty_and_long_passwords),
        cmocka_unit_test(test_password_hash_refuses_out_of_range_parameters),
        cmocka_unit_test(test_password_hash_respects_the_buffer_maximum),
        cmocka_unit_test(test_password_dummy_verify_always_fails),
        cmocka_unit_test(test_password_needs_rehash_when_parameters_differ),
        cmocka_unit_test(test_password_malformed_phc_strings_are_refused),
        cmocka_unit_test(test_password_embedded_nul_is_refused),
        cmocka_unit_test(test_password_every_truncation_is_refused),
        cmocka_unit_test(test_password_parse_accepts_hash_lengths_16_to_64),
        cmocka_unit_test(test_password_random_byte_flips_never_crash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
