/* password.h -- argon2id password hashes in PHC string form (layer: core).
 *
 * Hashes are stored as PHC strings, exactly as argon2's reference code,
 * libsodium's crypto_pwhash_str and Python's argon2-cffi write them (and as
 * the bench data set holds them):
 *     $argon2id$v=19$m=<KiB>,t=<passes>,p=1$<salt>$<hash>
 * salt 16 bytes, hash 32 bytes, both standard base64 without padding. Hashing
 * is libsodium's crypto_pwhash (argon2id v1.3, one lane: libsodium supports
 * p=1 only). Verification parses the string, recomputes with the stored m and t
 * and compares in constant time, so hashes made with older parameters keep
 * working (core_password_needs_rehash() says when to upgrade them).
 *
 * SLOW BY DESIGN: one call costs m KiB of memory and ~25 ms of CPU with the
 * defaults (OWASP's minimum, m=19456 t=2). Call these from the offload thread
 * pool, never from an event loop. Thread-safe once secure_init() has run;
 * each call allocates and frees its own m KiB. */
#ifndef TARMAC_CORE_PASSWORD_H
#define TARMAC_CORE_PASSWORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/rc.h"
#include "base/str.h"

#define CORE_PASSWORD_DEFAULT_M_KIB 19456 /* 19 MiB, OWASP's argon2id minimum */
#define CORE_PASSWORD_DEFAULT_T 2         /* passes */
#define CORE_PASSWORD_MIN_M_KIB 8         /* argon2's floor: 8 KiB per lane */
/* Ceilings for values read from a stored string, so that a corrupted or
 * planted hash cannot make one login allocate gigabytes or spin for minutes. */
#define CORE_PASSWORD_MAX_M_KIB (1024u * 1024u) /* 1 GiB */
#define CORE_PASSWORD_MAX_T 64
#define CORE_PASSWORD_SALT_BYTES 16     /* crypto_pwhash_SALTBYTES */
#define CORE_PASSWORD_HASH_BYTES 32     /* what we write */
#define CORE_PASSWORD_HASH_MIN_BYTES 16 /* accepted when read */
#define CORE_PASSWORD_HASH_MAX_BYTES 64
/* Longest PHC string core_password_hash() writes (with 10-digit m and t). */
#define CORE_PASSWORD_PHC_MAX 128
/* Highest bcrypt cost read (2^cost rounds): a planted $2b$31$ hash would
 * otherwise hold a pool thread for days. PocketBase writes 10 to 12. */
#define CORE_PASSWORD_BCRYPT_MAX_COST 16

/* Cost parameters. */
struct core_password_params {
    uint32_t m_kib; /* memory, KiB: CORE_PASSWORD_MIN_M_KIB..CORE_PASSWORD_MAX_M_KIB */
    uint32_t t;     /* passes: 1..CORE_PASSWORD_MAX_T */
};

/* A parsed PHC string. */
struct core_password_phc {
    struct core_password_params params;
    unsigned char salt[CORE_PASSWORD_SALT_BYTES];
    unsigned char hash[CORE_PASSWORD_HASH_MAX_BYTES];
    size_t hash_len; /* bytes used in hash */
};

/* True when p is within the bounds above. */
bool core_password_params_are_valid(struct core_password_params p);

/* Parses phc strictly: the "$argon2id$v=19$m=M,t=T,p=1$SALT$HASH" form only,
 * m and t decimal without leading zeros and within bounds, p exactly 1, a
 * 16-byte salt and a 16..64-byte hash in canonical unpadded standard base64.
 * RC_INVALID otherwise (*out then unspecified). Fast; borrows phc. */
enum rc core_password_parse(struct str phc, struct core_password_phc *out);

/* Hashes password with a fresh random salt and params, appending the PHC
 * string (at most CORE_PASSWORD_PHC_MAX bytes) to out. RC_INVALID for params
 * out of bounds; RC_NOMEM when the m KiB cannot be allocated; RC_TOO_LARGE
 * past out's maximum. out is unchanged on error. SLOW: thread pool only.
 * Borrows password (which the caller should wipe when done). */
enum rc core_password_hash(struct str password, struct core_password_params params,
                           struct buf *out);

/* Checks password against the stored phc. RC_OK when it matches;
 * RC_UNAUTHORIZED when it does not; RC_INVALID when phc does not parse (a
 * stored value we cannot read: log it, answer as for a wrong password);
 * RC_NOMEM when the stored m KiB cannot be allocated. SLOW: thread pool only.
 * Borrows both. Also reads PocketBase's bcrypt hashes ("$2a$", "$2b$",
 * "$2y$", cost 4..CORE_PASSWORD_BCRYPT_MAX_COST, through libxcrypt's
 * crypt_rn), so users imported from PocketBase keep their passwords;
 * core_password_needs_rehash() is true for them, and the login replaces
 * them with argon2id. */
enum rc core_password_verify(struct str password, struct str phc);
/* True when phc has the form of a bcrypt hash core_password_verify() reads. */
bool core_password_is_bcrypt(struct str phc);

/* Burns the time core_password_verify() takes for a hash made with params,
 * for logins whose identity does not exist, so that response times do not
 * reveal which accounts exist (spec §6.3). Always returns RC_UNAUTHORIZED
 * (RC_INVALID for params out of bounds, RC_NOMEM). SLOW: thread pool only. */
enum rc core_password_verify_dummy(struct str password, struct core_password_params params);

/* True when phc should be re-hashed after a successful login: it does not
 * parse, its m or t differ from params, or its hash is not
 * CORE_PASSWORD_HASH_BYTES long. Fast; borrows phc. */
bool core_password_needs_rehash(struct str phc, struct core_password_params params);

#endif
