/* fuzz_rx.c -- libFuzzer target for the RE2-to-ERE pattern translation
 * (base/rx.h), which reads a superuser's field pattern.
 *
 * The input is the pattern. Invariants, not just "no crash": a translated
 * pattern always compiles with glibc's regcomp (so a pattern accepted at
 * save is never silently unreadable at validation), and matching it against
 * the input itself terminates. */
#include <regex.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/rx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 256)
        return 0;
    char *pattern = malloc(size + 1);
    if (!pattern)
        return 0;
    memcpy(pattern, data, size);
    pattern[size] = '\0';
    char ere[2048];
    const char *why = NULL;
    enum rc rc = rx_translate(pattern, ere, sizeof(ere), &why);
    if ((rc == RC_OK) != (why == NULL))
        abort();
    if (rc == RC_OK) {
        regex_t re;
        if (regcomp(&re, ere, REG_EXTENDED | REG_NOSUB) != 0)
            abort();
        (void)regexec(&re, pattern, 0, NULL, 0);
        regfree(&re);
    } else if (ere[0] != '\0') {
        abort();
    }
    free(pattern);
    return 0;
}
