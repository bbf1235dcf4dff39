/* device_window.c - the bounded in-memory series of device_window.h.
 *
 * The parts after the head, in this order (each present only when kept;
 * doubles first, so that every part is aligned):
 *   first_v[BUCKETS]  double   FIRST
 *   sum_v[BUCKETS]    double   SUM or LSQ
 *   sum_tv[BUCKETS]   double   LSQ
 *   slot[SLOTS]       double   SLOTS
 *   count[BUCKETS]    struct dw_count (12 B)   LSQ
 *   first_tau[BUCKETS] uint16_t  FIRST; DW_EMPTY when the bucket is
 * The bucket of hour h is [h % BUCKETS], the slot of slot s [s % SLOTS]. */
#include "device_window.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* A bucket's exact integer sums (τ = whole seconds into the bucket),
 * packed into 12 bytes (as three fields they took 16):
 *   n      points (<= DEVICE_WINDOW_BUCKET_MAX, 16 bits)
 *   t_tt   Στ (< 65536 × 3600 < 2^28, bits 0-27) | Σττ bits 32-35
 *   tt_lo  Σττ bits 0-31 (Σττ < 65536 × 3600² < 2^40)
 *   tt_hi  Σττ bits 36-39 */
struct dw_count {
	uint32_t tt_lo;
	uint32_t t_tt;
	uint16_t n;
	uint16_t tt_hi;
};

#define DW_TAU_MAX ((uint64_t)DEVICE_WINDOW_BUCKET_S - 1)
#define DW_EMPTY UINT16_MAX /* first_tau of an empty bucket */
_Static_assert(DEVICE_WINDOW_BUCKET_MAX <= UINT16_MAX, "n is 16 bits");
_Static_assert(DW_TAU_MAX < DW_EMPTY, "τ is below the empty mark");
_Static_assert(DEVICE_WINDOW_BUCKET_MAX *DW_TAU_MAX <= ((uint64_t)1 << 28) - 1, "Στ is 28 bits");
_Static_assert(DEVICE_WINDOW_BUCKET_MAX *DW_TAU_MAX *DW_TAU_MAX <= ((uint64_t)1 << 40) - 1,
	       "Σττ is 40 bits");
_Static_assert(sizeof(struct dw_count) == 12, "a count is 12 bytes");

/* Where a window's parts are (NULL: not kept). */
struct dw_parts {
	double *first_v, *sum_v, *sum_tv, *slot;
	struct dw_count *count;
	uint16_t *first_tau;
};

/* The parts of a window keeping keep at base (NULL: only the size), and
 * their bytes (past the head) into *bytes. */
static void dw_layout(unsigned keep, unsigned char *base, struct dw_parts *p, size_t *bytes)
{
	size_t off = 0;

#define DW_PART(field, type, n)                                                                    \
	do {                                                                                       \
		p->field = base ? (type *)(void *)(base + off) : NULL;                             \
		off += (n) * sizeof(type);                                                         \
	} while (0)
	memset(p, 0, sizeof(*p));
	if (keep & DEVICE_WINDOW_KEEP_FIRST)
		DW_PART(first_v, double, DEVICE_WINDOW_BUCKETS);
	if (keep & (DEVICE_WINDOW_KEEP_SUM | DEVICE_WINDOW_KEEP_LSQ))
		DW_PART(sum_v, double, DEVICE_WINDOW_BUCKETS);
	if (keep & DEVICE_WINDOW_KEEP_LSQ)
		DW_PART(sum_tv, double, DEVICE_WINDOW_BUCKETS);
	if (keep & DEVICE_WINDOW_KEEP_SLOTS)
		DW_PART(slot, double, DEVICE_WINDOW_SLOTS);
	if (keep & DEVICE_WINDOW_KEEP_LSQ)
		DW_PART(count, struct dw_count, DEVICE_WINDOW_BUCKETS);
	if (keep & DEVICE_WINDOW_KEEP_FIRST)
		DW_PART(first_tau, uint16_t, DEVICE_WINDOW_BUCKETS);
#undef DW_PART
	*bytes = (off + 7) & ~(size_t)7;
}

static void dw_parts(const struct device_window *w, struct dw_parts *p)
{
	size_t bytes;
	dw_layout(w->keep, (unsigned char *)(uintptr_t)w->part, p, &bytes);
}

static size_t device_window_idx(int64_t n, int64_t mod)
{
	return (size_t)(((n % mod) + mod) % mod);
}

/* The packed sums of struct dw_count. */
static uint32_t dw_t(const struct dw_count *c)
{
	return c->t_tt & 0xfffffffu;
}

static uint64_t dw_tt(const struct dw_count *c)
{
	return (uint64_t)c->tt_lo | (uint64_t)(c->t_tt >> 28) << 32 |
	       (uint64_t)(c->tt_hi & 0xfu) << 36;
}

static void dw_count_set(struct dw_count *c, uint32_t t, uint64_t tt)
{
	c->tt_lo = (uint32_t)tt;
	c->t_tt = t | (uint32_t)((tt >> 32) & 0xfu) << 28;
	c->tt_hi = (uint16_t)((tt >> 36) & 0xfu);
}

size_t device_window_size(unsigned keep)
{
	struct dw_parts p;
	size_t bytes;

	dw_layout(keep & DEVICE_WINDOW_KEEP_ALL, NULL, &p, &bytes);
	return sizeof(struct device_window) + bytes;
}

/* Empties bucket i. */
static void dw_bucket_clear(const struct dw_parts *p, size_t i)
{
	if (p->first_v) {
		p->first_v[i] = 0;
		p->first_tau[i] = DW_EMPTY;
	}
	if (p->sum_v)
		p->sum_v[i] = 0;
	if (p->sum_tv) {
		p->sum_tv[i] = 0;
		memset(&p->count[i], 0, sizeof(p->count[i]));
	}
}

