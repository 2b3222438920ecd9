/* tarmac.h -- the C extension API: native code compiled into a custom tarmac
 * binary (`make EXT=my_ext.c`; docs/extensions.md). Version 1.
 *
 * An extension registers, from its TARMAC_EXTENSION block, the same hook
 * points Lua scripts have: record hooks (before/after create, update, delete
 * of one collection or all) and custom routes; both reach records through
 * tarmac_records_*, which run core's own read and save paths.
 *
 * Threads. Routes and "after" hooks run on a worker's event loop; "before"
 * hooks run on the database writer thread inside the write's transaction.
 * Callbacks must not block: reads answer at once, writes are asynchronous
 * (their callback runs later on the same loop). An extension's own globals
 * are shared by every worker and the writer: guard them.
 *
 * Values. Records are JSON objects behind struct tarmac_record (typed
 * accessors, or the whole record as JSON text). Strings passed in are
 * borrowed for the call and copied when kept. Strings returned by a
 * tarmac_request_* function live until tarmac_respond*; those returned by a
 * tarmac_record_* function until the record changes or is freed. char *
 * results ("caller frees") are freed with tarmac_free().
 *
 * Errors. Functions that can fail return 0 (TARMAC_OK) or a code below,
 * which is the HTTP status the REST API would answer for it; the message is
 * tarmac_ctx_error() for records calls, the server's log otherwise. */
#ifndef TARMAC_H
#define TARMAC_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TARMAC_EXT_API_VERSION 1

enum tarmac_code {
    TARMAC_OK = 0,
    TARMAC_INVALID = 400,      /* bad input: validation, a bad filter, a wrong call */
    TARMAC_UNAUTHORIZED = 401, /* the rule needs an authenticated requester */
    TARMAC_FORBIDDEN = 403,    /* a rule or a null rule refused */
    TARMAC_NOT_FOUND = 404,    /* no such collection or record (or the rule hides it) */
    TARMAC_CONFLICT = 409,
    TARMAC_TOO_LARGE = 413,
    TARMAC_INTERNAL = 500, /* the server's failure (details in its log) */
    TARMAC_BUSY = 503,     /* overloaded: try later */
};

struct tarmac_ext;     /* the registration handle (only during init) */
struct tarmac_record;  /* a record: a JSON object of its fields */
struct tarmac_event;   /* a record hook's call */
struct tarmac_request; /* a custom route's request and its answer */
struct tarmac_ctx;     /* who records calls run as, and where */

/* ---- Registration ---------------------------------------------------- */

/* TARMAC_EXTENSION(orders) { ...tarmac_on/tarmac_route(ext, ...); return 0; }
 * defines the extension `orders`: the body runs once when `tarmac serve`
 * starts, before it accepts connections; a non-zero return stops the server.
 * Several extensions may be linked into one binary; they run in link order.
 * The binary checks api_version against its own TARMAC_EXT_API_VERSION. */
typedef int tarmac_ext_init_fn(struct tarmac_ext *ext);
struct tarmac_ext_def {
    int api_version; /* TARMAC_EXT_API_VERSION as the extension was built */
    const char *name;
    tarmac_ext_init_fn *init;
};
/* Called by TARMAC_EXTENSION before main() runs; the definition is borrowed
 * for the process's life. */
