/* risk.h -- fraud and anomaly scoring of writes (layer: core, core/risk/,
 * after reco/ in core's folder order).
 *
 * A record of `_riskModels` (superusers) declares a collection as scored:
 * `collection`, `user` (its relation to an auth collection), and optional
 * fields of it: `amount` (number), `time` (date: the event's own time;
 * default the write's), `location` (geoPoint), `device` and `ip` (text:
 * what the app or a before hook records), `flagField` (bool: set on a
 * flag), `reviewers` (a filter over users: notified on a flag), `active`.
 * Records of `_riskRules` belong to a model (its name): `expression` (the
 * filter language over the record and @risk.<feature>), `score` (added
 * when it matches), `action` (allow, flag or block), `active`.
 *
 * Each create of a scored collection is scored before it is written, in
 * its transaction (a before listener), from the user's earlier events
 * (`_risk_events`, one row per scored record, kept in step):
 *   count_1h, count_24h, count_7d, sum_1h, sum_24h, sum_7d: the user's
 *     events with time T - window <= t <= T (edges included), the record
 *     itself not counted, events later than T (written out of order) not
 *     either;
 *   amount, amount_median, amount_z: the amount against the user's last
 *     100 amounts before T: (amount - median) / (1.4826 MAD), a robust
 *     z-score (0 below 5 amounts; +-100 at most; MAD 0: 0 when equal to the
 *     median, +-100 otherwise);
 *   history: the user's events before T;
 *   first_device, first_ip: true when the user never used it before (false
 *     without the field or a value);
 *   distance_km, speed_kmh: from the user's last located event before T
 *     (great-circle distance; the time at least a minute);
 *   hour: T's hour (UTC); hour_share: the share of the user's last 200
 *     events within an hour of it (1 without history);
 *   declined_1h, declined_24h, declined_7d: the user's blocked attempts in
 *     the windows (a blocked write's transaction rolls back: its attempt is
 *     kept apart, in `_risk_declined`, by a write of its own queued behind
 *     it, so the next write of that user sees it; the blocked attempts
 *     enter no other feature, so an attacker's refused amounts do not
 *     shift the user's history).
 * Every active rule that matches adds its score; the action is block if
 * one blocking rule matches, else flag if a flagging one does; a matching
 * allow rule overrides both (an allow list). block refuses the write with
 * a 400 that says nothing of the rules; flag sets flagField and notifies
 * the reviewers (a `notify` job: inbox and push, category "risk"). The
 * score, action, matched rules and features of each allowed or flagged
 * write are a `_riskScores` record (superusers only). */
#ifndef TARMAC_CORE_RISK_RISK_H
#define TARMAC_CORE_RISK_RISK_H

#include "core/event/event.h"
#include "core/jobs/registry.h"
#include "store/store.h"

#define CORE_RISK_MODELS "_riskModels"
#define CORE_RISK_RULES "_riskRules"
#define CORE_RISK_SCORES "_riskScores"

extern const char core_risk_models_json[];
extern const char core_risk_rules_json[];
extern const char core_risk_scores_json[];

enum rc core_risk_ddl(struct store_conn *db);

struct core_risk;
struct core_risk *core_risk_new(core_job_schema_fn *schema_of, void *ctx);
void core_risk_free(struct core_risk *r);
struct core_jobs;
void core_risk_set_jobs(struct core_risk *r, struct core_jobs *jobs);
/* The writer the blocked attempts are recorded through (borrowed). */
struct store_writer;
void core_risk_set_writer(struct core_risk *r, struct store_writer *writer);
/* Sets whether any model may exist, from the table (start-up). */
enum rc core_risk_load(struct core_risk *r, struct store_conn *db);
/* Checks models and rules before they are written, and scores creates. */
struct core_event_listener core_risk_listener(struct core_risk *r);

#endif
