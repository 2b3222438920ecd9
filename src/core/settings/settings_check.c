/* settings_check.c -- a PATCH /api/settings body checked and applied
 * (core_settings_patch, settings.h).
 *
 * In order: every key must be one of PocketBase's options with its JSON
 * type (else "An error occurred while loading the submitted data.", as
 * PocketBase answers a body it cannot bind); a locked value may be sent
 * only unchanged (the dashboard sends whole sections back); then the
 * options the body touches are checked as PocketBase's model checks them
 * (core/settings_model.go: codes and sentences are ozzo-validation's),
 * with tarmac's refusals for what it does not do yet. Only touched options
 * are checked: untouched ones may hold what a flag set, which PocketBase's
 * rules need not accept (an empty sender name). Nothing is half-applied:
 * the caller stores and swaps the new snapshot only when all pass. */
#include "core/settings/settings.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "base/cron.h"
#include "base/email.h"
#include "base/jws.h"
#include "base/secure.h"
#include "base/webpush.h"
#include "core/settings/settings_int.h"
#include "net/mailer.h"
#include "net/s3.h"

struct check {
    const struct core_settings *cur;
    json_t *body;
    json_t *value; /* the new merged settings */
    struct core_problem *p;
};

static void fail(struct check *c, const char *path, const char *code, const char *message)
{
    core_problem_field(c->p, path, code, message, NULL);
}

static bool touched(struct check *c, const char *path)
{
    return settings_get(c->body, path) != NULL;
}

/* ---- keys and types ------------------------------------------------------ */

static const char *type_name(json_t *v)
{
    return json_is_boolean(v)   ? "bool"
           : json_is_integer(v) ? "int"
           : json_is_string(v)  ? "string"
           : json_is_array(v)   ? "array"
           : json_is_object(v)  ? "object"
                                : "other";
}

static void check_shape(struct check *c, json_t *body, json_t *model, const char *prefix);

static void check_items(struct check *c, json_t *arr, const char *path)
{
    /* rateLimits.rules holds objects of the default rule's shape; the other
     * arrays (superuserIPs, excludedIPs, headers, proxies) strings. */
    json_t *rule_model =
        json_array_get(settings_get(c->cur->base->defaults, "rateLimits.rules"), 0);
    bool is_rules = strcmp(path, "rateLimits.rules") == 0;
    size_t i;
    json_t *e;
    json_array_foreach(arr, i, e)
    {
        char p[200];
        snprintf(p, sizeof(p), "%.160s.%zu", path, i);
        if (is_rules && json_is_object(e))
            check_shape(c, e, rule_model, p);
        else if (is_rules || !json_is_string(e))
            fail(c, p, "validation_invalid_type",
                 is_rules ? "Must be an object." : "Must be a string.");
    }
}

static void check_shape(struct check *c, json_t *body, json_t *model, const char *prefix)
{
    const char *k;
    json_t *v;
    json_object_foreach(body, k, v)
    {
        char path[160];
        snprintf(path, sizeof(path), "%.80s%s%.64s", prefix, prefix[0] ? "." : "", k);
        if (!prefix[0] && strcmp(k, "locked") == 0)
            continue; /* GET's own key, sent back by a client that PATCHes what it read */
        json_t *m = json_object_get(model, k);
        if (!m) {
            fail(c, path, "validation_unknown_option", "Not a settings option.");
            continue;
        }
        if (strcmp(type_name(v), type_name(m)) != 0) {
            char msg[64];
            snprintf(msg, sizeof(msg), "Must be of type %s.", type_name(m));
            fail(c, path, "validation_invalid_type", msg);
        } else if (json_is_object(v)) {
            check_shape(c, v, m, path);
        } else if (json_is_array(v)) {
            check_items(c, v, path);
        }
    }
}

/* ---- locked values -------------------------------------------------------- */

static void check_locked(struct check *c)
{
    const char *path;
    json_t *flag;
    json_object_foreach(c->cur->base->locked, path, flag)
    {
        json_t *sent = settings_get(c->body, path);
        if (!sent || json_equal(sent, settings_get(c->cur->value, path)))
            continue;
        char msg[160];
        snprintf(msg, sizeof(msg),
                 "Set by %s (or its environment variable): restart without it to change it here.",
                 json_string_value(flag));
        fail(c, path, "validation_locked", msg);
    }
}

