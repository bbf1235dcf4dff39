/* Receipts (spec §3): the directly written receipt is byte for byte what
 * jansson makes of the same receipt, whatever the report_id holds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "geo.h"
#include "hazard.h"
#include "ingest_receipt.h"
#include "timeutil.h"

#define T0 1764057600123LL /* 2025-11-25T08:00:00.123Z */

/* The receipt as jansson writes it: the reference. */
static char *reference(const char *report_id, const char *status, const char *incident_id,
		       int level, int64_t ms, int offset_min)
{
	char when[TIME_TEXT_MAX];
	time_format_rfc3339(ms, offset_min, when, sizeof(when));
	json_t *o = json_object();
	json_object_set_new(o, "schema", json_string("geohazard.receipt/1"));
	json_object_set_new(o, "report_id", report_id ? json_string(report_id) : json_null());
	json_object_set_new(o, "status", json_string(status));
	json_object_set_new(o, "incident_id",
			    incident_id && incident_id[0] ? json_string(incident_id) : json_null());
	json_object_set_new(o, "level",
			    level >= 0 ? json_string(level_name((enum level)level)) : json_null());
	json_object_set_new(o, "received_at", json_string(when));
	json_object_set_new(o, "errors", json_array());
	char *t = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	return t;
}

static void check(const char *report_id, enum ingest_writer_status st, const char *incident_id,
		  int level)
{
	static const char *const names[] = {"accepted", "duplicate", "rejected"};
	char *got = ingest_receipt_build(report_id, st, incident_id, level, T0, 480, NULL, 0);
	char *want = reference(report_id, names[st], incident_id, level, T0, 480);
	assert_non_null(got);
	assert_non_null(want);
	assert_string_equal(got, want);
	/* and it reads back as the same report_id */
	json_error_t e;
	json_t *back = json_loads(got, JSON_REJECT_DUPLICATES, &e);
	assert_non_null(back);
	if (report_id)
		assert_string_equal(json_string_value(json_object_get(back, "report_id")),
				    report_id);
	else
		assert_true(json_is_null(json_object_get(back, "report_id")));
	json_decref(back);
	free(got);
	free(want);
}

static void test_plain(void **state)
{
	(void)state;
	check("r-1", WRITER_ACCEPTED, "JS-20251125-0001", LEVEL_SMALL);
	check("r-1", WRITER_DUPLICATE, "JS-20251125-0001", LEVEL_EXTRA_LARGE);
	check(NULL, WRITER_ACCEPTED, "", -1);
	check("", WRITER_DUPLICATE, "JS-20251125-0002", -1);
	check("r-2", WRITER_ACCEPTED, "", LEVEL_LARGE);
}

static void test_escapes(void **state)
{
	(void)state;
	check("quote\"back\\slash/solidus", WRITER_ACCEPTED, "JS-1", LEVEL_MEDIUM);
	check("\b\f\n\r\t", WRITER_ACCEPTED, "JS-1", LEVEL_SMALL);
	check("\x01\x02\x1b\x1f \x7f", WRITER_DUPLICATE, "JS-1", LEVEL_SMALL);
	check("站点-报告 ✓ 😀", WRITER_ACCEPTED, "JS-1", LEVEL_SMALL);
	/* every control character, and long */
	char id[2048];
	size_t n = 0;
	for (int k = 0; n + 1 < sizeof(id); k++)
		id[n++] = (char)(1 + k % 0x7f);
	id[n] = '\0';
	check(id, WRITER_ACCEPTED, "JS-20251125-9999", LEVEL_LARGE);
}

/* Rejections and warnings keep the jansson path: still a well-formed
 * receipt with its errors / warnings. */
static void test_rejected_and_warnings(void **state)
{
	(void)state;
	struct report_errors errs;
	memset(&errs, 0, sizeof(errs));
	report_errors_add(&errs, "/kind", "enum", "not a kind");
	char *t = ingest_receipt_build("r-9", WRITER_REJECTED, "", -1, T0, 480, &errs, 0);
	assert_non_null(t);
	json_t *o = json_loads(t, 0, NULL);
	assert_non_null(o);
	assert_string_equal(json_string_value(json_object_get(o, "status")), "rejected");
	assert_int_equal(json_array_size(json_object_get(o, "errors")), 1);
	json_decref(o);
	free(t);

	t = ingest_receipt_build("r-10", WRITER_ACCEPTED, "JS-1", LEVEL_SMALL, T0, 480, NULL,
				 GEO_WARN_BALLPARK);
	assert_non_null(t);
	o = json_loads(t, 0, NULL);
	assert_non_null(o);
	assert_int_equal(json_array_size(json_object_get(o, "warnings")), 1);
	assert_int_equal(json_array_size(json_object_get(o, "errors")), 0);
	json_decref(o);
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_plain),
	    cmocka_unit_test(test_escapes),
	    cmocka_unit_test(test_rejected_and_warnings),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
