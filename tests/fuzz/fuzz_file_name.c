/* fuzz_file_name.c -- libFuzzer target for the stored-name algorithm
 * (core/file_name.h) and the MIME sniffer (core/sniff.h), which both read
 * client bytes: an upload's filename and its content.
 *
 * Input layout: the whole input is sniffed; byte 0 splits it, the first
 * data[0] bytes after it being the filename. Checks invariants, not just "no
 * crash": the stored name always passes core_file_name_is_safe() (so it can
 * never leave the record's directory), stays under CORE_FILE_NAME_MAX, holds
 * the fixed random part, and the sniffed type is a known non-empty string
 * whose extension is a safe suffix. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/files/file_name.h"
#include "core/files/sniff.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *mime = core_sniff_mime(data, size);
    if (!mime || !mime[0])
        abort();
    const char *ext = core_sniff_ext(str_from_cstr(mime));
    if (ext[0] && (ext[0] != '.' || !core_file_name_is_safe(str_from_cstr(ext + 1))))
        abort();
    if (size == 0)
        return 0;
    size_t n = data[0];
    if (n > size - 1)
        n = size - 1;
    /* an exactly-sized copy, so an over-read is not hidden by what follows */
    char *name = malloc(n ? n : 1);
    if (!name)
        return 0;
    memcpy(name, data + 1, n);
    char out[CORE_FILE_NAME_MAX];
    core_file_name_make_with((struct str){name, n}, str_from_cstr(mime), "abcdefghij0123456789",
                             out);
    free(name);
    size_t len = strnlen(out, sizeof(out));
    if (len >= sizeof(out) || !core_file_name_is_safe((struct str){out, len}))
        abort();
    if (!strstr(out, "abcdefghij"))
        abort();
    return 0;
}
