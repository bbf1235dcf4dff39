/* test_device_registry.c - the [devices] file of spec §12: the spec's
 * example loads; every refusal names FILE:LINE of the device or rule at
 * fault; caps at the cap and one past it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "device_registry.h"

static char tmpdir[64];
static struct registry *stations;

static const char *src_dir(void)
{
	const char *src = getenv("GA_SOURCE_DIR");
	return src ? src : GA_DATADIR;
}

static int setup(void **state)
{
	char path[1024], err[512];

	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/ga-devreg-XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/geo/stations.example.geojson", src_dir());
	if (registry_load(path, NULL, &stations, err, sizeof(err)) != GA_OK) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	registry_free(stations);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static const char *write_tmp(const char *text, char *path, size_t len)
{
	FILE *fp;

	snprintf(path, len, "%s/devices.json", tmpdir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
	return path;
}

/* Loads text; expects a refusal whose message is "PATH:line: ..." and
 * holds want. */
static void expect_error(const char *text, int line, const char *want)
{
	char path[256], err[512], prefix[300];
	struct device_registry *r = NULL;

	write_tmp(text, path, sizeof(path));
	assert_int_equal(device_registry_load(path, stations, &r, err, sizeof(err)), GA_ERR_CONFIG);
	assert_null(r);
	print_message("%s\n", err);
	snprintf(prefix, sizeof(prefix), "%s:%d: ", path, line);
	assert_memory_equal(err, prefix, strlen(prefix));
	assert_non_null(strstr(err, want));
}

static void test_example_loads(void **state)
{
	char path[1024], err[512];
	struct device_registry *r = NULL;

	(void)state;
	snprintf(path, sizeof(path), "%s/tests/data/devices/devices.json", src_dir());
	assert_int_equal(device_registry_load(path, stations, &r, err, sizeof(err)), GA_OK);
	assert_int_equal(device_registry_count(r), 1);
	const struct device *d = device_registry_find(r, "SK00EA0D1307986");
	assert_non_null(d);
	assert_ptr_equal(d, device_registry_at(r, 0));
	assert_null(device_registry_find(r, "SK00EA0D1307987"));
	assert_string_equal(d->station_id, "JS-3201-0007");
	assert_int_equal(d->interval_s, 600);
	assert_int_equal(d->n_rules, 4);
	assert_int_equal(d->line, 3);
	assert_string_equal(d->rules[0].channel, "L1_LF_1");
	assert_int_equal(d->rules[0].metric, DEVICE_METRIC_CHANGE_24H);
	assert_true(d->rules[0].has[DEVICE_LEVEL_BLUE]);
	assert_float_equal(d->rules[0].threshold[DEVICE_LEVEL_RED], 20, 0);
	assert_int_equal(d->rules[0].line, 8);
	assert_false(d->rules[1].has[DEVICE_LEVEL_BLUE]);
	assert_string_equal(d->rules[1].field, "horizontal");
	assert_int_equal(d->rules[2].metric, DEVICE_METRIC_TANGENT_ANGLE);
	assert_float_equal(d->rules[2].v_ref_per_day, 0.5, 0);
	assert_int_equal(d->rules[2].line, 25);
	assert_int_equal(d->rules[3].metric, DEVICE_METRIC_SUM_24H);
	device_registry_free(r);
	/* the copy shipped in deploy/ is the same */
	snprintf(path, sizeof(path), "%s/deploy/devices.example.json", src_dir());
	assert_int_equal(device_registry_load(path, stations, &r, err, sizeof(err)), GA_OK);
	device_registry_free(r);
	device_registry_free(NULL);
}

#define DEV(rules)                                                                                 \
	"{\"devices\": [\n{\"device_code\": \"D1\", \"station_id\": \"JS-3201-0007\",\n "          \
	"\"rules\": [\n" rules "]}]}\n"
#define LF(extra) "{\"channel\": \"L1_LF_1\", \"metric\": \"change_24h\"" extra "}\n"

