/* email.h -- the syntax of an email address (layer: base). Pure function.
 *
 * One check for every place an address comes in (record email fields, the
 * auth flows' email inputs, the email identity lookup), so they cannot
 * disagree about what an address is. */
#ifndef TARMAC_BASE_EMAIL_H
#define TARMAC_BASE_EMAIL_H

#include <stdbool.h>

#include "base/str.h"

/* True when s is "local@domain.tld": one '@' with text before it, a domain
 * with a dot that is neither its first nor its last byte, at most 254 bytes,
 * no ASCII space, control or address punctuation ("(),:;<>[]\ and the
 * quote), well-formed UTF-8, and no invisible code point (utf8_is_invisible:
 * a zero-width space, a soft hyphen, a BOM, a non-breaking space, ... would
 * make a look-alike of another address). Nothing is trimmed: surrounding
 * whitespace makes the address invalid, as PocketBase's is.EmailFormat. */
bool email_is_valid(struct str s);

#endif
