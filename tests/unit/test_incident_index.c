/* test_incident_index.c - the writer's index of open incidents
 * (incident_index.h) on real SQLite stores: it gives the store's answers
 * (the same incident for every report of a mixed workload, late reports,
 * gaps, rolled-back groups and evictions included), forgets what a rolled
 * back transaction made, and keeps to its cap, past which it says
 * "unsure" instead of guessing. */
/* On both backends (unit.test_incident_index.pg): the writer keeps the
 * index on PostgreSQL too, kept true by the incidents' generation
 * against other instances (test_two_writers). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "classify.h"
#include "incident.h"
#include "incident_index.h"
#include "store.h"
#include "store_incident_recent.h"
#include "store_testutil.h"

#define HOUR_MS (3600LL * 1000)
#define LON0 118.62
#define LAT0 32.06
#define NREPORTS 600

struct fixture {
	struct stest_fixture st; /* first: a pointer to it is one to st */
	struct stest_db db2;	 /* a second store, grouped without an index */
	struct store *s2;
	struct thresholds *t;
	struct incident_rules rules;
	char ids[NREPORTS][24];
	char stations[40][16];
	char hps[12][16];
};

static int64_t t0;

static int setup(void **state)
{
	struct fixture *f = stest_fixture_new(sizeof(*f), "incident-index", true);
	char err[512] = "";

	stest_db_make(&f->db2, "incident-index2");
	f->s2 = stest_open(f->db2.path, 0);
	if (thresholds_load(NULL, &f->t, err, sizeof(err)) != GA_OK)
		fprintf(stderr, "thresholds_load: %s\n", err);
	assert_non_null(f->t);
	incident_rules_default(&f->rules);
	for (int i = 0; i < 40; i++)
		snprintf(f->stations[i], sizeof(f->stations[i]), "ST-%02d", i);
	for (int i = 0; i < 12; i++)
		snprintf(f->hps[i], sizeof(f->hps[i]), "HP-%02d", i);
	struct tm tm = {.tm_year = 2026 - 1900, .tm_mon = 10, .tm_mday = 26, .tm_hour = 6};
	t0 = (int64_t)timegm(&tm) * 1000;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	store_close(f->s2);
	stest_db_remove(&f->db2);
	thresholds_free(f->t);
	return stest_teardown(state);
}

static void mk(struct fixture *f, struct report *r, int n, int station, enum hazard_type type,
	       const char *hp, double lon, double lat, int64_t t)
{
	memset(r, 0, sizeof(*r));
	snprintf(f->ids[n], sizeof(f->ids[0]), "r-%04d", n);
	r->report_id = f->ids[n];
	r->station_id = f->stations[station];
	r->kind = n % 7 == 0 ? KIND_DISASTER : KIND_DANGER;
	r->hazard_type = type;
	r->observed_at_ms = t;
	r->observed_offset_min = 480;
	r->has_point = true;
	r->lon = lon;
	r->lat = lat;
	snprintf(r->admin_code, sizeof(r->admin_code), "320111");
	snprintf(r->hazard_point_id, sizeof(r->hazard_point_id), "%s", hp);
	r->figures.value[FIG_THREATENED_PEOPLE] = (double)(n % 50);
	r->figures.set |= 1u << FIG_THREATENED_PEOPLE;
}

/* What the writer does with one accepted report: the incident, the
 * report row. commit false: the group fails and is rolled back (and the
 * index, when there is one, discarded, as ingest_writer.c does). */
static ga_err group(struct fixture *f, struct store *s, struct incident_index *idx,
		    const struct report *r, bool commit, struct incident *inc)
{
	ga_err e;

	assert_int_equal(store_begin(s), GA_OK);
	e = incident_assign_indexed(s, idx, &f->rules, f->t, r, r->observed_at_ms + 1000, inc);
	if (e == GA_OK)
		assert_int_equal(store_report_put(s, r, "geohazard/v1/reports/x", "{}", 2,
						  r->observed_at_ms + 1000, inc->id, inc->level),
				 GA_OK);
	if (commit) {
		/* the deferred updates, as the writer writes them */
		assert_int_equal(incident_index_flush(idx, s), GA_OK);
		assert_int_equal(store_commit(s), GA_OK);
	} else {
		store_rollback(s);
		incident_index_discard(idx);
	}
	return e;
}

static uint32_t rnd_state = 12345;

static uint32_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 17;
	rnd_state ^= rnd_state << 5;
	return rnd_state;
}

/* The same reports grouped on two stores, one with the index (cap given)
 * and one without: every report joins the same incident, with the same
 * level and count. The workload mixes stations that share hazard points,
 * neighbours within and past 1000 m, two types, time running forward
 * with late reports (hours to days old: windows before the horizon,
 * reports into an incident's gap) and jumps past the windows, and a
 * rolled-back group every 23rd report. */
/* group for a report of a group of several on the store with the index:
 * its transaction opened at the group's first report (first), flushed
 * and committed at its last (last), as the writer does. */
