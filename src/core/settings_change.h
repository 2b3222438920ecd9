/* settings_change.h -- the settings started and changed (layer: core).
 *
 * At start the CLI hands over the layers the flags make; the stored layer
 * is read from the database and the first snapshot installed. A change
 * (PATCH /api/settings) is a writer job: on the writer thread the body is
 * checked and merged onto the newest snapshot (so two changes in one group
 * build on each other), the stored layer written in the job's savepoint,
 * and after the commit the new snapshot is installed and applied
 * (core_app_swap_settings: the mailer, then the CLI's listener). */
#ifndef TARMAC_CORE_SETTINGS_CHANGE_H
#define TARMAC_CORE_SETTINGS_CHANGE_H

#include <jansson.h>

#include "core/app.h"

/* Takes ownership of base's contents (base is left zeroed), reads the
 * stored layer and installs the first snapshot (applied to the mailer).
 * Blocking: start-up only, before the workers. RC_INVALID with err when the
 * stored settings no longer compile; RC_IO when they cannot be read. */
enum rc core_settings_start(struct core_app *app, struct core_settings_base *base, char *err,
                            size_t errlen);

struct core_settings_change;
/* Runs on the submitting worker's loop once the change is done: rc RC_OK
 * (the new snapshot is installed), RC_INVALID (problem filled), or a store
 * error. */
typedef void core_settings_change_fn(struct core_settings_change *ch, enum rc rc);

struct core_settings_change {
    json_t *body; /* the PATCH body; a reference is held until free */
    struct core_problem problem;
    core_settings_change_fn *done;
    void *ctx;
    /* Private: */
    struct core_app *_app;
    struct core_worker *_cw;
    struct core_settings *_from; /* the snapshot the first run merged onto */
    struct core_settings *_next;
    uint64_t _ticket; /* app->on_local_change's */
    enum rc _rc;
};

/* Queues a change of body from cw's loop; done(ch) runs there. Returns a
 * new change; free it with core_settings_change_free() after done. */
struct core_settings_change *core_settings_change_submit(struct core_worker *cw, json_t *body,
                                                         core_settings_change_fn *done, void *ctx);
void core_settings_change_free(struct core_settings_change *ch);
/* Reads the stored layer again and installs the snapshot it makes over
 * this instance's flags, queued on the writer (after the changes before
 * it): another instance changed the settings (--redis). Any thread;
 * returns at once; done(ctx, rc) (may be NULL) runs on the writer thread
 * once installed (or failed). */
void core_settings_reload(struct core_app *app, void (*done)(void *ctx, enum rc rc), void *ctx);

/* POST /api/settings/test/email: queues col's mail template (PocketBase's
 * names: "verification", "password-reset", "email-change", "otp",
 * "login-alert") to `to`, rendered for a stand-in record whose visible
 * fields read "__pb_test_<name>__" (PocketBase's test record), through the
 * current SMTP settings. RC_NOT_FOUND for an unknown template name; else as
 * core_app_queue_mail. cw's loop. */
enum rc core_settings_test_mail(struct core_worker *cw, const struct core_collection *col,
                                const char *template_name, const char *to);

#endif
