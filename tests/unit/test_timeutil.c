/* test_timeutil.c - RFC 3339 parsing and formatting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "timeutil.h"

static void test_parse_offsets(void **state)
{
	int64_t ms;
	int off = -1;

	/* 2026-11-26T06:52:00Z = 1795675920 s. */
	assert_int_equal(time_parse_rfc3339("2026-11-26T14:52:00+08:00", &ms, &off), GA_OK);
	assert_int_equal(ms, INT64_C(1795675920000));
	assert_int_equal(off, 480);
	assert_int_equal(time_parse_rfc3339("2026-11-26T06:52:00Z", &ms, &off), GA_OK);
	assert_int_equal(ms, INT64_C(1795675920000));
	assert_int_equal(off, 0);
	assert_int_equal(time_parse_rfc3339("2026-11-26T01:22:00-05:30", &ms, &off), GA_OK);
	assert_int_equal(ms, INT64_C(1795675920000));
	assert_int_equal(off, -330);
	assert_int_equal(time_parse_rfc3339("1970-01-01T00:00:00z", &ms, NULL), GA_OK);
	assert_int_equal(ms, 0);
	assert_int_equal(time_parse_rfc3339("1969-12-31T23:59:59Z", &ms, NULL), GA_OK);
	assert_int_equal(ms, -1000);
}

static void test_parse_fraction(void **state)
{
	int64_t ms;

	assert_int_equal(time_parse_rfc3339("1970-01-01T00:00:01.5Z", &ms, NULL), GA_OK);
	assert_int_equal(ms, 1500);
	assert_int_equal(time_parse_rfc3339("1970-01-01T00:00:01.123456789Z", &ms, NULL), GA_OK);
	assert_int_equal(ms, 1123);
	assert_int_equal(time_parse_rfc3339("1970-01-01T00:00:01.1234567890Z", &ms, NULL),
			 GA_ERR_INVAL);
	assert_int_equal(time_parse_rfc3339("1970-01-01T00:00:01.Z", &ms, NULL), GA_ERR_INVAL);
}

static void test_parse_calendar(void **state)
{
	int64_t ms;

	assert_int_equal(time_parse_rfc3339("2024-02-29T00:00:00Z", &ms, NULL), GA_OK);
	assert_int_equal(time_parse_rfc3339("2000-02-29T00:00:00Z", &ms, NULL), GA_OK);
	assert_int_equal(time_parse_rfc3339("1900-02-29T00:00:00Z", &ms, NULL), GA_ERR_INVAL);
	assert_int_equal(time_parse_rfc3339("2026-02-29T00:00:00Z", &ms, NULL), GA_ERR_INVAL);
	assert_int_equal(time_parse_rfc3339("2026-02-30T00:00:00Z", &ms, NULL), GA_ERR_INVAL);
	assert_int_equal(time_parse_rfc3339("2026-04-31T00:00:00Z", &ms, NULL), GA_ERR_INVAL);
	assert_int_equal(time_parse_rfc3339("2026-12-31T23:59:59Z", &ms, NULL), GA_OK);
	assert_int_equal(time_parse_rfc3339("2026-13-01T00:00:00Z", &ms, NULL), GA_ERR_INVAL);
	assert_int_equal(time_parse_rfc3339("2026-00-01T00:00:00Z", &ms, NULL), GA_ERR_INVAL);
	assert_int_equal(time_parse_rfc3339("2026-01-00T00:00:00Z", &ms, NULL), GA_ERR_INVAL);
	assert_int_equal(time_parse_rfc3339("2026-01-01T24:00:00Z", &ms, NULL), GA_ERR_INVAL);
	assert_int_equal(time_parse_rfc3339("2026-01-01T23:60:00Z", &ms, NULL), GA_ERR_INVAL);
	assert_int_equal(time_parse_rfc3339("2026-01-01T23:59:60Z", &ms, NULL), GA_ERR_INVAL);
}

static void test_parse_rejects(void **state)
{
	static const char *const bad[] = {
	    "",
	    "2026-11-26T14:52:00",	 /* no offset */
	    "2026-11-26T14:52+08:00",	 /* no seconds */
	    "2026-11-26 14:52:00+08:00", /* space */
	    "2026-11-26 14:52",
	    "2026-11-26T14:52:00+0800",
	    "2026-11-26T14:52:00+24:00",
	    "2026-11-26T14:52:00+08:60",
	    "2026-11-26T14:52:00+08:00x",
	    "26-11-26T14:52:00Z",
	    "2026-1-26T14:52:00Z",
	    "+2026-11-26T14:52:00Z",
	    "2026-11-26T14:52:00ZZ",
	    "2026-11-26T14:52:00+08:00:00",
	    "2026-11-26T14:52:00.000000000000000000000000000000000000000001Z", /* past cap */
	};
	int64_t ms = 42;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(time_parse_rfc3339(bad[i], &ms, NULL), GA_ERR_INVAL);
		assert_int_equal(ms, 42);
	}
	assert_int_equal(time_parse_rfc3339(NULL, &ms, NULL), GA_ERR_INVAL);
}

