/* test_store.c - the store on a real SQLite file in a temporary directory
 * or, with GA_TEST_STORE=pg, in a PostgreSQL schema of its own
 * (store_testutil.h): migrations, reopening, refusing a newer schema,
 * duplicates, raw bytes, a database locked by another process, a full
 * database, incident ids, incident round trips, grouping lookups and
 * per-station figures. The tests of SQLite's file itself (a missing
 * directory, the file lock, max_page_count) are skipped on PostgreSQL. */
#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "store.h"
#include "store_testutil.h"

#define HOUR_MS (3600LL * 1000)

static int64_t utc_ms(int y, int mo, int d, int h, int mi, int sec)
{
	struct tm tm = {0};
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	return (int64_t)timegm(&tm) * 1000;
}

static int setup(void **state)
{
	*state = stest_fixture_new(sizeof(struct stest_fixture), "store", false);
	return 0;
}

static void make_report(struct report *r, const char *station, const char *id)
{
	memset(r, 0, sizeof(*r));
	r->station_id = station;
	r->report_id = id;
	r->kind = KIND_DANGER;
	r->hazard_type = HAZARD_LANDSLIDE;
	r->observed_at_ms = utc_ms(2026, 11, 26, 6, 52, 0);
	r->observed_offset_min = 480;
	r->has_point = true;
	r->lon = 118.62;
	r->lat = 32.06;
	snprintf(r->admin_code, sizeof(r->admin_code), "320111");
	snprintf(r->hazard_point_id, sizeof(r->hazard_point_id), "HP-1");
	r->figures.value[FIG_THREATENED_PEOPLE] = 620;
	r->figures.set = 1u << FIG_THREATENED_PEOPLE;
}

static ga_err put_report(struct store *s, const char *station, const char *id,
			 const char *incident_id, enum level level, size_t rawlen)
{
	struct report r;
	static unsigned char raw[256 * 1024];
	make_report(&r, station, id);
	if (rawlen > sizeof(raw))
		rawlen = sizeof(raw);
	memset(raw, 'x', rawlen);
	return store_report_put(s, &r, "geohazard/v1/reports/ST1", raw, rawlen, 1000, incident_id,
				level);
}

static void test_migrate_from_empty(void **state)
{
	struct stest_fixture *f = *state;
	f->s = stest_open(f->db.path, 0);

	struct db *db = stest_raw_open(f->db.path);
	assert_true(stest_raw_version(db) >= 1);
	const char *tables[] = {"reports", "rejected", "incidents", "incident_station_figures",
				"incident_seq"};
	for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
		char sql[160];
		if (stest_pg())
			snprintf(sql, sizeof(sql),
				 "SELECT count(*) FROM information_schema.tables WHERE table_schema"
				 " = current_schema() AND table_name = '%s'",
				 tables[i]);
		else
			snprintf(
			    sql, sizeof(sql),
			    "SELECT count(*) FROM sqlite_schema WHERE type='table' AND name='%s'",
			    tables[i]);
		assert_int_equal(stest_raw_int(db, sql), 1);
	}
	if (!stest_pg()) { /* the journal mode is SQLite's */
		struct db_stmt *st = stest_raw_row(db, "PRAGMA journal_mode");
		assert_string_equal(db_column_text(st, 0), "wal");
		db_finalize(st);
	}
	db_close(db);

	int64_t a = -1, r = -1, i = -1;
	assert_int_equal(store_count(f->s, &a, &r, &i), GA_OK);
	assert_int_equal(a, 0);
	assert_int_equal(r, 0);
	assert_int_equal(i, 0);
	assert_int_equal(store_ping(f->s), GA_OK);
}

static void test_reopen_keeps_data(void **state)
{
	struct stest_fixture *f = *state;
	char inc[INCIDENT_ID_MAX];
	int level = 99;

	f->s = stest_open(f->db.path, 0);
	assert_int_equal(store_begin(f->s), GA_OK);
	assert_int_equal(put_report(f->s, "ST1", "r-1", NULL, LEVEL_LARGE, 10), GA_OK);
	assert_int_equal(store_commit(f->s), GA_OK);
	store_close(f->s);

	struct db *db = stest_raw_open(f->db.path);
	long long v1 = stest_raw_version(db);
	db_close(db);

	f->s = stest_open(f->db.path, 0);
	assert_int_equal(store_report_find(f->s, "ST1", "r-1", inc, &level), GA_OK);
	assert_string_equal(inc, "");
	assert_int_equal(level, LEVEL_LARGE);
	db = stest_raw_open(f->db.path);
	assert_int_equal(stest_raw_version(db), v1);
	db_close(db);
}

