/* settings.c -- see settings.h. */
#include "cli/settings.h"

#include <stdio.h>
#include <string.h>

#include "base/str.h"

/* Sets path in the defaults, or, when the flag was given, in the flags
 * layer with the path locked by it. Takes ownership of v. */
static void put(struct core_settings_base *b, bool is_given, const char *flag, const char *path,
                json_t *v)
{
    if (!is_given) {
        core_settings_put(b->defaults, path, v);
        return;
    }
    core_settings_put(b->flags, path, v);
    json_object_set_new(b->locked, path, json_string(flag));
}

/* The rules of --rate-limits as the settings show them: auth-ip as
 * "*:auth", each path prefix by itself (auth-identity has no settings
 * option: it stays the flag's). */
static json_t *rules_of(const struct core_ratelimit_config *c)
{
    json_t *rules = json_array();
    if (c->auth_ip.max)
        json_array_append_new(rules,
                              json_pack("{s:s, s:s, s:i, s:i}", "label", "*:auth", "audience", "",
                                        "duration", (json_int_t)c->auth_ip.window_s, "maxRequests",
                                        (json_int_t)c->auth_ip.max));
    for (size_t i = 0; i < c->rule_count; i++) {
        if (c->rules[i].max)
            json_array_append_new(rules, json_pack("{s:s, s:s, s:i, s:i}", "label",
                                                   c->rules[i].prefix, "audience", "", "duration",
                                                   (json_int_t)c->rules[i].window_s, "maxRequests",
                                                   (json_int_t)c->rules[i].max));
    }
    return rules;
}

static json_t *list_of(const char *csv)
{
    json_t *a = json_array();
    struct str rest = str_from_cstr(csv), item;
    while (str_next_item(&rest, ',', &item)) {
        item = str_trim_ows(item);
        if (item.len)
            json_array_append_new(a, json_stringn(item.ptr, item.len));
    }
    return a;
}

void cli_settings_base(const struct cli_settings_flags *f, struct core_settings_base *b)
{
    b->defaults = core_settings_defaults();
    b->flags = json_object();
    b->locked = json_object();
    b->batch_timeout_ms = f->given.batch_timeout ? (int64_t)f->batch_timeout_ms : -1;
    b->is_smtp_tls_required = f->is_smtp_tls_required;
    const struct cli_settings_flags *g = f;
    put(b, g->given.app_name, "--app-name", "meta.appName", json_string(f->app_name));
    char url[300];
    if (f->app_url[0])
        snprintf(url, sizeof(url), "%s", f->app_url);
    else
        snprintf(url, sizeof(url), "http://%s", f->http);
    put(b, g->given.app_url, "--app-url", "meta.appURL", json_string(url));
    put(b, g->given.smtp_sender, "--smtp-sender", "meta.senderAddress",
        json_string(f->smtp_sender));
    put(b, g->given.smtp_sender_name, "--smtp-sender-name", "meta.senderName",
        json_string(f->smtp_sender_name));
    /* No SMTP host: mails go to the log (smtp.enabled false). */
    put(b, g->given.smtp_host, "--smtp-host", "smtp.enabled", json_boolean(f->smtp_host[0]));
    put(b, g->given.smtp_host, "--smtp-host", "smtp.host", json_string(f->smtp_host));
    uint64_t port = f->smtp_port ? f->smtp_port : 587;
    put(b, g->given.smtp_port, "--smtp-port", "smtp.port", json_integer((json_int_t)port));
    /* PocketBase's tls is TLS from the first byte: the port 465 of --smtp-port. */
    put(b, g->given.smtp_port, "--smtp-port", "smtp.tls", json_boolean(f->smtp_port == 465));
    put(b, g->given.smtp_username, "--smtp-username", "smtp.username",
        json_string(f->smtp_username));
    put(b, g->given.smtp_password, "--smtp-password", "smtp.password",
        json_string(f->smtp_password));
    put(b, g->given.batch_max_requests, "--batch-max-requests", "batch.enabled",
        json_boolean(f->batch_max_requests > 0));
    put(b, g->given.batch_max_requests, "--batch-max-requests", "batch.maxRequests",
        json_integer((json_int_t)(f->batch_max_requests ? f->batch_max_requests : 50)));
    /* Seconds in the settings; a flag of 1500ms shows as 2 (and runs as 1.5 s). */
    put(b, g->given.batch_timeout, "--batch-timeout", "batch.timeout",
        json_integer((json_int_t)((f->batch_timeout_ms + 999) / 1000)));
    if (g->given.rate_limits) {
        b->has_ratelimit_flag = true;
        b->ratelimit_flag = *f->rate_limit_cfg;
        put(b, true, "--rate-limits", "rateLimits.enabled", json_true());
        put(b, true, "--rate-limits", "rateLimits.rules", rules_of(f->rate_limit_cfg));
    }
    json_t *proxies = list_of(f->trusted_proxies);
    /* The header is read only from trusted proxies: with none, none is shown. */
    json_t *headers = json_array();
    if (json_array_size(proxies) || g->given.proxy_header)
        json_array_append_new(headers, json_string(f->proxy_header));
    put(b, g->given.trusted_proxies, "--trusted-proxies", "trustedProxy.proxies", proxies);
    put(b, g->given.proxy_header, "--proxy-header", "trustedProxy.headers", headers);
    put(b, g->given.proxy_ip, "--proxy-ip", "trustedProxy.useLeftmostIP",
        json_boolean(strcmp(f->proxy_ip, "leftmost") == 0));
    put(b, g->given.logs_max_days, "--logs-max-days", "logs.maxDays",
        json_integer((json_int_t)f->logs_max_days));
    put(b, g->given.logs_min_level, "--logs-min-level", "logs.minLevel",
        json_integer((json_int_t)f->logs_min_level));
    put(b, g->given.logs_ip, "--logs-ip", "logs.logIP", json_boolean(f->is_logs_ip));
    put(b, g->given.logs_auth_id, "--logs-auth-id", "logs.logAuthId",
        json_boolean(f->is_logs_auth_id));
}
