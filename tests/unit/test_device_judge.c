/* test_device_judge.c - rule levels and the hysteresis of spec §12:
 * a crack meter whose 24 h change climbs through 2/5/10/20 mm, rising
 * after confirm_points and to the lowest level of the streak, falling
 * after clear_after to the highest level seen meanwhile; the tangent
 * angle of a GNSS horizontal series; a type-2 frame judged in time
 * order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "device_judge.h"

#define T0 INT64_C(1796601600000) /* 2026-12-07T00:00:00Z */
#define MIN_MS INT64_C(60000)
#define HOUR_MS INT64_C(3600000)

static char tmpdir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/ga-devjudge-XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];
	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static struct device_registry *load(const char *json)
{
	char path[128], err[512];
	struct device_registry *r = NULL;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/devices.json", tmpdir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(json, fp);
	fclose(fp);
	if (device_registry_load(path, NULL, &r, err, sizeof(err)) != GA_OK)
		fail_msg("%s", err);
	return r;
}

/* Feeds one point; returns the number of changes, the first in *c. */
static size_t feed1(struct device_judge *j, const char *dev, const char *ch, const char *field,
		    int64_t t, double v, struct device_judge_change *c)
{
	struct device_point p = {.t_ms = t, .value = v};
	struct device_judge_change cs[4];
	size_t n;

	snprintf(p.channel, sizeof(p.channel), "%s", ch);
	snprintf(p.field, sizeof(p.field), "%s", field);
	assert_int_equal(device_judge_feed(j, dev, &p, 1, cs, 4, &n), GA_OK);
	if (n > 0 && c != NULL)
		*c = cs[0];
	return n;
}

static const char *value_rule =
    "{\"devices\": [{\"device_code\": \"LF1\", \"station_id\": \"S1\", \"rules\": ["
    "{\"channel\": \"L1_LF_1\", \"metric\": \"value\", \"blue\": 2, \"yellow\": 5, "
    "\"orange\": 10, \"red\": 20}]}]}";

static void test_hysteresis(void **state)
{
	struct device_registry *r = load(value_rule);
	struct device_judge *j = NULL;
	struct device_judge_options opt = {.confirm_points = 2, .clear_after_ms = HOUR_MS};
	struct device_judge_change c;
	/* value, expected level after it */
	static const struct {
		double v;
		enum device_level level;
	} steps[] = {
	    {1, DEVICE_LEVEL_NONE},    /* below blue */
	    {3, DEVICE_LEVEL_NONE},    /* blue, 1 of 2 */
	    {1, DEVICE_LEVEL_NONE},    /* streak broken */
	    {3, DEVICE_LEVEL_NONE},    /* blue, 1 of 2 */
	    {6, DEVICE_LEVEL_BLUE},    /* yellow, 2 of 2: the lowest of the streak */
	    {6, DEVICE_LEVEL_BLUE},    /* yellow 1 of 2 */
	    {6, DEVICE_LEVEL_YELLOW},  /* yellow 2 of 2 */
	    {25, DEVICE_LEVEL_YELLOW}, /* red 1 of 2 */
	    {12, DEVICE_LEVEL_ORANGE}, /* orange 2 of 2: orange, not red */
	    {20, DEVICE_LEVEL_ORANGE}, /* red (inclusive) 1 of 2 */
	    {20, DEVICE_LEVEL_RED},    /* red 2 of 2 */
	    {3, DEVICE_LEVEL_RED},     /* below since now (t = 11) */
	    {6, DEVICE_LEVEL_RED},     /* still below: 10 min */
	    {1, DEVICE_LEVEL_RED},     /* 20 min */
	    {1, DEVICE_LEVEL_RED},     /* 30 */
	    {1, DEVICE_LEVEL_RED},     /* 40 */
	    {1, DEVICE_LEVEL_RED},     /* 50 */
	    {1, DEVICE_LEVEL_YELLOW},  /* 60 min: to the highest seen, yellow */
	    {1, DEVICE_LEVEL_YELLOW},  /* below yellow from here */
	    {5, DEVICE_LEVEL_YELLOW},  /* at yellow: the clock stops */
	    {1, DEVICE_LEVEL_YELLOW},  /* below again, from here */
	};
	enum device_level prev = DEVICE_LEVEL_NONE;
	int changes = 0;

	(void)state;
	assert_int_equal(device_judge_new(r, &opt, &j), GA_OK);
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		size_t n = feed1(j, "LF1", "L1_LF_1", "value", T0 + (int64_t)i * 10 * MIN_MS,
				 steps[i].v, &c);
		print_message("step %zu: %g -> %s\n", i, steps[i].v,
			      device_level_name(device_judge_level(j, "S1")) ?: "none");
		assert_int_equal(device_judge_level(j, "S1"), steps[i].level);
		assert_int_equal(n, steps[i].level != prev);
		if (n) {
			changes++;
			assert_int_equal(c.from, prev);
			assert_int_equal(c.to, steps[i].level);
			assert_int_equal(c.t_ms, T0 + (int64_t)i * 10 * MIN_MS);
			assert_string_equal(c.station_id, "S1");
			assert_string_equal(c.device_code, "LF1");
		}
		prev = steps[i].level;
	}
	assert_int_equal(changes, 5);
	/* 60 min below yellow, all of it under blue: straight to none */
	for (int k = 1; k <= 6; k++)
		feed1(j, "LF1", "L1_LF_1", "value", T0 + (20 + k) * 10 * MIN_MS, 1, NULL);
	assert_int_equal(device_judge_level(j, "S1"), DEVICE_LEVEL_NONE);
	/* a restart's stored level */
	assert_int_equal(device_judge_set_level(j, "S1", DEVICE_LEVEL_ORANGE), GA_OK);
	assert_int_equal(device_judge_level(j, "S1"), DEVICE_LEVEL_ORANGE);
	assert_int_equal(device_judge_set_level(j, "S9", DEVICE_LEVEL_ORANGE), GA_ERR_NOTFOUND);
	assert_int_equal(device_judge_level(j, "S9"), DEVICE_LEVEL_NONE);
	/* unknown device */
	size_t n;
	struct device_point p = {.channel = "L1_LF_1", .field = "value", .t_ms = T0, .value = 1};
	assert_int_equal(device_judge_feed(j, "LF2", &p, 1, &c, 1, &n), GA_ERR_NOTFOUND);
	device_judge_free(j);
	device_registry_free(r);
}