static void test_errors_with_lines(void **state)
{
	(void)state;
	expect_error(
	    "{\"devices\": [\n{\"device_code\": \"D1\",\n \"station_id\": \"XX-0000-0001\"}]}", 2,
	    "unknown station XX-0000-0001");
	/* the second rule (line 5) is the one at fault */
	expect_error(DEV(LF(", \"blue\": 2") "," LF("")), 5, "rule without levels");
	expect_error(DEV(LF(", \"blue\": 2, \"yellow\": 5, \"orange\": 5, \"red\": 20")), 4,
		     "levels not increasing: orange 5 is not above yellow 5");
	expect_error(DEV(LF(", \"yellow\": 5, \"red\": 4")), 4,
		     "levels not increasing: red 4 is not above yellow 5");
	expect_error(DEV("{\"channel\": \"L1_LF_1\", \"metric\": \"change_12h\", \"red\": 1}"), 4,
		     "unknown metric \"change_12h\"");
	expect_error(DEV("{\"channel\": \"L9_XX_1\", \"metric\": \"value\", \"red\": 1}"), 4,
		     "unknown channel kind");
	expect_error(DEV("{\"channel\": \"L1_LF_0\", \"metric\": \"value\", \"red\": 1}"), 4,
		     "unknown channel kind");
	expect_error(DEV("{\"channel\": \"L1_LF\", \"metric\": \"value\", \"red\": 1}"), 4,
		     "unknown channel kind");
	expect_error(DEV("{\"channel\": \"S1_ZT_1\", \"metric\": \"value\", \"red\": 1}"), 4,
		     "stored, not judged");
	expect_error(DEV("{\"channel\": \"L1_LF_1\", \"field\": \"X\", \"metric\": \"value\", "
			 "\"red\": 1}"),
		     4, "unknown field \"X\"");
	expect_error(DEV("{\"channel\": \"L1_LF_1\", \"metric\": \"sum_24h\", \"red\": 1}"), 4,
		     "only L3_YL");
	expect_error(DEV("{\"channel\": \"L1_GP_1\", \"field\": \"horizontal\", \"metric\": "
			 "\"tangent_angle\", \"red\": 89}"),
		     4, "needs v_ref_per_day");
	expect_error(DEV(LF(", \"v_ref_per_day\": 1, \"red\": 1")), 4, "tangent_angle only");
	expect_error(DEV(LF(", \"yelow\": 1")), 4, "unknown key \"yelow\"");
	expect_error(DEV(LF(", \"red\": \"20\"")), 4, "red is not a number");
	expect_error(
	    "{\"devices\": [\n{\"device_code\": \"D1\", \"station_id\": \"JS-3201-0007\"},\n"
	    "{\"device_code\": \"D1\", \"station_id\": \"JS-3201-0007\"}]}",
	    3, "D1 listed twice (first at line 2)");
	expect_error(
	    "{\"devices\": [\n{\"device_code\": \"D 1\", \"station_id\": \"JS-3201-0007\"}]}", 2,
	    "device_code is not");
	expect_error(
	    "{\"devices\": [\n{\"device_code\": \"D1\", \"station_id\": \"JS-3201-0007\",\n"
	    "\"interval_s\": 0}]}",
	    2, "interval_s is not an integer");
	expect_error("{\"devices\": [\n{\"device_code\": \"D1\", \"station\": \"JS-3201-0007\"}]}",
		     2, "unknown key \"station\"");
	expect_error("{\"devices\": [\n{\"device_code\": \"D1\",,}]}", 2, "");
	expect_error("[]", 1, "not {\"devices\"");
}

/* Appends to text (cap bytes) at *off; a text that would not fit fails
 * the test instead of running past the buffer. */
static void appendf(char *text, size_t cap, size_t *off, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(text + *off, cap - *off, fmt, ap);
	va_end(ap);
	assert_true(n >= 0 && (size_t)n < cap - *off);
	*off += (size_t)n;
}