static ga_err group_in(struct fixture *f, struct incident_index *idx, const struct report *r,
		       bool first, bool last, struct incident *inc)
{
	struct store *s = f->st.s;
	ga_err e;

	if (first)
		assert_int_equal(store_begin(s), GA_OK);
	e = incident_assign_indexed(s, idx, &f->rules, f->t, r, r->observed_at_ms + 1000, inc);
	if (e == GA_OK)
		assert_int_equal(store_report_put(s, r, "geohazard/v1/reports/x", "{}", 2,
						  r->observed_at_ms + 1000, inc->id, inc->level),
				 GA_OK);
	if (last) {
		assert_int_equal(incident_index_flush(idx, s), GA_OK);
		assert_int_equal(store_commit(s), GA_OK);
	}
	return e;
}

/* per_txn > 1: the store with the index takes the reports per_txn to a
 * transaction (the index defers the incidents' updates to the group's
 * end: incident_index_defer), none rolled back. */
static void run_workload(struct fixture *f, int cap, int per_txn)
{
	struct incident_index *idx = NULL;
	int64_t now = t0;
	int unsure_late = 0;
	/* The reports first, then the store without the index takes them all
	 * (a, each in its own transaction), then the store with it (b): on
	 * PostgreSQL the two stores share the transaction lock, which b's
	 * groups of per_txn reports hold across reports. */
	struct report *reps = calloc(NREPORTS, sizeof(*reps));
	struct incident *ref = calloc(NREPORTS, sizeof(*ref));

	assert_non_null(reps);
	assert_non_null(ref);
	assert_int_equal(incident_index_new(cap, &idx), GA_OK);
	for (int n = 0; n < NREPORTS; n++) {
		int station = (int)(rnd() % 40);
		enum hazard_type type = rnd() % 3 == 0 ? HAZARD_COLLAPSE : HAZARD_LANDSLIDE;
		const char *hp = station % 4 == 0 ? "" : f->hps[station % 12];
		/* Stations on a line west-east, 700 m apart (about 0.0074 deg
		 * at 32 N): neighbours near, the next but one not. */
		double lon = LON0 + (station % 20) * 0.0074;
		double lat = LAT0 + (station / 20) * 0.02;
		int64_t t = now;
		uint32_t k = rnd() % 100;

		if (k < 10) {
			t = now - (int64_t)(rnd() % 120) * HOUR_MS; /* late */
			unsure_late++;
		} else if (k < 13) {
			now += 30 * HOUR_MS; /* past the near window */
			t = now;
		} else if (k < 14) {
			now += 80 * HOUR_MS; /* past the hazard point window */
			t = now;
		} else {
			now += (int64_t)(rnd() % 600) * 1000;
			t = now;
		}
		mk(f, &reps[n], n, station, type, hp, lon, lat, t);
		/* Some figures, some not, values up and down (the latest
		 * observation of each station's figure wins, not the highest). */
		memset(&reps[n].figures, 0, sizeof(reps[n].figures));
		for (int i = 0; i < FIG_COUNT; i++) {
			if (rnd() % 3 == 0) {
				reps[n].figures.value[i] = (double)(rnd() % 200) / 4;
				reps[n].figures.set |= 1u << i;
			}
		}
	}
	for (int n = 0; n < NREPORTS; n++) {
		bool commit = per_txn > 1 || n % 23 != 22;
		assert_int_equal(group(f, f->s2, NULL, &reps[n], commit, &ref[n]), GA_OK);
	}
	for (int n = 0; n < NREPORTS; n++) {
		const struct report *r = &reps[n];
		struct incident *a = &ref[n], b;
		bool commit = per_txn > 1 || n % 23 != 22;
		ga_err eb = per_txn > 1
				? group_in(f, idx, r, n % per_txn == 0,
					   n % per_txn == per_txn - 1 || n == NREPORTS - 1, &b)
				: group(f, f->st.s, idx, r, commit, &b);
		assert_int_equal(eb, GA_OK);
		if (strcmp(a->id, b.id) != 0)
			fail_msg(
			    "report %d (station %s, %s, hp '%s', t %+lld h): store %s, index %s", n,
			    r->station_id, hazard_type_name(r->hazard_type), r->hazard_point_id,
			    (long long)((r->observed_at_ms - t0) / HOUR_MS), a->id, b.id);
		assert_int_equal(a->level, b.level);
		assert_int_equal(a->prev_level, b.prev_level);
		assert_int_equal(a->nreports, b.nreports);
		assert_int_equal(a->first_observed_ms, b.first_observed_ms);
		assert_int_equal(a->last_observed_ms, b.last_observed_ms);
		assert_int_equal(a->figures.set, b.figures.set);
		for (int i = 0; i < FIG_COUNT; i++)
			if (a->figures.set & (1u << i))
				assert_true(a->figures.value[i] == b.figures.value[i]);
		assert_true(incident_index_count(idx) <= (cap ? cap : INCIDENT_INDEX_CAP));
		if (!commit)
			assert_false(incident_index_loaded(idx));
	}
	int64_t na = -1, nb = -1;
	assert_int_equal(store_count(f->s2, NULL, NULL, &na), GA_OK);
	assert_int_equal(store_count(f->st.s, NULL, NULL, &nb), GA_OK);
	assert_int_equal(na, nb);
	assert_true(na > 20); /* the workload made many incidents */
	assert_true(unsure_late > 0);
	incident_index_free(idx);
	free(reps);
	free(ref);
}

