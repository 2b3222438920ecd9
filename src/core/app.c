/* app.c -- see app.h. */
#include "core/app.h"
#include "core/schema/field_pattern.h"

#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/chrono.h"
#include "base/log.h"
#include "core/auth/auth.h"
#include "core/auth/mfa.h"
#include "core/auth/oauth2.h"
#include "core/auth/oidc.h"
#include "core/auth/origin.h"
#include "core/backup/backup.h"
#include "core/backup/restore.h"
#include "core/cluster/cluster.h"
#include "core/auth/otp.h"
#include "core/schema/collection_ddl.h"
#include "core/schema/collection_json.h"
#include "core/data_upgrade.h"
#include "core/credential/password.h"
#include "core/credential/token_cache.h"
#include "core/record/count_cache.h"
#include "core/record/page_cache.h"
#include "core/record/record_input.h"
#include "core/hooks/hooks.h"
#include "core/jobs/checks.h"
#include "core/jobs/email_kind.h"
#include "core/ext/ext.h"
#include "core/jobs/job.h"
#include "core/jobs/jobs_admin.h"
#include "core/jobs/runner.h"
#include "core/jobs/inbound.h"
#include "core/jobs/report.h"
#include "core/jobs/schedule.h"
#include "core/jobs/embed_kind.h"
#include "core/record/vector_index.h"
#include "core/jobs/thumbs_kind.h"
#include "core/jobs/webhook.h"
#include "core/notify/template.h"
#include "core/reco/reco.h"
#include "core/risk/risk.h"
#include "core/notify/inbox.h"
#include "core/notify/prefs.h"
#include "core/notify/push.h"
#include "core/notify/sms.h"
#include "core/notify/trigger.h"
#include "core/task.h"
#include "net/mailer.h"
#include "net/offload.h"

void core_now(char out[32])
{
    chrono_format_db_ms(chrono_real_ms(), out); /* spec §1.4 */
}

const struct core_schema *core_app_schema(struct core_app *app)
{
    return atomic_load_explicit(&app->schema, memory_order_acquire);
}

/* The app's current schema, for realtime, the jobs, scripts and extensions (any thread). */
static const struct core_schema *current_schema(void *ctx)
{
    return core_app_schema(ctx);
}

const struct core_settings *core_app_settings(struct core_app *app)
{
    return atomic_load_explicit(&app->settings, memory_order_acquire);
}

static const char *current_app_url(void *ctx)
{
    return core_app_settings(ctx)->app_url;
}

static const struct core_settings *current_settings(void *ctx)
{
    return core_app_settings(ctx);
}

const struct core_storage *core_app_storage(struct core_app *app)
{
    return &core_app_settings(app)->storage;
}

static const struct core_storage *current_storage(void *ctx)
{
    return core_app_storage(ctx);
}

void core_app_retire_settings(struct core_app *app, struct core_settings *s)
{
    if (!s)
        return;
    app->old_settings =
        xrealloc(app->old_settings, (app->old_settings_count + 1) * sizeof(*app->old_settings));
    app->old_settings[app->old_settings_count++] = s;
}

void core_app_swap_settings(struct core_app *app, struct core_settings *s)
{
    core_app_retire_settings(app,
                             atomic_exchange_explicit(&app->settings, s, memory_order_acq_rel));
    if (app->mailer) {
        struct net_mailer_config mc = {
            .host = s->smtp.is_enabled ? s->smtp.host : "",
            .port = s->smtp.port,
            .username = s->smtp.username,
            .password = s->smtp.password,
            .sender_address = s->sender_address,
            .sender_name = s->sender_name,
            .local_name = s->smtp.local_name,
            .auth_method = s->smtp.auth_method,
            .is_tls_required = app->settings_base.is_smtp_tls_required,
            .is_smtps = s->smtp.is_tls,
        };
        if (net_mailer_configure(app->mailer, &mc) != RC_OK)
            log_error("msg=\"the mailer refused the settings: it keeps the previous ones\"");
    }
    if (app->backups) {
        core_backups_use_s3(app->backups, s->backups_s3.is_enabled ? &s->backups_s3.cfg : NULL);
        core_backups_schedule(app->backups, s->backups.cron, s->backups.max_keep, s->app_name);
    }
    if (app->on_settings)
        app->on_settings(s, app->on_settings_ctx);
}

