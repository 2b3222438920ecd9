/* realtime.c -- see realtime.h. */
#include "core/realtime/realtime.h"

#include <string.h>

#include "base/coro.h"
#include "base/alloc.h"
#include "base/arena.h"
#include "base/buf.h"
#include "base/chrono.h"
#include "base/jsonw.h"
#include "base/log.h"
#include "base/secure.h"
#include "core/filter/filter_parse.h"
#include "core/record/record.h"
#include "core/record/record_write.h"
#include "net/mailbox.h"

#define BUCKETS 4096    /* power of two */
#define IP_BUCKETS 1024 /* power of two */
#define MAX_WORKERS 256
/* Clients served per loop turn of a fan-out: a slice costs well under a
 * millisecond (a write to a socket costs a few microseconds) when
 * subscribers share their renderings. A slice also ends after SLICE_NS,
 * for clients whose subscriptions cannot share theirs (distinct filters):
 * then one client's checks, at most the realtime budget, are the longest a
 * turn runs over. */
#define SLICE 128
#define SLICE_NS 2000000u
#define SUPERUSERS_ID "pbc_3142635823"

/* The subscriptions of the clients of one IP address (the per-IP cap). */
struct ip_subs {
    struct ip_subs *next;
    size_t count;
    char ip[48];
};

struct core_realtime {
    uv_mutex_t lock;
    struct core_rt_client *buckets[BUCKETS];
    size_t client_count;
    struct ip_subs *ip_buckets[IP_BUCKETS];
    struct core_worker *workers[MAX_WORKERS];
    size_t worker_count;
    const struct core_limits *limits; /* the app's; read-only once workers run */
    core_rt_schema_fn *schema_of;
    void *schema_ctx;
    struct core_rt_remote remote; /* --redis; read-only once workers run */
    bool has_remote;
    /* An event's fan-out on one worker: from the commit's notice to its last
     * client's line handed to the socket (any thread: observe_shared). */
    struct metrics_hist fanout_time;
};

void core_realtime_set_remote(struct core_realtime *rt, const struct core_rt_remote *remote)
{
    rt->remote = *remote;
    rt->has_remote = true;
}

/* Whether client_id is one of another instance's (then only it can answer). */
static bool is_elsewhere(const struct core_realtime *rt, const char *client_id)
{
    if (!rt->has_remote)
        return false;
    size_t n = strlen(rt->remote.id_prefix);
    return strlen(client_id) == CORE_RT_CLIENT_ID_LEN &&
           strncmp(client_id, rt->remote.id_prefix, n) != 0;
}

struct core_realtime *core_realtime_new(const struct core_limits *limits,
                                        core_rt_schema_fn *schema_of, void *schema_ctx)
{
    struct core_realtime *rt = xcalloc(1, sizeof(*rt));
    uv_mutex_init(&rt->lock);
    rt->limits = limits;
    rt->schema_of = schema_of;
    rt->schema_ctx = schema_ctx;
    return rt;
}

void core_realtime_free(struct core_realtime *rt)
{
    if (!rt)
        return;
    for (size_t i = 0; i < IP_BUCKETS; i++) {
        while (rt->ip_buckets[i]) {
            struct ip_subs *e = rt->ip_buckets[i];
            rt->ip_buckets[i] = e->next;
            xfree(e);
        }
    }
    uv_mutex_destroy(&rt->lock);
    xfree(rt);
}

static uint32_t fnv1a(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 16777619u;
    return h;
}

static uint32_t hash_id(const char *id)
{
    return fnv1a(id) & (BUCKETS - 1); /* ids are random already */
}

/* The link holding ip's entry (or the bucket's end). Under the lock. */
static struct ip_subs **ip_slot_locked(struct core_realtime *rt, const char *ip)
{
    struct ip_subs **pp = &rt->ip_buckets[fnv1a(ip) & (IP_BUCKETS - 1)];
    while (*pp && strcmp((*pp)->ip, ip) != 0)
        pp = &(*pp)->next;
    return pp;
}

static size_t ip_count_locked(struct core_realtime *rt, const char *ip)
{
    struct ip_subs *e = *ip_slot_locked(rt, ip);
    return e ? e->count : 0;
}

/* Replaces was subscriptions of ip by now; an entry lives while it counts. */
static void ip_recount_locked(struct core_realtime *rt, const char *ip, size_t was, size_t now)
{
    if (was == now)
        return;
    struct ip_subs **pp = ip_slot_locked(rt, ip);
    if (!*pp) {
        *pp = xcalloc(1, sizeof(**pp));
        snprintf((*pp)->ip, sizeof((*pp)->ip), "%s", ip);
    }
    struct ip_subs *e = *pp;
    e->count = e->count + now - (was < e->count ? was : e->count);
    if (e->count == 0) {
        *pp = e->next;
        xfree(e);
    }
}

static size_t subs_count(const struct core_rt_subs *s)
{
    return s ? s->count : 0;
}