/* The crack meter of the issue: the 24 h change climbs 0.25 mm per
 * 10 min from a steady 100 mm; with confirm_points 2 the level follows
 * each threshold one point late. */
static void test_crack_meter_change_24h(void **state)
{
	struct device_registry *r = load(
	    "{\"devices\": [{\"device_code\": \"LF1\", \"station_id\": \"S1\", \"rules\": ["
	    "{\"channel\": \"L1_LF_1\", \"metric\": \"change_24h\", \"blue\": 2, \"yellow\": 5, "
	    "\"orange\": 10, \"red\": 20}]}]}");
	struct device_judge *j = NULL;
	struct device_judge_options opt = {.confirm_points = 2, .clear_after_ms = 6 * HOUR_MS};
	struct device_judge_change c;
	enum device_level seen[8];
	int64_t at[8];
	size_t nseen = 0;

	(void)state;
	assert_int_equal(device_judge_new(r, &opt, &j), GA_OK);
	/* its window keeps the first points only (issue 13: memory) */
	const struct device_window *w = device_judge_window(j, "LF1", "L1_LF_1", "value");
	assert_non_null(w);
	assert_int_equal(w->keep, DEVICE_WINDOW_KEEP_FIRST);
	/* a steady day first */
	for (int k = 0; k < 144; k++)
		assert_int_equal(
		    feed1(j, "LF1", "L1_LF_1", "value", T0 + k * 10 * MIN_MS, 100, NULL), 0);
	/* then + 0.25 mm per point: change = 0.25 * i at point i (i >= 1);
	 * the earliest point in the window is still 100 mm throughout */
	for (int i = 1; i <= 120; i++) {
		int64_t t = T0 + (143 + i) * 10 * MIN_MS;
		if (feed1(j, "LF1", "L1_LF_1", "value", t, 100 + 0.25 * i, &c)) {
			assert_true(nseen < 8);
			seen[nseen] = c.to;
			at[nseen++] = i;
			assert_int_equal(c.metric, DEVICE_METRIC_CHANGE_24H);
			assert_float_equal(c.metric_value, 0.25 * i, 1e-9);
			assert_float_equal(c.threshold,
					   c.to == DEVICE_LEVEL_BLUE	 ? 2
					   : c.to == DEVICE_LEVEL_YELLOW ? 5
					   : c.to == DEVICE_LEVEL_ORANGE ? 10
									 : 20,
					   0);
		}
	}
	/* 0.25*i reaches 2 at i = 8 (inclusive): blue at the 2nd point, 9 */
	assert_int_equal(nseen, 4);
	assert_int_equal(seen[0], DEVICE_LEVEL_BLUE);
	assert_int_equal(at[0], 9);
	assert_int_equal(seen[1], DEVICE_LEVEL_YELLOW);
	assert_int_equal(at[1], 21);
	assert_int_equal(seen[2], DEVICE_LEVEL_ORANGE);
	assert_int_equal(at[2], 41);
	assert_int_equal(seen[3], DEVICE_LEVEL_RED);
	assert_int_equal(at[3], 81);
	device_judge_free(j);
	device_registry_free(r);
}

