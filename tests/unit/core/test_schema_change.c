/* test_schema_change.c -- unit tests of core/schema_change.h on a real data
 * directory: a create makes the table, its indexes and the stored
 * definition and installs the next snapshot; an update adds, renames and
 * drops fields (rows follow by field id), renames the table, adds and drops
 * indexes, and lists the files of dropped file fields; a unique index the
 * stored rows break, a rule that does not compile or an internal table's
 * name fail with nothing changed; delete, truncate and import; changes
 * submitted together apply in order. */
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
    "{\"name\":\"posts\",\"listRule\":\"\",\"fields\":[{\"name\":\"title\",\"type\":\"text\"},"
    "{\"name\":\"views\",\"type\":\"number\"}],"
    "\"indexes\":[\"CREATE INDEX idx_views ON posts (views)\"]}";

/* posts, created, with two rows. */
static char *make_posts(struct core_app *app)
{
    char *id = fixture_schema_ok(app, CORE_SCHEMA_CREATE, POSTS, NULL);
    assert_int_equal(
        fixture_insert(app, "posts", "{\"id\":\"p1aaaaaaaaaaaaa\",\"title\":\"one\",\"views\":1}"),
        RC_OK);
    assert_int_equal(
        fixture_insert(app, "posts", "{\"id\":\"p2aaaaaaaaaaaaa\",\"title\":\"two\",\"views\":2}"),
        RC_OK);
    return id;
}

static const char *field_id(const struct core_collection *c, const char *name)
{
    const struct core_field *f = core_collection_field(c, str_from_cstr(name));
    assert_non_null(f);
    return f->id;
}

static const char *error_code(const struct core_problem *p, const char *a, const char *b)
{
    json_t *e = json_object_get(p->data, a);
    if (b)
        e = json_object_get(e, b);
    return json_string_value(json_object_get(e, "code"));
}

/* ---- create ------------------------------------------------------------- */

static void test_create_makes_table_indexes_and_next_snapshot(void **state)
{
    struct fixture *fx = *state;
    const struct core_schema *before = core_app_schema(fx->app);
    char *id = fixture_schema_ok(fx->app, CORE_SCHEMA_CREATE, POSTS, NULL);
    assert_string_equal(id, "pbc_1125843985");
    const struct core_schema *after = core_app_schema(fx->app);
    assert_ptr_not_equal(after, before);
    assert_true(after->version > before->version);
    assert_int_equal(after->count, before->count + 1);
    const struct core_collection *c = fixture_collection(fx->app, "posts");
    assert_non_null(c);
    assert_string_equal(c->id, id);
    assert_true(fixture_has_object(fx->app, "posts"));
    assert_true(fixture_has_object(fx->app, "idx_views"));
    assert_int_equal(fixture_query_int(fx->app, "SELECT COUNT(*) FROM posts"), 0);
    /* The other collections are still there, as copies. */
    assert_non_null(fixture_collection(fx->app, "users"));
    assert_non_null(fixture_collection(fx->app, "_superusers"));
    xfree(id);
}

static void test_created_collection_is_loaded_again_after_a_restart(void **state)
{
    struct fixture *fx = *state;
    char *id = make_posts(fx->app);
    char title_id[64];
    snprintf(title_id, sizeof(title_id), "%s",
             field_id(fixture_collection(fx->app, "posts"), "title"));
    fixture_reopen(fx);
    const struct core_collection *c = fixture_collection(fx->app, "posts");
    assert_non_null(c);
    assert_string_equal(c->id, id);
    assert_string_equal(field_id(c, "title"), title_id);
    assert_string_equal(c->rules[CORE_RULE_LIST], "");
    assert_null(c->rules[CORE_RULE_VIEW]);
    assert_int_equal(c->index_count, 1);
    json_t *row = fixture_load(fx->app, "posts", "p2aaaaaaaaaaaaa");
    assert_non_null(row);
    assert_string_equal(json_string_value(json_object_get(row, "title")), "two");
    json_decref(row);
    xfree(id);
}

