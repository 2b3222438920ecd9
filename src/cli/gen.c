/* gen.c -- `tarmac gen types --lang=ts|dart [--out=FILE] [--dir=DIR]`: the
 * typed client models of core/typegen.h, from the schema in the data
 * directory, as a superuser sees it (every collection, hidden fields
 * included: the models are for the app's own code). */
#include "cli/cli.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "base/buf.h"
#include "core/app.h"
#include "core/schema/typegen.h"

static int usage(FILE *to, int code)
{
    fprintf(to, "Usage:\n  tarmac gen types --lang=ts|dart [--out=FILE] [--dir=DIR]\n"
                "    TypeScript types for the JS SDK, or Dart classes for the Dart SDK,\n"
                "    from the collections in DIR (default ./tarmac_data); FILE default stdout.\n");
    return code;
}

static int write_all(const char *path, struct str text)
{
    FILE *f = path ? fopen(path, "w") : stdout;
    if (!f) {
        fprintf(stderr, "tarmac gen: cannot write \"%s\"\n", path);
        return CLI_EXIT_FAILURE;
    }
    bool ok = fwrite(text.ptr, 1, text.len, f) == text.len;
    ok = (path ? fclose(f) : fflush(f)) == 0 && ok;
    if (!ok) {
        fprintf(stderr, "tarmac gen: writing \"%s\" failed\n", path ? path : "stdout");
        return CLI_EXIT_FAILURE;
    }
    return CLI_EXIT_OK;
}

int cli_gen(int argc, char **argv)
{
    const char *dir = "./tarmac_data", *lang = NULL, *out = NULL, *db = "";
    const struct cli_flag flags[] = {
        {"lang", CLI_FLAG_STRING, &lang, "LANG", "ts or dart"},
        {"out", CLI_FLAG_STRING, &out, "FILE", "where to write (default stdout)"},
        {"dir", CLI_FLAG_STRING, &dir, "DIR", "data directory (default ./tarmac_data)"},
        {"db", CLI_FLAG_STRING, &db, "URL",
         "the database: empty = SQLite in the data directory (default); a PostgreSQL URL "
         "(postgresql://user:pass@host:5432/app?sslmode=require) = PostgreSQL 15+"},
    };
    if (argc < 2 || strcmp(argv[1], "types") != 0) {
        bool help = argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0);
        return usage(help ? stdout : stderr, help ? CLI_EXIT_OK : CLI_EXIT_USAGE);
    }
    bool wants_help = false;
    int code = cli_parse_flags("gen types", flags, (int)(sizeof(flags) / sizeof(flags[0])),
                               argc - 2, argv + 2, &wants_help);
    if (code)
        return code;
    if (wants_help)
        return usage(stdout, CLI_EXIT_OK);
    enum core_typegen_lang l;
    if (lang && strcmp(lang, "ts") == 0) {
        l = CORE_TYPEGEN_TS;
    } else if (lang && strcmp(lang, "dart") == 0) {
        l = CORE_TYPEGEN_DART;
    } else {
        fprintf(stderr, "tarmac gen types: --lang must be ts or dart\n");
        return CLI_EXIT_USAGE;
    }
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "tarmac gen types: no data directory \"%s\"\n", dir);
        return CLI_EXIT_FAILURE;
    }
    struct core_app *app;
    if (core_app_open(dir, db, &app) != RC_OK) {
        fprintf(stderr, "tarmac gen types: cannot open the data directory \"%s\"\n", dir);
        return CLI_EXIT_FAILURE;
    }
    struct buf text;
    buf_init(&text, 64u << 20);
    enum rc rc = core_typegen(core_app_schema(app), l, true, &text);
    core_app_close(app);
    code = rc ? CLI_EXIT_FAILURE : write_all(out, buf_str(&text));
    if (rc)
        fprintf(stderr, "tarmac gen types: %s\n", rc_text(rc));
    buf_cleanup(&text);
    return code;
}
