/* oidc.c -- see oidc.h. The cache is a small array searched linearly: it
 * holds one entry per configured provider URL (a handful), never per user. */
#include "core/auth/oidc.h"

#include <pthread.h>
#include <string.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/chrono.h"
#include "base/jwk.h"
#include "base/jws.h"
#include "base/log.h"
#include "net/http_out.h"

#define FETCH_TIMEOUT_MS 10000
#define WELL_KNOWN "/.well-known/openid-configuration"

struct entry {
    char *url;
    bool is_keys;
    struct jwk_set *keys;           /* is_keys; NULL until a fetch succeeds */
    struct core_oidc_discovery doc; /* !is_keys; issuer NULL until a fetch succeeds */
    int64_t fetched_ms;             /* monotonic; 0: never fetched */
    int64_t tried_ms;               /* the last fetch attempt's start */
    bool is_fetching;               /* a thread is fetching it now */
};

struct name {
    char *code;
    char *name;
    int64_t expires_ms;
};

struct core_oidc {
    pthread_mutex_t mu;
    pthread_cond_t fetched; /* broadcast when any fetch ends */
    struct entry entries[CORE_OIDC_MAX_ENTRIES];
    size_t entry_count;
    struct name names[CORE_OIDC_MAX_NAMES];
    size_t name_count;
};

static int64_t now_ms(void)
{
    return (int64_t)(chrono_mono_ns() / 1000000);
}

struct core_oidc *core_oidc_new(void)
{
    struct core_oidc *o = xcalloc(1, sizeof(*o));
    pthread_mutex_init(&o->mu, NULL);
    pthread_cond_init(&o->fetched, NULL);
    return o;
}

static void doc_copy(struct core_oidc_discovery *to, const struct core_oidc_discovery *from)
{
    to->issuer = xstrdup(from->issuer ? from->issuer : "");
    to->authorization_endpoint = xstrdup(from->authorization_endpoint);
    to->token_endpoint = xstrdup(from->token_endpoint);
    to->jwks_uri = xstrdup(from->jwks_uri);
}

void core_oidc_discovery_cleanup(struct core_oidc_discovery *d)
{
    xfree(d->issuer);
    xfree(d->authorization_endpoint);
    xfree(d->token_endpoint);
    xfree(d->jwks_uri);
    memset(d, 0, sizeof(*d));
}

static void entry_cleanup(struct entry *e)
{
    xfree(e->url);
    jwk_set_unref(e->keys);
    core_oidc_discovery_cleanup(&e->doc);
    memset(e, 0, sizeof(*e));
}

void core_oidc_free(struct core_oidc *o)
{
    if (!o)
        return;
    for (size_t i = 0; i < o->entry_count; i++)
        entry_cleanup(&o->entries[i]);
    for (size_t i = 0; i < o->name_count; i++) {
        xfree(o->names[i].code);
        xfree(o->names[i].name);
    }
    pthread_cond_destroy(&o->fetched);
    pthread_mutex_destroy(&o->mu);
    xfree(o);
}

/* The entry of (url, is_keys), made when missing (the least recently
 * fetched one makes room). Under o->mu. */
static struct entry *entry_of(struct core_oidc *o, const char *url, bool is_keys, bool is_made)
{
    for (size_t i = 0; i < o->entry_count; i++) {
        if (o->entries[i].is_keys == is_keys && strcmp(o->entries[i].url, url) == 0)
            return &o->entries[i];
    }
    if (!is_made)
        return NULL;
    struct entry *e;
    if (o->entry_count < CORE_OIDC_MAX_ENTRIES) {
        e = &o->entries[o->entry_count++];
    } else {
        /* The least recently tried of those no thread is fetching (one
         * being fetched would be fetched twice by its waiters). */
        e = NULL;
        for (size_t i = 0; i < o->entry_count; i++) {
            if (!o->entries[i].is_fetching && (!e || o->entries[i].tried_ms < e->tried_ms))
                e = &o->entries[i];
        }
        if (!e)
            e = &o->entries[0]; /* all being fetched: the cache is full of misses */
        entry_cleanup(e);       /* a fetch still running for it finds no entry and makes one */
    }
    e->url = xstrdup(url);
    e->is_keys = is_keys;
    return e;
}

/* Whether the caller should fetch (url, is_keys) now: never fetched,
 * expired, or force (a key is missing); then the entry is marked as being
 * fetched (call fetch_done after). Not while another thread fetches it
 * (without anything cached, this waits for that fetch, so a cold start
 * makes one request, not one per sign-in), and not within
 * CORE_OIDC_REFRESH_MIN_MS of the last attempt (a failing or flooded
 * provider is asked at that rate at most). Under o->mu. */