/* Decimal readings: 5.1 - 3.1 is 2 to a person and 1.9999999999999996
 * to a double. The threshold holds (inclusive) within 1e-9 relative. */
static void test_threshold_inclusive_decimals(void **state)
{
	struct device_registry *r =
	    load("{\"devices\": [{\"device_code\": \"LF1\", \"station_id\": \"S1\", \"rules\": ["
		 "{\"channel\": \"L1_LF_1\", \"metric\": \"change_24h\", \"blue\": 2}]}]}");
	struct device_judge *j = NULL;
	struct device_judge_options opt = {.confirm_points = 1, .clear_after_ms = HOUR_MS};

	(void)state;
	assert_true(5.1 - 3.1 < 2.0);
	assert_int_equal(device_judge_new(r, &opt, &j), GA_OK);
	feed1(j, "LF1", "L1_LF_1", "value", T0, 3.1, NULL);
	feed1(j, "LF1", "L1_LF_1", "value", T0 + 10 * MIN_MS, 5.099, NULL);
	assert_int_equal(device_judge_level(j, "S1"), DEVICE_LEVEL_NONE);
	feed1(j, "LF1", "L1_LF_1", "value", T0 + 20 * MIN_MS, 5.1, NULL);
	assert_int_equal(device_judge_level(j, "S1"), DEVICE_LEVEL_BLUE);
	device_judge_free(j);
	device_registry_free(r);
}

static void test_gnss_tangent_angle(void **state)
{
	struct device_registry *r = load(
	    "{\"devices\": [{\"device_code\": \"GP1\", \"station_id\": \"S2\", \"rules\": ["
	    "{\"channel\": \"L1_GP_1\", \"field\": \"horizontal\", \"metric\": \"rate_per_day\", "
	    "\"yellow\": 50, \"orange\": 100, \"red\": 300},"
	    "{\"channel\": \"L1_GP_1\", \"field\": \"horizontal\", \"metric\": \"tangent_angle\", "
	    "\"v_ref_per_day\": 120, \"yellow\": 40, \"orange\": 46, \"red\": 89}]}]}");
	struct device_judge *j = NULL;
	struct device_judge_options opt = {.confirm_points = 1, .clear_after_ms = 0};
	struct device_judge_change cs[4];
	size_t n;

	(void)state;
	assert_int_equal(device_judge_new(r, &opt, &j), GA_OK);
	/* X 3 mm/h, Y 4 mm/h: horizontal 5 mm/h = 120 mm/day = v_ref: 45° */
	for (int h = 0; h < 6; h++) {
		struct device_point p[3] = {
		    {.channel = "L1_GP_1",
		     .field = "gpsTotalX",
		     .t_ms = T0 + h * HOUR_MS,
		     .value = 3.0 * h},
		    {.channel = "L1_GP_1",
		     .field = "gpsTotalY",
		     .t_ms = T0 + h * HOUR_MS,
		     .value = 4.0 * h},
		    {.channel = "L1_GP_1",
		     .field = "gpsTotalZ",
		     .t_ms = T0 + h * HOUR_MS,
		     .value = -1},
		};
		assert_int_equal(device_judge_feed(j, "GP1", p, 3, cs, 4, &n), GA_OK);
	}
	const struct device_window *w = device_judge_window(j, "GP1", "L1_GP_1", "horizontal");
	assert_non_null(w);
	/* rate_per_day and tangent_angle share one window of sums */
	assert_int_equal(w->keep, DEVICE_WINDOW_KEEP_LSQ);
	assert_float_equal(w->latest_v, 25, 1e-12);
	const struct device_judge_rule_state *rate = device_judge_rule(j, "GP1", 0);
	const struct device_judge_rule_state *tan = device_judge_rule(j, "GP1", 1);
	assert_float_equal(rate->value, 120, 1e-9);
	assert_int_equal(rate->level, DEVICE_LEVEL_ORANGE);
	assert_float_equal(tan->value, 45, 1e-9);
	assert_int_equal(tan->level, DEVICE_LEVEL_YELLOW);
	assert_int_equal(device_judge_level(j, "S2"), DEVICE_LEVEL_ORANGE);
	/* X without Y: no horizontal point */
	struct device_point x = {
	    .channel = "L1_GP_1", .field = "gpsTotalX", .t_ms = T0 + 6 * HOUR_MS, .value = 1000};
	assert_int_equal(device_judge_feed(j, "GP1", &x, 1, cs, 4, &n), GA_OK);
	assert_int_equal(n, 0);
	assert_float_equal(w->latest_v, 25, 1e-12);
	assert_null(device_judge_window(j, "GP1", "L1_GP_1", "gpsTotalX"));
	device_judge_free(j);
	device_registry_free(r);
}

