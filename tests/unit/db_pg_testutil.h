/* db_pg_testutil.h - the fixture of the PostgreSQL backend's unit tests
 * (test_db_pg.c, test_db_pg_batch.c): a database of the test's own on the
 * throw-away cluster of tests/pg.sh (GA_TEST_PG_URL), created at setup and
 * dropped at teardown, and the helpers the tests share. */
#ifndef GA_DB_PG_TESTUTIL_H
#define GA_DB_PG_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db.h"

#define URL_MAX 1024

static const char *base_url; /* GA_TEST_PG_URL (dbpgtest_run) */

struct fixture {
	struct db *admin; /* on the cluster's database: creates and drops ours */
	struct db *db;	  /* on the test's own database */
	char name[64];
	char url[URL_MAX];
};

/* base_url naming database name instead (a later dbname= wins in libpq). */
static inline void url_for(char *out, size_t cap, const char *name)
{
	snprintf(out, cap, "%s%sdbname=%s", base_url, strchr(base_url, '?') ? "&" : "?", name);
}

static inline int setup(void **state)
{
	static int n;
	struct fixture *f = calloc(1, sizeof *f);
	char err[256], sql[128];

	assert_non_null(f);
	f->admin = db_open_pg(base_url, NULL, err, sizeof err);
	if (!f->admin)
		fail_msg("cannot open %s: %s", base_url, err);
	snprintf(f->name, sizeof f->name, "ga_test_%ld_%d", (long)getpid(), ++n);
	snprintf(sql, sizeof sql, "CREATE DATABASE %s", f->name);
	assert_int_equal(db_exec(f->admin, sql), DB_OK);
	url_for(f->url, sizeof f->url, f->name);
	f->db = db_open_pg(f->url, NULL, err, sizeof err);
	if (!f->db)
		fail_msg("cannot open %s: %s", f->url, err);
	*state = f;
	return 0;
}

static inline int teardown(void **state)
{
	struct fixture *f = *state;
	char sql[128];

	db_close(f->db);
	snprintf(sql, sizeof sql, "DROP DATABASE %s WITH (FORCE)", f->name);
	assert_int_equal(db_exec(f->admin, sql), DB_OK);
	db_close(f->admin);
	free(f);
	return 0;
}

/* Runs sql (no parameters) expecting DB_OK; shows the error otherwise. */
static inline void exec_ok(struct db *db, const char *sql)
{
	int rc = db_exec(db, sql);
	if (rc != DB_OK)
		fail_msg("%s: %d %s", sql, rc, db_errmsg(db));
}

static inline struct db_stmt *prep(struct db *db, const char *sql)
{
	struct db_stmt *st = NULL;
	int rc = db_prepare(db, sql, &st);
	if (rc != DB_OK)
		fail_msg("prepare %s: %d %s", sql, rc, db_errmsg(db));
	return st;
}

/* The first column of sql's one row as an integer. */
static inline int64_t query_int(struct db *db, const char *sql)
{
	struct db_stmt *st = prep(db, sql);
	int64_t v;
	int rc = db_step(st);
	if (rc != DB_ROW)
		fail_msg("%s: %d %s", sql, rc, db_errmsg(db));
	v = db_column_int64(st, 0);
	assert_int_equal(db_step(st), DB_DONE);
	db_finalize(st);
	return v;
}

/* Runs the group with base_url from GA_TEST_PG_URL; fails, saying how to
 * run it, without one. */
#define dbpgtest_run(name, tests) dbpgtest_run_n(name, tests, sizeof(tests) / sizeof((tests)[0]))
static inline int dbpgtest_run_n(const char *name, const struct CMUnitTest *tests, size_t n)
{
	base_url = getenv("GA_TEST_PG_URL");
	if (!base_url || !*base_url) {
		fprintf(stderr,
			"%s: FAIL: GA_TEST_PG_URL is unset: these tests need a"
			" PostgreSQL cluster; run them under tests/pg.sh (tests/run.sh"
			" does), e.g. tests/pg.sh ctest --test-dir build/asan -R %s\n",
			name, name);
		return 1;
	}
	return _cmocka_run_group_tests(name, tests, n, NULL, NULL);
}

#endif
