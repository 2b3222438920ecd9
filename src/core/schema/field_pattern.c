/* field_pattern.c -- see field_pattern.h. */
#include "core/schema/field_pattern.h"

#include <pthread.h>
#include <regex.h>
#include <string.h>

#include "base/alloc.h"
#include "base/rx.h"

/* Compiled patterns, shared by all threads: validation runs on workers and
 * on the writer, and regcomp() cost more than the rest of a create's
 * validation. glibc's regexec() may run on one regex_t from many threads. */
#define PATTERN_CACHE 64
static struct {
    char *pattern;
    regex_t re;
    bool is_valid;
} pattern_cache[PATTERN_CACHE];
static unsigned pattern_next;
static pthread_mutex_t pattern_lock = PTHREAD_MUTEX_INITIALIZER;

/* Field patterns are PocketBase's (Go RE2): translated to an ERE first, so
 * `\d` means a digit and not a `d` (base/rx.h). */
static bool compile_pattern(regex_t *re, const char *pattern)
{
    char ere[2048];
    if (rx_translate(pattern, ere, sizeof(ere), NULL) != RC_OK)
        return false;
    return regcomp(re, ere, REG_EXTENDED | REG_NOSUB) == 0;
}

bool core_field_pattern_matches(const char *pattern, const char *s)
{
    pthread_mutex_lock(&pattern_lock);
    size_t k = 0;
    for (; k < PATTERN_CACHE; k++) {
        if (pattern_cache[k].pattern && strcmp(pattern_cache[k].pattern, pattern) == 0)
            break;
    }
    if (k == PATTERN_CACHE) {
        /* Evicting an entry another thread is using would be a use after
         * free; a full cache compiles this one for this call only. */
        if (pattern_next >= PATTERN_CACHE) {
            pthread_mutex_unlock(&pattern_lock);
            regex_t re;
            if (!compile_pattern(&re, pattern))
                return true;
            bool ok = regexec(&re, s, 0, NULL, 0) == 0;
            regfree(&re);
            return ok;
        }
        k = pattern_next++;
        pattern_cache[k].pattern = xstrdup(pattern);
        pattern_cache[k].is_valid = compile_pattern(&pattern_cache[k].re, pattern);
    }
    pthread_mutex_unlock(&pattern_lock);
    if (!pattern_cache[k].is_valid)
        return true; /* a pattern we cannot read does not reject input */
    return regexec(&pattern_cache[k].re, s, 0, NULL, 0) == 0;
}

void core_field_pattern_cleanup(void)
{
    pthread_mutex_lock(&pattern_lock);
    for (size_t k = 0; k < PATTERN_CACHE; k++) {
        if (pattern_cache[k].pattern && pattern_cache[k].is_valid)
            regfree(&pattern_cache[k].re);
        xfree(pattern_cache[k].pattern);
        pattern_cache[k].pattern = NULL;
    }
    pattern_next = 0;
    pthread_mutex_unlock(&pattern_lock);
}

bool core_field_pattern_is_valid(const char *pattern)
{
    regex_t re;
    if (!compile_pattern(&re, pattern))
        return false;
    regfree(&re);
    return true;
}
