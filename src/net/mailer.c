/* mailer.c -- see mailer.h.
 *
 * Design. net_mailer_send() validates and copies a message into a FIFO under
 * a lock and signals the mailer thread; it never blocks on the network. The
 * thread takes one message at a time, builds its headers and a curl_mime
 * body in memory (messages are small and capped, so streaming would buy
 * nothing) and hands them to one reused curl easy handle, so a burst shares
 * one SMTP connection; the handle (and its connection, after QUIT) is
 * dropped whenever the queue runs dry, so no idle session is held open. A failed attempt goes
 * to a retry list sorted by due time, so one bad recipient does not hold the
 * queue up for the whole backoff; replies 5xx are final and not retried.
 *
 * Encoding keeps every message 7-bit, so no server needs 8BITMIME or SMTPUTF8:
 * header text that is not plain ASCII becomes RFC 2047 "B" encoded-words
 * (ours: curl_mime does not encode headers); libcurl's MIME encoders make the
 * bodies quoted-printable, or base64 when more than a fifth of the bytes are
 * non-ASCII. libcurl dot-stuffs lines that start with '.' and adds the final
 * ".".
 *
 * Threads: send and stats run on any thread, start and stop on the owner's.
 * The lists, counts and stop state are under `lock`; the curl handle is the
 * mailer thread's alone; the counters and abort_at_ms (read by curl's
 * progress callback, so a transfer cannot outlive stop's deadline) are
 * atomics. The thread re-checks the state under the lock before every wait,
 * so a signal sent while it was sending is never lost. */
#include "net/mailer.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <uv.h>

#include "base/alloc.h"
#include "base/b64.h"
#include "base/buf.h"
#include "base/chrono.h"
#include "base/log.h"
#include "base/secure.h"
#include "base/utf8.h"
#include "base/str.h"
#include "net/http_out.h"

#define MAX_SUBJECT 998 /* RFC 5322 §2.1.1 line limit, before encoding */
#define MAX_ADDRESS 254 /* RFC 5321 path limit, less the brackets */
#define CONNECT_TIMEOUT_MS 10000L
#define TOTAL_TIMEOUT_MS 30000L

static const unsigned default_delays_ms[] = {1000, 5000, 25000};

struct msg {
    struct msg *next;
    char *to;
    char *subject;
    char *text;
    char *html;         /* NULL: text/plain only */
    char *last_error;   /* why the last attempt failed; NULL before any */
    int64_t created_ms; /* wall clock, for the Date header */
    uint64_t due_ms;    /* monotonic time of the next attempt (retry list) */
    size_t bytes;       /* held by the strings, for the queue's byte bound */
    unsigned attempts;  /* made so far */
};

/* Where and as whom mail goes: immutable once made, replaced whole by
 * net_mailer_configure while mails are in flight, so each attempt holds a
 * reference to the one it started with. */
struct smtp_params {
    _Atomic unsigned refs;
    char *host; /* NULL: log mode */
    char *url;
    char *username;
    char *password;
    char *sender_address;
    char *sender_name;
    char *login_options; /* "AUTH=PLAIN", "AUTH=LOGIN"; NULL: curl's choice */
    bool is_tls_required;
    bool is_smtps;
};

struct net_mailer {
    struct smtp_params *params; /* under lock; take a reference with params_ref() */
    bool did_curl_init;         /* curl_global_init ran for a host: cleanup at stop */
    unsigned *retry_delays_ms;
    size_t retry_count;
    size_t max_queued;
    size_t max_queued_bytes;
    unsigned stop_ms;

    uv_thread_t thread;
    uv_mutex_t lock;
    uv_cond_t cond;
    /* Under lock: */
    struct msg *head; /* new messages, FIFO */
    struct msg *tail;
    struct msg *retry;   /* failed once or more, by due_ms */
    size_t queued;       /* in both lists or being sent */
    size_t queued_bytes; /* their msg.bytes */
    bool is_stopping;
    uint64_t stop_at_ms; /* monotonic; set when is_stopping */

    CURL *curl;                   /* mailer thread only; NULL while idle */
    _Atomic uint64_t abort_at_ms; /* 0: none; set by stop, read by check_abort() */
    _Atomic uint64_t sent;        /* the counters: written by the mailer thread */
    _Atomic uint64_t logged;
    _Atomic uint64_t failed;
};

static uint64_t now_ms(void)
{
    return chrono_mono_ns() / 1000000u;
}

