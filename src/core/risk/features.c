/* features.c -- see risk.h: a scored write's features from the user's
 * earlier events, and the events table kept in step. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/risk/risk_int.h"

#define HOUR_MS 3600000LL
#define AMOUNTS 100 /* the amounts the median and MAD are taken over */
#define RECENT 200  /* the events the location and hours are read from */

/* Every feature and whether it is a count (an integer) or a measure (a
 * real): a feature keeps its JSON type whatever its value, so a rule's
 * statement binds the same parameter types on every write (PostgreSQL
 * prepares it once). first_* are booleans. */
static const struct {
    const char *name;
    bool is_count;
} features[] = {
    {"count_1h", true},    {"count_24h", true},   {"count_7d", true},     {"sum_1h", false},
    {"sum_24h", false},    {"sum_7d", false},     {"amount", false},      {"amount_median", false},
    {"amount_z", false},   {"history", true},     {"distance_km", false}, {"speed_kmh", false},
    {"hour", true},        {"hour_share", false}, {"declined_1h", true},  {"declined_24h", true},
    {"declined_7d", true},
};

json_t *risk_features_blank(void)
{
    json_t *o = json_object();
    for (size_t i = 0; i < sizeof(features) / sizeof(features[0]); i++)
        json_object_set_new(o, features[i].name,
                            features[i].is_count ? json_integer(0) : json_real(0));
    json_object_set_new(o, "first_device", json_false());
    json_object_set_new(o, "first_ip", json_false());
    return o;
}

static void bind_common(struct store_stmt *st, const struct risk_input *in)
{
    store_reset(st);
    store_bind_text(st, 1, str_from_cstr(in->model));
    store_bind_text(st, 2, str_from_cstr(in->user));
}

/* The model and user, then the windows' starts (?3 1 h, ?4 24 h, ?5 7 d)
 * and their end, T (?6). */
static void bind_windows(struct store_stmt *st, const struct risk_input *in)
{
    bind_common(st, in);
    store_bind_int64(st, 3, in->t - HOUR_MS);
    store_bind_int64(st, 4, in->t - 24 * HOUR_MS);
    store_bind_int64(st, 5, in->t - 7 * 24 * HOUR_MS);
    store_bind_int64(st, 6, in->t);
}

/* count_* and sum_* over the three windows, and history. */
static enum rc windows(struct store_conn *db, const struct risk_input *in, json_t *out)
{
    struct store_stmt *st;
    enum rc rc = store_prepare(
        db,
        STR_LIT("SELECT COALESCE(SUM(CASE WHEN at >= ?3 THEN 1 ELSE 0 END), 0), "
                "COALESCE(SUM(CASE WHEN at >= ?3 THEN COALESCE(amount, 0) ELSE 0 END), 0), "
                "COALESCE(SUM(CASE WHEN at >= ?4 THEN 1 ELSE 0 END), 0), "
                "COALESCE(SUM(CASE WHEN at >= ?4 THEN COALESCE(amount, 0) ELSE 0 END), 0), "
                "COALESCE(SUM(CASE WHEN at >= ?5 THEN 1 ELSE 0 END), 0), "
                "COALESCE(SUM(CASE WHEN at >= ?5 THEN COALESCE(amount, 0) ELSE 0 END), 0), "
                "COUNT(*) FROM _risk_events WHERE model = ?1 AND \"user\" = ?2 AND at <= ?6"),
        &st);
    if (rc)
        return rc;
    bind_windows(st, in);
    rc = store_step(st);
    if (rc == RC_OK) {
        static const char *const keys[] = {"count_1h", "sum_1h",   "count_24h",
                                           "sum_24h",  "count_7d", "sum_7d"};
        for (int i = 0; i < 6; i++)
            json_object_set_new(out, keys[i],
                                i % 2 ? json_real(store_column_double(st, i))
                                      : json_integer(store_column_int64(st, i)));
        json_object_set_new(out, "history", json_integer(store_column_int64(st, 6)));
    }
    store_done(st);
    return rc == RC_NOT_FOUND ? RC_OK : rc;
}

