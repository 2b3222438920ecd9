/* cli.c -- see cli.h. */
#include "cli/cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/secure.h"
#include "base/str.h"

#include <jansson.h>

static void print_usage(FILE *to)
{
    fprintf(to,
            "tarmac %s -- a mobile-app backend in one binary (PocketBase-compatible API)\n\n"
            "Usage:\n"
            "  tarmac serve [flags]    start the server (tarmac serve --help for its flags)\n"
            "  tarmac superuser upsert EMAIL PASSWORD | delete EMAIL   [--dir=DIR]\n"
            "  tarmac migrate create NAME | up [N] | down [N] | snapshot [NAME] | history\n"
            "                          schema migrations (tarmac migrate --help)\n"
            "  tarmac gen types --lang=ts|dart [--out=FILE] [--dir=DIR]   typed client models\n"
            "  tarmac db copy --to=URL [--dir=DIR] [--force]\n"
            "                          copy the SQLite database into an empty PostgreSQL one\n"
            "  tarmac backup create [NAME] | list | restore NAME   [--dir=DIR] [--db=URL]\n"
            "                          backups of the data (tarmac backup --help)\n"
            "  tarmac --version        print the version\n"
            "  tarmac help             print this help\n",
            TARMAC_VERSION);
}

int cli_main(int argc, char **argv)
{
    if (argc < 2) {
        print_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "-v") == 0 || strcmp(cmd, "version") == 0) {
        printf("tarmac version %s\n", TARMAC_VERSION);
        return CLI_EXIT_OK;
    }
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        if (argc > 2 && strcmp(argv[2], "serve") == 0) {
            char *args[] = {"serve", "--help", NULL};
            return cli_serve(2, args);
        }
        print_usage(stdout);
        return CLI_EXIT_OK;
    }
    if (secure_init() != RC_OK) {
        fprintf(stderr, "tarmac: libsodium failed to initialise\n");
        return CLI_EXIT_FAILURE;
    }
    /* jansson allocates through our allocator, so what it returns is freed
     * with xfree() and an out-of-memory aborts the same way everywhere. */
    json_set_alloc_funcs(xmalloc, xfree);
    if (strcmp(cmd, "serve") == 0)
        return cli_serve(argc - 1, argv + 1);
    if (strcmp(cmd, "superuser") == 0)
        return cli_superuser(argc - 1, argv + 1);
    if (strcmp(cmd, "migrate") == 0)
        return cli_migrate(argc - 1, argv + 1);
    if (strcmp(cmd, "gen") == 0)
        return cli_gen(argc - 1, argv + 1);
    if (strcmp(cmd, "db") == 0)
        return cli_db(argc - 1, argv + 1);
    if (strcmp(cmd, "backup") == 0)
        return cli_backup(argc - 1, argv + 1);
    fprintf(stderr, "tarmac: unknown command \"%s\"\n\n", cmd);
    print_usage(stderr);
    return CLI_EXIT_USAGE;
}

bool cli_parse_size(const char *s, uint64_t *out)
{
    size_t n = strlen(s);
    size_t digits = 0;
    while (digits < n && s[digits] >= '0' && s[digits] <= '9')
        digits++;
    uint64_t v;
    if (!str_to_u64((struct str){s, digits}, &v))
        return false;
    const char *unit = s + digits;
    uint64_t mult = 1;
    if (*unit == '\0' || strcmp(unit, "B") == 0)
        mult = 1;
    else if (strcmp(unit, "K") == 0 || strcmp(unit, "KB") == 0 || strcmp(unit, "KiB") == 0)
        mult = 1024;
    else if (strcmp(unit, "M") == 0 || strcmp(unit, "MB") == 0 || strcmp(unit, "MiB") == 0)
        mult = 1024 * 1024;
    else if (strcmp(unit, "G") == 0 || strcmp(unit, "GB") == 0 || strcmp(unit, "GiB") == 0)
        mult = 1024ull * 1024 * 1024;
    else
        return false;
    if (v > UINT64_MAX / mult)
        return false;
    *out = v * mult;
    return true;
}

