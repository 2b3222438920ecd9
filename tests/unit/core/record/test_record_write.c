/* test_record_write.c -- unit tests of core/record/record_write.h on a real
 * data directory: creates store each field type as core_record_load reads
 * it back; a taken id, a unique index (single, composite) and missing
 * relation targets fail with the field named; a create rule is checked on
 * the would-be record; a password field takes only a hash; updates rebuild
 * from the body (modifiers) under their rule; deletes cascade, unset or
 * refuse by each relation's options and announce every removed record;
 * batches run in one transaction. Jobs are built as the API builds them
 * (core_record_input_build, hashes on this thread). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "core_fixture.h"
#include "core/credential/password.h"
#include "core/record/record_input.h"
#include "net/mailbox.h"

#define AUTHOR "au1aaaaaaaaaaaa"
#define AUTHOR2 "au2aaaaaaaaaaaa"
#define POST "po1aaaaaaaaaaaa"
#define POST2 "po2aaaaaaaaaaaa"

static const struct core_password_params FAST = {64, 1};
static const struct core_auth SU = {.is_superuser = true};

struct state {
    struct fixture fx;
    struct arena arena; /* the requests' (rules compile into it) */
};

static void must_schema(struct core_app *app, const char *text)
{
    xfree(fixture_schema_ok(app, CORE_SCHEMA_CREATE, text, NULL));
}

static int setup(void **state)
{
    struct state *s = xcalloc(1, sizeof(*s));
    fixture_open(&s->fx);
    arena_init(&s->arena, 4096);
    struct core_app *app = s->fx.app;
    must_schema(app, "{\"name\":\"authors\",\"fields\":[{\"name\":\"name\",\"type\":\"text\"}]}");
    must_schema(app,
                "{\"name\":\"posts\",\"fields\":["
                "{\"name\":\"title\",\"type\":\"text\",\"required\":true},"
                "{\"name\":\"slug\",\"type\":\"text\"},"
                "{\"name\":\"views\",\"type\":\"number\"},"
                "{\"name\":\"tags\",\"type\":\"select\",\"values\":[\"a\",\"b\",\"c\"],"
                "\"maxSelect\":3},"
                "{\"name\":\"meta\",\"type\":\"json\"},"
                "{\"name\":\"author\",\"type\":\"relation\",\"collectionId\":\"authors\"},"
                "{\"name\":\"editors\",\"type\":\"relation\",\"collectionId\":\"authors\","
                "\"maxSelect\":5},"
                "{\"name\":\"status\",\"type\":\"text\"},"
                "{\"name\":\"secret\",\"type\":\"password\"}],"
                "\"indexes\":[\"CREATE UNIQUE INDEX idx_slug ON posts (slug) WHERE slug != ''\"]}");
    must_schema(app, "{\"name\":\"pairs\",\"fields\":[{\"name\":\"a\",\"type\":\"text\"},"
                     "{\"name\":\"b\",\"type\":\"text\"}],"
                     "\"indexes\":[\"CREATE UNIQUE INDEX idx_ab ON pairs (a, b)\"]}");
    must_schema(app, "{\"name\":\"comments\",\"fields\":[{\"name\":\"post\",\"type\":\"relation\","
                     "\"collectionId\":\"posts\",\"required\":true,\"cascadeDelete\":true}]}");
    must_schema(app,
                "{\"name\":\"replies\",\"fields\":[{\"name\":\"comment\",\"type\":\"relation\","
                "\"collectionId\":\"comments\",\"required\":true,\"cascadeDelete\":true}]}");
    must_schema(app, "{\"name\":\"likes\",\"fields\":[{\"name\":\"post\",\"type\":\"relation\","
                     "\"collectionId\":\"posts\"}]}");
    must_schema(app, "{\"name\":\"saves\",\"fields\":[{\"name\":\"posts\",\"type\":\"relation\","
                     "\"collectionId\":\"posts\",\"maxSelect\":5}]}");
    must_schema(app, "{\"name\":\"pins\",\"fields\":[{\"name\":\"post\",\"type\":\"relation\","
                     "\"collectionId\":\"posts\",\"required\":true}]}");
    *state = s;
    return 0;
}

static int teardown(void **state)
{
    struct state *s = *state;
    arena_cleanup(&s->arena);
    fixture_close(&s->fx);
    xfree(s);
    return 0;
}

static struct core_request request(struct state *s)
{
    struct core_request r = {.schema = core_app_schema(s->fx.app), .arena = &s->arena, .auth = &SU};
    r.filter_request.method = "POST";
    r.filter_request.context = "default";
    return r;
}

static json_t *parse_json(const char *text)
{
    json_error_t err;
    json_t *j = json_loads(text, 0, &err);
    if (!j)
        fail_msg("bad test JSON: %s: %s", err.text, text);
    return j;
}

/* Compiles rule (?1 = the id) into job, as the API does for a non-superuser. */
static void set_rule(struct state *s, struct core_write_job *job, const char *rule)
{
    if (!rule)
        return;
    struct core_request r = request(s);
    job->has_rule = true;
    assert_int_equal(
        core_compile_filter(&r, job->c, str_from_cstr(rule), true, 1, &job->rule, NULL), RC_OK);
}

