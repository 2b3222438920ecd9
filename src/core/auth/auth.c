/* auth.c -- see auth.h. */
#include "core/auth/auth.h"

#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/chrono.h"
#include "core/record/exec_job.h"
#include "core/record/record_write.h"
#include "core/record/record.h"
#include "core/credential/token.h"
#include "core/credential/token_cache.h"
#include "core/auth/auth_int.h"
#include "store/sql.h"
#include "store/store.h"

#define SUPERUSERS_ID "pbc_3142635823"

/* The signing key of a record's tokens: tokenKey + the secret of the token's
 * kind (the collection's authToken.secret, verificationToken.secret, ...), and
 * for kinds other than "auth" the kind too, so a token of one kind can never
 * pass for another even where two secrets were set alike. */
static enum rc signing_key_of(const struct core_collection *c, json_t *record, const char *kind,
                              struct buf *key)
{
    const char *token_key = json_string_value(json_object_get(record, "tokenKey"));
    enum core_token_kind k = core_token_kind_of(kind);
    if (!token_key || !token_key[0] || k == CORE_TOKEN_KIND_COUNT || !c->tokens[k].secret)
        return RC_UNAUTHORIZED;
    enum rc rc = buf_append_cstr(key, token_key);
    if (!rc)
        rc = buf_append_cstr(key, c->tokens[k].secret);
    if (!rc && strcmp(kind, "auth") != 0) {
        rc = buf_append_cstr(key, ":");
        if (!rc)
            rc = buf_append_cstr(key, kind);
    }
    return rc;
}

static enum rc signing_key(const struct core_collection *c, json_t *record, struct buf *key)
{
    return signing_key_of(c, record, "auth", key);
}

/* The auth collection whose id is exactly id, or NULL. */
static const struct core_collection *auth_collection(const struct core_schema *s, struct str id)
{
    const struct core_collection *c = core_schema_find_exact(s, id);
    return c && c->type == CORE_COLLECTION_AUTH && str_eq(str_from_cstr(c->id), id) ? c : NULL;
}

/* True when record is the one with this id. */
static bool is_record(json_t *record, struct str id)
{
    return str_eq(id, str_from_cstr(json_string_value(json_object_get(record, "id"))));
}

/* The auth records a worker loaded lately, each kept with the version of
 * its table when it was read (store_table_version): while the table is
 * unwritten a token's record comes from memory, not a round trip (on
 * PostgreSQL, a third of an authenticated create's database time). Any
 * write to the table (a password change, a new tokenKey, a verified flag)
 * changes the version, so the next request reads the record again. A write
 * this process cannot count (another process on the same database: the
 * `superuser` command resetting a password, SQL typed by an operator) is
 * seen once the memo is AUTH_RECORD_MAX_AGE_NS old: a token revoked that way
 * stops working within a second. Where the engine keeps no table version
 * (SQLite, several instances) nothing is kept. */
#define AUTH_RECORD_SLOTS 256
#define AUTH_RECORD_MAX_AGE_NS 1000000000ull

struct auth_memo {
    json_t *record; /* NULL: empty */
    int64_t version;
    uint64_t schema_version;
    uint64_t read_ns; /* chrono_mono_coarse_ns when it was read */
    char collection_id[CORE_TOKEN_CACHE_MAX_ID + 1];
    char id[CORE_TOKEN_CACHE_MAX_ID + 1];
};

struct core_auth_records {
    struct auth_memo slots[AUTH_RECORD_SLOTS];
};

struct core_auth_records *core_auth_records_new(void)
{
    return xcalloc(1, sizeof(struct core_auth_records));
}

void core_auth_records_free(struct core_auth_records *ar)
{
    if (!ar)
        return;
    for (size_t i = 0; i < AUTH_RECORD_SLOTS; i++)
        json_decref(ar->slots[i].record);
    xfree(ar);
}

static struct auth_memo *memo_slot(struct core_auth_records *ar, const struct core_collection *c,
                                   struct str id)
{
    return &ar->slots[(str_hash(id) ^ str_hash(str_from_cstr(c->id))) % AUTH_RECORD_SLOTS];
}

/* The record id of auth collection c (a copy the caller owns), from the
 * worker's memo when its table is unchanged since. */
