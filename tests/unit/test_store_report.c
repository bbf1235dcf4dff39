/* test_store_report.c - a report's region (admin_code and the full name,
 * spec issue 3) stored with it, on a new database and on one made before
 * the admin_name column existed (the later migrations applied to it).
 * On SQLite and PostgreSQL (GA_TEST_STORE=pg, store_testutil.h): SQL
 * that differs is written as DIALECT(sqlite, postgresql). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "store.h"
#include "store_testutil.h"

#define OBSERVED_MS 1795647120000LL /* 2026-11-26T06:52:00Z */
#define DIALECT(sqlite, pg) (stest_pg() ? (pg) : (sqlite))
/* Columns named name of table t (a string literal), counted. */
#define COLUMNS(t, names)                                                                          \
	DIALECT("SELECT count(*) FROM pragma_table_info('" t "') WHERE name IN " names,            \
		"SELECT count(*) FROM information_schema.columns WHERE table_schema ="             \
		" current_schema() AND table_name = '" t "' AND column_name IN " names)

static int setup(void **state)
{
	*state = stest_fixture_new(sizeof(struct stest_fixture), "store-report", false);
	return 0;
}

static void put(struct store *s, const char *id, const char *code, const char *name)
{
	struct report r;

	memset(&r, 0, sizeof(r));
	r.station_id = "ST1";
	r.report_id = id;
	r.kind = KIND_DANGER;
	r.hazard_type = HAZARD_LANDSLIDE;
	r.observed_at_ms = OBSERVED_MS;
	r.observed_offset_min = 480;
	r.has_point = true;
	r.lon = 119.82;
	r.lat = 31.36;
	snprintf(r.admin_code, sizeof(r.admin_code), "%s", code);
	snprintf(r.admin_name, sizeof(r.admin_name), "%s", name);
	assert_int_equal(store_report_put(s, &r, "geohazard/v1/reports/ST1", "{}", 2, OBSERVED_MS,
					  NULL, LEVEL_SMALL),
			 GA_OK);
}

/* The code and name stored for report id, read behind the store's back. */
static void expect_region(struct db *db, const char *id, const char *code, const char *name)
{
	struct db_stmt *st = stest_raw_prepare(db, "SELECT admin_code, admin_name FROM reports"
						   " WHERE station_id = 'ST1' AND report_id = ?1");

	assert_int_equal(db_bind_text(st, 1, id, -1), DB_OK);
	assert_int_equal(db_step(st), DB_ROW);
	assert_string_equal(db_column_text(st, 0), code);
	assert_string_equal(db_column_text(st, 1), name);
	db_finalize(st);
}

static void test_name_stored(void **state)
{
	struct stest_fixture *f = *state;
	struct db *db;

	f->s = stest_open(f->db.path, 0);
	put(f->s, "r-1", "320282", "江苏省无锡市宜兴市");
	put(f->s, "r-2", "", ""); /* no point looked up */
	db = stest_raw_open(f->db.path);
	expect_region(db, "r-1", "320282", "江苏省无锡市宜兴市");
	expect_region(db, "r-2", "", "");
	/* The column refuses NULL: the migration's NOT NULL holds. */
	assert_int_not_equal(db_exec(db, "UPDATE reports SET admin_name = NULL"), DB_OK);
	db_close(db);
}

/* A database from before the column: its reports get '' and new ones
 * their name. Made by dropping the column and stepping the version back. */