/* Builds a create of body in collection name (its input must be valid,
 * new passwords hashed) into job, ready to run. */
static void build_create(struct state *s, const char *name, const char *body,
                         struct core_write_job *job)
{
    struct core_request r = request(s);
    const struct core_collection *c = fixture_collection(s->fx.app, name);
    json_t *b = parse_json(body);
    struct core_record_input in;
    struct core_problem p;
    core_problem_init(&p);
    if (core_record_input_build(&r, c, b, NULL, &in, &p) != RC_OK) {
        char *d = p.data ? json_dumps(p.data, JSON_COMPACT) : NULL;
        fail_msg("input of %s: %s %s", body, p.message, d ? d : "");
    }
    assert_int_equal(core_record_input_hash(&in, FAST), RC_OK);
    *job = (struct core_write_job){.kind = CORE_WRITE_CREATE, .schema = r.schema, .c = c};
    core_problem_init(&job->problem);
    job->id = xstrdup(json_string_value(json_object_get(in.values, "id")));
    job->values = json_incref(in.values);
    core_write_job_set_hashes(job, &in);
    core_record_input_cleanup(&in);
    core_problem_cleanup(&p);
    json_decref(b);
}

/* Runs a create; the caller inspects and cleans up job. */
static enum rc create(struct state *s, const char *name, const char *body, const char *rule,
                      struct core_write_job *job)
{
    build_create(s, name, body, job);
    set_rule(s, job, rule);
    return core_record_run(s->fx.app->writer, job);
}

static void create_ok(struct state *s, const char *name, const char *body)
{
    struct core_write_job job;
    enum rc rc = create(s, name, body, NULL, &job);
    if (rc != RC_OK) {
        char *d = job.problem.data ? json_dumps(job.problem.data, JSON_COMPACT) : NULL;
        fail_msg("create %s: rc %d %s %s", body, rc, job.problem.message, d ? d : "");
    }
    core_write_job_cleanup(&job);
}

/* Builds an update of record id by body: the worker's part (the input
 * against the stored record, new passwords hashed unless skip_hash). */
static void build_update(struct state *s, struct core_request *r, const char *name, const char *id,
                         const char *body, bool skip_hash, struct core_write_job *job)
{
    const struct core_collection *c = fixture_collection(s->fx.app, name);
    *job = (struct core_write_job){.kind = CORE_WRITE_UPDATE,
                                   .schema = r->schema,
                                   .c = c,
                                   .id = xstrdup(id),
                                   .body = parse_json(body),
                                   .request = r};
    core_problem_init(&job->problem);
    json_t *current = fixture_load(s->fx.app, name, id);
    if (!current || skip_hash) {
        json_decref(current);
        return;
    }
    struct core_record_input in;
    struct core_problem p;
    core_problem_init(&p);
    if (core_record_input_build(r, c, job->body, current, &in, &p) == RC_OK) {
        assert_int_equal(core_record_input_hash(&in, FAST), RC_OK);
        core_write_job_set_hashes(job, &in);
    }
    core_record_input_cleanup(&in); /* also after a failed build */
    core_problem_cleanup(&p);
    json_decref(current);
}

static enum rc update(struct state *s, const char *name, const char *id, const char *body,
                      const char *rule, struct core_write_job *job)
{
    struct core_request r = request(s);
    build_update(s, &r, name, id, body, false, job);
    set_rule(s, job, rule);
    return core_record_run(s->fx.app->writer, job);
}

static enum rc delete_record(struct state *s, const char *name, const char *id, const char *rule,
                             bool wants_events, struct core_write_job *job)
{
    *job = (struct core_write_job){.kind = CORE_WRITE_DELETE,
                                   .schema = core_app_schema(s->fx.app),
                                   .c = fixture_collection(s->fx.app, name),
                                   .id = xstrdup(id),
                                   .wants_events = wants_events};
    core_problem_init(&job->problem);
    set_rule(s, job, rule);
    return core_record_run(s->fx.app->writer, job);
}

static const char *code_of(const struct core_problem *p, const char *field)
{
    return json_string_value(json_object_get(json_object_get(p->data, field), "code"));
}

static const char *str_field(json_t *row, const char *name)
{
    assert_non_null(row);
    return json_string_value(json_object_get(row, name));
}

static int64_t rows(struct state *s, const char *table)
{
    char sql[128];
    snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM \"%s\"", table);
    return fixture_query_int(s->fx.app, sql);
}

static void make_post(struct state *s, const char *id, const char *slug, const char *status)
{
    char body[256];
    snprintf(body, sizeof(body),
             "{\"id\":\"%s\",\"title\":\"t\",\"slug\":\"%s\",\"views\":1,\"status\":\"%s\"}", id,
             slug, status);
    create_ok(s, "posts", body);
}

/* ---- create ------------------------------------------------------------- */

