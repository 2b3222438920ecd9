/* test_view.c -- view collections on a real data directory
 * (core/schema/view.h through core/schema_change.h): fields inferred from
 * the query's columns as PocketBase infers them (a copied field, an id as a
 * relation, count/total/CAST numbers, expressions as json, a view's own
 * fields through another view); queries refused with their reason (two
 * statements, writes, PRAGMA, internal tables, password fields, no id
 * column, wildcards); write rules and indexes refused; the SQL view made,
 * made again when a source changes (new options reach the view's fields)
 * and a change that breaks it refused, naming it; imports that list views
 * before their sources. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "core_fixture.h"

static int setup(void **state)
{
    struct fixture *fx = xcalloc(1, sizeof(*fx));
    fixture_open(fx);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;
    fixture_close(fx);
    xfree(fx);
    return 0;
}

static const char POSTS[] =
    "{\"name\":\"posts\",\"listRule\":\"\",\"fields\":["
    "{\"name\":\"title\",\"type\":\"text\",\"max\":100},"
    "{\"name\":\"views\",\"type\":\"number\"},"
    "{\"name\":\"note\",\"type\":\"text\",\"hidden\":true},"
    "{\"name\":\"tags\",\"type\":\"select\",\"maxSelect\":3,\"values\":[\"a\",\"b\",\"c\"]},"
    "{\"name\":\"author\",\"type\":\"relation\",\"collectionId\":\"users\",\"maxSelect\":1},"
    "{\"name\":\"meta\",\"type\":\"json\"}]}";
static const char COMMENTS[] =
    "{\"name\":\"comments\",\"listRule\":\"\",\"fields\":["
    "{\"name\":\"post\",\"type\":\"relation\",\"collectionId\":\"posts\",\"maxSelect\":1},"
    "{\"name\":\"score\",\"type\":\"number\"}]}";

/* The view JSON of name over query (JSON-escaped by the caller). */
static char *view_def(const char *name, const char *query)
{
    json_t *j = json_pack("{s:s,s:s,s:s,s:s,s:s}", "name", name, "type", "view", "listRule", "",
                          "viewRule", "", "viewQuery", query);
    char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    return text;
}

static char *make_view(struct core_app *app, const char *name, const char *query)
{
    char *def = view_def(name, query);
    char *id = fixture_schema_ok(app, CORE_SCHEMA_CREATE, def, NULL);
    free(def); /* jansson's json_dumps allocates with malloc */
    return id;
}

/* The code of the error at key of a failed change, or NULL. */
static const char *code_at(const struct core_schema_job *job, const char *key)
{
    return json_string_value(json_object_get(json_object_get(job->problem.data, key), "code"));
}

static const char *message_at(const struct core_schema_job *job, const char *key)
{
    return json_string_value(json_object_get(json_object_get(job->problem.data, key), "message"));
}

static void setup_sources(struct core_app *app)
{
    xfree(fixture_schema_ok(app, CORE_SCHEMA_CREATE, POSTS, NULL));
    xfree(fixture_schema_ok(app, CORE_SCHEMA_CREATE, COMMENTS, NULL));
    assert_int_equal(fixture_insert(app, "posts",
                                    "{\"id\":\"p1aaaaaaaaaaaaa\",\"title\":\"one\",\"views\":3,"
                                    "\"tags\":[],\"author\":\"\",\"note\":\"n\"}"),
                     RC_OK);
    assert_int_equal(fixture_insert(app, "comments",
                                    "{\"id\":\"c1aaaaaaaaaaaaa\",\"post\":\"p1aaaaaaaaaaaaa\"}"),
                     RC_OK);
    assert_int_equal(fixture_insert(app, "comments",
                                    "{\"id\":\"c2aaaaaaaaaaaaa\",\"post\":\"p1aaaaaaaaaaaaa\"}"),
                     RC_OK);
}

static const struct core_field *field(const struct core_collection *c, const char *name)
{
    const struct core_field *f = core_collection_field(c, str_from_cstr(name));
    if (!f)
        fail_msg("no field %s in %s", name, c->name);
    return f;
}

