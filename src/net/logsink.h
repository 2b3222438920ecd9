/* logsink.h -- a dedicated thread that writes log lines (layer: net).
 *
 * Workers format their lines (the access log in per-worker batches) and hand
 * them here; one thread does the write(2) to stderr, so a slow pipe or disk
 * never stalls a loop. If the queue passes its cap, new text is dropped and
 * counted rather than growing memory without bound. */
#ifndef TARMAC_NET_LOGSINK_H
#define TARMAC_NET_LOGSINK_H

#include <stddef.h>

/* Starts the writer thread and routes base/log through it. */
void net_logsink_start(void);
/* Writes what is queued, stops the thread and routes base/log back to stderr. */
void net_logsink_stop(void);

#endif
