/* test_db_pg.c - the PostgreSQL backend of db.h (db_pg.c) and the
 * PostgreSQL schema (store_sql_pg.c), against the throw-away cluster of
 * tests/pg.sh (GA_TEST_PG_URL; tests/run.sh starts one for the run). Each
 * test gets a database of its own. Without GA_TEST_PG_URL the test FAILS:
 * run it as `tests/pg.sh ctest --test-dir build/asan -R test_db_pg`. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db.h"
#include "db_internal.h"
#include "db_pg_testutil.h"
#include "store_internal.h"
#include "store_sql_pg.h"

static void test_types(void **state)
{
	struct fixture *f = *state;
	static const unsigned char blob[] = {'a', 0, 'b', 0, 0xff, 0};
	struct db_stmt *st;

	exec_ok(f->db, "CREATE TABLE t (k BIGINT, i BIGINT, d DOUBLE PRECISION, s TEXT, b BYTEA,"
		       " n BIGINT)");
	st = prep(f->db, "INSERT INTO t (k, i, d, s, b, n) VALUES (?, ?, ?, ?, ?, ?)");
	assert_int_equal(db_bind_int(st, 1, 1), DB_OK);
	assert_int_equal(db_bind_int64(st, 2, INT64_MIN), DB_OK);
	assert_int_equal(db_bind_double(st, 3, -0.1), DB_OK);
	assert_int_equal(db_bind_text(st, 4, "汉字 'x' \\ ?", -1), DB_OK);
	assert_int_equal(db_bind_blob(st, 5, blob, sizeof blob), DB_OK);
	assert_int_equal(db_bind_null(st, 6), DB_OK);
	assert_int_equal(db_step(st), DB_DONE);
	assert_int_equal(db_changes(f->db), 1);
	db_reset(st);
	/* Second row: an empty blob, text of a given length (not
	 * NUL-terminated there), a NULL double, SQLite's NULL pointers. */
	assert_int_equal(db_bind_int(st, 1, 2), DB_OK);
	assert_int_equal(db_bind_int64(st, 2, INT64_MAX), DB_OK);
	assert_int_equal(db_bind_text(st, 4, "abcdef", 3), DB_OK);
	assert_int_equal(db_bind_blob(st, 5, "", 0), DB_OK);
	assert_int_equal(db_bind_text(st, 6, NULL, 0), DB_OK);
	assert_int_equal(db_step(st), DB_DONE);
	db_finalize(st);

	st = prep(f->db, "SELECT i, d, s, b, n FROM t ORDER BY k");
	assert_int_equal(db_step(st), DB_ROW);
	assert_int_equal(db_column_type(st, 0), DB_INTEGER);
	assert_true(db_column_int64(st, 0) == INT64_MIN);
	assert_int_equal(db_column_type(st, 1), DB_FLOAT);
	assert_true(db_column_double(st, 1) == -0.1);
	assert_int_equal(db_column_type(st, 2), DB_TEXT);
	assert_string_equal(db_column_text(st, 2), "汉字 'x' \\ ?");
	assert_int_equal(db_column_bytes(st, 2), (int)strlen("汉字 'x' \\ ?"));
	assert_int_equal(db_column_type(st, 3), DB_BLOB);
	assert_int_equal(db_column_bytes(st, 3), (int)sizeof blob);
	assert_memory_equal(db_column_blob(st, 3), blob, sizeof blob);
	assert_int_equal(db_column_type(st, 4), DB_NULL);
	assert_null(db_column_text(st, 4));
	assert_null(db_column_blob(st, 4));
	assert_int_equal(db_column_bytes(st, 4), 0);
	assert_int_equal(db_column_int(st, 4), 0);
	/* Out of range columns read as NULL. */
	assert_int_equal(db_column_type(st, 5), DB_NULL);
	assert_int_equal(db_column_type(st, -1), DB_NULL);
	assert_null(db_column_text(st, 99));

	assert_int_equal(db_step(st), DB_ROW);
	assert_true(db_column_int64(st, 0) == INT64_MAX);
	assert_int_equal(db_column_type(st, 1), DB_NULL);
	assert_string_equal(db_column_text(st, 2), "abc");
	assert_int_equal(db_column_type(st, 3), DB_BLOB);
	assert_int_equal(db_column_bytes(st, 3), 0);
	assert_non_null(db_column_blob(st, 3));
	assert_int_equal(db_column_type(st, 4), DB_NULL);
	assert_int_equal(db_step(st), DB_DONE);
	db_finalize(st);

	/* Computed types: bool as SQLite's 1/0, numeric (sum of bigint) as a
	 * float readable as an integer, int4, text inferred for `SELECT ?`. */
	st = prep(f->db, "SELECT true, false, sum(k), 7::int4, 2.5::numeric, ?, ?::bigint FROM t");
	assert_int_equal(db_bind_text(st, 1, "hello", -1), DB_OK);
	assert_int_equal(db_bind_int(st, 2, 42), DB_OK);
	assert_int_equal(db_step(st), DB_ROW);
	assert_int_equal(db_column_type(st, 0), DB_INTEGER);
	assert_int_equal(db_column_int(st, 0), 1);
	assert_int_equal(db_column_int(st, 1), 0);
	assert_string_equal(db_column_text(st, 0), "1");
	assert_int_equal(db_column_type(st, 2), DB_FLOAT);
	assert_int_equal(db_column_int64(st, 2), 3);
	assert_int_equal(db_column_type(st, 3), DB_INTEGER);
	assert_int_equal(db_column_int(st, 3), 7);
	assert_int_equal(db_column_int64(st, 4), 2); /* truncated, as SQLite's cast */
	assert_true(db_column_double(st, 4) == 2.5);
	assert_int_equal(db_column_type(st, 5), DB_TEXT);
	assert_string_equal(db_column_text(st, 5), "hello");
	assert_int_equal(db_column_int64(st, 6), 42);
	assert_int_equal(db_step(st), DB_DONE);
	db_finalize(st);

	/* Text cannot hold a NUL in PostgreSQL: refused at bind. */
	st = prep(f->db, "SELECT ?");
	assert_int_equal(db_bind_text(st, 1, "a\0b", 3), DB_ERROR);
	assert_non_null(strstr(db_errmsg(f->db), "NUL"));
	db_finalize(st);
}

