/* test_mailer.c -- the mailer against a real SMTP server (aiosmtpd writing a
 * Maildir): headers, encodings and bodies read back and decoded (libcurl's
 * MIME: a text-only message is one text/plain part of a multipart/mixed),
 * long non-ASCII subjects, names and lines through Python's parser, libcurl's
 * dot-stuffing, header injection refused, the log fallback without a host,
 * retries against a closed port, 5xx not retried, the stop deadline.
 * Needs /usr/bin/python3 with aiosmtpd (Debian python3-aiosmtpd). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <jansson.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/b64.h"
#include "base/buf.h"
#include "base/chrono.h"
#include "base/log.h"
#include "base/secure.h"
#include "net/mailer.h"

#define PYTHON "/usr/bin/python3"

static char dir[256];     /* scratch: Maildir, handler module */
static char maildir[300]; /* where the sink stores what it accepts */
static int sink_port;
static pid_t sink_pid;

/* ---- helpers: time, log capture --------------------------------------------- */

static unsigned slow(unsigned ms)
{
    const char *f = getenv("TARMAC_TEST_SLOW");
    return f ? ms * (unsigned)strtoul(f, NULL, 10) : ms;
}

static uint64_t mono_ms(void)
{
    return chrono_mono_ns() / 1000000u;
}

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static struct buf log_text;

static void capture_log(const char *text, size_t len, void *ctx)
{
    (void)ctx;
    pthread_mutex_lock(&log_lock);
    (void)buf_append(&log_text, text, len);
    pthread_mutex_unlock(&log_lock);
}

/* Returns a copy of everything logged so far; free it with xfree(). */
static char *logged(void)
{
    pthread_mutex_lock(&log_lock);
    char *s = xstrndup(log_text.data ? log_text.data : "", log_text.len);
    pthread_mutex_unlock(&log_lock);
    return s;
}

/* ---- helpers: the SMTP sink ------------------------------------------------- */

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

static bool can_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bool ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
    close(fd);
    return ok;
}

/* Starts aiosmtpd on port with handler class `handler` (and its argument, or
 * NULL); returns once it accepts connections. */
static pid_t start_sink(int port, const char *handler, const char *arg)
{
    char listen_at[32];
    snprintf(listen_at, sizeof(listen_at), "127.0.0.1:%d", port);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM); /* no orphan if the test dies */
        setenv("PYTHONPATH", dir, 1);
        freopen("/dev/null", "w", stdout);
        freopen("/dev/null", "w", stderr);
        execl(PYTHON, PYTHON, "-m", "aiosmtpd", "-n", "-l", listen_at, "-c", handler, arg,
              (char *)NULL);
        _exit(127);
    }
    uint64_t until = mono_ms() + slow(15000);
    while (!can_connect(port)) {
        assert_true(mono_ms() < until);
        assert_int_equal(waitpid(pid, NULL, WNOHANG), 0); /* still running */
        usleep(50 * 1000);
    }
    return pid;
}

static void stop_sink(pid_t pid)
{
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
}

static void clear_maildir(void)
{
    char path[600];
    snprintf(path, sizeof(path), "%s/new", maildir);
    DIR *d = opendir(path);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "%s/new/%s", maildir, e->d_name);
        unlink(path);
    }
    closedir(d);
}

static size_t maildir_count(void)
{
    char path[600];
    snprintf(path, sizeof(path), "%s/new", maildir);
    DIR *d = opendir(path);
    size_t n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL)
        n += e->d_name[0] != '.';
    if (d)
        closedir(d);
    return n;
}

static int group_setup(void **state)
{
    (void)state;
    assert_int_equal(secure_init(), RC_OK);
    buf_init(&log_text, 64u << 20);
    log_set_sink(capture_log, NULL);
    snprintf(dir, sizeof(dir), "/tmp/tarmac-test-mailer-%d", (int)getpid());
    snprintf(maildir, sizeof(maildir), "%s/maildir", dir);
    mkdir(dir, 0700);
    /* A handler for the refusal test: "ghost..." recipients get a final 550. */
    char path[300];
    snprintf(path, sizeof(path), "%s/refuse.py", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("class Refuse:\n"
          "    async def handle_RCPT(self, server, session, envelope, address, options):\n"
          "        if address.startswith('ghost'):\n"
          "            return '550 5.1.1 no such user'\n"
          "        envelope.rcpt_tos.append(address)\n"
          "        return '250 OK'\n"
          "    async def handle_DATA(self, server, session, envelope):\n"
          "        return '250 OK'\n",
          f);
    fclose(f);
    sink_port = free_port();
    sink_pid = start_sink(sink_port, "aiosmtpd.handlers.Mailbox", maildir);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    stop_sink(sink_pid);
    char cmd[400];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    (void)system(cmd);
    log_set_sink(NULL, NULL);
    buf_cleanup(&log_text);
    return 0;
}

static int test_setup(void **state)
{
    (void)state;
    clear_maildir();
    pthread_mutex_lock(&log_lock);
    buf_reset(&log_text);
    pthread_mutex_unlock(&log_lock);
    return 0;
}

/* ---- helpers: reading and decoding a stored message ------------------------- */

struct mail {
    char *raw;  /* the file, LF line ends as the Maildir stores them */
    char *body; /* points into raw, after the blank line */
    size_t header_len;
};

/* Loads the Maildir file at path into m. */
static void read_mail(const char *path, struct mail *m)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    struct buf b;
    buf_init(&b, 64u << 20);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        assert_int_equal(buf_append(&b, chunk, n), RC_OK);
    fclose(f);
    /* Keep LF only: the sink may have rewritten CRLF as LF, or not. */
    m->raw = xmalloc(b.len + 1);
    size_t j = 0;
    for (size_t i = 0; i < b.len; i++) {
        if (b.data[i] != '\r')
            m->raw[j++] = b.data[i];
    }
    m->raw[j] = '\0';
    buf_cleanup(&b);
    char *blank = strstr(m->raw, "\n\n");
    assert_non_null(blank);
    m->header_len = (size_t)(blank - m->raw) + 1;
    m->body = blank + 2;
}