static void test_same_as_store(void **state)
{
	run_workload(*state, 0, 1);
}

/* With a cap of 8 the index evicts all the time: still the store's
 * answers (past the horizon it asks the store). */
static void test_same_as_store_small_cap(void **state)
{
	rnd_state = 777;
	run_workload(*state, 8, 1);
}

/* Reports 16 to a transaction, as the writer groups them: an incident
 * joined by several reports of a group is written once, at its end; the
 * answers are still the store's, with a cap that evicts (and so flushes
 * early) too. */
static void test_same_as_store_grouped(void **state)
{
	rnd_state = 99;
	run_workload(*state, 0, 16);
}

static void test_same_as_store_grouped_small_cap(void **state)
{
	rnd_state = 31337;
	run_workload(*state, 8, 16);
}

/* A group that is rolled back: the incident it opened is in the index
 * until the writer discards it; after the discard the index reloads from
 * the store and knows nothing of it. */
static void test_rollback(void **state)
{
	struct fixture *f = *state;
	struct incident_index *idx = NULL;
	struct report r;
	struct incident inc, got;

	assert_int_equal(incident_index_new(0, &idx), GA_OK);
	mk(f, &r, 0, 1, HAZARD_LANDSLIDE, "HP-01", LON0, LAT0, t0);

	assert_int_equal(store_begin(f->st.s), GA_OK);
	assert_int_equal(
	    incident_assign_indexed(f->st.s, idx, &f->rules, f->t, &r, t0 + 1000, &inc), GA_OK);
	/* Before the transaction ends the index holds the new incident... */
	assert_int_equal(incident_index_count(idx), 1);
	assert_int_equal(incident_index_by_hazard_point(idx, "HP-01", HAZARD_LANDSLIDE, t0,
							f->rules.hazard_point_window_ms, &got),
			 INCIDENT_INDEX_FOUND);
	assert_string_equal(got.id, inc.id);
	/* ...the group fails: rolled back, the index discarded. */
	store_rollback(f->st.s);
	incident_index_discard(idx);
	assert_false(incident_index_loaded(idx));
	assert_int_equal(incident_index_count(idx), 0);
	assert_int_equal(incident_index_by_hazard_point(idx, "HP-01", HAZARD_LANDSLIDE, t0,
							f->rules.hazard_point_window_ms, &got),
			 INCIDENT_INDEX_UNSURE);

	/* Reloaded from the store: no such incident. */
	assert_int_equal(incident_index_ready(idx, f->st.s, t0), GA_OK);
	assert_true(incident_index_loaded(idx));
	assert_int_equal(incident_index_count(idx), 0);
	assert_int_equal(incident_index_by_hazard_point(idx, "HP-01", HAZARD_LANDSLIDE, t0,
							f->rules.hazard_point_window_ms, &got),
			 INCIDENT_INDEX_NONE);
	assert_int_equal(store_incident_get(f->st.s, inc.id, &got), GA_ERR_NOTFOUND);

	/* The report again, committed this time: the index and the store
	 * agree, and a fresh index loaded from the store finds it too. */
	mk(f, &r, 1, 1, HAZARD_LANDSLIDE, "HP-01", LON0, LAT0, t0);
	assert_int_equal(group(f, f->st.s, idx, &r, true, &inc), GA_OK);
	assert_int_equal(incident_index_count(idx), 1);
	struct incident_index *fresh = NULL;
	assert_int_equal(incident_index_new(0, &fresh), GA_OK);
	assert_int_equal(incident_index_ready(fresh, f->st.s, t0), GA_OK);
	assert_int_equal(incident_index_by_hazard_point(fresh, "HP-01", HAZARD_LANDSLIDE, t0,
							f->rules.hazard_point_window_ms, &got),
			 INCIDENT_INDEX_FOUND);
	assert_string_equal(got.id, inc.id);
	assert_int_equal(got.nreports, 1);
	incident_index_free(fresh);
	incident_index_free(idx);
}

static struct incident mkinc(const char *id, const char *hp, double lon, int64_t last)
{
	struct incident inc;

	memset(&inc, 0, sizeof(inc));
	snprintf(inc.id, sizeof(inc.id), "%s", id);
	snprintf(inc.hazard_point_id, sizeof(inc.hazard_point_id), "%s", hp);
	inc.hazard_type = HAZARD_LANDSLIDE;
	inc.lon = lon;
	inc.lat = LAT0;
	inc.first_observed_ms = last;
	inc.last_observed_ms = last;
	inc.created_ms = last;
	inc.updated_ms = last;
	inc.nreports = 1; /* a report at last_observed_ms */
	inc.open = true;
	return inc;
}

static bool count_cb(const struct incident *inc, void *arg)
{
	(void)inc;
	(*(int *)arg)++;
	return true;
}

/* At the cap (4) nothing is evicted; one past it, the incident observed
 * longest ago goes and the horizon moves past it: a lookup whose window
 * starts before the horizon is UNSURE (the store answers), one after it
 * is answered. A closed incident leaves the index. */
