/* log.c -- see log.h. */
#include "base/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/chrono.h"
#include "base/utf8.h"

static enum log_level min_level = LOG_INFO;
static enum log_format format = LOG_FORMAT_TEXT;
static log_sink_fn *sink_fn;
static void *sink_ctx;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

bool log_level_parse(const char *name, enum log_level *out)
{
    for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
        if (strcmp(name, level_names[i]) == 0) {
            *out = (enum log_level)i;
            return true;
        }
    }
    return false;
}

bool log_format_parse(const char *name, enum log_format *out)
{
    if (strcmp(name, "text") == 0)
        *out = LOG_FORMAT_TEXT;
    else if (strcmp(name, "json") == 0)
        *out = LOG_FORMAT_JSON;
    else
        return false;
    return true;
}

void log_set_format(enum log_format f)
{
    format = f;
}

/* -------------------------------------------------------------------------
 * key=value to JSON
 * ------------------------------------------------------------------------- */

struct jout {
    char *p;
    size_t len, cap; /* cap excludes the room kept for "}\n" */
    bool is_full;
};

static void jput(struct jout *o, const char *s, size_t n)
{
    if (o->is_full || n > o->cap - o->len) {
        o->is_full = true;
        return;
    }
    memcpy(o->p + o->len, s, n);
    o->len += n;
}

/* s as the inside of a JSON string; with unquote, \" and \\ are undone. */
static void jescape(struct jout *o, const char *s, size_t n, bool unquote)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n;) {
        unsigned char ch = (unsigned char)s[i];
        if (unquote && ch == '\\' && i + 1 < n && (s[i + 1] == '"' || s[i + 1] == '\\')) {
            ch = (unsigned char)s[++i];
        }
        if (ch == '"' || ch == '\\') {
            char e[2] = {'\\', (char)ch};
            jput(o, e, 2);
        } else if (ch < 0x20 || ch == 0x7f) {
            char e[6] = {'\\', 'u', '0', '0', hex[ch >> 4], hex[ch & 15]};
            jput(o, e, 6);
        } else if (ch >= 0x80) {
            uint32_t cp;
            size_t k = utf8_decode((const unsigned char *)s + i, n - i, &cp);
            if (k) {
                jput(o, s + i, k);
                i += k;
                continue;
            }
            jput(o, "\\ufffd", 6); /* not UTF-8: the line stays valid JSON */
        } else {
            jput(o, (const char *)&ch, 1);
        }
        i++;
    }
}

size_t log_line_json(const char *line, size_t len, char *out, size_t cap)
{
    if (cap < 4)
        return 0;
    struct jout o = {out, 0, cap - 2, false};
    size_t done = 0; /* the bytes of whole pairs */
    bool any = false;
    jput(&o, "{", 1);
    done = o.len;
    size_t i = 0;
    while (i < len && !o.is_full) {
        while (i < len && line[i] == ' ')
            i++;
        if (i >= len)
            break;
        size_t k0 = i;
        while (i < len && line[i] != '=' && line[i] != ' ')
            i++;
        size_t klen = i - k0;
        bool is_pair = i < len && line[i] == '=' && klen;
        const char *v = line + k0;
        size_t vlen = klen;
        bool is_quoted = false;
        if (is_pair) {
            i++; /* '=' */
            if (i < len && line[i] == '"') {
                is_quoted = true;
                v = line + ++i;
                while (i < len && line[i] != '"')
                    i += line[i] == '\\' && i + 1 < len ? 2 : 1;
                vlen = (size_t)(line + (i < len ? i : len) - v);
                if (i < len)
                    i++; /* the closing quote */
            } else {
                v = line + i;
                while (i < len && line[i] != ' ')
                    i++;
                vlen = (size_t)(line + i - v);
            }
        } else {
            while (i < len && line[i] != ' ')
                i++; /* a word without '=' (or starting with one) */
            vlen = (size_t)(line + i - v);
            if (any) {            /* part of the value before it */
                o.len = done - 1; /* reopen that value's string */
                jput(&o, " ", 1);
                jescape(&o, v, vlen, false);
                jput(&o, "\"", 1);
                if (o.is_full)
                    out[done - 1] = '"'; /* closed again */
                else
                    done = o.len;
                continue;
            }
        }
        if (any)
            jput(&o, ",", 1);
        jput(&o, "\"", 1);
        if (is_pair)
            jescape(&o, line + k0, klen, false);
        else
            jput(&o, "text", 4);
        jput(&o, "\":\"", 3);
        jescape(&o, v, vlen, is_quoted);
        jput(&o, "\"", 1);
        if (!o.is_full) {
            done = o.len;
            any = true;
        }
    }
    /* Cut at the last whole pair (the room for "}\n" was kept). */
    memcpy(out + done, "}\n", 2);
    return done + 2;
}

void log_set_level(enum log_level level)
{
    min_level = level;
}

bool log_enabled(enum log_level level)
{
    return level >= min_level;
}

void log_set_sink(log_sink_fn *fn, void *ctx)
{
    sink_fn = fn;
    sink_ctx = ctx;
}

static void emit_raw(const char *text, size_t len)
{
    if (sink_fn) {
        sink_fn(text, len, sink_ctx);
        return;
    }
    while (len) {
        ssize_t n = write(STDERR_FILENO, text, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        text += n;
        len -= (size_t)n;
    }
}

void log_emit(const char *text, size_t len)
{
    if (format == LOG_FORMAT_TEXT) {
        emit_raw(text, len);
        return;
    }
    /* Line by line: the access log hands several at once. Escaping at most
     * sextuples a byte; a longer line is cut at a pair. */
    char json[16384];
    while (len) {
        const char *nl = memchr(text, '\n', len);
        size_t n = nl ? (size_t)(nl - text) : len;
        emit_raw(json, log_line_json(text, n, json, sizeof(json)));
        if (!nl)
            break;
        text += n + 1;
        len -= n + 1;
    }
}

void log_write(enum log_level level, const char *fmt, ...)
{
    if (!log_enabled(level))
        return;
    char line[2048];
    char ts[32];
    chrono_format_rfc3339_ms(chrono_real_ms(), ts);
    int n = snprintf(line, sizeof(line), "t=%s level=%s ", ts, level_names[level]);
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
    va_end(ap);
    size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
    if (len > sizeof(line) - 2)
        len = sizeof(line) - 2; /* cut: a log line is not worth an allocation */
    line[len++] = '\n';
    log_emit(line, len);
}