static void test_params(void **state)
{
	struct fixture *f = *state;
	struct db_stmt *st;

	/* `?` in strings, identifiers, comments and dollar quotes stays. */
	st = prep(f->db, "SELECT '?' AS \"a?\", E'\\'?', $$?$$, $q$ ? $q$, ? /* ? /* ? */ ? */"
			 " -- ?\n , 'it''s ?'");
	assert_int_equal(db_bind_int(st, 2, 1), DB_RANGE);
	assert_int_equal(db_bind_int(st, 0, 1), DB_RANGE);
	assert_int_equal(db_bind_text(st, 1, "x", -1), DB_OK);
	assert_int_equal(db_step(st), DB_ROW);
	assert_string_equal(db_column_text(st, 0), "?");
	assert_string_equal(db_column_text(st, 1), "'?");
	assert_string_equal(db_column_text(st, 2), "?");
	assert_string_equal(db_column_text(st, 3), " ? ");
	assert_string_equal(db_column_text(st, 4), "x");
	assert_string_equal(db_column_text(st, 5), "it's ?");
	/* Binding while stepped and not reset is a misuse (SQLite's). */
	assert_int_equal(db_bind_int(st, 1, 1), DB_MISUSE);
	db_finalize(st);

	/* ?N reused; a bare ? after ?2 is ?3 (SQLite's rule). */
	st = prep(f->db, "SELECT ?1 + ?1, ?2 * ?1, ?");
	assert_int_equal(db_bind_int(st, 1, 20), DB_OK);
	assert_int_equal(db_bind_int(st, 2, 3), DB_OK);
	assert_int_equal(db_bind_int(st, 3, 5), DB_OK);
	assert_int_equal(db_bind_int(st, 4, 5), DB_RANGE);
	assert_int_equal(db_step(st), DB_ROW);
	assert_int_equal(db_column_int(st, 0), 40);
	assert_int_equal(db_column_int(st, 1), 60);
	assert_int_equal(db_column_int(st, 2), 5);
	/* db_reset clears the bindings: run again with NULLs. */
	db_reset(st);
	assert_int_equal(db_step(st), DB_ROW);
	assert_int_equal(db_column_type(st, 0), DB_NULL);
	db_finalize(st);
}

