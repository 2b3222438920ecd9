/* identity.h -- who is asking (layer: core).
 *
 * The requester of an operation: a guest, a record of an auth collection, or
 * a superuser (a record of _superusers). api/ fills it from the request's
 * token (core/auth/auth.h loads it); core reads it for rules
 * (@request.auth.*) and visibility. Below record/ in core's folder order, so
 * reads and writes can see it without reaching auth/. */
#ifndef TARMAC_CORE_IDENTITY_H
#define TARMAC_CORE_IDENTITY_H

#include <jansson.h>
#include <stdbool.h>

#include "core/schema/collection.h"

struct core_auth {
    const struct core_collection *collection; /* NULL: a guest */
    json_t *record;                           /* all its fields; borrowed; NULL for a guest */
    const char *id;                           /* the record's id; NULL for a guest */
    bool is_superuser;
    bool is_refreshable; /* the token's "refreshable" claim */
};

#endif
