/* test_sqlgen.c -- unit tests of core/sqlgen.h. Most are semantic: a small
 * in-memory SQLite database laid out as collection.h stores records (one table
 * per collection, multi-valued fields as JSON array text), filters compiled
 * and run as `SELECT id FROM "posts" r WHERE <sql>`, and the exact ids
 * checked against the spec's worked examples (§3.8.1) and its null/empty and
 * multi-valued rules (§3.6, §3.7). The rest check errors, parameter numbering,
 * that user input never reaches the SQL text, and the sort compiler. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "core/filter/sqlgen.h"
#include "store/sqlite_func.h"

/* ---- the schema -------------------------------------------------------- */

static struct core_schema *schema;
static sqlite3 *db;

static struct core_field field(const char *name, enum core_field_type type)
{
    struct core_field f = {0};
    f.id = xstrdup(name);
    f.name = xstrdup(name);
    f.type = type;
    f.min_date = xstrdup("");
    f.max_date = xstrdup("");
    f.pattern = xstrdup("");
    f.autogenerate_pattern = xstrdup("");
    return f;
}

static struct core_field relation(const char *name, const char *target, int max_select)
{
    struct core_field f = field(name, CORE_FIELD_RELATION);
    f.collection_id = xstrdup(target);
    f.max_select = max_select;
    return f;
}

static struct core_field multi(const char *name, enum core_field_type type)
{
    struct core_field f = field(name, type);
    f.max_select = 5;
    return f;
}

static struct core_field hidden(struct core_field f)
{
    f.is_hidden = true;
    return f;
}

/* Adds a collection; list_rule NULL = superusers only. */
static struct core_collection *add(const char *id, const char *name, enum core_collection_type t,
                                   const char *list_rule, struct core_field *fields, size_t n)
{
    struct core_collection *c = xcalloc(1, sizeof(*c));
    c->id = xstrdup(id);
    c->name = xstrdup(name);
    c->type = t;
    c->rules[CORE_RULE_LIST] = list_rule ? xstrdup(list_rule) : NULL;
    c->fields = xcalloc(n + 1, sizeof(*c->fields));
    c->fields[0] = field("id", CORE_FIELD_TEXT);
    c->fields[0].is_primary_key = true;
    memcpy(c->fields + 1, fields, n * sizeof(*fields));
    c->field_count = n + 1;
    schema->items = xrealloc(schema->items, (schema->count + 1) * sizeof(*schema->items));
    schema->items[schema->count++] = c;
    return c;
}

static void exec(const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("%s: %s", sql, msg);
}

static const char *const data_sql =
    "CREATE TABLE users (id TEXT PRIMARY KEY, email TEXT DEFAULT '', emailVisibility BOOLEAN "
    "DEFAULT FALSE, verified BOOLEAN DEFAULT FALSE, password TEXT DEFAULT '', tokenKey TEXT "
    "DEFAULT '', name TEXT DEFAULT '', role TEXT DEFAULT '', team TEXT DEFAULT '', secret TEXT "
    "DEFAULT '');"
    "CREATE TABLE teams (id TEXT PRIMARY KEY, name TEXT DEFAULT '', members JSON DEFAULT '[]');"
    "CREATE TABLE posts (id TEXT PRIMARY KEY, title TEXT DEFAULT '', status TEXT DEFAULT '', "
    "views NUMERIC DEFAULT 0, featured BOOLEAN DEFAULT FALSE, tags JSON DEFAULT '[]', author "
    "TEXT DEFAULT '', editors JSON DEFAULT '[]', meta JSON DEFAULT NULL, loc JSON DEFAULT "
    "'{\"lon\":0,\"lat\":0}', created TEXT DEFAULT '', deleted TEXT DEFAULT '', org TEXT "
    "DEFAULT '');"
    "CREATE TABLE comments (id TEXT PRIMARY KEY, post TEXT DEFAULT '', message TEXT DEFAULT '', "
    "approved BOOLEAN DEFAULT FALSE);"
    "CREATE TABLE memberships (id TEXT PRIMARY KEY, user TEXT DEFAULT '', org TEXT DEFAULT '');"
    "CREATE TABLE secrets (id TEXT PRIMARY KEY, post TEXT DEFAULT '', note TEXT DEFAULT '');"
    "CREATE TABLE profiles (id TEXT PRIMARY KEY, user TEXT DEFAULT '', bio TEXT DEFAULT '');"
    "CREATE UNIQUE INDEX idx_profiles_user ON profiles (user);"
    "INSERT INTO users (id, email, emailVisibility, name, role, team, secret) VALUES "
    "('u1', 'a@x.io', 1, 'Alice', 'admin', 't1', 's1'),"
    "('u2', 'b@x.io', 0, 'Bob', 'user', 't2', 's2'),"
    "('u3', 'c@x.io', 1, 'Carol', '', '', 's3');"
    "INSERT INTO teams VALUES ('t1', 'Red', '[\"u1\",\"u2\"]'), ('t2', 'Blue', '[\"u3\"]');"
    "INSERT INTO posts VALUES "
    "('p1', 'Hello abc world', 'active', 12, 0, '[\"go\",\"c\"]', 'u1', '[\"u2\",\"u3\"]', "
    " '{\"settings\":{\"theme\":\"dark\"},\"n\":5}', '{\"lon\":23.32,\"lat\":42.69}', "
    " '2025-01-02 10:00:00.000Z', '', 'acme'),"
    "('p2', 'abc start', 'active', 5, 1, '[\"rust\",\"go\",\"zig\"]', 'u2', '[]', NULL, "
    " '{\"lon\":0,\"lat\":0}', '2024-12-31 10:00:00.000Z', '2025-02-01 00:00:00.000Z', "
    " 'globex'),"
    "('p3', '', 'draft', 0, 0, '[]', '', '[\"u1\"]', '{\"settings\":{\"theme\":\"light\"}}', "
    " '{\"lon\":-0.12,\"lat\":51.5}', '2025-03-01 08:00:00.000Z', '', 'acme'),"
    "('p4', '100% pure_fun a\\b', 'active', 20, 0, '[\"gopher\"]', 'u3', '[\"u1\",\"u2\"]', "
    " '{\"list\":[{\"x\":1},{\"x\":2}]}', '{\"lon\":0,\"lat\":0}', '2025-07-01 00:00:00.000Z', "
    " '', ''),"
    "('p5', 'it''s \"quoted\"' || char(10) || 'line', 'draft', 7, 0, '[\"c\"]', 'u1', '[]', "
    " NULL, '{\"lon\":0,\"lat\":0}', '', '', '');"
    "INSERT INTO comments VALUES ('c1', 'p1', 'nice', 1), ('c2', 'p1', 'meh', 0), "
    " ('c3', 'p2', 'no', 0), ('c4', 'p4', 'yes', 1);"
    "INSERT INTO memberships VALUES ('m1', 'u1', 'acme'), ('m2', 'u2', 'globex');"
    "INSERT INTO secrets VALUES ('s1', 'p1', 'x');"
    "INSERT INTO profiles VALUES ('f1', 'u1', 'hi'), ('f2', 'u2', 'yo');";

