/* test_db_sqlite_vfs.c - the VFS that gathers a commit's WAL writes into
 * one (db_sqlite_vfs.c). It is stacked on a counting VFS of this test
 * ("below": the writes that reach the base VFS) and compared with a
 * connection on the counting VFS alone. What must hold: a second
 * connection sees each committed transaction and nothing uncommitted; a
 * transaction larger than the buffer (and spilling from a small page
 * cache) commits whole; checkpoints and WAL restarts between
 * transactions lose nothing; a rollback leaves nothing; a process that
 * dies right after its commits (no close) left every committed row; a
 * failed write of the flush (a full disk) fails the commit and the next
 * one works; one write per commit reaches the file with synchronous =
 * FULL, and every write passes straight through with NORMAL. */
/* store: SQLite only */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "db_sqlite_vfs.h"

#define BELOW "t-count"
#define WALBUF "t-walbuf"

/* ---- the counting VFS (over the default one) ---- */

static struct {
	sqlite3_vfs vfs;
	sqlite3_vfs *base;
	long wal_writes; /* xWrite calls on WAL files */
	long wal_bytes;
	int wal_max;	     /* the longest WAL write */
	int fail_wal_writes; /* > 0: that many WAL writes fail with SQLITE_FULL */
} below;

struct cfile {
	sqlite3_file file;
	bool wal;
	sqlite3_file *real;
};

#define CREAL(f) (((struct cfile *)(f))->real)

static int c_close(sqlite3_file *f)
{
	return CREAL(f)->pMethods->xClose(CREAL(f));
}
static int c_read(sqlite3_file *f, void *p, int n, sqlite3_int64 o)
{
	return CREAL(f)->pMethods->xRead(CREAL(f), p, n, o);
}
static int c_write(sqlite3_file *f, const void *p, int n, sqlite3_int64 o)
{
	if (((struct cfile *)f)->wal) {
		if (below.fail_wal_writes > 0) {
			below.fail_wal_writes--;
			return SQLITE_FULL;
		}
		below.wal_writes++;
		below.wal_bytes += n;
		if (n > below.wal_max)
			below.wal_max = n;
	}
	return CREAL(f)->pMethods->xWrite(CREAL(f), p, n, o);
}
static int c_truncate(sqlite3_file *f, sqlite3_int64 n)
{
	return CREAL(f)->pMethods->xTruncate(CREAL(f), n);
}
static int c_sync(sqlite3_file *f, int fl)
{
	return CREAL(f)->pMethods->xSync(CREAL(f), fl);
}
static int c_size(sqlite3_file *f, sqlite3_int64 *n)
{
	return CREAL(f)->pMethods->xFileSize(CREAL(f), n);
}
static int c_lock(sqlite3_file *f, int l)
{
	return CREAL(f)->pMethods->xLock(CREAL(f), l);
}
static int c_unlock(sqlite3_file *f, int l)
{
	return CREAL(f)->pMethods->xUnlock(CREAL(f), l);
}
static int c_reserved(sqlite3_file *f, int *o)
{
	return CREAL(f)->pMethods->xCheckReservedLock(CREAL(f), o);
}
static int c_fcntl(sqlite3_file *f, int op, void *a)
{
	return CREAL(f)->pMethods->xFileControl(CREAL(f), op, a);
}
static int c_sector(sqlite3_file *f)
{
	return CREAL(f)->pMethods->xSectorSize(CREAL(f));
}
static int c_device(sqlite3_file *f)
{
	return CREAL(f)->pMethods->xDeviceCharacteristics(CREAL(f));
}
static int c_shm_map(sqlite3_file *f, int pg, int sz, int ext, void volatile **pp)
{
	return CREAL(f)->pMethods->xShmMap(CREAL(f), pg, sz, ext, pp);
}
static int c_shm_lock(sqlite3_file *f, int o, int n, int fl)
{
	return CREAL(f)->pMethods->xShmLock(CREAL(f), o, n, fl);
}
static void c_shm_barrier(sqlite3_file *f)
{
	CREAL(f)->pMethods->xShmBarrier(CREAL(f));
}
static int c_shm_unmap(sqlite3_file *f, int del)
{
	return CREAL(f)->pMethods->xShmUnmap(CREAL(f), del);
}
static int c_fetch(sqlite3_file *f, sqlite3_int64 o, int n, void **pp)
{
	return CREAL(f)->pMethods->xFetch(CREAL(f), o, n, pp);
}
static int c_unfetch(sqlite3_file *f, sqlite3_int64 o, void *p)
{
	return CREAL(f)->pMethods->xUnfetch(CREAL(f), o, p);
}

