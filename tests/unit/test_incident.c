/* test_incident.c - grouping reports into incidents (spec §6) on a real
 * SQLite store, as the writer does it: per report, incident_assign and
 * store_report_put inside a transaction. Time and distance edges: 72 h
 * (hazard point) and 24 h / 1000 m (nearby) are inclusive; 1 ms or a
 * metre past them opens a new incident. */
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
#include "geo.h"
#include "incident.h"
#include "store.h"
#include "store_testutil.h"

#define HOUR_MS (3600LL * 1000)
#define LON0 118.62
#define LAT0 32.06

struct fixture {
	struct stest_fixture st; /* first: a pointer to it is one to st */
	struct thresholds *t;
	struct incident_rules rules;
	int nrep;
	char ids[64][24]; /* report ids, kept alive for the report structs */
};

static int64_t t0;

static int setup(void **state)
{
	struct fixture *f = stest_fixture_new(sizeof(*f), "incident", true);
	char err[512] = "";

	if (thresholds_load(NULL, &f->t, err, sizeof(err)) != GA_OK)
		fprintf(stderr, "thresholds_load: %s\n", err);
	assert_non_null(f->t);
	incident_rules_default(&f->rules);
	struct tm tm = {.tm_year = 2026 - 1900, .tm_mon = 10, .tm_mday = 26, .tm_hour = 6};
	t0 = (int64_t)timegm(&tm) * 1000;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	thresholds_free(f->t);
	return stest_teardown(state);
}

/* A report as report_parse would leave it, built field by field. */
static void mk(struct fixture *f, struct report *r, const char *station, enum kind kind,
	       enum hazard_type type, const char *hp, double lon, double lat, int64_t t)
{
	memset(r, 0, sizeof(*r));
	assert_true(f->nrep < 64);
	snprintf(f->ids[f->nrep], sizeof(f->ids[0]), "r-%04d", f->nrep);
	r->report_id = f->ids[f->nrep++];
	r->station_id = station;
	r->kind = kind;
	r->hazard_type = type;
	r->observed_at_ms = t;
	r->observed_offset_min = 480;
	r->has_point = true;
	r->lon = lon;
	r->lat = lat;
	snprintf(r->admin_code, sizeof(r->admin_code), "320111");
	snprintf(r->hazard_point_id, sizeof(r->hazard_point_id), "%s", hp);
}

static void fig(struct report *r, enum figure which, double v)
{
	r->figures.value[which] = v;
	r->figures.set |= 1u << which;
}

/* What the writer does with one accepted report. */
static ga_err assign(struct fixture *f, const struct report *r, struct incident *inc)
{
	ga_err e;

	assert_int_equal(store_begin(f->st.s), GA_OK);
	e = incident_assign(f->st.s, &f->rules, f->t, r, r->observed_at_ms + 1000, inc);
	if (e == GA_OK)
		assert_int_equal(store_report_put(f->st.s, r, "geohazard/v1/reports/x", "{}", 2,
						  r->observed_at_ms + 1000, inc->id, inc->level),
				 GA_OK);
	assert_int_equal(store_commit(f->st.s), GA_OK);
	return e;
}

static int64_t nincidents(struct fixture *f)
{
	int64_t n = -1;
	assert_int_equal(store_count(f->st.s, NULL, NULL, &n), GA_OK);
	return n;
}

/* The point d metres due north (when north) or due east of (LON0, LAT0)
 * on the ellipsoid: its latitude or its longitude, by bisection on
 * geo_distance_m. */
