/* chrono.h -- clocks and date formats (layer: base). Pure but for the clock reads. */
#ifndef TARMAC_BASE_CHRONO_H
#define TARMAC_BASE_CHRONO_H

#include <stdbool.h>
#include <stdint.h>

/* Wall-clock milliseconds since the Unix epoch. */
int64_t chrono_real_ms(void);
/* Monotonic nanoseconds from an arbitrary origin; for durations only. */
uint64_t chrono_mono_ns(void);
/* The same clock read coarsely (CLOCK_MONOTONIC_COARSE: the last timer tick,
 * a few milliseconds old at most) and about a third of the cost: for budgets
 * read on every request. */
uint64_t chrono_mono_coarse_ns(void);
/* Writes the IMF-fixdate of RFC 9110 §5.6.7 ("Sun, 06 Nov 1994 08:49:37 GMT")
 * for unix seconds t into out (30 bytes incl. NUL); returns the length (29). */
int chrono_format_http_date(int64_t t, char out[30]);
/* Writes "2006-01-02T15:04:05.000Z" for epoch ms into out (32 bytes); returns the length. */
int chrono_format_rfc3339_ms(int64_t ms, char out[32]);

/* Writes "2006-01-02 15:04:05.000Z" (the API's date format) for epoch ms
 * into out (32 bytes); returns the length (24). */
int chrono_format_db_ms(int64_t ms, char out[32]);
/* Reads "2006-01-02 15:04:05.000Z" (the API's date format; a "T" for the
 * space and no milliseconds are taken too) into epoch ms; false when s is
 * not one. */
bool chrono_parse_db_ms(const char *s, int64_t *out);

#endif
