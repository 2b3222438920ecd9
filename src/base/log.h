/* log.h -- levelled key=value log lines (layer: base).
 *
 * One line per event: `t=<RFC 3339> level=<level> <key=value ...>`. Lines go to
 * a sink: by default a direct write(2) to stderr; the server installs a sink
 * that hands lines to a dedicated writer thread so a loop never waits on the
 * log's file or pipe. The level is set once at start-up, before threads run.
 * In the JSON format (--log-format=json) each line becomes one JSON object
 * with the same keys, every value a string, as it reaches the sink.
 * Never log passwords, tokens, cookies or Authorization values. */
#ifndef TARMAC_BASE_LOG_H
#define TARMAC_BASE_LOG_H

#include <stdbool.h>
#include <stddef.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };
enum log_format { LOG_FORMAT_TEXT, LOG_FORMAT_JSON };

/* Receives complete lines (each ends in '\n'); may be called from any thread. */
typedef void log_sink_fn(const char *text, size_t len, void *ctx);

/* Parses "debug", "info", "warn", "error"; false for anything else. */
bool log_level_parse(const char *name, enum log_level *out);
/* Parses "text" (key=value, the default) and "json"; false for anything else. */
bool log_format_parse(const char *name, enum log_format *out);
/* Sets how lines are written. Call before starting threads. */
void log_set_format(enum log_format format);
/* One key=value line (no '\n') as a JSON object with its keys in order and
 * every value a string ("quoted" values unquoted, \" and \\ undone; a word
 * without '=' is added to the key "text"), into out (cap bytes, ending in
 * '\n'). A line whose JSON would not fit is cut at a pair: the object stays
 * whole. Returns the bytes written. */
size_t log_line_json(const char *line, size_t len, char *out, size_t cap);
/* Sets the minimum level written. Call before starting threads. */
void log_set_level(enum log_level level);
/* True when lines of this level are written. */
bool log_enabled(enum log_level level);
/* Routes lines to fn(ctx) instead of stderr; NULL restores stderr. Call before
 * starting threads or after they stopped. */
void log_set_sink(log_sink_fn *fn, void *ctx);
/* Hands complete lines (already formatted) to the sink. */
void log_emit(const char *text, size_t len);
/* Formats and writes one line; fmt gives the key=value pairs after level. */
void log_write(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The level test comes first so arguments are not evaluated for a disabled
 * level (as Redis serverLog). */
#define log_debug(...)                                                                             \
    do {                                                                                           \
        if (log_enabled(LOG_DEBUG))                                                                \
            log_write(LOG_DEBUG, __VA_ARGS__);                                                     \
    } while (0)
#define log_info(...) log_write(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_write(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_write(LOG_ERROR, __VA_ARGS__)

#endif