/* Loads up to cap messages of the Maildir into out; returns how many there are. */
static size_t read_mails(struct mail *out, size_t cap)
{
    char path[600];
    snprintf(path, sizeof(path), "%s/new", maildir);
    DIR *d = opendir(path);
    assert_non_null(d);
    struct dirent *e;
    size_t count = 0;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        if (count < cap) {
            char file[900];
            snprintf(file, sizeof(file), "%s/%s", path, e->d_name);
            read_mail(file, &out[count]);
        }
        count++;
    }
    closedir(d);
    return count;
}

/* Loads the only message in the Maildir. */
static void read_single_mail(struct mail *m)
{
    assert_int_equal(read_mails(m, 1), 1);
}

/* Returns the unfolded value of header name in the header block h[0..len),
 * or NULL; free it with xfree(). */
static char *header(const char *h, size_t len, const char *name)
{
    size_t nlen = strlen(name);
    for (const char *p = h; p < h + len;) {
        const char *eol = memchr(p, '\n', (size_t)(h + len - p));
        if (strncasecmp(p, name, nlen) == 0 && p[nlen] == ':') {
            struct buf v;
            buf_init(&v, 1 << 20);
            const char *s = p + nlen + 1;
            while (*s == ' ')
                s++;
            for (;;) {
                (void)buf_append(&v, s, (size_t)(eol - s));
                if (eol[1] != ' ' && eol[1] != '\t')
                    break;
                s = eol + 1;
                eol = strchr(s, '\n');
            }
            char *out = xstrndup(v.data ? v.data : "", v.len);
            buf_cleanup(&v);
            return out;
        }
        p = eol + 1;
    }
    return NULL;
}

/* Decodes a header value of RFC 2047 "B" words in UTF-8 and plain text;
 * white space between two encoded words is dropped (RFC 2047 §6.2). */
static char *decode_words(const char *v)
{
    struct buf out;
    buf_init(&out, 1 << 20);
    bool was_word = false;
    while (*v) {
        if (strncmp(v, "=?UTF-8?B?", 10) == 0) {
            const char *end = strstr(v + 10, "?=");
            assert_non_null(end);
            char raw[128];
            size_t n;
            assert_int_equal(b64_decode(B64_STD_PAD, (struct str){v + 10, (size_t)(end - v - 10)},
                                        raw, sizeof(raw), &n),
                             RC_OK);
            (void)buf_append(&out, raw, n);
            v = end + 2;
            was_word = true;
            continue;
        }
        size_t ws = strspn(v, " \t");
        if (ws && was_word && strncmp(v + ws, "=?UTF-8?B?", 10) == 0) {
            v += ws;
            continue;
        }
        (void)buf_append(&out, v, 1);
        v++;
        was_word = false;
    }
    char *s = xstrndup(out.data ? out.data : "", out.len);
    buf_cleanup(&out);
    return s;
}

/* Decodes quoted-printable body text s[0..len) (LF line ends). */
static char *decode_qp(const char *s, size_t len)
{
    char *out = xmalloc(len + 1);
    size_t j = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] != '=') {
            out[j++] = s[i];
        } else if (i + 1 < len && s[i + 1] == '\n') {
            i++; /* soft line break */
        } else {
            assert_true(i + 2 < len);
            char hex[3] = {s[i + 1], s[i + 2], 0};
            out[j++] = (char)strtol(hex, NULL, 16);
            i += 2;
        }
    }
    out[j] = '\0';
    return out;
}

/* Decodes base64 body lines s[0..len); the CRLF of the text becomes LF. */
static char *decode_base64(const char *s, size_t len)
{
    char *clean = xmalloc(len + 1);
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] != '\n')
            clean[n++] = s[i];
    }
    char *out = xmalloc(b64_decoded_max(n) + 1);
    size_t got;
    assert_int_equal(b64_decode(B64_STD_PAD, (struct str){clean, n}, out, b64_decoded_max(n), &got),
                     RC_OK);
    xfree(clean);
    size_t j = 0;
    for (size_t i = 0; i < got; i++) {
        if (out[i] != '\r')
            out[j++] = out[i];
    }
    out[j] = '\0';
    return out;
}

