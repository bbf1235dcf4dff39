/* test_store_defer.c - the writer's deferred writes (store_defer_writes,
 * db_pg_pipe.c): on PostgreSQL sent in the connection's pipeline and
 * answered with the next read or the commit; on SQLite run at once, as
 * without the switch. What must hold on PostgreSQL: a read sees the
 * writes deferred before it; the outbox id is there after the commit; a
 * deferred failure (a duplicate report, an unknown incident, a refused
 * row) fails the next read and the commit, nothing of the transaction is
 * stored and the next one works; a rollback drops what was deferred; a
 * connection lost with writes in the pipeline fails the commit; more
 * writes than the pipeline holds at once are all stored. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "store.h"
#include "store_testutil.h"

#define TOPIC "geohazard/v1/receipts/S1"

static int setup(void **state)
{
	struct stest_fixture *f = stest_fixture_new(sizeof(*f), "defer", true);

	store_defer_writes(f->s, true);
	*state = f;
	return 0;
}

static ga_err put(struct store *s, const char *station, const char *id)
{
	struct report r = {.station_id = station,
			   .report_id = id,
			   .kind = KIND_DANGER,
			   .hazard_type = HAZARD_LANDSLIDE,
			   .observed_at_ms = 1000};

	snprintf(r.admin_code, sizeof(r.admin_code), "320111");
	snprintf(r.hazard_point_id, sizeof(r.hazard_point_id), "HP-1");
	return store_report_put(s, &r, "geohazard/v1/reports/ST1", "{}", 2, 1000, NULL,
				LEVEL_SMALL);
}

static int64_t reports(struct store *s)
{
	int64_t n = -1;

	assert_int_equal(store_count(s, &n, NULL, NULL), GA_OK);
	return n;
}

/* The path of a report: its insert, a read after it, its receipt. */
static void test_defer_then_read_and_commit(void **state)
{
	struct stest_fixture *f = *state;
	char inc[INCIDENT_ID_MAX];
	int level;
	int64_t a = 0, b = 0;

	assert_int_equal(store_begin(f->s), GA_OK);
	assert_int_equal(put(f->s, "ST1", "r-1"), GA_OK);
	/* The read follows the insert in the pipeline: it sees it. */
	assert_int_equal(store_report_find(f->s, "ST1", "r-1", inc, &level), GA_OK);
	assert_int_equal(store_outbox_put(f->s, "b", TOPIC, "{\"n\":1}", 1, &a), GA_OK);
	assert_int_equal(put(f->s, "ST1", "r-2"), GA_OK);
	assert_int_equal(store_outbox_put(f->s, "b", TOPIC, "{\"n\":2}", 2, &b), GA_OK);
	assert_int_equal(store_commit(f->s), GA_OK);
	/* The ids, written when the answers were read. */
	assert_true(a > 0);
	assert_int_equal(b, a + 1);
	assert_int_equal(reports(f->s), 2);
	assert_int_equal(store_report_find(f->s, "ST1", "r-2", inc, &level), GA_OK);
}

/* A duplicate insert: deferred on PostgreSQL, where it fails the
 * transaction instead of answering GA_ERR_DUPLICATE. */
static void test_defer_duplicate_fails_commit(void **state)
{
	struct stest_fixture *f = *state;
	char inc[INCIDENT_ID_MAX];
	int level;

	assert_int_equal(store_begin(f->s), GA_OK);
	assert_int_equal(put(f->s, "ST1", "r-1"), GA_OK);
	assert_int_equal(store_commit(f->s), GA_OK);

	assert_int_equal(store_begin(f->s), GA_OK);
	assert_int_equal(put(f->s, "ST1", "r-1"), stest_pg() ? GA_OK : GA_ERR_DUPLICATE);
	assert_int_equal(put(f->s, "ST1", "r-2"), GA_OK);
	if (stest_pg()) {
		/* The next read answers the failure, never as a duplicate or
		 * as "not found", and so does the commit. */
		assert_int_equal(store_report_find(f->s, "ST1", "r-3", inc, &level), GA_ERR_DB);
		assert_int_equal(store_commit(f->s), GA_ERR_DB);
		assert_int_equal(reports(f->s), 1);
	} else {
		assert_int_equal(store_commit(f->s), GA_OK);
		assert_int_equal(reports(f->s), 2);
	}
	/* The next transaction works. */
	assert_int_equal(store_begin(f->s), GA_OK);
	assert_int_equal(put(f->s, "ST1", "r-4"), GA_OK);
	assert_int_equal(store_commit(f->s), GA_OK);
	assert_int_equal(store_report_find(f->s, "ST1", "r-4", inc, &level), GA_OK);
}

