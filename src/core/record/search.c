/* search.c -- see search.h. */
#include "core/record/search.h"

#include <string.h>

#include "base/edit_distance.h"
#include "base/jsonw.h"
#include "base/utf8.h"
#include "store/sql.h"

/* ---- The words of a search ------------------------------------------------ */

struct words {
    struct core_search *s;
    struct arena *arena;
    size_t last_end; /* where the last word ends in the text */
    bool is_over;    /* more words than CORE_SEARCH_MAX_WORDS */
};

static enum rc on_word(void *ctx, struct str word, size_t start, size_t end)
{
    (void)start;
    struct words *w = ctx;
    if (w->s->term_count == CORE_SEARCH_MAX_WORDS) {
        w->is_over = true;
        return RC_TOO_LARGE;
    }
    w->s->terms[w->s->term_count++] =
        (struct store_search_term){.word = arena_strdup(w->arena, word)};
    w->last_end = end;
    return RC_OK;
}

static enum rc refuse(struct core_problem *p, const char *message)
{
    core_problem_message(p, "Invalid search.");
    core_problem_field(p, "search", "validation_invalid_value", message, NULL);
    return RC_INVALID;
}

/* (Re)makes s->query of the terms. */
static enum rc build(struct core_search *s)
{
    store_search_query_cleanup(&s->query);
    store_search_query_init(&s->query, &s->ix, s->query.dialect);
    return store_search_query_build(&s->query, s->terms, s->term_count);
}

enum rc core_search_prepare(struct core_request *r, const struct core_collection *c,
                            struct str text, struct core_search *s, struct core_problem *p)
{
    memset(s, 0, sizeof(*s));
    s->c = c;
    store_search_query_init(&s->query, &s->ix, store_conn_dialect(r->cw->db));
    if (!core_search_index(c, s->cols, &s->ix))
        return refuse(p, "The collection has no search: set its `search` option (fields to "
                         "search) first.");
    if (text.len > CORE_SEARCH_MAX_TEXT)
        return refuse(p, "The search is too long: 1000 bytes at most.");
    if (!utf8_is_valid(text.ptr, text.len))
        return refuse(p, "The search is not valid UTF-8.");
    for (size_t i = 0; i < s->ix.count; i++) {
        const struct core_field *f = core_collection_field(c, s->cols[i].name);
        s->field_at[i] = f ? (int)(f - c->fields) : -1;
        s->is_list[i] = f && core_field_is_multi(f);
    }
    struct words w = {.s = s, .arena = r->arena};
    enum rc rc = store_search_words(text, on_word, &w);
    if (w.is_over)
        return refuse(p, "The search has too many words: 32 at most.");
    if (rc)
        return rc;
    if (!s->term_count) {
        s->is_empty = true;
        return RC_OK;
    }
    /* Still typing the last word, unless a blank or a sign ends the text. */
    s->terms[s->term_count - 1].is_prefix = w.last_end == text.len;
    return build(s);
}

bool core_search_can_widen(const struct core_search *s, size_t i)
{
    return edit_distance_length(s->terms[i].word) >= 5;
}

enum rc core_search_term_query(const struct core_search *s, size_t i,
                               struct store_search_query *one)
{
    struct store_search_term t = s->terms[i];
    t.alt_count = 0;
    store_search_query_init(one, &s->ix, s->query.dialect);
    return store_search_query_build(one, &t, 1);
}

enum rc core_search_widen(struct core_request *r, struct core_search *s, size_t i)
{
    struct store_search_term *t = &s->terms[i];
    struct str *alts = arena_alloc(r->arena, STORE_SEARCH_MAX_ALTS * sizeof(*alts));
    enum rc rc = store_search_similar(r->cw->db, &s->ix, t->word, r->arena, alts, &t->alt_count);
    if (rc || !t->alt_count)
        return rc;
    t->alts = alts;
    return build(s);
}

void core_search_cleanup(struct core_search *s)
{
    store_search_query_cleanup(&s->query);
}

/* ---- Snippets ----------------------------------------------------------- */

#define MARK_START '\x02'
#define MARK_END '\x03'

/* A character reference at s (which begins with '&'): its bytes in *used
 * and its code point, or false when it is none we read. */
static bool char_ref(struct str s, size_t *used, uint32_t *cp)
{
    static const struct {
        const char *name;
        uint32_t cp;
    } named[] = {{"amp", '&'},   {"lt", '<'},    {"gt", '>'},       {"quot", '"'},
                 {"apos", '\''}, {"nbsp", 0xA0}, {"hellip", 0x2026}};
    size_t end = 1;
    while (end < s.len && end <= 10 && s.ptr[end] != ';')
        end++;
    if (end >= s.len || s.ptr[end] != ';' || end < 2)
        return false;
    struct str body = {s.ptr + 1, end - 1};
    *used = end + 1;
    if (body.ptr[0] == '#') {
        bool hex = body.len > 1 && (body.ptr[1] == 'x' || body.ptr[1] == 'X');
        uint32_t v = 0;
        size_t i = hex ? 2 : 1;
        if (i == body.len)
            return false;
        for (; i < body.len; i++) {
            int d = hex ? str_hex_value(body.ptr[i])
                        : (body.ptr[i] >= '0' && body.ptr[i] <= '9' ? body.ptr[i] - '0' : -1);
            if (d < 0 || v > 0x10FFFF)
                return false;
            v = v * (hex ? 16 : 10) + (uint32_t)d;
        }
        *cp = v;
        return v > 0 && v <= 0x10FFFF && (v < 0xD800 || v > 0xDFFF);
    }
    for (size_t k = 0; k < sizeof(named) / sizeof(named[0]); k++) {
        if (str_eq(body, str_from_cstr(named[k].name))) {
            *cp = named[k].cp;
            return true;
        }
    }
    return false;
}

