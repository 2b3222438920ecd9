/* sse.c -- event-stream head and message framing (see sse.h). */
#include "http/sse.h"

#include <string.h>

void http_sse_start(struct http_req *req)
{
    http_resp_start(req, 200, "text/event-stream");
    http_resp_add_header(req, "Cache-Control", STR_LIT("no-store"));
    http_resp_add_header(req, "X-Accel-Buffering", STR_LIT("no"));
}

static bool has_line_break(struct str s)
{
    return s.len && (memchr(s.ptr, '\n', s.len) || memchr(s.ptr, '\r', s.len));
}

enum rc http_sse_format(struct buf *b, struct str id, struct str event, struct str data)
{
    if (has_line_break(id) || has_line_break(event) || has_line_break(data))
        return RC_INVALID;
    size_t mark = b->len;
    enum rc rc = buf_append_cstr(b, "id:");
    if (!rc)
        rc = buf_append_str(b, id);
    if (!rc)
        rc = buf_append_cstr(b, "\nevent:");
    if (!rc)
        rc = buf_append_str(b, event);
    if (!rc)
        rc = buf_append_cstr(b, "\ndata:");
    if (!rc)
        rc = buf_append_str(b, data);
    if (!rc)
        rc = buf_append_cstr(b, "\n\n");
    if (rc)
        b->len = mark;
    return rc;
}
