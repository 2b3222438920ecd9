/* settings_change.c -- see settings_change.h.
 *
 * Why the "tip": the writer runs a group's jobs one after another and
 * commits once, and the snapshot is installed only after the commit. A
 * second change in the same group must merge onto the first one's result,
 * not onto the installed snapshot, or the first would be lost; the tip is
 * the newest snapshot an apply made (writer thread only). A failed group
 * clears it. A job that runs again (writer.h) merges onto the snapshot its
 * first run used, so it gives the same result; what a run made and
 * dropped is retired, not freed, as another job may have built on it. */
#include "core/settings_change.h"

#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/chrono.h"
#include "base/log.h"
#include "core/auth/mail.h"
#include "store/writer.h"

struct start_job {
    json_t *stored;
};

static enum rc load_stored(struct store_conn *db, void *ctx)
{
    struct start_job *j = ctx;
    json_decref(j->stored);
    j->stored = NULL;
    return core_settings_load(db, &j->stored);
}

enum rc core_settings_start(struct core_app *app, struct core_settings_base *base, char *err,
                            size_t errlen)
{
    core_settings_base_cleanup(&app->settings_base);
    app->settings_base = *base;
    app->settings_base.data_dir = app->dir;
    app->settings_base.storage_dir = app->storage_dir;
    memset(base, 0, sizeof(*base));
    struct start_job j = {0};
    enum rc rc = store_writer_run(app->writer, load_stored, &j);
    if (rc) {
        snprintf(err, errlen, "the stored settings cannot be read (%s)", rc_name(rc));
        json_decref(j.stored);
        return rc;
    }
    struct core_problem p;
    core_problem_init(&p);
    struct core_settings *s = NULL;
    rc = core_settings_build(&app->settings_base, j.stored, &p, &s);
    json_decref(j.stored);
    if (rc) {
        char *what = p.data ? json_dumps(p.data, JSON_COMPACT) : NULL;
        snprintf(err, errlen, "the stored settings are not valid: %s", what ? what : "");
        xfree(what);
        core_problem_cleanup(&p);
        return rc;
    }
    core_problem_cleanup(&p);
    core_app_swap_settings(app, s);
    return RC_OK;
}

static enum rc change_apply(struct store_conn *db, void *ctx)
{
    struct core_settings_change *ch = ctx;
    struct core_app *app = ch->_app;
    if (!ch->_from)
        ch->_from =
            app->settings_tip ? app->settings_tip : (struct core_settings *)core_app_settings(app);
    core_app_retire_settings(app, ch->_next); /* a run before this one made it */
    ch->_next = NULL;
    core_problem_cleanup(&ch->problem);
    core_problem_init(&ch->problem);
    enum rc rc = core_settings_patch(ch->_from, ch->body, &ch->problem, &ch->_next);
    if (!rc)
        rc = core_settings_save(db, ch->_next->stored);
    if (rc)
        return rc;
    app->settings_tip = ch->_next;
    return RC_OK;
}

static void change_after(enum rc rc, void *ctx)
{
    struct core_settings_change *ch = ctx;
    struct core_app *app = ch->_app;
    if (rc || !ch->_next) {
        app->settings_tip = NULL; /* the next change merges onto the installed one */
        core_app_retire_settings(app, ch->_next); /* another job may have merged onto it */
        ch->_next = NULL;
        return;
    }
    if (app->settings_tip == ch->_next)
        app->settings_tip = NULL;
    core_app_swap_settings(app, ch->_next);
    ch->_next = NULL; /* the app's now */
    log_info("msg=\"settings changed\"");
    if (app->on_local_change)
        ch->_ticket = app->on_local_change(app->on_local_change_ctx, "settings");
}

static void answer(void *arg)
{
    struct core_settings_change *ch = arg;
    ch->done(ch, ch->_rc);
}

static void change_done(enum rc rc, void *ctx)
{
    struct core_settings_change *ch = ctx;
    struct core_app *app = ch->_app;
    uint64_t ticket = ch->_ticket;
    ch->_ticket = 0;
    ch->_rc = rc;
    if (ticket && app->await_change) {
        /* answered once the other instances apply it too (--redis) */
        app->await_change(app->on_local_change_ctx, ticket, ch->_cw, answer, ch);
        return;
    }
    ch->done(ch, rc);
}

struct core_settings_change *core_settings_change_submit(struct core_worker *cw, json_t *body,
                                                         core_settings_change_fn *done, void *ctx)
{
    struct core_settings_change *ch = xcalloc(1, sizeof(*ch));
    ch->body = json_incref(body);
    core_problem_init(&ch->problem);
    ch->done = done;
    ch->ctx = ctx;
    ch->_app = cw->app;
    ch->_cw = cw;
    store_writer_submit_after(cw->writer, cw->mailbox, change_apply, change_after, change_done, ch);
    return ch;
}

