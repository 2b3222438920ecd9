/* cron.h -- five-field cron expressions, UTC (layer: base; no product in it).
 *
 * "minute hour day-of-month month day-of-week": each field "*", a number, a
 * range "a-b", a step "* /n" or "a-b/n" (written without the space), or a
 * comma list of those; day-of-week 0-7 (0 and 7 are Sunday). Macros:
 * @yearly (@annually), @monthly, @weekly, @daily (@midnight), @hourly. As in
 * Vixie cron, when both day fields are restricted a day matching either one
 * matches. Pure; thread-safe. */
#ifndef TARMAC_BASE_CRON_H
#define TARMAC_BASE_CRON_H

#include <stdbool.h>
#include <stdint.h>

#include "base/str.h"

struct cron {
    uint64_t minutes; /* bit m: minute m (0-59) */
    uint32_t hours;   /* bit h (0-23) */
    uint32_t days;    /* bit d (1-31) */
    uint16_t months;  /* bit m (1-12) */
    uint8_t weekdays; /* bit w (0-6, Sunday 0) */
    bool is_days_any;
    bool is_weekdays_any;
};

/* Parses expr into *out; false when it is not a valid expression. */
bool cron_parse(struct str expr, struct cron *out);
/* The first minute strictly after after_ms (unix ms) that c matches, as unix
 * ms; -1 when none comes within about five years (e.g. "0 0 31 2 *"). */
int64_t cron_next(const struct cron *c, int64_t after_ms);

#endif
