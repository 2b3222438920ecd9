/* reco_int.h -- what the files of core/reco/ share. */
#ifndef TARMAC_CORE_RECO_RECO_INT_H
#define TARMAC_CORE_RECO_RECO_INT_H

#include "core/reco/reco.h"

/* A `_recommenders` record's collections, resolved against a schema. */
struct reco_def {
    const struct core_collection *interactions;
    const struct core_collection *items;
    int64_t half_life_ms;
};

/* Resolves and checks values (a `_recommenders` record); RC_INVALID with
 * field errors in p. */
enum rc reco_def_resolve(const struct core_schema *schema, json_t *values, struct reco_def *d,
                         struct core_problem *p);

#endif