static void test_rewrite_caps(void **state)
{
	char out[64], err[128], big[4 * DB_PG_PARAMS_MAX + 32];
	int n = -1;

	(void)state;
	assert_int_equal(db_pg_rewrite("a ?64", out, sizeof out, &n, err, sizeof err), DB_OK);
	assert_string_equal(out, "a $64");
	assert_int_equal(n, DB_PG_PARAMS_MAX);
	assert_int_equal(db_pg_rewrite("a ?65", out, sizeof out, &n, err, sizeof err), DB_ERROR);
	assert_int_equal(db_pg_rewrite("a ?0", out, sizeof out, &n, err, sizeof err), DB_ERROR);
	assert_int_equal(
	    db_pg_rewrite("a ?99999999999999999999", out, sizeof out, &n, err, sizeof err),
	    DB_ERROR);
	assert_int_equal(db_pg_rewrite("'open", out, sizeof out, &n, err, sizeof err), DB_ERROR);
	assert_int_equal(db_pg_rewrite("/* /* */", out, sizeof out, &n, err, sizeof err), DB_ERROR);
	assert_int_equal(db_pg_rewrite("$x$ open", out, sizeof out, &n, err, sizeof err), DB_ERROR);
	assert_int_equal(db_pg_rewrite("a$1 $1 x$y", out, sizeof out, &n, err, sizeof err), DB_OK);
	assert_string_equal(out, "a$1 $1 x$y");
	assert_int_equal(n, 0);
	/* Output room: "?" -> "$1" needs 3 bytes with the NUL. */
	assert_int_equal(db_pg_rewrite("?", out, 3, &n, err, sizeof err), DB_OK);
	assert_int_equal(db_pg_rewrite("?", out, 2, &n, err, sizeof err), DB_ERROR);
	/* 64 bare parameters: the cap; the 65th is past it. */
	size_t blen = 0;
	for (int i = 0; i < DB_PG_PARAMS_MAX; i++)
		blen += (size_t)snprintf(big + blen, sizeof big - blen, "?,");
	assert_true(blen < sizeof big - 1);
	char *o = malloc(3 * sizeof big + 1);
	assert_non_null(o);
	assert_int_equal(db_pg_rewrite(big, o, 3 * sizeof big + 1, &n, err, sizeof err), DB_OK);
	assert_int_equal(n, DB_PG_PARAMS_MAX);
	snprintf(big + blen, sizeof big - blen, "?");
	assert_int_equal(db_pg_rewrite(big, o, 3 * sizeof big + 1, &n, err, sizeof err), DB_ERROR);
	free(o);
}

static void test_sql_cap(void **state)
{
	struct fixture *f = *state;
	struct db_stmt *st = NULL;
	char *sql = malloc(DB_PG_SQL_MAX + 2);

	assert_non_null(sql);
	memset(sql, ' ', DB_PG_SQL_MAX + 1);
	memcpy(sql, "SELECT 1", 8);
	sql[DB_PG_SQL_MAX] = '\0'; /* at the cap */
	st = prep(f->db, sql);
	assert_int_equal(db_step(st), DB_ROW);
	db_finalize(st);
	exec_ok(f->db, sql);
	sql[DB_PG_SQL_MAX] = ' ';
	sql[DB_PG_SQL_MAX + 1] = '\0'; /* one past */
	assert_int_equal(db_prepare(f->db, sql, &st), DB_ERROR);
	assert_null(st);
	assert_int_equal(db_exec(f->db, sql), DB_ERROR);
	free(sql);
}