static int setup(void **state)
{
    schema = xcalloc(1, sizeof(*schema));
    struct core_field users[] = {
        field("email", CORE_FIELD_EMAIL),           field("emailVisibility", CORE_FIELD_BOOL),
        field("verified", CORE_FIELD_BOOL),         hidden(field("password", CORE_FIELD_PASSWORD)),
        hidden(field("tokenKey", CORE_FIELD_TEXT)), field("name", CORE_FIELD_TEXT),
        field("role", CORE_FIELD_SELECT),           relation("team", "pbc_teams", 1),
        hidden(field("secret", CORE_FIELD_TEXT)),
    };
    /* Listable by anyone, so the traversal tests see every user; the listRule
     * of a hop is tested with a stricter rule set in the test itself. */
    add("_pb_users_auth_", "users", CORE_COLLECTION_AUTH, "", users,
        sizeof(users) / sizeof(users[0]));
    struct core_field teams[] = {field("name", CORE_FIELD_TEXT),
                                 relation("members", "_pb_users_auth_", 10)};
    add("pbc_teams", "teams", CORE_COLLECTION_BASE, "", teams, 2);
    struct core_field posts[] = {
        field("title", CORE_FIELD_TEXT),           field("status", CORE_FIELD_SELECT),
        field("views", CORE_FIELD_NUMBER),         field("featured", CORE_FIELD_BOOL),
        multi("tags", CORE_FIELD_SELECT),          relation("author", "_pb_users_auth_", 1),
        relation("editors", "_pb_users_auth_", 5), field("meta", CORE_FIELD_JSON),
        field("loc", CORE_FIELD_GEOPOINT),         field("created", CORE_FIELD_AUTODATE),
        field("deleted", CORE_FIELD_DATE),         field("org", CORE_FIELD_TEXT),
    };
    add("pbc_posts", "posts", CORE_COLLECTION_BASE, "", posts, sizeof(posts) / sizeof(posts[0]));
    struct core_field comments[] = {relation("post", "pbc_posts", 1),
                                    field("message", CORE_FIELD_TEXT),
                                    field("approved", CORE_FIELD_BOOL)};
    add("pbc_comments", "comments", CORE_COLLECTION_BASE, "", comments, 3);
    struct core_field memberships[] = {relation("user", "_pb_users_auth_", 1),
                                       field("org", CORE_FIELD_TEXT)};
    add("pbc_memberships", "memberships", CORE_COLLECTION_BASE, NULL, memberships, 2);
    struct core_field secrets[] = {relation("post", "pbc_posts", 1),
                                   field("note", CORE_FIELD_TEXT)};
    add("pbc_secrets", "secrets", CORE_COLLECTION_BASE, NULL, secrets, 2);
    struct core_field profiles[] = {relation("user", "_pb_users_auth_", 1),
                                    field("bio", CORE_FIELD_TEXT)};
    struct core_collection *p =
        add("pbc_profiles", "profiles", CORE_COLLECTION_BASE, "", profiles, 2);
    p->indexes = xcalloc(1, sizeof(char *));
    p->indexes[0] = xstrdup("CREATE UNIQUE INDEX `idx_profiles_user` ON `profiles` (`user`)");
    p->index_count = 1;

    if (sqlite3_open(":memory:", &db) != SQLITE_OK || store_sqlite_func_register(db) != SQLITE_OK)
        return -1;
    exec(data_sql);
    (void)state;
    return 0;
}

static json_t *auth_json;

static int teardown(void **state)
{
    json_decref(auth_json);
    auth_json = NULL;
    sqlite3_close(db);
    core_schema_free(schema);
    (void)state;
    return 0;
}

/* ---- running filters --------------------------------------------------- */

/* 2025-06-15 12:30:45.678Z, a Sunday. */
#define NOW_MS 1749990645678LL

static struct core_filter_request guest = {.method = "GET", .context = "default"};

static const struct core_collection *coll(const char *name)
{
    return core_schema_find_exact(schema, str_from_cstr(name));
}

