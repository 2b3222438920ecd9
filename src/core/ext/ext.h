/* ext.h -- C extensions compiled into the binary: the registry of their
 * record hooks and routes, and the records calls they make (layer: core,
 * core/ext/, after hooks/; the public API is include/tarmac.h, its routes'
 * HTTP side api/ext.c; docs/extensions.md).
 *
 * TARMAC_EXTENSION declares an extension from a constructor before main()
 * (tarmac_ext_declare: no dlopen, no weak symbol, any number per binary);
 * `tarmac serve` runs their init functions once with core_ext_start, before
 * the workers start, and the registry is read-only from then on: no lock.
 * Record hooks reach the app through its event bus (core_ext_listener):
 * "before" hooks inside the write's transaction on the writer thread, "after"
 * hooks on the worker whose write committed, as Lua's do. */
#ifndef TARMAC_CORE_EXT_EXT_H
#define TARMAC_CORE_EXT_EXT_H

#include <stdbool.h>
#include <stddef.h>

#include "base/arena.h"
#include "base/rc.h"
#include "core/event/event.h"
#include "core/record/record.h"
#include "tarmac.h"

/* What the records calls of one route or hook share: the writes in flight
 * (their saves live in its arena) and the last error. */
struct core_ext_scope {
    unsigned pending; /* writes started, not yet answered */
    bool is_closed;   /* the owner is done (a route answered, a hook returned) */
    /* runs once when closed with no write pending (may free the scope) */
    void (*on_idle)(void *owner);
    void *owner;
    char error[256];
};

/* The ctx handle of include/tarmac.h: a requester within a scope. */
struct tarmac_ctx {
    struct core_ext_scope *scope;
    struct core_request *r;
    struct store_conn *db; /* a before hook: the write's transaction; else NULL */
};

/* The app's current schema (any thread). */
typedef const struct core_schema *core_ext_schema_fn(void *ctx);

/* Runs every declared extension's init (version check first). RC_INVALID
 * with err when one fails or was built for another API version: the server
 * must not start. RC_OK with nothing done when none is linked in. Once, on
 * the main thread, before the workers start. */
enum rc core_ext_start(core_ext_schema_fn *schema_of, void *schema_ctx, char *err, size_t errlen);
/* The extensions started (0 in a plain build). */
size_t core_ext_count(void);
/* The listener of the app's event bus: the extensions' record hooks. */
struct core_event_listener core_ext_listener(void);

/* The calling thread is worker cw: after hooks run there (their reads and
 * writes need its connection and loop). Worker's thread. */
void core_ext_attach(struct core_worker *cw);
/* True while writes an extension started on this thread are in flight: the
 * worker must not stop before they answer. */
bool core_ext_is_busy(void);
void core_ext_detach(void);

/* The extensions' routes (read-only after core_ext_start). */
size_t core_ext_routes(void);
void core_ext_route(size_t i, const char **method, const char **pattern);
/* Calls route i's handler with req (api/ext.c's handle). */
void core_ext_route_call(size_t i, struct tarmac_request *req);

/* A scope for owner; on_idle may be NULL. */
void core_ext_scope_init(struct core_ext_scope *s, void (*on_idle)(void *owner), void *owner);
/* The owner is done: on_idle runs now when no write is pending, else when
 * the last one answers. */
void core_ext_scope_close(struct core_ext_scope *s);

/* (records.c) A record handle over v: borrowed, writable or not. */
struct tarmac_record {
    json_t *v;
    bool is_writable;
    bool is_owned; /* tarmac_records_get's: tarmac_record_free drops v and the handle */
};

#endif
