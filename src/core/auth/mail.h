/* mail.h -- an auth mail made from its collection's template (layer: core).
 *
 * core_mail_render() fills a template (core/schema/mail_template.h) in one
 * pass: each {NAME} it knows is replaced, anything else between braces is
 * left as written, and a value is never read again for placeholders (a
 * record's name "{TOKEN}" stays that text). The placeholders: {APP_NAME},
 * {APP_URL}, {RECORD:<field>} for each field of the record that is neither
 * hidden nor a password (PocketBase's set), and the ones the caller gives
 * ({TOKEN}, {OTP}, {OTP_ID}, {ALERT_INFO}, ...).
 *
 * The body is HTML: every value goes in HTML-escaped (& < > " '), so a
 * record's text cannot add markup or break out of an attribute, and the
 * body is wrapped in a small HTML document. The subject is plain text: values
 * go in as they are, except that control characters (CR and LF above all,
 * which would end the Subject header) become spaces, and it is cut to 998
 * bytes on a character boundary. A text/plain alternative is made from the
 * HTML (base/html_text.h). */
#ifndef TARMAC_CORE_MAIL_H
#define TARMAC_CORE_MAIL_H

#include <jansson.h>
#include <stddef.h>

#include "base/buf.h"
#include "core/schema/collection.h"

/* A placeholder the caller fills: name with its braces ("{TOKEN}"). */
struct core_mail_placeholder {
    const char *name;
    const char *value; /* NULL counts as "" */
};

struct core_mail_vars {
    const char *app_name;
    const char *app_url;
    const struct core_collection *col; /* the record's collection; NULL: no {RECORD:*} */
    json_t *record;                    /* its values, every field; NULL: no {RECORD:*} */
    const struct core_mail_placeholder *extra;
    size_t extra_count;
};

/* A rendered mail: three NUL-terminated texts. */
struct core_mail {
    struct buf subject;
    struct buf html;
    struct buf text;
};

/* Sets m up empty, with the mailer's limits (998-byte subject, 1 MiB bodies). */
void core_mail_init(struct core_mail *m);
void core_mail_cleanup(struct core_mail *m);

/* Renders t with v into m (which core_mail_init set up; it is reset first).
 * RC_TOO_LARGE when a body would pass 1 MiB (a huge record value), RC_NOMEM;
 * m is then to be discarded. */
enum rc core_mail_render(const struct core_mail_template *t, const struct core_mail_vars *v,
                         struct core_mail *m);

#endif