static const sqlite3_io_methods c_methods = {
    3,		c_close,       c_read,	    c_write, c_truncate, c_sync,   c_size,
    c_lock,	c_unlock,      c_reserved,  c_fcntl, c_sector,	 c_device, c_shm_map,
    c_shm_lock, c_shm_barrier, c_shm_unmap, c_fetch, c_unfetch,
};

static int c_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags, int *oflags)
{
	struct cfile *c = (struct cfile *)f;
	int rc;

	(void)vfs;
	memset(c, 0, sizeof(*c));
	c->real = (sqlite3_file *)(c + 1);
	c->wal = (flags & SQLITE_OPEN_WAL) != 0;
	rc = below.base->xOpen(below.base, name, c->real, flags, oflags);
	if (rc == SQLITE_OK && c->real->pMethods != NULL)
		c->file.pMethods = &c_methods;
	return rc;
}

static int c_delete(sqlite3_vfs *v, const char *n, int s)
{
	(void)v;
	return below.base->xDelete(below.base, n, s);
}
static int c_access(sqlite3_vfs *v, const char *n, int fl, int *o)
{
	(void)v;
	return below.base->xAccess(below.base, n, fl, o);
}
static int c_fullpath(sqlite3_vfs *v, const char *n, int sz, char *o)
{
	(void)v;
	return below.base->xFullPathname(below.base, n, sz, o);
}
static int c_random(sqlite3_vfs *v, int n, char *o)
{
	(void)v;
	return below.base->xRandomness(below.base, n, o);
}
static int c_sleep(sqlite3_vfs *v, int us)
{
	(void)v;
	return below.base->xSleep(below.base, us);
}
static int c_time(sqlite3_vfs *v, double *o)
{
	(void)v;
	return below.base->xCurrentTime(below.base, o);
}
static int c_time64(sqlite3_vfs *v, sqlite3_int64 *o)
{
	(void)v;
	return below.base->xCurrentTimeInt64(below.base, o);
}

static int setup_vfs(void **state)
{
	(void)state;
	below.base = sqlite3_vfs_find(NULL);
	below.vfs = (sqlite3_vfs){
	    .iVersion = 2,
	    .szOsFile = (int)sizeof(struct cfile) + below.base->szOsFile,
	    .mxPathname = below.base->mxPathname,
	    .zName = BELOW,
	    .xOpen = c_open,
	    .xDelete = c_delete,
	    .xAccess = c_access,
	    .xFullPathname = c_fullpath,
	    .xRandomness = c_random,
	    .xSleep = c_sleep,
	    .xCurrentTime = c_time,
	    .xCurrentTimeInt64 = c_time64,
	};
	if (sqlite3_vfs_register(&below.vfs, 0) != SQLITE_OK)
		return -1;
	return db_sqlite_vfs_register(WALBUF, BELOW) == SQLITE_OK ? 0 : -1;
}

static int teardown_vfs(void **state)
{
	(void)state;
	db_sqlite_vfs_unregister(WALBUF);
	sqlite3_vfs_unregister(&below.vfs);
	return 0;
}

/* ---- helpers ---- */

static char dir[64];
static char path[128];

static int setup_dir(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/ga-walbuf-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/t.db", dir);
	below.fail_wal_writes = 0;
	below.wal_max = 0;
	return 0;
}