static void test_returning_constraint_changes(void **state)
{
	struct fixture *f = *state;
	struct db_stmt *st;

	exec_ok(f->db, "CREATE TABLE r (id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
		       " name TEXT NOT NULL UNIQUE, v BIGINT)");
	st = prep(f->db, "INSERT INTO r (name, v) VALUES (?, ?) RETURNING id");
	for (int i = 1; i <= 3; i++) {
		char name[8];
		snprintf(name, sizeof name, "n%d", i);
		assert_int_equal(db_bind_text(st, 1, name, -1), DB_OK);
		assert_int_equal(db_bind_int(st, 2, i), DB_OK);
		assert_int_equal(db_step(st), DB_ROW);
		assert_int_equal(db_column_int64(st, 0), i);
		assert_int_equal(db_step(st), DB_DONE);
		assert_int_equal(db_changes(f->db), 1);
		db_reset(st);
	}
	/* Unique violation. */
	assert_int_equal(db_bind_text(st, 1, "n2", -1), DB_OK);
	assert_int_equal(db_step(st), DB_CONSTRAINT_UNIQUE);
	assert_non_null(strstr(db_errmsg(f->db), "23505"));
	db_reset(st);
	/* NOT NULL violation: class 23 as well. */
	assert_int_equal(db_step(st), DB_CONSTRAINT);
	db_finalize(st);

	exec_ok(f->db, "UPDATE r SET v = v + 1 WHERE v >= 2");
	assert_int_equal(db_changes(f->db), 2);
	st = prep(f->db, "DELETE FROM r WHERE v > ?");
	assert_int_equal(db_bind_int(st, 1, 0), DB_OK);
	assert_int_equal(db_step(st), DB_DONE);
	assert_int_equal(db_changes(f->db), 3);
	db_finalize(st);
	/* A SELECT leaves the count of the last change alone. */
	assert_int_equal(query_int(f->db, "SELECT count(*) FROM r"), 0);
	assert_int_equal(db_changes(f->db), 3);
	/* A syntax error is DB_ERROR, with the server's message. */
	assert_int_equal(db_exec(f->db, "SELEC 1"), DB_ERROR);
	assert_non_null(strstr(db_errmsg(f->db), "42601"));
}

static void test_transaction(void **state)
{
	struct fixture *f = *state;
	struct db_stmt *st;

	exec_ok(f->db, "CREATE TABLE x (v BIGINT)");
	assert_false(db_in_txn(f->db));
	exec_ok(f->db, "BEGIN");
	assert_true(db_in_txn(f->db));
	st = prep(f->db, "INSERT INTO x (v) VALUES (?)");
	assert_int_equal(db_bind_int(st, 1, 1), DB_OK);
	assert_int_equal(db_step(st), DB_DONE);
	db_finalize(st);
	assert_int_equal(query_int(f->db, "SELECT count(*) FROM x"), 1);
	exec_ok(f->db, "ROLLBACK");
	assert_false(db_in_txn(f->db));
	assert_int_equal(query_int(f->db, "SELECT count(*) FROM x"), 0);
	/* A statement that does not prepare, or whose NULL parameter needs a
	 * second PREPARE, leaves the transaction usable (as in SQLite). */
	exec_ok(f->db, "BEGIN");
	st = prep(f->db, "SELECT ? IS NULL");
	assert_int_equal(db_bind_null(st, 1), DB_OK);
	assert_int_equal(db_step(st), DB_ROW);
	assert_int_equal(db_column_int(st, 0), 1);
	db_finalize(st);
	st = prep(f->db, "SELEC ?");
	assert_int_equal(db_step(st), DB_ERROR);
	assert_non_null(strstr(db_errmsg(f->db), "42601"));
	db_finalize(st);
	st = prep(f->db, "INSERT INTO x (v) VALUES (?)");
	assert_int_equal(db_bind_int(st, 1, 5), DB_OK);
	assert_int_equal(db_step(st), DB_DONE);
	db_finalize(st);
	exec_ok(f->db, "COMMIT");
	assert_int_equal(query_int(f->db, "SELECT count(*) FROM x WHERE v = 5"), 1);
	/* A failed statement leaves the transaction open (and failed) until
	 * ROLLBACK, as the caller must know. */
	exec_ok(f->db, "BEGIN");
	assert_int_equal(db_exec(f->db, "SELECT 1/0"), DB_ERROR);
	assert_true(db_in_txn(f->db));
	exec_ok(f->db, "ROLLBACK");
	assert_false(db_in_txn(f->db));
}

