/* data_upgrade.h -- upgrades of records older tarmac versions stored (layer: core).
 *
 * _params holds "tarmac.dataVersion" (an integer, absent = 0): the record
 * data a database has been upgraded to. Opening the app runs what a database
 * lacks, once, inside the open job on the writer thread, before any worker
 * reads. Version 1: every password field holds "" or an argon2id hash
 * (before it, a password field of a base collection, or one not named
 * "password", stored what the client sent; issue #11). System collections
 * a version adds are made by app.c when missing (add_builtin_collection);
 * one of them, `_otps`, replaced a bare table of the same name, which
 * core_data_upgrade_otps_begin/_finish move out of the way and into it. */
#ifndef TARMAC_CORE_DATA_UPGRADE_H
#define TARMAC_CORE_DATA_UPGRADE_H

#include <stdbool.h>

#include "base/rc.h"
#include "core/schema/collection.h"
#include "core/credential/password.h"
#include "store/store.h"

#define CORE_DATA_VERSION 2

/* Brings db's records of schema s up to CORE_DATA_VERSION and records it.
 * is_fresh: the database was just made (nothing to upgrade). Version 1
 * hashes, with params, each password field value that is not "" and does not
 * parse as an argon2id PHC string, and logs how many per field; version 2
 * makes SQLite's search indexes again (new words, prefix indexes). SLOW (one
 * argon2id per value): call it where no event loop waits, inside a write
 * transaction. RC_NOMEM, RC_IO and the like on failure (nothing recorded). */
enum rc core_data_upgrade(struct store_conn *db, const struct core_schema *s,
                          struct core_password_params params, bool is_fresh);

/* Before `_otps` became a system collection (core/auth/otp.h) its rows lived
 * in a bare table of that name. When s has no `_otps` collection and db has
 * that table, _begin renames it to `_otps_legacy` so the collection's table
 * can be made; _finish, once it is, copies the rows over (pending codes keep
 * working) and drops the old table. Each does nothing when there is nothing
 * to move. Writer thread, inside the open transaction. */
enum rc core_data_upgrade_otps_begin(struct store_conn *db, const struct core_schema *s);
enum rc core_data_upgrade_otps_finish(struct store_conn *db);

#endif
