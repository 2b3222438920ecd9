/* template.h -- a notification's texts per locale (layer: core,
 * core/notify/).
 *
 * `_notifyTemplates` is a system collection (superusers only) of texts a
 * notification names instead of spelling them out: name (lowercase letters,
 * digits, _ . -), locale ("" = the fallback; "en", "hi", "pt-BR": a BCP 47
 * language tag), title, body, sms (the text message; default the title, then
 * the body on its own line) and html (the email's HTML body; default the
 * title and body escaped, as paragraphs). One template per (name, locale).
 *
 * {{record.<field>}} in any of them becomes the field's value as text
 * (numbers and booleans as JSON writes them, lists joined with ", ",
 * secret fields and unknown names as nothing; an unclosed placeholder stays
 * as written), escaped for HTML in html and as is in the plain-text
 * channels (push, inbox, SMS, the mail's text part).
 *
 * A notification's texts are its "locales": {locale: {title, body?, sms?,
 * html?}}. Each recipient gets the one of their locale (core_template_pick):
 * the device's locale for a push, the user's (a `locale` field of users,
 * else their most recently seen device's) for inbox, SMS and email. */
#ifndef TARMAC_CORE_NOTIFY_TEMPLATE_H
#define TARMAC_CORE_NOTIFY_TEMPLATE_H

#include <jansson.h>
#include <stdbool.h>

#include "base/buf.h"
#include "base/rc.h"
#include "core/schema/collection.h"
#include "store/store.h"

#define CORE_TEMPLATES_COLLECTION "_notifyTemplates"
#define CORE_TEMPLATE_MAX_LOCALES 64
#define CORE_NOTIFY_MAX_SMS 1600 /* ten concatenated SMS parts */
#define CORE_NOTIFY_MAX_HTML 65536

extern const char core_templates_collection_json[];

/* Appends tmpl with {{record.<field>}} replaced from record (a JSON object
 * of collection c; NULL: every placeholder renders as nothing) to out,
 * escaped for HTML when is_html. Pure. */
void core_template_render(const char *tmpl, json_t *record, const struct core_collection *c,
                          bool is_html, struct buf *out);

/* Renders every locale of the template named name over record (may be
 * NULL) into *out: {locale: {title, body, sms?, html?}}. RC_NOT_FOUND when
 * no template has that name; RC_INVALID when a rendered text is not valid
 * UTF-8 any more (cut at a limit). */
enum rc core_template_locales(struct store_conn *db, const char *name, json_t *record,
                              const struct core_collection *c, json_t **out);

/* Whether a template named name exists (RC_OK / RC_NOT_FOUND). */
enum rc core_template_exists(struct store_conn *db, const char *name);

/* locales' entry for locale (borrowed): the same tag (case and - or _ alike),
 * else its language's ("pt" for "pt-BR"), else "", else "en", else the
 * first. NULL only when locales is empty. */
json_t *core_template_pick(json_t *locales, const char *locale);

/* Why locales (a notification's {locale: {title, body?, sms?, html?}}) is
 * not one (a sentence), NULL when it is. */
const char *core_template_locales_check(json_t *locales);

/* The mail of a message: the html part given, or title and body escaped. */
void core_template_default_html(json_t *message, struct buf *out);

#endif
