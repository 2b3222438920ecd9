/* alloc.h -- the one place memory comes from (layer: base).
 *
 * xmalloc & co. abort with a log line on out-of-memory: under overcommit a failed
 * small allocation means the process is lost anyway (as Redis zmalloc, h2o).
 * Sizes a client controls use try_malloc() after an explicit limit check, so a
 * hostile size becomes RC_NOMEM -> 503 instead of an abort. In test builds the
 * try_ functions are base/fault.h's alloc point. Thread-safe. */
#ifndef TARMAC_BASE_ALLOC_H
#define TARMAC_BASE_ALLOC_H

#include <stddef.h>

/* Return new memory of at least size bytes; never NULL (aborts on OOM). */
void *xmalloc(size_t size);
/* As calloc; aborts on OOM and on n * size overflow. */
void *xcalloc(size_t n, size_t size);
/* As realloc; never NULL for size > 0. */
void *xrealloc(void *p, size_t size);
/* Returns a NUL-terminated copy of the first len bytes of s. */
char *xstrndup(const char *s, size_t len);
/* Returns a copy of the NUL-terminated s. */
char *xstrdup(const char *s);
/* Frees p; accepts NULL. */
void xfree(void *p);
/* Returns new memory or NULL when the system has none; for client-chosen sizes. */
void *try_malloc(size_t size);
/* As try_malloc for realloc; on NULL, p is left untouched. */
void *try_realloc(void *p, size_t size);

#endif
