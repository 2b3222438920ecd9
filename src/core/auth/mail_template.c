/* mail_template.c -- see mail_template.h. */
#include "core/auth/mail_template.h"

#include <stdio.h>
#include <string.h>

#include "base/alloc.h"

enum rc core_mail_escape(struct buf *out, struct str s)
{
    enum rc rc = RC_OK;
    size_t from = 0;
    for (size_t i = 0; i < s.len && !rc; i++) {
        const char *e = NULL;
        switch (s.ptr[i]) {
        case '&': e = "&amp;"; break;
        case '<': e = "&lt;"; break;
        case '>': e = "&gt;"; break;
        case '"': e = "&#34;"; break;
        case '\'': e = "&#39;"; break;
        default: continue;
        }
        rc = buf_append(out, s.ptr + from, i - from);
        if (!rc)
            rc = buf_append_cstr(out, e);
        from = i + 1;
    }
    return rc ? rc : buf_append(out, s.ptr + from, s.len - from);
}

/* A record value as PocketBase's GetString gives it: strings as they are,
 * numbers and bools in JSON, null as "", arrays and objects as compact JSON.
 * Appended escaped unless is_raw. */
static enum rc append_value(struct buf *out, json_t *v, bool is_raw)
{
    if (!v || json_is_null(v))
        return RC_OK;
    if (json_is_string(v)) {
        struct str s = {json_string_value(v), json_string_length(v)};
        return is_raw ? buf_append_str(out, s) : core_mail_escape(out, s);
    }
    char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!text)
        return RC_NOMEM;
    enum rc rc = is_raw ? buf_append_cstr(out, text) : core_mail_escape(out, str_from_cstr(text));
    xfree(text);
    return rc;
}

/* The value of {RECORD:<name>} when the field exists and is not hidden. */
static bool record_value(const struct core_collection *col, json_t *record, struct str name,
                         json_t **v, bool *is_unescaped)
{
    const struct core_field *f = core_collection_field(col, name);
    if (!f || f->is_hidden || f->type == CORE_FIELD_PASSWORD)
        return false;
    *v = json_object_get(record, f->name);
    *is_unescaped = f->type == CORE_FIELD_AUTODATE || f->type == CORE_FIELD_DATE ||
                    f->type == CORE_FIELD_BOOL || f->type == CORE_FIELD_NUMBER;
    return true;
}

/* Fills the placeholders of in into out (HTML). */
static enum rc fill(struct str in, const struct core_collection *col, json_t *record,
                    const struct core_mail_placeholder *extra, size_t extra_count, struct buf *out)
{
    static const struct str record_prefix = STR_LIT("{RECORD:");
    enum rc rc = RC_OK;
    size_t i = 0;
    while (i < in.len && !rc) {
        const char *open = memchr(in.ptr + i, '{', in.len - i);
        size_t at = open ? (size_t)(open - in.ptr) : in.len;
        rc = buf_append(out, in.ptr + i, at - i);
        if (rc || at == in.len)
            break;
        struct str rest = {in.ptr + at, in.len - at};
        const char *close = memchr(rest.ptr, '}', rest.len);
        size_t used = 0;
        for (size_t k = 0; close && k < extra_count && !used; k++) {
            size_t n = strlen(extra[k].name);
            if (n <= rest.len && memcmp(rest.ptr, extra[k].name, n) == 0) {
                used = n;
                rc = buf_append_cstr(out, extra[k].value);
            }
        }
        if (!used && close && rest.len > record_prefix.len &&
            memcmp(rest.ptr, record_prefix.ptr, record_prefix.len) == 0) {
            struct str name = {rest.ptr + record_prefix.len,
                               (size_t)(close - rest.ptr) - record_prefix.len};
            json_t *v;
            bool is_unescaped;
            if (record_value(col, record, name, &v, &is_unescaped)) {
                used = (size_t)(close - rest.ptr) + 1;
                rc = append_value(out, v, is_unescaped);
            }
        }
        if (!used) {
            used = 1;
            rc = buf_append(out, "{", 1);
        }
        i = at + used;
    }
    return rc;
}

/* Appends the entity at s (after '&') decoded, or '&'; returns what it read. */
static size_t decode_entity(struct str s, struct buf *out, enum rc *rc)
{
    static const struct {
        const char *name;
        char c;
    } known[] = {{"amp;", '&'}, {"lt;", '<'},   {"gt;", '>'},  {"quot;", '"'},
                 {"#34;", '"'}, {"#39;", '\''}, {"nbsp;", ' '}};
    for (size_t k = 0; k < sizeof(known) / sizeof(known[0]); k++) {
        size_t n = strlen(known[k].name);
        if (n <= s.len && memcmp(s.ptr, known[k].name, n) == 0) {
            *rc = buf_append(out, &known[k].c, 1);
            return n;
        }
    }
    *rc = buf_append(out, "&", 1);
    return 0;
}

/* The plain-text copy of html: tags dropped (a <br> or </p> ends a line),
 * the entities the escaping makes decoded. */
static enum rc html_to_text(struct str html, struct buf *out)
{
    enum rc rc = RC_OK;
    for (size_t i = 0; i < html.len && !rc; i++) {
        char c = html.ptr[i];
        if (c == '&') {
            i += decode_entity((struct str){html.ptr + i + 1, html.len - i - 1}, out, &rc);
        } else if (c == '<') {
            const char *end = memchr(html.ptr + i, '>', html.len - i);
            if (!end) {
                rc = buf_append(out, "<", 1);
                continue;
            }
            struct str tag = {html.ptr + i + 1, (size_t)(end - html.ptr) - i - 1};
            if ((tag.len >= 2 && strncasecmp(tag.ptr, "br", 2) == 0) ||
                (tag.len == 2 && strncasecmp(tag.ptr, "/p", 2) == 0))
                rc = buf_append(out, "\n", 1);
            i = (size_t)(end - html.ptr);
        } else {
            rc = buf_append(out, &c, 1);
        }
    }
    return rc;
}

enum rc core_mail_template_render(const struct core_email_template *tpl,
                                  const struct core_collection *col, json_t *record,
                                  const struct core_mail_placeholder *extra, size_t extra_count,
                                  struct buf *subject, struct buf *html, struct buf *text)
{
    /* The subject is filled as HTML, as the body, then read back as text:
     * the values come out as they were. It is a header: one line whatever
     * the values held. */
    struct buf raw_subject;
    buf_init(&raw_subject, subject->max);
    enum rc rc = fill(str_from_cstr(tpl->subject ? tpl->subject : ""), col, record, extra,
                      extra_count, &raw_subject);
    struct buf plain;
    buf_init(&plain, subject->max);
    if (!rc)
        rc = html_to_text(buf_str(&raw_subject), &plain);
    for (size_t i = 0; !rc && i < plain.len; i++) {
        unsigned char c = (unsigned char)plain.data[i];
        char keep = c < 0x20 || c == 0x7f ? ' ' : (char)c;
        rc = buf_append(subject, &keep, 1);
    }
    buf_cleanup(&plain);
    buf_cleanup(&raw_subject);
    if (!rc)
        rc = fill(str_from_cstr(tpl->body ? tpl->body : ""), col, record, extra, extra_count, html);
    if (!rc)
        rc = html_to_text(buf_str(html), text);
    return rc;
}
