/* rc.h -- project-wide return codes (layer: base).
 *
 * Fallible functions return enum rc; RC_OK is 0 so `if (rc) return rc;` reads
 * "on error". Only api/errors.c maps these to HTTP statuses. */
#ifndef TARMAC_BASE_RC_H
#define TARMAC_BASE_RC_H

/* One row per code: name, human description. The list is the enum and the
 * name table at once, so the two cannot drift apart. */
#define RC_LIST(X)                                                                                 \
    X(RC_OK, "ok")                                                                                 \
    X(RC_INVALID, "invalid input")                                                                 \
    X(RC_NOT_FOUND, "not found")                                                                   \
    X(RC_UNAUTHORIZED, "unauthorized")                                                             \
    X(RC_FORBIDDEN, "forbidden")                                                                   \
    X(RC_CONFLICT, "conflict")                                                                     \
    X(RC_TOO_LARGE, "too large")                                                                   \
    X(RC_RATE_LIMITED, "rate limited")                                                             \
    X(RC_OVER_BUDGET, "over budget")                                                               \
    X(RC_BUSY, "busy")                                                                             \
    X(RC_NOMEM, "out of memory")                                                                   \
    X(RC_IO, "i/o error")                                                                          \
    X(RC_UNAVAILABLE, "unavailable")                                                               \
    X(RC_INTERNAL, "internal error")

#define RC_ENUM_ROW(name, text) name,
enum rc { RC_LIST(RC_ENUM_ROW) RC_COUNT };
#undef RC_ENUM_ROW

/* Returns the code's name ("RC_NOT_FOUND"); never NULL. */
const char *rc_name(enum rc rc);
/* Returns the code's description ("not found"); never NULL. */
const char *rc_text(enum rc rc);

#endif
