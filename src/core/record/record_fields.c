/* record_fields.c -- the `fields` output picker (spec §2.7).
 *
 * Runs on the finished JSON of a response: parse, prune, write again. Only
 * requests that ask for `fields` pay for it; the usual path writes rows
 * straight to the output. */
#include "core/record/record.h"

#include <string.h>

#include "base/alloc.h"
#include "base/utf8.h"

struct pick {
    struct str key;
    struct pick *children;
    size_t child_count;
    bool has_star;    /* "*" at this level */
    bool is_leaf;     /* keep the whole value */
    long excerpt_max; /* > 0: :excerpt(max, ellipsis) on this leaf */
    bool excerpt_ellipsis;
};

#define PICK_MAX_NODES 256

struct pick_pool {
    struct pick nodes[PICK_MAX_NODES];
    size_t used;
};

static struct pick *new_node(struct pick_pool *pool)
{
    if (pool->used == PICK_MAX_NODES)
        return NULL;
    struct pick *p = &pool->nodes[pool->used++];
    memset(p, 0, sizeof(*p));
    return p;
}

static struct pick *child(struct pick_pool *pool, struct pick *n, struct str key)
{
    for (size_t i = 0; i < n->child_count; i++) {
        if (str_eq(n->children[i].key, key))
            return &n->children[i];
    }
    /* Children are stored contiguously in the pool only when appended in
     * order; keep a small per-node array instead. */
    struct pick *grown = xrealloc(n->children, (n->child_count + 1) * sizeof(struct pick));
    n->children = grown;
    struct pick *c = &n->children[n->child_count++];
    memset(c, 0, sizeof(*c));
    c->key = key;
    (void)pool;
    return c;
}

static void free_tree(struct pick *n)
{
    for (size_t i = 0; i < n->child_count; i++)
        free_tree(&n->children[i]);
    xfree(n->children);
}

/* Parses ":excerpt(max[, bool])"; returns false when malformed. */
static bool parse_excerpt(struct str mod, long *max, bool *ellipsis)
{
    static const char head[] = "excerpt(";
    if (mod.len < sizeof(head) || memcmp(mod.ptr, head, sizeof(head) - 1) != 0 ||
        mod.ptr[mod.len - 1] != ')')
        return false;
    struct str args = {mod.ptr + sizeof(head) - 1, mod.len - sizeof(head)};
    long v = 0;
    size_t i = 0;
    while (i < args.len && args.ptr[i] == ' ')
        i++;
    size_t d0 = i;
    while (i < args.len && args.ptr[i] >= '0' && args.ptr[i] <= '9' && v < 1000000)
        v = v * 10 + (args.ptr[i++] - '0');
    if (i == d0 || v <= 0)
        return false;
    while (i < args.len && args.ptr[i] == ' ')
        i++;
    *ellipsis = false;
    if (i < args.len && args.ptr[i] == ',') {
        struct str b = str_trim_ows((struct str){args.ptr + i + 1, args.len - i - 1});
        *ellipsis =
            str_eq(b, STR_LIT("true")) || str_eq(b, STR_LIT("1")) || str_eq(b, STR_LIT("t"));
        i = args.len;
    }
    if (i != args.len)
        return false;
    *max = v;
    return true;
}

static void add_pick(struct pick_pool *pool, struct pick *root, struct str item)
{
    struct str mod = {NULL, 0};
    const char *colon = memchr(item.ptr, ':', item.len);
    if (colon) {
        mod = (struct str){colon + 1, item.len - (size_t)(colon - item.ptr) - 1};
        item.len = (size_t)(colon - item.ptr);
    }
    struct pick *n = root;
    size_t start = 0;
    for (size_t i = 0; i <= item.len; i++) {
        if (i < item.len && item.ptr[i] != '.')
            continue;
        struct str seg = str_trim_ows((struct str){item.ptr + start, i - start});
        start = i + 1;
        if (seg.len == 0)
            return;
        if (seg.len == 1 && seg.ptr[0] == '*') {
            n->has_star = true;
            return;
        }
        n = child(pool, n, seg);
    }
    n->is_leaf = true;
    if (mod.len)
        n->excerpt_max =
            parse_excerpt(mod, &n->excerpt_max, &n->excerpt_ellipsis) ? n->excerpt_max : 0;
}

static bool is_inline_tag(const char *tag, size_t len)
{
    static const char *const inline_tags[] = {
        "a",    "abbr", "b", "bdi",  "bdo",   "cite", "code",   "data", "dfn", "em",   "i", "kbd",
        "mark", "q",    "s", "samp", "small", "span", "strong", "sub",  "sup", "time", "u", "var"};
    size_t i = 1;
    if (i < len && tag[i] == '/')
        i++;
    size_t start = i;
    while (i < len && ((tag[i] >= 'a' && tag[i] <= 'z') || (tag[i] >= 'A' && tag[i] <= 'Z') ||
                       (tag[i] >= '0' && tag[i] <= '9')))
        i++;
    size_t n = i - start;
    for (size_t k = 0; k < sizeof(inline_tags) / sizeof(inline_tags[0]); k++) {
        if (strlen(inline_tags[k]) == n && strncasecmp(tag + start, inline_tags[k], n) == 0)
            return true;
    }
    return false;
}

/* Text without HTML: tags dropped (with the content of the elements that are
 * not text), whitespace collapsed, trimmed, cut to max runes. */
