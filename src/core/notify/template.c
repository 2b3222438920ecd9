/* template.c -- see template.h. */
#include "core/notify/template.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "base/alloc.h"
#include "base/html_text.h"
#include "base/utf8.h"
#include "core/notify/push.h"

const char core_templates_collection_json[] =
    "{\"id\":\"pbc_tarmac_notify_templates\",\"name\":\"_notifyTemplates\",\"type\":\"base\","
    "\"listRule\":null,\"viewRule\":null,\"createRule\":null,\"updateRule\":null,"
    "\"deleteRule\":null,"
    "\"fields\":[{\"name\":\"name\",\"type\":\"text\",\"required\":true,\"max\":100,"
    "\"pattern\":\"^[a-z0-9][a-z0-9_.-]*$\"},"
    "{\"name\":\"locale\",\"type\":\"text\",\"max\":35,"
    "\"pattern\":\"^[a-zA-Z]{2,3}([-_][a-zA-Z0-9]{2,8})*$\"},"
    "{\"name\":\"title\",\"type\":\"text\",\"required\":true,\"max\":1024},"
    "{\"name\":\"body\",\"type\":\"text\",\"max\":4096},"
    "{\"name\":\"sms\",\"type\":\"text\",\"max\":1600},"
    "{\"name\":\"html\",\"type\":\"text\",\"max\":65536},"
    "{\"name\":\"created\",\"type\":\"autodate\",\"onCreate\":true},"
    "{\"name\":\"updated\",\"type\":\"autodate\",\"onCreate\":true,\"onUpdate\":true}],"
    "\"indexes\":[\"CREATE UNIQUE INDEX idx_notify_templates_name_locale ON "
    "_notifyTemplates (name, locale)\"]}";

/* ---- rendering ------------------------------------------------------------- */

static void append_text(struct buf *out, const char *p, size_t n, bool is_html)
{
    if (is_html)
        html_escape((struct str){p, n}, out);
    else
        buf_append(out, p, n);
}

static void append_value(struct buf *out, json_t *v, bool is_html)
{
    if (json_is_string(v)) {
        append_text(out, json_string_value(v), json_string_length(v), is_html);
    } else if (json_is_array(v)) {
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e)
        {
            if (i)
                buf_append_cstr(out, ", ");
            append_value(out, e, is_html);
        }
    } else if (v && !json_is_null(v)) {
        char *t = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        if (t)
            append_text(out, t, strlen(t), is_html);
        xfree(t);
    }
}

void core_template_render(const char *tmpl, json_t *record, const struct core_collection *c,
                          bool is_html, struct buf *out)
{
    static const char open[] = "{{record.";
    const char *t = tmpl;
    while (*t) {
        const char *end = strncmp(t, open, sizeof(open) - 1) == 0 ? strstr(t, "}}") : NULL;
        if (!end) {
            /* the template's own text is the author's: HTML as written */
            const char *next = strstr(t + 1, "{{");
            size_t n = next ? (size_t)(next - t) : strlen(t);
            buf_append(out, t, n);
            t += n;
            continue;
        }
        struct str name = {t + sizeof(open) - 1, (size_t)(end - t - (sizeof(open) - 1))};
        const struct core_field *f = c && record ? core_collection_field(c, name) : NULL;
        if (f && !core_field_is_secret(c, f))
            append_value(out, json_object_get(record, f->name), is_html);
        t = end + 2;
    }
}

/* ---- picking a locale ------------------------------------------------------ */

/* Whether a and b (n bytes) are the same tag: case and - or _ alike. */
static bool same_tag(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char x = a[i] == '_' ? '-' : (char)tolower((unsigned char)a[i]);
        char y = b[i] == '_' ? '-' : (char)tolower((unsigned char)b[i]);
        if (x != y)
            return false;
    }
    return true;
}

static json_t *find_tag(json_t *locales, const char *tag, size_t n)
{
    const char *k;
    json_t *v;
    json_object_foreach(locales, k, v)
    {
        if (strlen(k) == n && same_tag(k, tag, n))
            return v;
    }
    return NULL;
}

