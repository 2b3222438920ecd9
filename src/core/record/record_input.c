/* record_input.c -- see record_input.h. */
#include "core/schema/field_pattern.h"
#include "core/record/record_input.h"

#include <math.h>
#include <pthread.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/alloc.h"
#include "base/randpat.h"
#include "base/chrono.h"
#include "base/email.h"
#include "base/secure.h"
#include "base/utf8.h"
#include "core/files/file_input.h"
#include "core/files/files.h"

#define TEXT_DEFAULT_MAX 5000
#define EDITOR_DEFAULT_MAX (5 << 20)
#define JSON_DEFAULT_MAX (1 << 20)
#define PASSWORD_DEFAULT_MAX 71

/* -------------------------------------------------------------------------
 * Coercion (spec §1.4: lenient and silent)
 * ------------------------------------------------------------------------- */

static int digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 1;
}

bool core_date_normalize(const char *s, char out[32])
{
    size_t len = strlen(s);
    int y, mo, d, h = 0, mi = 0, sec = 0, ms = 0;
    if (len < 10 || !digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) || s[7] != '-' ||
        !digits(s + 8, 2, &d))
        return false;
    const char *p = s + 10;
    long offset_s = 0;
    if (*p == ' ' || *p == 'T') {
        p++;
        if (strlen(p) < 8 || !digits(p, 2, &h) || p[2] != ':' || !digits(p + 3, 2, &mi) ||
            p[5] != ':' || !digits(p + 6, 2, &sec))
            return false;
        p += 8;
        if (*p == '.') {
            p++;
            int n = 0;
            while (*p >= '0' && *p <= '9') {
                if (n < 3)
                    ms = ms * 10 + (*p - '0');
                n++;
                p++;
            }
            if (n == 0)
                return false;
            for (; n < 3; n++)
                ms *= 10;
        }
        if (*p == 'Z') {
            p++;
        } else if (*p == '+' || *p == '-') {
            int oh, om;
            if (strlen(p) < 6 || !digits(p + 1, 2, &oh) || p[3] != ':' || !digits(p + 4, 2, &om))
                return false;
            offset_s = (oh * 3600L + om * 60L) * (*p == '+' ? 1 : -1);
            p += 6;
        }
    }
    if (*p)
        return false;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
        return false;
    struct tm tm = {0};
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    time_t t = timegm(&tm) - offset_s;
    struct tm u;
    gmtime_r(&t, &u);
    if (offset_s == 0 && (u.tm_mday != d || u.tm_mon != mo - 1))
        return false; /* 2025-02-31 */
    if (u.tm_year + 1900 < 0 || u.tm_year + 1900 > 9999)
        return false;
    char tmp[96];
    snprintf(tmp, sizeof(tmp), "%04d-%02d-%02d %02d:%02d:%02d.%03dZ", u.tm_year + 1900,
             u.tm_mon + 1, u.tm_mday, u.tm_hour, u.tm_min, u.tm_sec, ms);
    memcpy(out, tmp, 25); /* always 24 characters and the NUL */
    return true;
}

static json_t *to_text(json_t *v)
{
    if (json_is_string(v))
        return json_incref(v);
    if (json_is_integer(v)) {
        char tmp[32];
        snprintf(tmp, sizeof(tmp), "%lld", (long long)json_integer_value(v));
        return json_string(tmp);
    }
    if (json_is_real(v)) {
        char tmp[40];
        snprintf(tmp, sizeof(tmp), "%.17g", json_real_value(v));
        return json_string(tmp);
    }
    if (json_is_boolean(v))
        return json_string(json_is_true(v) ? "true" : "false");
    return json_string("");
}

static json_t *to_number(json_t *v)
{
    if (json_is_number(v))
        return json_incref(v);
    if (json_is_boolean(v))
        return json_integer(json_is_true(v) ? 1 : 0);
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        char *end;
        double d = strtod(s, &end);
        if (end != s && *end == '\0' && isfinite(d)) {
            if (d == floor(d) && fabs(d) < 9e15)
                return json_integer((json_int_t)d);
            return json_real(d);
        }
    }
    return json_integer(0);
}

