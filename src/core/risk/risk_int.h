/* risk_int.h -- what the files of core/risk/ share. */
#ifndef TARMAC_CORE_RISK_RISK_INT_H
#define TARMAC_CORE_RISK_RISK_INT_H

#include <jansson.h>
#include <stdbool.h>

#include "core/risk/risk.h"

/* One scored write as features.c reads it. */
struct risk_input {
    const char *model, *user, *record;
    int64_t t; /* the event's time, unix ms */
    bool has_amount;
    double amount;
    bool has_location;
    double lat, lon;
    const char *device, *ip; /* "" when none */
};

/* The features of in (risk.h) as a new JSON object in *out. */
enum rc risk_features(struct store_conn *db, const struct risk_input *in, json_t **out);
/* Adds in to the user's events. */
enum rc risk_add_event(struct store_conn *db, const struct risk_input *in);
/* Adds in to the user's blocked attempts. */
enum rc risk_add_declined(struct store_conn *db, const char *model, const char *user, int64_t t);
/* Every feature with a zero value: what a rule compiles against when saved. */
json_t *risk_features_blank(void);

#endif
