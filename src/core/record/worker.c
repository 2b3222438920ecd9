/* worker.c -- see worker.h. */
#include "core/record/worker.h"

void core_worker_begin_read(struct core_worker *cw)
{
    /* PostgreSQL reads each statement's own snapshot (as PocketBase's do):
     * a request-wide read transaction would cost two round trips more. */
    if (cw->in_read_tx || !cw->db || store_is_remote(cw->db))
        return;
    cw->in_read_tx = store_begin_read(cw->db) == RC_OK;
}

void core_worker_end_read(struct core_worker *cw)
{
    if (!cw->in_read_tx)
        return;
    cw->in_read_tx = false;
    store_end_read(cw->db);
}
