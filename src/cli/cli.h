/* cli.h -- command line: commands, flags, environment, exit codes (layer: cli).
 *
 * Mirrors PocketBase's CLI: `tarmac serve [flags]`, `tarmac --version`,
 * `tarmac help`. Every flag can also come from an environment variable
 * (TARMAC_ + the flag's name in upper case, '-' as '_'); a flag on the command
 * line wins over the environment. Exit codes: 0 success, 1 runtime failure,
 * 2 usage error (unknown flag or command, bad value). */
#ifndef TARMAC_CLI_CLI_H
#define TARMAC_CLI_CLI_H

#include <stdbool.h>
#include <stdint.h>

#define TARMAC_VERSION "0.1.0"

#define CLI_EXIT_OK 0
#define CLI_EXIT_FAILURE 1
#define CLI_EXIT_USAGE 2

enum cli_flag_kind {
    CLI_FLAG_STRING,   /* char * (points into argv or environ) */
    CLI_FLAG_UINT,     /* uint64_t, a plain count */
    CLI_FLAG_SIZE,     /* uint64_t bytes: 1048576, 64KiB, 32MiB, 1GiB */
    CLI_FLAG_DURATION, /* uint64_t ms: 500ms, 10s, 5m, 1h; a bare number is seconds */
    CLI_FLAG_BOOL,     /* bool: true/false/1/0/yes/no */
};

struct cli_flag {
    const char *name; /* without "--" */
    enum cli_flag_kind kind;
    void *target;
    const char *value_name; /* for help: "ADDR", "DIR", "N" */
    const char *help;
    bool *given; /* NULL, or set when the command line or environment gave the flag */
};

/* Entry point: runs the command in argv and returns the process exit code. */
int cli_main(int argc, char **argv);

/* Applies environment variables, then argv[0..argc) to the flags. Prints a
 * clear message and returns CLI_EXIT_USAGE on an unknown flag, a missing or
 * bad value, or a stray argument; *wants_help is set for -h/--help. */
int cli_parse_flags(const char *command, const struct cli_flag *flags, int count, int argc,
                    char **argv, bool *wants_help);
/* Prints the flags' help lines to stdout. */
void cli_print_flags(const struct cli_flag *flags, int count);

/* Parsers shared by the flags; each returns false for a malformed value. */
bool cli_parse_size(const char *s, uint64_t *out);
bool cli_parse_duration_ms(const char *s, uint64_t *out);
bool cli_parse_bool(const char *s, bool *out);

/* `tarmac serve` */
int cli_serve(int argc, char **argv);
/* `tarmac superuser upsert|delete ...` */
int cli_superuser(int argc, char **argv);
/* `tarmac migrate create|up|down|snapshot|history ...` */
int cli_migrate(int argc, char **argv);
/* `tarmac gen types --lang=ts|dart ...` */
int cli_gen(int argc, char **argv);
/* `tarmac db copy --to=URL ...` */
int cli_db(int argc, char **argv);
/* `tarmac backup create [NAME] | list | restore NAME` */
int cli_backup(int argc, char **argv);

#endif
