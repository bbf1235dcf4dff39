/* test_db_pg_batch.c - the PostgreSQL backend's batched writes
 * (db_stmt_batch, db_pg_batch.c), against the throw-away cluster of
 * tests/pg.sh (GA_TEST_PG_URL; db_pg_testutil.h). Without GA_TEST_PG_URL
 * the test FAILS: run it as
 * `tests/pg.sh ctest --test-dir build/asan -R test_db_pg_batch`. */
#include "db_pg_testutil.h"

/* Batched writes (db_stmt_batch, db_pg_batch.c). */
#define BATCH_SQL "INSERT INTO bt (k, n, d, b) VALUES $ROWS ON CONFLICT (k) DO NOTHING"

static struct db_stmt *batch_stmt(struct db *db)
{
	struct db_stmt *st;

	exec_ok(db, "CREATE TABLE bt (k TEXT PRIMARY KEY, n BIGINT, d DOUBLE PRECISION,"
		    " b BYTEA)");
	st = prep(db, "INSERT INTO bt (k, n, d, b) VALUES (?1, ?2, ?3, ?4)"
		      " ON CONFLICT (k) DO NOTHING");
	db_stmt_may_defer(st, DB_DEFER | DB_DEFER_CHANGES);
	assert_int_equal(db_stmt_batch(st, BATCH_SQL, 0), DB_OK);
	return st;
}

/* Row i: key k<i>; n NULL when i % 3 == 0; d NULL when i % 5 == 0; b
 * four bytes with a NUL and a high byte. The bindings are freed before
 * the next: the batch must have copied them. */
static int batch_put(struct db_stmt *st, int i)
{
	char *k = malloc(16);
	unsigned char *b = malloc(4);
	int rc;

	snprintf(k, 16, "k%d", i);
	memcpy(b, (unsigned char[]){(unsigned char)i, 0, 0xff, 'x'}, 4);
	db_bind_text(st, 1, k, -1);
	if (i % 3)
		db_bind_int64(st, 2, (int64_t)i * 1000000007LL);
	if (i % 5)
		db_bind_double(st, 3, i / 3.0);
	db_bind_blob(st, 4, b, 4);
	rc = db_step(st);
	db_reset(st);
	memset(k, 'z', 16);
	free(k);
	free(b);
	return rc;
}

/* 300 rows (128 + 128 + 32 + 8 + 4: chunks of every size used), a read
 * between: answered as deferred, the read sees what came before it, the
 * commit stores all, every value as bound (NULLs, a double to the bit,
 * bytes with a NUL). */
static void test_batch_rows(void **state)
{
	struct fixture *f = *state;
	struct db_stmt *st = batch_stmt(f->db), *q;

	exec_ok(f->db, "BEGIN");
	for (int i = 0; i < 300; i++) {
		assert_int_equal(batch_put(st, i), DB_DONE);
		assert_int_equal(db_changes(f->db), 1);
		if (i == 199)
			assert_int_equal(query_int(f->db, "SELECT count(*) FROM bt"), 200);
	}
	exec_ok(f->db, "COMMIT");
	assert_int_equal(query_int(f->db, "SELECT count(*) FROM bt"), 300);
	assert_int_equal(query_int(f->db, "SELECT count(*) FROM bt WHERE n IS NULL"), 100);
	assert_int_equal(query_int(f->db, "SELECT count(*) FROM bt WHERE d IS NULL"), 60);
	q = prep(f->db, "SELECT n, d, b FROM bt WHERE k = 'k298'");
	assert_int_equal(db_step(q), DB_ROW);
	assert_int_equal(db_column_int64(q, 0), 298 * 1000000007LL);
	assert_true(db_column_double(q, 1) == 298 / 3.0);
	assert_int_equal(db_column_bytes(q, 2), 4);
	assert_memory_equal(db_column_blob(q, 2), ((unsigned char[]){298 & 0xff, 0, 0xff, 'x'}), 4);
	db_finalize(q);
	db_finalize(st);
}

/* A row that changes nothing (a duplicate, within the batch or of a
 * stored row) fails the transaction as a deferred one does: the next
 * read and the commit answer it, nothing is stored, the next transaction
 * works. A ROLLBACK drops rows unsent. */
static void test_batch_failures(void **state)
{
	struct fixture *f = *state;
	struct db_stmt *st = batch_stmt(f->db), *q;

	exec_ok(f->db, "BEGIN");
	assert_int_equal(batch_put(st, 1), DB_DONE);
	exec_ok(f->db, "COMMIT");

	exec_ok(f->db, "BEGIN");
	assert_int_equal(batch_put(st, 2), DB_DONE);
	assert_int_equal(batch_put(st, 2), DB_DONE); /* within the batch */
	q = prep(f->db, "SELECT count(*) FROM bt");
	assert_int_equal(db_step(q), DB_ERROR);
	assert_int_equal(db_exec(f->db, "COMMIT"), DB_ERROR);
	exec_ok(f->db, "ROLLBACK");

	exec_ok(f->db, "BEGIN");
	assert_int_equal(batch_put(st, 3), DB_DONE);
	assert_int_equal(batch_put(st, 1), DB_DONE); /* stored before */
	assert_int_not_equal(db_exec(f->db, "COMMIT"), DB_OK);
	exec_ok(f->db, "ROLLBACK");

	exec_ok(f->db, "BEGIN");
	assert_int_equal(batch_put(st, 4), DB_DONE);
	exec_ok(f->db, "ROLLBACK"); /* dropped unsent */
	assert_int_equal(query_int(f->db, "SELECT count(*) FROM bt"), 1);

	exec_ok(f->db, "BEGIN");
	assert_int_equal(batch_put(st, 5), DB_DONE);
	assert_int_equal(db_collect(f->db), DB_OK); /* sends and reads */
	exec_ok(f->db, "COMMIT");
	assert_int_equal(query_int(f->db, "SELECT count(*) FROM bt"), 2);

	/* Outside a transaction: at once, a duplicate answered. */
	assert_int_equal(batch_put(st, 5), DB_DONE);
	assert_int_equal(db_changes(f->db), 0);

	/* Finalized with rows gathered: the transaction cannot commit. */
	exec_ok(f->db, "BEGIN");
	assert_int_equal(batch_put(st, 6), DB_DONE);
	db_finalize(st);
	assert_int_not_equal(db_exec(f->db, "COMMIT"), DB_OK);
	exec_ok(f->db, "ROLLBACK");
	assert_int_equal(query_int(f->db, "SELECT count(*) FROM bt"), 2);
	db_finalize(q);
}

