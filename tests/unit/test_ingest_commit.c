/* test_ingest_commit.c - the business step of ingest on its own, on a
 * real store inside a transaction as the writer runs it: an accepted
 * report gets an incident and its receipt in the outbox; the same report
 * again is a duplicate of that incident; a rejection is stored with its
 * reasons; an incident_id that names no open incident turns the report
 * into a rejection (the step adds the error); no receipt topic, no
 * outbox row. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "classify.h"
#include "incident.h"
#include "ingest_commit.h"
#include "store.h"
#include "store_testutil.h"

struct fixture {
	struct stest_fixture st; /* first: a pointer to it is one to st */
	struct thresholds *t;
	struct incident_rules rules;
	pthread_rwlock_t lock;
	struct ingest_commit c;
};

static int64_t t0;

static int setup(void **state)
{
	struct fixture *f = stest_fixture_new(sizeof(*f), "ingest-commit", true);
	char err[512] = "";

	if (thresholds_load(NULL, &f->t, err, sizeof(err)) != GA_OK)
		fprintf(stderr, "thresholds_load: %s\n", err);
	assert_non_null(f->t);
	incident_rules_default(&f->rules);
	pthread_rwlock_init(&f->lock, NULL);
	f->c = (struct ingest_commit){.store = f->st.s,
				      .lock = &f->lock,
				      .rules = &f->rules,
				      .thresholds = &f->t,
				      .wf = NULL, /* no templates: no drafts */
				      .utc_offset_min = 480};
	struct tm tm = {.tm_year = 2026 - 1900, .tm_mon = 10, .tm_mday = 26, .tm_hour = 6};
	t0 = (int64_t)timegm(&tm) * 1000;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	thresholds_free(f->t);
	pthread_rwlock_destroy(&f->lock);
	return stest_teardown(state);
}

static void mk(struct report *r, const char *report_id)
{
	memset(r, 0, sizeof(*r));
	r->report_id = report_id;
	r->station_id = "JS-0001";
	r->kind = KIND_DANGER;
	r->hazard_type = HAZARD_LANDSLIDE;
	r->observed_at_ms = t0;
	r->observed_offset_min = 480;
	r->has_point = true;
	r->lon = 118.62;
	r->lat = 32.06;
	snprintf(r->admin_code, sizeof(r->admin_code), "320111");
}

static void item(struct ingest_writer_item *it, struct report *r, const char *report_id,
		 const char *receipt_topic)
{
	memset(it, 0, sizeof(*it));
	it->topic = "geohazard/v1/reports/JS-0001";
	it->raw = "{}";
	it->rawlen = it->raw_total = 2;
	it->received_ms = t0 + 1000;
	it->report = r;
	it->receipt_topic = receipt_topic;
	it->report_id = report_id;
}

/* Runs the step in its own transaction, committed. */
static ga_err run(struct fixture *f, struct ingest_writer_item *it)
{
	assert_int_equal(store_begin(f->st.s), GA_OK);
	ga_err e = ingest_commit_item(&f->c, it);
	if (e == GA_OK)
		assert_int_equal(store_commit(f->st.s), GA_OK);
	else
		store_rollback(f->st.s);
	return e;
}

static bool count(int64_t id, const char *broker, const char *topic, const char *payload, void *arg)
{
	(void)id;
	(void)broker;
	(void)topic;
	(void)payload;
	(*(int64_t *)arg)++;
	return true;
}

static int64_t noutbox(struct fixture *f)
{
	int64_t n = 0;
	assert_int_equal(store_outbox_each(f->st.s, count, &n), GA_OK);
	return n;
}

static void test_accepted_then_duplicate(void **state)
{
	struct fixture *f = *state;
	struct report r;
	struct ingest_writer_item it;
	int64_t accepted = -1, rejected = -1, incidents = -1;

	mk(&r, "r-1");
	item(&it, &r, "r-1", "geohazard/v1/receipts/JS-0001");
	assert_int_equal(run(f, &it), GA_OK);
	assert_int_equal(it.status, WRITER_ACCEPTED);
	assert_true(it.incident_id[0] != '\0');
	assert_true(it.level >= 0);
	assert_false(it.draft_made);
	assert_non_null(it.receipt);
	assert_non_null(strstr(it.receipt, "\"accepted\""));
	assert_non_null(strstr(it.receipt, it.incident_id));
	assert_true(it.outbox_id > 0);
	assert_int_equal(noutbox(f), 1);
	char incident[sizeof(it.incident_id)];
	snprintf(incident, sizeof(incident), "%s", it.incident_id);
	free(it.receipt);

	/* the same report again: a duplicate of the same incident, receipted */
	mk(&r, "r-1");
	item(&it, &r, "r-1", "geohazard/v1/receipts/JS-0001");
	assert_int_equal(run(f, &it), GA_OK);
	assert_int_equal(it.status, WRITER_DUPLICATE);
	assert_string_equal(it.incident_id, incident);
	assert_non_null(strstr(it.receipt, "\"duplicate\""));
	assert_int_equal(noutbox(f), 2);
	free(it.receipt);

	assert_int_equal(store_count(f->st.s, &accepted, &rejected, &incidents), GA_OK);
	assert_int_equal(accepted, 1);
	assert_int_equal(rejected, 0);
	assert_int_equal(incidents, 1);
}

