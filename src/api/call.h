/* call.h -- one API request as the handlers see it (layer: api).
 *
 * Wraps the HTTP request with what every handler needs: the requester (from
 * the Authorization header), the schema snapshot, the decoded body, the
 * problem to report, and core's view of the request. Allocated in the request
 * arena; its JSON references are released by an arena cleanup, so a handler
 * never frees it, even when it defers its response. The `_or_fail` helpers
 * write the error response and return the error, so handlers stay flat. */
#ifndef TARMAC_API_CALL_H
#define TARMAC_API_CALL_H

#include <jansson.h>

#include "api/worker.h"
#include "core/auth/auth.h"
#include "core/files/files.h"
#include "core/problem.h"
#include "core/record/record.h"
#include "http/req.h"

struct api_call {
    struct http_req *req;
    struct api_worker *aw;
    struct core_auth auth;
    enum rc auth_rc; /* the token could not be checked (core_auth_load): the _or_fail
                        helpers below fail the call with it */
    struct core_problem problem;
    struct core_request core;
    struct core_cost
        cost;           /* the request's (core.cost points here; a sub-request's at its batch's) */
    json_t *body;       /* decoded body object, or NULL before api_call_body_or_fail */
    json_t *query_json; /* @request.query */
    json_t *headers_json; /* @request.headers */
    /* multipart file parts (spec §8.1), in body order; slices into the body */
    struct core_upload *uploads; /* in the arena; NULL when none */
    size_t upload_count;
    /* A batch sub-request (api/batch.c) has its own query, headers and
     * answer: nothing is written to req for it. NULL for a plain request. */
    struct api_sub *sub;
};

/* What a batch sub-request answered, and how far it got. */
struct api_sub {
    const struct http_query_param *query; /* its URL's parameters (arena) */
    size_t query_count;
    json_t *headers; /* its headers, snake_case keys (owned by the batch) */
    int status;      /* 0 until answered */
    struct buf body; /* the answer's JSON (empty for 204) */
    bool is_deferred;
    bool is_finished;                        /* answered after a deferral (api_call_resume) */
    struct core_write_job *ready;            /* the prepared write, waiting for the batch */
    void (*on_ready)(struct api_call *c);    /* the write is prepared */
    void (*on_finished)(struct api_call *c); /* answered after a deferral */
    void *ctx;
};

/* Creates the call for req: loads the requester from Authorization and
 * starts its cost (core/cost.h): the budget of a superuser or of anyone
 * else, charged while the handler runs. When the requester could not be
 * loaded (auth_rc), api_call_collection_or_fail, api_call_body_or_fail and
 * api_call_require_auth_or_fail answer that error instead of going on with
 * a guest. */
struct api_call *api_call_new(struct http_req *req);
/* A deferred request's work goes on (a callback on its loop): its budget is
 * charged again until it answers or defers again. */
void api_call_enter(struct api_call *c);
/* api_call_enter, then: true when the client is still there; false when it
 * is gone, and then the call is already resumed (released): return. */
bool api_call_reenter(struct api_call *c);
/* rc, or RC_OVER_BUDGET when the request passed a limit of its cost (then
 * what core wrote is partial and must not be sent). */
enum rc api_call_cost_rc(struct api_call *c, enum rc rc);
/* A sub-request of outer (same requester, same arena) with its own body
 * (a new reference is taken) and sub (query, headers, where answers go). */
struct api_call *api_call_new_sub(struct api_call *outer, struct api_sub *sub, json_t *body);

/* The response helpers handlers use, so a batch can run them: a plain
 * request goes to req, a sub-request to its api_sub. */
/* Starts the answer; returns the body buffer to append to. */
struct buf *api_call_start(struct api_call *c, int status, const char *content_type);
/* http_req_defer / http_req_resume / http_req_is_gone for either kind;
 * deferring stops charging the budget (api_call_enter resumes it). */
void api_call_defer(struct api_call *c);
void api_call_resume(struct api_call *c);
bool api_call_is_gone(struct api_call *c);
/* Fills @request.* data for rules (query, headers, method, context). */
void api_call_request_data(struct api_call *c, const char *context);
/* Writes the error for rc with the call's problem (message, field errors);
 * RC_OVER_BUDGET without a message gets the sentence of the limit passed.
 * Returns RC_OK (responded). */
enum rc api_call_fail(struct api_call *c, enum rc rc);
/* Moves the problem of a finished job into the call's (leaving from empty). */
void api_call_take_problem(struct api_call *c, struct core_problem *from);
/* Finds the path's {collection}; on failure writes 404 with message. */
enum rc api_call_collection_or_fail(struct api_call *c, const char *message,
                                    const struct core_collection **out);
/* Decodes the body (JSON object, urlencoded form, multipart form with its
 * file parts in c->uploads; empty = {}); on failure writes 400 with message. */
enum rc api_call_body_or_fail(struct api_call *c, const char *message);
/* A query parameter (decoded), or "" when absent. */
struct str api_call_query(struct api_call *c, const char *key);
/* Whether every query parameter is one of names[0..n); else the first other
 * gets a field error validation_unknown_parameter with why ("Not a
 * parameter of ...") and the message "Unknown query parameter.". */
bool api_call_only_query(struct api_call *c, const char *const *names, size_t n, const char *why);
/* Reads expand and fields into o. */
void api_call_output_opts(struct api_call *c, struct core_output_opts *o);
/* Answers 200 with the JSON in body (copied). */
enum rc api_call_json(struct api_call *c, int status, struct buf *body);
/* 401 with the contract's message unless the requester is authenticated;
 * with want_superuser, 403 for a non-superuser. */
enum rc api_call_require_auth_or_fail(struct api_call *c, bool want_superuser);

#endif
