/* vector_index.c -- see vector_index.h. */
#include "core/record/vector_index.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/hnsw.h"
#include "base/log.h"
#include "core/record/vector_file.h"
#include "core/schema/field_type.h"
#include "store/sql.h"
#include "store/store.h"

/* How many candidates a search asks the graph for, at least. */
#define MIN_EF 64

enum state { BUILDING, READY, FAILED };

/* One index: a collection's vector field under one metric. */
struct entry {
    char cid[128];
    char fid[128]; /* the field's id: a rename keeps the index */
    size_t dims;
    enum vecmath_metric metric;
    pthread_rwlock_t lock; /* h, ids, slots */
    struct hnsw *h;
    char **ids; /* slot -> record id (owned; NULL: removed) */
    size_t ids_cap;
    json_t *slots;      /* record id -> slot */
    enum state state;   /* under the registry's mutex */
    bool is_rebuilding; /* a rebuild is queued */
    /* Under the registry's mutex: changes queued for this entry and those
     * applied (equal: every event posted so far is in the copy), and the
     * doubts (core_vectors_distrust) against the last one a finished build
     * cleared (equal: no doubt since that build began). */
    uint64_t posted, applied;
    uint64_t doubts, doubts_cleared;
    /* The index thread's: changes since the file was written; the field is
     * gone from the schema (its file deleted, never written again). */
    uint64_t unsaved;
    bool is_gone;
    struct entry *next;
};

enum task_kind { TASK_BUILD, TASK_CHANGE, TASK_CHECK, TASK_SWEEP };

struct task {
    enum task_kind kind;
    struct entry *e;
    char *table;  /* build: the collection's table now */
    char *column; /* build: the field's column now */
    char *id;     /* change: the record */
    float *vec;   /* change: its vector as read again (change()), NULL: none */
    char **ids;   /* check: the records a list saw differ; sweep: "<cid>.<fid>.<dims>" */
    size_t id_count;
    uint64_t doubt; /* check: the entry's doubts when it was queued */
    uint64_t sweep; /* sweep: its number */
    bool may_load;  /* build: from the entry's file when it has one */
    struct task *next;
};

struct core_vectors {
    pthread_mutex_t mu; /* entries, states, the queue */
    pthread_cond_t cv;
    pthread_cond_t applied_cv; /* a change was applied */
    struct entry *entries;
    struct task *head, *tail;
    bool is_stopping;
    bool has_remote; /* another instance's change was heard (--redis) */
    pthread_t thread;
    char *target;
    char *dir;       /* <data dir>/vectors; NULL: nothing saved */
    uint64_t sweeps; /* under mu: schema sweeps posted */
    size_t min_rows;
    struct store_conn *db; /* the thread's */
};

/* ---- Tasks --------------------------------------------------------------- */

static void task_free(struct task *t)
{
    xfree(t->table);
    xfree(t->column);
    xfree(t->id);
    xfree(t->vec);
    for (size_t i = 0; i < t->id_count; i++)
        xfree(t->ids[i]);
    xfree(t->ids);
    xfree(t);
}

/* Queues t; mu held. */
static void post(struct core_vectors *v, struct task *t)
{
    if (v->tail)
        v->tail->next = t;
    else
        v->head = t;
    v->tail = t;
    pthread_cond_signal(&v->cv);
}

static void set_slot(struct entry *e, uint32_t slot, const char *id)
{
    if (slot >= e->ids_cap) {
        size_t cap = e->ids_cap ? 2 * e->ids_cap : 1024;
        while (cap <= slot)
            cap *= 2;
        e->ids = xrealloc(e->ids, cap * sizeof(*e->ids));
        memset(e->ids + e->ids_cap, 0, (cap - e->ids_cap) * sizeof(*e->ids));
        e->ids_cap = cap;
    }
    e->ids[slot] = xstrdup(id);
    json_object_set_new(e->slots, id, json_integer(slot));
}

/* Removes slot's node from e's graph (a tombstone) and its id. */
static void clear_slot(struct entry *e, uint32_t slot)
{
    hnsw_remove(e->h, slot);
    json_object_del(e->slots, e->ids[slot]);
    xfree(e->ids[slot]);
    e->ids[slot] = NULL;
}

static void drop_graph(struct hnsw *h, char **ids, size_t cap, json_t *slots)
{
    hnsw_free(h);
    for (size_t i = 0; i < cap; i++)
        xfree(ids[i]);
    xfree(ids);
    json_decref(slots);
}

/* Rows the build reads per statement (keyset batches: PostgreSQL's client
 * holds a statement's whole result). */
#define BUILD_BATCH 2048

/* One row of the table with a vector of the entry's dimensions. */
typedef void row_fn(void *ctx, const char *id, const float *row);

/* Reads every (id, vector) row of t's table in id order, calling fn for
 * each one whose vector has dims floats (rows without are left out). */
