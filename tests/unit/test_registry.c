/* test_registry.c - the station registry: the example file, every bad
 * field naming its feature, duplicates, caps, and the admin-code check
 * against the region polygons. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "geo.h"
#include "registry.h"
#include "text_testutil.h"

static char errbuf[512];

static void test_example(void **state)
{
	char path[1024];
	const char *src = getenv("GA_SOURCE_DIR");
	struct registry *r = NULL;
	const struct station *st;

	snprintf(path, sizeof(path), "%s/geo/stations.example.geojson", src ? src : GA_DATADIR);
	assert_int_equal(registry_load(path, NULL, &r, errbuf, sizeof(errbuf)), GA_OK);
	assert_int_equal(registry_count(r), 2);
	st = registry_find(r, "JS-3201-0007");
	assert_non_null(st);
	assert_string_equal(st->name, "青山村滑坡监测站");
	assert_string_equal(st->hazard_point_id, "320111010007");
	assert_int_equal(st->hazard_type, HAZARD_LANDSLIDE);
	assert_string_equal(st->admin_code, "320111");
	assert_true(st->lon == 118.6280 && st->lat == 32.0589);
	assert_true(st->threatened_people == 620);
	assert_true(st->threatened_property_cny == 30000000);
	st = registry_find(r, "JS-3211-0002");
	assert_non_null(st);
	assert_int_equal(st->hazard_type, HAZARD_COLLAPSE);
	assert_null(registry_find(r, "JS-3211-0003"));
	assert_null(registry_find(r, ""));
	assert_null(registry_find(r, NULL));
	registry_free(r);
	registry_free(NULL);
	assert_int_equal(registry_count(NULL), 0);
}

/* A feature JSON text with the given station_id JSON (NULL: absent),
 * geometry (NULL: a good point) and extra properties. Static buffer. */
static char *feature(const char *id, const char *geometry, const char *extra)
{
	static char buf[2048];

	snprintf(buf, sizeof(buf),
		 "{\"type\":\"Feature\",\"geometry\":%s,\"properties\":{%s%s%s"
		 "\"name\":\"测试站\",\"hazard_point_id\":\"HP-1\",\"hazard_type\":\"landslide\","
		 "\"admin_code\":\"320111\",\"threatened_people\":10,"
		 "\"threatened_property_cny\":1000.5%s%s}}",
		 geometry ? geometry : "{\"type\":\"Point\",\"coordinates\":[118.628,32.0589]}",
		 id ? "\"station_id\":" : "", id ? id : "", id ? "," : "", extra ? "," : "",
		 extra ? extra : "");
	return buf;
}

/* Loads a collection of one good feature then the given one. */
static ga_err load_two(const char *second, char *err, size_t errlen, struct registry **out)
{
	char text[8192], path[64], *copy = strdup(second); /* feature() reuses its buffer */
	ga_err rc;

	assert_non_null(copy);
	snprintf(text, sizeof(text), "{\"type\":\"FeatureCollection\",\"features\":[%s,",
		 feature("\"S-0\"", NULL, NULL));
	snprintf(text + strlen(text), sizeof(text) - strlen(text), "%s]}", copy);
	free(copy);
	texttest_write_temp(path, sizeof(path), text);
	rc = registry_load(path, NULL, out, err, errlen);
	unlink(path);
	return rc;
}

struct bad_case {
	const char *id;	      /* station_id JSON, NULL: absent */
	const char *geometry; /* NULL: a good point */
	const char *extra;    /* extra properties, NULL: none */
	const char *want;
};

