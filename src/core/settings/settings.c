/* settings.c -- see settings.h: the layers, the defaults and the snapshot.
 *
 * Checking a PATCH is settings_check.c's. The compiled fields of a snapshot
 * point into its value, which nothing changes after the build, so a reader
 * holding the snapshot holds valid strings. */
#include "core/settings/settings.h"

#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "core/settings/settings_int.h"

static json_t *s3_defaults(void)
{
    return json_pack("{s:b, s:s, s:s, s:s, s:s, s:s, s:b}", "enabled", 0, "bucket", "", "region",
                     "", "endpoint", "", "accessKey", "", "secret", "", "forcePathStyle", 0);
}

json_t *core_settings_defaults(void)
{
    /* PocketBase's shape (core/settings_model.go) with tarmac's values where
     * tarmac has a flag: batches on, the auth rate limit on. */
    json_t *o = json_object();
    json_object_set_new(o, "superuserIPs", json_array());
    json_object_set_new(o, "meta",
                        json_pack("{s:s, s:s, s:s, s:s, s:s, s:b}", "appName", "tarmac", "appURL",
                                  "http://127.0.0.1:8090", "senderName", "", "senderAddress",
                                  "no-reply@example.com", "accentColor", "#1055c9", "hideControls",
                                  0));
    json_object_set_new(o, "smtp",
                        json_pack("{s:b, s:i, s:s, s:s, s:s, s:s, s:b, s:s}", "enabled", 0, "port",
                                  587, "host", "", "username", "", "password", "", "authMethod", "",
                                  "tls", 0, "localName", ""));
    json_object_set_new(o, "s3", s3_defaults());
    json_object_set_new(
        o, "backups",
        json_pack("{s:s, s:i, s:o}", "cron", "", "cronMaxKeep", 3, "s3", s3_defaults()));
    json_object_set_new(
        o, "logs",
        json_pack("{s:i, s:i, s:b, s:b}", "maxDays", 5, "minLevel", 0, "logIP", 1, "logAuthId", 0));
    json_object_set_new(o, "batch",
                        json_pack("{s:b, s:i, s:i, s:i}", "enabled", 1, "maxRequests", 50,
                                  "timeout", 3, "maxBodySize", 0));
    json_object_set_new(o, "rateLimits",
                        json_pack("{s:[{s:s, s:s, s:i, s:i}], s:[], s:b}", "rules", "label",
                                  "*:auth", "audience", "", "duration", 10, "maxRequests", 1000,
                                  "excludedIPs", "enabled", 1));
    /* tarmac's: the push providers (core/notify/push.h). */
    json_object_set_new(
        o, "push",
        json_pack("{s:{s:b, s:s, s:s, s:s}, s:{s:b, s:s, s:s, s:s, s:s, s:b, s:s, s:s}, "
                  "s:{s:b, s:s, s:s}}",
                  "fcm", "enabled", 0, "serviceAccount", "", "tokenURL", "", "apiURL", "", "apns",
                  "enabled", 0, "keyId", "", "teamId", "", "key", "", "topic", "", "production", 0,
                  "apiURL", "", "caPEM", "", "webPush", "enabled", 0, "subject", "", "privateKey",
                  ""));
    /* tarmac's: the SMS provider (core/notify/sms.h). */
    json_object_set_new(o, "sms",
                        json_pack("{s:s, s:{s:s, s:s, s:s, s:s, s:s}, s:{s:s, s:s, s:s, s:s, s:s}, "
                                  "s:{s:s, s:s, s:[], s:s}}",
                                  "provider", "", "twilio", "accountSid", "", "authToken", "",
                                  "from", "", "apiURL", "", "statusCallback", "", "msg91",
                                  "authKey", "", "flowId", "", "sender", "", "textVar", "VAR1",
                                  "apiURL", "", "http", "url", "", "method", "POST", "headers",
                                  "body", ""));
    /* tarmac's: the embedding endpoint of collections' `embedding`
     * (core/jobs/embed_kind.h): an OpenAI-compatible /v1/embeddings URL. */
    json_object_set_new(o, "embeddings",
                        json_pack("{s:s, s:s, s:s}", "url", "", "model", "", "apiKey", ""));
    /* proxies is tarmac's: a header is read only from these peers. */
    json_object_set_new(o, "trustedProxy",
                        json_pack("{s:[], s:b, s:[]}", "headers", "useLeftmostIP", 0, "proxies"));
    return o;
}

