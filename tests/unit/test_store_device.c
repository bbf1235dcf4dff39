/* test_store_device.c - monitoring devices in the store: a point stored
 * once whatever comes again (the first value wins), malformed frames
 * kept raw up to the hourly cap and not one past it, levels and their
 * history, the points read back in time order, the latest point, a
 * rolled-back transaction leaving nothing, and retention. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "store_device.h"
#include "store_internal.h"
#include "store_sql_pg.h"
#include "store_testutil.h"

#define HOUR_MS INT64_C(3600000)
#define T0 INT64_C(1796601600000)

struct fx {
	struct stest_db db;
	struct store *s;
	struct store_device *sd;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	stest_db_make(&f->db, "store-device");
	f->s = stest_open(f->db.path, 0);
	assert_int_equal(store_device_open(f->s, &f->sd), GA_OK);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	store_device_close(f->sd);
	store_close(f->s);
	stest_db_remove(&f->db);
	free(f);
	return 0;
}

static void test_point_once(void **state)
{
	struct fx *f = *state;
	bool ins = false;
	int64_t n = 0, m = 0, t = 0, r = 0;

	assert_int_equal(store_begin(f->s), GA_OK);
	assert_int_equal(
	    store_device_point_put(f->sd, "D1", "L1_LF_1", "value", T0, 1.5, T0 + 5, &ins), GA_OK);
	assert_true(ins);
	/* the same key again, another value: ignored, the first wins */
	assert_int_equal(
	    store_device_point_put(f->sd, "D1", "L1_LF_1", "value", T0, 9.0, T0 + 6, &ins), GA_OK);
	assert_false(ins);
	/* another field or time is another point */
	assert_int_equal(
	    store_device_point_put(f->sd, "D1", "L1_GP_1", "gpsTotalX", T0, 2.0, T0 + 6, &ins),
	    GA_OK);
	assert_true(ins);
	assert_int_equal(store_device_point_put(f->sd, "D1", "L1_LF_1", "value", T0 + HOUR_MS, 2.5,
						T0 + HOUR_MS, &ins),
			 GA_OK);
	assert_true(ins);
	assert_int_equal(store_commit(f->s), GA_OK);
	assert_int_equal(store_device_counts(f->sd, &n, &m), GA_OK);
	assert_int_equal(n, 3);
	assert_int_equal(m, 0);
	assert_int_equal(store_device_latest(f->sd, "D1", &t, &r), GA_OK);
	assert_int_equal(t, T0 + HOUR_MS);
	assert_int_equal(r, T0 + HOUR_MS);
	assert_int_equal(store_device_latest(f->sd, "D2", &t, &r), GA_ERR_NOTFOUND);
}

struct pts {
	int n;
	int64_t t[8];
	double v[8];
};

static bool collect(const char *channel, const char *field, int64_t t_ms, double value, void *arg)
{
	struct pts *p = arg;
	(void)channel;
	(void)field;
	assert_true(p->n < 8);
	p->t[p->n] = t_ms;
	p->v[p->n++] = value;
	return true;
}

static void test_points_since_in_order(void **state)
{
	struct fx *f = *state;
	struct pts p = {0};
	bool ins;

	assert_int_equal(store_begin(f->s), GA_OK);
	/* stored newest first */
	for (int i = 4; i >= 0; i--)
		assert_int_equal(store_device_point_put(f->sd, "D1", "L1_LF_1", "value",
							T0 + i * HOUR_MS, i, T0, &ins),
				 GA_OK);
	assert_int_equal(store_commit(f->s), GA_OK);
	assert_int_equal(store_device_points_since(f->sd, "D1", T0 + 2 * HOUR_MS, collect, &p),
			 GA_OK);
	assert_int_equal(p.n, 3);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(p.t[i], T0 + (2 + i) * HOUR_MS);
		assert_float_equal(p.v[i], 2 + i, 0);
	}
}

