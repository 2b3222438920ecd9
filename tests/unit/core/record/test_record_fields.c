/* test_record_fields.c -- core_fields_wants, the top-level keys a `fields`
 * picker keeps, against what core_fields_apply keeps of the same record:
 * a key the picker keeps is always wanted (never left unwritten), and a key
 * it prunes is not wanted when the picker names any. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <jansson.h>
#include <string.h>

#include "base/buf.h"
#include "core/record/record.h"

static const char *const keys[] = {"id", "title", "emb", "expand", "@distance"};

static const char RECORD[] = "{\"id\":\"r1\",\"title\":\"Hello world\",\"emb\":[0.5,1.5],"
                             "\"expand\":{\"owner\":{\"id\":\"u1\",\"name\":\"Ann\"}},"
                             "\"@distance\":0.25}";

/* Whether core_fields_apply leaves key in the record. */
static bool kept(const char *picker, const char *key)
{
    struct buf b;
    buf_init(&b, 1 << 20);
    assert_int_equal(buf_append_cstr(&b, RECORD), RC_OK);
    assert_int_equal(core_fields_apply(&b, str_from_cstr(picker), false), RC_OK);
    json_t *doc = json_loadb(b.data, b.len, 0, NULL);
    assert_non_null(doc);
    bool is_kept = json_object_get(doc, key) != NULL;
    json_decref(doc);
    buf_cleanup(&b);
    return is_kept;
}

static void test_wanted_keys_agree_with_the_pruning(void **state)
{
    (void)state;
    static const char *const pickers[] = {"id",
                                          "id,title",
                                          " title , id ",
                                          "*",
                                          "id,*",
                                          "expand.owner.name",
                                          "title:excerpt(5)",
                                          "title:excerpt(5,true),id",
                                          ",,,",
                                          ".id",
                                          "*.x",
                                          "emb.0",
                                          "a..b,id",
                                          "expand.*",
                                          "nothing",
                                          "@distance",
                                          "id:excerpt(3",
                                          "title:excerpt(2, t)"};
    for (size_t p = 0; p < sizeof(pickers) / sizeof(pickers[0]); p++) {
        for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
            bool wants = core_fields_wants(str_from_cstr(pickers[p]), str_from_cstr(keys[k]));
            bool is_kept = kept(pickers[p], keys[k]);
            if (is_kept && !wants)
                fail_msg("picker \"%s\" keeps \"%s\" but does not want it", pickers[p], keys[k]);
            if (!is_kept && wants)
                fail_msg("picker \"%s\" prunes \"%s\" but wants it", pickers[p], keys[k]);
        }
    }
}

static void test_named_keys_only(void **state)
{
    (void)state;
    assert_true(core_fields_wants(STR_LIT("id,title"), STR_LIT("title")));
    assert_false(core_fields_wants(STR_LIT("id,title"), STR_LIT("emb")));
    assert_false(core_fields_wants(STR_LIT("id"), STR_LIT("expand")));
    assert_true(core_fields_wants(STR_LIT("expand.owner"), STR_LIT("expand")));
    assert_true(core_fields_wants(STR_LIT(""), STR_LIT("emb")));
    assert_true(core_fields_wants(STR_LIT("id,*"), STR_LIT("emb")));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wanted_keys_agree_with_the_pruning),
        cmocka_unit_test(test_named_keys_only),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