static void test_bad_fields(void **state)
{
	static const struct bad_case cases[] = {
	    {NULL, NULL, NULL, "feature 1: station_id"},
	    {"\"\"", NULL, NULL, "feature 1: station_id"},
	    {"\"a b\"", NULL, NULL, "feature 1: station_id"},
	    {"\"S/1\"", NULL, NULL, "feature 1: station_id"},
	    {"17", NULL, NULL, "feature 1: station_id"},
	    {"\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"", NULL, NULL,
	     "feature 1: station_id"}, /* 65 */
	    {"\"S-1\"", "{\"type\":\"LineString\",\"coordinates\":[[1,2],[3,4]]}", NULL,
	     "feature 1 (station_id S-1): geometry"},
	    {"\"S-1\"", "{\"type\":\"Point\",\"coordinates\":[118]}", NULL,
	     "feature 1 (station_id S-1): geometry"},
	    {"\"S-1\"", "{\"type\":\"Point\",\"coordinates\":[\"118\",32]}", NULL,
	     "feature 1 (station_id S-1): geometry"},
	    {"\"S-1\"", "{\"type\":\"Point\",\"coordinates\":[181,32]}", NULL,
	     "feature 1 (station_id S-1): coordinates"},
	    {"\"S-1\"", "{\"type\":\"Point\",\"coordinates\":[118,-90.5]}", NULL,
	     "feature 1 (station_id S-1): coordinates"},
	    {"\"S-1\"", "{\"type\":\"Point\",\"coordinates\":[1e400,32]}", NULL, "overflow"},
	    {"\"S-1\"", "null", NULL, "feature 1 (station_id S-1): geometry"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct registry *r = (struct registry *)&errbuf; /* must stay unchanged */
		ga_err rc = load_two(feature(cases[i].id, cases[i].geometry, cases[i].extra),
				     errbuf, sizeof(errbuf), &r);

		if (rc != GA_ERR_CONFIG || strstr(errbuf, cases[i].want) == NULL)
			fail_msg("case %zu: rc %d \"%s\" lacks \"%s\"", i, rc, errbuf,
				 cases[i].want);
		assert_ptr_equal(r, (struct registry *)&errbuf);
	}
}

/* Property-level cases: the whole properties object is given. */
static void test_bad_properties(void **state)
{
	static const char *const good =
	    "\"station_id\":\"S-1\",\"name\":\"n\",\"hazard_point_id\":\"HP-1\","
	    "\"hazard_type\":\"collapse\",\"admin_code\":\"320111\",\"threatened_people\":0,"
	    "\"threatened_property_cny\":0";
	static const struct {
		const char *from, *to, *want;
	} cases[] = {
	    {"\"name\":\"n\"", "\"name\":\"\"", "name"},
	    {"\"name\":\"n\"", "\"name\":7", "name"},
	    {"\"name\":\"n\",", "", "name"},
	    {"\"name\":\"n\"", "\"name\":\"a\\nb\"", "name"},
	    {"\"HP-1\"", "\"\"", "hazard_point_id"},
	    {"\"HP-1\"", "\"123456789012345678901234567890123\"", "hazard_point_id"}, /* 33 */
	    {"\"collapse\"", "\"mudslide\"", "hazard_type"},
	    {"\"collapse\"", "null", "hazard_type"},
	    {"\"320111\"", "\"32011\"", "admin_code"},
	    {"\"320111\"", "\"32011a\"", "admin_code"},
	    {"\"320111\"", "320111", "admin_code"},
	    {"\"threatened_people\":0", "\"threatened_people\":-1", "threatened_people"},
	    {"\"threatened_people\":0", "\"threatened_people\":1.5", "threatened_people"},
	    {"\"threatened_people\":0", "\"threatened_people\":\"5\"", "threatened_people"},
	    {"\"threatened_people\":0,", "", "threatened_people"},
	    {"\"threatened_property_cny\":0", "\"threatened_property_cny\":-0.01",
	     "threatened_property_cny"},
	    {"\"threatened_property_cny\":0", "\"threatened_property_cny\":null",
	     "threatened_property_cny"},
	};
	char props[1024], text[2048];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *p = strstr(good, cases[i].from);
		struct registry *r = NULL;

		assert_non_null(p);
		snprintf(props, sizeof(props), "%.*s%s%s", (int)(p - good), good, cases[i].to,
			 p + strlen(cases[i].from));
		snprintf(text, sizeof(text),
			 "{\"type\":\"Feature\",\"geometry\":{\"type\":\"Point\","
			 "\"coordinates\":[118.628,32.0589]},\"properties\":{%s}}",
			 props);
		if (load_two(text, errbuf, sizeof(errbuf), &r) != GA_ERR_CONFIG ||
		    strstr(errbuf, "feature 1 (station_id S-1): ") == NULL ||
		    strstr(errbuf, cases[i].want) == NULL)
			fail_msg("case %zu: \"%s\" lacks \"%s\"", i, errbuf, cases[i].want);
		assert_null(r);
	}
	/* The good one itself loads; limits are inclusive. */
	snprintf(text, sizeof(text),
		 "{\"type\":\"Feature\",\"geometry\":{\"type\":\"Point\","
		 "\"coordinates\":[180,-90,12.5]},\"properties\":{%s}}",
		 good);
	{
		struct registry *r = NULL;

		assert_int_equal(load_two(text, errbuf, sizeof(errbuf), &r), GA_OK);
		assert_int_equal(registry_count(r), 2);
		assert_non_null(registry_find(r, "S-1"));
		registry_free(r);
	}
}

