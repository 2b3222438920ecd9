/* router.c -- see router.h. */
#include "http/router.h"

#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/log.h"
#include "http/query.h"
#include "http/req.h"

struct route_node {
    char *literal; /* NULL for the parameter node */
    size_t literal_len;
    char *param_name;             /* for the parameter node */
    struct route_node **children; /* literal children */
    size_t child_count;
    struct route_node *param_child;
    http_handler_fn *handlers[HTTP_METHOD_COUNT];
    void *ctxs[HTTP_METHOD_COUNT];
    unsigned route_ids[HTTP_METHOD_COUNT];
};

struct http_router {
    struct route_node root;
    char **patterns; /* [id - 1]: the pattern of route id, for metrics labels */
    enum http_method *methods;
    size_t route_count;
};

struct http_router *http_router_new(void)
{
    return xcalloc(1, sizeof(struct http_router));
}

static void node_free(struct route_node *n)
{
    for (size_t i = 0; i < n->child_count; i++) {
        node_free(n->children[i]);
        xfree(n->children[i]);
    }
    xfree(n->children);
    if (n->param_child) {
        node_free(n->param_child);
        xfree(n->param_child);
    }
    xfree(n->literal);
    xfree(n->param_name);
}

void http_router_free(struct http_router *r)
{
    if (!r)
        return;
    node_free(&r->root);
    for (size_t i = 0; i < r->route_count; i++)
        xfree(r->patterns[i]);
    xfree(r->patterns);
    xfree(r->methods);
    xfree(r);
}

static void route_fatal(const char *pattern, const char *why)
{
    log_error("msg=\"bad route\" pattern=%s why=\"%s\"", pattern, why);
    abort();
}

void http_router_add(struct http_router *r, enum http_method method, const char *pattern,
                     http_handler_fn *fn, void *ctx)
{
    if (pattern[0] != '/')
        route_fatal(pattern, "must start with /");
    struct route_node *n = &r->root;
    const char *p = pattern + 1;
    size_t params = 0;
    for (;;) {
        const char *end = strchr(p, '/');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len >= 2 && p[0] == '{' && p[len - 1] == '}') {
            if (++params > HTTP_MAX_PARAMS)
                route_fatal(pattern, "too many parameters");
            if (!n->param_child) {
                n->param_child = xcalloc(1, sizeof(struct route_node));
                n->param_child->param_name = xstrndup(p + 1, len - 2);
            } else if (strncmp(n->param_child->param_name, p + 1, len - 2) != 0 ||
                       n->param_child->param_name[len - 2] != '\0') {
                route_fatal(pattern, "parameter named differently at the same place");
            }
            n = n->param_child;
        } else {
            struct route_node *next = NULL;
            for (size_t i = 0; i < n->child_count; i++) {
                struct route_node *c = n->children[i];
                if (c->literal_len == len && memcmp(c->literal, p, len) == 0) {
                    next = c;
                    break;
                }
            }
            if (!next) {
                next = xcalloc(1, sizeof(struct route_node));
                next->literal = xstrndup(p, len);
                next->literal_len = len;
                n->children = xrealloc(n->children, (n->child_count + 1) * sizeof(*n->children));
                n->children[n->child_count++] = next;
            }
            n = next;
        }
        if (!end)
            break;
        p = end + 1;
    }
    if (n->handlers[method])
        route_fatal(pattern, "registered twice");
    n->handlers[method] = fn;
    n->ctxs[method] = ctx;
    r->patterns = xrealloc(r->patterns, (r->route_count + 1) * sizeof(*r->patterns));
    r->methods = xrealloc(r->methods, (r->route_count + 1) * sizeof(*r->methods));
    r->patterns[r->route_count] = xstrndup(pattern, strlen(pattern));
    r->methods[r->route_count] = method;
    n->route_ids[method] = (unsigned)++r->route_count;
}

size_t http_router_route_count(const struct http_router *r)
{
    return r->route_count;
}

const char *http_router_route_pattern(const struct http_router *r, unsigned id,
                                      enum http_method *method)
{
    if (id == 0 || id > r->route_count)
        return NULL;
    *method = r->methods[id - 1];
    return r->patterns[id - 1];
}

/* Decodes one path segment. Fails on a bad escape and on an encoded NUL,
 * which would cut the value short wherever it is used as a C string. */
static bool decode_segment(struct str seg, struct arena *a, struct str *out)
{
    if (!memchr(seg.ptr, '%', seg.len)) {
        *out = seg;
        return true;
    }
    char *buf = arena_alloc(a, seg.len + 1);
    long n = str_percent_decode(seg, buf, false);
    if (n < 0 || memchr(buf, '\0', (size_t)n))
        return false;
    buf[n] = '\0';
    *out = (struct str){buf, (size_t)n};
    return true;
}

