/* crc32.c -- see crc32.h. Bitwise: ids are computed once per name. */
#include "base/crc32.h"

uint32_t crc32_ieee(const char *s, size_t len)
{
    uint32_t crc = 0xFFFFFFFFu;
    for (size_t i = 0; i < len; i++) {
        crc ^= (unsigned char)s[i];
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    return ~crc;
}
