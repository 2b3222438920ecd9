/* field_pattern.h -- the `pattern` option of text and password fields
 * (layer: core).
 *
 * Patterns are written in PocketBase's dialect (Go's RE2); base/rx.h turns
 * the subset it supports into POSIX ERE for glibc. Compiled patterns are
 * cached for the process (validation runs on workers and on the writer). */
#ifndef TARMAC_CORE_FIELD_PATTERN_H
#define TARMAC_CORE_FIELD_PATTERN_H

#include <stdbool.h>

/* True when pattern is in the supported subset and compiles. Collections
 * refuse any other, so a pattern is never stored and then ignored. */
bool core_field_pattern_is_valid(const char *pattern);
/* True when s contains a match of pattern (Go's MatchString). A pattern that
 * does not compile (only possible for one stored before the check) rejects
 * nothing. Thread-safe. */
bool core_field_pattern_matches(const char *pattern, const char *s);
/* Frees the cache; call when no thread validates any more (app closing). */
void core_field_pattern_cleanup(void);

#endif
