/* sms.c -- see sms.h: the `sms` job kind, by the provider's row of the
 * table at the end. */
#include "core/notify/sms.h"

#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/b64.h"
#include "base/jsonw.h"
#include "core/jobs/http_kind.h"
#include "core/settings/settings.h"

bool core_sms_is_e164(const char *number)
{
    size_t n = number ? strlen(number) : 0;
    if (n < 8 || n > 16 || number[0] != '+' || number[1] == '0')
        return false;
    for (size_t i = 1; i < n; i++) {
        if (number[i] < '0' || number[i] > '9')
            return false;
    }
    return true;
}

/* sms.<provider>.<key> of the settings, "" when absent. */
static const char *opt(const struct core_settings *s, const char *provider, const char *key)
{
    json_t *v = json_object_get(json_object_get(json_object_get(s->value, "sms"), provider), key);
    const char *t = json_string_value(v);
    return t ? t : "";
}

/* What a call holds between prepare and complete. */
struct sms_state {
    char *url;
    struct buf resp;
};

static struct sms_state *state_new(char *url, struct core_job_call *call)
{
    struct sms_state *st = xcalloc(1, sizeof(*st));
    st->url = url;
    buf_init(&st->resp, 16384);
    call->state = st;
    return st;
}

static char *dup_buf(struct buf *b)
{
    char *s = xmalloc(b->len + 1);
    memcpy(s, b->data, b->len);
    s[b->len] = '\0';
    return s;
}

/* application/x-www-form-urlencoded value. */
static void form_value(struct buf *out, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '.' || *p == '_' || *p == '~') {
            buf_append(out, p, 1);
        } else {
            char e[3] = {'%', hex[*p >> 4], hex[*p & 15]};
            buf_append(out, e, 3);
        }
    }
}

static bool dead(struct core_job_result *res, const char *why)
{
    res->outcome = CORE_JOB_DEAD;
    snprintf(res->error, sizeof(res->error), "%s", why);
    return false;
}

/* ---- Twilio ------------------------------------------------------------------ */

static bool twilio_prepare(const struct core_job_env *env, const struct core_settings *s,
                           const char *to, const char *text, struct core_job_call *call)
{
    const char *sid = opt(s, "twilio", "accountSid"), *token = opt(s, "twilio", "authToken");
    const char *api = opt(s, "twilio", "apiURL");
    struct buf b;
    buf_init(&b, 1 << 16);
    buf_append_cstr(&b, api[0] ? api : "https://api.twilio.com");
    buf_append_cstr(&b, "/2010-04-01/Accounts/");
    buf_append_cstr(&b, sid);
    buf_append_cstr(&b, "/Messages.json");
    struct sms_state *st = state_new(dup_buf(&b), call);
    buf_reset(&b);
    buf_append_cstr(&b, "To=");
    form_value(&b, to);
    buf_append_cstr(&b, "&From=");
    form_value(&b, opt(s, "twilio", "from"));
    buf_append_cstr(&b, "&Body=");
    form_value(&b, text);
    const char *callback = opt(s, "twilio", "statusCallback");
    if (callback[0]) {
        /* delivery reports: Twilio posts each status there (signed for
         * the inbound webhooks' twilio scheme) */
        buf_append_cstr(&b, "&StatusCallback=");
        form_value(&b, callback);
    }
    call->body = dup_buf(&b);
    buf_reset(&b);
    buf_append_cstr(&b, sid);
    buf_append_cstr(&b, ":");
    buf_append_cstr(&b, token);
    struct buf auth;
    buf_init(&auth, 4096);
    buf_append_cstr(&auth, "Authorization: Basic ");
    b64_encode_buf(B64_STD_PAD, b.data, b.len, &auth);
    buf_cleanup(&b);
    (void)core_job_call_to_provider(call, env, NULL, st->url, &st->resp);
    call->req.headers[call->req.header_count++] = "Content-Type: application/x-www-form-urlencoded";
    core_job_call_add_line(call, "%.*s", (int)auth.len, auth.data);
    buf_cleanup(&auth);
    return true;
}

/* ---- MSG91 ------------------------------------------------------------------- */

static bool msg91_prepare(const struct core_job_env *env, const struct core_settings *s,
                          const char *to, const char *text, struct core_job_call *call)
{
    const char *api = opt(s, "msg91", "apiURL");
    struct buf b;
    buf_init(&b, 1 << 16);
    buf_append_cstr(&b, api[0] ? api : "https://control.msg91.com");
    buf_append_cstr(&b, "/api/v5/flow/");
    struct sms_state *st = state_new(dup_buf(&b), call);
    buf_cleanup(&b);
    json_t *recipient = json_pack("{s:s}", "mobiles", to + 1); /* no "+" */
    json_object_set_new(recipient, opt(s, "msg91", "textVar"), json_string(text));
    json_t *body =
        json_pack("{s:s, s:[o]}", "flow_id", opt(s, "msg91", "flowId"), "recipients", recipient);
    if (opt(s, "msg91", "sender")[0])
        json_object_set_new(body, "sender", json_string(opt(s, "msg91", "sender")));
    call->body = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    (void)core_job_call_to_provider(call, env, NULL, st->url, &st->resp);
    call->req.headers[call->req.header_count++] = "Content-Type: application/json";
    core_job_call_add_line(call, "authkey: %s", opt(s, "msg91", "authKey"));
    return true;
}

