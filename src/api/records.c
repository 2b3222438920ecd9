/* records.c -- /api/collections/{collection}/records (spec §2). Parses input,
 * calls core, writes JSON. Writes defer their response until core's save
 * has finished: the offload pool's work (uploads, hashes) and the writer
 * thread's commit. */
#include "api/handlers.h"

#include <stdio.h>
#include <string.h>

#include "api/call.h"
#include "api/errors.h"
#include "api/records.h"
#include "base/alloc.h"
#include "base/log.h"
#include "core/auth/auth.h"
#include "core/record/record_save.h"
#include "http/server.h"
#include "net/mailbox.h"

/* A page piece's buffer larger than this is freed after use. */
#define PAGE_PIECE_KEEP ((size_t)1 << 20)

/* -------------------------------------------------------------------------
 * Reads
 * ------------------------------------------------------------------------- */

static bool parse_int(struct str s, int64_t *out)
{
    bool neg = s.len && s.ptr[0] == '-';
    uint64_t v;
    if (!str_to_u64(neg ? (struct str){s.ptr + 1, s.len - 1} : s, &v) || v > INT32_MAX)
        return false;
    *out = neg ? -(int64_t)v : (int64_t)v;
    return true;
}

static bool parse_bool(struct str s, bool *out)
{
    static const char *const yes[] = {"1", "t", "T", "true", "TRUE", "True"};
    static const char *const no[] = {"0", "f", "F", "false", "FALSE", "False"};
    for (int i = 0; i < 6; i++) {
        if (str_eq(s, str_from_cstr(yes[i]))) {
            *out = true;
            return true;
        }
        if (str_eq(s, str_from_cstr(no[i]))) {
            *out = false;
            return true;
        }
    }
    return false;
}

/* The rest of a large page (core_list_stream), sent as the reader takes it:
 * a body of unknown length whose pieces are made one per pull. A pull only
 * posts the piece to the worker's mailbox, so the piece is made on a later
 * turn of the loop: a fast reader's page does not run as one long callback
 * (nor recurse through the drain callback), and other connections are
 * served between pieces. */
struct page_body {
    struct api_worker *aw;
    struct core_list_stream *rest;
    struct http_body_source *src;
    struct buf piece;
    bool is_posted; /* a piece is queued in the mailbox */
    bool is_busy;   /* inside page_piece's call to the server, which may end the body */
    bool is_ended;  /* the server is done with the body */
    char request_id[65];
};

static void page_body_free(struct page_body *pb)
{
    core_list_stream_free(pb->rest);
    buf_cleanup(&pb->piece);
    xfree(pb);
}

static void page_piece(void *arg)
{
    struct page_body *pb = arg;
    pb->is_posted = false;
    pb->aw->page_pieces--;
    if (pb->is_ended) {
        page_body_free(pb);
        return;
    }
    buf_reset(&pb->piece);
    bool is_done = false;
    /* Busy from here: on PostgreSQL the read waits as a task, and the
     * client may leave (page_end) meanwhile. */
    pb->is_busy = true;
    enum rc rc = core_list_stream_next(pb->rest, &pb->piece, &is_done);
    if (pb->is_ended) {
        pb->is_busy = false;
        if (!pb->is_posted)
            page_body_free(pb);
        return;
    }
    if (rc) {
        /* The head is out: a short body must not pass for a whole one. */
        const char *why = core_list_stream_message(pb->rest);
        log_warn("msg=\"streamed page cut short\" rc=%s reason=\"%s\" rid=%s", rc_name(rc),
                 why ? why : "", pb->request_id);
        http_body_fail(pb->src);
    } else if (is_done) {
        http_body_end(pb->src, pb->piece.data, pb->piece.len);
    } else {
        http_body_push(pb->src, pb->piece.data, pb->piece.len); /* may pull again at once */
    }
    pb->is_busy = false;
    if (pb->is_ended && !pb->is_posted) {
        page_body_free(pb);
        return;
    }
    if (pb->piece.cap > PAGE_PIECE_KEEP)
        buf_cleanup(&pb->piece); /* one large record made it grow: give it back */
}

static void page_pull(void *ctx, struct http_body_source *src)
{
    struct page_body *pb = ctx;
    pb->src = src;
    pb->is_posted = true;
    pb->aw->page_pieces++;
    net_mailbox_post(pb->aw->core.mailbox, page_piece, pb);
}

static void page_end(void *ctx, bool is_complete)
{
    (void)is_complete;
    struct page_body *pb = ctx;
    pb->is_ended = true;
    if (!pb->is_posted && !pb->is_busy)
        page_body_free(pb);
}

