/* budget.h -- a time budget for work done in pieces (layer: base).
 *
 * What one request may spend on its worker's loop (issue #20): a list streamed
 * to a slow reader is made piece by piece as the socket drains, so only the
 * time inside pieces counts, not the waits between them. budget_resume() and
 * budget_pause() bracket a piece; budget_is_over() reads the monotonic clock
 * and, once the limit is passed, stays true. The clock is the coarse one (a
 * timer tick, a few milliseconds): every request reads it twice, and budgets
 * are tenths of seconds. The SQLite progress handler
 * (store/store.h) and core's render loops both ask it. Not thread-safe: a
 * budget belongs to the thread doing the work. */
#ifndef TARMAC_BASE_BUDGET_H
#define TARMAC_BASE_BUDGET_H

#include <stdbool.h>
#include <stdint.h>

struct budget {
    uint64_t limit_ns; /* 0: no limit */
    uint64_t spent_ns; /* in the pieces that ended */
    uint64_t start_ns; /* monotonic start of the running piece; 0 between pieces */
    bool is_over;      /* sticky once the limit was passed */
};

/* Sets b up with nothing spent; limit_ns 0 means unlimited. */
void budget_init(struct budget *b, uint64_t limit_ns);
/* A piece starts (a no-op when one is running). */
void budget_resume(struct budget *b);
/* The running piece ends: its time is charged (a no-op between pieces). */
void budget_pause(struct budget *b);
/* Time charged so far, the running piece included. */
uint64_t budget_spent_ns(const struct budget *b);
/* True once the time charged passes the limit; reads the clock (tens of
 * nanoseconds) while a piece runs. Stays true. */
bool budget_is_over(struct budget *b);

#endif