/* Decodes a part or single-part body s[0..len) by its headers h[0..hlen). */
static char *decode_body(const char *h, size_t hlen, const char *s, size_t len)
{
    char *cte = header(h, hlen, "Content-Transfer-Encoding");
    assert_non_null(cte);
    char *out = strcmp(cte, "base64") == 0 ? decode_base64(s, len) : decode_qp(s, len);
    assert_true(strcmp(cte, "base64") == 0 || strcmp(cte, "quoted-printable") == 0);
    xfree(cte);
    return out;
}

/* One MIME part of a message: its header block and its body, the LF before
 * the next delimiter excluded (RFC 2046 §5.1.1: it is the delimiter's). */
struct part {
    char *head;
    size_t head_len;
    char *body;
    size_t body_len;
};

/* Splits the multipart message m into up to cap parts; returns how many
 * there are. The boundary may be a token or a quoted-string. */
static size_t split_parts(const struct mail *m, struct part *out, size_t cap)
{
    char *ct = header(m->raw, m->header_len, "Content-Type");
    assert_non_null(ct);
    const char *b = strstr(ct, "boundary=");
    assert_non_null(b);
    b += 9;
    size_t blen = *b == '"' ? strcspn(++b, "\"") : strcspn(b, "; ");
    char delim[128];
    snprintf(delim, sizeof(delim), "\n--%.*s", (int)blen, b);
    xfree(ct);
    char *p = strstr(m->body - 1, delim); /* the first delimiter follows the blank line */
    assert_non_null(p);
    size_t n = 0;
    for (;;) {
        char *after = p + strlen(delim);
        if (strncmp(after, "--", 2) == 0)
            break; /* the close delimiter */
        char *start = strchr(after, '\n') + 1;
        char *next = strstr(start, delim);
        assert_non_null(next);
        char *blank = strstr(start, "\n\n");
        assert_true(blank && blank < next);
        if (n < cap) {
            out[n].head = start;
            out[n].head_len = (size_t)(blank - start) + 1;
            out[n].body = blank + 2;
            out[n].body_len = (size_t)(next - blank - 2);
        }
        n++;
        p = next;
    }
    return n;
}

/* The only part of the text-only message m, checked to be text/plain. */
static struct part only_part(const struct mail *m)
{
    char *ct = header(m->raw, m->header_len, "Content-Type");
    assert_true(strncmp(ct, "multipart/mixed; boundary=", 26) == 0);
    xfree(ct);
    struct part p;
    assert_int_equal(split_parts(m, &p, 1), 1);
    ct = header(p.head, p.head_len, "Content-Type");
    assert_string_equal(ct, "text/plain; charset=UTF-8");
    xfree(ct);
    return p;
}

/* Decodes the only part of the text-only message m. */
static char *decode_only_part(const struct mail *m)
{
    struct part p = only_part(m);
    return decode_body(p.head, p.head_len, p.body, p.body_len);
}

static void assert_lines_at_most(const char *s, size_t max)
{
    while (*s) {
        size_t n = strcspn(s, "\n");
        if (n > max)
            fail_msg("line of %zu characters: %.*s", n, (int)n, s);
        s += n + (s[n] == '\n');
    }
}

static void assert_7bit(const char *s)
{
    for (; *s; s++)
        assert_true((unsigned char)*s < 0x80);
}

static struct net_mailer *start_smtp(int port, const char *sender_name)
{
    struct net_mailer_config cfg = {.host = "127.0.0.1",
                                    .port = port,
                                    .sender_address = "noreply@tarmac.test",
                                    .sender_name = sender_name};
    struct net_mailer *m;
    assert_int_equal(net_mailer_start(&cfg, &m), RC_OK);
    return m;
}

/* Sends one message through the sink, stops, and loads what arrived. */
static void send_one(const char *subject, const char *text, const char *html, struct mail *out)
{
    struct net_mailer *m = start_smtp(sink_port, "Tarmac");
    assert_int_equal(net_mailer_send(m, "user@example.com", subject, text, html), RC_OK);
    struct net_mailer_stats st;
    net_mailer_stop(m, &st);
    assert_int_equal(st.sent, 1);
    assert_int_equal(st.failed, 0);
    read_single_mail(out);
    assert_7bit(out->raw);
    assert_lines_at_most(out->raw, 998);
}

/* ---- delivery --------------------------------------------------------------- */

