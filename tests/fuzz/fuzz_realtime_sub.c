/* fuzz_realtime_sub.c -- libFuzzer target for the realtime subscription
 * parser (core/realtime_sub.c: topic split, options= decoding, option
 * values stringified). The input is tried as a JSON document (the POST's
 * subscriptions value) and as one subscription string. Beyond "no crash":
 * every parsed subscription keeps its string verbatim, its topic parts come
 * from before the first '?', and its options hold only strings. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/realtime/realtime_sub.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void only_strings(json_t *o)
{
    if (!o)
        return;
    if (!json_is_object(o))
        abort();
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v)
    {
        if (!json_is_string(v))
            abort();
    }
}

static void check_set(json_t *list)
{
    struct core_problem p;
    core_problem_init(&p);
    bool ok;
    struct core_rt_subs *s = core_rt_subs_parse(list, &p, &ok);
    if (s && !ok)
        abort();
    if (!ok && !core_problem_has_fields(&p))
        abort(); /* a refusal always says why */
    for (size_t i = 0; s && i < s->count; i++) {
        const struct core_rt_sub *sub = &s->items[i];
        if (!sub->raw || !sub->collection || !sub->options || !sub->raw[0])
            abort();
        const char *q = strchr(sub->raw, '?');
        size_t topic = q ? (size_t)(q - sub->raw) : strlen(sub->raw);
        if (strlen(sub->collection) > topic ||
            strncmp(sub->raw, sub->collection, strlen(sub->collection)))
            abort();
        if (strcmp(sub->options, q ? q + 1 : "") != 0)
            abort();
        only_strings(sub->query);
        only_strings(sub->headers);
    }
    core_rt_subs_release(s);
    core_problem_cleanup(&p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *doc = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
    if (doc)
        check_set(doc);
    json_decref(doc);
    json_t *one = json_stringn((const char *)data, size); /* NULL unless valid UTF-8 */
    if (one) {
        json_t *list = json_pack("[o]", one);
        check_set(list);
        json_decref(list);
    }
    return 0;
}
