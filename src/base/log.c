/* log.c -- see log.h. */
#include "base/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/chrono.h"

static enum log_level min_level = LOG_INFO;
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

void log_emit(const char *text, size_t len)
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