/* ---- what tarmac does not have yet ---------------------------------------- */

/* Every leaf of body under prefix whose value differs from the default. */
/* ---- PocketBase's checks ---------------------------------------------------- */

static bool has_control(const char *s)
{
    for (; *s; s++) {
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return true;
    }
    return false;
}

/* validation.Required + Length(1, 255), and no control character (the
 * value goes into mail headers). */
static void check_name(struct check *c, const char *path)
{
    const char *s = json_string_value(settings_get(c->value, path));
    size_t n = 0; /* characters, as Go's validation.Length counts runes */
    for (const char *q = s; *q; q++)
        n += ((unsigned char)*q & 0xC0) != 0x80;
    if (!n)
        fail(c, path, "validation_required", "Cannot be blank.");
    else if (n > 255)
        fail(c, path, "validation_length_out_of_range", "The length must be between 1 and 255.");
    else if (has_control(s))
        fail(c, path, "validation_invalid_value", "Must not hold control characters.");
}

/* is.Host: an IP address or a DNS name. */
static bool is_host(const char *s)
{
    size_t n = strlen(s);
    if (!n || n > 253)
        return false;
    bool has_colon = strchr(s, ':') != NULL;
    for (const char *p = s; *p; p++) {
        char ch = *p;
        if (!isalnum((unsigned char)ch) && ch != '.' && ch != '-' && !(has_colon && ch == ':') &&
            ch != '_')
            return false;
    }
    return s[0] != '-' && s[0] != '.' && s[n - 1] != '-';
}

/* is.URL as PocketBase uses it for appURL: a scheme (http or https) and a host. */
static bool is_url(const char *s)
{
    const char *rest = strncmp(s, "https://", 8) == 0  ? s + 8
                       : strncmp(s, "http://", 7) == 0 ? s + 7
                                                       : NULL;
    if (!rest || !*rest || *rest == '/' || *rest == ':')
        return false;
    for (const char *p = s; *p; p++) {
        if ((unsigned char)*p <= 0x20 || *p == 0x7f)
            return false;
    }
    return true;
}

static void check_int_min(struct check *c, const char *path, int64_t min, bool is_required)
{
    int64_t v = json_integer_value(settings_get(c->value, path));
    char msg[64];
    if (is_required && v == 0) {
        fail(c, path, "validation_required", "Cannot be blank.");
    } else if (v < min) {
        snprintf(msg, sizeof(msg), "Must be no less than %lld.", (long long)min);
        fail(c, path, "validation_min_greater_equal_than_required", msg);
    }
}

static void check_meta(struct check *c)
{
    if (touched(c, "meta.appName"))
        check_name(c, "meta.appName");
    if (touched(c, "meta.senderName"))
        check_name(c, "meta.senderName");
    const char *url = json_string_value(settings_get(c->value, "meta.appURL"));
    if (touched(c, "meta.appURL") && !url[0])
        fail(c, "meta.appURL", "validation_required", "Cannot be blank.");
    else if (touched(c, "meta.appURL") && !is_url(url))
        fail(c, "meta.appURL", "validation_is_url", "must be a valid URL");
    const char *addr = json_string_value(settings_get(c->value, "meta.senderAddress"));
    if (touched(c, "meta.senderAddress") && !addr[0])
        fail(c, "meta.senderAddress", "validation_required", "Cannot be blank.");
    else if (touched(c, "meta.senderAddress") && !email_is_valid(str_from_cstr(addr)))
        fail(c, "meta.senderAddress", "validation_is_email", "must be a valid email address");
    const char *color = json_string_value(settings_get(c->value, "meta.accentColor"));
    if (touched(c, "meta.accentColor") && color[0]) {
        bool is_hex = color[0] == '#';
        for (size_t i = 1; color[i] && is_hex; i++)
            is_hex = isxdigit((unsigned char)color[i]);
        if (strlen(color) != 7)
            fail(c, "meta.accentColor", "validation_length_invalid",
                 "The length must be exactly 7.");
        else if (!is_hex)
            fail(c, "meta.accentColor", "validation_is_hex_color",
                 "must be a valid hex color code");
    }
}

