/* registry.h -- the kinds of job a runner knows (layer: core, core/jobs/).
 *
 * One entry per kind (STYLE.md §1.4, "one description per variant"): its
 * name, retry policy and handler. Later issues add kinds (email, push,
 * scripts) as entries here, never as a switch elsewhere. */
#ifndef TARMAC_CORE_JOBS_REGISTRY_H
#define TARMAC_CORE_JOBS_REGISTRY_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/str.h"
#include "core/files/storage.h"
#include "core/jobs/job.h"
#include "net/http_out.h"

struct net_mailer;
struct core_schema;
struct core_event_bus;

/* The app's current schema snapshot (core/app.h's core_app_schema); any thread. */
typedef const struct core_schema *core_job_schema_fn(void *ctx);
/* The app's URL now (it follows the settings); valid until the app closes. */
typedef const char *core_job_app_url_fn(void *ctx);
/* The app's settings snapshot now (core/settings/settings.h); valid until the
 * app closes. */
struct core_settings;
typedef const struct core_settings *core_job_settings_fn(void *ctx);

/* What a handler can use: set by the runner (runner.h). */
struct core_job_env {
    struct store_conn *db;       /* the runner thread's own read connection */
    struct store_writer *writer; /* for the handler's own writes (a 410 disables its hook) */
    bool allow_private_network;  /* targets on private/loopback/link-local addresses allowed */
    int64_t http_timeout_ms;
    struct net_mailer *mailer;  /* the app's (email jobs); NULL: none */
    core_job_schema_fn *schema; /* the current schema (report, thumbs); NULL: none */
    void *schema_ctx;
    const char *dir;                /* the data directory (files live under it) */
    core_job_app_url_fn *app_url;   /* the base of links in mails ("http://host:port"), with
                                       schema_ctx; NULL: none */
    core_job_settings_fn *settings; /* the settings now (push), with schema_ctx; NULL: none */
    /* The app's event bus: a handler's record writes (core_record_run) hand
     * their events to it after the commit (realtime); NULL: none. */
    const struct core_event_bus *events;
    core_storage_fn *storage; /* the file storage in use now, with schema_ctx; NULL: the
                                 local storage under dir */
};

/* What one attempt came to. */
struct core_job_result {
    enum core_job_outcome outcome;
    int64_t retry_after_ms; /* RETRY: the server's Retry-After, 0 = none */
    /* RETRY: the connection broke under the request (reset, closed, an
     * HTTP/2 GOAWAY): a first attempt that failed so goes again at once, on
     * a new connection, instead of after the backoff. */
    bool is_connection_lost;
    char error[512]; /* RETRY/DEAD: why, kept as lastError */
};

/* Runs one attempt of job on a runner thread (may block: HTTP with a timeout). */
typedef void core_job_run_fn(const struct core_job_env *env, const struct core_job *job,
                             struct core_job_result *res);

/* One outbound HTTP request, the whole of an attempt of a kind that gives
 * prepare and complete (webhook, http): the runner sends a batch's calls
 * at once instead of one after another. */
struct core_job_call {
    struct net_http_out_req req;
    struct net_http_out_resp resp;
    char lines[4][160];                    /* the kind's own header lines */
    char *owned[NET_HTTP_OUT_MAX_HEADERS]; /* lines to free (core_job_http_headers) */
    char *body;                            /* freed with the call */
    void *state;                           /* the kind's own; complete frees it */
};

/* Builds job's request into call (zeroed). False: the attempt ended
 * without one, and res says how (complete is not called). */
typedef bool core_job_prepare_fn(const struct core_job_env *env, const struct core_job *job,
                                 struct core_job_call *call, struct core_job_result *res);
/* The attempt's outcome from call->resp; frees call->state. */
typedef void core_job_complete_fn(const struct core_job_env *env, const struct core_job *job,
                                  struct core_job_call *call, struct core_job_result *res);
/* Frees what a call holds besides state (owned lines, body). */
void core_job_call_cleanup(struct core_job_call *call);
/* Adds the header line fmt makes (allocated, freed with the call) to
 * call's request; dropped when the request has no room left. */
void core_job_call_add_line(struct core_job_call *call, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Sets call's request to an outside provider (push, SMS): method (NULL:
 * POST) with call->body to url, the answer into resp, env's timeout. The
 * provider's address is the superuser's setting: private addresses are
 * allowed, as for OAuth2 endpoints. Returns the request, for its headers. */
struct net_http_out_req *core_job_call_to_provider(struct core_job_call *call,
                                                   const struct core_job_env *env,
                                                   const char *method, const char *url,
                                                   struct buf *resp);

/* Why a payload cannot be this kind's (a sentence), NULL when it can: the
 * jobs API and scripts refuse it at enqueue instead of a dead job later. */
typedef const char *core_job_check_fn(json_t *payload);

/* How a kind's failed attempts go again: up to max_attempts (a job's
 * default), after a backoff doubling from base to cap, with jitter
 * (core_job_backoff_ms). Written {attempts, base, cap}. */
struct core_job_retry {
    int max_attempts;
    int64_t backoff_base_ms;
    int64_t backoff_cap_ms;
};

/* An outside provider's outage (push, SMS) is waited out for about a day:
 * 25 attempts, 2 s doubling to 1 h. */
#define CORE_JOB_RETRY_PROVIDER                                                                    \
    {                                                                                              \
        25, 2000, 60 * 60 * 1000                                                                   \
    }

struct core_job_kind {
    const char *name;
    struct core_job_retry retry;
    /* Either run, or prepare and complete (an attempt that is one HTTP request). */
    core_job_run_fn *run;
    core_job_prepare_fn *prepare;
    core_job_complete_fn *complete;
    core_job_check_fn *check; /* NULL: any object */
    /* The kind reads job->payload_text itself (job->payload stays NULL):
     * the runner does not parse it first. */
    bool raw_payload;
    /* After each batch a runner ran, on its thread: forgets what the kind
     * kept for the batch (webhook: the hooks it read). NULL: nothing kept. */
    void (*batch_end)(void);
};

/* The kind named name, or NULL: the table's, then the fallback's. Any thread. */
const struct core_job_kind *core_job_kind_find(struct str name);
/* The table's i-th kind (0..), NULL past the last: what the OpenAPI
 * document lists. */
const struct core_job_kind *core_job_kind_builtin_at(size_t i);
/* The kind named kind with payload (NULL or JSON null: none), checked as
 * an enqueue or a schedule takes them: field errors "kind" (unknown) and
 * "payload" (not an object, or refused by the kind's check) go to p.
 * Returns the kind, NULL when unknown. */
struct core_problem;
const struct core_job_kind *core_job_kind_check(const char *kind, json_t *payload,
                                                struct core_problem *p);
/* The table's kind named name, or NULL. */
const struct core_job_kind *core_job_kind_builtin(struct str name);
/* Kinds beyond the table (the job handlers of scripts, core/hooks): the
 * kind named name, valid until the process ends, or NULL. Any thread. */
typedef const struct core_job_kind *core_job_kind_fallback_fn(struct str name);
/* Sets the fallback; once, before the threads that enqueue and run jobs start. */
void core_job_kinds_set_fallback(core_job_kind_fallback_fn *fn);
/* Adds a built-in kind of a folder after jobs/ (push, notify: core/notify),
 * valid for the process's life; before the threads start. Adding one twice
 * is a no-op. */
void core_job_kinds_add(const struct core_job_kind *k);

#endif
