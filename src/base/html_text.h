/* html_text.h -- the plain-text reading of an HTML mail body (layer: base).
 * Pure function.
 *
 * Mails are sent with an HTML body and a text/plain alternative made from it,
 * for clients that show text only. This is a reader for the HTML of mail
 * templates, not a full HTML parser: it drops tags, comments and the content
 * of style, script, head, title and other non-text elements; turns block
 * elements into line breaks (a blank line after paragraphs and headings),
 * <br> into a line break and <li> into "- "; writes a link as its text
 * followed by its address in parentheses ("Verify (https://...)"), or the
 * address alone when the text is the address or empty; decodes character
 * references (the common named ones, &#N; and &#xH;); collapses runs of
 * whitespace to one space and trims the lines. Malformed markup never fails:
 * an unclosed tag ends the text, a lone '<' or '&' is kept as is. */
#ifndef TARMAC_BASE_HTML_TEXT_H
#define TARMAC_BASE_HTML_TEXT_H

#include "base/buf.h"
#include "base/str.h"

/* Appends the text of html to out. RC_TOO_LARGE past out's maximum, RC_NOMEM;
 * out then holds what fitted. The output is valid UTF-8 when html is
 * (character references that name no valid code point become U+FFFD). */
enum rc html_to_text(struct str html, struct buf *out);

/* The other way: appends text to out with & < > " ' as character
 * references, so it shows as written in HTML (an element's text or an
 * attribute's value). RC_TOO_LARGE, RC_NOMEM as buf_append. */
enum rc html_escape(struct str text, struct buf *out);

#endif
