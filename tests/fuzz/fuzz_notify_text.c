/* fuzz_notify_text.c -- libFuzzer target for what a notification's texts
 * and a user's preferences are read from (core/notify/template.h, prefs.h)
 * and the API's date format (base/chrono.h). The first byte picks:
 *   0: a template rendered over a record (plain and HTML): a template
 *      without '<' renders HTML without '<' (every value escaped), the
 *      plain rendering holds the template's own text between placeholders;
 *   1: a notification's locales (JSON): accepted ones always give a text
 *      for any locale asked;
 *   2: a date: an accepted one formats back to a date read again as the
 *      same instant;
 *   3: quiet hours (JSON): accepted ones end within a day of now, or are
 *      not holding now. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/chrono.h"
#include "core/notify/prefs.h"
#include "core/notify/template.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct core_collection *make_collection(void)
{
    static struct core_field fields[3];
    static struct core_collection c;
    static const char *const names[] = {"name", "count", "secret"};
    static const enum core_field_type types[] = {CORE_FIELD_TEXT, CORE_FIELD_NUMBER,
                                                 CORE_FIELD_PASSWORD};
    for (int i = 0; i < 3; i++) {
        fields[i] = (struct core_field){.name = (char *)names[i],
                                        .id = (char *)names[i],
                                        .type = types[i],
                                        .max_select = 1,
                                        .pattern = (char *)"",
                                        .autogenerate_pattern = (char *)"",
                                        .min_date = (char *)"",
                                        .max_date = (char *)"",
                                        .collection_id = (char *)""};
    }
    c.id = (char *)"pbc_fuzz";
    c.name = (char *)"fuzz";
    c.type = CORE_COLLECTION_BASE;
    c.fields = fields;
    c.field_count = 3;
    return &c;
}

static void render(const char *tmpl)
{
    struct core_collection *c = make_collection();
    json_t *record = json_pack("{s:s, s:i, s:s}", "name", "<b>&\"'", "count", 7, "secret", "pw");
    struct buf plain, html;
    buf_init(&plain, 1 << 20);
    buf_init(&html, 1 << 20);
    core_template_render(tmpl, record, c, false, &plain);
    core_template_render(tmpl, record, c, true, &html);
    if (!strchr(tmpl, '<') && html.len && memchr(html.data, '<', html.len))
        abort(); /* a value came through unescaped */
    if (plain.len && memmem(plain.data, plain.len, "pw", 2) && !strstr(tmpl, "pw"))
        abort(); /* a secret field rendered */
    if (!strstr(tmpl, "{{") &&
        (plain.len != strlen(tmpl) || (plain.len && memcmp(plain.data, tmpl, plain.len))))
        abort(); /* text without placeholders is its own rendering */
    buf_cleanup(&plain);
    buf_cleanup(&html);
    json_decref(record);
}

static void locales(const char *text, size_t n)
{
    json_t *j = json_loadb(text, n, 0, NULL);
    if (j && !core_template_locales_check(j)) {
        static const char *const asked[] = {"", "en", "pt-BR", "hi_IN", "zz", "x"};
        for (size_t i = 0; i < sizeof(asked) / sizeof(asked[0]); i++) {
            json_t *m = core_template_pick(j, asked[i]);
            if (!m || !json_string_length(json_object_get(m, "title")))
                abort();
        }
        struct buf html;
        buf_init(&html, 1 << 20);
        core_template_default_html(core_template_pick(j, "en"), &html);
        buf_cleanup(&html);
    }
    json_decref(j);
}

static void date(const char *text)
{
    int64_t ms;
    if (!chrono_parse_db_ms(text, &ms))
        return;
    char out[32];
    chrono_format_db_ms(ms, out);
    int64_t again;
    /* years past 9999 do not format back: nothing to compare */
    if (ms >= 0 && ms < 253402300800000LL && (!chrono_parse_db_ms(out, &again) || again != ms))
        abort();
}

static void quiet(const char *text, size_t n)
{
    json_t *j = json_loadb(text, n, 0, NULL);
    json_t *values = json_pack("{s:o*}", "quietHours", j);
    struct core_problem p;
    core_problem_init(&p);
    if (values && core_prefs_check(values, &p) == RC_OK && json_is_object(j)) {
        const int64_t now = 1793613600123LL;
        for (int64_t at = now; at < now + 2 * 86400000LL; at += 3600000 * 7 + 61000) {
            int64_t end = core_prefs_quiet_end(j, at);
            if (end && (end <= at - 60000 || end > at + 86400000LL))
                abort();
        }
    }
    core_problem_cleanup(&p);
    json_decref(values);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 4096)
        return 0;
    char *text = malloc(size);
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    switch (data[0] % 4) {
    case 0: render(text); break;
    case 1: locales(text, size - 1); break;
    case 2: date(text); break;
    default: quiet(text, size - 1); break;
    }
    free(text);
    return 0;
}