static void test_create_stores_each_type_as_load_reads_it(void **state)
{
    struct state *s = *state;
    create_ok(s, "authors", "{\"id\":\"" AUTHOR "\",\"name\":\"Ann\"}");
    create_ok(s, "posts",
              "{\"id\":\"" POST "\",\"title\":\"Hi\",\"slug\":\"hi\",\"views\":2.5,"
              "\"tags\":[\"a\",\"c\"],\"meta\":{\"k\":[1]},\"author\":\"" AUTHOR "\","
              "\"editors\":[\"" AUTHOR "\"],\"status\":\"open\"}");
    create_ok(s, "posts", "{\"id\":\"" POST2 "\",\"title\":\"Bare\",\"views\":3}");
    json_t *row = fixture_load(s->fx.app, "posts", POST);
    json_t *want = parse_json("{\"id\":\"" POST "\",\"title\":\"Hi\",\"slug\":\"hi\","
                              "\"views\":2.5,\"tags\":[\"a\",\"c\"],\"meta\":{\"k\":[1]},"
                              "\"author\":\"" AUTHOR "\",\"editors\":[\"" AUTHOR "\"],"
                              "\"status\":\"open\",\"secret\":\"\"}");
    if (!json_equal(row, want)) {
        char *d = json_dumps(row, JSON_COMPACT);
        fail_msg("stored: %s", d);
    }
    json_decref(want);
    json_decref(row);
    row = fixture_load(s->fx.app, "posts", POST2);
    assert_true(json_is_integer(json_object_get(row, "views")));
    assert_int_equal(json_integer_value(json_object_get(row, "views")), 3);
    assert_true(json_is_null(json_object_get(row, "meta")));
    assert_int_equal(json_array_size(json_object_get(row, "tags")), 0);
    assert_int_equal(json_array_size(json_object_get(row, "editors")), 0);
    assert_string_equal(str_field(row, "author"), "");
    json_decref(row);
}

static void test_create_with_a_taken_id_fails_on_id(void **state)
{
    struct state *s = *state;
    make_post(s, POST, "one", "open");
    struct core_write_job job;
    assert_int_equal(create(s, "posts", "{\"id\":\"" POST "\",\"title\":\"again\"}", NULL, &job),
                     RC_INVALID);
    assert_string_equal(job.problem.message, "Failed to create record.");
    assert_string_equal(code_of(&job.problem, "id"), "validation_not_unique");
    core_write_job_cleanup(&job);
    assert_int_equal(rows(s, "posts"), 1);
    json_t *row = fixture_load(s->fx.app, "posts", POST);
    assert_string_equal(str_field(row, "title"), "t");
    json_decref(row);
}

static void test_create_breaking_a_unique_index_names_its_field(void **state)
{
    struct state *s = *state;
    make_post(s, POST, "same", "open");
    struct core_write_job job;
    assert_int_equal(
        create(s, "posts", "{\"id\":\"" POST2 "\",\"title\":\"x\",\"slug\":\"same\"}", NULL, &job),
        RC_INVALID);
    assert_string_equal(code_of(&job.problem, "slug"), "validation_not_unique");
    assert_null(json_object_get(job.problem.data, "id"));
    core_write_job_cleanup(&job);
    /* The index is partial (slug != ''): empty slugs do not collide. */
    create_ok(s, "posts", "{\"id\":\"po3aaaaaaaaaaaa\",\"title\":\"x\"}");
    create_ok(s, "posts", "{\"id\":\"po4aaaaaaaaaaaa\",\"title\":\"y\"}");
    assert_int_equal(rows(s, "posts"), 3);
}

static void test_composite_unique_index_names_every_column(void **state)
{
    struct state *s = *state;
    create_ok(s, "pairs", "{\"id\":\"pa1aaaaaaaaaaaa\",\"a\":\"x\",\"b\":\"y\"}");
    create_ok(s, "pairs", "{\"id\":\"pa2aaaaaaaaaaaa\",\"a\":\"x\",\"b\":\"z\"}");
    struct core_write_job job;
    assert_int_equal(
        create(s, "pairs", "{\"id\":\"pa3aaaaaaaaaaaa\",\"a\":\"x\",\"b\":\"y\"}", NULL, &job),
        RC_INVALID);
    assert_string_equal(code_of(&job.problem, "a"), "validation_not_unique");
    assert_string_equal(code_of(&job.problem, "b"), "validation_not_unique");
    core_write_job_cleanup(&job);
}

static void test_create_with_missing_relation_targets_is_refused(void **state)
{
    struct state *s = *state;
    create_ok(s, "authors", "{\"id\":\"" AUTHOR "\",\"name\":\"Ann\"}");
    struct core_write_job job;
    assert_int_equal(create(s, "posts",
                            "{\"id\":\"" POST "\",\"title\":\"x\",\"author\":\"" AUTHOR "\","
                            "\"editors\":[\"" AUTHOR "\",\"" AUTHOR2 "\"]}",
                            NULL, &job),
                     RC_INVALID);
    assert_string_equal(code_of(&job.problem, "editors"), "validation_missing_rel_records");
    assert_null(json_object_get(job.problem.data, "author"));
    core_write_job_cleanup(&job);
    assert_int_equal(create(s, "posts",
                            "{\"id\":\"" POST "\",\"title\":\"x\",\"author\":\"" AUTHOR2 "\"}",
                            NULL, &job),
                     RC_INVALID);
    assert_string_equal(code_of(&job.problem, "author"), "validation_missing_rel_records");
    core_write_job_cleanup(&job);
    assert_int_equal(rows(s, "posts"), 0);
}