static void test_given_id_field_keeps_record_ids_unique(void **state)
{
    struct fixture *fx = *state;
    /* The id field sent without "primaryKey" (and a patch sending it so). */
    char *id = fixture_schema_ok(fx->app, CORE_SCHEMA_CREATE,
                                 "{\"name\":\"notes\",\"fields\":[{\"name\":\"id\","
                                 "\"type\":\"text\"},{\"name\":\"t\",\"type\":\"text\"}]}",
                                 NULL);
    assert_int_equal(fixture_insert(fx->app, "notes", "{\"id\":\"same\",\"t\":\"a\"}"), RC_OK);
    assert_int_equal(fixture_insert(fx->app, "notes", "{\"id\":\"same\",\"t\":\"b\"}"), RC_INVALID);
    const struct core_collection *c = fixture_collection(fx->app, "notes");
    char text[256];
    snprintf(text, sizeof(text),
             "{\"fields\":[{\"id\":\"%s\",\"name\":\"id\",\"type\":\"text\"},"
             "{\"id\":\"%s\",\"name\":\"t\",\"type\":\"text\"}]}",
             field_id(c, "id"), field_id(c, "t"));
    xfree(fixture_schema_ok(fx->app, CORE_SCHEMA_UPDATE, text, id));
    assert_int_equal(fixture_insert(fx->app, "notes", "{\"id\":\"same\",\"t\":\"c\"}"), RC_INVALID);
    assert_int_equal(fixture_query_int(fx->app, "SELECT COUNT(*) FROM notes"), 1);
    xfree(id);
}

static void test_invalid_create_changes_nothing(void **state)
{
    struct fixture *fx = *state;
    const struct core_schema *before = core_app_schema(fx->app);
    struct core_schema_job job;
    assert_int_equal(fixture_schema(fx->app, CORE_SCHEMA_CREATE,
                                    "{\"name\":\"bad\",\"fields\":[{\"name\":\"s\","
                                    "\"type\":\"select\"}]}",
                                    NULL, &job),
                     RC_INVALID);
    assert_string_equal(job.problem.message, "Failed to create collection.");
    assert_non_null(json_object_get(json_object_get(job.problem.data, "fields"), "1"));
    assert_null(job.result_id);
    core_schema_job_cleanup(&job);
    assert_ptr_equal(core_app_schema(fx->app), before);
    assert_false(fixture_has_object(fx->app, "bad"));
}

static void test_create_refuses_internal_table_names(void **state)
{
    struct fixture *fx = *state;
    static const char *const names[] = {"_collections", "_PARAMS", "sqlite_stat9", "_tmp_x"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        char text[128];
        snprintf(text, sizeof(text), "{\"name\":\"%s\"}", names[i]);
        struct core_schema_job job;
        assert_int_equal(fixture_schema(fx->app, CORE_SCHEMA_CREATE, text, NULL, &job), RC_INVALID);
        assert_string_equal(error_code(&job.problem, "name", NULL),
                            "validation_collection_name_invalid");
        core_schema_job_cleanup(&job);
    }
    /* An index name is a database object too. */
    char *posts = make_posts(fx->app);
    struct core_schema_job job;
    assert_int_equal(
        fixture_schema(fx->app, CORE_SCHEMA_CREATE, "{\"name\":\"IDX_VIEWS\"}", NULL, &job),
        RC_INVALID);
    assert_string_equal(error_code(&job.problem, "name", NULL),
                        "validation_collection_name_invalid");
    core_schema_job_cleanup(&job);
    xfree(posts);
}

static void test_rule_that_does_not_compile_is_refused(void **state)
{
    struct fixture *fx = *state;
    struct core_schema_job job;
    assert_int_equal(fixture_schema(fx->app, CORE_SCHEMA_CREATE,
                                    "{\"name\":\"notes\",\"viewRule\":\"ghost = 1\"}", NULL, &job),
                     RC_INVALID);
    assert_string_equal(error_code(&job.problem, "viewRule", NULL), "validation_invalid_rule");
    assert_null(json_object_get(job.problem.data, "listRule"));
    core_schema_job_cleanup(&job);
    assert_null(fixture_collection(fx->app, "notes"));
    /* A rule may name a field the same change adds, and another collection. */
    char *id = fixture_schema_ok(fx->app, CORE_SCHEMA_CREATE,
                                 "{\"name\":\"notes\",\"viewRule\":\"ghost = 1 && "
                                 "@collection.users.id != ''\",\"fields\":[{\"name\":\"ghost\","
                                 "\"type\":\"number\"}]}",
                                 NULL);
    xfree(id);
}

