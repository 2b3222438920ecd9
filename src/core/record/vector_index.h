/* vector_index.h -- approximate nearest-neighbour indexes of vector fields,
 * in memory (layer: core, record/; issue #18, item 2).
 *
 * One HNSW graph (base/hnsw.h) per collection, vector field and metric,
 * made at its first use: a nearest list asks for candidates, and when no
 * index is ready it gets RC_NOT_FOUND (it scans exactly) while the index
 * thread reads the table on a connection of its own and builds the graph.
 * The record events of the app's bus (create, update, delete, also other
 * instances' with --redis) go to that thread too, which applies them in
 * order, so the index follows the table within moments; a graph with more
 * tombstones than live nodes is built again from the table. Each index
 * is saved to <dir>/vectors (vector_file.h's bytes, a temporary file
 * renamed) after a build, after many changes when the thread is idle, and
 * at the stop; after a restart the build its first use queues loads that
 * file instead and reconciles it with the table (every row read as a build
 * reads them: changed vectors added again, missing ids added, ids gone
 * removed) before it is used. Writes that make no event (another
 * program writing the database) are not seen; the list verifies every
 * candidate against the table (rule, filter and the stored vector), so a
 * stale index costs recall, never correctness.
 *
 * Searches take a read lock of the index (several at once); the thread's
 * changes a write lock for one insert (about a millisecond at 100,000
 * vectors of 384 dimensions); builds happen outside the lock.
 *
 * The graph's vectors lie one after another in memory, so an exact list
 * scans them rather than the table (core_vectors_exact): a brute-force
 * pass at memory speed instead of reading every row through SQL. That is
 * exact only while the copy is current, which is known this way:
 * - every write to a collection with a vector field makes events (wants),
 *   so a write submitted before its index existed still reaches it;
 * - a write's events are posted to this thread before its client is
 *   answered (record_write.c emits, then answers), and each entry counts
 *   the changes posted and applied: once the applied count reaches the
 *   posted count a read saw at its start, every write acknowledged before
 *   the read is in the copy (a read waits up to 25 ms for the thread to
 *   catch up, else scans the table);
 * - a change reads the record's vector again from the table instead of
 *   trusting its event, so events of one record from two workers applied
 *   in either order still leave the last commit;
 * - what makes no event (a truncate, another program) is caught when it
 *   touches a candidate: the list reads every candidate back from the
 *   table and, when one is missing or its distance differs from the
 *   copy's, calls core_vectors_distrust (the table is scanned, the thread
 *   checks those records and rebuilds the copy if they changed without an
 *   event). A row another program moves nearer without an event is not
 *   seen until the next build or load: the one gap;
 * - with --redis (core_vectors_set_shared), or once another instance's
 *   change is heard, no copy is trusted: its events arrive after its
 *   client was answered. */
#ifndef TARMAC_CORE_RECORD_VECTOR_INDEX_H
#define TARMAC_CORE_RECORD_VECTOR_INDEX_H

#include <stddef.h>

#include "base/arena.h"
#include "base/rc.h"
#include "base/str.h"
#include "base/vecmath.h"
#include "core/event/event.h"
#include "core/schema/collection.h"

/* Below this many vectors a list scans exactly (--vector-index-min-rows). */
#define CORE_VECTORS_DEFAULT_MIN_ROWS 10000

struct core_vectors;

/* The app's indexes over the database at target (store_open's), with the
 * thread that builds and updates them (started now); their files go to
 * <dir>/vectors (made when first written; dir NULL: none). */
struct core_vectors *core_vectors_new(const char *target, const char *dir, size_t min_rows);
/* Sets the threshold (vectors an index must hold to be used); before the
 * workers start. */
void core_vectors_set_min_rows(struct core_vectors *v, size_t min_rows);
/* Other instances write the same database (--redis): their changes arrive
 * after their clients were answered, so no copy can be known current and
 * exact lists always scan the table. Start-up, before the workers (the
 * first change heard from another instance does the same). */
void core_vectors_set_shared(struct core_vectors *v);
/* The schema is now s: the files of vector fields it no longer has (a
 * collection or field deleted, dimensions changed) are deleted by the
 * index thread. Any thread, after each schema change. */
void core_vectors_set_schema(struct core_vectors *v, const struct core_schema *s);
/* Stops the thread (saving each index changed since its file was
 * written) and frees every index; accepts NULL. */
void core_vectors_free(struct core_vectors *v);
/* The listener that feeds the indexes (app.c registers it). */
struct core_event_listener core_vectors_listener(struct core_vectors *v);

/* Up to n ids (copied into a) of the records whose field f (a vector field
 * of c) is nearest q under metric, by the index, nearest first, into ids
 * (room for n); *count says how many. RC_NOT_FOUND when the index is not
 * ready (its build is started) or holds fewer than the threshold's
 * vectors: scan exactly. Any worker thread. */
enum rc core_vectors_candidates(struct core_vectors *v, const struct core_collection *c,
                                const struct core_field *f, enum vecmath_metric metric,
                                const float *q, size_t n, struct arena *a, struct str *ids,
                                size_t *count);

/* The exact top n of the copy of f's vectors (see the top): the ids of
 * the n live vectors nearest q under metric, nearest first, into ids
 * (copied into a) and their distances (vecmath_distance's very floats)
 * into dists; *count how many (n, or every vector when fewer), *rows how
 * many vectors the copy holds. RC_NOT_FOUND when the copy cannot stand for
 * the table now (not built yet: its build is started; changes still
 * queued after a short wait; a doubt not yet cleared by a rebuild;
 * another instance's change seen; a distance that is no number; a tie
 * across the cut): scan the table. Any worker thread. */
enum rc core_vectors_exact(struct core_vectors *v, const struct core_collection *c,
                           const struct core_field *f, enum vecmath_metric metric, const float *q,
                           size_t n, struct arena *a, struct str *ids, float *dists, size_t *count,
                           size_t *rows);
/* A list read the count records ids names from the table and found them
 * missing or at another distance than the copy of (c, f, metric) gave:
 * the copy is not used until the index thread, once the changes queued
 * before now are applied, has read those records again: if they still
 * differ (a change that made no event) the copy is rebuilt, and used again
 * once a build begun after that has read the table; if not (the list's
 * snapshot was older than the copy: a concurrent write) at once. Any
 * worker thread. */
void core_vectors_distrust(struct core_vectors *v, const struct core_collection *c,
                           const struct core_field *f, enum vecmath_metric metric,
                           const struct str *ids, size_t count);

#endif
