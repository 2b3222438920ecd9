/* sqlite_fts.c -- the words of full-text search, in SQLite's FTS5
 * (layer: store; see search.h).
 *
 * Every SQLite connection store opens registers the FTS5 tokenizer
 * "tarmac" (store_sqlite_fts_register), which every search index names:
 *
 * - Words are unicode61's with remove_diacritics 2 and the categories
 *   L* N* Co M*: case and accents folded, and a script's marks kept inside
 *   its words (unicode61's default parts Devanagari words at every vowel
 *   sign, Mc, and virama, Mn).
 * - A value that begins with the byte 0x01 is HTML (editor fields): its
 *   tags and character references are blanked before the words are
 *   split, byte for byte, so offsets (snippets) still point into the
 *   value as stored.
 * - "tarmac english" stems with FTS5's porter, and keeps every word as
 *   written too, behind 0x01, at the same position: a prefix in a query
 *   ("runn" *) is looked up among those words alone (one phrase, whose
 *   index has prefix entries: store/search.c), since porter would stem
 *   the prefix itself into something no word begins with. A query's
 *   whole words are stemmed.
 * - "tarmac terms" (the vocabulary tables of typo lookups) gives each
 *   word twice: as it is, and reversed behind '~' (never a word's first
 *   character), so "the words that end with X" is a range of the
 *   vocabulary too.
 *
 * store_search_words splits a query's text with unicode61 under the same
 * options, through a private in-memory connection: the same folding on
 * either engine. */
#include "store/search.h"
#include "store/sqlite.h"
#include "store/sqlite_rank.h"

#include <pthread.h>
#include <string.h>

#include "base/log.h"

static const char *const word_args[] = {"remove_diacritics", "2", "categories", "L* N* Co M*"};
#define WORD_ARGC 4

/* The fts5_api of a connection (NULL when FTS5 is missing). */
static fts5_api *fts5_of(sqlite3 *db)
{
    fts5_api *api = NULL;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "SELECT fts5(?1)", -1, &st, NULL) != SQLITE_OK)
        return NULL;
    sqlite3_bind_pointer(st, 1, (void *)&api, "fts5_api_ptr", NULL);
    (void)sqlite3_step(st);
    sqlite3_finalize(st);
    return api;
}

/* An instance of a registered tokenizer. */
struct inner {
    fts5_tokenizer m;
    Fts5Tokenizer *t;
};

static int inner_make(fts5_api *api, const char *name, const char **argv, int argc,
                      struct inner *out)
{
    void *ud = NULL;
    int rc = api->xFindTokenizer(api, name, &ud, &out->m);
    if (rc == SQLITE_OK)
        rc = out->m.xCreate(ud, argv, argc, &out->t);
    return rc;
}

static void inner_free(struct inner *in)
{
    if (in->t)
        in->m.xDelete(in->t);
    in->t = NULL;
}

enum tok_mode {
    TOK_PLAIN,   /* "tarmac" */
    TOK_ENGLISH, /* "tarmac english" */
    TOK_TERMS,   /* "tarmac terms" */
};

/* One "tarmac" tokenizer (one per FTS5 table and connection). */
struct tok {
    enum tok_mode mode;
    struct inner words;  /* unicode61 */
    struct inner porter; /* porter over unicode61: english only */
    char *blank;         /* an HTML value with its tags blanked */
    size_t blank_cap;
    /* english documents: the unstemmed words of the text being split */
    char *raw;
    size_t raw_len, raw_cap;
    struct raw_word {
        size_t at, len; /* in raw */
        int start;      /* in the text */
    } * list;
    size_t list_len, list_cap, list_next;
};

static int grow(void **p, size_t *cap, size_t want, size_t size)
{
    if (want <= *cap)
        return SQLITE_OK;
    size_t n = *cap ? *cap * 2 : 64;
    while (n < want)
        n *= 2;
    void *q = sqlite3_realloc64(*p, (sqlite3_uint64)(n * size));
    if (!q)
        return SQLITE_NOMEM;
    *p = q;
    *cap = n;
    return SQLITE_OK;
}

static void tok_delete(Fts5Tokenizer *p)
{
    struct tok *t = (struct tok *)p;
    if (!t)
        return;
    inner_free(&t->words);
    inner_free(&t->porter);
    sqlite3_free(t->blank);
    sqlite3_free(t->raw);
    sqlite3_free(t->list);
    sqlite3_free(t);
}

