/* mail.c -- see mail.h. */
#include "core/auth/mail.h"

#include <stdbool.h>
#include <string.h>

#include "base/alloc.h"
#include "base/html_text.h"
#include "base/jsonw.h"
#include "base/utf8.h"

#define SUBJECT_MAX 998
#define BODY_MAX (1024 * 1024)
#define PLACEHOLDER_MAX 128 /* "{RECORD:" + a field name of at most 100 + "}" */

/* The document around a template's body. */
static const char layout_head[] =
    "<!DOCTYPE html>\n"
    "<html>\n"
    "<head>\n"
    "<meta charset=\"utf-8\">\n"
    "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\n"
    "<style>\n"
    "body{margin:0;padding:24px 28px;color:#1d1d22;background:#fff;"
    "font:15px/1.5 -apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif}\n"
    "p{margin:12px 0}\n"
    "a{color:inherit}\n"
    ".btn{display:inline-block;padding:10px 22px;border-radius:6px;background:#1d1d22;"
    "color:#fff !important;font-weight:600;text-decoration:none !important}\n"
    "</style>\n"
    "</head>\n"
    "<body>\n";
static const char layout_tail[] = "\n</body>\n</html>\n";

/* Where a rendering goes: the subject (plain text) or the body (HTML). */
struct sink {
    struct buf *out;
    bool is_html;
    enum rc rc; /* the first error; later writes do nothing */
};

static void put(struct sink *s, const char *p, size_t n)
{
    if (s->rc == RC_OK)
        s->rc = buf_append(s->out, p, n);
}

/* A value: HTML-escaped in the body; in the subject as is, but with every
 * control character made a space. */
static void put_value(struct sink *s, const char *v, size_t n)
{
    if (s->is_html) {
        if (s->rc == RC_OK)
            s->rc = html_escape((struct str){v, n}, s->out);
        return;
    }
    size_t from = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)v[i];
        if (c < 0x20 || c == 0x7f) {
            put(s, v + from, i - from);
            put(s, " ", 1);
            from = i + 1;
        }
    }
    put(s, v + from, n - from);
}

/* A record's value as text: strings as they are, numbers in their shortest
 * form, booleans as true/false, null as nothing, lists and objects as JSON. */
static void put_record_value(struct sink *s, json_t *v)
{
    if (json_is_string(v)) {
        put_value(s, json_string_value(v), json_string_length(v));
    } else if (json_is_number(v) || json_is_boolean(v)) {
        struct buf tmp;
        buf_init(&tmp, 64);
        struct jsonw w;
        jsonw_init(&w, &tmp);
        if (json_is_boolean(v))
            jsonw_bool(&w, json_is_true(v));
        else
            jsonw_double(&w, json_number_value(v));
        if (jsonw_finish(&w) == RC_OK)
            put_value(s, tmp.data, tmp.len);
        buf_cleanup(&tmp);
    } else if (v && !json_is_null(v)) {
        char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        if (text)
            put_value(s, text, strlen(text));
        xfree(text);
    }
}

/* {RECORD:name}: the record's field, if it is one a mail may show. */
static bool record_value(const struct core_mail_vars *v, struct str name, json_t **out)
{
    if (!v->col || !v->record)
        return false;
    const struct core_field *f = core_collection_field(v->col, name);
    if (!f || f->is_hidden || f->type == CORE_FIELD_PASSWORD)
        return false;
    char key[PLACEHOLDER_MAX];
    memcpy(key, name.ptr, name.len);
    key[name.len] = '\0';
    *out = json_object_get(v->record, key);
    return true;
}

/* Writes the placeholder p ("{...}", braces included) if it is one of v's;
 * false when it is not (the caller writes it as text). */
static bool put_placeholder(struct sink *s, struct str p, const struct core_mail_vars *v)
{
    if (str_eq(p, STR_LIT("{APP_NAME}"))) {
        put_value(s, v->app_name ? v->app_name : "", v->app_name ? strlen(v->app_name) : 0);
        return true;
    }
    if (str_eq(p, STR_LIT("{APP_URL}"))) {
        put_value(s, v->app_url ? v->app_url : "", v->app_url ? strlen(v->app_url) : 0);
        return true;
    }
    for (size_t i = 0; i < v->extra_count; i++) {
        if (str_eq(p, str_from_cstr(v->extra[i].name))) {
            const char *val = v->extra[i].value ? v->extra[i].value : "";
            put_value(s, val, strlen(val));
            return true;
        }
    }
    struct str prefix = STR_LIT("{RECORD:");
    json_t *rv = NULL;
    if (str_has_prefix(p, prefix) &&
        record_value(v, (struct str){p.ptr + prefix.len, p.len - prefix.len - 1}, &rv)) {
        put_record_value(s, rv);
        return true;
    }
    return false;
}