static int teardown_dir(void **state)
{
	static const char *const suffix[] = {"", "-wal", "-shm", "-journal"};
	char p[160];

	(void)state;
	for (size_t i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
		snprintf(p, sizeof(p), "%s%s", path, suffix[i]);
		unlink(p);
	}
	rmdir(dir);
	return 0;
}

static void exec(sqlite3 *db, const char *sql)
{
	char *msg = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);

	if (rc != SQLITE_OK)
		fail_msg("%s: %s", sql, msg != NULL ? msg : sqlite3_errstr(rc));
}

static long long one(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	long long v;

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static void integrity_ok(sqlite3 *db)
{
	sqlite3_stmt *st = NULL;

	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "ok");
	sqlite3_finalize(st);
}

static long long rows(sqlite3 *db)
{
	return one(db, "SELECT count(*) FROM t");
}

/* A connection on vfs, set up as the store sets its own (WAL, the given
 * synchronous, journal_size_limit), with table t. */
static sqlite3 *open_as(const char *vfs, const char *sync)
{
	sqlite3 *db = NULL;
	char sql[128];

	assert_int_equal(
	    sqlite3_open_v2(path, &db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, vfs),
	    SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	exec(db, "PRAGMA journal_mode = WAL");
	snprintf(sql, sizeof(sql), "PRAGMA synchronous = %s", sync);
	exec(db, sql);
	exec(db, "PRAGMA journal_size_limit = 1048576");
	exec(db, "CREATE TABLE IF NOT EXISTS t(id INTEGER PRIMARY KEY, k TEXT UNIQUE, b BLOB)");
	return db;
}

static void insert(sqlite3 *db, int n, int blob)
{
	char sql[160];

	for (int i = 0; i < n; i++) {
		snprintf(sql, sizeof(sql),
			 "INSERT INTO t(k, b) VALUES (hex(randomblob(8)), zeroblob(%d))", blob);
		exec(db, sql);
	}
}

/* ---- tests ---- */

/* The reader sees each commit, and nothing of an open transaction. */
static void test_reader_sees_each_commit(void **state)
{
	(void)state;
	sqlite3 *w = open_as(WALBUF, "FULL");
	sqlite3 *r = open_as(WALBUF, "FULL");

	for (int i = 1; i <= 40; i++) {
		exec(w, "BEGIN");
		insert(w, 3, 100);
		assert_int_equal(rows(r), 3 * (i - 1));
		exec(w, "COMMIT");
		assert_int_equal(rows(r), 3 * i);
	}
	sqlite3_close(r);
	sqlite3_close(w);
}

/* One write per commit reaches the file (the WAL header of a new WAL
 * is one more, synced apart); without the VFS, two per page. */
static void test_one_write_per_commit(void **state)
{
	(void)state;
	sqlite3 *w = open_as(WALBUF, "FULL");

	insert(w, 1, 10); /* the WAL's first frames */
	long before = below.wal_writes;
	for (int i = 0; i < 20; i++)
		insert(w, 1, 10);
	assert_int_equal(below.wal_writes - before, 20);
	sqlite3_close(w);

	assert_int_equal(unlink(path), 0);
	sqlite3 *p = open_as(BELOW, "FULL");
	insert(p, 1, 10);
	before = below.wal_writes;
	for (int i = 0; i < 20; i++)
		insert(p, 1, 10);
	/* each commit: the table's and the index's page at least */
	assert_true(below.wal_writes - before >= 20 * 4);
	sqlite3_close(p);
}

/* With synchronous = NORMAL nothing is held back: as many writes as on
 * the counting VFS alone. */
static void test_normal_passes_through(void **state)
{
	(void)state;
	sqlite3 *w = open_as(WALBUF, "NORMAL");
	sqlite3 *r = open_as(WALBUF, "NORMAL");

	insert(w, 1, 10);
	long before = below.wal_writes;
	for (int i = 0; i < 10; i++) {
		insert(w, 1, 10);
		assert_int_equal(rows(r), i + 2);
	}
	long buffered = below.wal_writes - before;
	sqlite3_close(r);
	sqlite3_close(w);

	assert_int_equal(unlink(path), 0);
	sqlite3 *p = open_as(BELOW, "NORMAL");
	insert(p, 1, 10);
	before = below.wal_writes;
	for (int i = 0; i < 10; i++)
		insert(p, 1, 10);
	assert_int_equal(buffered, below.wal_writes - before);
	assert_true(buffered >= 10 * 4);
	sqlite3_close(p);
}

/* Three times the buffer in one transaction, from a page cache of 20
 * pages (SQLite spills frames into the WAL before the commit): the
 * writer reads its spilled pages back, the reader sees none of it until
 * the commit, then all of it. */
static void test_transaction_larger_than_buffer(void **state)
{
	(void)state;
	sqlite3 *w = open_as(WALBUF, "FULL");
	sqlite3 *r = open_as(WALBUF, "FULL");
	const int n = 3 * DB_SQLITE_VFS_BUF_MAX / 2000;

	exec(w, "PRAGMA cache_size = 20");
	insert(w, 1, 10);
	long before = below.wal_writes;
	exec(w, "BEGIN");
	insert(w, n, 2000);
	assert_int_equal(one(w, "SELECT count(*) FROM t WHERE length(b) = 2000"), n);
	assert_int_equal(rows(r), 1);
	exec(w, "COMMIT");
	/* written in writes of at most the buffer, at least one of them full
	 * to within a frame */
	assert_true(below.wal_writes - before >= 3);
	assert_true(below.wal_max <= DB_SQLITE_VFS_BUF_MAX);
	assert_true(below.wal_max > DB_SQLITE_VFS_BUF_MAX - 4096 - 24);
	assert_int_equal(rows(r), n + 1);
	assert_int_equal(one(r, "SELECT sum(length(b)) FROM t"), 10 + 2000LL * n);
	sqlite3_close(r);
	sqlite3_close(w);
}

/* Checkpoints (by the reader and by the writer), a WAL restart (the
 * header rewritten at offset 0) and a truncated WAL between commits. */
static void test_checkpoint_and_restart(void **state)
{
	(void)state;
	sqlite3 *w = open_as(WALBUF, "FULL");
	sqlite3 *r = open_as(WALBUF, "FULL");
	long long n = 0;

	for (int round = 0; round < 4; round++) {
		for (int i = 0; i < 5; i++) {
			insert(w, 2, 300);
			n += 2;
			assert_int_equal(rows(r), n);
		}
		if (round % 2 == 0)
			exec(r, "PRAGMA wal_checkpoint(RESTART)");
		else
			exec(w, "PRAGMA wal_checkpoint(TRUNCATE)");
		insert(w, 1, 300); /* restarts the WAL at offset 0 */
		n++;
		assert_int_equal(rows(r), n);
		assert_int_equal(rows(w), n);
	}
	exec(r, "PRAGMA wal_checkpoint(PASSIVE)");
	integrity_ok(r);
	sqlite3_close(r);
	sqlite3_close(w);

	sqlite3 *again = open_as(WALBUF, "FULL");
	assert_int_equal(rows(again), n);
	sqlite3_close(again);
}

/* A rolled-back transaction (spilled into the WAL) leaves nothing; the
 * next one commits. */
static void test_rollback(void **state)
{
	(void)state;
	sqlite3 *w = open_as(WALBUF, "FULL");
	sqlite3 *r = open_as(WALBUF, "FULL");

	exec(w, "PRAGMA cache_size = 20");
	insert(w, 5, 100);
	exec(w, "BEGIN");
	insert(w, 300, 2000);
	exec(w, "ROLLBACK");
	assert_int_equal(rows(w), 5);
	assert_int_equal(rows(r), 5);
	insert(w, 2, 100);
	assert_int_equal(rows(r), 7);
	sqlite3_close(r);
	sqlite3_close(w);

	sqlite3 *again = open_as(WALBUF, "FULL");
	assert_int_equal(rows(again), 7);
	assert_int_equal(one(again, "SELECT count(*) FROM t WHERE length(b) = 2000"), 0);
	sqlite3_close(again);
}

/* A child commits and dies without closing (as under kill -9): every row
 * it committed is in the files. */
static void test_committed_rows_survive_death(void **state)
{
	(void)state;
	sqlite3 *w = open_as(WALBUF, "FULL");
	sqlite3_close(w);

	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		sqlite3 *c = NULL;
		if (sqlite3_open_v2(path, &c, SQLITE_OPEN_READWRITE, WALBUF) != SQLITE_OK ||
		    sqlite3_exec(c, "PRAGMA synchronous = FULL", NULL, NULL, NULL) != SQLITE_OK)
			_exit(2);
		for (int i = 0; i < 25; i++) {
			if (sqlite3_exec(c,
					 "BEGIN; INSERT INTO t(k) VALUES (hex(randomblob(8))); "
					 "INSERT INTO t(k) VALUES (hex(randomblob(8))); COMMIT",
					 NULL, NULL, NULL) != SQLITE_OK)
				_exit(3);
		}
		_exit(0); /* no close, no checkpoint */
	}
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);

	sqlite3 *again = open_as(WALBUF, "FULL");
	assert_int_equal(rows(again), 50);
	sqlite3_close(again);
}