static struct core_filter_options opts(const char *collection,
                                       const struct core_filter_request *req, bool allow_hidden)
{
    return (struct core_filter_options){.schema = schema,
                                        .collection = coll(collection),
                                        .alias = "r",
                                        .request = req,
                                        .allow_hidden = allow_hidden,
                                        .now_ms = NOW_MS};
}

static void bind_all(sqlite3_stmt *st, const struct core_sql_param *p, size_t n, size_t base)
{
    for (size_t i = 0; i < n; i++) {
        int ix = (int)(base + i + 1);
        int rc = SQLITE_OK;
        switch (p[i].type) {
        case CORE_SQL_NULL: rc = sqlite3_bind_null(st, ix); break;
        case CORE_SQL_INT: rc = sqlite3_bind_int64(st, ix, p[i].i); break;
        case CORE_SQL_DOUBLE: rc = sqlite3_bind_double(st, ix, p[i].d); break;
        case CORE_SQL_TEXT:
            rc = sqlite3_bind_text(st, ix, p[i].text.ptr, (int)p[i].text.len, SQLITE_STATIC);
            break;
        }
        assert_int_equal(rc, SQLITE_OK);
    }
}

/* Runs filter on collection; returns the matching ids joined by ',' (or
 * "ERR: <message>" when it does not compile) in a static buffer. Also checks
 * that the COUNT(*) form agrees, i.e. that the filter multiplies no rows. */
static const char *query(const char *collection, const char *filter,
                         const struct core_filter_request *req, bool allow_hidden)
{
    static char out[512];
    struct arena a;
    arena_init(&a, 4096);
    struct core_filter_options o = opts(collection, req, allow_hidden);
    struct core_sql_fragment f;
    char err[256];
    if (core_filter_compile(&o, str_from_cstr(filter), &a, &f, err, sizeof(err))) {
        snprintf(out, sizeof(out), "ERR: %s", err);
        arena_cleanup(&a);
        return out;
    }
    char *sql = NULL;
    int len = asprintf(&sql, "SELECT id FROM \"%s\" r WHERE %.*s ORDER BY id", collection,
                       (int)f.sql.len, f.sql.ptr);
    assert_true(len > 0);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        fail_msg("prepare failed: %s\nfilter: %s\nsql: %s", sqlite3_errmsg(db), filter, sql);
    bind_all(st, f.params, f.param_count, 0);
    size_t n = 0, rows = 0;
    out[0] = '\0';
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        n += (size_t)snprintf(out + n, sizeof(out) - n, "%s%s", rows ? "," : "",
                              (const char *)sqlite3_column_text(st, 0));
        rows++;
    }
    if (rc != SQLITE_DONE)
        fail_msg("step failed: %s\nsql: %s", sqlite3_errmsg(db), sql);
    sqlite3_finalize(st);
    char *count_sql = NULL;
    len = asprintf(&count_sql, "SELECT COUNT(*) FROM \"%s\" r WHERE %.*s", collection,
                   (int)f.sql.len, f.sql.ptr);
    assert_true(len > 0);
    assert_int_equal(sqlite3_prepare_v2(db, count_sql, -1, &st, NULL), SQLITE_OK);
    bind_all(st, f.params, f.param_count, 0);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    if ((size_t)sqlite3_column_int64(st, 0) != rows)
        fail_msg("COUNT(*) %lld != %zu rows for %s", (long long)sqlite3_column_int64(st, 0), rows,
                 filter);
    sqlite3_finalize(st);
    /* asprintf memory is libc's; release it the way it was made. */
    xfree(sql);
    xfree(count_sql);
    arena_cleanup(&a);
    return out;
}

#define assert_posts(filter, want)                                                                 \
    assert_string_equal(query("posts", (filter), &guest, false), (want))
#define assert_posts_as(req, filter, want)                                                         \
    assert_string_equal(query("posts", (filter), (req), true), (want))

/* A request authenticated as users/id (fields as the users table has them);
 * valid until the next call. */
static struct core_filter_request *auth_as(const char *id)
{
    static struct core_filter_request r;
    json_decref(auth_json);
    if (strcmp(id, "u1") == 0)
        auth_json = json_pack("{s:s, s:s, s:s, s:s, s:s, s:b}", "id", "u1", "name", "Alice", "role",
                              "admin", "team", "t1", "email", "a@x.io", "verified", 1);
    else if (strcmp(id, "u2") == 0)
        auth_json = json_pack("{s:s, s:s, s:s, s:s}", "id", "u2", "name", "Bob", "role", "user",
                              "team", "t2");
    else
        auth_json =
            json_pack("{s:s, s:s, s:s, s:s}", "id", "u3", "name", "Carol", "role", "", "team", "");
    r = (struct core_filter_request){
        .auth_collection = coll("users"), .auth = auth_json, .method = "GET", .context = "default"};
    return &r;
}

/* ---- spec §3.8.1 worked examples ---------------------------------------- */

static void test_grouped_boolean_logic(void **state)
{
    assert_posts("status = 'active' && (views > 10 || featured = true)", "p1,p2,p4");
    assert_posts("status = 'active' && views > 10 || featured = true", "p1,p2,p4");
    assert_posts("featured = true || status = 'draft' && views > 5", "p2,p5");
}

static void test_contains_is_case_insensitive_like(void **state)
{
    assert_posts("title ~ 'abc'", "p1,p2");
    assert_posts("title ~ 'ABC'", "p1,p2");
    assert_posts("title !~ 'abc'", "p3,p4,p5");
}

