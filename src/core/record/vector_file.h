/* vector_file.h -- the bytes of a saved vector index: the graph
 * (hnsw_encode) and, after it, the record id of each slot (layer: core,
 * record/; pure, no I/O: vector_index.c reads and writes the files).
 *
 * After the graph: "VIDS", a version (1), then per slot a 16-bit
 * little-endian length and that many bytes of record id; a removed slot
 * has none (length 0), a live one 1..CORE_VECTOR_FILE_MAX_ID bytes, no
 * NUL. */
#ifndef TARMAC_CORE_RECORD_VECTOR_FILE_H
#define TARMAC_CORE_RECORD_VECTOR_FILE_H

#include <stddef.h>

#include "base/buf.h"
#include "base/hnsw.h"
#include "base/rc.h"

#define CORE_VECTOR_FILE_MAX_ID 1024

/* Appends h and ids (a record id per slot of h, NULL for a removed one)
 * to out. RC_INVALID when a live slot has no id, or an id is too long;
 * RC_TOO_LARGE, RC_NOMEM as buf_append. */
enum rc core_vector_file_encode(const struct hnsw *h, char *const *ids, struct buf *out);
/* The graph and ids of the n bytes at p (untrusted: anything off, bytes
 * left over included, is refused): the graph, and into *ids an array of
 * hnsw_count entries (owned by the caller, as each string: NUL-terminated,
 * NULL for a removed slot). NULL when the bytes are no such file. */
struct hnsw *core_vector_file_decode(const unsigned char *p, size_t n, char ***ids);

#endif