static void test_cap(void **state)
{
	struct fixture *f = *state;
	struct incident_index *idx = NULL;
	struct incident got;
	int64_t w = f->rules.hazard_point_window_ms;
	char id[16], hp[16];

	assert_int_equal(incident_index_new(INCIDENT_INDEX_CAP + 1, &idx), GA_ERR_INVAL);
	assert_null(idx);
	assert_int_equal(incident_index_new(4, &idx), GA_OK);
	assert_int_equal(incident_index_ready(idx, f->st.s, t0), GA_OK); /* empty store */
	int64_t horizon0 = incident_index_horizon(idx);
	assert_true(horizon0 <= t0 - w);
	for (int i = 0; i < 4; i++) {
		snprintf(id, sizeof(id), "JS-X-%d", i);
		snprintf(hp, sizeof(hp), "HP-%d", i);
		struct incident inc = mkinc(id, hp, LON0 + i * 0.001, t0 + i * HOUR_MS);
		incident_index_put(idx, &inc, true, true);
	}
	assert_int_equal(incident_index_count(idx), 4);
	assert_int_equal(incident_index_horizon(idx), horizon0);
	assert_int_equal(incident_index_by_hazard_point(idx, "HP-0", HAZARD_LANDSLIDE, t0, w, &got),
			 INCIDENT_INDEX_FOUND);
	assert_string_equal(got.id, "JS-X-0");

	/* One past the cap. */
	struct incident inc = mkinc("JS-X-4", "HP-4", LON0 + 0.004, t0 + 4 * HOUR_MS);
	incident_index_put(idx, &inc, true, true);
	assert_int_equal(incident_index_count(idx), 4);
	assert_int_equal(incident_index_horizon(idx), t0 + 1);
	/* HP-0's window starts before the horizon: unsure; the rest sure. */
	assert_int_equal(incident_index_by_hazard_point(idx, "HP-0", HAZARD_LANDSLIDE, t0, w, &got),
			 INCIDENT_INDEX_UNSURE);
	assert_int_equal(
	    incident_index_by_hazard_point(idx, "HP-4", HAZARD_LANDSLIDE, t0 + w + 1, w, &got),
	    INCIDENT_INDEX_FOUND);
	assert_string_equal(got.id, "JS-X-4");
	assert_int_equal(
	    incident_index_by_hazard_point(idx, "HP-0", HAZARD_LANDSLIDE, t0 + w + 1, w, &got),
	    INCIDENT_INDEX_NONE);
	int n = 0;
	assert_int_equal(incident_index_near(idx, HAZARD_LANDSLIDE, t0 + w + 1, w, LON0 - 0.01,
					     LON0 + 0.01, LAT0 - 0.01, LAT0 + 0.01, count_cb, &n),
			 INCIDENT_INDEX_FOUND);
	assert_int_equal(n, 4);
	n = 0;
	assert_int_equal(incident_index_near(idx, HAZARD_LANDSLIDE, t0, w, LON0 - 0.01, LON0 + 0.01,
					     LAT0 - 0.01, LAT0 + 0.01, count_cb, &n),
			 INCIDENT_INDEX_UNSURE);
	assert_int_equal(n, 0);
	/* An incident observed before the horizon is not taken in. */
	inc = mkinc("JS-X-old", "HP-9", LON0, t0 - HOUR_MS);
	incident_index_put(idx, &inc, false, true);
	assert_int_equal(incident_index_count(idx), 4);
	/* Closing one removes it. */
	inc = mkinc("JS-X-4", "HP-4", LON0 + 0.004, t0 + 4 * HOUR_MS);
	inc.open = false;
	incident_index_put(idx, &inc, false, true);
	assert_int_equal(incident_index_count(idx), 3);
	assert_int_equal(
	    incident_index_by_hazard_point(idx, "HP-4", HAZARD_LANDSLIDE, t0 + w + 1, w, &got),
	    INCIDENT_INDEX_NONE);
	incident_index_free(idx);
}

/* Loading a store holding more open incidents than the cap: the newest
 * cap are kept (fewer when the cut falls on a tie), the horizon is past
 * the first left out. */
static void test_load_past_cap(void **state)
{
	struct fixture *f = *state;
	struct incident_index *idx = NULL;
	struct incident inc, got;

	for (int i = 0; i < 6; i++) {
		struct report r;
		mk(f, &r, i, i, HAZARD_LANDSLIDE, f->hps[i], LON0 + i * 0.05, LAT0,
		   t0 + i * HOUR_MS);
		assert_int_equal(group(f, f->st.s, NULL, &r, true, &inc), GA_OK);
	}
	assert_int_equal(incident_index_new(4, &idx), GA_OK);
	assert_int_equal(incident_index_ready(idx, f->st.s, t0 + 6 * HOUR_MS), GA_OK);
	assert_int_equal(incident_index_count(idx), 4);
	assert_int_equal(incident_index_horizon(idx), t0 + HOUR_MS + 1);
	int64_t w = f->rules.hazard_point_window_ms;
	assert_int_equal(incident_index_by_hazard_point(idx, f->hps[5], HAZARD_LANDSLIDE,
							t0 + 5 * HOUR_MS + w, w, &got),
			 INCIDENT_INDEX_FOUND);
	assert_int_equal(got.nreports, 1);
	assert_int_equal(incident_index_by_hazard_point(idx, f->hps[5], HAZARD_LANDSLIDE,
							t0 + 5 * HOUR_MS, w, &got),
			 INCIDENT_INDEX_UNSURE);
	incident_index_free(idx);

	/* A cap of 1 with the newest two tied on last observed: neither can
	 * be kept alone. */
	struct report r;
	mk(f, &r, 6, 6, HAZARD_LANDSLIDE, f->hps[6], LON0 + 0.5, LAT0, t0 + 5 * HOUR_MS);
	assert_int_equal(group(f, f->st.s, NULL, &r, true, &inc), GA_OK);
	assert_int_equal(incident_index_new(1, &idx), GA_OK);
	assert_int_equal(incident_index_ready(idx, f->st.s, t0 + 6 * HOUR_MS), GA_OK);
	assert_int_equal(incident_index_count(idx), 0);
	assert_int_equal(incident_index_horizon(idx), t0 + 5 * HOUR_MS + 1);
	incident_index_free(idx);
}