static enum rc scan_table(struct core_vectors *v, const struct task *t, size_t dims, row_fn *fn,
                          void *ctx)
{
    enum rc rc = v->db ? RC_OK : store_open(v->target, STORE_OPEN_READ, &v->db);
    struct buf sql;
    buf_init(&sql, 4096);
    struct store_sql q;
    store_sql_begin(&q, &sql);
    store_sql_add(&q, "SELECT \"id\", ");
    store_sql_ident(&q, str_from_cstr(t->column));
    store_sql_add(&q, " FROM ");
    store_sql_ident(&q, str_from_cstr(t->table));
    store_sql_add(&q, " WHERE \"id\" > ");
    store_sql_param(&q);
    store_sql_add(&q, " ORDER BY \"id\" LIMIT ");
    store_sql_int(&q, BUILD_BATCH);
    struct store_stmt *st = NULL;
    if (!rc)
        rc = store_sql_prepare(&q, v->db, &st);
    buf_cleanup(&sql);
    struct buf bytes;
    buf_init(&bytes, 4 * dims);
    float *row = xmalloc(dims * sizeof(float));
    enum rc step = RC_OK;
    char *last = xstrdup("");
    for (bool more = true; more && !rc;) {
        size_t rows = 0;
        rc = store_bind_text_copy(st, 1, str_from_cstr(last));
        while (!rc && (step = store_step(st)) == RC_OK) {
            rows++;
            struct str id = store_column_text(st, 0);
            xfree(last);
            last = xstrndup(id.ptr, id.len);
            buf_reset(&bytes);
            if (store_column_blob(st, 1, &bytes) || bytes.len != 4 * dims)
                continue;
            vecmath_decode((const unsigned char *)bytes.data, dims, row);
            fn(ctx, last, row);
        }
        more = !rc && step == RC_NOT_FOUND && rows == BUILD_BATCH;
        if (more)
            store_reset(st);
    }
    xfree(last);
    if (st)
        store_discard(st);
    xfree(row);
    buf_cleanup(&bytes);
    if (!rc && step != RC_NOT_FOUND)
        rc = step;
    return rc;
}

static void add_row(void *ctx, const char *id, const float *row)
{
    struct entry *g = ctx;
    set_slot(g, hnsw_add(g->h, row), id);
}

/* ---- Files ------------------------------------------------------------------ */

/* A collection or field id that can name a file as it is (no separator,
 * no dot: the name's fields are split at dots). */
static bool is_file_safe(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++) {
        char c = *s;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-'))
            return false;
    }
    return true;
}

/* "<collection id>.<field id>.<dims>": what names a vector field's files
 * (its metrics' files share it), and what a schema keeps (sweep). */
#define FILE_KEY_MAX 300 /* an entry's ids are under 128 bytes each */
static void file_key(const char *cid, const char *fid, size_t dims, char out[FILE_KEY_MAX])
{
    snprintf(out, FILE_KEY_MAX, "%s.%s.%zu", cid, fid, dims);
}

/* The file of e: <dir>/vectors/<key>.<metric>.hnsw; false when there is
 * none (no directory, ids that cannot name a file). */
static bool file_path(const struct core_vectors *v, const struct entry *e, char *out, size_t cap)
{
    if (!v->dir || !is_file_safe(e->cid) || !is_file_safe(e->fid))
        return false;
    char key[FILE_KEY_MAX];
    file_key(e->cid, e->fid, e->dims, key);
    int n = snprintf(out, cap, "%s/%s.%s.hnsw", v->dir, key, vecmath_metric_name(e->metric));
    return n > 0 && (size_t)n < cap;
}

static double ms_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

/* Writes e's graph and ids to its file: a temporary file beside it,
 * synced, then renamed over it (a reader sees the old file or the new
 * one). The index thread (the only one that changes the graph). */
static void save(struct core_vectors *v, struct entry *e)
{
    char path[4096], tmp[4096 + 8];
    if (e->is_gone || !file_path(v, e, path, sizeof(path)))
        return;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    struct buf b;
    buf_init(&b, SIZE_MAX);
    enum rc rc = core_vector_file_encode(e->h, e->ids, &b);
    if (!rc && mkdir(v->dir, 0755) != 0 && errno != EEXIST)
        rc = RC_IO;
    FILE *f = rc ? NULL : fopen(tmp, "wb");
    if (!rc && !f)
        rc = RC_IO;
    if (f) {
        bool ok = fwrite(b.data, 1, b.len, f) == b.len && fflush(f) == 0 && fsync(fileno(f)) == 0;
        if (fclose(f) != 0 || !ok || rename(tmp, path) != 0) {
            rc = RC_IO;
            unlink(tmp);
        }
    }
    if (rc) {
        log_warn("msg=\"vector index not saved\" file=%s rc=%s error=\"%s\"", path, rc_name(rc),
                 strerror(errno));
    } else {
        e->unsaved = 0;
        log_info("msg=\"vector index saved\" file=%s bytes=%zu ms=%.0f", path, b.len,
                 ms_since(&t0));
    }
    buf_cleanup(&b);
}