static void test_ascii_text_mail_arrives_with_rfc5322_headers(void **state)
{
    (void)state;
    struct mail m;
    send_one("Verify your email", "Hello,\nclick https://x.test/v?t=abc=def\n", NULL, &m);
    const char *h = m.raw;
    char *v = header(h, m.header_len, "Subject");
    assert_string_equal(v, "Verify your email");
    xfree(v);
    v = header(h, m.header_len, "From");
    assert_string_equal(v, "\"Tarmac\" <noreply@tarmac.test>");
    xfree(v);
    v = header(h, m.header_len, "To");
    assert_string_equal(v, "user@example.com");
    xfree(v);
    v = header(h, m.header_len, "Date");
    assert_non_null(strstr(v, " +0000"));
    xfree(v);
    v = header(h, m.header_len, "Message-ID");
    assert_true(v[0] == '<' && strstr(v, "@tarmac.test>"));
    xfree(v);
    v = header(h, m.header_len, "MIME-Version");
    assert_string_equal(v, "1.0");
    xfree(v);
    v = header(h, m.header_len, "X-MailFrom"); /* the envelope, as the sink saw it */
    assert_string_equal(v, "noreply@tarmac.test");
    xfree(v);
    /* libcurl's root part is a multipart: one text/plain part in a mixed */
    v = decode_only_part(&m);
    /* "=" went out as =3D; the CRLF before the delimiter is the delimiter's */
    assert_non_null(strstr(m.body, "t=3Dabc=3Ddef"));
    assert_string_equal(v, "Hello,\nclick https://x.test/v?t=abc=def\n");
    xfree(v);
    xfree(m.raw);
}

static void test_utf8_subject_goes_as_folded_encoded_words(void **state)
{
    (void)state;
    const char *subject = "Réinitialisez votre mot de passe ✓ — パスワードの再設定 for a "
                          "subject long enough to need several encoded words";
    struct mail m;
    send_one(subject, "x", NULL, &m);
    assert_lines_at_most(m.raw, 998);
    /* RFC 2047 §2: a line holding encoded words is at most 76 characters */
    char *head = xstrndup(m.raw, m.header_len);
    const char *line = strstr(head, "Subject:");
    assert_non_null(line);
    for (const char *p = line; *p && (p == line || *p == ' ');) {
        size_t n = strcspn(p, "\n");
        assert_true(n <= 76);
        p += n + 1;
    }
    xfree(head);
    char *v = header(m.raw, m.header_len, "Subject");
    assert_non_null(strstr(v, "=?UTF-8?B?"));
    char *d = decode_words(v);
    assert_string_equal(d, subject);
    xfree(d);
    xfree(v);
    xfree(m.raw);
}

static void test_text_and_html_make_multipart_alternative(void **state)
{
    (void)state;
    const char *text = "Hi Zoë,\nopen https://x.test/a\n";
    const char *html = "<p>Hi Zoë,</p>\n<p><a href=\"https://x.test/a\">open</a></p>";
    struct mail m;
    send_one("Welcome", text, html, &m);
    char *ct = header(m.raw, m.header_len, "Content-Type");
    assert_true(strncmp(ct, "multipart/alternative; boundary=", 32) == 0);
    xfree(ct);
    /* preamble | text part | html part | "--" closing */
    struct part parts[3];
    assert_int_equal(split_parts(&m, parts, 3), 2);
    const char *types[2] = {"text/plain; charset=UTF-8", "text/html; charset=UTF-8"};
    const char *want[2] = {text, html};
    for (int i = 0; i < 2; i++) {
        char *v = header(parts[i].head, parts[i].head_len, "Content-Type");
        assert_string_equal(v, types[i]);
        xfree(v);
        v = decode_body(parts[i].head, parts[i].head_len, parts[i].body, parts[i].body_len);
        assert_string_equal(v, want[i]); /* exact: the CRLF before a delimiter is the delimiter's */
        xfree(v);
    }
    xfree(m.raw);
}

static void test_long_line_is_soft_wrapped_and_restored(void **state)
{
    (void)state;
    char text[3200];
    size_t n = 0;
    for (int i = 0; i < 300; i++)
        n += (size_t)snprintf(text + n, sizeof(text) - n, "word%03d ", i);
    snprintf(text + n, sizeof(text) - n, "end  \nnext line\t\n");
    struct mail m;
    send_one("Long", text, NULL, &m);
    assert_lines_at_most(m.body, 76);
    char *v = decode_only_part(&m);
    assert_string_equal(v, text); /* trailing white space kept (encoded) */
    xfree(v);
    xfree(m.raw);
}

static void test_lines_starting_with_a_dot_survive_smtp(void **state)
{
    (void)state;
    /* A lone "." would end DATA early unless libcurl dot-stuffs it. */
    const char *text = ".hidden line\n.\n..two dots\nafter\n";
    struct mail m;
    send_one("Dots", text, "<p>\n.\n</p>", &m);
    char *body = m.body;
    assert_non_null(strstr(body, "\n.\n"));
    assert_non_null(strstr(body, "\n.hidden line\n"));
    xfree(m.raw);
    clear_maildir();
    send_one("Dots", text, NULL, &m);
    char *v = decode_only_part(&m);
    assert_string_equal(v, text);
    xfree(v);
    xfree(m.raw);
}