json_t *settings_get(json_t *o, const char *path)
{
    char key[64];
    while (o && json_is_object(o)) {
        const char *dot = strchr(path, '.');
        size_t n = dot ? (size_t)(dot - path) : strlen(path);
        if (n >= sizeof(key))
            return NULL;
        memcpy(key, path, n);
        key[n] = '\0';
        o = json_object_get(o, key);
        if (!dot)
            return o;
        path = dot + 1;
    }
    return NULL;
}

void core_settings_put(json_t *o, const char *path, json_t *v)
{
    char key[64];
    for (;;) {
        const char *dot = strchr(path, '.');
        size_t n = dot ? (size_t)(dot - path) : strlen(path);
        if (n >= sizeof(key))
            n = sizeof(key) - 1;
        memcpy(key, path, n);
        key[n] = '\0';
        if (!dot) {
            json_object_set_new(o, key, v);
            return;
        }
        json_t *next = json_object_get(o, key);
        if (!json_is_object(next)) {
            next = json_object();
            json_object_set_new(o, key, next);
        }
        o = next;
        path = dot + 1;
    }
}

void settings_merge(json_t *dst, json_t *src)
{
    const char *k;
    json_t *v;
    json_object_foreach(src, k, v)
    {
        json_t *d = json_object_get(dst, k);
        if (json_is_object(v) && json_is_object(d))
            settings_merge(d, v);
        else
            json_object_set_new(dst, k, json_deep_copy(v));
    }
}

/* ---- rate-limit labels ----------------------------------------------- */

static bool is_word_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

static size_t word_len(const char *s)
{
    size_t n = 0;
    while (is_word_char(s[n]))
        n++;
    return n;
}

/* "/" followed by word characters, '/' and '-' to the end. */
static bool is_label_path(const char *s)
{
    if (s[0] != '/')
        return false;
    for (s++; *s; s++) {
        if (!is_word_char(*s) && *s != '/' && *s != '-')
            return false;
    }
    return true;
}

enum settings_label settings_label_parse(const char *label, struct core_ratelimit_rule *r)
{
    static const char *const methods[] = {"GET",    "POST", "PUT",    "PATCH",
                                          "DELETE", "HEAD", "OPTIONS"};
    memset(r, 0, sizeof(*r));
    const char *path = label;
    size_t w = word_len(label);
    if (w && label[w] == ' ') {
        /* "METHOD /path": PocketBase matches the request's method as is. */
        bool is_method = false;
        for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]) && !is_method; i++)
            is_method = strlen(methods[i]) == w && memcmp(methods[i], label, w) == 0;
        if (!is_label_path(label + w + 1))
            return SETTINGS_LABEL_BAD;
        if (!is_method)
            return SETTINGS_LABEL_UNSUPPORTED;
        memcpy(r->method, label, w);
        path = label + w + 1;
    } else if (label[0] == '/') {
        if (!is_label_path(label))
            return SETTINGS_LABEL_BAD;
    } else if (w && label[w] == '\0') {
        return SETTINGS_LABEL_UNSUPPORTED; /* a plain tag */
    } else if ((w || label[0] == '*') && label[w ? w : 1] == ':') {
        const char *action = label + (w ? w : 1) + 1;
        size_t a = word_len(action);
        if (!a || action[a] != '\0')
            return SETTINGS_LABEL_BAD;
        return !w && strcmp(action, "auth") == 0 ? SETTINGS_LABEL_AUTH : SETTINGS_LABEL_UNSUPPORTED;
    } else {
        return SETTINGS_LABEL_BAD;
    }
    size_t n = strlen(path);
    if (n >= sizeof(r->prefix))
        return SETTINGS_LABEL_BAD;
    memcpy(r->prefix, path, n + 1);
    r->is_exact = path[n - 1] != '/';
    return SETTINGS_LABEL_PATH;
}

/* ---- snapshots ---------------------------------------------------------- */

static const char *str_at(json_t *v, const char *path)
{
    const char *s = json_string_value(settings_get(v, path));
    return s ? s : "";
}

