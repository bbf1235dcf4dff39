/* test_db_sqlite.c - the SQLite backend of db.h (db_sqlite.c): statements
 * prepared lazily (db_prepare_lazy) are checked at once and compiled only
 * at their first use, and the store's table of statements is prepared so
 * (issue 11: the service's peak RSS). */
/* store: SQLite only */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db.h"
#include "store.h"
#include "store_internal.h"

/* Statements compiled on the connection (sqlite3_next_stmt). */
static int compiled(sqlite3 *conn)
{
	int n = 0;

	for (sqlite3_stmt *st = sqlite3_next_stmt(conn, NULL); st != NULL;
	     st = sqlite3_next_stmt(conn, st))
		n++;
	return n;
}

static struct db *open_memory(void)
{
	sqlite3 *conn = NULL;

	assert_int_equal(sqlite3_open(":memory:", &conn), SQLITE_OK);
	struct db *db = db_wrap_sqlite(conn);
	assert_non_null(db);
	assert_int_equal(db_exec(db, "CREATE TABLE t (a INTEGER, b TEXT)"), DB_OK);
	return db;
}

static void test_lazy_checked_at_once(void **state)
{
	(void)state;
	struct db *db = open_memory();
	struct db_stmt *st = (struct db_stmt *)1;

	/* A fault in the SQL is the prepare's, not the first use's. */
	assert_int_equal(db_prepare_lazy(db, "SELECT nope FROM t", &st), DB_ERROR);
	assert_null(st);
	assert_int_equal(db_prepare_lazy(db, "INSERT INTO nowhere VALUES (1)", &st), DB_ERROR);
	assert_null(st);
	assert_int_equal(db_prepare_lazy(db, "   ", &st), DB_MISUSE);
	assert_null(st);
	assert_int_equal(compiled(db_sqlite(db)), 0);
	db_close(db);
}

static void test_lazy_compiled_at_first_use(void **state)
{
	(void)state;
	struct db *db = open_memory();
	struct db_stmt *ins = NULL, *sel = NULL, *unused = NULL;

	assert_int_equal(db_prepare_lazy(db, "INSERT INTO t (a, b) VALUES (?, ?)", &ins), DB_OK);
	assert_int_equal(db_prepare_lazy(db, "SELECT a, b FROM t ORDER BY a", &sel), DB_OK);
	assert_int_equal(db_prepare_lazy(db, "DELETE FROM t", &unused), DB_OK);
	assert_int_equal(compiled(db_sqlite(db)), 0);

	/* A reset of a statement never used is harmless. */
	db_reset(unused);
	assert_int_equal(compiled(db_sqlite(db)), 0);

	/* The first bind compiles it. */
	assert_int_equal(db_bind_int64(ins, 1, 7), DB_OK);
	assert_int_equal(compiled(db_sqlite(db)), 1);
	assert_int_equal(db_bind_text(ins, 2, "seven", -1), DB_OK);
	assert_int_equal(db_step(ins), DB_DONE);
	db_reset(ins);
	assert_int_equal(db_bind_int64(ins, 1, 8), DB_OK);
	assert_int_equal(db_bind_null(ins, 2), DB_OK);
	assert_int_equal(db_step(ins), DB_DONE);
	db_reset(ins);

	/* The first step compiles one without parameters. */
	assert_int_equal(db_step(sel), DB_ROW);
	assert_int_equal(compiled(db_sqlite(db)), 2);
	assert_int_equal(db_column_int64(sel, 0), 7);
	assert_string_equal(db_column_text(sel, 1), "seven");
	assert_int_equal(db_step(sel), DB_ROW);
	assert_int_equal(db_column_type(sel, 1), DB_NULL);
	assert_int_equal(db_step(sel), DB_DONE);
	db_reset(sel);
	assert_int_equal(db_step(sel), DB_ROW); /* runs again after a reset */
	db_reset(sel);
	assert_non_null(db_sqlite_stmt(sel));

	db_finalize(ins);
	db_finalize(sel);
	db_finalize(unused); /* never compiled */
	assert_int_equal(compiled(db_sqlite(db)), 0);
	db_close(db);
}

/* A statement whose table went away after the check fails at its first
 * use, with SQLite's code, and keeps failing without crashing. */
static void test_lazy_fails_at_use(void **state)
{
	(void)state;
	struct db *db = open_memory();
	struct db_stmt *sel = NULL;

	assert_int_equal(db_prepare_lazy(db, "SELECT a FROM t WHERE a = ?", &sel), DB_OK);
	assert_int_equal(db_exec(db, "DROP TABLE t"), DB_OK);
	assert_int_equal(db_bind_int64(sel, 1, 1), DB_ERROR);
	assert_int_equal(db_step(sel), DB_ERROR);
	assert_null(db_sqlite_stmt(sel));
	db_reset(sel);
	db_finalize(sel);
	db_close(db);
}

/* The store prepares its whole table of statements at opening, and the
 * connection holds compiled only those it used. */
static void test_store_compiles_what_it_uses(void **state)
{
	(void)state;
	char dir[] = "/tmp/ga-test-db-sqlite-XXXXXX", path[128], err[256];
	struct store *s = NULL;
	int64_t accepted = -1, rejected = -1, incidents = -1;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/t.db", dir);
	struct store_options opt = {.path = path};
	assert_int_equal(store_open(&opt, &s, err, sizeof err), GA_OK);
	int after_open = compiled(db_sqlite(s->db));
	assert_true(after_open < STMT_ID_COUNT / 4);
	assert_int_equal(store_count(s, &accepted, &rejected, &incidents), GA_OK);
	assert_int_equal(accepted, 0);
	assert_int_equal(rejected, 0);
	assert_int_equal(incidents, 0);
	assert_true(compiled(db_sqlite(s->db)) > after_open);
	store_close(s);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_lazy_checked_at_once),
	    cmocka_unit_test(test_lazy_compiled_at_first_use),
	    cmocka_unit_test(test_lazy_fails_at_use),
	    cmocka_unit_test(test_store_compiles_what_it_uses),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