static void test_explicit_wildcard_is_starts_with(void **state)
{
    assert_posts("title ~ 'abc%'", "p2");
    assert_posts("title ~ '100%'", "p4");
}

static void test_like_escapes_underscore_and_backslash_without_percent(void **state)
{
    assert_posts("title ~ 'e_f'", "p4");
    assert_posts("title ~ 'o_w'", "");      /* "Hello abc world" has no literal o_w */
    assert_posts("title ~ 'a\\\\b'", "p4"); /* pb.filter() of a\b */
    assert_posts("title ~ 'pure\\_fun'", "p4");
}

static void test_date_range_with_macro(void **state)
{
    assert_posts("created >= '2025-01-01' && created < @todayStart", "p1,p3");
    assert_posts("created > @now", "p4");
    assert_posts("created >= @yearStart && created <= @yearEnd", "p1,p3,p4");
    assert_posts("created < @monthStart && created >= '2025'", "p1,p3");
}

static void test_owner_check(void **state)
{
    assert_posts_as(auth_as("u1"), "author = @request.auth.id", "p1,p5");
    assert_posts_as(auth_as("u2"), "author = @request.auth.id", "p2");
    assert_posts_as(&guest, "author = @request.auth.id", "p3");
}

static void test_any_member_of_authors_team(void **state)
{
    assert_posts_as(auth_as("u3"), "author.team.members.id ?= @request.auth.id", "p2");
    assert_posts_as(auth_as("u2"), "author.team.members.id ?= @request.auth.id", "p1,p5");
    /* Without .id the JSON text is compared and never matches. */
    assert_posts_as(auth_as("u3"), "author.team.members ?= @request.auth.id", "");
}

static void test_length_and_each(void **state)
{
    assert_posts("tags:length > 2 && tags:each ?= 'go'", "p2");
    assert_posts("tags:length = 0", "p3");
    assert_posts("tags:length = 1", "p4,p5");
    assert_posts("author:length = 0", "p3");
}

static void test_back_relation_any(void **state)
{
    assert_posts("comments_via_post.approved ?= true", "p1,p4");
    assert_posts("comments_via_post.approved = false", "p2");
    assert_posts("comments_via_post.message ?~ 'e'", "p1,p4");
}

static void test_collection_join_is_shared_by_its_references(void **state)
{
    const char *f = "@collection.memberships.user ?= @request.auth.id && "
                    "@collection.memberships.org ?= org";
    assert_posts_as(auth_as("u1"), f, "p1,p3");
    assert_posts_as(auth_as("u2"), f, "p2");
    assert_posts_as(auth_as("u3"), f, "");
    assert_posts_as(&guest,
                    "@collection.memberships.user ?= 'u1' && @collection.memberships.org ?= "
                    "'globex'",
                    "");
    /* An alias gives an independent second join. */
    assert_posts_as(&guest,
                    "@collection.memberships.user ?= 'u1' && @collection.memberships:m2.org ?= "
                    "'globex'",
                    "p1,p2,p3,p4,p5");
}

static void test_isset_on_request_body(void **state)
{
    struct core_filter_request r = *auth_as("u2");
    json_t *body = json_pack("{}");
    r.body = body;
    const char *f = "@request.body.role:isset = false || @request.auth.role = 'admin'";
    assert_posts_as(&r, f, "p1,p2,p3,p4,p5");
    json_object_set_new(body, "role", json_string("x"));
    assert_posts_as(&r, f, "");
    r.auth = auth_as("u1")->auth;
    assert_posts_as(&r, f, "p1,p2,p3,p4,p5");
    json_decref(body);
}

static void test_changed_on_request_body(void **state)
{
    struct core_filter_request r = guest;
    json_t *body = json_pack("{s:s}", "title", "abc start");
    r.body = body;
    assert_posts_as(&r, "@request.body.title:changed = false", "p2");
    assert_posts_as(&r, "@request.body.title:changed = true", "p1,p3,p4,p5");
    assert_posts_as(&r, "@request.body.views:changed = false", "p1,p2,p3,p4,p5");
    json_object_set_new(body, "tags", json_pack("[s,s]", "go", "c"));
    assert_posts_as(&r, "@request.body.tags:changed = false", "p1");
    json_decref(body);
}

static void test_json_path(void **state)
{
    assert_posts("meta.settings.theme = 'dark'", "p1");
    assert_posts("meta.settings.theme != 'dark'", "p2,p3,p4,p5");
    assert_posts("meta.list.1.x = 2", "p4");
    assert_posts("meta.n > 4", "p1");
    assert_posts("meta = null", "p2,p5");
    assert_posts("meta.settings.theme = null", "p2,p4,p5");
}

static void test_geo_distance(void **state)
{
    assert_posts("geoDistance(loc.lon, loc.lat, 23.32, 42.69) < 5", "p1");
    assert_posts("geoDistance(loc.lon, loc.lat, -0.1276, 51.5072) < 10", "p3");
}

static void test_empty_date_null_and_empty_text_are_identical(void **state)
{
    assert_posts("deleted = null", "p1,p3,p4,p5");
    assert_posts("deleted = ''", "p1,p3,p4,p5");
    assert_posts("deleted != null", "p2");
    assert_posts("deleted != \"\"", "p2");
    assert_posts("null = deleted", "p1,p3,p4,p5");
}

/* ---- spec §3.6 / §3.7 -------------------------------------------------- */

static void test_bare_multi_field_is_its_json_text(void **state)
{
    assert_posts("tags ?= 'go'", "");
    assert_posts("tags = 'go'", "");
    assert_posts("tags ~ 'go'", "p1,p2,p4");
    assert_posts("tags = '[\"c\"]'", "p5");
}