static int64_t int_at(json_t *v, const char *path)
{
    return json_integer_value(settings_get(v, path));
}

static bool bool_at(json_t *v, const char *path)
{
    return json_is_true(settings_get(v, path));
}

static void compile_rules(struct core_settings *s, struct core_problem *p)
{
    struct core_ratelimit_config *rl = &s->ratelimit;
    memset(rl, 0, sizeof(*rl));
    if (s->base->has_ratelimit_flag) {
        *rl = s->base->ratelimit_flag;
        return;
    }
    if (!bool_at(s->value, "rateLimits.enabled"))
        return;
    json_t *rules = settings_get(s->value, "rateLimits.rules");
    size_t i;
    json_t *r;
    json_array_foreach(rules, i, r)
    {
        struct core_ratelimit_rule rule;
        enum settings_label kind = settings_label_parse(str_at(r, "label"), &rule);
        rule.max = (uint32_t)int_at(r, "maxRequests");
        rule.window_s = (uint32_t)int_at(r, "duration");
        if (kind == SETTINGS_LABEL_AUTH) {
            snprintf(rule.prefix, sizeof(rule.prefix), "auth-ip");
            rl->auth_ip = rule;
        } else if (kind == SETTINGS_LABEL_PATH && rl->rule_count < CORE_RATELIMIT_MAX_RULES) {
            rl->rules[rl->rule_count++] = rule;
        } else {
            char path[48];
            snprintf(path, sizeof(path), "rateLimits.rules.%zu.label", i);
            core_problem_field(p, path, "validation_invalid_rule", "Not a rule tarmac can apply.",
                               NULL);
        }
    }
}

/* Compiles an array of addresses or networks (one each) into *out; an
 * entry that is blank or not one address or CIDR is a field error at
 * path.<index>. */
static void compile_ip_list(json_t *arr, const char *path, const char *code, const char *message,
                            struct cidr_list *out, struct core_problem *p)
{
    size_t i;
    json_t *e;
    json_array_foreach(arr, i, e)
    {
        char at[64];
        snprintf(at, sizeof(at), "%.40s.%zu", path, i);
        const char *t = json_string_value(e);
        if (!t || !t[0]) {
            core_problem_field(p, at, "validation_required", "Cannot be blank.", NULL);
            continue;
        }
        struct cidr_list one = {0};
        struct str bad;
        if (!cidr_list_parse(str_from_cstr(t), &one, &bad) || one.count != 1) {
            core_problem_field(p, at, code, message, NULL);
            cidr_list_cleanup(&one);
            continue;
        }
        out->nets = xrealloc(out->nets, (out->count + 1) * sizeof(struct cidr));
        out->nets[out->count++] = one.nets[0];
        cidr_list_cleanup(&one);
    }
}

/* The push providers' options; the service account was checked by the
 * PATCH that stored it (a stored one that no longer parses reads as none). */
static void compile_push(struct core_settings *s)
{
    json_t *v = s->value;
    const char *account = str_at(v, "push.fcm.serviceAccount");
    s->fcm_account = account[0] ? json_loads(account, JSON_REJECT_DUPLICATES, NULL) : NULL;
    json_t *a = s->fcm_account;
    s->push.fcm_project = str_at(a, "project_id");
    s->push.fcm_email = str_at(a, "client_email");
    s->push.fcm_key = str_at(a, "private_key");
    s->push.is_fcm = bool_at(v, "push.fcm.enabled") && s->push.fcm_project[0] &&
                     s->push.fcm_email[0] && s->push.fcm_key[0];
    const char *token_url = str_at(v, "push.fcm.tokenURL");
    if (!token_url[0])
        token_url = str_at(a, "token_uri");
    s->push.fcm_token_url = token_url[0] ? token_url : "https://oauth2.googleapis.com/token";
    const char *api_url = str_at(v, "push.fcm.apiURL");
    s->push.fcm_api_url = api_url[0] ? api_url : "https://fcm.googleapis.com";
    s->push.apns_key_id = str_at(v, "push.apns.keyId");
    s->push.apns_team_id = str_at(v, "push.apns.teamId");
    s->push.apns_key = str_at(v, "push.apns.key");
    s->push.apns_topic = str_at(v, "push.apns.topic");
    const char *apns_url = str_at(v, "push.apns.apiURL");
    s->push.apns_api_url = apns_url[0] ? apns_url
                           : bool_at(v, "push.apns.production")
                               ? "https://api.push.apple.com"
                               : "https://api.sandbox.push.apple.com";
    s->push.apns_ca_pem = str_at(v, "push.apns.caPEM");
    s->push.is_apns = bool_at(v, "push.apns.enabled") && s->push.apns_key_id[0] &&
                      s->push.apns_team_id[0] && s->push.apns_key[0] && s->push.apns_topic[0];
    s->push.vapid_key = str_at(v, "push.webPush.privateKey");
    s->push.vapid_subject = str_at(v, "push.webPush.subject");
    s->push.is_webpush = bool_at(v, "push.webPush.enabled") && s->push.vapid_key[0];
}

