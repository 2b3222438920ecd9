/* password.c -- see password.h.
 *
 * Why not crypto_pwhash_str_verify(): it accepts any m the string names (a
 * planted "m=4194304" would allocate 4 GiB per login attempt) and needs a
 * NUL-terminated copy; parsing here bounds m and t first and then uses the
 * same crypto_pwhash the hashing side uses. The format is the one libsodium
 * writes, so its strings and ours are interchangeable (tested both ways). */
#include "core/credential/password.h"

#include <crypt.h>
#include <string.h>

#include <sodium.h>

#include "base/alloc.h"
#include "base/b64.h"
#include "base/secure.h"

#define PHC_PREFIX "$argon2id$v=19$m="

/* The dummy verification's salt: any fixed value does, the hash it is
 * compared to (all zeros) is never the output of argon2id in practice. */
static const unsigned char DUMMY_SALT[CORE_PASSWORD_SALT_BYTES] = {
    't', 'a', 'r', 'm', 'a', 'c', '-', 'd', 'u', 'm', 'm', 'y', 's', 'a', 'l', 't',
};

bool core_password_params_are_valid(struct core_password_params p)
{
    return p.m_kib >= CORE_PASSWORD_MIN_M_KIB && p.m_kib <= CORE_PASSWORD_MAX_M_KIB && p.t >= 1 &&
           p.t <= CORE_PASSWORD_MAX_T;
}

/* ------------------------------------------------------------------------ */
/* PHC strings                                                              */
/* ------------------------------------------------------------------------ */

/* Consumes lit from the front of *s; false (s unchanged) when absent. */
static bool take_literal(struct str *s, const char *lit)
{
    size_t n = strlen(lit);
    if (s->len < n || memcmp(s->ptr, lit, n) != 0)
        return false;
    s->ptr += n;
    s->len -= n;
    return true;
}

/* Consumes a decimal number <= max from the front of *s. Leading zeros are
 * refused so that each value has one spelling, as argon2's encoder writes it. */
static bool take_u32(struct str *s, uint32_t max, uint32_t *out)
{
    size_t i = 0;
    uint64_t v = 0;
    while (i < s->len && s->ptr[i] >= '0' && s->ptr[i] <= '9') {
        v = v * 10 + (uint64_t)(s->ptr[i] - '0');
        if (v > max)
            return false;
        i++;
    }
    if (i == 0 || (i > 1 && s->ptr[0] == '0'))
        return false;
    *out = (uint32_t)v;
    s->ptr += i;
    s->len -= i;
    return true;
}

enum rc core_password_parse(struct str phc, struct core_password_phc *out)
{
    struct str s = phc;
    struct core_password_params p;
    if (!take_literal(&s, PHC_PREFIX) || !take_u32(&s, CORE_PASSWORD_MAX_M_KIB, &p.m_kib) ||
        !take_literal(&s, ",t=") || !take_u32(&s, CORE_PASSWORD_MAX_T, &p.t) ||
        !take_literal(&s, ",p=1$"))
        return RC_INVALID;
    if (!core_password_params_are_valid(p))
        return RC_INVALID;
    const char *dollar = s.len ? memchr(s.ptr, '$', s.len) : NULL;
    if (!dollar)
        return RC_INVALID;
    struct str salt = {s.ptr, (size_t)(dollar - s.ptr)};
    struct str hash = {dollar + 1, s.len - salt.len - 1};
    size_t n;
    /* A '$' left in hash is outside the alphabet: refused by the decoder. */
    if (b64_decode(B64_STD, salt, out->salt, sizeof(out->salt), &n) || n != sizeof(out->salt))
        return RC_INVALID;
    if (b64_decode(B64_STD, hash, out->hash, sizeof(out->hash), &n) ||
        n < CORE_PASSWORD_HASH_MIN_BYTES)
        return RC_INVALID;
    out->hash_len = n;
    out->params = p;
    return RC_OK;
}