json_t *core_template_pick(json_t *locales, const char *locale)
{
    if (json_object_size(locales) == 1)
        return json_object_iter_value(json_object_iter(locales));
    json_t *m = NULL;
    if (locale && locale[0]) {
        size_t n = strlen(locale);
        m = find_tag(locales, locale, n);
        size_t lang = strcspn(locale, "-_");
        if (!m && lang < n)
            m = find_tag(locales, locale, lang);
    }
    if (!m)
        m = json_object_get(locales, "");
    if (!m)
        m = find_tag(locales, "en", 2);
    if (!m) {
        /* the first by name: the same choice on every run */
        const char *first = NULL, *k;
        json_t *v;
        json_object_foreach(locales, k, v)
        {
            if (!first || strcmp(k, first) < 0) {
                first = k;
                m = v;
            }
        }
    }
    return m;
}

/* ---- checking a notification's locales -------------------------------------- */

static bool is_tag(const char *k)
{
    size_t n = strlen(k);
    if (n == 0)
        return true;
    if (n > 35)
        return false;
    size_t lang = strcspn(k, "-_");
    if (lang < 2 || lang > 3)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (!isalnum((unsigned char)k[i]) && k[i] != '-' && k[i] != '_')
            return false;
    }
    return true;
}

const char *core_template_locales_check(json_t *locales)
{
    if (!json_is_object(locales) || !json_object_size(locales) ||
        json_object_size(locales) > CORE_TEMPLATE_MAX_LOCALES)
        return "locales: must be an object of 1 to 64 locales, each {title, body?, sms?, html?}.";
    static const struct {
        const char *key;
        size_t min, max;
    } parts[] = {{"title", 1, CORE_NOTIFY_MAX_TITLE},
                 {"body", 0, CORE_NOTIFY_MAX_BODY},
                 {"sms", 0, CORE_NOTIFY_MAX_SMS},
                 {"html", 0, CORE_NOTIFY_MAX_HTML}};
    const char *k;
    json_t *v;
    json_object_foreach(locales, k, v)
    {
        if (!is_tag(k))
            return "locales: every key must be a language tag (en, pt-BR) or \"\".";
        if (!json_is_object(v))
            return "locales: every locale must be {title, body?, sms?, html?}.";
        const char *pk;
        json_t *pv;
        json_object_foreach(v, pk, pv)
        {
            size_t i = 0;
            while (i < sizeof(parts) / sizeof(parts[0]) && strcmp(pk, parts[i].key) != 0)
                i++;
            if (i == sizeof(parts) / sizeof(parts[0]))
                return "locales: a locale has title, body, sms and html only.";
            if (!json_is_string(pv) || json_string_length(pv) < parts[i].min ||
                json_string_length(pv) > parts[i].max)
                return "locales: a locale's title is 1 to 256 bytes, body at most 2048, sms "
                       "1600, html 65536.";
        }
        if (!json_object_get(v, "title"))
            return "locales: every locale must have a title.";
    }
    return NULL;
}

void core_template_default_html(json_t *message, struct buf *out)
{
    const char *html = json_string_value(json_object_get(message, "html"));
    if (html) {
        buf_append_cstr(out, html);
        return;
    }
    static const char *const parts[] = {"title", "body"};
    for (size_t i = 0; i < 2; i++) {
        json_t *v = json_object_get(message, parts[i]);
        if (!json_string_length(v))
            continue;
        buf_append_cstr(out, i == 0 ? "<p><strong>" : "<p>");
        /* a line break of the text is one in the mail */
        const char *s = json_string_value(v), *nl;
        while ((nl = strchr(s, '\n')) != NULL) {
            append_text(out, s, (size_t)(nl - s), true);
            buf_append_cstr(out, "<br>");
            s = nl + 1;
        }
        append_text(out, s, strlen(s), true);
        buf_append_cstr(out, i == 0 ? "</strong></p>" : "</p>");
    }
}