static void test_duplicates(void **state)
{
	struct registry *r = NULL;

	assert_int_equal(load_two(feature("\"S-0\"", NULL, NULL), errbuf, sizeof(errbuf), &r),
			 GA_ERR_CONFIG);
	assert_non_null(strstr(errbuf, "feature 1 (station_id S-0): duplicate station_id"));
	assert_non_null(strstr(errbuf, "feature 0"));
	assert_null(r);
	/* Duplicate JSON keys are refused too. */
	assert_int_equal(
	    load_two(feature("\"S-1\"", NULL, "\"name\":\"again\""), errbuf, sizeof(errbuf), &r),
	    GA_ERR_CONFIG);
	assert_non_null(strstr(errbuf, "duplicate"));
}

static void test_document(void **state)
{
	static const char *const bad[] = {
	    "",
	    "[]",
	    "{\"type\":\"FeatureCollection\"}",
	    "{\"type\":\"Feature\",\"features\":[]}",
	    "{\"type\":\"FeatureCollection\",\"features\":[null]}",
	};
	struct registry *r = NULL;
	char path[64];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		texttest_write_temp(path, sizeof(path), bad[i]);
		assert_int_equal(registry_load(path, NULL, &r, errbuf, sizeof(errbuf)),
				 GA_ERR_CONFIG);
		assert_non_null(strstr(errbuf, path));
		assert_null(r);
		unlink(path);
	}
	texttest_write_temp(path, sizeof(path), "{\"type\":\"FeatureCollection\",\"features\":[]}");
	assert_int_equal(registry_load(path, NULL, &r, errbuf, sizeof(errbuf)), GA_OK);
	assert_int_equal(registry_count(r), 0);
	assert_null(registry_find(r, "S-0"));
	registry_free(r);
	r = NULL;
	unlink(path);
	assert_int_equal(
	    registry_load("/nonexistent/stations.geojson", NULL, &r, errbuf, sizeof(errbuf)),
	    GA_ERR_NOTFOUND);
	assert_null(r);
}

