/* test_report_age.c - an observed_at far in the past is accepted but
 * flagged (REPORT_WARN_OLD), at the default bound and a configured one,
 * and the receipt carries the warning with its JSON Pointer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest_receipt.h"
#include "report_testutil.h"

#define HOUR (INT64_C(3600) * 1000)

/* Parses the base report (observed OBSERVED_MS) as of now_ms. */
static unsigned warnings_at(int64_t now_ms, int64_t max_age_ms)
{
	struct report_context ctx = plain_ctx;
	struct report r;
	struct report_errors e;
	ctx.now_ms = now_ms;
	ctx.max_age_ms = max_age_ms;
	if (parse_obj(&ctx, base(), &r, &e) != GA_OK) {
		dump_errs(&e);
		fail_msg("want valid, got %d errors", e.n);
	}
	unsigned w = r.warnings;
	report_cleanup(&r);
	return w;
}

static void test_default_bound(void **state)
{
	assert_int_equal(REPORT_MAX_AGE_MS, 7 * 24 * HOUR);
	assert_false(warnings_at(OBSERVED_MS + HOUR, 0) & REPORT_WARN_OLD);
	/* at the bound: not yet; one millisecond past: flagged, still valid */
	assert_false(warnings_at(OBSERVED_MS + REPORT_MAX_AGE_MS, 0) & REPORT_WARN_OLD);
	assert_true(warnings_at(OBSERVED_MS + REPORT_MAX_AGE_MS + 1, 0) & REPORT_WARN_OLD);
	assert_true(warnings_at(OBSERVED_MS + 400 * 24 * HOUR, 0) & REPORT_WARN_OLD);
}

static void test_configured_bound(void **state)
{
	assert_false(warnings_at(OBSERVED_MS + 2 * HOUR, 2 * HOUR) & REPORT_WARN_OLD);
	assert_true(warnings_at(OBSERVED_MS + 2 * HOUR + 1, 2 * HOUR) & REPORT_WARN_OLD);
	/* < 0: never */
	assert_false(warnings_at(OBSERVED_MS + 400 * 24 * HOUR, -1) & REPORT_WARN_OLD);
}

static void test_future_is_still_an_error(void **state)
{
	struct report_context ctx = plain_ctx;
	ctx.now_ms = OBSERVED_MS - 11 * 60 * 1000;
	expect_one(&ctx, base(), "/observed_at", "future");
}

static void test_receipt_carries_it(void **state)
{
	char *t = ingest_receipt_build("r-1", WRITER_ACCEPTED, "JS-20261126-0001", 2, OBSERVED_MS,
				       480, NULL, REPORT_WARN_OLD);
	assert_non_null(t);
	json_t *root = json_loads(t, 0, NULL);
	assert_non_null(root);
	json_t *w = json_object_get(root, "warnings");
	assert_int_equal(json_array_size(w), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(w, 0), "path")),
			    "/observed_at");
	assert_string_equal(json_string_value(json_object_get(json_array_get(w, 0), "code")),
			    "old");
	assert_non_null(strstr(json_string_value(json_object_get(json_array_get(w, 0), "message")),
			       "max_observed_age"));
	assert_int_equal(json_array_size(json_object_get(root, "errors")), 0);
	assert_string_equal(json_string_value(json_object_get(root, "received_at")),
			    "2026-11-26T14:52:00+08:00");
	json_decref(root);
	free(t);
	/* both warnings at once */
	t = ingest_receipt_build("r-2", WRITER_ACCEPTED, "", -1, OBSERVED_MS, -210, NULL,
				 REPORT_WARN_OLD | GEO_WARN_BALLPARK);
	root = json_loads(t, 0, NULL);
	assert_int_equal(json_array_size(json_object_get(root, "warnings")), 2);
	assert_string_equal(json_string_value(json_object_get(root, "received_at")),
			    "2026-11-26T03:22:00-03:30");
	json_decref(root);
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_default_bound),
	    cmocka_unit_test(test_configured_bound),
	    cmocka_unit_test(test_future_is_still_an_error),
	    cmocka_unit_test(test_receipt_carries_it),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
