/* sqlite_rank.c -- the relevance of a full-text match in SQLite: the
 * FTS5 auxiliary function tarmac_bm25 (layer: store; see search.h).
 *
 *     tarmac_bm25(fts_table, 'fts_table_name', weight_1, ..., weight_n)
 *
 * is Okapi BM25 with k1 = 1.2 and b = 0.75 over the query's phrases, the
 * weight of each instance its column's, the document's length its
 * tokens in all columns, and the inverse document frequency of a phrase
 * log((N - n + 0.5) / (n + 0.5)), at least 1e-6 -- the numbers of FTS5's
 * own bm25(), negated the same way (lower is better) -- except that a
 * query of one phrase (one word, one prefix) has an inverse document
 * frequency of 1: the same for every row, it orders nothing, and
 * counting the phrase's rows for it is a second pass over them. The
 * score itself is never shown (a fusion's @score is made of ranks).
 *
 * Why its own: a document's length is a row of the table's _docsize,
 * one B-tree lookup per matched row. For a query that matches most of a
 * collection ("li" typed into a search box over Debian's 63,697 package
 * names matches 36,128 rows) that lookup is 85% of the query: 23 of
 * 26 ms. Here the lengths of a table are read once in a sweep of its
 * _docsize (0.09 us a row against 0.55 us a lookup) and kept by the
 * connection for as long as its data version says the database has not
 * changed (SQLITE_FCNTL_DATA_VERSION moves with every commit, this
 * connection's or another's); a query then finds each row's length by a
 * binary search in memory. A sweep is made when a query's phrases each
 * match a sixth of the rows or more, or, for one phrase (whose rows are
 * not counted first), once a sixteenth of the rows have been scored:
 * below that the lookups cost less. Never inside a write transaction
 * (whose own uncommitted rows the data version does not show). Rows the
 * copy does not hold are read from _docsize, as FTS5 does. */
#include "store/sqlite_rank.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RANK_K1 1.2
#define RANK_B 0.75
#define RANK_TABLES 4                   /* the lengths of up to 4 tables a connection */
#define RANK_MAX_ROWS (4 * 1024 * 1024) /* 48 MiB of lengths at most per table */
#define RANK_MIN_ROWS 512               /* a query scores fewer: lookups are cheaper */
#define RANK_NAME_MAX 128

/* The lengths of one table's rows, as of one data version. One of two
 * shapes: rowids with few holes (most tables)
 * keep each length at rowid - base (NO_LENGTH in a hole); others keep
 * the rowids in order beside their lengths. */
struct lengths {
    int refs; /* the connection's slot and each query using it */
    char name[RANK_NAME_MAX];
    unsigned version;
    uint64_t used;   /* for eviction: the query count when last used */
    uint32_t *dense; /* span lengths, or NULL */
    int64_t base;
    size_t span;
    int64_t *ids; /* n rowids, ascending (when not dense) */
    uint32_t *len;
    size_t n;
};

#define NO_LENGTH UINT32_MAX
#define RANK_MAX_COLUMNS 64

/* One per connection: the function's user data. */
struct rank_conn {
    sqlite3 *db;
    uint64_t queries;
    struct lengths *t[RANK_TABLES]; /* NULL: an empty slot */
};

/* One per query (FTS5's aux data). */
struct rank_query {
    int phrases;
    double avgdl;
    struct lengths *lengths;  /* a reference; NULL: each row's from _docsize */
    size_t at;                /* where the last row was found */
    char name[RANK_NAME_MAX]; /* the table's (the SQL argument) */
    sqlite3_int64 rows, scored;
    bool is_decided; /* whether to sweep: decided (lengths or not) */
    double *idf, *freq;
    int columns; /* weights given */
    double weight[RANK_MAX_COLUMNS];
};

/* Drops a reference to l (a query that used it may outlive its slot: a
 * streamed page's statement stays open while other queries sweep). */
