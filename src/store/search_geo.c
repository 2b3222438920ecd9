/* search_geo.c -- the point indexes of geoPoint columns (see search.h,
 * "Points"): an R*Tree and its triggers on SQLite, a B-tree on PostgreSQL. */
#include "store/search.h"

#include <stdio.h>

#include "store/search_int.h"
#include "store/sql.h"

/* ---- Point indexes ---------------------------------------------------------- */

/* coalesce(json_extract(row."col", '$.lon'), 0) */
static void sqlite_coord(struct store_sql *q, const char *row, struct str column, const char *key)
{
    store_sql_add(q, "coalesce(json_extract(");
    store_sql_add(q, row);
    store_sql_add(q, ".");
    store_sql_ident(q, column);
    store_sql_add(q, key);
    store_sql_add(q, "), 0)");
}

static void sqlite_point(struct store_sql *q, const char *row, struct str column)
{
    sqlite_coord(q, row, column, ", '$.lon'");
    store_sql_add(q, ", ");
    sqlite_coord(q, row, column, ", '$.lon'");
    store_sql_add(q, ", ");
    sqlite_coord(q, row, column, ", '$.lat'");
    store_sql_add(q, ", ");
    sqlite_coord(q, row, column, ", '$.lat'");
}

enum rc store_geo_create(struct store_conn *db, struct str table, struct str key, unsigned n,
                         struct str column)
{
    struct buf sql;
    buf_init(&sql, 1 << 16);
    struct store_sql q;
    store_sql_begin_as(&q, &sql, store_conn_dialect(db));
    char rt[32], ins[32], upd[32], del[32];
    store_search_geo_suffix(n, "", rt);
    store_search_geo_suffix(n, "i", ins);
    store_search_geo_suffix(n, "u", upd);
    store_search_geo_suffix(n, "d", del);
    if (q.dialect == STORE_DIALECT_POSTGRES) {
        store_sql_add(&q, "CREATE INDEX ");
        store_search_add_name(&q, key, rt);
        store_sql_add(&q, " ON ");
        store_sql_ident(&q, table);
        store_sql_add(&q, " (((");
        store_sql_ident(&q, column);
        store_sql_add(&q, " ->> 'lat')::float8), ((");
        store_sql_ident(&q, column);
        store_sql_add(&q, " ->> 'lon')::float8))");
        enum rc rc = store_search_run(db, &q);
        buf_cleanup(&sql);
        return rc;
    }
    /* R*Tree boxes of 32-bit floats, each rounded outwards: a point is a
     * box of no size around itself. */
    store_sql_add(&q, "CREATE VIRTUAL TABLE ");
    store_search_add_name(&q, key, rt);
    store_sql_add(&q, " USING rtree(id, minLon, maxLon, minLat, maxLat); CREATE TRIGGER ");
    store_search_add_name(&q, key, ins);
    store_sql_add(&q, " AFTER INSERT ON ");
    store_sql_ident(&q, table);
    store_sql_add(&q, " BEGIN INSERT INTO ");
    store_search_add_name(&q, key, rt);
    store_sql_add(&q, " VALUES (new.rowid, ");
    sqlite_point(&q, "new", column);
    store_sql_add(&q, "); END; CREATE TRIGGER ");
    store_search_add_name(&q, key, upd);
    store_sql_add(&q, " AFTER UPDATE OF ");
    store_sql_ident(&q, column);
    store_sql_add(&q, " ON ");
    store_sql_ident(&q, table);
    store_sql_add(&q, " BEGIN INSERT OR REPLACE INTO ");
    store_search_add_name(&q, key, rt);
    store_sql_add(&q, " VALUES (new.rowid, ");
    sqlite_point(&q, "new", column);
    store_sql_add(&q, "); END; CREATE TRIGGER ");
    store_search_add_name(&q, key, del);
    store_sql_add(&q, " AFTER DELETE ON ");
    store_sql_ident(&q, table);
    store_sql_add(&q, " BEGIN DELETE FROM ");
    store_search_add_name(&q, key, rt);
    store_sql_add(&q, " WHERE id = old.rowid; END; INSERT INTO ");
    store_search_add_name(&q, key, rt);
    store_sql_add(&q, " SELECT \"r\".rowid, ");
    sqlite_point(&q, "\"r\"", column);
    store_sql_add(&q, " FROM ");
    store_sql_ident(&q, table);
    store_sql_add(&q, " AS \"r\";");
    enum rc rc = store_search_run(db, &q);
    buf_cleanup(&sql);
    return rc;
}

enum rc store_geo_drop(struct store_conn *db, struct str key, unsigned n)
{
    struct buf sql;
    buf_init(&sql, 1 << 12);
    struct store_sql q;
    store_sql_begin_as(&q, &sql, store_conn_dialect(db));
    char name[32];
    store_search_geo_suffix(n, "", name);
    if (q.dialect == STORE_DIALECT_POSTGRES) {
        store_sql_add(&q, "DROP INDEX IF EXISTS ");
        store_search_add_name(&q, key, name);
    } else {
        static const char *const triggers[] = {"i", "u", "d"};
        for (size_t i = 0; i < 3; i++) {
            char t[32];
            store_search_geo_suffix(n, triggers[i], t);
            store_sql_add(&q, "DROP TRIGGER IF EXISTS ");
            store_search_add_name(&q, key, t);
            store_sql_add(&q, "; ");
        }
        store_sql_add(&q, "DROP TABLE IF EXISTS ");
        store_search_add_name(&q, key, name);
    }
    enum rc rc = store_search_run(db, &q);
    buf_cleanup(&sql);
    return rc;
}