static void test_bad_index_is_refused_at_its_position(void **state)
{
    struct fixture *fx = *state;
    struct core_schema_job job;
    assert_int_equal(fixture_schema(fx->app, CORE_SCHEMA_CREATE,
                                    "{\"name\":\"notes\",\"fields\":[{\"name\":\"a\","
                                    "\"type\":\"text\"}],\"indexes\":[\"CREATE INDEX i1 ON notes "
                                    "(a)\",\"CREATE INDEX i2 ON notes (nothere)\"]}",
                                    NULL, &job),
                     RC_INVALID);
    assert_non_null(error_code(&job.problem, "indexes", "1"));
    assert_null(json_object_get(json_object_get(job.problem.data, "indexes"), "0"));
    core_schema_job_cleanup(&job);
    assert_false(fixture_has_object(fx->app, "i1"));
}

/* ---- update ------------------------------------------------------------- */

static void test_update_adding_a_field_keeps_the_rows(void **state)
{
    struct fixture *fx = *state;
    char *id = make_posts(fx->app);
    const struct core_collection *old = fixture_collection(fx->app, "posts");
    char text[512];
    snprintf(text, sizeof(text),
             "{\"fields\":[{\"id\":\"%s\",\"name\":\"title\",\"type\":\"text\"},"
             "{\"id\":\"%s\",\"name\":\"views\",\"type\":\"number\"},"
             "{\"name\":\"done\",\"type\":\"bool\"}]}",
             field_id(old, "title"), field_id(old, "views"));
    xfree(fixture_schema_ok(fx->app, CORE_SCHEMA_UPDATE, text, id));
    json_t *row = fixture_load(fx->app, "posts", "p1aaaaaaaaaaaaa");
    assert_non_null(row);
    assert_string_equal(json_string_value(json_object_get(row, "title")), "one");
    assert_true(json_number_value(json_object_get(row, "views")) == 1);
    assert_true(json_is_false(json_object_get(row, "done")));
    json_decref(row);
    assert_int_equal(fixture_query_int(fx->app, "SELECT COUNT(*) FROM posts"), 2);
    xfree(id);
}

static void test_update_renaming_a_field_moves_its_values(void **state)
{
    struct fixture *fx = *state;
    char *id = make_posts(fx->app);
    const struct core_collection *old = fixture_collection(fx->app, "posts");
    char text[512];
    snprintf(text, sizeof(text),
             "{\"fields\":[{\"id\":\"%s\",\"name\":\"headline\",\"type\":\"text\"},"
             "{\"id\":\"%s\",\"name\":\"views\",\"type\":\"number\"}],"
             "\"indexes\":[\"CREATE INDEX idx_views ON posts (views)\"]}",
             field_id(old, "title"), field_id(old, "views"));
    xfree(fixture_schema_ok(fx->app, CORE_SCHEMA_UPDATE, text, id));
    const struct core_collection *c = fixture_collection(fx->app, "posts");
    assert_null(core_collection_field(c, STR_LIT("title")));
    json_t *row = fixture_load(fx->app, "posts", "p2aaaaaaaaaaaaa");
    assert_string_equal(json_string_value(json_object_get(row, "headline")), "two");
    assert_null(json_object_get(row, "title"));
    json_decref(row);
    assert_int_equal(fixture_query_int(fx->app, "SELECT COUNT(title) FROM posts"), -1);
    assert_int_equal(fixture_query_int(fx->app, "SELECT COUNT(headline) FROM posts"), 2);
    xfree(id);
}

static void test_update_dropping_a_field_drops_its_column(void **state)
{
    struct fixture *fx = *state;
    char *id = make_posts(fx->app);
    const struct core_collection *old = fixture_collection(fx->app, "posts");
    char text[512];
    /* views goes, and with it its index. */
    snprintf(text, sizeof(text),
             "{\"fields\":[{\"id\":\"%s\",\"name\":\"title\",\"type\":\"text\"}],\"indexes\":[]}",
             field_id(old, "title"));
    xfree(fixture_schema_ok(fx->app, CORE_SCHEMA_UPDATE, text, id));
    assert_null(core_collection_field(fixture_collection(fx->app, "posts"), STR_LIT("views")));
    assert_int_equal(fixture_query_int(fx->app, "SELECT COUNT(views) FROM posts"), -1);
    assert_int_equal(fixture_query_int(fx->app, "SELECT COUNT(*) FROM posts"), 2);
    assert_false(fixture_has_object(fx->app, "idx_views"));
    xfree(id);
}

