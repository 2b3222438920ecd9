/* db_file.h -- a scratch database file per test process, for unit tests that
 * open real SQLite files through store/ (included by the test .c files). */
#ifndef TARMAC_TESTS_UNIT_DB_FILE_H
#define TARMAC_TESTS_UNIT_DB_FILE_H

#include <stdio.h>
#include <unistd.h>

static char db_path[256];

/* Names /tmp/tarmac-test-<tag>-<pid>.db and removes any leftover. */
static void db_file_init(const char *tag)
{
    snprintf(db_path, sizeof(db_path), "/tmp/tarmac-test-%s-%d.db", tag, (int)getpid());
    unlink(db_path);
}

/* Removes the database and its WAL and shared-memory files. */
static void db_file_remove(void)
{
    char p[300];
    unlink(db_path);
    snprintf(p, sizeof(p), "%s-wal", db_path);
    unlink(p);
    snprintf(p, sizeof(p), "%s-shm", db_path);
    unlink(p);
}

#endif
