/* report.h -- the `report` job kind: a CSV export of a filtered list of a
 * collection, stored as a protected file of the `_reports` collection that
 * its requester downloads with a file token (layer: core, core/jobs/).
 *
 * Payload: {"collection" (name or id), "filter"?, "sort"?, "fields"?:
 * [names], "requester"?: {"collectionId", "id"}, "mailTo"?: address,
 * "maxRows"?: 1..CORE_REPORT_MAX_ROWS}. The export runs as the requester
 * (an auth record: the collection's listRule applies with
 * @request.auth = that record, and what it may see of each record, as the
 * list API shows it; absent: a superuser). The runner reads pages of
 * CORE_REPORT_PAGE records through core_record_list on its own read
 * connection, inside one read transaction (one snapshot: paging by offset
 * neither skips nor repeats a row), and streams each page to the file, so
 * memory holds one page.
 *
 * The CSV (RFC 4180): UTF-8 without a byte order mark, CRLF line ends, a
 * header row of the field names (the payload's fields, else every field
 * the requester may see but passwords and tokenKey), one row per record; a
 * cell holding a comma, a quote, CR or LF is quoted, its quotes doubled;
 * null and a missing value are empty, booleans true/false, numbers as JSON
 * writes them, arrays and objects (multiple selects, relations, files, json
 * fields) their compact JSON text. A text cell starting with = + - @, tab
 * or CR gets a leading ' so a spreadsheet never runs it as a formula.
 *
 * Bounded: at most maxRows (default and cap CORE_REPORT_MAX_ROWS) rows and
 * CORE_REPORT_MAX_BYTES bytes; past either the export stops at the last
 * whole row and the record says truncated = true.
 *
 * The result is a `_reports` record whose id is the job's (so a job run
 * twice, its lease expired, makes one report): {collection, filter, sort,
 * file, rows, truncated, ownerCollection, owner, created, updated}; its
 * view and list rules let only the owner see it (superusers see all), and
 * the file is protected, so the download is
 * GET /api/files/_reports/<id>/<file>?token=<a file token of the owner>.
 * The record and, with mailTo, an `email` job with the link are inserted
 * in one writer transaction. A bad filter, sort or field, an unknown
 * collection or requester, a listRule only superusers pass: dead, with the
 * reason as lastError; an I/O or database error: retried. */
#ifndef TARMAC_CORE_JOBS_REPORT_H
#define TARMAC_CORE_JOBS_REPORT_H

#include <jansson.h>

#include "base/buf.h"
#include "core/jobs/registry.h"

#define CORE_REPORTS_COLLECTION "_reports"
/* The most rows one report holds (and the default of payload.maxRows). */
#define CORE_REPORT_MAX_ROWS 100000
/* The largest file one report writes. */
#define CORE_REPORT_MAX_BYTES ((int64_t)64 << 20)
/* Records read per page. */
#define CORE_REPORT_PAGE 500

/* The `_reports` collection's definition (JSON), created at start when missing. */
extern const char core_reports_collection_json[];

void core_job_report_run(const struct core_job_env *env, const struct core_job *job,
                         struct core_job_result *res);
/* Why payload is no `report` payload (a sentence naming the field), NULL when it is. */
const char *core_job_report_check(json_t *payload);

/* Appends cell v (a record's JSON value) to out as one RFC 4180 field,
 * quoted when needed, with the formula guard. Pure; exposed for tests. */
enum rc core_report_csv_cell(struct buf *out, json_t *v);

#endif
