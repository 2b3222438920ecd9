/* search_similar.c -- the words of an index one edit away from a word
 * (see search.h, store_search_similar): ranges of SQLite's vocabulary,
 * LIKE patterns over PostgreSQL's word table. */
#include "store/search.h"

#include <string.h>

#include "base/edit_distance.h"
#include "base/utf8.h"
#include "store/search_int.h"
#include "store/sql.h"

/* ---- Typo lookups ---------------------------------------------------------- */

/* Where a lookup reads each dialect's words: the vocabulary's suffix and
 * its word column. */
static const struct {
    const char *table, *word;
} vocab[] = {
    [STORE_DIALECT_SQLITE] = {":v", "term"},
    [STORE_DIALECT_POSTGRES] = {":w", "word"},
};

/* The least string greater than every string that begins with p: its last
 * code point plus one (surrogates skipped), the ones at U+10FFFF dropped.
 * false when there is none (p is empty or all U+10FFFF). */
static bool next_prefix(struct str p, char *out, size_t cap, struct str *next)
{
    size_t end = p.len;
    while (end > 0) {
        size_t start = end - 1;
        while (start > 0 && ((unsigned char)p.ptr[start] & 0xC0) == 0x80)
            start--;
        uint32_t cp;
        if (!utf8_decode((const unsigned char *)p.ptr + start, end - start, &cp)) {
            end = start;
            continue;
        }
        if (cp < 0x10FFFF) {
            cp = cp == 0xD7FF ? 0xE000 : cp + 1;
            if (start + 4 > cap)
                return false;
            memcpy(out, p.ptr, start);
            size_t n = utf8_encode(cp, out + start);
            *next = (struct str){out, start + n};
            return true;
        }
        end = start;
    }
    return false;
}

/* Runs sql with a as ?1 and b as ?2, and calls back for each row's word. */
typedef void word_fn(void *ctx, struct str word);

static enum rc each_word(struct store_conn *db, struct str sql, struct str a, struct str b,
                         word_fn *fn, void *ctx)
{
    struct store_stmt *st;
    enum rc rc = store_prepare(db, sql, &st);
    if (rc)
        return rc == RC_INVALID ? RC_INTERNAL : rc;
    rc = store_bind_text(st, 1, a);
    if (!rc)
        rc = store_bind_text(st, 2, b);
    while (!rc && (rc = store_step(st)) == RC_OK)
        fn(ctx, store_column_text(st, 0));
    store_done(st);
    return rc == RC_NOT_FOUND ? RC_OK : rc;
}

/* The statement "SELECT <word> FROM <vocabulary><tail>". */
static enum rc vocab_sql(const struct store_search_index *ix, enum store_dialect d,
                         const char *tail, struct buf *out)
{
    struct store_sql q;
    store_sql_begin_as(&q, out, d);
    store_sql_add(&q, "SELECT ");
    store_sql_add(&q, vocab[d].word);
    store_sql_add(&q, " FROM ");
    store_search_add_name(&q, ix->key, vocab[d].table);
    store_sql_add(&q, tail);
    return store_sql_end(&q);
}

struct similar {
    struct str word;  /* what was typed */
    bool is_reversed; /* the words come reversed, behind '~' */
    struct arena *a;
    struct str *alts;
    size_t count;
};

/* s reversed by code points into out (room for s.len bytes). */
static void reverse_into(struct str s, char *out)
{
    size_t o = s.len;
    for (size_t i = 0; i < s.len;) {
        size_t n = 1;
        while (i + n < s.len && ((unsigned char)s.ptr[i + n] & 0xC0) == 0x80)
            n++;
        o -= n;
        memcpy(out + o, s.ptr + i, n);
        i += n;
    }
}

static int compare_str(struct str a, struct str b)
{
    int c = memcmp(a.ptr, b.ptr, a.len < b.len ? a.len : b.len);
    return c ? c : (a.len > b.len) - (a.len < b.len);
}