/* ---- any gateway ------------------------------------------------------------- */

static bool gateway_prepare(const struct core_job_env *env, const struct core_settings *s,
                            const char *to, const char *text, struct core_job_call *call)
{
    struct sms_state *st = state_new(xstrdup(opt(s, "http", "url")), call);
    struct buf b;
    buf_init(&b, 1 << 16);
    const char *t = opt(s, "http", "body");
    while (*t) {
        const char *value = strncmp(t, "{{to}}", 6) == 0     ? to
                            : strncmp(t, "{{text}}", 8) == 0 ? text
                                                             : NULL;
        if (value) {
            jsonw_escape_into(&b, str_from_cstr(value));
            t += value == to ? 6 : 8;
        } else {
            buf_append(&b, t, 1);
            t++;
        }
    }
    call->body = dup_buf(&b);
    buf_cleanup(&b);
    const char *method = opt(s, "http", "method");
    (void)core_job_call_to_provider(call, env, method[0] ? method : "POST", st->url, &st->resp);
    bool has_type = false;
    size_t i;
    json_t *h;
    json_array_foreach(
        json_object_get(json_object_get(json_object_get(s->value, "sms"), "http"), "headers"), i, h)
    {
        const char *line = json_string_value(h);
        if (!line || strchr(line, '\r') || strchr(line, '\n'))
            continue;
        has_type = has_type || strncasecmp(line, "content-type:", 13) == 0;
        core_job_call_add_line(call, "%s", line);
    }
    if (!has_type && call->req.header_count < NET_HTTP_OUT_MAX_HEADERS)
        call->req.headers[call->req.header_count++] = "Content-Type: application/json";
    return true;
}

/* ---- the kind ---------------------------------------------------------------- */

static const struct sms_provider {
    const char *name;
    bool (*prepare)(const struct core_job_env *env, const struct core_settings *s, const char *to,
                    const char *text, struct core_job_call *call);
} providers[] = {
    {"twilio", twilio_prepare},
    {"msg91", msg91_prepare},
    {"http", gateway_prepare},
};

static const char *sms_check(json_t *payload)
{
    const char *to = json_string_value(json_object_get(payload, "to"));
    json_t *text = json_object_get(payload, "text");
    if (!core_sms_is_e164(to))
        return "to: must be a phone number in E.164 form (+ then 7 to 15 digits).";
    if (!json_is_string(text) || !json_string_length(text) ||
        json_string_length(text) > CORE_SMS_MAX_TEXT)
        return "text: must be a text of 1 to 1600 bytes.";
    return NULL;
}

static bool sms_prepare(const struct core_job_env *env, const struct core_job *job,
                        struct core_job_call *call, struct core_job_result *res)
{
    const char *why = sms_check(job->payload);
    if (why)
        return dead(res, why);
    const struct core_settings *s = env->settings ? env->settings(env->schema_ctx) : NULL;
    for (size_t i = 0; s && i < sizeof(providers) / sizeof(providers[0]); i++) {
        if (strcmp(providers[i].name, s->sms_provider) == 0)
            return providers[i].prepare(
                env, s, json_string_value(json_object_get(job->payload, "to")),
                json_string_value(json_object_get(job->payload, "text")), call);
    }
    return dead(res, "no SMS provider is configured (settings sms.provider)");
}

static void sms_complete(const struct core_job_env *env, const struct core_job *job,
                         struct core_job_call *call, struct core_job_result *res)
{
    (void)env;
    (void)job;
    struct sms_state *st = call->state;
    bool is_sent = core_job_http_outcome(&call->resp, res);
    json_t *j = json_loadb(st->resp.data, st->resp.len, 0, NULL);
    const char *type = json_string_value(json_object_get(j, "type"));
    const char *message = json_string_value(json_object_get(j, "message"));
    if (is_sent && type && strcmp(type, "error") == 0) {
        /* MSG91 answers its errors with 200 and "type": "error". */
        res->outcome = CORE_JOB_DEAD;
        snprintf(res->error, sizeof(res->error), "SMS: %.400s", message ? message : "error");
    } else if (!is_sent && call->resp.fail == NET_HTTP_OUT_OK) {
        long status = call->resp.status;
        if (status == 401 || status == 403)
            res->outcome = CORE_JOB_RETRY; /* credentials a superuser may fix */
        snprintf(res->error, sizeof(res->error), "SMS: HTTP %ld %.400s", status,
                 message ? message : "");
    }
    json_decref(j);
    xfree(st->url);
    buf_cleanup(&st->resp);
    xfree(st);
    call->state = NULL;
}

/* An outage of the provider is waited out for about a day. */
const struct core_job_kind core_sms_kind = {.name = "sms",
                                            .retry = CORE_JOB_RETRY_PROVIDER,
                                            .prepare = sms_prepare,
                                            .complete = sms_complete,
                                            .check = sms_check};