static bool claim_fetch(struct core_oidc *o, const char *url, bool is_keys, bool force)
{
    for (;;) {
        struct entry *e = entry_of(o, url, is_keys, true);
        bool has = is_keys ? e->keys != NULL : e->doc.issuer != NULL;
        if (e->is_fetching) {
            if (has)
                return false;
            pthread_cond_wait(&o->fetched, &o->mu);
            continue;
        }
        int64_t now = now_ms();
        bool is_due = !has || force || now - e->fetched_ms > CORE_OIDC_TTL_MS;
        if (!is_due || (e->tried_ms && now - e->tried_ms < CORE_OIDC_REFRESH_MIN_MS))
            return false;
        e->tried_ms = now;
        e->is_fetching = true;
        return true;
    }
}

/* Ends a fetch claim_fetch gave the caller; under o->mu. */
static void fetch_done(struct core_oidc *o, const char *url, bool is_keys)
{
    struct entry *e = entry_of(o, url, is_keys, false);
    if (e)
        e->is_fetching = false;
    pthread_cond_broadcast(&o->fetched);
}

/* GETs url into body (its maximum set by the caller); true for a 2xx. The
 * URLs are the superuser's (or their provider's document's) to choose, as
 * the token endpoint is: private addresses are allowed. */
static bool fetch(const char *url, struct buf *body)
{
    struct net_http_out_req r = {.method = "GET",
                                 .url = url,
                                 .headers = {"Accept: application/json"},
                                 .header_count = 1,
                                 .timeout_ms = FETCH_TIMEOUT_MS,
                                 .allow_private_network = true,
                                 .response = body};
    struct net_http_out_resp resp;
    net_http_out_send(&r, &resp);
    bool is_ok = resp.fail == NET_HTTP_OUT_OK && resp.status >= 200 && resp.status < 300;
    if (!is_ok)
        log_warn("oidc_fetch_failed url=%s status=%ld error=\"%s\"", url, resp.status, resp.error);
    return is_ok;
}

/* -------------------------------------------------------------------------
 * Discovery
 * ------------------------------------------------------------------------- */

bool core_oidc_discovery_cached(struct core_oidc *o, const char *url,
                                struct core_oidc_discovery *out)
{
    pthread_mutex_lock(&o->mu);
    struct entry *e = entry_of(o, url, false, false);
    bool has = e && e->doc.issuer;
    if (has)
        doc_copy(out, &e->doc);
    pthread_mutex_unlock(&o->mu);
    return has;
}

static char *member(json_t *doc, const char *key)
{
    const char *v = json_string_value(json_object_get(doc, key));
    return xstrdup(v ? v : "");
}

/* Parses a discovery document fetched from url. */
static enum rc parse_discovery(const char *url, struct buf *body, struct core_oidc_discovery *d)
{
    json_t *doc = json_loadb(body->data ? body->data : "", body->len, 0, NULL);
    if (!json_is_object(doc)) {
        json_decref(doc);
        return RC_INVALID;
    }
    d->issuer = member(doc, "issuer");
    d->authorization_endpoint = member(doc, "authorization_endpoint");
    d->token_endpoint = member(doc, "token_endpoint");
    d->jwks_uri = member(doc, "jwks_uri");
    json_decref(doc);
    if (!d->issuer[0] || !d->jwks_uri[0]) {
        core_oidc_discovery_cleanup(d);
        return RC_INVALID;
    }
    /* §4.3: the issuer must be the URL the document was derived from, so a
     * document cannot vouch for another provider's tokens */
    size_t n = strlen(url), w = strlen(WELL_KNOWN);
    if (n > w && strcmp(url + n - w, WELL_KNOWN) == 0) {
        size_t i = strlen(d->issuer);
        while (i && d->issuer[i - 1] == '/')
            i--;
        if (i != n - w || strncmp(d->issuer, url, i) != 0) {
            log_warn("oidc_discovery_issuer_mismatch url=%s issuer=%s", url, d->issuer);
            core_oidc_discovery_cleanup(d);
            return RC_INVALID;
        }
    }
    return RC_OK;
}

enum rc core_oidc_discover(struct core_oidc *o, const char *url, struct core_oidc_discovery *out)
{
    pthread_mutex_lock(&o->mu);
    bool is_mine = claim_fetch(o, url, false, false);
    pthread_mutex_unlock(&o->mu);
    enum rc rc = RC_OK;
    if (is_mine) {
        struct buf body;
        buf_init(&body, 256 * 1024);
        struct core_oidc_discovery d = {0};
        rc = fetch(url, &body) ? parse_discovery(url, &body, &d) : RC_IO;
        buf_cleanup(&body);
        pthread_mutex_lock(&o->mu);
        if (!rc) {
            struct entry *e = entry_of(o, url, false, true);
            core_oidc_discovery_cleanup(&e->doc);
            e->doc = d;
            e->fetched_ms = now_ms();
        }
        fetch_done(o, url, false);
        pthread_mutex_unlock(&o->mu);
    }
    /* the fresh document, or the last good one when this fetch failed */
    if (core_oidc_discovery_cached(o, url, out))
        return RC_OK;
    return rc ? rc : RC_IO;
}

