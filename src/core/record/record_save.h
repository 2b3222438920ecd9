/* record_save.h -- the whole create/update/delete of a record, as one core
 * call (layer: core).
 *
 * A save runs the write pipeline in order: the input is decoded and
 * validated (with the uploads it names), relation targets are checked, the
 * rule is compiled with the request's @request data; then, off the loop on
 * the offload pool, uploads are written, an old password is verified and
 * new password values are hashed; then the write goes to the writer thread,
 * which checks the rule inside its transaction, writes, and makes the
 * record's events; after the commit, the files the record no longer uses
 * are removed (or, after a failure, the uploads written for it), and the
 * caller is told on its loop. The REST handlers and batch call it; hooks and
 * jobs will.
 *
 * Two steps, so a caller can get ready to wait in between:
 *
 *     core_record_save_prepare(r, &in, p, &s)   synchronous: input, rules
 *     core_record_save_start(s, done, ready, x) asynchronous: offload, write
 *
 * and core_record_save_answer() writes the record as the save left it. */
#ifndef TARMAC_CORE_RECORD_SAVE_H
#define TARMAC_CORE_RECORD_SAVE_H

#include <jansson.h>
#include <stdbool.h>

#include "core/files/files.h"
#include "core/record/record.h"
#include "core/record/record_write.h"

struct core_save_input {
    enum core_write_kind kind;
    const struct core_collection *c;
    struct str id; /* update, delete: the record */
    json_t *body;  /* create, update: the decoded body (borrowed) */
    const struct core_upload *uploads;
    size_t upload_count;
    /* A batch item: its relations are checked by the writer (an earlier item
     * may create the target) and an update may name a record an earlier item
     * creates; the write is handed to ready instead of the writer. */
    bool is_batch_item;
    /* create: a text field no other record may hold the same value of, as
     * record_write.h's core_write_job.sole_field (a constant), or NULL. */
    const char *sole_field;
};

/* A save in flight; lives in the request's arena until it is released. */
struct core_save;

/* The save finished (committed, or failed: core_record_save_rc/_problem).
 * On the loop of the request's worker, exactly once after a start that
 * returned RC_OK; the files have been cleaned up already. */
typedef void core_save_done_fn(struct core_save *s, void *ctx);
/* A batch item's write is prepared (files written, hashes made): the batch
 * submits job with the others; job->done then finishes the save. May run
 * before core_record_save_start returns. */
typedef void core_save_ready_fn(struct core_save *s, struct core_write_job *job, void *ctx);

/* The access check alone, for a caller that must refuse before it even
 * decodes the body: RC_INVALID for a view collection, RC_FORBIDDEN for a
 * null rule and a requester who is no superuser; p gets the message. */
enum rc core_record_save_access(const struct core_request *r, const struct core_collection *c,
                                enum core_write_kind kind, struct core_problem *p);
/* Checks access (a view collection, a null rule for a non-superuser), builds
 * and validates the input, checks relations, compiles the rule. On failure
 * returns the error with p filled (RC_INVALID: validation; RC_FORBIDDEN;
 * RC_NOT_FOUND: the record, or an update/delete rule that does not compile)
 * and *out is NULL. r's @request data must be filled (context "default"):
 * the rule reads it, and r->is_manager must say whether the requester
 * passes an auth collection's manageRule for the record (auth.h's
 * core_rule_passes): it may then change email, verified and password as a
 * superuser would. The save is freed with r->arena. */
enum rc core_record_save_prepare(struct core_request *r, const struct core_save_input *in,
                                 struct core_problem *p, struct core_save **out);
/* Starts the asynchronous part. RC_OK: done (or ready) will be called;
 * another code (the offload pool is full): nothing runs, nothing will be
 * called, and the uploads are not written. */
enum rc core_record_save_start(struct core_save *s, core_save_done_fn *done,
                               core_save_ready_fn *ready, void *ctx);
/* After done: the result and, on failure, its problem (the caller may move
 * it out). */
enum rc core_record_save_rc(const struct core_save *s);
struct core_problem *core_record_save_problem(struct core_save *s);
enum core_write_kind core_record_save_kind(const struct core_save *s);
/* Writes the saved record (not for a delete) as the answer, with o's expand
 * and fields, ignoring the view rule: a create answers from the inserted
 * values when it can (no read back); a batch item answers with the record
 * as it left it (a later item of the batch may change it). RC_OVER_BUDGET
 * when the request's cost ran out; p takes a read's problem. */
enum rc core_record_save_answer(struct core_save *s, const struct core_output_opts *o,
                                struct buf *out, struct core_problem *p);

#endif