/* e's graph and ids as its file holds them, into g (a fresh entry);
 * false when there is no file or it is not one of e (logged). */
static bool load(struct core_vectors *v, struct entry *e, const char *table, struct entry *g)
{
    char path[4096];
    if (!file_path(v, e, path, sizeof(path)))
        return false;
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    struct stat sb;
    unsigned char *bytes = NULL;
    bool ok = fstat(fileno(f), &sb) == 0 && sb.st_size > 0;
    size_t n = ok ? (size_t)sb.st_size : 0;
    if (ok) {
        bytes = xmalloc(n);
        ok = fread(bytes, 1, n, f) == n;
    }
    fclose(f);
    char **ids = NULL;
    struct hnsw *h = ok ? core_vector_file_decode(bytes, n, &ids) : NULL;
    xfree(bytes);
    const char *why = !ok ? "unreadable" : !h ? "does not decode" : NULL;
    size_t count = h ? hnsw_count(h) : 0;
    /* The file's graph must be of e's vectors, every live slot one id. */
    if (h && (hnsw_dims(h) != e->dims || hnsw_metric(h) != e->metric))
        why = "of other vectors";
    g->h = h;
    g->ids = ids;
    g->ids_cap = count;
    g->slots = json_object();
    for (size_t i = 0; !why && i < count; i++) {
        if (!ids[i])
            continue;
        if (json_object_get(g->slots, ids[i]))
            why = "holds an id twice";
        else
            json_object_set_new(g->slots, ids[i], json_integer((json_int_t)i));
    }
    if (why) {
        log_warn("msg=\"vector index file ignored: built from the table\" table=%s file=%s "
                 "why=\"%s\"",
                 table, path, why);
        drop_graph(g->h, g->ids, g->ids_cap, g->slots);
        *g = (struct entry){0};
        return false;
    }
    return true;
}

/* Makes a loaded graph (g) agree with the table: every row read as a
 * build reads them; a row whose id is in the graph with the very same
 * vector stays, a changed one is removed and added again, a new one is
 * added; a node whose row is gone (or has no vector now) is removed. */
struct reconcile {
    struct entry *g;
    uint8_t *seen; /* loaded slots whose row was read unchanged */
    size_t loaded;
    size_t kept, added, changed, removed;
};

static void reconcile_row(void *ctx, const char *id, const float *row)
{
    struct reconcile *r = ctx;
    struct entry *g = r->g;
    json_t *s = json_object_get(g->slots, id);
    if (s) {
        uint32_t slot = (uint32_t)json_integer_value(s);
        if (!memcmp(hnsw_vector(g->h, slot), row, hnsw_dims(g->h) * sizeof(float))) {
            if (slot < r->loaded)
                r->seen[slot] = 1;
            r->kept++;
            return;
        }
        clear_slot(g, slot);
        r->changed++;
    } else {
        r->added++;
    }
    set_slot(g, hnsw_add(g->h, row), id);
}

/* Whether a graph has more tombstones than live nodes: built again. */
static bool is_worn(const struct hnsw *h)
{
    size_t count = hnsw_count(h), live = hnsw_live(h);
    return count > 1000 && count - live > live;
}

/* Reads the table into a new graph (or the saved one, reconciled with
 * the table, when t may load it) and swaps it in. */