static void test_caps(void **state)
{
	struct registry *r = NULL;
	char path[64];
	size_t n = REGISTRY_MAX_STATIONS + 1, len;
	char *text = malloc(64 + 2 * n);
	const char *head = "{\"type\":\"FeatureCollection\",\"features\":[";

	/* One feature past the count cap: refused before looking at them. */
	assert_non_null(text);
	len = (size_t)snprintf(text, 64, "%s", head);
	for (size_t i = 0; i < n; i++) {
		text[len++] = '0';
		text[len++] = i + 1 < n ? ',' : ']';
	}
	text[len++] = '}';
	text[len] = '\0';
	texttest_write_temp(path, sizeof(path), text);
	assert_int_equal(registry_load(path, NULL, &r, errbuf, sizeof(errbuf)), GA_ERR_CONFIG);
	assert_non_null(strstr(errbuf, "at most 100000"));
	/* At the cap it gets to the features (and finds the first bad). */
	memcpy(text + len - 4, "]}", 3);
	unlink(path);
	texttest_write_temp(path, sizeof(path), text);
	assert_int_equal(registry_load(path, NULL, &r, errbuf, sizeof(errbuf)), GA_ERR_CONFIG);
	assert_non_null(strstr(errbuf, "feature 0: not an object"));
	free(text);
	unlink(path);

	/* The byte cap, one past it (a sparse file). */
	texttest_write_temp(path, sizeof(path), "");
	assert_int_equal(truncate(path, (off_t)REGISTRY_MAX_BYTES + 1), 0);
	assert_int_equal(registry_load(path, NULL, &r, errbuf, sizeof(errbuf)), GA_ERR_CONFIG);
	assert_non_null(strstr(errbuf, "at most"));
	assert_null(r);
	unlink(path);
}

/* With geo: a station whose admin_code disagrees with its polygon loads
 * but is logged. stderr is captured in a file for the check. */
static void test_region_check(void **state)
{
	char path[64], logpath[] = "/tmp/test_registry_log_XXXXXX", logtext[4096] = "";
	struct geo *g = geo_new(NULL, errbuf, sizeof(errbuf));
	struct registry *r = NULL;
	int logfd, saved;
	ssize_t n;

	assert_non_null(g);
	texttest_write_temp(
	    path, sizeof(path),
	    "{\"type\":\"FeatureCollection\",\"features\":["
	    "{\"type\":\"Feature\",\"geometry\":{\"type\":\"Point\",\"coordinates\":"
	    "[118.628,32.0589]},\"properties\":{\"station_id\":\"OK-1\",\"name\":\"n\","
	    "\"hazard_point_id\":\"h\",\"hazard_type\":\"collapse\",\"admin_code\":"
	    "\"320111\",\"threatened_people\":0,\"threatened_property_cny\":0}},"
	    "{\"type\":\"Feature\",\"geometry\":{\"type\":\"Point\",\"coordinates\":"
	    "[119.152,32.157]},\"properties\":{\"station_id\":\"BAD-2\",\"name\":\"n\","
	    "\"hazard_point_id\":\"h\",\"hazard_type\":\"collapse\",\"admin_code\":"
	    "\"320115\",\"threatened_people\":0,\"threatened_property_cny\":0}},"
	    "{\"type\":\"Feature\",\"geometry\":{\"type\":\"Point\",\"coordinates\":"
	    "[121.47,31.23]},\"properties\":{\"station_id\":\"SH-3\",\"name\":\"n\","
	    "\"hazard_point_id\":\"h\",\"hazard_type\":\"collapse\",\"admin_code\":"
	    "\"310101\",\"threatened_people\":0,\"threatened_property_cny\":0}}]}");
	logfd = mkstemp(logpath);
	assert_true(logfd >= 0);
	fflush(stderr);
	saved = dup(2);
	dup2(logfd, 2);
	assert_int_equal(registry_load(path, g, &r, errbuf, sizeof(errbuf)), GA_OK);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	n = pread(logfd, logtext, sizeof(logtext) - 1, 0);
	assert_true(n > 0);
	logtext[n] = '\0';
	close(logfd);
	unlink(logpath);
	unlink(path);
	assert_int_equal(registry_count(r), 3);
	assert_non_null(strstr(logtext, "BAD-2"));
	assert_non_null(strstr(logtext, "321183"));
	assert_non_null(strstr(logtext, "SH-3"));
	assert_null(strstr(logtext, "OK-1"));
	registry_free(r);
	geo_free(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_example),	   cmocka_unit_test(test_bad_fields),
	    cmocka_unit_test(test_bad_properties), cmocka_unit_test(test_duplicates),
	    cmocka_unit_test(test_document),	   cmocka_unit_test(test_caps),
	    cmocka_unit_test(test_region_check),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
