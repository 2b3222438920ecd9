/* jsonw.h -- streaming JSON writer (layer: base).
 *
 * Appends JSON text to a struct buf as values are given, placing commas and
 * colons itself. Strings are escaped per RFC 8259: quote, backslash and control
 * characters; invalid UTF-8 becomes U+FFFD (as Go's encoding/json, which the
 * SDKs are used to); U+2028/U+2029 are escaped so the output is also valid
 * JavaScript. Errors (buffer full, nesting deeper than JSONW_MAX_DEPTH) are
 * sticky: check jsonw_finish() once at the end, as SQLite's mallocFailed. */
#ifndef TARMAC_BASE_JSONW_H
#define TARMAC_BASE_JSONW_H

#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/rc.h"
#include "base/str.h"

#define JSONW_MAX_DEPTH 64

struct jsonw {
    struct buf *out;    /* borrowed */
    enum rc err;        /* first error, sticky */
    unsigned depth;     /* open objects/arrays */
    bool after_key;     /* a key was written; the next value needs no comma */
    uint64_t has_items; /* bit d: container at depth d has an element */
};

/* Starts writing into out (appending; out is borrowed for the writer's life). */
void jsonw_init(struct jsonw *w, struct buf *out);
void jsonw_object_begin(struct jsonw *w);
void jsonw_object_end(struct jsonw *w);
void jsonw_array_begin(struct jsonw *w);
void jsonw_array_end(struct jsonw *w);
/* Writes an object key; the next call writes its value. */
void jsonw_key(struct jsonw *w, struct str key);
void jsonw_key_cstr(struct jsonw *w, const char *key);
void jsonw_string(struct jsonw *w, struct str s);
void jsonw_string_cstr(struct jsonw *w, const char *s);
void jsonw_int(struct jsonw *w, int64_t v);
/* Writes the shortest decimal form that reads back as v; integral values
 * without a fraction; NaN and infinities (not JSON) as null. */
void jsonw_double(struct jsonw *w, double v);
/* A float32 value with the shortest text that reads back as the same
 * float (0.1f as 0.1, not 0.100000001490116); not finite: null. */
void jsonw_float(struct jsonw *w, float v);
/* The double that text is: v as jsonw_float writes it, read back (so a
 * jansson real shows the float's short text). */
double jsonw_float_value(float v);
void jsonw_bool(struct jsonw *w, bool v);
void jsonw_null(struct jsonw *w);
/* Appends already-encoded JSON text as one value; the caller vouches for it. */
void jsonw_raw(struct jsonw *w, struct str json);
/* Returns the first error, or RC_INVALID when containers are still open. */
enum rc jsonw_finish(struct jsonw *w);

/* Appends s escaped as JSON string content (no quotes) to out. */
enum rc jsonw_escape_into(struct buf *out, struct str s);

#endif
