/* alloc.c -- see alloc.h. The only file allowed to call malloc/free. */
#include "base/alloc.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fault.h"

static void oom(size_t size)
{
    /* No allocation here: we are out of memory. */
    fprintf(stderr, "level=error msg=\"out of memory\" size=%zu\n", size);
    abort();
}

void *xmalloc(size_t size)
{
    void *p = malloc(size ? size : 1);
    if (!p)
        oom(size);
    return p;
}

void *xcalloc(size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        oom(SIZE_MAX);
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        oom(n * size);
    return p;
}

void *xrealloc(void *p, size_t size)
{
    void *q = realloc(p, size ? size : 1);
    if (!q)
        oom(size);
    return q;
}

char *xstrndup(const char *s, size_t len)
{
    char *p = xmalloc(len + 1);
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

char *xstrdup(const char *s)
{
    return xstrndup(s, strlen(s));
}

void xfree(void *p)
{
    free(p);
}

void *try_malloc(size_t size)
{
    if (fault_hit(FAULT_ALLOC))
        return NULL;
    return malloc(size ? size : 1);
}

void *try_realloc(void *p, size_t size)
{
    if (fault_hit(FAULT_ALLOC))
        return NULL;
    return realloc(p, size ? size : 1);
}