/* ---- validation --------------------------------------------------------- */

/* One plain ASCII address: local@domain, printable, none of the characters
 * that would let it name a second recipient or break out of a header. */
static bool is_valid_address(const char *s)
{
    size_t len = s ? strlen(s) : 0;
    if (len < 3 || len > MAX_ADDRESS)
        return false;
    const char *at = strchr(s, '@');
    if (!at || at == s || strchr(at + 1, '@') || at[1] == '\0' || at[1] == '.' ||
        s[len - 1] == '.' || strstr(at, ".."))
        return false;
    for (const char *p = s; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c <= 0x20 || c >= 0x7f || strchr("<>()[],;:\\\"", c))
            return false;
    }
    return true;
}

/* Header text: UTF-8 without any control character (CR, LF, NUL, TAB...). */
static enum rc check_header_text(const char *s, size_t max)
{
    size_t len = strlen(s);
    if (len > max)
        return RC_TOO_LARGE;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f)
            return RC_INVALID;
    }
    return utf8_is_valid(s, len) ? RC_OK : RC_INVALID;
}

static enum rc check_body(const char *s)
{
    size_t len = strlen(s);
    if (len > NET_MAILER_MAX_PART)
        return RC_TOO_LARGE;
    return utf8_is_valid(s, len) ? RC_OK : RC_INVALID;
}

/* A host or EHLO name as it may sit in a URL unescaped. */
static bool is_valid_host(const char *s)
{
    size_t len = strlen(s);
    if (len == 0 || len > 255)
        return false;
    for (const char *p = s; *p; p++) {
        char c = *p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              strchr(".-_:[]", c)))
            return false;
    }
    return true;
}

/* ---- writing text with a sticky error ----------------------------------- */

/* Appends whose first failure is kept and reported once (STYLE §3.2.6). */
struct out {
    struct buf b;
    enum rc rc;
};

static void put(struct out *o, const void *p, size_t n)
{
    if (!o->rc)
        o->rc = buf_append(&o->b, p, n);
}

static void put_cstr(struct out *o, const char *s)
{
    put(o, s, strlen(s));
}

/* Writes 2 * bytes random lowercase hex digits to dst (no NUL); bytes <= 16. */
static void random_hex(char *dst, size_t bytes)
{
    unsigned char r[16];
    secure_random_bytes(r, bytes);
    str_hex_encode(r, bytes, dst);
}

/* ---- message ------------------------------------------------------------ */

/* libcurl writes the MIME structure from a curl_mime: the boundaries, each
 * part's Content-Type and Content-Transfer-Encoding, and quoted-printable or
 * base64 bodies in lines of at most 76 characters. Ours are the headers (RFC
 * 2047 words, the From quoting, Date, Message-ID), the CRLF form of the text
 * and the choice of encoding. curl's root part is always a multipart: a
 * text-only message is multipart/mixed with one text/plain part. */

/* Appends s as RFC 2047 "B" encoded-words of UTF-8, folded so that no line
 * passes 76 characters (§2) when col characters already sit on the current
 * line (col <= 56). Each word holds whole characters (§5), so a decoder never
 * sees half a sequence. */
static void put_encoded_words(struct out *o, const char *s, size_t len, size_t col)
{
    while (len) {
        size_t n = (76 - col - 12) / 4 * 3; /* 12: "=?UTF-8?B?" and "?=" */
        if (n >= len) {
            n = len;
        } else {
            while (((unsigned char)s[n] & 0xC0) == 0x80)
                n--;
        }
        char enc[64];
        size_t e = b64_encode(B64_STD_PAD, s, n, enc);
        put_cstr(o, "=?UTF-8?B?");
        put(o, enc, e);
        put_cstr(o, "?=");
        s += n;
        len -= n;
        if (len) {
            put_cstr(o, "\r\n ");
            col = 1;
        }
    }
}

/* True when s cannot go into a header as it is: not ASCII, too long for a
 * 78-character line, or holding "=?", which a reader would decode. */
static bool needs_encoding(const char *s, size_t col)
{
    size_t len = strlen(s);
    for (size_t i = 0; i < len; i++) {
        if ((unsigned char)s[i] >= 0x80)
            return true;
    }
    return col + len > 78 || strstr(s, "=?") != NULL;
}

static void put_subject(struct out *o, const char *subject)
{
    put_cstr(o, "Subject: ");
    if (needs_encoding(subject, 9))
        put_encoded_words(o, subject, strlen(subject), 9);
    else
        put_cstr(o, subject);
}

