/* s3_xml.h -- the little XML the S3 client reads and writes (layer: net).
 *
 * S3 answers in XML: errors (<Error><Code>..</Code><Message>..</Message>),
 * ListObjectsV2 pages and DeleteObjects results. Their elements are flat
 * text without attributes, so a scan for <tag>...</tag> reads them; nothing
 * here is a general XML parser. Pure functions over (ptr, len). */
#ifndef TARMAC_NET_S3_XML_H
#define TARMAC_NET_S3_XML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/str.h"

/* Finds the next element <tag> (with or without attributes) at or after
 * *pos in xml; *inner is its content (up to the matching </tag>) and *pos
 * moves past it. False when there is none (or it is not closed). An
 * empty element (<tag/>) has an empty inner. */
bool net_s3_xml_next(struct str xml, const char *tag, size_t *pos, struct str *inner);
/* The content of the first <tag> of xml, or an empty slice. */
struct str net_s3_xml_first(struct str xml, const char *tag);
/* Decodes the five named entities and numeric references (&#N; &#xH;) of
 * in into out (cap bytes, not terminated); the decoded length, or -1 when
 * it does not fit or a reference is malformed. */
long net_s3_xml_unescape(struct str in, char *out, size_t cap);
/* Appends s with &, <, >, " and ' escaped. RC_TOO_LARGE past b's maximum. */
enum rc net_s3_xml_escape(struct buf *b, struct str s);
/* Parses an ISO 8601 UTC time ("2009-10-12T17:50:30.000Z") into Unix
 * seconds; -1 when it is not one. */
int64_t net_s3_xml_time(struct str s);

#endif
