/* fuzz_oauth2.c -- libFuzzer target for the OAuth2 input paths of
 * core/schema/oauth2.c: the bytes are parsed as JSON and, as a collection's
 * `oauth2` options, applied twice over (the second time over the first's
 * result, as an update is), written, copied and freed; as a provider's
 * user-info object, mapped by every provider of the table; as the `user`
 * field Apple posts to the redirect, read for a name. Beyond "no crash": the
 * options write as valid JSON, without any client secret unless
 * with_secrets; an accepted list holds known, distinct providers, no more
 * than the table; a user's strings are never NULL; Apple's name is valid
 * UTF-8 of 1 to CORE_OAUTH2_NAME_MAX bytes without surrounding spaces. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/buf.h"
#include "base/alloc.h"
#include "base/jsonw.h"
#include "base/utf8.h"
#include "core/problem.h"
#include "core/schema/oauth2.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool has_field(const void *ctx, const char *name)
{
    (void)ctx;
    return strcmp(name, "name") == 0 || strcmp(name, "avatar") == 0;
}

static void check_written(const struct core_oauth2_options *o, bool with_secrets)
{
    struct buf b;
    buf_init(&b, 1 << 22);
    struct jsonw w;
    jsonw_init(&w, &b);
    jsonw_object_begin(&w);
    core_oauth2_options_write(&w, o, with_secrets);
    jsonw_object_end(&w);
    if (jsonw_finish(&w) == RC_OK) {
        json_t *back = json_loadb(b.data, b.len, 0, NULL);
        if (!back)
            abort(); /* invalid JSON written */
        json_t *list = json_object_get(json_object_get(back, "oauth2"), "providers");
        for (size_t i = 0; i < json_array_size(list); i++) {
            if (!with_secrets && json_object_get(json_array_get(list, i), "clientSecret"))
                abort(); /* a secret in the public shape */
        }
        json_decref(back);
    }
    buf_cleanup(&b);
}

static void check_options(json_t *in)
{
    struct core_oauth2_options o = {0};
    for (int round = 0; round < 2; round++) {
        struct core_problem p;
        core_problem_init(&p);
        core_oauth2_options_parse(
            json_object_get(in, "oauth2") ? json_object_get(in, "oauth2") : in, &o, &p);
        core_oauth2_check_mapped(&o, has_field, NULL, &p);
        if (!core_problem_has_fields(&p)) {
            size_t table = 0;
            while (core_oauth2_provider_at(table))
                table++;
            if (o.provider_count > table)
                abort();
            for (size_t i = 0; i < o.provider_count; i++) {
                if (!core_oauth2_provider_find(o.providers[i].name))
                    abort(); /* an unknown provider accepted */
                for (size_t k = 0; k < i; k++) {
                    if (strcmp(o.providers[i].name, o.providers[k].name) == 0)
                        abort(); /* a duplicate accepted */
                }
            }
        }
        core_problem_cleanup(&p);
    }
    check_written(&o, false);
    check_written(&o, true);
    struct core_oauth2_options copy = {0};
    core_oauth2_options_copy(&copy, &o);
    core_oauth2_options_cleanup(&o);
    check_written(&copy, false);
    core_oauth2_options_cleanup(&copy);
}

static void check_user_info(json_t *info)
{
    const struct core_oauth2_provider *pv;
    for (size_t i = 0; (pv = core_oauth2_provider_at(i)) != NULL; i++) {
        struct core_oauth2_user u = {0};
        pv->map(info, &u);
        if (!u.id || !u.name || !u.username || !u.email || !u.avatar_url)
            abort();
        core_oauth2_user_cleanup(&u);
    }
}

static void check_apple_name(const uint8_t *data, size_t size)
{
    char *text = xstrndup((const char *)data, size);
    char *name = core_oauth2_apple_name(text);
    if (name) {
        size_t n = strlen(name);
        if (!n || n > CORE_OAUTH2_NAME_MAX || !utf8_is_valid(name, n) || name[0] == ' ' ||
            name[n - 1] == ' ')
            abort();
    }
    xfree(name);
    xfree(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_apple_name(data, size);
    json_t *in = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
    if (!in)
        return 0;
    check_options(in);
    if (json_is_object(in))
        check_user_info(in);
    json_decref(in);
    return 0;
}