void core_app_swap_schema(struct core_app *app, struct core_schema *s)
{
    s->version = ++app->next_schema_version;
    core_vectors_set_schema(app->vectors, s); /* the files of deleted vector fields go */
    struct core_schema *old = atomic_exchange_explicit(&app->schema, s, memory_order_acq_rel);
    if (old) {
        app->old_schemas =
            xrealloc(app->old_schemas, (app->old_schema_count + 1) * sizeof(*app->old_schemas));
        app->old_schemas[app->old_schema_count++] = old;
    }
}

/* What the bootstrap and load jobs work on, on the writer thread. */
struct load_job {
    struct core_app *app;
    struct core_schema *schema;
    bool is_fresh;
};

enum rc core_app_load_collections(struct store_conn *db, struct core_schema *s)
{
    struct store_stmt *st;
    enum rc rc = store_prepare(
        db, STR_LIT("SELECT data, system, created, updated FROM _collections ORDER BY rowid"), &st);
    if (rc)
        return rc;
    while ((rc = store_step(st)) == RC_OK) {
        struct str text = store_column_text(st, 0);
        json_error_t jerr;
        json_t *j = json_loadb(text.ptr, text.len, 0, &jerr);
        struct core_problem p;
        core_problem_init(&p);
        struct core_collection *c = NULL;
        enum rc loaded = core_collection_from_json(j, NULL, NULL, "", &c, &p);
        json_decref(j);
        core_problem_cleanup(&p);
        if (loaded) {
            log_error("msg=\"stored collection does not load\" line=%d", jerr.line);
            store_done(st);
            return loaded;
        }
        c->is_system = store_column_int64(st, 1) != 0;
        struct str created = store_column_text(st, 2), updated = store_column_text(st, 3);
        xfree(c->created);
        c->created = xstrndup(created.ptr, created.len);
        xfree(c->updated);
        c->updated = xstrndup(updated.ptr, updated.len);
        s->items = xrealloc(s->items, (s->count + 1) * sizeof(*s->items));
        s->items[s->count++] = c;
    }
    store_done(st);
    return rc == RC_NOT_FOUND ? RC_OK : rc;
}

/* Creates the built-in collection def (JSON, as the API takes it) in s and
 * its table, unless s already has one of that name: the collections a fresh
 * directory starts with and the system collections later versions added (made
 * in a directory that predates them). RC_INTERNAL when def does not load. */
/* The fields of c as its JSON writes them. */
static json_t *fields_json(const struct core_collection *c)
{
    struct buf out;
    buf_init(&out, 4096);
    struct jsonw w;
    jsonw_init(&w, &out);
    core_collection_write_json(&w, c, false);
    json_t *j = json_loadb(out.data ? out.data : "", out.len, 0, NULL);
    buf_cleanup(&out);
    json_t *fields = json_incref(json_object_get(j, "fields"));
    json_decref(j);
    return fields;
}

/* A built-in collection a data directory of an earlier version holds: its
 * fields become def's (a field added, an option changed), their ids and
 * data kept; nothing happens when they are the same already. */
