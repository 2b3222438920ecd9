/* webpush.h -- Web Push message encryption (RFC 8291: the aes128gcm content
 * coding of RFC 8188 keyed by ECDH on P-256) and VAPID application-server
 * identification (RFC 8292) (layer: base).
 *
 * A browser's PushSubscription gives an endpoint URL and two keys: p256dh,
 * the user agent's P-256 public key (an uncompressed point), and auth, a
 * 16-byte secret. webpush_encrypt() turns a payload into the request body
 * the push service forwards (Content-Encoding: aes128gcm): a fresh sender
 * key pair and salt per message, one record of at most 4096 bytes, so the
 * payload is at most WEBPUSH_MAX_PLAINTEXT bytes. webpush_vapid_auth()
 * makes the Authorization header value ("vapid t=<JWT>, k=<public key>")
 * from the server's VAPID private key (ES256, base/jws.h).
 *
 * Crypto from OpenSSL's libcrypto. Pure apart from allocation and the
 * random numbers of a fresh key; thread-safe. */
#ifndef TARMAC_BASE_WEBPUSH_H
#define TARMAC_BASE_WEBPUSH_H

#include <stdint.h>

#include "base/buf.h"
#include "base/rc.h"
#include "base/str.h"

/* The record size written in the header (RFC 8291 §4: a push service takes
 * at least 4096 bytes of payload). */
#define WEBPUSH_RECORD_SIZE 4096
/* The header: salt (16), record size (4), key id length (1), the sender's
 * public key (65). */
#define WEBPUSH_HEADER_LEN 86
/* The longest payload: one record holds it, its delimiter and the tag. */
#define WEBPUSH_MAX_PLAINTEXT (WEBPUSH_RECORD_SIZE - WEBPUSH_HEADER_LEN - 16 - 1)
/* A VAPID JWT's lifetime (RFC 8292 §2: at most 24 hours). */
#define WEBPUSH_VAPID_TTL_S (12 * 3600)

/* A subscription's keys, decoded. */
struct webpush_keys {
    uint8_t p256dh[65]; /* 0x04 || X || Y, a point on P-256 */
    uint8_t auth[16];
};

/* A fixed sender key pair and salt instead of fresh ones: for reproducing
 * RFC 8291's example in tests only. */
struct webpush_fixed {
    uint8_t private_key[32];
    uint8_t public_key[65];
    uint8_t salt[16];
};

/* Decodes a subscription's keys as PushSubscription.toJSON() gives them
 * (base64url, padding optional). RC_INVALID when p256dh is not an
 * uncompressed point on P-256 or auth is not 16 bytes. */
enum rc webpush_keys_parse(struct str p256dh, struct str auth, struct webpush_keys *out);

/* Appends the aes128gcm body of plaintext for k to out (fixed: NULL for a
 * fresh key and salt). RC_TOO_LARGE past WEBPUSH_MAX_PLAINTEXT or when out
 * cannot grow; RC_INVALID when k's point is not on the curve; out is left as
 * it was on failure. */
enum rc webpush_encrypt(const struct webpush_keys *k, struct str plaintext,
                        const struct webpush_fixed *fixed, struct buf *out);

/* Appends the Authorization value for a message to endpoint (its origin is
 * the JWT's aud) signed by the VAPID key in pem (an EC P-256 private key,
 * PKCS #8 or SEC 1), with subject ("mailto:..." or an https URL) as sub and
 * now_s + WEBPUSH_VAPID_TTL_S as exp. RC_INVALID for a bad key, an
 * endpoint that is not an http(s) URL, or an empty subject. */
enum rc webpush_vapid_auth(struct str pem, struct str endpoint, const char *subject, int64_t now_s,
                           struct buf *out);

/* Appends the base64url uncompressed public key of the VAPID key in pem
 * (the applicationServerKey an app passes to pushManager.subscribe()). */
enum rc webpush_vapid_public(struct str pem, struct buf *out);

/* Appends a new VAPID private key to out as a PKCS #8 PEM. */
enum rc webpush_vapid_generate(struct buf *out);

#endif