static json_t *to_bool(json_t *v)
{
    if (json_is_boolean(v))
        return json_incref(v);
    if (json_is_number(v))
        return json_boolean(json_number_value(v) != 0);
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        return json_boolean(!strcmp(s, "true") || !strcmp(s, "1") || !strcmp(s, "t") ||
                            !strcmp(s, "T") || !strcmp(s, "TRUE") || !strcmp(s, "True"));
    }
    return json_false();
}

/* A list of unique non-empty strings from a scalar, an array, or a string
 * holding a JSON array (spec §2.4). */
static json_t *to_string_list(json_t *v)
{
    json_t *src = v;
    json_t *parsed = NULL;
    if (json_is_string(v) && strchr(json_string_value(v), '[')) {
        parsed = json_loads(json_string_value(v), 0, NULL);
        if (json_is_array(parsed))
            src = parsed;
    }
    json_t *out = json_array();
    json_t *items = json_is_array(src) ? src : NULL;
    size_t n = items ? json_array_size(items) : (json_is_null(src) || !src ? 0 : 1);
    for (size_t i = 0; i < n; i++) {
        json_t *item = items ? json_array_get(items, i) : src;
        json_t *s = to_text(item);
        if (json_string_length(s)) {
            bool dup = false;
            for (size_t k = 0; k < json_array_size(out) && !dup; k++)
                dup = json_equal(json_array_get(out, k), s);
            if (!dup)
                json_array_append(out, s);
        }
        json_decref(s);
    }
    json_decref(parsed);
    return out;
}

/* json fields: a string that is itself JSON of the allowed shapes is stored parsed. */
static json_t *to_json_value(json_t *v)
{
    if (!json_is_string(v))
        return json_incref(v);
    const char *s = json_string_value(v);
    char c = s[0];
    if (c == '{' || c == '[' || c == '"' || c == '-' || (c >= '0' && c <= '9') ||
        !strcmp(s, "true") || !strcmp(s, "false") || !strcmp(s, "null")) {
        json_t *j = json_loads(s, JSON_DECODE_ANY, NULL);
        if (j)
            return j;
    }
    return json_incref(v);
}

static json_t *coerce(const struct core_field *f, json_t *v)
{
    switch (f->type) {
    case CORE_FIELD_NUMBER: return to_number(v);
    case CORE_FIELD_BOOL: return to_bool(v);
    case CORE_FIELD_JSON: return to_json_value(v);
    case CORE_FIELD_GEOPOINT:
        return json_is_object(v) ? json_incref(v) : json_pack("{s:i,s:i}", "lon", 0, "lat", 0);
    case CORE_FIELD_DATE: {
        json_t *t = to_text(v);
        char out[32];
        json_t *r =
            core_date_normalize(json_string_value(t), out) ? json_string(out) : json_string("");
        json_decref(t);
        return r;
    }
    case CORE_FIELD_SELECT:
    case CORE_FIELD_RELATION:
    case CORE_FIELD_FILE: {
        json_t *list = to_string_list(v);
        if (core_field_is_multi(f))
            return list;
        /* A single-valued field keeps the last value given. */
        json_t *last = json_array_size(list)
                           ? json_incref(json_array_get(list, json_array_size(list) - 1))
                           : json_string("");
        json_decref(list);
        return last;
    }
    default: return to_text(v);
    }
}

/* The empty value of a field (spec §5.3). */
static json_t *empty_value(const struct core_field *f)
{
    switch (f->type) {
    case CORE_FIELD_NUMBER: return json_integer(0);
    case CORE_FIELD_BOOL: return json_false();
    case CORE_FIELD_JSON: return json_null();
    case CORE_FIELD_GEOPOINT: return json_pack("{s:i,s:i}", "lon", 0, "lat", 0);
    default: return core_field_is_multi(f) ? json_array() : json_string("");
    }
}

/* -------------------------------------------------------------------------
 * Modifiers
 * ------------------------------------------------------------------------- */