static void test_create_rule_is_checked_on_the_new_record(void **state)
{
    struct state *s = *state;
    struct core_write_job job;
    assert_int_equal(create(s, "posts",
                            "{\"id\":\"" POST "\",\"title\":\"x\",\"status\":\"closed\"}",
                            "status = 'open'", &job),
                     RC_INVALID);
    assert_string_equal(job.problem.message, "Failed to create record.");
    core_write_job_cleanup(&job);
    assert_int_equal(rows(s, "posts"), 0);
    assert_int_equal(create(s, "posts", "{\"id\":\"" POST "\",\"title\":\"x\",\"status\":\"open\"}",
                            "status = 'open'", &job),
                     RC_OK);
    core_write_job_cleanup(&job);
    assert_int_equal(rows(s, "posts"), 1);
}

static void test_password_field_takes_only_a_hash(void **state)
{
    struct state *s = *state;
    /* The input keeps the plain value out of values; the hash goes in. */
    create_ok(s, "posts", "{\"id\":\"" POST "\",\"title\":\"x\",\"secret\":\"open sesame\"}");
    json_t *row = fixture_load(s->fx.app, "posts", POST);
    const char *phc = str_field(row, "secret");
    assert_int_equal(strncmp(phc, "$argon2id$", 10), 0);
    assert_int_equal(core_password_verify(STR_LIT("open sesame"), str_from_cstr(phc)), RC_OK);
    json_decref(row);
    /* A job whose values carry a plain value is refused before writing. */
    struct core_write_job job;
    build_create(s, "posts", "{\"id\":\"" POST2 "\",\"title\":\"x\"}", &job);
    json_object_set_new(job.values, "secret", json_string("plain text"));
    assert_int_equal(core_record_run(s->fx.app->writer, &job), RC_INTERNAL);
    core_write_job_cleanup(&job);
    assert_null(fixture_load(s->fx.app, "posts", POST2));
}

/* ---- update ------------------------------------------------------------- */

static void test_update_applies_the_body_to_the_stored_record(void **state)
{
    struct state *s = *state;
    create_ok(s, "posts",
              "{\"id\":\"" POST "\",\"title\":\"Old\",\"slug\":\"s\",\"views\":2,"
              "\"tags\":[\"a\",\"c\"]}");
    struct core_write_job job;
    assert_int_equal(update(s, "posts", POST,
                            "{\"title\":\"New\",\"views+\":3,\"tags-\":\"a\",\"ignored\":1}", NULL,
                            &job),
                     RC_OK);
    json_t *row = fixture_load(s->fx.app, "posts", POST);
    assert_string_equal(str_field(row, "title"), "New");
    assert_string_equal(str_field(row, "slug"), "s");
    assert_int_equal(json_integer_value(json_object_get(row, "views")), 5);
    assert_int_equal(json_array_size(json_object_get(row, "tags")), 1);
    assert_string_equal(json_string_value(json_array_get(json_object_get(row, "tags"), 0)), "c");
    assert_null(json_object_get(row, "ignored"));
    /* written is the row as stored (a batch answers from it). */
    assert_string_equal(str_field(job.written, "title"), "New");
    assert_int_equal(json_integer_value(json_object_get(job.written, "views")), 5);
    json_decref(row);
    core_write_job_cleanup(&job);
}

static void test_update_under_a_rule_the_record_fails_is_not_found(void **state)
{
    struct state *s = *state;
    make_post(s, POST, "a", "closed");
    struct core_write_job job;
    assert_int_equal(update(s, "posts", POST, "{\"title\":\"New\"}", "status = 'open'", &job),
                     RC_NOT_FOUND);
    core_write_job_cleanup(&job);
    json_t *row = fixture_load(s->fx.app, "posts", POST);
    assert_string_equal(str_field(row, "title"), "t");
    json_decref(row);
    assert_int_equal(update(s, "posts", "nosuchrecord123", "{\"title\":\"x\"}", NULL, &job),
                     RC_NOT_FOUND);
    core_write_job_cleanup(&job);
}

static void test_update_with_an_invalid_body_names_the_field(void **state)
{
    struct state *s = *state;
    make_post(s, POST, "a", "open");
    make_post(s, POST2, "b", "open");
    struct core_write_job job;
    assert_int_equal(update(s, "posts", POST, "{\"title\":\"\"}", NULL, &job), RC_INVALID);
    assert_string_equal(job.problem.message, "Failed to update record.");
    assert_string_equal(code_of(&job.problem, "title"), "validation_required");
    core_write_job_cleanup(&job);
    assert_int_equal(update(s, "posts", POST, "{\"slug\":\"b\",\"title\":\"x\"}", NULL, &job),
                     RC_INVALID);
    assert_string_equal(code_of(&job.problem, "slug"), "validation_not_unique");
    core_write_job_cleanup(&job);
    json_t *row = fixture_load(s->fx.app, "posts", POST);
    assert_string_equal(str_field(row, "slug"), "a");
    assert_string_equal(str_field(row, "title"), "t");
    json_decref(row);
}

