/* routes.h -- the whole route table (layer: api). */
#ifndef TARMAC_API_ROUTES_H
#define TARMAC_API_ROUTES_H

struct http_router;

/* Registers every API route on r. Called once, before workers start. */
void api_routes_register(struct http_router *r);

#endif