/* An update of an incident that is not there: GA_ERR_NOTFOUND at once on
 * SQLite, a failed commit on PostgreSQL. */
static void test_defer_update_unknown(void **state)
{
	struct stest_fixture *f = *state;
	struct incident in = {.hazard_type = HAZARD_LANDSLIDE, .level = LEVEL_SMALL, .open = true};

	snprintf(in.id, sizeof(in.id), "JS-19700101-0099");
	assert_int_equal(store_begin(f->s), GA_OK);
	assert_int_equal(put(f->s, "ST1", "r-1"), GA_OK);
	assert_int_equal(store_incident_update(f->s, &in), stest_pg() ? GA_OK : GA_ERR_NOTFOUND);
	if (stest_pg())
		assert_int_equal(store_commit(f->s), GA_ERR_DB);
	else
		assert_int_equal(store_rollback(f->s), GA_OK);
	assert_int_equal(reports(f->s), 0);
}

/* A row the server refuses (a receipt without a topic: NOT NULL): the
 * server's failure, reported by the commit on PostgreSQL. */
static void test_defer_server_failure(void **state)
{
	struct stest_fixture *f = *state;
	int64_t id = 0;

	assert_int_equal(store_begin(f->s), GA_OK);
	assert_int_equal(put(f->s, "ST1", "r-1"), GA_OK);
	if (stest_pg()) {
		assert_int_equal(store_outbox_put(f->s, "b", NULL, "{}", 1, &id), GA_OK);
		assert_int_equal(put(f->s, "ST1", "r-2"), GA_OK);
		assert_int_equal(store_commit(f->s), GA_ERR_DB);
		assert_int_equal(id, 0);
	} else {
		assert_int_equal(store_outbox_put(f->s, "b", NULL, "{}", 1, &id), GA_ERR_DB);
		assert_int_equal(store_rollback(f->s), GA_OK);
	}
	assert_int_equal(reports(f->s), 0);
	assert_int_equal(store_begin(f->s), GA_OK);
	assert_int_equal(put(f->s, "ST1", "r-3"), GA_OK);
	assert_int_equal(store_commit(f->s), GA_OK);
	assert_int_equal(reports(f->s), 1);
}

/* A rollback drops what was deferred, and writes no id. */
static void test_defer_rollback(void **state)
{
	struct stest_fixture *f = *state;
	int64_t id = 0;

	assert_int_equal(store_begin(f->s), GA_OK);
	assert_int_equal(put(f->s, "ST1", "r-1"), GA_OK);
	assert_int_equal(store_outbox_put(f->s, "b", TOPIC, "{}", 1, &id), GA_OK);
	assert_int_equal(store_rollback(f->s), GA_OK);
	if (stest_pg())
		assert_int_equal(id, 0);
	assert_int_equal(reports(f->s), 0);
	assert_int_equal(store_begin(f->s), GA_OK);
	assert_int_equal(put(f->s, "ST1", "r-1"), GA_OK);
	assert_int_equal(store_commit(f->s), GA_OK);
	assert_int_equal(reports(f->s), 1);
}

/* More deferred writes than the pipeline holds at once (DB_PG_PENDING_MAX,
 * 128): collected on the way, all stored, every id in order. */
