/* test_record_read.c -- unit tests of core/record/record.h's reads
 * (record_read.c) on a real data directory and a worker's read connection:
 * a record by id as JSON (hidden fields, view rule, null rule, `fields`,
 * `expand`), and pages (sort, paging, totals, skipTotal, list rule,
 * filters, the superuser-only @request/@collection filters, errors for bad
 * filters and sorts), that a write is seen by the next list despite the
 * caches, and that a page past 1 MiB is handed over as a stream. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "core_fixture.h"
#include "core/record/record.h"

#define USER "us1aaaaaaaaaaaa"
#define CORE_LIST_STREAM_MIN ((size_t)1 << 20) /* record_int.h's CORE_LIST_STREAM_AT */

struct state {
    struct fixture fx;
    struct core_worker cw;
    struct arena arena;
    struct core_auth user; /* USER, loaded */
};

static const struct core_auth SU = {.is_superuser = true};
static const struct core_auth GUEST = {0};

static void must_schema(struct core_app *app, const char *text)
{
    xfree(fixture_schema_ok(app, CORE_SCHEMA_CREATE, text, NULL));
}

static void must_insert(struct core_app *app, const char *name, const char *values)
{
    assert_int_equal(fixture_insert(app, name, values), RC_OK);
}

/* posts p1..p6 (views 1..6): odd ones public; p2 a draft of USER's. */
static int setup(void **state)
{
    struct state *s = xcalloc(1, sizeof(*s));
    fixture_open(&s->fx);
    struct core_app *app = s->fx.app;
    must_schema(app, "{\"name\":\"authors\",\"listRule\":\"\",\"viewRule\":\"\","
                     "\"fields\":[{\"name\":\"name\",\"type\":\"text\"}]}");
    must_schema(app, "{\"name\":\"posts\",\"listRule\":\"status = 'public'\","
                     "\"viewRule\":\"status = 'public' || owner = @request.auth.id\","
                     "\"fields\":[{\"name\":\"title\",\"type\":\"text\"},"
                     "{\"name\":\"status\",\"type\":\"text\"},"
                     "{\"name\":\"views\",\"type\":\"number\"},"
                     "{\"name\":\"note\",\"type\":\"text\",\"hidden\":true},"
                     "{\"name\":\"owner\",\"type\":\"relation\",\"collectionId\":\"users\"},"
                     "{\"name\":\"author\",\"type\":\"relation\",\"collectionId\":\"authors\"}]}");
    must_schema(app, "{\"name\":\"vault\",\"fields\":[{\"name\":\"text\",\"type\":\"text\"}]}");
    must_insert(app, "users", "{\"id\":\"" USER "\",\"email\":\"u@x.io\",\"tokenKey\":\"tku\"}");
    must_insert(app, "authors", "{\"id\":\"au1aaaaaaaaaaaa\",\"name\":\"Ann\"}");
    static const char *const titles[] = {"alpha", "bravo", "charlie", "delta", "echo", "foxtrot"};
    for (int i = 1; i <= 6; i++) {
        char values[512];
        snprintf(values, sizeof(values),
                 "{\"id\":\"p%daaaaaaaaaaaaa\",\"title\":\"%s\",\"status\":\"%s\",\"views\":%d,"
                 "\"note\":\"n%d\",\"owner\":\"%s\",\"author\":\"au1aaaaaaaaaaaa\"}",
                 i, titles[i - 1], i % 2 ? "public" : "draft", i, i, i == 2 ? USER : "");
        must_insert(app, "posts", values);
    }
    must_insert(app, "vault", "{\"id\":\"v1aaaaaaaaaaaaa\",\"text\":\"x\"}");
    assert_int_equal(core_worker_init(&s->cw, app, NULL), RC_OK);
    arena_init(&s->arena, 4096);
    s->user.collection = fixture_collection(app, "users");
    s->user.record = fixture_load(app, "users", USER);
    s->user.id = USER;
    *state = s;
    return 0;
}

static int teardown(void **state)
{
    struct state *s = *state;
    json_decref(s->user.record);
    arena_cleanup(&s->arena);
    core_worker_cleanup(&s->cw);
    fixture_close(&s->fx);
    xfree(s);
    return 0;
}