/* A late report whose window falls in an incident's gap (reports at T and
 * T + 60 h, the late one at T - 30 h): whether a report lies in its
 * window is the store's to say, and the store's answer is the one taken. */
static void test_gap_asks_store(void **state)
{
	struct fixture *f = *state;
	struct incident_index *idx = NULL;
	struct incident a, b, got;
	struct report r;

	assert_int_equal(incident_index_new(0, &idx), GA_OK);
	mk(f, &r, 0, 1, HAZARD_LANDSLIDE, "HP-01", LON0, LAT0, t0);
	assert_int_equal(group(f, f->st.s, idx, &r, true, &a), GA_OK);
	mk(f, &r, 1, 1, HAZARD_LANDSLIDE, "HP-01", LON0, LAT0, t0 + 60 * HOUR_MS);
	assert_int_equal(group(f, f->st.s, idx, &r, true, &b), GA_OK);
	assert_string_equal(a.id, b.id);
	int64_t w = f->rules.hazard_point_window_ms;
	assert_int_equal(incident_index_by_hazard_point(idx, "HP-01", HAZARD_LANDSLIDE,
							t0 - 30 * HOUR_MS, w, &got),
			 INCIDENT_INDEX_UNSURE);
	assert_int_equal(incident_index_by_hazard_point(idx, "HP-01", HAZARD_LANDSLIDE,
							t0 + 61 * HOUR_MS, w, &got),
			 INCIDENT_INDEX_FOUND);
	mk(f, &r, 2, 1, HAZARD_LANDSLIDE, "HP-01", LON0, LAT0, t0 - 30 * HOUR_MS);
	assert_int_equal(group(f, f->st.s, idx, &r, true, &b), GA_OK);
	assert_string_equal(a.id, b.id);
	assert_int_equal(b.nreports, 3);
	assert_int_equal(b.first_observed_ms, t0 - 30 * HOUR_MS);

	/* Nearby, no hazard point, observed at T + 30 h: the incident's span
	 * covers the 24 h window but none of its reports lies in it, so it
	 * does not join; the index cannot tell and leaves it to the store. */
	int n = 0;
	assert_int_equal(incident_index_near(idx, HAZARD_LANDSLIDE, t0 + 30 * HOUR_MS,
					     f->rules.near_window_ms, LON0 - 0.01, LON0 + 0.01,
					     LAT0 - 0.01, LAT0 + 0.01, count_cb, &n),
			 INCIDENT_INDEX_UNSURE);
	assert_int_equal(n, 0);
	mk(f, &r, 3, 2, HAZARD_LANDSLIDE, "", LON0 + 0.003, LAT0, t0 + 30 * HOUR_MS);
	assert_int_equal(group(f, f->st.s, idx, &r, true, &b), GA_OK);
	assert_string_not_equal(a.id, b.id);
	/* At T + 59 h the window holds T + 60 h: it joins, from the index. */
	assert_int_equal(incident_index_near(idx, HAZARD_LANDSLIDE, t0 + 59 * HOUR_MS,
					     f->rules.near_window_ms, LON0 - 0.001, LON0 + 0.001,
					     LAT0 - 0.01, LAT0 + 0.01, count_cb, &n),
			 INCIDENT_INDEX_FOUND);
	assert_int_equal(n, 1);
	incident_index_free(idx);
}

/* One incident reported by more stations than the index keeps figures
 * for: it folds the first INCIDENT_INDEX_STATIONS itself, then leaves the
 * folding to the store; the figures stay the store's all along (a second
 * store, without the index, gets the same reports). A figure of an older
 * observation does not replace a station's newer one. */
