/* test_timeutil_civil.c - time_civil_from_days (timeutil.h), the one
 * days-to-date conversion the RFC 3339 formatting and the incident ids'
 * day share: the epoch, leap days (2000, 2024; not 1900, 2100), the day
 * before the epoch, a far past and a far future date, and a round trip
 * against time_parse_rfc3339 over every day of 400 years. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>

#include "timeutil.h"

#define DAY_MS 86400000LL

static void expect(int64_t days, int64_t y, int m, int d)
{
	int64_t gy = 0;
	int gm = 0, gd = 0;

	time_civil_from_days(days, &gy, &gm, &gd);
	assert_int_equal(gy, y);
	assert_int_equal(gm, m);
	assert_int_equal(gd, d);
}

static void test_known_days(void **state)
{
	(void)state;
	expect(0, 1970, 1, 1);
	expect(-1, 1969, 12, 31);
	expect(-25508, 1900, 3, 1); /* 1900 is not leap: Feb 28 is the day before */
	expect(-25509, 1900, 2, 28);
	expect(11016, 2000, 2, 29);
	expect(19782, 2024, 2, 29);
	expect(20783, 2026, 11, 26);
	expect(47541, 2100, 3, 1); /* 2100 is not leap */
	expect(47540, 2100, 2, 28);
	expect(-719528, 0, 1, 1);
	expect(2932896, 9999, 12, 31);
}

/* Every day from 1800 to 2200 against the RFC 3339 parser, which counts
 * days the other way (date to day number). */
static void test_round_trip(void **state)
{
	int64_t first, last, ms;
	char text[64];

	(void)state;
	assert_int_equal(time_parse_rfc3339("1800-01-01T00:00:00+00:00", &first, NULL), GA_OK);
	assert_int_equal(time_parse_rfc3339("2199-12-31T00:00:00+00:00", &last, NULL), GA_OK);
	for (int64_t days = first / DAY_MS; days <= last / DAY_MS; days++) {
		int64_t y;
		int m, d;

		time_civil_from_days(days, &y, &m, &d);
		snprintf(text, sizeof(text), "%04lld-%02d-%02dT00:00:00+00:00", (long long)y, m, d);
		assert_int_equal(time_parse_rfc3339(text, &ms, NULL), GA_OK);
		assert_int_equal(ms, days * DAY_MS);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_known_days),
	    cmocka_unit_test(test_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