static void test_newer_version_refused(void **state)
{
	struct stest_fixture *f = *state;
	struct store_options opt = stest_options(f->db.path, 0);
	struct store *s = NULL;
	char err[512] = "", name[STEST_PATH_MAX];

	f->s = stest_open(f->db.path, 0);
	store_close(f->s);
	f->s = NULL;
	struct db *db = stest_raw_open(f->db.path);
	stest_raw_exec(db, stest_pg() ? "UPDATE schema_version SET version = 999"
				      : "PRAGMA user_version = 999");
	db_close(db);

	assert_int_not_equal(store_open(&opt, &s, err, sizeof(err)), GA_OK);
	assert_null(s);
	assert_non_null(strstr(err, "newer"));
	/* The message names the database: SQLite's path; PostgreSQL's URL
	 * without its query (store_pg.c keeps options out of messages). */
	snprintf(name, sizeof(name), "%.*s", (int)strcspn(f->db.path, "?"), f->db.path);
	assert_non_null(strstr(err, name));
}

static void test_missing_directory(void **state)
{
	/* SQLite only: the database file's directory. */
	if (stest_pg())
		skip();
	struct stest_fixture *f = *state;
	char path[192];
	struct store_options opt = {.path = path};
	struct store *s = NULL;
	char err[512] = "";

	snprintf(path, sizeof(path), "%s/no-such-dir/geoalert.db", f->db.dir);
	assert_int_equal(store_open(&opt, &s, err, sizeof(err)), GA_ERR_IO);
	assert_null(s);
	assert_non_null(strstr(err, path));
	assert_int_equal(access(path, F_OK), -1);
}

static void test_duplicate_report(void **state)
{
	struct stest_fixture *f = *state;
	char inc[INCIDENT_ID_MAX] = "x";
	int level = 99;
	int64_t n = 0;

	f->s = stest_open(f->db.path, 0);
	assert_int_equal(store_report_find(f->s, "ST1", "r-1", inc, &level), GA_ERR_NOTFOUND);

	struct incident in = {.hazard_type = HAZARD_LANDSLIDE, .level = LEVEL_MEDIUM, .open = true};
	assert_int_equal(store_begin(f->s), GA_OK);
	assert_int_equal(store_incident_insert(f->s, &in, "JS", 480), GA_OK);
	assert_int_equal(put_report(f->s, "ST1", "r-1", in.id, LEVEL_MEDIUM, 10), GA_OK);
	assert_int_equal(put_report(f->s, "ST1", "r-1", in.id, LEVEL_MEDIUM, 10), GA_ERR_DUPLICATE);
	/* Same report_id from another station is another report. */
	assert_int_equal(put_report(f->s, "ST2", "r-1", NULL, -1, 10), GA_OK);
	/* A duplicate does not spoil the transaction. */
	assert_int_equal(store_commit(f->s), GA_OK);

	assert_int_equal(store_report_find(f->s, "ST1", "r-1", inc, &level), GA_OK);
	assert_string_equal(inc, in.id);
	assert_int_equal(level, LEVEL_MEDIUM);
	assert_int_equal(store_report_find(f->s, "ST2", "r-1", inc, &level), GA_OK);
	assert_string_equal(inc, "");
	assert_int_equal(level, -1);
	assert_int_equal(store_count(f->s, &n, NULL, NULL), GA_OK);
	assert_int_equal(n, 2);
}

static void test_report_fields_stored(void **state)
{
	struct stest_fixture *f = *state;
	struct report r;

	f->s = stest_open(f->db.path, 0);
	make_report(&r, "ST1", "r-9");
	r.kind = KIND_DISASTER;
	r.place = "浦口区 村道";
	r.figures.value[FIG_DEATHS] = 2;
	r.figures.value[FIG_DIRECT_LOSS_CNY] = 1234.5;
	r.figures.set |= 1u << FIG_DEATHS | 1u << FIG_DIRECT_LOSS_CNY;
	assert_int_equal(store_report_put(f->s, &r, "t", "{}", 2, 77, NULL, LEVEL_SMALL), GA_OK);

	struct db *db = stest_raw_open(f->db.path);
	struct db_stmt *st = stest_raw_row(db, "SELECT kind, hazard_type, deaths, missing,"
					       " direct_loss_cny, threatened_people, place, lon,"
					       " received_ms, observed_ms FROM reports");
	assert_string_equal(db_column_text(st, 0), "disaster");
	assert_string_equal(db_column_text(st, 1), "landslide");
	assert_true(db_column_double(st, 2) == 2);
	assert_int_equal(db_column_type(st, 3), DB_NULL);
	assert_true(db_column_double(st, 4) == 1234.5);
	assert_true(db_column_double(st, 5) == 620);
	assert_string_equal(db_column_text(st, 6), "浦口区 村道");
	assert_true(db_column_double(st, 7) == 118.62);
	assert_int_equal(db_column_int64(st, 8), 77);
	assert_int_equal(db_column_int64(st, 9), r.observed_at_ms);
	db_finalize(st);
	db_close(db);
}

