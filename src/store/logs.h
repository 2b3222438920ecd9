/* logs.h -- the request log's own SQLite database, auxiliary.db (layer: store).
 *
 * PocketBase keeps its logs apart from the data, in <dir>/auxiliary.db
 * (table _logs: id, level, message, data JSON, created text), and so do we,
 * whatever the main engine: with --db=postgresql://... the logs stay on the
 * instance that served the requests. Workers hand entries over by
 * store_logs_push, which copies a few fields into a preallocated slot of a
 * bounded ring under a mutex and never waits: a full ring drops the entry and
 * counts it. One thread owns the write connection: it wakes every
 * STORE_LOGS_FLUSH_MS (or when STORE_LOGS_BATCH entries wait), writes what
 * waits in one transaction, and prunes entries older than the retention once
 * an hour. Reads (list, view, stats) are blocking calls on a read connection
 * of their own, for the offload pool, never a worker loop. */
#ifndef TARMAC_STORE_LOGS_H
#define TARMAC_STORE_LOGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/rc.h"
#include "base/str.h"

#define STORE_LOGS_RING 2048       /* entries waiting at most; more are dropped */
#define STORE_LOGS_BATCH 500       /* entries that wake the thread before its timer */
#define STORE_LOGS_FLUSH_MS 100    /* the thread's timer */
#define STORE_LOGS_DETAILS_MAX 768 /* details: JSON text, bytes */
/* url + referer + userAgent + error + details, bytes */
#define STORE_LOGS_TEXT_MAX (1536 + STORE_LOGS_DETAILS_MAX)

/* One request's entry, as a slot of the ring. Text fields are cut to fit
 * (PocketBase cuts url at 3000, referer and userAgent at 2000 bytes, adding
 * "..."; we cut shorter, to keep slots small). */
struct store_log_entry {
    int64_t created_ms; /* epoch ms */
    double exec_ms;     /* execTime */
    int level;          /* -4 debug, 0 info, 4 warn, 8 error (slog's levels) */
    int status;
    bool has_ip; /* remoteIP and userIP are written */
    bool has_auth_id;
    char method[16];
    char auth[64]; /* the auth collection's name; "" for a guest */
    char auth_id[40];
    char remote_ip[48];
    char user_ip[48];
    uint16_t url_len, referer_len, user_agent_len, error_len;
    uint16_t details_len;           /* a JSON object's text, whole or absent (never cut) */
    char text[STORE_LOGS_TEXT_MAX]; /* url, referer, userAgent, error, details, back to back */
};

struct store_logs;

/* Opens (creating when missing) path as the log database, makes its table
 * and starts its thread, which prunes entries older than max_days days
 * (0: every entry) at start and then hourly. day_ms is the length of a day
 * (0: 86400000; tests shorten it, and the pruning period with it, to a
 * quarter day when that is less than an hour). RC_IO when it cannot be
 * opened (logged). Before the workers start. */
enum rc store_logs_open(const char *path, int max_days, int64_t day_ms, struct store_logs **out);
/* Writes what waits, stops the thread, closes. After the workers stopped.
 * Accepts NULL. */
void store_logs_close(struct store_logs *l);

/* Fills a free slot with fill(slot, ctx) and queues it; any thread, never
 * waits on I/O (fill runs under the ring's mutex: a few copies). false when
 * the ring is full: the entry is dropped and counted. The slot is zeroed
 * before fill. */
typedef void store_logs_fill_fn(struct store_log_entry *slot, void *ctx);
bool store_logs_push(struct store_logs *l, store_logs_fill_fn *fill, void *ctx);
/* Entries dropped because the ring was full, since open; any thread. */
uint64_t store_logs_dropped(const struct store_logs *l);
/* Changes the retention (days; 0 deletes every entry) and prunes now, on
 * the thread; any thread. */
void store_logs_set_max_days(struct store_logs *l, int max_days);
/* Blocks until what was pushed before the call is written (tests, shutdown
 * paths); any thread but a worker loop. */
void store_logs_sync(struct store_logs *l);

/* A value bound to a ?N of a query's SQL. */
enum store_logs_param_type { STORE_LOGS_NULL, STORE_LOGS_INT, STORE_LOGS_DOUBLE, STORE_LOGS_TEXT };
struct store_logs_param {
    enum store_logs_param_type type;
    int64_t i;
    double d;
    struct str text;
};

/* A read of _logs: where is a boolean SQLite expression over its columns
 * (NULL: all rows) with ?1.. bound to params; order_by an ORDER BY list
 * without the keywords (NULL: the order written, as PocketBase without a
 * sort). Both built by core from checked names only (core/logs.h); no
 * request byte is in the text. */
struct store_logs_query {
    const char *where;
    const struct store_logs_param *params;
    size_t param_count;
    const char *order_by;
    int64_t limit, offset;
    bool want_total; /* count the rows matching where */
};

/* Appends the page's rows to out as JSON objects separated by commas
 * ({"id","created","data","message","level"}, PocketBase's order) and sets
 * *total (when want_total) and *rows. Blocking. RC_INVALID with the engine's
 * message in err when the SQL does not compile (a filter type mismatch
 * SQLite refuses), RC_IO when the database fails. */
enum rc store_logs_list(struct store_logs *l, const struct store_logs_query *q, struct buf *out,
                        int64_t *total, int64_t *rows, char *err, size_t err_cap);
/* Appends the entry id as a JSON object; RC_NOT_FOUND when there is none. Blocking. */
enum rc store_logs_view(struct store_logs *l, struct str id, struct buf *out);
/* Appends the JSON array of {"total","date"} per hour of created, oldest
 * first, over the rows q->where selects (order and page unused). Blocking. */
enum rc store_logs_stats(struct store_logs *l, const struct store_logs_query *q, struct buf *out,
                         char *err, size_t err_cap);
/* Several instances' pages of one query made one (core/logs.c, --redis):
 * items is a JSON array of entries as store_logs_list writes them; they are
 * put in an in-memory table of _logs's shape and read back as
 * store_logs_list reads (order_by as its, NULL: by created; limit rows from
 * offset; *rows). Blocking. RC_INVALID (items malformed) or RC_IO, with the
 * engine's message in err. */
enum rc store_logs_merge(struct str items, const char *order_by, int64_t limit, int64_t offset,
                         struct buf *out, int64_t *rows, char *err, size_t err_cap);

#endif
