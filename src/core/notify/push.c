/* push.c -- see push.h: `_devices` and the `push` job kind (one message to
 * one device, by the provider's row of the table at the end). */
#include "core/notify/push.h"

#include <assert.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/chrono.h"
#include "base/jws.h"
#include "base/jsonw.h"
#include "base/log.h"
#include "base/secure.h"
#include "base/webpush.h"
#include "core/jobs/http_kind.h"
#include "core/jobs/job.h"
#include "core/settings/settings.h"
#include "store/writer.h"

const char core_devices_collection_json[] =
    "{\"id\":\"pbc_tarmac_devices\",\"name\":\"_devices\",\"type\":\"base\","
    "\"listRule\":\"user = @request.auth.id\",\"viewRule\":\"user = @request.auth.id\","
    "\"createRule\":\"@request.auth.id != '' && user = @request.auth.id\","
    "\"updateRule\":\"user = @request.auth.id && (@request.body.user:isset = false || "
    "@request.body.user = @request.auth.id)\","
    "\"deleteRule\":\"user = @request.auth.id\","
    "\"fields\":[{\"name\":\"user\",\"type\":\"relation\",\"collectionId\":\"_pb_users_auth_\","
    "\"required\":true,\"maxSelect\":1,\"cascadeDelete\":true},"
    "{\"name\":\"provider\",\"type\":\"select\",\"required\":true,\"maxSelect\":1,"
    "\"values\":[\"fcm\",\"apns\",\"webpush\"]},"
    "{\"name\":\"platform\",\"type\":\"select\",\"maxSelect\":1,"
    "\"values\":[\"ios\",\"android\",\"web\"]},"
    "{\"name\":\"token\",\"type\":\"text\",\"required\":true,\"max\":4096},"
    "{\"name\":\"keys\",\"type\":\"json\",\"maxSize\":1024},"
    "{\"name\":\"appId\",\"type\":\"text\",\"max\":255},"
    "{\"name\":\"locale\",\"type\":\"text\",\"max\":35},"
    "{\"name\":\"lastSeen\",\"type\":\"date\"},"
    "{\"name\":\"created\",\"type\":\"autodate\",\"onCreate\":true},"
    "{\"name\":\"updated\",\"type\":\"autodate\",\"onCreate\":true,\"onUpdate\":true}]}";

struct push_provider;

/* What a call holds between prepare and complete: the push's parts (the
 * device, its token, its provider, and the payload when it was parsed). */
struct push_state {
    char *device;
    char *token;
    const struct push_provider *provider;
    json_t *payload; /* owned; NULL when the payload was taken apart by position */
    char *url;
    struct buf resp; /* the answer's body (FCM's error codes) */
};

static void state_free(struct push_state *st)
{
    if (!st)
        return;
    xfree(st->device);
    xfree(st->token);
    json_decref(st->payload);
    xfree(st->url);
    buf_cleanup(&st->resp);
    xfree(st);
}

/* What FCM and APNs send for one message, the same for every device it goes
 * to: made once per message and runner batch (a fan-out sends one message to
 * many devices), then only the token changes. */
struct push_bodies {
    char *message; /* the message's JSON text: the key */
    size_t len;
    char *fcm_rest; /* FCM's body after the token: ,"notification":{..},"data":{..}}} */
    char *apns;     /* APNs' whole body */
};

#define BODIES_MEMO 8
static _Thread_local struct push_bodies bodies_memo[BODIES_MEMO];
static _Thread_local size_t bodies_count, bodies_next;

static void bodies_clear(struct push_bodies *b)
{
    xfree(b->message);
    xfree(b->fcm_rest);
    xfree(b->apns);
    memset(b, 0, sizeof(*b));
}

/* After each batch (registry.h): the next batch makes its own. */
static void push_batch_end(void)
{
    for (size_t i = 0; i < bodies_count; i++)
        bodies_clear(&bodies_memo[i]);
    bodies_count = bodies_next = 0;
}

static bool dead(struct core_job_result *res, const char *why)
{
    res->outcome = CORE_JOB_DEAD;
    snprintf(res->error, sizeof(res->error), "%s", why);
    return false;
}

/* ---- removing a dead device ---------------------------------------------- */

struct gone {
    const char *id;
    const char *token;
};

static enum rc remove_device(struct store_conn *db, void *ctx)
{
    struct gone *g = ctx;
    struct store_stmt *st;
    enum rc rc =
        store_prepare(db, STR_LIT("DELETE FROM \"_devices\" WHERE id = ?1 AND token = ?2"), &st);
    if (rc)
        return rc;
    store_bind_text(st, 1, str_from_cstr(g->id));
    store_bind_text(st, 2, str_from_cstr(g->token));
    rc = store_step(st);
    store_done(st);
    return rc == RC_NOT_FOUND ? RC_OK : rc;
}

/* The provider said the token is dead: the device goes (unless it was
 * registered again with another token meanwhile) and the job is dead. */
