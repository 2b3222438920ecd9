/* realtime_sub.c -- see realtime_sub.h. */
#include "core/realtime/realtime_sub.h"

#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "core/filter/sqlgen.h"

void core_rt_subs_retain(struct core_rt_subs *s)
{
    atomic_fetch_add(&s->refs, 1);
}

void core_rt_subs_release(struct core_rt_subs *s)
{
    if (!s || atomic_fetch_sub(&s->refs, 1) != 1)
        return;
    for (size_t i = 0; i < s->count; i++) {
        struct core_rt_sub *sub = &s->items[i];
        xfree(sub->raw);
        xfree(sub->collection);
        xfree(sub->record_id);
        xfree(sub->options);
        json_decref(sub->query);
        json_decref(sub->headers);
    }
    xfree(s);
}

/* Reads `options=<urlencoded JSON>` from the text after '?'; anything
 * undecodable is ignored (spec §7.3: the subscription stays, no options). */
static void parse_options(struct core_rt_sub *sub, const char *qs)
{
    static const char key[] = "options=";
    const char *p = qs;
    while (*p && strncmp(p, key, sizeof(key) - 1) != 0) {
        p = strchr(p, '&');
        if (!p)
            return;
        p++;
    }
    if (!*p)
        return;
    p += sizeof(key) - 1;
    size_t len = strcspn(p, "&");
    char *text = xcalloc(1, len + 1);
    long n = str_percent_decode((struct str){p, len}, text, true);
    json_t *o = n < 0 ? NULL : json_loadb(text, (size_t)n, 0, NULL);
    xfree(text);
    if (json_is_object(o)) {
        json_t *q = json_object_get(o, "query");
        json_t *h = json_object_get(o, "headers");
        if (json_is_object(q))
            sub->query = core_request_strings(q, false);
        if (json_is_object(h))
            sub->headers = core_request_strings(h, true);
    }
    json_decref(o);
}

static void parse_sub(struct core_rt_sub *sub, const char *text)
{
    sub->raw = xstrdup(text);
    const char *q = strchr(text, '?');
    size_t topic_len = q ? (size_t)(q - text) : strlen(text);
    sub->options = xstrdup(q ? q + 1 : "");
    const char *slash = memchr(text, '/', topic_len);
    if (slash) {
        sub->collection = xstrndup(text, (size_t)(slash - text));
        size_t rest = topic_len - (size_t)(slash - text) - 1;
        if (!(rest == 1 && slash[1] == '*'))
            sub->record_id = xstrndup(slash + 1, rest);
    } else {
        sub->collection = xstrndup(text, topic_len);
    }
    if (q)
        parse_options(sub, q + 1);
}

struct core_rt_subs *core_rt_subs_parse(json_t *list, struct core_problem *p, bool *ok)
{
    *ok = true;
    if (list && !json_is_null(list) && !json_is_array(list)) {
        core_problem_field(p, "subscriptions", "validation_invalid_value", "Must be a list.", NULL);
        *ok = false;
        return NULL;
    }
    size_t n = json_array_size(list);
    if (n > CORE_RT_MAX_SUBS) {
        core_problem_field(p, "subscriptions", "validation_length_too_long",
                           "The length must be no more than 1000.", NULL);
        *ok = false;
        return NULL;
    }
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_array_get(list, i);
        if (!json_is_string(v) || json_string_length(v) > CORE_RT_MAX_SUB_LEN) {
            char path[64];
            snprintf(path, sizeof(path), "subscriptions.%zu", i);
            core_problem_field(
                p, path,
                json_is_string(v) ? "validation_length_too_long" : "validation_invalid_value",
                json_is_string(v) ? "The length must be no more than 2500." : "Must be a string.",
                NULL);
            *ok = false;
        } else if (json_string_length(v) > 0) {
            kept++;
        }
    }
    if (!*ok || kept == 0)
        return NULL;
    struct core_rt_subs *s = xcalloc(1, sizeof(*s) + kept * sizeof(struct core_rt_sub));
    atomic_init(&s->refs, 1);
    for (size_t i = 0; i < n; i++) {
        const char *text = json_string_value(json_array_get(list, i));
        if (text[0])
            parse_sub(&s->items[s->count++], text);
    }
    return s;
}
