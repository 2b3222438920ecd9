/* coro.c -- see coro.h. ucontext's makecontext/swapcontext (glibc) do the
 * switching; a switch costs a signal-mask system call, noise beside the
 * database round trip a coroutine waits for. */
#include "base/coro.h"

#include <stdint.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include "base/alloc.h"

#if defined(__SANITIZE_ADDRESS__)
#define CORO_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CORO_ASAN 1
#endif
#endif
#ifdef CORO_ASAN
#include <sanitizer/common_interface_defs.h>
#endif

struct coro {
    ucontext_t ctx;    /* the coroutine's, while it is not running */
    ucontext_t caller; /* its resumer's, while it runs */
    void *map;         /* guard page + stack */
    size_t map_size;
    void *stack;
    size_t stack_size;
    coro_fn *fn;
    void *arg;
    bool has_context; /* makecontext done: later starts reuse the loop in entry() */
    bool is_done;
#ifdef CORO_ASAN
    void *fake_stack;
    const void *caller_bottom;
    size_t caller_size;
#endif
};

static _Thread_local struct coro *current;

/* Switches are announced to the sanitizer (no-ops without it). */
#ifdef CORO_ASAN
#define switch_begin(fake, bottom, size) __sanitizer_start_switch_fiber(fake, bottom, size)
#define switch_end(fake, old_bottom, old_size)                                                     \
    __sanitizer_finish_switch_fiber(fake, old_bottom, old_size)
#endif

static void back_to_caller(struct coro *co)
{
#ifdef CORO_ASAN
    switch_begin(&co->fake_stack, co->caller_bottom, co->caller_size);
    swapcontext(&co->ctx, &co->caller);
    switch_end(co->fake_stack, &co->caller_bottom, &co->caller_size);
#else
    swapcontext(&co->ctx, &co->caller);
#endif
}

/* The bottom of every coroutine's stack: runs each started function, then
 * parks until coro_start gives it the next. */
static void entry(void)
{
    struct coro *co = current;
#ifdef CORO_ASAN
    switch_end(NULL, &co->caller_bottom, &co->caller_size);
#endif
    for (;;) {
        co->fn(co->arg);
        co->is_done = true;
        back_to_caller(co);
    }
}

struct coro *coro_new(size_t stack_size)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t size = (stack_size + page - 1) / page * page;
    void *map = mmap(NULL, size + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (map == MAP_FAILED)
        return NULL;
    if (mprotect(map, page, PROT_NONE) != 0) { /* the guard: stacks grow down */
        munmap(map, size + page);
        return NULL;
    }
    struct coro *co = xcalloc(1, sizeof(*co));
    co->map = map;
    co->map_size = size + page;
    co->stack = (char *)map + page;
    co->stack_size = size;
    co->is_done = true;
    return co;
}

void coro_start(struct coro *co, coro_fn *fn, void *arg)
{
    co->fn = fn;
    co->arg = arg;
    co->is_done = false;
    if (co->has_context)
        return;
    getcontext(&co->ctx);
    co->ctx.uc_stack.ss_sp = co->stack;
    co->ctx.uc_stack.ss_size = co->stack_size;
    co->ctx.uc_link = NULL; /* entry() never returns */
    makecontext(&co->ctx, entry, 0);
    co->has_context = true;
}

bool coro_resume(struct coro *co)
{
    struct coro *prev = current;
    current = co;
#ifdef CORO_ASAN
    void *fake = NULL;
    switch_begin(&fake, co->stack, co->stack_size);
    swapcontext(&co->caller, &co->ctx);
    switch_end(fake, NULL, NULL);
#else
    swapcontext(&co->caller, &co->ctx);
#endif
    current = prev;
    return co->is_done;
}

static _Thread_local unsigned holds;

void coro_hold(void)
{
    holds++;
}

void coro_release(void)
{
    if (holds)
        holds--;
}

bool coro_is_held(void)
{
    return holds > 0;
}

void coro_yield(void)
{
    back_to_caller(current);
}

struct coro *coro_current(void)
{
    return current;
}

void coro_free(struct coro *co)
{
    if (!co)
        return;
    munmap(co->map, co->map_size);
    xfree(co);
}
