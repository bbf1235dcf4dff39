/* metrics.h - the service's counters and latency histograms, rendered in
 * the Prometheus text format (version 0.0.4) for /metrics.
 *
 * Every update is a relaxed atomic add: safe from any thread; the only
 * lock is taken the first time a label value is seen (struct
 * metrics_family). Values read from the database at scrape time
 * (incidents by level, drafts pending, deliveries by channel and state:
 * store_stats.h) are added by the caller of metrics_render as gauges. */
#ifndef GA_METRICS_H
#define GA_METRICS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define METRICS_BUCKETS 14 /* upper bounds 1 ms .. 10 min, then +Inf */
#define METRICS_LABEL_MAX 48
#define METRICS_SERIES_MAX 64 /* labelled series of one family */
#define METRICS_TEXT_MAX (256u << 10)

struct metrics_histogram {
	atomic_ullong bucket[METRICS_BUCKETS + 1]; /* not cumulative; last is +Inf */
	atomic_ullong count;
	atomic_ullong sum_us;
};

/* A family of counters or histograms with one label, series made on first
 * use (up to METRICS_SERIES_MAX - 1; later labels count under "other",
 * the last slot).
 *
 * Making a series takes the family's mutex (once per label value, ever);
 * finding one does not: labels[i] is written before nseries is raised
 * past i (release) and never changes after, so a reader that loads
 * nseries (acquire) reads only finished labels. */
struct metrics_family {
	const char *name; /* geoalert_reports_total */
	const char *help;
	const char *label;  /* "status"; NULL: a single series */
	int histogram;	    /* 0: counter */
	pthread_mutex_t mu; /* making a series */
	atomic_int nseries; /* published series, labels[0 .. nseries - 1] */
	atomic_bool other;  /* the "other" slot has been used */
	char labels[METRICS_SERIES_MAX][METRICS_LABEL_MAX];
	atomic_ullong counter[METRICS_SERIES_MAX];
	struct metrics_histogram hist[METRICS_SERIES_MAX];
};

struct metrics {
	struct metrics_family reports;		 /* by status */
	struct metrics_family rejections;	 /* by reason (error code) */
	struct metrics_family report_receipt;	 /* seconds, report arrival -> receipt out */
	struct metrics_family report_draft;	 /* seconds, report arrival -> draft made */
	struct metrics_family draft_confirm;	 /* seconds, draft made -> confirmed */
	struct metrics_family confirm_delivered; /* seconds, by channel */
	struct metrics_family stations_silent;	 /* notices raised, by station */
	/* monitoring devices (spec §12, ingest_device.c) */
	struct metrics_family device_frames;	    /* by outcome */
	struct metrics_family device_malformed;	    /* by reason (device_frame.h) */
	struct metrics_family device_level_changes; /* by the level changed to */
	struct metrics_family device_offline;	    /* offline notices raised */
	struct metrics_family device_drafts;	    /* warning drafts made, by level or cancel */
	struct metrics_family riskwarnings;	    /* risk warning products on MQTT, by status */
};

/* Sets up the families (names, help, labels). m is caller-owned and
 * lives as long as the process: its mutexes have default attributes and
 * hold nothing to free. */
void metrics_init(struct metrics *m);

void metrics_count(struct metrics_family *f, const char *label, uint64_t n);
void metrics_observe_ms(struct metrics_family *f, const char *label, double ms);

/* One gauge line to append to a rendering. label may be NULL. Label
 * values are escaped when rendered. */
struct metrics_gauge {
	const char *name, *help, *label, *label_value; /* label may be NULL */
	double value;
};

/* A gauge line with two labels (deliveries by channel and state). */
struct metrics_gauge2 {
	const char *name, *help;
	const char *label[2], *label_value[2];
	double value;
};

/* Renders every family, then the gauges (grouped by name in the order
 * given), into a malloc'd NUL-terminated string (caller frees). NULL when
 * out of memory or past METRICS_TEXT_MAX. */
char *metrics_render(struct metrics *m, const struct metrics_gauge *gauges, size_t ngauges);
/* As metrics_render, then the two-label gauges g2 (grouped by name the
 * same way). */
char *metrics_render_all(struct metrics *m, const struct metrics_gauge *gauges, size_t ngauges,
			 const struct metrics_gauge2 *g2, size_t ng2);

#endif
