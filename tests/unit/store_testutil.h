/* store_testutil.h - for the store's tests, on either backend (issue 12,
 * spec §10): a fresh, empty place for a store of its own, opened, and
 * removed afterwards; the fixture the tests share (setup and teardown);
 * and a second connection through db.h for looking behind the store's
 * back.
 *
 * The backend is a parameter: GA_TEST_STORE=pg (tests/CMakeLists.txt
 * registers every store test a second time as unit.NAME.pg with it) puts
 * each fixture on the PostgreSQL cluster at GA_TEST_PG_URL (tests/pg.sh
 * starts one), anything else (the default) on SQLite.
 *
 * SQLite: a database file in a temp dir of its own. PostgreSQL: a schema
 * of its own (CREATE SCHEMA ga_NAME_PID_N in the cluster's database) and
 * the cluster's URL with options=-csearch_path%3D<schema>, so that the
 * migrations create their tables, functions and triggers there and every
 * statement finds them there; the schema is dropped (CASCADE) at teardown.
 * A schema rather than a database per fixture: both keep tests apart, a
 * schema is made and dropped in a few milliseconds where CREATE DATABASE
 * copies template1 (measured when this was written: see the commit).
 *
 * In both cases stest_db.path is what stest_open and stest_raw_open take:
 * the file's path, or the schema's URL. */
#ifndef GA_STORE_TESTUTIL_H
#define GA_STORE_TESTUTIL_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "db.h"
#include "store.h"

#define STEST_PATH_MAX 512

/* True when GA_TEST_STORE=pg: the fixtures are on PostgreSQL. */
static inline bool stest_pg(void)
{
	const char *v = getenv("GA_TEST_STORE");

	return v != NULL && strcmp(v, "pg") == 0;
}

/* GA_TEST_PG_URL; fails the test when it is not set (a .pg test never
 * passes without a server). */
static inline const char *stest_pg_url(void)
{
	const char *url = getenv("GA_TEST_PG_URL");

	if (url == NULL || url[0] == '\0')
		fail_msg("GA_TEST_STORE=pg but GA_TEST_PG_URL is not set: run the test under"
			 " tests/pg.sh (or tests/run.sh), which starts a PostgreSQL cluster");
	return url;
}

/* A path for stest_open naming PostgreSQL (a URL) rather than a file. */
static inline bool stest_is_url(const char *path)
{
	return strncmp(path, "postgresql://", 13) == 0 || strncmp(path, "postgres://", 11) == 0;
}

struct stest_db {
	bool pg;
	char dir[64];		   /* SQLite: the temp dir; PostgreSQL: "" */
	char path[STEST_PATH_MAX]; /* SQLite: {dir}/geoalert.db; PostgreSQL: the schema's URL */
	char schema[64];	   /* PostgreSQL: the schema, else "" */
};

/* Runs sql on the cluster's own database (CREATE/DROP SCHEMA). */
static inline void stest_pg_admin(const char *sql)
{
	char err[256] = "";
	struct db *db = db_open_pg(stest_pg_url(), NULL, err, sizeof(err));

	if (db == NULL)
		fail_msg("cannot open %s: %s", stest_pg_url(), err);
	if (db_exec(db, sql) != DB_OK)
		fail_msg("%s: %s", sql, db_errmsg(db));
	db_close(db);
}

/* SQLite: makes /tmp/ga-{name}-XXXXXX and names the database in it.
 * PostgreSQL: makes the schema ga_{name}_{pid}_{n} and its URL. */
