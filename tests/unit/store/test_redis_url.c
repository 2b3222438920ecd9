/* test_redis_url.c -- unit tests of store_redis_parse_url and
 * store_redis_target_format (store/redis.h): the forms --redis takes, the ones
 * it refuses with a sentence, and that no message or formatted target ever
 * shows the password. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "store/redis.h"

static struct store_redis_target parse_ok(const char *url)
{
    struct store_redis_target t;
    char err[256] = "";
    enum rc rc = store_redis_parse_url(url, &t, err, sizeof(err));
    if (rc)
        fail_msg("%s: %s", url, err);
    return t;
}

static void refused(const char *url, const char *says)
{
    struct store_redis_target t;
    char err[256] = "";
    assert_int_equal(store_redis_parse_url(url, &t, err, sizeof(err)), RC_INVALID);
    if (!strstr(err, says))
        fail_msg("%s: \"%s\" does not say \"%s\"", url, err, says);
    assert_null(strstr(err, "s3cret"));
}

static void test_host_port_db_and_defaults(void **state)
{
    struct store_redis_target t = parse_ok("redis://127.0.0.1:6380/2");
    assert_string_equal(t.host, "127.0.0.1");
    assert_int_equal(t.port, 6380);
    assert_int_equal(t.db, 2);
    assert_string_equal(t.password, "");
    t = parse_ok("redis://cache.internal");
    assert_string_equal(t.host, "cache.internal");
    assert_int_equal(t.port, 6379);
    assert_int_equal(t.db, 0);
    t = parse_ok("redis://localhost/");
    assert_int_equal(t.db, 0);
    t = parse_ok("redis://[::1]:7000/1");
    assert_string_equal(t.host, "::1");
    assert_int_equal(t.port, 7000);
    assert_int_equal(t.db, 1);
}

static void test_password_forms_are_decoded(void **state)
{
    struct store_redis_target t = parse_ok("redis://:s3cret@10.0.0.5:6379/0");
    assert_string_equal(t.password, "s3cret");
    assert_string_equal(t.username, "");
    t = parse_ok("redis://app:p%40ss%3Aw@h");
    assert_string_equal(t.username, "app");
    assert_string_equal(t.password, "p@ss:w");
    /* an unescaped '@' in the password: the last one ends the user info */
    t = parse_ok("redis://:a@b@h:1");
    assert_string_equal(t.password, "a@b");
    assert_string_equal(t.host, "h");
}

static void test_unix_socket_forms(void **state)
{
    struct store_redis_target t = parse_ok("unix:///run/redis/redis.sock");
    assert_string_equal(t.path, "/run/redis/redis.sock");
    assert_string_equal(t.host, "");
    assert_int_equal(t.db, 0);
    t = parse_ok("unix://:s3cret@/tmp/r.sock?db=3");
    assert_string_equal(t.path, "/tmp/r.sock");
    assert_string_equal(t.password, "s3cret");
    assert_int_equal(t.db, 3);
}

static void test_refusals_say_what_is_wrong(void **state)
{
    refused("http://localhost:6379", "redis://");
    refused("localhost:6379", "redis://");
    refused("rediss://:s3cret@h:6379", "TLS");
    refused("redis://", "needs a host");
    refused("redis://:s3cret@:6379", "needs a host");
    refused("redis://h:0", "port");
    refused("redis://h:65536", "port");
    refused("redis://h:port", "port");
    refused("redis://h/db", "database");
    refused("redis://h/1?timeout=3", "database");
    refused("redis://h?x=1", "parameters");
    refused("redis://[::1", "']'");
    refused("redis://user@h", "password");
    refused("redis://:s3cret%zz@h", "escape");
    refused("unix://relative.sock", "absolute path");
    refused("unix://host/tmp/r.sock", "no host");
    refused("unix:///tmp/r.sock?timeout=1", "?db=N");
}

static void test_format_never_shows_the_password(void **state)
{
    char out[512];
    struct store_redis_target t = parse_ok("redis://:s3cret@10.0.0.5:6390/4");
    store_redis_target_format(&t, out, sizeof(out));
    assert_string_equal(out, "redis://***@10.0.0.5:6390/4");
    t = parse_ok("redis://[::1]");
    store_redis_target_format(&t, out, sizeof(out));
    assert_string_equal(out, "redis://[::1]:6379/0");
    t = parse_ok("unix://:s3cret@/tmp/r.sock?db=1");
    store_redis_target_format(&t, out, sizeof(out));
    assert_string_equal(out, "unix://***@/tmp/r.sock?db=1");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_host_port_db_and_defaults),
        cmocka_unit_test(test_password_forms_are_decoded),
        cmocka_unit_test(test_unix_socket_forms),
        cmocka_unit_test(test_refusals_say_what_is_wrong),
        cmocka_unit_test(test_format_never_shows_the_password),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
