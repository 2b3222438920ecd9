/* nearest_to.c -- a nearest list's `to` (see nearest.h): kept apart from
 * the list so the fuzzer links it alone (tests/fuzz/fuzz_nearest_to.c). */
#include "core/record/nearest.h"

#include <float.h>
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
    json_error_t err;
    json_t *a = json_loadb(to.ptr, to.len, 0, &err);
    enum rc rc = RC_OK;
    if (!json_is_array(a)) {
        *why = "Must be a JSON array of numbers, or @record:ID.";
        rc = RC_INVALID;
    } else if (json_array_size(a) != dims) {
        *why = "The vector must have as many numbers as the field's dimensions.";
        rc = RC_INVALID;
    }
    for (size_t i = 0; !rc && i < dims; i++) {
        json_t *x = json_array_get(a, i);
        double d = json_number_value(x);
        if (!json_is_number(x) || !isfinite(d) || fabs(d) > FLT_MAX) {
            *why = "Every element must be a finite number (a float32).";
            rc = RC_INVALID;
        } else {
            out[i] = (float)d;
        }
    }
    json_decref(a);
    return rc;
}