static void test_empty_multi_field_is_not_empty_text(void **state)
{
    assert_posts("tags = \"\"", "");
    assert_posts("tags != \"\"", "p1,p2,p3,p4,p5");
    assert_posts("tags = null", "");
}

static void test_each_membership(void **state)
{
    assert_posts("tags:each ?= 'go'", "p1,p2");
    assert_posts("tags:each = 'c'", "p5");
    assert_posts("tags:each != 'go'", "p3,p4,p5");
    /* As in PB, an empty set joins as one NULL value: NULL IS NOT 'go'. */
    assert_posts("tags:each ?!= 'go'", "p1,p2,p3,p4,p5");
    assert_posts("tags:each ?~ 'go'", "p1,p2,p4");
    assert_posts("tags:each ~ 'go'", "p4");
}

static void test_multiple_relation_traversal_all_and_any(void **state)
{
    assert_posts("editors.name ?= 'Bob'", "p1,p4");
    assert_posts("editors.name = 'Bob'", "");
    assert_posts("editors.name != 'Bob'", "p2,p3,p5");
    assert_posts("editors.name = 'Alice'", "p3");
    assert_posts("editors.id ?= 'u1'", "p3,p4");
    assert_posts("editors:each ?= 'u1'", "p3,p4");
    assert_posts("editors:length = 2", "p1,p4");
}

static void test_shared_relation_join_matches_one_row(void **state)
{
    /* The same editor must be Bob and Alice: nobody is. */
    assert_posts("editors.name ?= 'Bob' && editors.name ?= 'Alice'", "");
    assert_posts("editors.name ?= 'Bob' && editors.role ?= 'user'", "p1,p4");
}

static void test_single_relation_traversal(void **state)
{
    assert_posts("author.name = 'Alice'", "p1,p5");
    assert_posts("author.name != 'Alice'", "p2,p3,p4");
    assert_posts("author.name = ''", "p3");
    assert_posts("author.id = 'u2'", "p2");
    assert_posts("author.team.name = 'Red'", "p1,p5");
    assert_posts("author.role:lower = 'ADMIN' || author.role = 'user'", "p2");
}

static void test_request_auth_for_guest_is_null(void **state)
{
    assert_posts_as(&guest, "@request.auth.id = \"\"", "p1,p2,p3,p4,p5");
    assert_posts_as(&guest, "@request.auth.id != \"\"", "");
    assert_posts_as(&guest, "@request.auth.collectionName = null", "p1,p2,p3,p4,p5");
    assert_posts_as(auth_as("u1"), "@request.auth.id = \"\"", "");
    assert_posts_as(auth_as("u1"), "@request.auth.collectionName = 'users'", "p1,p2,p3,p4,p5");
    assert_posts_as(auth_as("u1"), "@request.auth.team.name = 'Red'", "p1,p2,p3,p4,p5");
    assert_posts_as(auth_as("u2"), "@request.auth.team.name = 'Red'", "");
    assert_posts_as(&guest, "@request.auth.team.name = 'Red'", "");
    assert_posts_as(auth_as("u1"), "@request.auth.nothing = null", "p1,p2,p3,p4,p5");
}

static void test_request_query_headers_method_context(void **state)
{
    struct core_filter_request r = guest;
    json_t *q = json_pack("{s:s}", "q", "ABC");
    json_t *h = json_pack("{s:s}", "x_token", "secret");
    r.query = q;
    r.headers = h;
    assert_posts_as(&r, "title ~ @request.query.q", "p1,p2");
    assert_posts_as(&r, "@request.headers.x_token = 'secret' && views > 10", "p1,p4");
    assert_posts_as(&r, "@request.query.missing:isset = true", "");
    assert_posts_as(&r, "@request.method = 'GET' && @request.context = 'default' && views < 6",
                    "p2,p3");
    json_decref(q);
    json_decref(h);
}

static void test_literals_true_false_null_and_numbers(void **state)
{
    assert_posts("featured = true", "p2");
    assert_posts("featured = FALSE && views > 10", "p1,p4");
    assert_posts("title = null", "p3");
    assert_posts("views = 12", "p1");
    assert_posts("views = 12.0", "p1");
    assert_posts("views >= -1.5 && views < 5.5", "p2,p3");
    assert_posts("1 = 1 && views = 0", "p3");
    assert_posts("title:lower = 'abc start'", "p2");
}

static void test_js_sdk_escaped_literals_match(void **state)
{
    /* pb.filter("title = {:t}", {t: ...}) sends JSON.stringify output. */
    assert_posts("title = \"it's \\\"quoted\\\"\\nline\"", "p5");
    assert_posts("title = \"100% pure_fun a\\\\b\"", "p4");
    assert_posts("title = 'it\\'s \"quoted\"\\u000aline'", "p5");
}

