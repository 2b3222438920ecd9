/* settings.c -- the settings endpoints tarmac has (spec §9.3): POST
 * /api/settings/apple/generate-client-secret, for superusers.
 *
 * Sign in with Apple wants its client secret as an ES256 JWT signed with the
 * developer's .p8 key (core_oauth2_apple_secret); as in PocketBase, the
 * dashboard or a script asks for one here and stores it as the apple
 * provider's clientSecret. The key is used for the one signature and never
 * kept. The input is checked as PocketBase's form checks it (team and key
 * ids of 10 characters, a PKCS #8 PEM, a duration up to ~6 months, Apple's
 * limit). The signature takes ~50 µs: it runs on the loop. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/call.h"
#include "api/handlers.h"
#include "base/buf.h"
#include "base/chrono.h"
#include "base/jsonw.h"
#include "base/secure.h"
#include "core/auth/oauth2.h"

#define APPLE_MAX_DURATION_S 15777000 /* Apple refuses secrets valid longer (~6 months) */

/* The string at key of the body; "" (and a field error when present but
 * not a string) otherwise. */
static const char *body_string(struct api_call *c, const char *key)
{
    json_t *v = json_object_get(c->body, key);
    if (v && !json_is_null(v) && !json_is_string(v))
        core_problem_field(&c->problem, key, "validation_invalid_value", "Must be a string.", NULL);
    return json_is_string(v) ? json_string_value(v) : "";
}

static void check_id(struct api_call *c, const char *key, const char *v)
{
    if (!v[0])
        core_problem_field(&c->problem, key, "validation_required", "Cannot be blank.", NULL);
    else if (strlen(v) != 10)
        core_problem_field(&c->problem, key, "validation_length_invalid",
                           "The length must be exactly 10.", NULL);
}

/* PocketBase's pattern: -----BEGIN PRIVATE KEY---- ... -----END PRIVATE KEY----- */
static bool looks_like_pkcs8(const char *pem)
{
    const char *begin = strstr(pem, "-----BEGIN PRIVATE KEY----");
    return begin && strstr(begin + 26, "-----END PRIVATE KEY-----");
}

enum rc api_settings_apple_secret(struct http_req *req, void *ctx)
{
    (void)ctx;
    struct api_call *c = api_call_new(req);
    if (api_call_require_auth_or_fail(c, true))
        return RC_OK;
    if (api_call_body_or_fail(c, "An error occurred while loading the submitted data."))
        return RC_OK;
    const char *client_id = body_string(c, "clientId");
    const char *team_id = body_string(c, "teamId");
    const char *key_id = body_string(c, "keyId");
    const char *pem = body_string(c, "privateKey");
    if (!client_id[0])
        core_problem_field(&c->problem, "clientId", "validation_required", "Cannot be blank.",
                           NULL);
    check_id(c, "teamId", team_id);
    check_id(c, "keyId", key_id);
    if (!pem[0])
        core_problem_field(&c->problem, "privateKey", "validation_required", "Cannot be blank.",
                           NULL);
    else if (!looks_like_pkcs8(pem))
        core_problem_field(&c->problem, "privateKey", "validation_match_invalid",
                           "Must be in a valid format.", NULL);
    /* Seconds; a form sends text, and a whole number in it counts as the
     * number. Absent, null or "" is blank (0); anything else is below 1. */
    json_t *duration = json_object_get(c->body, "duration");
    json_int_t seconds = -1;
    uint64_t v;
    if (!duration || json_is_null(duration) ||
        (json_is_string(duration) && !json_string_length(duration)))
        seconds = 0;
    else if (json_is_integer(duration))
        seconds = json_integer_value(duration);
    else if (json_is_string(duration) &&
             strspn(json_string_value(duration), "0123456789") == json_string_length(duration))
        seconds =
            !str_to_u64(str_from_cstr(json_string_value(duration)), &v) || v > APPLE_MAX_DURATION_S
                ? APPLE_MAX_DURATION_S + 1 /* past u64 too: too long */
                : (json_int_t)v;
    if (seconds == 0)
        core_problem_field(&c->problem, "duration", "validation_required", "Cannot be blank.",
                           NULL);
    else if (seconds < 0)
        core_problem_field(&c->problem, "duration", "validation_min_greater_equal_than_required",
                           "Must be no less than 1.", NULL);
    else if (seconds > APPLE_MAX_DURATION_S)
        core_problem_field(&c->problem, "duration", "validation_max_less_equal_than_required",
                           "Must be no greater than 15777000.", NULL);
    if (core_problem_has_fields(&c->problem)) {
        core_problem_message(&c->problem, "Invalid client secret data.");
        return api_call_fail(c, RC_INVALID);
    }
    struct buf secret;
    buf_init(&secret, 8192);
    enum rc rc = core_oauth2_apple_secret(team_id, key_id, client_id, str_from_cstr(pem),
                                          (int64_t)seconds, chrono_real_ms() / 1000, &secret);
    if (rc) {
        buf_cleanup(&secret);
        core_problem_field(&c->problem, "privateKey", "validation_invalid_key",
                           "Not an unencrypted EC P-256 private key (Apple's .p8 file).", NULL);
        core_problem_message(&c->problem, "Failed to generate client secret.");
        return api_call_fail(c, RC_INVALID);
    }
    struct buf *body = api_call_start(c, 200, "application/json");
    struct jsonw w;
    jsonw_init(&w, body);
    jsonw_object_begin(&w);
    jsonw_key_cstr(&w, "secret");
    jsonw_string(&w, buf_str(&secret));
    jsonw_object_end(&w);
    rc = jsonw_finish(&w);
    secure_zero(secret.data, secret.len);
    buf_cleanup(&secret);
    return rc;
}