static json_t *apply_modifier(const struct core_field *f, json_t *old, json_t *given, char mod,
                              bool prepend)
{
    if (f->type == CORE_FIELD_NUMBER) {
        json_t *n = to_number(given);
        double a = json_number_value(old), b = json_number_value(n);
        json_decref(n);
        double r = mod == '+' ? a + b : a - b;
        return r == floor(r) && fabs(r) < 9e15 ? json_integer((json_int_t)r) : json_real(r);
    }
    if (f->type != CORE_FIELD_SELECT && f->type != CORE_FIELD_RELATION &&
        f->type != CORE_FIELD_FILE)
        return json_incref(old); /* no modifiers for other types */
    json_t *cur = to_string_list(old);
    json_t *add = to_string_list(given);
    json_t *out = json_array();
    if (mod == '-') {
        size_t i;
        json_t *v;
        json_array_foreach(cur, i, v)
        {
            bool drop = false;
            for (size_t k = 0; k < json_array_size(add) && !drop; k++)
                drop = json_equal(v, json_array_get(add, k));
            if (!drop)
                json_array_append(out, v);
        }
    } else {
        json_t *first = prepend ? add : cur;
        json_t *second = prepend ? cur : add;
        json_array_extend(out, first);
        json_array_extend(out, second);
    }
    json_decref(cur);
    json_decref(add);
    json_t *fixed = coerce(f, out); /* dedupe; single fields keep the last */
    json_decref(out);
    return fixed;
}

/* -------------------------------------------------------------------------
 * Validation
 * ------------------------------------------------------------------------- */

static size_t rune_count(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            n++;
    }
    return n;
}

static bool is_url(const char *s)
{
    const char *p;
    if (strncmp(s, "https://", 8) == 0)
        p = s + 8;
    else if (strncmp(s, "http://", 7) == 0)
        p = s + 7;
    else
        return false;
    if (!*p || *p == '/')
        return false;
    for (; *p; p++) {
        if ((unsigned char)*p <= ' ')
            return false;
    }
    return true;
}

/* onlyDomains / exceptDomains of email and url fields (PocketBase's
 * options), compared without case as DNS names are, so "EVIL.com" does not
 * pass an exceptDomains of "evil.com". */
static bool domain_allowed(const struct core_field *f, struct str host)
{
    bool listed = false;
    for (size_t i = 0; i < f->only_domain_count && !listed; i++)
        listed = str_eq_cstr_nocase(host, f->only_domains[i]);
    if (f->only_domain_count && !listed)
        return false;
    for (size_t i = 0; i < f->except_domain_count; i++) {
        if (str_eq_cstr_nocase(host, f->except_domains[i]))
            return false;
    }
    return true;
}

/* The host of an http(s) URL is_url accepted: no userinfo, no port. */
static struct str url_host(const char *s)
{
    const char *p = strstr(s, "://") + 3;
    size_t n = strcspn(p, "/?#");
    const char *at = NULL;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '@')
            at = p + i;
    }
    if (at) {
        n -= (size_t)(at + 1 - p);
        p = at + 1;
    }
    if (n && p[0] == '[') {
        const char *close = memchr(p, ']', n);
        return close ? (struct str){p, (size_t)(close - p) + 1} : (struct str){p, n};
    }
    const char *colon = memchr(p, ':', n);
    return (struct str){p, colon ? (size_t)(colon - p) : n};
}

/* {"<key>": n}, with an integral n written as an integer (3, not 3.0). */
static json_t *num_param(const char *key, double n)
{
    json_t *v = n == floor(n) && fabs(n) < 9e15 ? json_integer((json_int_t)n) : json_real(n);
    json_t *o = json_object();
    json_object_set_new(o, key, v);
    return o;
}

static void field_error(struct core_problem *p, const struct core_field *f, const char *code,
                        const char *message, json_t *params)
{
    core_problem_field(p, f->name, code, message, params); /* takes params */
}

static bool is_empty(const struct core_field *f, json_t *v)
{
    if (json_is_null(v) || !v)
        return true;
    if (json_is_string(v))
        return json_string_length(v) == 0;
    if (json_is_array(v))
        return json_array_size(v) == 0;
    if (json_is_object(v))
        return json_object_size(v) == 0;
    if (f->type == CORE_FIELD_NUMBER)
        return json_number_value(v) == 0;
    if (f->type == CORE_FIELD_BOOL)
        return !json_is_true(v);
    return false;
}

