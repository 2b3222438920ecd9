/* str.h -- (pointer, length) string slices (layer: base).
 *
 * A slice never owns its bytes and is passed by value. Slices into a read
 * buffer die with that buffer: copy what must live longer. */
#ifndef TARMAC_BASE_STR_H
#define TARMAC_BASE_STR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct str {
    const char *ptr;
    size_t len;
};

/* Builds a slice over a C string literal; the length is computed at compile time. */
#define STR_LIT(s) ((struct str){(s), sizeof(s) - 1})

/* Returns a slice over the NUL-terminated s (which must outlive the slice). */
struct str str_from_cstr(const char *s);
/* True when a and b hold the same bytes. */
bool str_eq(struct str a, struct str b);
/* FNV-1a over the bytes, finished by hash_mix64 so every bit of the result
 * depends on every byte (FNV's low bits alone kept similar ids in the same
 * slots of a table indexed by them): a fast hash for tables keyed by trusted
 * text (statement caches, cache keys); not for keys a client can choose
 * freely against a table it can fill (a keyed hash there: secure_hash64). */
uint64_t str_hash(struct str s);
/* A 64-bit finalizer (MurmurHash3's fmix64): a bijection that spreads each
 * input bit over the whole result. */
uint64_t hash_mix64(uint64_t x);
/* True when a and b are equal ignoring ASCII case. */
bool str_eq_nocase(struct str a, struct str b);
/* True when a equals the C string b ignoring ASCII case. */
bool str_eq_cstr_nocase(struct str a, const char *b);
/* True when s starts with prefix. */
bool str_has_prefix(struct str s, struct str prefix);
/* Takes the text before the first sep off the front of *rest into *item (all
 * of *rest when there is no sep) and drops the sep; false, with *item
 * untouched, when *rest is empty. "a,,b" gives "a", "", "b"; "a," gives only
 * "a". For comma lists: `while (str_next_item(&rest, ',', &item))`. */
bool str_next_item(struct str *rest, char sep, struct str *item);
/* Returns s without leading and trailing spaces and tabs. */
struct str str_trim_ows(struct str s);
/* Parses s as a non-empty run of decimal digits into *out. Fails (false) on any
 * other byte, on an empty slice, and on overflow of UINT64_MAX. */
bool str_to_u64(struct str s, uint64_t *out);
/* ASCII lower-case of c. */
static inline char ascii_lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
}

/* The value of a hex digit (0-9, a-f, A-F), or -1. */
int str_hex_value(char c);

/* Writes the n bytes of in as 2 * n lowercase hex digits to out (no NUL). */
void str_hex_encode(const void *in, size_t n, char *out);

/* Decodes %XX escapes of in into out (room for in.len bytes); with
 * plus_is_space, '+' becomes ' ' (form encoding, query strings only). Returns
 * the decoded length, or -1 for a malformed escape ('%' not followed by two hex
 * digits). Never writes past in.len bytes. */
long str_percent_decode(struct str in, char *out, bool plus_is_space);

#endif
