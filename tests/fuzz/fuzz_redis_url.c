/* fuzz_redis_url.c -- libFuzzer target for store_redis_parse_url and
 * store_redis_target_format (store/redis.h): the --redis flag's text.
 *
 * Checks invariants of what parses: exactly one of a host (with a port in
 * 1..65535) and a socket path; every field a terminated string; the
 * formatted target is a URL of the same kind that begins with "***@" after
 * its scheme exactly when there is a password. A refusal always says why. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/redis.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 2048 || memchr(data, '\0', size))
        return 0; /* a flag's value is a C string */
    char url[2049];
    memcpy(url, data, size);
    url[size] = '\0';
    struct store_redis_target t;
    char err[256];
    err[0] = '\0';
    if (store_redis_parse_url(url, &t, err, sizeof(err)) != RC_OK) {
        if (!err[0] || !memchr(err, '\0', sizeof(err)))
            abort();
        return 0;
    }
    if (!memchr(t.host, '\0', sizeof(t.host)) || !memchr(t.path, '\0', sizeof(t.path)) ||
        !memchr(t.password, '\0', sizeof(t.password)) ||
        !memchr(t.username, '\0', sizeof(t.username)))
        abort();
    if ((t.host[0] != '\0') == (t.path[0] != '\0'))
        abort();
    if (t.host[0] && (t.port < 1 || t.port > 65535))
        abort();
    char shown[1024];
    store_redis_target_format(&t, shown, sizeof(shown));
    bool is_unix = strncmp(shown, "unix://", 7) == 0;
    if (is_unix != (t.path[0] != '\0') || (!is_unix && strncmp(shown, "redis://", 8) != 0))
        abort();
    /* the password, when there is one, is shown as *** right after the scheme */
    const char *after = shown + (is_unix ? 7 : 8);
    if ((strncmp(after, "***@", 4) == 0) != (t.password[0] != '\0'))
        abort();
    return 0;
}
