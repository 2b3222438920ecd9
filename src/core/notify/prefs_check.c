/* prefs_check.c -- see prefs.h: quiet hours and a preferences record's
 * checks (pure; prefs.c reads and listens). */
#include "core/notify/prefs.h"

#include <stdio.h>
#include <string.h>

/* "HH:MM" as minutes of the day, -1 when it is not one. */
static int minutes_of(json_t *v)
{
    const char *s = json_string_value(v);
    int h, m;
    char end;
    if (!s || strlen(s) != 5 || sscanf(s, "%2d:%2d%c", &h, &m, &end) != 2 || s[2] != ':' || h < 0 ||
        h > 23 || m < 0 || m > 59)
        return -1;
    return h * 60 + m;
}

/* utcOffset: whole minutes east of UTC, UTC-12 to UTC+14. */
static bool offset_of(json_t *v, int *out)
{
    if (!json_is_integer(v) || json_integer_value(v) < -12 * 60 || json_integer_value(v) > 14 * 60)
        return false;
    *out = (int)json_integer_value(v);
    return true;
}

int64_t core_prefs_quiet_end(json_t *quiet, int64_t now_ms)
{
    int start = minutes_of(json_object_get(quiet, "start"));
    int end = minutes_of(json_object_get(quiet, "end"));
    int offset = 0;
    if (start < 0 || end < 0 || start == end ||
        !offset_of(json_object_get(quiet, "utcOffset"), &offset))
        return 0;
    int64_t minute = now_ms / 60000;
    int local = (int)(((minute + offset) % 1440 + 1440) % 1440);
    bool is_inside = start < end ? local >= start && local < end : local >= start || local < end;
    if (!is_inside)
        return 0;
    int wait = ((end - local) % 1440 + 1440) % 1440;
    return (minute + wait) * 60000;
}

enum rc core_prefs_check(json_t *values, struct core_problem *p)
{
    json_t *muted = json_object_get(values, "muted");
    bool is_ok = !muted || json_is_null(muted) || json_is_object(muted);
    const char *k;
    json_t *v;
    json_object_foreach(json_is_object(muted) ? muted : NULL, k, v)
    {
        size_t i;
        json_t *ch;
        is_ok = is_ok && json_is_array(v);
        json_array_foreach(json_is_array(v) ? v : NULL, i, ch)
        {
            const char *name = json_string_value(ch);
            is_ok = is_ok && name &&
                    (strcmp(name, "push") == 0 || strcmp(name, "inbox") == 0 ||
                     strcmp(name, "sms") == 0 || strcmp(name, "email") == 0);
        }
    }
    if (!is_ok)
        core_problem_field(p, "muted", "validation_invalid_value",
                           "Must be an object of category (or *) -> a list of the channels push, "
                           "inbox, sms and email.",
                           NULL);
    json_t *quiet = json_object_get(values, "quietHours");
    if (quiet && !json_is_null(quiet)) {
        int offset;
        is_ok = json_is_object(quiet) && json_object_size(quiet) == 3 &&
                minutes_of(json_object_get(quiet, "start")) >= 0 &&
                minutes_of(json_object_get(quiet, "end")) >= 0 &&
                offset_of(json_object_get(quiet, "utcOffset"), &offset);
        if (!is_ok)
            core_problem_field(p, "quietHours", "validation_invalid_value",
                               "Must be {start: \"HH:MM\", end: \"HH:MM\", utcOffset: minutes "
                               "east of UTC (-720 to 840)}.",
                               NULL);
    }
    if (core_problem_has_fields(p)) {
        core_problem_message(p, "Failed to save the preferences.");
        return RC_INVALID;
    }
    return RC_OK;
}
