/* superuser.c -- `tarmac superuser upsert EMAIL PASSWORD` and `tarmac
 * superuser delete EMAIL` (spec §6.12: the first superuser is made out of band). */
#include "cli/cli.h"

#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "core/app.h"
#include "core/credential/password.h"
#include "core/record/record_input.h"
#include "core/record/record_write.h"
#include "store/store.h"

static const struct core_collection *superusers(struct core_app *app)
{
    return core_schema_find_exact(core_app_schema(app), STR_LIT("_superusers"));
}

/* The id of the superuser with this email, or "" (out: 64 bytes). */
static void find_by_email(struct core_app *app, const char *email, char out[64])
{
    out[0] = '\0';
    struct store_conn *db;
    if (store_open(app->db_path, STORE_OPEN_READ, &db) != RC_OK)
        return;
    struct store_stmt *st;
    if (store_prepare(db, STR_LIT("SELECT id FROM \"_superusers\" WHERE email = ?1 COLLATE NOCASE"),
                      &st) == RC_OK) {
        if (store_bind_text(st, 1, str_from_cstr(email)) == RC_OK && store_step(st) == RC_OK) {
            struct str id = store_column_text(st, 0);
            if (id.len < 64) {
                memcpy(out, id.ptr, id.len);
                out[id.len] = '\0';
            }
        }
        store_done(st);
    }
    store_close(db);
}

static void print_problem(const struct core_problem *p)
{
    fprintf(stderr, "tarmac superuser: %s\n", p->message[0] ? p->message : "invalid input");
    if (p->data) {
        char *text = json_dumps(p->data, JSON_COMPACT);
        fprintf(stderr, "  %s\n", text ? text : "");
        xfree(text);
    }
}

static int upsert(struct core_app *app, const char *email, const char *password)
{
    const struct core_collection *col = superusers(app);
    char id[64];
    find_by_email(app, email, id);
    struct core_auth root = {.is_superuser = true};
    struct core_request r = {.schema = core_app_schema(app), .auth = &root};
    json_t *body = json_pack("{s:s, s:s, s:s, s:b}", "email", email, "password", password,
                             "passwordConfirm", password, "verified", 1);
    struct core_write_job job = {.schema = r.schema, .c = col, .request = &r};
    core_problem_init(&job.problem);
    struct core_record_input in = {0};
    struct core_problem p;
    core_problem_init(&p);
    int code = CLI_EXIT_OK;
    json_t *current = NULL;
    if (id[0]) {
        struct store_conn *db;
        if (store_open(app->db_path, STORE_OPEN_READ, &db) == RC_OK) {
            (void)core_record_load(db, col, str_from_cstr(id), &current);
            store_close(db);
        }
    }
    if (core_record_input_build(&r, col, body, current, &in, &p) != RC_OK) {
        print_problem(&p);
        code = CLI_EXIT_USAGE;
        goto out;
    }
    /* No event loop here: the CLI thread may hash. */
    struct core_password_params params = {.m_kib = app->password_m_kib, .t = app->password_t};
    if (core_record_input_hash(&in, params) != RC_OK) {
        fprintf(stderr, "tarmac superuser: cannot hash the password\n");
        code = CLI_EXIT_FAILURE;
        goto out;
    }
    if (id[0]) {
        job.kind = CORE_WRITE_UPDATE;
        job.id = xstrdup(id);
        job.body = json_incref(body);
    } else {
        job.kind = CORE_WRITE_CREATE;
        job.id = xstrdup(json_string_value(json_object_get(in.values, "id")));
        job.values = json_incref(in.values);
    }
    core_write_job_set_hashes(&job, &in);
    if (core_record_run(app->writer, &job) != RC_OK) {
        print_problem(&job.problem);
        code = CLI_EXIT_FAILURE;
        goto out;
    }
    printf("Successfully saved superuser \"%s\".\n", email);
out:
    core_write_job_cleanup(&job);
    core_record_input_cleanup(&in);
    core_problem_cleanup(&p);
    json_decref(current);
    json_decref(body);
    return code;
}

static int delete_superuser(struct core_app *app, const char *email)
{
    char id[64];
    find_by_email(app, email, id);
    if (!id[0]) {
        fprintf(stderr, "tarmac superuser: no superuser with email \"%s\"\n", email);
        return CLI_EXIT_FAILURE;
    }
    struct core_auth root = {.is_superuser = true};
    struct core_request r = {.schema = core_app_schema(app), .auth = &root};
    struct core_write_job job = {.kind = CORE_WRITE_DELETE,
                                 .schema = r.schema,
                                 .c = superusers(app),
                                 .request = &r,
                                 .id = xstrdup(id)};
    core_problem_init(&job.problem);
    int code = CLI_EXIT_OK;
    if (core_record_run(app->writer, &job) != RC_OK) {
        print_problem(&job.problem);
        code = CLI_EXIT_FAILURE;
    } else {
        printf("Successfully deleted superuser \"%s\".\n", email);
    }
    core_write_job_cleanup(&job);
    return code;
}

int cli_superuser(int argc, char **argv)
{
    const char *dir = "./tarmac_data", *db = "";
    const struct cli_flag flags[] = {
        {"dir", CLI_FLAG_STRING, &dir, "DIR", "data directory (default ./tarmac_data)"},
        {"db", CLI_FLAG_STRING, &db, "URL",
         "the database: empty = SQLite in the data directory (default); a PostgreSQL URL "
         "(postgresql://user:pass@host:5432/app?sslmode=require) = PostgreSQL 15+"},
    };
    /* Positional arguments first, flags after them. */
    int npos = 0;
    const char *pos[3] = {NULL, NULL, NULL};
    int a = 1;
    while (a < argc && strncmp(argv[a], "--", 2) != 0 && strcmp(argv[a], "-h") != 0) {
        if (npos == 3) {
            fprintf(stderr, "tarmac superuser: too many arguments\n");
            return CLI_EXIT_USAGE;
        }
        pos[npos++] = argv[a++];
    }
    bool wants_help = false;
    int code = cli_parse_flags("superuser", flags, (int)(sizeof(flags) / sizeof(flags[0])),
                               argc - a, argv + a, &wants_help);
    if (code)
        return code;
    bool is_upsert = npos == 3 && strcmp(pos[0], "upsert") == 0;
    bool is_delete = npos == 2 && strcmp(pos[0], "delete") == 0;
    if (wants_help || (!is_upsert && !is_delete)) {
        FILE *to = wants_help ? stdout : stderr;
        fprintf(to, "Usage:\n  tarmac superuser upsert EMAIL PASSWORD [--dir=DIR] [--db=URL]\n"
                    "  tarmac superuser delete EMAIL [--dir=DIR] [--db=URL]\n");
        return wants_help ? CLI_EXIT_OK : CLI_EXIT_USAGE;
    }
    struct core_app *app;
    if (core_app_open(dir, db, &app) != RC_OK) {
        fprintf(stderr, "tarmac superuser: cannot open the %s (see the log above)\n",
                *db ? "database" : "data directory");
        return CLI_EXIT_FAILURE;
    }
    code = is_upsert ? upsert(app, pos[1], pos[2]) : delete_superuser(app, pos[1]);
    core_app_close(app);
    return code;
}
