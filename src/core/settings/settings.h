/* settings.h -- the app settings of PocketBase's settings API (layer: core).
 *
 * The settings are one JSON object of PocketBase's shape (meta, smtp, s3,
 * backups, logs, batch, rateLimits, trustedProxy, superuserIPs; plus
 * tarmac's push) made of three
 * layers, later ones winning: tarmac's defaults (the flags' defaults), what
 * PATCH /api/settings stored (the "settings" row of _params), and the values
 * the flags and environment variables fixed, which are locked: a PATCH that
 * changes one is refused. From the merged object a snapshot compiles what
 * the running code reads (the mail sender, the batch limits, the rate-limit
 * rules, the trusted proxies, the request log's options, the file storage).
 *
 * Snapshots are immutable and swapped as the schema's are (core/app.h): a
 * reader loads the pointer once and uses that snapshot; old snapshots stay
 * until the app closes (settings changes are rare admin actions), which is
 * also what lets a job keep the snapshot's file storage while it runs.
 * Options of features tarmac does not have yet keep PocketBase's defaults:
 * a PATCH that sets another value there is refused with a field error
 * naming it. */
#ifndef TARMAC_CORE_SETTINGS_H
#define TARMAC_CORE_SETTINGS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/cidr.h"
#include "base/rc.h"
#include "core/auth/ratelimit.h"
#include "core/files/storage.h"
#include "core/problem.h"

struct store_conn;

/* What the flags fixed: the layer itself and, per locked dotted path, the
 * flag that fixed it ("batch.maxRequests" -> "--batch-max-requests"). */
struct core_settings_base {
    json_t *defaults; /* owned; a whole settings object */
    json_t *flags;    /* owned; the locked values, in the same shape */
    json_t *locked;   /* owned; object: dotted path -> flag name */
    /* Flags whose values the JSON shape cannot carry exactly: */
    int64_t batch_timeout_ms;  /* --batch-timeout in ms (settings say seconds); -1: not given */
    bool is_smtp_tls_required; /* --smtp-tls: STARTTLS must succeed (no settings option) */
    bool has_ratelimit_flag;   /* --rate-limits given: its rules (path prefixes) are used */
    struct core_ratelimit_config ratelimit_flag;
    const char *data_dir;    /* the app's (borrowed): the local file storage, temporary files */
    const char *storage_dir; /* --storage-dir (borrowed): the local storage's files; NULL:
                                <data_dir>/storage */
};

