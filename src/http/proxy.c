/* proxy.c -- see proxy.h. */
#include "http/proxy.h"

#include <string.h>

#include "http/req.h"

bool http_proxy_is_trusted(const struct http_proxy_config *cfg, const uint8_t addr[16])
{
    return cfg && cidr_list_contains(&cfg->trusted, addr);
}

bool http_proxy_parse_entry(struct str s, uint8_t out[16])
{
    s = str_trim_ows(s);
    if (s.len && s.ptr[0] == '[') {
        const char *close = memchr(s.ptr, ']', s.len);
        if (!close)
            return false;
        size_t after = s.len - (size_t)(close - s.ptr) - 1;
        if (after && close[1] != ':')
            return false;
        return cidr_parse_ip((struct str){s.ptr + 1, (size_t)(close - s.ptr) - 1}, out);
    }
    const char *colon = memchr(s.ptr, ':', s.len);
    if (colon && !memchr(colon + 1, ':', s.len - (size_t)(colon - s.ptr) - 1))
        s.len = (size_t)(colon - s.ptr); /* "a.b.c.d:port" */
    return cidr_parse_ip(s, out);
}

/* The entries of every line of the header, as one list; calls visit for each
 * in order (or reverse order) until it returns true. */
struct walk {
    const struct http_proxy_config *cfg;
    uint8_t found[16];
    uint8_t last_trusted[16]; /* rightmost: the leftmost trusted hop seen so far */
    bool has_found;
    bool has_last_trusted;
    bool is_stopped;
};

/* Rightmost: the first address from the right that is not a trusted proxy. A
 * malformed entry stops the walk: nothing left of it can be trusted. */
static void visit_right(struct walk *w, struct str entry)
{
    uint8_t a[16];
    if (!http_proxy_parse_entry(entry, a)) {
        w->is_stopped = true;
        return;
    }
    if (cidr_list_contains(&w->cfg->trusted, a)) {
        memcpy(w->last_trusted, a, 16);
        w->has_last_trusted = true;
        return;
    }
    memcpy(w->found, a, 16);
    w->has_found = true;
    w->is_stopped = true;
}

static void walk_line_right(struct walk *w, struct str v)
{
    size_t end = v.len;
    while (!w->is_stopped) {
        size_t start = end;
        while (start > 0 && v.ptr[start - 1] != ',')
            start--;
        struct str item = str_trim_ows((struct str){v.ptr + start, end - start});
        if (item.len)
            visit_right(w, item);
        if (start == 0)
            break;
        end = start - 1;
    }
}

static void walk_line_left(struct walk *w, struct str v)
{
    size_t start = 0;
    while (!w->is_stopped && start <= v.len) {
        const char *comma = memchr(v.ptr + start, ',', v.len - start);
        size_t end = comma ? (size_t)(comma - v.ptr) : v.len;
        if (http_proxy_parse_entry((struct str){v.ptr + start, end - start}, w->found)) {
            w->has_found = true;
            w->is_stopped = true;
        }
        start = end + 1;
    }
}

bool http_proxy_client_ip(const struct http_proxy_config *cfg, const struct http_req *req,
                          char *out)
{
    if (!cfg || !cfg->header[0])
        return false;
    struct walk w = {.cfg = cfg};
    if (cfg->is_leftmost) {
        for (size_t i = 0; i < req->header_count && !w.is_stopped; i++) {
            if (str_eq_cstr_nocase(req->headers[i].name, cfg->header))
                walk_line_left(&w, req->headers[i].value);
        }
    } else {
        for (size_t i = req->header_count; i > 0 && !w.is_stopped; i--) {
            if (str_eq_cstr_nocase(req->headers[i - 1].name, cfg->header))
                walk_line_right(&w, req->headers[i - 1].value);
        }
        /* Every entry a trusted proxy (or the walk stopped at garbage right
         * after some): the leftmost trusted hop is the best known client. */
        if (!w.has_found && w.has_last_trusted) {
            memcpy(w.found, w.last_trusted, 16);
            w.has_found = true;
        }
    }
    if (!w.has_found)
        return false;
    cidr_format_ip(w.found, out);
    return true;
}