static int tok_create(void *ud, const char **argv, int argc, Fts5Tokenizer **out)
{
    fts5_api *api = ud;
    *out = NULL;
    enum tok_mode mode = TOK_PLAIN;
    if (argc == 1 && strcmp(argv[0], "english") == 0)
        mode = TOK_ENGLISH;
    else if (argc == 1 && strcmp(argv[0], "terms") == 0)
        mode = TOK_TERMS;
    else if (argc != 0)
        return SQLITE_ERROR;
    struct tok *t = sqlite3_malloc64(sizeof(*t));
    if (!t)
        return SQLITE_NOMEM;
    memset(t, 0, sizeof(*t));
    t->mode = mode;
    int rc = inner_make(api, "unicode61", (const char **)word_args, WORD_ARGC, &t->words);
    if (rc == SQLITE_OK && mode == TOK_ENGLISH) {
        const char *args[1 + WORD_ARGC] = {"unicode61"};
        memcpy(args + 1, word_args, sizeof(word_args));
        rc = inner_make(api, "porter", args, 1 + WORD_ARGC, &t->porter);
    }
    if (rc != SQLITE_OK) {
        tok_delete((Fts5Tokenizer *)t);
        return rc;
    }
    *out = (Fts5Tokenizer *)t;
    return SQLITE_OK;
}

/* Blanks the tags (<x ...>, </x>, <!-- -->, <?...>) and character
 * references (&amp; &#39;) of an HTML value into t->blank. A '<' not
 * followed by a letter, '/', '!' or '?' is text, as a browser reads it. */
static int blank_html(struct tok *t, const char *text, int n, const char **out)
{
    int rc = grow((void **)&t->blank, &t->blank_cap, (size_t)n + 1, 1);
    if (rc)
        return rc;
    memcpy(t->blank, text, (size_t)n);
    char *b = t->blank;
    b[0] = ' ';
    for (int i = 1; i < n; i++) {
        char c = b[i];
        char d = i + 1 < n ? b[i + 1] : '\0';
        bool is_tag = c == '<' && ((d >= 'a' && d <= 'z') || (d >= 'A' && d <= 'Z') || d == '/' ||
                                   d == '!' || d == '?');
        if (is_tag) {
            int k = i;
            while (k < n && b[k] != '>')
                b[k++] = ' ';
            if (k < n)
                b[k] = ' ';
            i = k;
        } else if (c == '&') {
            int k = i + 1;
            while (k < n && k - i <= 10 &&
                   ((b[k] >= 'a' && b[k] <= 'z') || (b[k] >= 'A' && b[k] <= 'Z') ||
                    (b[k] >= '0' && b[k] <= '9') || b[k] == '#'))
                k++;
            if (k < n && k > i + 1 && b[k] == ';') {
                memset(b + i, ' ', (size_t)(k - i + 1));
                i = k;
            }
        }
    }
    *out = b;
    return SQLITE_OK;
}

typedef int token_fn(void *, int, const char *, int, int, int);

/* "tarmac terms": each word, then its reverse behind '~'. */
struct terms_ctx {
    void *ctx;
    token_fn *emit;
    struct tok *t;
};

static int on_term(void *arg, int tflags, const char *word, int n, int start, int end)
{
    struct terms_ctx *c = arg;
    int rc = c->emit(c->ctx, tflags, word, n, start, end);
    if (rc != SQLITE_OK)
        return rc;
    rc = grow((void **)&c->t->raw, &c->t->raw_cap, (size_t)n + 1, 1);
    if (rc)
        return rc;
    char *r = c->t->raw;
    r[0] = '~';
    int o = n + 1;
    for (int i = 0; i < n;) {
        int k = 1;
        while (i + k < n && ((unsigned char)word[i + k] & 0xC0) == 0x80)
            k++;
        o -= k;
        memcpy(r + o, word + i, (size_t)k);
        i += k;
    }
    return c->emit(c->ctx, 0, r, n + 1, start, end);
}

/* "tarmac english", a query's prefix: the word as written, behind 0x01. */
struct prefix_ctx {
    void *ctx;
    token_fn *emit;
    struct tok *t;
};

static int on_prefix(void *arg, int tflags, const char *word, int n, int start, int end)
{
    struct prefix_ctx *c = arg;
    int rc = grow((void **)&c->t->raw, &c->t->raw_cap, (size_t)n + 1, 1);
    if (rc)
        return rc;
    c->t->raw[0] = '\x01';
    memcpy(c->t->raw + 1, word, (size_t)n);
    return c->emit(c->ctx, tflags, c->t->raw, n + 1, start, end);
}

/* "tarmac english", a document: first unicode61's words are kept, then
 * porter's stems come in the same order, each followed by its word (the
 * same as the stem or not: a prefix is looked up among the words alone). */
static int on_raw(void *arg, int tflags, const char *word, int n, int start, int end)
{
    (void)tflags;
    (void)end;
    struct tok *t = arg;
    int rc = grow((void **)&t->raw, &t->raw_cap, t->raw_len + (size_t)n + 1, 1);
    if (!rc)
        rc = grow((void **)&t->list, &t->list_cap, t->list_len + 1, sizeof(*t->list));
    if (rc)
        return rc;
    t->raw[t->raw_len] = '\x01';
    memcpy(t->raw + t->raw_len + 1, word, (size_t)n);
    t->list[t->list_len++] = (struct raw_word){t->raw_len, (size_t)n + 1, start};
    t->raw_len += (size_t)n + 1;
    return SQLITE_OK;
}

struct stem_ctx {
    void *ctx;
    token_fn *emit;
    struct tok *t;
};