static void put_from(struct out *o, const struct smtp_params *m)
{
    const char *name = m->sender_name;
    put_cstr(o, "From: ");
    if (!name) {
        put_cstr(o, m->sender_address);
    } else if (needs_encoding(name, 6 + 2 + 3 + strlen(m->sender_address))) {
        put_encoded_words(o, name, strlen(name), 6);
        put_cstr(o, "\r\n <");
        put_cstr(o, m->sender_address);
        put_cstr(o, ">");
    } else {
        /* A quoted-string, so specials in the name (",", ":") stay text. */
        put_cstr(o, "\"");
        for (const char *p = name; *p; p++) {
            if (*p == '"' || *p == '\\')
                put_cstr(o, "\\");
            put(o, p, 1);
        }
        put_cstr(o, "\" <");
        put_cstr(o, m->sender_address);
        put_cstr(o, ">");
    }
}

/* Ends the header written into o: appends it to *list as one entry (curl
 * writes each entry and a CRLF, so folded lines stay inside) and empties o. */
static void end_header(struct out *o, struct curl_slist **list)
{
    put(o, "", 1);
    if (!o->rc) {
        struct curl_slist *l = curl_slist_append(*list, o->b.data);
        if (l)
            *list = l;
        else
            o->rc = RC_NOMEM;
    }
    buf_reset(&o->b);
}

/* Copies s with every line break (CRLF, LF, lone CR) made CRLF, the
 * canonical form of text that RFC 2045 §2.10 asks for before encoding. */
static void put_crlf_text(struct out *o, const char *s)
{
    while (*s) {
        size_t n = strcspn(s, "\r\n");
        put(o, s, n);
        s += n;
        if (!*s)
            break;
        put_cstr(o, "\r\n");
        s += (s[0] == '\r' && s[1] == '\n') ? 2 : 1;
    }
}

/* Adds text as a part of type to mime: in CRLF form (curl's quoted-printable
 * would escape a lone LF as =0A), quoted-printable, or base64 when more than
 * a fifth of the bytes are not ASCII (QP spends 3 bytes on each, base64 4/3
 * on all). The CRLF before a delimiter is the delimiter's (RFC 2046 §5.1.1),
 * so a part's text arrives exact. */
static enum rc add_part(curl_mime *mime, const char *type, const char *text)
{
    struct out canon = {.rc = RC_OK};
    buf_init(&canon.b, 2 * NET_MAILER_MAX_PART); /* a lone LF becomes two bytes */
    put_crlf_text(&canon, text);
    size_t non_ascii = 0;
    for (size_t i = 0; i < canon.b.len; i++)
        non_ascii += (unsigned char)canon.b.data[i] >= 0x80;
    const char *encoding = non_ascii * 5 > canon.b.len ? "base64" : "quoted-printable";
    enum rc rc = canon.rc;
    curl_mimepart *part = rc ? NULL : curl_mime_addpart(mime);
    if (!rc && (!part || curl_mime_type(part, type) || curl_mime_encoder(part, encoding) ||
                curl_mime_data(part, canon.b.data ? canon.b.data : "", canon.b.len)))
        rc = RC_NOMEM;
    buf_cleanup(&canon.b);
    return rc;
}

/* Builds the message for curl handle c: its headers into *headers, one entry
 * each, and its body into *mime. On error (RC_NOMEM) nothing is left to free;
 * on success free both after the transfer (curl_easy_reset first). */