static void test_mostly_non_ascii_body_goes_as_base64(void **state)
{
    (void)state;
    const char *text = "こんにちは。パスワードを再設定するには、次のリンクを開いてください。\n"
                       "https://x.test/r?token=1\n";
    struct mail m;
    send_one("件名", text, NULL, &m);
    struct part p = only_part(&m);
    char *cte = header(p.head, p.head_len, "Content-Transfer-Encoding");
    assert_string_equal(cte, "base64");
    xfree(cte);
    assert_lines_at_most(m.body, 76);
    char *v = decode_body(p.head, p.head_len, p.body, p.body_len);
    assert_string_equal(v, text);
    xfree(v);
    xfree(m.raw);
}

static void test_non_ascii_sender_name_is_encoded(void **state)
{
    (void)state;
    struct net_mailer *m = start_smtp(sink_port, "Équipe Tarmac, \"support\"");
    assert_int_equal(net_mailer_send(m, "user@example.com", "Hi", "x", NULL), RC_OK);
    net_mailer_stop(m, NULL);
    struct mail mail;
    read_single_mail(&mail);
    char *v = header(mail.raw, mail.header_len, "From");
    char *d = decode_words(v);
    assert_string_equal(d, "Équipe Tarmac, \"support\" <noreply@tarmac.test>");
    xfree(d);
    xfree(v);
    xfree(mail.raw);
}

static void test_burst_shares_one_smtp_session(void **state)
{
    (void)state;
    struct net_mailer *m = start_smtp(sink_port, NULL);
    for (int i = 0; i < 3; i++)
        assert_int_equal(net_mailer_send(m, "user@example.com", "Burst", "x", NULL), RC_OK);
    struct net_mailer_stats st;
    net_mailer_stop(m, &st);
    assert_int_equal(st.sent, 3);
    struct mail mails[3];
    assert_int_equal(read_mails(mails, 3), 3);
    char *peer[3];
    for (int i = 0; i < 3; i++) {
        peer[i] = header(mails[i].raw, mails[i].header_len, "X-Peer"); /* client ip and port */
        char *from = header(mails[i].raw, mails[i].header_len, "From");
        assert_string_equal(from, "noreply@tarmac.test");
        xfree(from);
    }
    assert_string_equal(peer[0], peer[1]);
    assert_string_equal(peer[1], peer[2]);
    for (int i = 0; i < 3; i++) {
        xfree(peer[i]);
        xfree(mails[i].raw);
    }
}

/* Parses the only message in the Maildir with Python's email package, an
 * independent decoder: {subject, from, type, text, html (or null)}. A base64
 * part keeps the CRLF of its canonical text (RFC 2045 §2.10): made LF here. */
static json_t *parse_with_python(void)
{
    char cmd[1000];
    snprintf(cmd, sizeof(cmd),
             PYTHON
             " -c '"
             "import sys, os, json, email, email.policy\n"
             "d = sys.argv[1] + \"/new\"\n"
             "f = os.path.join(d, os.listdir(d)[0])\n"
             "m = email.message_from_binary_file(open(f, \"rb\"), policy=email.policy.default)\n"
             "h = m.get_body((\"html\",))\n"
             "lf = lambda s: s.replace(\"\\r\\n\", \"\\n\")\n"
             "print(json.dumps({\"subject\": str(m[\"subject\"]), \"from\": str(m[\"from\"]),\n"
             "  \"type\": m.get_content_type(),\n"
             "  \"text\": lf(m.get_body((\"plain\",)).get_content()),\n"
             "  \"html\": lf(h.get_content()) if h else None}))\n"
             "' %s",
             maildir);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    json_error_t err;
    json_t *j = json_loadf(p, 0, &err);
    pclose(p);
    assert_non_null(j);
    return j;
}

static void test_messages_parse_with_python_email_package(void **state)
{
    (void)state;
    const char *subject = "Ünïcödé ✓ subject";
    const char *text = "Line one\n.\nFrom here on\ntrailing space \n€100\n";
    const char *html = "<b>€100</b> =? ?= done";
    struct net_mailer *m = start_smtp(sink_port, "Zoë");
    assert_int_equal(net_mailer_send(m, "user@example.com", subject, text, html), RC_OK);
    net_mailer_stop(m, NULL);
    json_t *j = parse_with_python();
    assert_string_equal(json_string_value(json_object_get(j, "type")), "multipart/alternative");
    assert_string_equal(json_string_value(json_object_get(j, "subject")), subject);
    assert_string_equal(json_string_value(json_object_get(j, "from")), "Zoë <noreply@tarmac.test>");
    assert_string_equal(json_string_value(json_object_get(j, "text")), text);
    assert_string_equal(json_string_value(json_object_get(j, "html")), html);
    json_decref(j);
}

/* A text-only message with a long non-ASCII subject and sender name and a
 * 3,000-byte line of mixed ASCII and multi-byte characters: folded and
 * soft-wrapped on the wire, and read back intact by Python's parser. */