/* True for a field an auth collection logs in by (passwordAuth.identityFields). */
static bool is_identity_field(const struct core_collection *c, const struct core_field *f)
{
    for (size_t i = 0; c->type == CORE_COLLECTION_AUTH && i < c->identity_field_count; i++) {
        if (strcmp(c->identity_fields[i], f->name) == 0)
            return true;
    }
    return false;
}

/* An identity must not have a look-alike: no invisible code point and no
 * whitespace around it (email fields check this as part of their syntax). */
static bool is_plain_identity(const char *s, size_t len)
{
    return len == 0 || (s[0] != ' ' && s[len - 1] != ' ' && utf8_is_visible_text(s, len));
}

/* is_identity: f is one of its auth collection's identity fields. */
static void validate(const struct core_field *f, json_t *v, bool is_identity,
                     struct core_problem *p)
{
    if (f->type == CORE_FIELD_AUTODATE || f->type == CORE_FIELD_PASSWORD)
        return; /* password: validate_password() */
    bool empty = is_empty(f, v);
    if (f->type == CORE_FIELD_GEOPOINT) {
        double lon = json_number_value(json_object_get(v, "lon"));
        double lat = json_number_value(json_object_get(v, "lat"));
        empty = lon == 0 && lat == 0;
        if (lat < -90 || lat > 90)
            field_error(p, f, "validation_invalid_latitude", "Latitude must be between -90 and 90.",
                        NULL);
        if (lon < -180 || lon > 180)
            field_error(p, f, "validation_invalid_longitude",
                        "Longitude must be between -180 and 180.", NULL);
    }
    if (empty) {
        if (f->is_required)
            field_error(p, f, "validation_required", "Cannot be blank.", NULL);
        return;
    }
    switch (f->type) {
    case CORE_FIELD_TEXT:
    case CORE_FIELD_EMAIL:
    case CORE_FIELD_URL:
    case CORE_FIELD_EDITOR: {
        const char *s = json_string_value(v);
        size_t bytes = json_string_length(v);
        if (f->type == CORE_FIELD_EDITOR) {
            int64_t max = f->max_size ? f->max_size : EDITOR_DEFAULT_MAX;
            if ((int64_t)bytes > max)
                field_error(p, f, "validation_max_text_constraint", "The value is too large.",
                            json_pack("{s:I}", "max", (json_int_t)max));
            return;
        }
        if (f->type == CORE_FIELD_EMAIL) {
            if (!email_is_valid((struct str){s, bytes}))
                field_error(p, f, "validation_is_email", "Must be a valid email address.", NULL);
            else if (!domain_allowed(f, str_from_cstr(strrchr(s, '@') + 1)))
                field_error(p, f, "validation_email_domain_not_allowed",
                            "Email domain is not allowed.", NULL);
            return;
        }
        if (is_identity && !is_plain_identity(s, bytes)) {
            field_error(p, f, "validation_match_invalid", "Must be in a valid format.", NULL);
            return;
        }
        if (f->type == CORE_FIELD_URL) {
            if (!is_url(s))
                field_error(p, f, "validation_is_url", "Must be a valid URL.", NULL);
            else if (!domain_allowed(f, url_host(s)))
                field_error(p, f, "validation_url_domain_not_allowed", "Url domain is not allowed.",
                            NULL);
            return;
        }
        size_t runes = rune_count(s, bytes);
        double max = f->has_max && f->max > 0 ? f->max : TEXT_DEFAULT_MAX;
        if (f->has_min && f->min > 0 && runes < (size_t)f->min)
            field_error(p, f, "validation_min_text_constraint",
                        "Must be at least the minimum length.", num_param("min", f->min));
        else if (runes > (size_t)max)
            field_error(p, f, "validation_max_text_constraint",
                        "Must be at most the maximum length.", num_param("max", max));
        else if (f->pattern && f->pattern[0] && !core_field_pattern_matches(f->pattern, s))
            field_error(p, f, "validation_invalid_format", "Invalid value format.", NULL);
        return;
    }
    case CORE_FIELD_NUMBER: {
        double d = json_number_value(v);
        if (f->only_int && d != floor(d))
            field_error(p, f, "validation_only_int_constraint", "Decimal numbers are not allowed.",
                        NULL);
        else if (f->has_min && d < f->min)
            field_error(p, f, "validation_min_number_constraint",
                        "Must be larger than the minimum.", num_param("min", f->min));
        else if (f->has_max && d > f->max)
            field_error(p, f, "validation_max_number_constraint", "Must be less than the maximum.",
                        num_param("max", f->max));
        return;
    }
    case CORE_FIELD_DATE: {
        const char *s = json_string_value(v);
        if (f->min_date && f->min_date[0] && strcmp(s, f->min_date) < 0)
            field_error(p, f, "validation_min_date_constraint", "Must be after the minimum date.",
                        NULL);
        else if (f->max_date && f->max_date[0] && strcmp(s, f->max_date) > 0)
            field_error(p, f, "validation_max_date_constraint", "Must be before the maximum date.",
                        NULL);
        return;
    }
    case CORE_FIELD_SELECT:
    case CORE_FIELD_RELATION:
    case CORE_FIELD_FILE: {
        json_t *list = json_is_array(v) ? json_incref(v) : json_pack("[O]", v);
        size_t n = json_array_size(list);
        if (core_field_is_multi(f) && n > (size_t)f->max_select)
            field_error(p, f, "validation_too_many_values", "Select no more than the maximum.",
                        json_pack("{s:i}", "maxSelect", f->max_select));
        else if (f->min_select > 0 && n < (size_t)f->min_select)
            field_error(p, f, "validation_not_enough_values", "Select at least the minimum.",
                        json_pack("{s:i}", "minSelect", f->min_select));
        if (f->type == CORE_FIELD_SELECT) {
            for (size_t i = 0; i < n; i++) {
                const char *s = json_string_value(json_array_get(list, i));
                bool ok = false;
                for (size_t k = 0; k < f->value_count && !ok; k++)
                    ok = strcmp(f->values[k], s) == 0;
                if (!ok) {
                    field_error(p, f, "validation_invalid_value", "Invalid value.",
                                json_pack("{s:s}", "value", s));
                    break;
                }
            }
        }
        json_decref(list);
        return;
    }
    case CORE_FIELD_JSON: {
        char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        size_t n = text ? strlen(text) : 0;
        xfree(text);
        int64_t max = f->max_size ? f->max_size : JSON_DEFAULT_MAX;
        if ((int64_t)n > max)
            field_error(p, f, "validation_json_size_limit", "The JSON value is too large.",
                        json_pack("{s:I}", "maxSize", (json_int_t)max));
        return;
    }
    default: return;
    }
}