/* Appends the PHC string of (params, salt, hash) to out; out unchanged on error. */
static enum rc format_phc(struct core_password_params p, const unsigned char *salt,
                          const unsigned char *hash, size_t hash_len, struct buf *out)
{
    size_t start = out->len;
    enum rc rc = buf_append_cstr(out, PHC_PREFIX);
    if (!rc)
        rc = buf_append_u64(out, p.m_kib);
    if (!rc)
        rc = buf_append_cstr(out, ",t=");
    if (!rc)
        rc = buf_append_u64(out, p.t);
    if (!rc)
        rc = buf_append_cstr(out, ",p=1$");
    if (!rc)
        rc = b64_encode_buf(B64_STD, salt, CORE_PASSWORD_SALT_BYTES, out);
    if (!rc)
        rc = buf_append(out, "$", 1);
    if (!rc)
        rc = b64_encode_buf(B64_STD, hash, hash_len, out);
    if (rc)
        out->len = start;
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Hashing and verification                                                 */
/* ------------------------------------------------------------------------ */

/* argon2id of password into hash[0..hash_len). RC_NOMEM when libsodium
 * fails, which for valid parameters means it could not allocate m KiB. */
static enum rc derive(struct str password, struct core_password_params p, const unsigned char *salt,
                      unsigned char *hash, size_t hash_len)
{
    const char *pw = password.len ? password.ptr : "";
    if (crypto_pwhash(hash, hash_len, pw, password.len, salt, p.t, (size_t)p.m_kib * 1024u,
                      crypto_pwhash_ALG_ARGON2ID13) != 0)
        return RC_NOMEM;
    return RC_OK;
}

enum rc core_password_hash(struct str password, struct core_password_params params, struct buf *out)
{
    if (!core_password_params_are_valid(params))
        return RC_INVALID;
    unsigned char salt[CORE_PASSWORD_SALT_BYTES];
    unsigned char hash[CORE_PASSWORD_HASH_BYTES];
    secure_random_bytes(salt, sizeof(salt));
    enum rc rc = derive(password, params, salt, hash, sizeof(hash));
    if (!rc)
        rc = format_phc(params, salt, hash, sizeof(hash), out);
    secure_zero(hash, sizeof(hash));
    return rc;
}

/* A bcrypt hash in the modular crypt form: $2a$|$2b$|$2y$, two-digit cost,
 * '$', 53 characters of salt and hash. */
static bool bcrypt_cost(struct str phc, unsigned *cost)
{
    if (phc.len != 60 || phc.ptr[0] != '$' || phc.ptr[1] != '2' ||
        (phc.ptr[2] != 'a' && phc.ptr[2] != 'b' && phc.ptr[2] != 'y') || phc.ptr[3] != '$' ||
        phc.ptr[6] != '$' || phc.ptr[4] < '0' || phc.ptr[4] > '9' || phc.ptr[5] < '0' ||
        phc.ptr[5] > '9')
        return false;
    *cost = (unsigned)(phc.ptr[4] - '0') * 10 + (unsigned)(phc.ptr[5] - '0');
    return true;
}

static enum rc bcrypt_verify(struct str password, struct str phc, unsigned cost)
{
    if (cost < 4 || cost > CORE_PASSWORD_BCRYPT_MAX_COST || memchr(password.ptr, 0, password.len))
        return RC_INVALID;
    char *pw = xmalloc(password.len + 1), setting[61];
    memcpy(pw, password.ptr, password.len);
    pw[password.len] = '\0';
    memcpy(setting, phc.ptr, phc.len);
    setting[phc.len] = '\0';
    struct crypt_data *data = xcalloc(1, sizeof(*data));
    const char *got = crypt_rn(pw, setting, data, (int)sizeof(*data));
    enum rc rc = got && strlen(got) == phc.len && secure_equal(got, phc.ptr, phc.len)
                     ? RC_OK
                     : (got && got[0] != '*' ? RC_UNAUTHORIZED : RC_INVALID);
    secure_zero(pw, password.len);
    secure_zero(data, sizeof(*data));
    xfree(pw);
    xfree(data);
    return rc;
}

enum rc core_password_verify(struct str password, struct str phc)
{
    unsigned cost;
    if (bcrypt_cost(phc, &cost))
        return bcrypt_verify(password, phc, cost);
    struct core_password_phc stored;
    unsigned char got[CORE_PASSWORD_HASH_MAX_BYTES];
    if (core_password_parse(phc, &stored))
        return RC_INVALID;
    enum rc rc = derive(password, stored.params, stored.salt, got, stored.hash_len);
    if (!rc && !secure_equal(got, stored.hash, stored.hash_len))
        rc = RC_UNAUTHORIZED;
    secure_zero(got, sizeof(got));
    return rc;
}

enum rc core_password_verify_dummy(struct str password, struct core_password_params params)
{
    if (!core_password_params_are_valid(params))
        return RC_INVALID;
    /* Same path as a real login: format, parse, derive, compare. */
    static const unsigned char zero_hash[CORE_PASSWORD_HASH_BYTES];
    struct buf phc;
    buf_init(&phc, CORE_PASSWORD_PHC_MAX);
    enum rc rc = format_phc(params, DUMMY_SALT, zero_hash, sizeof(zero_hash), &phc);
    if (!rc)
        rc = core_password_verify(password, buf_str(&phc));
    buf_cleanup(&phc);
    return rc == RC_NOMEM ? RC_NOMEM : RC_UNAUTHORIZED;
}

bool core_password_needs_rehash(struct str phc, struct core_password_params params)
{
    struct core_password_phc stored;
    if (core_password_parse(phc, &stored))
        return true;
    return stored.params.m_kib != params.m_kib || stored.params.t != params.t ||
           stored.hash_len != CORE_PASSWORD_HASH_BYTES;
}

bool core_password_is_bcrypt(struct str phc)
{
    unsigned cost;
    return bcrypt_cost(phc, &cost);
}
