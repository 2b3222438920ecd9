/* sha1.h -- SHA-1 (FIPS 180-4), for the WebSocket handshake only (layer: base).
 *
 * RFC 6455 derives Sec-WebSocket-Accept from SHA-1, and none of our
 * dependencies exposes it (libsodium has SHA-256/512 only). SHA-1 is broken
 * for collision resistance: never use it for anything that needs security. */
#ifndef TARMAC_BASE_SHA1_H
#define TARMAC_BASE_SHA1_H
#include <stddef.h>
#include <stdint.h>

/* Writes the 20-byte digest of data[0..len) to out. */
void sha1_digest(const void *data, size_t len, uint8_t out[20]);

#endif
