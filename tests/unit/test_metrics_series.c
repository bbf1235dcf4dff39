/* test_metrics_series.c - labelled series made on first use from many
 * threads at once: one series per label, no count lost, the "other"
 * slot past the cap, and a label cut at the cap on a UTF-8 boundary. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

#define THREADS 8
#define LABELS 40 /* fewer than METRICS_SERIES_MAX - 1 */
#define ROUNDS 50

static struct metrics m;
static pthread_barrier_t start;

struct worker {
	int id;
	struct metrics_family *f;
	int nlabels;
};

/* Every thread counts every label once per round, each starting at a
 * different label, all released at the same moment. */
static void *work(void *arg)
{
	struct worker *w = arg;
	char label[32];
	pthread_barrier_wait(&start);
	for (int r = 0; r < ROUNDS; r++)
		for (int k = 0; k < w->nlabels; k++) {
			snprintf(label, sizeof(label), "ch-%d", (k + w->id * 7) % w->nlabels);
			if (w->f->histogram)
				metrics_observe_ms(w->f, label, 3);
			else
				metrics_count(w->f, label, 1);
		}
	return NULL;
}

static void run(struct metrics_family *f, int nlabels)
{
	pthread_t t[THREADS];
	struct worker w[THREADS];
	assert_int_equal(pthread_barrier_init(&start, NULL, THREADS), 0);
	for (int i = 0; i < THREADS; i++) {
		w[i] = (struct worker){i, f, nlabels};
		assert_int_equal(pthread_create(&t[i], NULL, work, &w[i]), 0);
	}
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&start);
}

static int count_lines(const char *text, const char *needle)
{
	int n = 0;
	for (const char *p = text; (p = strstr(p, needle)) != NULL; p++)
		n++;
	return n;
}

static void test_concurrent_first_use(void **state)
{
	run(&m.confirm_delivered, LABELS);
	assert_int_equal(atomic_load(&m.confirm_delivered.nseries), LABELS);
	char *t = metrics_render(&m, NULL, 0);
	assert_non_null(t);
	char line[128];
	for (int k = 0; k < LABELS; k++) {
		snprintf(line, sizeof(line),
			 "geoalert_confirm_delivered_seconds_count{channel=\"ch-%d\"} %d\n", k,
			 THREADS * ROUNDS);
		assert_non_null(strstr(t, line));
		snprintf(line, sizeof(line), "{channel=\"ch-%d\"}", k);
		assert_int_equal(count_lines(t, line), 2); /* _sum and _count, once each */
	}
	free(t);
}

static void test_concurrent_past_cap(void **state)
{
	int nlabels = METRICS_SERIES_MAX + 20;
	run(&m.rejections, nlabels);
	assert_int_equal(atomic_load(&m.rejections.nseries), METRICS_SERIES_MAX - 1);
	char *t = metrics_render(&m, NULL, 0);
	assert_non_null(t);
	/* Every count is somewhere: own series plus "other". */
	unsigned long long total = 0;
	int series = 0;
	for (const char *p = t; (p = strstr(p, "geoalert_rejections_total{reason=\"")) != NULL;
	     p++) {
		const char *v = strchr(p, '}');
		assert_non_null(v);
		total += strtoull(v + 2, NULL, 10);
		series++;
	}
	assert_int_equal(series, METRICS_SERIES_MAX);
	assert_int_equal(total, (unsigned long long)THREADS * ROUNDS * nlabels);
	char line[96];
	snprintf(line, sizeof(line), "geoalert_rejections_total{reason=\"other\"} %llu\n",
		 (unsigned long long)THREADS * ROUNDS * (nlabels - (METRICS_SERIES_MAX - 1)));
	assert_non_null(strstr(t, line));
	free(t);
}

static void test_long_label_cut_on_character(void **state)
{
	/* 15 three-byte characters (45 bytes) and one more: cut to 45. */
	char label[64];
	for (int i = 0; i < 16; i++)
		memcpy(label + 3 * i, "站", 3);
	label[48] = '\0';
	metrics_count(&m.stations_silent, label, 1);
	metrics_count(&m.stations_silent, label, 1); /* the same series */
	assert_int_equal(atomic_load(&m.stations_silent.nseries), 1);
	assert_int_equal(strlen(m.stations_silent.labels[0]), 45);
	char *t = metrics_render(&m, NULL, 0);
	char line[128];
	label[45] = '\0';
	snprintf(line, sizeof(line), "{station=\"%s\"} 2\n", label);
	assert_non_null(strstr(t, line));
	free(t);
}

static void test_two_label_gauges(void **state)
{
	struct metrics_gauge2 g2[] = {
	    {"geoalert_deliveries", "Rows.", {"channel", "state"}, {"portal", "failed"}, 2},
	    {"geoalert_deliveries", "Rows.", {"channel", "state"}, {"we\"ird\\", "pending"}, 1},
	};
	char *t = metrics_render_all(&m, NULL, 0, g2, 2);
	assert_non_null(t);
	assert_int_equal(count_lines(t, "# TYPE geoalert_deliveries gauge\n"), 1);
	assert_non_null(strstr(t, "geoalert_deliveries{channel=\"portal\",state=\"failed\"} 2\n"));
	assert_non_null(
	    strstr(t, "geoalert_deliveries{channel=\"we\\\"ird\\\\\",state=\"pending\"} 1\n"));
	free(t);
}

static int setup(void **state)
{
	metrics_init(&m);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_concurrent_first_use),
	    cmocka_unit_test(test_concurrent_past_cap),
	    cmocka_unit_test(test_long_label_cut_on_character),
	    cmocka_unit_test(test_two_label_gauges),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