void device_window_init(struct device_window *w, unsigned keep)
{
	struct dw_parts p;

	keep &= DEVICE_WINDOW_KEEP_ALL;
	memset(w, 0, device_window_size(keep));
	w->latest_ms = -1;
	w->keep = (uint16_t)keep;
	dw_parts(w, &p);
	for (size_t i = 0; p.first_tau && i < DEVICE_WINDOW_BUCKETS; i++)
		p.first_tau[i] = DW_EMPTY;
}

struct device_window *device_window_new(unsigned keep)
{
	struct device_window *w = malloc(device_window_size(keep));

	if (w != NULL)
		device_window_init(w, keep);
	return w;
}

void device_window_free(struct device_window *w)
{
	free(w);
}

/* Moves the window's newest hour and slot forward to (hour, slot),
 * clearing what falls out. */
static void device_window_advance(struct device_window *w, const struct dw_parts *p, int32_t hour,
				  int32_t slot)
{
	if (hour > w->hour) {
		int64_t k = (int64_t)hour - w->hour;
		int64_t h0 = k >= DEVICE_WINDOW_BUCKETS ? (int64_t)hour - DEVICE_WINDOW_BUCKETS + 1
							: (int64_t)w->hour + 1;
		for (int64_t h = h0; h <= hour; h++)
			dw_bucket_clear(p, device_window_idx(h, DEVICE_WINDOW_BUCKETS));
		w->hour = hour;
	}
	if (slot > w->slot) {
		int64_t k = (int64_t)slot - w->slot;
		int64_t s0 = k >= DEVICE_WINDOW_SLOTS ? (int64_t)slot - DEVICE_WINDOW_SLOTS + 1
						      : (int64_t)w->slot + 1;
		for (int64_t s = s0; p->slot != NULL && s <= slot; s++)
			p->slot[device_window_idx(s, DEVICE_WINDOW_SLOTS)] = 0;
		w->slot = slot;
	}
}

enum device_window_add device_window_add(struct device_window *w, int64_t t_ms, double v)
{
	struct dw_parts p;

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
	dw_parts(w, &p);
	size_t i = device_window_idx(hour, DEVICE_WINDOW_BUCKETS);
	if (p.count && hour <= w->hour && p.count[i].n >= DEVICE_WINDOW_BUCKET_MAX)
		return DEVICE_WINDOW_FULL;
	device_window_advance(w, &p, hour, slot);

	uint32_t tau = (uint32_t)(s - (int64_t)hour * DEVICE_WINDOW_BUCKET_S);
	if (p.first_tau && (p.first_tau[i] == DW_EMPTY || tau < p.first_tau[i])) {
		p.first_tau[i] = (uint16_t)tau;
		p.first_v[i] = v;
	}
	if (p.count) {
		struct dw_count *c = &p.count[i];
		c->n++;
		dw_count_set(c, dw_t(c) + tau, dw_tt(c) + (uint64_t)tau * tau);
		p.sum_tv[i] += tau * v;
	}
	if (p.sum_v)
		p.sum_v[i] += v;
	if (p.slot && (int64_t)slot > (int64_t)w->slot - DEVICE_WINDOW_SLOTS)
		p.slot[device_window_idx(slot, DEVICE_WINDOW_SLOTS)] += v;
	if (t_ms > w->latest_ms) {
		w->latest_ms = t_ms;
		w->latest_v = v;
	}
	return DEVICE_WINDOW_ADDED;
}

void device_window_metrics(const struct device_window *w, struct device_window_metrics *out)
{
	struct dw_parts p;
	double n = 0, st = 0, stt = 0, sv = 0, stv = 0;
	bool have_first = false;
	double first_v = 0;

	memset(out, 0, sizeof(*out));
	if (w->latest_ms < 0)
		return;
	dw_parts(w, &p);
	out->have_value = true;
	out->value = w->latest_v;
	/* t in seconds from the start of the oldest bucket: small numbers,
	 * so that the sums below keep their precision */
	int64_t base = (int64_t)w->hour - (DEVICE_WINDOW_BUCKETS - 1);
	for (int64_t h = base; h <= w->hour; h++) {
		size_t i = device_window_idx(h, DEVICE_WINDOW_BUCKETS);
		if (p.first_tau && !have_first && p.first_tau[i] != DW_EMPTY) {
			have_first = true;
			first_v = p.first_v[i];
		}
		if (p.count) {
			const struct dw_count *c = &p.count[i];
			if (c->n == 0)
				continue;
			double bn = c->n, bt = dw_t(c), btt = (double)dw_tt(c);
			double B = (double)(h - base) * DEVICE_WINDOW_BUCKET_S;
			n += bn;
			st += bn * B + bt;
			stt += bn * B * B + 2 * B * bt + btt;
			stv += B * p.sum_v[i] + p.sum_tv[i];
		}
		/* an empty bucket's Σv is 0: adding it changes nothing */
		if (p.sum_v)
			sv += p.sum_v[i];
	}
	if (have_first) {
		out->have_change = true;
		out->change_24h = w->latest_v - first_v;
	}
	double denom = n * stt - st * st;
	if (p.count && n >= 2 && denom > 0) {
		out->have_rate = true;
		out->rate_per_day = (n * stv - st * sv) / denom * 86400.0;
	}
	if (w->keep & DEVICE_WINDOW_KEEP_SUM) {
		out->have_sum_24h = true;
		out->sum_24h = sv;
	}
	for (int i = 0; p.slot && i < DEVICE_WINDOW_SLOTS; i++)
		out->sum_1h += p.slot[i];
	out->have_sum_1h = p.slot != NULL;
}