static void test_update_dropping_an_indexed_field_needs_its_index_gone(void **state)
{
    struct fixture *fx = *state;
    char *id = make_posts(fx->app);
    const struct core_collection *old = fixture_collection(fx->app, "posts");
    char text[512];
    /* views goes, its index stays: refused at indexes.0, nothing changed. */
    snprintf(text, sizeof(text),
             "{\"fields\":[{\"id\":\"%s\",\"name\":\"title\",\"type\":\"text\"}]}",
             field_id(old, "title"));
    struct core_schema_job job;
    assert_int_equal(fixture_schema(fx->app, CORE_SCHEMA_UPDATE, text, id, &job), RC_INVALID);
    assert_non_null(error_code(&job.problem, "indexes", "0"));
    core_schema_job_cleanup(&job);
    assert_non_null(core_collection_field(fixture_collection(fx->app, "posts"), STR_LIT("views")));
    assert_int_equal(fixture_query_int(fx->app, "SELECT COUNT(views) FROM posts"), 2);
    xfree(id);
}

static void test_update_renaming_the_collection_renames_its_table(void **state)
{
    struct fixture *fx = *state;
    char *id = make_posts(fx->app);
    xfree(fixture_schema_ok(fx->app, CORE_SCHEMA_UPDATE, "{\"name\":\"articles\"}", id));
    assert_null(fixture_collection(fx->app, "posts"));
    const struct core_collection *c = fixture_collection(fx->app, "articles");
    assert_non_null(c);
    assert_string_equal(c->id, id);
    assert_false(fixture_has_object(fx->app, "posts"));
    assert_int_equal(fixture_query_int(fx->app, "SELECT COUNT(*) FROM articles"), 2);
    assert_true(fixture_has_object(fx->app, "idx_views"));
    xfree(id);
}

static void test_update_index_changes_reach_the_database(void **state)
{
    struct fixture *fx = *state;
    char *id = make_posts(fx->app);
    xfree(fixture_schema_ok(fx->app, CORE_SCHEMA_UPDATE,
                            "{\"indexes\":[\"CREATE UNIQUE INDEX idx_title ON posts (title)\"]}",
                            id));
    assert_true(fixture_has_object(fx->app, "idx_title"));
    assert_false(fixture_has_object(fx->app, "idx_views"));
    /* The new index holds: a duplicate title is refused. */
    assert_int_equal(
        fixture_insert(fx->app, "posts", "{\"id\":\"p3aaaaaaaaaaaaa\",\"title\":\"one\"}"),
        RC_INVALID);
    assert_int_equal(fixture_collection(fx->app, "posts")->index_count, 1);
    xfree(id);
}

static void test_unique_index_broken_by_stored_rows_is_a_failed_update(void **state)
{
    struct fixture *fx = *state;
    char *id = make_posts(fx->app);
    assert_int_equal(
        fixture_insert(fx->app, "posts", "{\"id\":\"p3aaaaaaaaaaaaa\",\"title\":\"one\"}"), RC_OK);
    const struct core_schema *before = core_app_schema(fx->app);
    struct core_schema_job job;
    assert_int_equal(fixture_schema(fx->app, CORE_SCHEMA_UPDATE,
                                    "{\"name\":\"renamed\",\"indexes\":[\"CREATE UNIQUE INDEX "
                                    "idx_title ON posts (title)\"]}",
                                    id, &job),
                     RC_INVALID);
    assert_string_equal(job.problem.message, "Failed to update collection.");
    core_schema_job_cleanup(&job);
    /* Rolled back whole: the old name, table, index and rows. */
    assert_ptr_equal(core_app_schema(fx->app), before);
    assert_true(fixture_has_object(fx->app, "posts"));
    assert_false(fixture_has_object(fx->app, "renamed"));
    assert_true(fixture_has_object(fx->app, "idx_views"));
    assert_false(fixture_has_object(fx->app, "idx_title"));
    assert_int_equal(fixture_query_int(fx->app, "SELECT COUNT(*) FROM posts"), 3);
    xfree(id);
}

