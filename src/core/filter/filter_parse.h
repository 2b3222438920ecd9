/* filter_parse.h -- parser of the filter language into an AST (layer: core).
 *
 * Grammar (spec §3.1): expr := and { "||" and }; and := term { "&&" term };
 * term := "(" expr ")" | operand sign operand; operand := identifier | text |
 * number | name "(" [operand { "," operand }] ")". AND binds tighter than OR.
 * Limits keep hostile input cheap and the recursion shallow: the filter is at
 * most CORE_FILTER_MAX_LEN bytes, holds at most CORE_FILTER_MAX_EXPRS
 * comparisons, nests parentheses at most CORE_FILTER_MAX_DEPTH deep and
 * function calls CORE_FILTER_MAX_FUNC_DEPTH deep. The AST lives in the arena
 * given; text slices point into the filter or the arena, so the filter must
 * outlive the AST. Pure; no schema knowledge (sqlgen.h resolves names). */
#ifndef TARMAC_CORE_FILTER_PARSE_H
#define TARMAC_CORE_FILTER_PARSE_H

#include <stddef.h>

#include "base/arena.h"
#include "base/rc.h"
#include "base/str.h"
#include "core/filter/filter_lex.h"

#define CORE_FILTER_MAX_LEN 3500  /* bytes (spec §1.7) */
#define CORE_FILTER_MAX_EXPRS 200 /* comparisons (spec §1.7) */
/* Nested parentheses. The generated SQL nests about as deep, and SQLite 3.40
 * parses at most ~100 open constructs (YYSTACKDEPTH): the worst case found
 * still prepares at 16 levels and fails at 17, so 12 leaves room. */
#define CORE_FILTER_MAX_DEPTH 12
#define CORE_FILTER_MAX_FUNC_DEPTH 3 /* nested function calls (spec §3.1) */
#define CORE_FILTER_MAX_ARGS 8       /* arguments of one call */

enum core_fopd_kind {
    CORE_FOPD_IDENT,
    CORE_FOPD_TEXT,
    CORE_FOPD_NUMBER,
    CORE_FOPD_FUNC,
};

struct core_foperand {
    enum core_fopd_kind kind;
    struct str text;            /* identifier, decoded text, number spelling, function name */
    size_t offset;              /* in the filter */
    struct core_foperand *args; /* CORE_FOPD_FUNC */
    size_t arg_count;
};

enum core_fnode_kind {
    CORE_FNODE_AND,
    CORE_FNODE_OR,
    CORE_FNODE_CMP,
};

struct core_fnode {
    enum core_fnode_kind kind;
    size_t offset;
    struct core_fnode **items; /* AND/OR: count >= 2 operands */
    size_t count;
    struct core_foperand left; /* CMP */
    struct core_foperand right;
    enum core_fop op;
};

/* Parses filter into *out (allocated in a). RC_INVALID with "what at offset N"
 * in err for: an empty, whitespace-only or comment-only filter, any lexical
 * error (filter_lex.h), a missing operand or sign, an unbalanced parenthesis,
 * a trailing token, and each limit above. Never recurses deeper than the
 * limits allow, whatever the input. */
enum rc core_filter_parse(struct str filter, struct arena *a, struct core_fnode **out, char *err,
                          size_t err_cap);
/* Parses text as exactly one operand (a sort term that calls a function:
 * geoDistance(loc.lon, loc.lat, 12.5, 41.9)), with the same limits and
 * errors. */
enum rc core_filter_parse_operand(struct str text, struct arena *a, struct core_foperand *out,
                                  char *err, size_t err_cap);

#endif