static void device_gone(const struct core_job_env *env, const struct push_state *st,
                        struct core_job_result *res, const char *why)
{
    struct gone g = {st->device, st->token};
    if (g.id && g.token && env->writer)
        (void)store_writer_run(env->writer, remove_device, &g);
    res->outcome = CORE_JOB_DEAD;
    snprintf(res->error, sizeof(res->error), "%s: the device was removed", why);
}

/* call's request to the provider: st's URL, call's body, the answer (the
 * provider's error codes) into st's buffer of resp_max bytes. */
static struct net_http_out_req *provider_req(const struct core_job_env *env, struct push_state *st,
                                             struct core_job_call *call, size_t resp_max)
{
    buf_init(&st->resp, resp_max);
    return core_job_call_to_provider(call, env, NULL, st->url, &st->resp);
}

/* ---- FCM HTTP v1 ----------------------------------------------------------- */

/* The access token of one service account at one token URL, shared by the
 * runners; fetched again a minute before it expires. */
static struct {
    pthread_mutex_t mu;
    char email[256];
    char url[512];
    char token[2048];
    int64_t expires_ms;
} fcm_cache = {.mu = PTHREAD_MUTEX_INITIALIZER};

#define FCM_SCOPE "https://www.googleapis.com/auth/firebase.messaging"

static bool fcm_cached(const struct core_settings *s, char *out, size_t cap)
{
    pthread_mutex_lock(&fcm_cache.mu);
    bool is_hit = fcm_cache.token[0] && chrono_real_ms() < fcm_cache.expires_ms - 60000 &&
                  strcmp(fcm_cache.email, s->push.fcm_email) == 0 &&
                  strcmp(fcm_cache.url, s->push.fcm_token_url) == 0 &&
                  strlen(fcm_cache.token) < cap;
    if (is_hit)
        memcpy(out, fcm_cache.token, strlen(fcm_cache.token) + 1);
    pthread_mutex_unlock(&fcm_cache.mu);
    return is_hit;
}

/* A 401 from messages:send: the cached token is not taken again. */
static void fcm_forget(void)
{
    pthread_mutex_lock(&fcm_cache.mu);
    secure_zero(fcm_cache.token, sizeof(fcm_cache.token));
    pthread_mutex_unlock(&fcm_cache.mu);
}

/* The service account's access token into out: the cache's, or one fetched
 * now (blocking: a runner thread). False with res set (retry) on failure. */
static bool fcm_token(const struct core_job_env *env, const struct core_settings *s, char *out,
                      size_t cap, struct core_job_result *res)
{
    if (fcm_cached(s, out, cap))
        return true;
    int64_t now = chrono_real_ms() / 1000;
    json_t *claims =
        json_pack("{s:s, s:s, s:s, s:I, s:I}", "iss", s->push.fcm_email, "scope", FCM_SCOPE, "aud",
                  s->push.fcm_token_url, "iat", (json_int_t)now, "exp", (json_int_t)(now + 3600));
    char *text = claims ? json_dumps(claims, JSON_COMPACT) : NULL;
    json_decref(claims);
    struct buf form, answer;
    buf_init(&form, 16384);
    buf_init(&answer, 65536);
    enum rc rc = text ? buf_append_cstr(&form, "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-"
                                               "type%3Ajwt-bearer&assertion=")
                      : RC_NOMEM;
    if (!rc)
        rc = jws_sign_rs256(str_from_cstr(s->push.fcm_key), NULL, str_from_cstr(text), &form);
    xfree(text);
    if (rc) {
        buf_cleanup(&form);
        buf_cleanup(&answer);
        res->outcome = CORE_JOB_RETRY;
        snprintf(res->error, sizeof(res->error), "FCM: the service account key does not sign");
        return false;
    }
    /* The token URL is the superuser's setting: private addresses allowed,
     * as for OAuth2 provider endpoints. */
    struct net_http_out_req req = {.method = "POST",
                                   .url = s->push.fcm_token_url,
                                   .body = buf_str(&form),
                                   .timeout_ms = env->http_timeout_ms,
                                   .allow_private_network = true,
                                   .response = &answer};
    req.headers[req.header_count++] = "Content-Type: application/x-www-form-urlencoded";
    req.headers[req.header_count++] = "Accept: application/json";
    struct net_http_out_resp resp = {0};
    net_http_out_send(&req, &resp);
    buf_cleanup(&form);
    json_t *j = resp.fail == NET_HTTP_OUT_OK && resp.status == 200
                    ? json_loadb(answer.data, answer.len, 0, NULL)
                    : NULL;
    buf_cleanup(&answer);
    const char *token = json_string_value(json_object_get(j, "access_token"));
    json_int_t ttl = json_integer_value(json_object_get(j, "expires_in"));
    bool is_ok =
        token && token[0] && strlen(token) < cap && strlen(token) < sizeof(fcm_cache.token);
    for (const char *p = token; is_ok && *p; p++)
        is_ok = (unsigned char)*p > 0x20 && *p != 0x7f;
    if (!is_ok) {
        res->outcome = CORE_JOB_RETRY;
        res->retry_after_ms = resp.retry_after_ms;
        if (resp.fail != NET_HTTP_OUT_OK)
            snprintf(res->error, sizeof(res->error), "FCM token: %s", resp.error);
        else
            snprintf(res->error, sizeof(res->error), "FCM token: HTTP %ld without an access_token",
                     resp.status);
        json_decref(j);
        return false;
    }
    memcpy(out, token, strlen(token) + 1);
    pthread_mutex_lock(&fcm_cache.mu);
    snprintf(fcm_cache.email, sizeof(fcm_cache.email), "%s", s->push.fcm_email);
    snprintf(fcm_cache.url, sizeof(fcm_cache.url), "%s", s->push.fcm_token_url);
    memcpy(fcm_cache.token, token, strlen(token) + 1);
    fcm_cache.expires_ms = chrono_real_ms() + (ttl > 0 ? (int64_t)ttl : 3600) * 1000;
    pthread_mutex_unlock(&fcm_cache.mu);
    json_decref(j);
    return true;
}