static void build(struct core_vectors *v, struct task *t)
{
    struct entry *e = t->e;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    /* The doubts raised before this read of the table begins: its snapshot
     * is later than any of them, so it holds what they missed. */
    pthread_mutex_lock(&v->mu);
    uint64_t doubts = e->doubts;
    pthread_mutex_unlock(&v->mu);
    /* Built apart, then swapped in: searches go on meanwhile. */
    struct entry fresh = {0};
    struct reconcile r = {0};
    bool is_loaded = t->may_load && load(v, e, t->table, &fresh);
    enum rc rc = RC_OK;
    if (is_loaded) {
        r.g = &fresh;
        r.loaded = hnsw_count(fresh.h);
        r.seen = xcalloc(r.loaded ? r.loaded : 1, 1);
        rc = scan_table(v, t, e->dims, reconcile_row, &r);
        for (size_t i = 0; !rc && i < r.loaded; i++) {
            if (fresh.ids[i] && !r.seen[i]) {
                clear_slot(&fresh, (uint32_t)i);
                r.removed++;
            }
        }
        xfree(r.seen);
        if (!rc && is_worn(fresh.h)) {
            log_info("msg=\"vector index file mostly removed nodes: built from the table\" "
                     "table=%s field=%s",
                     t->table, t->column);
            is_loaded = false;
        }
        if (rc || !is_loaded) {
            drop_graph(fresh.h, fresh.ids, fresh.ids_cap, fresh.slots);
            fresh = (struct entry){0};
            is_loaded = false;
        }
    }
    if (!rc && !is_loaded) {
        fresh.slots = json_object();
        fresh.h = hnsw_new(e->dims, e->metric, HNSW_DEFAULT_M, HNSW_DEFAULT_EF_CONSTRUCTION, 18);
        rc = scan_table(v, t, e->dims, add_row, &fresh);
    }
    if (rc) {
        log_warn("msg=\"vector index not built\" table=%s field=%s rc=%s", t->table, t->column,
                 rc_name(rc));
        drop_graph(fresh.h, fresh.ids, fresh.ids_cap, fresh.slots);
        store_close(v->db); /* a new connection for the next try */
        v->db = NULL;
        pthread_mutex_lock(&v->mu);
        e->state = FAILED;
        e->is_rebuilding = false;
        pthread_mutex_unlock(&v->mu);
        return;
    }
    pthread_rwlock_wrlock(&e->lock);
    struct hnsw *old = e->h;
    char **old_ids = e->ids;
    size_t old_cap = e->ids_cap;
    json_t *old_slots = e->slots;
    e->h = fresh.h;
    e->ids = fresh.ids;
    e->ids_cap = fresh.ids_cap;
    e->slots = fresh.slots;
    pthread_rwlock_unlock(&e->lock);
    drop_graph(old, old_ids, old_cap, old_slots);
    size_t live = hnsw_live(e->h); /* only this thread changes the graph */
    double ms = ms_since(&t0);
    pthread_mutex_lock(&v->mu);
    e->state = READY;
    e->is_rebuilding = false;
    e->doubts_cleared = doubts;
    pthread_mutex_unlock(&v->mu);
    /* After the state: a list that follows this line finds the index ready. */
    if (is_loaded) {
        log_info("msg=\"vector index loaded\" table=%s field=%s metric=%s vectors=%zu kept=%zu "
                 "added=%zu changed=%zu removed=%zu ms=%.0f",
                 t->table, t->column, vecmath_metric_name(e->metric), live, r.kept, r.added,
                 r.changed, r.removed, ms);
    }
    log_info("msg=\"vector index built\" table=%s field=%s metric=%s vectors=%zu from=%s ms=%.0f",
             t->table, t->column, vecmath_metric_name(e->metric), live,
             is_loaded ? "file" : "table", ms);
    /* A loaded graph the table did not change is its file already; a save
     * that fails is tried again at the stop. */
    if (!is_loaded || r.added || r.changed || r.removed) {
        e->unsaved++;
        save(v, e);
    }
}

/* Queues a build of e from table and column (a rebuild: e stays usable
 * meanwhile) unless one is queued; mu held. */
static void queue_rebuild(struct core_vectors *v, struct entry *e, const char *table,
                          const char *column)
{
    if (e->is_rebuilding || !table || !column)
        return;
    e->is_rebuilding = true;
    struct task *b = xcalloc(1, sizeof(*b));
    *b = (struct task){
        .kind = TASK_BUILD, .e = e, .table = xstrdup(table), .column = xstrdup(column)};
    post(v, b);
}

/* Reads record t->id's vector as the table holds it now into out (dims
 * floats); *has false when the record is gone or has none. */
static enum rc read_vector(struct core_vectors *v, const struct task *t, size_t dims, float *out,
                           bool *has)
{
    *has = false;
    enum rc rc = v->db ? RC_OK : store_open(v->target, STORE_OPEN_READ, &v->db);
    if (rc)
        return rc;
    struct buf sql;
    buf_init(&sql, 4096);
    struct store_sql q;
    store_sql_begin(&q, &sql);
    store_sql_add(&q, "SELECT ");
    store_sql_ident(&q, str_from_cstr(t->column));
    store_sql_add(&q, " FROM ");
    store_sql_ident(&q, str_from_cstr(t->table));
    store_sql_add(&q, " WHERE \"id\" = ");
    store_sql_param(&q);
    struct store_stmt *st = NULL;
    rc = store_sql_prepare(&q, v->db, &st);
    buf_cleanup(&sql);
    if (rc)
        return rc;
    rc = store_bind_text(st, 1, str_from_cstr(t->id));
    if (!rc)
        rc = store_step(st);
    struct buf bytes;
    buf_init(&bytes, 4 * dims);
    if (!rc && store_column_type(st, 0) != STORE_TYPE_NULL)
        rc = store_column_blob(st, 0, &bytes);
    store_done(st);
    if (!rc && bytes.len == 4 * dims) {
        vecmath_decode((const unsigned char *)bytes.data, dims, out);
        *has = true;
    }
    buf_cleanup(&bytes);
    return rc == RC_NOT_FOUND || rc == RC_TOO_LARGE ? RC_OK : rc;
}

