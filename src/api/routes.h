/* routes.h -- the whole route table (layer: api). */
#ifndef TARMAC_API_ROUTES_H
#define TARMAC_API_ROUTES_H

struct http_router;
struct api_limits;

/* Registers every API route on r. Called once, before workers start.
 * limits (borrowed for the process's life) may be NULL: no rate limits. */
void api_routes_register(struct http_router *r, struct api_limits *limits);

#endif