static enum rc load_record(struct core_worker *cw, const struct core_schema *s,
                           const struct core_collection *c, struct str id, json_t **out)
{
    *out = NULL;
    struct core_auth_records *ar = cw->auth_records;
    int64_t version =
        ar && id.len <= CORE_TOKEN_CACHE_MAX_ID && strlen(c->id) <= CORE_TOKEN_CACHE_MAX_ID
            ? store_table_version(cw->db, c->name)
            : -1;
    uint64_t now_ns = chrono_mono_coarse_ns();
    if (version >= 0) {
        const struct auth_memo *m = memo_slot(ar, c, id);
        if (m->record && m->version == version && m->schema_version == s->version &&
            now_ns - m->read_ns < AUTH_RECORD_MAX_AGE_NS && strcmp(m->collection_id, c->id) == 0 &&
            str_eq(id, str_from_cstr(m->id))) {
            *out = json_deep_copy(m->record);
            return *out ? RC_OK : RC_NOMEM;
        }
    }
    enum rc rc = core_record_load(cw->db, c, id, out);
    if (rc || version < 0)
        return rc;
    /* The slot is looked up again: the load may have waited (PostgreSQL)
     * while other requests of this worker filled it. */
    struct auth_memo *m = memo_slot(ar, c, id);
    json_t *copy = json_deep_copy(*out);
    if (!copy)
        return RC_OK; /* not kept: the next request reads it again */
    json_decref(m->record);
    m->record = copy;
    m->version = version;
    m->schema_version = s->version;
    m->read_ns = now_ns;
    snprintf(m->collection_id, sizeof(m->collection_id), "%s", c->id);
    snprintf(m->id, sizeof(m->id), "%.*s", (int)id.len, id.ptr);
    return RC_OK;
}

enum rc core_auth_load(struct core_worker *cw, const struct core_schema *s, struct str header,
                       int64_t now, struct core_auth *out)
{
    memset(out, 0, sizeof(*out));
    struct str token = str_trim_ows(header);
    if (token.len > 7 && str_eq_nocase((struct str){token.ptr, 7}, STR_LIT("Bearer ")))
        token = str_trim_ows((struct str){token.ptr + 7, token.len - 7});
    if (token.len == 0)
        return RC_OK;
    /* A token seen before (token_cache.h) names its record from memory, and
     * its signature stands when the record's signing key is still the one it
     * verified with; a changed key could not verify the same bytes either. */
    struct core_token_memo m;
    bool is_seen = core_token_cache_get(cw->tokens, token, now, &m);
    struct core_token_claims peek = {0};
    if (!is_seen && core_token_peek(token, &peek) != RC_OK)
        return RC_OK;
    const struct core_collection *c = NULL;
    if (is_seen)
        c = auth_collection(s, m.collection_id);
    else if (core_token_claims_is_type(&peek, "auth"))
        c = auth_collection(s, peek.collection_id);
    /* m is a copy: the load below may wait (PostgreSQL) while other
     * requests change the cache. */
    json_t *record = NULL;
    enum rc rc = c ? load_record(cw, s, c, is_seen ? m.id : peek.id, &record) : RC_OK;
    core_token_claims_cleanup(&peek);
    if (!record)
        return rc == RC_NOT_FOUND || rc == RC_INVALID ? RC_OK : rc;
    struct buf key;
    buf_init(&key, 1024);
    struct core_token_claims claims = {0};
    rc = signing_key(c, record, &key);
    bool ok = false, is_refreshable = false;
    if (rc == RC_OK && is_seen) {
        ok = core_token_cache_key_matches(&m, buf_str(&key)) && is_record(record, m.id);
        is_refreshable = m.is_refreshable;
    } else if (rc == RC_OK) {
        ok = core_token_verify(token, buf_str(&key), now, &claims) == RC_OK &&
             core_token_claims_is_type(&claims, "auth") &&
             str_eq(claims.collection_id, str_from_cstr(c->id)) && is_record(record, claims.id);
        if (ok)
            core_token_cache_put(cw->tokens, token, buf_str(&key), &claims);
        is_refreshable = claims.is_refreshable;
    }
    core_token_claims_cleanup(&claims);
    buf_cleanup(&key);
    if (!ok) {
        json_decref(record);
        return rc == RC_NOMEM ? rc : RC_OK;
    }
    out->collection = c;
    out->record = record;
    out->id = json_string_value(json_object_get(record, "id"));
    out->is_superuser = strcmp(c->id, SUPERUSERS_ID) == 0;
    out->is_refreshable = is_refreshable;
    return RC_OK;
}

void core_auth_cleanup(struct core_auth *a)
{
    json_decref(a->record);
    memset(a, 0, sizeof(*a));
}

enum rc core_auth_issue(const struct core_collection *c, json_t *record, int64_t now,
                        bool is_refreshable, struct buf *out)
{
    struct buf key;
    buf_init(&key, 1024);
    enum rc rc = signing_key(c, record, &key);
    if (!rc) {
        const char *id = json_string_value(json_object_get(record, "id"));
        struct core_token_claims claims = {
            .type = STR_LIT("auth"),
            .id = str_from_cstr(id ? id : ""),
            .collection_id = str_from_cstr(c->id),
            .exp = now + c->tokens[CORE_TOKEN_AUTH].duration_s,
            .is_refreshable = is_refreshable,
        };
        rc = core_token_sign(&claims, buf_str(&key), out);
    }
    buf_cleanup(&key);
    return rc;
}