static void on_similar(void *ctx, struct str word)
{
    struct similar *s = ctx;
    char back[4 * EDIT_DISTANCE_MAX_LEN];
    if (s->is_reversed) {
        if (!word.len || word.ptr[0] != '~' || word.len - 1 > sizeof(back))
            return;
        reverse_into((struct str){word.ptr + 1, word.len - 1}, back);
        word = (struct str){back, word.len - 1};
    }
    if (str_eq(word, s->word) || !edit_distance_within(word, s->word, 1))
        return;
    /* Kept in byte order; past the cap the greatest falls off. */
    size_t at = 0;
    while (at < s->count && compare_str(s->alts[at], word) < 0)
        at++;
    if (at < s->count && str_eq(s->alts[at], word))
        return;
    if (at == STORE_SEARCH_MAX_ALTS)
        return;
    size_t last = s->count < STORE_SEARCH_MAX_ALTS ? s->count : STORE_SEARCH_MAX_ALTS - 1;
    for (size_t i = last; i > at; i--)
        s->alts[i] = s->alts[i - 1];
    s->alts[at] = arena_strdup(s->a, word);
    if (s->count < STORE_SEARCH_MAX_ALTS)
        s->count++;
}

enum rc store_search_similar(struct store_conn *db, const struct store_search_index *ix,
                             struct str word, struct arena *a, struct str *alts, size_t *count)
{
    *count = 0;
    size_t length = edit_distance_length(word);
    if (length < 2 || length > EDIT_DISTANCE_MAX_LEN)
        return RC_OK;
    enum store_dialect d = store_conn_dialect(db);
    /* A word one edit away keeps the first k letters of the word typed or
     * its last n - 1 - k (the edit, a swap of two included, lies in one
     * part and leaves the other whole): the words that begin with the
     * one, and those that end with the other. SQLite finds those as
     * ranges of its vocabulary (the reversed words behind '~' for the
     * ends); PostgreSQL as LIKE patterns its pg_trgm index answers. */
    struct similar s = {.word = word, .a = a, .alts = alts};
    size_t k = (length - 1) / 2, head = 0;
    for (size_t seen = 0; seen < k; seen++) {
        head++;
        while (head < word.len && ((unsigned char)word.ptr[head] & 0xC0) == 0x80)
            head++;
    }
    size_t tail = head + 1;
    while (tail < word.len && ((unsigned char)word.ptr[tail] & 0xC0) == 0x80)
        tail++;
    struct str first = {word.ptr, head}, last = {word.ptr + tail, word.len - tail};
    struct buf sql;
    buf_init(&sql, 1 << 16);
    char pat[2][4 * EDIT_DISTANCE_MAX_LEN + 8], upper[4 * EDIT_DISTANCE_MAX_LEN + 8];
    enum rc rc;
    if (d == STORE_DIALECT_POSTGRES) {
        rc = vocab_sql(ix, d, " WHERE word LIKE ?1 OR word LIKE ?2 LIMIT 8000", &sql);
        /* The words are letters, digits and marks: no LIKE wildcard in them. */
        memcpy(pat[0], first.ptr, first.len);
        pat[0][first.len] = '%';
        pat[1][0] = '%';
        memcpy(pat[1] + 1, last.ptr, last.len);
        if (!rc)
            rc = each_word(db, buf_str(&sql), (struct str){pat[0], first.len + 1},
                           (struct str){pat[1], last.len + 1}, on_similar, &s);
    } else {
        rc = vocab_sql(ix, d, " WHERE term >= ?1 AND term < ?2 LIMIT 4000", &sql);
        for (int pass = 0; pass < 2 && !rc; pass++) {
            struct str from = first, next;
            if (pass == 1) {
                pat[0][0] = '~';
                reverse_into(last, pat[0] + 1);
                from = (struct str){pat[0], 1 + last.len};
            }
            s.is_reversed = pass == 1;
            if (next_prefix(from, upper, sizeof(upper), &next))
                rc = each_word(db, buf_str(&sql), from, next, on_similar, &s);
        }
    }
    buf_cleanup(&sql);
    *count = s.count;
    return rc;
}