/* One record's vector now (or none): the old node goes, a new one comes.
 * The vector is read again from the table rather than taken from the
 * event: two workers' events for one record may reach this thread in the
 * other order than their commits, and the later read holds the last
 * commit either way (the exact scan relies on it, see
 * core_vectors_exact). A read that fails leaves the copy in doubt: rebuilt. */
static void change(struct core_vectors *v, struct task *t)
{
    struct entry *e = t->e;
    pthread_mutex_lock(&v->mu);
    bool is_ready = e->state == READY;
    pthread_mutex_unlock(&v->mu);
    if (!is_ready)
        return; /* a failed build: the next one reads the table anyway */
    xfree(t->vec);
    t->vec = xmalloc(e->dims * sizeof(float));
    bool has = false;
    enum rc rc = read_vector(v, t, e->dims, t->vec, &has);
    if (rc) {
        log_warn("msg=\"vector index change not read\" table=%s id=%s rc=%s", t->table, t->id,
                 rc_name(rc));
        store_close(v->db);
        v->db = NULL;
        pthread_mutex_lock(&v->mu);
        e->doubts++;
        queue_rebuild(v, e, t->table, t->column);
        pthread_mutex_unlock(&v->mu);
        return;
    }
    if (!has) {
        xfree(t->vec);
        t->vec = NULL;
    }
    pthread_rwlock_wrlock(&e->lock);
    json_t *old = json_object_get(e->slots, t->id);
    bool had = old != NULL;
    if (old)
        clear_slot(e, (uint32_t)json_integer_value(old)); /* old is gone with it */
    if (t->vec)
        set_slot(e, hnsw_add(e->h, t->vec), t->id);
    bool is_worn_now = is_worn(e->h);
    pthread_rwlock_unlock(&e->lock);
    if (had || t->vec)
        e->unsaved++;
    if (is_worn_now) {
        pthread_mutex_lock(&v->mu);
        queue_rebuild(v, e, t->table, t->column);
        pthread_mutex_unlock(&v->mu);
    }
}

/* A list saw these records differ from the copy (core_vectors_distrust).
 * Every change queued before this check is applied now, so a record that
 * still differs from a fresh read of the table changed without an event:
 * the copy is rebuilt. If none does, the list had read an older snapshot
 * than the copy's (a concurrent write), and the doubt is lifted. */
static void check(struct core_vectors *v, struct task *t)
{
    struct entry *e = t->e;
    float *row = xmalloc(e->dims * sizeof(float));
    bool differs = false;
    for (size_t i = 0; i < t->id_count && !differs; i++) {
        bool has = false;
        struct task one = {.table = t->table, .column = t->column, .id = t->ids[i]};
        if (read_vector(v, &one, e->dims, row, &has)) {
            store_close(v->db);
            v->db = NULL;
            differs = true;
            break;
        }
        pthread_rwlock_rdlock(&e->lock);
        json_t *slot = json_object_get(e->slots, t->ids[i]);
        if (!slot != !has)
            differs = true;
        else if (slot)
            differs = memcmp(hnsw_vector(e->h, (uint32_t)json_integer_value(slot)), row,
                             e->dims * sizeof(float)) != 0;
        pthread_rwlock_unlock(&e->lock);
    }
    xfree(row);
    pthread_mutex_lock(&v->mu);
    if (differs) {
        log_warn("msg=\"vector index differs from its table: rebuilt\" table=%s field=%s", t->table,
                 t->column);
        queue_rebuild(v, e, t->table, t->column);
    } else if (e->doubts == t->doubt && !e->is_rebuilding) {
        e->doubts_cleared = t->doubt;
    }
    pthread_mutex_unlock(&v->mu);
}

/* The schema now holds only the vector fields t->ids names: the files
 * of any other are deleted (a collection or field deleted, dimensions
 * changed) and their entries never written again. Only the latest sweep
 * posted runs (an earlier one's schema is older). */
static void sweep(struct core_vectors *v, struct task *t)
{
    pthread_mutex_lock(&v->mu);
    bool is_latest = t->sweep == v->sweeps;
    struct entry *head = v->entries; /* the list only grows at its head */
    pthread_mutex_unlock(&v->mu);
    if (!is_latest)
        return;
    for (struct entry *e = head; e; e = e->next) {
        char key[FILE_KEY_MAX];
        file_key(e->cid, e->fid, e->dims, key);
        e->is_gone = true;
        for (size_t i = 0; i < t->id_count && e->is_gone; i++)
            e->is_gone = strcmp(t->ids[i], key) != 0;
    }
    DIR *d = v->dir ? opendir(v->dir) : NULL;
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        const char *name = de->d_name;
        size_t len = strlen(name);
        bool is_tmp = len > 9 && !strcmp(name + len - 9, ".hnsw.tmp");
        if (!is_tmp && !(len > 5 && !strcmp(name + len - 5, ".hnsw")))
            continue;
        /* <cid>.<fid>.<dims>.<metric>.hnsw: the key is up to the third dot */
        const char *dot = name;
        for (int k = 0; k < 3 && dot; k++)
            dot = strchr(dot + (k ? 1 : 0), '.');
        bool is_kept = false;
        for (size_t i = 0; !is_tmp && dot && i < t->id_count && !is_kept; i++) {
            size_t n = strlen(t->ids[i]);
            is_kept = n == (size_t)(dot - name) && !memcmp(t->ids[i], name, n);
        }
        char path[4096];
        if (!is_kept && snprintf(path, sizeof(path), "%s/%s", v->dir, name) < (int)sizeof(path)) {
            if (unlink(path) == 0 && !is_tmp)
                log_info("msg=\"vector index file deleted: its field is gone\" file=%s", path);
        }
    }
    closedir(d);
}

