/* nearest_to.c -- a nearest list's `to` (see nearest.h): kept apart from
 * the list so the fuzzer links it alone (tests/fuzz/fuzz_nearest_to.c). */
#include "core/record/nearest.h"

#include "base/b64.h"
#include "base/vecmath.h"

#include <jansson.h>
#include <math.h>
#include <string.h>

enum rc core_nearest_parse_to(struct str to, size_t dims, float *out, struct str *id,
                              const char **why)
{
    *id = (struct str){"", 0};
    size_t plen = strlen(CORE_NEAREST_RECORD_PREFIX);
    if (to.len >= plen && memcmp(to.ptr, CORE_NEAREST_RECORD_PREFIX, plen) == 0) {
        struct str rest = {to.ptr + plen, to.len - plen};
        if (!rest.len || rest.len > 255) {
            *why = "A record id must follow @record: (255 bytes at most).";
            return RC_INVALID;
        }
        for (size_t i = 0; i < rest.len; i++) {
            unsigned char ch = (unsigned char)rest.ptr[i];
            if (ch < 0x21 || ch == 0x7F) {
                *why = "A record id has no blanks nor control characters.";
                return RC_INVALID;
            }
        }
        *id = rest;
        return RC_OK;
    }
    plen = strlen(CORE_NEAREST_B64_PREFIX);
    if (to.len >= plen && memcmp(to.ptr, CORE_NEAREST_B64_PREFIX, plen) == 0) {
        /* The float32 values' bytes, little-endian, in base64url: under half
         * the JSON's length in a URL (a request target has a limit). */
        size_t n = 0;
        struct str text = {to.ptr + plen, to.len - plen};
        if (b64_decode(B64_URL, text, out, 4 * dims, &n) != RC_OK || n != 4 * dims) {
            *why = "b64: must be base64url (no padding) of the field's dimensions in float32 "
                   "values, little-endian.";
            return RC_INVALID;
        }
        vecmath_decode((const unsigned char *)out, dims, out); /* in place: same bytes */
        for (size_t i = 0; i < dims; i++) {
            if (!isfinite(out[i])) {
                *why = "Every element must be a finite number (a float32).";
                return RC_INVALID;
            }
        }
        return RC_OK;
    }
    json_t *a = json_loadb(to.ptr, to.len, 0, NULL);
    enum rc rc = RC_INVALID;
    if (!json_is_array(a))
        *why = "Must be a JSON array of numbers, or @record:ID.";
    else if (json_array_size(a) != dims)
        *why = "The vector must have as many numbers as the field's dimensions.";
    else if (!vecmath_from_json(a, dims, out))
        *why = "Every element must be a finite number (a float32).";
    else
        rc = RC_OK;
    json_decref(a);
    return rc;
}
