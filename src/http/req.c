/* req.c -- see req.h: request accessors and the response builder. */
#include "http/req.h"

#include <string.h>

#include "base/log.h"

struct str http_req_header(const struct http_req *req, const char *name)
{
    return http_header_find(req->headers, req->header_count, name);
}

struct str http_req_param(const struct http_req *req, const char *name)
{
    struct str n = str_from_cstr(name);
    for (size_t i = 0; i < req->param_count; i++) {
        if (str_eq(req->params[i].name, n))
            return req->params[i].value;
    }
    return (struct str){NULL, 0};
}

enum rc http_req_query_all(struct http_req *req, const struct http_query_param **params,
                           size_t *count)
{
    if (!req->is_query_parsed) {
        req->query_rc =
            http_query_parse(req->query_string, req->arena, &req->query, &req->query_count);
        if (req->query_rc)
            req->query_count = 0;
        req->is_query_parsed = true;
    }
    *params = req->query;
    *count = req->query_count;
    return req->query_rc;
}

enum rc http_req_query(struct http_req *req, const char *key, struct str *value)
{
    const struct http_query_param *params;
    size_t count;
    enum rc rc = http_req_query_all(req, &params, &count);
    if (rc)
        return rc;
    struct str k = str_from_cstr(key);
    for (size_t i = 0; i < count; i++) {
        if (str_eq(params[i].key, k)) {
            *value = params[i].value;
            return RC_OK;
        }
    }
    return RC_NOT_FOUND;
}

void http_resp_start(struct http_req *req, int status, const char *content_type)
{
    req->resp.status = status;
    req->resp.content_type = content_type ? str_from_cstr(content_type) : (struct str){"", 0};
}

void http_resp_add_header(struct http_req *req, const char *name, struct str value)
{
    if (req->resp.header_count == HTTP_RESP_MAX_HEADERS) {
        log_warn("msg=\"response header dropped\" name=%s", name);
        return;
    }
    struct http_header *h = &req->resp.headers[req->resp.header_count++];
    h->name = str_from_cstr(name);
    h->value = arena_strdup(req->arena, value);
}

struct buf *http_resp_body(struct http_req *req)
{
    return req->resp.body;
}

void http_resp_close_after(struct http_req *req)
{
    req->resp.is_close = true;
}

bool http_resp_is_started(const struct http_req *req)
{
    return req->resp.status != 0;
}

const char *http_status_text(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 416: return "Range Not Satisfiable";
    case 417: return "Expectation Failed";
    case 422: return "Unprocessable Content";
    case 426: return "Upgrade Required";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    }
    return "";
}