static void test_update_of_a_password_needs_its_hash(void **state)
{
    struct state *s = *state;
    make_post(s, POST, "a", "open");
    /* The worker did not hash: the writer refuses rather than store plain text. */
    struct core_request r = request(s);
    struct core_write_job job;
    build_update(s, &r, "posts", POST, "{\"secret\":\"n3w secret\"}", true, &job);
    assert_int_equal(core_record_run(s->fx.app->writer, &job), RC_INTERNAL);
    core_write_job_cleanup(&job);
    json_t *row = fixture_load(s->fx.app, "posts", POST);
    assert_string_equal(str_field(row, "secret"), "");
    json_decref(row);
    assert_int_equal(update(s, "posts", POST, "{\"secret\":\"n3w secret\"}", NULL, &job), RC_OK);
    core_write_job_cleanup(&job);
    row = fixture_load(s->fx.app, "posts", POST);
    assert_int_equal(
        core_password_verify(STR_LIT("n3w secret"), str_from_cstr(str_field(row, "secret"))),
        RC_OK);
    json_decref(row);
    /* An update that does not send it keeps the stored hash. */
    row = fixture_load(s->fx.app, "posts", POST);
    char *before = xstrdup(str_field(row, "secret"));
    json_decref(row);
    assert_int_equal(update(s, "posts", POST, "{\"title\":\"x\"}", NULL, &job), RC_OK);
    core_write_job_cleanup(&job);
    row = fixture_load(s->fx.app, "posts", POST);
    assert_string_equal(str_field(row, "secret"), before);
    json_decref(row);
    xfree(before);
}

static void test_writes_make_events_only_when_asked(void **state)
{
    struct state *s = *state;
    struct core_write_job job;
    build_create(s, "posts", "{\"id\":\"" POST "\",\"title\":\"a\"}", &job);
    job.wants_events = true;
    assert_int_equal(core_record_run(s->fx.app->writer, &job), RC_OK);
    assert_non_null(job.events);
    assert_null(job.events->next);
    assert_int_equal(job.events->action, CORE_EVENT_CREATE);
    assert_ptr_equal(job.events->c, fixture_collection(s->fx.app, "posts"));
    assert_string_equal(str_field(job.events->values, "title"), "a");
    core_write_job_cleanup(&job);
    struct core_request r = request(s);
    build_update(s, &r, "posts", POST, "{\"title\":\"b\"}", false, &job);
    job.wants_events = true;
    assert_int_equal(core_record_run(s->fx.app->writer, &job), RC_OK);
    assert_int_equal(job.events->action, CORE_EVENT_UPDATE);
    assert_string_equal(str_field(job.events->values, "title"), "b");
    core_write_job_cleanup(&job);
    /* A failed write has nothing to announce. */
    build_create(s, "posts", "{\"id\":\"" POST "\",\"title\":\"a\"}", &job);
    job.wants_events = true;
    assert_int_equal(core_record_run(s->fx.app->writer, &job), RC_INVALID);
    assert_null(job.events);
    core_write_job_cleanup(&job);
    assert_int_equal(update(s, "posts", POST, "{\"title\":\"c\"}", NULL, &job), RC_OK);
    assert_null(job.events); /* not asked for */
    core_write_job_cleanup(&job);
}

/* ---- delete ------------------------------------------------------------- */

static void test_delete_removes_the_record_under_its_rule(void **state)
{
    struct state *s = *state;
    make_post(s, POST, "a", "closed");
    struct core_write_job job;
    assert_int_equal(delete_record(s, "posts", POST, "status = 'open'", false, &job), RC_NOT_FOUND);
    core_write_job_cleanup(&job);
    assert_int_equal(rows(s, "posts"), 1);
    assert_int_equal(delete_record(s, "posts", "nosuchrecord123", NULL, false, &job), RC_NOT_FOUND);
    core_write_job_cleanup(&job);
    assert_int_equal(delete_record(s, "posts", POST, NULL, false, &job), RC_OK);
    assert_null(job.events); /* not asked for */
    core_write_job_cleanup(&job);
    assert_int_equal(rows(s, "posts"), 0);
}

