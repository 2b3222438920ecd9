/* worker.c -- see worker.h. */
#include "api/worker.h"

#include "net/worker.h"

struct api_worker *api_worker_of(struct http_req *req)
{
    return http_req_worker(req)->user;
}

bool api_worker_is_busy(const struct api_worker *aw)
{
    return aw->file_reads > 0 || aw->page_pieces > 0;
}