static void test_injection_attempts_stay_data(void **state)
{
    assert_true(strncmp(query("posts", "title = '' OR 1=1 --'", &guest, false), "ERR", 3) == 0);
    assert_posts("title = \"' OR 1=1 --\"", "");
    assert_posts("title = \"\\\" OR 1=1 --\"", "");
    assert_posts("title != \"'); DROP TABLE posts; --\"", "p1,p2,p3,p4,p5");
    assert_true(strncmp(query("posts", "ti\"tle = 1", &guest, false), "ERR", 3) == 0);
    assert_true(strncmp(query("posts", "title` = 1", &guest, false), "ERR", 3) == 0);
    /* The SQL text holds no byte of the values. */
    struct arena a;
    arena_init(&a, 4096);
    struct core_filter_options o = opts("posts", &guest, false);
    struct core_sql_fragment f;
    char err[128];
    assert_int_equal(core_filter_compile(&o, STR_LIT("title = 'x\" OR 1=1' || title ~ 'DROP'"), &a,
                                         &f, err, sizeof(err)),
                     RC_OK);
    assert_null(strstr(f.sql.ptr, "OR 1=1"));
    assert_null(strstr(f.sql.ptr, "DROP"));
    arena_cleanup(&a);
    assert_posts("title = 'posts'", "");
}

static void test_hidden_fields_need_superuser_or_rule(void **state)
{
    assert_string_equal(query("users", "secret = 's1'", &guest, true), "u1");
    assert_string_equal(query("users", "secret = 's1'", &guest, false),
                        "ERR: non-filterable field \"secret\" at offset 0");
    assert_true(strncmp(query("users", "password != ''", &guest, false), "ERR", 3) == 0);
    assert_true(strncmp(query("users", "tokenKey != ''", &guest, false), "ERR", 3) == 0);
    assert_true(strncmp(query("posts", "author.secret = 's1'", &guest, false), "ERR", 3) == 0);
    assert_posts_as(&guest, "author.secret = 's1'", "p1,p5");
}

static void test_client_email_filter_needs_visibility(void **state)
{
    assert_string_equal(query("users", "email = 'b@x.io'", &guest, false), "");
    assert_string_equal(query("users", "email = 'b@x.io'", &guest, true), "u2");
    assert_string_equal(query("users", "email ~ 'x.io'", &guest, false), "u1,u3");
}

static void test_relation_into_unlistable_collection_needs_superuser(void **state)
{
    assert_true(strncmp(query("posts", "secrets_via_post.note ?= 'x'", &guest, false), "ERR", 3) ==
                0);
    assert_posts_as(&guest, "secrets_via_post.note ?= 'x'", "p1");
}

static const char *sorted(const char *collection, const char *sort, bool allow_hidden);

/* PB >= v0.32: a non-superuser's hop sees only what the target's listRule
 * lets them list; a rule (or a superuser) sees everything. */
static void test_client_hops_see_only_listable_records(void **state)
{
    struct core_collection *users =
        (struct core_collection *)core_schema_find(schema, STR_LIT("users"));
    char *saved = users->rules[CORE_RULE_LIST];
    users->rules[CORE_RULE_LIST] = "id = @request.auth.id || role = 'admin'";
    /* Alice (u1) is an admin, so anyone lists her; Bob (u2) lists himself. */
    assert_string_equal(query("posts", "author.name = 'Alice'", &guest, false), "p1,p5");
    assert_string_equal(query("posts", "author.name = 'Bob'", &guest, false), "");
    assert_string_equal(query("posts", "author.name ~ 'B%'", &guest, false), "");
    assert_string_equal(query("posts", "author.name = 'Bob'", auth_as("u2"), false), "p2");
    assert_string_equal(query("posts", "author.name = 'Bob'", auth_as("u3"), false), "");
    /* A hidden record looks like a missing one. */
    assert_string_equal(query("posts", "author.name = ''", &guest, false), "p2,p3,p4");
    /* Multi-valued: hidden editors are neither a match nor a non-match. */
    assert_string_equal(query("posts", "editors.name ?= 'Bob'", &guest, false), "");
    assert_string_equal(query("posts", "editors.name = 'Alice'", &guest, false), "p3,p4");
    assert_string_equal(query("posts", "editors.name ?= 'Bob'", auth_as("u2"), false), "p1,p4");
    /* Back-relations, and the request's own relations. */
    assert_string_equal(query("teams", "users_via_team.name ?= 'Bob'", &guest, false), "");
    assert_string_equal(query("teams", "users_via_team.name ?= 'Alice'", &guest, false), "t1");
    assert_string_equal(query("posts", "author.team.name = 'Red'", &guest, false), "p1,p5");
    /* The rule's own paths and parameters combine with the filter's. */
    users->rules[CORE_RULE_LIST] = "team.name = 'Blue' && @request.auth.id != ''";
    assert_string_equal(query("posts", "author.name ?~ '%' && title != 'zz'", auth_as("u1"), false),
                        "p2");
    assert_string_equal(query("posts", "author.name ?~ '%'", &guest, false), "");
    /* A rule that no longer compiles hides everything (fail closed). */
    users->rules[CORE_RULE_LIST] = "nosuchfield = 1";
    assert_string_equal(query("posts", "author.name != ''", &guest, false), "");
    /* Superusers and rules keep full access. */
    assert_string_equal(query("posts", "author.name = 'Bob'", &guest, true), "p2");
    users->rules[CORE_RULE_LIST] = "id = @request.auth.id";
    /* Sorting through a hidden relation orders as if it were empty. */
    assert_string_equal(sorted("posts", "author.name,id", false), "p1,p2,p3,p4,p5");
    assert_string_equal(sorted("posts", "-author.name,id", false), "p1,p2,p3,p4,p5");
    assert_string_equal(sorted("posts", "author.name,id", true), "p3,p1,p5,p2,p4");
    users->rules[CORE_RULE_LIST] = saved;
}

static void test_back_relation_with_unique_index_is_single_valued(void **state)
{
    assert_string_equal(query("users", "profiles_via_user.bio = 'hi'", &guest, false), "u1");
    assert_string_equal(query("users", "profiles_via_user.bio != 'hi'", &guest, false), "u2,u3");
}