static struct core_request request(struct state *s, const struct core_auth *auth)
{
    struct core_request r = {
        .cw = &s->cw, .schema = core_app_schema(s->fx.app), .arena = &s->arena, .auth = auth};
    r.filter_request.method = "GET";
    r.filter_request.context = "default";
    if (auth->collection) {
        r.filter_request.auth_collection = auth->collection;
        r.filter_request.auth = auth->record;
    }
    return r;
}

struct read {
    enum rc rc;
    json_t *json; /* the answer, NULL when none */
    struct core_problem p;
};

static void read_cleanup(struct read *rd)
{
    json_decref(rd->json);
    core_problem_cleanup(&rd->p);
}

static void finish(struct read *rd, struct buf *out)
{
    rd->json = rd->rc ? NULL : json_loadb(out->data, out->len, 0, NULL);
    if (!rd->rc && !rd->json)
        fail_msg("not JSON: %.*s", (int)out->len, out->data);
    buf_cleanup(out);
}

static struct read view(struct state *s, const struct core_auth *auth, const char *name,
                        const char *id, const struct core_output_opts *o)
{
    static const struct core_output_opts none = {0};
    struct core_request r = request(s, auth);
    struct read rd = {0};
    core_problem_init(&rd.p);
    struct buf out;
    buf_init(&out, 1 << 24);
    rd.rc = core_record_view(&r, fixture_collection(s->fx.app, name), str_from_cstr(id),
                             o ? o : &none, &out, &rd.p);
    finish(&rd, &out);
    arena_reset(&s->arena);
    return rd;
}

static struct read list(struct state *s, const struct core_auth *auth, const char *name,
                        const struct core_list_opts *lo, const struct core_output_opts *o)
{
    static const struct core_output_opts none = {0};
    struct core_request r = request(s, auth);
    struct read rd = {0};
    core_problem_init(&rd.p);
    struct buf out;
    buf_init(&out, 1 << 24);
    rd.rc = core_record_list(&r, fixture_collection(s->fx.app, name), lo, o ? o : &none, &out,
                             &rd.p, NULL);
    finish(&rd, &out);
    arena_reset(&s->arena);
    return rd;
}

static struct core_list_opts page(int64_t n, int64_t per_page, const char *filter, const char *sort)
{
    return (struct core_list_opts){.page = n,
                                   .per_page = per_page,
                                   .filter = str_from_cstr(filter ? filter : ""),
                                   .sort = str_from_cstr(sort ? sort : "")};
}

static int64_t int_of(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_integer(v))
        fail_msg("%s is not an integer", key);
    return json_integer_value(v);
}

/* Lists name as auth (page 1 of 30) with filter, expecting success and
 * want items in total. */
static void expect_total(struct state *s, const struct core_auth *auth, const char *name,
                         const char *filter, int64_t want)
{
    struct core_list_opts lo = page(1, 30, filter, NULL);
    struct read rd = list(s, auth, name, &lo, NULL);
    assert_int_equal(rd.rc, RC_OK);
    assert_int_equal(int_of(rd.json, "totalItems"), want);
    read_cleanup(&rd);
}

/* The items' ids joined by ",". */
static const char *ids_of(json_t *page_json, char *buf, size_t cap)
{
    buf[0] = '\0';
    size_t i;
    json_t *it;
    json_array_foreach(json_object_get(page_json, "items"), i, it)
    {
        const char *id = json_string_value(json_object_get(it, "id"));
        size_t n = strlen(buf);
        snprintf(buf + n, cap - n, "%s%.2s", n ? "," : "", id ? id : "??");
    }
    return buf;
}

/* ---- view --------------------------------------------------------------- */

static void test_view_writes_the_record_as_json(void **state)
{
    struct state *s = *state;
    struct read rd = view(s, &GUEST, "posts", "p1aaaaaaaaaaaaa", NULL);
    assert_int_equal(rd.rc, RC_OK);
    json_t *want =
        json_loads("{\"collectionId\":\"\",\"collectionName\":\"posts\","
                   "\"id\":\"p1aaaaaaaaaaaaa\",\"title\":\"alpha\",\"status\":\"public\","
                   "\"views\":1,\"owner\":\"\",\"author\":\"au1aaaaaaaaaaaa\"}",
                   0, NULL);
    json_object_set_new(want, "collectionId",
                        json_string(fixture_collection(s->fx.app, "posts")->id));
    if (!json_equal(rd.json, want))
        fail_msg("got %s", json_dumps(rd.json, JSON_COMPACT));
    json_decref(want);
    read_cleanup(&rd);
}