static enum rc build_message(const struct smtp_params *m, const struct msg *g, CURL *c,
                             struct curl_slist **headers, curl_mime **mime)
{
    struct out o = {.rc = RC_OK};
    buf_init(&o.b, 16384); /* the longest header, a 998-byte subject, encodes in ~1,700 */
    struct curl_slist *list = NULL;
    /* RFC 5322 §3.3 wants a numeric zone; "GMT" is obsolete syntax there. */
    char date[30];
    chrono_format_http_date(g->created_ms / 1000, date);
    put_cstr(&o, "Date: ");
    put(&o, date, 26);
    put_cstr(&o, "+0000");
    end_header(&o, &list);
    put_from(&o, m);
    end_header(&o, &list);
    put_cstr(&o, "To: ");
    put_cstr(&o, g->to);
    end_header(&o, &list);
    put_subject(&o, g->subject);
    end_header(&o, &list);
    char id[32];
    random_hex(id, 16);
    put_cstr(&o, "Message-ID: <");
    put(&o, id, sizeof(id));
    put_cstr(&o, strchr(m->sender_address, '@'));
    put_cstr(&o, ">");
    end_header(&o, &list);
    put_cstr(&o, "MIME-Version: 1.0"); /* curl adds its own "Mime-Version" without it */
    end_header(&o, &list);
    if (g->html) {
        /* curl gives the root part this type and its boundary; the parts
         * go from plainest to richest (RFC 2046 §5.1.4). */
        put_cstr(&o, "Content-Type: multipart/alternative");
        end_header(&o, &list);
    }
    buf_cleanup(&o.b);
    enum rc rc = o.rc;
    curl_mime *body = rc ? NULL : curl_mime_init(c);
    if (!rc && !body)
        rc = RC_NOMEM;
    if (!rc)
        rc = add_part(body, "text/plain; charset=UTF-8", g->text);
    if (!rc && g->html)
        rc = add_part(body, "text/html; charset=UTF-8", g->html);
    if (rc) {
        curl_mime_free(body);
        curl_slist_free_all(list);
        return rc;
    }
    *headers = list;
    *mime = body;
    return RC_OK;
}

/* ---- log lines ---------------------------------------------------------- */

/* Lines are built here rather than with log_write(), whose 2 KiB line would
 * cut the body a developer needs to read in log mode. */
static void line_begin(struct out *o, const char *level)
{
    char ts[32];
    o->rc = RC_OK;
    buf_init(&o->b, 8 * NET_MAILER_MAX_PART);
    chrono_format_rfc3339_ms(chrono_real_ms(), ts);
    put_cstr(o, "t=");
    put_cstr(o, ts);
    put_cstr(o, " level=");
    put_cstr(o, level);
    put_cstr(o, " ");
}

static void line_end(struct out *o)
{
    put_cstr(o, "\n");
    if (!o->rc)
        log_emit(o->b.data, o->b.len);
    buf_cleanup(&o->b);
}

/* A quoted log value: the line stays one line whatever s holds. */
static void put_quoted(struct out *o, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    put_cstr(o, "\"");
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            put(o, e, 2);
        } else if (c == '\n') {
            put_cstr(o, "\\n");
        } else if (c == '\r') {
            put_cstr(o, "\\r");
        } else if (c == '\t') {
            put_cstr(o, "\\t");
        } else if (c < 0x20 || c == 0x7f) {
            char e[4] = {'\\', 'x', hex[c >> 4], hex[c & 15]};
            put(o, e, 4);
        } else {
            put(o, s, 1);
        }
    }
    put_cstr(o, "\"");
}

static void log_unsent(const struct msg *g)
{
    if (!log_enabled(LOG_INFO))
        return;
    struct out o;
    line_begin(&o, "info");
    put_cstr(&o, "msg=\"mail not sent: no SMTP host\" to=");
    put_cstr(&o, g->to);
    put_cstr(&o, " subject=");
    put_quoted(&o, g->subject);
    put_cstr(&o, g->html ? " html=yes text=" : " html=no text=");
    put_quoted(&o, g->text);
    line_end(&o);
}

/* One line per message given up; never the password (curl's messages do
 * not hold it: credentials go in AUTH, not in the URL). */
static void log_failed(const struct msg *g, const char *why)
{
    if (!log_enabled(LOG_ERROR))
        return;
    struct out o;
    char n[24];
    snprintf(n, sizeof(n), "%u", g->attempts);
    line_begin(&o, "error");
    put_cstr(&o, "msg=\"mail failed\" to=");
    put_cstr(&o, g->to);
    put_cstr(&o, " subject=");
    put_quoted(&o, g->subject);
    put_cstr(&o, " attempts=");
    put_cstr(&o, n);
    put_cstr(&o, " why=");
    put_quoted(&o, why);
    put_cstr(&o, " error=");
    put_quoted(&o, g->last_error ? g->last_error : "");
    line_end(&o);
}

/* ---- SMTP --------------------------------------------------------------- */

enum attempt { ATTEMPT_SENT, ATTEMPT_TRANSIENT, ATTEMPT_PERMANENT };

/* Ends a transfer still running at stop's deadline (curl calls this at least
 * once a second, connecting included). */
