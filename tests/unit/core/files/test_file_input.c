/* test_file_input.c -- unit tests of core/file_input.h (spec §8.1 and §2.4
 * for file fields: plain names, uploads, f+ / +f / f-, clearing, unknown
 * names, maxSelect, single fields keeping the last name) and of the
 * thumbnail size parser of core/thumb.h. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "core/files/file_input.h"
#include "core/files/files.h"
#include "core/files/thumb.h"

static struct core_field multi = {.name = "gallery", .type = CORE_FIELD_FILE, .max_select = 3};
static struct core_field single = {.name = "cover", .type = CORE_FIELD_FILE, .max_select = 1};

/* Resolves body (JSON text) against current (JSON text) and compares the
 * result with want (JSON text, or NULL for "untouched"); code is the field
 * error expected (NULL: none). */
static void check(const struct core_field *f, const char *body, const char *current,
                  const char *want, const char *code)
{
    json_t *b = json_loads(body, 0, NULL);
    json_t *cur = json_loads(current, JSON_DECODE_ANY, NULL);
    assert_non_null(b);
    assert_non_null(cur);
    struct core_problem p;
    core_problem_init(&p);
    json_t *got = core_file_input_resolve(f, b, cur, &p);
    if (!want) {
        assert_null(got);
    } else {
        json_t *w = json_loads(want, JSON_DECODE_ANY, NULL);
        assert_non_null(got);
        if (!json_equal(got, w)) {
            char *g = json_dumps(got, JSON_ENCODE_ANY);
            fail_msg("got %s, want %s", g, want);
        }
        json_decref(w);
    }
    if (code) {
        assert_true(core_problem_has_fields(&p));
        json_t *e = json_object_get(p.data, f->name);
        assert_string_equal(json_string_value(json_object_get(e, "code")), code);
    } else {
        assert_false(core_problem_has_fields(&p));
    }
    json_decref(got);
    json_decref(b);
    json_decref(cur);
    core_problem_cleanup(&p);
}

#define UP(key, name) "{\"key\":\"" key "\",\"name\":\"" name "\"}"
#define UPLOADS(x) "\"" CORE_FILES_BODY_KEY "\":[" x "]"

static void test_untouched(void **state)
{
    (void)state;
    check(&multi, "{\"title\":\"x\"}", "[\"a.txt\"]", NULL, NULL);
    check(&multi, "{" UPLOADS(UP("cover", "n.txt")) "}", "[\"a.txt\"]", NULL, NULL);
}

static void test_uploads_replace_or_add(void **state)
{
    (void)state;
    check(&multi, "{" UPLOADS(UP("gallery", "n1") "," UP("gallery", "n2")) "}", "[\"a\"]",
          "[\"n1\",\"n2\"]", NULL);
    /* kept names given as text: uploads are added to them */
    check(&multi, "{\"gallery\":\"a\"," UPLOADS(UP("gallery", "n1")) "}", "[\"a\",\"b\"]",
          "[\"a\",\"n1\"]", NULL);
    check(&multi, "{\"gallery\":\"[\\\"b\\\",\\\"a\\\"]\"}", "[\"a\",\"b\"]", "[\"b\",\"a\"]",
          NULL);
}

static void test_modifiers(void **state)
{
    (void)state;
    check(&multi, "{" UPLOADS(UP("gallery+", "n")) "}", "[\"a\"]", "[\"a\",\"n\"]", NULL);
    check(&multi, "{" UPLOADS(UP("+gallery", "n")) "}", "[\"a\"]", "[\"n\",\"a\"]", NULL);
    check(&multi, "{\"gallery-\":\"a\"}", "[\"a\",\"b\"]", "[\"b\"]", NULL);
    check(&multi, "{\"gallery-\":[\"a\",\"b\"]}", "[\"a\",\"b\"]", "[]", NULL);
    check(&multi, "{\"gallery-\":\"zzz\"}", "[\"a\"]", "[\"a\"]", NULL);
    check(&multi, "{\"gallery\":\"\"}", "[\"a\",\"b\"]", "[]", NULL);
    check(&multi, "{\"gallery\":[]}", "[\"a\",\"b\"]", "[]", NULL);
}

static void test_errors(void **state)
{
    (void)state;
    check(&multi, "{\"gallery\":[\"a\",\"forged.txt\"]}", "[\"a\"]", "[\"a\"]",
          "validation_invalid_file");
    check(&multi, "{\"gallery+\":\"forged.txt\"}", "[]", "[]", "validation_invalid_file");
    check(&multi, "{" UPLOADS(UP("gallery+", "n1") "," UP("gallery+", "n2")) "}", "[\"a\",\"b\"]",
          "[\"a\",\"b\",\"n1\",\"n2\"]", "validation_too_many_files");
}

static void test_single(void **state)
{
    (void)state;
    check(&single, "{" UPLOADS(UP("cover", "n1") "," UP("cover", "n2")) "}", "\"a\"", "\"n2\"",
          NULL);
    check(&single, "{\"cover\":\"\"}", "\"a\"", "\"\"", NULL);
    check(&single, "{\"cover\":\"a\"}", "\"a\"", "\"a\"", NULL);
    check(&single, "{\"cover\":\"b\"}", "\"a\"", "\"\"", "validation_invalid_file");
    check(&single, "{\"cover-\":\"a\"}", "\"a\"", "\"\"", NULL);
}

static void test_thumb_parse(void **state)
{
    (void)state;
    struct core_thumb_spec s;
    assert_true(core_thumb_parse(STR_LIT("100x100"), &s));
    assert_int_equal(s.width, 100);
    assert_int_equal(s.height, 100);
    assert_int_equal(s.mode, 'c');
    assert_true(core_thumb_parse(STR_LIT("0x300"), &s));
    assert_int_equal(s.width, 0);
    assert_true(core_thumb_parse(STR_LIT("40x20t"), &s));
    assert_int_equal(s.mode, 't');
    assert_true(core_thumb_parse(STR_LIT("40x20b"), &s));
    assert_true(core_thumb_parse(STR_LIT("40x20f"), &s));
    assert_int_equal(s.mode, 'f');
    assert_false(core_thumb_parse(STR_LIT("0x0"), &s));
    assert_false(core_thumb_parse(STR_LIT("x100"), &s));
    assert_false(core_thumb_parse(STR_LIT("100x"), &s));
    assert_false(core_thumb_parse(STR_LIT("100x100z"), &s));
    assert_false(core_thumb_parse(STR_LIT("-1x100"), &s));
    assert_false(core_thumb_parse(STR_LIT("99999x1"), &s));
    assert_false(core_thumb_parse(STR_LIT("1x1/../"), &s));
    assert_false(core_thumb_parse(STR_LIT(""), &s));
    char *thumbs[] = {"50x20", "0x40"};
    struct core_field f = {.type = CORE_FIELD_FILE, .thumbs = thumbs, .thumb_count = 2};
    assert_true(core_thumb_is_allowed(&f, STR_LIT("100x100")));
    assert_true(core_thumb_is_allowed(&f, STR_LIT("50x20")));
    assert_false(core_thumb_is_allowed(&f, STR_LIT("50x20f")));
    assert_false(core_thumb_is_allowed(&f, STR_LIT("30x30")));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_untouched), cmocka_unit_test(test_uploads_replace_or_add),
        cmocka_unit_test(test_modifiers), cmocka_unit_test(test_errors),
        cmocka_unit_test(test_single),    cmocka_unit_test(test_thumb_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
