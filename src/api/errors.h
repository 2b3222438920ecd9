/* errors.h -- enum rc and statuses -> the contract's error JSON (layer: api).
 *
 * Every non-2xx response is {"status":N,"message":"...","data":{}} (spec §1.3).
 * This is the one place that maps return codes to HTTP statuses and writes
 * that body. 5xx bodies are generic; details belong in the log. */
#ifndef TARMAC_API_ERRORS_H
#define TARMAC_API_ERRORS_H

#include <jansson.h>

#include "base/buf.h"
#include "base/rc.h"

struct http_req;

/* The HTTP status for a return code (RC_NOT_FOUND -> 404, ...). */
int api_error_status(enum rc rc);
/* The status's default message (spec §1.3): a static string. */
const char *api_error_message(int status);
/* Writes the error response: status, message (NULL: the status's default
 * message), data {}. Matches http_error_fn, so http/server uses it too. */
void api_error_write(struct http_req *req, int status, const char *message);
/* Renders the error JSON into out (reset first) with data's field errors
 * (NULL or empty: {}; never for 5xx). */
void api_error_render(struct buf *out, int status, const char *message, json_t *data);
/* message as a sentence (capitalised, with final punctuation): message itself
 * or a copy in out. */
const char *api_error_sentence(const char *message, char out[256]);
/* Writes the error for rc with an optional message. */
void api_error_write_rc(struct http_req *req, enum rc rc, const char *message);

#endif
