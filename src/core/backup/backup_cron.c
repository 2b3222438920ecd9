/* backup_cron.c -- see backup.h: the schedule (backups.cron,
 * backups.cronMaxKeep) on a thread of its own that sleeps until the next
 * slot; each automatic backup goes to the target of its moment (local or
 * backups.s3), and the retention lists and deletes there. */
#include "core/backup/backup.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/chrono.h"
#include "base/log.h"
#include "core/backup/backup_int.h"

/* Background work yields the CPU to the workers: a nice value for this
 * thread only (Linux's setpriority on a thread id). */
void backup_lower_priority(void)
{
    (void)setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 10);
}

/* ---- the schedule ------------------------------------------------------------------- */

static void auto_backup(struct core_backups *b, const char *app_name, int64_t max_keep)
{
    char key[CORE_BACKUP_KEY_MAX + 1], err[512];
    core_backup_auto_name(CORE_BACKUP_AUTO_PREFIX, app_name, chrono_real_ms(), key);
    enum rc rc = core_backups_create(b, key, err, sizeof(err));
    if (rc) {
        /* (PocketBase also mails the superusers; tarmac logs it.) */
        log_error("msg=\"automatic backup failed\" name=%s error=\"%s\"", key, err);
        return;
    }
    struct core_backup_entry *all = NULL;
    size_t n = 0;
    if (core_backups_list(b, &all, &n, err, sizeof(err)) != RC_OK) {
        log_error("msg=\"automatic backups not listed: the old ones stay\" error=\"%s\"", err);
        return;
    }
    size_t *drop = xcalloc(n ? n : 1, sizeof(*drop));
    size_t k = core_backup_retention(all, n, max_keep, drop);
    for (size_t i = 0; i < k; i++) {
        if (core_backups_delete(b, all[drop[i]].key) != RC_OK)
            log_error("msg=\"old automatic backup not removed\" name=%s", all[drop[i]].key);
    }
    xfree(drop);
    xfree(all);
}

static void *cron_main(void *arg)
{
    struct core_backups *b = arg;
    backup_lower_priority();
    pthread_mutex_lock(&b->mu);
    while (!b->is_stopping) {
        int64_t now = chrono_real_ms();
        int64_t next = b->has_cron ? cron_next(&b->cron, now) : -1;
        if (next < 0) {
            pthread_cond_wait(&b->cron_cv, &b->mu);
            continue;
        }
        uint64_t gen = b->generation;
        struct timespec until = {.tv_sec = (time_t)(next / 1000),
                                 .tv_nsec = (long)(next % 1000) * 1000000L};
        while (!b->is_stopping && gen == b->generation && chrono_real_ms() < next) {
            if (pthread_cond_timedwait(&b->cron_cv, &b->mu, &until) == ETIMEDOUT)
                break;
        }
        if (b->is_stopping || gen != b->generation || chrono_real_ms() < next)
            continue;
        char app[256];
        snprintf(app, sizeof(app), "%s", b->app_name);
        int64_t keep = b->max_keep;
        pthread_mutex_unlock(&b->mu);
        auto_backup(b, app, keep);
        pthread_mutex_lock(&b->mu);
    }
    pthread_mutex_unlock(&b->mu);
    return NULL;
}

void core_backups_schedule(struct core_backups *b, const char *cron, int64_t max_keep,
                           const char *app_name)
{
    pthread_mutex_lock(&b->mu);
    bool is_same = strcmp(cron ? cron : "", b->cron_text) == 0 && max_keep == b->max_keep &&
                   strcmp(app_name ? app_name : "", b->app_name) == 0;
    if (!is_same) {
        snprintf(b->cron_text, sizeof(b->cron_text), "%s", cron ? cron : "");
        b->has_cron = b->cron_text[0] && cron_parse(str_from_cstr(b->cron_text), &b->cron);
        if (b->cron_text[0] && !b->has_cron)
            log_error("msg=\"backups.cron does not parse: no automatic backups\" cron=\"%s\"",
                      b->cron_text);
        b->max_keep = max_keep;
        snprintf(b->app_name, sizeof(b->app_name), "%s", app_name ? app_name : "");
        b->generation++;
        pthread_cond_signal(&b->cron_cv);
    }
    if (b->has_cron && !b->has_cron_thread && !b->is_stopping) {
        b->has_cron_thread = pthread_create(&b->cron_thread, NULL, cron_main, b) == 0;
        if (!b->has_cron_thread)
            log_error("msg=\"no thread for automatic backups\"");
    }
    pthread_mutex_unlock(&b->mu);
}