static void test_null_after_int(void **state)
{
	struct fixture *f = *state;
	struct db_stmt *st;
	int64_t nprep;

	exec_ok(f->db, "CREATE TABLE y (v BIGINT, w TEXT)");
	st = prep(f->db, "INSERT INTO y (v, w) VALUES (?, ?)");
	assert_int_equal(db_bind_int(st, 1, 7), DB_OK);
	assert_int_equal(db_bind_text(st, 2, "a", -1), DB_OK);
	assert_int_equal(db_step(st), DB_DONE);
	db_reset(st);
	nprep = query_int(f->db, "SELECT count(*) FROM pg_prepared_statements");
	/* NULL where the int was: the same server-side statement. */
	assert_int_equal(db_bind_null(st, 1), DB_OK);
	assert_int_equal(db_bind_null(st, 2), DB_OK);
	assert_int_equal(db_step(st), DB_DONE);
	db_reset(st);
	assert_int_equal(query_int(f->db, "SELECT count(*) FROM pg_prepared_statements"), nprep);
	assert_int_equal(db_bind_int(st, 1, 8), DB_OK);
	assert_int_equal(db_step(st), DB_DONE);
	/* Auto-reset as SQLite: a step after DB_DONE runs again, bindings kept. */
	assert_int_equal(db_step(st), DB_DONE);
	db_finalize(st);
	assert_int_equal(query_int(f->db, "SELECT count(*) FROM y WHERE v IS NULL AND w IS NULL"),
			 1);
	assert_int_equal(query_int(f->db, "SELECT count(*) FROM y WHERE v = 8"), 2);

	/* NULL first, where the server cannot infer a type, then an int, a
	 * double and NULL again: each runs. */
	st = prep(f->db, "SELECT ? IS NULL");
	assert_int_equal(db_bind_null(st, 1), DB_OK);
	assert_int_equal(db_step(st), DB_ROW);
	assert_int_equal(db_column_int(st, 0), 1);
	db_reset(st);
	assert_int_equal(db_bind_int(st, 1, 1), DB_OK);
	assert_int_equal(db_step(st), DB_ROW);
	assert_int_equal(db_column_int(st, 0), 0);
	db_reset(st);
	assert_int_equal(db_bind_double(st, 1, 1.5), DB_OK);
	assert_int_equal(db_step(st), DB_ROW);
	assert_int_equal(db_column_int(st, 0), 0);
	db_reset(st);
	assert_int_equal(db_bind_null(st, 1), DB_OK);
	assert_int_equal(db_step(st), DB_ROW);
	assert_int_equal(db_column_int(st, 0), 1);
	db_finalize(st);
	/* Finalize deallocates its server-side statements: the one left
	 * is the count's own. */
	assert_int_equal(query_int(f->db, "SELECT count(*) FROM pg_prepared_statements"), 1);
}

/* One statement, parameter-type signatures past DB_PG_PREPARED_MAX (4):
 * at the cap each has its server-side statement; one past evicts (and
 * DEALLOCATEs) the oldest, which prepares again when needed. */
static void test_prepared_cap(void **state)
{
	struct fixture *f = *state;
	struct db_stmt *st = prep(f->db, "SELECT ?::text || '/' || ?::text");
	static const char *const want[] = {"1/2", "1/2.5", "1.5/2", "a/b", "\\x61/\\x62", "1/2"};
	struct db_stmt *count = prep(f->db, "SELECT count(*) FROM pg_prepared_statements");

	for (int k = 0; k < 6; k++) {
		switch (k) {
		case 0:
		case 5:
			db_bind_int(st, 1, 1), db_bind_int(st, 2, 2);
			break;
		case 1:
			db_bind_int(st, 1, 1), db_bind_double(st, 2, 2.5);
			break;
		case 2:
			db_bind_double(st, 1, 1.5), db_bind_int(st, 2, 2);
			break;
		case 3:
			db_bind_text(st, 1, "a", -1), db_bind_text(st, 2, "b", -1);
			break;
		case 4:
			db_bind_blob(st, 1, "a", 1), db_bind_blob(st, 2, "b", 1);
			break;
		}
		assert_int_equal(db_step(st), DB_ROW);
		assert_string_equal(db_column_text(st, 0), want[k]);
		db_reset(st);
		assert_int_equal(db_step(count), DB_ROW);
		/* st's statements and count's own. */
		assert_int_equal(db_column_int(count, 0), (k < 4 ? k + 1 : 4) + 1);
		db_reset(count);
	}
	db_finalize(st);
	db_finalize(count);
}