static const struct http_body_ops page_ops = {.pull = page_pull, .on_end = page_end};

static void stream_page(struct api_call *c, struct core_list_stream *rest)
{
    struct page_body *pb = xcalloc(1, sizeof(*pb));
    pb->aw = c->aw;
    pb->rest = rest;
    buf_init(&pb->piece, (size_t)1 << 34);
    snprintf(pb->request_id, sizeof(pb->request_id), "%s", c->req->request_id);
    http_req_body_source(c->req, HTTP_BODY_LENGTH_UNKNOWN, &page_ops, pb);
}

enum rc api_records_list(struct http_req *req, void *ctx)
{
    (void)ctx;
    struct api_call *c = api_call_new(req);
    const struct core_collection *col;
    if (api_call_collection_or_fail(c, "Missing collection context.", &col))
        return RC_OK;
    struct core_list_opts lo = {.page = 1, .per_page = CORE_LIST_DEFAULT_PER_PAGE};
    struct str v = api_call_query(c, "page");
    if (v.len && !parse_int(v, &lo.page))
        return api_call_fail(c, RC_INVALID);
    v = api_call_query(c, "perPage");
    if (v.len && !parse_int(v, &lo.per_page))
        return api_call_fail(c, RC_INVALID);
    v = api_call_query(c, "skipTotal");
    if (v.len && !parse_bool(v, &lo.skip_total))
        return api_call_fail(c, RC_INVALID);
    if (lo.page <= 0)
        lo.page = 1;
    if (lo.per_page <= 0)
        lo.per_page = CORE_LIST_DEFAULT_PER_PAGE;
    if (lo.per_page > CORE_LIST_MAX_PER_PAGE)
        lo.per_page = CORE_LIST_MAX_PER_PAGE;
    lo.filter = api_call_query(c, "filter");
    lo.sort = api_call_query(c, "sort");
    /* Full-text search (core/record/search.h): beyond PocketBase. */
    lo.search = api_call_query(c, "search");
    v = api_call_query(c, "searchSnippet");
    if (v.len && !parse_bool(v, &lo.search_snippet)) {
        core_problem_field(&c->problem, "searchSnippet", "validation_invalid_value",
                           "Must be a boolean.", NULL);
        return api_call_fail(c, RC_INVALID);
    }
    if (lo.search_snippet && !lo.search.len) {
        core_problem_message(&c->problem, "searchSnippet needs a search.");
        core_problem_field(&c->problem, "searchSnippet", "validation_invalid_value",
                           "Snippets are of a search: give `search` too.", NULL);
        return api_call_fail(c, RC_INVALID);
    }
    /* Nearest neighbours (core/record/nearest.h): core checks them. */
    lo.nearest = api_call_query(c, "nearest");
    lo.to = api_call_query(c, "to");
    lo.k = api_call_query(c, "k");
    lo.metric = api_call_query(c, "metric");
    lo.exact = api_call_query(c, "exact");
    struct core_output_opts o = {0};
    api_call_output_opts(c, &o);
    if (lo.filter.len || (col->rules[CORE_RULE_LIST] && col->rules[CORE_RULE_LIST][0]))
        api_call_request_data(c, "default");
    http_resp_start(req, 200, "application/json");
    /* A HEAD needs the length and sends nothing: no stream for it. */
    struct core_list_stream *rest = NULL;
    enum rc rc = core_record_list(&c->core, col, &lo, &o, http_resp_body(req), &c->problem,
                                  req->method == HTTP_METHOD_HEAD ? NULL : &rest);
    rc = api_call_cost_rc(c, rc);
    if (rc) {
        core_list_stream_free(rest);
        return api_call_fail(c, rc);
    }
    if (rest)
        stream_page(c, rest);
    return RC_OK;
}

enum rc api_records_view(struct http_req *req, void *ctx)
{
    (void)ctx;
    struct api_call *c = api_call_new(req);
    const struct core_collection *col;
    if (api_call_collection_or_fail(c, "Missing collection context.", &col))
        return RC_OK;
    struct core_output_opts o = {0};
    api_call_output_opts(c, &o);
    if (col->rules[CORE_RULE_VIEW] && col->rules[CORE_RULE_VIEW][0])
        api_call_request_data(c, "default");
    http_resp_start(req, 200, "application/json");
    enum rc rc = core_record_view(&c->core, col, http_req_param(req, "id"), &o, http_resp_body(req),
                                  &c->problem);
    rc = api_call_cost_rc(c, rc);
    if (rc == RC_NOT_FOUND)
        c->problem.message[0] = '\0';
    return rc ? api_call_fail(c, rc) : RC_OK;
}

