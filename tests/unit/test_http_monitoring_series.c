/* test_http_monitoring_series.c - the monitoring detail's lines
 * (http_monitoring_series.c) on stored points: every point up to
 * HTTP_MON_SERIES_POINTS and a cut line one past it that keeps the peak,
 * the trough and the latest point in time order; a rule's metric
 * replayed (change_24h from the points a day before the window, the
 * GNSS horizontal from X and Y of one time only), its latest value and
 * level; a device past HTTP_MON_ROWS_MAX read from its newest; and
 * store_device_points_start, where a read of the newest N points begins. */
#include <jansson.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "device_registry.h"
#include "http_monitoring_series.h"
#include "store_device.h"
#include "store_testutil.h"
#include "timeutil.h"

#define MIN_MS INT64_C(60000)
#define HOUR_MS INT64_C(3600000)
#define T0 INT64_C(1796601600000) /* the window's start */
#define NOW (T0 + 72 * HOUR_MS)

struct fx {
	struct stest_db db;
	struct store *s;
	struct store_device *sd;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	stest_db_make(&f->db, "http-mon-series");
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

static void put(struct fx *f, const char *code, const char *channel, const char *field, int64_t t,
		double v)
{
	bool ins = false;
	assert_int_equal(store_device_point_put(f->sd, code, channel, field, t, v, t, &ins), GA_OK);
	assert_true(ins);
}

static int64_t ms_of(json_t *p)
{
	int64_t ms = 0;
	assert_int_equal(time_parse_rfc3339(json_string_value(json_array_get(p, 0)), &ms, NULL),
			 GA_OK);
	return ms;
}

/* The lines of dev over [T0, NOW); *truncated back. */
static void lines(struct fx *f, const struct device *dev, json_t **series, json_t **judged,
		  bool *truncated)
{
	struct http_mon_window win = {T0, NOW, 480};
	*series = json_array();
	*judged = json_array();
	*truncated = false;
	assert_int_equal(http_mon_device_series(f->sd, dev, &win, *series, *judged, truncated),
			 GA_OK);
}

static struct device crack_meter(struct device_rule *rule)
{
	struct device d = {.device_code = "LF-1",
			   .station_id = "JS-3201-0007",
			   .interval_s = 600,
			   .rules = rule,
			   .n_rules = 1};
	memset(rule, 0, sizeof(*rule));
	snprintf(rule->channel, sizeof(rule->channel), "L1_LF_1");
	snprintf(rule->field, sizeof(rule->field), "value");
	rule->metric = DEVICE_METRIC_CHANGE_24H;
	const double th[] = {0, 2, 5, 10, 20};
	for (int l = DEVICE_LEVEL_BLUE; l < DEVICE_LEVEL_COUNT; l++) {
		rule->has[l] = true;
		rule->threshold[l] = th[l];
	}
	return d;
}

/* n points in the window, one every 6 min from T0 + 1 h: 100 + 0.01 i,
 * with a peak of 999 at `peak` and a trough of -999 at `trough` (when
 * in range). */
static void crack_points(struct fx *f, int n, int peak, int trough)
{
	assert_int_equal(store_begin(f->s), GA_OK);
	for (int i = 0; i < n; i++)
		put(f, "LF-1", "L1_LF_1", "value", T0 + HOUR_MS + i * 6 * MIN_MS,
		    i == peak	  ? 999.0
		    : i == trough ? -999.0
				  : 100 + 0.01 * i);
	assert_int_equal(store_commit(f->s), GA_OK);
}

/* At the cap: every point as stored. */
static void test_every_point_at_the_cap(void **state)
{
	struct fx *f = *state;
	struct device_rule rule;
	struct device dev = crack_meter(&rule);
	json_t *series, *judged;
	bool trunc;

	crack_points(f, HTTP_MON_SERIES_POINTS, 17, -1);
	lines(f, &dev, &series, &judged, &trunc);
	assert_false(trunc);
	assert_int_equal(json_array_size(series), 1);
	json_t *s = json_array_get(series, 0);
	assert_string_equal(json_string_value(json_object_get(s, "channel")), "L1_LF_1");
	assert_int_equal(json_integer_value(json_object_get(s, "points_total")),
			 HTTP_MON_SERIES_POINTS);
	assert_false(json_is_true(json_object_get(s, "downsampled")));
	json_t *pts = json_object_get(s, "points");
	assert_int_equal(json_array_size(pts), HTTP_MON_SERIES_POINTS);
	for (int i = 0; i < HTTP_MON_SERIES_POINTS; i++) {
		json_t *p = json_array_get(pts, (size_t)i);
		assert_int_equal(ms_of(p), T0 + HOUR_MS + i * 6 * MIN_MS);
		assert_float_equal(json_real_value(json_array_get(p, 1)),
				   i == 17 ? 999.0 : 100 + 0.01 * i, 1e-9);
	}
	json_decref(series);
	json_decref(judged);
}

/* One past the cap: cut, in time order, the peak, the trough and the
 * latest kept. */
static void test_cut_one_past_the_cap(void **state)
{
	struct fx *f = *state;
	struct device_rule rule;
	struct device dev = crack_meter(&rule);
	json_t *series, *judged;
	int n = HTTP_MON_SERIES_POINTS + 1;
	bool trunc, peak = false, trough = false;

	crack_points(f, n, 250, 251);
	lines(f, &dev, &series, &judged, &trunc);
	assert_false(trunc);
	json_t *s = json_array_get(series, 0);
	assert_int_equal(json_integer_value(json_object_get(s, "points_total")), n);
	assert_true(json_is_true(json_object_get(s, "downsampled")));
	json_t *pts = json_object_get(s, "points");
	assert_true(json_array_size(pts) <= HTTP_MON_SERIES_POINTS);
	assert_true(json_array_size(pts) < (size_t)n);
	int64_t prev = INT64_MIN;
	for (size_t i = 0; i < json_array_size(pts); i++) {
		json_t *p = json_array_get(pts, i);
		int64_t t = ms_of(p);
		double v = json_real_value(json_array_get(p, 1));
		assert_true(t > prev);
		prev = t;
		peak |= t == T0 + HOUR_MS + 250 * 6 * MIN_MS && v == 999.0;
		trough |= t == T0 + HOUR_MS + 251 * 6 * MIN_MS && v == -999.0;
	}
	assert_true(peak);
	assert_true(trough);
	json_t *last = json_array_get(pts, json_array_size(pts) - 1);
	assert_int_equal(ms_of(last), T0 + HOUR_MS + (n - 1) * 6 * MIN_MS);
	assert_float_equal(json_real_value(json_array_get(last, 1)), 100 + 0.01 * (n - 1), 1e-9);
	/* the judged line is cut the same way */
	json_t *j = json_array_get(judged, 0);
	assert_int_equal(json_integer_value(json_object_get(j, "points_total")), n);
	assert_true(json_array_size(json_object_get(j, "points")) <= HTTP_MON_SERIES_POINTS);
	json_decref(series);
	json_decref(judged);
}

/* change_24h replayed from the points before the window: a reading
 * 10.5 mm above the day before is orange, the threshold lines come with it. */
static void test_metric_replayed_from_before_the_window(void **state)
{
	struct fx *f = *state;
	struct device_rule rule;
	struct device dev = crack_meter(&rule);
	json_t *series, *judged;
	bool trunc;

	assert_int_equal(store_begin(f->s), GA_OK);
	/* a day before the window: 100 mm every hour; in it: 110.5 */
	for (int i = 0; i < 24; i++)
		put(f, "LF-1", "L1_LF_1", "value", T0 - 24 * HOUR_MS + i * HOUR_MS, 100.0);
	put(f, "LF-1", "L1_LF_1", "value", T0 + 30 * MIN_MS, 110.5);
	assert_int_equal(store_commit(f->s), GA_OK);
	lines(f, &dev, &series, &judged, &trunc);
	/* the raw line has the window's point only */
	assert_int_equal(
	    json_integer_value(json_object_get(json_array_get(series, 0), "points_total")), 1);
	json_t *j = json_array_get(judged, 0);
	assert_string_equal(json_string_value(json_object_get(j, "metric")), "change_24h");
	json_t *pts = json_object_get(j, "points");
	assert_int_equal(json_array_size(pts), 1);
	assert_float_equal(json_real_value(json_array_get(json_array_get(pts, 0), 1)), 10.5, 1e-9);
	json_t *latest = json_object_get(j, "latest");
	assert_float_equal(json_real_value(json_object_get(latest, "value")), 10.5, 1e-9);
	assert_string_equal(json_string_value(json_object_get(latest, "level")), "orange");
	json_t *th = json_object_get(j, "thresholds");
	assert_float_equal(json_real_value(json_object_get(th, "blue")), 2, 0);
	assert_float_equal(json_real_value(json_object_get(th, "red")), 20, 0);
	json_decref(series);
	json_decref(judged);
}

/* horizontal: √(X² + Y²) of one time; an X without its Y is no point. */
static void test_horizontal_pairs(void **state)
{
	struct fx *f = *state;
	struct device_rule rule;
	struct device dev = crack_meter(&rule);
	json_t *series, *judged;
	bool trunc;

	dev.device_code = "GP-1";
	snprintf(rule.channel, sizeof(rule.channel), "L1_GP_1");
	snprintf(rule.field, sizeof(rule.field), "horizontal");
	rule.metric = DEVICE_METRIC_VALUE;
	assert_int_equal(store_begin(f->s), GA_OK);
	put(f, "GP-1", "L1_GP_1", "gpsTotalX", T0 + HOUR_MS, 3.0);
	put(f, "GP-1", "L1_GP_1", "gpsTotalY", T0 + HOUR_MS, 4.0);
	put(f, "GP-1", "L1_GP_1", "gpsTotalX", T0 + 2 * HOUR_MS, 30.0);
	put(f, "GP-1", "L1_GP_1", "gpsTotalY", T0 + 3 * HOUR_MS, 40.0);
	assert_int_equal(store_commit(f->s), GA_OK);
	lines(f, &dev, &series, &judged, &trunc);
	assert_int_equal(json_array_size(series), 2); /* X and Y as stored */
	json_t *pts = json_object_get(json_array_get(judged, 0), "points");
	assert_int_equal(json_array_size(pts), 1);
	assert_float_equal(json_real_value(json_array_get(json_array_get(pts, 0), 1)), 5.0, 1e-12);
	assert_string_equal(json_string_value(json_object_get(
				json_object_get(json_array_get(judged, 0), "latest"), "level")),
			    "yellow");
	json_decref(series);
	json_decref(judged);
}

/* A device past HTTP_MON_ROWS_MAX points: its newest are read, the
 * answer says truncated. */
static void test_newest_past_the_read_cap(void **state)
{
	struct fx *f = *state;
	struct device_rule rule;
	struct device dev = crack_meter(&rule);
	json_t *series, *judged;
	int n = HTTP_MON_ROWS_MAX + 100;
	int64_t step = 5000; /* 50,100 points 5 s apart: 70 h, in the window */
	bool trunc;

	assert_int_equal(store_begin(f->s), GA_OK);
	for (int i = 0; i < n; i++)
		put(f, "LF-1", "L1_LF_1", "value", T0 + i * step, 100 + 0.001 * i);
	assert_int_equal(store_commit(f->s), GA_OK);
	lines(f, &dev, &series, &judged, &trunc);
	assert_true(trunc);
	json_t *s = json_array_get(series, 0);
	assert_int_equal(json_integer_value(json_object_get(s, "points_total")), HTTP_MON_ROWS_MAX);
	json_t *pts = json_object_get(s, "points");
	/* the oldest 100 were left out, the latest is there */
	assert_int_equal(ms_of(json_array_get(pts, 0)), T0 + 100 * step);
	assert_int_equal(ms_of(json_array_get(pts, json_array_size(pts) - 1)), T0 + (n - 1) * step);
	json_decref(series);
	json_decref(judged);
}

/* Where a read of the newest max points starts. */
static void test_points_start(void **state)
{
	struct fx *f = *state;
	int64_t start = 0;

	assert_int_equal(store_begin(f->s), GA_OK);
	for (int i = 0; i < 5; i++)
		put(f, "D1", "L1_LF_1", "value", T0 + i * HOUR_MS, i);
	assert_int_equal(store_commit(f->s), GA_OK);
	/* five points: a read of five or more starts at since */
	assert_int_equal(store_device_points_start(f->sd, "D1", T0, 5, &start), GA_ERR_NOTFOUND);
	assert_int_equal(store_device_points_start(f->sd, "D1", T0, 6, &start), GA_ERR_NOTFOUND);
	/* the newest three: after the fourth newest (T0 + 1 h) */
	assert_int_equal(store_device_points_start(f->sd, "D1", T0, 3, &start), GA_OK);
	assert_int_equal(start, T0 + HOUR_MS + 1);
	/* since counts: two points at or after T0 + 3 h, the newest one */
	assert_int_equal(store_device_points_start(f->sd, "D1", T0 + 3 * HOUR_MS, 1, &start),
			 GA_OK);
	assert_int_equal(start, T0 + 3 * HOUR_MS + 1);
	assert_int_equal(store_device_points_start(f->sd, "D2", T0, 1, &start), GA_ERR_NOTFOUND);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_every_point_at_the_cap, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cut_one_past_the_cap, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_metric_replayed_from_before_the_window, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_horizontal_pairs, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_points_start, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_newest_past_the_read_cap, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