static void test_long_non_ascii_text_mail_parses_intact_with_python(void **state)
{
    (void)state;
    const char *subject = "Ваш код входа ✓ — votre code de connexion, déjà envoyé à "
                          "l’adresse indiquée, valable dix minutes seulement";
    const char *name = "Équipe Tarmac — サポート";
    char text[4000];
    size_t n = (size_t)snprintf(text, sizeof(text), "Bonjour Zoë,\n");
    for (int i = 0; n < 3000; i++)
        n += (size_t)snprintf(text + n, sizeof(text) - n, "mot%d=é€ ", i);
    snprintf(text + n, sizeof(text) - n, "\nfin.\n");
    struct net_mailer *m = start_smtp(sink_port, name);
    assert_int_equal(net_mailer_send(m, "user@example.com", subject, text, NULL), RC_OK);
    struct net_mailer_stats st;
    net_mailer_stop(m, &st);
    assert_int_equal(st.sent, 1);
    struct mail mail;
    read_single_mail(&mail);
    assert_7bit(mail.raw);
    assert_lines_at_most(mail.raw, 998);
    assert_lines_at_most(mail.body, 76);
    /* ours fold at 76 (RFC 2047 §2); curl's Content-Type line, 80, is not ours */
    for (const char *p = mail.raw; p < mail.raw + mail.header_len;) {
        size_t len = strcspn(p, "\n");
        if (strncmp(p, "Content-Type:", 13) != 0 && strncmp(p, "X-", 2) != 0)
            assert_true(len <= 76);
        p += len + 1;
    }
    xfree(mail.raw);
    json_t *j = parse_with_python();
    assert_string_equal(json_string_value(json_object_get(j, "type")), "multipart/mixed");
    assert_string_equal(json_string_value(json_object_get(j, "subject")), subject);
    char from[200];
    snprintf(from, sizeof(from), "%s <noreply@tarmac.test>", name);
    assert_string_equal(json_string_value(json_object_get(j, "from")), from);
    assert_string_equal(json_string_value(json_object_get(j, "text")), text);
    assert_true(json_is_null(json_object_get(j, "html")));
    json_decref(j);
}

/* ---- validation ------------------------------------------------------------- */

static struct net_mailer *start_log_mode(void)
{
    struct net_mailer_config cfg = {.sender_address = "noreply@tarmac.test"};
    struct net_mailer *m;
    assert_int_equal(net_mailer_start(&cfg, &m), RC_OK);
    return m;
}

static void test_header_injection_is_rejected(void **state)
{
    (void)state;
    struct net_mailer *m = start_log_mode();
    assert_int_equal(net_mailer_send(m, "a@b.test", "Hi\r\nBcc: x@y", "t", NULL), RC_INVALID);
    assert_int_equal(net_mailer_send(m, "a@b.test", "Hi\nBcc: x@y", "t", NULL), RC_INVALID);
    assert_int_equal(net_mailer_send(m, "a@b.test", "Hi\rBcc: x@y", "t", NULL), RC_INVALID);
    assert_int_equal(net_mailer_send(m, "a@b.test\r\nBcc: x@y", "Hi", "t", NULL), RC_INVALID);
    assert_int_equal(net_mailer_send(m, "a@b.test, x@y.test", "Hi", "t", NULL), RC_INVALID);
    assert_int_equal(net_mailer_send(m, "Eve <a@b.test>", "Hi", "t", NULL), RC_INVALID);
    assert_int_equal(net_mailer_send(m, "nobody", "Hi", "t", NULL), RC_INVALID);
    assert_int_equal(net_mailer_send(m, "a@b.test", "bad \xff utf-8", "t", NULL), RC_INVALID);
    assert_int_equal(net_mailer_send(m, "a@b.test", "Hi", "bad \xc3", NULL), RC_INVALID);
    assert_int_equal(net_mailer_send(m, "a@b.test", "Hi", NULL, NULL), RC_INVALID);
    struct net_mailer_stats st;
    net_mailer_stop(m, &st);
    assert_int_equal(st.sent + st.logged + st.failed, 0);

    struct net_mailer_config cfg = {.host = "127.0.0.1", .sender_address = "a@b.test\r\nBcc: x@y"};
    assert_int_equal(net_mailer_start(&cfg, &m), RC_INVALID);
    cfg.sender_address = "a@b.test";
    cfg.sender_name = "Name\r\nBcc: x@y";
    assert_int_equal(net_mailer_start(&cfg, &m), RC_INVALID);
    cfg.sender_name = NULL;
    cfg.host = "evil.test/path?x";
    assert_int_equal(net_mailer_start(&cfg, &m), RC_INVALID);
}

static void test_oversized_subject_or_body_is_too_large(void **state)
{
    (void)state;
    struct net_mailer *m = start_log_mode();
    char *big = xmalloc(NET_MAILER_MAX_PART + 2);
    memset(big, 'a', NET_MAILER_MAX_PART + 1);
    big[NET_MAILER_MAX_PART + 1] = '\0';
    assert_int_equal(net_mailer_send(m, "a@b.test", "Hi", big, NULL), RC_TOO_LARGE);
    assert_int_equal(net_mailer_send(m, "a@b.test", "Hi", "t", big), RC_TOO_LARGE);
    big[999] = '\0';
    assert_int_equal(net_mailer_send(m, "a@b.test", big, "t", NULL), RC_TOO_LARGE);
    big[998] = '\0';
    assert_int_equal(net_mailer_send(m, "a@b.test", big, "t", NULL), RC_OK);
    xfree(big);
    net_mailer_stop(m, NULL);
}