/* Copies template text into s, filling in the placeholders. */
static void fill(struct sink *s, const char *t, const struct core_mail_vars *v)
{
    size_t n = strlen(t), from = 0;
    for (size_t i = 0; i < n; i++) {
        if (t[i] != '{')
            continue;
        const char *close = memchr(t + i, '}', n - i < PLACEHOLDER_MAX ? n - i : PLACEHOLDER_MAX);
        if (!close)
            continue;
        struct str p = {t + i, (size_t)(close - (t + i)) + 1};
        if (memchr(p.ptr + 1, '{', p.len - 1))
            continue; /* "{{TOKEN}": the inner one is the placeholder */
        put(s, t + from, i - from);
        if (!put_placeholder(s, p, v))
            put(s, p.ptr, p.len);
        i += p.len - 1;
        from = i + 1;
    }
    put(s, t + from, n - from);
}

/* Cuts b to at most max bytes without splitting a UTF-8 sequence. */
static void cut_utf8(struct buf *b, size_t max)
{
    if (b->len <= max)
        return;
    size_t n = max;
    while (n > 0 && ((unsigned char)b->data[n] & 0xC0) == 0x80)
        n--;
    b->len = n;
}

/* A NUL after the text, not counted in len. */
static enum rc terminate(struct buf *b)
{
    enum rc rc = buf_append(b, "", 1);
    if (rc == RC_OK)
        b->len--;
    return rc;
}

void core_mail_init(struct core_mail *m)
{
    /* The subject's buffer holds more than the limit: a long rendering is
     * cut on a character boundary rather than refused. */
    buf_init(&m->subject, 4 * SUBJECT_MAX + 1);
    buf_init(&m->html, BODY_MAX + 1);
    buf_init(&m->text, BODY_MAX + 1);
}

void core_mail_cleanup(struct core_mail *m)
{
    buf_cleanup(&m->subject);
    buf_cleanup(&m->html);
    buf_cleanup(&m->text);
}

enum rc core_mail_render(const struct core_mail_template *t, const struct core_mail_vars *v,
                         struct core_mail *m)
{
    buf_reset(&m->subject);
    buf_reset(&m->html);
    buf_reset(&m->text);
    struct sink subject = {.out = &m->subject, .is_html = false};
    fill(&subject, t->subject ? t->subject : "", v);
    if (subject.rc == RC_TOO_LARGE) {
        subject.rc = RC_OK; /* what fitted is cut below */
    }
    cut_utf8(&m->subject, SUBJECT_MAX);
    if (subject.rc)
        return subject.rc;
    for (size_t i = 0; i < m->subject.len; i++) {
        unsigned char c = (unsigned char)m->subject.data[i];
        if (c < 0x20 || c == 0x7f)
            m->subject.data[i] = ' '; /* the template's own text too: one header line */
    }

    /* The body's own text first, for the text alternative, then wrapped. */
    struct sink body = {.out = &m->html, .is_html = true};
    fill(&body, t->body ? t->body : "", v);
    if (body.rc)
        return body.rc;
    enum rc rc = html_to_text(buf_str(&m->html), &m->text);
    if (rc)
        return rc;
    size_t inner = m->html.len;
    rc = buf_reserve(&m->html, sizeof(layout_head) + sizeof(layout_tail));
    if (rc)
        return rc;
    memmove(m->html.data + sizeof(layout_head) - 1, m->html.data, inner);
    memcpy(m->html.data, layout_head, sizeof(layout_head) - 1);
    m->html.len = inner + sizeof(layout_head) - 1;
    rc = buf_append(&m->html, layout_tail, sizeof(layout_tail) - 1);
    if (rc == RC_OK && m->html.len > BODY_MAX)
        rc = RC_TOO_LARGE;
    if (rc == RC_OK)
        rc = terminate(&m->subject);
    if (rc == RC_OK)
        rc = terminate(&m->html);
    if (rc == RC_OK)
        rc = terminate(&m->text);
    return rc;
}