static int check_abort(void *ctx, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    (void)dt;
    (void)dn;
    (void)ut;
    (void)un;
    struct net_mailer *m = ctx;
    uint64_t at = atomic_load(&m->abort_at_ms);
    return at && now_ms() >= at;
}

/* One attempt on c (a handle of the calling thread's). */
static enum attempt send_smtp(struct net_mailer *mailer, const struct smtp_params *m, CURL *c,
                              const struct msg *g, char *err, size_t err_len)
{
    char path[MAX_ADDRESS + 3];
    snprintf(path, sizeof(path), "<%s>", g->to);
    struct curl_slist *rcpt = curl_slist_append(NULL, path);
    if (!c || !rcpt) {
        curl_slist_free_all(rcpt);
        snprintf(err, err_len, "libcurl: out of memory");
        return ATTEMPT_TRANSIENT;
    }
    struct curl_slist *headers;
    curl_mime *mime;
    enum rc rc = build_message(m, g, c, &headers, &mime);
    if (rc) {
        curl_slist_free_all(rcpt);
        snprintf(err, err_len, "cannot build the message: %s", rc_text(rc));
        return ATTEMPT_PERMANENT;
    }
    char from[MAX_ADDRESS + 3];
    snprintf(from, sizeof(from), "<%s>", m->sender_address);
    char curl_err[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(c, CURLOPT_URL, m->url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    curl_easy_setopt(c, CURLOPT_MAIL_FROM, from);
    curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers); /* for SMTP: the message's headers */
    curl_easy_setopt(c, CURLOPT_MIMEPOST, mime);
    curl_easy_setopt(c, CURLOPT_USE_SSL,
                     m->is_tls_required || m->is_smtps ? (long)CURLUSESSL_ALL
                                                       : (long)CURLUSESSL_TRY);
    if (m->username) {
        curl_easy_setopt(c, CURLOPT_USERNAME, m->username);
        curl_easy_setopt(c, CURLOPT_PASSWORD, m->password ? m->password : "");
        if (m->login_options)
            curl_easy_setopt(c, CURLOPT_LOGIN_OPTIONS, m->login_options);
    }
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, CONNECT_TIMEOUT_MS);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, TOTAL_TIMEOUT_MS);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L); /* no SIGALRM from a thread */
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, curl_err);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, check_abort);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, mailer);
    CURLcode cc = curl_easy_perform(c);
    long code = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_reset(c); /* forget curl_err, rcpt, headers, mime; keeps the connection */
    curl_slist_free_all(rcpt);
    curl_slist_free_all(headers);
    curl_mime_free(mime);
    if (cc == CURLE_OK)
        return ATTEMPT_SENT;
    snprintf(err, err_len, "%s (smtp %ld)", curl_err[0] ? curl_err : curl_easy_strerror(cc), code);
    /* 5xx is the server's final no (RFC 5321 §4.2.1); repeating it is spam. */
    return code >= 500 && code < 600 ? ATTEMPT_PERMANENT : ATTEMPT_TRANSIENT;
}

/* ---- parameters ---------------------------------------------------------- */

static char *dup_or_null(const char *s)
{
    return s && *s ? xstrdup(s) : NULL;
}

static struct smtp_params *params_new(const struct net_mailer_config *cfg)
{
    struct smtp_params *p = xcalloc(1, sizeof(*p));
    atomic_init(&p->refs, 1);
    p->host = dup_or_null(cfg->host);
    p->username = dup_or_null(cfg->username);
    p->password = dup_or_null(cfg->password);
    p->sender_address = xstrdup(cfg->sender_address);
    p->sender_name = dup_or_null(cfg->sender_name);
    p->is_tls_required = cfg->is_tls_required;
    p->is_smtps = cfg->is_smtps;
    if (cfg->auth_method && *cfg->auth_method) {
        size_t n = strlen(cfg->auth_method) + 6;
        p->login_options = xmalloc(n);
        snprintf(p->login_options, n, "AUTH=%s", cfg->auth_method);
    }
    if (p->host) {
        int port = cfg->port ? cfg->port : cfg->is_smtps ? 465 : 587;
        bool is_ipv6 = strchr(p->host, ':') && p->host[0] != '[';
        const char *ehlo = cfg->local_name && *cfg->local_name ? cfg->local_name : "localhost";
        size_t len = strlen(p->host) + strlen(ehlo) + 32;
        p->url = xmalloc(len);
        /* The URL's path is the name curl gives in EHLO. */
        snprintf(p->url, len, "%s://%s%s%s:%d/%s", cfg->is_smtps ? "smtps" : "smtp",
                 is_ipv6 ? "[" : "", p->host, is_ipv6 ? "]" : "", port, ehlo);
        log_info("msg=\"mailer configured\" host=%s port=%d tls=%s auth=%s", p->host, port,
                 p->is_smtps          ? "implicit"
                 : p->is_tls_required ? "required"
                                      : "starttls-if-offered",
                 p->username ? "yes" : "no");
    } else {
        log_info("msg=\"mailer without an SMTP host: mails go to this log\"");
    }
    return p;
}