static void test_malformed_cap(void **state)
{
	struct fx *f = *state;
	bool kept = false;
	int64_t n = 0, m = 0;

	assert_int_equal(store_begin(f->s), GA_OK);
	/* at the cap: all kept */
	for (int i = 0; i < STORE_DEVICE_MALFORMED_PER_HOUR; i++) {
		assert_int_equal(store_device_malformed_put(f->sd, "D1", "bad_json", "$dp", "{x", 2,
							    2, T0 + i, &kept),
				 GA_OK);
		assert_true(kept);
	}
	/* one past: counted by the caller, not kept */
	assert_int_equal(
	    store_device_malformed_put(f->sd, "D1", "bad_json", "$dp", "{x", 2, 2, T0 + 99, &kept),
	    GA_OK);
	assert_false(kept);
	/* another device, or the next hour: kept */
	assert_int_equal(
	    store_device_malformed_put(f->sd, "", "short_header", "$dp", "\x01", 1, 1, T0, &kept),
	    GA_OK);
	assert_true(kept);
	assert_int_equal(store_device_malformed_put(f->sd, "D1", "bad_json", "$dp", "{x", 2, 70000,
						    T0 + HOUR_MS, &kept),
			 GA_OK);
	assert_true(kept);
	assert_int_equal(store_commit(f->s), GA_OK);
	assert_int_equal(store_device_counts(f->sd, &n, &m), GA_OK);
	assert_int_equal(m, STORE_DEVICE_MALFORMED_PER_HOUR + 2);
}

struct lv {
	int n;
	char id[4][32];
	int level[4];
};

static bool levels(const char *station_id, int level, int64_t t_ms, void *arg)
{
	struct lv *l = arg;
	(void)t_ms;
	assert_true(l->n < 4);
	snprintf(l->id[l->n], sizeof(l->id[0]), "%s", station_id);
	l->level[l->n++] = level;
	return true;
}

static void test_levels_and_rollback(void **state)
{
	struct fx *f = *state;
	struct lv l = {0};
	bool ins;
	int64_t n = 0, m = 0;

	assert_int_equal(store_begin(f->s), GA_OK);
	assert_int_equal(store_device_level_change(f->sd, "S1", 0, 1, T0, T0, "{}"), GA_OK);
	assert_int_equal(store_device_level_change(f->sd, "S1", 1, 3, T0 + 1, T0 + 1, "{}"), GA_OK);
	assert_int_equal(store_device_level_change(f->sd, "S2", 0, 2, T0, T0, "{}"), GA_OK);
	assert_int_equal(store_commit(f->s), GA_OK);
	assert_int_equal(store_device_levels(f->sd, levels, &l), GA_OK);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.id[0], "S1");
	assert_int_equal(l.level[0], 3);
	assert_string_equal(l.id[1], "S2");
	assert_int_equal(l.level[1], 2);

	/* a rolled-back transaction leaves no point, no change */
	assert_int_equal(store_begin(f->s), GA_OK);
	assert_int_equal(store_device_point_put(f->sd, "D9", "L1_LF_1", "value", T0, 1, T0, &ins),
			 GA_OK);
	assert_int_equal(store_device_level_change(f->sd, "S1", 3, 4, T0 + 2, T0 + 2, "{}"), GA_OK);
	assert_int_equal(store_rollback(f->s), GA_OK);
	memset(&l, 0, sizeof(l));
	assert_int_equal(store_device_levels(f->sd, levels, &l), GA_OK);
	assert_int_equal(l.level[0], 3);
	assert_int_equal(store_device_counts(f->sd, &n, &m), GA_OK);
	assert_int_equal(n, 0);
}

/* Retention: the oldest points first, about limit a call (a timestamp's
 * fields together), never one at or after the cut; refused frames
 * likewise among the oldest. */
static void test_purge(void **state)
{
	struct fx *f = *state;
	bool ins, kept;
	int64_t n = 0, pts = 0, mal = 0;

	assert_int_equal(store_begin(f->s), GA_OK);
	for (int i = 0; i < 10; i++) {
		assert_int_equal(store_device_point_put(f->sd, "D1", "L1_GP_1", "gpsTotalX",
							T0 + i * HOUR_MS, i, T0, &ins),
				 GA_OK);
		assert_int_equal(store_device_point_put(f->sd, "D1", "L1_GP_1", "gpsTotalY",
							T0 + i * HOUR_MS, i, T0, &ins),
				 GA_OK);
		assert_int_equal(store_device_point_put(f->sd, "D2", "L1_LF_1", "value",
							T0 + i * HOUR_MS, i, T0, &ins),
				 GA_OK);
		assert_int_equal(store_device_malformed_put(f->sd, "D1", "bad_json", "$dp", "{", 1,
							    1, T0 + i * HOUR_MS, &kept),
				 GA_OK);
	}
	/* the cut at point 6: D1 has 12 rows before it; limit 3 takes the
	 * two oldest timestamps (4 rows: X and Y of each) */
	assert_int_equal(store_device_purge_points(f->sd, "D1", T0 + 6 * HOUR_MS, 3, &n), GA_OK);
	assert_int_equal(n, 4);
	/* a large limit: the rest before the cut, nothing after it */
	assert_int_equal(store_device_purge_points(f->sd, "D1", T0 + 6 * HOUR_MS, 1000, &n), GA_OK);
	assert_int_equal(n, 8);
	assert_int_equal(store_device_purge_points(f->sd, "D1", T0 + 6 * HOUR_MS, 1000, &n), GA_OK);
	assert_int_equal(n, 0);
	/* refused frames: before the cut among the 4 oldest, then the rest */
	assert_int_equal(store_device_purge_malformed(f->sd, T0 + 6 * HOUR_MS, 4, &n), GA_OK);
	assert_int_equal(n, 4);
	assert_int_equal(store_device_purge_malformed(f->sd, T0 + 6 * HOUR_MS, 100, &n), GA_OK);
	assert_int_equal(n, 2);
	assert_int_equal(store_commit(f->s), GA_OK);
	assert_int_equal(store_device_counts(f->sd, &pts, &mal), GA_OK);
	assert_int_equal(pts, 8 + 10); /* D1's 4 timestamps x 2 fields, D2 untouched */
	assert_int_equal(mal, 4);
}