/* ---- without a host, and failures ------------------------------------------- */

static void test_without_host_mail_goes_to_the_log(void **state)
{
    (void)state;
    struct net_mailer *m = start_log_mode();
    assert_int_equal(net_mailer_send(m, "dev@example.com", "Verify \"now\"",
                                     "Hello,\nopen https://x.test/v?t=abc\n", "<p>x</p>"),
                     RC_OK);
    struct net_mailer_stats st;
    net_mailer_stop(m, &st);
    assert_int_equal(st.logged, 1);
    assert_int_equal(st.sent, 0);
    assert_int_equal(st.failed, 0);
    char *log = logged();
    const char *line = strstr(log, "mail not sent");
    assert_non_null(line);
    const char *start = line;
    while (start > log && start[-1] != '\n')
        start--;
    assert_true(strncmp(strstr(start, "level="), "level=info ", 11) == 0);
    const char *eol = strchr(line, '\n');
    char *one = xstrndup(start, (size_t)(eol - start)); /* one line */
    assert_non_null(strstr(one, " to=dev@example.com "));
    assert_non_null(strstr(one, " subject=\"Verify \\\"now\\\"\" "));
    assert_non_null(strstr(one, " text=\"Hello,\\nopen https://x.test/v?t=abc\\n\""));
    xfree(one);
    xfree(log);
    assert_int_equal(maildir_count(), 0);
}

static void test_unreachable_host_is_retried_then_counted_failed(void **state)
{
    (void)state;
    static const unsigned delays[] = {20, 40};
    int closed = free_port();
    struct net_mailer_config cfg = {.host = "127.0.0.1",
                                    .port = closed,
                                    .username = "smtpuser",
                                    .password = "hunter2-do-not-log",
                                    .sender_address = "noreply@tarmac.test",
                                    .retry_delays_ms = delays,
                                    .retry_count = 2};
    struct net_mailer *m;
    assert_int_equal(net_mailer_start(&cfg, &m), RC_OK);
    uint64_t t0 = mono_ms();
    assert_int_equal(net_mailer_send(m, "user@example.com", "Hi", "x", NULL), RC_OK);
    struct net_mailer_stats st = {0};
    while (st.failed == 0 && mono_ms() - t0 < slow(10000)) {
        usleep(10 * 1000);
        net_mailer_stats(m, &st);
    }
    net_mailer_stop(m, &st);
    assert_int_equal(st.failed, 1);
    assert_int_equal(st.sent, 0);
    assert_true(mono_ms() - t0 < slow(5000));
    char *log = logged();
    assert_non_null(strstr(log, "level=error msg=\"mail failed\" to=user@example.com"));
    assert_non_null(strstr(log, "attempts=3 why=\"retries exhausted\""));
    assert_null(strstr(log, "hunter2"));
    xfree(log);
}

static void test_final_5xx_reply_is_not_retried(void **state)
{
    (void)state;
    static const unsigned delays[] = {60000};
    int port = free_port();
    pid_t pid = start_sink(port, "refuse.Refuse", NULL);
    struct net_mailer_config cfg = {.host = "127.0.0.1",
                                    .port = port,
                                    .sender_address = "noreply@tarmac.test",
                                    .retry_delays_ms = delays,
                                    .retry_count = 1};
    struct net_mailer *m;
    assert_int_equal(net_mailer_start(&cfg, &m), RC_OK);
    uint64_t t0 = mono_ms();
    assert_int_equal(net_mailer_send(m, "ghost@example.com", "Hi", "x", NULL), RC_OK);
    /* the refusal must not spoil the session for the next message */
    assert_int_equal(net_mailer_send(m, "real@example.com", "Hi", "x", NULL), RC_OK);
    struct net_mailer_stats st;
    net_mailer_stop(m, &st); /* would wait out stop's deadline if a retry were queued */
    stop_sink(pid);
    assert_int_equal(st.failed, 1);
    assert_int_equal(st.sent, 1);
    assert_true(mono_ms() - t0 < slow(5000));
    char *log = logged();
    assert_non_null(strstr(log, "attempts=1 why=\"refused\""));
    assert_non_null(strstr(log, "smtp 550"));
    xfree(log);
}

static void test_required_tls_refuses_a_server_without_starttls(void **state)
{
    (void)state;
    static const unsigned none[] = {0};
    struct net_mailer_config cfg = {.host = "127.0.0.1",
                                    .port = sink_port,
                                    .sender_address = "noreply@tarmac.test",
                                    .is_tls_required = true,
                                    .retry_delays_ms = none,
                                    .retry_count = 0};
    struct net_mailer *m;
    assert_int_equal(net_mailer_start(&cfg, &m), RC_OK);
    assert_int_equal(net_mailer_send(m, "user@example.com", "Hi", "secret link", NULL), RC_OK);
    struct net_mailer_stats st;
    net_mailer_stop(m, &st);
    assert_int_equal(st.failed, 1);
    assert_int_equal(st.sent, 0);
    assert_int_equal(maildir_count(), 0);
}

