/* mfa.c -- see mfa.h. */
#include "core/auth/mfa.h"

#include <string.h>

#include "base/alloc.h"
#include "base/chrono.h"
#include "base/secure.h"
#include "core/auth/auth.h"
#include "store/store.h"

/* PocketBase's `_mfas` (its init migration): readable by the record it is
 * for, written only by the server (and superusers). */
const char *const core_mfas_collection_json =
    "{\"id\":\"" CORE_MFAS_ID "\",\"name\":\"_mfas\",\"type\":\"base\","
    "\"listRule\":\"@request.auth.id != '' && recordRef = @request.auth.id && "
    "collectionRef = @request.auth.collectionId\","
    "\"viewRule\":\"@request.auth.id != '' && recordRef = @request.auth.id && "
    "collectionRef = @request.auth.collectionId\","
    "\"createRule\":null,\"updateRule\":null,\"deleteRule\":null,"
    "\"fields\":[{\"name\":\"collectionRef\",\"type\":\"text\",\"required\":true,\"system\":true},"
    "{\"name\":\"recordRef\",\"type\":\"text\",\"required\":true,\"system\":true},"
    "{\"name\":\"method\",\"type\":\"text\",\"required\":true,\"system\":true},"
    "{\"name\":\"created\",\"type\":\"autodate\",\"onCreate\":true,\"system\":true},"
    "{\"name\":\"updated\",\"type\":\"autodate\",\"onCreate\":true,\"onUpdate\":true,"
    "\"system\":true}],"
    "\"indexes\":[\"CREATE INDEX `idx_mfas_collectionRef_recordRef` ON `_mfas` "
    "(`collectionRef`, `recordRef`)\"]}";

enum rc core_mfa_applies(struct core_request *r, const struct core_collection *col, const char *id,
                         bool *out)
{
    *out = false;
    if (!col->mfa.is_enabled)
        return RC_OK;
    if (!col->mfa.rule || !col->mfa.rule[0]) {
        *out = true;
        return RC_OK;
    }
    return core_rule_eval(r, col, col->mfa.rule, id, out);
}

/* The earliest `created` of a live session of col. */
static void oldest_live(const struct core_collection *col, char out[32])
{
    chrono_format_db_ms(chrono_real_ms() - col->mfa.duration_s * 1000, out);
}

enum core_mfa_verdict core_mfa_check(struct core_worker *cw, const struct core_collection *col,
                                     const char *mfa_id, const char *record_id, const char *method)
{
    struct store_stmt *st;
    if (store_prepare(
            cw->db,
            STR_LIT("SELECT \"collectionRef\", \"recordRef\", method, created > ?2 FROM _mfas "
                    "WHERE id = ?1"),
            &st) != RC_OK)
        return CORE_MFA_UNKNOWN;
    char oldest[32];
    oldest_live(col, oldest);
    enum core_mfa_verdict v = CORE_MFA_UNKNOWN;
    if (store_bind_text(st, 1, str_from_cstr(mfa_id)) == RC_OK &&
        store_bind_text(st, 2, str_from_cstr(oldest)) == RC_OK && store_step(st) == RC_OK) {
        /* PocketBase's order: an expired session is refused (and deleted)
         * whoever it was for; then the owner; then the method. */
        if (store_column_int64(st, 3) == 0)
            v = CORE_MFA_EXPIRED;
        else if (!str_eq(store_column_text(st, 0), str_from_cstr(col->id)) ||
                 !str_eq(store_column_text(st, 1), str_from_cstr(record_id)))
            v = CORE_MFA_OTHER;
        else if (str_eq(store_column_text(st, 2), str_from_cstr(method)))
            v = CORE_MFA_SAME_METHOD;
        else
            v = CORE_MFA_PASS;
    }
    store_done(st);
    return v;
}

void core_mfa_start_job(const struct core_collection *col, const char *record_id,
                        const char *method, char id_out[CORE_MFA_ID_LEN + 1],
                        struct core_exec_job *job)
{
    secure_random_id(id_out, CORE_MFA_ID_LEN);
    id_out[CORE_MFA_ID_LEN] = '\0';
    char now[32], oldest[32];
    chrono_format_db_ms(chrono_real_ms(), now);
    oldest_live(col, oldest);
    job->pre_sql = "DELETE FROM _mfas WHERE \"collectionRef\" = ?1 AND created < ?2";
    job->pre_params[0] = xstrdup(col->id);
    job->pre_params[1] = xstrdup(oldest);
    job->pre_param_count = 2;
    job->sql = "INSERT INTO _mfas (id, \"collectionRef\", \"recordRef\", method, created, updated) "
               "VALUES (?1, ?2, ?3, ?4, ?5, ?5)";
    job->params[0] = xstrdup(id_out);
    job->params[1] = xstrdup(col->id);
    job->params[2] = xstrdup(record_id);
    job->params[3] = xstrdup(method);
    job->params[4] = xstrdup(now);
    job->param_count = 5;
}

void core_mfa_end_job(const char *mfa_id, struct core_exec_job *job)
{
    job->sql = "DELETE FROM _mfas WHERE id = ?1";
    job->params[0] = xstrdup(mfa_id);
    job->param_count = 1;
}
