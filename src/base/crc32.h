/* crc32.h -- CRC-32 (IEEE 802.3, the zlib/PNG polynomial) (layer: base).
 *
 * PocketBase derives collection and field ids from it ("pbc_" + the CRC of
 * the name), so ours must give the same numbers. Not for integrity against
 * an adversary. */
#ifndef TARMAC_BASE_CRC32_H
#define TARMAC_BASE_CRC32_H

#include <stddef.h>
#include <stdint.h>

/* The CRC-32 of s[0..len): crc32_ieee("123456789", 9) == 0xCBF43926. */
uint32_t crc32_ieee(const char *s, size_t len);

#endif
