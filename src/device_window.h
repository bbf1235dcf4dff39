/* device_window.h - one judged series (a device's channel field, e.g.
 * L1_LF_1 value, L1_GP_1 horizontal) kept in memory, bounded, so the
 * metrics of spec §12 come from a few additions per point instead of a
 * database read.
 *
 * The series is folded into DEVICE_WINDOW_BUCKETS hourly buckets (the
 * bucket of the latest point and the 24 before it) holding exact
 * least-squares sums and their first point, plus 5-minute sums of the
 * last hour for sum_1h. So:
 *   value        the latest point (by time);
 *   change_24h   latest minus the earliest point still in the buckets,
 *                which lies between 24 h and 25 h before the latest (the
 *                bucket boundary rounds the span up: a warning comes no
 *                later than the exact 24 h would give it);
 *   rate_per_day least-squares slope over the points in the buckets,
 *                per day (timestamps to the second);
 *   sum_24h      the sum of the values in the buckets (24-25 h);
 *   sum_1h       the sum over the 12 five-minute slots ending with the
 *                latest point's (55-60 min).
 * A late point (older than the latest) goes into its bucket: the sums
 * are exact whatever the order. A point before the oldest bucket is
 * refused (DEVICE_WINDOW_TOO_OLD): it is stored, it no longer counts.
 * The window cannot know whether it saw a timestamp before except for
 * the latest one; the caller feeds each stored point once (the store's
 * key decides what a duplicate is).
 *
 * A window keeps only the parts its metrics need (issue 13: at most
 * 1 KiB a channel, and a fleet is mostly crack meters judged on
 * change_24h alone): `keep` is a set of DEVICE_WINDOW_KEEP_* and the
 * window is device_window_size(keep) bytes. The metrics it keeps are
 * the same numbers whatever else it keeps; the others are reported as
 * absent (have_* false). */
#ifndef GA_DEVICE_WINDOW_H
#define GA_DEVICE_WINDOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DEVICE_WINDOW_BUCKET_S 3600
#define DEVICE_WINDOW_BUCKETS 25
#define DEVICE_WINDOW_SLOT_S 300
#define DEVICE_WINDOW_SLOTS 12
/* points per hourly bucket (18 a second) in a window keeping the
 * least-squares sums (packed, see device_window.c); past it a point is
 * stored but not counted (DEVICE_WINDOW_FULL). The other parts need no
 * cap. */
#define DEVICE_WINDOW_BUCKET_MAX 65535

/* What a window keeps (bits of `keep`):
 *   FIRST  each bucket's earliest point (value, second): change_24h;
 *          25 × 10 B
 *   SUM    each bucket's Σv: sum_24h; 25 × 8 B
 *   LSQ    each bucket's Σv, Στv and packed n, Στ, Σττ: rate_per_day
 *          (and tangent_angle); 25 × 28 B (Σv shared with SUM)
 *   SLOTS  the 12 five-minute sums: sum_1h; 12 × 8 B
 * value (the latest point) is always kept. */
#define DEVICE_WINDOW_KEEP_FIRST 1u
#define DEVICE_WINDOW_KEEP_SUM 2u
#define DEVICE_WINDOW_KEEP_LSQ 4u
#define DEVICE_WINDOW_KEEP_SLOTS 8u
#define DEVICE_WINDOW_KEEP_ALL 15u

/* The head of a window; the parts it keeps follow it in the same block
 * (only device_window.c reads them). 32 bytes on x86-64; a crack meter's
 * window (FIRST) is 282 bytes, a GNSS rate's (LSQ) 732, a rain gauge's
 * (SUM | SLOTS) 328, all parts 1,078. */
struct device_window {
	int64_t latest_ms; /* time of the latest point; -1 when empty */
	double latest_v;
	int32_t hour;  /* hour number (since the epoch) of the latest point */
	int32_t slot;  /* 5-minute slot number of the latest point */
	uint16_t keep; /* DEVICE_WINDOW_KEEP_* */
	double part[]; /* the kept parts, see device_window.c */
};

enum device_window_add {
	DEVICE_WINDOW_ADDED,
	DEVICE_WINDOW_TOO_OLD,	 /* before the oldest bucket */
	DEVICE_WINDOW_DUPLICATE, /* the latest point's time again */
	DEVICE_WINDOW_FULL,	 /* its bucket holds DEVICE_WINDOW_BUCKET_MAX (LSQ) */
	DEVICE_WINDOW_BAD,	 /* non-finite value or a time before 1970 */
};

/* What device_window_metrics computes; have_* false when the window does
 * not keep the metric or the series is too short for it (rate_per_day
 * needs two points at different seconds). */
struct device_window_metrics {
	bool have_value, have_change, have_rate, have_sum_1h, have_sum_24h;
	double value, change_24h, rate_per_day, sum_1h, sum_24h;
};

/* The bytes of a window keeping keep (a multiple of 8). */
size_t device_window_size(unsigned keep);

/* Makes the device_window_size(keep) bytes at w, aligned as a double, an
 * empty window keeping keep (bits past DEVICE_WINDOW_KEEP_ALL ignored). */
void device_window_init(struct device_window *w, unsigned keep);

/* A new empty window keeping keep, or NULL (out of memory). */
struct device_window *device_window_new(unsigned keep);
void device_window_free(struct device_window *w);

/* Folds the point (t_ms, v) in. */
enum device_window_add device_window_add(struct device_window *w, int64_t t_ms, double v);

void device_window_metrics(const struct device_window *w, struct device_window_metrics *out);

#endif