static void lengths_unref(struct lengths *l)
{
    if (!l || --l->refs > 0)
        return;
    sqlite3_free(l->dense);
    sqlite3_free(l->ids);
    sqlite3_free(l->len);
    sqlite3_free(l);
}

static void rank_conn_free(void *p)
{
    struct rank_conn *rc = p;
    for (int i = 0; i < RANK_TABLES; i++)
        lengths_unref(rc->t[i]);
    sqlite3_free(rc);
}

static int count_row(const Fts5ExtensionApi *api, Fts5Context *fts, void *arg)
{
    (void)api;
    (void)fts;
    (*(sqlite3_int64 *)arg)++;
    return SQLITE_OK;
}

/* The total of a _docsize record: one varint per column. */
static uint32_t record_total(const unsigned char *p, int n)
{
    uint64_t total = 0;
    int i = 0;
    while (i < n) {
        uint64_t v = 0;
        int k = 0;
        for (; i < n && k < 9; k++) {
            unsigned char c = p[i++];
            if (k == 8) {
                v = (v << 8) | c;
                break;
            }
            v = (v << 7) | (c & 0x7f);
            if (!(c & 0x80))
                break;
        }
        total += v;
    }
    return total > UINT32_MAX ? UINT32_MAX : (uint32_t)total;
}

/* Every row's length of the table, read now (one reference, the
 * caller's); NULL when it cannot be read. */
static struct lengths *lengths_load(sqlite3 *db, const char *name, unsigned version,
                                    sqlite3_int64 rows)
{
    struct lengths *l = sqlite3_malloc64(sizeof(*l));
    if (!l)
        return NULL;
    memset(l, 0, sizeof(*l));
    l->refs = 1;
    char sql[RANK_NAME_MAX + 64];
    /* the name is "_s:" and \w characters (store_search_name): no quote */
    snprintf(sql, sizeof(sql), "SELECT id, sz FROM main.\"%s_docsize\" ORDER BY id", name);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        sqlite3_finalize(st);
        lengths_unref(l);
        return NULL;
    }
    size_t cap = (size_t)rows + 16;
    l->ids = sqlite3_malloc64(cap * sizeof(*l->ids));
    l->len = sqlite3_malloc64(cap * sizeof(*l->len));
    bool ok = l->ids && l->len;
    int src;
    while (ok && (src = sqlite3_step(st)) == SQLITE_ROW) {
        if (l->n == cap) {
            ok = false; /* more rows than the table said: a later version */
            break;
        }
        l->ids[l->n] = sqlite3_column_int64(st, 0);
        l->len[l->n] = record_total(sqlite3_column_blob(st, 1), sqlite3_column_bytes(st, 1));
        l->n++;
    }
    ok = ok && src == SQLITE_DONE;
    sqlite3_finalize(st);
    if (!ok) {
        lengths_unref(l);
        return NULL;
    }
    if (l->n && l->ids[l->n - 1] - l->ids[0] < (int64_t)(2 * l->n + 64)) {
        l->base = l->ids[0];
        l->span = (size_t)(l->ids[l->n - 1] - l->base) + 1;
        l->dense = sqlite3_malloc64(l->span * sizeof(*l->dense));
        if (l->dense) {
            memset(l->dense, 0xff, l->span * sizeof(*l->dense)); /* NO_LENGTH */
            for (size_t i = 0; i < l->n; i++)
                l->dense[l->ids[i] - l->base] = l->len[i] == NO_LENGTH ? NO_LENGTH - 1 : l->len[i];
            sqlite3_free(l->ids);
            sqlite3_free(l->len);
            l->ids = NULL;
            l->len = NULL;
            l->n = 0;
        }
    }
    snprintf(l->name, sizeof(l->name), "%s", name);
    l->version = version;
    return l;
}

/* The lengths of the table as of this transaction, a reference the
 * caller drops: kept ones still current, else a new sweep when may_sweep;
 * NULL otherwise. */