static void test_lost_and_reconnect(void **state)
{
	struct fixture *f = *state;
	struct db_stmt *st, *kill;
	int64_t pid;
	int i, rc;

	st = prep(f->db, "SELECT ? + 1");
	assert_int_equal(db_bind_int(st, 1, 1), DB_OK);
	assert_int_equal(db_step(st), DB_ROW);
	assert_int_equal(db_column_int(st, 0), 2);
	db_reset(st);
	exec_ok(f->db, "BEGIN");
	pid = query_int(f->db, "SELECT pg_backend_pid()");

	/* Integers go as int8: a function taking int4 needs a cast. */
	kill = prep(f->admin, "SELECT pg_terminate_backend(?)");
	assert_int_equal(db_bind_int64(kill, 1, pid), DB_OK);
	assert_int_equal(db_step(kill), DB_ERROR);
	assert_non_null(strstr(db_errmsg(f->admin), "42883")); /* undefined_function */
	db_finalize(kill);
	kill = prep(f->admin, "SELECT pg_terminate_backend(?::int)");
	assert_int_equal(db_bind_int64(kill, 1, pid), DB_OK);
	assert_int_equal(db_step(kill), DB_ROW);
	assert_int_equal(db_column_int(kill, 0), 1);
	db_finalize(kill);
	/* Until the backend is gone (bounded: 100 looks). */
	kill = prep(f->admin, "SELECT count(*) FROM pg_stat_activity WHERE pid = ?");
	for (i = 0; i < 100; i++) {
		assert_int_equal(db_bind_int64(kill, 1, pid), DB_OK);
		assert_int_equal(db_step(kill), DB_ROW);
		rc = db_column_int(kill, 0);
		db_reset(kill);
		if (rc == 0)
			break;
		usleep(20000);
	}
	db_finalize(kill);
	assert_true(i < 100);

	assert_int_equal(db_bind_int(st, 1, 2), DB_OK);
	assert_int_equal(db_step(st), DB_LOST);
	assert_non_null(strstr(db_errmsg(f->db), "connection lost"));
	db_reset(st);
	/* Every call answers DB_LOST until db_reconnect. */
	assert_int_equal(db_exec(f->db, "SELECT 1"), DB_LOST);
	assert_false(db_in_txn(f->db));
	assert_int_equal(db_reconnect(f->db), DB_OK);
	assert_false(db_in_txn(f->db));
	assert_int_equal(db_bind_int(st, 1, 41), DB_OK);
	assert_int_equal(db_step(st), DB_ROW);
	assert_int_equal(db_column_int(st, 0), 42);
	db_finalize(st);
	assert_true(query_int(f->db, "SELECT pg_backend_pid()") != pid);
}

static void test_open_errors(void **state)
{
	struct fixture *f = *state;
	char err[512], url[URL_MAX];
	struct db *db;

	/* A syntax error in a URL holding a password: libpq's message (which
	 * may quote it) withheld. */
	db = db_open_pg("postgresql://u:s3cr%zzet@127.0.0.1:1/x", NULL, err, sizeof err);
	assert_null(db);
	assert_null(strstr(err, "s3cr"));
	assert_non_null(strstr(err, "invalid"));
	/* No server on port 1: the message names the host, not the password. */
	db = db_open_pg("postgresql://u:Hunter2pw@127.0.0.1:1/x?connect_timeout=2", NULL, err,
			sizeof err);
	assert_null(db);
	assert_null(strstr(err, "Hunter2pw"));
	assert_non_null(strstr(err, "cannot connect"));
	/* A read-only session is refused. */
	assert_true(snprintf(url, sizeof url,
			     "%s&options=-c%%20default_transaction_read_only%%3Don",
			     f->url) < (int)sizeof url);
	db = db_open_pg(url, NULL, err, sizeof err);
	assert_null(db);
	assert_non_null(strstr(err, "read-only"));
	db = db_open_pg("", NULL, err, sizeof err);
	assert_null(db);
	/* The PostgreSQL connection has no SQLite handle. */
	assert_null(db_sqlite(f->db));
	assert_int_equal(db_kind(f->db), DB_KIND_POSTGRES);
}

/* schema_version's version, -1 on an error (no cmocka asserts: threads
 * call it). */
static int64_t schema_version(struct db *db)
{
	struct db_stmt *st = NULL;
	int64_t v = -1;

	if (db_prepare(db, "SELECT version FROM schema_version", &st) == DB_OK &&
	    db_step(st) == DB_ROW)
		v = db_column_int64(st, 0);
	db_finalize(st);
	return v;
}