/* -------------------------------------------------------------------------
 * Writes: core saves the record (core/record/record_save.h); the handlers
 * translate HTTP to that call and its outcome back.
 * ------------------------------------------------------------------------- */

/* The save finished: its answer, on the request's loop. */
static void save_done(struct core_save *s, void *ctx)
{
    struct api_call *c = ctx;
    if (!api_call_reenter(c)) /* the answer may expand (charged to the request) */
        return;
    enum rc rc = core_record_save_rc(s);
    if (rc) {
        api_call_take_problem(c, core_record_save_problem(s));
        api_call_fail(c, rc);
    } else if (core_record_save_kind(s) == CORE_WRITE_DELETE) {
        api_call_start(c, 204, NULL);
    } else {
        struct core_output_opts o = {0};
        api_call_output_opts(c, &o);
        struct buf *out = api_call_start(c, 200, "application/json");
        rc = api_call_cost_rc(c, core_record_save_answer(s, &o, out, &c->problem));
        if (rc)
            api_call_fail(c, rc);
    }
    api_call_resume(c);
}

/* A batch item's write is prepared: the batch submits it with the others. */
static void save_ready(struct core_save *s, struct core_write_job *job, void *ctx)
{
    (void)s;
    struct api_call *c = ctx;
    c->sub->ready = job;
    c->sub->on_ready(c);
}

/* spec §6.13: a requester passing an auth collection's manageRule for the
 * record changes email, verified and password as a superuser would. */
static void find_manager(struct api_call *c, const struct core_collection *col, struct str id)
{
    if (col->type != CORE_COLLECTION_AUTH || !col->manage_rule || !c->auth.collection ||
        c->auth.is_superuser)
        return;
    char idz[256];
    size_t n = id.len < sizeof(idz) - 1 ? id.len : sizeof(idz) - 1;
    memcpy(idz, id.ptr, n);
    idz[n] = '\0';
    c->core.is_manager = core_rule_passes(&c->core, col, col->manage_rule, idz);
}

static enum rc save(struct api_call *c, const struct core_collection *col,
                    enum core_write_kind kind, struct str id)
{
    api_call_request_data(c, "default");
    if (kind == CORE_WRITE_UPDATE)
        find_manager(c, col, id);
    struct core_save_input in = {
        .kind = kind,
        .c = col,
        .id = id,
        .body = c->body,
        .uploads = c->uploads,
        .upload_count = c->upload_count,
        .is_batch_item = c->sub != NULL,
    };
    struct core_save *s;
    enum rc rc = core_record_save_prepare(&c->core, &in, &c->problem, &s);
    if (rc)
        return api_call_fail(c, rc);
    api_call_defer(c);
    rc = core_record_save_start(s, save_done, c->sub ? save_ready : NULL, c);
    if (rc) {
        /* The pool is full: answer now instead of deferring. */
        api_call_fail(c, rc);
        api_call_resume(c);
    }
    return RC_OK;
}

static bool refuses(struct api_call *c, const struct core_collection *col,
                    enum core_write_kind kind)
{
    enum rc rc = core_record_save_access(&c->core, col, kind, &c->problem);
    if (rc)
        api_call_fail(c, rc);
    return rc != RC_OK;
}

enum rc api_records_write(struct api_call *c, const struct core_collection *col,
                          enum core_write_kind kind, struct str id)
{
    if (refuses(c, col, kind))
        return RC_OK;
    return save(c, col, kind, id);
}

static enum rc write_handler(struct http_req *req, enum core_write_kind kind)
{
    struct api_call *c = api_call_new(req);
    const struct core_collection *col;
    const char *missing = kind == CORE_WRITE_DELETE ? "Missing collection context."
                                                    : "Missing or invalid collection context.";
    if (api_call_collection_or_fail(c, missing, &col) || refuses(c, col, kind))
        return RC_OK;
    if (kind != CORE_WRITE_DELETE &&
        api_call_body_or_fail(c, "Failed to load the submitted data due to invalid formatting."))
        return RC_OK;
    struct str id = kind == CORE_WRITE_CREATE ? (struct str){NULL, 0} : http_req_param(req, "id");
    return save(c, col, kind, id);
}

enum rc api_records_create(struct http_req *req, void *ctx)
{
    (void)ctx;
    return write_handler(req, CORE_WRITE_CREATE);
}

enum rc api_records_update(struct http_req *req, void *ctx)
{
    (void)ctx;
    return write_handler(req, CORE_WRITE_UPDATE);
}

enum rc api_records_delete(struct http_req *req, void *ctx)
{
    (void)ctx;
    return write_handler(req, CORE_WRITE_DELETE);
}