static void test_rejected_bytes_exact(void **state)
{
	struct stest_fixture *f = *state;
	const unsigned char payload[] = {'{', 0x00, 0xff, 0xfe, 0xc3, 0x28, '"', 0x00, 0x80, '}'};
	const char topic[] = "geohazard/v1/reports/\xff\xfe\xc3(bad";
	const char *reasons = "[{\"path\":\"\",\"code\":\"syntax\",\"message\":\"x\"}]";
	int64_t n = 0;

	f->s = stest_open(f->db.path, 0);
	assert_int_equal(store_begin(f->s), GA_OK);
	assert_int_equal(store_rejected_put(f->s, topic, payload, sizeof(payload), sizeof(payload),
					    NULL, 42, reasons),
			 GA_OK);
	assert_int_equal(store_rejected_put(f->s, "", NULL, 0, 0, NULL, 43, "[]"), GA_OK);
	assert_int_equal(store_commit(f->s), GA_OK);
	assert_int_equal(store_count(f->s, NULL, &n, NULL), GA_OK);
	assert_int_equal(n, 2);

	struct db *db = stest_raw_open(f->db.path);
	struct db_stmt *st =
	    stest_raw_row(db, "SELECT topic, raw, received_ms, reasons FROM rejected"
			      " ORDER BY id");
	/* SQLite keeps the topic's bytes; PostgreSQL's TEXT takes valid UTF-8
	 * only, so there each byte of an invalid sequence reads \xHH
	 * (store_report.c). */
	const char *want = stest_pg() ? "geohazard/v1/reports/\\xff\\xfe\\xc3(bad" : topic;
	assert_int_equal(db_column_bytes(st, 0), (int)strlen(want));
	assert_memory_equal(db_column_blob(st, 0), want, strlen(want));
	assert_int_equal(db_column_type(st, 1), DB_BLOB);
	assert_int_equal(db_column_bytes(st, 1), (int)sizeof(payload));
	assert_memory_equal(db_column_blob(st, 1), payload, sizeof(payload));
	assert_int_equal(db_column_int64(st, 2), 42);
	assert_string_equal(db_column_text(st, 3), reasons);
	/* The empty payload is an empty blob, not NULL. */
	assert_int_equal(db_step(st), DB_ROW);
	assert_int_equal(db_column_type(st, 1), DB_BLOB);
	assert_int_equal(db_column_bytes(st, 1), 0);
	db_finalize(st);
	db_close(db);
}

/* A child process holds BEGIN EXCLUSIVE (after writing) on path until it
 * reads from the release pipe. */
struct locker {
	pid_t pid;
	int release_fd;
};

static struct locker lock_in_child(const char *path)
{
	int ready[2], release[2];
	struct locker l = {-1, -1};
	char c;

	assert_int_equal(pipe(ready), 0);
	assert_int_equal(pipe(release), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		sqlite3 *db = NULL;
		close(ready[0]);
		close(release[1]);
		if (sqlite3_open(path, &db) != SQLITE_OK ||
		    sqlite3_exec(db,
				 "BEGIN EXCLUSIVE; CREATE TABLE IF NOT EXISTS locker_t (x);"
				 " INSERT INTO locker_t VALUES (1);",
				 NULL, NULL, NULL) != SQLITE_OK)
			_exit(2);
		if (write(ready[1], "r", 1) != 1)
			_exit(3);
		/* Bounded: the parent closes the pipe at the latest when it exits. */
		alarm(60);
		if (read(release[0], &c, 1) < 0)
			_exit(4);
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		sqlite3_close(db);
		_exit(0);
	}
	close(ready[1]);
	close(release[0]);
	assert_int_equal(read(ready[0], &c, 1), 1);
	close(ready[0]);
	l.pid = pid;
	l.release_fd = release[1];
	return l;
}