static void params_unref(struct smtp_params *p)
{
    if (!p || atomic_fetch_sub(&p->refs, 1) != 1)
        return;
    if (p->password)
        secure_zero(p->password, strlen(p->password));
    xfree(p->host);
    xfree(p->url);
    xfree(p->username);
    xfree(p->password);
    xfree(p->sender_address);
    xfree(p->sender_name);
    xfree(p->login_options);
    xfree(p);
}

/* The current parameters, with a reference for the caller. */
static struct smtp_params *params_ref(struct net_mailer *m)
{
    uv_mutex_lock(&m->lock);
    struct smtp_params *p = m->params;
    atomic_fetch_add(&p->refs, 1);
    uv_mutex_unlock(&m->lock);
    return p;
}

/* ---- queue and thread --------------------------------------------------- */

static void msg_free(struct msg *g)
{
    xfree(g->to);
    xfree(g->subject);
    xfree(g->text);
    xfree(g->html);
    xfree(g->last_error);
    xfree(g);
}

/* Under lock: the next message to try now, or NULL. Due retries go first:
 * they are older than anything new. */
static struct msg *take_due(struct net_mailer *m, uint64_t now)
{
    struct msg *g = NULL;
    if (m->retry && m->retry->due_ms <= now) {
        g = m->retry;
        m->retry = g->next;
    } else if (m->head) {
        g = m->head;
        m->head = g->next;
        if (!m->head)
            m->tail = NULL;
    }
    return g;
}

static void insert_retry(struct net_mailer *m, struct msg *g)
{
    struct msg **p = &m->retry;
    while (*p && (*p)->due_ms <= g->due_ms)
        p = &(*p)->next;
    g->next = *p;
    *p = g;
}

/* A message's end: counted, logged when failed, freed. */
static void finish(struct net_mailer *m, struct msg *g, _Atomic uint64_t *counter, const char *why)
{
    uv_mutex_lock(&m->lock);
    m->queued--;
    m->queued_bytes -= g->bytes;
    uv_mutex_unlock(&m->lock);
    if (why)
        log_failed(g, why);
    atomic_fetch_add(counter, 1);
    msg_free(g);
}

static void deliver(struct net_mailer *m, struct msg *g)
{
    g->attempts++;
    struct smtp_params *p = params_ref(m);
    if (!p->host) {
        params_unref(p);
        log_unsent(g);
        finish(m, g, &m->logged, NULL);
        return;
    }
    char err[CURL_ERROR_SIZE + 64];
    if (!m->curl)
        m->curl = curl_easy_init();
    enum attempt a = send_smtp(m, p, m->curl, g, err, sizeof(err));
    params_unref(p);
    if (a == ATTEMPT_SENT) {
        finish(m, g, &m->sent, NULL);
        return;
    }
    xfree(g->last_error);
    g->last_error = xstrdup(err);
    if (a == ATTEMPT_PERMANENT || g->attempts > m->retry_count) {
        finish(m, g, &m->failed, a == ATTEMPT_PERMANENT ? "refused" : "retries exhausted");
        return;
    }
    unsigned delay_ms = m->retry_delays_ms[g->attempts - 1];
    if (log_enabled(LOG_DEBUG)) {
        struct out o;
        char n[48];
        snprintf(n, sizeof(n), " attempt=%u retry_in_ms=%u error=", g->attempts, delay_ms);
        line_begin(&o, "debug");
        put_cstr(&o, "msg=\"mail attempt failed\" to=");
        put_cstr(&o, g->to);
        put_cstr(&o, n);
        put_quoted(&o, err);
        line_end(&o);
    }
    g->due_ms = now_ms() + delay_ms;
    uv_mutex_lock(&m->lock);
    insert_retry(m, g);
    uv_mutex_unlock(&m->lock);
}