/* Changes after which an index is saved again when the thread is idle:
 * a tenth of its nodes, at least this many. */
#define SAVE_MIN_CHANGES 1000

/* Saves the ready entries from head on with unsaved changes: those past
 * the threshold, or all of them (at the stop). */
static void save_some(struct core_vectors *v, struct entry *head, bool is_all)
{
    for (struct entry *e = head; e; e = e->next) {
        pthread_mutex_lock(&v->mu);
        bool is_ready = e->state == READY;
        pthread_mutex_unlock(&v->mu);
        if (!is_ready || e->is_gone || !e->unsaved)
            continue;
        size_t count = hnsw_count(e->h);
        uint64_t due = count / 10 > SAVE_MIN_CHANGES ? count / 10 : SAVE_MIN_CHANGES;
        if (is_all || e->unsaved >= due)
            save(v, e);
    }
}

static void *run(void *arg)
{
    struct core_vectors *v = arg;
    pthread_mutex_lock(&v->mu);
    for (;;) {
        while (!v->head && !v->is_stopping)
            pthread_cond_wait(&v->cv, &v->mu);
        if (v->is_stopping)
            break;
        struct task *t = v->head;
        v->head = t->next;
        if (!v->head)
            v->tail = NULL;
        pthread_mutex_unlock(&v->mu);
        if (t->kind == TASK_BUILD)
            build(v, t);
        else if (t->kind == TASK_CHECK)
            check(v, t);
        else if (t->kind == TASK_SWEEP)
            sweep(v, t);
        else
            change(v, t);
        pthread_mutex_lock(&v->mu);
        if (t->kind == TASK_CHANGE) {
            t->e->applied++;
            pthread_cond_broadcast(&v->applied_cv);
        }
        bool is_idle = !v->head;
        struct entry *head = v->entries;
        pthread_mutex_unlock(&v->mu);
        task_free(t);
        if (is_idle)
            save_some(v, head, false);
        pthread_mutex_lock(&v->mu);
    }
    struct entry *head = v->entries;
    pthread_mutex_unlock(&v->mu);
    /* At the stop, what changed since the last save (changes still queued
     * are dropped: the next load reads them from the table). */
    save_some(v, head, true);
    return NULL;
}

/* ---- The registry ---------------------------------------------------------- */

struct core_vectors *core_vectors_new(const char *target, const char *dir, size_t min_rows)
{
    struct core_vectors *v = xcalloc(1, sizeof(*v));
    pthread_mutex_init(&v->mu, NULL);
    pthread_cond_init(&v->cv, NULL);
    pthread_cond_init(&v->applied_cv, NULL);
    v->target = xstrdup(target);
    if (dir) {
        size_t n = strlen(dir) + sizeof("/vectors");
        v->dir = xmalloc(n);
        snprintf(v->dir, n, "%s/vectors", dir);
    }
    v->min_rows = min_rows;
    if (pthread_create(&v->thread, NULL, run, v) != 0) {
        log_error("msg=\"cannot start the vector index thread\"");
        abort();
    }
    return v;
}

void core_vectors_set_min_rows(struct core_vectors *v, size_t min_rows)
{
    v->min_rows = min_rows;
}

void core_vectors_set_shared(struct core_vectors *v)
{
    pthread_mutex_lock(&v->mu);
    v->has_remote = true;
    pthread_mutex_unlock(&v->mu);
}

void core_vectors_free(struct core_vectors *v)
{
    if (!v)
        return;
    pthread_mutex_lock(&v->mu);
    v->is_stopping = true;
    pthread_cond_signal(&v->cv);
    pthread_mutex_unlock(&v->mu);
    pthread_join(v->thread, NULL);
    while (v->head) {
        struct task *t = v->head;
        v->head = t->next;
        task_free(t);
    }
    while (v->entries) {
        struct entry *e = v->entries;
        v->entries = e->next;
        drop_graph(e->h, e->ids, e->ids_cap, e->slots);
        pthread_rwlock_destroy(&e->lock);
        xfree(e);
    }
    store_close(v->db);
    xfree(v->target);
    xfree(v->dir);
    pthread_cond_destroy(&v->cv);
    pthread_cond_destroy(&v->applied_cv);
    pthread_mutex_destroy(&v->mu);
    xfree(v);
}