static void test_view_shows_hidden_fields_only_to_superusers(void **state)
{
    struct state *s = *state;
    struct read rd = view(s, &SU, "posts", "p1aaaaaaaaaaaaa", NULL);
    assert_int_equal(rd.rc, RC_OK);
    assert_string_equal(json_string_value(json_object_get(rd.json, "note")), "n1");
    read_cleanup(&rd);
}

static void test_view_of_a_missing_record_is_not_found(void **state)
{
    struct state *s = *state;
    struct read rd = view(s, &SU, "posts", "nosuchrecord123", NULL);
    assert_int_equal(rd.rc, RC_NOT_FOUND);
    read_cleanup(&rd);
}

static void test_load_and_find_read_by_id_without_rules(void **state)
{
    struct state *s = *state;
    const struct core_collection *c = fixture_collection(s->fx.app, "posts");
    json_t *rec = NULL;
    assert_int_equal(core_record_load(s->cw.db, c, STR_LIT("p1aaaaaaaaaaaaa"), &rec), RC_OK);
    assert_string_equal(json_string_value(json_object_get(rec, "note")), "n1"); /* hidden too */
    json_decref(rec);
    rec = NULL;
    assert_int_equal(core_record_load(s->cw.db, c, STR_LIT("nosuchrecord123"), &rec), RC_NOT_FOUND);
    assert_null(rec);
    assert_int_equal(core_record_find(s->cw.db, c, STR_LIT("p1aaaaaaaaaaaaa")), RC_OK);
    assert_int_equal(core_record_find(s->cw.db, c, STR_LIT("nosuchrecord123")), RC_NOT_FOUND);
    assert_int_equal(core_record_find(s->cw.db, c, STR_LIT("")), RC_NOT_FOUND);
}

static void test_view_rule_hides_the_record_from_whom_it_fails(void **state)
{
    struct state *s = *state;
    struct read rd = view(s, &GUEST, "posts", "p2aaaaaaaaaaaaa", NULL);
    assert_int_equal(rd.rc, RC_NOT_FOUND); /* a draft */
    read_cleanup(&rd);
    rd = view(s, &s->user, "posts", "p2aaaaaaaaaaaaa", NULL);
    assert_int_equal(rd.rc, RC_OK); /* its owner */
    assert_string_equal(json_string_value(json_object_get(rd.json, "title")), "bravo");
    read_cleanup(&rd);
    rd = view(s, &s->user, "posts", "p4aaaaaaaaaaaaa", NULL);
    assert_int_equal(rd.rc, RC_NOT_FOUND); /* another's draft */
    read_cleanup(&rd);
    const struct core_output_opts ignore = {.ignore_view_rule = true};
    rd = view(s, &GUEST, "posts", "p4aaaaaaaaaaaaa", &ignore);
    assert_int_equal(rd.rc, RC_OK);
    read_cleanup(&rd);
}

static void test_view_with_a_null_rule_is_for_superusers_only(void **state)
{
    struct state *s = *state;
    struct read rd = view(s, &s->user, "vault", "v1aaaaaaaaaaaaa", NULL);
    assert_int_equal(rd.rc, RC_FORBIDDEN);
    assert_string_equal(rd.p.message, "Only superusers can perform this action.");
    read_cleanup(&rd);
    rd = view(s, &SU, "vault", "v1aaaaaaaaaaaaa", NULL);
    assert_int_equal(rd.rc, RC_OK);
    read_cleanup(&rd);
}

static void test_view_applies_fields_and_expand(void **state)
{
    struct state *s = *state;
    const struct core_output_opts o = {.expand = STR_LIT("author"),
                                       .fields = STR_LIT("id,title,expand.author.name")};
    struct read rd = view(s, &GUEST, "posts", "p3aaaaaaaaaaaaa", &o);
    assert_int_equal(rd.rc, RC_OK);
    json_t *want = json_loads("{\"id\":\"p3aaaaaaaaaaaaa\",\"title\":\"charlie\","
                              "\"expand\":{\"author\":{\"name\":\"Ann\"}}}",
                              0, NULL);
    if (!json_equal(rd.json, want))
        fail_msg("got %s", json_dumps(rd.json, JSON_COMPACT));
    json_decref(want);
    read_cleanup(&rd);
}

