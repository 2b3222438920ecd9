/* routes.c -- see routes.h. Every route the server answers is listed here, so
 * this file is the map of the API. */
#include "api/routes.h"

#include "api/handlers.h"
#include "http/router.h"

void api_routes_register(struct http_router *r)
{
    http_router_add(r, HTTP_METHOD_GET, "/api/health", api_health, NULL);
}