/* -------------------------------------------------------------------------
 * Password fields
 * ------------------------------------------------------------------------- */

/* The auth login password: its form rules (passwordConfirm, oldPassword,
 * required on create) are the auth block's in core_record_input_build(). */
static bool is_auth_password(const struct core_collection *c, const struct core_field *f)
{
    return c->type == CORE_COLLECTION_AUTH && strcmp(f->name, "password") == 0;
}

static const struct core_record_secret *find_secret(const struct core_record_input *in,
                                                    const struct core_field *f)
{
    for (size_t i = 0; i < in->secret_count; i++) {
        if (in->secrets[i].field == f)
            return &in->secrets[i];
    }
    return NULL;
}

/* Keeps given as f's new plain value when it is not empty (an empty value
 * changes nothing); false when it is empty. */
static bool add_secret(struct core_record_input *in, const struct core_field *f, json_t *given)
{
    json_t *text = to_text(given);
    size_t len = json_string_length(text);
    if (len) {
        struct core_record_secret *s = (struct core_record_secret *)find_secret(in, f);
        if (!s) {
            in->secrets = xrealloc(in->secrets, (in->secret_count + 1) * sizeof(*in->secrets));
            s = &in->secrets[in->secret_count++];
            memset(s, 0, sizeof(*s));
            s->field = f;
        } else {
            secure_zero(s->plain, strlen(s->plain));
            xfree(s->plain);
        }
        s->plain = xstrndup(json_string_value(text), len);
    }
    json_decref(text);
    return len > 0;
}

/* PocketBase's PasswordField.ValidateValue (core/field_password.go): the
 * length in runes against min and max (0 = 71, bcrypt's limit there; kept
 * for the contract although argon2id has none), then pattern; required is
 * met by a new value or the stored hash. The auth login password keeps at
 * least 8 when its min is 0 (spec §5.3's default; tarmac never allowed
 * shorter ones). */