/* declined_* over the three windows (the same edges as windows()). */
static enum rc declined(struct store_conn *db, const struct risk_input *in, json_t *out)
{
    struct store_stmt *st;
    enum rc rc = store_prepare(
        db,
        STR_LIT("SELECT COALESCE(SUM(CASE WHEN at >= ?3 THEN 1 ELSE 0 END), 0), "
                "COALESCE(SUM(CASE WHEN at >= ?4 THEN 1 ELSE 0 END), 0), COUNT(*) FROM "
                "_risk_declined WHERE model = ?1 AND \"user\" = ?2 AND at >= ?5 AND at <= ?6"),
        &st);
    if (rc)
        return rc;
    bind_windows(st, in);
    rc = store_step(st);
    if (rc == RC_OK) {
        static const char *const keys[] = {"declined_1h", "declined_24h", "declined_7d"};
        for (int i = 0; i < 3; i++)
            json_object_set_new(out, keys[i], json_integer(store_column_int64(st, i)));
    }
    store_done(st);
    return rc == RC_NOT_FOUND ? RC_OK : rc;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median_of(double *v, size_t n)
{
    qsort(v, n, sizeof(*v), by_value);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* (amount - median) / (1.4826 MAD), within +-100. */
static double robust_z(double amount, double *amounts, size_t n, double *median)
{
    *median = median_of(amounts, n);
    for (size_t i = 0; i < n; i++)
        amounts[i] = fabs(amounts[i] - *median);
    double mad = median_of(amounts, n) * 1.4826;
    double d = amount - *median;
    double z = mad > 0 ? d / mad : d > 0 ? 100 : d < 0 ? -100 : 0;
    return z > 100 ? 100 : z < -100 ? -100 : z;
}

static double radians(double deg)
{
    return deg * M_PI / 180;
}

/* The great-circle distance in km (haversine, the earth a sphere). */
static double distance_km(double lat1, double lon1, double lat2, double lon2)
{
    double dlat = radians(lat2 - lat1), dlon = radians(lon2 - lon1);
    double a = sin(dlat / 2) * sin(dlat / 2) +
               cos(radians(lat1)) * cos(radians(lat2)) * sin(dlon / 2) * sin(dlon / 2);
    return 6371.0088 * 2 * atan2(sqrt(a), sqrt(1 - a));
}

/* amount_*, distance_km, speed_kmh, hour, hour_share from the user's
 * recent events. */
static enum rc recent(struct store_conn *db, const struct risk_input *in, json_t *out)
{
    struct store_stmt *st;
    enum rc rc = store_prepare(db,
                               STR_LIT("SELECT at, amount, lat, lon, located FROM _risk_events "
                                       "WHERE model = ?1 AND \"user\" = ?2 AND at <= ?3 ORDER BY "
                                       "at DESC LIMIT 200"),
                               &st);
    if (rc)
        return rc;
    bind_common(st, in);
    store_bind_int64(st, 3, in->t);
    double amounts[AMOUNTS];
    size_t n_amounts = 0, n = 0, near = 0;
    bool has_last = false;
    int hour = (int)((in->t / HOUR_MS) % 24);
    while ((rc = store_step(st)) == RC_OK) {
        int64_t at = store_column_int64(st, 0);
        struct str amount = store_column_text(st, 1);
        if (amount.len && n_amounts < AMOUNTS)
            amounts[n_amounts++] = store_column_double(st, 1);
        if (!has_last && in->has_location && store_column_int64(st, 4)) {
            has_last = true;
            double km = distance_km(store_column_double(st, 2), store_column_double(st, 3), in->lat,
                                    in->lon);
            double hours = (double)(in->t - at) / HOUR_MS;
            json_object_set_new(out, "distance_km", json_real(km));
            json_object_set_new(out, "speed_kmh",
                                json_real(km / (hours > 1.0 / 60 ? hours : 1.0 / 60)));
        }
        int h = (int)((at / HOUR_MS) % 24);
        int d = abs(h - hour);
        near += d <= 1 || d >= 23;
        n++;
    }
    store_done(st);
    if (rc != RC_NOT_FOUND)
        return rc;
    json_object_set_new(out, "hour", json_integer(hour));
    json_object_set_new(out, "hour_share", json_real(n ? (double)near / (double)n : 1));
    if (in->has_amount) {
        json_object_set_new(out, "amount", json_real(in->amount));
        if (n_amounts >= 5) {
            double median;
            double z = robust_z(in->amount, amounts, n_amounts, &median);
            json_object_set_new(out, "amount_median", json_real(median));
            json_object_set_new(out, "amount_z", json_real(z));
        }
    }
    return RC_OK;
}

/* first_device / first_ip: the user never had value in column before. */
static enum rc first(struct store_conn *db, const struct risk_input *in, const char *key,
                     struct str sql, const char *value, json_t *out)
{
    if (!value || !value[0])
        return RC_OK;
    struct store_stmt *st;
    enum rc rc = store_prepare(db, sql, &st);
    if (rc)
        return rc;
    bind_common(st, in);
    store_bind_text(st, 3, str_from_cstr(value));
    rc = store_step(st);
    store_done(st);
    if (rc == RC_NOT_FOUND)
        json_object_set_new(out, key, json_true());
    return rc == RC_OK || rc == RC_NOT_FOUND ? RC_OK : rc;
}

enum rc risk_features(struct store_conn *db, const struct risk_input *in, json_t **out)
{
    json_t *f = risk_features_blank();
    enum rc rc = windows(db, in, f);
    if (!rc)
        rc = declined(db, in, f);
    if (!rc)
        rc = recent(db, in, f);
    if (!rc)
        rc = first(db, in, "first_device",
                   STR_LIT("SELECT 1 FROM _risk_events WHERE model = ?1 AND \"user\" = ?2 AND "
                           "device = ?3 LIMIT 1"),
                   in->device, f);
    if (!rc)
        rc = first(db, in, "first_ip",
                   STR_LIT("SELECT 1 FROM _risk_events WHERE model = ?1 AND \"user\" = ?2 AND "
                           "ip = ?3 LIMIT 1"),
                   in->ip, f);
    if (rc) {
        json_decref(f);
        return rc;
    }
    *out = f;
    return RC_OK;
}

enum rc risk_add_event(struct store_conn *db, const struct risk_input *in)
{
    struct store_stmt *st;
    enum rc rc = store_prepare(db,
                               STR_LIT("INSERT INTO _risk_events (model, \"user\", record, at, "
                                       "amount, lat, lon, located, device, ip) VALUES (?1, ?2, ?3, "
                                       "?4, ?5, ?6, ?7, ?8, ?9, ?10)"),
                               &st);
    if (rc)
        return rc;
    bind_common(st, in);
    store_bind_text(st, 3, str_from_cstr(in->record));
    store_bind_int64(st, 4, in->t);
    if (in->has_amount)
        store_bind_double(st, 5, in->amount);
    else
        store_bind_null(st, 5);
    store_bind_double(st, 6, in->has_location ? in->lat : 0);
    store_bind_double(st, 7, in->has_location ? in->lon : 0);
    store_bind_int64(st, 8, in->has_location);
    store_bind_text(st, 9, str_from_cstr(in->device ? in->device : ""));
    store_bind_text(st, 10, str_from_cstr(in->ip ? in->ip : ""));
    rc = store_step(st);
    store_done(st);
    return rc == RC_NOT_FOUND ? RC_OK : rc;
}

enum rc risk_add_declined(struct store_conn *db, const char *model, const char *user, int64_t t)
{
    struct store_stmt *st;
    enum rc rc = store_prepare(
        db, STR_LIT("INSERT INTO _risk_declined (model, \"user\", at) VALUES (?1, ?2, ?3)"), &st);
    if (rc)
        return rc;
    store_bind_text(st, 1, str_from_cstr(model));
    store_bind_text(st, 2, str_from_cstr(user));
    store_bind_int64(st, 3, t);
    rc = store_step(st);
    store_done(st);
    return rc == RC_NOT_FOUND ? RC_OK : rc;
}
