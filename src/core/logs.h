/* logs.h -- the request log: settings, entries, reads (layer: core).
 *
 * PocketBase's logs (apis/logs.go, core/log_*.go): every request becomes an
 * entry {id, created, level, message, data{type: "request", ...}} in
 * <dir>/auxiliary.db (store/logs.h), kept max_days days. One log per
 * process: core_logs_open at start-up, core_logs_close at the end. The
 * settings live in one struct that core_logs_configure replaces at any time
 * (the serve flags now; PATCH /api/settings's `logs` later). */
#ifndef TARMAC_CORE_LOGS_H
#define TARMAC_CORE_LOGS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/rc.h"
#include "base/str.h"
#include "core/problem.h"

/* PocketBase's settings.logs. */
struct core_logs_config {
    int max_days;     /* retention; 0 = no request log at all (PocketBase's default 5) */
    int min_level;    /* entries below are not kept: -4 debug, 0 info, 4 warn, 8 error */
    bool log_ip;      /* keep remoteIP and userIP (default true) */
    bool log_auth_id; /* keep authId (default false) */
};

void core_logs_config_defaults(struct core_logs_config *c);
/* Opens <dir>/auxiliary.db and starts its writer thread with cfg. RC_IO
 * when it cannot (logged). Before the workers start. day_ms as store_logs_open. */
enum rc core_logs_open(const char *dir, const struct core_logs_config *cfg, int64_t day_ms);
/* Writes what waits and closes; after the workers stopped. */
void core_logs_close(void);
/* Replaces the settings; any thread, at any time. A lower max_days prunes at once. */
void core_logs_configure(const struct core_logs_config *cfg);
/* The settings now. */
void core_logs_settings(struct core_logs_config *out);
/* Entries dropped because the queue was full. */
uint64_t core_logs_dropped(void);
/* Waits until what was recorded is written (tests). Not on a worker loop. */
void core_logs_sync(void);

/* What a finished request was; all borrowed for the call. */
struct core_log_request {
    int64_t created_ms;
    double exec_ms;
    int status;
    struct str method, url, referer, user_agent, remote_ip, user_ip;
    struct str auth;    /* the auth collection's name; empty for a guest */
    struct str auth_id; /* empty for a guest */
    struct str error;   /* empty unless it failed (status >= 400) */
    struct str details; /* the error's data object as JSON text (core_logs_details); or empty */
};
/* PocketBase's data.details: the compact JSON text (keys sorted) of the error
 * answer's data object into out, at most cap bytes (STORE_LOGS_DETAILS_MAX in
 * the entry), not NUL-terminated. Too long, it keeps the first keys that fit:
 * always a whole object. Returns its length; 0 when data is empty or not an
 * object, or no key fits. */
size_t core_logs_details(json_t *data, char *out, size_t cap);
#define CORE_LOGS_DETAILS_MAX 768 /* the room an entry has for details */
/* Records r (level info, or error when status >= 400) unless the log is
 * off, r is below min_level or the queue is full. Any thread; never waits. */
void core_logs_record(const struct core_log_request *r);
/* True when requests are being recorded (opened and max_days > 0). */
bool core_logs_is_on(void);

/* Reads; blocking (for the offload pool). On RC_INVALID the problem says why
 * (an unknown field named, a bad sort). */
/* GET /api/logs: {"page","perPage","totalItems","totalPages","items"} into out. */
enum rc core_logs_list(struct str filter, struct str sort, int64_t page, int64_t per_page,
                       bool skip_total, struct buf *out, struct core_problem *p);
/* GET /api/logs/{id}: the entry; RC_NOT_FOUND. */
enum rc core_logs_view(struct str id, struct buf *out);
/* GET /api/logs/stats: [{"total","date"}] per hour. */
enum rc core_logs_stats(struct str filter, struct buf *out, struct core_problem *p);

/* Several instances (--redis): a read of GET /api/logs reads every
 * instance's log (each keeps its own auxiliary.db). fn asks the other
 * instances request (owned by fn: {"op": "list"|"view"|"stats", ...}),
 * each answering with core_logs_answer, and returns their answers as a JSON
 * array (a new reference; those that did not answer in time are left out).
 * A list merges every instance's first page*perPage entries in an
 * in-memory table and sorts them there (up to CORE_LOGS_GATHER_MAX: later
 * pages are a 400); totals and hourly stats are summed; a view asks the
 * others when the id is not here. Blocking, like the reads. Start-up. */
typedef json_t *core_logs_gather_fn(void *ctx, json_t *request);
void core_logs_set_gather(core_logs_gather_fn *fn, void *ctx);
#define CORE_LOGS_GATHER_MAX 5000
#define CORE_LOGS_GATHER_MAX_TEXT "5000"
/* Another instance's request, answered from this instance's log: a new
 * object ({"items","total"}, {"item"} or {"stats"}; {} when it has none).
 * Blocking: the offload pool. */
json_t *core_logs_answer(json_t *request);

#endif