static unsigned allowed_bits(const struct route_node *n)
{
    unsigned bits = 0;
    for (int m = 0; m < HTTP_METHOD_COUNT; m++) {
        if (n->handlers[m])
            bits |= 1u << m;
    }
    if (bits & (1u << HTTP_METHOD_GET))
        bits |= 1u << HTTP_METHOD_HEAD;
    return bits;
}

/* Depth-first match: literal children first, then the parameter child, so
 * "/records/{id}" and "/records/stats" can live side by side. */
static const struct route_node *match_node(const struct route_node *n, struct str rest,
                                           struct arena *a, struct http_route_match *m, bool *bad)
{
    /* rest starts just after a '/'; an empty rest is an empty last segment,
     * so "/api/health/" does not match "/api/health". */
    const char *slash = memchr(rest.ptr, '/', rest.len);
    struct str seg = {rest.ptr, slash ? (size_t)(slash - rest.ptr) : rest.len};
    struct str after = slash ? (struct str){slash + 1, rest.len - seg.len - 1}
                             : (struct str){rest.ptr + rest.len, 0};
    bool is_last = slash == NULL;
    struct str decoded;
    if (!decode_segment(seg, a, &decoded)) {
        *bad = true;
        return NULL;
    }
    for (size_t i = 0; i < n->child_count; i++) {
        const struct route_node *c = n->children[i];
        if (c->literal_len == decoded.len && memcmp(c->literal, decoded.ptr, decoded.len) == 0) {
            const struct route_node *hit =
                is_last ? (allowed_bits(c) ? c : NULL) : match_node(c, after, a, m, bad);
            if (hit || *bad)
                return hit;
        }
    }
    /* An empty segment ("//", a trailing "/") never fills a parameter. */
    if (n->param_child && decoded.len > 0 && m->param_count < HTTP_MAX_PARAMS) {
        const struct route_node *c = n->param_child;
        size_t k = m->param_count++;
        m->params[k].name = str_from_cstr(c->param_name);
        m->params[k].value = decoded;
        const struct route_node *hit =
            is_last ? (allowed_bits(c) ? c : NULL) : match_node(c, after, a, m, bad);
        if (hit || *bad)
            return hit;
        m->param_count--;
    }
    return NULL;
}

enum http_route_result http_router_match(const struct http_router *r, enum http_method method,
                                         struct str path, struct arena *a,
                                         struct http_route_match *m)
{
    m->handler = NULL;
    m->ctx = NULL;
    m->route_id = 0;
    m->param_count = 0;
    m->allowed = 0;
    if (path.len == 0 || path.ptr[0] != '/')
        return HTTP_ROUTE_NOT_FOUND;
    bool bad = false;
    const struct route_node *n =
        match_node(&r->root, (struct str){path.ptr + 1, path.len - 1}, a, m, &bad);
    if (bad)
        return HTTP_ROUTE_BAD_PATH;
    if (!n)
        return HTTP_ROUTE_NOT_FOUND;
    m->allowed = allowed_bits(n);
    enum http_method use = method;
    if (method == HTTP_METHOD_HEAD && !n->handlers[HTTP_METHOD_HEAD])
        use = HTTP_METHOD_GET;
    if (method == HTTP_METHOD_OTHER || !n->handlers[use])
        return HTTP_ROUTE_METHOD_NOT_ALLOWED;
    m->handler = n->handlers[use];
    m->ctx = n->ctxs[use];
    m->route_id = n->route_ids[use];
    return HTTP_ROUTE_FOUND;
}

size_t http_router_format_allow(unsigned allowed, char *out)
{
    size_t len = 0;
    for (int mth = 0; mth < HTTP_METHOD_OTHER; mth++) {
        if (!(allowed & (1u << mth)))
            continue;
        const char *name = http_method_name((enum http_method)mth);
        if (len) {
            memcpy(out + len, ", ", 2);
            len += 2;
        }
        size_t n = strlen(name);
        memcpy(out + len, name, n);
        len += n;
    }
    out[len] = '\0';
    return len;
}

bool http_router_serve(const struct http_router *r, struct http_req *req, enum rc *rc)
{
    struct http_route_match m;
    if (!r || http_router_match(r, req->method, req->path, req->arena, &m) != HTTP_ROUTE_FOUND)
        return false;
    memcpy(req->params, m.params, m.param_count * sizeof(m.params[0]));
    req->param_count = m.param_count;
    *rc = m.handler(req, m.ctx);
    return true;
}
