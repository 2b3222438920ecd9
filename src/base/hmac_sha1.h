/* hmac_sha1.h -- HMAC-SHA1 (RFC 2104) through OpenSSL's libcrypto (layer:
 * base).
 *
 * For the one protocol that still signs with it: Twilio's webhook signature
 * (X-Twilio-Signature, core/jobs/inbound_verify.c). HMAC-SHA1 leans on
 * SHA-1's pseudo-randomness, not its collision resistance, and is still
 * sound; never use SHA-1 alone (base/sha1.h) for anything that needs
 * security. libsodium has no SHA-1. Thread-safe. */
#ifndef TARMAC_BASE_HMAC_SHA1_H
#define TARMAC_BASE_HMAC_SHA1_H

#include <stdbool.h>
#include <stddef.h>

#include "base/str.h"

#define HMAC_SHA1_BYTES 20

/* The MAC of msg[0..len) under key (any length) into out; false (out
 * unspecified) when libcrypto failed (out of memory). */
bool hmac_sha1_digest(struct str key, const void *msg, size_t len,
                      unsigned char out[HMAC_SHA1_BYTES]);

#endif
