/* fuzz_cron.c -- libFuzzer target for the cron expression parser
 * (base/cron.h), which reads `_schedules` records a superuser writes.
 *
 * The input is the expression. Checks the contract, not just "no crash":
 * an accepted expression has at least one value in every field, only
 * values in range, and parsing it again gives the same result; the next
 * time after a few instants is -1 or a whole minute strictly later that
 * matches every field. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/cron.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool matches(const struct cron *c, int64_t ms)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    bool dom = (c->days >> tm.tm_mday) & 1, dow = (c->weekdays >> tm.tm_wday) & 1;
    bool day = c->is_days_any ? dow : c->is_weekdays_any ? dom : (dom || dow);
    return ((c->minutes >> tm.tm_min) & 1) && ((c->hours >> tm.tm_hour) & 1) &&
           ((c->months >> (tm.tm_mon + 1)) & 1) && day;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 256)
        return 0;
    struct str expr = {(const char *)data, size};
    struct cron c, again;
    if (!cron_parse(expr, &c))
        return 0;
    if (!cron_parse(expr, &again) || memcmp(&c, &again, sizeof(c)) != 0)
        abort();
    if (!c.minutes || !c.hours || !c.days || !c.months || !c.weekdays)
        abort();
    if ((c.minutes >> 60) || (c.hours >> 24) || (c.days & 1) || (c.months & 1) ||
        (c.months >> 13) || (c.weekdays >> 7))
        abort();
    static const int64_t after[] = {0, 1798975000000LL /* 2027-01-03 */,
                                    1835481599999LL /* 2028-02-29 23:59:59.999 */};
    for (size_t i = 0; i < sizeof(after) / sizeof(after[0]); i++) {
        int64_t next = cron_next(&c, after[i]);
        if (next == -1)
            continue;
        if (next <= after[i] || next % 60000 != 0 || !matches(&c, next))
            abort();
    }
    return 0;
}