/* -------------------------------------------------------------------------
 * Clients
 * ------------------------------------------------------------------------- */

void core_realtime_attach(struct core_worker *cw)
{
    struct core_realtime *rt = cw->realtime;
    if (!cw->rt) {
        cw->rt = xcalloc(1, sizeof(*cw->rt));
        list_init(&cw->rt->clients);
        atomic_init(&cw->rt->fanouts, 0);
    }
    uv_mutex_lock(&rt->lock);
    if (rt->worker_count < MAX_WORKERS)
        rt->workers[rt->worker_count++] = cw;
    uv_mutex_unlock(&rt->lock);
}

void core_realtime_detach(struct core_worker *cw)
{
    struct core_realtime *rt = cw->realtime;
    if (!rt)
        return; /* never attached */
    uv_mutex_lock(&rt->lock);
    for (size_t i = 0; i < rt->worker_count; i++) {
        if (rt->workers[i] == cw) {
            rt->workers[i] = rt->workers[--rt->worker_count];
            break;
        }
    }
    uv_mutex_unlock(&rt->lock);
}

void core_realtime_worker_free(struct core_worker *cw)
{
    core_realtime_detach(cw);
    xfree(cw->rt);
    cw->rt = NULL;
}

struct core_rt_client *core_realtime_connect(struct core_worker *cw, const char *remote_addr,
                                             core_rt_deliver_fn *deliver, void *deliver_ctx)
{
    struct core_realtime *rt = cw->realtime;
    struct core_rt_client *client = xcalloc(1, sizeof(*client));
    static const char alnum[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    /* With --redis the id begins with the instance's (see core_rt_remote);
     * what follows stays random enough to be unguessable (32 of 62 symbols). */
    size_t pre = rt->has_remote ? strlen(rt->remote.id_prefix) : 0;
    memcpy(client->id, rt->remote.id_prefix, pre);
    (void)secure_random_string(STR_LIT(alnum), client->id + pre, CORE_RT_CLIENT_ID_LEN - pre);
    client->id[CORE_RT_CLIENT_ID_LEN] = '\0';
    client->owner = cw;
    snprintf(client->remote_addr, sizeof(client->remote_addr), "%s", remote_addr);
    client->deliver = deliver;
    client->deliver_ctx = deliver_ctx;
    list_push_back(&cw->rt->clients, &client->link);
    cw->rt->client_count++;
    uint32_t h = hash_id(client->id);
    uv_mutex_lock(&rt->lock);
    client->next_id = rt->buckets[h];
    rt->buckets[h] = client;
    rt->client_count++;
    uv_mutex_unlock(&rt->lock);
    return client;
}

void core_realtime_disconnect(struct core_rt_client *client)
{
    struct core_worker *cw = client->owner;
    struct core_realtime *rt = cw->realtime;
    uint32_t h = hash_id(client->id);
    uv_mutex_lock(&rt->lock);
    for (struct core_rt_client **pp = &rt->buckets[h]; *pp; pp = &(*pp)->next_id) {
        if (*pp == client) {
            *pp = client->next_id;
            rt->client_count--;
            break;
        }
    }
    struct core_rt_subs *subs = client->subs;
    client->subs = NULL;
    ip_recount_locked(rt, client->remote_addr, subs_count(subs), 0);
    uv_mutex_unlock(&rt->lock);
    core_rt_subs_release(subs);
    list_remove(&client->link);
    cw->rt->client_count--;
    xfree(client);
}

bool core_realtime_is_busy(struct core_worker *cw)
{
    return cw->rt && atomic_load(&cw->rt->fanouts) > 0;
}

void core_realtime_fanout_time(struct core_realtime *rt, struct metrics_hist *out)
{
    metrics_hist_sum(out, &rt->fanout_time);
}

size_t core_realtime_client_count(struct core_realtime *rt)
{
    uv_mutex_lock(&rt->lock);
    size_t n = rt->client_count;
    uv_mutex_unlock(&rt->lock);
    return n;
}

static struct core_rt_client *find_locked(struct core_realtime *rt, const char *id)
{
    for (struct core_rt_client *c = rt->buckets[hash_id(id)]; c; c = c->next_id)
        if (strcmp(c->id, id) == 0)
            return c;
    return NULL;
}

static bool has_identity(const struct core_auth *auth)
{
    return auth && auth->collection && auth->id;
}

static bool is_same_identity(const struct core_rt_identity *idn, const struct core_auth *auth)
{
    return has_identity(auth) && strcmp(idn->collection_id, auth->collection->id) == 0 &&
           strcmp(idn->record_id, auth->id) == 0;
}

/* Loads the requester a client's checks run as into a (the caller cleans
 * it up), from cw's connection and schema. Returns false, leaving a a
 * guest, when the stored identity was dropped: its record is gone or its
 * tokenKey changed (spec §7.2). */
static bool load_identity(struct core_worker *cw, const struct core_schema *schema,
                          const struct core_rt_identity *idn, struct core_auth *a)
{
    memset(a, 0, sizeof(*a));
    const struct core_collection *col =
        core_schema_find_exact(schema, str_from_cstr(idn->collection_id));
    json_t *rec = NULL;
    if (!col || core_record_load(cw->db, col, str_from_cstr(idn->record_id), &rec) != RC_OK)
        return false;
    const char *tk = json_string_value(json_object_get(rec, "tokenKey"));
    if (!tk || strcmp(tk, idn->token_key) != 0) {
        json_decref(rec);
        return false;
    }
    a->collection = col;
    a->record = rec;
    a->id = json_string_value(json_object_get(rec, "id"));
    a->is_superuser = strcmp(col->id, SUPERUSERS_ID) == 0;
    return true;
}

static bool is_identity_live(struct core_worker *cw, const struct core_rt_identity *idn)
{
    struct core_auth a;
    bool is_live = load_identity(cw, cw->realtime->schema_of(cw->realtime->schema_ctx), idn, &a);
    core_auth_cleanup(&a);
    return is_live;
}

static bool is_same_stored(const struct core_rt_identity *a, const struct core_rt_identity *b)
{
    return a->is_set == b->is_set && strcmp(a->collection_id, b->collection_id) == 0 &&
           strcmp(a->record_id, b->record_id) == 0 && strcmp(a->token_key, b->token_key) == 0;
}

/* The identity check, the per-IP cap and the new set, with the registry
 * locked. dropped is the stored identity as the caller found it no longer
 * live, or NULL. */
static enum rc apply_locked(struct core_realtime *rt, struct core_rt_client *client,
                            const struct core_auth *auth, struct core_rt_subs *subs,
                            const struct core_rt_identity *dropped, size_t max_per_ip)
{
    struct core_rt_identity *idn = &client->identity;
    if (idn->is_set && !is_same_identity(idn, auth)) {
        if (!dropped || !is_same_stored(idn, dropped))
            return RC_FORBIDDEN; /* changed meanwhile, or live */
    }
    size_t was = subs_count(client->subs);
    size_t now = subs_count(subs);
    if (max_per_ip && now > was &&
        ip_count_locked(rt, client->remote_addr) - was + now > max_per_ip)
        return RC_RATE_LIMITED;
    ip_recount_locked(rt, client->remote_addr, was, now);
    if (idn->is_set && !is_same_identity(idn, auth))
        memset(idn, 0, sizeof(*idn)); /* dropped: the client is a guest again */
    if (has_identity(auth)) {
        /* A guest's client is upgraded once (spec §7.2); the same identity
         * again refreshes the stored tokenKey (a new login after a
         * password change must not leave the client a guest). */
        idn->is_set = true;
        snprintf(idn->collection_id, sizeof(idn->collection_id), "%s", auth->collection->id);
        snprintf(idn->record_id, sizeof(idn->record_id), "%s", auth->id);
        const char *tk = json_string_value(json_object_get(auth->record, "tokenKey"));
        snprintf(idn->token_key, sizeof(idn->token_key), "%s", tk ? tk : "");
    }
    struct core_rt_subs *old = client->subs;
    client->subs = subs;
    core_rt_subs_release(old);
    return RC_OK;
}

/* With the registry locked: the client of id (or the given one), after
 * the contract's checks; RC_OK and *out set, or the failure. */
static enum rc find_checked_locked(struct core_realtime *rt, const char *client_id,
                                   const char *remote_addr, struct core_rt_client *given,
                                   struct core_rt_client **out)
{
    if (given) {
        *out = given;
        return RC_OK;
    }
    struct core_rt_client *client = find_locked(rt, client_id);
    if (!client)
        return RC_NOT_FOUND;
    if (strcmp(client->remote_addr, remote_addr) != 0)
        return RC_CONFLICT;
    *out = client;
    return RC_OK;
}

/* A subscribe in three steps, so no database read happens under the
 * registry lock: look the client up; when another identity than the stored
 * one asks, check whether the stored one was dropped; apply. */
static enum rc subscribe(struct core_worker *cw, const char *client_id, const char *remote_addr,
                         struct core_rt_client *given, const struct core_auth *auth,
                         json_t *subs_json, struct core_problem *p)
{
    bool ok;
    struct core_rt_subs *subs = core_rt_subs_parse(subs_json, p, &ok);
    if (!ok)
        return RC_INVALID;
    const struct core_limits *l = cw->realtime->limits;
    if (l->realtime_max_subs && subs_count(subs) > l->realtime_max_subs) {
        char msg[64];
        snprintf(msg, sizeof(msg), "The length must be no more than %llu.",
                 (unsigned long long)l->realtime_max_subs);
        core_problem_field(p, "subscriptions", "validation_length_too_long", msg, NULL);
        core_rt_subs_release(subs);
        return RC_INVALID;
    }
    struct core_realtime *rt = cw->realtime;
    struct core_rt_client *client = NULL;
    struct core_rt_identity stored = {0};
    uv_mutex_lock(&rt->lock);
    enum rc rc = find_checked_locked(rt, client_id, remote_addr, given, &client);
    if (!rc)
        stored = client->identity;
    uv_mutex_unlock(&rt->lock);
    if (rc == RC_NOT_FOUND && !given && is_elsewhere(rt, client_id)) {
        core_rt_subs_release(subs);
        return rt->remote.subscribe(rt->remote.ctx, cw, client_id, remote_addr, auth, subs_json, p);
    }
    bool is_dropped = false;
    if (!rc && stored.is_set && !is_same_identity(&stored, auth))
        is_dropped = !is_identity_live(cw, &stored);
    if (!rc) {
        uv_mutex_lock(&rt->lock);
        rc = find_checked_locked(rt, client_id, remote_addr, given, &client);
        if (!rc)
            rc = apply_locked(rt, client, auth, subs, is_dropped ? &stored : NULL,
                              (size_t)l->realtime_max_subs_ip);
        uv_mutex_unlock(&rt->lock);
    }
    if (rc)
        core_rt_subs_release(subs);
    return rc;
}

enum rc core_realtime_subscribe(struct core_worker *cw, const char *client_id,
                                const char *remote_addr, const struct core_auth *auth,
                                json_t *subs_json, struct core_problem *p)
{
    return subscribe(cw, client_id, remote_addr, NULL, auth, subs_json, p);
}

enum rc core_realtime_subscribe_client(struct core_worker *cw, struct core_rt_client *client,
                                       const struct core_auth *auth, json_t *subs_json,
                                       struct core_problem *p)
{
    return subscribe(cw, NULL, NULL, client, auth, subs_json, p);
}

/* -------------------------------------------------------------------------
 * Events
 * ------------------------------------------------------------------------- */

/* What the checks of one event for the clients of one IP address have cost
 * on this worker (issue #20: ten guests with a thousand distinct filters
 * each made every write cost seconds). */
struct ip_cost {
    char ip[48]; /* "": a free slot */
    struct core_cost cost;
    bool is_logged;
};

/* One event's fan-out on one worker: a bookmark in the worker's client list,
 * the renderings made so far, keyed by what decides them, and what each
 * IP's clients have cost. */
struct fanout {
    struct core_event *ev; /* NULL: a message on a custom topic (below) */
    struct core_worker *cw;
    char *topic; /* a message's topic, data (JSON text) and addressee (to.is_set) */
    char *data;
    struct core_rt_identity to;
    struct core_rt_client cursor;
    json_t *memo; /* key -> data line (string), or null: not for them */
    struct arena arena;
    struct ip_cost *ips; /* open addressing, ip_cap a power of two */
    size_t ip_cap;
    size_t ip_used;
    struct fanout *next_queued; /* core_rt_local's queue */
    uint64_t posted_ns;         /* an event's: when its commit was noticed */
    /* Per rule (list, view), found at its first use: the field the rule
     * requires to equal the subscriber's id (owner_field_of), or NULL. */
    const char *owner[2];
    bool is_owner_known[2];
    bool is_read_fresh; /* this slice's read transaction was begun (fresh_read) */
};

static void fanout_free(struct fanout *f)
{
    if (list_is_linked(&f->cursor.link))
        list_remove(&f->cursor.link);
    json_decref(f->memo);
    xfree(f->ips);
    arena_cleanup(&f->arena);
    if (f->ev)
        core_event_unref(f->ev);
    xfree(f->topic);
    xfree(f->data);
    atomic_fetch_sub(&f->cw->rt->fanouts, 1);
    xfree(f);
}

static bool topic_matches(const struct core_rt_sub *sub, const struct core_event *ev)
{
    if (strcmp(sub->collection, ev->c->name) != 0 && strcmp(sub->collection, ev->c->id) != 0)
        return false;
    if (!sub->record_id)
        return true;
    return strcmp(sub->record_id, ev->id) == 0;
}

static bool names_request_data(const char *filter)
{
    return strstr(filter, "@request.") || strstr(filter, "@collection.");
}

/* The slot of ip in f's table (found or new), the table grown at half full. */
static struct ip_cost *ip_cost_of(struct fanout *f, const char *ip)
{
    if ((f->ip_used + 1) * 2 > f->ip_cap) {
        size_t cap = f->ip_cap ? f->ip_cap * 2 : 16;
        struct ip_cost *ips = xcalloc(cap, sizeof(*ips));
        for (size_t i = 0; i < f->ip_cap; i++) {
            if (!f->ips[i].ip[0])
                continue;
            size_t j = fnv1a(f->ips[i].ip) & (cap - 1);
            while (ips[j].ip[0])
                j = (j + 1) & (cap - 1);
            ips[j] = f->ips[i];
        }
        xfree(f->ips);
        f->ips = ips;
        f->ip_cap = cap;
    }
    size_t j = fnv1a(ip) & (f->ip_cap - 1);
    while (f->ips[j].ip[0] && strcmp(f->ips[j].ip, ip) != 0)
        j = (j + 1) & (f->ip_cap - 1);
    struct ip_cost *e = &f->ips[j];
    if (!e->ip[0]) {
        snprintf(e->ip, sizeof(e->ip), "%s", ip[0] ? ip : "-");
        const struct core_limits *l = f->cw->realtime->limits;
        core_cost_init(&e->cost, l, l->realtime_budget_ns);
        f->ip_used++;
    }
    return e;
}

/* The field rule n requires to equal the subscriber's id: `field =
 * @request.auth.id` (either way round) among its top-level "&&" terms, field
 * a single-valued text, email or relation field of c; NULL when none. */
static const char *owner_field_of(const struct core_fnode *n, const struct core_collection *c)
{
    if (n->kind == CORE_FNODE_AND) {
        for (size_t i = 0; i < n->count; i++) {
            const char *name = owner_field_of(n->items[i], c);
            if (name)
                return name;
        }
        return NULL;
    }
    if (n->kind != CORE_FNODE_CMP || n->op != CORE_FOP_EQ)
        return NULL;
    const struct str me = STR_LIT("@request.auth.id");
    const struct core_foperand *field = &n->left;
    const struct core_foperand *auth = &n->right;
    if (field->kind == CORE_FOPD_IDENT && str_eq(field->text, me)) {
        field = &n->right;
        auth = &n->left;
    }
    if (field->kind != CORE_FOPD_IDENT || auth->kind != CORE_FOPD_IDENT || !str_eq(auth->text, me))
        return NULL;
    const struct core_field *fd = core_collection_field(c, field->text);
    if (!fd)
        return NULL;
    bool is_single = fd->type == CORE_FIELD_TEXT || fd->type == CORE_FIELD_EMAIL ||
                     (fd->type == CORE_FIELD_RELATION && fd->max_select <= 1);
    return is_single ? fd->name : NULL;
}

/* Whether sub's rule surely refuses the event to whoever idn names, known
 * without a query: the rule requires a field to equal the subscriber's id
 * (owner_field_of) and the record holds another, non-empty id there. That
 * subscriber fails the rule signed in as idn, and as the guest it becomes
 * when idn no longer loads (id ""). A superuser passes every rule: never
 * refused here. On PostgreSQL a rule check and an identity load are round
 * trips each: a per-user rule over 10,000 subscribers would otherwise cost
 * 20,000 of them per event, for the one subscriber it is for. */
static bool rule_refuses(struct fanout *f, const struct core_rt_sub *sub,
                         const struct core_rt_identity *idn)
{
    if (idn->is_set && strcmp(idn->collection_id, SUPERUSERS_ID) == 0)
        return false;
    const struct core_collection *c = f->ev->c;
    int which = sub->record_id ? 1 : 0;
    if (!f->is_owner_known[which]) {
        f->is_owner_known[which] = true;
        const char *rule = c->rules[which ? CORE_RULE_VIEW : CORE_RULE_LIST];
        struct arena a;
        arena_init(&a, 4096);
        struct core_fnode *root = NULL;
        char err[160];
        if (rule && rule[0] &&
            core_filter_parse(str_from_cstr(rule), &a, &root, err, sizeof(err)) == RC_OK)
            f->owner[which] = owner_field_of(root, c);
        arena_cleanup(&a);
    }
    if (!f->owner[which])
        return false;
    const char *held = json_string_value(json_object_get(f->ev->values, f->owner[which]));
    if (!held || !held[0])
        return false;
    return !idn->is_set || strcmp(held, idn->record_id) != 0;
}

/* The data line for sub as auth sees it; NULL when it must not be sent. */
static json_t *render(struct fanout *f, const struct core_rt_sub *sub, const struct core_auth *auth,
                      struct core_cost *cost)
{
    const struct core_collection *c = f->ev->c;
    const char *rule = c->rules[sub->record_id ? CORE_RULE_VIEW : CORE_RULE_LIST];
    bool su = auth->is_superuser;
    if (!rule && !su)
        return NULL;
    const char *filter = json_string_value(json_object_get(sub->query, "filter"));
    if (filter && !su && names_request_data(filter))
        return NULL;
    struct core_request r = {
        .cw = f->cw,
        .schema = f->ev->schema,
        .arena = &f->arena,
        .auth = auth,
        .cost = cost,
        .filter_request =
            {
                .auth_collection = auth->collection,
                .auth = auth->record,
                .query = sub->query,
                .headers = sub->headers,
                .method = "GET",
                .context = "realtime",
            },
    };
    struct core_output_opts o = {0};
    const char *expand = json_string_value(json_object_get(sub->query, "expand"));
    const char *fields = json_string_value(json_object_get(sub->query, "fields"));
    o.expand = str_from_cstr(expand ? expand : "");
    o.fields = str_from_cstr(fields ? fields : "");
    struct buf out;
    buf_init(&out, 1u << 26);
    enum rc rc = buf_append_cstr(&out, "{\"action\":\"");
    if (!rc)
        rc = buf_append_cstr(&out, core_event_action_name(f->ev->action));
    if (!rc)
        rc = buf_append_cstr(&out, "\",\"record\":");
    if (!rc)
        rc = core_record_render_values(&r, c, f->ev->values, su ? "" : rule,
                                       str_from_cstr(filter ? filter : ""), &o, &out);
    if (!rc)
        rc = buf_append_cstr(&out, "}");
    json_t *line = rc ? NULL : json_stringn(out.data, out.len);
    buf_cleanup(&out);
    return line;
}

/* The slice's read transaction, begun at its first check or rendering: one
 * begun earlier in this loop iteration predates the commit. A slice whose
 * lines all come from the memo reads nothing (on PostgreSQL two round trips
 * saved per slice: 160 per event to 10,000 subscribers). */
static void fresh_read(struct fanout *f)
{
    if (f->is_read_fresh)
        return;
    f->is_read_fresh = true;
    core_worker_end_read(f->cw);
    core_worker_begin_read(f->cw);
}

/* A client's subscriptions (retained: release them) and identity, read
 * under the lock; NULL when it has none. */
static struct core_rt_subs *client_subs(struct core_realtime *rt, struct core_rt_client *client,
                                        struct core_rt_identity *idn)
{
    uv_mutex_lock(&rt->lock);
    struct core_rt_subs *subs = client->subs;
    if (subs)
        core_rt_subs_retain(subs);
    *idn = client->identity;
    uv_mutex_unlock(&rt->lock);
    return subs;
}

/* Sends the event to one client, for each subscription that matches. The
 * checks and renderings it needs beyond what the memo holds are charged to
 * the client's IP (looked up only then, so a memo hit reads no clock); once
 * an IP's budget for the event is spent, its clients get only what others
 * already paid for, and the rest of the event is lost to them. */
static void deliver_to(struct fanout *f, struct core_rt_client *client)
{
    struct core_rt_identity idn;
    struct core_rt_subs *subs = client_subs(f->cw->realtime, client, &idn);
    if (!subs)
        return;
    char who[200];
    if (idn.is_set)
        snprintf(who, sizeof(who), "%s/%s", idn.collection_id, idn.record_id);
    else
        who[0] = '\0';
    static const struct core_auth guest = {0};
    struct core_auth loaded;
    bool is_loaded = false;
    struct ip_cost *ic = NULL; /* charged from the first rendering on */
    for (size_t i = 0; i < subs->count; i++) {
        const struct core_rt_sub *sub = &subs->items[i];
        if (!topic_matches(sub, f->ev) || rule_refuses(f, sub, &idn))
            continue;
        struct buf key;
        buf_init(&key, 1u << 16);
        (void)buf_append_cstr(&key, sub->record_id ? "v|" : "l|");
        (void)buf_append_cstr(&key, who);
        (void)buf_append_cstr(&key, "|");
        (void)buf_append_cstr(&key, sub->options);
        (void)buf_append(&key, "", 1);
        json_t *line = key.data ? json_object_get(f->memo, key.data) : NULL;
        if (!line && key.data) {
            if (!ic) {
                ic = ip_cost_of(f, client->remote_addr);
                core_cost_enter(f->cw, &ic->cost);
            }
            fresh_read(f);
            if (!core_cost_check(&ic->cost) && idn.is_set && !is_loaded) {
                /* Loaded per client and dropped after it: a fan-out to many
                 * identities holds one at a time (the memo shares lines
                 * between subscribers with the same identity and options). */
                (void)load_identity(f->cw, f->ev->schema, &idn, &loaded);
                is_loaded = true;
            }
            if (!core_cost_check(&ic->cost))
                line = render(f, sub, idn.is_set ? &loaded : &guest, &ic->cost);
            if (core_cost_check(&ic->cost)) {
                /* Cut short or not tried: no answer, for this client or others. */
                json_decref(line);
                line = NULL;
            } else {
                json_object_set_new_nocheck(f->memo, key.data, line ? line : json_null());
            }
            arena_reset(&f->arena);
        }
        buf_cleanup(&key);
        if (json_is_string(line))
            client->deliver(client->deliver_ctx, str_from_cstr(sub->raw),
                            (struct str){json_string_value(line), json_string_length(line)});
    }
    if (is_loaded)
        core_auth_cleanup(&loaded);
    core_rt_subs_release(subs);
    if (!ic)
        return;
    core_cost_leave(f->cw, &ic->cost);
    if (core_cost_check(&ic->cost) && !ic->is_logged) {
        ic->is_logged = true;
        log_warn("msg=\"realtime checks over budget: this IP's subscribers miss the event\" "
                 "ip=%s collection=%s reason=\"%s\"",
                 ic->ip, f->ev->c->name, core_cost_message(&ic->cost));
    }
}

/* A custom topic's message to one client: once per subscription whose
 * text before '?' is the topic (the SDK dispatches by the whole text), when
 * the client is the addressee, if there is one, signed in still. */
static void deliver_message(struct fanout *f, struct core_rt_client *client)
{
    struct core_rt_identity idn;
    struct core_rt_subs *subs = client_subs(f->cw->realtime, client, &idn);
    if (!subs)
        return;
    size_t tl = strlen(f->topic);
    bool is_checked = false;
    for (size_t i = 0; i < subs->count; i++) {
        const char *raw = subs->items[i].raw;
        if (strcspn(raw, "?") != tl || memcmp(raw, f->topic, tl) != 0)
            continue;
        if (f->to.is_set && !is_checked) {
            if (!idn.is_set || strcmp(idn.collection_id, f->to.collection_id) != 0 ||
                strcmp(idn.record_id, f->to.record_id) != 0 || !is_identity_live(f->cw, &idn))
                break;
            is_checked = true;
        }
        client->deliver(client->deliver_ctx, str_from_cstr(raw), str_from_cstr(f->data));
    }
    core_rt_subs_release(subs);
}

static void fanout_begin(struct fanout *f);

/* The fan-out under way ended (f freed): the next queued one begins, on a
 * later turn (no recursion through a queue of events without clients). */
static void fanout_next(void *arg)
{
    struct core_worker *cw = arg;
    struct core_rt_local *l = cw->rt;
    struct fanout *f = l->queue_head;
    if (!f) {
        l->is_fanning_out = false;
        return;
    }
    l->queue_head = f->next_queued;
    if (!l->queue_head)
        l->queue_tail = NULL;
    fanout_begin(f);
}

static void fanout_end(struct fanout *f)
{
    struct core_worker *cw = f->cw;
    if (f->ev)
        metrics_hist_observe_shared(&cw->realtime->fanout_time,
                                    (chrono_mono_ns() - f->posted_ns) / 1000);
    fanout_free(f);
    if (cw->rt->queue_head)
        net_mailbox_post(cw->mailbox, fanout_next, cw);
    else
        cw->rt->is_fanning_out = false;
}

static void fanout_run(void *arg)
{
    struct fanout *f = arg;
    struct core_worker *cw = f->cw;
    f->is_read_fresh = false;
    if (!f->ev) /* a message: its addressee's identity is read (deliver_message) */
        fresh_read(f);
    /* The walk holds clients across rule checks: on PostgreSQL these wait
     * without yielding, so no disconnect frees one under it. */
    coro_hold();
    size_t served = 0;
    uint64_t started = chrono_mono_ns();
    while (f->cursor.link.next != &cw->rt->clients && served < SLICE &&
           chrono_mono_ns() - started < SLICE_NS) {
        struct list_node *n = f->cursor.link.next;
        list_remove(&f->cursor.link);
        /* Move the bookmark past n first: delivery may not free n, but keep
         * the walk independent of what a callback does. */
        f->cursor.link.prev = n;
        f->cursor.link.next = n->next;
        n->next->prev = &f->cursor.link;
        n->next = &f->cursor.link;
        struct core_rt_client *client = list_entry(n, struct core_rt_client, link);
        if (client->is_cursor)
            continue;
        if (f->ev)
            deliver_to(f, client);
        else
            deliver_message(f, client);
        served++;
    }
    coro_release();
    if (f->cursor.link.next == &cw->rt->clients) {
        fanout_end(f);
        return;
    }
    net_mailbox_post(cw->mailbox, fanout_run, f); /* the rest on a later turn */
}

static void fanout_begin(struct fanout *f)
{
    struct core_worker *cw = f->cw;
    if (list_is_empty(&cw->rt->clients)) {
        fanout_end(f);
        return;
    }
    /* The bookmark goes first; clients arriving later are appended after it
     * and get the event too, which is harmless. */
    struct list_node *head = &cw->rt->clients;
    f->cursor.link.prev = head;
    f->cursor.link.next = head->next;
    head->next->prev = &f->cursor.link;
    head->next = &f->cursor.link;
    fanout_run(f);
}

/* A posted fan-out reaches its worker: it begins now, or after the ones
 * before it (queued). */
static void fanout_start(void *arg)
{
    struct fanout *f = arg;
    struct core_rt_local *l = f->cw->rt;
    if (l->is_fanning_out) {
        if (l->queue_tail)
            l->queue_tail->next_queued = f;
        else
            l->queue_head = f;
        l->queue_tail = f;
        return;
    }
    l->is_fanning_out = true;
    fanout_begin(f);
}

/* The bus listener's on_commit: one event to every worker. */
static void on_commit(void *ctx, struct core_event *ev)
{
    struct core_realtime *rt = ctx;
    uv_mutex_lock(&rt->lock);
    if (rt->client_count > 0) {
        for (size_t i = 0; i < rt->worker_count; i++) {
            struct core_worker *cw = rt->workers[i];
            struct fanout *f = xcalloc(1, sizeof(*f));
            core_event_ref(ev);
            atomic_fetch_add(&cw->rt->fanouts, 1);
            f->ev = ev;
            f->cw = cw;
            f->posted_ns = chrono_mono_ns();
            f->cursor.is_cursor = true;
            f->memo = json_object();
            arena_init(&f->arena, 16384);
            net_mailbox_post(cw->mailbox, fanout_start, f);
        }
    }
    uv_mutex_unlock(&rt->lock);
}

static bool wants_events(void *ctx, const struct core_collection *c)
{
    (void)c;
    return core_realtime_client_count(ctx) > 0;
}

struct core_event_listener core_realtime_listener(struct core_realtime *rt)
{
    /* Another instance's change reaches this one's clients as one of ours. */
    return (struct core_event_listener){
        .wants = wants_events, .on_commit = on_commit, .on_remote = on_commit, .ctx = rt};
}

void core_realtime_publish(struct core_realtime *rt, const char *topic, const char *data,
                           const char *to_collection_id, const char *to_record_id)
{
    if (rt->has_remote)
        rt->remote.publish(rt->remote.ctx, topic, data, to_collection_id, to_record_id);
    core_realtime_publish_local(rt, topic, data, to_collection_id, to_record_id);
}

void core_realtime_publish_local(struct core_realtime *rt, const char *topic, const char *data,
                                 const char *to_collection_id, const char *to_record_id)
{
    struct core_rt_identity to = {0};
    if (to_collection_id && to_record_id) {
        to.is_set = true;
        snprintf(to.collection_id, sizeof(to.collection_id), "%s", to_collection_id);
        snprintf(to.record_id, sizeof(to.record_id), "%s", to_record_id);
    }
    uv_mutex_lock(&rt->lock);
    for (size_t i = 0; rt->client_count > 0 && i < rt->worker_count; i++) {
        struct core_worker *cw = rt->workers[i];
        struct fanout *f = xcalloc(1, sizeof(*f));
        atomic_fetch_add(&cw->rt->fanouts, 1);
        f->cw = cw;
        f->topic = xstrdup(topic);
        f->data = xstrdup(data);
        f->to = to;
        f->cursor.is_cursor = true;
        arena_init(&f->arena, 256);
        net_mailbox_post(cw->mailbox, fanout_start, f);
    }
    uv_mutex_unlock(&rt->lock);
}

/* -------------------------------------------------------------------------
 * Direct messages (the OAuth2 redirect's handoff)
 * ------------------------------------------------------------------------- */

struct direct {
    struct core_realtime *rt;
    struct core_worker *owner;
    char id[CORE_RT_CLIENT_ID_LEN + 1];
    char *topic;
    char *data;
};

/* On the owner's loop: the client, if still there, is the owner's to use. */
static void direct_run(void *arg)
{
    struct direct *d = arg;
    uv_mutex_lock(&d->rt->lock);
    struct core_rt_client *client = find_locked(d->rt, d->id);
    uv_mutex_unlock(&d->rt->lock);
    if (client)
        client->deliver(client->deliver_ctx, str_from_cstr(d->topic), str_from_cstr(d->data));
    atomic_fetch_sub(&d->owner->rt->fanouts, 1);
    xfree(d->topic);
    xfree(d->data);
    xfree(d);
}

enum rc core_realtime_send(struct core_realtime *rt, const char *client_id, const char *remote_addr,
                           const char *topic, const char *data)
{
    if (strlen(client_id) != CORE_RT_CLIENT_ID_LEN)
        return RC_NOT_FOUND;
    uv_mutex_lock(&rt->lock);
    struct core_rt_client *client = find_locked(rt, client_id);
    bool is_subscribed = false;
    for (size_t i = 0; client && client->subs && i < client->subs->count && !is_subscribed; i++)
        is_subscribed = strcmp(client->subs->items[i].raw, topic) == 0;
    struct core_worker *owner = NULL;
    for (size_t i = 0; is_subscribed && i < rt->worker_count; i++) {
        if (rt->workers[i] == client->owner) /* still attached: its mailbox is open */
            owner = client->owner;
    }
    if (owner && strcmp(client->remote_addr, remote_addr) != 0)
        owner = NULL;
    if (owner) /* the worker does not exit before the message ran (is_busy) */
        atomic_fetch_add(&owner->rt->fanouts, 1);
    uv_mutex_unlock(&rt->lock);
    if (!client && is_elsewhere(rt, client_id))
        return rt->remote.send(rt->remote.ctx, client_id, remote_addr, topic, data);
    if (!owner)
        return RC_NOT_FOUND;
    struct direct *d = xcalloc(1, sizeof(*d));
    d->rt = rt;
    d->owner = owner;
    memcpy(d->id, client_id, CORE_RT_CLIENT_ID_LEN + 1);
    d->topic = xstrdup(topic);
    d->data = xstrdup(data);
    net_mailbox_post(owner->mailbox, direct_run, d);
    return RC_OK;
}