static void test_station_cap(void **state)
{
	struct fixture *f = *state;
	struct incident_index *idx = NULL;
	struct incident a, b;
	struct figures folded;

	assert_int_equal(incident_index_new(0, &idx), GA_OK);
	for (int n = 0; n < INCIDENT_INDEX_STATIONS + 3; n++) {
		struct report r;
		/* All at HP-01: one incident. Station n % (cap + 2) reports
		 * threatened_people 100 - n; every third one observed an hour
		 * earlier than the rest (late). */
		int64_t t = t0 + n * 60000 - (n % 3 == 2 ? HOUR_MS : 0);
		mk(f, &r, n, n % (INCIDENT_INDEX_STATIONS + 2), HAZARD_LANDSLIDE, "HP-01", LON0,
		   LAT0, t);
		memset(&r.figures, 0, sizeof(r.figures));
		r.figures.value[FIG_THREATENED_PEOPLE] = 100 - n;
		r.figures.set = 1u << FIG_THREATENED_PEOPLE;
		if (n == 1) {
			r.figures.value[FIG_DEATHS] = NAN; /* not finite: not stored */
			r.figures.set |= 1u << FIG_DEATHS;
		}
		assert_int_equal(group(f, f->s2, NULL, &r, true, &a), GA_OK);
		assert_int_equal(group(f, f->st.s, idx, &r, true, &b), GA_OK);
		assert_string_equal(a.id, b.id);
		assert_int_equal(a.figures.set, b.figures.set);
		assert_true(a.figures.value[FIG_THREATENED_PEOPLE] ==
			    b.figures.value[FIG_THREATENED_PEOPLE]);
		struct figures none = {0};
		bool known = incident_index_fold_figures(idx, b.id, "ST-00", t, &none, &folded);
		if (n < INCIDENT_INDEX_STATIONS) {
			assert_true(known);
			assert_int_equal(folded.set, b.figures.set);
		} else {
			assert_false(known);
		}
	}
	assert_int_equal(a.nreports, INCIDENT_INDEX_STATIONS + 3);
	incident_index_free(idx);
}

/* The writer's protocol (ingest_writer.c: the incidents' generation read
 * after the lock, the index refreshed when it moved) on two connections
 * to one store, as two instances: A groups with the index, B (another
 * instance) without; each report goes to one of them at random, in runs.
 * Every report joins what a store grouping all of them alone, without an
 * index, gives (f->s2). */
static ga_err group_writer(struct fixture *f, struct store *s, struct incident_index *idx,
			   int64_t *gen_mine, const struct report *r, struct incident *inc)
{
	int64_t gen = -1;
	ga_err e;

	assert_int_equal(store_begin(s), GA_OK);
	if (*gen_mine >= 0) {
		int64_t g = -1;
		assert_int_equal(incident_index_refresh(idx, s, *gen_mine, &gen), GA_OK);
		assert_int_equal(store_incident_gen_get(s, &g), GA_OK);
		assert_int_equal(gen, g); /* the refresh read the generation */
	} else {
		incident_index_discard(idx);
		assert_int_equal(store_incident_gen_get(s, &gen), GA_OK);
	}
	e = incident_assign_indexed(s, idx, &f->rules, f->t, r, r->observed_at_ms + 1000, inc);
	if (e == GA_OK)
		assert_int_equal(store_report_put(s, r, "geohazard/v1/reports/x", "{}", 2,
						  r->observed_at_ms + 1000, inc->id, inc->level),
				 GA_OK);
	assert_int_equal(incident_index_flush(idx, s), GA_OK);
	assert_int_equal(store_commit(s), GA_OK);
	int64_t bumped = store_incident_gen_txn(s);
	if (bumped >= 0)
		assert_int_equal(bumped, gen + 1); /* once per transaction */
	*gen_mine = bumped >= 0 ? bumped : gen;
	return e;
}

static void test_two_writers(void **state)
{
	struct fixture *f = *state;
	struct store *sb = stest_open(f->st.db.path, 0);
	struct incident_index *idx = NULL;
	int64_t now = t0, gen_mine = -1, gen_before = -1, gen_after = -1;
	bool on_a = true;
	int refreshed = 0;

	rnd_state = 4242;
	assert_int_equal(incident_index_new(0, &idx), GA_OK);
	for (int n = 0; n < 300; n++) {
		struct report r;
		struct incident a, b;
		int station = (int)(rnd() % 24);
		enum hazard_type type = rnd() % 4 == 0 ? HAZARD_COLLAPSE : HAZARD_LANDSLIDE;
		const char *hp = station % 3 == 0 ? "" : f->hps[station % 6];
		double lon = LON0 + (station % 12) * 0.0074;
		double lat = LAT0 + (station / 12) * 0.02;
		int64_t t = now;

		if (rnd() % 5 == 0)
			on_a = !on_a;
		if (rnd() % 10 == 0)
			t = now - (int64_t)(rnd() % 50) * HOUR_MS; /* late */
		else if (rnd() % 40 == 0)
			t = now += 30 * HOUR_MS;
		else
			t = now += (int64_t)(rnd() % 900) * 1000;
		mk(f, &r, n, station, type, hp, lon, lat, t);
		ga_err ea = group(f, f->s2, NULL, &r, true, &a);
		assert_int_equal(store_incident_gen_get(f->st.s, &gen_before), GA_OK);
		ga_err eb = on_a ? group_writer(f, f->st.s, idx, &gen_mine, &r, &b)
				 : group(f, sb, NULL, &r, true, &b);
		assert_int_equal(ea, GA_OK);
		assert_int_equal(eb, GA_OK);
		assert_int_equal(store_incident_gen_get(f->st.s, &gen_after), GA_OK);
		/* B wrote an incident: the generation moved, A must look. */
		assert_int_equal(gen_after, gen_before + 1);
		if (!on_a && gen_mine >= 0 && incident_index_loaded(idx))
			refreshed++;
		if (strcmp(a.id, b.id) != 0)
			fail_msg("report %d (%s, station %d, hp '%s'): alone %s, two writers %s", n,
				 on_a ? "A" : "B", station, hp, a.id, b.id);
		assert_int_equal(a.level, b.level);
		assert_int_equal(a.nreports, b.nreports);
		assert_int_equal(a.last_observed_ms, b.last_observed_ms);
		assert_int_equal(a.figures.set, b.figures.set);
		for (int i = 0; i < FIG_COUNT; i++)
			if (a.figures.set & (1u << i))
				assert_true(a.figures.value[i] == b.figures.value[i]);
	}
	assert_true(refreshed > 10); /* B's turns did fall between A's */
	assert_true(incident_index_loaded(idx));
	incident_index_free(idx);
	store_close(sb);
}