static void check_smtp(struct check *c)
{
    if (!touched(c, "smtp") && !touched(c, "meta.senderAddress") && !touched(c, "meta.senderName"))
        return;
    json_t *v = c->value;
    bool is_enabled = json_is_true(settings_get(v, "smtp.enabled"));
    const char *host = json_string_value(settings_get(v, "smtp.host"));
    if (is_enabled && !host[0])
        fail(c, "smtp.host", "validation_required", "Cannot be blank.");
    else if (host[0] && !is_host(host))
        fail(c, "smtp.host", "validation_is_host", "must be a valid IP address or DNS name");
    check_int_min(c, "smtp.port", 0, is_enabled);
    if (json_integer_value(settings_get(v, "smtp.port")) > 65535)
        fail(c, "smtp.port", "validation_max_less_equal_than_required",
             "Must be no greater than 65535.");
    const char *auth = json_string_value(settings_get(v, "smtp.authMethod"));
    if (auth[0] && strcmp(auth, "PLAIN") != 0 && strcmp(auth, "LOGIN") != 0)
        fail(c, "smtp.authMethod", "validation_in_invalid", "Must be a valid value.");
    const char *local = json_string_value(settings_get(v, "smtp.localName"));
    if (local[0] && !is_host(local))
        fail(c, "smtp.localName", "validation_is_host", "must be a valid IP address or DNS name");
    if (core_problem_has_fields(c->p))
        return;
    /* What the mailer itself refuses (net_mailer_config_check). */
    struct net_mailer_config mc = {
        .host = is_enabled ? host : "",
        .port = (int)json_integer_value(settings_get(v, "smtp.port")),
        .sender_address = json_string_value(settings_get(v, "meta.senderAddress")),
        .sender_name = json_string_value(settings_get(v, "meta.senderName")),
        .local_name = local,
    };
    if (net_mailer_config_check(&mc) != RC_OK)
        fail(c, touched(c, "meta.senderName") ? "meta.senderName" : "meta.senderAddress",
             "validation_invalid_value",
             "Not accepted by the mailer (at most 200 bytes, no control characters).");
}

/* PocketBase's S3Config.Validate, for s3 and backups.s3 (prefix): the
 * endpoint is a URL (tarmac's client speaks http and https), and an enabled
 * config names its bucket, region and keys. The secret is kept when a PATCH
 * leaves it out (GET never shows it), so "required" is checked on the
 * merged value. */
static void check_s3_at(struct check *c, const char *prefix)
{
    if (!touched(c, prefix))
        return;
    char path[5][48];
    static const char *const keys[] = {"endpoint", "bucket", "region", "accessKey", "secret"};
    const char *v[5];
    for (size_t i = 0; i < 5; i++) {
        snprintf(path[i], sizeof(path[i]), "%s.%s", prefix, keys[i]);
        v[i] = json_string_value(settings_get(c->value, path[i]));
    }
    char enabled[48];
    snprintf(enabled, sizeof(enabled), "%s.enabled", prefix);
    bool is_enabled = json_is_true(settings_get(c->value, enabled));
    bool is_ok = true;
    if (is_enabled && !v[0][0]) {
        fail(c, path[0], "validation_required", "Cannot be blank.");
        is_ok = false;
    } else if (v[0][0] && !is_url(v[0])) {
        fail(c, path[0], "validation_is_url", "must be a valid URL");
        is_ok = false;
    }
    for (size_t i = 1; i < 5 && is_enabled; i++) {
        if (!v[i][0])
            fail(c, path[i], "validation_required", "Cannot be blank.");
        else if (has_control(v[i]))
            fail(c, path[i], "validation_invalid_value", "Must not hold control characters.");
        else
            continue;
        is_ok = false;
    }
    struct net_s3_config cfg = {
        .endpoint = v[0], .bucket = v[1], .region = v[2], .access_key = v[3], .secret = v[4]};
    if (is_enabled && is_ok && !net_s3_config_is_usable(&cfg))
        fail(c, path[0], "validation_is_url",
             "must be a valid URL (http or https, a host, no query)");
}

static void check_batch(struct check *c)
{
    if (!touched(c, "batch"))
        return;
    bool is_enabled = json_is_true(settings_get(c->value, "batch.enabled"));
    check_int_min(c, "batch.maxRequests", 0, is_enabled);
    check_int_min(c, "batch.timeout", 0, is_enabled);
    check_int_min(c, "batch.maxBodySize", 0, false);
}

/* The request log's options (core/logs.h): retention in days (0: no log),
 * the lowest level kept (PocketBase's -4 debug .. 8 error). */
