/* logsink.c -- see logsink.h. */
#include "net/logsink.h"

#include <pthread.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <unistd.h>
#include <uv.h>

#include "base/buf.h"
#include "base/log.h"

#define LOGSINK_MAX_QUEUED (8u << 20) /* bytes waiting; past this, lines are dropped */

static struct {
    uv_thread_t thread;
    uv_mutex_t lock;
    uv_cond_t cond;
    struct buf queued;
    size_t dropped;
    bool is_stopping;
    bool is_running;
} sink;

static void write_all(const char *p, size_t len)
{
    while (len) {
        ssize_t n = write(STDERR_FILENO, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        p += n;
        len -= (size_t)n;
    }
}

static void sink_fn(const char *text, size_t len, void *ctx)
{
    (void)ctx;
    uv_mutex_lock(&sink.lock);
    if (buf_append(&sink.queued, text, len) != RC_OK)
        sink.dropped++;
    uv_cond_signal(&sink.cond);
    uv_mutex_unlock(&sink.lock);
}

static void run(void *arg)
{
    (void)arg;
    pthread_setname_np(pthread_self(), "tarmac-log");
    struct buf local;
    buf_init(&local, LOGSINK_MAX_QUEUED);
    uv_mutex_lock(&sink.lock);
    for (;;) {
        while (sink.queued.len == 0 && !sink.is_stopping)
            uv_cond_wait(&sink.cond, &sink.lock);
        if (sink.queued.len == 0 && sink.is_stopping)
            break;
        /* Swap buffers so workers can queue while this thread writes. */
        struct buf tmp = sink.queued;
        sink.queued = local;
        local = tmp;
        size_t dropped = sink.dropped;
        sink.dropped = 0;
        uv_mutex_unlock(&sink.lock);
        write_all(local.data, local.len);
        if (dropped) {
            char line[96];
            int n = snprintf(line, sizeof(line), "level=warn msg=\"log lines dropped\" count=%zu\n",
                             dropped);
            write_all(line, (size_t)n);
        }
        buf_reset(&local);
        uv_mutex_lock(&sink.lock);
    }
    uv_mutex_unlock(&sink.lock);
    buf_cleanup(&local);
}

void net_logsink_start(void)
{
    uv_mutex_init(&sink.lock);
    uv_cond_init(&sink.cond);
    buf_init(&sink.queued, LOGSINK_MAX_QUEUED);
    sink.is_stopping = false;
    uv_thread_create(&sink.thread, run, NULL);
    sink.is_running = true;
    log_set_sink(sink_fn, NULL);
}

void net_logsink_stop(void)
{
    if (!sink.is_running)
        return;
    uv_mutex_lock(&sink.lock);
    sink.is_stopping = true;
    uv_cond_signal(&sink.cond);
    uv_mutex_unlock(&sink.lock);
    uv_thread_join(&sink.thread);
    log_set_sink(NULL, NULL);
    buf_cleanup(&sink.queued);
    uv_cond_destroy(&sink.cond);
    uv_mutex_destroy(&sink.lock);
    sink.is_running = false;
}