enum rc core_auth_issue_kind(const struct core_collection *c, json_t *record, const char *kind,
                             int64_t exp, const char *email, const char *new_email, struct buf *out)
{
    struct buf key;
    buf_init(&key, 1024);
    enum rc rc = signing_key_of(c, record, kind, &key);
    if (!rc) {
        const char *id = json_string_value(json_object_get(record, "id"));
        struct core_token_claims claims = {
            .type = str_from_cstr(kind),
            .id = str_from_cstr(id ? id : ""),
            .collection_id = str_from_cstr(c->id),
            .exp = exp,
            .email = email ? str_from_cstr(email) : (struct str){NULL, 0},
            .new_email = new_email ? str_from_cstr(new_email) : (struct str){NULL, 0},
        };
        rc = core_token_sign(&claims, buf_str(&key), out);
    }
    buf_cleanup(&key);
    return rc;
}

enum rc core_auth_verify_kind(struct core_worker *cw, const struct core_schema *s, struct str token,
                              const char *kind, int64_t now, const struct core_collection **col,
                              json_t **record, struct core_token_claims *claims)
{
    *record = NULL;
    memset(claims, 0, sizeof(*claims));
    struct core_token_claims peek = {0};
    if (core_token_peek(token, &peek) != RC_OK)
        return RC_INVALID;
    const struct core_collection *c =
        core_token_claims_is_type(&peek, kind) ? auth_collection(s, peek.collection_id) : NULL;
    json_t *rec = NULL;
    if (c)
        (void)core_record_load(cw->db, c, peek.id, &rec);
    core_token_claims_cleanup(&peek);
    if (!rec)
        return RC_INVALID;
    struct buf key;
    buf_init(&key, 1024);
    bool ok = signing_key_of(c, rec, kind, &key) == RC_OK &&
              core_token_verify(token, buf_str(&key), now, claims) == RC_OK &&
              core_token_claims_is_type(claims, kind) &&
              str_eq(claims->collection_id, str_from_cstr(c->id)) && is_record(rec, claims->id);
    buf_cleanup(&key);
    if (!ok) {
        core_token_claims_cleanup(claims);
        json_decref(rec);
        return RC_INVALID;
    }
    *col = c;
    *record = rec;
    return RC_OK;
}

bool core_auth_rule_passes(struct core_request *r, const struct core_collection *col,
                           const char *id)
{
    const char *rule = col->auth_rule;
    if (!rule)
        return strcmp(col->id, "pbc_3142635823") == 0; /* superusers may always log in */
    return core_rule_passes(r, col, rule, id);
}

bool core_rule_passes(struct core_request *r, const struct core_collection *col, const char *rule,
                      const char *id)
{
    bool ok = false;
    return core_rule_eval(r, col, rule, id, &ok) == RC_OK && ok;
}

enum rc core_rule_eval(struct core_request *r, const struct core_collection *col, const char *rule,
                       const char *id, bool *ok)
{
    *ok = rule && !rule[0];
    if (!rule || !rule[0])
        return RC_OK;
    struct core_sql_fragment frag;
    enum rc rc = core_compile_filter(r, col, str_from_cstr(rule), true, 1, &frag, NULL);
    if (rc)
        return rc == RC_NOMEM ? rc : RC_INVALID;
    struct buf sql;
    buf_init(&sql, 1 << 20);
    struct store_sql q;
    store_sql_begin(&q, &sql);
    store_sql_add(&q, "SELECT 1 FROM ");
    store_sql_ident(&q, str_from_cstr(col->name));
    store_sql_add(&q, " ");
    store_sql_ident(&q, STR_LIT("r"));
    store_sql_add(&q, " WHERE ");
    store_sql_ident2(&q, STR_LIT("r"), STR_LIT("id"));
    store_sql_add(&q, " = ");
    unsigned p_id = store_sql_param(&q); /* the fragment numbers its own from 2 */
    store_sql_add(&q, " AND (");
    store_sql_addn(&q, frag.sql);
    store_sql_add(&q, ")");
    struct store_stmt *st = NULL;
    rc = store_sql_prepare(&q, r->cw->db, &st);
    buf_cleanup(&sql);
    if (rc)
        return rc;
    rc = store_bind_text(st, (int)p_id, str_from_cstr(id));
    if (!rc)
        rc = core_sql_fragment_bind(st, &frag, 1);
    if (!rc)
        rc = store_step(st);
    store_done(st);
    *ok = rc == RC_OK;
    return rc == RC_NOT_FOUND ? RC_OK : rc;
}

