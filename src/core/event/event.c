/* event.c -- see event.h. */
#include "core/event/event.h"

#include "base/alloc.h"

const char *core_event_action_name(enum core_event_action action)
{
    switch (action) {
    case CORE_EVENT_CREATE: return "create";
    case CORE_EVENT_UPDATE: return "update";
    case CORE_EVENT_DELETE: return "delete";
    }
    return "";
}

struct core_event *core_event_new(enum core_event_action action, const struct core_schema *schema,
                                  const struct core_collection *c, json_t *values)
{
    struct core_event *ev = xcalloc(1, sizeof(*ev));
    atomic_init(&ev->refs, 1);
    ev->action = action;
    ev->schema = schema;
    ev->c = c;
    ev->values = json_incref(values);
    const char *id = json_string_value(json_object_get(values, "id"));
    ev->id = id ? id : "";
    return ev;
}

void core_event_ref(struct core_event *ev)
{
    atomic_fetch_add(&ev->refs, 1);
}

void core_event_unref(struct core_event *ev)
{
    if (atomic_fetch_sub(&ev->refs, 1) != 1)
        return;
    json_decref(ev->values); /* the last holder: no other thread reads it now */
    json_decref(ev->previous);
    xfree(ev);
}

void core_event_list_free(struct core_event *list)
{
    while (list) {
        struct core_event *next = list->next;
        core_event_unref(list);
        list = next;
    }
}

enum rc core_event_listen(struct core_event_bus *bus, const struct core_event_listener *l)
{
    if (bus->count == CORE_EVENT_MAX_LISTENERS)
        return RC_TOO_LARGE;
    bus->listeners[bus->count++] = *l;
    return RC_OK;
}

bool core_event_is_wanted(const struct core_event_bus *bus, const struct core_collection *c)
{
    if (!bus)
        return false;
    for (size_t i = 0; i < bus->count; i++) {
        const struct core_event_listener *l = &bus->listeners[i];
        if (!l->wants || l->wants(l->ctx, c))
            return true;
    }
    return false;
}

bool core_event_has_before(const struct core_event_bus *bus, const struct core_collection *c)
{
    for (size_t i = 0; bus && i < bus->count; i++) {
        const struct core_event_listener *l = &bus->listeners[i];
        core_event_wants_fn *w = l->wants_before ? l->wants_before : l->wants;
        if (l->before && (!w || w(l->ctx, c)))
            return true;
    }
    return false;
}

enum rc core_event_before(const struct core_event_bus *bus, struct store_conn *db,
                          enum core_event_action action, const struct core_collection *c,
                          json_t *values, json_t *current, struct core_problem *p)
{
    for (size_t i = 0; bus && i < bus->count; i++) {
        const struct core_event_listener *l = &bus->listeners[i];
        core_event_wants_fn *w = l->wants_before ? l->wants_before : l->wants;
        if (!l->before || (w && !w(l->ctx, c)))
            continue;
        enum rc rc = l->before(l->ctx, db, action, c, values, current, p);
        if (rc)
            return rc;
    }
    return RC_OK;
}

void core_event_committed(const struct core_event_bus *bus)
{
    for (size_t i = 0; bus && i < bus->count; i++) {
        if (bus->listeners[i].committed)
            bus->listeners[i].committed(bus->listeners[i].ctx);
    }
}

void core_event_emit(const struct core_event_bus *bus, struct core_event *list)
{
    while (list) {
        struct core_event *ev = list;
        list = list->next;
        /* A listener that keeps ev sees it alone, not the rest of the write's list. */
        ev->next = NULL;
        for (size_t i = 0; bus && i < bus->count; i++) {
            const struct core_event_listener *l = &bus->listeners[i];
            if (l->on_commit && (!l->wants || l->wants(l->ctx, ev->c)))
                l->on_commit(l->ctx, ev);
        }
        core_event_unref(ev);
    }
}

void core_event_emit_remote(const struct core_event_bus *bus, struct core_event *ev)
{
    for (size_t i = 0; bus && i < bus->count; i++) {
        const struct core_event_listener *l = &bus->listeners[i];
        if (l->on_remote)
            l->on_remote(l->ctx, ev);
    }
    core_event_unref(ev);
}

enum rc core_event_in_tx(const struct core_event_bus *bus, struct store_conn *db,
                         const struct core_event *list)
{
    for (const struct core_event *ev = list; bus && ev; ev = ev->next) {
        for (size_t i = 0; i < bus->count; i++) {
            const struct core_event_listener *l = &bus->listeners[i];
            if (!l->in_tx || (l->wants && !l->wants(l->ctx, ev->c)))
                continue;
            enum rc rc = l->in_tx(l->ctx, db, ev);
            if (rc)
                return rc;
        }
    }
    return RC_OK;
}
