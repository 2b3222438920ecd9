/* test_logs_merge.c -- unit tests of store_logs_merge (store/logs.h): other
 * instances' pages of one request-log query made one (sorted, paged, an entry
 * seen twice kept once), and what it refuses: items that are not a JSON array
 * of entries, and an ORDER BY the table cannot take. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "store/logs.h"

#define ENTRY(id, created, url)                                                                    \
    "{\"id\":\"" id "\",\"created\":\"" created "\",\"data\":{\"url\":\"" url                      \
    "\"},\"message\":\"GET " url "\",\"level\":0}"

static const char PAGES[] = "[" ENTRY("b", "2026-01-01 00:00:02.000Z", "/b") "," ENTRY(
    "a", "2026-01-01 00:00:01.000Z",
    "/a") "," ENTRY("c", "2026-01-01 00:00:03.000Z",
                    "/c") "," ENTRY("a", "2026-01-01 00:00:01.000Z", "/a") "]";

/* The ids of a merge's output, in order ("a,b"). */
static enum rc merge(const char *items, const char *order_by, int64_t limit, int64_t offset,
                     char *ids, size_t cap, int64_t *rows, char *err, size_t err_cap)
{
    struct buf out;
    buf_init(&out, 1u << 20);
    err[0] = '\0';
    enum rc rc =
        store_logs_merge(str_from_cstr(items), order_by, limit, offset, &out, rows, err, err_cap);
    ids[0] = '\0';
    (void)buf_append(&out, "", 1);
    for (const char *p = out.data; rc == RC_OK && p && (p = strstr(p, "{\"id\":\"")) != NULL;) {
        p += 7;
        size_t n = strcspn(p, "\"");
        if (ids[0])
            strncat(ids, ",", cap - strlen(ids) - 1);
        strncat(ids, p, n < cap - strlen(ids) - 1 ? n : cap - strlen(ids) - 1);
    }
    buf_cleanup(&out);
    return rc;
}

static void test_sorted_paged_and_deduplicated(void **state)
{
    (void)state;
    char ids[64], err[160];
    int64_t rows = -1;
    assert_int_equal(merge(PAGES, NULL, 10, 0, ids, sizeof(ids), &rows, err, sizeof(err)), RC_OK);
    assert_string_equal(ids, "a,b,c"); /* by created; "a" twice, kept once */
    assert_int_equal(rows, 3);
    assert_int_equal(
        merge(PAGES, "created DESC, id DESC", 1, 1, ids, sizeof(ids), &rows, err, sizeof(err)),
        RC_OK);
    assert_string_equal(ids, "b");
    assert_int_equal(rows, 1);
    assert_int_equal(merge("[]", NULL, 10, 0, ids, sizeof(ids), &rows, err, sizeof(err)), RC_OK);
    assert_string_equal(ids, "");
    assert_int_equal(rows, 0);
}

static void test_malformed_items_are_refused(void **state)
{
    (void)state;
    char ids[64], err[160];
    int64_t rows = -1;
    static const char *const bad[] = {
        "[{\"id\":\"a\"",             /* cut short */
        "not json", "{\"id\":\"a\"}", /* an object, not an array: json_each walks its values */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        enum rc rc = merge(bad[i], NULL, 10, 0, ids, sizeof(ids), &rows, err, sizeof(err));
        if (rc != RC_INVALID)
            fail_msg("%s: rc %d, %lld rows", bad[i], (int)rc, (long long)rows);
        assert_true(err[0] != '\0');
    }
    /* An entry without the table's NOT NULL columns is dropped (INSERT OR
     * IGNORE), the others kept. */
    assert_int_equal(merge("[{\"id\":\"x\"}," ENTRY("a", "2026-01-01 00:00:01.000Z", "/a") "]",
                           NULL, 10, 0, ids, sizeof(ids), &rows, err, sizeof(err)),
                     RC_OK);
    assert_string_equal(ids, "a");
}

static void test_a_bad_order_is_refused(void **state)
{
    (void)state;
    char ids[64], err[160];
    int64_t rows = -1;
    assert_int_equal(merge(PAGES, "nosuchcolumn", 10, 0, ids, sizeof(ids), &rows, err, sizeof(err)),
                     RC_INVALID);
    assert_non_null(strstr(err, "nosuchcolumn"));
    assert_int_equal(rows, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sorted_paged_and_deduplicated),
        cmocka_unit_test(test_malformed_items_are_refused),
        cmocka_unit_test(test_a_bad_order_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