static void check_logs(struct check *c)
{
    if (!touched(c, "logs"))
        return;
    check_int_min(c, "logs.maxDays", 0, false);
    if (json_integer_value(settings_get(c->value, "logs.maxDays")) > 100000)
        fail(c, "logs.maxDays", "validation_max_less_equal_than_required",
             "Must be no greater than 100000.");
    json_int_t level = json_integer_value(settings_get(c->value, "logs.minLevel"));
    if (level < -100 || level > 100)
        fail(c, "logs.minLevel", "validation_invalid_value", "Must be between -100 and 100.");
}

static void check_rule(struct check *c, json_t *r, size_t i)
{
    char path[64];
    const char *label = json_string_value(json_object_get(r, "label"));
    struct core_ratelimit_rule rule;
    snprintf(path, sizeof(path), "rateLimits.rules.%zu.label", i);
    enum settings_label kind = label ? settings_label_parse(label, &rule) : SETTINGS_LABEL_BAD;
    if (!label || !label[0])
        fail(c, path, "validation_required", "Cannot be blank.");
    else if (kind == SETTINGS_LABEL_BAD)
        fail(c, path, "validation_match_invalid", "Must be in a valid format.");
    else if (kind == SETTINGS_LABEL_UNSUPPORTED)
        fail(c, path, "validation_not_supported",
             "Not supported yet: a label is a path (\"/api/\" a prefix, \"/api/health\" exact, "
             "\"POST /api/batch\") or \"*:auth\".");
    static const char *const nums[] = {"maxRequests", "duration"};
    for (size_t k = 0; k < 2; k++) {
        snprintf(path, sizeof(path), "rateLimits.rules.%zu.%s", i, nums[k]);
        json_int_t n = json_integer_value(json_object_get(r, nums[k]));
        if (n == 0)
            fail(c, path, "validation_required", "Cannot be blank.");
        else if (n < 1)
            fail(c, path, "validation_min_greater_equal_than_required", "Must be no less than 1.");
        else if (n > (k ? 86400 : 1000000000))
            fail(c, path, "validation_max_less_equal_than_required",
                 k ? "Must be no greater than 86400." : "Must be no greater than 1000000000.");
    }
    const char *aud = json_string_value(json_object_get(r, "audience"));
    snprintf(path, sizeof(path), "rateLimits.rules.%zu.audience", i);
    if (aud && aud[0] && strcmp(aud, "@guest") != 0 && strcmp(aud, "@auth") != 0)
        fail(c, path, "validation_in_invalid", "Must be a valid value.");
    else if (aud && aud[0])
        fail(c, path, "validation_not_supported",
             "Not supported yet: a rule applies to guests and users alike (audience \"\").");
}

static void check_rate_limits(struct check *c)
{
    if (!touched(c, "rateLimits"))
        return;
    json_t *rules = settings_get(c->value, "rateLimits.rules");
    if (json_is_true(settings_get(c->value, "rateLimits.enabled")) && !json_array_size(rules))
        fail(c, "rateLimits.rules", "validation_required", "Cannot be blank.");
    if (json_array_size(rules) > CORE_RATELIMIT_MAX_RULES)
        fail(c, "rateLimits.rules", "validation_length_too_long",
             "The length must be no more than 16.");
    size_t i;
    json_t *r;
    json_array_foreach(rules, i, r)
    {
        check_rule(c, r, i);
    }
    /* PocketBase's checkUniqueRuleLabel: "label@@audience" keys that are
     * prefixes of one another conflict; the first conflict is reported. */
    for (i = 1; i < json_array_size(rules); i++) {
        char key[300], other[300];
        json_t *ri = json_array_get(rules, i);
        snprintf(key, sizeof(key), "%s@@%s", json_string_value(json_object_get(ri, "label")),
                 json_string_value(json_object_get(ri, "audience")));
        for (size_t j = 0; j < i; j++) {
            json_t *rj = json_array_get(rules, j);
            snprintf(other, sizeof(other), "%s@@%s",
                     json_string_value(json_object_get(rj, "label")),
                     json_string_value(json_object_get(rj, "audience")));
            size_t a = strlen(key), b = strlen(other);
            if (strncmp(key, other, a < b ? a : b) != 0)
                continue;
            char path[64], msg[300];
            snprintf(path, sizeof(path), "rateLimits.rules.%zu.label", i);
            snprintf(msg, sizeof(msg),
                     "Rate limit rule configuration with label %s already exists or conflicts "
                     "with another rule.",
                     json_string_value(json_object_get(ri, "label")));
            core_problem_field(
                c->p, path, "validation_conflicting_rate_limit_rule", msg,
                json_pack("{s:s}", "label", json_string_value(json_object_get(ri, "label"))));
            return;
        }
    }
}

