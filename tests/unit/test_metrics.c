/* Counters, histograms and their Prometheus text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "text_testutil.h"

static struct metrics m;

static int setup(void **state)
{
	metrics_init(&m);
	return 0;
}

static void test_counters(void **state)
{
	metrics_count(&m.reports, "accepted", 3);
	metrics_count(&m.reports, "rejected", 1);
	metrics_count(&m.reports, "accepted", 2);
	char *t = metrics_render(&m, NULL, 0);
	assert_non_null(t);
	assert_text_has(t, "# TYPE geoalert_reports_total counter\n",
			"geoalert_reports_total{status=\"accepted\"} 5\n",
			"geoalert_reports_total{status=\"rejected\"} 1\n");
	free(t);
}

static void test_histogram_cumulative(void **state)
{
	metrics_observe_ms(&m.report_receipt, NULL, 0.4); /* le 0.001 */
	metrics_observe_ms(&m.report_receipt, NULL, 1.0); /* le 0.001: bounds inclusive */
	metrics_observe_ms(&m.report_receipt, NULL, 30);  /* le 0.05 */
	metrics_observe_ms(&m.report_receipt, NULL, 9e6); /* +Inf */
	char *t = metrics_render(&m, NULL, 0);
	assert_text_has(t, "geoalert_report_receipt_seconds_bucket{le=\"0.001\"} 2\n",
			"geoalert_report_receipt_seconds_bucket{le=\"0.025\"} 2\n",
			"geoalert_report_receipt_seconds_bucket{le=\"0.05\"} 3\n",
			"geoalert_report_receipt_seconds_bucket{le=\"600\"} 3\n",
			"geoalert_report_receipt_seconds_bucket{le=\"+Inf\"} 4\n",
			"geoalert_report_receipt_seconds_count 4\n",
			"geoalert_report_receipt_seconds_sum 9000.031400\n");
	free(t);
}

static void test_labelled_histogram_and_escape(void **state)
{
	metrics_observe_ms(&m.confirm_delivered, "portal", 80);
	metrics_count(&m.stations_silent, "a\"b\\c", 1);
	char *t = metrics_render(&m, NULL, 0);
	assert_non_null(strstr(
	    t, "geoalert_confirm_delivered_seconds_bucket{channel=\"portal\",le=\"0.1\"} 1\n"));
	assert_non_null(
	    strstr(t, "geoalert_confirm_delivered_seconds_count{channel=\"portal\"} 1\n"));
	assert_non_null(strstr(t, "{station=\"a\\\"b\\\\c\"} 1\n"));
	free(t);
}

static void test_series_cap(void **state)
{
	char label[32];
	for (int i = 0; i < METRICS_SERIES_MAX + 10; i++) {
		snprintf(label, sizeof(label), "code%d", i);
		metrics_count(&m.rejections, label, 1);
	}
	char *t = metrics_render(&m, NULL, 0);
	/* 63 labels of their own, the rest (11 + 1) under "other" */
	assert_non_null(strstr(t, "geoalert_rejections_total{reason=\"code62\"} 1\n"));
	assert_null(strstr(t, "reason=\"code63\""));
	assert_non_null(strstr(t, "geoalert_rejections_total{reason=\"other\"} 11\n"));
	free(t);
}

static void test_gauges(void **state)
{
	struct metrics_gauge g[] = {
	    {"geoalert_incidents", "Open incidents by level.", "level", "large", 2},
	    {"geoalert_incidents", "Open incidents by level.", "level", "small", 7},
	    {"geoalert_drafts_pending", "Drafts waiting for officers.", NULL, NULL, 1},
	};
	char *t = metrics_render(&m, g, 3);
	const char *a = strstr(t, "# TYPE geoalert_incidents gauge\n");
	assert_non_null(a);
	assert_null(strstr(a + 1, "# TYPE geoalert_incidents gauge\n")); /* one header */
	assert_text_has(t, "geoalert_incidents{level=\"small\"} 7\n",
			"geoalert_drafts_pending 1\n");
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_counters),
	    cmocka_unit_test(test_histogram_cumulative),
	    cmocka_unit_test(test_labelled_histogram_and_escape),
	    cmocka_unit_test(test_series_cap),
	    cmocka_unit_test(test_gauges),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