static void unlock_child(struct locker *l)
{
	int status = -1;
	assert_int_equal(write(l->release_fd, "x", 1), 1);
	close(l->release_fd);
	assert_int_equal(waitpid(l->pid, &status, 0), l->pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_locked_by_other_process(void **state)
{
	/* SQLite only: its file lock (BEGIN EXCLUSIVE in another process).
	 * On PostgreSQL writers wait for the transaction lock instead
	 * (store_pg.c): there is no file to lock. */
	if (stest_pg())
		skip();
	struct stest_fixture *f = *state;
	struct store_options opt = {.path = f->db.path};
	struct store *s = NULL;
	char err[512] = "";

	/* A fresh database locked in rollback-journal mode. */
	struct locker l = lock_in_child(f->db.path);
	assert_int_equal(store_open(&opt, &s, err, sizeof(err)), GA_ERR_BUSY);
	assert_null(s);
	assert_non_null(strstr(err, "locked by another process"));
	assert_non_null(strstr(err, f->db.path));
	unlock_child(&l);

	/* Our WAL database, locked by another writer. */
	f->s = stest_open(f->db.path, 0);
	store_close(f->s);
	f->s = NULL;
	l = lock_in_child(f->db.path);
	err[0] = '\0';
	assert_int_equal(store_open(&opt, &s, err, sizeof(err)), GA_ERR_BUSY);
	assert_null(s);
	assert_non_null(strstr(err, "locked by another process"));
	unlock_child(&l);

	/* Locked while open: the next transaction is refused, then works. */
	f->s = stest_open(f->db.path, 0);
	l = lock_in_child(f->db.path);
	assert_int_equal(store_begin(f->s), GA_ERR_BUSY);
	unlock_child(&l);
	assert_int_equal(store_begin(f->s), GA_OK);
	assert_int_equal(put_report(f->s, "ST1", "after-lock", NULL, LEVEL_SMALL, 4), GA_OK);
	assert_int_equal(store_commit(f->s), GA_OK);
}

static void test_full_then_raised(void **state)
{
	/* SQLite only: a full disk made with max_page_count, SQLite's cap. */
	if (stest_pg())
		skip();
	struct stest_fixture *f = *state;
	int64_t before = -1, after = -1, rej = -1;
	char id[32];
	ga_err e = GA_OK;

	f->s = stest_open(f->db.path, 0);
	assert_int_equal(put_report(f->s, "ST1", "seed", NULL, LEVEL_SMALL, 100), GA_OK);
	store_close(f->s);
	struct db *db = stest_raw_open(f->db.path);
	long long pages = stest_raw_int(db, "PRAGMA page_count");
	db_close(db);

	/* Room for a few pages only: 64 KiB reports overflow it. */
	f->s = stest_open(f->db.path, pages + 4);
	assert_int_equal(store_count(f->s, &before, NULL, NULL), GA_OK);
	assert_int_equal(store_begin(f->s), GA_OK);
	for (int i = 0; i < 20 && e == GA_OK; i++) {
		snprintf(id, sizeof(id), "big-%d", i);
		e = put_report(f->s, "ST1", id, NULL, LEVEL_SMALL, 64 * 1024);
	}
	assert_int_equal(e, GA_ERR_FULL);
	/* Nothing more goes in, not even in autocommit behind our back. */
	assert_int_equal(store_rejected_put(f->s, "t", "x", 1, 1, NULL, 1, "[]"), GA_ERR_FULL);
	assert_int_equal(store_commit(f->s), GA_ERR_FULL);
	assert_int_equal(store_count(f->s, &after, &rej, NULL), GA_OK);
	assert_int_equal(after, before);
	assert_int_equal(rej, 0);
	assert_int_equal(store_report_find(f->s, "ST1", "big-0", NULL, NULL), GA_ERR_NOTFOUND);

	/* A commit of a single report too large is refused the same way. */
	assert_int_equal(store_begin(f->s), GA_OK);
	assert_int_equal(put_report(f->s, "ST1", "one", NULL, LEVEL_SMALL, 200 * 1024),
			 GA_ERR_FULL);
	assert_int_equal(store_commit(f->s), GA_ERR_FULL);
	store_close(f->s);

	/* With the cap raised, writes work again. */
	f->s = stest_open(f->db.path, 1L << 20);
	assert_int_equal(store_begin(f->s), GA_OK);
	assert_int_equal(put_report(f->s, "ST1", "big-0", NULL, LEVEL_SMALL, 64 * 1024), GA_OK);
	assert_int_equal(store_commit(f->s), GA_OK);
	assert_int_equal(store_count(f->s, &after, NULL, NULL), GA_OK);
	assert_int_equal(after, before + 1);
}

static void insert_at(struct store *s, int64_t created, const char *prefix, int off,
		      char id[INCIDENT_ID_MAX])
{
	struct incident in = {.hazard_type = HAZARD_COLLAPSE,
			      .created_ms = created,
			      .updated_ms = created,
			      .level = LEVEL_SMALL,
			      .open = true};
	assert_int_equal(store_incident_insert(s, &in, prefix, off), GA_OK);
	memcpy(id, in.id, INCIDENT_ID_MAX);
}

static void test_incident_ids(void **state)
{
	struct stest_fixture *f = *state;
	char id[INCIDENT_ID_MAX];

	f->s = stest_open(f->db.path, 0);
	assert_int_equal(store_begin(f->s), GA_OK);
	/* 15:59:59.999Z is 23:59:59.999 at +08:00; 16:00Z is the next day. */
	insert_at(f->s, utc_ms(2026, 11, 26, 15, 59, 59) + 999, "JS", 480, id);
	assert_string_equal(id, "JS-20261126-0001");
	insert_at(f->s, utc_ms(2026, 11, 26, 16, 0, 0), "JS", 480, id);
	assert_string_equal(id, "JS-20261127-0001");
	insert_at(f->s, utc_ms(2026, 11, 27, 15, 0, 0), "JS", 480, id);
	assert_string_equal(id, "JS-20261127-0002");
	/* The same instant at UTC is still the 26th: its counter goes on. */
	insert_at(f->s, utc_ms(2026, 11, 26, 16, 0, 0), "JS", 0, id);
	assert_string_equal(id, "JS-20261126-0002");
	/* West of UTC, and across a year end. */
	insert_at(f->s, utc_ms(2027, 1, 1, 2, 0, 0), "SD", -300, id);
	assert_string_equal(id, "SD-20261231-0001");
	/* Widening past 9999. */
	struct db *db = stest_raw_open(f->db.path);
	assert_int_equal(store_commit(f->s), GA_OK);
	stest_raw_exec(db, "INSERT INTO incident_seq (day, n) VALUES ('20261201', 9998)");
	db_close(db);
	insert_at(f->s, utc_ms(2026, 12, 1, 1, 0, 0), "JS", 480, id);
	assert_string_equal(id, "JS-20261201-9999");
	insert_at(f->s, utc_ms(2026, 12, 1, 1, 0, 0), "JS", 480, id);
	assert_string_equal(id, "JS-20261201-10000");

	/* A bad prefix is refused before any id is used. */
	struct incident in = {.hazard_type = HAZARD_COLLAPSE, .level = LEVEL_SMALL};
	assert_int_equal(store_incident_insert(f->s, &in, "", 480), GA_ERR_INVAL);
	assert_int_equal(store_incident_insert(f->s, &in, "J/S", 480), GA_ERR_INVAL);
	int64_t n = 0;
	assert_int_equal(store_count(f->s, NULL, NULL, &n), GA_OK);
	assert_int_equal(n, 7);
}

static void test_incident_round_trip(void **state)
{
	struct stest_fixture *f = *state;
	struct incident in, got;

	f->s = stest_open(f->db.path, 0);
	memset(&in, 0, sizeof(in));
	in.hazard_type = HAZARD_DEBRIS_FLOW;
	snprintf(in.hazard_point_id, sizeof(in.hazard_point_id), "HP-77");
	in.lon = 119.5;
	in.lat = 31.25;
	snprintf(in.admin_code, sizeof(in.admin_code), "320282");
	in.first_observed_ms = 100;
	in.last_observed_ms = 200;
	in.created_ms = utc_ms(2026, 11, 26, 1, 0, 0);
	in.updated_ms = 400;
	in.has_disaster = true;
	in.level = LEVEL_LARGE;
	in.nreports = 3;
	in.open = true;
	for (int i = 0; i < FIG_COUNT; i++)
		in.figures.value[i] = 10 * (i + 1) + 0.5 * (i == FIG_DIRECT_LOSS_CNY);
	in.figures.set = (1u << FIG_COUNT) - 1 - (1u << FIG_INJURED);
	in.figures.value[FIG_INJURED] = 0;
	assert_int_equal(store_incident_insert(f->s, &in, "JS", 480), GA_OK);
	assert_int_equal(store_incident_get(f->s, in.id, &got), GA_OK);
	assert_string_equal(got.id, in.id);
	assert_int_equal(got.hazard_type, HAZARD_DEBRIS_FLOW);
	assert_string_equal(got.hazard_point_id, "HP-77");
	assert_true(got.lon == 119.5 && got.lat == 31.25);
	assert_string_equal(got.admin_code, "320282");
	assert_int_equal(got.first_observed_ms, 100);
	assert_int_equal(got.last_observed_ms, 200);
	assert_int_equal(got.created_ms, in.created_ms);
	assert_int_equal(got.updated_ms, 400);
	assert_true(got.has_disaster);
	assert_int_equal(got.level, LEVEL_LARGE);
	assert_int_equal(got.nreports, 3);
	assert_true(got.open);
	assert_int_equal(got.figures.set, in.figures.set);
	for (int i = 0; i < FIG_COUNT; i++)
		assert_true(got.figures.value[i] == in.figures.value[i]);

	got.level = LEVEL_EXTRA_LARGE;
	got.nreports = 4;
	got.last_observed_ms = 300;
	got.figures.set |= 1u << FIG_INJURED;
	got.figures.value[FIG_INJURED] = 7;
	got.open = false;
	assert_int_equal(store_incident_update(f->s, &got), GA_OK);
	assert_int_equal(store_incident_get(f->s, in.id, &in), GA_OK);
	assert_int_equal(in.level, LEVEL_EXTRA_LARGE);
	assert_int_equal(in.nreports, 4);
	assert_int_equal(in.last_observed_ms, 300);
	assert_true(in.figures.value[FIG_INJURED] == 7);
	assert_false(in.open);

	assert_int_equal(store_incident_get(f->s, "JS-19700101-0001", &got), GA_ERR_NOTFOUND);
	snprintf(got.id, sizeof(got.id), "JS-19700101-0001");
	assert_int_equal(store_incident_update(f->s, &got), GA_ERR_NOTFOUND);

	/* An incident without a point keeps NaN. */
	struct incident nop = {.hazard_type = HAZARD_COLLAPSE,
			       .lon = NAN,
			       .lat = NAN,
			       .level = LEVEL_SMALL,
			       .open = true};
	assert_int_equal(store_incident_insert(f->s, &nop, "JS", 480), GA_OK);
	assert_int_equal(store_incident_get(f->s, nop.id, &got), GA_OK);
	assert_true(isnan(got.lon) && isnan(got.lat));
}

/* Opens an incident for hazard point hp observed at t, with one stored
 * report (the window rules look at the incident's reports). */
static void open_with_report(struct store *s, const char *hp, enum hazard_type type, double lon,
			     double lat, int64_t t, const char *rid, struct incident *in)
{
	struct report r;
	memset(in, 0, sizeof(*in));
	in->hazard_type = type;
	snprintf(in->hazard_point_id, sizeof(in->hazard_point_id), "%s", hp);
	in->lon = lon;
	in->lat = lat;
	in->first_observed_ms = in->last_observed_ms = t;
	in->created_ms = in->updated_ms = t;
	in->level = LEVEL_SMALL;
	in->nreports = 1;
	in->open = true;
	assert_int_equal(store_incident_insert(s, in, "JS", 480), GA_OK);
	make_report(&r, "ST1", rid);
	r.observed_at_ms = t;
	r.hazard_type = type;
	assert_int_equal(store_report_put(s, &r, "t", "{}", 2, t, in->id, LEVEL_SMALL), GA_OK);
}

static void test_lookup_by_hazard_point(void **state)
{
	struct stest_fixture *f = *state;
	struct incident a, got;
	int64_t t = utc_ms(2026, 11, 26, 0, 0, 0);
	int64_t w = 72 * HOUR_MS;

	f->s = stest_open(f->db.path, 0);
	assert_int_equal(store_begin(f->s), GA_OK);
	open_with_report(f->s, "HP-1", HAZARD_LANDSLIDE, 118, 32, t, "a1", &a);
	assert_int_equal(
	    store_incident_by_hazard_point(f->s, "HP-1", HAZARD_LANDSLIDE, t + w, w, &got), GA_OK);
	assert_string_equal(got.id, a.id);
	assert_int_equal(
	    store_incident_by_hazard_point(f->s, "HP-1", HAZARD_LANDSLIDE, t - w, w, &got), GA_OK);
	assert_int_equal(
	    store_incident_by_hazard_point(f->s, "HP-1", HAZARD_LANDSLIDE, t + w + 1, w, &got),
	    GA_ERR_NOTFOUND);
	assert_int_equal(store_incident_by_hazard_point(f->s, "HP-1", HAZARD_COLLAPSE, t, w, &got),
			 GA_ERR_NOTFOUND);
	assert_int_equal(store_incident_by_hazard_point(f->s, "HP-2", HAZARD_LANDSLIDE, t, w, &got),
			 GA_ERR_NOTFOUND);

	/* A gap between reports is not covered: reports at t and t + 200 h
	 * (joined explicitly), a report at t + 100 h is 100 h from both. */
	struct report r;
	make_report(&r, "ST1", "a2");
	r.observed_at_ms = t + 200 * HOUR_MS;
	assert_int_equal(store_report_put(f->s, &r, "t", "{}", 2, t, a.id, LEVEL_SMALL), GA_OK);
	a.last_observed_ms = t + 200 * HOUR_MS;
	assert_int_equal(store_incident_update(f->s, &a), GA_OK);
	assert_int_equal(store_incident_by_hazard_point(f->s, "HP-1", HAZARD_LANDSLIDE,
							t + 100 * HOUR_MS, w, &got),
			 GA_ERR_NOTFOUND);
	assert_int_equal(store_incident_by_hazard_point(f->s, "HP-1", HAZARD_LANDSLIDE,
							t + 250 * HOUR_MS, w, &got),
			 GA_OK);

	/* A closed incident is not found. */
	a.open = false;
	assert_int_equal(store_incident_update(f->s, &a), GA_OK);
	assert_int_equal(store_incident_by_hazard_point(f->s, "HP-1", HAZARD_LANDSLIDE, t, w, &got),
			 GA_ERR_NOTFOUND);
	assert_int_equal(store_commit(f->s), GA_OK);
}

struct collect {
	int n;
	char ids[8][INCIDENT_ID_MAX];
};

static bool collect_cb(const struct incident *inc, void *arg)
{
	struct collect *c = arg;
	if (c->n < 8)
		memcpy(c->ids[c->n++], inc->id, INCIDENT_ID_MAX);
	return true;
}

/* The incidents store_incident_near finds into got; returns how many. */
static int near(struct store *s, enum hazard_type type, int64_t now, int64_t window, double lon_min,
		double lon_max, double lat_min, double lat_max, struct collect *got)
{
	memset(got, 0, sizeof(*got));
	assert_int_equal(store_incident_near(s, type, now, window, lon_min, lon_max, lat_min,
					     lat_max, collect_cb, got),
			 GA_OK);
	return got->n;
}

static void test_lookup_near(void **state)
{
	struct stest_fixture *f = *state;
	struct incident a, b, c;
	struct collect got;
	int64_t t = utc_ms(2026, 11, 26, 0, 0, 0);
	int64_t w = 24 * HOUR_MS;

	f->s = stest_open(f->db.path, 0);
	assert_int_equal(store_begin(f->s), GA_OK);
	open_with_report(f->s, "", HAZARD_LANDSLIDE, 118.600, 32.000, t, "a", &a);
	open_with_report(f->s, "", HAZARD_LANDSLIDE, 118.605, 32.005, t, "b", &b);
	open_with_report(f->s, "", HAZARD_COLLAPSE, 118.600, 32.000, t, "c", &c);
	assert_int_equal(store_commit(f->s), GA_OK);

	assert_int_equal(near(f->s, HAZARD_LANDSLIDE, t + w, w, 118.59, 118.61, 31.99, 32.01, &got),
			 2);
	assert_int_equal(near(f->s, HAZARD_LANDSLIDE, t, w, 118.59, 118.601, 31.99, 32.001, &got),
			 1);
	assert_string_equal(got.ids[0], a.id);
	assert_int_equal(
	    near(f->s, HAZARD_LANDSLIDE, t + w + 1, w, 118.59, 118.61, 31.99, 32.01, &got), 0);
	assert_int_equal(near(f->s, HAZARD_COLLAPSE, t, w, 118.59, 118.61, 31.99, 32.01, &got), 1);
	assert_string_equal(got.ids[0], c.id);
}

static void test_fold_figures(void **state)
{
	struct stest_fixture *f = *state;
	struct incident in = {.hazard_type = HAZARD_COLLAPSE, .level = LEVEL_SMALL, .open = true};
	struct figures fa = {0}, out;

	f->s = stest_open(f->db.path, 0);
	assert_int_equal(store_begin(f->s), GA_OK);
	assert_int_equal(store_incident_insert(f->s, &in, "JS", 480), GA_OK);

	fa.value[FIG_DEATHS] = 5;
	fa.value[FIG_INJURED] = 9;
	fa.set = 1u << FIG_DEATHS | 1u << FIG_INJURED;
	assert_int_equal(store_incident_fold_figures(f->s, in.id, "A", 1000, &fa, &out), GA_OK);
	assert_true(out.value[FIG_DEATHS] == 5);
	assert_int_equal(out.set, fa.set);

	/* A's latest deaths is 3; injured keeps A's last given value. */
	fa.value[FIG_DEATHS] = 3;
	fa.set = 1u << FIG_DEATHS;
	assert_int_equal(store_incident_fold_figures(f->s, in.id, "A", 2000, &fa, &out), GA_OK);
	assert_true(out.value[FIG_DEATHS] == 3);
	assert_true(out.value[FIG_INJURED] == 9);

	/* B says 4: the incident has max(3, 4). */
	fa.value[FIG_DEATHS] = 4;
	assert_int_equal(store_incident_fold_figures(f->s, in.id, "B", 1500, &fa, &out), GA_OK);
	assert_true(out.value[FIG_DEATHS] == 4);

	/* A late report of A observed earlier does not replace A's latest. */
	fa.value[FIG_DEATHS] = 50;
	assert_int_equal(store_incident_fold_figures(f->s, in.id, "A", 1999, &fa, &out), GA_OK);
	assert_true(out.value[FIG_DEATHS] == 4);
	/* At the same time it does. */
	fa.value[FIG_DEATHS] = 6;
	assert_int_equal(store_incident_fold_figures(f->s, in.id, "A", 2000, &fa, &out), GA_OK);
	assert_true(out.value[FIG_DEATHS] == 6);
	assert_int_equal(out.set, 1u << FIG_DEATHS | 1u << FIG_INJURED);
	assert_int_equal(store_commit(f->s), GA_OK);
}

struct tl_rows {
	int n;
	struct store_timeliness_row r[4];
};

static bool tl_cb(const struct store_timeliness_row *row, void *arg)
{
	struct tl_rows *x = arg;
	assert_true(x->n < 4);
	x->r[x->n++] = *row;
	return true;
}

/* `geoalert report timeliness`: an incident, its version 1 confirmed by
 * two officers and delivered to two channels, one row per channel with
 * both names (in either order: group_concat's and string_agg's order is
 * not given). */
static void test_timeliness(void **state)
{
	struct stest_fixture *f = *state;
	struct tl_rows x = {.n = 0};

	f->s = stest_open(f->db.path, 0);
	struct db *db = stest_raw_open(f->db.path);
	stest_raw_exec(db, "INSERT INTO incidents (id, hazard_type, first_observed_ms,"
			   " last_observed_ms, created_ms, updated_ms, level)"
			   " VALUES ('JS-T', 'landslide', 900, 900, 1000, 1000, 2)");
	stest_raw_exec(db, "INSERT INTO officers (name, role, created_ms) VALUES"
			   " ('ann', 'duty_officer', 0), ('bob', 'supervisor', 0)");
	stest_raw_exec(db, "INSERT INTO alert_drafts (alert_id, version, msg_type, state, level,"
			   " kind, hazard_type, headline, situation, causes, response, trend,"
			   " observed_ms, created_ms, published_ms) VALUES ('JS-T', 1, 'alert',"
			   " 'published', 2, 'danger', 'landslide', 'h', 's', 'c', 'r', 't', 900,"
			   " 2000, 5000)");
	stest_raw_exec(db, "INSERT INTO alert_confirmations (draft_id, officer_id, at_ms)"
			   " SELECT d.id, o.id, 4000 FROM alert_drafts d, officers o"
			   " WHERE d.alert_id = 'JS-T'");
	stest_raw_exec(db, "INSERT INTO deliveries (alert_id, version, msg_type, channel, state,"
			   " next_attempt_ms, deadline_ms, idem_key, created_ms, delivered_ms)"
			   " VALUES ('JS-T', 1, 'alert', 'sms', 'delivered', 0, 0, 'JS-T:1', 5000,"
			   " 7000), ('JS-T', 1, 'alert', 'portal', 'delivered', 0, 0, 'JS-T:1',"
			   " 5000, 6000)");
	db_close(db);

	assert_int_equal(store_timeliness_each(f->s, 0, tl_cb, &x), GA_OK);
	assert_int_equal(x.n, 2);
	for (int i = 0; i < 2; i++) {
		assert_string_equal(x.r[i].incident_id, "JS-T");
		assert_int_equal(x.r[i].level, 2);
		assert_int_equal(x.r[i].reported_ms, 1000);
		assert_int_equal(x.r[i].draft_ms, 2000);
		assert_int_equal(x.r[i].confirmed_ms, 5000);
		assert_true(strcmp(x.r[i].confirmed_by, "ann,bob") == 0 ||
			    strcmp(x.r[i].confirmed_by, "bob,ann") == 0);
	}
	assert_string_equal(x.r[0].channel, "portal");
	assert_int_equal(x.r[0].delivered_ms, 6000);
	assert_string_equal(x.r[1].channel, "sms");
	assert_int_equal(x.r[1].delivered_ms, 7000);
	/* Since after the incident: nothing. */
	x.n = 0;
	assert_int_equal(store_timeliness_each(f->s, 1001, tl_cb, &x), GA_OK);
	assert_int_equal(x.n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_migrate_from_empty, setup, stest_teardown),
	    cmocka_unit_test_setup_teardown(test_reopen_keeps_data, setup, stest_teardown),
	    cmocka_unit_test_setup_teardown(test_newer_version_refused, setup, stest_teardown),
	    cmocka_unit_test_setup_teardown(test_missing_directory, setup, stest_teardown),
	    cmocka_unit_test_setup_teardown(test_duplicate_report, setup, stest_teardown),
	    cmocka_unit_test_setup_teardown(test_report_fields_stored, setup, stest_teardown),
	    cmocka_unit_test_setup_teardown(test_rejected_bytes_exact, setup, stest_teardown),
	    cmocka_unit_test_setup_teardown(test_locked_by_other_process, setup, stest_teardown),
	    cmocka_unit_test_setup_teardown(test_full_then_raised, setup, stest_teardown),
	    cmocka_unit_test_setup_teardown(test_incident_ids, setup, stest_teardown),
	    cmocka_unit_test_setup_teardown(test_incident_round_trip, setup, stest_teardown),
	    cmocka_unit_test_setup_teardown(test_lookup_by_hazard_point, setup, stest_teardown),
	    cmocka_unit_test_setup_teardown(test_lookup_near, setup, stest_teardown),
	    cmocka_unit_test_setup_teardown(test_fold_figures, setup, stest_teardown),
	    cmocka_unit_test_setup_teardown(test_timeliness, setup, stest_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
