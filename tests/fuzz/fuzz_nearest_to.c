/* fuzz_nearest_to.c -- libFuzzer target for a nearest list's `to`
 * (core/record/nearest.h): the first byte picks the field's dimensions
 * (1..256), the rest is the parameter. Beyond "no crash": an accepted
 * vector has exactly that many finite float32 values, an accepted record
 * reference is the text after "@record:" (no blank, no control byte, 1..255
 * bytes), and a refusal always says why. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/record/nearest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t dims = (size_t)data[0] + 1;
    if (dims > 256)
        dims = 256;
    struct str to = {(const char *)data + 1, size - 1};
    float out[257];
    out[dims] = 12345.0f; /* a canary past the vector */
    struct str id;
    const char *why = NULL;
    enum rc rc = core_nearest_parse_to(to, dims, out, &id, &why);
    if (out[dims] != 12345.0f)
        abort();
    if (rc != RC_OK) {
        if (rc != RC_INVALID || !why || !why[0])
            abort();
        return 0;
    }
    if (id.len) {
        size_t plen = strlen(CORE_NEAREST_RECORD_PREFIX);
        if (id.ptr != to.ptr + plen || id.len != to.len - plen || id.len > 255)
            abort();
        for (size_t i = 0; i < id.len; i++) {
            if ((unsigned char)id.ptr[i] < 0x21 || id.ptr[i] == 0x7F)
                abort();
        }
        return 0;
    }
    for (size_t i = 0; i < dims; i++) {
        if (!isfinite(out[i]))
            abort();
    }
    return 0;
}