void tarmac_ext_declare(const struct tarmac_ext_def *def);
#define TARMAC_EXTENSION(name)                                                                     \
    static int tarmac_ext_init_##name(struct tarmac_ext *ext);                                     \
    static const struct tarmac_ext_def tarmac_ext_def_##name = {TARMAC_EXT_API_VERSION, #name,     \
                                                                tarmac_ext_init_##name};           \
    __attribute__((constructor)) static void tarmac_ext_ctor_##name(void)                          \
    {                                                                                              \
        tarmac_ext_declare(&tarmac_ext_def_##name);                                                \
    }                                                                                              \
    static int tarmac_ext_init_##name(struct tarmac_ext *ext)

enum tarmac_hook {
    TARMAC_BEFORE_CREATE,
    TARMAC_BEFORE_UPDATE,
    TARMAC_BEFORE_DELETE,
    TARMAC_AFTER_CREATE,
    TARMAC_AFTER_UPDATE,
    TARMAC_AFTER_DELETE,
};

/* A record hook. "before": on the writer thread inside the transaction; may
 * change tarmac_event_record() (create, update) and refuses the write by
 * returning a code (400..599) with tarmac_event_error/_field_error. "after":
 * on the worker whose write committed; a non-zero return is only logged. */
typedef int tarmac_hook_fn(void *arg, struct tarmac_event *ev);
/* Adds a hook for collection (NULL: every collection); arg is passed back.
 * Hooks run in registration order, after Lua's. TARMAC_INVALID outside init. */
int tarmac_on(struct tarmac_ext *ext, enum tarmac_hook hook, const char *collection,
              tarmac_hook_fn *fn, void *arg);

/* A route handler, on a worker's loop. It answers with tarmac_respond or
 * tarmac_respond_error exactly once, now or later (after a write). */
typedef void tarmac_route_fn(void *arg, struct tarmac_request *req);
/* Adds method (GET, POST, PUT, PATCH, DELETE) + pattern ("/api/x/{id}", as
 * Lua's tarmac.route). Built-in routes win, then extensions', then Lua's.
 * TARMAC_INVALID for a bad method or pattern, a duplicate, or outside init. */
int tarmac_route(struct tarmac_ext *ext, const char *method, const char *pattern,
                 tarmac_route_fn *fn, void *arg);

/* ---- Records -------------------------------------------------------- */

/* The field's value: a string (NULL when absent or not a string), a number
 * (0 when absent or not a number), a bool (false likewise). */
const char *tarmac_record_id(const struct tarmac_record *rec);
const char *tarmac_record_get_string(const struct tarmac_record *rec, const char *field);
double tarmac_record_get_number(const struct tarmac_record *rec, const char *field);
bool tarmac_record_get_bool(const struct tarmac_record *rec, const char *field);
bool tarmac_record_has(const struct tarmac_record *rec, const char *field);
/* Sets a field (a before hook's record, or one from tarmac_records_get);
 * set_json takes any JSON value as text. TARMAC_FORBIDDEN on a read-only
 * record (an after hook's), TARMAC_INVALID for bad JSON or a non-finite number. */
int tarmac_record_set_string(struct tarmac_record *rec, const char *field, const char *value);
int tarmac_record_set_number(struct tarmac_record *rec, const char *field, double value);
int tarmac_record_set_bool(struct tarmac_record *rec, const char *field, bool value);
int tarmac_record_set_json(struct tarmac_record *rec, const char *field, const char *json);
/* The whole record as compact JSON text (caller frees). */
char *tarmac_record_json(const struct tarmac_record *rec);
/* Frees a record tarmac_records_get returned; accepts NULL. */
void tarmac_record_free(struct tarmac_record *rec);
/* Frees a char * result; accepts NULL. */
void tarmac_free(void *p);

/* Reads (answer at once). get: the record as ctx may see it (before hook:
 * from the write's transaction, no rule), *out owned by the caller;
 * TARMAC_NOT_FOUND when absent or hidden. list: a page as the REST list
 * answers it, {"page","perPage","totalItems","totalPages","items"}, as JSON
 * text (caller frees); not in a before hook. filter takes {:name}
 * placeholders bound from params_json ({"name": value}; strings, numbers,
 * booleans): a value never becomes filter syntax. */
struct tarmac_list_opts {
    const char *filter;      /* NULL: every record */
    const char *params_json; /* NULL: none */
    const char *sort;        /* "-created,title"; NULL: storage order */
    int page;                /* 0: 1 */
    int per_page;            /* 0: 30; at most 1000 */
};
int tarmac_records_get(struct tarmac_ctx *ctx, const char *collection, const char *id,
                       struct tarmac_record **out);
int tarmac_records_list(struct tarmac_ctx *ctx, const char *collection,
                        const struct tarmac_list_opts *opts, char **out_json);

/* A write ended, on the loop that started it: code 0 with the record as
 * saved (NULL for a delete), or the code with the contract's message and
 * field errors ({"field":{"code","message"}} as JSON, NULL when none). All
 * borrowed for the call. */
typedef void tarmac_write_fn(void *arg, int code, const struct tarmac_record *rec,
                             const char *message, const char *errors_json);
/* Writes through core's save path (validation, rules, files, events, hooks)
 * as ctx's requester; data_json is an object of fields. 0: done will be
 * called once; another code: it will not (tarmac_ctx_error says why). Only
 * in routes and after hooks (TARMAC_INVALID in a before hook). */
int tarmac_records_create(struct tarmac_ctx *ctx, const char *collection, const char *data_json,
                          tarmac_write_fn *done, void *arg);
int tarmac_records_update(struct tarmac_ctx *ctx, const char *collection, const char *id,
                          const char *data_json, tarmac_write_fn *done, void *arg);
int tarmac_records_delete(struct tarmac_ctx *ctx, const char *collection, const char *id,
                          tarmac_write_fn *done, void *arg);
/* The message of ctx's last failed records call ("" when none). */
const char *tarmac_ctx_error(const struct tarmac_ctx *ctx);

/* ---- Record hooks ---------------------------------------------------- */

const char *tarmac_event_collection(const struct tarmac_event *ev);
enum tarmac_hook tarmac_event_hook(const struct tarmac_event *ev);
/* The record as it will be stored (before create/update: writable), as
 * stored (after hooks), or as it was (delete). Borrowed for the call. */
struct tarmac_record *tarmac_event_record(struct tarmac_event *ev);
/* An update's or delete's stored record before the write; else NULL. */
const struct tarmac_record *tarmac_event_original(const struct tarmac_event *ev);
/* A refusal's message and field errors (the contract's data), for a before
 * hook that returns a code. */
void tarmac_event_error(struct tarmac_event *ev, const char *message);
void tarmac_event_field_error(struct tarmac_event *ev, const char *field, const char *code,
                              const char *message);
/* Records calls as a superuser (an after hook's writes may outlive the hook). */
struct tarmac_ctx *tarmac_event_ctx(struct tarmac_event *ev);

/* ---- Routes ---------------------------------------------------------- */

const char *tarmac_request_method(const struct tarmac_request *req);
const char *tarmac_request_path(const struct tarmac_request *req);
/* A {param} of the pattern, a query parameter (decoded, the first of a
 * name), a header (any case); NULL when absent. */
const char *tarmac_request_param(struct tarmac_request *req, const char *name);
const char *tarmac_request_query(struct tarmac_request *req, const char *name);
const char *tarmac_request_header(struct tarmac_request *req, const char *name);
/* The decoded body (JSON object or form) as JSON text, NULL when empty. */
const char *tarmac_request_body(struct tarmac_request *req);
/* The requester: its record's id and collection name (NULL for a guest), and
 * whether it is a superuser. */
const char *tarmac_request_auth_id(const struct tarmac_request *req);
const char *tarmac_request_auth_collection(const struct tarmac_request *req);
bool tarmac_request_is_superuser(const struct tarmac_request *req);
/* Records calls as the requester (rules apply), or as a superuser. */
struct tarmac_ctx *tarmac_request_ctx(struct tarmac_request *req, bool as_superuser);
/* Adds a response header before the answer. TARMAC_INVALID for a bad name
 * or value. */
int tarmac_response_header(struct tarmac_request *req, const char *name, const char *value);
/* Answers status (200..599) with json as the body (NULL: none). A JSON text
 * that does not parse answers 500. After this, req and its strings are gone
 * (the answer waits for writes the route started). */
void tarmac_respond(struct tarmac_request *req, int status, const char *json);
/* Answers the contract's error {"status","message","data"}: code (400..599),
 * message (NULL: the status's default), errors_json (field errors, or NULL). */
void tarmac_respond_error(struct tarmac_request *req, int code, const char *message,
                          const char *errors_json);

#ifdef __cplusplus
}
#endif
#endif
