/* edit_distance.h -- how many letters apart two words are (layer: base).
 * Pure functions over UTF-8 slices, counting code points, not bytes: the
 * typo tolerance of full-text search (store/search.c) asks whether a word
 * of the index is one edit away from the word a user typed. */
#ifndef TARMAC_BASE_EDIT_DISTANCE_H
#define TARMAC_BASE_EDIT_DISTANCE_H

#include <stdbool.h>
#include <stddef.h>

#include "base/str.h"

/* Words longer than this many code points are never compared (false). */
#define EDIT_DISTANCE_MAX_LEN 64

/* The code points of s (an invalid byte counts as one). */
size_t edit_distance_length(struct str s);
/* True when a and b are at most max edits apart: a code point inserted,
 * removed or replaced, or two neighbours swapped, is one edit (the optimal
 * string alignment distance: Levenshtein's with transpositions, the typo a
 * hand makes most). False when either is longer than EDIT_DISTANCE_MAX_LEN
 * code points. */
bool edit_distance_within(struct str a, struct str b, unsigned max);

#endif