/* $ORDROWS: each row's list led by its ordinal in its statement; a
 * batch SQL without a marker is refused. */
static void test_batch_ordinal(void **state)
{
	struct fixture *f = *state;
	struct db_stmt *st, *q;

	exec_ok(f->db, "CREATE TABLE bo (o BIGINT, v TEXT)");
	st = prep(f->db, "INSERT INTO bo (o, v) VALUES (0, ?1)");
	assert_int_equal(db_stmt_batch(st, "INSERT INTO bo (o, v) VALUES (1, $1)", 0), DB_ERROR);
	db_stmt_may_defer(st, DB_DEFER);
	assert_int_equal(db_stmt_batch(st,
				       "INSERT INTO bo (o, v) SELECT o, v FROM (VALUES"
				       " $ORDROWS) AS x(o, v)",
				       0),
			 DB_OK);
	exec_ok(f->db, "BEGIN");
	for (int i = 0; i < 7; i++) {
		char v[8];
		snprintf(v, sizeof v, "v%d", i + 1);
		db_bind_text(st, 1, v, -1);
		assert_int_equal(db_step(st), DB_DONE);
		db_reset(st);
	}
	exec_ok(f->db, "COMMIT");
	/* Chunks of 4, 2 and 1 rows, in order: the ordinals count each
	 * statement's rows. */
	q = prep(f->db, "SELECT string_agg(CAST(o AS TEXT), ',' ORDER BY v) FROM bo");
	assert_int_equal(db_step(q), DB_ROW);
	assert_string_equal(db_column_text(q, 0), "1,2,3,4,1,2,1");
	db_finalize(q);
	db_finalize(st);
}

/* A key (db_stmt_batch's third argument): an UPDATE .. FROM (VALUES ..)
 * batch with two rows of one id sends them in two statements, in order,
 * so the later one is what stays and every statement changes as many
 * rows as it carries; an unknown id still fails the commit. */
#define KEY_BATCH_SQL                                                                              \
	"UPDATE bk SET n = CAST(v.n AS BIGINT) FROM (VALUES $ROWS) AS v(id, n) WHERE bk.id = v.id"

static void test_batch_key(void **state)
{
	struct fixture *f = *state;
	static const char *const ids[] = {"a", "b", "a", "c", "a"};
	struct db_stmt *st, *q;

	exec_ok(f->db, "CREATE TABLE bk (id TEXT PRIMARY KEY, n BIGINT);"
		       "INSERT INTO bk VALUES ('a', 0), ('b', 0), ('c', 0)");
	st = prep(f->db, "UPDATE bk SET n = ?2 WHERE id = ?1");
	db_stmt_may_defer(st, DB_DEFER | DB_DEFER_CHANGES);
	assert_int_equal(db_stmt_batch(st, KEY_BATCH_SQL, 3), DB_ERROR); /* no parameter 3 */
	assert_int_equal(db_stmt_batch(st, KEY_BATCH_SQL, 1), DB_OK);
	exec_ok(f->db, "BEGIN");
	for (int i = 0; i < 5; i++) {
		db_bind_text(st, 1, ids[i], -1);
		db_bind_int64(st, 2, i + 1);
		assert_int_equal(db_step(st), DB_DONE);
		db_reset(st);
	}
	exec_ok(f->db, "COMMIT");
	q = prep(f->db, "SELECT string_agg(id || '=' || n, ',' ORDER BY id) FROM bk");
	assert_int_equal(db_step(q), DB_ROW);
	assert_string_equal(db_column_text(q, 0), "a=5,b=2,c=4");
	db_reset(q);

	exec_ok(f->db, "BEGIN");
	db_bind_text(st, 1, "b", -1);
	db_bind_int64(st, 2, 9);
	assert_int_equal(db_step(st), DB_DONE);
	db_reset(st);
	db_bind_text(st, 1, "nope", -1);
	db_bind_int64(st, 2, 9);
	assert_int_equal(db_step(st), DB_DONE);
	db_reset(st);
	assert_int_not_equal(db_exec(f->db, "COMMIT"), DB_OK);
	exec_ok(f->db, "ROLLBACK");
	assert_int_equal(db_step(q), DB_ROW);
	assert_string_equal(db_column_text(q, 0), "a=5,b=2,c=4");
	db_finalize(q);
	db_finalize(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_batch_rows, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_batch_failures, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_batch_ordinal, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_batch_key, setup, teardown),
	};

	return dbpgtest_run("test_db_pg_batch", tests);
}