static void validate_password(const struct core_collection *c, const struct core_field *f,
                              const struct core_record_input *in, struct core_problem *p)
{
    const struct core_record_secret *s = find_secret(in, f);
    if (!s) {
        if (f->is_required && !is_auth_password(c, f) &&
            is_empty(f, json_object_get(in->values, f->name)))
            field_error(p, f, "validation_required", "Cannot be blank.", NULL);
        return;
    }
    size_t runes = rune_count(s->plain, strlen(s->plain));
    double min = f->has_min && f->min > 0 ? f->min : is_auth_password(c, f) ? 8 : 0;
    double max = f->has_max && f->max > 0 ? f->max : PASSWORD_DEFAULT_MAX;
    if (runes < (size_t)min)
        field_error(p, f, "validation_min_text_constraint", "Must be at least the minimum length.",
                    num_param("min", min));
    else if (runes > (size_t)max)
        field_error(p, f, "validation_max_text_constraint", "Must be at most the maximum length.",
                    num_param("max", max));
    else if (f->pattern && f->pattern[0] && !core_field_pattern_matches(f->pattern, s->plain))
        field_error(p, f, "validation_invalid_format", "Invalid value format.", NULL);
}

enum rc core_record_input_hash(struct core_record_input *in, struct core_password_params params)
{
    for (size_t i = 0; i < in->secret_count; i++) {
        struct buf phc;
        buf_init(&phc, CORE_PASSWORD_PHC_MAX);
        enum rc rc = core_password_hash(str_from_cstr(in->secrets[i].plain), params, &phc);
        if (!rc) {
            xfree(in->secrets[i].hash);
            in->secrets[i].hash = xstrndup(phc.data, phc.len);
        }
        buf_cleanup(&phc);
        if (rc) {
            for (size_t k = 0; k < in->secret_count; k++) {
                xfree(in->secrets[k].hash);
                in->secrets[k].hash = NULL;
            }
            return rc;
        }
    }
    return RC_OK;
}

bool core_record_input_has_secret(const struct core_collection *c, json_t *body)
{
    for (size_t i = 0; i < c->field_count; i++) {
        if (c->fields[i].type == CORE_FIELD_PASSWORD && json_object_get(body, c->fields[i].name))
            return true;
    }
    return false;
}

/* -------------------------------------------------------------------------
 * Building the input
 * ------------------------------------------------------------------------- */

/* A random value for an autogeneratePattern (base/randpat.h); collections
 * refuse the patterns it cannot generate, so a pattern that fails here was
 * stored before that check: the default id shape rather than nothing. */
static json_t *autogenerate(const char *pattern)
{
    char out[RANDPAT_MAX_OUT + 1];
    size_t n;
    if (!pattern || !pattern[0] || randpat_generate(pattern, out, &n) != RC_OK || n == 0)
        randpat_generate("[a-z0-9]{15}", out, &n);
    return json_stringn(out, n);
}

static bool is_valid_record_id(const char *id)
{
    static const char forbidden[] = "./\\|\"'`<>:?*%$ \n\r\t";
    size_t n = strlen(id);
    if (n == 0 || n > 255)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (strchr(forbidden, id[i]) || id[i] == '\0')
            return false;
    }
    static const char *const reserved[] = {"aux", "prn", "con", "nul"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(id, reserved[i]) == 0)
            return false;
    }
    return !((strncasecmp(id, "com", 3) == 0 || strncasecmp(id, "lpt", 3) == 0) && n == 4 &&
             id[3] >= '1' && id[3] <= '9');
}

static bool is_superuser(const struct core_request *r)
{
    return r->auth && r->auth->is_superuser;
}

/* Splits "name+", "+name", "name-" into the field name and the modifier. */
static const struct core_field *field_for_key(const struct core_collection *c, const char *key,
                                              char *mod, bool *prepend)
{
    size_t n = strlen(key);
    *mod = 0;
    *prepend = false;
    if (n > 1 && key[0] == '+') {
        *mod = '+';
        *prepend = true;
        return core_collection_field(c, (struct str){key + 1, n - 1});
    }
    if (n > 1 && (key[n - 1] == '+' || key[n - 1] == '-')) {
        *mod = key[n - 1];
        return core_collection_field(c, (struct str){key, n - 1});
    }
    return core_collection_field(c, (struct str){key, n});
}

