/* worker.c -- see worker.h. */
#include "api/worker.h"

#include "net/worker.h"

struct api_worker *api_worker_of(struct http_req *req)
{
    return http_req_worker(req)->user;
}
