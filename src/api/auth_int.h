/* auth_int.h -- helpers shared by the auth handlers (auth.c, auth_flows.c,
 * auth_otp.c);
 * private to src/api. */
#ifndef TARMAC_API_AUTH_INT_H
#define TARMAC_API_AUTH_INT_H

#include <jansson.h>

#include "api/call.h"

/* The path's auth collection; 404 `Missing or invalid auth collection context.` otherwise. */
enum rc api_auth_collection_or_fail(struct api_call *c, const struct core_collection **out);
/* The requester must be an auth record of the path's collection: 401
 * without auth, 403 naming the holder's collection otherwise (Appendix B). */
enum rc api_auth_same_collection_or_fail(struct api_call *c, const struct core_collection **out);
/* The record of col whose identity field equals identity (email: without
 * case), every field, or NULL. */
json_t *api_auth_find_identity(struct api_call *c, const struct core_collection *col,
                               const char *field, const char *identity);
/* Writes the auth response {token, record} for record of col, once the
 * authRule and the scripts' before_auth hooks let it (method: "password",
 * "otp"; after_auth hooks run once it is written). */
enum rc api_auth_write_response(struct api_call *c, const struct core_collection *col,
                                json_t *record, const char *method);

/* The same with the OAuth2 `meta` object (JSON text) after the record. */
enum rc api_auth_write_response_meta(struct api_call *c, const struct core_collection *col,
                                     json_t *record, struct str meta);
struct jsonw;
/* Writes auth-methods' "oauth2" key: each enabled provider with a fresh
 * state, PKCE pair and authorization URL (auth_oauth2.c). */
void api_auth_oauth2_methods(struct jsonw *w, const struct core_collection *col);
/* Sends a plain-text mail through the app's mailer, or logs it when no
 * SMTP host is set; a mail that cannot be queued is logged, not an error
 * (the flows answer the same either way). */
void api_auth_send_mail(struct api_call *c, const char *to, const char *subject, const char *text);
/* Reads {"<key>": "<email>"} from the body; writes 400 with data.<key> and
 * returns NULL when it is blank or not an email address. */
const char *api_auth_email_or_fail(struct api_call *c, const char *key);

#endif