static void test_full_queue_returns_busy(void **state)
{
    (void)state;
    static const unsigned delays[] = {60000};
    struct net_mailer_config cfg = {.host = "127.0.0.1",
                                    .port = free_port(),
                                    .sender_address = "noreply@tarmac.test",
                                    .retry_delays_ms = delays,
                                    .retry_count = 1,
                                    .max_queued = 2,
                                    .max_queued_bytes = 3000,
                                    .stop_ms = 200};
    struct net_mailer *m;
    assert_int_equal(net_mailer_start(&cfg, &m), RC_OK);
    /* Neither message can end before its retry, a minute away. */
    assert_int_equal(net_mailer_send(m, "a@example.com", "1", "x", NULL), RC_OK);
    assert_int_equal(net_mailer_send(m, "b@example.com", "2", "x", NULL), RC_OK);
    assert_int_equal(net_mailer_send(m, "c@example.com", "3", "x", NULL), RC_BUSY);
    net_mailer_stop(m, NULL);
    /* The byte bound: two 2,000-byte bodies do not fit in 3,000. */
    char body[2001];
    memset(body, 'b', 2000);
    body[2000] = '\0';
    assert_int_equal(net_mailer_start(&cfg, &m), RC_OK);
    assert_int_equal(net_mailer_send(m, "a@example.com", "1", body, NULL), RC_OK);
    assert_int_equal(net_mailer_send(m, "b@example.com", "2", body, NULL), RC_BUSY);
    assert_int_equal(net_mailer_send(m, "b@example.com", "2", "short", NULL), RC_OK);
    uint64_t t0 = mono_ms();
    struct net_mailer_stats st;
    net_mailer_stop(m, &st); /* retries due after the deadline are given up at once */
    assert_int_equal(st.failed, 2);
    assert_true(mono_ms() - t0 < slow(3000));
}

static void test_stop_deadline_ends_a_stalled_session(void **state)
{
    (void)state;
    /* A server that accepts (the kernel's backlog) but never greets. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(fd, 8), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    struct net_mailer_config cfg = {.host = "127.0.0.1",
                                    .port = ntohs(a.sin_port),
                                    .sender_address = "noreply@tarmac.test",
                                    .stop_ms = 300};
    struct net_mailer *m;
    assert_int_equal(net_mailer_start(&cfg, &m), RC_OK);
    assert_int_equal(net_mailer_send(m, "user@example.com", "Hi", "x", NULL), RC_OK);
    usleep(100 * 1000);
    uint64_t t0 = mono_ms();
    struct net_mailer_stats st;
    net_mailer_stop(m, &st);
    assert_true(mono_ms() - t0 < slow(3000)); /* not curl's 30 s timeout */
    assert_int_equal(st.failed, 1);
    close(fd);
    char *log = logged();
    assert_non_null(strstr(log, "why=\"stop deadline\""));
    xfree(log);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_ascii_text_mail_arrives_with_rfc5322_headers, test_setup),
        cmocka_unit_test_setup(test_utf8_subject_goes_as_folded_encoded_words, test_setup),
        cmocka_unit_test_setup(test_text_and_html_make_multipart_alternative, test_setup),
        cmocka_unit_test_setup(test_long_line_is_soft_wrapped_and_restored, test_setup),
        cmocka_unit_test_setup(test_lines_starting_with_a_dot_survive_smtp, test_setup),
        cmocka_unit_test_setup(test_mostly_non_ascii_body_goes_as_base64, test_setup),
        cmocka_unit_test_setup(test_non_ascii_sender_name_is_encoded, test_setup),
        cmocka_unit_test_setup(test_burst_shares_one_smtp_session, test_setup),
        cmocka_unit_test_setup(test_messages_parse_with_python_email_package, test_setup),
        cmocka_unit_test_setup(test_long_non_ascii_text_mail_parses_intact_with_python, test_setup),
        cmocka_unit_test_setup(test_header_injection_is_rejected, test_setup),
        cmocka_unit_test_setup(test_oversized_subject_or_body_is_too_large, test_setup),
        cmocka_unit_test_setup(test_without_host_mail_goes_to_the_log, test_setup),
        cmocka_unit_test_setup(test_unreachable_host_is_retried_then_counted_failed, test_setup),
        cmocka_unit_test_setup(test_final_5xx_reply_is_not_retried, test_setup),
        cmocka_unit_test_setup(test_required_tls_refuses_a_server_without_starttls, test_setup),
        cmocka_unit_test_setup(test_full_queue_returns_busy, test_setup),
        cmocka_unit_test_setup(test_stop_deadline_ends_a_stalled_session, test_setup),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