/* Applies migration i (0-based) as store.c's runner does (store_sql_pg.c):
 * in a transaction holding the advisory lock, skipped (DB_DONE) when
 * schema_version says it is applied. */
static int apply_migration(struct db *db, int i)
{
	char sql[256];
	int64_t v;
	int rc;

	if ((rc = db_exec(db, "BEGIN")) != DB_OK)
		return rc;
	snprintf(sql, sizeof sql, "SELECT pg_advisory_xact_lock(%lld)",
		 (long long)STORE_PG_MIGRATION_LOCK);
	if ((rc = db_exec(db, sql)) != DB_OK)
		goto out;
	if ((v = schema_version(db)) < 0 || v > i) {
		rc = v < 0 ? DB_ERROR : DB_DONE;
		goto out;
	}
	if ((rc = db_exec(db, store_migrations_pg[i])) != DB_OK)
		goto out;
	snprintf(sql, sizeof sql, "UPDATE schema_version SET version = %d", i + 1);
	if ((rc = db_exec(db, sql)) != DB_OK)
		goto out;
	return db_exec(db, "COMMIT");
out:
	db_exec(db, "ROLLBACK");
	return rc;
}

struct migrator {
	const char *url;
	int applied, skipped, failed;
	char err[256];
};

/* Connects and applies every migration, counting what happened. */
static void *migrate_all(void *arg)
{
	struct migrator *m = arg;
	struct db *db = db_open_pg(m->url, NULL, m->err, sizeof m->err);

	if (!db) {
		m->failed++;
		return NULL;
	}
	for (int i = 0; i < store_nmigrations_pg; i++) {
		int rc = apply_migration(db, i);
		if (rc == DB_OK)
			m->applied++;
		else if (rc == DB_DONE)
			m->skipped++;
		else if (m->failed++ == 0)
			snprintf(m->err, sizeof m->err, "migration %d: %d %s", i + 1, rc,
				 db_errmsg(db));
	}
	db_close(db);
	return NULL;
}

/* Two instances starting together: each migration runs once, on one of
 * them, and both end with the whole schema. */
static void test_migrations_concurrent(void **state)
{
	struct fixture *f = *state;
	struct migrator a = {.url = f->url}, b = {.url = f->url};
	pthread_t ta, tb;

	exec_ok(f->db, store_pg_schema_version_sql);
	assert_int_equal(pthread_create(&ta, NULL, migrate_all, &a), 0);
	assert_int_equal(pthread_create(&tb, NULL, migrate_all, &b), 0);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	if (a.failed || b.failed)
		fail_msg("%s / %s", a.err, b.err);
	assert_int_equal(a.applied + b.applied, store_nmigrations_pg);
	assert_int_equal(a.skipped + b.skipped, store_nmigrations_pg);
	assert_int_equal(schema_version(f->db), store_nmigrations_pg);
}

static int names_cb(void *arg, int n, char **v, char **cols)
{
	char *out = arg;
	size_t len = strlen(out);
	snprintf(out + len, 65536 - len, "%s.%s\n", v[0], v[1]);
	return 0;
}