/* FCM's data values are strings: others go as their JSON text. */
static json_t *fcm_data(json_t *data)
{
    json_t *out = json_object();
    const char *k;
    json_t *v;
    json_object_foreach(data, k, v)
    {
        if (json_is_string(v)) {
            json_object_set(out, k, v);
        } else {
            char *t = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
            json_object_set_new(out, k, json_string(t ? t : ""));
            xfree(t);
        }
    }
    return out;
}

/* FCM's body after the token, for message m: the message object's other
 * members and its end ({"message":{"token":T,"notification":..,"data":..}}). */
static char *fcm_rest(json_t *m)
{
    json_t *msg = json_object();
    json_t *notification = json_object();
    if (json_is_string(json_object_get(m, "title")))
        json_object_set(notification, "title", json_object_get(m, "title"));
    if (json_is_string(json_object_get(m, "body")))
        json_object_set(notification, "body", json_object_get(m, "body"));
    json_object_set_new(msg, "notification", notification);
    if (json_object_size(json_object_get(m, "data")))
        json_object_set_new(msg, "data", fcm_data(json_object_get(m, "data")));
    char *inner = json_dumps(msg, JSON_COMPACT); /* {"notification":..} */
    json_decref(msg);
    if (!inner)
        return NULL;
    size_t n = strlen(inner);
    char *rest = xmalloc(n + 3);
    rest[0] = ',';
    memcpy(rest + 1, inner + 1, n - 1); /* without its '{' */
    memcpy(rest + n, "}", 2);           /* the "message" object's end, then the body's */
    xfree(inner);
    return rest;
}

static bool fcm_prepare(const struct core_job_env *env, const struct core_settings *s,
                        struct push_state *st, const struct push_bodies *b,
                        struct core_job_call *call, struct core_job_result *res)
{
    if (!s->push.is_fcm)
        return dead(res, "FCM is not configured (settings push.fcm)");
    char token[2048];
    if (!fcm_token(env, s, token, sizeof(token), res))
        return false;
    /* {"message":{"token":T then the message's other members (fcm_rest) */
    struct buf body;
    buf_init(&body, 1 << 20);
    enum rc rc = buf_append_cstr(&body, "{\"message\":{\"token\":");
    struct jsonw w;
    jsonw_init(&w, &body);
    jsonw_string_cstr(&w, st->token);
    rc = rc ? rc : jsonw_finish(&w);
    rc = rc ? rc : buf_append_cstr(&body, b->fcm_rest);
    rc = rc ? rc : buf_append(&body, "", 1); /* the body is a C string */
    if (rc) {
        buf_cleanup(&body);
        secure_zero(token, sizeof(token));
        return dead(res, "FCM: the message is too large");
    }
    call->body = body.data; /* the call frees it */
    size_t url_len = strlen(s->push.fcm_api_url) + strlen(s->push.fcm_project) + 40;
    st->url = xmalloc(url_len);
    snprintf(st->url, url_len, "%s/v1/projects/%s/messages:send", s->push.fcm_api_url,
             s->push.fcm_project);
    struct net_http_out_req *req = provider_req(env, st, call, 16384);
    req->headers[req->header_count++] = "Content-Type: application/json; charset=utf-8";
    core_job_call_add_line(call, "Authorization: Bearer %s", token);
    secure_zero(token, sizeof(token));
    return true;
}

/* The generic outcome of an answer and, for an error status, its JSON body
 * (NULL when none came, it is not JSON, or the send succeeded: a 2xx body
 * says nothing a device's fate depends on); *status its HTTP status (0: no
 * answer). */
