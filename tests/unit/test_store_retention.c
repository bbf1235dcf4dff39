/* test_store_retention.c - [store] keep_reports_days (issue 15, "At
 * scale"): old reports, rejected payloads and summary rows deleted in
 * small steps, from rows written here with times in the past; each
 * station's latest report of an incident kept, so the sources of any
 * draft (store_incident_reports_latest) are the same after; incidents,
 * drafts, deliveries and the audit trail untouched. */
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
#include "store_retention.h"
#include "store_stats.h"
#include "store_testutil.h"

#define NOW INT64_C(1795675920000)
#define MIN (60 * INT64_C(1000))
#define DAY (24 * 60 * MIN)
#define KEEP (30 * DAY) /* keep_reports_days = 30 */

__attribute__((format(printf, 2, 3))) static void execf(struct db *db, const char *fmt, ...)
{
	char sql[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	assert_true(n > 0 && (size_t)n < sizeof(sql));
	stest_raw_exec(db, sql);
}

static void incident(struct db *db, const char *id)
{
	execf(db,
	      "INSERT INTO incidents (id, hazard_type, first_observed_ms, last_observed_ms,"
	      " created_ms, updated_ms, level) VALUES ('%s', 'landslide', 0, 0, 0, %lld, 2)",
	      id, (long long)(NOW - 100 * DAY));
}

/* A report of station st in incident inc (NULL: none), received
 * received_days ago and observed observed_min minutes after the epoch of
 * the test (order among a station's reports). */
static void report(struct db *db, const char *rid, const char *st, const char *inc,
		   int received_days, int observed_min)
{
	char incq[64];
	if (inc)
		snprintf(incq, sizeof(incq), "'%s'", inc);
	else
		snprintf(incq, sizeof(incq), "NULL");
	execf(db,
	      "INSERT INTO reports (station_id, report_id, topic, raw, received_ms, observed_ms,"
	      " kind, hazard_type, incident_id, causes) VALUES ('%s', '%s', 't', x'7b7d', %lld,"
	      " %lld, 'danger', 'landslide', %s, 'causes of %s')",
	      st, rid, (long long)(NOW - received_days * DAY),
	      (long long)(NOW - 200 * DAY + observed_min * MIN), incq, rid);
}

static bool exists(struct db *db, const char *rid)
{
	char sql[128];
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM reports WHERE report_id = '%s'", rid);
	return stest_raw_int(db, sql) == 1;
}

/* Runs steps of limit rows until the pass is over and no rejected row is
 * left to delete; the number of steps (bounded). */
static int run_pass(struct store *s, int limit, struct store_retention_result *total)
{
	struct store_retention_cursor cur = {0, 0};
	struct store_retention_result r;
	int steps = 0;

	memset(total, 0, sizeof(*total));
	do {
		assert_true(++steps < 10000);
		assert_int_equal(
		    store_retention_step(s, NOW - KEEP, NOW - KEEP, NOW - 2 * DAY, limit, &cur, &r),
		    GA_OK);
		total->reports += r.reports;
		total->rejected += r.rejected;
		total->counts += r.counts;
	} while (!r.reports_done || !r.rejected_done);
	return steps;
}

struct latest {
	char line[16][96];
	int n;
};

static bool latest_cb(const struct store_report_row *r, void *arg)
{
	struct latest *x = arg;
	assert_true(x->n < 16);
	snprintf(x->line[x->n++], sizeof(x->line[0]), "%s %s %s", r->station_id, r->report_id,
		 r->causes ? r->causes : "-");
	return true;
}

static void latest_of(struct store *s, const char *inc, struct latest *x)
{
	memset(x, 0, sizeof(*x));
	assert_int_equal(store_incident_reports_latest(s, inc, 16, latest_cb, x), GA_OK);
}

static void test_what_goes_and_what_stays(void **state)
{
	struct stest_fixture *f = *state;
	struct db *db = stest_raw_open(f->db.path);

	incident(db, "JS-A");
	incident(db, "JS-B");
	/* JS-A: S1 three reports (two old, the latest new), S2 one old. */
	report(db, "a1", "S1", "JS-A", 100, 1);
	report(db, "a2", "S1", "JS-A", 90, 2);
	report(db, "a3", "S1", "JS-A", 1, 3);
	report(db, "a4", "S2", "JS-A", 95, 1);
	/* JS-B: all old; b2 arrived first but was observed last: it stays. */
	report(db, "b1", "S1", "JS-B", 60, 5);
	report(db, "b2", "S1", "JS-B", 70, 9);
	report(db, "b3", "S1", "JS-B", 50, 7);
	/* Two old ones of the same observed time: the later stored stays. */
	report(db, "b4", "S3", "JS-B", 80, 4);
	report(db, "b5", "S3", "JS-B", 80, 4);
	/* No incident: goes when old, stays when not. */
	report(db, "n1", "S9", NULL, 40, 1);
	report(db, "n2", "S9", NULL, 10, 2);
	/* 600 old rejections and 5 of yesterday. */
	execf(db,
	      "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 600)"
	      " INSERT INTO rejected (topic, raw, received_ms, reasons) SELECT 't', x'00',"
	      " %lld - i, '[]' FROM c",
	      (long long)(NOW - KEEP));
	execf(db,
	      "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 5)"
	      " INSERT INTO rejected (topic, raw, received_ms, reasons) SELECT 't', x'00',"
	      " %lld + i, '[]' FROM c",
	      (long long)(NOW - DAY));
	/* What must never go: a draft, a delivery, an audit row. */
	execf(db,
	      "INSERT INTO alert_drafts (alert_id, msg_type, state, level, kind, hazard_type,"
	      " headline, situation, causes, response, trend, observed_ms, created_ms) VALUES"
	      " ('JS-B', 'alert', 'pending', 2, 'danger', 'landslide', 'h', 's', 'c', 'r', 't',"
	      " 0, %lld)",
	      (long long)(NOW - 100 * DAY));
	execf(db,
	      "INSERT INTO deliveries (alert_id, version, msg_type, channel, state,"
	      " next_attempt_ms, deadline_ms, idem_key, created_ms) VALUES ('JS-A', 1, 'alert',"
	      " 'portal', 'delivered', 0, 0, 'JS-A:1', %lld)",
	      (long long)(NOW - 100 * DAY));
	execf(db,
	      "INSERT INTO audit (seq, at_ms, action, prev_hash, hash) VALUES (1, %lld, 'x', '0',"
	      " '1')",
	      (long long)(NOW - 100 * DAY));
	db_close(db);
	assert_int_equal(store_stats_old_observed_add(f->s, NOW - 3 * DAY, 4), GA_OK);
	assert_int_equal(store_stats_old_observed_add(f->s, NOW - DAY, 2), GA_OK);

	struct latest before_a, before_b, after;
	latest_of(f->s, "JS-A", &before_a);
	latest_of(f->s, "JS-B", &before_b);

	struct store_retention_result total;
	int steps = run_pass(f->s, 2, &total);
	assert_true(steps >= 300); /* 600 rejections, 2 a step */
	assert_int_equal(total.reports, 6);
	assert_int_equal(total.rejected, 600);
	assert_int_equal(total.counts, 1);

	db = stest_raw_open(f->db.path);
	assert_false(exists(db, "a1"));
	assert_false(exists(db, "a2"));
	assert_true(exists(db, "a3"));
	assert_true(exists(db, "a4")); /* S2's only report of JS-A, however old */
	assert_false(exists(db, "b1"));
	assert_true(exists(db, "b2"));
	assert_false(exists(db, "b3"));
	assert_false(exists(db, "b4"));
	assert_true(exists(db, "b5"));
	assert_false(exists(db, "n1"));
	assert_true(exists(db, "n2"));
	assert_int_equal(stest_raw_int(db, "SELECT count(*) FROM rejected"), 5);
	assert_int_equal(stest_raw_int(db, "SELECT count(*) FROM incidents"), 2);
	assert_int_equal(stest_raw_int(db, "SELECT count(*) FROM alert_drafts"), 1);
	assert_int_equal(stest_raw_int(db, "SELECT count(*) FROM deliveries"), 1);
	assert_int_equal(stest_raw_int(db, "SELECT count(*) FROM audit"), 1);
	assert_int_equal(stest_raw_int(db, "SELECT count(*) FROM report_counts"), 1);
	db_close(db);

	/* A draft made now reads the same texts as before. */
	latest_of(f->s, "JS-A", &after);
	assert_int_equal(after.n, before_a.n);
	for (int i = 0; i < after.n; i++)
		assert_string_equal(after.line[i], before_a.line[i]);
	latest_of(f->s, "JS-B", &after);
	assert_int_equal(after.n, before_b.n);
	for (int i = 0; i < after.n; i++)
		assert_string_equal(after.line[i], before_b.line[i]);

	/* A second pass finds nothing more. */
	run_pass(f->s, 2, &total);
	assert_int_equal(total.reports + total.rejected + total.counts, 0);
	/* Reports of a pass that rests (0) are not read. */
	struct store_retention_cursor cur = {0, 0};
	struct store_retention_result r;
	assert_int_equal(store_retention_step(f->s, NOW, 0, NOW, 8, &cur, &r), GA_OK);
	assert_true(r.reports_done);
	assert_int_equal(r.reports, 0);
	assert_int_equal(cur.id, 0);
}

/* Many old reports of few stations: the pass reads each once (the
 * cursor moves past the kept ones) and leaves one per station. */
static void test_a_large_pass(void **state)
{
	struct stest_fixture *f = *state;
	struct db *db = stest_raw_open(f->db.path);

	incident(db, "JS-C");
	stest_raw_exec(db, "BEGIN");
	execf(db,
	      "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 3000)"
	      " INSERT INTO reports (station_id, report_id, topic, raw, received_ms, observed_ms,"
	      " kind, hazard_type, incident_id) SELECT 'S' || (i %% 3), 'r' || i, 't', x'7b7d',"
	      " %lld + i * 1000, %lld + i * 1000, 'danger', 'landslide', 'JS-C' FROM c",
	      (long long)(NOW - 100 * DAY), (long long)(NOW - 100 * DAY));
	stest_raw_exec(db, "COMMIT");

	struct store_retention_result total;
	int steps = run_pass(f->s, 256, &total);
	assert_int_equal(total.reports, 2997);
	assert_int_equal(steps, 12); /* ceil(3000 / 256) reads, the last one short */
	assert_int_equal(stest_raw_int(db, "SELECT count(*) FROM reports"), 3);
	assert_int_equal(stest_raw_int(db, "SELECT count(*) FROM reports WHERE report_id IN"
					   " ('r2998', 'r2999', 'r3000')"),
			 3);
	db_close(db);
}

static void test_limits(void **state)
{
	struct stest_fixture *f = *state;
	struct store_retention_cursor cur = {0, 0};
	struct store_retention_result r;

	assert_int_equal(store_retention_step(f->s, NOW, NOW, NOW, 0, &cur, &r), GA_ERR_INVAL);
	assert_int_equal(
	    store_retention_step(f->s, NOW, NOW, NOW, STORE_RETENTION_LIMIT_MAX + 1, &cur, &r),
	    GA_ERR_INVAL);
	assert_int_equal(
	    store_retention_step(f->s, NOW, NOW, NOW, STORE_RETENTION_LIMIT_MAX, &cur, &r), GA_OK);
	assert_true(r.reports_done && r.rejected_done);
	/* Not inside another transaction. */
	assert_int_equal(store_begin(f->s), GA_OK);
	assert_int_not_equal(store_retention_step(f->s, NOW, NOW, NOW, 8, &cur, &r), GA_OK);
	assert_int_equal(store_rollback(f->s), GA_OK);
}

static int setup(void **state)
{
	*state = stest_fixture_new(sizeof(struct stest_fixture), "retention", true);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_what_goes_and_what_stays, setup, stest_teardown),
	    cmocka_unit_test_setup_teardown(test_a_large_pass, setup, stest_teardown),
	    cmocka_unit_test_setup_teardown(test_limits, setup, stest_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
