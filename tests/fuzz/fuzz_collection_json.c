/* fuzz_collection_json.c -- libFuzzer target for collection definitions: the
 * bytes are parsed as JSON (jansson, as api/collections.c does) and, when
 * they form an object, built into a collection as a client's create and as
 * an update of a stored auth collection (core_collection_from_json: names,
 * types, every field kind's option parse and check hooks, tokens, indexes).
 * Invariants: a collection built from a client's JSON is written (with its
 * secrets, as stored), loads back from that JSON as storage would, and
 * writes the same JSON again. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/jsonw.h"
#include "core/schema/collection_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW "2024-01-02 03:04:05.678Z"

/* c's JSON with its secrets (as stored), owned by the caller. */
static char *write_text(const struct core_collection *c)
{
    struct buf b;
    buf_init(&b, 1 << 24);
    struct jsonw w;
    jsonw_init(&w, &b);
    core_collection_write_json(&w, c, true);
    if (jsonw_finish(&w) != RC_OK)
        abort();
    char *s = xstrndup(b.data, b.len);
    buf_cleanup(&b);
    return s;
}

/* Writes c, loads that text as storage does (no schema: trusted) and
 * writes it again: both texts must be equal. */
static void check_round_trip(const struct core_collection *c)
{
    char *text = write_text(c);
    json_t *in = json_loads(text, 0, NULL);
    if (!in)
        abort(); /* the writer wrote invalid JSON */
    struct core_problem p;
    core_problem_init(&p);
    struct core_collection *back = NULL;
    if (core_collection_from_json(in, NULL, NULL, NOW, &back, &p) != RC_OK)
        abort(); /* a stored collection must load */
    char *again = write_text(back);
    if (strcmp(text, again) != 0)
        abort();
    xfree(again);
    core_collection_free(back);
    core_problem_cleanup(&p);
    json_decref(in);
    xfree(text);
}

/* A schema holding one stored auth collection, "users": relations may
 * target it and updates start from it. */
static struct core_schema *schema(void)
{
    static struct core_schema *s;
    if (s)
        return s;
    json_t *in = json_loads("{\"name\":\"users\",\"type\":\"auth\",\"fields\":["
                            "{\"name\":\"nick\",\"type\":\"text\",\"max\":20}]}",
                            0, NULL);
    struct core_problem p;
    core_problem_init(&p);
    struct core_collection *users = NULL;
    if (!in || core_collection_from_json(in, NULL, NULL, NOW, &users, &p) != RC_OK)
        abort();
    core_problem_cleanup(&p);
    json_decref(in);
    s = xcalloc(1, sizeof(*s));
    s->items = xcalloc(1, sizeof(*s->items));
    s->items[0] = users;
    s->count = 1;
    return s;
}

static void build(json_t *in, const struct core_collection *base)
{
    struct core_problem p;
    core_problem_init(&p);
    struct core_collection *c = NULL;
    enum rc rc = core_collection_from_json(in, base, schema(), NOW, &c, &p);
    if (rc == RC_OK) {
        if (!c)
            abort();
        check_round_trip(c);
    } else if (c) {
        abort(); /* a refused definition builds nothing */
    }
    core_collection_free(c);
    core_problem_cleanup(&p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *in = json_loadb((const char *)data, size, 0, NULL);
    if (!json_is_object(in)) {
        json_decref(in);
        return 0;
    }
    build(in, NULL);
    build(in, schema()->items[0]);
    json_decref(in);
    return 0;
}
