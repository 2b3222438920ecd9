/* auth_int.h -- helpers shared by the auth handlers (auth.c, auth_flows.c,
 * auth_otp.c, auth_oauth2.c, auth_signin.c);
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
 * case), every field, into *out, or NULL; the read's error is returned
 * (core_auth_find_identity). */
enum rc api_auth_find_identity(struct api_call *c, const struct core_collection *col,
                               const char *field, const char *identity, json_t **out);
/* Sets body's password and passwordConfirm to one random 30-character
 * password: an account made by OTP or OAuth2 whose owner never chose one. */
void api_auth_random_password(json_t *body);
/* Finishes a sign-in whose credentials succeeded (auth_signin.c), on a
 * deferred request: the authRule (403), the scripts' before_auth hooks,
 * then MFA (spec §6.9: a first factor answers 401 {"mfaId"}; a second one
 * sends mfaId in the query or the body), the new-origin alert, and the auth
 * response {token, record[, meta]} (meta: OAuth2's JSON object, else empty),
 * after which the after_auth hooks run. Answers and resumes the request,
 * now or once its writes are done; the caller neither answers nor resumes.
 * A request whose client left is just resumed. Takes a new reference to
 * record (every field); meta is copied. method: "password", "otp",
 * "oauth2". */
void api_auth_signin(struct api_call *c, const struct core_collection *col, json_t *record,
                     const char *method, struct str meta);
/* Writes {"token", "record"[, "meta"]} for record (every field) of col,
 * speaking as that record from now on: a refreshable token or, with
 * is_refreshable false, an impersonation token of duration_s seconds (0 =
 * the collection's token duration). RC_OK when answered (also with an
 * error). */
enum rc api_auth_write_token(struct api_call *c, const struct core_collection *col, json_t *record,
                             bool is_refreshable, int64_t duration_s, struct str meta);
/* The collection's authRule for record id (spec §4), with @request.context
 * context; false when it fails and the 403 is written. */
bool api_auth_rule_or_fail(struct api_call *c, const struct core_collection *col, const char *id,
                           const char *context);
struct jsonw;
struct core_oidc;
/* Writes auth-methods' "oauth2" key: each enabled provider with a fresh
 * state, PKCE pair and authorization URL (auth_oauth2.c); a provider whose
 * authorization endpoint is discovery's, without a document in oidc's
 * cache, is left out (and logged). */
void api_auth_oauth2_methods(struct jsonw *w, const struct core_collection *col,
                             struct core_oidc *oidc);
/* Writes auth-methods' answer for col (auth.c). */
typedef void api_auth_methods_fn(struct api_call *c, const struct core_collection *col);
/* When an enabled provider of col takes its authorization endpoint from a
 * discovery document never fetched, fetches them on the offload pool,
 * defers c and returns true: then(c, col) answers on the loop once they are
 * in (or failed). False when nothing is missing (answer at once). */
bool api_auth_oauth2_discover_first(struct api_call *c, const struct core_collection *col,
                                    api_auth_methods_fn *then);
/* Reads {"<key>": "<email>"} from the body; writes 400 with data.<key> and
 * returns NULL when it is blank or not an email address. */
const char *api_auth_email_or_fail(struct api_call *c, const char *key);
/* Phone sign-up (auth_otp_signup.c): whether request-otp texts a sign-up
 * code to a number no account of col holds (col has a phone field and a
 * createRule that is not null, and is not _superusers). */
bool api_auth_otp_is_signup_open(const struct core_collection *col);
/* auth-with-otp with a right sign-up code (its OTP's recordRef is
 * CORE_OTP_SIGNUP_REF) texted to phone: makes the account through the
 * records API's create (createRule with @request.context "otp", the
 * body's createData, validation, hooks, realtime), spends the code and
 * signs in with meta {"isNew": true}; an account that got the number in
 * the meantime is signed in instead ({"isNew": false}). Answers (also with
 * an error); the caller returns. */
void api_auth_otp_signup(struct api_call *c, const struct core_collection *col, const char *otp_id,
                         const char *phone);

#endif