static void compile_s3(json_t *v, const char *prefix, struct core_settings_s3 *out)
{
    char path[64];
    static const char *const keys[] = {"endpoint", "bucket", "region", "accessKey", "secret"};
    const char **dst[] = {&out->cfg.endpoint, &out->cfg.bucket, &out->cfg.region,
                          &out->cfg.access_key, &out->cfg.secret};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        snprintf(path, sizeof(path), "%s.%s", prefix, keys[i]);
        *dst[i] = str_at(v, path);
    }
    snprintf(path, sizeof(path), "%s.forcePathStyle", prefix);
    out->cfg.force_path_style = bool_at(v, path);
    snprintf(path, sizeof(path), "%s.enabled", prefix);
    out->is_enabled = bool_at(v, path);
}

static void compile(struct core_settings *s, struct core_problem *p)
{
    json_t *v = s->value;
    compile_s3(v, "s3", &s->s3);
    compile_s3(v, "backups.s3", &s->backups_s3);
    const char *dir = s->base->data_dir ? s->base->data_dir : ".";
    if (s->s3.is_enabled)
        core_storage_init_s3(&s->storage, dir, &s->s3.cfg);
    else if (s->base->storage_dir)
        core_storage_init_dir(&s->storage, dir, s->base->storage_dir);
    else
        core_storage_init_local(&s->storage, dir);
    s->app_name = str_at(v, "meta.appName");
    s->app_url = str_at(v, "meta.appURL");
    s->sender_name = str_at(v, "meta.senderName");
    s->sender_address = str_at(v, "meta.senderAddress");
    s->smtp.is_enabled = bool_at(v, "smtp.enabled");
    s->smtp.host = str_at(v, "smtp.host");
    s->smtp.port = (int)int_at(v, "smtp.port");
    s->smtp.username = str_at(v, "smtp.username");
    s->smtp.password = str_at(v, "smtp.password");
    s->smtp.auth_method = str_at(v, "smtp.authMethod");
    s->smtp.local_name = str_at(v, "smtp.localName");
    s->smtp.is_tls = bool_at(v, "smtp.tls");
    s->batch.is_enabled = bool_at(v, "batch.enabled");
    s->batch.max_requests = (uint64_t)int_at(v, "batch.maxRequests");
    s->batch.timeout_ms = s->base->batch_timeout_ms >= 0
                              ? (uint64_t)s->base->batch_timeout_ms
                              : (uint64_t)int_at(v, "batch.timeout") * 1000u;
    s->batch.max_body_size = (uint64_t)int_at(v, "batch.maxBodySize");
    s->logs.max_days = (int)int_at(v, "logs.maxDays");
    s->logs.min_level = (int)int_at(v, "logs.minLevel");
    s->logs.is_ip = bool_at(v, "logs.logIP");
    s->logs.is_auth_id = bool_at(v, "logs.logAuthId");
    s->backups.cron = str_at(v, "backups.cron");
    s->backups.max_keep = int_at(v, "backups.cronMaxKeep");
    compile_rules(s, p);
    compile_push(s);
    s->sms_provider = str_at(v, "sms.provider");
    json_t *headers = settings_get(v, "trustedProxy.headers");
    const char *h = json_string_value(json_array_get(headers, 0));
    if (h && strlen(h) < sizeof(s->proxy.header))
        memcpy(s->proxy.header, h, strlen(h) + 1);
    s->proxy.is_leftmost = bool_at(v, "trustedProxy.useLeftmostIP");
    compile_ip_list(settings_get(v, "trustedProxy.proxies"), "trustedProxy.proxies",
                    "validation_invalid_ip", "Must be a valid IP address or CIDR.",
                    &s->proxy.proxies, p);
    /* PocketBase's code, spelling included (validators.IPOrSubnet). */
    compile_ip_list(settings_get(v, "superuserIPs"), "superuserIPs",
                    "validation_invlaid_ip_or_subnet", "invalid IP or CIDR subnet",
                    &s->superuser_ips, p);
    compile_ip_list(settings_get(v, "rateLimits.excludedIPs"), "rateLimits.excludedIPs",
                    "validation_invlaid_ip_or_subnet", "invalid IP or CIDR subnet",
                    &s->ratelimit_excluded, p);
}

