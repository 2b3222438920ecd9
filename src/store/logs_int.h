/* logs_int.h -- private to store/logs*.c: what logs.c (the request log's
 * file, its writer and reads) shares with logs_merge.c (several instances'
 * pages merged). */
#ifndef TARMAC_STORE_LOGS_INT_H
#define TARMAC_STORE_LOGS_INT_H

#include <sqlite3.h>

#include "base/buf.h"
#include "base/rc.h"

/* The _logs table and its indexes (sqlite3_exec). */
extern const char store_logs_schema[];
/* A step's result (SQLITE_ROW, SQLITE_DONE: RC_OK; busy: RC_BUSY; else RC_IO). */
enum rc store_logs_step_rc(sqlite3_stmt *st, int rc);
/* Steps st to its end, appending each row's first column (a JSON object's
 * text) to out, comma-separated, counting them in *rows (the count so far
 * decides the first comma); the last step's rc. */
enum rc store_logs_rows(sqlite3_stmt *st, struct buf *out, int64_t *rows);

#endif