static void test_update_changing_a_field_type_is_refused(void **state)
{
    struct fixture *fx = *state;
    char *id = make_posts(fx->app);
    const struct core_collection *old = fixture_collection(fx->app, "posts");
    char text[256];
    snprintf(text, sizeof(text),
             "{\"fields\":[{\"id\":\"%s\",\"name\":\"views\",\"type\":\"text\"}]}",
             field_id(old, "views"));
    struct core_schema_job job;
    assert_int_equal(fixture_schema(fx->app, CORE_SCHEMA_UPDATE, text, id, &job), RC_INVALID);
    assert_string_equal(error_code(&job.problem, "fields", "0"), "validation_field_type_change");
    core_schema_job_cleanup(&job);
    assert_int_equal(
        core_collection_field(fixture_collection(fx->app, "posts"), STR_LIT("views"))->type,
        CORE_FIELD_NUMBER);
    xfree(id);
}

static void test_update_dropping_a_file_field_lists_its_files(void **state)
{
    struct fixture *fx = *state;
    char *id = fixture_schema_ok(fx->app, CORE_SCHEMA_CREATE,
                                 "{\"name\":\"albums\",\"fields\":[{\"name\":\"title\","
                                 "\"type\":\"text\"},{\"name\":\"cover\",\"type\":\"file\"},"
                                 "{\"name\":\"pics\",\"type\":\"file\",\"maxSelect\":5}]}",
                                 NULL);
    assert_int_equal(fixture_insert(fx->app, "albums",
                                    "{\"id\":\"a1aaaaaaaaaaaaa\",\"cover\":\"c.png\","
                                    "\"pics\":[\"x.png\",\"y.png\"]}"),
                     RC_OK);
    assert_int_equal(fixture_insert(fx->app, "albums",
                                    "{\"id\":\"a2aaaaaaaaaaaaa\",\"cover\":\"\",\"pics\":[]}"),
                     RC_OK);
    const struct core_collection *old = fixture_collection(fx->app, "albums");
    char text[256];
    /* Keeps title, drops both file fields. */
    snprintf(text, sizeof(text),
             "{\"fields\":[{\"id\":\"%s\",\"name\":\"title\",\"type\":\"text\"}]}",
             field_id(old, "title"));
    struct core_schema_job job;
    assert_int_equal(fixture_schema(fx->app, CORE_SCHEMA_UPDATE, text, id, &job), RC_OK);
    json_t *want = json_loads("[[\"a1aaaaaaaaaaaaa\",[\"c.png\"]],"
                              "[\"a1aaaaaaaaaaaaa\",[\"x.png\",\"y.png\"]]]",
                              0, NULL);
    json_t *got = json_object_get(job.dropped_files, id);
    if (!json_equal(got, want)) {
        char *d = json_dumps(job.dropped_files, JSON_COMPACT);
        fail_msg("dropped files: %s", d);
    }
    assert_int_equal(json_object_size(job.dropped_files), 1);
    assert_int_equal(json_array_size(job.emptied_collections), 0);
    json_decref(want);
    core_schema_job_cleanup(&job);
    xfree(id);
}

static void test_update_of_an_unknown_collection_is_not_found(void **state)
{
    struct fixture *fx = *state;
    struct core_schema_job job;
    assert_int_equal(fixture_schema(fx->app, CORE_SCHEMA_UPDATE, "{}", "nope", &job), RC_NOT_FOUND);
    core_schema_job_cleanup(&job);
    assert_int_equal(fixture_schema(fx->app, CORE_SCHEMA_DELETE, NULL, "nope", &job), RC_NOT_FOUND);
    core_schema_job_cleanup(&job);
}

/* ---- delete, truncate --------------------------------------------------- */

static void test_delete_drops_the_table_and_reports_it_emptied(void **state)
{
    struct fixture *fx = *state;
    char *id = make_posts(fx->app);
    struct core_schema_job job;
    assert_int_equal(fixture_schema(fx->app, CORE_SCHEMA_DELETE, NULL, id, &job), RC_OK);
    assert_int_equal(json_array_size(job.emptied_collections), 1);
    assert_string_equal(json_string_value(json_array_get(job.emptied_collections, 0)), id);
    core_schema_job_cleanup(&job);
    assert_null(fixture_collection(fx->app, "posts"));
    assert_false(fixture_has_object(fx->app, "posts"));
    assert_false(fixture_has_object(fx->app, "idx_views"));
    fixture_reopen(fx);
    assert_null(fixture_collection(fx->app, "posts"));
    xfree(id);
}