bool cli_parse_duration_ms(const char *s, uint64_t *out)
{
    size_t n = strlen(s);
    size_t digits = 0;
    while (digits < n && s[digits] >= '0' && s[digits] <= '9')
        digits++;
    uint64_t v;
    if (!str_to_u64((struct str){s, digits}, &v))
        return false;
    const char *unit = s + digits;
    uint64_t mult;
    if (strcmp(unit, "ms") == 0)
        mult = 1;
    else if (*unit == '\0' || strcmp(unit, "s") == 0)
        mult = 1000;
    else if (strcmp(unit, "m") == 0)
        mult = 60 * 1000;
    else if (strcmp(unit, "h") == 0)
        mult = 3600 * 1000;
    else
        return false;
    if (v > UINT64_MAX / mult)
        return false;
    *out = v * mult;
    return true;
}

bool cli_parse_bool(const char *s, bool *out)
{
    if (!strcmp(s, "true") || !strcmp(s, "1") || !strcmp(s, "yes") || !strcmp(s, "on")) {
        *out = true;
        return true;
    }
    if (!strcmp(s, "false") || !strcmp(s, "0") || !strcmp(s, "no") || !strcmp(s, "off")) {
        *out = false;
        return true;
    }
    return false;
}

static bool apply(const struct cli_flag *f, const char *value)
{
    switch (f->kind) {
    case CLI_FLAG_STRING: *(const char **)f->target = value; return true;
    case CLI_FLAG_UINT: {
        uint64_t v;
        if (!str_to_u64(str_from_cstr(value), &v))
            return false;
        *(uint64_t *)f->target = v;
        return true;
    }
    case CLI_FLAG_SIZE: return cli_parse_size(value, f->target);
    case CLI_FLAG_DURATION: return cli_parse_duration_ms(value, f->target);
    case CLI_FLAG_BOOL: return cli_parse_bool(value, f->target);
    }
    return false;
}

static void env_name(const char *flag, char *out, size_t cap)
{
    size_t o = (size_t)snprintf(out, cap, "TARMAC_");
    for (const char *p = flag; *p && o + 1 < cap; p++)
        out[o++] = *p == '-' ? '_' : (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
    out[o] = '\0';
}

int cli_parse_flags(const char *command, const struct cli_flag *flags, int count, int argc,
                    char **argv, bool *wants_help)
{
    *wants_help = false;
    for (int i = 0; i < count; i++) {
        char env[64];
        env_name(flags[i].name, env, sizeof(env));
        const char *v = getenv(env);
        if (v && *v && !apply(&flags[i], v)) {
            fprintf(stderr, "tarmac %s: invalid value \"%s\" in %s\n", command, v, env);
            return CLI_EXIT_USAGE;
        }
        if (v && *v && flags[i].given)
            *flags[i].given = true;
    }
    for (int a = 0; a < argc; a++) {
        const char *arg = argv[a];
        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            *wants_help = true;
            return CLI_EXIT_OK;
        }
        if (strncmp(arg, "--", 2) != 0) {
            fprintf(stderr, "tarmac %s: unexpected argument \"%s\"\n", command, arg);
            return CLI_EXIT_USAGE;
        }
        const char *name = arg + 2;
        const char *eq = strchr(name, '=');
        size_t name_len = eq ? (size_t)(eq - name) : strlen(name);
        const struct cli_flag *f = NULL;
        for (int i = 0; i < count; i++) {
            if (strlen(flags[i].name) == name_len && strncmp(flags[i].name, name, name_len) == 0)
                f = &flags[i];
        }
        if (!f) {
            fprintf(stderr, "tarmac %s: unknown flag --%.*s (see tarmac %s --help)\n", command,
                    (int)name_len, name, command);
            return CLI_EXIT_USAGE;
        }
        const char *value;
        if (eq) {
            value = eq + 1;
        } else if (f->kind == CLI_FLAG_BOOL) {
            value = "true";
        } else if (a + 1 < argc) {
            value = argv[++a];
        } else {
            fprintf(stderr, "tarmac %s: flag --%s needs a value\n", command, f->name);
            return CLI_EXIT_USAGE;
        }
        if (!apply(f, value)) {
            fprintf(stderr, "tarmac %s: invalid value \"%s\" for --%s\n", command, value, f->name);
            return CLI_EXIT_USAGE;
        }
        if (f->given)
            *f->given = true;
    }
    return CLI_EXIT_OK;
}

void cli_print_flags(const struct cli_flag *flags, int count)
{
    for (int i = 0; i < count; i++) {
        char left[64];
        snprintf(left, sizeof(left), "--%s=%s", flags[i].name, flags[i].value_name);
        char env[64];
        env_name(flags[i].name, env, sizeof(env));
        printf("  %-28s %s (env %s)\n", left, flags[i].help, env);
    }
}