static void test_view_after_a_schema_change_reads_the_new_shape(void **state)
{
    struct state *s = *state;
    /* The first view caches its statement for this collection. */
    struct read rd = view(s, &GUEST, "posts", "p1aaaaaaaaaaaaa", NULL);
    assert_string_equal(json_string_value(json_object_get(rd.json, "title")), "alpha");
    read_cleanup(&rd);
    const struct core_collection *c = fixture_collection(s->fx.app, "posts");
    char text[1024];
    snprintf(text, sizeof(text),
             "{\"fields\":[{\"id\":\"%s\",\"name\":\"headline\",\"type\":\"text\"},"
             "{\"id\":\"%s\",\"name\":\"status\",\"type\":\"text\"},"
             "{\"id\":\"%s\",\"name\":\"owner\",\"type\":\"relation\","
             "\"collectionId\":\"users\"}],\"viewRule\":\"status = 'public'\"}",
             core_collection_field(c, STR_LIT("title"))->id,
             core_collection_field(c, STR_LIT("status"))->id,
             core_collection_field(c, STR_LIT("owner"))->id);
    xfree(fixture_schema_ok(s->fx.app, CORE_SCHEMA_UPDATE, text, c->id));
    rd = view(s, &GUEST, "posts", "p1aaaaaaaaaaaaa", NULL);
    assert_int_equal(rd.rc, RC_OK);
    assert_string_equal(json_string_value(json_object_get(rd.json, "headline")), "alpha");
    assert_null(json_object_get(rd.json, "title"));
    assert_null(json_object_get(rd.json, "views"));
    read_cleanup(&rd);
}

/* ---- list --------------------------------------------------------------- */

static void test_list_pages_through_the_sort_order(void **state)
{
    struct state *s = *state;
    char ids[128];
    static const char *const want[] = {"p6,p5", "p4,p3", "p2,p1", ""};
    for (int n = 1; n <= 4; n++) {
        struct core_list_opts lo = page(n, 2, NULL, "-views,title");
        struct read rd = list(s, &SU, "posts", &lo, NULL);
        assert_int_equal(rd.rc, RC_OK);
        assert_int_equal(int_of(rd.json, "page"), n);
        assert_int_equal(int_of(rd.json, "perPage"), 2);
        assert_int_equal(int_of(rd.json, "totalItems"), 6);
        assert_int_equal(int_of(rd.json, "totalPages"), 3);
        assert_string_equal(ids_of(rd.json, ids, sizeof(ids)), want[n - 1]);
        read_cleanup(&rd);
    }
    struct core_list_opts lo = page(1, 10, NULL, "title");
    struct read rd = list(s, &SU, "posts", &lo, NULL);
    assert_string_equal(ids_of(rd.json, ids, sizeof(ids)), "p1,p2,p3,p4,p5,p6");
    read_cleanup(&rd);
}

static void test_list_rule_limits_rows_and_totals(void **state)
{
    struct state *s = *state;
    char ids[128];
    struct core_list_opts lo = page(1, 30, NULL, "views");
    struct read rd = list(s, &GUEST, "posts", &lo, NULL);
    assert_int_equal(rd.rc, RC_OK);
    assert_int_equal(int_of(rd.json, "totalItems"), 3);
    assert_int_equal(int_of(rd.json, "totalPages"), 1);
    assert_string_equal(ids_of(rd.json, ids, sizeof(ids)), "p1,p3,p5");
    /* Hidden fields stay out of a guest's items. */
    assert_null(json_object_get(json_array_get(json_object_get(rd.json, "items"), 0), "note"));
    read_cleanup(&rd);
}

static void test_list_filter_narrows_within_the_rule(void **state)
{
    struct state *s = *state;
    char ids[128];
    struct core_list_opts lo = page(1, 30, "views >= 3 && title ~ 'o'", "-views");
    struct read rd = list(s, &GUEST, "posts", &lo, NULL);
    assert_int_equal(rd.rc, RC_OK);
    assert_string_equal(ids_of(rd.json, ids, sizeof(ids)), "p5");
    assert_int_equal(int_of(rd.json, "totalItems"), 1);
    read_cleanup(&rd);
    rd = list(s, &SU, "posts", &lo, NULL);
    assert_string_equal(ids_of(rd.json, ids, sizeof(ids)), "p6,p5");
    read_cleanup(&rd);
}

