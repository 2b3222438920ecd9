/* mailer.h -- outbound e-mail over SMTP on a dedicated thread (layer: net).
 *
 * Callers on any thread queue a message and return at once; one thread owned
 * by the mailer builds each RFC 5322 message (RFC 2047 subject and sender
 * name; libcurl's MIME: multipart/alternative with html, else multipart/mixed
 * with one text/plain part; quoted-printable or base64 bodies) and sends it
 * with libcurl, retrying with backoff. Without an SMTP host the thread writes
 * each message to the log (level info) instead, so a developer can follow the
 * links in it. The queue is bounded in messages and in bytes: a full queue
 * answers RC_BUSY rather than growing memory. */
#ifndef TARMAC_NET_MAILER_H
#define TARMAC_NET_MAILER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/rc.h"

#define NET_MAILER_MAX_QUEUED 10000             /* default queue bound, messages */
#define NET_MAILER_STOP_MS 10000                /* default delivery deadline at stop */
#define NET_MAILER_MAX_PART (1024 * 1024)       /* bytes of text, and of html, per message */
#define NET_MAILER_MAX_QUEUED_BYTES (64u << 20) /* default bound of queued text, bytes */

/* Borrowed by net_mailer_start(), which copies what it keeps. */
struct net_mailer_config {
    const char *host;           /* NULL or "": no SMTP, messages go to the log */
    int port;                   /* 0: 465 with is_smtps, else 587 */
    const char *username;       /* NULL or "": no AUTH */
    const char *password;       /* never logged; wiped from memory at stop */
    const char *sender_address; /* required: the From and envelope sender */
    const char *sender_name;    /* NULL or "": From holds the address only */
    const char *local_name;     /* EHLO name; NULL or "": "localhost" (as curl, Go) */
    const char *auth_method;    /* "PLAIN" or "LOGIN"; NULL or "": the best the server offers */
    bool is_tls_required;       /* STARTTLS must succeed; else it is used when offered */
    bool is_smtps;              /* implicit TLS from the first byte (port 465) */
    /* Waits before each retry, ms; NULL: 1000, 5000, 25000 (four attempts in
     * all). A non-NULL pointer with retry_count 0 disables retries. */
    const unsigned *retry_delays_ms;
    size_t retry_count;      /* entries in retry_delays_ms */
    size_t max_queued;       /* 0: NET_MAILER_MAX_QUEUED */
    size_t max_queued_bytes; /* subjects and bodies; 0: NET_MAILER_MAX_QUEUED_BYTES */
    unsigned stop_ms;        /* 0: NET_MAILER_STOP_MS */
};

/* Counters since start; each message ends in exactly one of them. */
struct net_mailer_stats {
    uint64_t sent;   /* accepted by the SMTP server */
    uint64_t logged; /* written to the log (no host configured) */
    uint64_t failed; /* given up: retries spent, refused (5xx), or stop's deadline */
};

struct net_mailer;

/* Validates cfg, copies it and starts the mailer thread. RC_INVALID (and
 * nothing started) when the sender address, sender name, host or local name
 * is malformed or holds CR/LF. Call from the main thread at start-up, after
 * secure_init() (Message-IDs and MIME boundaries are random) and before other
 * threads use libcurl: this runs curl_global_init when a host is set. On
 * success *out is a new mailer; stop it with net_mailer_stop(). */
enum rc net_mailer_start(const struct net_mailer_config *cfg, struct net_mailer **out);

/* What net_mailer_start refuses of cfg: RC_INVALID or RC_OK. Any thread. */
enum rc net_mailer_config_check(const struct net_mailer_config *cfg);
/* Replaces m's host, credentials and sender with cfg's (the settings API):
 * later attempts use them, an attempt under way finishes with the old ones.
 * Only these fields are read: retries, bounds and stop_ms stay m's.
 * RC_INVALID (nothing changed) as net_mailer_config_check. Any thread;
 * takes m's lock for a pointer swap. */
enum rc net_mailer_configure(struct net_mailer *m, const struct net_mailer_config *cfg);

/* Queues one message to the single address `to` and returns at once; any
 * thread. Copies every argument. text is the plain-text body (required, may
 * be empty); html, when not NULL, makes the message multipart/alternative.
 * RC_INVALID when to is not one plain ASCII address (a@b, no spaces, quotes,
 * brackets, commas, controls), when subject holds a control character (so
 * CR/LF cannot inject a header) or is not UTF-8, when a body is not UTF-8, or
 * when text is NULL. RC_TOO_LARGE past 998 subject bytes or NET_MAILER_MAX_PART
 * body bytes. RC_BUSY when the queue would pass max_queued messages or
 * max_queued_bytes, or the mailer is stopping.
 * Nothing is queued on error. */
enum rc net_mailer_send(struct net_mailer *m, const char *to, const char *subject, const char *text,
                        const char *html);

/* What net_mailer_send checks of a message: RC_OK, RC_INVALID or
 * RC_TOO_LARGE, by the same rules. Any thread. */
enum rc net_mailer_check(const char *to, const char *subject, const char *text, const char *html);

/* One attempt to deliver a message now, on the calling thread, with a
 * connection of its own (the queue's `email` jobs: the job queue retries,
 * not the mailer). Blocks up to the SMTP timeouts; never on a loop. */
enum net_mail_outcome {
    NET_MAIL_SENT,      /* the SMTP server accepted it */
    NET_MAIL_LOGGED,    /* no SMTP host: written to the log, as the queue does */
    NET_MAIL_TRANSIENT, /* network, timeout, 4xx: worth another attempt */
    NET_MAIL_REFUSED,   /* 5xx, or not a valid message: never worth another */
};
enum net_mail_outcome net_mailer_deliver(struct net_mailer *m, const char *to, const char *subject,
                                         const char *text, const char *html, char *err,
                                         size_t err_len);

/* Copies the counters so far into *out; any thread. */
void net_mailer_stats(struct net_mailer *m, struct net_mailer_stats *out);

/* Refuses new messages, delivers what is queued (retries included) until the
 * queue is empty or stop_ms have passed, gives up on the rest (one error log
 * line each), joins the thread and frees m. When out is not NULL it receives
 * the final counters. Call once, from the thread that started m; accepts NULL. */
void net_mailer_stop(struct net_mailer *m, struct net_mailer_stats *out);

#endif
