/* rx.h -- field patterns in PocketBase's dialect (Go's RE2) turned into POSIX
 * extended regular expressions for glibc's regcomp (layer: base).
 *
 * PocketBase validates `pattern` with Go's regexp, so schemas written for it
 * say `^\d{6}$` or `^[\w.-]+$`. glibc's ERE reads `\d` as a plain `d`: such a
 * pattern would refuse "123456" and accept "dddddd". rx_translate rewrites
 * the common RE2 subset into an ERE with the same meaning and refuses what
 * it cannot carry over, so a pattern is never stored and then misread:
 *   literals and `\` before punctuation; `.`, `^`, `$`, `|`, `( )`, `(?: )`;
 *   `*`, `+`, `?`, `{n}`, `{n,}`, `{n,m}` (greedy only);
 *   `\d \D \w \W \s \S` inside and outside brackets (negated ones outside
 *   only); `\t \n \r \f \v`; bracket expressions with ranges, `^` negation
 *   and POSIX classes `[:alpha:]`.
 * Refused: flags `(?i)`, lazy quantifiers (`*?`), `\b \B \A \z`, `\p{..}`,
 * back-references, named groups, lookarounds, `\x..`/`\u....` escapes.
 * Pure; thread-safe. */
#ifndef TARMAC_BASE_RX_H
#define TARMAC_BASE_RX_H

#include <stddef.h>

#include "base/rc.h"

/* Writes the ERE for the RE2 pattern re into out (cap bytes, NUL-terminated).
 * RC_INVALID with a static reason in *why for a pattern outside the subset
 * (or malformed); RC_TOO_LARGE when out is too small. */
enum rc rx_translate(const char *re, char *out, size_t cap, const char **why);

#endif