static void test_list_bad_filter_or_sort_is_invalid(void **state)
{
    struct state *s = *state;
    static const char *const filters[] = {"views >>> 1", "nosuch = 1", "note = 'n1'"};
    for (size_t i = 0; i < 3; i++) {
        /* note is hidden: a guest's filter cannot name it. */
        struct core_list_opts lo = page(1, 30, filters[i], NULL);
        struct read rd = list(s, &GUEST, "posts", &lo, NULL);
        assert_int_equal(rd.rc, RC_INVALID);
        assert_true(rd.p.message[0] != '\0');
        read_cleanup(&rd);
    }
    struct core_list_opts lo = page(1, 30, NULL, "-nosuch");
    struct read rd = list(s, &GUEST, "posts", &lo, NULL);
    assert_int_equal(rd.rc, RC_INVALID);
    read_cleanup(&rd);
    /* A superuser may filter on the hidden field. */
    expect_total(s, &SU, "posts", "note = 'n2'", 1);
}

static void test_list_request_and_collection_filters_are_for_superusers(void **state)
{
    struct state *s = *state;
    struct core_list_opts lo = page(1, 30, "@request.auth.id != ''", NULL);
    struct read rd = list(s, &s->user, "posts", &lo, NULL);
    assert_int_equal(rd.rc, RC_FORBIDDEN);
    assert_string_equal(rd.p.message, "Only superusers can filter by @request.");
    read_cleanup(&rd);
    lo = page(1, 30, NULL, "@collection.authors.name");
    rd = list(s, &GUEST, "posts", &lo, NULL);
    assert_int_equal(rd.rc, RC_FORBIDDEN);
    assert_string_equal(rd.p.message, "Only superusers can filter by @collection.");
    read_cleanup(&rd);
    expect_total(s, &SU, "posts", "@collection.authors.name = 'Ann'", 6);
}

static void test_list_with_a_null_rule_is_for_superusers_only(void **state)
{
    struct state *s = *state;
    struct core_list_opts lo = page(1, 30, NULL, NULL);
    struct read rd = list(s, &GUEST, "vault", &lo, NULL);
    assert_int_equal(rd.rc, RC_FORBIDDEN);
    read_cleanup(&rd);
    expect_total(s, &SU, "vault", NULL, 1);
}

static void test_list_skip_total_reports_minus_one(void **state)
{
    struct state *s = *state;
    struct core_list_opts lo = page(1, 4, NULL, "views");
    lo.skip_total = true;
    struct read rd = list(s, &SU, "posts", &lo, NULL);
    assert_int_equal(rd.rc, RC_OK);
    assert_int_equal(int_of(rd.json, "totalItems"), -1);
    assert_int_equal(int_of(rd.json, "totalPages"), -1);
    assert_int_equal(json_array_size(json_object_get(rd.json, "items")), 4);
    read_cleanup(&rd);
}

static void test_list_fields_apply_to_each_item(void **state)
{
    struct state *s = *state;
    struct core_list_opts lo = page(1, 2, NULL, "views");
    const struct core_output_opts o = {.fields = STR_LIT("id,views")};
    struct read rd = list(s, &GUEST, "posts", &lo, &o);
    assert_int_equal(rd.rc, RC_OK);
    json_t *items = json_object_get(rd.json, "items");
    assert_int_equal(json_array_size(items), 2);
    json_t *want = json_loads("{\"id\":\"p3aaaaaaaaaaaaa\",\"views\":3}", 0, NULL);
    assert_true(json_equal(json_array_get(items, 1), want));
    json_decref(want);
    assert_int_equal(int_of(rd.json, "totalItems"), 3); /* the page keys stay */
    read_cleanup(&rd);
}

