/* ext.c -- an example C extension for an orders app (docs/extensions.md).
 *
 *   make EXT=examples/ext-c/ext.c        -> build/ext-release/tarmac
 *
 * Collections it expects (examples/ext-c/README.md): orders {qty, price,
 * total, status, owner} and audit {what, ref}.
 *
 *   before_create orders  total = qty * price; qty must be > 0 and the total
 *                         at most ORDER_LIMIT (a 400 with field errors)
 *   before_update orders  total computed again
 *   before_delete orders  a shipped order stays (403)
 *   after_*       orders  one audit record per change (as a superuser)
 *   GET  /api/ext/orders/{id}/summary  the order as the requester may see it
 *                                      and how many audit records it has
 *   POST /api/ext/orders/{id}/cancel   status = "cancelled", as the requester
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tarmac.h"

#define ORDER_LIMIT 1000.0

/* ---- Record hooks --------------------------------------------------- */

static int compute_total(void *arg, struct tarmac_event *ev)
{
    (void)arg;
    struct tarmac_record *rec = tarmac_event_record(ev);
    double qty = tarmac_record_get_number(rec, "qty");
    double total = qty * tarmac_record_get_number(rec, "price");
    if (qty <= 0) {
        tarmac_event_error(ev, "The order is not valid.");
        tarmac_event_field_error(ev, "qty", "validation_min_qty", "Order at least one item.");
        return TARMAC_INVALID;
    }
    if (total > ORDER_LIMIT) {
        tarmac_event_error(ev, "The order is not valid.");
        tarmac_event_field_error(ev, "total", "validation_total_limit",
                                 "The total may be at most 1000.");
        return TARMAC_INVALID;
    }
    return tarmac_record_set_number(rec, "total", total);
}

static int keep_shipped(void *arg, struct tarmac_event *ev)
{
    (void)arg;
    const char *status = tarmac_record_get_string(tarmac_event_record(ev), "status");
    if (status && !strcmp(status, "shipped")) {
        tarmac_event_error(ev, "A shipped order cannot be deleted.");
        return TARMAC_FORBIDDEN;
    }
    return TARMAC_OK;
}

static void audit_written(void *arg, int code, const struct tarmac_record *rec,
                          const char *message, const char *errors_json)
{
    (void)arg;
    (void)rec;
    if (code)
        fprintf(stderr, "ext-orders: audit record not written: %d %s %s\n", code, message,
                errors_json ? errors_json : "");
}

/* after_create / after_update / after_delete: arg is the word to audit. */
static int audit(void *arg, struct tarmac_event *ev)
{
    const char *id = tarmac_record_id(tarmac_event_record(ev));
    char data[256];
    snprintf(data, sizeof(data), "{\"what\":\"%s\",\"ref\":\"%s\"}", (const char *)arg,
             id ? id : "");
    struct tarmac_ctx *ctx = tarmac_event_ctx(ev);
    int code = tarmac_records_create(ctx, "audit", data, audit_written, NULL);
    if (code)
        fprintf(stderr, "ext-orders: audit: %d %s\n", code, tarmac_ctx_error(ctx));
    return code;
}

/* ---- Routes --------------------------------------------------------- */

/* GET /api/ext/orders/{id}/summary */
static void summary(void *arg, struct tarmac_request *req)
{
    (void)arg;
    if (!tarmac_request_auth_id(req)) {
        tarmac_respond_error(req, TARMAC_UNAUTHORIZED, "Sign in to see an order's summary.",
                             NULL);
        return;
    }
    const char *id = tarmac_request_param(req, "id");
    struct tarmac_ctx *ctx = tarmac_request_ctx(req, false); /* the orders' rules apply */
    struct tarmac_record *order = NULL;
    int code = tarmac_records_get(ctx, "orders", id, &order);
    if (code) {
        tarmac_respond_error(req, code, tarmac_ctx_error(ctx), NULL);
        return;
    }
    /* audit has no rules for users: read it as a superuser */
    char params[128];
    snprintf(params, sizeof(params), "{\"id\":\"%s\"}", id);
    struct tarmac_list_opts opts = {.filter = "ref = {:id}", .params_json = params, .per_page = 1};
    struct tarmac_ctx *su = tarmac_request_ctx(req, true);
    char *page = NULL;
    code = tarmac_records_list(su, "audit", &opts, &page);
    const char *total = page ? strstr(page, "\"totalItems\":") : NULL;
    long audits = total ? strtol(total + strlen("\"totalItems\":"), NULL, 10) : -1;
    char *order_json = tarmac_record_json(order);
    size_t n = strlen(order_json) + 128;
    char *body = malloc(n);
    snprintf(body, n, "{\"order\":%s,\"total\":%g,\"audits\":%ld,\"viewer\":\"%s\"}",
             order_json, tarmac_record_get_number(order, "total"), audits,
             tarmac_request_auth_id(req));
    tarmac_response_header(req, "X-Extension", "orders");
    tarmac_respond(req, code ? code : 200, body);
    free(body);
    tarmac_free(order_json);
    tarmac_free(page);
    tarmac_record_free(order);
}

static void cancelled(void *arg, int code, const struct tarmac_record *rec, const char *message,
                      const char *errors_json)
{
    struct tarmac_request *req = arg;
    if (code) {
        tarmac_respond_error(req, code, message, errors_json);
        return;
    }
    char *json = tarmac_record_json(rec);
    tarmac_respond(req, 200, json);
    tarmac_free(json);
}

/* POST /api/ext/orders/{id}/cancel: answers when the writer did. */
static void cancel(void *arg, struct tarmac_request *req)
{
    (void)arg;
    struct tarmac_ctx *ctx = tarmac_request_ctx(req, false);
    int code = tarmac_records_update(ctx, "orders", tarmac_request_param(req, "id"),
                                     "{\"status\":\"cancelled\"}", cancelled, req);
    if (code)
        tarmac_respond_error(req, code, tarmac_ctx_error(ctx), NULL);
}

TARMAC_EXTENSION(orders)
{
    int rc = 0;
    rc |= tarmac_on(ext, TARMAC_BEFORE_CREATE, "orders", compute_total, NULL);
    rc |= tarmac_on(ext, TARMAC_BEFORE_UPDATE, "orders", compute_total, NULL);
    rc |= tarmac_on(ext, TARMAC_BEFORE_DELETE, "orders", keep_shipped, NULL);
    rc |= tarmac_on(ext, TARMAC_AFTER_CREATE, "orders", audit, "created");
    rc |= tarmac_on(ext, TARMAC_AFTER_UPDATE, "orders", audit, "updated");
    rc |= tarmac_on(ext, TARMAC_AFTER_DELETE, "orders", audit, "deleted");
    rc |= tarmac_route(ext, "GET", "/api/ext/orders/{id}/summary", summary, NULL);
    rc |= tarmac_route(ext, "POST", "/api/ext/orders/{id}/cancel", cancel, NULL);
    return rc;
}