static double offset_deg(double d, bool north)
{
	double lo = north ? LAT0 : LON0, hi = lo + 0.1;
	for (int i = 0; i < 200; i++) {
		double mid = (lo + hi) / 2;
		double m = north ? geo_distance_m(LON0, LAT0, LON0, mid)
				 : geo_distance_m(LON0, LAT0, mid, LAT0);
		if (m < d)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

static double lat_north(double d)
{
	return offset_deg(d, true);
}

static double lon_east(double d)
{
	return offset_deg(d, false);
}

static void test_explicit_id(void **state)
{
	struct fixture *f = *state;
	struct report r;
	struct incident a, b;

	mk(f, &r, "S1", KIND_DANGER, HAZARD_LANDSLIDE, "HP-1", LON0, LAT0, t0);
	assert_int_equal(assign(f, &r, &a), GA_OK);
	assert_int_equal(a.nreports, 1);
	assert_non_null(strstr(a.id, "JS-20261126-"));

	/* Another type, far away, much later: it joins because it says so. */
	mk(f, &r, "S2", KIND_DANGER, HAZARD_COLLAPSE, "HP-9", LON0 + 1, LAT0 + 1,
	   t0 + 500 * HOUR_MS);
	r.incident_id = a.id;
	assert_int_equal(assign(f, &r, &b), GA_OK);
	assert_string_equal(b.id, a.id);
	assert_int_equal(b.nreports, 2);
	assert_int_equal(b.last_observed_ms, t0 + 500 * HOUR_MS);
	assert_int_equal(b.first_observed_ms, t0);
	assert_int_equal(nincidents(f), 1);
}

static void test_unknown_explicit_id(void **state)
{
	struct fixture *f = *state;
	struct report r;
	struct incident a;

	mk(f, &r, "S1", KIND_DANGER, HAZARD_LANDSLIDE, "HP-1", LON0, LAT0, t0);
	r.incident_id = "JS-20261126-0042";
	assert_int_equal(assign(f, &r, &a), GA_ERR_NOTFOUND);
	assert_int_equal(nincidents(f), 0);

	/* A closed incident cannot be joined either. */
	r.incident_id = NULL;
	assert_int_equal(assign(f, &r, &a), GA_OK);
	a.open = false;
	assert_int_equal(store_incident_update(f->st.s, &a), GA_OK);
	mk(f, &r, "S1", KIND_DANGER, HAZARD_LANDSLIDE, "HP-1", LON0, LAT0, t0 + 1);
	r.incident_id = a.id;
	assert_int_equal(assign(f, &r, &a), GA_ERR_NOTFOUND);
}

static void test_hazard_point_window(void **state)
{
	struct fixture *f = *state;
	struct report r;
	struct incident a, b;

	mk(f, &r, "S1", KIND_DANGER, HAZARD_LANDSLIDE, "HP-1", LON0, LAT0, t0);
	assert_int_equal(assign(f, &r, &a), GA_OK);
	/* 5 km away (so not "nearby"), exactly 72 h later: joins. */
	mk(f, &r, "S2", KIND_DANGER, HAZARD_LANDSLIDE, "HP-1", LON0, lat_north(5000),
	   t0 + 72 * HOUR_MS);
	assert_int_equal(assign(f, &r, &b), GA_OK);
	assert_string_equal(b.id, a.id);
	/* 72 h + 1 ms after the latest report: a new incident. */
	mk(f, &r, "S2", KIND_DANGER, HAZARD_LANDSLIDE, "HP-1", LON0, lat_north(5000),
	   t0 + 144 * HOUR_MS + 1);
	assert_int_equal(assign(f, &r, &b), GA_OK);
	assert_string_not_equal(b.id, a.id);
	assert_int_equal(nincidents(f), 2);
}

static void test_hazard_point_just_past(void **state)
{
	struct fixture *f = *state;
	struct report r;
	struct incident a, b;

	mk(f, &r, "S1", KIND_DANGER, HAZARD_LANDSLIDE, "HP-1", LON0, LAT0, t0);
	assert_int_equal(assign(f, &r, &a), GA_OK);
	mk(f, &r, "S1", KIND_DANGER, HAZARD_LANDSLIDE, "HP-1", LON0, LAT0, t0 + 72 * HOUR_MS + 1);
	assert_int_equal(assign(f, &r, &b), GA_OK);
	assert_string_not_equal(b.id, a.id);
	/* A late report observed before the first one, within 72 h, joins. */
	mk(f, &r, "S3", KIND_DANGER, HAZARD_LANDSLIDE, "HP-1", LON0 + 0.5, LAT0, t0 - 10 * HOUR_MS);
	assert_int_equal(assign(f, &r, &b), GA_OK);
	assert_string_equal(b.id, a.id);
	assert_int_equal(b.first_observed_ms, t0 - 10 * HOUR_MS);
}

static void test_hazard_type_differs(void **state)
{
	struct fixture *f = *state;
	struct report r;
	struct incident a, b;

	mk(f, &r, "S1", KIND_DANGER, HAZARD_LANDSLIDE, "HP-1", LON0, LAT0, t0);
	assert_int_equal(assign(f, &r, &a), GA_OK);
	/* Same hazard point, same place, same hour, another type. */
	mk(f, &r, "S1", KIND_DANGER, HAZARD_COLLAPSE, "HP-1", LON0, LAT0, t0 + HOUR_MS);
	assert_int_equal(assign(f, &r, &b), GA_OK);
	assert_string_not_equal(b.id, a.id);
	assert_int_equal(b.hazard_type, HAZARD_COLLAPSE);
}

static void test_near_distance(void **state)
{
	struct fixture *f = *state;
	struct report r;
	struct incident a, b;
	double lat999 = lat_north(999), lat1001 = lat_north(1001);

	assert_true(fabs(geo_distance_m(LON0, LAT0, LON0, lat999) - 999) < 0.01);
	assert_true(fabs(geo_distance_m(LON0, LAT0, LON0, lat1001) - 1001) < 0.01);

	mk(f, &r, "S1", KIND_DANGER, HAZARD_LANDSLIDE, "", LON0, LAT0, t0);
	assert_int_equal(assign(f, &r, &a), GA_OK);
	mk(f, &r, "S2", KIND_DANGER, HAZARD_LANDSLIDE, "", LON0, lat999, t0 + HOUR_MS);
	assert_int_equal(assign(f, &r, &b), GA_OK);
	assert_string_equal(b.id, a.id);
	/* East-west, where a degree is shorter: the box must still hold it. */
	mk(f, &r, "S3", KIND_DANGER, HAZARD_LANDSLIDE, "", lon_east(999), LAT0, t0 + HOUR_MS);
	assert_int_equal(assign(f, &r, &b), GA_OK);
	assert_string_equal(b.id, a.id);
	/* The distance is to the incident's first point, not the latest. */
	mk(f, &r, "S4", KIND_DANGER, HAZARD_LANDSLIDE, "", LON0, lat1001, t0 + HOUR_MS);
	assert_int_equal(assign(f, &r, &b), GA_OK);
	assert_string_not_equal(b.id, a.id);
	assert_int_equal(nincidents(f), 2);
	/* A different hazard type on the same spot does not join. */
	mk(f, &r, "S5", KIND_DANGER, HAZARD_DEBRIS_FLOW, "", LON0, LAT0, t0 + HOUR_MS);
	assert_int_equal(assign(f, &r, &b), GA_OK);
	assert_string_not_equal(b.id, a.id);
	assert_int_equal(nincidents(f), 3);
}

static void test_near_time(void **state)
{
	struct fixture *f = *state;
	struct report r;
	struct incident a, b, c;
	double lat999 = lat_north(999);

	mk(f, &r, "S1", KIND_DANGER, HAZARD_LANDSLIDE, "", LON0, LAT0, t0);
	assert_int_equal(assign(f, &r, &a), GA_OK);
	mk(f, &r, "S2", KIND_DANGER, HAZARD_LANDSLIDE, "", LON0, lat999, t0 + 24 * HOUR_MS + 1);
	assert_int_equal(assign(f, &r, &b), GA_OK);
	assert_string_not_equal(b.id, a.id);
	/* Exactly 24 h after a's only report: inclusive; a is nearer (0 m). */
	mk(f, &r, "S3", KIND_DANGER, HAZARD_LANDSLIDE, "", LON0, LAT0, t0 + 24 * HOUR_MS);
	assert_int_equal(assign(f, &r, &c), GA_OK);
	assert_string_equal(c.id, a.id);
}

/* Within 24 h of the incident's span is not enough: a report must be
 * within 24 h of one of its reports. */
static void test_near_time_gap(void **state)
{
	struct fixture *f = *state;
	struct report r;
	struct incident a, b;

	mk(f, &r, "S1", KIND_DANGER, HAZARD_LANDSLIDE, "HP-1", LON0, LAT0, t0);
	assert_int_equal(assign(f, &r, &a), GA_OK);
	mk(f, &r, "S1", KIND_DANGER, HAZARD_LANDSLIDE, "HP-1", LON0, LAT0, t0 + 60 * HOUR_MS);
	assert_int_equal(assign(f, &r, &b), GA_OK);
	assert_string_equal(b.id, a.id);
	/* 30 h from each of them, same spot, no hazard point. */
	mk(f, &r, "S2", KIND_DANGER, HAZARD_LANDSLIDE, "", LON0, LAT0, t0 + 30 * HOUR_MS);
	assert_int_equal(assign(f, &r, &b), GA_OK);
	assert_string_not_equal(b.id, a.id);
}

/* The radius is inclusive: a point exactly at it (as geo_distance_m
 * measures) joins. */
static void test_near_radius_inclusive(void **state)
{
	struct fixture *f = *state;
	struct report r;
	struct incident a, b;
	double lat = lat_north(1000);

	f->rules.near_radius_m = geo_distance_m(LON0, LAT0, LON0, lat);
	mk(f, &r, "S1", KIND_DANGER, HAZARD_LANDSLIDE, "", LON0, LAT0, t0);
	assert_int_equal(assign(f, &r, &a), GA_OK);
	mk(f, &r, "S2", KIND_DANGER, HAZARD_LANDSLIDE, "", LON0, lat, t0);
	assert_int_equal(assign(f, &r, &b), GA_OK);
	assert_string_equal(b.id, a.id);
	f->rules.near_radius_m = nextafter(f->rules.near_radius_m, 0);
	mk(f, &r, "S3", KIND_DANGER, HAZARD_LANDSLIDE, "", LON0, lat, t0);
	assert_int_equal(assign(f, &r, &b), GA_OK);
	assert_string_not_equal(b.id, a.id);
}

static void test_nearest_wins(void **state)
{
	struct fixture *f = *state;
	struct report r;
	struct incident a, b, c;

	mk(f, &r, "S1", KIND_DISASTER, HAZARD_COLLAPSE, "", LON0, LAT0, t0);
	assert_int_equal(assign(f, &r, &a), GA_OK);
	mk(f, &r, "S2", KIND_DISASTER, HAZARD_COLLAPSE, "", LON0, lat_north(1500), t0);
	assert_int_equal(assign(f, &r, &b), GA_OK);
	assert_string_not_equal(b.id, a.id);
	/* 900 m from a, 600 m from b: both in range, b is nearer. */
	mk(f, &r, "S3", KIND_DISASTER, HAZARD_COLLAPSE, "", LON0, lat_north(900), t0 + HOUR_MS);
	assert_int_equal(assign(f, &r, &c), GA_OK);
	assert_string_equal(c.id, b.id);
	/* 400 m from a, 1100 m from b. */
	mk(f, &r, "S4", KIND_DISASTER, HAZARD_COLLAPSE, "", LON0, lat_north(400), t0 + HOUR_MS);
	assert_int_equal(assign(f, &r, &c), GA_OK);
	assert_string_equal(c.id, a.id);
	assert_int_equal(nincidents(f), 2);
}

static void test_figures_latest_per_station(void **state)
{
	struct fixture *f = *state;
	struct report r;
	struct incident a, got;

	mk(f, &r, "A", KIND_DISASTER, HAZARD_LANDSLIDE, "HP-1", LON0, LAT0, t0);
	fig(&r, FIG_DEATHS, 5);
	assert_int_equal(assign(f, &r, &a), GA_OK);
	assert_true(a.figures.value[FIG_DEATHS] == 5);
	assert_int_equal(a.level, LEVEL_MEDIUM);

	mk(f, &r, "A", KIND_DISASTER, HAZARD_LANDSLIDE, "HP-1", LON0, LAT0, t0 + HOUR_MS);
	fig(&r, FIG_DEATHS, 3);
	assert_int_equal(assign(f, &r, &a), GA_OK);
	assert_true(a.figures.value[FIG_DEATHS] == 3);

	mk(f, &r, "B", KIND_DISASTER, HAZARD_LANDSLIDE, "HP-1", LON0, LAT0, t0 + 2 * HOUR_MS);
	fig(&r, FIG_DEATHS, 4);
	fig(&r, FIG_MISSING, 1);
	assert_int_equal(assign(f, &r, &a), GA_OK);
	assert_true(a.figures.value[FIG_DEATHS] == 4);
	assert_true(a.figures.value[FIG_MISSING] == 1);
	assert_int_equal(a.nreports, 3);
	assert_int_equal(a.level, LEVEL_MEDIUM);

	/* What was returned is what was stored. */
	assert_int_equal(store_incident_get(f->st.s, a.id, &got), GA_OK);
	assert_true(got.figures.value[FIG_DEATHS] == 4);
	assert_int_equal(got.figures.set, 1u << FIG_DEATHS | 1u << FIG_MISSING);
	assert_int_equal(got.nreports, 3);
	assert_int_equal(got.level, LEVEL_MEDIUM);
	assert_true(got.has_disaster);
	assert_int_equal(got.updated_ms, t0 + 2 * HOUR_MS + 1000);
}

static void test_disaster_and_level_recomputed(void **state)
{
	struct fixture *f = *state;
	struct report r;
	struct incident a;

	/* A danger report's deaths do not count while no report is a
	 * disaster. */
	mk(f, &r, "A", KIND_DANGER, HAZARD_LANDSLIDE, "HP-1", LON0, LAT0, t0);
	fig(&r, FIG_THREATENED_PEOPLE, 50);
	fig(&r, FIG_DEATHS, 12);
	assert_int_equal(assign(f, &r, &a), GA_OK);
	assert_false(a.has_disaster);
	assert_int_equal(a.level, LEVEL_SMALL);

	mk(f, &r, "A", KIND_DANGER, HAZARD_LANDSLIDE, "HP-1", LON0, LAT0, t0 + HOUR_MS);
	fig(&r, FIG_THREATENED_PEOPLE, 620);
	assert_int_equal(assign(f, &r, &a), GA_OK);
	assert_int_equal(a.level, LEVEL_LARGE);

	/* A's latest is lower: the level goes down with it. */
	mk(f, &r, "A", KIND_DANGER, HAZARD_LANDSLIDE, "HP-1", LON0, LAT0, t0 + 2 * HOUR_MS);
	fig(&r, FIG_THREATENED_PEOPLE, 120);
	assert_int_equal(assign(f, &r, &a), GA_OK);
	assert_int_equal(a.level, LEVEL_MEDIUM);

	/* A disaster report from another station, no figures: the incident is
	 * now a disaster, and A's 12 deaths make it large. */
	mk(f, &r, "B", KIND_DISASTER, HAZARD_LANDSLIDE, "HP-1", LON0, LAT0, t0 + 3 * HOUR_MS);
	assert_int_equal(assign(f, &r, &a), GA_OK);
	assert_true(a.has_disaster);
	assert_int_equal(a.level, LEVEL_LARGE);

	/* has_disaster stays once set. */
	mk(f, &r, "C", KIND_DANGER, HAZARD_LANDSLIDE, "HP-1", LON0, LAT0, t0 + 4 * HOUR_MS);
	fig(&r, FIG_DEATHS, 30);
	assert_int_equal(assign(f, &r, &a), GA_OK);
	assert_true(a.has_disaster);
	assert_int_equal(a.level, LEVEL_EXTRA_LARGE);
	assert_int_equal(a.nreports, 5);
}

static void test_new_incident_fields(void **state)
{
	struct fixture *f = *state;
	struct report r;
	struct incident a;

	f->rules.utc_offset_min = 0;
	snprintf(f->rules.id_prefix, sizeof(f->rules.id_prefix), "ZJ");
	/* 23:30 at +08:00 on the 26th is 15:30Z: the id is dated at UTC now. */
	mk(f, &r, "S1", KIND_DANGER, HAZARD_GROUND_FISSURE, "HP-3", 119.1, 31.2,
	   t0 + 9 * HOUR_MS + HOUR_MS / 2);
	assert_int_equal(assign(f, &r, &a), GA_OK);
	assert_string_equal(a.id, "ZJ-20261126-0001");
	assert_string_equal(a.hazard_point_id, "HP-3");
	assert_string_equal(a.admin_code, "320111");
	assert_true(a.lon == 119.1 && a.lat == 31.2);
	assert_int_equal(a.created_ms, r.observed_at_ms + 1000);
	assert_true(a.open);
	assert_int_equal(a.nreports, 1);
	f->rules.utc_offset_min = 480;
	snprintf(f->rules.id_prefix, sizeof(f->rules.id_prefix), "JS");
	mk(f, &r, "S1", KIND_DANGER, HAZARD_GROUND_FISSURE, "HP-4", 119.5, 31.2,
	   t0 + 9 * HOUR_MS + HOUR_MS / 2);
	assert_int_equal(assign(f, &r, &a), GA_OK);
	assert_string_equal(a.id, "JS-20261126-0002");
	mk(f, &r, "S1", KIND_DANGER, HAZARD_GROUND_FISSURE, "HP-5", 119.9, 31.2, t0 + 10 * HOUR_MS);
	assert_int_equal(assign(f, &r, &a), GA_OK);
	assert_string_equal(a.id, "JS-20261127-0001");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_explicit_id, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unknown_explicit_id, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_hazard_point_window, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_hazard_point_just_past, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_hazard_type_differs, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_near_distance, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_near_time, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_near_time_gap, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_near_radius_inclusive, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_nearest_wins, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_figures_latest_per_station, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_disaster_and_level_recomputed, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_new_incident_fields, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
