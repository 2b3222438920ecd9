/* randpat.h -- random strings that match a small regular expression
 * (layer: base).
 *
 * PocketBase fills text fields from an `autogeneratePattern` such as
 * "[a-z0-9]{15}" or "INV-[0-9]{6}". This is the generator: it reads a
 * subset of the regex syntax and draws every character from the kernel CSPRNG
 * (secure_random_string), so generated ids are as unguessable as the pattern
 * allows. The subset:
 *   literal characters, and `\` before any punctuation for itself;
 *   `\d` (0-9), `\w` ([A-Za-z0-9_]);
 *   `[...]` classes of characters and a-z ranges (ASCII; `\`-escapes inside);
 *   `( ... )` groups and `a|b` alternation (one branch drawn uniformly);
 *   quantifiers `{n}`, `{n,m}`, `?`, `*` (0..8) and `+` (1..8);
 *   `^` at the start and `$` at the end, which mean nothing here.
 * Anything else (negated classes, `.`, backreferences, lookarounds, non-ASCII
 * bytes outside literals) is refused by randpat_check, so a pattern is never
 * accepted and then ignored. Pure apart from the RNG; thread-safe. */
#ifndef TARMAC_BASE_RANDPAT_H
#define TARMAC_BASE_RANDPAT_H

#include <stddef.h>

#include "base/rc.h"

#define RANDPAT_MAX_OUT 255  /* longest string generated (a record id's limit) */
#define RANDPAT_MAX_REPEAT 8 /* what `*` and `+` stand for at most */
#define RANDPAT_MAX_DEPTH 8  /* nested groups */

/* RC_OK when pattern is in the subset and every string it generates has at
 * most RANDPAT_MAX_OUT bytes; otherwise RC_INVALID with a static reason in
 * *why. */
enum rc randpat_check(const char *pattern, const char **why);

/* Writes a random match of pattern to out (NUL-terminated; out holds at least
 * RANDPAT_MAX_OUT + 1 bytes) and returns its length. RC_INVALID (out empty)
 * when randpat_check would refuse the pattern. */
enum rc randpat_generate(const char *pattern, char *out, size_t *len);

#endif
