/* utf8.h -- UTF-8 decoding and validation (layer: base). Pure functions. */
#ifndef TARMAC_BASE_UTF8_H
#define TARMAC_BASE_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Decodes one code point from s[0..len). Returns the bytes used (1..4) and
 * sets *cp; on an invalid or truncated sequence (overlong forms, surrogates,
 * values past U+10FFFF included) returns 0 and sets nothing. len must be > 0. */
size_t utf8_decode(const unsigned char *s, size_t len, uint32_t *cp);
/* True when all of s[0..len) is well-formed UTF-8. */
bool utf8_is_valid(const char *s, size_t len);
/* Writes cp as UTF-8 into out (room for 4 bytes); returns the bytes written,
 * 0 for a surrogate or a value past U+10FFFF. */
size_t utf8_encode(uint32_t cp, char *out);
/* True for a code point that shows nothing, or only what a plain space
 * shows, so text holding it looks like text without it: controls (Cc),
 * format characters (Cf: soft hyphen, zero-width space and joiners, bidi
 * marks, word joiner, BOM, ...), separators other than U+0020 (Zs, Zl, Zp),
 * and the other default-ignorable code points (variation selectors, the
 * Hangul fillers, the combining grapheme joiner). Unicode 15. */
bool utf8_is_invisible(uint32_t cp);
/* True when s[0..len) is well-formed UTF-8 and holds no code point for which
 * utf8_is_invisible() is true. */
bool utf8_is_visible_text(const char *s, size_t len);

#endif