static json_t *answer_json(struct core_job_call *call, struct core_job_result *res, long *status)
{
    struct push_state *st = call->state;
    (void)core_job_http_outcome(&call->resp, res);
    *status = call->resp.fail == NET_HTTP_OUT_OK ? call->resp.status : 0;
    bool is_error = *status && (*status < 200 || *status >= 300);
    return is_error ? json_loadb(st->resp.data, st->resp.len, 0, NULL) : NULL;
}

static void fcm_complete(const struct core_job_env *env, struct push_state *st,
                         struct core_job_call *call, struct core_job_result *res)
{
    long status;
    /* The error's status and details (google.rpc.Status): errorCode. */
    json_t *j = answer_json(call, res, &status);
    if (!status)
        return;
    json_t *e = json_object_get(j, "error");
    const char *message = json_string_value(json_object_get(e, "message"));
    const char *code = NULL;
    size_t i;
    json_t *d;
    json_array_foreach(json_object_get(e, "details"), i, d)
    {
        if (!code)
            code = json_string_value(json_object_get(d, "errorCode"));
    }
    /* Only FCM's own word removes a device: a 404 without it (a wrong
     * apiURL or project) would otherwise delete every device sent to. */
    if (code && strcmp(code, "UNREGISTERED") == 0)
        device_gone(env, st, res, "FCM: UNREGISTERED");
    else if (status == 403 && code && strcmp(code, "SENDER_ID_MISMATCH") == 0)
        device_gone(env, st, res, "FCM: SENDER_ID_MISMATCH");
    else if (status == 400 && message && strstr(message, "registration token"))
        device_gone(env, st, res, "FCM: an invalid registration token");
    else if (status == 401) {
        /* The access token was refused: a new one next time. */
        fcm_forget();
        res->outcome = CORE_JOB_RETRY;
        snprintf(res->error, sizeof(res->error),
                 "FCM: HTTP 401 (the access token is fetched again)");
    } else if (res->outcome != CORE_JOB_DONE && message) {
        snprintf(res->error, sizeof(res->error), "FCM: HTTP %ld %.400s", status, message);
    }
    json_decref(j);
}

/* ---- APNs ------------------------------------------------------------------ */

/* The provider token (ES256, kid = key id, iss = team id), made again every
 * 50 minutes (Apple takes one for an hour and wants no new one within 20). */
static struct {
    pthread_mutex_t mu;
    char team[64];
    char kid[64];
    char jwt[1024];
    int64_t made_ms;
} apns_cache = {.mu = PTHREAD_MUTEX_INITIALIZER};

static bool apns_jwt(const struct core_settings *s, char *out, size_t cap)
{
    int64_t now = chrono_real_ms();
    pthread_mutex_lock(&apns_cache.mu);
    bool is_ok = apns_cache.jwt[0] && now - apns_cache.made_ms < 50 * 60 * 1000 &&
                 strcmp(apns_cache.team, s->push.apns_team_id) == 0 &&
                 strcmp(apns_cache.kid, s->push.apns_key_id) == 0;
    if (!is_ok) {
        char claims[256]; /* a team id passes settings at up to 200 bytes */
        int n = snprintf(claims, sizeof(claims), "{\"iss\":\"%s\",\"iat\":%lld}",
                         s->push.apns_team_id, (long long)(now / 1000));
        struct buf jwt;
        buf_init(&jwt, sizeof(apns_cache.jwt) - 1);
        is_ok = n > 0 && (size_t)n < sizeof(claims) &&
                jws_sign_es256(str_from_cstr(s->push.apns_key), s->push.apns_key_id,
                               (struct str){claims, (size_t)n}, &jwt) == RC_OK;
        if (is_ok) {
            memcpy(apns_cache.jwt, jwt.data, jwt.len);
            apns_cache.jwt[jwt.len] = '\0';
            snprintf(apns_cache.team, sizeof(apns_cache.team), "%s", s->push.apns_team_id);
            snprintf(apns_cache.kid, sizeof(apns_cache.kid), "%s", s->push.apns_key_id);
            apns_cache.made_ms = now;
        }
        buf_cleanup(&jwt);
    }
    is_ok = is_ok && strlen(apns_cache.jwt) < cap;
    if (is_ok)
        memcpy(out, apns_cache.jwt, strlen(apns_cache.jwt) + 1);
    pthread_mutex_unlock(&apns_cache.mu);
    return is_ok;
}

static void apns_forget(void)
{
    pthread_mutex_lock(&apns_cache.mu);
    apns_cache.jwt[0] = '\0';
    pthread_mutex_unlock(&apns_cache.mu);
}

static bool is_hex_token(const char *t)
{
    size_t n = t ? strlen(t) : 0;
    if (n == 0 || n > 200)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (!((t[i] >= '0' && t[i] <= '9') || (t[i] >= 'a' && t[i] <= 'f') ||
              (t[i] >= 'A' && t[i] <= 'F')))
            return false;
    }
    return true;
}