static void test_delete_cascades_and_releases_references(void **state)
{
    struct state *s = *state;
    make_post(s, POST, "a", "open");
    make_post(s, POST2, "b", "open");
    create_ok(s, "comments", "{\"id\":\"co1aaaaaaaaaaaa\",\"post\":\"" POST "\"}");
    create_ok(s, "comments", "{\"id\":\"co2aaaaaaaaaaaa\",\"post\":\"" POST2 "\"}");
    create_ok(s, "replies", "{\"id\":\"re1aaaaaaaaaaaa\",\"comment\":\"co1aaaaaaaaaaaa\"}");
    create_ok(s, "likes", "{\"id\":\"li1aaaaaaaaaaaa\",\"post\":\"" POST "\"}");
    create_ok(s, "saves", "{\"id\":\"sa1aaaaaaaaaaaa\",\"posts\":[\"" POST "\",\"" POST2 "\"]}");
    struct core_write_job job;
    assert_int_equal(delete_record(s, "posts", POST, NULL, true, &job), RC_OK);
    /* A delete event for the post and for each record the cascade removed. */
    json_t *gone = json_object();
    for (struct core_event *ev = job.events; ev; ev = ev->next) {
        assert_int_equal(ev->action, CORE_EVENT_DELETE);
        json_object_set_new(gone, ev->id, json_string(ev->c->name));
    }
    json_t *want = parse_json("{\"" POST "\":\"posts\",\"co1aaaaaaaaaaaa\":\"comments\","
                              "\"re1aaaaaaaaaaaa\":\"replies\"}");
    if (!json_equal(gone, want))
        fail_msg("events for %s", json_dumps(gone, JSON_COMPACT));
    json_decref(want);
    json_decref(gone);
    core_write_job_cleanup(&job);
    assert_null(fixture_load(s->fx.app, "comments", "co1aaaaaaaaaaaa"));
    assert_null(fixture_load(s->fx.app, "replies", "re1aaaaaaaaaaaa"));
    json_t *row = fixture_load(s->fx.app, "comments", "co2aaaaaaaaaaaa");
    assert_non_null(row);
    json_decref(row);
    row = fixture_load(s->fx.app, "likes", "li1aaaaaaaaaaaa");
    assert_string_equal(str_field(row, "post"), "");
    json_decref(row);
    row = fixture_load(s->fx.app, "saves", "sa1aaaaaaaaaaaa");
    json_t *left = json_object_get(row, "posts");
    assert_int_equal(json_array_size(left), 1);
    assert_string_equal(json_string_value(json_array_get(left, 0)), POST2);
    json_decref(row);
}

static void test_delete_refused_by_a_required_reference_changes_nothing(void **state)
{
    struct state *s = *state;
    make_post(s, POST, "a", "open");
    create_ok(s, "comments", "{\"id\":\"co1aaaaaaaaaaaa\",\"post\":\"" POST "\"}");
    create_ok(s, "likes", "{\"id\":\"li1aaaaaaaaaaaa\",\"post\":\"" POST "\"}");
    create_ok(s, "pins", "{\"id\":\"pi1aaaaaaaaaaaa\",\"post\":\"" POST "\"}");
    struct core_write_job job;
    assert_int_equal(delete_record(s, "posts", POST, NULL, true, &job), RC_INVALID);
    assert_non_null(strstr(job.problem.message, "required relation reference"));
    assert_null(job.events);
    core_write_job_cleanup(&job);
    /* Rolled back whole: the cascade and the unset did not happen. */
    assert_int_equal(rows(s, "posts"), 1);
    assert_int_equal(rows(s, "comments"), 1);
    json_t *row = fixture_load(s->fx.app, "likes", "li1aaaaaaaaaaaa");
    assert_string_equal(str_field(row, "post"), POST);
    json_decref(row);
}

/* ---- check_relations, load ---------------------------------------------- */

static void test_check_relations_reads_on_any_connection(void **state)
{
    struct state *s = *state;
    create_ok(s, "authors", "{\"id\":\"" AUTHOR "\",\"name\":\"Ann\"}");
    struct store_conn *db;
    assert_int_equal(store_open(s->fx.app->db_path, STORE_OPEN_READ, &db), RC_OK);
    const struct core_collection *posts = fixture_collection(s->fx.app, "posts");
    struct core_problem p;
    core_problem_init(&p);
    json_t *ok = parse_json("{\"author\":\"" AUTHOR "\",\"editors\":[\"" AUTHOR "\"]}");
    assert_int_equal(core_record_check_relations(db, core_app_schema(s->fx.app), posts, ok, &p),
                     RC_OK);
    assert_null(p.data);
    json_t *bad =
        parse_json("{\"author\":\"\",\"editors\":[\"" AUTHOR "\",\"" AUTHOR "\",\"zz\"]}");
    assert_int_equal(core_record_check_relations(db, core_app_schema(s->fx.app), posts, bad, &p),
                     RC_INVALID);
    assert_string_equal(code_of(&p, "editors"), "validation_missing_rel_records");
    assert_null(json_object_get(p.data, "author"));
    core_problem_cleanup(&p);
    json_decref(ok);
    json_decref(bad);
    store_close(db);
}

/* ---- batches ------------------------------------------------------------ */

struct loop {
    uv_loop_t loop;
    struct net_mailbox *mb;
    struct core_worker cw;
    bool is_done;
};

static void loop_open(struct state *s, struct loop *l)
{
    memset(l, 0, sizeof(*l));
    assert_int_equal(uv_loop_init(&l->loop), 0);
    l->mb = net_mailbox_new(&l->loop);
    assert_int_equal(core_worker_init(&l->cw, s->fx.app, l->mb), RC_OK);
}

static void loop_close(struct loop *l)
{
    core_worker_stop(&l->cw);
    core_worker_cleanup(&l->cw);
    net_mailbox_close(l->mb);
    uv_run(&l->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&l->loop), 0);
}

static void batch_done(struct core_write_batch *b)
{
    ((struct loop *)b->ctx)->is_done = true;
}

