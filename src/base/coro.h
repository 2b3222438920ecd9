/* coro.h -- stackful coroutines on one thread (layer: base).
 *
 * A coroutine runs a function on its own stack until it finishes or calls
 * coro_yield(); coro_resume() goes on from there. It is how a worker loop
 * runs a request that waits for PostgreSQL's socket without blocking the
 * loop and without turning every handler into callbacks: the wait yields to
 * the loop, the socket's readiness resumes it (core/task.c). A coroutine is
 * resumed and yields on the thread that made it; never across threads.
 *
 * Stacks are mmap'd with a guard page below them (an overflow faults
 * instead of writing over the heap); pages are only backed once touched.
 * Built with AddressSanitizer, the switches are announced to it. */
#ifndef TARMAC_BASE_CORO_H
#define TARMAC_BASE_CORO_H

#include <stdbool.h>
#include <stddef.h>

struct coro;
typedef void coro_fn(void *arg);

/* A coroutine with a stack of stack_size bytes (rounded up to pages), or
 * NULL when the stack cannot be mapped. It runs nothing until started. */
struct coro *coro_new(size_t stack_size);
/* Sets what the next coro_resume() runs from the top; only when the
 * coroutine is new or its last function finished (a pooled coroutine is
 * reused this way). */
void coro_start(struct coro *co, coro_fn *fn, void *arg);
/* Runs co until it yields or its function returns; true when it returned
 * (it may then be started again or freed). Not from inside co itself. */
bool coro_resume(struct coro *co);
/* From inside a coroutine: back to whoever resumed it. */
void coro_yield(void);
/* The coroutine running on this thread, or NULL on a thread's own stack. */
struct coro *coro_current(void);
/* Code that shares state with other coroutines of its thread across a call
 * that might wait (a Lua state, a walk of a list others change) holds: its
 * waits then block the thread instead of yielding (core/task.c asks). Holds
 * nest; each coro_hold is undone by one coro_release. */
void coro_hold(void);
void coro_release(void);
bool coro_is_held(void);
/* Frees a coroutine that is not running (finished, or never started). */
void coro_free(struct coro *co);

#endif
