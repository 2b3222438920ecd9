/* problem.h -- what went wrong, for the client (layer: core).
 *
 * core fills a problem (a sentence and per-field errors) and returns an enum
 * rc; api/errors.c picks the status from the rc and renders
 * {"status","message","data"} (spec §1.3). Field errors nest like the input:
 * "fields.2.name" becomes {"fields":{"2":{"name":{"code":..,"message":..}}}}. */
#ifndef TARMAC_CORE_PROBLEM_H
#define TARMAC_CORE_PROBLEM_H

#include <jansson.h>
#include <stdbool.h>

#include "base/rc.h"

struct core_problem {
    char message[160]; /* "" = the status's default message */
    json_t *data;      /* NULL or an object of field errors; owned */
};

/* Sets p up empty. */
void core_problem_init(struct core_problem *p);
/* Frees the field errors. */
void core_problem_cleanup(struct core_problem *p);
/* Sets the message (copied, cut at 159 bytes). */
void core_problem_message(struct core_problem *p, const char *message);
/* Adds an error at a dotted path ("title", "fields.2.name"). The first error
 * at a path wins. params may be NULL; the problem takes ownership of it (so
 * json_pack(...) can be passed inline), also when the error is dropped. */
void core_problem_field(struct core_problem *p, const char *path, const char *code,
                        const char *message, json_t *params);
/* True when field errors were added. */
bool core_problem_has_fields(const struct core_problem *p);

/* The contract's status of rc, as the scripts' and extensions' APIs speak
 * it (tarmac.refuse, include/tarmac.h): 400, 401, 403, 404, 409, 413, 429,
 * 503; anything else 500. api/errors.c answers the same statuses. */
int core_problem_status(enum rc rc);
/* The inverse for a refusal's status: the code a write fails with (an
 * unlisted 4xx is RC_INVALID, an unlisted 5xx RC_INTERNAL). */
enum rc core_problem_rc(int status);

#endif
