/* handlers.h -- the API's route handlers (layer: api). One file per resource
 * implements them; routes.c binds them to paths. */
#ifndef TARMAC_API_HANDLERS_H
#define TARMAC_API_HANDLERS_H

#include "base/rc.h"

struct http_req;

/* GET /api/health */
enum rc api_health(struct http_req *req, void *ctx);

#endif