void core_vectors_set_schema(struct core_vectors *v, const struct core_schema *s)
{
    if (!v || !v->dir)
        return;
    struct task *t = xcalloc(1, sizeof(*t));
    t->kind = TASK_SWEEP;
    size_t cap = 0;
    for (size_t i = 0; i < s->count; i++) {
        const struct core_collection *c = s->items[i];
        for (size_t j = 0; j < c->field_count; j++) {
            const struct core_field *f = &c->fields[j];
            if (f->type != CORE_FIELD_VECTOR)
                continue;
            if (t->id_count == cap) {
                cap = cap ? 2 * cap : 8;
                t->ids = xrealloc(t->ids, cap * sizeof(*t->ids));
            }
            char key[FILE_KEY_MAX];
            file_key(c->id, f->id, (size_t)(f->dimensions > 0 ? f->dimensions : 0), key);
            t->ids[t->id_count++] = xstrdup(key);
        }
    }
    pthread_mutex_lock(&v->mu);
    t->sweep = ++v->sweeps;
    post(v, t);
    pthread_mutex_unlock(&v->mu);
}

/* The entry of (c, f, metric); mu held. */
static struct entry *find(struct core_vectors *v, const struct core_collection *c,
                          const struct core_field *f, enum vecmath_metric metric)
{
    for (struct entry *e = v->entries; e; e = e->next) {
        if (!strcmp(e->cid, c->id) && !strcmp(e->fid, f->id) && e->metric == metric &&
            e->dims == (size_t)f->dimensions)
            return e;
    }
    return NULL;
}

/* Queues the build of e from c's table now; mu held. */
static void start_build(struct core_vectors *v, struct entry *e, const struct core_collection *c,
                        const struct core_field *f)
{
    e->state = BUILDING;
    struct task *t = xcalloc(1, sizeof(*t));
    *t = (struct task){.kind = TASK_BUILD,
                       .e = e,
                       .table = xstrdup(c->name),
                       .column = xstrdup(f->name),
                       .may_load = true};
    post(v, t);
}

/* The entry of (c, f, metric), made and its build started when there is
 * none (or the last build failed); NULL when ids are too long to key one.
 * mu held. */
static struct entry *entry_for(struct core_vectors *v, const struct core_collection *c,
                               const struct core_field *f, enum vecmath_metric metric)
{
    if (strlen(c->id) >= sizeof(((struct entry *)0)->cid) ||
        strlen(f->id) >= sizeof(((struct entry *)0)->fid))
        return NULL;
    struct entry *e = find(v, c, f, metric);
    if (!e) {
        e = xcalloc(1, sizeof(*e));
        snprintf(e->cid, sizeof(e->cid), "%s", c->id);
        snprintf(e->fid, sizeof(e->fid), "%s", f->id);
        e->dims = (size_t)f->dimensions;
        e->metric = metric;
        e->slots = json_object();
        pthread_rwlock_init(&e->lock, NULL);
        e->next = v->entries;
        v->entries = e;
        start_build(v, e, c, f);
    } else if (e->state == FAILED) {
        start_build(v, e, c, f);
    }
    return e;
}

enum rc core_vectors_candidates(struct core_vectors *v, const struct core_collection *c,
                                const struct core_field *f, enum vecmath_metric metric,
                                const float *q, size_t n, struct arena *a, struct str *ids,
                                size_t *count)
{
    *count = 0;
    if (!v)
        return RC_NOT_FOUND;
    pthread_mutex_lock(&v->mu);
    struct entry *e = entry_for(v, c, f, metric);
    bool is_ready = e && e->state == READY;
    pthread_mutex_unlock(&v->mu);
    if (!is_ready)
        return RC_NOT_FOUND;
    pthread_rwlock_rdlock(&e->lock);
    if (hnsw_live(e->h) < v->min_rows) {
        pthread_rwlock_unlock(&e->lock);
        return RC_NOT_FOUND;
    }
    uint32_t *slots = arena_alloc(a, n * sizeof(*slots));
    size_t got = hnsw_search(e->h, q, n, n < MIN_EF ? MIN_EF : n, slots, NULL);
    for (size_t i = 0; i < got; i++) {
        if (e->ids[slots[i]])
            ids[(*count)++] = arena_strdup(a, str_from_cstr(e->ids[slots[i]]));
    }
    pthread_rwlock_unlock(&e->lock);
    return RC_OK;
}

/* Whether e's copy may stand for the table (see core_vectors_exact),
 * waiting up to EXACT_WAIT_MS for the thread to apply the changes already
 * queued; mu held. */
#define EXACT_WAIT_MS 25