/* How a field's text is read. */
enum shape {
    SHAPE_TEXT,
    SHAPE_HTML, /* tags become blanks, character references what they stand for */
    SHAPE_LIST, /* a JSON array of strings: its brackets and quotes go, commas part */
};

/* Appends in as plain text to out, read as shape says; every run of
 * blanks and control characters one space, none at either end; the marks
 * kept when keep_marks, dropped otherwise. */
static enum rc plain(struct str in, enum shape shape, bool keep_marks, struct buf *out)
{
    bool is_html = shape == SHAPE_HTML;
    bool blank = false;
    enum rc rc = RC_OK;
    for (size_t i = 0; i < in.len && !rc; i++) {
        unsigned char c = (unsigned char)in.ptr[i];
        char utf8[4];
        struct str piece = {(const char *)&in.ptr[i], 1};
        if (is_html && c == '<' && i + 1 < in.len) {
            unsigned char d = (unsigned char)in.ptr[i + 1];
            if ((d >= 'a' && d <= 'z') || (d >= 'A' && d <= 'Z') || d == '/' || d == '!' ||
                d == '?') {
                const char *end = memchr(in.ptr + i, '>', in.len - i);
                i = end ? (size_t)(end - in.ptr) : in.len;
                blank = true;
                continue;
            }
        }
        if (is_html && c == '&') {
            size_t used;
            uint32_t cp;
            if (char_ref((struct str){in.ptr + i, in.len - i}, &used, &cp)) {
                i += used - 1;
                if (cp == 0xA0 || cp < 0x20) {
                    blank = true;
                    continue;
                }
                piece = (struct str){utf8, utf8_encode(cp, utf8)};
            }
        }
        if (shape == SHAPE_LIST && (c == '[' || c == ']' || c == '"' || c == ',')) {
            if (c == ',' && out->len)
                rc = buf_append(out, ",", 1);
            blank = blank || c == ',';
            continue;
        }
        if (c == MARK_START || c == MARK_END) {
            if (!keep_marks)
                continue;
        } else if (c <= 0x20 || c == 0x7F) {
            blank = true;
            continue;
        }
        if (blank && out->len)
            rc = buf_append(out, " ", 1);
        blank = false;
        if (!rc)
            rc = buf_append_str(out, piece);
    }
    return rc;
}

static enum shape shape_of(const struct core_search *s, size_t i)
{
    return s->cols[i].is_html ? SHAPE_HTML : s->is_list[i] ? SHAPE_LIST : SHAPE_TEXT;
}

static size_t count_marks(struct str s)
{
    size_t n = 0;
    for (size_t i = 0; i < s.len; i++)
        n += s.ptr[i] == MARK_START;
    return n;
}

/* Whether text, the marks taken out, is whole at its start (end). */
static bool is_whole(struct str snippet, struct str field, bool at_end)
{
    size_t j = at_end ? field.len : 0;
    size_t i = at_end ? snippet.len : 0;
    while (at_end ? i > 0 : i < snippet.len) {
        char c = at_end ? snippet.ptr[i - 1] : snippet.ptr[i];
        i = at_end ? i - 1 : i + 1;
        if (c == MARK_START || c == MARK_END)
            continue;
        if (at_end ? (j == 0 || field.ptr[j - 1] != c) : (j == field.len || field.ptr[j] != c))
            return false;
        j = at_end ? j - 1 : j + 1;
    }
    return true;
}

enum rc core_search_snippet(const struct core_search *s, struct store_stmt *st, int col0,
                            struct buf *out)
{
    struct buf best, cand, whole;
    buf_init(&best, (size_t)1 << 24);
    buf_init(&cand, (size_t)1 << 24);
    buf_init(&whole, (size_t)1 << 26);
    size_t best_marks = 0;
    int best_col = -1;
    enum rc rc = RC_OK;
    for (size_t i = 0; i < s->ix.count && !rc; i++) {
        buf_reset(&cand);
        rc = plain(store_column_text(st, col0 + (int)i), shape_of(s, i), true, &cand);
        size_t marks = count_marks(buf_str(&cand));
        if (rc || !cand.len || (best_col >= 0 && marks <= best_marks))
            continue;
        struct buf t = best;
        best = cand;
        cand = t;
        best_marks = marks;
        best_col = (int)i;
    }
    if (!rc && best_col >= 0 && s->field_at[best_col] >= 0)
        rc = plain(store_column_text(st, s->field_at[best_col]), shape_of(s, (size_t)best_col),
                   false, &whole);
    if (!rc && best_col >= 0) {
        struct jsonw w;
        jsonw_init(&w, out);
        jsonw_object_begin(&w);
        jsonw_key_cstr(&w, "field");
        jsonw_string(&w, s->cols[best_col].name);
        jsonw_key_cstr(&w, "text");
        buf_reset(&cand);
        if (!is_whole(buf_str(&best), buf_str(&whole), false))
            rc = buf_append_cstr(&cand, "\xE2\x80\xA6 "); /* "… " */
        if (!rc)
            rc = buf_append_str(&cand, buf_str(&best));
        if (!rc && !is_whole(buf_str(&best), buf_str(&whole), true))
            rc = buf_append_cstr(&cand, " \xE2\x80\xA6");
        jsonw_string(&w, buf_str(&cand));
        jsonw_object_end(&w);
        if (!rc)
            rc = jsonw_finish(&w);
    }
    buf_cleanup(&best);
    buf_cleanup(&cand);
    buf_cleanup(&whole);
    return rc;
}