static void test_migrations(void **state)
{
	struct fixture *f = *state;
	char *lite = calloc(1, 65536), *pg = calloc(1, 65536);
	sqlite3 *s = NULL;
	struct db_stmt *st;
	int rc;

	assert_non_null(lite);
	assert_non_null(pg);
	assert_int_equal(store_nmigrations_pg, store_nmigrations);
	exec_ok(f->db, store_pg_schema_version_sql);
	exec_ok(f->db, store_pg_schema_version_sql); /* idempotent */
	for (int i = 0; i < store_nmigrations_pg; i++) {
		int mrc = apply_migration(f->db, i);
		if (mrc != DB_OK)
			fail_msg("migration %d: %d %s", i + 1, mrc, db_errmsg(f->db));
	}
	assert_int_equal(schema_version(f->db), store_nmigrations_pg);
	/* Run again: every one skipped. */
	for (int i = 0; i < store_nmigrations_pg; i++)
		assert_int_equal(apply_migration(f->db, i), DB_DONE);

	/* The same tables, columns and named indexes as SQLite's schema. */
	assert_int_equal(sqlite3_open(":memory:", &s), SQLITE_OK);
	for (int i = 0; i < store_nmigrations; i++)
		assert_int_equal(sqlite3_exec(s, store_migrations[i], NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(s,
				      "SELECT m.name, c.name FROM sqlite_master m,"
				      " pragma_table_info(m.name) c WHERE m.type = 'table'"
				      " UNION ALL SELECT tbl_name, name FROM sqlite_master"
				      " WHERE type = 'index' AND name NOT LIKE 'sqlite_autoindex%'"
				      " ORDER BY 1, 2",
				      names_cb, lite, NULL),
			 SQLITE_OK);
	sqlite3_close(s);
	st = prep(f->db, "SELECT t, c FROM (SELECT table_name::text AS t, column_name::text AS c"
			 " FROM information_schema.columns"
			 " WHERE table_schema = 'public' AND table_name <> 'schema_version'"
			 " UNION ALL SELECT tablename::text, indexname::text FROM pg_indexes"
			 " WHERE schemaname = 'public' AND indexname NOT LIKE '%\\_pkey'"
			 " AND indexname NOT LIKE '%\\_key') AS u"
			 " ORDER BY t COLLATE \"C\", c COLLATE \"C\"");
	while ((rc = db_step(st)) == DB_ROW) {
		size_t len = strlen(pg);
		snprintf(pg + len, 65536 - len, "%s.%s\n", db_column_text(st, 0),
			 db_column_text(st, 1));
	}
	if (rc != DB_DONE)
		fail_msg("schema query: %d %s", rc, db_errmsg(f->db));
	db_finalize(st);
	assert_string_equal(pg, lite);

	/* The translated constraints and triggers work. */
	exec_ok(f->db, "INSERT INTO audit (seq, at_ms, action, detail, prev_hash, hash)"
		       " VALUES (1, 1, 'a', '{\"k\": [1]}', '0', 'h')");
	assert_int_equal(db_exec(f->db, "INSERT INTO audit (seq, at_ms, action, detail,"
					" prev_hash, hash) VALUES (2, 1, 'a', '{bad', '0', 'h')"),
			 DB_CONSTRAINT_CHECK);
	assert_int_equal(db_exec(f->db, "UPDATE audit SET action = 'b'"), DB_CONSTRAINT);
	assert_int_equal(db_exec(f->db, "DELETE FROM audit"), DB_CONSTRAINT);
	exec_ok(f->db, "INSERT INTO deliveries (alert_id, version, msg_type, channel, state,"
		       " next_attempt_ms, deadline_ms, idem_key, created_ms) VALUES"
		       " ('a', 1, 'alert', 'sms', 'pending', 0, 0, 'a:1', 0),"
		       " ('a', 1, 'alert', 'web', 'pending', 0, 0, 'a:1', 0)");
	exec_ok(f->db, "UPDATE deliveries SET state = 'delivered' WHERE channel = 'sms'");
	exec_ok(f->db, "UPDATE deliveries SET attempts = 1"); /* no state change: no count */
	assert_int_equal(query_int(f->db, "SELECT n FROM delivery_counts"
					  " WHERE channel = 'sms' AND state = 'pending'"),
			 0);
	assert_int_equal(query_int(f->db, "SELECT n FROM delivery_counts"
					  " WHERE channel = 'sms' AND state = 'delivered'"),
			 1);
	exec_ok(f->db, "DELETE FROM deliveries WHERE channel = 'web'");
	assert_int_equal(query_int(f->db, "SELECT n FROM delivery_counts WHERE channel = 'web'"),
			 0);
	/* Explicit ids go in (store copy), identities stay BY DEFAULT. */
	exec_ok(f->db,
		"INSERT INTO outbox (id, topic, payload, created_ms) VALUES (99, 't', 'p', 0)");
	assert_int_equal(query_int(f->db, "INSERT INTO outbox (topic, payload, created_ms)"
					  " VALUES ('t', 'p', 0) RETURNING id"),
			 1);
	free(lite);
	free(pg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rewrite_caps),
	    cmocka_unit_test_setup_teardown(test_types, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_params, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sql_cap, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_returning_constraint_changes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_transaction, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_null_after_int, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_prepared_cap, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_lost_and_reconnect, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_open_errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_migrations, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_migrations_concurrent, setup, teardown),
	};

	return dbpgtest_run("test_db_pg", tests);
}
