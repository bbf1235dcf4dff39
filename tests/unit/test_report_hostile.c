/* test_report_hostile.c - what a hostile station puts in a report:
 * bidirectional controls in its texts (rejected at the field, code
 * "bidi"; the marks LRM/RLM/ALM accepted, see src/text.h) and figures
 * past any real value (code "range" at the field, each bound tested at
 * the cap and one past it). */
#include "report_testutil.h"
#include "text.h"

static void test_bidi_rejected_at_field(void **state)
{
	/* U+202A..U+202E, U+2066..U+2069 */
	static const char *const controls[] = {
	    "\xe2\x80\xaa", "\xe2\x80\xab", "\xe2\x80\xac", "\xe2\x80\xad", "\xe2\x80\xae",
	    "\xe2\x81\xa6", "\xe2\x81\xa7", "\xe2\x81\xa8", "\xe2\x81\xa9",
	};
	static const char *const fields[] = {"place", "causes", "trend", "measures"};
	char text[64], path[32];

	for (size_t f = 0; f < 4; f++) {
		for (size_t i = 0; i < sizeof(controls) / sizeof(controls[0]); i++) {
			snprintf(text, sizeof(text), "青山村%s后山 3 21", controls[i]);
			snprintf(path, sizeof(path), "/%s", fields[f]);
			print_message("%s with control %zu\n", fields[f], i);
			expect_one(&plain_ctx, base_with(fields[f], json_string(text)), path,
				   "bidi");
		}
	}
	/* the message names the code point and the character */
	struct report r;
	struct report_errors e;
	assert_int_equal(parse_obj(&plain_ctx,
				   base_with("place", json_string("ab\xe2\x80\xae"
								  "cd")),
				   &r, &e),
			 GA_ERR_INVAL);
	assert_non_null(strstr(e.e[0].message, "U+202E"));
	assert_non_null(strstr(e.e[0].message, "character 3"));
	report_cleanup(&r);
}

static void test_bidi_marks_accepted(void **state)
{
	/* LRM, RLM, ALM: accepted in a report (stripped when published) */
	expect_ok(&plain_ctx, base_with("place", json_string("\xe2\x80\x8e"
							     "a\xe2\x80\x8f"
							     "b\xd8\x9c")));
	/* near misses of the rejected set: U+2029, U+202F, U+2065, U+206A */
	expect_ok(&plain_ctx, base_with("causes", json_string("\xe2\x80\xa9\xe2\x80\xaf"
							      "\xe2\x81\xa5\xe2\x81\xaa")));
}

static void test_text_strip(void **state)
{
	char s[] = "\xe2\x80\xae"
		   "1\xe2\x80\x8f 2\xe2\x81\xa6 3\xd8\x9c\xe2\x81\xa9人\xe2\x80\xaa";
	assert_int_equal(text_strip_bidi(s), 6);
	assert_string_equal(s, "1 2 3人");
	assert_int_equal(text_bidi_find("abc"), -1);
	assert_int_equal(text_bidi_find("ab\xe2\x80\x8f"), -1); /* a mark is not a control */
	assert_int_equal(text_bidi_find("ab\xe2\x81\xa9"), 2);
	/* a truncated sequence at the end is not read past */
	assert_int_equal(text_bidi_len("\xe2"), 0);
	assert_int_equal(text_bidi_len("\xe2\x80"), 0);

	json_t *j = json_pack("{s:s, s:[s, i, {s:s}]}", "a", "x\xe2\x80\xaey", "b", "\xe2\x81\xa7z",
			      5, "c", "plain");
	assert_non_null(j);
	assert_true(text_json_strip_bidi(j));
	assert_string_equal(json_string_value(json_object_get(j, "a")), "xy");
	assert_string_equal(json_string_value(json_array_get(json_object_get(j, "b"), 0)), "z");
	assert_string_equal(
	    json_string_value(json_object_get(json_array_get(json_object_get(j, "b"), 2), "c")),
	    "plain");
	json_decref(j);
}

/* figures.name = cap is accepted; the next representable step past it is
 * "range" at /figures/name. */
static void expect_figure_cap(const char *name, double cap, double past)
{
	char path[64];

	snprintf(path, sizeof(path), "/figures/%s", name);
	print_message("%s at %.17g and %.17g\n", name, cap, past);
	expect_ok(&plain_ctx, base_with("figures", json_pack("{s:f}", name, cap)));
	expect_one(&plain_ctx, base_with("figures", json_pack("{s:f}", name, past)), path, "range");
	expect_one(&plain_ctx, base_with("figures", json_pack("{s:f}", name, 1e308)), path,
		   "range");
}

static void test_figure_bounds(void **state)
{
	static const char *const people[] = {"deaths", "missing", "injured", "relocated_people",
					     "threatened_people"};

	for (size_t i = 0; i < 5; i++)
		expect_figure_cap(people[i], REPORT_PEOPLE_MAX, REPORT_PEOPLE_MAX + 1);
	expect_figure_cap("direct_loss_cny", REPORT_CNY_MAX, REPORT_CNY_MAX + 0.01);
	expect_figure_cap("threatened_property_cny", REPORT_CNY_MAX, REPORT_CNY_MAX + 0.01);

	/* the payload, as a station sent it */
	static const char text[] =
	    "{\"schema\":\"geohazard.report/1\",\"report_id\":\"r-1\",\"station_id\":"
	    "\"JS-3201-0007\",\"kind\":\"danger\",\"hazard_type\":\"landslide\","
	    "\"observed_at\":\"2026-11-26T14:52:00+08:00\",\"figures\":{\"threatened_people\":"
	    "1e308}}";
	struct report r;
	struct report_errors e;
	assert_int_equal(parse_text(&plain_ctx, text, strlen(text), &r, &e), GA_ERR_INVAL);
	assert_true(e.n == 1 && has_err(&e, "/figures/threatened_people", "range"));
	assert_non_null(strstr(e.e[0].message, "100000000"));
	report_cleanup(&r);
}

static void test_scale_bounds(void **state)
{
	expect_ok(&plain_ctx,
		  base_with("scale", json_pack("{s:f, s:f}", "volume_m3", REPORT_VOLUME_M3_MAX,
					       "area_m2", REPORT_AREA_M2_MAX)));
	expect_one(&plain_ctx,
		   base_with("scale", json_pack("{s:f}", "volume_m3", REPORT_VOLUME_M3_MAX + 1)),
		   "/scale/volume_m3", "range");
	expect_one(&plain_ctx,
		   base_with("scale", json_pack("{s:f}", "area_m2", REPORT_AREA_M2_MAX + 1)),
		   "/scale/area_m2", "range");
	expect_one(&plain_ctx, base_with("scale", json_pack("{s:f}", "area_m2", 1e308)),
		   "/scale/area_m2", "range");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_bidi_rejected_at_field),
	    cmocka_unit_test(test_bidi_marks_accepted),
	    cmocka_unit_test(test_text_strip),
	    cmocka_unit_test(test_figure_bounds),
	    cmocka_unit_test(test_scale_bounds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