static void test_defer_many(void **state)
{
	struct stest_fixture *f = *state;
	enum { N = 300 };
	static int64_t id[N];

	assert_int_equal(store_begin(f->s), GA_OK);
	for (int i = 0; i < N; i++)
		assert_int_equal(store_outbox_put(f->s, "b", TOPIC, "{}", i, &id[i]), GA_OK);
	assert_int_equal(store_commit(f->s), GA_OK);
	for (int i = 1; i < N; i++)
		assert_int_equal(id[i], id[i - 1] + 1);
	assert_true(id[0] > 0);
}

/* An open landslide incident of small level observed at 1000 ms, not
 * stored yet. */
static struct incident small_incident(void)
{
	return (struct incident){.hazard_type = HAZARD_LANDSLIDE,
				 .level = LEVEL_SMALL,
				 .open = true,
				 .first_observed_ms = 1000,
				 .last_observed_ms = 1000,
				 .created_ms = 1000,
				 .updated_ms = 1000};
}

/* One station's figures (out NULL: recorded only) with .set for the
 * figures given. */
static void fold(struct store *s, const char *inc, const char *station, int64_t t, double deaths,
		 double injured)
{
	struct figures fg = {.set = 1u << FIG_DEATHS};

	fg.value[FIG_DEATHS] = deaths;
	if (injured >= 0) {
		fg.value[FIG_INJURED] = injured;
		fg.set |= 1u << FIG_INJURED;
	}
	assert_int_equal(store_incident_fold_figures(s, inc, station, t, &fg, NULL), GA_OK);
}

/* The figures of a group, batched on PostgreSQL (store_stmt_batch_pg:
 * one statement for many, the rows of one station and figure reduced to
 * one first): the same as row by row on SQLite. Per (station, figure)
 * the latest observation wins, of equal ones the last given; an older
 * one changes nothing, within the group or against a stored row; the
 * read (the incident's max) sees the rows gathered before it. */
static void test_defer_figures(void **state)
{
	struct stest_fixture *f = *state;
	struct incident in = small_incident();
	struct figures out;

	assert_int_equal(store_begin(f->s), GA_OK);
	assert_int_equal(store_incident_insert(f->s, &in, "JS", 480), GA_OK);
	fold(f->s, in.id, "ST1", 5, 1, -1);
	fold(f->s, in.id, "ST1", 6, 2, 20);
	fold(f->s, in.id, "ST1", 6, 3, -1); /* equal time: the last given */
	fold(f->s, in.id, "ST1", 4, 9, 90); /* older: nothing */
	fold(f->s, in.id, "ST2", 1, 0.5, 7);
	for (int i = 0; i < 300; i++) /* past a batch's 128 rows */
		fold(f->s, in.id, "ST3", 100 + i, 0.25, i);
	memset(&out, 0, sizeof out);
	assert_int_equal(store_incident_fold_figures(f->s, in.id, "ST4", 1, NULL, &out), GA_OK);
	assert_true(out.set & (1u << FIG_DEATHS));
	assert_true(out.value[FIG_DEATHS] == 3);
	assert_true(out.value[FIG_INJURED] == 299);
	assert_int_equal(store_commit(f->s), GA_OK);

	assert_int_equal(store_begin(f->s), GA_OK);
	fold(f->s, in.id, "ST1", 5, 100, 100); /* older than the stored: nothing */
	fold(f->s, in.id, "ST2", 2, 4, -1);
	fold(f->s, in.id, "ST3", 399, 0.5, 5); /* equal to the stored: it wins */
	assert_int_equal(store_commit(f->s), GA_OK);
	memset(&out, 0, sizeof out);
	assert_int_equal(store_begin(f->s), GA_OK);
	assert_int_equal(store_incident_fold_figures(f->s, in.id, "ST4", 1, NULL, &out), GA_OK);
	assert_int_equal(store_commit(f->s), GA_OK);
	assert_true(out.value[FIG_DEATHS] == 4);
	assert_true(out.value[FIG_INJURED] == 20);
}

