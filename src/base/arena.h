/* arena.h -- per-request bump allocator with cleanup callbacks (layer: base).
 *
 * Everything a request allocates comes from its arena and is freed in one call
 * when the response is done (as h2o's mem pool). What is not memory (a statement
 * to reset, a file to close) registers a cleanup, run in reverse order by
 * arena_reset()/arena_cleanup(). The first block is kept across resets so a
 * keep-alive connection's requests usually allocate nothing. Not thread-safe:
 * an arena belongs to the thread of its connection. */
#ifndef TARMAC_BASE_ARENA_H
#define TARMAC_BASE_ARENA_H

#include <stddef.h>

#include "base/str.h"

typedef void arena_cleanup_fn(void *ctx);

struct arena_block;
struct arena_cleanup;

struct arena {
    struct arena_block *head;       /* current block; older ones follow */
    struct arena_cleanup *cleanups; /* newest first */
    size_t block_size;              /* size of ordinary blocks */
};

/* Sets a up empty; block_size is the usual block size (e.g. 4096). */
void arena_init(struct arena *a, size_t block_size);
/* Runs the cleanups and frees all but the first block. */
void arena_reset(struct arena *a);
/* Runs the cleanups and frees everything. */
void arena_cleanup(struct arena *a);
/* Returns size bytes aligned for any type, valid until the next reset;
 * aborts on OOM (use for sizes the server chooses). */
void *arena_alloc(struct arena *a, size_t size);
/* As arena_alloc but returns NULL when memory is short (client-chosen sizes). */
void *arena_try_alloc(struct arena *a, size_t size);
/* Copies s into the arena, NUL-terminated; the slice excludes the NUL. */
struct str arena_strdup(struct arena *a, struct str s);
/* Registers fn(ctx) to run at the next reset or cleanup. */
void arena_defer(struct arena *a, arena_cleanup_fn *fn, void *ctx);

#endif
