/* fuzz_filter.c -- libFuzzer target for the filter compiler (filter_lex,
 * filter_parse, sqlgen). The input is compiled as a filter against a small
 * hand-built schema, twice (as a superuser/rule with an authenticated request
 * and a body, and as a guest's client filter), and as a sort expression.
 * Beyond "no crash": every successful compile must give SQL that SQLite
 * prepares against tables laid out as the schema says, with exactly the
 * parameters the fragment lists -- anything else is a compiler bug. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "base/alloc.h"
#include "core/filter/sqlgen.h"
#include "store/sqlite_func.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct core_schema schema;
static sqlite3 *db;
static struct core_filter_request auth_req, guest_req;

static struct core_field field(const char *name, enum core_field_type type, int max_select,
                               const char *target)
{
    struct core_field f = {0};
    f.id = xstrdup(name);
    f.name = xstrdup(name);
    f.type = type;
    f.max_select = max_select;
    f.collection_id = target ? xstrdup(target) : NULL;
    return f;
}

static void add(const char *id, const char *name, enum core_collection_type type,
                const char *list_rule, struct core_field *fields, size_t n, const char *index)
{
    struct core_collection *c = xcalloc(1, sizeof(*c));
    c->id = xstrdup(id);
    c->name = xstrdup(name);
    c->type = type;
    c->rules[CORE_RULE_LIST] = list_rule ? xstrdup(list_rule) : NULL;
    c->fields = xcalloc(n + 1, sizeof(*c->fields));
    c->fields[0] = field("id", CORE_FIELD_TEXT, 0, NULL);
    memcpy(c->fields + 1, fields, n * sizeof(*fields));
    c->field_count = n + 1;
    if (index) {
        c->indexes = xcalloc(1, sizeof(char *));
        c->indexes[0] = xstrdup(index);
        c->index_count = 1;
    }
    schema.items = xrealloc(schema.items, (schema.count + 1) * sizeof(*schema.items));
    schema.items[schema.count++] = c;
}

static void init(void)
{
    struct core_field users[] = {
        field("email", CORE_FIELD_EMAIL, 0, NULL),
        field("emailVisibility", CORE_FIELD_BOOL, 0, NULL),
        field("password", CORE_FIELD_PASSWORD, 0, NULL),
        field("name", CORE_FIELD_TEXT, 0, NULL),
        field("team", CORE_FIELD_RELATION, 1, "pbc_teams"),
        field("secret", CORE_FIELD_TEXT, 0, NULL),
    };
    users[5].is_hidden = true;
    add("_pb_users_auth_", "users", CORE_COLLECTION_AUTH, "id = @request.auth.id", users, 6, NULL);
    struct core_field teams[] = {field("name", CORE_FIELD_TEXT, 0, NULL),
                                 field("members", CORE_FIELD_RELATION, 9, "_pb_users_auth_")};
    add("pbc_teams", "teams", CORE_COLLECTION_BASE, "", teams, 2, NULL);
    struct core_field posts[] = {
        field("title", CORE_FIELD_TEXT, 0, NULL),
        field("views", CORE_FIELD_NUMBER, 0, NULL),
        field("tags", CORE_FIELD_SELECT, 5, NULL),
        field("author", CORE_FIELD_RELATION, 1, "_pb_users_auth_"),
        field("editors", CORE_FIELD_RELATION, 5, "_pb_users_auth_"),
        field("meta", CORE_FIELD_JSON, 0, NULL),
        field("loc", CORE_FIELD_GEOPOINT, 0, NULL),
        field("created", CORE_FIELD_AUTODATE, 0, NULL),
        field("true", CORE_FIELD_BOOL, 0, NULL),
        field("files", CORE_FIELD_FILE, 3, NULL),
    };
    add("pbc_posts", "posts", CORE_COLLECTION_BASE, "", posts, 10, NULL);
    struct core_field comments[] = {field("post", CORE_FIELD_RELATION, 1, "pbc_posts"),
                                    field("approved", CORE_FIELD_BOOL, 0, NULL),
                                    field("posts", CORE_FIELD_RELATION, 4, "pbc_posts")};
    add("pbc_comments", "comments", CORE_COLLECTION_BASE, "", comments, 3, NULL);
    struct core_field profiles[] = {field("user", CORE_FIELD_RELATION, 1, "_pb_users_auth_")};
    add("pbc_profiles", "profiles", CORE_COLLECTION_BASE, NULL, profiles, 1,
        "CREATE UNIQUE INDEX idx ON profiles (`user`)");

    if (sqlite3_open(":memory:", &db) != SQLITE_OK || store_sqlite_func_register(db) != SQLITE_OK)
        abort();
    const char *ddl =
        "CREATE TABLE users (id TEXT, email TEXT, emailVisibility BOOLEAN, password TEXT, name "
        "TEXT, team TEXT, secret TEXT);"
        "CREATE TABLE teams (id TEXT, name TEXT, members JSON);"
        "CREATE TABLE posts (id TEXT, title TEXT, views NUMERIC, tags JSON, author TEXT, editors "
        "JSON, meta JSON, loc JSON, created TEXT, \"true\" BOOLEAN, files JSON);"
        "CREATE TABLE comments (id TEXT, post TEXT, approved BOOLEAN, posts JSON);"
        "CREATE TABLE profiles (id TEXT, user TEXT);"
        /* posts.loc's point index (store/search.h): a distance filter
         * compiled for the table itself reads it */
        "CREATE VIRTUAL TABLE \"_s:pbc_posts:g0\" USING rtree(id, minLon, maxLon, minLat, "
        "maxLat);";
    if (sqlite3_exec(db, ddl, NULL, NULL, NULL) != SQLITE_OK)
        abort();
    auth_req.auth_collection = schema.items[0];
    auth_req.auth = json_pack("{s:s, s:s, s:s, s:{s:i}}", "id", "u1", "name", "A", "team", "t1",
                              "meta", "a", 1);
    auth_req.body = json_pack("{s:s, s:[s,s], s:n, s:{s:[i,i]}}", "title", "x", "tags", "a", "b",
                              "author", "meta", "a", 1, 2);
    auth_req.query = json_pack("{s:s}", "q", "v");
    auth_req.headers = json_pack("{s:s}", "x_token", "t");
    auth_req.method = "GET";
    auth_req.context = "default";
    guest_req.method = "GET";
}

