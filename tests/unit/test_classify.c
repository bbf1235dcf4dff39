/* test_classify.c - severity levels of spec §5 at every bound, reasons,
 * and the validation of the thresholds file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "classify.h"

#define PATH_MAX_T 1024

static char tmpdir[64];

static const char *bundled_path(char *buf, size_t len)
{
	const char *src = getenv("GA_SOURCE_DIR");

	snprintf(buf, len, "%s/alerts/thresholds.json", src ? src : GA_DATADIR);
	return buf;
}

static json_t *bundled_json(void)
{
	char p[PATH_MAX_T];
	json_t *j = json_load_file(bundled_path(p, sizeof(p)), 0, NULL);

	assert_non_null(j);
	return j;
}

/* Writes j (or text when j is NULL) to tmpdir/name; returns the path. */
static const char *write_tmp(const char *name, json_t *j, const char *text, char *path, size_t len)
{
	FILE *fp;

	snprintf(path, len, "%s/%s", tmpdir, name);
	if (j != NULL) {
		assert_int_equal(json_dump_file(j, path, 0), 0);
	} else {
		fp = fopen(path, "w");
		assert_non_null(fp);
		fputs(text ? text : "", fp);
		fclose(fp);
	}
	return path;
}

static int setup(void **state)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/ga-classify-XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[PATH_MAX_T + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static struct thresholds *load_bundled(void)
{
	struct thresholds *t = NULL;
	char err[256];

	assert_int_equal(thresholds_load(NULL, &t, err, sizeof(err)), GA_OK);
	assert_non_null(t);
	return t;
}

static struct thresholds *load_no_missing(void)
{
	struct thresholds *t = NULL;
	char err[256], path[PATH_MAX_T];
	json_t *j = bundled_json();

	json_object_set_new(j, "count_missing_as_deaths", json_false());
	write_tmp("nomissing.json", j, NULL, path, sizeof(path));
	json_decref(j);
	assert_int_equal(thresholds_load(path, &t, err, sizeof(err)), GA_OK);
	return t;
}

static void set_fig(struct figures *f, enum figure k, double v)
{
	f->value[k] = v;
	f->set |= 1u << k;
}

struct bound_case {
	bool disaster;
	enum figure fig;
	double value;
	enum level level;
};

/* Every bound of the national table, just below and at it. */
static const struct bound_case bound_cases[] = {
    {true, FIG_DEATHS, 0, LEVEL_SMALL},
    {true, FIG_DEATHS, 2, LEVEL_SMALL},
    {true, FIG_DEATHS, 3, LEVEL_MEDIUM},
    {true, FIG_DEATHS, 9, LEVEL_MEDIUM},
    {true, FIG_DEATHS, 10, LEVEL_LARGE},
    {true, FIG_DEATHS, 29, LEVEL_LARGE},
    {true, FIG_DEATHS, 30, LEVEL_EXTRA_LARGE},
    {true, FIG_DEATHS, 3000, LEVEL_EXTRA_LARGE},
    {true, FIG_MISSING, 2, LEVEL_SMALL},
    {true, FIG_MISSING, 3, LEVEL_MEDIUM},
    {true, FIG_MISSING, 29, LEVEL_LARGE},
    {true, FIG_MISSING, 30, LEVEL_EXTRA_LARGE},
    {true, FIG_DIRECT_LOSS_CNY, 999999.99, LEVEL_SMALL},
    {true, FIG_DIRECT_LOSS_CNY, 1000000, LEVEL_MEDIUM},
    {true, FIG_DIRECT_LOSS_CNY, 4999999, LEVEL_MEDIUM},
    {true, FIG_DIRECT_LOSS_CNY, 5000000, LEVEL_LARGE},
    {true, FIG_DIRECT_LOSS_CNY, 9999999, LEVEL_LARGE},
    {true, FIG_DIRECT_LOSS_CNY, 10000000, LEVEL_EXTRA_LARGE},
    {false, FIG_THREATENED_PEOPLE, 99, LEVEL_SMALL},
    {false, FIG_THREATENED_PEOPLE, 100, LEVEL_MEDIUM},
    {false, FIG_THREATENED_PEOPLE, 499, LEVEL_MEDIUM},
    {false, FIG_THREATENED_PEOPLE, 500, LEVEL_LARGE},
    {false, FIG_THREATENED_PEOPLE, 999, LEVEL_LARGE},
    {false, FIG_THREATENED_PEOPLE, 1000, LEVEL_EXTRA_LARGE},
    {false, FIG_THREATENED_PROPERTY_CNY, 4999999, LEVEL_SMALL},
    {false, FIG_THREATENED_PROPERTY_CNY, 5000000, LEVEL_MEDIUM},
    {false, FIG_THREATENED_PROPERTY_CNY, 49999999, LEVEL_MEDIUM},
    {false, FIG_THREATENED_PROPERTY_CNY, 50000000, LEVEL_LARGE},
    {false, FIG_THREATENED_PROPERTY_CNY, 99999999, LEVEL_LARGE},
    {false, FIG_THREATENED_PROPERTY_CNY, 100000000, LEVEL_EXTRA_LARGE},
    /* Danger figures count for a disaster too. */
    {true, FIG_THREATENED_PEOPLE, 500, LEVEL_LARGE},
    {true, FIG_THREATENED_PROPERTY_CNY, 100000000, LEVEL_EXTRA_LARGE},
    /* Disaster figures do not count for a danger. */
    {false, FIG_DEATHS, 100, LEVEL_SMALL},
    {false, FIG_DIRECT_LOSS_CNY, 1e9, LEVEL_SMALL},
};

static void test_bounds(void **state)
{
	struct thresholds *t = load_bundled();
	struct classification c;

	for (size_t i = 0; i < sizeof(bound_cases) / sizeof(bound_cases[0]); i++) {
		const struct bound_case *bc = &bound_cases[i];
		struct figures f = {0};
		set_fig(&f, bc->fig, bc->value);
		classify_figures(t, bc->disaster, &f, &c);
		if (c.level != bc->level)
			fail_msg("case %zu: %s %.2f (%s): got %s, want %s", i, figure_name(bc->fig),
				 bc->value, bc->disaster ? "disaster" : "danger",
				 level_name(c.level), level_name(bc->level));
		assert_int_equal(c.disaster, bc->disaster);
		assert_true(c.nreasons >= 1);
	}
	thresholds_free(t);
}

static void test_missing_switch(void **state)
{
	struct thresholds *on = load_bundled(), *off = load_no_missing();
	struct classification c;
	struct figures f = {0};

	/* 8 deaths + 2 missing: large when counted, medium when not. */
	set_fig(&f, FIG_DEATHS, 8);
	set_fig(&f, FIG_MISSING, 2);
	classify_figures(on, true, &f, &c);
	assert_int_equal(c.level, LEVEL_LARGE);
	assert_string_equal(c.reasons[0], "deaths+missing 10 >= 10: large");
	classify_figures(off, true, &f, &c);
	assert_int_equal(c.level, LEVEL_MEDIUM);
	assert_string_equal(c.reasons[0], "deaths 8 >= 3: medium");

	/* Bounds without counting the missing. */
	memset(&f, 0, sizeof(f));
	set_fig(&f, FIG_MISSING, 100);
	classify_figures(off, true, &f, &c);
	assert_int_equal(c.level, LEVEL_SMALL);
	assert_string_equal(c.reasons[0], "no figures: small");
	set_fig(&f, FIG_DEATHS, 29);
	classify_figures(off, true, &f, &c);
	assert_int_equal(c.level, LEVEL_LARGE);
	assert_string_equal(c.reasons[0], "deaths 29 >= 10: large");
	set_fig(&f, FIG_DEATHS, 30);
	classify_figures(off, true, &f, &c);
	assert_int_equal(c.level, LEVEL_EXTRA_LARGE);
	set_fig(&f, FIG_DEATHS, 2);
	classify_figures(off, true, &f, &c);
	assert_int_equal(c.level, LEVEL_SMALL);
	assert_string_equal(c.reasons[0], "deaths 2 < 3: small");
	set_fig(&f, FIG_DEATHS, 3);
	classify_figures(off, true, &f, &c);
	assert_int_equal(c.level, LEVEL_MEDIUM);
	/* ...while counted, 2 + 100 is extra large. */
	set_fig(&f, FIG_DEATHS, 2);
	classify_figures(on, true, &f, &c);
	assert_int_equal(c.level, LEVEL_EXTRA_LARGE);
	assert_string_equal(c.reasons[0], "deaths+missing 102 >= 30: extra_large");

	thresholds_free(on);
	thresholds_free(off);
}

/* classify_figures_level gives classify_figures' level for every mix of
 * figures (each unset, or at or around each bound), disaster or not,
 * missing counted or not. */
static void test_level_only(void **state)
{
	struct thresholds *ts[2] = {load_bundled(), load_no_missing()};
	const double vals[] = {0, 1, 2.5, 3, 9, 10, 29, 30, 99, 100, 1e6, 1e9};
	const int nv = (int)(sizeof(vals) / sizeof(vals[0]));
	uint32_t x = 2463534242u;
	int checked = 0;

	(void)state;
	for (int k = 0; k < 20000; k++) {
		struct figures f = {0};
		struct classification c;
		for (int i = 0; i < FIG_COUNT; i++) {
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
			if (x % 3 != 0)
				set_fig(&f, (enum figure)i, vals[(x >> 4) % (uint32_t)nv]);
		}
		for (int tt = 0; tt < 2; tt++) {
			for (int d = 0; d < 2; d++) {
				classify_figures(ts[tt], d != 0, &f, &c);
				assert_int_equal(classify_figures_level(ts[tt], d != 0, &f),
						 c.level);
				checked++;
			}
		}
	}
	assert_int_equal(checked, 80000);
	thresholds_free(ts[0]);
	thresholds_free(ts[1]);
}

static void test_reasons(void **state)
{
	struct thresholds *t = load_bundled();
	struct classification c;
	struct figures f = {0};

	classify_figures(t, true, &f, &c);
	assert_int_equal(c.level, LEVEL_SMALL);
	assert_int_equal(c.nreasons, 1);
	assert_string_equal(c.reasons[0], "no figures: small");
	/* The console's Chinese for each reason (issue 10). */
	assert_string_equal(c.reasons_zh[0], "未报告分级数字：小型");

	set_fig(&f, FIG_DEATHS, 10);
	set_fig(&f, FIG_MISSING, 2);
	classify_figures(t, true, &f, &c);
	assert_string_equal(c.reasons[0], "deaths+missing 12 >= 10: large");
	assert_string_equal(c.reasons_zh[0], "死亡和失踪人数12人，≥10人：大型");

	memset(&f, 0, sizeof(f));
	set_fig(&f, FIG_DEATHS, 2);
	classify_figures(t, true, &f, &c);
	assert_string_equal(c.reasons[0], "deaths+missing 2 < 3: small");
	assert_string_equal(c.reasons_zh[0], "死亡和失踪人数2人，<3人：小型");

	memset(&f, 0, sizeof(f));
	set_fig(&f, FIG_THREATENED_PEOPLE, 620);
	classify_figures(t, false, &f, &c);
	assert_string_equal(c.reasons_zh[0], "威胁人数620人，≥500人：大型");
	memset(&f, 0, sizeof(f));
	set_fig(&f, FIG_THREATENED_PROPERTY_CNY, 30000000);
	classify_figures(t, false, &f, &c);
	assert_string_equal(c.reasons[0], "threatened_property_cny 30000000 >= 5000000: medium");
	assert_string_equal(c.reasons_zh[0], "潜在经济损失30000000元，≥5000000元：中型");
	memset(&f, 0, sizeof(f));
	set_fig(&f, FIG_DEATHS, 2);

	/* The deciding criterion comes first, whatever the table order. */
	set_fig(&f, FIG_DIRECT_LOSS_CNY, 6000000);
	classify_figures(t, true, &f, &c);
	assert_int_equal(c.level, LEVEL_LARGE);
	assert_int_equal(c.disaster_level, LEVEL_LARGE);
	assert_int_equal(c.nreasons, 2);
	assert_string_equal(c.reasons[0], "direct_loss_cny 6000000 >= 5000000: large");
	assert_string_equal(c.reasons[1], "deaths+missing 2 < 3: small");

	memset(&f, 0, sizeof(f));
	set_fig(&f, FIG_THREATENED_PEOPLE, 620);
	set_fig(&f, FIG_THREATENED_PROPERTY_CNY, 30000000);
	classify_figures(t, false, &f, &c);
	assert_int_equal(c.level, LEVEL_LARGE);
	assert_int_equal(c.danger_level, LEVEL_LARGE);
	assert_string_equal(c.reasons[0], "threatened_people 620 >= 500: large");
	assert_string_equal(c.reasons[1], "threatened_property_cny 30000000 >= 5000000: medium");

	/* Large yuan print in full, fractions without trailing zeros. */
	memset(&f, 0, sizeof(f));
	set_fig(&f, FIG_DIRECT_LOSS_CNY, 10000000);
	classify_figures(t, true, &f, &c);
	assert_string_equal(c.reasons[0], "direct_loss_cny 10000000 >= 10000000: extra_large");
	set_fig(&f, FIG_DIRECT_LOSS_CNY, 1234.5);
	classify_figures(t, true, &f, &c);
	assert_string_equal(c.reasons[0], "direct_loss_cny 1234.5 < 1000000: small");
	set_fig(&f, FIG_DIRECT_LOSS_CNY, 2500000000.0);
	classify_figures(t, true, &f, &c);
	assert_string_equal(c.reasons[0], "direct_loss_cny 2500000000 >= 10000000: extra_large");

	/* Disaster level from disaster figures, danger level from danger
	 * figures; the incident takes the higher. */
	memset(&f, 0, sizeof(f));
	set_fig(&f, FIG_DEATHS, 3);
	set_fig(&f, FIG_THREATENED_PEOPLE, 1000);
	classify_figures(t, true, &f, &c);
	assert_int_equal(c.disaster_level, LEVEL_MEDIUM);
	assert_int_equal(c.danger_level, LEVEL_EXTRA_LARGE);
	assert_int_equal(c.level, LEVEL_EXTRA_LARGE);
	assert_string_equal(c.reasons[0], "threatened_people 1000 >= 1000: extra_large");
	assert_string_equal(c.reasons[1], "deaths+missing 3 >= 3: medium");
	thresholds_free(t);
}

static void test_to_json(void **state)
{
	struct thresholds *t = load_bundled();
	struct classification c;
	struct figures f = {0};
	json_t *j;
	char *s;

	set_fig(&f, FIG_THREATENED_PEOPLE, 620);
	classify_figures(t, false, &f, &c);
	j = classify_to_json(&c, KIND_DANGER, LEVEL_LARGE);
	s = json_dumps(j, JSON_PRESERVE_ORDER | JSON_COMPACT);
	assert_string_equal(s, "{\"kind\":\"danger\",\"level\":\"large\",\"level_zh\":\"大型\","
			       "\"response_level\":\"II\",\"color\":\"orange\",\"publish\":true,"
			       "\"reasons\":[\"threatened_people 620 >= 500: large\"]}");
	free(s);
	json_decref(j);

	/* Below publish_min_level: not proposed for publication. */
	j = classify_to_json(&c, KIND_DANGER, LEVEL_EXTRA_LARGE);
	assert_true(json_is_false(json_object_get(j, "publish")));
	json_decref(j);

	memset(&f, 0, sizeof(f));
	set_fig(&f, FIG_DEATHS, 2);
	set_fig(&f, FIG_MISSING, 1);
	classify_figures(t, true, &f, &c);
	j = classify_to_json(&c, KIND_DISASTER, LEVEL_LARGE);
	assert_string_equal(json_string_value(json_object_get(j, "kind")), "disaster");
	assert_string_equal(json_string_value(json_object_get(j, "level")), "medium");
	assert_string_equal(json_string_value(json_object_get(j, "level_zh")), "中型");
	assert_string_equal(json_string_value(json_object_get(j, "response_level")), "III");
	assert_string_equal(json_string_value(json_object_get(j, "color")), "yellow");
	assert_true(json_is_false(json_object_get(j, "publish")));
	json_decref(j);
	j = classify_to_json(&c, KIND_DISASTER, LEVEL_MEDIUM);
	assert_true(json_is_true(json_object_get(j, "publish")));
	json_decref(j);
	thresholds_free(t);
}

/* A province tightening the bounds: the data file, not the code, decides. */
static void test_custom_thresholds(void **state)
{
	struct thresholds *t = NULL;
	struct classification c;
	struct figures f = {0};
	char err[256], path[PATH_MAX_T];
	json_t *j = bundled_json();

	json_object_set_new(
	    json_object_get(json_object_get(json_object_get(j, "levels"), "large"), "danger"),
	    "threatened_people", json_integer(300));
	write_tmp("tight.json", j, NULL, path, sizeof(path));
	json_decref(j);
	assert_int_equal(thresholds_load(path, &t, err, sizeof(err)), GA_OK);
	set_fig(&f, FIG_THREATENED_PEOPLE, 300);
	classify_figures(t, false, &f, &c);
	assert_int_equal(c.level, LEVEL_LARGE);
	assert_string_equal(c.reasons[0], "threatened_people 300 >= 300: large");
	thresholds_free(t);
}

struct bad_case {
	const char *name;
	const char *text;
	const char *want; /* substring of the message */
};

static void test_bad_files(void **state)
{
	static const struct bad_case cases[] = {
	    {"notjson.json", "{\"levels\": ", "notjson.json:"},
	    {"array.json", "[]", "must be a JSON object"},
	    {"noschema.json", "{\"count_missing_as_deaths\": true, \"levels\": {}}", "key schema"},
	    {"unknown.json", "{\"schema\": \"geoalert.thresholds/1\", \"levls\": {}}",
	     "key levls: unknown key"},
	    {"noswitch.json", "{\"schema\": \"geoalert.thresholds/1\", \"levels\": {}}",
	     "key count_missing_as_deaths: missing"},
	    {"switchtype.json",
	     "{\"schema\": \"geoalert.thresholds/1\", \"count_missing_as_deaths\": 1, "
	     "\"levels\": {}}",
	     "key count_missing_as_deaths: must be true or false"},
	    {"nolevels.json",
	     "{\"schema\": \"geoalert.thresholds/1\", \"count_missing_as_deaths\": true}",
	     "key levels: missing"},
	    {"nomedium.json",
	     "{\"schema\": \"geoalert.thresholds/1\", \"count_missing_as_deaths\": true, "
	     "\"levels\": {}}",
	     "key levels.medium: missing"},
	};
	struct thresholds *t = NULL;
	char err[512], path[PATH_MAX_T];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		write_tmp(cases[i].name, NULL, cases[i].text, path, sizeof(path));
		err[0] = '\0';
		assert_int_equal(thresholds_load(path, &t, err, sizeof(err)), GA_ERR_CONFIG);
		assert_null(t);
		if (strstr(err, cases[i].want) == NULL || strstr(err, cases[i].name) == NULL)
			fail_msg("%s: message \"%s\" lacks \"%s\"", cases[i].name, err,
				 cases[i].want);
	}
	snprintf(path, sizeof(path), "%s/absent.json", tmpdir);
	assert_int_equal(thresholds_load(path, &t, err, sizeof(err)), GA_ERR_IO);
	assert_non_null(strstr(err, "absent.json"));
	assert_null(t);
}