static enum rc upgrade_builtin_fields(struct store_conn *db, struct core_schema *s, json_t *def,
                                      const struct core_collection *old)
{
    json_t *fields = json_object_get(def, "fields");
    size_t i;
    json_t *f;
    bool has_id = false;
    json_array_foreach(fields, i, f)
    {
        has_id = has_id || strcmp(json_string_value(json_object_get(f, "name")), "id") == 0;
    }
    json_t *stored = fields_json(old);
    json_array_foreach(has_id ? NULL : stored, i, f)
    {
        /* the id field the collection got when it was made, first */
        if (strcmp(json_string_value(json_object_get(f, "name")), "id") == 0)
            json_array_insert(fields, 0, f);
    }
    json_decref(stored);
    json_array_foreach(fields, i, f)
    {
        const char *fname = json_string_value(json_object_get(f, "name"));
        const struct core_field *of =
            fname ? core_collection_field(old, str_from_cstr(fname)) : NULL;
        if (of && of->id)
            json_object_set_new(f, "id", json_string(of->id));
    }
    char now[32];
    core_now(now);
    struct core_problem p;
    core_problem_init(&p);
    struct core_collection *next = NULL;
    json_t *patch = json_pack("{s:O}", "fields", fields);
    enum rc rc = core_collection_from_json(patch, old, s, now, &next, &p);
    json_decref(patch);
    core_problem_cleanup(&p);
    if (rc)
        return RC_INTERNAL;
    next->is_system = old->is_system;
    json_t *was = fields_json(old), *is = fields_json(next);
    bool is_same = json_equal(was, is);
    json_decref(was);
    json_decref(is);
    if (!is_same)
        rc = core_ddl_update(db, old, next);
    if (is_same || rc) {
        core_collection_free(next);
        return rc;
    }
    for (size_t k = 0; k < s->count; k++) {
        if (s->items[k] == old) {
            core_collection_free(s->items[k]);
            s->items[k] = next;
        }
    }
    return RC_OK;
}

/* Creates the built-in collection def when s has none of its name; when
 * it has and is_upgraded, gives it def's fields. */
static enum rc add_or_upgrade_builtin(struct store_conn *db, struct core_schema *s, const char *def,
                                      bool is_system, bool is_upgraded)
{
    json_t *j = json_loads(def, 0, NULL);
    const char *name = json_string_value(json_object_get(j, "name"));
    const struct core_collection *old =
        name ? core_schema_find_exact(s, str_from_cstr(name)) : NULL;
    if (old) {
        enum rc rc = is_upgraded ? upgrade_builtin_fields(db, s, j, old) : RC_OK;
        json_decref(j);
        return rc;
    }
    char now[32];
    core_now(now);
    struct core_problem p;
    core_problem_init(&p);
    struct core_collection *c = NULL;
    enum rc rc = core_collection_from_json(j, NULL, s, now, &c, &p);
    json_decref(j);
    core_problem_cleanup(&p);
    if (rc)
        return RC_INTERNAL;
    c->is_system = is_system;
    rc = core_ddl_create(db, c);
    if (rc) {
        core_collection_free(c);
        return rc;
    }
    s->items = xrealloc(s->items, (s->count + 1) * sizeof(*s->items));
    s->items[s->count++] = c;
    return RC_OK;
}

static enum rc add_builtin_collection(struct store_conn *db, struct core_schema *s, const char *def,
                                      bool is_system)
{
    return add_or_upgrade_builtin(db, s, def, is_system, false);
}

/* The collections a fresh data directory starts with (spec §5.5); the first,
 * _superusers, is the only system collection among them. */
static const char *const bootstrap[] = {
    "{\"id\":\"pbc_3142635823\",\"name\":\"_superusers\",\"type\":\"auth\","
    "\"listRule\":null,\"viewRule\":null,\"createRule\":null,\"updateRule\":null,"
    "\"deleteRule\":null,\"authRule\":\"\",\"manageRule\":null,"
    "\"authToken\":{\"duration\":86400},"
    "\"fields\":[{\"name\":\"created\",\"type\":\"autodate\",\"onCreate\":true},"
    "{\"name\":\"updated\",\"type\":\"autodate\",\"onCreate\":true,\"onUpdate\":true}]}",
    "{\"id\":\"_pb_users_auth_\",\"name\":\"users\",\"type\":\"auth\","
    "\"listRule\":\"id = @request.auth.id\",\"viewRule\":\"id = @request.auth.id\","
    "\"createRule\":\"\",\"updateRule\":\"id = @request.auth.id\","
    "\"deleteRule\":\"id = @request.auth.id\",\"authRule\":\"\",\"manageRule\":null,"
    "\"oauth2\":{\"mappedFields\":{\"name\":\"name\",\"avatarURL\":\"avatar\"}},"
    "\"fields\":[{\"name\":\"name\",\"type\":\"text\",\"max\":255},"
    "{\"name\":\"avatar\",\"type\":\"file\",\"maxSelect\":1,\"mimeTypes\":[\"image/jpeg\","
    "\"image/png\",\"image/svg+xml\",\"image/gif\",\"image/webp\"]},"
    "{\"name\":\"created\",\"type\":\"autodate\",\"onCreate\":true},"
    "{\"name\":\"updated\",\"type\":\"autodate\",\"onCreate\":true,\"onUpdate\":true}]}",
};