static void test_list_after_a_write_sees_it_despite_the_caches(void **state)
{
    struct state *s = *state;
    struct core_list_opts lo = page(1, 30, NULL, "views");
    for (int round = 0; round < 2; round++) {
        struct read rd = list(s, &GUEST, "posts", &lo, NULL);
        assert_int_equal(int_of(rd.json, "totalItems"), 3);
        read_cleanup(&rd);
    }
    must_insert(
        s->fx.app, "posts",
        "{\"id\":\"p7aaaaaaaaaaaaa\",\"title\":\"golf\",\"status\":\"public\",\"views\":7}");
    struct read rd = list(s, &GUEST, "posts", &lo, NULL);
    assert_int_equal(int_of(rd.json, "totalItems"), 4);
    char ids[128];
    assert_string_equal(ids_of(rd.json, ids, sizeof(ids)), "p1,p3,p5,p7");
    read_cleanup(&rd);
    /* skipTotal pages are not served a stale count either. */
    lo.skip_total = true;
    rd = list(s, &GUEST, "posts", &lo, NULL);
    assert_int_equal(json_array_size(json_object_get(rd.json, "items")), 4);
    read_cleanup(&rd);
}

static void test_large_page_is_handed_over_as_a_stream(void **state)
{
    struct state *s = *state;
    enum { N = 30, BIG = 60000 };
    char *text = xmalloc(BIG + 1);
    memset(text, 'x', BIG);
    text[BIG] = '\0';
    char *values = xmalloc(BIG + 256);
    for (int i = 0; i < N; i++) {
        snprintf(values, BIG + 256,
                 "{\"id\":\"big%012d\",\"title\":\"%s\",\"status\":\"public\",\"views\":%d}", i,
                 text, 100 + i);
        must_insert(s->fx.app, "posts", values);
    }
    xfree(values);
    xfree(text);
    struct core_list_opts lo = page(1, 100, "views >= 100", "-views");
    struct core_request r = request(s, &GUEST);
    struct core_problem p;
    core_problem_init(&p);
    struct buf out;
    buf_init(&out, 1 << 26);
    static const struct core_output_opts none = {0};
    struct core_list_stream *rest = NULL;
    assert_int_equal(
        core_record_list(&r, fixture_collection(s->fx.app, "posts"), &lo, &none, &out, &p, &rest),
        RC_OK);
    assert_non_null(rest);
    size_t head = out.len;
    assert_true(head >= CORE_LIST_STREAM_MIN); /* the head holds the first MiB */
    arena_reset(&s->arena);                    /* the stream owns what it needs */
    bool is_done = false;
    int pieces = 0;
    while (!is_done) {
        assert_int_equal(core_list_stream_next(rest, &out, &is_done), RC_OK);
        pieces++;
    }
    assert_null(core_list_stream_message(rest));
    core_list_stream_free(rest);
    assert_true(pieces > 1);
    json_t *j = json_loadb(out.data, out.len, 0, NULL);
    assert_non_null(j);
    assert_int_equal(int_of(j, "totalItems"), N);
    json_t *items = json_object_get(j, "items");
    assert_int_equal(json_array_size(items), N);
    for (int i = 0; i < N; i++) {
        char id[16];
        snprintf(id, sizeof(id), "big%012d", N - 1 - i);
        assert_string_equal(
            json_string_value(json_object_get(json_array_get(items, (size_t)i), "id")), id);
    }
    json_decref(j);
    buf_cleanup(&out);
    core_problem_cleanup(&p);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_view_writes_the_record_as_json),
        T(test_view_shows_hidden_fields_only_to_superusers),
        T(test_view_of_a_missing_record_is_not_found),
        T(test_load_and_find_read_by_id_without_rules),
        T(test_view_rule_hides_the_record_from_whom_it_fails),
        T(test_view_with_a_null_rule_is_for_superusers_only),
        T(test_view_applies_fields_and_expand),
        T(test_view_after_a_schema_change_reads_the_new_shape),
        T(test_list_pages_through_the_sort_order),
        T(test_list_rule_limits_rows_and_totals),
        T(test_list_filter_narrows_within_the_rule),
        T(test_list_bad_filter_or_sort_is_invalid),
        T(test_list_request_and_collection_filters_are_for_superusers),
        T(test_list_with_a_null_rule_is_for_superusers_only),
        T(test_list_skip_total_reports_minus_one),
        T(test_list_fields_apply_to_each_item),
        T(test_list_after_a_write_sees_it_despite_the_caches),
        T(test_large_page_is_handed_over_as_a_stream),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