struct core_settings {
    json_t *value;  /* the merged settings, secrets included; never changed */
    json_t *stored; /* the stored layer (what PATCHes set), never changed */
    const struct core_settings_base *base; /* the app's; process lifetime */
    /* Compiled from value (the strings point into it): */
    const char *app_name;
    const char *app_url;
    const char *sender_name;
    const char *sender_address;
    struct {
        bool is_enabled; /* false: mails go to the log */
        const char *host;
        int port;
        const char *username;
        const char *password;
        const char *auth_method; /* "", "PLAIN" or "LOGIN" */
        const char *local_name;
        bool is_tls; /* implicit TLS from the first byte */
    } smtp;
    struct {
        bool is_enabled;
        uint64_t max_requests;
        uint64_t timeout_ms;    /* 0: none */
        uint64_t max_body_size; /* bytes; 0: the server's --max-body */
    } batch;
    struct core_ratelimit_config ratelimit; /* auth_identity unused (a flag's) */
    struct {
        int max_days;  /* 0: no request log */
        int min_level; /* -4 debug, 0 info, 4 warn, 8 error */
        bool is_ip, is_auth_id;
    } logs; /* the request log's (core/logs.h) */
    struct {
        const char *cron; /* "": no automatic backups (base/cron.h) */
        int64_t max_keep; /* automatic backups kept; 0: all */
    } backups;            /* core/backup/backup.h */
    struct {
        struct cidr_list proxies;
        char header[64]; /* "": no header is read */
        bool is_leftmost;
    } proxy;
    /* superuserIPs: a superuser's requests from elsewhere are refused (403)
     * and its file tokens read as a guest's; empty: from anywhere. */
    struct cidr_list superuser_ips;
    struct cidr_list ratelimit_excluded; /* rateLimits.excludedIPs: no rate limit */
    /* push (tarmac's section; core/notify/push.h): a provider is on when
     * enabled with what it needs. */
    struct {
        bool is_fcm;
        const char *fcm_project;   /* the service account's project_id */
        const char *fcm_email;     /* its client_email */
        const char *fcm_key;       /* its private_key (PEM, RSA) */
        const char *fcm_token_url; /* tokenURL, else its token_uri, else Google's */
        const char *fcm_api_url;   /* apiURL, else https://fcm.googleapis.com */
        bool is_apns;
        const char *apns_key_id;  /* the .p8 key's id (the JWT's kid) */
        const char *apns_team_id; /* the JWT's iss */
        const char *apns_key;     /* the .p8 key (PEM, EC P-256) */
        const char *apns_topic;   /* the app's bundle id */
        const char *apns_api_url; /* apiURL, else Apple's production or sandbox host */
        const char *apns_ca_pem;  /* "": the system's CAs */
        bool is_webpush;
        const char *vapid_key; /* PEM, EC P-256 (made by the PATCH that enabled it) */
        const char *vapid_subject;
    } push;
    json_t *fcm_account; /* owned: the parsed service account (push points into it) */
    /* sms.provider: "" (none), "twilio", "msg91" or "http"; the rest of the
     * sms section is read from value by core/notify/sms.c. */
    const char *sms_provider;
    /* s3 and backups.s3 (PocketBase's S3Config). */
    struct core_settings_s3 {
        bool is_enabled;
        struct net_s3_config cfg;
    } s3, backups_s3;
    /* Where uploads are stored now: S3 (s3 above) when s3.enabled, else
     * the local storage under base->storage_dir (else base->data_dir/storage). */
    struct core_storage storage;
};

/* A whole settings object with tarmac's defaults, in PocketBase's shape:
 * a new reference. */
json_t *core_settings_defaults(void);
/* Sets the value at a dotted path of o ("batch.maxRequests"), creating the
 * objects on the way; takes ownership of v. */
void core_settings_put(json_t *o, const char *path, json_t *v);

/* Builds a snapshot from base and the stored layer (a new reference is
 * taken). RC_INVALID with p's field errors when the merged value does not
 * compile (a stored value a newer check refuses). Free with
 * core_settings_free(). */
enum rc core_settings_build(const struct core_settings_base *base, json_t *stored,
                            struct core_problem *p, struct core_settings **out);
/* Applies a PATCH body to cur: checks its keys and types, the locked
 * values, and the touched options as PocketBase checks them (plus what
 * tarmac does not support yet); on success *out is the new snapshot (its
 * stored layer is cur's with body merged in). RC_INVALID with p's field
 * errors and message otherwise. Any thread; cur is only read. */
enum rc core_settings_patch(const struct core_settings *cur, json_t *body, struct core_problem *p,
                            struct core_settings **out);
/* The settings as GET /api/settings answers: value without its secrets
 * (smtp.password, the S3 secrets: absent, as PocketBase omits them) and a
 * "locked" array of the paths the flags fixed. A new reference. */
json_t *core_settings_public(const struct core_settings *s);
void core_settings_free(struct core_settings *s);
/* True when ip (text, "" when unknown) may carry a superuser's credentials:
 * superuserIPs is empty or holds it. */
bool core_settings_superuser_ip_ok(const struct core_settings *s, const char *ip);
/* True when ip is in rateLimits.excludedIPs. */
bool core_settings_ratelimit_excluded(const struct core_settings *s, const char *ip);
/* The stored layer: the "settings" row of _params (settings_store.c).
 * *out is a new reference, or NULL when no PATCH ever stored one. RC_IO
 * (store errors) or RC_INVALID (the row is not a JSON object). */
enum rc core_settings_load(struct store_conn *db, json_t **out);
/* Writes the stored layer (insert or replace), inside the caller's
 * transaction. */
enum rc core_settings_save(struct store_conn *db, json_t *stored);
void core_settings_base_cleanup(struct core_settings_base *b);

#endif