/* The flush's write fails (a full disk): the commit returns SQLITE_FULL,
 * no one sees the row; the next commit works. */
static void test_full_disk_fails_the_commit(void **state)
{
	(void)state;
	sqlite3 *w = open_as(WALBUF, "FULL");
	sqlite3 *r = open_as(WALBUF, "FULL");

	insert(w, 2, 100);
	long before = below.wal_writes;
	below.fail_wal_writes = 1;
	int rc = sqlite3_exec(w, "INSERT INTO t(k) VALUES ('lost')", NULL, NULL, NULL);
	assert_int_equal(rc & 0xff, SQLITE_FULL);
	assert_int_equal(below.fail_wal_writes, 0);
	assert_int_equal(below.wal_writes, before); /* the one write was the flush */
	assert_int_equal(rows(r), 2);
	assert_int_equal(rows(w), 2);
	exec(w, "INSERT INTO t(k) VALUES ('kept')");
	assert_int_equal(rows(r), 3);
	assert_int_equal(one(r, "SELECT count(*) FROM t WHERE k = 'lost'"), 0);
	sqlite3_close(r);
	sqlite3_close(w);

	sqlite3 *again = open_as(WALBUF, "FULL");
	assert_int_equal(rows(again), 3);
	sqlite3_close(again);
}

