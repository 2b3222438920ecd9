/* json_parts.h -- a JSON object written in a fixed layout and read back by
 * position, without a parser (layer: base).
 *
 * The layout is {"k1":"v1",...,"kn-1":"vn-1","kn":REST}: the keys in the
 * caller's order, v1..vn-1 plain strings (no quote, backslash or control
 * character: nothing JSON would escape) and REST an object running to the
 * text's last '}'. A job payload written so (a webhook delivery, a
 * fan-out's push) is valid JSON for anyone who reads it as such, and a
 * runner takes it apart without parsing it. Any other text, or a text in
 * another order, is not taken apart (the caller parses it). */
#ifndef TARMAC_BASE_JSON_PARTS_H
#define TARMAC_BASE_JSON_PARTS_H

#include <stdbool.h>
#include <stddef.h>

#include "base/buf.h"
#include "base/rc.h"
#include "base/str.h"

/* Whether s is plain: has nothing a JSON string would escape. */
bool json_parts_is_plain(struct str s);

/* Writes the layout of the n keys to b: the first n - 1 values as plain
 * strings, values[n - 1] as it is (an object's text). RC_INVALID when a
 * value is not plain or the last one is not an object ("{...}"); what b
 * got then is to be dropped. */
enum rc json_parts_write(struct buf *b, const char *const *keys, const struct str *values,
                         size_t n);

/* Takes text apart by the n keys into values[0..n): the plain strings,
 * then the object's text. False when text is not in that layout. */
bool json_parts_take(struct str text, const char *const *keys, size_t n, struct str *values);

#endif