static void test_upgrade(void **state)
{
	struct stest_fixture *f = *state;
	long long version;
	struct db *db;

	f->s = stest_open(f->db.path, 0);
	put(f->s, "old", "320111", "江苏省南京市浦口区");
	store_close(f->s);
	f->s = NULL;
	db = stest_raw_open(f->db.path);
	version = stest_raw_version(db);
	/* Back to a database of migration 4: before admin_name (5), the
	 * deliveries' progress (6), the notices (7), the MQTT sessions (8)
	 * and the summary rows of /metrics (9), with two deliveries made
	 * before them. */
	stest_raw_exec(db, DIALECT("DROP TRIGGER deliveries_count_insert",
				   "DROP TRIGGER deliveries_count_insert ON deliveries"));
	stest_raw_exec(db, DIALECT("DROP TRIGGER deliveries_count_update",
				   "DROP TRIGGER deliveries_count_update ON deliveries"));
	stest_raw_exec(db, DIALECT("DROP TRIGGER deliveries_count_delete",
				   "DROP TRIGGER deliveries_count_delete ON deliveries;"
				   " DROP FUNCTION deliveries_count()"));
	stest_raw_exec(db, "DROP INDEX deliveries_failed_by_created");
	stest_raw_exec(db, "DROP TABLE delivery_counts");
	stest_raw_exec(db, "DROP TABLE report_counts");
	stest_raw_exec(db, "INSERT INTO deliveries (alert_id, version, msg_type, channel, state,"
			   " next_attempt_ms, deadline_ms, idem_key, created_ms) VALUES"
			   " ('A', 1, 'alert', 'portal', 'delivered', 0, 0, 'A:1', 0),"
			   " ('B', 1, 'alert', 'portal', 'delivered', 0, 0, 'B:1', 0)");
	stest_raw_exec(db, "ALTER TABLE reports DROP COLUMN admin_name");
	stest_raw_exec(db, "ALTER TABLE deliveries DROP COLUMN step");
	stest_raw_exec(db, "ALTER TABLE deliveries DROP COLUMN scratch");
	stest_raw_exec(db, "DROP TABLE notices");
	stest_raw_exec(db, "DROP TABLE mqtt_sessions");
	/* and the rejected payloads' length and hash (issue 15) */
	stest_raw_exec(db, "ALTER TABLE rejected DROP COLUMN raw_len");
	stest_raw_exec(db, "ALTER TABLE rejected DROP COLUMN raw_sha256");
	/* and the receipts' broker (several brokers, spec §10) */
	stest_raw_exec(db, "ALTER TABLE outbox DROP COLUMN broker");
	/* and the incidents' generation (issue 12) */
	stest_raw_exec(db, "DROP INDEX incidents_by_gen");
	stest_raw_exec(db, "ALTER TABLE incidents DROP COLUMN gen");
	stest_raw_exec(db, "DROP TABLE incident_gen");
	stest_raw_exec(db,
		       DIALECT("PRAGMA user_version = 4", "UPDATE schema_version SET version = 4"));
	assert_int_equal(stest_raw_int(db, COLUMNS("reports", "('admin_name')")), 0);
	db_close(db);

	f->s = stest_open(f->db.path, 0);
	put(f->s, "new", "320282", "江苏省无锡市宜兴市");
	db = stest_raw_open(f->db.path);
	assert_int_equal(stest_raw_version(db), version);
	expect_region(db, "old", "320111", "");
	expect_region(db, "new", "320282", "江苏省无锡市宜兴市");
	assert_int_equal(stest_raw_int(db, COLUMNS("deliveries", "('step', 'scratch')")), 2);
	/* The ledger's counts start from the rows it had. */
	assert_int_equal(stest_raw_int(db, "SELECT n FROM delivery_counts WHERE channel = 'portal'"
					   " AND state = 'delivered'"),
			 2);
	/* It has taken reports: its sessions are unknown, to be tried once. */
	assert_int_equal(
	    stest_raw_int(db, "SELECT count(*) FROM mqtt_sessions WHERE client_id = '*'"), 1);
	db_close(db);
}

struct seen {
	char station[4][16];
	int64_t at[4];
	int n;
};

static bool seen_cb(const char *station_id, int64_t received_ms, void *arg)
{
	struct seen *w = arg;

	assert_true(w->n < 4);
	snprintf(w->station[w->n], sizeof(w->station[w->n]), "%s", station_id);
	w->at[w->n++] = received_ms;
	return true;
}

/* What the watchdog of the instance holding the duties reads of the
 * stations the other instances heard (spec §10): each station with its
 * latest report or rejected payload after the time given, nothing older,
 * nothing from another topic. */
static void test_seen_since(void **state)
{
	struct stest_fixture *f = *state;
	struct seen w = {0};

	f->s = stest_open(f->db.path, 0);
	put(f->s, "s-1", "", ""); /* ST1 at OBSERVED_MS */
	assert_int_equal(store_rejected_put(f->s, "geohazard/v1/reports/ST2", "x", 1, 1, NULL,
					    OBSERVED_MS + 5, "[]"),
			 GA_OK);
	assert_int_equal(store_rejected_put(f->s, "geohazard/v1/riskwarnings/I1", "x", 1, 1, NULL,
					    OBSERVED_MS + 6, "[]"),
			 GA_OK);
	assert_int_equal(store_report_seen_since(f->s, OBSERVED_MS - 1, seen_cb, &w), GA_OK);
	assert_int_equal(w.n, 2);
	for (int i = 0; i < w.n; i++) {
		if (strcmp(w.station[i], "ST1") == 0)
			assert_int_equal(w.at[i], OBSERVED_MS);
		else {
			assert_string_equal(w.station[i], "ST2");
			assert_int_equal(w.at[i], OBSERVED_MS + 5);
		}
	}
	memset(&w, 0, sizeof(w));
	assert_int_equal(store_report_seen_since(f->s, OBSERVED_MS + 5, seen_cb, &w), GA_OK);
	assert_int_equal(w.n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_name_stored, setup, stest_teardown),
	    cmocka_unit_test_setup_teardown(test_upgrade, setup, stest_teardown),
	    cmocka_unit_test_setup_teardown(test_seen_since, setup, stest_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