/* The service's VFS is there under its name. */
static void test_service_vfs(void **state)
{
	(void)state;
	const char *name = db_sqlite_vfs_name();

	assert_non_null(name);
	assert_non_null(sqlite3_vfs_find(name));
	assert_ptr_equal(sqlite3_vfs_find(NULL), sqlite3_vfs_find("unix"));
	assert_string_equal(name, db_sqlite_vfs_name());
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_reader_sees_each_commit, setup_dir, teardown_dir),
	    cmocka_unit_test_setup_teardown(test_one_write_per_commit, setup_dir, teardown_dir),
	    cmocka_unit_test_setup_teardown(test_normal_passes_through, setup_dir, teardown_dir),
	    cmocka_unit_test_setup_teardown(test_transaction_larger_than_buffer, setup_dir,
					    teardown_dir),
	    cmocka_unit_test_setup_teardown(test_checkpoint_and_restart, setup_dir, teardown_dir),
	    cmocka_unit_test_setup_teardown(test_rollback, setup_dir, teardown_dir),
	    cmocka_unit_test_setup_teardown(test_committed_rows_survive_death, setup_dir,
					    teardown_dir),
	    cmocka_unit_test_setup_teardown(test_full_disk_fails_the_commit, setup_dir,
					    teardown_dir),
	    cmocka_unit_test(test_service_vfs),
	};
	return cmocka_run_group_tests(tests, setup_vfs, teardown_vfs);
}