/* APNs' body for message m: {"aps": {"alert": {title, body}, "sound":
 * "default"}, data's keys beside it}. */
static char *apns_body(json_t *m)
{
    json_t *alert = json_object();
    if (json_is_string(json_object_get(m, "title")))
        json_object_set(alert, "title", json_object_get(m, "title"));
    if (json_is_string(json_object_get(m, "body")))
        json_object_set(alert, "body", json_object_get(m, "body"));
    json_t *body = json_pack("{s:{s:o, s:s}}", "aps", "alert", alert, "sound", "default");
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(m, "data"), k, v)
    {
        if (strcmp(k, "aps") != 0)
            json_object_set(body, k, v);
    }
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    return text;
}

static bool apns_prepare(const struct core_job_env *env, const struct core_settings *s,
                         struct push_state *st, const struct push_bodies *b,
                         struct core_job_call *call, struct core_job_result *res)
{
    if (!s->push.is_apns)
        return dead(res, "APNs is not configured (settings push.apns)");
    const char *token = st->token;
    if (!is_hex_token(token)) {
        device_gone(env, st, res, "APNs: the token is not a device token (hex)");
        return false;
    }
    char jwt[1024];
    if (!apns_jwt(s, jwt, sizeof(jwt)))
        return dead(res, "APNs: the .p8 key does not sign");
    call->body = xstrdup(b->apns);
    size_t url_len = strlen(s->push.apns_api_url) + strlen(token) + 16;
    st->url = xmalloc(url_len);
    snprintf(st->url, url_len, "%s/3/device/%s", s->push.apns_api_url, token);
    struct net_http_out_req *req = provider_req(env, st, call, 4096);
    req->is_http2 = true;
    req->ca_pem = str_from_cstr(s->push.apns_ca_pem);
    req->headers[req->header_count++] = "apns-push-type: alert";
    req->headers[req->header_count++] = "apns-priority: 10";
    req->headers[req->header_count++] = "content-type: application/json";
    /* a topic may be longer than a call's fixed lines: allocated */
    core_job_call_add_line(call, "apns-topic: %s", s->push.apns_topic);
    core_job_call_add_line(call, "authorization: bearer %s", jwt);
    return true;
}

static void apns_complete(const struct core_job_env *env, struct push_state *st,
                          struct core_job_call *call, struct core_job_result *res)
{
    long status;
    json_t *j = answer_json(call, res, &status);
    if (!status)
        return;
    const char *reason = json_string_value(json_object_get(j, "reason"));
    char why[96];
    snprintf(why, sizeof(why), "APNs: %.60s", reason ? reason : "HTTP error");
    if (status == 410 ||
        (status == 400 && reason &&
         (strcmp(reason, "BadDeviceToken") == 0 || strcmp(reason, "DeviceTokenNotForTopic") == 0)))
        device_gone(env, st, res, why);
    else if (status == 403 && reason &&
             (strcmp(reason, "ExpiredProviderToken") == 0 ||
              strcmp(reason, "InvalidProviderToken") == 0)) {
        apns_forget();
        res->outcome = CORE_JOB_RETRY;
        snprintf(res->error, sizeof(res->error), "%s (the provider token is made again)", why);
    } else if (res->outcome != CORE_JOB_DONE && reason) {
        snprintf(res->error, sizeof(res->error), "APNs: HTTP %ld %.200s", status, reason);
    }
    json_decref(j);
}

/* ---- Web Push -------------------------------------------------------------- */

static bool webpush_prepare(const struct core_job_env *env, const struct core_settings *s,
                            struct push_state *st, const struct push_bodies *b,
                            struct core_job_call *call, struct core_job_result *res)
{
    (void)b; /* encrypted per device: nothing is shared */
    if (!s->push.is_webpush)
        return dead(res, "Web Push is not configured (settings push.webPush)");
    json_t *p = st->payload, *keys = json_object_get(p, "keys");
    const char *endpoint = json_string_value(json_object_get(p, "token"));
    /* keys is what the app wrote: missing, null or not strings is a device without keys */
    const char *p256dh = json_string_value(json_object_get(keys, "p256dh"));
    const char *secret = json_string_value(json_object_get(keys, "auth"));
    struct webpush_keys k;
    if (!endpoint || !p256dh || !secret ||
        webpush_keys_parse(str_from_cstr(p256dh), str_from_cstr(secret), &k) != RC_OK) {
        device_gone(env, st, res, "Web Push: the subscription's keys are not valid");
        return false;
    }
    char *plain = json_dumps(json_object_get(p, "message"), JSON_COMPACT);
    struct buf body, auth;
    buf_init(&body, WEBPUSH_RECORD_SIZE);
    buf_init(&auth, 4096);
    enum rc rc = plain ? webpush_encrypt(&k, str_from_cstr(plain), NULL, &body) : RC_NOMEM;
    xfree(plain);
    if (!rc)
        rc = buf_append_cstr(&auth, "Authorization: ");
    if (!rc)
        rc = webpush_vapid_auth(str_from_cstr(s->push.vapid_key), str_from_cstr(endpoint),
                                s->push.vapid_subject, chrono_real_ms() / 1000, &auth);
    if (rc) {
        buf_cleanup(&body);
        buf_cleanup(&auth);
        if (rc == RC_TOO_LARGE)
            return dead(res, "Web Push: the message is over 3993 bytes");
        device_gone(env, st, res, "Web Push: the endpoint is not an http(s) URL");
        return false;
    }
    call->body = xmalloc(body.len ? body.len : 1);
    memcpy(call->body, body.data, body.len);
    st->url = xstrdup(endpoint);
    struct net_http_out_req *req = &call->req;
    *req = (struct net_http_out_req){.method = "POST",
                                     .url = st->url,
                                     .body = {call->body, body.len},
                                     .timeout_ms = env->http_timeout_ms,
                                     .allow_private_network = env->allow_private_network};
    buf_cleanup(&body);
    req->headers[req->header_count++] = "Content-Encoding: aes128gcm";
    req->headers[req->header_count++] = "Content-Type: application/octet-stream";
    req->headers[req->header_count++] = "TTL: 86400";
    req->headers[req->header_count++] = "Urgency: normal";
    core_job_call_add_line(call, "%.*s", (int)auth.len, auth.data);
    buf_cleanup(&auth);
    return true;
}

