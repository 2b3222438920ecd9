/* fault.c -- /api/_test/fault: arms and disarms the fault points of
 * base/fault.h in a running server, for tests/fault/run.py. Test builds only
 * (-DTARMAC_FAULTS): without the flag this file is empty and routes.c adds no
 * route, so the release binary answers 404 there like anywhere unknown. No
 * auth: a token check would itself allocate and step while a walk counts.
 *
 *   POST   /api/_test/fault?point=alloc&nth=3   204; the 3rd hit of alloc
 *          from the next request on fails (fault_arm_at_next_request)
 *   DELETE /api/_test/fault                     200 {"fired":bool,"hits":N} */
#include "api/handlers.h"

#ifdef TARMAC_FAULTS

#include <stdio.h>

#include "api/errors.h"
#include "base/buf.h"
#include "base/fault.h"
#include "http/req.h"

enum rc api_fault_arm(struct http_req *req, void *ctx)
{
    (void)ctx;
    struct str point = {0};
    struct str nth_text = {0};
    enum fault_point p;
    uint64_t nth = 0;
    if (http_req_query(req, "point", &point) != RC_OK || !fault_point_parse(point, &p) ||
        http_req_query(req, "nth", &nth_text) != RC_OK || !str_to_u64(nth_text, &nth) || nth == 0) {
        api_error_write(req, 400, "Give point=alloc|step|write|sync|db_alloc and nth >= 1.");
        return RC_OK;
    }
    fault_arm_at_next_request(p, nth);
    http_resp_start(req, 204, NULL);
    return RC_OK;
}

enum rc api_fault_disarm(struct http_req *req, void *ctx)
{
    (void)ctx;
    uint64_t hits = 0;
    bool fired = fault_disarm(&hits);
    char body[96];
    int n = snprintf(body, sizeof(body), "{\"fired\":%s,\"hits\":%llu}", fired ? "true" : "false",
                     (unsigned long long)hits);
    http_resp_start(req, 200, "application/json");
    return buf_append(http_resp_body(req), body, (size_t)n);
}

#endif