static bool is_header_name(const char *s)
{
    if (!s[0])
        return false;
    for (; *s; s++) {
        if (!isalnum((unsigned char)*s) && !strchr("!#$%&'*+-.^_`|~", *s))
            return false;
    }
    return true;
}

/* PocketBase's BackupsConfig: cron a valid expression or "", cronMaxKeep
 * required (non-zero) when cron is set, and at least 1. */
static void check_backups(struct check *c)
{
    if (!touched(c, "backups"))
        return;
    const char *cron = json_string_value(settings_get(c->value, "backups.cron"));
    struct cron parsed;
    if (cron && cron[0] && !cron_parse(str_from_cstr(cron), &parsed))
        fail(c, "backups.cron", "validation_invalid_cron", "Invalid cron expression.");
    json_int_t keep = json_integer_value(settings_get(c->value, "backups.cronMaxKeep"));
    if (cron && cron[0] && keep == 0)
        fail(c, "backups.cronMaxKeep", "validation_required", "Cannot be blank.");
    else if (keep < 0)
        fail(c, "backups.cronMaxKeep", "validation_min_greater_equal_than_required",
             "Must be no less than 1.");
}

static void check_trusted_proxy(struct check *c)
{
    if (!touched(c, "trustedProxy"))
        return;
    json_t *headers = settings_get(c->value, "trustedProxy.headers");
    size_t i;
    json_t *h;
    json_array_foreach(headers, i, h)
    {
        char path[64];
        snprintf(path, sizeof(path), "trustedProxy.headers.%zu", i);
        if (!json_string_length(h))
            fail(c, path, "validation_required", "Cannot be blank.");
        else if (json_string_length(h) >= 64 || !is_header_name(json_string_value(h)))
            fail(c, path, "validation_invalid_header", "Must be a header name.");
    }
    if (json_array_size(headers) > 1)
        fail(c, "trustedProxy.headers", "validation_not_supported",
             "Not supported yet: one header is read (X-Forwarded-For, X-Real-IP, ...).");
    if (json_array_size(headers) &&
        !json_array_size(settings_get(c->value, "trustedProxy.proxies")))
        fail(c, "trustedProxy.proxies", "validation_required",
             "Cannot be blank: tarmac reads the header only from these addresses (IPs or CIDRs).");
}

/* A Google service account key: a JSON object with project_id,
 * client_email and an RSA private_key that signs. */
static bool is_service_account(const char *text)
{
    json_t *a = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
    const char *key = json_string_value(json_object_get(a, "private_key"));
    bool is_ok = json_is_object(a) && json_string_length(json_object_get(a, "project_id")) &&
                 json_string_length(json_object_get(a, "client_email")) && key;
    if (is_ok) {
        struct buf out;
        buf_init(&out, 8192);
        is_ok = jws_sign_rs256(str_from_cstr(key), NULL, STR_LIT("{}"), &out) == RC_OK;
        buf_cleanup(&out);
    }
    json_decref(a);
    return is_ok;
}