/* Writer A's index, refreshed after writer B's groups (the incidents and
 * station figures B changed read back with the generation:
 * incident_index_refresh), answers every lookup as an index rebuilt from
 * the store then does, and folds figures as the store does: the read-back
 * carries everything a rebuild would know. Several rounds: B joins A's
 * incidents, opens its own, A then joins B's. */
static void test_refresh_same_as_rebuild(void **state)
{
	struct fixture *f = *state;
	struct store *sb = stest_open(f->st.db.path, 0);
	struct incident_index *idx = NULL;
	int64_t now = t0, gen_mine = -1;
	int n = 0, compared = 0;

	rnd_state = 777;
	assert_int_equal(incident_index_new(0, &idx), GA_OK);
	for (int round = 0; round < 8; round++) {
		for (int w = 0; w < 2; w++) {
			for (int k = 0; k < 12; k++, n++) {
				struct report r;
				struct incident inc;
				int station = (int)(rnd() % 24);
				enum hazard_type type =
				    rnd() % 4 == 0 ? HAZARD_COLLAPSE : HAZARD_LANDSLIDE;
				const char *hp = station % 3 == 0 ? "" : f->hps[station % 6];
				now += (int64_t)(rnd() % 600) * 1000;
				mk(f, &r, n, station, type, hp, LON0 + (station % 12) * 0.0074,
				   LAT0 + (station / 12) * 0.02, now);
				r.figures.value[FIG_DEATHS] = (double)(rnd() % 5);
				r.figures.set |= 1u << FIG_DEATHS;
				if (w == 0)
					assert_int_equal(
					    group_writer(f, f->st.s, idx, &gen_mine, &r, &inc),
					    GA_OK);
				else
					assert_int_equal(group(f, sb, NULL, &r, true, &inc), GA_OK);
			}
		}
		/* A's turn after B's groups: the read-back. */
		int64_t gen = -1, g = -1;
		assert_int_equal(store_begin(f->st.s), GA_OK);
		assert_int_equal(incident_index_refresh(idx, f->st.s, gen_mine, &gen), GA_OK);
		assert_int_equal(store_incident_gen_get(f->st.s, &g), GA_OK);
		assert_int_equal(gen, g);
		assert_true(gen > gen_mine); /* B did write */
		gen_mine = gen;
		assert_true(incident_index_loaded(idx));
		struct incident_index *fresh = NULL;
		assert_int_equal(incident_index_new(0, &fresh), GA_OK);
		assert_int_equal(incident_index_ready(fresh, f->st.s, t0), GA_OK);
		assert_int_equal(incident_index_count(idx), incident_index_count(fresh));
		for (int h = 0; h < 6; h++) {
			for (int ty = 0; ty < 2; ty++) {
				enum hazard_type type = ty ? HAZARD_COLLAPSE : HAZARD_LANDSLIDE;
				struct incident a, b;
				int64_t t = now + (int64_t)(h - 3) * 600 * 1000;
				int64_t win = f->rules.hazard_point_window_ms;
				enum incident_index_answer x = incident_index_by_hazard_point(
				    idx, f->hps[h], type, t, win, &a);
				enum incident_index_answer y = incident_index_by_hazard_point(
				    fresh, f->hps[h], type, t, win, &b);
				assert_int_equal(x, y);
				if (x == INCIDENT_INDEX_FOUND) {
					assert_string_equal(a.id, b.id);
					assert_int_equal(a.nreports, b.nreports);
					assert_int_equal(a.last_observed_ms, b.last_observed_ms);
					assert_int_equal(a.updated_ms, b.updated_ms);
					assert_int_equal(a.level, b.level);
					assert_int_equal(incident_index_no_draft(idx, a.id),
							 incident_index_no_draft(fresh, b.id));
					/* The station figures A read back, as the store folds
					 * them (none given: nothing written). */
					struct figures fa, fs;
					if (incident_index_fold_figures(idx, a.id, "ST-00", t, NULL,
									&fa)) {
						assert_int_equal(
						    store_incident_fold_figures(
							f->st.s, a.id, "ST-00", t, NULL, &fs),
						    GA_OK);
						assert_int_equal(fa.set, fs.set);
						for (int i = 0; i < FIG_COUNT; i++)
							if (fa.set & (1u << i))
								assert_true(fa.value[i] ==
									    fs.value[i]);
						compared++;
					}
				}
				int na = 0, nb = 0;
				enum incident_index_answer p = incident_index_near(
				    idx, type, t, f->rules.near_window_ms, LON0 - 0.01, LON0 + 0.1,
				    LAT0 - 0.01, LAT0 + 0.03, count_cb, &na);
				enum incident_index_answer q = incident_index_near(
				    fresh, type, t, f->rules.near_window_ms, LON0 - 0.01,
				    LON0 + 0.1, LAT0 - 0.01, LAT0 + 0.03, count_cb, &nb);
				assert_int_equal(p, q);
				assert_int_equal(na, nb);
			}
		}
		store_rollback(f->st.s);
		incident_index_free(fresh);
	}
	assert_true(compared > 8); /* the figures were compared */
	incident_index_free(idx);
	store_close(sb);
}