static void test_fields_follow_pocketbase_inference(void **state)
{
    struct fixture *fx = *state;
    setup_sources(fx->app);
    xfree(make_view(fx->app, "stats",
                    "SELECT p.id, p.title, p.author, p.id AS post, count(c.id) AS n, "
                    "total(c.score) AS sum, CAST(p.views AS INT) AS iv, CAST(p.views AS REAL) "
                    "AS rv, CAST(p.title AS TEXT) AS t2, CAST(1 AS BOOL) AS b, "
                    "p.title || '!' AS shout, p.tags, p.note AS hid, p.meta, max(c.score) AS top "
                    "FROM posts p LEFT JOIN comments c ON c.post = p.id GROUP BY p.id"));
    const struct core_collection *v = fixture_collection(fx->app, "stats");
    assert_non_null(v);
    assert_int_equal(v->type, CORE_COLLECTION_VIEW);
    assert_int_equal(v->field_count, 15);
    const char *order[] = {"id", "title", "author", "post", "n",   "sum",  "iv", "rv",
                           "t2", "b",     "shout",  "tags", "hid", "meta", "top"};
    for (size_t i = 0; i < 15; i++)
        assert_string_equal(v->fields[i].name, order[i]);
    const struct core_field *f = field(v, "id");
    assert_int_equal(f->type, CORE_FIELD_TEXT);
    assert_true(f->is_primary_key && f->is_system && f->is_required);
    assert_string_equal(f->pattern, "^[a-z0-9]+$");
    f = field(v, "title"); /* a copy of the source field, options included */
    assert_int_equal(f->type, CORE_FIELD_TEXT);
    assert_true(f->has_max && f->max == 100);
    assert_false(f->is_primary_key);
    f = field(v, "author");
    assert_int_equal(f->type, CORE_FIELD_RELATION);
    assert_string_equal(f->collection_id, "_pb_users_auth_");
    f = field(v, "post"); /* an id: a relation to its collection */
    assert_int_equal(f->type, CORE_FIELD_RELATION);
    assert_string_equal(f->collection_id, fixture_collection(fx->app, "posts")->id);
    assert_int_equal(f->max_select, 1);
    f = field(v, "n");
    assert_true(f->type == CORE_FIELD_NUMBER && f->only_int);
    f = field(v, "sum");
    assert_true(f->type == CORE_FIELD_NUMBER && !f->only_int);
    f = field(v, "iv");
    assert_true(f->type == CORE_FIELD_NUMBER && f->only_int);
    f = field(v, "rv");
    assert_true(f->type == CORE_FIELD_NUMBER && !f->only_int);
    assert_int_equal(field(v, "t2")->type, CORE_FIELD_TEXT);
    assert_int_equal(field(v, "b")->type, CORE_FIELD_BOOL);
    assert_int_equal(field(v, "shout")->type, CORE_FIELD_JSON);
    assert_int_equal(field(v, "top")->type, CORE_FIELD_JSON);
    f = field(v, "tags");
    assert_true(f->type == CORE_FIELD_SELECT && f->max_select == 3 && f->value_count == 3);
    assert_true(field(v, "hid")->is_hidden); /* hidden stays hidden */
    assert_int_equal(field(v, "meta")->type, CORE_FIELD_JSON);
    /* ids as PocketBase makes them for a new field: type + crc32(name) */
    assert_string_equal(field(v, "id")->id, "text3208210256");
    /* the SQL view answers */
    assert_int_equal(fixture_query_int(fx->app, "SELECT n FROM stats WHERE id = 'p1aaaaaaaaaaaaa'"),
                     2);
    assert_int_equal(fixture_query_int(fx->app, "SELECT json_valid(shout) FROM stats WHERE n = 2"),
                     1);
    /* and the definition is what a restart loads */
    fixture_reopen(fx);
    v = fixture_collection(fx->app, "stats");
    assert_int_equal(v->field_count, 15);
    assert_true(field(v, "n")->only_int);
    assert_string_equal(field(v, "post")->collection_id, fixture_collection(fx->app, "posts")->id);
}