static void test_delete_refuses_system_and_referenced_collections(void **state)
{
    struct fixture *fx = *state;
    struct core_schema_job job;
    assert_int_equal(fixture_schema(fx->app, CORE_SCHEMA_DELETE, NULL, "pbc_3142635823", &job),
                     RC_INVALID);
    assert_string_equal(job.problem.message, "System collections cannot be deleted.");
    core_schema_job_cleanup(&job);
    char *posts = make_posts(fx->app);
    char *notes = fixture_schema_ok(fx->app, CORE_SCHEMA_CREATE,
                                    "{\"name\":\"notes\",\"fields\":[{\"name\":\"post\","
                                    "\"type\":\"relation\",\"collectionId\":\"posts\"}]}",
                                    NULL);
    assert_int_equal(fixture_schema(fx->app, CORE_SCHEMA_DELETE, NULL, posts, &job), RC_INVALID);
    assert_string_equal(job.problem.message,
                        "The collection is referenced by another collection's relation.");
    core_schema_job_cleanup(&job);
    assert_true(fixture_has_object(fx->app, "posts"));
    /* Once the referencing collection is gone, it can go. */
    xfree(fixture_schema_ok(fx->app, CORE_SCHEMA_DELETE, NULL, notes));
    xfree(fixture_schema_ok(fx->app, CORE_SCHEMA_DELETE, NULL, posts));
    xfree(posts);
    xfree(notes);
}

static void test_truncate_removes_rows_and_keeps_the_collection(void **state)
{
    struct fixture *fx = *state;
    char *id = make_posts(fx->app);
    const struct core_schema *before = core_app_schema(fx->app);
    struct core_schema_job job;
    assert_int_equal(fixture_schema(fx->app, CORE_SCHEMA_TRUNCATE, NULL, id, &job), RC_OK);
    assert_string_equal(json_string_value(json_array_get(job.emptied_collections, 0)), id);
    core_schema_job_cleanup(&job);
    assert_ptr_equal(core_app_schema(fx->app), before);
    assert_int_equal(fixture_query_int(fx->app, "SELECT COUNT(*) FROM posts"), 0);
    assert_true(fixture_has_object(fx->app, "idx_views"));
    xfree(id);
}

/* ---- import ------------------------------------------------------------- */

static void test_import_upserts_and_deletes_the_missing(void **state)
{
    struct fixture *fx = *state;
    char *posts = make_posts(fx->app);
    char *old = fixture_schema_ok(fx->app, CORE_SCHEMA_CREATE, "{\"name\":\"old\"}", NULL);
    const struct core_collection *p = fixture_collection(fx->app, "posts");
    char text[1024];
    snprintf(text, sizeof(text),
             "{\"deleteMissing\":true,\"collections\":["
             "{\"id\":\"%s\",\"name\":\"posts\",\"fields\":[{\"id\":\"%s\",\"name\":\"title\","
             "\"type\":\"text\"},{\"name\":\"extra\",\"type\":\"text\"}],\"indexes\":[]},"
             "{\"name\":\"users\"},"
             "{\"name\":\"tags\",\"fields\":[{\"name\":\"label\",\"type\":\"text\"}]}]}",
             posts, field_id(p, "title"));
    struct core_schema_job job;
    assert_int_equal(fixture_schema(fx->app, CORE_SCHEMA_IMPORT, text, NULL, &job), RC_OK);
    assert_int_equal(json_array_size(job.emptied_collections), 1);
    assert_string_equal(json_string_value(json_array_get(job.emptied_collections, 0)), old);
    core_schema_job_cleanup(&job);
    assert_null(fixture_collection(fx->app, "old"));
    assert_false(fixture_has_object(fx->app, "old"));
    assert_non_null(fixture_collection(fx->app, "tags"));
    assert_non_null(fixture_collection(fx->app, "users"));
    assert_non_null(fixture_collection(fx->app, "_superusers")); /* system: kept */
    p = fixture_collection(fx->app, "posts");
    assert_non_null(core_collection_field(p, STR_LIT("extra")));
    assert_null(core_collection_field(p, STR_LIT("views")));
    json_t *row = fixture_load(fx->app, "posts", "p1aaaaaaaaaaaaa");
    assert_string_equal(json_string_value(json_object_get(row, "title")), "one");
    json_decref(row);
    xfree(posts);
    xfree(old);
}