static void test_rules_cap(void **state)
{
	char path[256], err[512];
	const size_t cap = 64 * 1024;
	char *text = malloc(cap);
	struct device_registry *r = NULL;
	size_t off;

	(void)state;
	assert_non_null(text);
	for (int n = DEVICE_REGISTRY_MAX_RULES; n <= DEVICE_REGISTRY_MAX_RULES + 1; n++) {
		off = 0;
		appendf(text, cap, &off,
			"{\"devices\": [{\"device_code\": \"D1\", \"station_id\": "
			"\"JS-3201-0007\", \"rules\": [");
		for (int i = 0; i < n; i++)
			appendf(text, cap, &off,
				"%s{\"channel\": \"L1_LF_%d\", \"metric\": \"value\", \"red\": 1}",
				i ? "," : "", i + 1);
		appendf(text, cap, &off, "]}]}");
		write_tmp(text, path, sizeof(path));
		ga_err rc = device_registry_load(path, stations, &r, err, sizeof(err));
		if (n == DEVICE_REGISTRY_MAX_RULES) {
			assert_int_equal(rc, GA_OK);
			assert_int_equal(device_registry_at(r, 0)->n_rules, n);
			device_registry_free(r);
			r = NULL;
		} else {
			assert_int_equal(rc, GA_ERR_CONFIG);
			assert_non_null(strstr(err, "at most 32"));
		}
	}
	free(text);
}

static void test_devices_cap(void **state)
{
	char path[256], err[512];
	size_t n = DEVICE_REGISTRY_MAX_DEVICES + 1;
	const size_t cap = n * 48 + 64;
	char *text = malloc(cap);
	struct device_registry *r = NULL;
	size_t off = 0, at_cap_end = 0;

	(void)state;
	assert_non_null(text);
	appendf(text, cap, &off, "{\"devices\": [\n");
	for (size_t i = 0; i < n; i++) {
		if (i == n - 1)
			at_cap_end = off;
		appendf(text, cap, &off, "%s{\"device_code\":\"D%zu\",\"station_id\":\"S\"}\n",
			i ? "," : "", i);
	}
	appendf(text, cap, &off, "]}");
	write_tmp(text, path, sizeof(path));
	/* no station registry: station ids not checked */
	assert_int_equal(device_registry_load(path, NULL, &r, err, sizeof(err)), GA_ERR_CONFIG);
	assert_non_null(strstr(err, "more than 200000"));
	off = at_cap_end;
	appendf(text, cap, &off, "]}");
	write_tmp(text, path, sizeof(path));
	assert_int_equal(device_registry_load(path, NULL, &r, err, sizeof(err)), GA_OK);
	assert_int_equal(device_registry_count(r), DEVICE_REGISTRY_MAX_DEVICES);
	const struct device *d = device_registry_find(r, "D199999");
	assert_non_null(d);
	assert_int_equal(d->line, 200001);
	assert_int_equal(d->interval_s, DEVICE_INTERVAL_DEFAULT_S);
	device_registry_free(r);
	free(text);
}

/* Devices listing the same rules share one copy (issue 13: memory a
 * channel); rules differing in anything but the line do not; a station's
 * id is kept once. A fault in a rule is still reported at its own line
 * when an earlier device listed the rules around it. */