/* A group of reports past a batch's 128 rows, with a read between: all
 * stored, the read seeing those before it. */
static void test_defer_many_reports(void **state)
{
	struct stest_fixture *f = *state;
	char id[32], inc[INCIDENT_ID_MAX];
	int level;

	assert_int_equal(store_begin(f->s), GA_OK);
	for (int i = 0; i < 300; i++) {
		snprintf(id, sizeof id, "r-%d", i);
		assert_int_equal(put(f->s, i % 2 ? "ST1" : "ST2", id), GA_OK);
		if (i == 200)
			assert_int_equal(store_report_find(f->s, "ST1", "r-199", inc, &level),
					 GA_OK);
	}
	assert_int_equal(store_commit(f->s), GA_OK);
	assert_int_equal(reports(f->s), 300);
	assert_int_equal(store_report_find(f->s, "ST2", "r-298", inc, &level), GA_OK);
}

/* An incident updated twice in one group (written through, then at the
 * group's end): batched on PostgreSQL (a key: two statements, in order),
 * the later update is what stays, as on SQLite. */
static void test_defer_update_twice(void **state)
{
	struct stest_fixture *f = *state;
	struct incident in = small_incident(), out;

	assert_int_equal(store_begin(f->s), GA_OK);
	assert_int_equal(store_incident_insert(f->s, &in, "JS", 480), GA_OK);
	assert_int_equal(store_commit(f->s), GA_OK);

	assert_int_equal(store_begin(f->s), GA_OK);
	in.nreports = 1;
	in.last_observed_ms = 2000;
	assert_int_equal(store_incident_update(f->s, &in), GA_OK);
	in.nreports = 2;
	in.last_observed_ms = 3000;
	in.level = LEVEL_MEDIUM;
	in.figures.value[FIG_DEATHS] = 2;
	in.figures.set = 1u << FIG_DEATHS;
	assert_int_equal(store_incident_update(f->s, &in), GA_OK);
	assert_int_equal(store_commit(f->s), GA_OK);
	assert_int_equal(store_incident_get(f->s, in.id, &out), GA_OK);
	assert_int_equal(out.nreports, 2);
	assert_int_equal(out.last_observed_ms, 3000);
	assert_int_equal(out.level, LEVEL_MEDIUM);
	assert_true((out.figures.set & (1u << FIG_DEATHS)) && out.figures.value[FIG_DEATHS] == 2);
	assert_false(out.figures.set & (1u << FIG_MISSING));
}

/* The connection killed (pg_terminate_backend) with writes in the
 * pipeline: the commit fails, nothing is stored, the next transaction
 * connects again and works. PostgreSQL only. */
static void test_defer_lost(void **state)
{
	struct stest_fixture *f = *state;
	char inc[INCIDENT_ID_MAX];
	int level;
	int64_t id = 0;

	if (!stest_pg())
		skip();
	assert_int_equal(store_begin(f->s), GA_OK);
	assert_int_equal(put(f->s, "ST1", "r-1"), GA_OK);
	/* Sent: the insert now holds a lock on this schema's reports. */
	assert_int_equal(store_report_find(f->s, "ST1", "r-1", inc, &level), GA_OK);
	assert_int_equal(put(f->s, "ST1", "r-2"), GA_OK);
	assert_int_equal(store_outbox_put(f->s, "b", TOPIC, "{}", 1, &id), GA_OK);

	struct db *raw = stest_raw_open(f->db.path);
	assert_int_equal(
	    stest_raw_int(raw, "SELECT count(pg_terminate_backend(pid)) FROM"
			       " (SELECT DISTINCT l.pid FROM pg_locks l"
			       " JOIN pg_class c ON c.oid = l.relation"
			       " JOIN pg_namespace n ON n.oid = c.relnamespace"
			       " WHERE n.nspname = current_schema()"
			       " AND c.relname = 'reports' AND l.pid <> pg_backend_pid()) p"),
	    1);
	db_close(raw);

	assert_int_not_equal(store_commit(f->s), GA_OK);
	assert_int_equal(id, 0);
	assert_int_equal(store_begin(f->s), GA_OK); /* connects again */
	assert_int_equal(put(f->s, "ST1", "r-3"), GA_OK);
	assert_int_equal(store_commit(f->s), GA_OK);
	assert_int_equal(reports(f->s), 1);
}

