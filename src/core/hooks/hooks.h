/* hooks.h -- the scripts of --hooks-dir: record hooks, custom routes and the
 * `tarmac` API they call (layer: core, the last folder; docs/hooks.md).
 *
 * Every thread that runs scripts has its own Lua state (vm.h), made from the
 * same files: each worker loop (custom routes, "after" hooks) and the writer
 * thread ("before" hooks, inside the write's transaction). A state is made
 * when its thread first needs it and made again when the scripts were
 * reloaded (core_hooks_reload bumps a generation; each thread notices at its
 * next use), so a reload drops no connection and a request in flight
 * finishes on the state it started on.
 *
 * While the files load, they register what they serve:
 *     tarmac.route("POST", "/api/app/checkout/{id}", function(req) ... end)
 *     tarmac.on("before_create", "orders", function(e) ... end)
 * "before_*" hooks run on the writer thread inside the write's transaction
 * (e.record may be changed for a create or update; tarmac.refuse() refuses
 * the write with a status, message and field errors); "after_*" hooks run
 * on the worker whose write committed, after the commit. */
#ifndef TARMAC_CORE_HOOKS_HOOKS_H
#define TARMAC_CORE_HOOKS_HOOKS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/rc.h"
#include "base/str.h"
#include "core/event/event.h"
#include "core/problem.h"
#include "core/record/record.h"

struct core_hooks_config {
    const char *dir;              /* the scripts' folder (need not exist: then no scripts) */
    size_t memory_max;            /* bytes one thread's Lua state may hold; 0 = 64 MiB */
    uint64_t budget_ns;           /* CPU time one call may take; 0 = 1 s */
    bool allow_private_network;   /* tarmac.http may reach private addresses */
    void (*wake_jobs)(void *ctx); /* wakes the job runners (a script enqueued) */
    void *wake_ctx;
};

/* The app's current schema snapshot (the app's; any thread). */
typedef const struct core_schema *core_hooks_schema_fn(void *ctx);

struct core_hooks;

/* Loads the scripts of cfg->dir once to check them. RC_INVALID with err
 * ("file.lua:LINE: message") when one fails: the server should not start. */
enum rc core_hooks_new(const struct core_hooks_config *cfg, core_hooks_schema_fn *schema_of,
                       void *schema_ctx, struct core_hooks **out, char *err, size_t errlen);
/* Frees the hooks and every thread's state; after the threads stopped. */
void core_hooks_free(struct core_hooks *h);
/* Loads the scripts again to check them; when they load, every thread takes
 * them at its next use; when not, the previous ones stay, and err says why.
 * Any thread (the CLI's SIGHUP). */
enum rc core_hooks_reload(struct core_hooks *h, char *err, size_t errlen);
/* The listener of the app's event bus: before and after hooks. */
struct core_event_listener core_hooks_listener(struct core_hooks *h);
/* Makes cw's thread a worker that runs scripts (its state is made at first
 * use). Worker's thread. */
void core_hooks_attach(struct core_hooks *h, struct core_worker *cw);
/* True while a script call of the calling thread waits (an after hook's
 * write): its worker must not stop before it ends. */
bool core_hooks_is_busy(void);
/* Frees the calling thread's state (a worker stopping). */
void core_hooks_detach(void);

/* A sign-in passed its checks (credentials, authRule): before_auth hooks run
 * before its token is issued and may refuse it (RC_* with p and *status
 * filled: the answer); after_auth hooks run after the answer is written (their
 * errors are only logged). method: "password", "otp", "oauth2"; record: the
 * identity with every field (hidden ones are not shown to scripts). A worker's
 * thread; RC_OK when it runs no scripts. */
enum rc core_hooks_auth(bool is_after, const struct core_collection *c, const char *method,
                        json_t *record, struct core_problem *p, int *status);

/* -------------------------------------------------------------------------
 * Custom routes (the api layer matches and answers them)
 * ------------------------------------------------------------------------- */

/* A route pattern as the router takes it: '/' then segments, each literal
 * text or a whole {name} (letters, digits, _), at most 512 bytes and 8
 * {params}. NULL when fine, else why not (a static sentence). Also checks
 * the patterns of C extensions (core/ext). */
const char *core_hooks_pattern_problem(const char *pattern);
/* True when a and b are the same route for the router: {params} compared by
 * place, not name. */
bool core_hooks_same_route(const char *a, const char *b);

/* The routes the calling worker's current scripts registered; *generation
 * changes whenever they may have. 0 routes when there are no scripts. */
size_t core_hooks_routes(uint64_t *generation);
/* Route i (0-based) of the calling worker's current scripts. */
void core_hooks_route(size_t i, const char **method, const char **pattern);

/* A name and a value of the request (borrowed). */
struct core_hooks_pair {
    struct str name;
    struct str value;
};

/* What a route's script sees of the request (borrowed for the call). */
struct core_hooks_request {
    const char *method;
    struct str path;
    const struct core_hooks_pair *params; /* the pattern's {params} */
    size_t param_count;
    const struct core_hooks_pair *query; /* decoded; the first of a name wins */
    size_t query_count;
    const struct core_hooks_pair *headers; /* as received (names become lower_snake) */
    size_t header_count;
    json_t *body; /* decoded JSON or form, or NULL */
    /* reads and writes of tarmac.records run as this request's requester
     * (cw, schema, arena, auth); it must outlive the call. prepare fills its
     * @request data (query, headers, body) for rules, once, before the
     * first of them. */
    struct core_request *r;
    void (*prepare)(void *ctx);
    void *prepare_ctx;
};

/* What the route answered. */
struct core_hooks_reply {
    int status;
    char *text; /* the body (owned), or NULL for none */
    size_t text_len;
    bool is_json;    /* text is a table sent as JSON (else a string the script gave) */
    json_t *headers; /* {name: value} (owned), or NULL */
    /* an error: a refusal's message and data, or the server's own (500,
     * details only in the log) */
    struct core_problem problem;
    bool is_error;
};
void core_hooks_reply_cleanup(struct core_hooks_reply *reply);

/* The answer came (reply is the callee's, valid during the call). */
typedef void core_hooks_route_done_fn(void *ctx, struct core_hooks_reply *reply);
/* Runs route i of generation (core_hooks_routes) with in; done is called
 * once, perhaps before this returns (a script that never waits). RC_BUSY
 * when the scripts were reloaded since generation (match again). */
enum rc core_hooks_route_call(size_t i, uint64_t generation, const struct core_hooks_request *in,
                              core_hooks_route_done_fn *done, void *ctx);

#endif
