/* Silent stations: notice once, clear when back, grace after a start. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry.h"
#include "watchdog.h"

#define S 1000LL
static struct registry *reg;

struct seen {
	int silent, back;
	char last[REGISTRY_ID_MAX];
};

static void cb(const struct station *st, int64_t silent_ms, bool back, void *arg)
{
	struct seen *s = arg;
	if (back)
		s->back++;
	else
		s->silent++;
	snprintf(s->last, sizeof(s->last), "%s", st->station_id);
}

static void test_silence_and_back(void **state)
{
	struct watchdog *w;
	struct seen seen = {0};
	int64_t t0 = 1000000 * S;
	assert_int_equal(watchdog_new(60 * S, 480, t0, &w), GA_OK);
	/* grace: nobody silent before one interval after the start */
	assert_int_equal(watchdog_check(w, reg, t0 + 60 * S, cb, &seen), 0);
	watchdog_seen(w, "JS-3201-0007", t0 + 30 * S);
	/* at 61 s: the other station (never heard) is silent; 0007 is not */
	assert_int_equal(watchdog_check(w, reg, t0 + 61 * S, cb, &seen), 1);
	assert_int_equal(seen.silent, 1);
	assert_string_equal(seen.last, "JS-3211-0002");
	/* told once only */
	assert_int_equal(watchdog_check(w, reg, t0 + 62 * S, cb, &seen), 1);
	assert_int_equal(seen.silent, 1);
	json_t *list = watchdog_silent_json(w);
	assert_int_equal(json_array_size(list), 1);
	assert_string_equal(
	    json_string_value(json_object_get(json_array_get(list, 0), "station_id")),
	    "JS-3211-0002");
	const char *since =
	    json_string_value(json_object_get(json_array_get(list, 0), "silent_since"));
	assert_non_null(strstr(since, "+08:00"));
	json_decref(list);
	/* 0007 exactly at the interval is not silent; one ms past it is */
	assert_int_equal(watchdog_check(w, reg, t0 + 90 * S, cb, &seen), 1);
	assert_int_equal(watchdog_check(w, reg, t0 + 90 * S + 1, cb, &seen), 2);
	assert_int_equal(seen.silent, 2);
	/* it reports: back */
	watchdog_seen(w, "JS-3201-0007", t0 + 100 * S);
	assert_int_equal(watchdog_check(w, reg, t0 + 100 * S, cb, &seen), 1);
	assert_int_equal(seen.back, 1);
	assert_string_equal(seen.last, "JS-3201-0007");
	/* an unknown station is not watched */
	watchdog_seen(w, "XX-1", t0 + 100 * S);
	assert_int_equal(watchdog_check(w, reg, t0 + 100 * S, cb, &seen), 1);
	watchdog_free(w);
}

int main(void)
{
	char err[512], path[1024];
	snprintf(path, sizeof(path), "%s/geo/stations.example.geojson",
		 getenv("GA_SOURCE_DIR") ? getenv("GA_SOURCE_DIR") : GA_DATADIR);
	if (registry_load(path, NULL, &reg, err, sizeof(err)) != GA_OK) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	const struct CMUnitTest tests[] = {cmocka_unit_test(test_silence_and_back)};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	registry_free(reg);
	return rc;
}
