/* secure.h -- thin libsodium wrappers: randomness, HMAC-SHA256, constant-time
 * comparison, wiping (layer: base).
 *
 * Everything security-sensitive goes through here so that the rest of the
 * tree names one module instead of libsodium's (crypto_*, sodium_*, which
 * STYLE.md §2.2 keeps out of our own names). secure_init() must run once, at
 * start-up, before any other function here or any libsodium call (it picks
 * the CPU-specific implementations and opens the system RNG). After that
 * every function is thread-safe: none keeps state of its own, and the HMAC
 * state belongs to the caller. No I/O beyond the kernel RNG (getrandom). */
#ifndef TARMAC_BASE_SECURE_H
#define TARMAC_BASE_SECURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sodium.h>

#include "base/rc.h"
#include "base/str.h"

#define SECURE_HMAC_SHA256_BYTES 32 /* crypto_auth_hmacsha256_BYTES */

/* A secret key for secure_hash64: tables keyed by text a client chooses
 * find their slots with it, so a client cannot aim keys at another's slot. */
struct secure_hash_key {
    unsigned char _k[crypto_shorthash_KEYBYTES];
};

/* A streaming HMAC-SHA256, held by the caller (stack or struct member). The
 * state embeds the key's inner and outer pads: secure_hmac_final() wipes it. */
struct secure_hmac {
    crypto_auth_hmacsha256_state _state;
};

/* Initialises libsodium. Call once from the main thread before starting other
 * threads (calling it again is harmless). RC_INTERNAL when libsodium cannot
 * initialise (no usable RNG): the process must not go on. */
enum rc secure_init(void);

/* Fills dst[0..len) with bytes from the kernel CSPRNG (small draws through a
 * per-thread pool of its output, each byte used once). Cannot fail (libsodium
 * aborts if the RNG breaks). Borrows dst; thread-safe. */
void secure_random_bytes(void *dst, size_t len);

/* Fills dst[0..len) with characters drawn uniformly and independently from
 * alphabet (rejection sampling drops the bytes that would bias a modulo,
 * so every character has probability exactly 1/alphabet.len; repeated
 * characters in alphabet weigh more). RC_INVALID, dst untouched, when the
 * alphabet is empty or longer than 256 bytes. No NUL is written. Borrows
 * alphabet and dst; thread-safe. */
enum rc secure_random_string(struct str alphabet, char *dst, size_t len);
/* The characters of tarmac's ids (records, jobs, OTPs, ...): a-z and 0-9. */
#define SECURE_ID_ALPHABET STR_LIT("abcdefghijklmnopqrstuvwxyz0123456789")
/* len random id characters (no NUL added). */
static inline enum rc secure_random_id(char *dst, size_t len)
{
    return secure_random_string(SECURE_ID_ALPHABET, dst, len);
}

/* A uniform random integer in [0, upper) from the kernel CSPRNG (0 when
 * upper < 2); unbiased (values that would bias a modulo are drawn again).
 * Thread-safe. */
uint32_t secure_random_uniform(uint32_t upper);

/* SHA-256 of p[0..len) into out (32 bytes); thread-safe. PKCE's S256
 * challenge (RFC 7636 §4.2) is one. */
void secure_sha256(const void *p, size_t len, unsigned char out[32]);

/* One-shot HMAC-SHA256 (RFC 2104) of msg[0..len) under key, of any length
 * (a key longer than the 64-byte block is hashed first, as the RFC says), into
 * out. Borrows everything; thread-safe. */
void secure_hmac_sha256(struct str key, const void *msg, size_t len,
                        unsigned char out[SECURE_HMAC_SHA256_BYTES]);

/* Starts a streaming HMAC-SHA256 under key (any length) in h, which the
 * caller holds. Borrows key only for the call. */
void secure_hmac_init(struct secure_hmac *h, struct str key);
/* Adds p[0..len) to the message of h. Borrows p. */
void secure_hmac_update(struct secure_hmac *h, const void *p, size_t len);
/* Writes the MAC of everything added since secure_hmac_init() and wipes h
 * (which must be initialised again before reuse). */
void secure_hmac_final(struct secure_hmac *h, unsigned char out[SECURE_HMAC_SHA256_BYTES]);

/* True when a[0..len) equals b[0..len). The time taken depends on len only,
 * never on where the bytes differ: use it for MACs, hashes, secrets. */
bool secure_equal(const void *a, const void *b, size_t len);
/* True when a and b hold the same bytes. Lengths are compared first (a length
 * is not treated as secret); equal lengths are compared in constant time. */
bool secure_str_equal(struct str a, struct str b);

/* Overwrites p[0..len) with zeros in a way the compiler may not remove (plain
 * memset before the end of a variable's life is a dead store it may drop). */
void secure_zero(void *p, size_t len);

/* Fills k with a fresh random key. */
void secure_hash_key_init(struct secure_hash_key *k);
/* SipHash-2-4 of s under k (libsodium's crypto_shorthash). Thread-safe. */
uint64_t secure_hash64(const struct secure_hash_key *k, struct str s);

#endif