static void test_a_view_of_a_view_takes_its_fields(void **state)
{
    struct fixture *fx = *state;
    setup_sources(fx->app);
    char *base = make_view(fx->app, "counts",
                           "SELECT p.id, count(c.id) AS n FROM posts p LEFT JOIN comments c "
                           "ON c.post = p.id GROUP BY p.id");
    xfree(make_view(fx->app, "outer",
                    "SELECT x.id, x.n, x.id AS ref, ROW_NUMBER() OVER () AS k "
                    "FROM counts AS x"));
    const struct core_collection *v = fixture_collection(fx->app, "outer");
    assert_true(field(v, "n")->type == CORE_FIELD_NUMBER && field(v, "n")->only_int);
    assert_int_equal(field(v, "ref")->type, CORE_FIELD_RELATION);
    assert_string_equal(field(v, "ref")->collection_id, base);
    assert_int_equal(field(v, "k")->type, CORE_FIELD_JSON);
    /* an integer id is made text, so a client's id matches it */
    xfree(make_view(fx->app, "numbered", "SELECT ROW_NUMBER() OVER () AS id, title FROM posts"));
    assert_int_equal(fixture_query_int(fx->app, "SELECT count(*) FROM numbered WHERE id = '1'"), 1);
    /* a base collection cannot relate to a view (PocketBase); "id" is field 0 */
    char def[300];
    snprintf(def, sizeof(def),
             "{\"name\":\"refs\",\"fields\":[{\"name\":\"c\",\"type\":\"relation\","
             "\"collectionId\":\"%s\"}]}",
             base);
    struct core_schema_job job;
    assert_int_equal(fixture_schema(fx->app, CORE_SCHEMA_CREATE, def, NULL, &job), RC_INVALID);
    json_t *err = json_object_get(
        json_object_get(json_object_get(json_object_get(job.problem.data, "fields"), "1"),
                        "collectionId"),
        "code");
    assert_string_equal(json_string_value(err),
                        "validation_relation_field_non_view_base_collection");
    core_schema_job_cleanup(&job);
    xfree(base);
}

static void assert_refused(struct core_app *app, const char *query, const char *words)
{
    char *def = view_def("bad", query);
    struct core_schema_job job;
    enum rc rc = fixture_schema(app, CORE_SCHEMA_CREATE, def, NULL, &job);
    free(def);
    if (rc != RC_INVALID)
        fail_msg("accepted: %s", query);
    const char *code = code_at(&job, "viewQuery");
    const char *msg = message_at(&job, "viewQuery");
    assert_non_null(code);
    assert_string_equal(code, "validation_invalid_view_query");
    if (!strstr(msg, words))
        fail_msg("%s: \"%s\" lacks \"%s\"", query, msg, words);
    core_schema_job_cleanup(&job);
    assert_null(fixture_collection(app, "bad"));
    assert_false(fixture_has_object(app, "bad"));
}

static void test_bad_queries_are_refused_with_their_reason(void **state)
{
    struct fixture *fx = *state;
    setup_sources(fx->app);
    assert_refused(fx->app, "SELECT id FROM posts; SELECT id FROM comments", "multiple statements");
    assert_refused(fx->app, "SELECT id FROM posts; DELETE FROM posts", "multiple statements");
    assert_refused(fx->app, "DELETE FROM posts", "(found DELETE)");
    assert_refused(fx->app, "UPDATE posts SET title = 'x'", "(found UPDATE)");
    assert_refused(fx->app, "INSERT INTO posts (id) VALUES ('x') RETURNING id", "(found INSERT)");
    assert_refused(fx->app, "PRAGMA table_info(posts)", "(found PRAGMA)");
    assert_refused(fx->app, "ATTACH 'x.db' AS x", "(found ATTACH)");
    assert_refused(fx->app, "SELECT title FROM posts", "missing required id column");
    assert_refused(fx->app, "SELEC id FROM posts", "syntax error");
    assert_refused(fx->app, "SELECT id FROM nowhere", "no such table: nowhere");
    assert_refused(fx->app, "SELECT id, password FROM _superusers", "\"_superusers.password\"");
    assert_refused(fx->app, "SELECT id FROM users WHERE tokenKey != ''", "\"users.tokenKey\"");
    assert_refused(fx->app, "SELECT id, data FROM _collections", "\"_collections.");
    assert_refused(fx->app, "SELECT id FROM _params", "\"_params.");
    assert_refused(fx->app, "SELECT name AS id FROM sqlite_master", "sqlite_master");
    assert_refused(fx->app, "SELECT * FROM posts", "wildcard columns");
    assert_refused(fx->app, "SELECT p.* FROM posts p", "wildcard columns");
    assert_refused(fx->app, "SELECT id, count(*) FROM posts", "needs an alias");
    assert_refused(fx->app, "SELECT id, title AS expand FROM posts", "needs an alias");
    assert_refused(fx->app, "SELECT id, id AS ID FROM posts", "two columns");
    /* superusers' e-mail addresses are a collection's field like any other */
    xfree(make_view(fx->app, "admins", "SELECT id, email FROM _superusers"));
}