/* Off again: a duplicate answers GA_ERR_DUPLICATE on both backends. */
static void test_defer_off(void **state)
{
	struct stest_fixture *f = *state;

	store_defer_writes(f->s, false);
	assert_int_equal(store_begin(f->s), GA_OK);
	assert_int_equal(put(f->s, "ST1", "r-1"), GA_OK);
	assert_int_equal(put(f->s, "ST1", "r-1"), GA_ERR_DUPLICATE);
	assert_int_equal(store_commit(f->s), GA_OK);
	assert_int_equal(reports(f->s), 1);
}

/* A transaction of the writer's connection, begun while another
 * connection holds the transaction lock (its transaction open). */
struct locked_begin {
	struct store *s;
	ga_err begin, find;
};

static void *locked_begin_main(void *arg)
{
	struct locked_begin *l = arg;
	char inc[INCIDENT_ID_MAX];
	int level;

	l->begin = store_begin(l->s);
	if (l->begin == GA_OK) {
		/* The lock was sent, not waited for (PostgreSQL); this read
		 * follows it: it runs once the other commits, and sees it. */
		l->find = store_report_find(l->s, "ST9", "r-9", inc, &level);
		store_rollback(l->s);
	}
	return NULL;
}

/* The transaction lock, deferred (store_defer_writes: sent after BEGIN,
 * answered with the next read), still makes the writer wait its turn:
 * its first read sees what another connection's transaction, open when
 * the writer began, committed. */
static void test_defer_lock_waits_turn(void **state)
{
	struct stest_fixture *f = *state;
	struct store *other = stest_open(f->db.path, 0);
	struct locked_begin l = {.s = f->s, .begin = GA_ERR_INVAL, .find = GA_ERR_INVAL};
	pthread_t t;

	assert_int_equal(store_begin(other), GA_OK); /* holds the lock */
	assert_int_equal(put(other, "ST9", "r-9"), GA_OK);
	assert_int_equal(pthread_create(&t, NULL, locked_begin_main, &l), 0);
	/* Not an assertion on time: lets the writer's BEGIN and lock go out
	 * first, most runs, so that its read does wait. */
	nanosleep(&(struct timespec){.tv_nsec = 200 * 1000 * 1000}, NULL);
	assert_int_equal(store_commit(other), GA_OK);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(l.begin, GA_OK);
	assert_int_equal(l.find, GA_OK);
	store_close(other);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_defer_then_read_and_commit, setup, stest_teardown),
	    cmocka_unit_test_setup_teardown(test_defer_duplicate_fails_commit, setup,
					    stest_teardown),
	    cmocka_unit_test_setup_teardown(test_defer_update_unknown, setup, stest_teardown),
	    cmocka_unit_test_setup_teardown(test_defer_server_failure, setup, stest_teardown),
	    cmocka_unit_test_setup_teardown(test_defer_rollback, setup, stest_teardown),
	    cmocka_unit_test_setup_teardown(test_defer_many, setup, stest_teardown),
	    cmocka_unit_test_setup_teardown(test_defer_figures, setup, stest_teardown),
	    cmocka_unit_test_setup_teardown(test_defer_update_twice, setup, stest_teardown),
	    cmocka_unit_test_setup_teardown(test_defer_many_reports, setup, stest_teardown),
	    cmocka_unit_test_setup_teardown(test_defer_lost, setup, stest_teardown),
	    cmocka_unit_test_setup_teardown(test_defer_off, setup, stest_teardown),
	    cmocka_unit_test_setup_teardown(test_defer_lock_waits_turn, setup, stest_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
