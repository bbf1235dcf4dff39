/* device_window.c - the bounded in-memory series of device_window.h. */
#include "device_window.h"

#include <math.h>
#include <string.h>

static size_t device_window_idx(int64_t n, int64_t mod)
{
	return (size_t)(((n % mod) + mod) % mod);
}

void device_window_init(struct device_window *w)
{
	memset(w, 0, sizeof(*w));
	w->latest_ms = -1;
}

/* Moves the window's newest hour and slot forward to (hour, slot),
 * clearing what falls out. */
static void device_window_advance(struct device_window *w, int32_t hour, int32_t slot)
{
	if (hour > w->hour) {
		int64_t k = (int64_t)hour - w->hour;
		if (k >= DEVICE_WINDOW_BUCKETS)
			memset(w->b, 0, sizeof(w->b));
		else
			for (int64_t h = (int64_t)w->hour + 1; h <= hour; h++)
				memset(&w->b[device_window_idx(h, DEVICE_WINDOW_BUCKETS)], 0,
				       sizeof(w->b[0]));
		w->hour = hour;
	}
	if (slot > w->slot) {
		int64_t k = (int64_t)slot - w->slot;
		if (k >= DEVICE_WINDOW_SLOTS)
			memset(w->slot_sum, 0, sizeof(w->slot_sum));
		else
			for (int64_t s = (int64_t)w->slot + 1; s <= slot; s++)
				w->slot_sum[device_window_idx(s, DEVICE_WINDOW_SLOTS)] = 0;
		w->slot = slot;
	}
}

enum device_window_add device_window_add(struct device_window *w, int64_t t_ms, double v)
{
	/* hours since 1970 fit int32 until the year 246 937 */
	if (!isfinite(v) || t_ms < 0 || t_ms / 1000 / DEVICE_WINDOW_SLOT_S > INT32_MAX)
		return DEVICE_WINDOW_BAD;
	int64_t s = t_ms / 1000;
	int32_t hour = (int32_t)(s / DEVICE_WINDOW_BUCKET_S);
	int32_t slot = (int32_t)(s / DEVICE_WINDOW_SLOT_S);

	if (w->latest_ms < 0) {
		w->hour = hour;
		w->slot = slot;
	} else if (t_ms == w->latest_ms) {
		return DEVICE_WINDOW_DUPLICATE;
	} else if ((int64_t)hour <= (int64_t)w->hour - DEVICE_WINDOW_BUCKETS) {
		return DEVICE_WINDOW_TOO_OLD;
	}
	struct device_window_bucket *b = &w->b[device_window_idx(hour, DEVICE_WINDOW_BUCKETS)];
	if (hour <= w->hour && b->n >= DEVICE_WINDOW_BUCKET_MAX)
		return DEVICE_WINDOW_FULL;
	device_window_advance(w, hour, slot);

	uint32_t tau = (uint32_t)(s - (int64_t)hour * DEVICE_WINDOW_BUCKET_S);
	if (b->n == 0 || tau < b->first_tau) {
		b->first_tau = (uint16_t)tau;
		b->first_v = v;
	}
	b->n++;
	b->sum_t += tau;
	b->sum_tt += (double)tau * tau;
	b->sum_v += v;
	b->sum_tv += tau * v;
	if ((int64_t)slot > (int64_t)w->slot - DEVICE_WINDOW_SLOTS)
		w->slot_sum[device_window_idx(slot, DEVICE_WINDOW_SLOTS)] += (float)v;
	if (t_ms > w->latest_ms) {
		w->latest_ms = t_ms;
		w->latest_v = v;
	}
	return DEVICE_WINDOW_ADDED;
}

void device_window_metrics(const struct device_window *w, struct device_window_metrics *out)
{
	double n = 0, st = 0, stt = 0, sv = 0, stv = 0;
	bool have_first = false;
	double first_v = 0;

	memset(out, 0, sizeof(*out));
	if (w->latest_ms < 0)
		return;
	out->have_value = true;
	out->value = w->latest_v;
	/* t in seconds from the start of the oldest bucket: small numbers,
	 * so that the sums below keep their precision */
	int64_t base = (int64_t)w->hour - (DEVICE_WINDOW_BUCKETS - 1);
	for (int64_t h = base; h <= w->hour; h++) {
		const struct device_window_bucket *b =
		    &w->b[device_window_idx(h, DEVICE_WINDOW_BUCKETS)];
		if (b->n == 0)
			continue;
		double B = (double)(h - base) * DEVICE_WINDOW_BUCKET_S;
		if (!have_first) {
			have_first = true;
			first_v = b->first_v;
		}
		n += b->n;
		st += b->n * B + b->sum_t;
		stt += b->n * B * B + 2 * B * b->sum_t + b->sum_tt;
		sv += b->sum_v;
		stv += B * b->sum_v + b->sum_tv;
	}
	if (have_first) {
		out->have_change = true;
		out->change_24h = w->latest_v - first_v;
	}
	double denom = n * stt - st * st;
	if (n >= 2 && denom > 0) {
		out->have_rate = true;
		out->rate_per_day = (n * stv - st * sv) / denom * 86400.0;
	}
	out->sum_24h = sv;
	for (int i = 0; i < DEVICE_WINDOW_SLOTS; i++)
		out->sum_1h += w->slot_sum[i];
}
