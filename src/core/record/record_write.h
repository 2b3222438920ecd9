/* record_write.h -- creates, updates and deletes on the writer thread (layer: core).
 *
 * A worker builds a job (values already decoded and validated, passwords
 * already hashed on the offload pool, rules compiled with the request's
 * @request data), submits it, and gets it back on its own loop after the
 * commit. Inside the writer's transaction the job checks what needs the
 * database: the rule against the stored (update/delete) or would-be (create)
 * record, relation targets, unique indexes, required references on delete
 * (with cascades). A failed check rolls back that job only. When a listener
 * of the app's event bus wants them, each change makes an event inside the
 * transaction (core/event/event.h); the job emits them on the submitting
 * loop after the commit and drops them after a rollback. */
#ifndef TARMAC_CORE_RECORD_WRITE_H
#define TARMAC_CORE_RECORD_WRITE_H

#include <jansson.h>

#include "core/event/event.h"
#include "core/record/record.h"
#include "core/record/record_input.h"

enum core_write_kind { CORE_WRITE_CREATE, CORE_WRITE_UPDATE, CORE_WRITE_DELETE };

struct core_write_job;
typedef void core_write_done_fn(struct core_write_job *job);

struct core_write_job {
    enum core_write_kind kind;
    const struct core_schema *schema;
    const struct core_collection *c;
    char *id;                      /* the record (create: the new id) */
    json_t *values;                /* create: every field; update: NULL (rebuilt from body) */
    json_t *body;                  /* update: the request body */
    json_t *hashes;                /* password field name -> the new value's PHC string, or NULL
                                      (owned); core_write_job_add_hash() fills it */
    struct core_request *request;  /* update: to rebuild the input; borrowed */
    struct core_sql_fragment rule; /* compiled with ?1 = the id; sql.len 0 = no rule */
    bool has_rule;
    /* create: the rule again, numbered after the INSERT's parameters (one
     * per field), when it reads the row itself only (no subquery) and the
     * engine can judge it in the INSERT's RETURNING (PostgreSQL: one round
     * trip fewer); has_rule_at_insert false: checked by a SELECT after. */
    struct core_sql_fragment rule_at_insert;
    bool has_rule_at_insert;
    bool wants_events; /* a listener wants events: make them (deletes load the row) */
    /* create: a text field whose value no other record of c may hold,
     * checked inside the write's transaction before the insert (where a
     * field has no unique index: two concurrent creates cannot both pass, the
     * writer runs them one after the other); validation_not_unique on it
     * otherwise. NULL: none. Borrowed (a constant). */
    const char *sole_field;
    /* results */
    struct core_event *events; /* made inside the write, emitted after the commit */
    json_t *written;           /* update: the row as written (a batch item answers from it: a later
                                  item of the same batch may change or delete the record) */
    json_t *previous;          /* update: the row as the write found it, in its transaction (the
                                  files it named that written no longer names are deleted) */
    enum rc rc;
    struct core_problem problem;
    /* completion on the submitting loop */
    struct core_worker *cw; /* set by core_record_submit */
    core_write_done_fn *done;
    void *ctx;
};

/* Adds phc (borrowed, copied) as the new hash of c's password field named
 * field: a create's values get it now; an update's rebuilt values get it on
 * the writer. A write whose password field would hold anything but "" or a
 * hash (a plain value without its hash) fails with RC_INTERNAL instead. */
void core_write_job_add_hash(struct core_write_job *job, const char *field, struct str phc);
/* Adds the hashes of in's secrets (core_record_input_hash() has run). */
void core_write_job_set_hashes(struct core_write_job *job, const struct core_record_input *in);
/* Submits job to the app's writer; job->done runs on cw's loop afterwards,
 * after the job's events (if any) went to the app's event bus. */
void core_record_submit(struct core_worker *cw, struct core_write_job *job);
/* Several jobs in one transaction (the batch API, spec §9.1): they run in
 * order; the first failure rolls all of them back. */
struct core_write_batch;
typedef void core_write_batch_done_fn(struct core_write_batch *b);
struct core_write_batch {
    struct core_write_job **jobs; /* borrowed */
    size_t count;
    uint64_t deadline_ns; /* chrono_mono_ns() past which the batch gives up; 0 = none */
    /* results */
    enum rc rc;
    size_t failed;     /* the index of the job that failed, when rc != RC_OK */
    bool is_timed_out; /* rc is RC_BUSY: the deadline passed between jobs */
    struct core_worker *cw;
    core_write_batch_done_fn *done; /* on cw's loop after the commit (or rollback) */
    void *ctx;
};
/* Submits b; b->done runs on cw's loop afterwards. Each job's own done is
 * not called: the batch's owner decides. On failure every job's rc is set
 * (RC_CONFLICT for those rolled back with the failing one). */
void core_record_submit_batch(struct core_worker *cw, struct core_write_batch *b);

/* Runs job on writer (the app's) and waits for its commit: for threads
 * without a loop (the CLI). Returns job->rc. */
enum rc core_record_run(struct store_writer *writer, struct core_write_job *job);
/* Runs job inside the caller's transaction, on the writer thread (a
 * migration's step): the same checks and write as a submitted job, with no
 * before listener and no event (job->cw is cleared). A failure may leave
 * part of the write behind: the caller rolls its transaction back. Returns
 * job->rc. */
enum rc core_record_apply(struct store_conn *db, struct core_write_job *job);
/* Checks that every id in c's relation fields of values exists in its target
 * collection; adds validation_missing_rel_records errors to p. RC_INVALID
 * when one is missing. Runs on any connection (the worker checks early so
 * all field errors come in one answer; the write checks again). */
enum rc core_record_check_relations(struct store_conn *db, const struct core_schema *schema,
                                    const struct core_collection *c, json_t *values,
                                    struct core_problem *p);
/* Frees what the job owns (not the job itself, nor ctx). */
void core_write_job_cleanup(struct core_write_job *job);

/* What system collections keep about an auth collection's records:
 * MFA sessions, one-time passwords, sign-in origins, OAuth2 links. */
enum core_auth_ref {
    CORE_AUTH_REF_MFAS = 1 << 0,
    CORE_AUTH_REF_OTPS = 1 << 1,
    CORE_AUTH_REF_ORIGINS = 1 << 2,
    CORE_AUTH_REF_EXTERNAL = 1 << 3,
    CORE_AUTH_REF_ALL = 0xf,
};
/* Deletes the rows of which (core_auth_ref bits) about record id of c, or
 * about every record of c when id is NULL (writer thread, in its
 * transaction): one indexed DELETE each, as PocketBase's recordRefHooks. */
enum rc core_record_delete_auth_refs(struct store_conn *db, const struct core_collection *c,
                                     const char *id, unsigned which);

#endif
