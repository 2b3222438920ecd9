/* inbox.c -- see inbox.h. */
#include "core/notify/inbox.h"

#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/secure.h"
#include "core/record/record_input.h"
#include "core/record/record_write.h"
#include "core/schema/collection.h"

const char core_inbox_collection_json[] =
    "{\"id\":\"pbc_tarmac_notifications\",\"name\":\"_notifications\",\"type\":\"base\","
    "\"listRule\":\"user = @request.auth.id\",\"viewRule\":\"user = @request.auth.id\","
    "\"createRule\":null,"
    "\"updateRule\":\"user = @request.auth.id && @request.body.user:isset = false && "
    "@request.body.title:isset = false && @request.body.body:isset = false && "
    "@request.body.data:isset = false\","
    "\"deleteRule\":\"user = @request.auth.id\","
    "\"fields\":[{\"name\":\"user\",\"type\":\"relation\",\"collectionId\":\"_pb_users_auth_\","
    "\"required\":true,\"maxSelect\":1,\"cascadeDelete\":true},"
    "{\"name\":\"title\",\"type\":\"text\",\"max\":256},"
    "{\"name\":\"body\",\"type\":\"text\",\"max\":2048},"
    "{\"name\":\"data\",\"type\":\"json\",\"maxSize\":4096},"
    "{\"name\":\"readAt\",\"type\":\"date\"},"
    "{\"name\":\"created\",\"type\":\"autodate\",\"onCreate\":true},"
    "{\"name\":\"updated\",\"type\":\"autodate\",\"onCreate\":true,\"onUpdate\":true}],"
    "\"indexes\":[\"CREATE INDEX idx_notifications_user ON _notifications (user, created)\"]}";

/* A record id (15 of [a-z0-9]) from the notification's and the user's. */
static void inbox_id(const char *notify_id, const char *user, char out[16])
{
    unsigned char sum[32];
    char text[160];
    size_t n = (size_t)snprintf(text, sizeof(text), "inbox:%s:%s", notify_id, user);
    secure_sha256(text, n < sizeof(text) ? n : sizeof(text) - 1, sum);
    static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    for (int i = 0; i < 15; i++)
        out[i] = alphabet[sum[i] % 36];
    out[15] = '\0';
}

/* One user's record; RC_OK also when it exists already or the user is gone. */
static enum rc deliver_one(const struct core_job_env *env, const struct core_schema *schema,
                           const struct core_collection *c, const char *notify_id, const char *user,
                           json_t *message)
{
    struct core_auth root = {.is_superuser = true};
    struct core_request r = {.schema = schema, .auth = &root};
    r.filter_request.context = "default";
    r.filter_request.method = "POST";
    char id[16];
    inbox_id(notify_id, user, id);
    json_t *body = json_pack("{s:s, s:s}", "id", id, "user", user);
    static const char *const parts[] = {"title", "body", "data"};
    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
        json_t *v = json_object_get(message, parts[i]);
        if (v)
            json_object_set(body, parts[i], v);
    }
    struct core_record_input in = {0};
    struct core_problem p;
    core_problem_init(&p);
    enum rc rc = core_record_input_build(&r, c, body, NULL, &in, &p);
    json_decref(body);
    core_problem_cleanup(&p);
    if (rc) {
        core_record_input_cleanup(&in);
        return RC_OK; /* not a record this collection takes: nothing to retry */
    }
    struct core_write_job job = {.kind = CORE_WRITE_CREATE,
                                 .schema = schema,
                                 .c = c,
                                 .request = &r,
                                 .id = xstrdup(id),
                                 .values = json_incref(in.values),
                                 .wants_events = core_event_is_wanted(env->events, c)};
    core_problem_init(&job.problem);
    rc = core_record_run(env->writer, &job);
    if (!rc) {
        core_event_emit(env->events, job.events); /* realtime: after the commit */
        job.events = NULL;
    }
    core_write_job_cleanup(&job);
    core_record_input_cleanup(&in);
    /* Already there (a fan-out run again), or the user is gone: done. */
    return rc == RC_CONFLICT || rc == RC_INVALID ? RC_OK : rc;
}

enum rc core_inbox_deliver(const struct core_job_env *env, const char *notify_id, json_t *users,
                           json_t *message)
{
    const struct core_schema *schema = env->schema ? env->schema(env->schema_ctx) : NULL;
    const struct core_collection *c =
        schema ? core_schema_find_exact(schema, STR_LIT(CORE_INBOX_COLLECTION)) : NULL;
    if (!c)
        return RC_OK;
    enum rc rc = RC_OK;
    size_t i;
    json_t *u;
    json_array_foreach(users, i, u)
    {
        if (!rc)
            rc = deliver_one(env, schema, c, notify_id, json_string_value(u), message);
    }
    return rc;
}