/* ---- errors -------------------------------------------------------------- */

static void assert_error(const char *collection, const char *filter, const char *want)
{
    const char *got = query(collection, filter, &guest, true);
    if (strncmp(got, "ERR: ", 5) != 0 || !strstr(got, want))
        fail_msg("filter %s: got \"%s\", want an error containing \"%s\"", filter, got, want);
}

static void test_unknown_names_are_errors(void **state)
{
    assert_error("posts", "titel = 'x'", "unknown field \"titel\" at offset 0");
    assert_error("posts", "views > 1 && author.nme = 'x'", "unknown field \"nme\" at offset 13");
    assert_error("posts", "nope_via_post.x = 1", "invalid back-relation \"nope_via_post\"");
    assert_error("posts", "users_via_team.name = 1", "invalid back-relation");
    assert_error("posts", "title.x = 1", "has no sub-fields");
    assert_error("posts", "loc.x = 1", "geoPoint");
    assert_error("posts", "@collection.nope.x = 1", "unknown collection");
    assert_error("posts", "@collection.memberships = 1", "@collection needs");
    assert_error("posts", "@request.data.title = 1", "unknown identifier");
    assert_error("posts", "@request.auth = 1", "incomplete");
    assert_error("posts", "@request.foo.x = 1", "unknown identifier");
    assert_error("posts", "@nowish = 1", "unknown identifier");
    assert_error("posts", "#title = 1", "unknown identifier");
    assert_error("posts", "title:upper = 'x'", "unknown modifier \":upper\"");
    assert_error("posts", "author:each.name = 'x'", "modifier on a middle segment");
    assert_error("posts", "@request.body.title:each = 'x'", ":each/:length need");
    assert_error("posts", "@request.query.q:changed = 'x'", ":changed applies");
    assert_error("posts", "nofunc(title) = 1", "unknown function \"nofunc\"");
    assert_error("posts", "geoDistance(1, 2, 3) = 1", "wrong number of arguments");
    assert_error("posts", "geoDistance(editors.name, 1, 2, 3) = 1", "multi-valued argument");
    assert_error("posts", "title = {:t}", "unreplaced placeholder at offset 8");
    assert_error("posts", "(title = 'x'", "expected ')'");
    assert_error("posts", "   // nothing\n", "empty filter expression");
}

static void test_relation_hops_are_limited_to_six(void **state)
{
    assert_posts("author.team.members.team.members.team.name ?= 'Red'", "p1,p5");
    assert_error("posts", "author.team.members.team.members.team.members.name = 'x'",
                 "more than 6 relation hops");
}

static void test_empty_filter_is_no_constraint(void **state)
{
    assert_posts("", "p1,p2,p3,p4,p5");
}

static void test_placeholders_start_after_param_base_and_are_all_used(void **state)
{
    struct arena a;
    arena_init(&a, 4096);
    struct core_filter_options o = opts("posts", &guest, false);
    o.param_base = 5;
    struct core_sql_fragment f;
    char err[128];
    /* '' makes PB drop the parameter from the SQL: it must not be listed. */
    assert_int_equal(core_filter_compile(&o, STR_LIT("title = '' || views > 3 || title ~ 'a'"), &a,
                                         &f, err, sizeof(err)),
                     RC_OK);
    assert_int_equal(f.param_count, 2);
    assert_non_null(strstr(f.sql.ptr, "?6"));
    assert_non_null(strstr(f.sql.ptr, "?7"));
    assert_null(strstr(f.sql.ptr, "?1 "));
    assert_null(strstr(f.sql.ptr, "?8"));
    assert_int_equal(f.params[0].type, CORE_SQL_INT);
    assert_int_equal(f.params[0].i, 3);
    assert_int_equal(f.params[1].type, CORE_SQL_TEXT);
    assert_string_equal(f.params[1].text.ptr, "%a%");
    char *sql = NULL;
    assert_true(asprintf(&sql, "SELECT id FROM posts r WHERE ?1 IS NULL AND %.*s", (int)f.sql.len,
                         f.sql.ptr) > 0);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_bind_parameter_count(st), 7);
    bind_all(st, f.params, f.param_count, 5);
    int rows = 0;
    while (sqlite3_step(st) == SQLITE_ROW)
        rows++;
    assert_int_equal(rows, 5);
    sqlite3_finalize(st);
    xfree(sql);
    arena_cleanup(&a);
}

/* ---- sort ---------------------------------------------------------------- */