static enum rc run_batch(struct loop *l, struct core_write_job **jobs, size_t n, uint64_t deadline,
                         struct core_write_batch *b)
{
    *b = (struct core_write_batch){
        .jobs = jobs, .count = n, .deadline_ns = deadline, .done = batch_done, .ctx = l};
    l->is_done = false;
    core_record_submit_batch(&l->cw, b);
    while (!l->is_done)
        uv_run(&l->loop, UV_RUN_ONCE);
    return b->rc;
}

static void test_batch_failing_job_rolls_back_every_job(void **state)
{
    struct state *s = *state;
    struct loop l;
    loop_open(s, &l);
    struct core_write_job a, b, c;
    build_create(s, "posts", "{\"id\":\"" POST "\",\"title\":\"a\",\"slug\":\"x\"}", &a);
    build_create(s, "posts", "{\"id\":\"" POST2 "\",\"title\":\"b\"}", &b);
    build_create(s, "posts", "{\"id\":\"po3aaaaaaaaaaaa\",\"title\":\"c\",\"slug\":\"x\"}", &c);
    struct core_write_job *jobs[] = {&a, &b, &c};
    struct core_write_batch batch;
    assert_int_equal(run_batch(&l, jobs, 3, 0, &batch), RC_INVALID);
    assert_int_equal(batch.failed, 2);
    assert_false(batch.is_timed_out);
    assert_int_equal(a.rc, RC_CONFLICT);
    assert_int_equal(b.rc, RC_CONFLICT);
    assert_int_equal(c.rc, RC_INVALID);
    assert_string_equal(code_of(&c.problem, "slug"), "validation_not_unique");
    assert_int_equal(rows(s, "posts"), 0);
    core_write_job_cleanup(&a);
    core_write_job_cleanup(&b);
    core_write_job_cleanup(&c);
    loop_close(&l);
}

static void test_batch_update_sees_a_record_created_before_it(void **state)
{
    struct state *s = *state;
    struct loop l;
    loop_open(s, &l);
    struct core_request r = request(s);
    struct core_write_job a, b;
    build_create(s, "posts", "{\"id\":\"" POST "\",\"title\":\"a\",\"views\":1}", &a);
    /* Not committed yet: the writer loads it inside the batch. */
    build_update(s, &r, "posts", POST, "{\"views+\":41}", true, &b);
    struct core_write_job *jobs[] = {&a, &b};
    struct core_write_batch batch;
    assert_int_equal(run_batch(&l, jobs, 2, 0, &batch), RC_OK);
    assert_int_equal(a.rc, RC_OK);
    assert_int_equal(b.rc, RC_OK);
    json_t *row = fixture_load(s->fx.app, "posts", POST);
    assert_int_equal(json_integer_value(json_object_get(row, "views")), 42);
    json_decref(row);
    core_write_job_cleanup(&a);
    core_write_job_cleanup(&b);
    loop_close(&l);
}

static void test_batch_past_its_deadline_is_busy_and_writes_nothing(void **state)
{
    struct state *s = *state;
    struct loop l;
    loop_open(s, &l);
    struct core_write_job a;
    build_create(s, "posts", "{\"id\":\"" POST "\",\"title\":\"a\"}", &a);
    struct core_write_job *jobs[] = {&a};
    struct core_write_batch batch;
    assert_int_equal(run_batch(&l, jobs, 1, 1 /* long past */, &batch), RC_BUSY);
    assert_true(batch.is_timed_out);
    assert_int_equal(batch.failed, 0);
    assert_int_equal(rows(s, "posts"), 0);
    core_write_job_cleanup(&a);
    loop_close(&l);
}

/* ---- what system collections keep about an auth record ------------------ */

#define MEMBER "me1aaaaaaaaaaaa"
#define MEMBER2 "me2aaaaaaaaaaaa"

/* The auth collection `members`, each in a team (an author) that takes its
 * members with it. */
static const char *members_id(struct state *s)
{
    const struct core_collection *c = fixture_collection(s->fx.app, "members");
    if (!c)
        must_schema(s->fx.app,
                    "{\"name\":\"members\",\"type\":\"auth\",\"fields\":["
                    "{\"name\":\"name\",\"type\":\"text\"},"
                    "{\"name\":\"team\",\"type\":\"relation\",\"collectionId\":\"authors\","
                    "\"cascadeDelete\":true}]}");
    return fixture_collection(s->fx.app, "members")->id;
}

/* One row in each of _mfas, _otps, _authOrigins and _externalAuths for
 * record id of members (n: a distinct id suffix). */
static void add_refs(struct state *s, const char *id, char n)
{
    const char *col = members_id(s);
    const char *tables[][2] = {
        {"_mfas", "\"method\":\"password\""},
        {"_otps", "\"sentTo\":\"a@example.com\""},
        {"_authOrigins", "\"fingerprint\":\"f\""},
        {"_externalAuths", "\"provider\":\"google\",\"providerId\":\"p"},
    };
    for (size_t i = 0; i < 4; i++) {
        /* the link's providerId gets n too: (collection, provider, id) is unique */
        char values[256];
        snprintf(
            values, sizeof(values),
            "{\"id\":\"ref%zu%caaaaaaaaaa\",\"collectionRef\":\"%s\",\"recordRef\":\"%s\",%s%s}", i,
            n, col, id, tables[i][1], i == 3 ? (n == '1' ? "1\"" : "2\"") : "");
        assert_int_equal(fixture_insert(s->fx.app, tables[i][0], values), RC_OK);
    }
}