/* A reload (core_settings_reload): what it read and built, on the writer. */
struct reload {
    struct core_app *app;
    struct core_settings *next;
    void (*done)(void *ctx, enum rc rc);
    void *ctx;
};

static enum rc reload_apply(struct store_conn *db, void *ctx)
{
    struct reload *r = ctx;
    struct core_app *app = r->app;
    core_app_retire_settings(app, r->next); /* a run before this one made it */
    r->next = NULL;
    json_t *stored = NULL;
    enum rc rc = core_settings_load(db, &stored);
    struct core_problem p;
    core_problem_init(&p);
    if (!rc)
        rc = core_settings_build(&app->settings_base, stored, &p, &r->next);
    core_problem_cleanup(&p);
    json_decref(stored);
    if (rc)
        return rc;
    app->settings_tip = r->next; /* a change in the same group merges onto it */
    return RC_OK;
}

static void reload_after(enum rc rc, void *ctx)
{
    struct reload *r = ctx;
    struct core_app *app = r->app;
    if (app->settings_tip == r->next)
        app->settings_tip = NULL;
    if (rc || !r->next) {
        core_app_retire_settings(app, r->next);
        log_warn("msg=\"settings not read again after another instance's change\" rc=%s",
                 rc_name(rc));
    } else {
        core_app_swap_settings(app, r->next);
    }
    r->next = NULL;
}

static void reload_done(enum rc rc, void *ctx)
{
    struct reload *r = ctx;
    if (r->done)
        r->done(r->ctx, rc);
    xfree(r);
}

void core_settings_reload(struct core_app *app, void (*done)(void *ctx, enum rc rc), void *ctx)
{
    struct reload *r = xcalloc(1, sizeof(*r));
    r->app = app;
    r->done = done;
    r->ctx = ctx;
    store_writer_submit_after(app->writer, NULL, reload_apply, reload_after, reload_done, r);
}

void core_settings_change_free(struct core_settings_change *ch)
{
    if (!ch)
        return;
    json_decref(ch->body);
    core_problem_cleanup(&ch->problem);
    xfree(ch); /* _next is the app's: installed or retired by change_after */
}

enum rc core_settings_test_mail(struct core_worker *cw, const struct core_collection *col,
                                const char *template_name, const char *to)
{
    static const struct {
        const char *name;
        enum core_mail_kind kind;
    } kinds[] = {{"verification", CORE_MAIL_VERIFICATION},
                 {"password-reset", CORE_MAIL_RESET_PASSWORD},
                 {"email-change", CORE_MAIL_CONFIRM_EMAIL_CHANGE},
                 {"otp", CORE_MAIL_OTP}};
    const struct core_mail_template *t = NULL;
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        if (strcmp(template_name, kinds[i].name) == 0)
            t = &col->mail[kinds[i].kind];
    }
    if (strcmp(template_name, "login-alert") == 0)
        t = &col->auth_alert.email;
    if (!t)
        return RC_NOT_FOUND;
    json_t *record = json_object();
    for (size_t i = 0; i < col->field_count; i++) {
        const struct core_field *f = &col->fields[i];
        if (f->is_hidden)
            continue;
        char v[300];
        snprintf(v, sizeof(v), "__pb_test_%s__", f->name);
        json_object_set_new(record, f->name, json_string(v));
    }
    json_object_set_new(record, "email", json_string(to));
    char now[32], info[80];
    chrono_format_db_ms(chrono_real_ms(), now);
    snprintf(info, sizeof(info), "%s - TEST_IP TEST_USER_AGENT", now);
    const struct core_mail_placeholder extra[] = {{"{TOKEN}", "__pb_test_token__"},
                                                  {"{OTP}", "123456"},
                                                  {"{OTP_ID}", "_PB_TEST_OTP_ID_"},
                                                  {"{ALERT_INFO}", info}};
    const struct core_settings *settings = core_app_settings(cw->app);
    struct core_mail_vars v = {.app_name = settings->app_name,
                               .app_url = settings->app_url,
                               .col = col,
                               .record = record,
                               .extra = extra,
                               .extra_count = sizeof(extra) / sizeof(extra[0])};
    struct core_mail m;
    core_mail_init(&m);
    enum rc rc = core_mail_render(t, &v, &m);
    if (!rc)
        rc = core_app_queue_mail(cw, to, m.subject.data, m.text.data, m.html.data);
    core_mail_cleanup(&m);
    json_decref(record);
    return rc;
}
