/* budget.c -- see budget.h. */
#include "base/budget.h"

#include "base/chrono.h"

void budget_init(struct budget *b, uint64_t limit_ns)
{
    b->limit_ns = limit_ns;
    b->spent_ns = 0;
    b->start_ns = 0;
    b->is_over = false;
}

/* Time since a piece's start; the start was made odd (never 0, which means
 * "between pieces"), so a read within the same tick may be one below it. */
static uint64_t since(uint64_t start_ns)
{
    uint64_t now = chrono_mono_coarse_ns();
    return now > start_ns ? now - start_ns : 0;
}

void budget_resume(struct budget *b)
{
    if (!b->start_ns)
        b->start_ns = chrono_mono_coarse_ns() | 1;
}

void budget_pause(struct budget *b)
{
    if (!b->start_ns)
        return;
    b->spent_ns += since(b->start_ns);
    b->start_ns = 0;
}

uint64_t budget_spent_ns(const struct budget *b)
{
    return b->spent_ns + (b->start_ns ? since(b->start_ns) : 0);
}

bool budget_is_over(struct budget *b)
{
    if (!b->is_over && b->limit_ns && budget_spent_ns(b) > b->limit_ns)
        b->is_over = true;
    return b->is_over;
}
