/* settings.h -- the settings layers the serve flags make (layer: cli).
 *
 * Each flag that has a settings option (core/settings/settings.h) fills its
 * default when not given and, when given on the command line or in the
 * environment, fixes and locks it: the settings API shows the path in
 * "locked" and refuses to change it. */
#ifndef TARMAC_CLI_SETTINGS_H
#define TARMAC_CLI_SETTINGS_H

#include <stdbool.h>
#include <stdint.h>

#include "core/settings/settings.h"

/* The flags' values and whether each was given. */
struct cli_settings_flags {
    const char *http; /* the listen address, for the default app URL */
    const char *app_name, *app_url;
    const char *smtp_host, *smtp_username, *smtp_password, *smtp_sender, *smtp_sender_name;
    uint64_t smtp_port;
    bool is_smtp_tls_required;
    uint64_t batch_max_requests, batch_timeout_ms;
    const char *rate_limits; /* already checked by core_ratelimit_parse */
    const struct core_ratelimit_config *rate_limit_cfg;
    const char *trusted_proxies, *proxy_header, *proxy_ip;
    uint64_t logs_max_days;
    long logs_min_level;
    bool is_logs_ip, is_logs_auth_id;
    struct {
        bool app_name, app_url, smtp_host, smtp_port, smtp_username, smtp_password, smtp_sender,
            smtp_sender_name, batch_max_requests, batch_timeout, rate_limits, trusted_proxies,
            proxy_header, proxy_ip, logs_max_days, logs_min_level, logs_ip, logs_auth_id;
    } given;
};

/* Fills base (zeroed by the caller) from f: defaults, flags layer, locked paths. */
void cli_settings_base(const struct cli_settings_flags *f, struct core_settings_base *base);

#endif
