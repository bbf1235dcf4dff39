/* metrics.c - lock-free counters and histograms, Prometheus text. */
#include "metrics.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Upper bounds in milliseconds: ingest latencies are sub-millisecond to a
 * few ms, officers take minutes. */
static const double bucket_ms[METRICS_BUCKETS] = {1,   2.5,  5,	   10,	  25,	 50,	 100,
						  250, 1000, 5000, 30000, 60000, 300000, 600000};

static void family(struct metrics_family *f, const char *name, const char *help, const char *label,
		   int histogram)
{
	memset(f, 0, sizeof(*f));
	f->name = name;
	f->help = help;
	f->label = label;
	f->histogram = histogram;
	pthread_mutex_init(&f->mu, NULL);
	atomic_init(&f->nseries, 0);
	atomic_init(&f->other, false);
	/* Written once here, before any thread can count into it. */
	snprintf(f->labels[METRICS_SERIES_MAX - 1], METRICS_LABEL_MAX, "other");
}

void metrics_init(struct metrics *m)
{
	family(&m->reports, "geoalert_reports_total", "Reports handled, by outcome.", "status", 0);
	family(&m->rejections, "geoalert_rejections_total",
	       "Errors in rejected reports, by error code.", "reason", 0);
	family(&m->report_receipt, "geoalert_report_receipt_seconds",
	       "From a report's arrival to its receipt leaving.", NULL, 1);
	family(&m->report_draft, "geoalert_report_draft_seconds",
	       "From the arrival of the report that made a draft to the draft's commit.", NULL, 1);
	family(&m->draft_confirm, "geoalert_draft_confirm_seconds",
	       "From a draft being made to its publication by officers.", NULL, 1);
	family(&m->confirm_delivered, "geoalert_confirm_delivered_seconds",
	       "From publication to delivery, by channel.", "channel", 1);
	/* Not reports: geoalert_reports_total counts station reports only. */
	family(&m->riskwarnings, "geoalert_riskwarnings_total",
	       "Risk warning products received on MQTT, by outcome.", "status", 0);
	family(&m->stations_silent, "geoalert_station_silence_notices_total",
	       "Notices raised for stations silent past their interval.", "station", 0);
	family(&m->device_frames, "geoalert_device_frames_total",
	       "Monitoring device data frames, by outcome.", "outcome", 0);
	family(&m->device_malformed, "geoalert_device_frames_malformed_total",
	       "Malformed or refused device data frames, by reason.", "reason", 0);
	family(&m->device_level_changes, "geoalert_device_level_changes_total",
	       "Hazard point monitoring level changes, by the level changed to.", "level", 0);
	family(&m->device_offline, "geoalert_device_offline_notices_total",
	       "Notices raised for devices silent for 3 x interval_s.", NULL, 0);
	family(&m->device_drafts, "geoalert_device_warning_drafts_total",
	       "Warning drafts made from monitoring levels, by level (cancel: a 解除).", "level",
	       0);
}

/* The index of label among the first n published series; -1 if absent. */
static int series_find(struct metrics_family *f, int n, const char *label)
{
	for (int i = 0; i < n; i++)
		if (strcmp(f->labels[i], label) == 0)
			return i;
	return -1;
}

/* label cut to fit METRICS_LABEL_MAX, on a UTF-8 character boundary. */
static void series_label(char out[METRICS_LABEL_MAX], const char *label)
{
	size_t n = strlen(label);
	if (n >= METRICS_LABEL_MAX) {
		n = METRICS_LABEL_MAX - 1;
		while (n > 0 && ((unsigned char)label[n] & 0xc0) == 0x80)
			n--;
	}
	memcpy(out, label, n);
	out[n] = '\0';
}

/* The series index for label; made on first use. Lookups are lock-free;
 * making a series holds f->mu and looks again first, so two threads
 * counting the same new label at once share one series (see metrics.h).
 * A label longer than the cap counts as its cut form. */
static int series(struct metrics_family *f, const char *label)
{
	char key[METRICS_LABEL_MAX];
	if (!f->label)
		return 0;
	series_label(key, label && label[0] ? label : "none");
	int i = series_find(f, atomic_load_explicit(&f->nseries, memory_order_acquire), key);
	if (i >= 0)
		return i;
	pthread_mutex_lock(&f->mu);
	int n = atomic_load_explicit(&f->nseries, memory_order_relaxed);
	if ((i = series_find(f, n, key)) < 0) {
		if (n < METRICS_SERIES_MAX - 1) {
			memcpy(f->labels[n], key, sizeof(key));
			atomic_store_explicit(&f->nseries, n + 1, memory_order_release);
			i = n;
		} else {
			atomic_store_explicit(&f->other, true, memory_order_release);
			i = METRICS_SERIES_MAX - 1;
		}
	}
	pthread_mutex_unlock(&f->mu);
	return i;
}

void metrics_count(struct metrics_family *f, const char *label, uint64_t n)
{
	atomic_fetch_add_explicit(&f->counter[series(f, label)], n, memory_order_relaxed);
}

void metrics_observe_ms(struct metrics_family *f, const char *label, double ms)
{
	struct metrics_histogram *h = &f->hist[series(f, label)];
	int b = 0;
	if (ms < 0)
		ms = 0;
	while (b < METRICS_BUCKETS && ms > bucket_ms[b])
		b++;
	atomic_fetch_add_explicit(&h->bucket[b], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&h->count, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&h->sum_us, (unsigned long long)(ms * 1000.0),
				  memory_order_relaxed);
}