/* -------------------------------------------------------------------------
 * Keys and verification
 * ------------------------------------------------------------------------- */

/* The key set of url (a reference: jwk_set_unref), fetched when due or
 * force; NULL when none can be had. */
static struct jwk_set *keys_of(struct core_oidc *o, const char *url, bool force)
{
    pthread_mutex_lock(&o->mu);
    bool is_mine = claim_fetch(o, url, true, force);
    pthread_mutex_unlock(&o->mu);
    if (is_mine) {
        struct buf body;
        buf_init(&body, JWK_SET_MAX_BYTES);
        struct jwk_set *s = NULL;
        if (fetch(url, &body) && jwk_set_parse(buf_str(&body), &s) != RC_OK)
            log_warn("oidc_jwks_invalid url=%s", url);
        buf_cleanup(&body);
        pthread_mutex_lock(&o->mu);
        if (s) {
            struct entry *e = entry_of(o, url, true, true);
            jwk_set_unref(e->keys);
            e->keys = s;
            e->fetched_ms = now_ms();
        }
        fetch_done(o, url, true);
        pthread_mutex_unlock(&o->mu);
    }
    pthread_mutex_lock(&o->mu);
    struct entry *e = entry_of(o, url, true, false);
    struct jwk_set *s = e && e->keys ? jwk_set_ref(e->keys) : NULL;
    pthread_mutex_unlock(&o->mu);
    return s;
}

enum rc core_oidc_verify(struct core_oidc *o, const char *id_token,
                         const struct core_oidc_expect *e, json_t **claims, const char **reason)
{
    *claims = NULL;
    struct jws_token t;
    enum jws_result r = jws_parse(str_from_cstr(id_token), &t);
    if (!r && e->jwks_url[0] && !o) {
        jws_token_cleanup(&t);
        *reason = "The provider's keys could not be fetched.";
        return RC_IO;
    }
    if (!r && e->jwks_url[0]) {
        struct jwk_set *keys = keys_of(o, e->jwks_url, false);
        if (!keys) {
            jws_token_cleanup(&t);
            *reason = "The provider's keys could not be fetched.";
            return RC_IO;
        }
        r = jws_verify(&t, keys);
        if (r == JWS_UNKNOWN_KEY) {
            /* a key rotated in since the set was cached: fetch it once more */
            struct jwk_set *fresh = keys_of(o, e->jwks_url, true);
            if (fresh && fresh != keys)
                r = jws_verify(&t, fresh);
            jwk_set_unref(fresh);
        }
        jwk_set_unref(keys);
    }
    if (!r) {
        struct jws_expect x = {.issuers = e->issuers,
                               .issuer_count = e->issuer_count,
                               .audiences = e->audiences,
                               .audience_count = e->audience_count,
                               .now_s = chrono_real_ms() / 1000,
                               .leeway_s = CORE_OIDC_LEEWAY_S};
        r = jws_check_claims(t.payload, &x);
    }
    if (r) {
        jws_token_cleanup(&t);
        *reason = jws_result_message(r);
        return RC_INVALID;
    }
    *claims = json_incref(t.payload);
    jws_token_cleanup(&t);
    *reason = NULL;
    return RC_OK;
}

/* -------------------------------------------------------------------------
 * Apple's name
 * ------------------------------------------------------------------------- */

/* Drops expired names; under o->mu. */
static void names_expire(struct core_oidc *o, int64_t now)
{
    size_t keep = 0;
    for (size_t i = 0; i < o->name_count; i++) {
        if (o->names[i].expires_ms > now) {
            o->names[keep++] = o->names[i];
        } else {
            xfree(o->names[i].code);
            xfree(o->names[i].name);
        }
    }
    o->name_count = keep;
}

void core_oidc_name_put(struct core_oidc *o, const char *code, const char *name)
{
    int64_t now = now_ms();
    pthread_mutex_lock(&o->mu);
    names_expire(o, now);
    if (o->name_count == CORE_OIDC_MAX_NAMES) {
        xfree(o->names[0].code);
        xfree(o->names[0].name);
        memmove(&o->names[0], &o->names[1], (o->name_count - 1) * sizeof(o->names[0]));
        o->name_count--;
    }
    o->names[o->name_count++] =
        (struct name){xstrdup(code), xstrdup(name), now + CORE_OIDC_NAME_TTL_MS};
    pthread_mutex_unlock(&o->mu);
}

char *core_oidc_name_take(struct core_oidc *o, const char *code)
{
    char *name = NULL;
    pthread_mutex_lock(&o->mu);
    names_expire(o, now_ms());
    for (size_t i = 0; i < o->name_count; i++) {
        if (strcmp(o->names[i].code, code) == 0) {
            name = o->names[i].name;
            xfree(o->names[i].code);
            o->names[i] = o->names[--o->name_count];
            break;
        }
    }
    pthread_mutex_unlock(&o->mu);
    return name;
}
