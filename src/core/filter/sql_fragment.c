/* sql_fragment.c -- binding a compiled fragment's parameters (sqlgen.h).
 * Apart from sqlgen.c so the filter fuzzer, which links the compiler alone,
 * needs no database engine. */
#include "core/filter/sqlgen.h"

enum rc core_sql_fragment_bind(struct store_stmt *st, const struct core_sql_fragment *f,
                               size_t base)
{
    enum rc rc = RC_OK;
    for (size_t i = 0; i < f->param_count && !rc; i++) {
        const struct core_sql_param *p = &f->params[i];
        int n = (int)(base + i + 1);
        switch (p->type) {
        case CORE_SQL_NULL: rc = store_bind_null(st, n); break;
        case CORE_SQL_INT: rc = store_bind_int64(st, n, p->i); break;
        case CORE_SQL_DOUBLE: rc = store_bind_double(st, n, p->d); break;
        case CORE_SQL_TEXT: rc = store_bind_text(st, n, p->text); break;
        }
    }
    return rc;
}