/* A type-2 frame carries several times, in any order: judged oldest
 * first, one change at the point that confirms it. */
static void test_frame_in_time_order(void **state)
{
	struct device_registry *r = load(value_rule);
	struct device_judge *j = NULL;
	struct device_judge_options opt = {.confirm_points = 2, .clear_after_ms = HOUR_MS};
	struct device_judge_change cs[4];
	struct device_point p[3] = {
	    {.channel = "L1_LF_1", .field = "value", .t_ms = T0 + 20 * MIN_MS, .value = 6},
	    {.channel = "L1_LF_1", .field = "value", .t_ms = T0, .value = 1},
	    {.channel = "L1_LF_1", .field = "value", .t_ms = T0 + 10 * MIN_MS, .value = 6},
	};
	size_t n;

	(void)state;
	assert_int_equal(device_judge_new(r, &opt, &j), GA_OK);
	assert_int_equal(device_judge_feed(j, "LF1", p, 3, cs, 4, &n), GA_OK);
	assert_int_equal(n, 1);
	assert_int_equal(cs[0].to, DEVICE_LEVEL_YELLOW);
	assert_int_equal(cs[0].t_ms, T0 + 20 * MIN_MS);
	/* the same frame again: every point a duplicate or already counted
	 * (the store keeps the window from seeing stored points twice; the
	 * latest is refused here) — nothing changes */
	assert_int_equal(device_judge_feed(j, "LF1", &p[0], 1, cs, 4, &n), GA_OK);
	assert_int_equal(n, 0);
	/* cap on changes: 0 room still judges */
	struct device_point q = {
	    .channel = "L1_LF_1", .field = "value", .t_ms = T0 + 30 * MIN_MS, .value = 30};
	assert_int_equal(device_judge_feed(j, "LF1", &q, 1, cs, 0, &n), GA_OK);
	q.t_ms += 10 * MIN_MS;
	assert_int_equal(device_judge_feed(j, "LF1", &q, 1, cs, 0, &n), GA_OK);
	assert_int_equal(n, 0);
	assert_int_equal(device_judge_level(j, "S1"), DEVICE_LEVEL_RED);
	device_judge_free(j);
	device_registry_free(r);
}

/* The store's rows of a GNSS channel paired by time into horizontal. */
static void test_horizontal_pairing(void **state)
{
	struct device_horizontal h = DEVICE_HORIZONTAL_INIT;
	double v = -1;

	(void)state;
	assert_false(device_horizontal_add(&h, "gpsTotalX", 1000, 3, &v));
	assert_true(device_horizontal_add(&h, "gpsTotalY", 1000, 4, &v));
	assert_true(v == 5);
	/* an X whose Y never came is dropped when another time begins */
	assert_false(device_horizontal_add(&h, "gpsTotalX", 2000, 6, &v));
	assert_false(device_horizontal_add(&h, "gpsTotalY", 3000, 8, &v));
	assert_false(device_horizontal_add(&h, "gpsTotalZ", 3000, 1, &v));
	assert_true(device_horizontal_add(&h, "gpsTotalX", 3000, 6, &v));
	assert_true(v == 10);
	/* a pair is used once */
	assert_false(device_horizontal_add(&h, "gpsTotalY", 3000, 8, &v));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hysteresis),
	    cmocka_unit_test(test_horizontal_pairing),
	    cmocka_unit_test(test_crack_meter_change_24h),
	    cmocka_unit_test(test_threshold_inclusive_decimals),
	    cmocka_unit_test(test_gnss_tangent_angle),
	    cmocka_unit_test(test_frame_in_time_order),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