static void test_write_rules_and_indexes_are_refused(void **state)
{
    struct fixture *fx = *state;
    setup_sources(fx->app);
    struct core_schema_job job;
    assert_int_equal(
        fixture_schema(
            fx->app, CORE_SCHEMA_CREATE,
            "{\"name\":\"v\",\"type\":\"view\",\"createRule\":\"\",\"deleteRule\":\"1=1\","
            "\"indexes\":[\"CREATE INDEX i ON v (id)\"],\"viewQuery\":\"SELECT id FROM "
            "posts\"}",
            NULL, &job),
        RC_INVALID);
    assert_string_equal(code_at(&job, "createRule"), "validation_nil");
    assert_string_equal(code_at(&job, "deleteRule"), "validation_nil");
    assert_string_equal(code_at(&job, "indexes"), "validation_indexes_not_supported");
    core_schema_job_cleanup(&job);
    assert_int_equal(fixture_schema(fx->app, CORE_SCHEMA_CREATE,
                                    "{\"name\":\"v\",\"type\":\"view\",\"viewQuery\":\"\"}", NULL,
                                    &job),
                     RC_INVALID);
    assert_string_equal(code_at(&job, "viewQuery"), "validation_required");
    core_schema_job_cleanup(&job);
    /* a view's listRule must compile against its fields */
    assert_int_equal(fixture_schema(fx->app, CORE_SCHEMA_CREATE,
                                    "{\"name\":\"v\",\"type\":\"view\",\"listRule\":\"nope = 1\","
                                    "\"viewQuery\":\"SELECT id FROM posts\"}",
                                    NULL, &job),
                     RC_INVALID);
    assert_string_equal(code_at(&job, "listRule"), "validation_invalid_rule");
    core_schema_job_cleanup(&job);
}

static void test_source_changes_remake_the_view_or_are_refused(void **state)
{
    struct fixture *fx = *state;
    setup_sources(fx->app);
    char *vid = make_view(fx->app, "stats",
                          "SELECT p.id, p.title, count(c.id) AS n FROM posts p "
                          "LEFT JOIN comments c ON c.post = p.id GROUP BY p.id");
    char updated[64];
    snprintf(updated, sizeof(updated), "%s", fixture_collection(fx->app, "stats")->updated);
    const struct core_collection *posts = fixture_collection(fx->app, "posts");
    char pid[64];
    snprintf(pid, sizeof(pid), "%s", posts->id);
    /* A field added to posts: the table is rebuilt, the view made again, unchanged. */
    xfree(fixture_schema_ok(fx->app, CORE_SCHEMA_UPDATE,
                            "{\"fields\":[{\"name\":\"title\",\"type\":\"text\",\"max\":100},"
                            "{\"name\":\"extra\",\"type\":\"bool\"}]}",
                            pid));
    assert_string_equal(fixture_collection(fx->app, "stats")->updated, updated);
    assert_int_equal(fixture_query_int(fx->app, "SELECT n FROM stats"), 2);
    /* title's max changed: the view's copy follows. The patch names title by id. */
    char patch[400];
    snprintf(patch, sizeof(patch),
             "{\"fields\":[{\"id\":\"%s\",\"name\":\"title\",\"type\":\"text\",\"max\":250}]}",
             field(fixture_collection(fx->app, "posts"), "title")->id);
    xfree(fixture_schema_ok(fx->app, CORE_SCHEMA_UPDATE, patch, pid));
    const struct core_collection *v = fixture_collection(fx->app, "stats");
    assert_true(field(v, "title")->max == 250);
    assert_int_equal(fixture_query_int(fx->app, "SELECT n FROM stats"), 2);
    /* title dropped: the view would break, so the change is refused */
    struct core_schema_job job;
    assert_int_equal(fixture_schema(fx->app, CORE_SCHEMA_UPDATE,
                                    "{\"fields\":[{\"name\":\"other\",\"type\":\"text\"}]}", pid,
                                    &job),
                     RC_INVALID);
    assert_non_null(strstr(job.problem.message, "\"stats\""));
    assert_non_null(strstr(job.problem.message, "no such column"));
    core_schema_job_cleanup(&job);
    assert_non_null(core_collection_field(fixture_collection(fx->app, "posts"), STR_LIT("title")));
    assert_int_equal(fixture_query_int(fx->app, "SELECT n FROM stats"), 2);
    /* renamed: the view's query names the old table */
    assert_int_equal(
        fixture_schema(fx->app, CORE_SCHEMA_UPDATE, "{\"name\":\"articles\"}", pid, &job),
        RC_INVALID);
    assert_non_null(strstr(job.problem.message, "no such table: posts"));
    core_schema_job_cleanup(&job);
    /* deleted (comments' relation aside: delete comments, which stats reads) */
    const char *cid = fixture_collection(fx->app, "comments")->id;
    char cid_copy[64];
    snprintf(cid_copy, sizeof(cid_copy), "%s", cid);
    assert_int_equal(fixture_schema(fx->app, CORE_SCHEMA_DELETE, NULL, cid_copy, &job), RC_INVALID);
    assert_non_null(strstr(job.problem.message, "\"stats\""));
    core_schema_job_cleanup(&job);
    assert_true(fixture_has_object(fx->app, "comments"));
    /* once the view is gone, so may its sources be */
    xfree(fixture_schema_ok(fx->app, CORE_SCHEMA_DELETE, NULL, vid));
    assert_false(fixture_has_object(fx->app, "stats"));
    xfree(fixture_schema_ok(fx->app, CORE_SCHEMA_DELETE, NULL, cid_copy));
    xfree(vid);
}