struct buf {
	char *p;
	size_t n, cap;
	int failed;
};

static void put(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct buf *b, const char *fmt, ...)
{
	if (b->failed)
		return;
	for (;;) {
		va_list ap;
		va_start(ap, fmt);
		int k = vsnprintf(b->p + b->n, b->cap - b->n, fmt, ap);
		va_end(ap);
		if (k < 0) {
			b->failed = 1;
			return;
		}
		if ((size_t)k < b->cap - b->n) {
			b->n += (size_t)k;
			return;
		}
		size_t cap = b->cap * 2;
		if (cap > METRICS_TEXT_MAX) {
			b->failed = 1;
			return;
		}
		char *p = realloc(b->p, cap);
		if (!p) {
			b->failed = 1;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
}

/* Label values come from station ids, channel names and error codes,
 * which are plain; escape anyway as the format asks. */
static void put_label(struct buf *b, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			put(b, "\\%c", *v);
		else if (*v == '\n')
			put(b, "\\n");
		else
			put(b, "%c", *v);
	}
}

static void render_family(struct buf *b, struct metrics_family *f)
{
	int n = f->label ? atomic_load_explicit(&f->nseries, memory_order_acquire) : 1;
	bool other = f->label && atomic_load_explicit(&f->other, memory_order_acquire);
	put(b, "# HELP %s %s\n# TYPE %s %s\n", f->name, f->help, f->name,
	    f->histogram ? "histogram" : "counter");
	for (int s = 0; s < n + (other ? 1 : 0); s++) {
		int i = s < n ? s : METRICS_SERIES_MAX - 1;
		if (!f->histogram) {
			put(b, "%s", f->name);
			if (f->label) {
				put(b, "{%s=\"", f->label);
				put_label(b, f->labels[i]);
				put(b, "\"}");
			}
			put(b, " %llu\n", (unsigned long long)atomic_load(&f->counter[i]));
			continue;
		}
		struct metrics_histogram *h = &f->hist[i];
		unsigned long long cum = 0;
		for (int k = 0; k <= METRICS_BUCKETS; k++) {
			cum += atomic_load(&h->bucket[k]);
			put(b, "%s_bucket{", f->name);
			if (f->label) {
				put(b, "%s=\"", f->label);
				put_label(b, f->labels[i]);
				put(b, "\",");
			}
			if (k < METRICS_BUCKETS)
				put(b, "le=\"%g\"} %llu\n", bucket_ms[k] / 1000.0, cum);
			else
				put(b, "le=\"+Inf\"} %llu\n", cum);
		}
		const char *suffix[2] = {"_sum", "_count"};
		for (int k = 0; k < 2; k++) {
			put(b, "%s%s", f->name, suffix[k]);
			if (f->label) {
				put(b, "{%s=\"", f->label);
				put_label(b, f->labels[i]);
				put(b, "\"}");
			}
			if (k == 0)
				put(b, " %.6f\n", (double)atomic_load(&h->sum_us) / 1e6);
			else
				put(b, " %llu\n", (unsigned long long)atomic_load(&h->count));
		}
	}
}

/* The "# HELP" and "# TYPE" lines when name starts a new group. */
static void put_gauge_head(struct buf *b, const char *name, const char *prev, const char *help)
{
	if (!prev || strcmp(name, prev) != 0)
		put(b, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
}

char *metrics_render_all(struct metrics *m, const struct metrics_gauge *g, size_t ng,
			 const struct metrics_gauge2 *g2, size_t ng2)
{
	struct buf b = {.cap = 16384};
	if (!(b.p = malloc(b.cap)))
		return NULL;
	b.p[0] = '\0';
	struct metrics_family *fams[] = {
	    &m->reports,	  &m->rejections,	    &m->report_receipt,	 &m->report_draft,
	    &m->draft_confirm,	  &m->confirm_delivered,    &m->stations_silent, &m->device_frames,
	    &m->device_malformed, &m->device_level_changes, &m->device_offline,	 &m->device_drafts,
	    &m->riskwarnings};
	for (size_t i = 0; i < sizeof(fams) / sizeof(fams[0]); i++)
		render_family(&b, fams[i]);
	for (size_t i = 0; i < ng; i++) {
		put_gauge_head(&b, g[i].name, i > 0 ? g[i - 1].name : NULL, g[i].help);
		put(&b, "%s", g[i].name);
		if (g[i].label) {
			put(&b, "{%s=\"", g[i].label);
			put_label(&b, g[i].label_value ? g[i].label_value : "");
			put(&b, "\"}");
		}
		put(&b, " %.17g\n", g[i].value);
	}
	for (size_t i = 0; i < ng2; i++) {
		put_gauge_head(&b, g2[i].name, i > 0 ? g2[i - 1].name : NULL, g2[i].help);
		put(&b, "%s{", g2[i].name);
		for (int k = 0; k < 2; k++) {
			put(&b, "%s%s=\"", k ? "," : "", g2[i].label[k]);
			put_label(&b, g2[i].label_value[k] ? g2[i].label_value[k] : "");
			put(&b, "\"");
		}
		put(&b, "} %.17g\n", g2[i].value);
	}
	if (b.failed) {
		free(b.p);
		return NULL;
	}
	return b.p;
}

char *metrics_render(struct metrics *m, const struct metrics_gauge *g, size_t ng)
{
	return metrics_render_all(m, g, ng, NULL, 0);
}