static void test_rejected(void **state)
{
	struct fixture *f = *state;
	struct ingest_writer_item it;
	struct report_errors errs = {0};
	int64_t accepted = -1, rejected = -1;

	report_errors_add(&errs, "/observed_at", "required", "missing");
	item(&it, NULL, "r-2", "geohazard/v1/receipts/JS-0001");
	it.errs = &errs;
	assert_int_equal(run(f, &it), GA_OK);
	assert_int_equal(it.status, WRITER_REJECTED);
	assert_string_equal(it.incident_id, "");
	assert_int_equal(it.level, -1);
	assert_non_null(strstr(it.receipt, "\"rejected\""));
	assert_non_null(strstr(it.receipt, "/observed_at"));
	free(it.receipt);
	assert_int_equal(store_count(f->st.s, &accepted, &rejected, NULL), GA_OK);
	assert_int_equal(accepted, 0);
	assert_int_equal(rejected, 1);
}

static void test_unknown_incident_is_rejected(void **state)
{
	struct fixture *f = *state;
	struct report r;
	struct ingest_writer_item it;
	int64_t accepted = -1, rejected = -1;

	mk(&r, "r-3");
	r.incident_id = "JS-20261126-9999";
	item(&it, &r, "r-3", "geohazard/v1/receipts/JS-0001");
	assert_int_equal(run(f, &it), GA_OK);
	assert_int_equal(it.status, WRITER_REJECTED);
	assert_null(it.report);
	assert_non_null(it.errs); /* made by the step: the caller frees it */
	assert_non_null(strstr(it.receipt, "unknown_incident"));
	free(it.receipt);
	free(it.errs);
	assert_int_equal(store_count(f->st.s, &accepted, &rejected, NULL), GA_OK);
	assert_int_equal(accepted, 0);
	assert_int_equal(rejected, 1);
}

static void test_no_receipt_topic_no_outbox_row(void **state)
{
	struct fixture *f = *state;
	struct report r;
	struct ingest_writer_item it;

	mk(&r, "r-4");
	item(&it, &r, "r-4", "");
	assert_int_equal(run(f, &it), GA_OK);
	assert_int_equal(it.status, WRITER_ACCEPTED);
	assert_non_null(it.receipt); /* built, not stored */
	assert_int_equal(it.outbox_id, 0);
	assert_int_equal(noutbox(f), 0);
	free(it.receipt);
}

/* A group committed as the writer does (ingest_commit_prefind, then each
 * item, one transaction): a report stored before the group, a new one
 * and its repeat inside the group, one naming an unknown incident and its
 * repeat. The answers are those of the per-report lookup: duplicate with
 * the stored incident, accepted then duplicate of the same incident,
 * rejected twice. */
static void test_group_duplicates(void **state)
{
	struct fixture *f = *state;
	struct report r[6];
	struct ingest_writer_item it[6];
	int64_t accepted = -1, rejected = -1;
	const char *ids[6] = {"g-1", "g-1", "g-2", "g-2", "g-3", "g-3"};

	mk(&r[0], "g-1");
	item(&it[0], &r[0], "g-1", "geohazard/v1/receipts/JS-0001");
	assert_int_equal(run(f, &it[0]), GA_OK);
	assert_int_equal(it[0].status, WRITER_ACCEPTED);
	char first[sizeof(it[0].incident_id)];
	snprintf(first, sizeof(first), "%s", it[0].incident_id);
	free(it[0].receipt);

	for (int i = 0; i < 6; i++) {
		mk(&r[i], ids[i]);
		if (i >= 4)
			r[i].incident_id = "JS-20261126-9999";
		item(&it[i], &r[i], ids[i], "geohazard/v1/receipts/JS-0001");
		it[i].next = i + 1 < 6 ? &it[i + 1] : NULL;
	}
	it[0].next = &it[1]; /* g-1 stored before: the group is it[1..5] */
	assert_int_equal(store_begin(f->st.s), GA_OK);
	ingest_commit_prefind(&f->c, &it[1]);
	assert_int_equal(it[1].stored, WRITER_FOUND_STORED);
	assert_int_equal(it[2].stored, WRITER_FOUND_NEW);
	assert_ptr_equal(it[3].same, &it[2]);
	assert_ptr_equal(it[5].same, &it[4]);
	for (int i = 1; i < 6; i++)
		assert_int_equal(ingest_commit_item(&f->c, &it[i]), GA_OK);
	assert_int_equal(store_commit(f->st.s), GA_OK);

	assert_int_equal(it[1].status, WRITER_DUPLICATE);
	assert_string_equal(it[1].incident_id, first);
	assert_non_null(strstr(it[1].receipt, "\"duplicate\""));
	assert_int_equal(it[2].status, WRITER_ACCEPTED);
	assert_int_equal(it[3].status, WRITER_DUPLICATE);
	assert_string_equal(it[3].incident_id, it[2].incident_id);
	assert_int_equal(it[3].level, it[2].level);
	assert_int_equal(it[4].status, WRITER_REJECTED);
	assert_int_equal(it[5].status, WRITER_REJECTED);
	for (int i = 1; i < 6; i++) {
		free(it[i].receipt);
		free(it[i].errs);
	}
	assert_int_equal(store_count(f->st.s, &accepted, &rejected, NULL), GA_OK);
	assert_int_equal(accepted, 2);
	assert_int_equal(rejected, 2);
	assert_int_equal(noutbox(f), 6);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_accepted_then_duplicate, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rejected, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unknown_incident_is_rejected, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_no_receipt_topic_no_outbox_row, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_group_duplicates, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