static struct lengths *lengths_for(struct rank_conn *rc, const char *name, sqlite3_int64 rows,
                                   bool may_sweep)
{
    if (sqlite3_txn_state(rc->db, "main") != SQLITE_TXN_READ)
        return NULL;
    unsigned version = 0;
    if (sqlite3_file_control(rc->db, "main", SQLITE_FCNTL_DATA_VERSION, &version) != SQLITE_OK)
        return NULL;
    rc->queries++;
    int slot = -1;
    for (int i = 0; i < RANK_TABLES; i++) {
        struct lengths *l = rc->t[i];
        if (l && strcmp(l->name, name) == 0) {
            if (l->version == version) {
                l->used = rc->queries;
                l->refs++;
                return l;
            }
            lengths_unref(l); /* out of date */
            rc->t[i] = NULL;
            slot = i;
        }
    }
    if (!may_sweep || rows > RANK_MAX_ROWS)
        return NULL;
    for (int i = 0; i < RANK_TABLES && slot < 0; i++) {
        if (!rc->t[i])
            slot = i;
    }
    if (slot < 0) { /* the least recently used */
        slot = 0;
        for (int i = 1; i < RANK_TABLES; i++) {
            if (rc->t[i]->used < rc->t[slot]->used)
                slot = i;
        }
    }
    struct lengths *l = lengths_load(rc->db, name, version, rows);
    if (!l)
        return NULL;
    lengths_unref(rc->t[slot]);
    rc->t[slot] = l;
    l->used = rc->queries;
    l->refs++;
    return l;
}

/* The length of row id, from the copy (rows arrive in order: the search
 * starts where the last one was found); -1 when the copy lacks it. */
static int64_t length_of(struct rank_query *q, int64_t id)
{
    const struct lengths *l = q->lengths;
    if (l->dense) {
        uint64_t at = (uint64_t)(id - l->base);
        return at < l->span && l->dense[at] != NO_LENGTH ? (int64_t)l->dense[at] : -1;
    }
    size_t lo = 0, hi = l->n;
    if (q->at < l->n && l->ids[q->at] <= id)
        lo = q->at;
    else
        hi = q->at < l->n ? q->at : l->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (l->ids[mid] < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < l->n && l->ids[lo] == id) {
        q->at = lo;
        return l->len[lo];
    }
    return -1;
}

static void query_free(void *p)
{
    struct rank_query *q = p;
    lengths_unref(q->lengths);
    sqlite3_free(q);
}

/* A query's constants. A query of one phrase (a word, a prefix) ranks
 * by its documents' term frequencies alone: its inverse document
 * frequency, the same for every row, orders nothing, and counting its
 * rows would be a second pass over them (the score is never shown;
 * @score is a fusion's). So it is 1, and whether to sweep the lengths is
 * decided once enough rows have been scored. */
static struct rank_query *query_start(const Fts5ExtensionApi *api, Fts5Context *fts,
                                      struct rank_conn *rc, sqlite3_value *name, int *err)
{
    int phrases = api->xPhraseCount(fts);
    size_t slots = (size_t)(phrases > 0 ? phrases : 1);
    size_t size = sizeof(struct rank_query) + 2 * slots * sizeof(double);
    struct rank_query *q = sqlite3_malloc64(size);
    if (!q) {
        *err = SQLITE_NOMEM;
        return NULL;
    }
    memset(q, 0, size);
    q->phrases = phrases;
    q->idf = (double *)(q + 1);
    q->freq = q->idf + slots;
    const char *n = name ? (const char *)sqlite3_value_text(name) : NULL;
    q->is_decided = !n || strlen(n) >= RANK_NAME_MAX;
    if (!q->is_decided)
        memcpy(q->name, n, strlen(n) + 1);
    sqlite3_int64 tokens = 0, fewest = -1;
    int r = api->xRowCount(fts, &q->rows);
    if (r == SQLITE_OK)
        r = api->xColumnTotalSize(fts, -1, &tokens);
    q->avgdl = q->rows > 0 && tokens > 0 ? (double)tokens / (double)q->rows : 1;
    for (int i = 0; r == SQLITE_OK && i < phrases && phrases > 1; i++) {
        sqlite3_int64 hits = 0;
        r = api->xQueryPhrase(fts, i, &hits, count_row);
        double idf = log(((double)q->rows - (double)hits + 0.5) / ((double)hits + 0.5));
        q->idf[i] = idf > 0 ? idf : 1e-6;
        if (fewest < 0 || hits < fewest)
            fewest = hits;
    }
    if (phrases == 1)
        q->idf[0] = 1;
    if (r == SQLITE_OK && !q->is_decided) {
        bool is_worth = fewest >= RANK_MIN_ROWS && fewest * 6 >= q->rows;
        q->lengths = lengths_for(rc, q->name, q->rows, is_worth);
        q->is_decided = q->lengths || phrases != 1;
    }
    if (r == SQLITE_OK)
        r = api->xSetAuxdata(fts, q, query_free); /* which frees q when it fails */
    else
        query_free(q);
    *err = r;
    return r == SQLITE_OK ? q : NULL;
}