static void run(void *arg)
{
    struct net_mailer *m = arg;
    pthread_setname_np(pthread_self(), "tarmac-mailer");
    uv_mutex_lock(&m->lock);
    for (;;) {
        uint64_t now = now_ms();
        /* Stopping ends when the queue is empty, the deadline has passed, or
         * only retries due after the deadline are left. */
        if (m->is_stopping && (now >= m->stop_at_ms ||
                               (!m->head && (!m->retry || m->retry->due_ms >= m->stop_at_ms))))
            break;
        struct msg *g = take_due(m, now);
        if (g) {
            uv_mutex_unlock(&m->lock);
            deliver(m, g);
            uv_mutex_lock(&m->lock);
            continue;
        }
        if (m->curl) {
            /* Idle: close the session (QUIT) rather than hold it open. */
            uv_mutex_unlock(&m->lock);
            curl_easy_cleanup(m->curl);
            m->curl = NULL;
            uv_mutex_lock(&m->lock);
            continue;
        }
        uint64_t until = m->retry ? m->retry->due_ms : UINT64_MAX;
        if (m->is_stopping && m->stop_at_ms < until)
            until = m->stop_at_ms;
        if (until == UINT64_MAX)
            uv_cond_wait(&m->cond, &m->lock);
        else
            (void)uv_cond_timedwait(&m->cond, &m->lock, (until - now) * 1000000u);
    }
    struct msg *left[2] = {m->head, m->retry};
    m->head = m->tail = m->retry = NULL;
    uv_mutex_unlock(&m->lock);
    for (int i = 0; i < 2; i++) {
        while (left[i]) {
            struct msg *g = left[i];
            left[i] = g->next;
            finish(m, g, &m->failed, "stop deadline");
        }
    }
    if (m->curl)
        curl_easy_cleanup(m->curl);
    m->curl = NULL;
}

/* ---- API ---------------------------------------------------------------- */

static void mailer_free(struct net_mailer *m)
{
    params_unref(m->params);
    xfree(m->retry_delays_ms);
    xfree(m);
}

enum rc net_mailer_config_check(const struct net_mailer_config *cfg)
{
    bool has_host = cfg->host && *cfg->host;
    bool has_auth = cfg->auth_method && *cfg->auth_method;
    if (!is_valid_address(cfg->sender_address) || (has_host && !is_valid_host(cfg->host)) ||
        (cfg->local_name && *cfg->local_name && !is_valid_host(cfg->local_name)) ||
        (cfg->sender_name && check_header_text(cfg->sender_name, 200)) || cfg->port < 0 ||
        cfg->port > 65535 ||
        (has_auth && strcmp(cfg->auth_method, "PLAIN") != 0 &&
         strcmp(cfg->auth_method, "LOGIN") != 0))
        return RC_INVALID;
    return RC_OK;
}

enum rc net_mailer_start(const struct net_mailer_config *cfg, struct net_mailer **out)
{
    if (net_mailer_config_check(cfg))
        return RC_INVALID;
    struct net_mailer *m = xcalloc(1, sizeof(*m));
    m->params = params_new(cfg);
    const unsigned *delays = cfg->retry_delays_ms ? cfg->retry_delays_ms : default_delays_ms;
    m->retry_count = cfg->retry_delays_ms ? cfg->retry_count : 3;
    m->retry_delays_ms = xcalloc(m->retry_count + 1, sizeof(unsigned));
    if (m->retry_count)
        memcpy(m->retry_delays_ms, delays, m->retry_count * sizeof(unsigned));
    m->max_queued = cfg->max_queued ? cfg->max_queued : NET_MAILER_MAX_QUEUED;
    m->max_queued_bytes =
        cfg->max_queued_bytes ? cfg->max_queued_bytes : NET_MAILER_MAX_QUEUED_BYTES;
    m->stop_ms = cfg->stop_ms ? cfg->stop_ms : NET_MAILER_STOP_MS;
    if (m->params->host) {
        net_http_out_global_init(); /* the one curl_global_init, however many callers */
        m->did_curl_init = true;
    }
    uv_mutex_init(&m->lock);
    uv_cond_init(&m->cond);
    uv_thread_create(&m->thread, run, m);
    *out = m;
    return RC_OK;
}