/* An incident a monitoring device opened (workflow_warning.c: no report,
 * nreports 0) at a hazard point is never joined by grouping (the store
 * looks for a report in the window): the index, loaded before or after it
 * was written, says the same. */
static void test_device_incident(void **state)
{
	struct fixture *f = *state;
	struct incident_index *before = NULL, *after = NULL;
	struct incident dev = mkinc("", "HP-01", LON0, t0), got, inc;
	struct report r;
	int64_t gen0 = -1, gen1 = -1;
	int n = 0;

	assert_int_equal(incident_index_new(0, &before), GA_OK);
	assert_int_equal(incident_index_ready(before, f->st.s, t0), GA_OK);
	assert_int_equal(store_incident_gen_get(f->st.s, &gen0), GA_OK);
	dev.nreports = 0;
	dev.level = LEVEL_LARGE;
	assert_int_equal(store_begin(f->st.s), GA_OK);
	assert_int_equal(store_incident_insert(f->st.s, &dev, "GA", 480), GA_OK);
	assert_int_equal(store_commit(f->st.s), GA_OK);
	assert_int_equal(store_incident_gen_get(f->st.s, &gen1), GA_OK);
	assert_int_equal(gen1, gen0 + 1);
	/* The index loaded before takes it in from the generation. */
	int64_t gen_read = -1;
	assert_int_equal(incident_index_refresh(before, f->st.s, gen0, &gen_read), GA_OK);
	assert_int_equal(gen_read, gen1);
	assert_int_equal(incident_index_count(before), 1);
	assert_int_equal(incident_index_new(0, &after), GA_OK);
	assert_int_equal(incident_index_ready(after, f->st.s, t0), GA_OK);
	assert_int_equal(incident_index_count(after), 1);
	int64_t w = f->rules.hazard_point_window_ms;
	assert_int_equal(incident_index_by_hazard_point(before, "HP-01", HAZARD_LANDSLIDE,
							t0 + HOUR_MS, w, &got),
			 INCIDENT_INDEX_NONE);
	assert_int_equal(
	    incident_index_by_hazard_point(after, "HP-01", HAZARD_LANDSLIDE, t0 + HOUR_MS, w, &got),
	    INCIDENT_INDEX_NONE);
	assert_int_equal(incident_index_near(after, HAZARD_LANDSLIDE, t0 + HOUR_MS,
					     f->rules.near_window_ms, LON0 - 0.01, LON0 + 0.01,
					     LAT0 - 0.01, LAT0 + 0.01, count_cb, &n),
			 INCIDENT_INDEX_NONE);
	assert_int_equal(store_incident_by_hazard_point(f->st.s, "HP-01", HAZARD_LANDSLIDE,
							t0 + HOUR_MS, w, &got),
			 GA_ERR_NOTFOUND);
	/* A report there opens its own incident, with the index as without. */
	mk(f, &r, 0, 1, HAZARD_LANDSLIDE, "HP-01", LON0, LAT0, t0 + HOUR_MS);
	assert_int_equal(group(f, f->st.s, after, &r, true, &inc), GA_OK);
	assert_string_not_equal(inc.id, dev.id);
	/* A report naming the device's incident joins it; its
	 * last_observed_ms stays the device's later reading, which no
	 * report was observed at: the index leaves the window test to the
	 * store. */
	struct report named;
	mk(f, &named, 1, 2, HAZARD_LANDSLIDE, "HP-02", LON0 + 0.5, LAT0, t0 - HOUR_MS);
	named.incident_id = dev.id;
	assert_int_equal(group(f, f->st.s, after, &named, true, &inc), GA_OK);
	assert_string_equal(inc.id, dev.id);
	assert_int_equal(inc.nreports, 1);
	struct incident_index *fresh = NULL;
	assert_int_equal(incident_index_new(0, &fresh), GA_OK);
	assert_int_equal(incident_index_ready(fresh, f->st.s, t0), GA_OK);
	assert_int_equal(incident_index_by_hazard_point(fresh, "HP-01", HAZARD_LANDSLIDE,
							t0 + 2 * HOUR_MS, w, &got),
			 INCIDENT_INDEX_UNSURE);
	incident_index_free(fresh);
	incident_index_free(before);
	incident_index_free(after);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_same_as_store, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_same_as_store_small_cap, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_same_as_store_grouped, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_same_as_store_grouped_small_cap, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rollback, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cap, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_load_past_cap, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_gap_asks_store, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_station_cap, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_two_writers, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_device_incident, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refresh_same_as_rebuild, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