static enum rc bootstrap_collections(struct store_conn *db, struct core_schema *s)
{
    enum rc rc = RC_OK;
    for (size_t i = 0; !rc && i < sizeof(bootstrap) / sizeof(bootstrap[0]); i++)
        rc = add_builtin_collection(db, s, bootstrap[i], i == 0);
    return rc;
}

enum rc core_app_system_tables(struct store_conn *db)
{
    enum rc rc = core_ddl_system_tables(db);
    if (!rc)
        rc = core_job_ddl(db);
    if (!rc)
        rc = core_reco_ddl(db);
    return rc ? rc : core_risk_ddl(db);
}

static enum rc open_job(struct store_conn *db, void *ctx)
{
    struct load_job *job = ctx;
    if (job->schema->count) {
        /* loaded by an earlier run the writer rolled back (writer.h) */
        core_schema_free(job->schema);
        job->schema = xcalloc(1, sizeof(struct core_schema));
        job->is_fresh = false;
    }
    enum rc rc = core_app_system_tables(db);
    /* A PostgreSQL restore whose transaction committed: its files, before
     * anything reads the data. */
    if (!rc)
        rc = core_restore_recover_db(db, job->app->dir);
    if (!rc)
        rc = core_app_load_collections(db, job->schema);
    if (!rc && job->schema->count == 0) {
        job->is_fresh = true;
        rc = bootstrap_collections(db, job->schema);
    }
    if (!rc)
        rc = add_builtin_collection(db, job->schema, core_oauth2_external_auths_json, true);
    /* The auth system collections of PocketBase (spec §5.5); `_otps` was a
     * bare table before, moved aside then into the collection. */
    if (!rc)
        rc = add_builtin_collection(db, job->schema, core_mfas_collection_json, true);
    if (!rc)
        rc = core_data_upgrade_otps_begin(db, job->schema);
    if (!rc)
        rc = add_builtin_collection(db, job->schema, core_otps_collection_json, true);
    if (!rc)
        rc = core_data_upgrade_otps_finish(db);
    if (!rc)
        rc = add_builtin_collection(db, job->schema, core_auth_origins_collection_json, true);
    if (!rc)
        rc = add_builtin_collection(db, job->schema, core_webhooks_collection_json, true);
    if (!rc)
        rc = add_builtin_collection(db, job->schema, core_schedules_collection_json, true);
    if (!rc)
        rc = add_builtin_collection(db, job->schema, core_inbound_collection_json, true);
    if (!rc) {
        char now[32];
        core_now(now);
        rc = core_inbound_upgrade(db, job->schema, now);
    }
    if (!rc)
        rc = add_builtin_collection(db, job->schema, core_reports_collection_json, true);
    /* Its user relation points to users: without that collection, no devices. */
    if (!rc && core_schema_find(job->schema, STR_LIT("_pb_users_auth_")))
        rc = add_builtin_collection(db, job->schema, core_devices_collection_json, true);
    if (!rc && core_schema_find(job->schema, STR_LIT("_pb_users_auth_")))
        rc = add_builtin_collection(db, job->schema, core_inbox_collection_json, true);
    if (!rc && core_schema_find(job->schema, STR_LIT("_pb_users_auth_")))
        rc = add_or_upgrade_builtin(db, job->schema, core_prefs_collection_json, true, true);
    if (!rc)
        rc = core_webhooks_load(job->app->webhooks, db);
    if (!rc)
        rc = add_or_upgrade_builtin(db, job->schema, core_triggers_collection_json, true, true);
    if (!rc)
        rc = add_builtin_collection(db, job->schema, core_templates_collection_json, true);
    if (!rc)
        rc = core_triggers_load(job->app->triggers, db);
    if (!rc)
        rc = add_builtin_collection(db, job->schema, core_reco_collection_json, true);
    if (!rc)
        rc = core_recos_load(job->app->recos, db);
    static const char *const risk_collections[] = {core_risk_models_json, core_risk_rules_json,
                                                   core_risk_scores_json};
    for (size_t i = 0; !rc && i < 3; i++)
        rc = add_builtin_collection(db, job->schema, risk_collections[i], true);
    if (!rc)
        rc = core_risk_load(job->app->risk, db);
    /* Before any worker reads: older versions may have stored plain text. */
    struct core_password_params params = {.m_kib = job->app->password_m_kib,
                                          .t = job->app->password_t};
    if (!rc)
        rc = core_data_upgrade(db, job->schema, params, job->is_fresh);
    return rc;
}

