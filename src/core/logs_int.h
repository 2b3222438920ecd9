/* logs_int.h -- private to core/logs*.c: the compiled reads of this
 * instance's request log (logs.c), for logs_read.c's answers. */
#ifndef TARMAC_CORE_LOGS_INT_H
#define TARMAC_CORE_LOGS_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/rc.h"
#include "base/str.h"
#include "core/problem.h"

struct store_logs;

/* The log opened by core_logs_open, or NULL. */
struct store_logs *core_logs_store(void);
/* Compiles filter and sort and reads limit rows from offset into items
 * (entries separated by commas) and *total (-1 when skip_total); the ORDER
 * BY text into order (for a merge). RC_INVALID with p's message. Blocking. */
enum rc core_logs_run_list(struct str filter, struct str sort, int64_t limit, int64_t offset,
                           bool skip_total, struct buf *items, int64_t *total, struct buf *order,
                           struct core_problem *p);
/* This instance's hourly stats of filter, as core_logs_stats answers. */
enum rc core_logs_local_stats(struct str filter, struct buf *out, struct core_problem *p);

#endif
