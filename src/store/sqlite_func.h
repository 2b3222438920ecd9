/* sqlite_func.h -- the SQL functions tarmac adds to each SQLite connection
 * (layer: store; see sqlite_func.c). */
#ifndef TARMAC_STORE_SQLITE_FUNC_H
#define TARMAC_STORE_SQLITE_FUNC_H

#include <sqlite3.h>

/* Registers them on db: SQLITE_OK or SQLite's code. */
int store_sqlite_func_register(sqlite3 *db);

#endif