static void webpush_complete(const struct core_job_env *env, struct push_state *st,
                             struct core_job_call *call, struct core_job_result *res)
{
    (void)core_job_http_outcome(&call->resp, res);
    if (call->resp.fail == NET_HTTP_OUT_OK &&
        (call->resp.status == 404 || call->resp.status == 410))
        device_gone(env, st, res,
                    call->resp.status == 404 ? "Web Push: HTTP 404" : "Web Push: HTTP 410");
}

/* ---- the kind ---------------------------------------------------------------- */

static const struct push_provider {
    const char *name;
    bool (*prepare)(const struct core_job_env *env, const struct core_settings *s,
                    struct push_state *st, const struct push_bodies *b, struct core_job_call *call,
                    struct core_job_result *res);
    void (*complete)(const struct core_job_env *env, struct push_state *st,
                     struct core_job_call *call, struct core_job_result *res);
    bool has_bodies; /* sends the message as it is (push_bodies) */
} providers[] = {
    {"fcm", fcm_prepare, fcm_complete, true},
    {"apns", apns_prepare, apns_complete, true},
    {"webpush", webpush_prepare, webpush_complete, false},
};

static const struct push_provider *provider_named(struct str name)
{
    for (size_t i = 0; i < sizeof(providers) / sizeof(providers[0]); i++) {
        if (str_eq(name, str_from_cstr(providers[i].name)))
            return &providers[i];
    }
    return NULL;
}

static const struct push_provider *provider_of(json_t *payload)
{
    const char *name = json_string_value(json_object_get(payload, "provider"));
    return name ? provider_named(str_from_cstr(name)) : NULL;
}

static const char *push_check(json_t *payload)
{
    if (!payload)
        return "A push needs device, provider, token and message.";
    if (!provider_of(payload))
        return "provider: must be fcm, apns or webpush.";
    if (!json_string_length(json_object_get(payload, "device")))
        return "device: must be a device id.";
    if (!json_string_length(json_object_get(payload, "token")))
        return "token: must be the device's token.";
    if (!json_is_object(json_object_get(payload, "message")))
        return "message: must be an object {title, body, data}.";
    return NULL;
}

/* The bodies of the message whose JSON text is m (the batch's memo, else
 * made now); NULL when m does not parse to an object. */
static const struct push_bodies *bodies_of(struct str m)
{
    for (size_t i = 0; i < bodies_count; i++) {
        if (bodies_memo[i].len == m.len && memcmp(bodies_memo[i].message, m.ptr, m.len) == 0)
            return &bodies_memo[i];
    }
    json_t *msg = json_loadb(m.ptr, m.len, 0, NULL);
    if (!json_is_object(msg)) {
        json_decref(msg);
        return NULL;
    }
    struct push_bodies b = {.message = xstrndup(m.ptr, m.len),
                            .len = m.len,
                            .fcm_rest = fcm_rest(msg),
                            .apns = apns_body(msg)};
    json_decref(msg);
    if (!b.fcm_rest || !b.apns) {
        bodies_clear(&b);
        return NULL;
    }
    size_t slot = bodies_count < BODIES_MEMO ? bodies_count++ : bodies_next++ % BODIES_MEMO;
    bodies_clear(&bodies_memo[slot]);
    bodies_memo[slot] = b;
    return &bodies_memo[slot];
}

/* The push's parts into st (its payload parsed). A reason when the payload
 * is not a push. */
