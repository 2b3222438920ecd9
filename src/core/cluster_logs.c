/* cluster_logs.c -- see cluster_logs.h. */
#include "core/cluster_logs.h"

#include <stdatomic.h>
#include <string.h>
#include <uv.h>

#include "base/alloc.h"
#include "base/log.h"
#include "core/cluster/cluster.h"
#include "core/logs.h"
#include "net/offload.h"

/* How long a read waits for the other instances' answers. */
#define GATHER_MS 1500

/* One read waiting for answers. */
struct gather {
    uint64_t id;
    long long expected; /* answers to wait for; -1 until Redis counted the receivers */
    json_t *answers;    /* array */
    struct gather *next;
};

/* One process, one cluster: the reads' shared state (static: never freed). */
static struct {
    struct core_cluster *c;
    struct net_offload *offload;
    uv_once_t once;
    uv_mutex_t lock;
    uv_cond_t cond;
    struct gather *waiting;
    atomic_uint_fast64_t next_id;
} G = {.once = UV_ONCE_INIT};

static void init_once(void)
{
    uv_mutex_init(&G.lock);
    uv_cond_init(&G.cond);
}

static struct gather *find(uint64_t id)
{
    for (struct gather *x = G.waiting; x; x = x->next)
        if (x->id == id)
            return x;
    return NULL;
}

/* Redis counted the instances the request reached (worker 0's loop). */
static void on_counted(void *ctx, long long receivers)
{
    uint64_t id = (uint64_t)(uintptr_t)ctx;
    uv_mutex_lock(&G.lock);
    struct gather *x = find(id);
    if (x) /* itself among the receivers (it drops its own) */
        x->expected = receivers > 1 ? receivers - 1 : 0;
    uv_cond_broadcast(&G.cond);
    uv_mutex_unlock(&G.lock);
}

/* An answer to one of this instance's reads ("logr"). */
static void on_answer(void *ctx, json_t *msg)
{
    (void)ctx;
    uint64_t id = (uint64_t)json_integer_value(json_object_get(msg, "q"));
    uv_mutex_lock(&G.lock);
    struct gather *x = find(id);
    if (x)
        json_array_append(x->answers, msg);
    uv_cond_broadcast(&G.cond);
    uv_mutex_unlock(&G.lock);
}

/* core_logs_gather_fn: on the offload pool (the logs route's reads). */
static json_t *gather(void *ctx, json_t *request)
{
    (void)ctx;
    if (!request)
        return json_array();
    struct gather x = {
        .id = atomic_fetch_add(&G.next_id, 1) + 1, .expected = -1, .answers = json_array()};
    json_object_set_new(request, "q", json_integer((json_int_t)x.id));
    uv_mutex_lock(&G.lock);
    x.next = G.waiting;
    G.waiting = &x;
    uv_mutex_unlock(&G.lock);
    if (!core_cluster_publish_then(G.c, NULL, "logq", request, on_counted,
                                   (void *)(uintptr_t)x.id)) {
        uv_mutex_lock(&G.lock);
        x.expected = 0; /* Redis down: this instance's log only */
        uv_mutex_unlock(&G.lock);
    }
    uint64_t end = uv_hrtime() + (uint64_t)GATHER_MS * 1000000u;
    uv_mutex_lock(&G.lock);
    while (x.expected < 0 || (long long)json_array_size(x.answers) < x.expected) {
        uint64_t now = uv_hrtime();
        if (now >= end || uv_cond_timedwait(&G.cond, &G.lock, end - now) == UV_ETIMEDOUT)
            break;
    }
    for (struct gather **p = &G.waiting; *p; p = &(*p)->next) {
        if (*p == &x) {
            *p = x.next;
            break;
        }
    }
    bool is_short = x.expected < 0 || (long long)json_array_size(x.answers) < x.expected;
    uv_mutex_unlock(&G.lock);
    if (is_short)
        log_warn("msg=\"the request log of some instances did not answer in time\" "
                 "instances=%lld answered=%zu",
                 x.expected, json_array_size(x.answers));
    return x.answers;
}

/* Another instance's read, answered from this one's log on the pool. */
struct ask {
    json_t *msg;
};

static void answer_work(void *ctx)
{
    struct ask *a = ctx;
    const char *origin = json_string_value(json_object_get(a->msg, "o"));
    json_t *answer = core_logs_answer(a->msg);
    json_object_set(answer, "q", json_object_get(a->msg, "q"));
    if (origin)
        core_cluster_publish(G.c, origin, "logr", answer);
    else
        json_decref(answer);
}

static void answer_done(enum rc rc, void *ctx)
{
    struct ask *a = ctx;
    if (rc)
        log_warn("msg=\"another instance's request log read not answered: pool busy\"");
    json_decref(a->msg);
    xfree(a);
}

/* "logq" from another instance (worker 0's loop): read off the loop. */
static void on_request(void *ctx, json_t *msg)
{
    (void)ctx;
    struct ask *a = xmalloc(sizeof(*a));
    a->msg = json_incref(msg);
    if (net_offload_submit(G.offload, NULL, answer_work, answer_done, a) != RC_OK) {
        log_warn("msg=\"another instance's request log read not answered: pool full\"");
        json_decref(a->msg);
        xfree(a);
    }
}

void core_cluster_logs_start(struct core_cluster *c, struct net_offload *offload)
{
    uv_once(&G.once, init_once);
    G.c = c;
    G.offload = offload;
    core_cluster_handle(c, "logq", on_request, NULL);
    core_cluster_handle(c, "logr", on_answer, NULL);
    core_logs_set_gather(gather, NULL);
}

void core_cluster_logs_stop(void)
{
    core_logs_set_gather(NULL, NULL);
    G.c = NULL;
}