static void test_format(void **state)
{
	char buf[TIME_TEXT_MAX];

	time_format_rfc3339(INT64_C(1795675920000), 480, buf, sizeof(buf));
	assert_string_equal(buf, "2026-11-26T14:52:00+08:00");
	time_format_rfc3339(INT64_C(1795675920999), 0, buf, sizeof(buf));
	assert_string_equal(buf, "2026-11-26T06:52:00+00:00");
	time_format_rfc3339(INT64_C(1795675920000), -330, buf, sizeof(buf));
	assert_string_equal(buf, "2026-11-26T01:22:00-05:30");
	time_format_rfc3339(-1, 0, buf, sizeof(buf));
	assert_string_equal(buf, "1969-12-31T23:59:59+00:00");
	/* 16:00 UTC is midnight of the next day at +08:00. */
	time_format_rfc3339(INT64_C(1795708800000), 480, buf, sizeof(buf));
	assert_string_equal(buf, "2026-11-27T00:00:00+08:00");
}

static void test_roundtrip(void **state)
{
	char buf[TIME_TEXT_MAX];
	int64_t ms, in;
	int off;

	/* Every ~37 hours over 60 years, in three offsets. */
	for (in = 0; in < INT64_C(1900000000000); in += INT64_C(133333000)) {
		static const int offs[] = {480, 0, -330};
		for (int k = 0; k < 3; k++) {
			time_format_rfc3339(in, offs[k], buf, sizeof(buf));
			assert_int_equal(time_parse_rfc3339(buf, &ms, &off), GA_OK);
			assert_int_equal(ms, in);
			assert_int_equal(off, offs[k]);
		}
	}
}

static void test_offset(void **state)
{
	int off = 1;

	assert_int_equal(time_parse_offset("+08:00", &off), GA_OK);
	assert_int_equal(off, 480);
	assert_int_equal(time_parse_offset("-05:30", &off), GA_OK);
	assert_int_equal(off, -330);
	assert_int_equal(time_parse_offset("+00:00", &off), GA_OK);
	assert_int_equal(off, 0);
	assert_int_equal(time_parse_offset("08:00", &off), GA_ERR_INVAL);
	assert_int_equal(time_parse_offset("+8:00", &off), GA_ERR_INVAL);
	assert_int_equal(time_parse_offset("+08:00 ", &off), GA_ERR_INVAL);
	assert_int_equal(time_parse_offset("+24:00", &off), GA_ERR_INVAL);
	assert_int_equal(time_parse_offset("Z", &off), GA_ERR_INVAL);
	assert_int_equal(time_parse_offset(NULL, &off), GA_ERR_INVAL);
}

static void test_backoff(void **state)
{
	/* doubling from 1 s, capped at 60 s, in the upper half */
	for (int k = 0; k < 200; k++) {
		for (int n = 1; n <= 10; n++) {
			int64_t full = 1000LL << (n - 1);
			int64_t d;
			if (full > 60000)
				full = 60000;
			d = time_backoff_ms(1000, 60000, n);
			assert_true(d >= full / 2 && d <= full);
		}
	}
	/* a cap below the start: the cap */
	assert_true(time_backoff_ms(5000, 2000, 1) <= 2000);
}

static void test_clocks(void **state)
{
	int64_t a = time_now_ms(), m1 = time_mono_ms(), m2 = time_mono_ms();

	/* After 2024-01-01 and before 2100. */
	assert_true(a > INT64_C(1704067200000));
	assert_true(a < INT64_C(4102444800000));
	assert_true(m2 >= m1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_backoff),	   cmocka_unit_test(test_parse_offsets),
	    cmocka_unit_test(test_parse_fraction), cmocka_unit_test(test_parse_calendar),
	    cmocka_unit_test(test_parse_rejects),  cmocka_unit_test(test_format),
	    cmocka_unit_test(test_roundtrip),	   cmocka_unit_test(test_offset),
	    cmocka_unit_test(test_clocks),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
