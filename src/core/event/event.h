/* event.h -- record changes and the listeners that hear of them (layer: core,
 * below record/ in core's folder order).
 *
 * Every record a write creates, updates or deletes makes one event, inside
 * the write's transaction while the data is at hand (DESIGN.md, "Events").
 * The write holds its events until the transaction ends: after a commit it
 * hands them to the app's bus, which calls each listener in the order they
 * were registered; after a rollback it frees them unannounced. The writer
 * names no consumer: the app registers them at start-up (realtime today;
 * jobs, hooks and logs later), so record/ depends on none of them.
 *
 * The bus is a fixed table filled before the workers start and read-only
 * afterwards, so emitting takes no lock. An event is reference-counted and
 * read-only once emitted: a listener that keeps it past its call (realtime
 * hands it to every worker) takes a reference. */
#ifndef TARMAC_CORE_EVENT_H
#define TARMAC_CORE_EVENT_H

#include <jansson.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "base/rc.h"
#include "core/schema/collection.h"

enum core_event_action {
    CORE_EVENT_CREATE,
    CORE_EVENT_UPDATE,
    CORE_EVENT_DELETE,
};

/* One record change. */
struct core_event {
    atomic_int refs;
    enum core_event_action action;
    /* the snapshot the write ran on; lives until the app closes */
    const struct core_schema *schema;
    const struct core_collection *c; /* in schema */
    const char *id;                  /* the record's id, inside values */
    json_t *values;                  /* every field as stored (a delete: before its removal) */
    json_t *previous;                /* an update: every field as it was before; else NULL */
    struct core_event *next;         /* a write's list of events */
};

/* "create", "update" or "delete" (the realtime protocol's words). */
const char *core_event_action_name(enum core_event_action action);

/* A new event holding one reference, made on any thread; takes a new
 * reference to values. */
struct core_event *core_event_new(enum core_event_action action, const struct core_schema *schema,
                                  const struct core_collection *c, json_t *values);
/* Takes / drops a reference; the last drop frees the event. Any thread. */
void core_event_ref(struct core_event *ev);
void core_event_unref(struct core_event *ev);
/* Drops the caller's reference to every event of list; accepts NULL. */
void core_event_list_free(struct core_event *list);

/* Whether the listener wants events of collection c now; making them costs (a
 * delete reads its row first), so a write makes none when no listener wants
 * any. Called on a worker's thread as each write is submitted. */
typedef bool core_event_wants_fn(void *ctx, const struct core_collection *c);
/* One committed change. Runs on the thread of the worker whose write
 * committed, after the commit; ev is borrowed for the call. */
typedef void core_event_fn(void *ctx, struct core_event *ev);
/* One change, inside the write's transaction on the writer thread, after the
 * write's own statements (the transactional outbox: jobs/ enqueues here). A
 * non-OK return fails the write, which is rolled back with what the listener
 * wrote; a write the writer runs again calls it again from a clean savepoint.
 * ev is borrowed for the call. */
struct store_conn;
typedef enum rc core_event_in_tx_fn(void *ctx, struct store_conn *db, const struct core_event *ev);

/* A change about to be written, inside the write's transaction on the writer
 * thread, before the write's statements (the "before" hooks of scripts).
 * values is the whole record as it will be stored (create, update; the
 * listener may change it: the writer validates the changed fields again) or
 * as stored (delete: changes are ignored); current is the stored record of
 * an update or delete (NULL for a create). A non-OK return refuses the
 * write with p filled (RC_INVALID: the client's 400 with p's field errors;
 * RC_FORBIDDEN, RC_NOT_FOUND likewise; any other code is the server's). */
struct core_problem;
typedef enum rc core_event_before_fn(void *ctx, struct store_conn *db,
                                     enum core_event_action action, const struct core_collection *c,
                                     json_t *values, json_t *current, struct core_problem *p);

struct core_event_listener {
    core_event_wants_fn *wants;        /* NULL: always */
    core_event_wants_fn *wants_before; /* for before only; NULL: as wants */
    core_event_fn *on_commit;          /* NULL: none */
    core_event_in_tx_fn *in_tx;        /* NULL: none */
    core_event_before_fn *before;      /* NULL: none */
    /* after every committed record write, on the worker that submitted it,
     * whether it made events or not (a before listener's side effects, such
     * as jobs enqueued in the transaction, are known only then); NULL: none */
    void (*committed)(void *ctx);
    /* a change another instance committed (--redis: core/cluster_app.h),
     * on the worker holding this instance's subscriber; ev is borrowed, and
     * its previous values are not known (NULL); NULL: none */
    core_event_fn *on_remote;
    void *ctx;
};

#define CORE_EVENT_MAX_LISTENERS 24

/* The app's listeners (one bus per struct core_app). */
struct core_event_bus {
    struct core_event_listener listeners[CORE_EVENT_MAX_LISTENERS];
    size_t count;
};

/* Adds l to bus (copied). Call before the workers start: the bus is read
 * without a lock. RC_TOO_LARGE when CORE_EVENT_MAX_LISTENERS are there. */
enum rc core_event_listen(struct core_event_bus *bus, const struct core_event_listener *l);
/* True when some listener of bus wants events of c now. Accepts NULL (false). */
bool core_event_is_wanted(const struct core_event_bus *bus, const struct core_collection *c);
/* Calls every in_tx listener of bus for each event of list (borrowed), in
 * order, on the writer thread inside the write's transaction; the first
 * failure stops and is returned. Accepts a NULL bus and list (RC_OK). */
enum rc core_event_in_tx(const struct core_event_bus *bus, struct store_conn *db,
                         const struct core_event *list);
/* True when some listener of bus has a before function and wants c now. */
bool core_event_has_before(const struct core_event_bus *bus, const struct core_collection *c);
/* Calls every before listener of bus that wants c, in order; the first
 * failure stops and is returned. Accepts a NULL bus (RC_OK). */
enum rc core_event_before(const struct core_event_bus *bus, struct store_conn *db,
                          enum core_event_action action, const struct core_collection *c,
                          json_t *values, json_t *current, struct core_problem *p);
/* Tells every listener with a committed callback that a record write (or
 * batch) committed. Accepts a NULL bus. */
void core_event_committed(const struct core_event_bus *bus);
/* Hands each event of list, in order, to every listener that wants its
 * collection, then drops the caller's reference to each (takes ownership of
 * the list). Accepts a NULL
 * bus (the events are freed) and a NULL list. */
void core_event_emit(const struct core_event_bus *bus, struct core_event *list);
/* Hands ev, a change another instance committed, to every listener with an
 * on_remote function (whatever they want: they decide), then drops the
 * caller's reference (takes ownership). */
void core_event_emit_remote(const struct core_event_bus *bus, struct core_event *ev);

#endif