static void rank_fn(const Fts5ExtensionApi *api, Fts5Context *fts, sqlite3_context *ctx, int argc,
                    sqlite3_value **argv)
{
    int err = SQLITE_OK;
    struct rank_query *q = api->xGetAuxdata(fts, 0);
    if (!q) {
        q = query_start(api, fts, api->xUserData(fts), argc > 0 ? argv[0] : NULL, &err);
        if (!q) {
            sqlite3_result_error_code(ctx, err);
            return;
        }
        q->columns = argc - 1 < RANK_MAX_COLUMNS ? argc - 1 : RANK_MAX_COLUMNS;
        for (int i = 0; i < q->columns; i++)
            q->weight[i] = sqlite3_value_double(argv[i + 1]);
    }
    memset(q->freq, 0, sizeof(double) * (size_t)q->phrases);
    int insts = 0;
    err = api->xInstCount(fts, &insts);
    for (int i = 0; err == SQLITE_OK && i < insts; i++) {
        int phrase, column, offset;
        err = api->xInst(fts, i, &phrase, &column, &offset);
        if (err == SQLITE_OK && phrase >= 0 && phrase < q->phrases)
            q->freq[phrase] += column >= 0 && column < q->columns ? q->weight[column] : 1.0;
    }
    if (!q->is_decided && ++q->scored >= RANK_MIN_ROWS && q->scored * 16 >= q->rows) {
        q->is_decided = true; /* a sixteenth of the table so far: sweep */
        q->lengths = lengths_for(api->xUserData(fts), q->name, q->rows, true);
    }
    int64_t length = -1;
    if (err == SQLITE_OK && q->lengths)
        length = length_of(q, api->xRowid(fts));
    if (err == SQLITE_OK && length < 0) {
        int n = 0;
        err = api->xColumnSize(fts, -1, &n);
        length = n;
    }
    if (err != SQLITE_OK) {
        sqlite3_result_error_code(ctx, err);
        return;
    }
    double norm = RANK_K1 * (1 - RANK_B + RANK_B * (double)length / q->avgdl), score = 0;
    for (int i = 0; i < q->phrases; i++)
        score += q->idf[i] * (q->freq[i] * (RANK_K1 + 1)) / (q->freq[i] + norm);
    sqlite3_result_double(ctx, -score);
}

int store_sqlite_rank_register(sqlite3 *db, fts5_api *api)
{
    struct rank_conn *rc = sqlite3_malloc64(sizeof(*rc));
    if (!rc)
        return SQLITE_NOMEM;
    memset(rc, 0, sizeof(*rc));
    rc->db = db;
    /* FTS5 frees rc when the connection closes; a failed registration
     * does not take it */
    int r = api->xCreateFunction(api, "tarmac_bm25", rc, rank_fn, rank_conn_free);
    if (r != SQLITE_OK)
        rank_conn_free(rc);
    return r;
}
