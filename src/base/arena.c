/* arena.c -- see arena.h. Blocks are a singly linked list; an allocation
 * larger than a quarter block gets a block of its own so it does not waste
 * the tail of the current one. */
#include "base/arena.h"

#include <stdalign.h>
#include <stdint.h>
#include <string.h>

#include "base/alloc.h"
#include "base/fault.h"

struct arena_block {
    struct arena_block *next;
    size_t used;
    size_t cap;
    alignas(max_align_t) char data[];
};

struct arena_cleanup {
    struct arena_cleanup *next;
    arena_cleanup_fn *fn;
    void *ctx;
};

#define ALIGN_UP(n) (((n) + alignof(max_align_t) - 1) & ~(alignof(max_align_t) - 1))

void arena_init(struct arena *a, size_t block_size)
{
    a->head = NULL;
    a->cleanups = NULL;
    a->block_size = block_size;
}

static void run_cleanups(struct arena *a)
{
    /* A cleanup may not allocate from the arena it is cleaning. */
    struct arena_cleanup *c = a->cleanups;
    a->cleanups = NULL;
    for (; c; c = c->next)
        c->fn(c->ctx);
}

void arena_reset(struct arena *a)
{
    run_cleanups(a);
    struct arena_block *keep = NULL;
    struct arena_block *b = a->head;
    while (b) {
        struct arena_block *next = b->next;
        /* Keep one ordinary-sized block: the one every small request uses. */
        if (!keep && b->cap == a->block_size) {
            keep = b;
        } else {
            xfree(b);
        }
        b = next;
    }
    if (keep) {
        keep->used = 0;
        keep->next = NULL;
    }
    a->head = keep;
}

void arena_cleanup(struct arena *a)
{
    run_cleanups(a);
    struct arena_block *b = a->head;
    while (b) {
        struct arena_block *next = b->next;
        xfree(b);
        b = next;
    }
    a->head = NULL;
}

static void *alloc_in(struct arena *a, size_t size, int may_fail)
{
    if (size > SIZE_MAX - sizeof(struct arena_block) - alignof(max_align_t)) {
        /* Aligning would wrap around: no such allocation can succeed. */
        if (may_fail)
            return NULL;
        return xmalloc(SIZE_MAX); /* aborts with the OOM message */
    }
    size = ALIGN_UP(size ? size : 1);
    struct arena_block *b = a->head;
    if (b && b->cap - b->used >= size) {
        void *p = b->data + b->used;
        b->used += size;
        return p;
    }
    size_t cap = size > a->block_size / 4 ? size : a->block_size;
    if (cap > SIZE_MAX - sizeof(struct arena_block))
        return may_fail ? NULL : xmalloc(SIZE_MAX);
    struct arena_block *nb = may_fail ? try_malloc(sizeof(*nb) + cap) : xmalloc(sizeof(*nb) + cap);
    if (!nb)
        return NULL;
    nb->cap = cap;
    nb->used = size;
    if (cap == a->block_size || !b) {
        nb->next = b;
        a->head = nb;
    } else {
        /* A big one-off block goes behind the current block, which keeps serving small requests. */
        nb->next = b->next;
        b->next = nb;
    }
    return nb->data;
}

void *arena_alloc(struct arena *a, size_t size)
{
    return alloc_in(a, size, 0);
}

void *arena_try_alloc(struct arena *a, size_t size)
{
    if (fault_hit(FAULT_ALLOC))
        return NULL;
    return alloc_in(a, size, 1);
}

struct str arena_strdup(struct arena *a, struct str s)
{
    char *p = arena_alloc(a, s.len + 1);
    if (s.len)
        memcpy(p, s.ptr, s.len);
    p[s.len] = '\0';
    return (struct str){p, s.len};
}

void arena_defer(struct arena *a, arena_cleanup_fn *fn, void *ctx)
{
    struct arena_cleanup *c = arena_alloc(a, sizeof(*c));
    c->fn = fn;
    c->ctx = ctx;
    c->next = a->cleanups;
    a->cleanups = c;
}
