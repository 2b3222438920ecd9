/* sniff.h -- a file's MIME type from its first bytes (layer: core).
 *
 * Uploads are checked against a file field's mimeTypes by what the bytes are,
 * never by the client's Content-Type or the name (spec §8.1), and downloads
 * are labelled the same way (spec §8.2). Magic numbers of the common image,
 * video, audio, document and archive formats, then text (UTF-8 without
 * control bytes; HTML, XML, SVG and JSON recognised by their start), else
 * application/octet-stream. Pure functions over (ptr, len); thread-safe. */
#ifndef TARMAC_CORE_SNIFF_H
#define TARMAC_CORE_SNIFF_H

#include <stdbool.h>
#include <stddef.h>

#include "base/str.h"

/* Bytes the sniffer looks at; more are ignored. */
#define CORE_SNIFF_BYTES 3072

/* The MIME type of data (a static string, e.g. "image/png",
 * "text/plain; charset=utf-8"); never NULL. Reads at most CORE_SNIFF_BYTES. */
const char *core_sniff_mime(const void *data, size_t len);
/* The usual extension of a MIME type with its dot (".png"), or "" when it
 * has none. Parameters after ';' are ignored. Static string. */
const char *core_sniff_ext(struct str mime);
/* True when the MIME type got (parameters ignored) is the allowed one: equal
 * ignoring case, or an alias of it (image/jpg = image/jpeg, ...). */
bool core_sniff_mime_is(struct str got, struct str allowed);
/* The base type without parameters: "text/plain; charset=utf-8" -> "text/plain". */
struct str core_sniff_base(struct str mime);

#endif
