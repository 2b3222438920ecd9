/* sqlite_rank.h -- tarmac_bm25, the relevance of a full-text match in
 * SQLite (layer: store; see sqlite_rank.c). */
#ifndef TARMAC_STORE_SQLITE_RANK_H
#define TARMAC_STORE_SQLITE_RANK_H

#include <sqlite3.h>

/* Registers tarmac_bm25 on the connection db, whose FTS5 is api:
 * SQLITE_OK or SQLite's code. */
int store_sqlite_rank_register(sqlite3 *db, fts5_api *api);

#endif