static int make_dirs(const char *dir)
{
    char path[4096];
    size_t n = strlen(dir);
    if (n == 0 || n >= sizeof(path))
        return -1;
    memcpy(path, dir, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (path[i] == '/' || path[i] == '\0') {
            char c = path[i];
            path[i] = '\0';
            if (mkdir(path, 0755) != 0 && errno != EEXIST)
                return -1;
            path[i] = c;
        }
    }
    return 0;
}

enum rc core_app_lock_dir(const char *dir)
{
    char path[4096];
    if (make_dirs(dir) != 0 ||
        snprintf(path, sizeof(path), "%s/serve.lock", dir) >= (int)sizeof(path))
        return RC_OK;
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return RC_OK;
    if (flock(fd, LOCK_EX | LOCK_NB) == 0)
        return RC_OK; /* fd stays open: it holds the lock */
    bool is_held = errno == EWOULDBLOCK;
    close(fd);
    return is_held ? RC_CONFLICT : RC_OK;
}

enum rc core_app_open(const char *dir, const char *db, struct core_app **out)
{
    if (make_dirs(dir) != 0) {
        log_error("msg=\"cannot create the data directory\" dir=%s error=\"%s\"", dir,
                  strerror(errno));
        return RC_IO;
    }
    /* The kinds of core/notify (after jobs/ in core's folder order). */
    core_job_kinds_add(&core_push_kind);
    core_job_kinds_add(&core_push_batch_kind);
    core_job_kinds_add(&core_notify_kind);
    core_job_kinds_add(&core_sms_kind);
    core_job_kinds_add(&core_reco_kind);
    struct core_app *app = xcalloc(1, sizeof(*app));
    pthread_mutex_init(&app->schema_mu, NULL);
    app->realtime = core_realtime_new(&app->limits, current_schema, app);
    /* Record writes announce their changes to these (core/event/event.h). */
    struct core_event_listener realtime = core_realtime_listener(app->realtime);
    (void)core_event_listen(&app->events, &realtime);
    /* Webhook deliveries are enqueued inside the write (the outbox). */
    app->webhooks = core_webhooks_new();
    struct core_event_listener webhooks = core_webhook_listener(app->webhooks);
    app->triggers = core_triggers_new(current_schema, app);
    struct core_event_listener triggers = core_triggers_listener(app->triggers);
    (void)core_event_listen(&app->events, &triggers);
    app->recos = core_recos_new(current_schema, app);
    struct core_event_listener recos = core_recos_listener(app->recos);
    (void)core_event_listen(&app->events, &recos);
    app->risk = core_risk_new(current_schema, app);
    struct core_event_listener risk = core_risk_listener(app->risk);
    (void)core_event_listen(&app->events, &risk);
    struct core_event_listener prefs = core_prefs_listener();
    (void)core_event_listen(&app->events, &prefs);
    (void)core_event_listen(&app->events, &webhooks);
    app->dir = xstrdup(dir);
    /* tarmac's defaults until the CLI starts the settings (settings_change.h). */
    app->settings_base = (struct core_settings_base){.defaults = core_settings_defaults(),
                                                     .locked = json_object(),
                                                     .batch_timeout_ms = -1,
                                                     .data_dir = app->dir};
    struct core_problem none;
    core_problem_init(&none);
    struct core_settings *first = NULL;
    if (core_settings_build(&app->settings_base, NULL, &none, &first) != RC_OK)
        abort(); /* a defect of core_settings_defaults, caught by every test */
    core_problem_cleanup(&none);
    atomic_store(&app->settings, first);
    app->password_m_kib = CORE_PASSWORD_DEFAULT_M_KIB;
    app->password_t = CORE_PASSWORD_DEFAULT_T;
    core_limits_defaults(&app->limits);
    /* A queue deep enough for a login storm on every core, bounded so it
     * answers 503 rather than growing (each queued login holds a request). */
    app->offload = net_offload_start(0, 4096);
    app->oidc = core_oidc_new();
    if (db && *db) {
        app->db_path = xstrdup(db);
    } else {
        size_t n = strlen(dir) + 16;
        app->db_path = xmalloc(n);
        snprintf(app->db_path, n, "%s/data.db", dir);
    }
    app->vectors = core_vectors_new(app->db_path, app->dir, CORE_VECTORS_DEFAULT_MIN_ROWS);
    char why[512];
    enum rc rc = core_restore_recover(dir, app->db_path, why, sizeof(why));
    if (rc) {
        log_error("msg=\"an interrupted restore cannot be finished: the data stays closed\" "
                  "dir=%s error=\"%s\"",
                  dir, why);
        core_app_close(app);
        return RC_IO;
    }
    app->backups = core_backups_new(dir, app->db_path);
    rc = store_writer_start(app->db_path, &app->writer);
    if (rc) {
        core_app_close(app);
        return rc;
    }
    struct load_job job = {.app = app, .schema = xcalloc(1, sizeof(struct core_schema))};
    rc = store_writer_run(app->writer, open_job, &job);
    if (rc) {
        core_schema_free(job.schema);
        core_app_close(app);
        return rc;
    }
    core_app_swap_schema(app, job.schema);
    struct core_jobs_host host = {
        .schema = current_schema,
        .schema_ctx = app,
        .dir = app->dir,
        .app_url = current_app_url,
        .settings = current_settings,
        .events = &app->events,
        .storage = current_storage,
    };
    app->jobs = core_jobs_new(app->db_path, app->writer, &host);
    core_triggers_set_jobs(app->triggers, app->jobs);
    core_recos_set_jobs(app->recos, app->jobs);
    core_risk_set_jobs(app->risk, app->jobs);
    core_risk_set_writer(app->risk, app->writer);
    struct core_event_listener wake = core_jobs_wake_listener(app->jobs, app->webhooks);
    (void)core_event_listen(&app->events, &wake);
    struct core_event_listener checks = core_jobs_check_listener(current_schema, app);
    (void)core_event_listen(&app->events, &checks);
    /* A write with new uploads to a field with thumbs enqueues a `thumbs`
     * job in its transaction and wakes the runners at the commit. */
    struct core_event_listener thumbs = core_thumbs_listener(app->jobs);
    (void)core_event_listen(&app->events, &thumbs);
    /* A write that changes the text a collection embeds enqueues an
     * `embed` job likewise (jobs/embed_kind.h). */
    struct core_event_listener embed = core_embed_listener(app->jobs);
    (void)core_event_listen(&app->events, &embed);
    /* The vector indexes follow the records' changes (record/vector_index.h). */
    struct core_event_listener vectors = core_vectors_listener(app->vectors);
    if (core_event_listen(&app->events, &vectors) != RC_OK)
        log_error("msg=\"too many event listeners: vector indexes will not follow writes\"");
    if (job.is_fresh)
        log_info("msg=\"new data directory\" dir=%s collections=%zu", dir, job.schema->count);
    *out = app;
    return RC_OK;
}