enum rc net_mailer_check(const char *to, const char *subject, const char *text, const char *html)
{
    if (!to || !is_valid_address(to) || !subject || !text)
        return RC_INVALID;
    enum rc rc = check_header_text(subject, MAX_SUBJECT);
    if (!rc)
        rc = check_body(text);
    if (!rc && html)
        rc = check_body(html);
    return rc;
}

enum net_mail_outcome net_mailer_deliver(struct net_mailer *m, const char *to, const char *subject,
                                         const char *text, const char *html, char *err,
                                         size_t err_len)
{
    err[0] = '\0';
    if (net_mailer_check(to, subject, text, html) != RC_OK) {
        snprintf(err, err_len, "not a mail: the address, subject or body is not valid");
        return NET_MAIL_REFUSED;
    }
    /* const for the message's builder; nothing is written through them */
    struct msg g = {.to = (char *)to,
                    .subject = (char *)subject,
                    .text = (char *)text,
                    .html = (char *)html,
                    .created_ms = chrono_real_ms(),
                    .attempts = 1};
    struct smtp_params *p = params_ref(m);
    if (!p->host) {
        params_unref(p);
        log_unsent(&g);
        atomic_fetch_add(&m->logged, 1);
        return NET_MAIL_LOGGED;
    }
    CURL *c = curl_easy_init();
    enum attempt a = send_smtp(m, p, c, &g, err, err_len);
    curl_easy_cleanup(c);
    params_unref(p);
    if (a == ATTEMPT_SENT) {
        atomic_fetch_add(&m->sent, 1);
        return NET_MAIL_SENT;
    }
    return a == ATTEMPT_PERMANENT ? NET_MAIL_REFUSED : NET_MAIL_TRANSIENT;
}

enum rc net_mailer_send(struct net_mailer *m, const char *to, const char *subject, const char *text,
                        const char *html)
{
    enum rc rc = net_mailer_check(to, subject, text, html);
    if (rc)
        return rc;
    /* Copied before taking the lock, so the lock is held for a few
     * pointer moves only; a full queue wastes the copy, which is rare. */
    struct msg *g = xcalloc(1, sizeof(*g));
    g->to = xstrdup(to);
    g->subject = xstrdup(subject);
    g->text = xstrdup(text);
    g->html = html ? xstrdup(html) : NULL;
    g->created_ms = chrono_real_ms();
    g->bytes = strlen(to) + strlen(subject) + strlen(text) + (html ? strlen(html) : 0);
    uv_mutex_lock(&m->lock);
    if (m->queued >= m->max_queued || g->bytes > m->max_queued_bytes - m->queued_bytes ||
        m->is_stopping) {
        uv_mutex_unlock(&m->lock);
        msg_free(g);
        return RC_BUSY;
    }
    m->queued++;
    m->queued_bytes += g->bytes;
    if (m->tail)
        m->tail->next = g;
    else
        m->head = g;
    m->tail = g;
    uv_cond_signal(&m->cond);
    uv_mutex_unlock(&m->lock);
    return RC_OK;
}

enum rc net_mailer_configure(struct net_mailer *m, const struct net_mailer_config *cfg)
{
    if (net_mailer_config_check(cfg))
        return RC_INVALID;
    struct smtp_params *p = params_new(cfg);
    uv_mutex_lock(&m->lock);
    struct smtp_params *old = m->params;
    m->params = p;
    bool needs_init = p->host && !m->did_curl_init;
    m->did_curl_init = m->did_curl_init || p->host;
    uv_mutex_unlock(&m->lock);
    if (needs_init)
        net_http_out_global_init();
    params_unref(old);
    return RC_OK;
}

void net_mailer_stats(struct net_mailer *m, struct net_mailer_stats *out)
{
    out->sent = atomic_load(&m->sent);
    out->logged = atomic_load(&m->logged);
    out->failed = atomic_load(&m->failed);
}

void net_mailer_stop(struct net_mailer *m, struct net_mailer_stats *out)
{
    if (!m)
        return;
    uv_mutex_lock(&m->lock);
    m->is_stopping = true;
    m->stop_at_ms = now_ms() + m->stop_ms;
    atomic_store(&m->abort_at_ms, m->stop_at_ms);
    uv_cond_signal(&m->cond);
    uv_mutex_unlock(&m->lock);
    uv_thread_join(&m->thread);
    if (out)
        net_mailer_stats(m, out);
    uv_cond_destroy(&m->cond);
    uv_mutex_destroy(&m->lock);
    if (m->did_curl_init)
        curl_global_cleanup();
    mailer_free(m);
}