#define DIALECT(sqlite, pg) (stest_pg() ? (pg) : (sqlite))

/* The migration that lets alert_drafts hold kind 'warning' (found by
 * what it does, wherever the merge puts it), run again over rows of
 * every table that references alert_drafts: SQLite's 12-step rebuild
 * keeps the rows with their ids, the indexes (the one pending draft per
 * alert still enforced) and the foreign keys; the new CHECK takes
 * 'warning' and still refuses what is no kind. device_incidents keeps
 * a station's incident. */
static void test_warning_kind_migration(void **state)
{
	struct fx *f = *state;
	const char *const *mig = stest_pg() ? store_migrations_pg : store_migrations;
	int n = stest_pg() ? store_nmigrations_pg : store_nmigrations, at = -1;
	char id[64];
	struct db *db;

	for (int i = 0; i < n; i++)
		if (strstr(mig[i], "'danger', 'disaster', 'warning'") != NULL)
			at = i;
	assert_true(at >= 0);
	assert_int_equal(store_begin(f->s), GA_OK);
	assert_int_equal(store_device_level_change(f->sd, "ST-1", 0, 3, T0, T0, "{}"), GA_OK);
	assert_int_equal(store_commit(f->s), GA_OK);
	db = stest_raw_open(f->db.path);
	stest_raw_exec(db, "INSERT INTO incidents (id, hazard_type, first_observed_ms,"
			   " last_observed_ms, created_ms, updated_ms, level)"
			   " VALUES ('T-1', 'landslide', 1, 1, 1, 1, 2)");
	stest_raw_exec(db, "INSERT INTO officers (name, role, created_ms)"
			   " VALUES ('o', 'duty_officer', 1)");
	stest_raw_exec(db,
		       "INSERT INTO alert_drafts (id, alert_id, version, msg_type, state, level,"
		       " kind, hazard_type, headline, situation, causes, response, trend,"
		       " observed_ms, created_ms, threatened_people)"
		       " VALUES (1, 'T-1', 1, 'alert', 'published', 2, 'danger', 'landslide',"
		       " '标题', 's', 'c', 'r', 't', 1, 1, 620)");
	stest_raw_exec(db, "INSERT INTO alert_drafts (id, alert_id, msg_type, state, level,"
			   " kind, hazard_type, headline, situation, causes, response, trend,"
			   " observed_ms, created_ms, supersedes)"
			   " VALUES (2, 'T-1', 'update', 'pending', 3, 'disaster', 'landslide',"
			   " 'h2', 's', 'c', 'r', 't', 1, 2, 1)");
	stest_raw_exec(db, "INSERT INTO alert_confirmations (draft_id, officer_id, at_ms)"
			   " VALUES (1, 1, 5)");
	stest_raw_exec(db, "INSERT INTO alert_draft_edits (draft_id, edits) VALUES (1, '{}')");
	/* again, as the runner does: in one transaction, foreign keys off
	 * (SQLite: the pragma is outside it), checked before the commit */
	if (!stest_pg())
		stest_raw_exec(db, "PRAGMA foreign_keys = OFF");
	stest_raw_exec(db, "BEGIN");
	stest_raw_exec(db, mig[at]);
	if (!stest_pg())
		assert_int_equal(stest_raw_int(db, "SELECT count(*) FROM pragma_foreign_key_check"),
				 0);
	stest_raw_exec(db, "COMMIT");
	if (!stest_pg())
		stest_raw_exec(db, "PRAGMA foreign_keys = ON");

	assert_int_equal(stest_raw_int(db, "SELECT count(*) FROM alert_drafts"), 2);
	assert_int_equal(stest_raw_int(db, "SELECT count(*) FROM alert_drafts WHERE id = 1"
					   " AND version = 1 AND kind = 'danger' AND level = 2"
					   " AND headline = '标题' AND threatened_people = 620"),
			 1);
	assert_int_equal(stest_raw_int(db, "SELECT supersedes FROM alert_drafts WHERE id = 2"), 1);
	assert_int_equal(stest_raw_int(db, "SELECT count(*) FROM alert_confirmations"), 1);
	assert_int_equal(
	    stest_raw_int(
		db, DIALECT("SELECT count(*) FROM sqlite_schema WHERE type = 'index'"
			    " AND tbl_name = 'alert_drafts' AND name IN"
			    " ('alert_drafts_by_alert', 'alert_drafts_pending',"
			    " 'alert_drafts_pending_by_created', 'alert_drafts_by_state')",
			    "SELECT count(*) FROM pg_indexes WHERE schemaname = current_schema()"
			    " AND tablename = 'alert_drafts'"
			    " AND indexname IN ('alert_drafts_by_alert', 'alert_drafts_pending',"
			    " 'alert_drafts_pending_by_created', 'alert_drafts_by_state')")),
	    4);
	/* the new kind is taken; what is no kind is not; one pending per alert */
	stest_raw_exec(db, "UPDATE alert_drafts SET state = 'superseded' WHERE id = 2");
	stest_raw_exec(db, "INSERT INTO alert_drafts (id, alert_id, msg_type, state, level,"
			   " kind, hazard_type, headline, situation, causes, response, trend,"
			   " observed_ms, created_ms) VALUES (3, 'T-1', 'update', 'pending', 3,"
			   " 'warning', 'landslide', 'h3', 's', 'c', 'r', 't', 1, 3)");
	assert_int_not_equal(db_exec(db, "INSERT INTO alert_drafts (alert_id, msg_type, state,"
					 " level, kind, hazard_type, headline, situation, causes,"
					 " response, trend, observed_ms, created_ms) VALUES ('T-1',"
					 " 'alert', 'rejected', 1, 'bogus', 'landslide', 'h', 's',"
					 " 'c', 'r', 't', 1, 4)"),
			     DB_OK);
	assert_int_not_equal(db_exec(db, "INSERT INTO alert_drafts (alert_id, msg_type, state,"
					 " level, kind, hazard_type, headline, situation, causes,"
					 " response, trend, observed_ms, created_ms) VALUES ('T-1',"
					 " 'alert', 'pending', 1, 'warning', 'landslide', 'h', 's',"
					 " 'c', 'r', 't', 1, 4)"),
			     DB_OK);
	/* a reference to a draft that is not there is still refused */
	if (!stest_pg())
		stest_raw_exec(db, "PRAGMA foreign_keys = ON");
	assert_int_not_equal(db_exec(db, "INSERT INTO alert_confirmations (draft_id, officer_id,"
					 " at_ms) VALUES (99, 1, 5)"),
			     DB_OK);
	db_close(db);

	/* the store reads the warning draft; a station's incident is kept */
	struct store_draft *d = calloc(1, sizeof(*d));
	assert_non_null(d);
	assert_int_equal(store_draft_get(f->s, 3, d), GA_OK);
	assert_int_equal(d->kind, KIND_WARNING);
	free(d);
	assert_int_equal(store_device_incident_get(f->sd, "ST-1", id, sizeof(id)), GA_ERR_NOTFOUND);
	assert_int_equal(store_begin(f->s), GA_OK);
	assert_int_equal(store_device_incident_set(f->sd, "ST-1", "T-1"), GA_OK);
	assert_int_equal(store_commit(f->s), GA_OK);
	assert_int_equal(store_device_incident_get(f->sd, "ST-1", id, sizeof(id)), GA_OK);
	assert_string_equal(id, "T-1");
	/* an incident that is not there is refused (foreign key) */
	assert_int_equal(store_begin(f->s), GA_OK);
	assert_int_not_equal(store_device_incident_set(f->sd, "ST-1", "NOPE"), GA_OK);
	store_rollback(f->s);
	assert_int_equal(store_device_incident_get(f->sd, "ST-1", id, sizeof(id)), GA_OK);
	assert_string_equal(id, "T-1");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_point_once, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_points_since_in_order, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_malformed_cap, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_levels_and_rollback, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_purge, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_warning_kind_migration, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