void core_app_set_storage_dir(struct core_app *app, const char *dir)
{
    xfree(app->storage_dir);
    app->storage_dir = xstrdup(dir);
    app->settings_base.storage_dir = app->storage_dir;
    core_backups_set_storage_dir(app->backups, dir);
}

void core_app_close(struct core_app *app)
{
    if (!app)
        return;
    core_backups_free(app->backups); /* waits for a backup under way */
    net_offload_stop(app->offload);
    core_oidc_free(app->oidc); /* after the pool: sign-ins there use it */
    core_jobs_free(app->jobs); /* its threads write through the writer */
    core_vectors_free(app->vectors);
    store_writer_stop(app->writer);
    core_hooks_free(app->hooks);     /* the writer's and the workers' states */
    core_cluster_free(app->cluster); /* after every thread that could publish */
    core_field_pattern_cleanup();
    core_realtime_free(app->realtime);
    core_webhooks_free(app->webhooks);
    core_triggers_free(app->triggers);
    core_recos_free(app->recos);
    core_risk_free(app->risk);
    core_schema_free(atomic_load(&app->schema));
    for (size_t i = 0; i < app->old_schema_count; i++)
        core_schema_free(app->old_schemas[i]);
    xfree(app->old_schemas);
    core_settings_free(atomic_load(&app->settings));
    for (size_t i = 0; i < app->old_settings_count; i++)
        core_settings_free(app->old_settings[i]);
    xfree(app->old_settings);
    core_settings_base_cleanup(&app->settings_base);
    xfree(app->db_path);
    xfree(app->dir);
    xfree(app->storage_dir);
    pthread_mutex_destroy(&app->schema_mu);
    xfree(app);
}