/* Prepares sql against the schema's tables; aborts unless it prepares and
 * has exactly the parameters claimed. */
static void check_sql(const char *what, struct str sql, size_t base, size_t count)
{
    char *q = xmalloc(sql.len + 128);
    snprintf(q, sql.len + 128, what, (int)sql.len, sql.ptr);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, q, -1, &st, NULL) != SQLITE_OK) {
        fprintf(stderr, "generated SQL does not prepare: %s\n%s\n", sqlite3_errmsg(db), q);
        abort();
    }
    int n = sqlite3_bind_parameter_count(st);
    if (count ? (size_t)n != base + count : n > (int)base) {
        fprintf(stderr, "parameter count %d, fragment says %zu+%zu\n%s\n", n, base, count, q);
        abort();
    }
    sqlite3_finalize(st);
    xfree(q);
}

static void compile(struct str in, const struct core_filter_request *req, bool allow_hidden,
                    size_t base)
{
    struct core_filter_options o = {.schema = &schema,
                                    .collection = schema.items[2],
                                    .alias = "r",
                                    .request = req,
                                    .allow_hidden = allow_hidden,
                                    .param_base = base,
                                    .now_ms = 1749990645678LL,
                                    .is_table = allow_hidden};
    struct arena a;
    arena_init(&a, 4096);
    struct core_sql_fragment f;
    char err[256];
    enum rc rc = core_filter_compile(&o, in, &a, &f, err, sizeof(err));
    if (rc == RC_OK)
        check_sql("SELECT id FROM posts r WHERE %.*s", f.sql, base, f.param_count);
    else if (rc != RC_INVALID || !err[0])
        abort(); /* every refusal is RC_INVALID with a message */
    struct str order;
    rc = core_sort_compile(&o, in, &a, &order, &f, err, sizeof(err));
    if (rc == RC_OK)
        check_sql("SELECT id FROM posts r ORDER BY %.*s", order, base, f.param_count);
    else if (rc != RC_INVALID || !err[0])
        abort();
    arena_cleanup(&a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!db)
        init();
    struct str in = {(const char *)data, size};
    compile(in, &auth_req, true, 0);
    compile(in, &guest_req, false, 3);
    return 0;
}