enum rc core_settings_build(const struct core_settings_base *base, json_t *stored,
                            struct core_problem *p, struct core_settings **out)
{
    struct core_settings *s = xcalloc(1, sizeof(*s));
    s->base = base;
    s->stored = stored ? json_incref(stored) : json_object();
    s->value = json_deep_copy(base->defaults);
    settings_merge(s->value, s->stored);
    if (base->flags)
        settings_merge(s->value, base->flags);
    /* A rule sent without some keys has them as PocketBase's zero values. */
    json_t *model = json_array_get(settings_get(base->defaults, "rateLimits.rules"), 0);
    size_t i;
    json_t *r;
    json_array_foreach(settings_get(s->value, "rateLimits.rules"), i, r)
    {
        const char *k;
        json_t *v;
        json_object_foreach(model, k, v)
        {
            if (!json_object_get(r, k))
                json_object_set_new(r, k, json_is_string(v) ? json_string("") : json_integer(0));
        }
    }
    compile(s, p);
    if (core_problem_has_fields(p)) {
        core_settings_free(s);
        return RC_INVALID;
    }
    *out = s;
    return RC_OK;
}

json_t *core_settings_public(const struct core_settings *s)
{
    json_t *o = json_deep_copy(s->value);
    /* PocketBase leaves the secrets out of its answers (omitempty). */
    json_object_del(json_object_get(o, "smtp"), "password");
    json_object_del(json_object_get(o, "s3"), "secret");
    json_object_del(settings_get(o, "backups.s3"), "secret");
    json_object_del(settings_get(o, "push.fcm"), "serviceAccount");
    json_object_del(settings_get(o, "push.apns"), "key");
    json_object_del(settings_get(o, "sms.twilio"), "authToken");
    json_object_del(settings_get(o, "sms.msg91"), "authKey");
    json_object_del(settings_get(o, "sms.http"), "headers"); /* they carry the API key */
    json_object_del(settings_get(o, "push.webPush"), "privateKey");
    json_object_del(settings_get(o, "embeddings"), "apiKey");
    json_t *locked = json_array();
    const char *k;
    json_t *v;
    json_object_foreach(s->base->locked, k, v)
    {
        json_array_append_new(locked, json_string(k));
    }
    json_object_set_new(o, "locked", locked);
    return o;
}

void core_settings_free(struct core_settings *s)
{
    if (!s)
        return;
    json_decref(s->value);
    json_decref(s->stored);
    cidr_list_cleanup(&s->proxy.proxies);
    json_decref(s->fcm_account);
    cidr_list_cleanup(&s->superuser_ips);
    cidr_list_cleanup(&s->ratelimit_excluded);
    xfree(s);
}

void core_settings_base_cleanup(struct core_settings_base *b)
{
    json_decref(b->defaults);
    json_decref(b->flags);
    json_decref(b->locked);
    memset(b, 0, sizeof(*b));
}

static bool ip_in(const struct cidr_list *l, const char *ip)
{
    uint8_t addr[16];
    return ip && cidr_parse_ip(str_from_cstr(ip), addr) && cidr_list_contains(l, addr);
}

bool core_settings_superuser_ip_ok(const struct core_settings *s, const char *ip)
{
    return s->superuser_ips.count == 0 || ip_in(&s->superuser_ips, ip);
}

bool core_settings_ratelimit_excluded(const struct core_settings *s, const char *ip)
{
    return s->ratelimit_excluded.count && ip_in(&s->ratelimit_excluded, ip);
}