static void test_import_failing_item_rolls_back_the_whole_import(void **state)
{
    struct fixture *fx = *state;
    const struct core_schema *before = core_app_schema(fx->app);
    struct core_schema_job job;
    assert_int_equal(fixture_schema(fx->app, CORE_SCHEMA_IMPORT,
                                    "{\"collections\":[{\"name\":\"good\"},"
                                    "{\"name\":\"bad one\"}]}",
                                    NULL, &job),
                     RC_INVALID);
    assert_string_equal(error_code(&job.problem, "name", NULL),
                        "validation_collection_name_invalid");
    core_schema_job_cleanup(&job);
    assert_ptr_equal(core_app_schema(fx->app), before);
    assert_false(fixture_has_object(fx->app, "good"));
    assert_int_equal(
        fixture_schema(fx->app, CORE_SCHEMA_IMPORT, "{\"collections\":[]}", NULL, &job),
        RC_INVALID);
    assert_string_equal(error_code(&job.problem, "collections", NULL), "validation_required");
    core_schema_job_cleanup(&job);
}

/* ---- ordering ----------------------------------------------------------- */

struct counted {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done;
};

static void count_done(struct core_schema_job *job)
{
    struct counted *n = job->ctx;
    pthread_mutex_lock(&n->mu);
    n->done++;
    pthread_cond_signal(&n->cv);
    pthread_mutex_unlock(&n->mu);
}

static void test_changes_submitted_together_build_on_each_other(void **state)
{
    struct fixture *fx = *state;
    enum { N = 6 };
    struct core_schema_job jobs[N];
    struct counted n = {.done = 0};
    pthread_mutex_init(&n.mu, NULL);
    pthread_cond_init(&n.cv, NULL);
    for (int i = 0; i < N; i++) {
        char text[64];
        snprintf(text, sizeof(text), "{\"name\":\"c%d\"}", i);
        memset(&jobs[i], 0, sizeof(jobs[i]));
        jobs[i].op = CORE_SCHEMA_CREATE;
        jobs[i].input = json_loads(text, 0, NULL);
        jobs[i].done = count_done;
        jobs[i].ctx = &n;
        core_schema_submit(fx->app, NULL, &jobs[i]);
    }
    pthread_mutex_lock(&n.mu);
    while (n.done < N)
        pthread_cond_wait(&n.cv, &n.mu);
    pthread_mutex_unlock(&n.mu);
    /* Each built on the snapshot the one before committed: none lost. */
    for (int i = 0; i < N; i++) {
        assert_int_equal(jobs[i].rc, RC_OK);
        char name[16];
        snprintf(name, sizeof(name), "c%d", i);
        assert_non_null(fixture_collection(fx->app, name));
        assert_true(fixture_has_object(fx->app, name));
        core_schema_job_cleanup(&jobs[i]);
    }
    pthread_mutex_destroy(&n.mu);
    pthread_cond_destroy(&n.cv);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_create_makes_table_indexes_and_next_snapshot),
        T(test_created_collection_is_loaded_again_after_a_restart),
        T(test_given_id_field_keeps_record_ids_unique),
        T(test_invalid_create_changes_nothing),
        T(test_create_refuses_internal_table_names),
        T(test_rule_that_does_not_compile_is_refused),
        T(test_bad_index_is_refused_at_its_position),
        T(test_update_adding_a_field_keeps_the_rows),
        T(test_update_renaming_a_field_moves_its_values),
        T(test_update_dropping_a_field_drops_its_column),
        T(test_update_dropping_an_indexed_field_needs_its_index_gone),
        T(test_update_renaming_the_collection_renames_its_table),
        T(test_update_index_changes_reach_the_database),
        T(test_unique_index_broken_by_stored_rows_is_a_failed_update),
        T(test_update_changing_a_field_type_is_refused),
        T(test_update_dropping_a_file_field_lists_its_files),
        T(test_update_of_an_unknown_collection_is_not_found),
        T(test_delete_drops_the_table_and_reports_it_emptied),
        T(test_delete_refuses_system_and_referenced_collections),
        T(test_truncate_removes_rows_and_keeps_the_collection),
        T(test_import_upserts_and_deletes_the_missing),
        T(test_import_failing_item_rolls_back_the_whole_import),
        T(test_changes_submitted_together_build_on_each_other),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
