/* health.c -- GET /api/health (spec §9.2). The cheapest route there is: it is
 * the probe a load balancer polls, so it does no I/O and allocates nothing. */
#include "api/handlers.h"

#include "http/req.h"

enum rc api_health(struct http_req *req, void *ctx)
{
    (void)ctx;
    static const char body[] = "{\"message\":\"API is healthy.\",\"code\":200,\"data\":{}}";
    http_resp_start(req, 200, "application/json");
    return buf_append(http_resp_body(req), body, sizeof(body) - 1);
}