static inline void stest_db_make(struct stest_db *db, const char *name)
{
	memset(db, 0, sizeof(*db));
	if (stest_pg()) {
		static int n;
		const char *url = stest_pg_url();
		char sql[128];
		size_t k = 0;

		db->pg = true;
		k = (size_t)snprintf(db->schema, sizeof(db->schema), "ga_");
		for (const char *p = name; *p && k < 40; p++)
			db->schema[k++] =
			    (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ? *p : '_';
		snprintf(db->schema + k, sizeof(db->schema) - k, "_%ld_%d", (long)getpid(), ++n);
		snprintf(sql, sizeof(sql), "CREATE SCHEMA %s", db->schema);
		stest_pg_admin(sql);
		/* from a copy: gcc 12 at -O3 takes two members of one struct
		 * for overlapping snprintf arguments (-Wrestrict) */
		char schema[sizeof(db->schema)];
		memcpy(schema, db->schema, sizeof(schema));
		if ((size_t)snprintf(db->path, sizeof(db->path), "%s%coptions=-csearch_path%%3D%s",
				     url, strchr(url, '?') ? '&' : '?', schema) >= sizeof(db->path))
			fail_msg("GA_TEST_PG_URL too long: %s", url);
		return;
	}
	snprintf(db->dir, sizeof(db->dir), "/tmp/ga-%s-XXXXXX", name);
	assert_non_null(mkdtemp(db->dir));
	char dir[sizeof(db->dir)];
	memcpy(dir, db->dir, sizeof(dir));
	snprintf(db->path, sizeof(db->path), "%s/geoalert.db", dir);
}

/* SQLite: removes the database, its WAL and journal files, and the dir.
 * PostgreSQL: drops the schema and everything in it. */
static inline void stest_db_remove(const struct stest_db *db)
{
	const char *suffix[] = {"", "-wal", "-shm", "-journal"};
	char p[STEST_PATH_MAX + 16];

	if (db->pg) {
		snprintf(p, sizeof(p), "DROP SCHEMA %s CASCADE", db->schema);
		stest_pg_admin(p);
		return;
	}
	for (size_t i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
		snprintf(p, sizeof(p), "%s%s", db->path, suffix[i]);
		unlink(p);
	}
	rmdir(db->dir);
}

/* The options that open path: a file, or PostgreSQL when path is a URL
 * (stest_db.path on either backend). max_pages is SQLite's only. */
static inline struct store_options stest_options(const char *path, long max_pages)
{
	struct store_options opt = {.max_page_count = max_pages};

	if (stest_is_url(path))
		opt.url = path;
	else
		opt.path = path;
	return opt;
}

/* Opens path (max_pages 0: no cap), failing the test with the store's
 * message when it cannot. */
static inline struct store *stest_open(const char *path, long max_pages)
{
	struct store_options opt = stest_options(path, max_pages);
	struct store *s = NULL;
	char err[512] = "";
	ga_err e = store_open(&opt, &s, err, sizeof(err));

	if (e != GA_OK)
		fail_msg("store_open: %s", err);
	assert_non_null(s);
	return s;
}

/* The fixture of a store test: its database and the store (NULL until
 * opened). A test's own fixture, when it needs more, has this as its
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

/* A second connection to path (a file or a URL) through db.h, behind the
 * store's back; close it with db_close. SQL given to the stest_raw_*
 * calls must be valid on the backend the test runs on. */
static inline struct db *stest_raw_open(const char *path)
{
	struct db *db = NULL;

	if (stest_is_url(path)) {
		char err[256] = "";

		if ((db = db_open_pg(path, NULL, err, sizeof(err))) == NULL)
			fail_msg("cannot open %s: %s", path, err);
		return db;
	}
	sqlite3 *conn = NULL;

	assert_int_equal(sqlite3_open(path, &conn), SQLITE_OK);
	sqlite3_busy_timeout(conn, 2000);
	sqlite3_extended_result_codes(conn, 1);
	assert_non_null(db = db_wrap_sqlite(conn));
	return db;
}

/* Runs sql on db; fails the test with the backend's message when it
 * fails. Blob literals may be written as SQLite's x'HEX' (after a space):
 * on PostgreSQL they are run as '\xHEX'::bytea. */
static inline void stest_raw_exec(struct db *db, const char *sql)
{
	char *pg = NULL;

	if (db_kind(db) == DB_KIND_POSTGRES && strstr(sql, " x'") != NULL) {
		size_t k = 0, cap = strlen(sql) * 2 + 16;

		assert_non_null(pg = malloc(cap));
		for (const char *p = sql; *p; p++) {
			if (p[0] == ' ' && p[1] == 'x' && p[2] == '\'') {
				const char *end = strchr(p + 3, '\'');

				assert_non_null(end);
				k += (size_t)snprintf(pg + k, cap - k, " '\\x%.*s'::bytea",
						      (int)(end - p - 3), p + 3);
				p = end;
				continue;
			}
			pg[k++] = *p;
		}
		pg[k] = '\0';
	}
	if (db_exec(db, pg ? pg : sql) != DB_OK)
		fail_msg("%s: %s", pg ? pg : sql, db_errmsg(db));
	free(pg);
}

/* The statement sql on db, prepared (db_finalize it); the test fails
 * when it cannot be. */
static inline struct db_stmt *stest_raw_prepare(struct db *db, const char *sql)
{
	struct db_stmt *st = NULL;

	if (db_prepare(db, sql, &st) != DB_OK)
		fail_msg("%s: %s", sql, db_errmsg(db));
	return st;
}

/* The statement sql on db, stepped to its first row (db_finalize it);
 * the test fails when it has none. */
static inline struct db_stmt *stest_raw_row(struct db *db, const char *sql)
{
	struct db_stmt *st = stest_raw_prepare(db, sql);
	int rc = db_step(st);

	if (rc != DB_ROW)
		fail_msg("%s: no row (%d: %s)", sql, rc, db_errmsg(db));
	return st;
}

/* The integer in the first column of the first row sql returns. */
static inline long long stest_raw_int(struct db *db, const char *sql)
{
	struct db_stmt *st = stest_raw_row(db, sql);
	long long v = db_column_int64(st, 0);

	db_finalize(st);
	return v;
}

/* The store's schema version: PRAGMA user_version on SQLite, the
 * schema_version table on PostgreSQL. */
static inline long long stest_raw_version(struct db *db)
{
	return stest_raw_int(db, db_kind(db) == DB_KIND_POSTGRES
				     ? "SELECT version FROM schema_version"
				     : "PRAGMA user_version");
}

#endif