enum rc core_record_input_build(struct core_request *r, const struct core_collection *c,
                                json_t *body, json_t *current, struct core_record_input *out,
                                struct core_problem *p)
{
    memset(out, 0, sizeof(*out));
    out->is_manager = is_superuser(r) || r->is_manager;
    out->values = json_object();
    out->changed = json_array();
    out->body = json_object();
    bool is_create = current == NULL;
    /* Start from the stored record (update) or the empty values (create). */
    for (size_t i = 0; i < c->field_count; i++) {
        const struct core_field *f = &c->fields[i];
        json_t *v = current ? json_object_get(current, f->name) : NULL;
        json_object_set_new(out->values, f->name, v ? json_incref(v) : empty_value(f));
    }
    /* Plain keys first, then modifiers, so "tags" then "tags+" compose. */
    for (int pass = 0; pass < 2; pass++) {
        const char *key;
        json_t *given;
        json_object_foreach(body, key, given)
        {
            char mod;
            bool prepend;
            const struct core_field *f = field_for_key(c, key, &mod, &prepend);
            if (!f || (pass == 0) != (mod == 0))
                continue;
            if (f->type == CORE_FIELD_AUTODATE)
                continue;
            if (f->is_hidden && !is_superuser(r) && !is_auth_password(c, f))
                continue;
            if (c->type == CORE_COLLECTION_AUTH && strcmp(f->name, "tokenKey") == 0 &&
                !is_superuser(r))
                continue;
            if (f->type == CORE_FIELD_FILE)
                continue; /* below, with the uploads */
            if (f->type == CORE_FIELD_PASSWORD) {
                /* values keeps the stored hash; modifiers mean nothing here. */
                if (!mod && add_secret(out, f, given))
                    json_array_append_new(out->changed, json_string(f->name));
                continue;
            }
            if (f->is_primary_key && !is_create) {
                json_t *want = to_text(given);
                if (!json_equal(want, json_object_get(current, f->name)))
                    core_problem_field(p, f->name, "validation_pk_change",
                                       "The record primary key cannot be changed.", NULL);
                json_decref(want);
                continue;
            }
            json_t *v;
            if (mod)
                v = apply_modifier(f, json_object_get(out->values, f->name), given, mod, prepend);
            else
                v = coerce(f, given);
            json_object_set_new(out->values, f->name, v);
            json_array_append_new(out->changed, json_string(f->name));
        }
    }
    /* File fields: names, modifiers and uploads together (spec §8.1). */
    for (size_t i = 0; i < c->field_count; i++) {
        const struct core_field *f = &c->fields[i];
        if (f->type != CORE_FIELD_FILE || (f->is_hidden && !is_superuser(r)))
            continue;
        json_t *v = core_file_input_resolve(f, body, json_object_get(out->values, f->name), p);
        if (!v)
            continue;
        json_object_set_new(out->values, f->name, v);
        json_array_append_new(out->changed, json_string(f->name));
        json_object_set(out->body, f->name, v);
    }
    /* The resolved body that rules see as @request.body (plain names). */
    const char *key;
    json_t *given;
    json_object_foreach(body, key, given)
    {
        char mod;
        bool prepend;
        if (strcmp(key, CORE_FILES_BODY_KEY) == 0)
            continue;
        const struct core_field *f = field_for_key(c, key, &mod, &prepend);
        if (f && f->type == CORE_FIELD_PASSWORD) {
            if (!mod) /* as sent, never the stored hash */
                json_object_set_new(out->body, f->name, to_text(given));
        } else if (f) {
            json_object_set(out->body, f->name, json_object_get(out->values, f->name));
        } else {
            json_object_set(out->body, key, given);
        }
    }
    bool is_id_generated = false;
    if (is_create) {
        json_t *id = json_object_get(out->values, "id");
        if (json_string_length(id) == 0) {
            const struct core_field *idf = core_collection_field(c, STR_LIT("id"));
            json_object_set_new(out->values, "id",
                                autogenerate(idf ? idf->autogenerate_pattern : NULL));
            is_id_generated = true;
        } else if (!is_valid_record_id(json_string_value(id))) {
            core_problem_field(p, "id", "validation_forbidden_pk_character",
                               "The record id contains forbidden characters.", NULL);
        }
    }
    char now[32];
    chrono_format_db_ms(chrono_real_ms(), now);
    for (size_t i = 0; i < c->field_count; i++) {
        const struct core_field *f = &c->fields[i];
        if (f->type == CORE_FIELD_AUTODATE && ((is_create && f->on_create) || f->on_update))
            json_object_set_new(out->values, f->name, json_string(now));
        /* PocketBase: a text field's autogeneratePattern fills it on create
         * when no value was given (the id is handled above). */
        if (is_create && f->type == CORE_FIELD_TEXT && !f->is_primary_key &&
            f->autogenerate_pattern && f->autogenerate_pattern[0] &&
            is_empty(f, json_object_get(out->values, f->name)))
            json_object_set_new(out->values, f->name, autogenerate(f->autogenerate_pattern));
    }
    if (c->type == CORE_COLLECTION_AUTH) {
        json_t *confirm = json_object_get(body, "passwordConfirm");
        const struct core_field *pf = core_collection_field(c, STR_LIT("password"));
        const struct core_record_secret *secret = pf ? find_secret(out, pf) : NULL;
        if (secret) {
            /* Length and pattern: validate_password(), as for any password field. */
            json_t *confirm_text = confirm ? to_text(confirm) : NULL;
            if (!is_superuser(r) && !json_string_length(confirm_text))
                core_problem_field(p, "passwordConfirm", "validation_required", "Cannot be blank.",
                                   NULL);
            else if (!is_superuser(r) && strcmp(json_string_value(confirm_text), secret->plain))
                core_problem_field(p, "passwordConfirm", "validation_values_mismatch",
                                   "Values don't match.", NULL);
            json_decref(confirm_text);
            out->password = secret->plain;
        } else if (is_create) {
            core_problem_field(p, "password", "validation_required", "Cannot be blank.", NULL);
        }
        /* A new password or email ends every token of the record (spec §6.1). */
        bool email_changed =
            !is_create && json_object_get(body, "email") &&
            !json_equal(json_object_get(out->values, "email"), json_object_get(current, "email"));
        if (is_create || out->password || email_changed)
            json_object_set_new(out->values, "tokenKey", autogenerate("[a-zA-Z0-9]{50}"));
        if (!out->is_manager) {
            json_t *verified = json_object_get(body, "verified");
            json_t *stored = current ? json_object_get(current, "verified") : json_false();
            json_t *wanted = verified ? to_bool(verified) : NULL;
            if (wanted && !json_equal(wanted, stored ? stored : json_false()))
                core_problem_field(p, "verified", "validation_values_mismatch",
                                   "Only managers can change the verified state.", NULL);
            json_decref(wanted);
            if (!is_create && json_object_get(body, "email") &&
                !json_equal(json_object_get(body, "email"), json_object_get(current, "email")))
                core_problem_field(p, "email", "validation_values_mismatch",
                                   "Use the email change flow.", NULL);
        }
    }
    for (size_t i = 0; i < c->field_count; i++) {
        /* A generated id matches its own pattern by construction: skip the regex. */
        if (is_id_generated && c->fields[i].is_primary_key)
            continue;
        if (c->fields[i].type == CORE_FIELD_PASSWORD)
            validate_password(c, &c->fields[i], out, p);
        else
            validate(&c->fields[i], json_object_get(out->values, c->fields[i].name),
                     is_identity_field(c, &c->fields[i]), p);
    }
    if (core_problem_has_fields(p)) {
        core_problem_message(p,
                             is_create ? "Failed to create record." : "Failed to update record.");
        return RC_INVALID;
    }
    return RC_OK;
}

void core_record_input_cleanup(struct core_record_input *in)
{
    json_decref(in->values);
    json_decref(in->changed);
    json_decref(in->body);
    for (size_t i = 0; i < in->secret_count; i++) {
        secure_zero(in->secrets[i].plain, strlen(in->secrets[i].plain));
        xfree(in->secrets[i].plain);
        xfree(in->secrets[i].hash);
    }
    xfree(in->secrets);
    memset(in, 0, sizeof(*in));
}
