/* metrics.c -- see metrics.h. */
#include "core/metrics.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/resource.h>
#include <unistd.h>

#include "base/chrono.h"
#include "base/metrics.h"
#include "core/app.h"
#include "core/cluster/cluster.h"
#include "core/realtime/realtime.h"
#include "core/files/thumb.h"
#include "net/mailer.h"
#include "net/offload.h"
#include "net/s3.h"
#include "store/writer.h"

static void gauge(struct buf *out, const char *name, const char *help, double v)
{
    metrics_text_header(out, name, "gauge", help);
    metrics_text_sample(out, name, NULL, v);
}

static void counter(struct buf *out, const char *name, const char *help, uint64_t v)
{
    metrics_text_header(out, name, "counter", help);
    metrics_text_sample_u64(out, name, NULL, v);
}

/* Resident memory from /proc/self/statm (second field, in pages). */
static double resident_bytes(void)
{
    char text[128];
    int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, text, sizeof(text) - 1);
    close(fd);
    if (n <= 0)
        return 0;
    text[n] = '\0';
    unsigned long long size = 0;
    unsigned long long resident = 0;
    if (sscanf(text, "%llu %llu", &size, &resident) != 2)
        return 0;
    return (double)resident * (double)sysconf(_SC_PAGESIZE);
}

static double open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return 0;
    double n = -1; /* the directory's own descriptor */
    while (readdir(d))
        n++;
    closedir(d);
    return n - 2; /* "." and ".." */
}

static void write_process(struct buf *out)
{
    struct rusage ru;
    double cpu = 0;
    if (getrusage(RUSAGE_SELF, &ru) == 0)
        cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
              (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    metrics_text_header(out, "process_cpu_seconds_total", "counter",
                        "User and system CPU time spent in seconds.");
    metrics_text_sample(out, "process_cpu_seconds_total", NULL, cpu);
    gauge(out, "process_resident_memory_bytes", "Resident memory size in bytes.", resident_bytes());
    gauge(out, "process_open_fds", "Number of open file descriptors.", open_fds());
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
        gauge(out, "process_max_fds", "Maximum number of open file descriptors.",
              (double)rl.rlim_cur);
}

void core_metrics_write(struct core_app *app, struct buf *out)
{
    struct store_writer_stats ws;
    store_writer_stats(app->writer, &ws);
    gauge(out, "tarmac_writer_queue_length", "Write jobs waiting for the writer thread.",
          (double)ws.queued);
    counter(out, "tarmac_writer_commits_total", "Write transactions committed (group commits).",
            ws.commits);
    counter(out, "tarmac_writer_jobs_total", "Write jobs answered, committed or failed.",
            ws.jobs_done);
    metrics_text_header(out, "tarmac_writer_commit_duration_seconds", "histogram",
                        "Time of each committed write transaction, BEGIN to COMMIT.");
    metrics_text_hist(out, "tarmac_writer_commit_duration_seconds", NULL, &ws.tx_time);

    gauge(out, "tarmac_offload_queue_length",
          "Jobs waiting for the offload pool (argon2id, thumbnails, file reads).",
          app->offload ? (double)net_offload_queued(app->offload) : 0);

    struct net_mailer_stats ms = {0};
    if (app->mailer)
        net_mailer_stats(app->mailer, &ms);
    metrics_text_header(out, "tarmac_mails_total", "counter",
                        "Mails by outcome: sent (accepted by SMTP), logged (no SMTP host), "
                        "failed (given up).");
    metrics_text_sample_u64(out, "tarmac_mails_total", (const char *[]){"result", "sent", NULL},
                            ms.sent);
    metrics_text_sample_u64(out, "tarmac_mails_total", (const char *[]){"result", "logged", NULL},
                            ms.logged);
    metrics_text_sample_u64(out, "tarmac_mails_total", (const char *[]){"result", "failed", NULL},
                            ms.failed);

    uint64_t made = 0;
    uint64_t failed = 0;
    core_thumb_counts(&made, &failed);
    metrics_text_header(out, "tarmac_thumbnails_total", "counter",
                        "Thumbnails by outcome (failed includes too large).");
    metrics_text_sample_u64(out, "tarmac_thumbnails_total",
                            (const char *[]){"result", "made", NULL}, made);
    metrics_text_sample_u64(out, "tarmac_thumbnails_total",
                            (const char *[]){"result", "failed", NULL}, failed);

    uint64_t s3_requests = 0;
    uint64_t s3_failed = 0;
    net_s3_counts(&s3_requests, &s3_failed);
    metrics_text_header(out, "tarmac_s3_requests_total", "counter",
                        "Requests to S3 (file storage, settings tests) and those that failed "
                        "(any answer but success and 404, or none).");
    metrics_text_sample_u64(out, "tarmac_s3_requests_total",
                            (const char *[]){"result", "sent", NULL}, s3_requests);
    metrics_text_sample_u64(out, "tarmac_s3_requests_total",
                            (const char *[]){"result", "failed", NULL}, s3_failed);

    gauge(out, "tarmac_realtime_clients", "Realtime clients connected (SSE and WebSocket).",
          (double)core_realtime_client_count(app->realtime));
    struct metrics_hist fanout = {0};
    core_realtime_fanout_time(app->realtime, &fanout);
    metrics_text_header(out, "tarmac_realtime_fanout_duration_seconds", "histogram",
                        "A record event's fan-out on one worker: from its commit's notice to "
                        "the last subscriber's line handed to its socket.");
    metrics_text_hist(out, "tarmac_realtime_fanout_duration_seconds", NULL, &fanout);
    if (app->cluster)
        core_cluster_metrics_write(app->cluster, out);
    write_process(out);
}