static const char *sorted(const char *collection, const char *sort, bool allow_hidden)
{
    static char out[512];
    struct arena a;
    arena_init(&a, 4096);
    struct core_filter_options o = opts(collection, &guest, allow_hidden);
    struct str order;
    struct core_sql_fragment p;
    char err[256];
    if (core_sort_compile(&o, str_from_cstr(sort), &a, &order, &p, err, sizeof(err))) {
        snprintf(out, sizeof(out), "ERR: %s", err);
        arena_cleanup(&a);
        return out;
    }
    char *sql = NULL;
    assert_true(asprintf(&sql, "SELECT id FROM \"%s\" r ORDER BY %.*s", collection, (int)order.len,
                         order.ptr) > 0);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        fail_msg("prepare failed: %s\nsql: %s", sqlite3_errmsg(db), sql);
    bind_all(st, p.params, p.param_count, 0);
    size_t n = 0;
    out[0] = '\0';
    while (sqlite3_step(st) == SQLITE_ROW)
        n += (size_t)snprintf(out + n, sizeof(out) - n, "%s%s", n ? "," : "",
                              (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    xfree(sql);
    arena_cleanup(&a);
    return out;
}

static void test_sort_fields_and_directions(void **state)
{
    assert_string_equal(sorted("posts", "-views", false), "p4,p1,p5,p2,p3");
    assert_string_equal(sorted("posts", "status, -views", false), "p4,p1,p2,p5,p3");
    assert_string_equal(sorted("posts", " +status ,\tviews ", false), "p2,p1,p4,p3,p5");
    assert_string_equal(sorted("posts", "@rowid", false), "p1,p2,p3,p4,p5");
    assert_string_equal(sorted("posts", "-@rowid", false), "p5,p4,p3,p2,p1");
    assert_string_equal(sorted("posts", "meta.n,id", false), "p2,p3,p4,p5,p1");
}

static void test_sort_through_relations(void **state)
{
    assert_string_equal(sorted("posts", "author.name,id", false), "p3,p1,p5,p2,p4");
    assert_string_equal(sorted("posts", "-author.name,id", false), "p4,p2,p1,p5,p3");
    /* Multi-valued: the first value in the requested order. */
    assert_string_equal(sorted("posts", "editors.name,id", false), "p2,p5,p3,p4,p1");
    assert_string_equal(sorted("posts", "-editors.name,id", false), "p1,p4,p3,p2,p5");
}

static void test_sort_random_compiles(void **state)
{
    struct arena a;
    arena_init(&a, 1024);
    struct core_filter_options o = opts("posts", &guest, false);
    struct str order;
    struct core_sql_fragment p;
    char err[128];
    assert_int_equal(core_sort_compile(&o, STR_LIT("-@random"), &a, &order, &p, err, sizeof(err)),
                     RC_OK);
    assert_string_equal(order.ptr, "RANDOM()");
    arena_cleanup(&a);
}

static void test_sort_rejects_bad_terms(void **state)
{
    const char *bad[] = {"title,",
                         ",title",
                         "title,,views",
                         "-",
                         "'title'",
                         "12",
                         "@request.auth.id",
                         "@now",
                         "titel",
                         "secret",
                         "title views",
                         "a,b,c,d,e,f,g,h,i",
                         "@collection.memberships.org"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *got = sorted("posts", bad[i], false);
        if (strncmp(got, "ERR", 3) != 0)
            fail_msg("sort \"%s\" accepted: %s", bad[i], got);
    }
    char long_term[300];
    memset(long_term, 'a', sizeof(long_term) - 1);
    long_term[sizeof(long_term) - 1] = '\0';
    assert_true(strncmp(sorted("posts", long_term, false), "ERR", 3) == 0);
    assert_true(strncmp(sorted("users", "secret", false), "ERR", 3) == 0);
    assert_string_equal(sorted("users", "secret", true), "u1,u2,u3");
    /* tarmac's nearest-first sort (beyond PocketBase): a distance sorts */
    assert_true(strncmp(sorted("posts", "geoDistance(1,2,3,4)", false), "ERR", 3) != 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grouped_boolean_logic),
        cmocka_unit_test(test_contains_is_case_insensitive_like),
        cmocka_unit_test(test_explicit_wildcard_is_starts_with),
        cmocka_unit_test(test_like_escapes_underscore_and_backslash_without_percent),
        cmocka_unit_test(test_date_range_with_macro),
        cmocka_unit_test(test_owner_check),
        cmocka_unit_test(test_any_member_of_authors_team),
        cmocka_unit_test(test_length_and_each),
        cmocka_unit_test(test_back_relation_any),
        cmocka_unit_test(test_collection_join_is_shared_by_its_references),
        cmocka_unit_test(test_isset_on_request_body),
        cmocka_unit_test(test_changed_on_request_body),
        cmocka_unit_test(test_json_path),
        cmocka_unit_test(test_geo_distance),
        cmocka_unit_test(test_empty_date_null_and_empty_text_are_identical),
        cmocka_unit_test(test_bare_multi_field_is_its_json_text),
        cmocka_unit_test(test_empty_multi_field_is_not_empty_text),
        cmocka_unit_test(test_each_membership),
        cmocka_unit_test(test_multiple_relation_traversal_all_and_any),
        cmocka_unit_test(test_shared_relation_join_matches_one_row),
        cmocka_unit_test(test_single_relation_traversal),
        cmocka_unit_test(test_request_auth_for_guest_is_null),
        cmocka_unit_test(test_request_query_headers_method_context),
        cmocka_unit_test(test_literals_true_false_null_and_numbers),
        cmocka_unit_test(test_js_sdk_escaped_literals_match),
        cmocka_unit_test(test_injection_attempts_stay_data),
        cmocka_unit_test(test_hidden_fields_need_superuser_or_rule),
        cmocka_unit_test(test_client_email_filter_needs_visibility),
        cmocka_unit_test(test_relation_into_unlistable_collection_needs_superuser),
        cmocka_unit_test(test_client_hops_see_only_listable_records),
        cmocka_unit_test(test_back_relation_with_unique_index_is_single_valued),
        cmocka_unit_test(test_unknown_names_are_errors),
        cmocka_unit_test(test_relation_hops_are_limited_to_six),
        cmocka_unit_test(test_empty_filter_is_no_constraint),
        cmocka_unit_test(test_placeholders_start_after_param_base_and_are_all_used),
        cmocka_unit_test(test_sort_fields_and_directions),
        cmocka_unit_test(test_sort_through_relations),
        cmocka_unit_test(test_sort_random_compiles),
        cmocka_unit_test(test_sort_rejects_bad_terms),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
