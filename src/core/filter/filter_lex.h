/* filter_lex.h -- tokenizer of the filter language, spec §3.1 (layer: core).
 *
 * Turns a filter string into tokens one at a time: identifiers (field paths
 * such as `author.name`, `@request.auth.id`, `tags:each`), quoted text with
 * JSON-style escapes decoded, numbers, comparison signs, `&&`, `||`,
 * parentheses and commas. Whitespace (space, tab, CR, LF) and `//` comments
 * to the end of the line are skipped. Pure over (ptr, len); decoded text goes
 * into the caller's arena. Not thread-safe per lexer; lexers share nothing. */
#ifndef TARMAC_CORE_FILTER_LEX_H
#define TARMAC_CORE_FILTER_LEX_H

#include <stdbool.h>
#include <stddef.h>

#include "base/arena.h"
#include "base/rc.h"
#include "base/str.h"

enum core_ftok {
    CORE_FTOK_EOF,
    CORE_FTOK_IDENT,
    CORE_FTOK_TEXT,
    CORE_FTOK_NUMBER,
    CORE_FTOK_SIGN,
    CORE_FTOK_AND,
    CORE_FTOK_OR,
    CORE_FTOK_LPAREN,
    CORE_FTOK_RPAREN,
    CORE_FTOK_COMMA,
};

/* Comparison signs; the any-of ("?") variants follow the plain ones in the
 * same order, so CORE_FOP_ANY_EQ - CORE_FOP_EQ == CORE_FOP_ANY_OFFSET. */
enum core_fop {
    CORE_FOP_EQ,
    CORE_FOP_NEQ,
    CORE_FOP_LIKE,
    CORE_FOP_NLIKE,
    CORE_FOP_LT,
    CORE_FOP_LTE,
    CORE_FOP_GT,
    CORE_FOP_GTE,
    CORE_FOP_ANY_EQ,
    CORE_FOP_ANY_NEQ,
    CORE_FOP_ANY_LIKE,
    CORE_FOP_ANY_NLIKE,
    CORE_FOP_ANY_LT,
    CORE_FOP_ANY_LTE,
    CORE_FOP_ANY_GT,
    CORE_FOP_ANY_GTE,
};
#define CORE_FOP_ANY_OFFSET 8

/* True for the "?" signs (at least one value must match, spec §3.7). */
static inline bool core_fop_is_any(enum core_fop op)
{
    return op >= CORE_FOP_ANY_EQ;
}
/* The plain sign of op: CORE_FOP_ANY_LT -> CORE_FOP_LT. */
static inline enum core_fop core_fop_base(enum core_fop op)
{
    return core_fop_is_any(op) ? (enum core_fop)(op - CORE_FOP_ANY_OFFSET) : op;
}

struct core_ftoken {
    enum core_ftok kind;
    struct str text;  /* IDENT/NUMBER: the source slice; TEXT: the decoded value
                       * (a source slice or arena memory); others: source */
    size_t offset;    /* byte offset of the token in the filter */
    enum core_fop op; /* CORE_FTOK_SIGN */
    bool is_call;     /* IDENT directly followed by '(' (a function call) */
};

struct core_flexer {
    struct str src; /* borrowed for the lexer's life */
    size_t pos;
    struct arena *a; /* where decoded text goes */
};

/* Starts lexing src; src and a are borrowed. */
void core_flex_init(struct core_flexer *lx, struct str src, struct arena *a);
/* Reads the next token into *t (CORE_FTOK_EOF at the end, repeatedly).
 * RC_INVALID with "what at offset N" in err for an unknown character or sign,
 * an unterminated text, a bad \u escape, a malformed number, a lone '@', '_'
 * or '#', an identifier ending in '.' or ':', or a leftover {:placeholder}. */
enum rc core_flex_next(struct core_flexer *lx, struct core_ftoken *t, char *err, size_t err_cap);
/* The source spelling of op ("?!=") for messages. */
const char *core_fop_name(enum core_fop op);

#endif