static void test_shared_rules(void **state)
{
	char path[256], err[512];
	struct device_registry *r = NULL;

	(void)state;
	write_tmp(
	    "{\"devices\": [\n"
	    "{\"device_code\": \"D1\", \"station_id\": \"JS-3201-0007\", \"rules\": [\n" LF(
		", \"blue\": 2, \"red\": 20") "]},\n"
					      "{\"device_code\": \"D2\", \"station_id\": "
					      "\"JS-3201-0007\", \"rules\": [\n" LF(
						  ", \"blue\": 2, \"red\": 20") "]},\n"
										"{\"device_code\": "
										"\"D3\", "
										"\"station_id\": "
										"\"JS-3201-0007\", "
										"\"rules\": [\n" LF(
										    ", \"blue\": "
										    "2, \"red\": "
										    "21") "]},\n"
											  "{\"devic"
											  "e_"
											  "code\": "
											  "\"D4\", "
											  "\"statio"
											  "n_id\": "
											  "\"JS-"
											  "3201-"
											  "0007\", "
											  "\"rules"
											  "\": "
											  "[\n" LF(", \"blue\": 2, \"red\": 20") "," LF(
											      ", "
											      "\"bl"
											      "ue\""
											      ": "
											      "2, "
											      "\"re"
											      "d\":"
											      " 20") "]},\n"
												     "{\"device_code\": \"D0\", \"station_id\": \"JS-3201-0007\"}]}\n",
	    path, sizeof(path));
	assert_int_equal(device_registry_load(path, stations, &r, err, sizeof(err)), GA_OK);
	const struct device *d0 = device_registry_find(r, "D0"),
			    *d1 = device_registry_find(r, "D1"),
			    *d2 = device_registry_find(r, "D2"),
			    *d3 = device_registry_find(r, "D3"),
			    *d4 = device_registry_find(r, "D4");
	assert_true(d0 && d1 && d2 && d3 && d4);
	assert_int_equal(d0->n_rules, 0);
	assert_null(d0->rules);
	assert_ptr_equal(d1->rules, d2->rules);
	assert_int_equal(d1->rules[0].line, 3); /* the first device's */
	assert_true(d3->rules != d1->rules);
	assert_float_equal(d3->rules[0].threshold[DEVICE_LEVEL_RED], 21, 0);
	assert_float_equal(d2->rules[0].threshold[DEVICE_LEVEL_RED], 20, 0);
	assert_int_equal(d4->n_rules, 2);
	assert_true(d4->rules != d1->rules);
	assert_int_equal(d4->rules[1].line, 13);
	assert_ptr_equal(d1->station_id, d4->station_id);
	assert_string_equal(d4->station_id, "JS-3201-0007");
	assert_string_equal(d4->device_code, "D4");
	device_registry_free(r);
	/* D2 lists D1's rule, then a bad one: its line, not D1's */
	expect_error(
	    "{\"devices\": [\n"
	    "{\"device_code\": \"D1\", \"station_id\": \"JS-3201-0007\", \"rules\": [\n" LF(
		", \"blue\": 2") "]},\n"
				 "{\"device_code\": \"D2\", \"station_id\": \"JS-3201-0007\", "
				 "\"rules\": [\n" LF(", \"blue\": 2") "," LF("") "]}]}\n",
	    7, "device D2: channel L1_LF_1 change_24h: rule without levels");
}

static void test_levels_and_names(void **state)
{
	(void)state;
	assert_null(device_level_name(DEVICE_LEVEL_NONE));
	assert_string_equal(device_level_name(DEVICE_LEVEL_ORANGE), "orange");
	assert_string_equal(device_level_zh(DEVICE_LEVEL_RED), "警报级");
	assert_string_equal(device_level_zh(DEVICE_LEVEL_BLUE), "注意级");
	assert_int_equal(device_level_from_name("yellow"), DEVICE_LEVEL_YELLOW);
	assert_int_equal(device_level_from_name("none"), -1);
	assert_int_equal(device_level_from_name(NULL), -1);
	assert_string_equal(device_metric_name(DEVICE_METRIC_RATE_PER_DAY), "rate_per_day");
	assert_string_equal(device_metric_name(DEVICE_METRIC_COUNT), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_example_loads),    cmocka_unit_test(test_errors_with_lines),
	    cmocka_unit_test(test_rules_cap),	     cmocka_unit_test(test_devices_cap),
	    cmocka_unit_test(test_levels_and_names), cmocka_unit_test(test_shared_rules),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
