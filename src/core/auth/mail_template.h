/* mail_template.h -- filling an auth collection's mail template (layer: core).
 *
 * PocketBase's placeholders: {APP_NAME}, {APP_URL}, {RECORD:<field>} for each
 * field of the record that is not hidden (HTML-escaped, except dates, bools
 * and numbers, as PocketBase), and the mail's own ({ALERT_INFO}, ...) given
 * by the caller. One pass over the template, so a value that contains a
 * placeholder is never filled again. An unknown {...} stays as written.
 * The body is HTML; a plain-text copy (tags dropped, entities decoded) goes
 * with it, since mail clients without HTML read that part.
 * TODO(#11): the other auth mails' templates (verification, password reset,
 * email change, OTP) come on the `templates` branch; this function is the
 * one to merge with theirs. */
#ifndef TARMAC_CORE_AUTH_MAIL_TEMPLATE_H
#define TARMAC_CORE_AUTH_MAIL_TEMPLATE_H

#include <jansson.h>

#include "base/buf.h"
#include "core/schema/collection.h"

/* One placeholder the caller fills: name with its braces ("{APP_NAME}"),
 * value as it goes into the HTML (escape it first when it is text). */
struct core_mail_placeholder {
    const char *name;
    const char *value;
};

/* Renders tpl for record (every field, borrowed) of col: the subject as
 * text (one line: control characters become spaces) into subject,
 * the body into html and its plain-text copy into text. The buffers are the
 * caller's (appended to); RC_TOO_LARGE when one would pass its maximum. */
enum rc core_mail_template_render(const struct core_email_template *tpl,
                                  const struct core_collection *col, json_t *record,
                                  const struct core_mail_placeholder *extra, size_t extra_count,
                                  struct buf *subject, struct buf *html, struct buf *text);
/* Appends s HTML-escaped (& < > " ') to out. */
enum rc core_mail_escape(struct buf *out, struct str s);

#endif