enum rc core_auth_find_identity(struct core_worker *cw, const struct core_collection *col,
                                const char *field, const char *identity, json_t **out)
{
    *out = NULL;
    if (!core_collection_field(col, str_from_cstr(field)))
        return RC_OK;
    struct buf sql;
    buf_init(&sql, 4096);
    struct store_sql q;
    store_sql_begin(&q, &sql);
    store_sql_add(&q, "SELECT ");
    store_sql_ident(&q, STR_LIT("id"));
    store_sql_add(&q, " FROM ");
    store_sql_ident(&q, str_from_cstr(col->name));
    store_sql_add(&q, " WHERE ");
    store_sql_ident(&q, str_from_cstr(field));
    store_sql_add(&q, " = ");
    unsigned p_identity = store_sql_param(&q);
    /* email's unique index is COLLATE NOCASE, so its lookup is too (spec §6.3). */
    store_sql_add(&q, strcmp(field, "email") == 0 ? " COLLATE NOCASE LIMIT 1" : " LIMIT 1");
    struct store_stmt *st = NULL;
    enum rc rc = store_sql_prepare(&q, cw->db, &st);
    buf_cleanup(&sql);
    if (rc)
        return rc;
    rc = store_bind_text(st, (int)p_identity, str_from_cstr(identity));
    if (rc) {
        store_done(st);
        return rc;
    }
    return core_auth_load_id_row(cw, col, st, out);
}

enum rc core_auth_load_id_row(struct core_worker *cw, const struct core_collection *col,
                              struct store_stmt *st, json_t **out)
{
    *out = NULL;
    char id[256] = "";
    enum rc rc = store_step(st);
    if (rc == RC_OK) {
        struct str v = store_column_text(st, 0);
        if (v.len < sizeof(id)) {
            memcpy(id, v.ptr, v.len);
            id[v.len] = '\0';
        }
    }
    store_done(st);
    if (rc != RC_OK && rc != RC_NOT_FOUND)
        return rc;
    if (!id[0])
        return RC_OK;
    rc = core_record_load(cw->db, col, str_from_cstr(id), out);
    if (rc == RC_NOT_FOUND)
        rc = RC_OK; /* deleted between the two reads */
    if (rc) {
        json_decref(*out);
        *out = NULL;
    }
    return rc;
}

void core_auth_load_file(struct core_worker *cw, const struct core_schema *s, struct str token,
                         int64_t now, struct core_auth *out)
{
    memset(out, 0, sizeof(*out));
    token = str_trim_ows(token);
    if (token.len == 0)
        return;
    const struct core_collection *c = NULL;
    json_t *record = NULL;
    struct core_token_claims claims;
    if (core_auth_verify_kind(cw, s, token, "file", now, &c, &record, &claims) != RC_OK)
        return;
    core_token_claims_cleanup(&claims);
    out->collection = c;
    out->record = record;
    out->id = json_string_value(json_object_get(record, "id"));
    out->is_superuser = strcmp(c->id, SUPERUSERS_ID) == 0;
}

enum rc core_auth_issue_file(const struct core_collection *c, json_t *record, int64_t now,
                             struct buf *out)
{
    return core_auth_issue_kind(c, record, "file", now + c->tokens[CORE_TOKEN_FILE].duration_s,
                                NULL, NULL, out);
}

enum rc core_auth_rehash_job(const struct core_collection *c, const char *id, const char *old_phc,
                             const char *new_phc, struct core_exec_job *job)
{
    struct buf sql;
    buf_init(&sql, 4096);
    struct store_sql q;
    store_sql_begin(&q, &sql);
    store_sql_add(&q, "UPDATE ");
    store_sql_ident(&q, str_from_cstr(c->name));
    store_sql_add(&q, " SET ");
    store_sql_ident(&q, STR_LIT("password"));
    store_sql_add(&q, " = ");
    unsigned p_new = store_sql_param(&q);
    store_sql_add(&q, " WHERE ");
    store_sql_ident(&q, STR_LIT("id"));
    store_sql_add(&q, " = ");
    unsigned p_id = store_sql_param(&q);
    store_sql_add(&q, " AND ");
    store_sql_ident(&q, STR_LIT("password"));
    store_sql_add(&q, " = ");
    unsigned p_old = store_sql_param(&q);
    enum rc rc = store_sql_end(&q);
    if (!rc) {
        /* exec_job binds params[i] to parameter i + 1 */
        job->owned_sql = xstrndup(sql.data, sql.len);
        job->sql = job->owned_sql;
        job->params[p_new - 1] = xstrdup(new_phc);
        job->params[p_id - 1] = xstrdup(id);
        job->params[p_old - 1] = xstrdup(old_phc);
        job->param_count = q.params;
    }
    buf_cleanup(&sql);
    return rc;
}