static bool is_current(struct core_vectors *v, struct entry *e)
{
    /* The changes posted before this read began: later ones are writes
     * concurrent with it, which it need not see. */
    uint64_t target = e->posted;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_nsec += EXACT_WAIT_MS * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    while (e->state == READY && e->applied < target && !v->is_stopping) {
        if (pthread_cond_timedwait(&v->applied_cv, &v->mu, &until) != 0)
            break;
    }
    return e->state == READY && e->applied >= target && e->doubts == e->doubts_cleared &&
           !v->has_remote;
}

enum rc core_vectors_exact(struct core_vectors *v, const struct core_collection *c,
                           const struct core_field *f, enum vecmath_metric metric, const float *q,
                           size_t n, struct arena *a, struct str *ids, float *dists, size_t *count,
                           size_t *rows)
{
    *count = 0;
    *rows = 0;
    if (!v || !n)
        return RC_NOT_FOUND;
    pthread_mutex_lock(&v->mu);
    struct entry *e = entry_for(v, c, f, metric);
    bool is_usable = e && is_current(v, e);
    pthread_mutex_unlock(&v->mu);
    if (!is_usable)
        return RC_NOT_FOUND;
    uint32_t *slots = arena_alloc(a, n * sizeof(*slots));
    float next = 0;
    pthread_rwlock_rdlock(&e->lock);
    size_t got = hnsw_exact(e->h, q, n, slots, dists, &next);
    *rows = hnsw_live(e->h);
    /* A distance that is no number orders nothing; a tie across the cut
     * would be settled by slot, not by id as the list's order is. */
    enum rc rc = isnan(next) || (got && next == dists[got - 1]) ? RC_NOT_FOUND : RC_OK;
    for (size_t i = 0; !rc && i < got; i++) {
        if (!e->ids[slots[i]])
            rc = RC_NOT_FOUND;
        else
            ids[i] = arena_strdup(a, str_from_cstr(e->ids[slots[i]]));
    }
    pthread_rwlock_unlock(&e->lock);
    if (!rc)
        *count = got;
    return rc;
}

void core_vectors_distrust(struct core_vectors *v, const struct core_collection *c,
                           const struct core_field *f, enum vecmath_metric metric,
                           const struct str *ids, size_t count)
{
    if (!v)
        return;
    pthread_mutex_lock(&v->mu);
    struct entry *e = find(v, c, f, metric);
    if (e && e->state == READY) {
        e->doubts++;
        struct task *t = xcalloc(1, sizeof(*t));
        *t = (struct task){.kind = TASK_CHECK,
                           .e = e,
                           .table = xstrdup(c->name),
                           .column = xstrdup(f->name),
                           .ids = xcalloc(count ? count : 1, sizeof(char *)),
                           .id_count = count,
                           .doubt = e->doubts};
        for (size_t i = 0; i < count; i++)
            t->ids[i] = xstrndup(ids[i].ptr, ids[i].len);
        post(v, t);
    }
    pthread_mutex_unlock(&v->mu);
}

/* ---- The listener ------------------------------------------------------- */

/* Every write to a collection with a vector field makes events, whether
 * an index of it exists yet or not: a write submitted before its index was
 * made may commit after the build's read of the table, and its event is
 * then what brings it in. */
static bool wants(void *ctx, const struct core_collection *c)
{
    (void)ctx;
    for (size_t i = 0; i < c->field_count; i++) {
        if (c->fields[i].type == CORE_FIELD_VECTOR)
            return true;
    }
    return false;
}

static void on_event(void *ctx, struct core_event *ev)
{
    struct core_vectors *v = ctx;
    pthread_mutex_lock(&v->mu);
    for (struct entry *e = v->entries; e; e = e->next) {
        if (strcmp(e->cid, ev->c->id) != 0)
            continue;
        const struct core_field *f = NULL;
        for (size_t i = 0; i < ev->c->field_count && !f; i++) {
            if (!strcmp(ev->c->fields[i].id, e->fid))
                f = &ev->c->fields[i];
        }
        if (!f)
            continue;
        struct task *t = xcalloc(1, sizeof(*t));
        *t = (struct task){.kind = TASK_CHANGE,
                           .e = e,
                           .id = xstrdup(ev->id),
                           .table = xstrdup(ev->c->name),
                           .column = xstrdup(f->name)};
        e->posted++;
        post(v, t);
    }
    pthread_mutex_unlock(&v->mu);
}

/* Another instance's change: applied like ours, but it reaches this
 * instance after its client was answered, so from now on no copy here can
 * be known current (core_vectors_exact). */
static void on_remote(void *ctx, struct core_event *ev)
{
    struct core_vectors *v = ctx;
    pthread_mutex_lock(&v->mu);
    v->has_remote = true;
    pthread_mutex_unlock(&v->mu);
    on_event(ctx, ev);
}

struct core_event_listener core_vectors_listener(struct core_vectors *v)
{
    return (struct core_event_listener){
        .wants = wants, .on_commit = on_event, .on_remote = on_remote, .ctx = v};
}