static int on_stem(void *arg, int tflags, const char *stem, int n, int start, int end)
{
    struct stem_ctx *c = arg;
    struct tok *t = c->t;
    int rc = c->emit(c->ctx, tflags, stem, n, start, end);
    if (rc != SQLITE_OK)
        return rc;
    /* porter passes each word of its parent on with the same offsets */
    while (t->list_next < t->list_len && t->list[t->list_next].start < start)
        t->list_next++;
    if (t->list_next == t->list_len || t->list[t->list_next].start != start)
        return SQLITE_OK;
    const struct raw_word *w = &t->list[t->list_next++];
    return c->emit(c->ctx, FTS5_TOKEN_COLOCATED, t->raw + w->at, (int)w->len, start, end);
}

static int tok_tokenize(Fts5Tokenizer *p, void *ctx, int flags, const char *text, int n,
                        token_fn *emit)
{
    struct tok *t = (struct tok *)p;
    if (n > 0 && text[0] == '\x01' && !(flags & FTS5_TOKENIZE_QUERY)) {
        int rc = blank_html(t, text, n, &text);
        if (rc)
            return rc;
    }
    if (t->mode == TOK_TERMS) {
        struct terms_ctx c = {ctx, emit, t};
        return t->words.m.xTokenize(t->words.t, &c, flags, text, n, on_term);
    }
    if (t->mode == TOK_PLAIN)
        return t->words.m.xTokenize(t->words.t, ctx, flags, text, n, emit);
    if (flags & FTS5_TOKENIZE_QUERY) {
        if (flags & FTS5_TOKENIZE_PREFIX) {
            struct prefix_ctx c = {ctx, emit, t};
            return t->words.m.xTokenize(t->words.t, &c, flags, text, n, on_prefix);
        }
        return t->porter.m.xTokenize(t->porter.t, ctx, flags, text, n, emit);
    }
    t->raw_len = t->list_len = t->list_next = 0;
    int rc = t->words.m.xTokenize(t->words.t, t, flags, text, n, on_raw);
    if (rc == SQLITE_OK) {
        struct stem_ctx c = {ctx, emit, t};
        rc = t->porter.m.xTokenize(t->porter.t, &c, flags, text, n, on_stem);
    }
    return rc;
}

static fts5_tokenizer tok_methods = {tok_create, tok_delete, tok_tokenize};

/* The codes a tokenizer can fail with (this file is linked alone into the
 * fuzzer: no store_sqlite_rc). */
static enum rc fts_rc(int rc)
{
    return rc == SQLITE_OK ? RC_OK : rc == SQLITE_NOMEM ? RC_NOMEM : RC_INTERNAL;
}

enum rc store_sqlite_fts_register(sqlite3 *db)
{
    fts5_api *api = fts5_of(db);
    if (!api || api->iVersion < 2)
        return RC_INTERNAL;
    int rc = api->xCreateTokenizer(api, "tarmac", api, &tok_methods, NULL);
    if (rc == SQLITE_OK)
        rc = store_sqlite_rank_register(db, api);
    return fts_rc(rc);
}

/* ---- A query's words ------------------------------------------------------ */

/* A private connection (never closed: the process's) and its unicode61,
 * shared by every thread under the lock. */
static pthread_once_t words_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t words_lock = PTHREAD_MUTEX_INITIALIZER;
static sqlite3 *words_db;
static struct inner words_tok;

static void words_open(void)
{
    if (sqlite3_open_v2(":memory:", &words_db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
        SQLITE_OK) {
        log_error("msg=\"cannot open the search word splitter\"");
        return;
    }
    fts5_api *api = fts5_of(words_db);
    if (!api || inner_make(api, "unicode61", (const char **)word_args, WORD_ARGC, &words_tok) !=
                    SQLITE_OK) {
        log_error("msg=\"SQLite has no FTS5 unicode61 tokenizer\"");
        words_tok.t = NULL;
    }
}

struct words_ctx {
    store_search_word_fn *cb;
    void *ctx;
    enum rc rc;
};

static int on_word(void *arg, int tflags, const char *word, int n, int start, int end)
{
    (void)tflags;
    struct words_ctx *c = arg;
    c->rc = c->cb(c->ctx, (struct str){word, (size_t)n}, (size_t)start, (size_t)end);
    return c->rc ? SQLITE_DONE : SQLITE_OK;
}

enum rc store_search_words(struct str text, store_search_word_fn *cb, void *ctx)
{
    (void)pthread_once(&words_once, words_open);
    if (!words_tok.t)
        return RC_INTERNAL;
    if (text.len > (size_t)1 << 30)
        return RC_TOO_LARGE;
    struct words_ctx c = {cb, ctx, RC_OK};
    pthread_mutex_lock(&words_lock);
    int rc = words_tok.m.xTokenize(words_tok.t, &c, FTS5_TOKENIZE_DOCUMENT, text.ptr, (int)text.len,
                                   on_word);
    pthread_mutex_unlock(&words_lock);
    return c.rc ? c.rc : fts_rc(rc);
}
