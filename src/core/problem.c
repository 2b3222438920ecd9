/* problem.c -- see problem.h. */
#include "core/problem.h"

#include <string.h>

void core_problem_init(struct core_problem *p)
{
    p->message[0] = '\0';
    p->data = NULL;
}

void core_problem_cleanup(struct core_problem *p)
{
    json_decref(p->data);
    p->data = NULL;
}

void core_problem_message(struct core_problem *p, const char *message)
{
    size_t n = strlen(message);
    if (n >= sizeof(p->message))
        n = sizeof(p->message) - 1;
    memcpy(p->message, message, n);
    p->message[n] = '\0';
}

void core_problem_field(struct core_problem *p, const char *path, const char *code,
                        const char *message, json_t *params)
{
    if (!p->data)
        p->data = json_object();
    json_t *node = p->data;
    char key[128];
    const char *s = path;
    for (;;) {
        const char *dot = strchr(s, '.');
        size_t n = dot ? (size_t)(dot - s) : strlen(s);
        if (n >= sizeof(key))
            n = sizeof(key) - 1;
        memcpy(key, s, n);
        key[n] = '\0';
        if (!dot) {
            if (json_object_get(node, key)) {
                json_decref(params);
                return; /* the first error at a path is the one reported */
            }
            json_t *err = json_pack("{s:s, s:s}", "code", code, "message", message);
            if (params)
                json_object_set_new(err, "params", params);
            json_object_set_new(node, key, err);
            return;
        }
        json_t *child = json_object_get(node, key);
        if (!child || !json_is_object(child) || json_object_get(child, "code")) {
            if (child) {
                json_decref(params);
                return; /* a parent already has its own error */
            }
            child = json_object();
            json_object_set_new(node, key, child);
        }
        node = child;
        s = dot + 1;
    }
}

bool core_problem_has_fields(const struct core_problem *p)
{
    return p->data && json_object_size(p->data) > 0;
}

static const struct {
    enum rc rc;
    int status;
} statuses[] = {
    {RC_INVALID, 400},   {RC_OVER_BUDGET, 400}, {RC_UNAUTHORIZED, 401}, {RC_FORBIDDEN, 403},
    {RC_NOT_FOUND, 404}, {RC_CONFLICT, 409},    {RC_TOO_LARGE, 413},    {RC_RATE_LIMITED, 429},
    {RC_BUSY, 503},      {RC_NOMEM, 503},
};

int core_problem_status(enum rc rc)
{
    for (size_t i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++)
        if (statuses[i].rc == rc)
            return statuses[i].status;
    return 500;
}

enum rc core_problem_rc(int status)
{
    /* the first entry of a status is its code (400: RC_INVALID, 503: RC_BUSY) */
    for (size_t i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++)
        if (statuses[i].status == status)
            return statuses[i].rc;
    return status < 500 ? RC_INVALID : RC_INTERNAL;
}