enum rc core_worker_init(struct core_worker *cw, struct core_app *app, struct net_mailbox *mailbox)
{
    cw->app = app;
    cw->views = cw->own_views;
    cw->writer = app->writer;
    cw->offload = app->offload;
    cw->dir = app->dir;
    cw->storage = current_storage;
    cw->storage_ctx = app;
    cw->password =
        (struct core_password_params){.m_kib = app->password_m_kib, .t = app->password_t};
    cw->events = &app->events;
    cw->realtime = app->realtime;
    cw->vectors = app->vectors;
    cw->mailbox = mailbox;
    cw->counts = xcalloc(1, sizeof(*cw->counts));
    cw->pages = xcalloc(1, sizeof(*cw->pages));
    cw->records = xcalloc(1, sizeof(*cw->records));
    cw->records->slot_count = CORE_RECORD_CACHE_SLOTS;
    cw->tokens = core_token_cache_new();
    cw->auth_records = core_auth_records_new();
    core_realtime_attach(cw);
    if (app->hooks)
        core_hooks_attach(app->hooks, cw);
    core_ext_attach(cw);
    return store_open(app->db_path, STORE_OPEN_READ, &cw->db);
}

void core_worker_stop(struct core_worker *cw)
{
    core_realtime_detach(cw);
}

static void hooks_wake_jobs(void *ctx)
{
    core_jobs_wake(ctx);
}

/* A mail of the app: an `email` job, enqueued by the writer (the runners are
 * woken once it is committed). */
struct queued_mail {
    struct core_jobs_action a;
    struct core_app *app;
};

static void mail_enqueued(struct core_jobs_action *a)
{
    struct queued_mail *m = (struct queued_mail *)a;
    if (a->rc)
        log_warn("msg=\"mail not queued\" rc=%s", rc_name(a->rc));
    else
        core_jobs_wake(m->app->jobs);
    core_jobs_action_cleanup(a);
    xfree(m);
}

enum rc core_app_queue_mail(struct core_worker *cw, const char *to, const char *subject,
                            const char *text, const char *html)
{
    enum rc rc = net_mailer_check(to, subject, text, html);
    if (rc)
        return rc;
    struct queued_mail *m = xcalloc(1, sizeof(*m));
    m->app = cw->app;
    m->a.op = CORE_JOBS_ENQUEUE;
    snprintf(m->a.kind, sizeof(m->a.kind), "email");
    m->a.payload = core_job_email_payload(to, subject, text, html);
    m->a.spec = (struct core_job_spec){.kind = str_from_cstr(m->a.kind), .payload = m->a.payload};
    m->a.done = mail_enqueued;
    core_jobs_action_submit(cw, &m->a);
    return RC_OK;
}

