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
 * key decides what a duplicate is). */
#ifndef GA_DEVICE_WINDOW_H
#define GA_DEVICE_WINDOW_H

#include <stdbool.h>
#include <stdint.h>

#define DEVICE_WINDOW_BUCKET_S 3600
#define DEVICE_WINDOW_BUCKETS 25
#define DEVICE_WINDOW_SLOT_S 300
#define DEVICE_WINDOW_SLOTS 12
/* points per hourly bucket (18 a second); past it a point is stored but
 * not counted (DEVICE_WINDOW_FULL) */
#define DEVICE_WINDOW_BUCKET_MAX 65535

/* A bucket's sums of values (τ = whole seconds into the bucket). */
struct device_window_bucket {
	double sum_v;	/* Σv */
	double sum_tv;	/* Στv */
	double first_v; /* the value of the earliest point */
};

/* The same bucket's exact integer sums, packed into 12 bytes (as four
 * fields they took 16, and with the doubles a 40-byte bucket: 25 of them
 * made the window 1072 bytes, past the 1 KiB a channel of issue 13):
 *   n       points (<= DEVICE_WINDOW_BUCKET_MAX, 16 bits)
 *   tau_tt  τ of the earliest point (< 3600, bits 0-11) | Σττ bits 36-39
 *   t_tt    Στ (< 65536 × 3600 < 2^28, bits 0-27) | Σττ bits 32-35
 *   tt_lo   Σττ bits 0-31 (Σττ < 65536 × 3600² < 2^40)
 * Only device_window.c reads them. */
struct device_window_count {
	uint32_t tt_lo;
	uint32_t t_tt;
	uint16_t n;
	uint16_t tau_tt;
};

/* 976 bytes on x86-64 (1072 before the packing). */
struct device_window {
	int64_t latest_ms; /* time of the latest point; -1 when empty */
	double latest_v;
	int32_t hour; /* hour number (since the epoch) of the latest point */
	int32_t slot; /* 5-minute slot number of the latest point */
	struct device_window_bucket b[DEVICE_WINDOW_BUCKETS]; /* [hour % BUCKETS] */
	struct device_window_count c[DEVICE_WINDOW_BUCKETS];  /* the same buckets */
	float slot_sum[DEVICE_WINDOW_SLOTS];		      /* [slot % SLOTS] */
};

enum device_window_add {
	DEVICE_WINDOW_ADDED,
	DEVICE_WINDOW_TOO_OLD,	 /* before the oldest bucket */
	DEVICE_WINDOW_DUPLICATE, /* the latest point's time again */
	DEVICE_WINDOW_FULL,	 /* its bucket holds DEVICE_WINDOW_BUCKET_MAX */
	DEVICE_WINDOW_BAD,	 /* non-finite value or a time before 1970 */
};

/* What device_window_metrics computes; have[m] false when the series is
 * too short for it (rate_per_day needs two points at different seconds). */
struct device_window_metrics {
	bool have_value, have_change, have_rate;
	double value, change_24h, rate_per_day, sum_1h, sum_24h;
};

void device_window_init(struct device_window *w);

/* Folds the point (t_ms, v) in. */
enum device_window_add device_window_add(struct device_window *w, int64_t t_ms, double v);

void device_window_metrics(const struct device_window *w, struct device_window_metrics *out);

#endif
