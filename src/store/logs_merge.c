/* logs_merge.c -- store_logs_merge (see logs.h): several instances' pages
 * of one request-log query made one, in an in-memory table of _logs's
 * shape (logs.c's schema). */
#include <sqlite3.h>
#include <stdio.h>

#include "base/buf.h"
#include "store/logs.h"
#include "store/logs_int.h"

enum rc store_logs_merge(struct str items, const char *order_by, int64_t limit, int64_t offset,
                         struct buf *out, int64_t *rows, char *err, size_t err_cap)
{
    *rows = 0;
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(":memory:", &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
            SQLITE_OK ||
        sqlite3_exec(db, store_logs_schema, NULL, NULL, NULL) != SQLITE_OK) {
        snprintf(err, err_cap, "%s", db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close(db);
        return RC_IO;
    }
    struct buf sql;
    buf_init(&sql, 1u << 20);
    sqlite3_stmt *st = NULL;
    enum rc rc = RC_OK;
    if (sqlite3_prepare_v2(db,
                           "INSERT OR IGNORE INTO _logs (id, level, message, data, created) "
                           "SELECT value ->> '$.id', value ->> '$.level', value ->> '$.message', "
                           "json(value -> '$.data'), value ->> '$.created' FROM json_each(?1)",
                           -1, &st, NULL) != SQLITE_OK) {
        rc = RC_IO;
    } else {
        sqlite3_bind_text(st, 1, items.ptr ? items.ptr : "[]", items.ptr ? (int)items.len : 2,
                          SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE)
            rc = RC_INVALID;
    }
    sqlite3_finalize(st);
    st = NULL;
    if (!rc) {
        (void)buf_append_cstr(&sql, "SELECT json_object('id', id, 'created', created, 'data', "
                                    "json(data), 'message', message, 'level', level) FROM _logs "
                                    "ORDER BY ");
        (void)buf_append_cstr(&sql, order_by ? order_by : "created, id");
        (void)buf_append_cstr(&sql, " LIMIT ?1 OFFSET ?2");
        (void)buf_append(&sql, "", 1);
        if (sqlite3_prepare_v2(db, sql.data, -1, &st, NULL) != SQLITE_OK)
            rc = RC_INVALID;
    }
    if (!rc) {
        sqlite3_bind_int64(st, 1, limit);
        sqlite3_bind_int64(st, 2, offset);
        rc = store_logs_rows(st, out, rows);
    }
    if (rc)
        snprintf(err, err_cap, "%s", sqlite3_errmsg(db));
    sqlite3_finalize(st);
    sqlite3_close(db);
    buf_cleanup(&sql);
    return rc;
}