enum rc core_app_send_auth_mail(struct core_worker *cw, const struct core_collection *col,
                                enum core_mail_kind kind, json_t *record, const char *to,
                                const struct core_mail_placeholder *extra, size_t extra_count)
{
    struct core_mail m;
    core_mail_init(&m);
    const struct core_settings *settings = core_app_settings(cw->app);
    struct core_mail_vars v = {.app_name = settings->app_name,
                               .app_url = settings->app_url,
                               .col = col,
                               .record = record,
                               .extra = extra,
                               .extra_count = extra_count};
    enum rc rc = core_mail_render(&col->mail[kind], &v, &m);
    if (rc == RC_OK)
        rc = core_app_queue_mail(cw, to, m.subject.data, m.text.data, m.html.data);
    if (rc)
        log_warn("msg=\"mail not queued\" rc=%s collection=%s template=%s", rc_name(rc), col->name,
                 core_mail_template_path(kind));
    core_mail_cleanup(&m);
    return rc;
}

enum rc core_app_start_hooks(struct core_app *app, const struct core_hooks_config *cfg, char *err,
                             size_t errlen)
{
    struct core_hooks_config c = *cfg;
    c.wake_jobs = hooks_wake_jobs;
    c.wake_ctx = app->jobs;
    enum rc rc = core_hooks_new(&c, current_schema, app, &app->hooks, err, errlen);
    if (rc)
        return rc;
    struct core_event_listener l = core_hooks_listener(app->hooks);
    return core_event_listen(&app->events, &l);
}

enum rc core_app_start_ext(struct core_app *app, char *err, size_t errlen)
{
    enum rc rc = core_ext_start(current_schema, app, err, errlen);
    if (rc || !core_ext_count())
        return rc;
    struct core_event_listener l = core_ext_listener();
    return core_event_listen(&app->events, &l);
}

enum rc core_worker_start_tasks(struct core_worker *cw, uv_loop_t *loop, unsigned conns)
{
    if (!cw->db || !store_is_remote(cw->db))
        return RC_OK;
    cw->tasks = core_tasks_new(cw, loop, cw->app->db_path, conns ? conns : 4);
    return cw->tasks ? RC_OK : RC_UNAVAILABLE;
}

bool core_worker_db_is_up(struct core_worker *cw)
{
    if (!cw->tasks)
        return true;
    struct store_stmt *st;
    if (store_prepare(cw->db, STR_LIT("SELECT 1"), &st) != RC_OK)
        return false;
    enum rc rc = store_step(st);
    store_done(st);
    return rc == RC_OK;
}

bool core_worker_is_busy(struct core_worker *cw)
{
    return core_tasks_live(cw->tasks) || core_realtime_is_busy(cw) ||
           (cw->app && cw->app->hooks && core_hooks_is_busy()) || core_ext_is_busy();
}

void core_worker_cleanup(struct core_worker *cw)
{
    core_realtime_worker_free(cw); /* a worker that failed to start never stopped */
    if (cw->app && cw->app->hooks)
        core_hooks_detach();
    core_ext_detach();
    core_worker_end_read(cw);
    core_tasks_free(cw->tasks);
    cw->tasks = NULL;
    store_close(cw->db);
    cw->db = NULL;
    if (cw->counts)
        core_count_cache_cleanup(cw->counts);
    xfree(cw->counts);
    cw->counts = NULL;
    if (cw->pages)
        core_page_cache_cleanup(cw->pages);
    xfree(cw->pages);
    cw->pages = NULL;
    if (cw->records)
        core_page_cache_cleanup(cw->records);
    xfree(cw->records);
    cw->records = NULL;
    core_token_cache_free(cw->tokens);
    cw->tokens = NULL;
    core_auth_records_free(cw->auth_records);
    cw->auth_records = NULL;
}

int64_t core_app_superuser_count(struct core_app *app)
{
    struct store_conn *db;
    if (store_open(app->db_path, STORE_OPEN_READ, &db) != RC_OK)
        return -1;
    struct store_stmt *st;
    int64_t n = -1;
    if (store_prepare(db, STR_LIT("SELECT COUNT(*) FROM \"_superusers\""), &st) == RC_OK) {
        if (store_step(st) == RC_OK)
            n = store_column_int64(st, 0);
        store_done(st);
    }
    store_close(db);
    return n;
}
