/* errors.c -- see errors.h. */
#include "api/errors.h"

#include <stdbool.h>
#include <string.h>

#include "base/alloc.h"
#include "base/jsonw.h"
#include "http/req.h"

static const int rc_status[RC_COUNT] = {
    [RC_OK] = 200,          [RC_INVALID] = 400,  [RC_NOT_FOUND] = 404, [RC_UNAUTHORIZED] = 401,
    [RC_FORBIDDEN] = 403,   [RC_CONFLICT] = 409, [RC_TOO_LARGE] = 413, [RC_RATE_LIMITED] = 429,
    [RC_OVER_BUDGET] = 400, [RC_BUSY] = 503,     [RC_NOMEM] = 503,     [RC_IO] = 500,
    [RC_UNAVAILABLE] = 503, [RC_INTERNAL] = 500,
};

int api_error_status(enum rc rc)
{
    return (unsigned)rc < RC_COUNT ? rc_status[rc] : 500;
}

/* Default messages of spec §1.3, and sentences for the protocol-level codes. */
const char *api_error_message(int status)
{
    switch (status) {
    case 400: return "Something went wrong while processing your request.";
    case 401: return "Missing or invalid authentication.";
    case 403: return "You are not allowed to perform this request.";
    case 404: return "The requested resource wasn't found.";
    case 405: return "Method not allowed.";
    case 408: return "Request timed out.";
    case 413: return "Request entity too large.";
    case 414: return "Request target too long.";
    case 417: return "Expectation failed.";
    case 429: return "Too Many Requests.";
    case 431: return "Request header fields too large.";
    case 501: return "Not implemented.";
    case 503: return "Service unavailable.";
    case 505: return "HTTP version not supported.";
    }
    return "Something went wrong while processing your request.";
}

const char *api_error_sentence(const char *message, char out[256])
{
    /* spec §1.3: a message is a sentence: capital first letter, final
     * punctuation. Parser messages ("unknown field ...") come in lower case. */
    size_t n = strlen(message);
    bool lower = n && message[0] >= 'a' && message[0] <= 'z';
    bool unpunctuated =
        n && message[n - 1] != '.' && message[n - 1] != '?' && message[n - 1] != '!';
    if (!(lower || unpunctuated) || n >= 254)
        return message;
    memcpy(out, message, n);
    if (lower)
        out[0] = (char)(out[0] - 32);
    if (unpunctuated)
        out[n++] = '.';
    out[n] = '\0';
    return out;
}

void api_error_render(struct buf *out, int status, const char *message, json_t *data)
{
    /* Internal details never reach the client (spec §1.3). */
    if (!message || status == 500)
        message = api_error_message(status);
    char sentence[256];
    message = api_error_sentence(message, sentence);
    buf_reset(out);
    struct jsonw w;
    jsonw_init(&w, out);
    jsonw_object_begin(&w);
    jsonw_key_cstr(&w, "data");
    if (data && status < 500 && json_object_size(data)) {
        char *text = json_dumps(data, JSON_COMPACT);
        jsonw_raw(&w, str_from_cstr(text ? text : "{}"));
        xfree(text);
    } else {
        jsonw_object_begin(&w);
        jsonw_object_end(&w);
    }
    jsonw_key_cstr(&w, "message");
    jsonw_string_cstr(&w, message);
    jsonw_key_cstr(&w, "status");
    jsonw_int(&w, status);
    jsonw_object_end(&w);
    (void)jsonw_finish(&w); /* a failure leaves a truncated body: only on memory exhaustion */
}

void api_error_write(struct http_req *req, int status, const char *message)
{
    http_resp_start(req, status, "application/json");
    api_error_render(http_resp_body(req), status, message, NULL);
}

void api_error_write_rc(struct http_req *req, enum rc rc, const char *message)
{
    api_error_write(req, api_error_status(rc), message);
}
