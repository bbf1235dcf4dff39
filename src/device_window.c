/* device_window.c - the bounded in-memory series of device_window.h. */
#include "device_window.h"

#include <math.h>
#include <string.h>

/* the packing of struct device_window_count */
#define DW_TAU_MAX ((uint64_t)DEVICE_WINDOW_BUCKET_S - 1)
_Static_assert(DEVICE_WINDOW_BUCKET_MAX <= UINT16_MAX, "n is 16 bits");
_Static_assert(DW_TAU_MAX < 4096, "τ is 12 bits");
_Static_assert(DEVICE_WINDOW_BUCKET_MAX *DW_TAU_MAX <= ((uint64_t)1 << 28) - 1, "Στ is 28 bits");
_Static_assert(DEVICE_WINDOW_BUCKET_MAX *DW_TAU_MAX *DW_TAU_MAX <= ((uint64_t)1 << 40) - 1,
	       "Σττ is 40 bits");

static size_t device_window_idx(int64_t n, int64_t mod)
{
	return (size_t)(((n % mod) + mod) % mod);
}

/* The packed sums of struct device_window_count. */
static uint32_t device_window_tau(const struct device_window_count *c)
{
	return c->tau_tt & 0xfffu;
}

static uint32_t device_window_t(const struct device_window_count *c)
{
	return c->t_tt & 0xfffffffu;
}

static uint64_t device_window_tt(const struct device_window_count *c)
{
	return (uint64_t)c->tt_lo | (uint64_t)(c->t_tt >> 28) << 32 |
	       (uint64_t)(c->tau_tt >> 12) << 36;
}

static void device_window_count_set(struct device_window_count *c, uint32_t tau, uint32_t t,
				    uint64_t tt)
{
	c->tt_lo = (uint32_t)tt;
	c->t_tt = t | (uint32_t)((tt >> 32) & 0xfu) << 28;
	c->tau_tt = (uint16_t)(tau | ((tt >> 36) & 0xfu) << 12);
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
		if (k >= DEVICE_WINDOW_BUCKETS) {
			memset(w->b, 0, sizeof(w->b));
			memset(w->c, 0, sizeof(w->c));
		} else {
			for (int64_t h = (int64_t)w->hour + 1; h <= hour; h++) {
				size_t i = device_window_idx(h, DEVICE_WINDOW_BUCKETS);
				memset(&w->b[i], 0, sizeof(w->b[0]));
				memset(&w->c[i], 0, sizeof(w->c[0]));
			}
		}
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
	size_t i = device_window_idx(hour, DEVICE_WINDOW_BUCKETS);
	struct device_window_bucket *b = &w->b[i];
	struct device_window_count *c = &w->c[i];
	if (hour <= w->hour && c->n >= DEVICE_WINDOW_BUCKET_MAX)
		return DEVICE_WINDOW_FULL;
	device_window_advance(w, hour, slot);

	uint32_t tau = (uint32_t)(s - (int64_t)hour * DEVICE_WINDOW_BUCKET_S);
	uint32_t first_tau = device_window_tau(c);
	if (c->n == 0 || tau < first_tau) {
		first_tau = tau;
		b->first_v = v;
	}
	c->n++;
	device_window_count_set(c, first_tau, device_window_t(c) + tau,
				device_window_tt(c) + (uint64_t)tau * tau);
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
		size_t i = device_window_idx(h, DEVICE_WINDOW_BUCKETS);
		const struct device_window_bucket *b = &w->b[i];
		const struct device_window_count *c = &w->c[i];
		if (c->n == 0)
			continue;
		double bn = c->n, bt = device_window_t(c), btt = (double)device_window_tt(c);
		double B = (double)(h - base) * DEVICE_WINDOW_BUCKET_S;
		if (!have_first) {
			have_first = true;
			first_v = b->first_v;
		}
		n += bn;
		st += bn * B + bt;
		stt += bn * B * B + 2 * B * bt + btt;
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