/* Mutations of the bundled file: one value at a time. */
static void test_bad_values(void **state)
{
	static const struct {
		const char *level, *group, *key, *want;
	} cases[] = {
	    {"large", "disaster", "deaths", "key levels.large.disaster.deaths: missing"},
	    {"medium", "danger", "threatened_people",
	     "key levels.medium.danger.threatened_people: missing"},
	};
	struct thresholds *t = NULL;
	char err[512], path[PATH_MAX_T];
	json_t *j, *g;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		j = bundled_json();
		g = json_object_get(json_object_get(json_object_get(j, "levels"), cases[i].level),
				    cases[i].group);
		json_object_del(g, cases[i].key);
		write_tmp("missing.json", j, NULL, path, sizeof(path));
		json_decref(j);
		assert_int_equal(thresholds_load(path, &t, err, sizeof(err)), GA_ERR_CONFIG);
		assert_non_null(strstr(err, cases[i].want));
		assert_non_null(strstr(err, "missing.json"));
	}

	static const struct {
		const char *level, *group, *key, *json, *want;
	} vals[] = {
	    {"large", "disaster", "deaths", "\"10\"",
	     "key levels.large.disaster.deaths: must be a non-negative integer"},
	    {"large", "disaster", "deaths", "-1", "levels.large.disaster.deaths"},
	    {"large", "disaster", "deaths", "10.5", "must be a non-negative integer"},
	    {"medium", "disaster", "direct_loss_cny", "-0.5",
	     "key levels.medium.disaster.direct_loss_cny: must be a non-negative number"},
	    {"extra_large", "danger", "threatened_property_cny", "null",
	     "levels.extra_large.danger.threatened_property_cny"},
	    /* Non-monotonic: large below medium, extra_large below large. */
	    {"large", "danger", "threatened_people", "99",
	     "key levels.large.danger.threatened_people: must not be below the medium bound"},
	    {"extra_large", "disaster", "direct_loss_cny", "4999999",
	     "levels.extra_large.disaster.direct_loss_cny: must not be below the large bound"},
	    {"medium", "danger", "extra", "1", "key levels.medium.danger.extra: unknown key"},
	};
	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		j = bundled_json();
		g = json_object_get(json_object_get(json_object_get(j, "levels"), vals[i].level),
				    vals[i].group);
		json_object_set_new(g, vals[i].key,
				    json_loads(vals[i].json, JSON_DECODE_ANY, NULL));
		write_tmp("bad.json", j, NULL, path, sizeof(path));
		json_decref(j);
		t = NULL;
		assert_int_equal(thresholds_load(path, &t, err, sizeof(err)), GA_ERR_CONFIG);
		assert_null(t);
		if (strstr(err, vals[i].want) == NULL || strstr(err, "bad.json") == NULL)
			fail_msg("case %zu: message \"%s\" lacks \"%s\"", i, err, vals[i].want);
	}

	/* Equal bounds are monotonic (the higher level wins). */
	j = bundled_json();
	g = json_object_get(json_object_get(json_object_get(j, "levels"), "large"), "danger");
	json_object_set_new(g, "threatened_people", json_integer(100));
	write_tmp("equal.json", j, NULL, path, sizeof(path));
	json_decref(j);
	assert_int_equal(thresholds_load(path, &t, err, sizeof(err)), GA_OK);
	struct classification c;
	struct figures f = {0};
	set_fig(&f, FIG_THREATENED_PEOPLE, 100);
	classify_figures(t, false, &f, &c);
	assert_int_equal(c.level, LEVEL_LARGE);
	thresholds_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_bounds),     cmocka_unit_test(test_missing_switch),
	    cmocka_unit_test(test_level_only), cmocka_unit_test(test_reasons),
	    cmocka_unit_test(test_to_json),    cmocka_unit_test(test_custom_thresholds),
	    cmocka_unit_test(test_bad_files),  cmocka_unit_test(test_bad_values),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