static const char *state_of(const struct core_job *job, struct push_state *st, struct str *message,
                            char **message_owned)
{
    *message_owned = NULL;
    const char *t = job->payload_text ? job->payload_text : "";
    size_t n = job->payload_text ? job->payload_len : 0;
    st->payload = json_loadb(t, n, 0, NULL);
    const char *why = push_check(st->payload);
    if (why)
        return why;
    st->provider = provider_of(st->payload);
    st->device = xstrdup(json_string_value(json_object_get(st->payload, "device")));
    st->token = xstrdup(json_string_value(json_object_get(st->payload, "token")));
    if (st->provider->has_bodies) {
        *message_owned = json_dumps(json_object_get(st->payload, "message"), JSON_COMPACT);
        if (!*message_owned)
            return "message: does not encode";
        *message = str_from_cstr(*message_owned);
    }
    return NULL;
}

static bool push_prepare(const struct core_job_env *env, const struct core_job *job,
                         struct core_job_call *call, struct core_job_result *res)
{
    struct push_state *st = xcalloc(1, sizeof(*st));
    struct str message = {0};
    char *message_owned;
    const char *why = state_of(job, st, &message, &message_owned);
    const struct core_settings *s = env->settings ? env->settings(env->schema_ctx) : NULL;
    const struct push_bodies *b = NULL;
    if (!why && !s)
        why = "no settings";
    if (!why && st->provider->has_bodies && !(b = bodies_of(message)))
        why = "message: must be an object {title, body, data}.";
    xfree(message_owned);
    bool is_sent = !why && st->provider->prepare(env, s, st, b, call, res);
    if (why)
        dead(res, why);
    if (!is_sent) {
        state_free(st);
        return false;
    }
    call->state = st;
    return true;
}

static void push_complete(const struct core_job_env *env, const struct core_job *job,
                          struct core_job_call *call, struct core_job_result *res)
{
    (void)job;
    struct push_state *st = call->state;
    st->provider->complete(env, st, call, res);
    state_free(st);
    call->state = NULL;
}

/* A provider's 429 or 5xx is retried as an outage (CORE_JOB_RETRY_PROVIDER). */
const struct core_job_kind core_push_kind = {.name = "push",
                                             .retry = CORE_JOB_RETRY_PROVIDER,
                                             .prepare = push_prepare,
                                             .complete = push_complete,
                                             .check = push_check,
                                             .raw_payload = true,
                                             .batch_end = push_batch_end};

/* ---- push_batch: one message to many devices -------------------------------- */

/* A batch's devices go out this many at once (a runner's claim of single
 * pushes sends as many). */
#define BATCH_AT_ONCE 64

static_assert(CORE_PUSH_BATCH_MAX == 256, "push_batch_check's message names the maximum");

static const char *push_batch_check(json_t *payload)
{
    json_t *to = json_object_get(payload, "devices");
    if (!json_is_object(json_object_get(payload, "message")))
        return "message: must be an object {title, body, data}.";
    if (!json_is_array(to) || json_array_size(to) == 0 || json_array_size(to) > CORE_PUSH_BATCH_MAX)
        return "devices: must be 1 to 256 devices {device, provider, token, keys?}.";
    size_t i;
    json_t *d;
    json_array_foreach(to, i, d)
    {
        if (!json_string_length(json_object_get(d, "device")) ||
            !json_string_length(json_object_get(d, "token")) || !provider_of(d))
            return "devices: each is {device, provider: fcm, apns or webpush, token, keys?}.";
    }
    return NULL;
}

/* One device of a batch: its push as a job of its own ({device, provider,
 * token, keys?, message}). */
static json_t *single_payload(json_t *device, json_t *message)
{
    json_t *p = json_deep_copy(device);
    json_object_set(p, "message", message);
    return p;
}

/* The devices a batch's attempt did not reach: each becomes a `push` job of
 * its own, written with its first attempt counted (to be tried again at
 * run_at), or dead with its reason. */
struct split {
    json_t *devices; /* [{payload, runAt, dead, error}] */
};

static enum rc enqueue_split(struct store_conn *db, void *ctx)
{
    struct split *sp = ctx;
    size_t i;
    json_t *d;
    json_array_foreach(sp->devices, i, d)
    {
        json_t *error = json_object_get(d, "error");
        struct core_job_spec spec = {
            .kind = STR_LIT("push"),
            .payload = json_object_get(d, "payload"),
            .run_at_ms = json_integer_value(json_object_get(d, "runAt")),
            .attempts = 1,
            .is_dead = json_is_true(json_object_get(d, "dead")),
            .last_error = {json_string_value(error), json_string_length(error)}};
        char id[CORE_JOB_ID_LEN + 1];
        bool is_folded;
        enum rc rc = core_job_enqueue(db, &spec, id, &is_folded);
        if (rc)
            return rc;
    }
    return RC_OK;
}

