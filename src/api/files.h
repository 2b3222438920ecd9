/* files.h -- what api/files.c lends other handlers (layer: api). */
#ifndef TARMAC_API_FILES_H
#define TARMAC_API_FILES_H

#include "api/call.h"

struct core_storage;

/* Answers c with the file at path as a download named name (Content-
 * Disposition: attachment), as /api/files serves a stored file: read on the
 * offload pool, large ones by chunks, Range and If-Modified-Since honoured,
 * 404 when the file is missing. Defers the request. name is borrowed for the
 * request's life; path is copied. */
void api_files_send(struct api_call *c, const char *path, struct str name);
/* The same for the object key (copied) of the storage st (which must live
 * until the request ends): the backups' S3 bucket. */
void api_files_send_storage(struct api_call *c, const struct core_storage *st, const char *key,
                            struct str name);

#endif