/* How many rows of table point at record id. */
static int64_t refs(struct state *s, const char *table, const char *id)
{
    char sql[160];
    snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM \"%s\" WHERE recordRef = '%s'", table, id);
    return fixture_query_int(s->fx.app, sql);
}

static void test_auth_record_updates_clear_what_pocketbase_clears(void **state)
{
    struct state *s = *state;
    members_id(s);
    create_ok(s, "members",
              "{\"id\":\"" MEMBER "\",\"email\":\"m1@example.com\",\"password\":\"memberpass1\","
              "\"passwordConfirm\":\"memberpass1\"}");
    add_refs(s, MEMBER, '1');
    struct core_write_job job;
    /* Another field: everything stays. */
    assert_int_equal(update(s, "members", MEMBER, "{\"name\":\"x\"}", NULL, &job), RC_OK);
    core_write_job_cleanup(&job);
    assert_int_equal(refs(s, "_mfas", MEMBER), 1);
    assert_int_equal(refs(s, "_otps", MEMBER), 1);
    assert_int_equal(refs(s, "_authOrigins", MEMBER), 1);
    /* A new email rotates tokenKey: the codes go, sessions and origins stay. */
    assert_int_equal(update(s, "members", MEMBER, "{\"email\":\"m2@example.com\"}", NULL, &job),
                     RC_OK);
    core_write_job_cleanup(&job);
    assert_int_equal(refs(s, "_otps", MEMBER), 0);
    assert_int_equal(refs(s, "_mfas", MEMBER), 1);
    assert_int_equal(refs(s, "_authOrigins", MEMBER), 1);
    /* A new password: sessions and origins go too; the OAuth2 link stays. */
    assert_int_equal(update(s, "members", MEMBER,
                            "{\"password\":\"newpass123\",\"passwordConfirm\":\"newpass123\"}",
                            NULL, &job),
                     RC_OK);
    core_write_job_cleanup(&job);
    assert_int_equal(refs(s, "_mfas", MEMBER), 0);
    assert_int_equal(refs(s, "_authOrigins", MEMBER), 0);
    assert_int_equal(refs(s, "_externalAuths", MEMBER), 1);
}

static void test_auth_record_deletes_take_their_refs_also_by_cascade(void **state)
{
    struct state *s = *state;
    members_id(s);
    create_ok(s, "authors", "{\"id\":\"" AUTHOR "\",\"name\":\"team\"}");
    create_ok(s, "members",
              "{\"id\":\"" MEMBER "\",\"email\":\"m1@example.com\",\"password\":\"memberpass1\","
              "\"passwordConfirm\":\"memberpass1\",\"team\":\"" AUTHOR "\"}");
    create_ok(s, "members",
              "{\"id\":\"" MEMBER2 "\",\"email\":\"m2@example.com\",\"password\":\"memberpass1\","
              "\"passwordConfirm\":\"memberpass1\"}");
    add_refs(s, MEMBER, '1');
    add_refs(s, MEMBER2, '2');
    /* The team's delete cascades to its member, who takes its rows along. */
    struct core_write_job job;
    assert_int_equal(delete_record(s, "authors", AUTHOR, NULL, false, &job), RC_OK);
    core_write_job_cleanup(&job);
    assert_null(fixture_load(s->fx.app, "members", MEMBER));
    static const char *const tables[] = {"_mfas", "_otps", "_authOrigins", "_externalAuths"};
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(refs(s, tables[i], MEMBER), 0);
        assert_int_equal(refs(s, tables[i], MEMBER2), 1);
    }
    assert_int_equal(delete_record(s, "members", MEMBER2, NULL, false, &job), RC_OK);
    core_write_job_cleanup(&job);
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(refs(s, tables[i], MEMBER2), 0);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_create_stores_each_type_as_load_reads_it),
        T(test_create_with_a_taken_id_fails_on_id),
        T(test_create_breaking_a_unique_index_names_its_field),
        T(test_composite_unique_index_names_every_column),
        T(test_create_with_missing_relation_targets_is_refused),
        T(test_create_rule_is_checked_on_the_new_record),
        T(test_password_field_takes_only_a_hash),
        T(test_update_applies_the_body_to_the_stored_record),
        T(test_update_under_a_rule_the_record_fails_is_not_found),
        T(test_update_with_an_invalid_body_names_the_field),
        T(test_update_of_a_password_needs_its_hash),
        T(test_writes_make_events_only_when_asked),
        T(test_delete_removes_the_record_under_its_rule),
        T(test_delete_cascades_and_releases_references),
        T(test_delete_refused_by_a_required_reference_changes_nothing),
        T(test_check_relations_reads_on_any_connection),
        T(test_batch_failing_job_rolls_back_every_job),
        T(test_batch_update_sees_a_record_created_before_it),
        T(test_batch_past_its_deadline_is_busy_and_writes_nothing),
        T(test_auth_record_updates_clear_what_pocketbase_clears),
        T(test_auth_record_deletes_take_their_refs_also_by_cascade),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