static void check_push(struct check *c)
{
    if (!touched(c, "push"))
        return;
    json_t *v = c->value;
    const char *account = json_string_value(settings_get(v, "push.fcm.serviceAccount"));
    if (json_is_true(settings_get(v, "push.fcm.enabled")) && !account[0])
        fail(c, "push.fcm.serviceAccount", "validation_required", "Cannot be blank.");
    else if (account[0] && !is_service_account(account))
        fail(c, "push.fcm.serviceAccount", "validation_invalid_service_account",
             "Must be a Google service account key: JSON with project_id, client_email and an "
             "RSA private_key.");
    bool is_apns = json_is_true(settings_get(v, "push.apns.enabled"));
    static const char *const apns_required[] = {"push.apns.keyId", "push.apns.teamId",
                                                "push.apns.key", "push.apns.topic"};
    for (size_t i = 0; i < sizeof(apns_required) / sizeof(apns_required[0]); i++) {
        const char *x = json_string_value(settings_get(v, apns_required[i]));
        if (is_apns && !x[0])
            fail(c, apns_required[i], "validation_required", "Cannot be blank.");
        else if (i != 2 && (has_control(x) || strpbrk(x, "\"\\/ ") || strlen(x) > 200))
            fail(c, apns_required[i], "validation_invalid_value",
                 "Must be an identifier (no spaces, quotes or slashes).");
    }
    const char *p8 = json_string_value(settings_get(v, "push.apns.key"));
    struct buf jwt;
    buf_init(&jwt, 8192);
    if (p8[0] && jws_sign_es256(str_from_cstr(p8), "k", STR_LIT("{}"), &jwt) != RC_OK)
        fail(c, "push.apns.key", "validation_invalid_key",
             "Must be the .p8 key Apple gives (an EC P-256 private key, PEM).");
    buf_cleanup(&jwt);
    const char *ca = json_string_value(settings_get(v, "push.apns.caPEM"));
    if (ca[0] && !strstr(ca, "-----BEGIN CERTIFICATE-----"))
        fail(c, "push.apns.caPEM", "validation_invalid_value",
             "Must be PEM certificates (-----BEGIN CERTIFICATE-----).");
    static const char *const urls[] = {"push.fcm.tokenURL", "push.fcm.apiURL", "push.apns.apiURL"};
    for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
        const char *u = json_string_value(settings_get(v, urls[i]));
        if (u[0] && !is_url(u))
            fail(c, urls[i], "validation_is_url", "Must be a valid URL.");
    }
    const char *subject = json_string_value(settings_get(v, "push.webPush.subject"));
    bool is_web = json_is_true(settings_get(v, "push.webPush.enabled"));
    if (is_web && !subject[0])
        fail(c, "push.webPush.subject", "validation_required",
             "Cannot be blank: a mailto: address or https URL push services can reach you at.");
    else if (subject[0] &&
             (!((strncmp(subject, "mailto:", 7) == 0 && subject[7]) || is_url(subject)) ||
              has_control(subject) || strpbrk(subject, "\"\\")))
        fail(c, "push.webPush.subject", "validation_invalid_subject",
             "Must be a mailto: address or an https URL.");
    const char *key = json_string_value(settings_get(v, "push.webPush.privateKey"));
    struct buf pub;
    buf_init(&pub, 256);
    if (key[0] && webpush_vapid_public(str_from_cstr(key), &pub) != RC_OK)
        fail(c, "push.webPush.privateKey", "validation_invalid_key",
             "Must be an EC P-256 private key (PEM); leave it empty to have one made.");
    buf_cleanup(&pub);
}

/* embeddings (tarmac's): an http(s) endpoint and a model, or neither. */
static void check_embeddings(struct check *c)
{
    if (!touched(c, "embeddings"))
        return;
    const char *url = json_string_value(settings_get(c->value, "embeddings.url"));
    const char *model = json_string_value(settings_get(c->value, "embeddings.model"));
    if (url && url[0] && !is_url(url))
        fail(c, "embeddings.url", "validation_is_url", "Must be a valid URL.");
    if (url && url[0] && (!model || !model[0]))
        fail(c, "embeddings.model", "validation_required", "Cannot be blank with a URL.");
}

