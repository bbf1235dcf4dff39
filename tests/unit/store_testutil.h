/* store_testutil.h - for the store's tests: a fresh database file in a
 * temp dir of its own, opened, and removed with its WAL files; the
 * fixture the tests share (setup and teardown); and a plain SQLite
 * connection for looking behind the store's back. */
#ifndef GA_STORE_TESTUTIL_H
#define GA_STORE_TESTUTIL_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <sqlite3.h>

#include "store.h"

struct stest_db {
	char dir[64];
	char path[128]; /* {dir}/geoalert.db */
};

/* Makes /tmp/ga-{name}-XXXXXX and names the database in it. */
static inline void stest_db_make(struct stest_db *db, const char *name)
{
	snprintf(db->dir, sizeof(db->dir), "/tmp/ga-%s-XXXXXX", name);
	assert_non_null(mkdtemp(db->dir));
	snprintf(db->path, sizeof(db->path), "%s/geoalert.db", db->dir);
}

/* Removes the database, its WAL and journal files, and the dir. */
static inline void stest_db_remove(const struct stest_db *db)
{
	const char *suffix[] = {"", "-wal", "-shm", "-journal"};
	char p[160];

	for (size_t i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
		snprintf(p, sizeof(p), "%s%s", db->path, suffix[i]);
		unlink(p);
	}
	rmdir(db->dir);
}

/* Opens path (max_pages 0: no cap), failing the test with the store's
 * message when it cannot. */
static inline struct store *stest_open(const char *path, long max_pages)
{
	struct store_options opt = {.path = path, .max_page_count = max_pages};
	struct store *s = NULL;
	char err[512] = "";
	ga_err e = store_open(&opt, &s, err, sizeof(err));

	if (e != GA_OK)
		fail_msg("store_open: %s", err);
	assert_non_null(s);
	return s;
}

/* The fixture of a store test: its database file and the store (NULL
 * until opened). A test's own fixture, when it needs more, has this as its
 * first member, so that a pointer to it is a pointer to this. */
struct stest_fixture {
	struct stest_db db;
	struct store *s;
};

/* Allocates a zeroed fixture of size bytes (at least sizeof(struct
 * stest_fixture), beginning with one), makes its database under name and,
 * when open, opens it with no page cap. Fails the test on any error;
 * stest_teardown frees it. */
static inline void *stest_fixture_new(size_t size, const char *name, bool open)
{
	struct stest_fixture *f = calloc(1, size);

	assert_non_null(f);
	stest_db_make(&f->db, name);
	if (open)
		f->s = stest_open(f->db.path, 0);
	return f;
}

/* A cmocka teardown: closes the store of the fixture in *state, removes
 * its database and frees it. */
static inline int stest_teardown(void **state)
{
	struct stest_fixture *f = *state;

	store_close(f->s);
	stest_db_remove(&f->db);
	free(f);
	return 0;
}

/* A second, plain SQLite connection to path (close it with
 * sqlite3_close). */
static inline sqlite3 *stest_raw_open(const char *path)
{
	sqlite3 *db = NULL;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 2000);
	return db;
}

/* Runs sql on db; fails the test with SQLite's message when it fails. */
static inline void stest_raw_exec(sqlite3 *db, const char *sql)
{
	char *msg = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);

	if (rc != SQLITE_OK)
		fail_msg("%s: %s", sql, msg ? msg : "?");
	sqlite3_free(msg);
}

/* The statement sql on db, prepared (sqlite3_finalize it); the test
 * fails when it cannot be. */
static inline sqlite3_stmt *stest_raw_prepare(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	return st;
}

/* The statement sql on db, stepped to its first row (sqlite3_finalize
 * it); the test fails when it has none. */
static inline sqlite3_stmt *stest_raw_row(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = stest_raw_prepare(db, sql);

	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	return st;
}

/* The integer in the first column of the first row sql returns. */
static inline long long stest_raw_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = stest_raw_row(db, sql);
	long long v = sqlite3_column_int64(st, 0);

	sqlite3_finalize(st);
	return v;
}

#endif