/* What became of one device of the batch: outcome DONE, or a split-off. */
static void note_split(struct split *sp, const struct core_job *job, json_t *device,
                       json_t *message, const struct core_job_result *r)
{
    if (r->outcome == CORE_JOB_DONE)
        return;
    bool is_dead = r->outcome == CORE_JOB_DEAD;
    int64_t at = is_dead ? chrono_real_ms() : core_job_retry_at(&core_push_kind, 1, r);
    json_array_append_new(
        sp->devices, json_pack("{s:o, s:I, s:b, s:s}", "payload", single_payload(device, message),
                               "runAt", (json_int_t)at, "dead", is_dead, "error", r->error));
    if (!is_dead)
        log_info("msg=\"job attempt failed\" job=%s kind=push_batch device=%s attempt=%d/%d "
                 "error=\"%s\"",
                 job->id, json_string_value(json_object_get(device, "device")), job->attempts,
                 job->max_attempts, r->error);
}

/* Sends the devices [from, to) of the batch at once; each one's outcome in
 * results. */
static void send_some(const struct core_job_env *env, const struct core_settings *s,
                      json_t *devices, json_t *message, const struct push_bodies *b, size_t from,
                      size_t to, struct core_job_result *results)
{
    struct core_job_call calls[BATCH_AT_ONCE];
    const struct net_http_out_req *reqs[BATCH_AT_ONCE];
    struct net_http_out_resp *resps[BATCH_AT_ONCE];
    size_t idx[BATCH_AT_ONCE], n = 0;
    for (size_t i = from; i < to; i++) {
        json_t *d = json_array_get(devices, i);
        struct core_job_result *r = &results[i - from];
        memset(r, 0, sizeof(*r));
        struct push_state *st = xcalloc(1, sizeof(*st));
        st->provider = provider_of(d);
        st->device = xstrdup(json_string_value(json_object_get(d, "device")));
        st->token = xstrdup(json_string_value(json_object_get(d, "token")));
        if (!st->provider->has_bodies)
            st->payload = single_payload(d, message); /* Web Push reads its keys */
        struct core_job_call *c = &calls[n];
        memset(c, 0, sizeof(*c));
        if (!st->provider->prepare(env, s, st, b, c, r)) {
            core_job_call_cleanup(c);
            state_free(st);
            continue;
        }
        c->state = st;
        reqs[n] = &c->req;
        resps[n] = &c->resp;
        idx[n++] = i - from;
    }
    net_http_out_send_many(reqs, resps, n);
    for (size_t k = 0; k < n; k++) {
        struct push_state *st = calls[k].state;
        st->provider->complete(env, st, &calls[k], &results[idx[k]]);
        state_free(st);
        calls[k].state = NULL;
        core_job_call_cleanup(&calls[k]);
    }
}

static void push_batch_run(const struct core_job_env *env, const struct core_job *job,
                           struct core_job_result *res)
{
    const char *why = push_batch_check(job->payload);
    if (why) {
        dead(res, why);
        return;
    }
    const struct core_settings *s = env->settings ? env->settings(env->schema_ctx) : NULL;
    if (!s) {
        dead(res, "no settings");
        return;
    }
    json_t *message = json_object_get(job->payload, "message");
    json_t *devices = json_object_get(job->payload, "devices");
    char *text = json_dumps(message, JSON_COMPACT);
    const struct push_bodies *b = text ? bodies_of(str_from_cstr(text)) : NULL;
    xfree(text);
    if (!b) {
        dead(res, "message: must be an object {title, body, data}.");
        return;
    }
    struct split sp = {.devices = json_array()};
    size_t total = json_array_size(devices);
    struct core_job_result results[BATCH_AT_ONCE];
    for (size_t at = 0; at < total; at += BATCH_AT_ONCE) {
        size_t to = total - at < BATCH_AT_ONCE ? total : at + BATCH_AT_ONCE;
        send_some(env, s, devices, message, b, at, to, results);
        for (size_t i = at; i < to; i++)
            note_split(&sp, job, json_array_get(devices, i), message, &results[i - at]);
    }
    enum rc rc =
        json_array_size(sp.devices) ? store_writer_run(env->writer, enqueue_split, &sp) : RC_OK;
    if (rc) {
        /* not written: the whole batch again (at least once) */
        res->outcome = CORE_JOB_RETRY;
        snprintf(res->error, sizeof(res->error),
                 "the pushes to %zu devices that failed were not recorded (%s)",
                 json_array_size(sp.devices), rc_name(rc));
    }
    json_decref(sp.devices);
}

/* A batch is sent by a runner in turn (run), its devices at once; a device
 * it did not reach goes on as a `push` of its own (split), so the batch
 * itself is done once every device was tried and the rest recorded. */
const struct core_job_kind core_push_batch_kind = {.name = "push_batch",
                                                   .retry = CORE_JOB_RETRY_PROVIDER,
                                                   .run = push_batch_run,
                                                   .check = push_batch_check,
                                                   .batch_end = push_batch_end};