static void check_sms(struct check *c)
{
    if (!touched(c, "sms"))
        return;
    json_t *v = c->value;
    const char *provider = json_string_value(settings_get(v, "sms.provider"));
    static const struct {
        const char *provider;
        const char *required[4];
    } needs[] = {
        {"twilio", {"sms.twilio.accountSid", "sms.twilio.authToken", "sms.twilio.from", NULL}},
        {"msg91", {"sms.msg91.authKey", "sms.msg91.flowId", "sms.msg91.textVar", NULL}},
        {"http", {"sms.http.url", "sms.http.body", NULL, NULL}},
    };
    bool is_known = !provider[0];
    for (size_t i = 0; i < sizeof(needs) / sizeof(needs[0]); i++) {
        if (strcmp(provider, needs[i].provider) != 0)
            continue;
        is_known = true;
        for (size_t k = 0; k < 4 && needs[i].required[k]; k++) {
            if (!json_string_length(settings_get(v, needs[i].required[k])))
                fail(c, needs[i].required[k], "validation_required", "Cannot be blank.");
        }
    }
    if (!is_known)
        fail(c, "sms.provider", "validation_in_invalid",
             "Must be one of twilio, msg91, http (or empty: no SMS).");
    static const char *const ids[] = {"sms.twilio.accountSid", "sms.msg91.flowId",
                                      "sms.msg91.textVar"};
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        const char *x = json_string_value(settings_get(v, ids[i]));
        if (has_control(x) || strpbrk(x, "\"\\/?#& ") || strlen(x) > 200)
            fail(c, ids[i], "validation_invalid_value", "Must be an identifier.");
    }
    static const char *const texts[] = {"sms.twilio.from", "sms.twilio.authToken",
                                        "sms.msg91.authKey", "sms.msg91.sender"};
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        if (has_control(json_string_value(settings_get(v, texts[i]))))
            fail(c, texts[i], "validation_invalid_value", "No control characters.");
    }
    static const char *const urls[] = {"sms.twilio.apiURL", "sms.twilio.statusCallback",
                                       "sms.msg91.apiURL", "sms.http.url"};
    for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
        const char *u = json_string_value(settings_get(v, urls[i]));
        if (u[0] && !is_url(u))
            fail(c, urls[i], "validation_is_url", "Must be a valid URL.");
    }
    const char *method = json_string_value(settings_get(v, "sms.http.method"));
    if (strcmp(method, "POST") != 0 && strcmp(method, "PUT") != 0 && strcmp(method, "GET") != 0)
        fail(c, "sms.http.method", "validation_in_invalid", "Must be POST, PUT or GET.");
    size_t i;
    json_t *h;
    json_array_foreach(settings_get(v, "sms.http.headers"), i, h)
    {
        const char *line = json_string_value(h);
        const char *colon = strchr(line, ':');
        if (!colon || colon == line || has_control(line) ||
            memchr(line, ' ', (size_t)(colon - line))) {
            char path[64];
            snprintf(path, sizeof(path), "sms.http.headers.%zu", i);
            fail(c, path, "validation_invalid_header", "Must be a \"Name: value\" line.");
        }
    }
}

/* Web Push enabled without a VAPID key: one is made and stored. */
static enum rc make_vapid_key(json_t *value, json_t *stored)
{
    if (!json_is_true(settings_get(value, "push.webPush.enabled")) ||
        json_string_length(settings_get(value, "push.webPush.privateKey")))
        return RC_OK;
    struct buf pem;
    buf_init(&pem, 8192);
    enum rc rc = webpush_vapid_generate(&pem);
    if (!rc)
        core_settings_put(stored, "push.webPush.privateKey", json_stringn(pem.data, pem.len));
    secure_zero(pem.data, pem.len);
    buf_cleanup(&pem);
    return rc;
}

enum rc core_settings_patch(const struct core_settings *cur, json_t *body, struct core_problem *p,
                            struct core_settings **out)
{
    struct check c = {.cur = cur, .body = body, .p = p};
    check_shape(&c, body, cur->base->defaults, "");
    if (core_problem_has_fields(p)) {
        core_problem_message(p, "An error occurred while loading the submitted data.");
        return RC_INVALID;
    }
    check_locked(&c);
    json_t *stored = json_deep_copy(cur->stored);
    json_t *sent = json_deep_copy(body);
    json_object_del(sent, "locked");
    settings_merge(stored, sent);
    json_decref(sent);
    /* The new value, to check the touched options against. */
    c.value = json_deep_copy(cur->base->defaults);
    settings_merge(c.value, stored);
    if (cur->base->flags)
        settings_merge(c.value, cur->base->flags);
    check_meta(&c);
    check_smtp(&c);
    check_s3_at(&c, "s3");
    check_s3_at(&c, "backups.s3");
    check_batch(&c);
    check_logs(&c);
    check_rate_limits(&c);
    check_trusted_proxy(&c);
    check_backups(&c);
    check_push(&c);
    check_sms(&c);
    check_embeddings(&c);
    enum rc rc = core_problem_has_fields(p) ? RC_INVALID : make_vapid_key(c.value, stored);
    json_decref(c.value);
    if (!rc)
        rc = core_settings_build(cur->base, stored, p, out);
    json_decref(stored);
    if (rc)
        core_problem_message(p, "An error occurred while saving the new settings.");
    return rc;
}