static void test_import_makes_views_after_their_sources(void **state)
{
    struct fixture *fx = *state;
    const char *body =
        "{\"collections\":["
        "{\"name\":\"top\",\"type\":\"view\",\"listRule\":\"\",\"viewQuery\":\"SELECT id, n FROM "
        "counts WHERE n > 0\"},"
        "{\"name\":\"counts\",\"type\":\"view\",\"viewQuery\":\"SELECT a.id, count(b.id) AS n FROM "
        "aa a LEFT JOIN bb b ON b.a = a.id GROUP BY a.id\",\"fields\":[{\"name\":\"junk\","
        "\"type\":\"bool\"}]},"
        "{\"name\":\"aa\",\"fields\":[{\"name\":\"t\",\"type\":\"text\"}]},"
        "{\"name\":\"bb\",\"fields\":[{\"name\":\"a\",\"type\":\"relation\",\"collectionId\":"
        "\"aa\",\"maxSelect\":1}]}]}";
    xfree(fixture_schema_ok(fx->app, CORE_SCHEMA_IMPORT, body, NULL));
    const struct core_collection *top = fixture_collection(fx->app, "top");
    assert_non_null(top);
    assert_true(field(top, "n")->type == CORE_FIELD_NUMBER && field(top, "n")->only_int);
    const struct core_collection *counts = fixture_collection(fx->app, "counts");
    assert_null(core_collection_field(counts, STR_LIT("junk"))); /* sent fields are ignored */
    assert_true(fixture_has_object(fx->app, "top"));
    /* the same import again (an export's round trip) changes nothing */
    xfree(fixture_schema_ok(fx->app, CORE_SCHEMA_IMPORT, body, NULL));
    assert_int_equal(fixture_query_int(fx->app, "SELECT count(*) FROM top"), 0);
    /* a view whose source the import does not have fails it, and nothing stays */
    struct core_schema_job job;
    assert_int_equal(
        fixture_schema(fx->app, CORE_SCHEMA_IMPORT,
                       "{\"collections\":[{\"name\":\"cc\",\"fields\":[]},{\"name\":\"lost\","
                       "\"type\":\"view\",\"viewQuery\":\"SELECT id FROM missing\"}]}",
                       NULL, &job),
        RC_INVALID);
    assert_non_null(strstr(message_at(&job, "viewQuery"), "no such table: missing"));
    core_schema_job_cleanup(&job);
    assert_null(fixture_collection(fx->app, "cc"));
    assert_false(fixture_has_object(fx->app, "cc"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_fields_follow_pocketbase_inference, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_view_of_a_view_takes_its_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_queries_are_refused_with_their_reason, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_write_rules_and_indexes_are_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_source_changes_remake_the_view_or_are_refused, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_import_makes_views_after_their_sources, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