static json_t *excerpt(const char *s, size_t len, long max, bool ellipsis)
{
    static const char *const skip_content[] = {"script",   "style",  "svg",    "img",      "iframe",
                                               "form",     "input",  "button", "textarea", "select",
                                               "noscript", "object", "video",  "audio"};
    struct buf out;
    buf_init(&out, len + 4);
    const char *skip_until = NULL;
    bool space = false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == '<') {
            const char *end = memchr(s + i, '>', len - i);
            if (!end)
                break;
            size_t tag_len = (size_t)(end - (s + i)) + 1;
            if (!skip_until) {
                for (size_t k = 0; k < sizeof(skip_content) / sizeof(skip_content[0]); k++) {
                    size_t n = strlen(skip_content[k]);
                    if (tag_len > n + 1 && strncasecmp(s + i + 1, skip_content[k], n) == 0 &&
                        (s[i + 1 + n] == '>' || s[i + 1 + n] == ' ' || s[i + 1 + n] == '/'))
                        skip_until = skip_content[k];
                }
                if (skip_until && s[i + tag_len - 2] == '/')
                    skip_until = NULL; /* self-closing */
            } else if (s[i + 1] == '/' &&
                       strncasecmp(s + i + 2, skip_until, strlen(skip_until)) == 0) {
                skip_until = NULL;
            }
            i += tag_len - 1;
            /* Block elements separate words; inline ones (<b>, <a>, <span>)
             * do not: "Hello <b>world</b>," reads "Hello world,". */
            if (!is_inline_tag(s + i - tag_len + 1, tag_len))
                space = true;
            continue;
        }
        if (skip_until)
            continue;
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
            space = true;
            continue;
        }
        if (space && out.len)
            (void)buf_append(&out, " ", 1);
        space = false;
        (void)buf_append(&out, &c, 1);
    }
    /* Cut at max runes. */
    size_t runes = 0, at = 0;
    while (at < out.len && runes < (size_t)max) {
        uint32_t cp;
        size_t n = utf8_decode((const unsigned char *)out.data + at, out.len - at, &cp);
        at += n ? n : 1;
        runes++;
    }
    bool cut = at < out.len;
    out.len = at;
    while (out.len && out.data[out.len - 1] == ' ')
        out.len--;
    if (cut && ellipsis) {
        out.max += 3;
        (void)buf_append(&out, "...", 3);
    }
    json_t *j = json_stringn(out.data ? out.data : "", out.len);
    buf_cleanup(&out);
    return j;
}

static json_t *apply(const struct pick *n, json_t *v)
{
    if (json_is_array(v)) {
        json_t *a = json_array();
        size_t i;
        json_t *item;
        json_array_foreach(v, i, item) json_array_append_new(a, apply(n, item));
        return a;
    }
    if (n->is_leaf && !n->child_count && !n->has_star) {
        if (n->excerpt_max > 0 && json_is_string(v))
            return excerpt(json_string_value(v), json_string_length(v), n->excerpt_max,
                           n->excerpt_ellipsis);
        return json_incref(v);
    }
    if (!json_is_object(v))
        return json_incref(v);
    json_t *o = json_object();
    const char *key;
    json_t *val;
    json_object_foreach(v, key, val)
    {
        const struct pick *c = NULL;
        for (size_t i = 0; i < n->child_count; i++) {
            if (str_eq(n->children[i].key, str_from_cstr(key)))
                c = &n->children[i];
        }
        if (c)
            json_object_set_new(o, key, apply(c, val));
        else if (n->has_star)
            json_object_set(o, key, val);
    }
    return o;
}

/* The picker's next item from *at (a comma inside parentheses is the
 * item's, as in :excerpt(200, true)), trimmed; false past the last. */
static bool next_item(struct str fields, size_t *at, struct str *item)
{
    if (*at > fields.len)
        return false;
    int depth = 0;
    size_t i = *at;
    for (; i < fields.len; i++) {
        if (fields.ptr[i] == '(')
            depth++;
        else if (fields.ptr[i] == ')' && depth)
            depth--;
        else if (fields.ptr[i] == ',' && !depth)
            break;
    }
    *item = str_trim_ows((struct str){fields.ptr + *at, i - *at});
    *at = i + 1;
    return true;
}

bool core_fields_wants(struct str fields, struct str key)
{
    /* The items and their first segments as core_fields_apply reads them
     * (add_pick): an item with an empty first segment adds nothing. */
    bool has_any = false;
    struct str item;
    for (size_t at = 0; next_item(fields, &at, &item);) {
        const char *colon = memchr(item.ptr, ':', item.len);
        if (colon)
            item.len = (size_t)(colon - item.ptr);
        const char *dot = memchr(item.ptr, '.', item.len);
        struct str seg =
            str_trim_ows((struct str){item.ptr, dot ? (size_t)(dot - item.ptr) : item.len});
        if (!seg.len)
            continue;
        if ((seg.len == 1 && seg.ptr[0] == '*') || str_eq(seg, key))
            return true;
        has_any = true;
    }
    return !has_any;
}

enum rc core_fields_apply(struct buf *out, struct str fields, bool is_list)
{
    struct pick_pool *pool = xmalloc(sizeof(*pool));
    pool->used = 0;
    struct pick *root = new_node(pool);
    struct str item;
    for (size_t at = 0; next_item(fields, &at, &item);) {
        if (item.len)
            add_pick(pool, root, item);
    }
    json_t *doc = json_loadb(out->data, out->len, 0, NULL);
    enum rc rc = RC_OK;
    if (doc && (root->child_count || root->has_star)) {
        json_t *result;
        if (is_list) {
            result = json_copy(doc);
            json_object_set_new(result, "items", apply(root, json_object_get(doc, "items")));
        } else {
            result = apply(root, doc);
        }
        char *text = json_dumps(result, JSON_COMPACT);
        json_decref(result);
        buf_reset(out);
        rc = text ? buf_append_cstr(out, text) : RC_NOMEM;
        xfree(text);
    }
    json_decref(doc);
    free_tree(root);
    xfree(pool);
    return rc;
}
