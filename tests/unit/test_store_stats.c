/* test_store_stats.c - the gauges of /metrics and the backlog of /healthz
 * counted from a database whose rows are written here directly (another
 * connection, as the writer and the delivery worker would have). On
 * SQLite and PostgreSQL (GA_TEST_STORE=pg, store_testutil.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "store.h"
#include "store_internal.h"
#include "store_stats.h"
#include "store_testutil.h"

#define NOW INT64_C(1795675920000)
#define MIN (60 * INT64_C(1000))
#define DAY (24 * 60 * MIN)

static struct stest_db db_file;
static struct store *s;

/* Runs the SQL statement fmt formats on db; the test fails if it fails. */
__attribute__((format(printf, 2, 3))) static void execf(struct db *db, const char *fmt, ...)
{
	char sql[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	assert_true(n > 0 && (size_t)n < sizeof(sql));
	stest_raw_exec(db, sql);
}

static void incident(struct db *db, const char *id, int level, int64_t updated)
{
	execf(db,
	      "INSERT INTO incidents (id, hazard_type, first_observed_ms, last_observed_ms,"
	      " created_ms, updated_ms, level) VALUES ('%s', 'landslide', %lld, %lld, %lld,"
	      " %lld, %d)",
	      id, (long long)updated, (long long)updated, (long long)updated, (long long)updated,
	      level);
}

static void draft(struct db *db, const char *alert_id, const char *state, int version)
{
	execf(db,
	      "INSERT INTO alert_drafts (alert_id, version, msg_type, state, level, kind,"
	      " hazard_type, headline, situation, causes, response, trend, observed_ms,"
	      " created_ms) VALUES ('%s', %s, 'alert', '%s', 2, 'danger', 'landslide', 'h',"
	      " 's', 'c', 'r', 't', %lld, %lld)",
	      alert_id, version > 0 ? (version == 1 ? "1" : "2") : "NULL", state, (long long)NOW,
	      (long long)NOW);
}

static void delivery(struct db *db, const char *alert_id, int version, const char *channel,
		     const char *state, int64_t created)
{
	execf(db,
	      "INSERT INTO deliveries (alert_id, version, msg_type, channel, state,"
	      " next_attempt_ms, deadline_ms, idem_key, created_ms) VALUES ('%s', %d, 'alert',"
	      " '%s', '%s', %lld, %lld, '%s:%d', %lld)",
	      alert_id, version, channel, state, (long long)NOW, (long long)(NOW + DAY), alert_id,
	      version, (long long)created);
}

static void report_row(struct db *db, const char *rid, int64_t received, int64_t observed)
{
	execf(db,
	      "INSERT INTO reports (station_id, report_id, topic, raw, received_ms, observed_ms,"
	      " kind, hazard_type) VALUES ('S1', '%s', 't', x'7b7d', %lld, %lld, 'danger',"
	      " 'landslide')",
	      rid, (long long)received, (long long)observed);
}

static int setup(void **state)
{
	stest_db_make(&db_file, "stats");
	s = stest_open(db_file.path, 0);
	struct db *db = stest_raw_open(db_file.path);

	/* Open incidents: two large and a small one lately, an extra_large
	 * one that has taken nothing for 10 days (past the window). */
	incident(db, "JS-1", LEVEL_LARGE, NOW - 5 * MIN);
	incident(db, "JS-2", LEVEL_LARGE, NOW - 2 * DAY);
	incident(db, "JS-3", LEVEL_SMALL, NOW - MIN);
	incident(db, "JS-4", LEVEL_EXTRA_LARGE, NOW - 10 * DAY);
	/* One draft pending among others. */
	draft(db, "JS-1", "published", 1);
	draft(db, "JS-1", "pending", 0);
	draft(db, "JS-2", "rejected", 0);
	/* portal: 2 delivered, 1 pending for an hour (overdue), 1 sending
	 * for a minute; sms: failed today and failed a week ago. */
	delivery(db, "JS-1", 1, "portal", "delivered", NOW - DAY);
	delivery(db, "JS-2", 1, "portal", "delivered", NOW - DAY);
	delivery(db, "JS-3", 1, "portal", "pending", NOW - 60 * MIN);
	delivery(db, "JS-4", 1, "portal", "sending", NOW - MIN);
	delivery(db, "JS-1", 1, "sms \"x\"", "failed", NOW - 2 * 60 * MIN);
	delivery(db, "JS-2", 1, "sms \"x\"", "failed", NOW - 7 * DAY);
	/* Reports: one observed 8 days before it came today (old), one on
	 * time, one old one that came 3 days ago (outside the window). The
	 * writer counts the old ones in report_counts as it stores them. */
	report_row(db, "r1", NOW - 10 * MIN, NOW - 8 * DAY);
	report_row(db, "r2", NOW - 10 * MIN, NOW - 11 * MIN);
	report_row(db, "r3", NOW - 3 * DAY, NOW - 11 * DAY);
	db_close(db);
	assert_int_equal(store_stats_old_observed_add(s, NOW - 10 * MIN, 1), GA_OK);
	assert_int_equal(store_stats_old_observed_add(s, NOW - 3 * DAY, 1), GA_OK);
	return 0;
}

static int teardown(void **state)
{
	store_close(s);
	stest_db_remove(&db_file);
	return 0;
}

static void test_incidents_by_level(void **state)
{
	int64_t n[LEVEL_COUNT];
	/* The 72 h window. */
	assert_int_equal(store_stats_incidents(s, NOW - 3 * DAY, n), GA_OK);
	assert_int_equal(n[LEVEL_SMALL], 1);
	assert_int_equal(n[LEVEL_MEDIUM], 0);
	assert_int_equal(n[LEVEL_LARGE], 2);
	assert_int_equal(n[LEVEL_EXTRA_LARGE], 0);
	/* A shorter window leaves out JS-2; a longer one takes in JS-4. */
	assert_int_equal(store_stats_incidents(s, NOW - DAY, n), GA_OK);
	assert_int_equal(n[LEVEL_LARGE], 1);
	assert_int_equal(store_stats_incidents(s, NOW - 30 * DAY, n), GA_OK);
	assert_int_equal(n[LEVEL_EXTRA_LARGE], 1);
}

static void test_drafts_pending(void **state)
{
	int64_t n = -1;
	assert_int_equal(store_stats_drafts_pending(s, &n), GA_OK);
	assert_int_equal(n, 1);
}

struct seen {
	char line[16][96];
	int n;
};

static bool seen_cb(const char *channel, enum store_stats_state st, int64_t n, void *arg)
{
	struct seen *x = arg;
	assert_true(x->n < 16);
	snprintf(x->line[x->n++], sizeof(x->line[0]), "%s/%s=%lld", channel,
		 store_stats_state_name(st), (long long)n);
	return true;
}

static bool stop_cb(const char *channel, enum store_stats_state st, int64_t n, void *arg)
{
	(*(int *)arg)++;
	return false;
}

static void test_deliveries_by_channel_and_state(void **state)
{
	struct seen x = {.n = 0};
	assert_int_equal(store_stats_deliveries(s, seen_cb, &x), GA_OK);
	assert_int_equal(x.n, 4);
	assert_string_equal(x.line[0], "portal/delivered=2");
	assert_string_equal(x.line[1], "portal/pending=1");
	assert_string_equal(x.line[2], "portal/sending=1");
	assert_string_equal(x.line[3], "sms \"x\"/failed=2");
	int calls = 0;
	assert_int_equal(store_stats_deliveries(s, stop_cb, &calls), GA_OK);
	assert_int_equal(calls, 1);
	/* and the statement is reusable after a stop */
	x.n = 0;
	assert_int_equal(store_stats_deliveries(s, seen_cb, &x), GA_OK);
	assert_int_equal(x.n, 4);
}

static void test_backlog(void **state)
{
	struct store_backlog b;
	/* overdue: unfinished and made more than 10 min ago */
	assert_int_equal(store_stats_backlog(s, NOW - 10 * MIN, NOW - DAY, &b), GA_OK);
	assert_int_equal(b.unfinished, 2);
	assert_int_equal(b.overdue, 1);
	assert_int_equal(b.oldest_created_ms, NOW - 60 * MIN);
	assert_int_equal(b.failed_recent, 1);
	/* a threshold of 2 h: nothing overdue; failed over 8 days: both */
	assert_int_equal(store_stats_backlog(s, NOW - 120 * MIN, NOW - 8 * DAY, &b), GA_OK);
	assert_int_equal(b.overdue, 0);
	assert_int_equal(b.failed_recent, 2);
}

static void test_old_reports(void **state)
{
	int64_t n = -1;
	assert_int_equal(store_stats_old_reports(s, NOW - DAY, 7 * DAY, &n), GA_OK);
	assert_int_equal(n, 1); /* r1; r3 came too long ago */
	assert_int_equal(store_stats_old_reports(s, NOW - 4 * DAY, 7 * DAY, &n), GA_OK);
	assert_int_equal(n, 2);
	/* Counts of one minute add up in one row; the window starts at the
	 * minute since_ms is in. */
	assert_int_equal(store_stats_old_observed_add(s, NOW - 10 * MIN + 59999, 2), GA_OK);
	assert_int_equal(store_stats_old_reports(s, NOW - DAY, 7 * DAY, &n), GA_OK);
	assert_int_equal(n, 3);
	assert_int_equal(store_stats_old_reports(s, NOW - 10 * MIN + 30000, 7 * DAY, &n), GA_OK);
	assert_int_equal(n, 3);
	assert_int_equal(store_stats_old_reports(s, NOW - 9 * MIN, 7 * DAY, &n), GA_OK);
	assert_int_equal(n, 0);
	struct db *db = stest_raw_open(db_file.path);
	assert_int_equal(stest_raw_int(db, "SELECT count(*) FROM report_counts"), 2);
	db_close(db);
}

/* The ledger's counts follow every change of a row's state, its
 * deletion and a second channel, as a GROUP BY over the rows would. */
static void test_delivery_counts_follow_the_ledger(void **state)
{
	struct db *db = stest_raw_open(db_file.path);
	stest_raw_exec(db, "UPDATE deliveries SET state = 'sending' WHERE state = 'pending'");
	stest_raw_exec(db, "UPDATE deliveries SET state = 'delivered' WHERE state = 'sending'");
	stest_raw_exec(db, "UPDATE deliveries SET attempts = attempts + 1"); /* no state change */
	stest_raw_exec(db, "UPDATE deliveries SET channel = 'web' WHERE alert_id = 'JS-1'"
			   " AND channel = 'portal'");
	delivery(db, "JS-5", 1, "portal", "pending", NOW);
	stest_raw_exec(db, "DELETE FROM deliveries WHERE alert_id = 'JS-2' AND channel = 'portal'");
	assert_int_equal(stest_raw_int(db, "SELECT count(*) FROM (SELECT channel, state, count(*)"
					   " AS n FROM deliveries GROUP BY channel, state"
					   " EXCEPT SELECT channel, state, n FROM delivery_counts"
					   " WHERE n > 0) AS d"),
			 0);
	assert_int_equal(stest_raw_int(db, "SELECT count(*) FROM (SELECT channel, state, n"
					   " FROM delivery_counts WHERE n > 0 EXCEPT"
					   " SELECT channel, state, count(*) FROM deliveries"
					   " GROUP BY channel, state) AS d"),
			 0);
	struct seen x = {.n = 0};
	assert_int_equal(store_stats_deliveries(s, seen_cb, &x), GA_OK);
	assert_int_equal(x.n, 4);
	assert_string_equal(x.line[0], "portal/delivered=2");
	assert_string_equal(x.line[1], "portal/pending=1");
	assert_string_equal(x.line[2], "sms \"x\"/failed=2");
	assert_string_equal(x.line[3], "web/delivered=1");
	db_close(db);
}

/* VM steps of every statement /metrics and /healthz run. */
static long long stats_steps(void)
{
	static const enum store_stmt_id ids[] = {STMT_STATS_INCIDENTS, STMT_STATS_DRAFTS_PENDING,
						 STMT_STATS_DELIVERIES, STMT_STATS_BACKLOG,
						 STMT_STATS_OLD_REPORTS};
	int64_t n[LEVEL_COUNT], k;
	struct store_backlog b;
	struct seen x = {.n = 0};
	long long steps = 0;

	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
		sqlite3_stmt_status(db_sqlite_stmt(s->stmt[ids[i]]), SQLITE_STMTSTATUS_VM_STEP, 1);
	assert_int_equal(store_stats_incidents(s, NOW - 3 * DAY, n), GA_OK);
	assert_int_equal(store_stats_drafts_pending(s, &k), GA_OK);
	assert_int_equal(store_stats_deliveries(s, seen_cb, &x), GA_OK);
	assert_int_equal(store_stats_backlog(s, NOW - 10 * MIN, NOW - DAY, &b), GA_OK);
	assert_int_equal(store_stats_old_reports(s, NOW - DAY, 7 * DAY, &k), GA_OK);
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
		steps += sqlite3_stmt_status(db_sqlite_stmt(s->stmt[ids[i]]),
					     SQLITE_STMTSTATUS_VM_STEP, 1);
	return steps;
}

/* The size check of issue 15: a scrape's statements do the same work
 * (VM steps) after 50,000 more reports of the last day, rejections,
 * finished deliveries, published and rejected drafts and idle
 * incidents, and none of their query plans reads a whole table that
 * grows with the data. */
static void test_scrape_does_not_read_the_data(void **state)
{
	/* SQLite only: it counts SQLite's VM steps and reads SQLite's query
	 * plans (PostgreSQL has neither; its plans are not checked here). */
	if (stest_pg())
		skip();
	long long before = stats_steps();
	struct db *db = stest_raw_open(db_file.path);
	stest_raw_exec(db, "BEGIN");
	execf(db,
	      "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 50000)"
	      " INSERT INTO reports (station_id, report_id, topic, raw, received_ms, observed_ms,"
	      " kind, hazard_type, incident_id) SELECT 'S2', 'bulk-' || i, 't', x'7b7d',"
	      " %lld + i, %lld, 'danger', 'landslide', 'JS-1' FROM c",
	      (long long)(NOW - 10 * MIN), (long long)(NOW - 9 * DAY));
	execf(db,
	      "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 20000)"
	      " INSERT INTO rejected (topic, raw, received_ms, reasons) SELECT 't', x'00',"
	      " %lld + i, '[]' FROM c",
	      (long long)(NOW - 10 * MIN));
	execf(db,
	      "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 5000)"
	      " INSERT INTO incidents (id, hazard_type, first_observed_ms, last_observed_ms,"
	      " created_ms, updated_ms, level) SELECT 'OLD-' || i, 'landslide', 0, 0, 0, %lld, 2"
	      " FROM c",
	      (long long)(NOW - 30 * DAY));
	execf(db, "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 5000)"
		  " INSERT INTO alert_drafts (alert_id, version, msg_type, state, level, kind,"
		  " hazard_type, headline, situation, causes, response, trend, observed_ms,"
		  " created_ms) SELECT 'OLD-' || i, CASE WHEN i %% 2 = 1 THEN 1 END, 'alert',"
		  " CASE WHEN i %% 2 = 1 THEN 'published' ELSE 'rejected' END, 2, 'danger',"
		  " 'landslide', 'h', 's', 'c', 'r', 't', 0, 0 FROM c");
	execf(db,
	      "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 20000)"
	      " INSERT INTO deliveries (alert_id, version, msg_type, channel, state,"
	      " next_attempt_ms, deadline_ms, idem_key, created_ms) SELECT 'OLD-' || (i / 4 + 1),"
	      " 1, 'alert', 'ch' || (i %% 4), CASE WHEN i %% 50 <> 0 THEN 'delivered' ELSE 'failed'"
	      " END, 0, 0, 'k' || i, %lld FROM c",
	      (long long)(NOW - 30 * DAY));
	stest_raw_exec(db, "COMMIT");
	assert_int_equal(store_stats_old_observed_add(s, NOW - 10 * MIN, 50000), GA_OK);
	long long after = stats_steps();
	/* The new channels add their rows to the deliveries gauge (4 x 2
	 * states): a few dozen steps, where reading the rows would take
	 * 100,000 and more. */
	print_message("VM steps of a scrape: %lld before, %lld after\n", before, after);
	assert_true(after - before < 100);

	static const enum store_stmt_id ids[] = {STMT_STATS_INCIDENTS, STMT_STATS_DRAFTS_PENDING,
						 STMT_STATS_DELIVERIES, STMT_STATS_BACKLOG,
						 STMT_STATS_OLD_REPORTS};
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		char sql[2048];
		snprintf(sql, sizeof(sql), "EXPLAIN QUERY PLAN %s", store_stmt_sql[ids[i]]);
		struct db_stmt *st = stest_raw_prepare(db, sql);
		while (db_step(st) == DB_ROW) {
			const char *d = db_column_text(st, 3);
			/* "SCAN t" reads the table; "SEARCH t USING INDEX" a
			 * range. Allowed: the summary table, and the partial
			 * index of unfinished deliveries (open items only). */
			if (strncmp(d, "SCAN ", 5) == 0 && strcmp(d, "SCAN CONSTANT ROW") != 0 &&
			    strstr(d, "delivery_counts") == NULL &&
			    strstr(d, "USING INDEX deliveries_due") == NULL)
				fail_msg("%s: %s", store_stmt_sql[ids[i]], d);
		}
		db_finalize(st);
	}
	db_close(db);
}

static void test_state_names(void **state)
{
	for (int i = 0; i < STORE_STATS_STATE_COUNT; i++)
		assert_int_equal(store_stats_state_from_name(store_stats_state_name(i)), i);
	assert_int_equal(store_stats_state_from_name("done"), -1);
	assert_int_equal(store_stats_state_from_name(NULL), -1);
	assert_null(store_stats_state_name(STORE_STATS_STATE_COUNT));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_incidents_by_level),
	    cmocka_unit_test(test_drafts_pending),
	    cmocka_unit_test(test_deliveries_by_channel_and_state),
	    cmocka_unit_test(test_backlog),
	    cmocka_unit_test(test_old_reports),
	    cmocka_unit_test(test_state_names),
	    cmocka_unit_test(test_delivery_counts_follow_the_ledger),
	    cmocka_unit_test(test_scrape_does_not_read_the_data),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
