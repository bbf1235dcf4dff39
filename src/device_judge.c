/* device_judge.c - rule levels and the per-station hysteresis of
 * device_judge.h. */
#include "device_judge.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A device's judge state, one allocation (issue 13: a channel's memory
 * is mostly this and its window):
 *   struct device_judge_rule_state rules[nrules]
 *   uint16_t win_off[nseries]     where series s's window starts in mem
 *   uint8_t rule_series[nrules]   the series rule r reads
 *   uint8_t series_rule[nseries]  a rule naming series s (its channel
 *                                 and field)
 *   (to a multiple of 8) the windows, each keeping what its rules'
 *   metrics need (device_judge_keep). */
struct judge_device {
	unsigned char *mem; /* NULL: a device without rules */
	uint32_t station;
	uint8_t nrules, nseries;
};

_Static_assert(DEVICE_REGISTRY_MAX_RULES <= UINT8_MAX, "rule and series indexes are 8 bits");

static struct device_judge_rule_state *judge_rules(const struct judge_device *jd)
{
	return (struct device_judge_rule_state *)(void *)jd->mem;
}

static uint16_t *judge_win_off(const struct judge_device *jd)
{
	return (uint16_t *)(void *)(jd->mem + jd->nrules * sizeof(struct device_judge_rule_state));
}

static uint8_t *judge_rule_series(const struct judge_device *jd)
{
	return (uint8_t *)(judge_win_off(jd) + jd->nseries);
}

static uint8_t *judge_series_rule(const struct judge_device *jd)
{
	return judge_rule_series(jd) + jd->nrules;
}

static struct device_window *judge_window(const struct judge_device *jd, size_t s)
{
	return (struct device_window *)(void *)(jd->mem + judge_win_off(jd)[s]);
}

struct judge_station {
	const char *station_id; /* borrowed */
	enum device_level level;
	int streak;		      /* consecutive points above level */
	enum device_level streak_min; /* the lowest of them */
	int64_t below_since_ms;	      /* first point below level; -1 */
	enum device_level below_max;  /* the highest since then */
	int64_t latest_ms;	      /* the station's clock */
	uint32_t *devices;	      /* indexes into dev */
	uint32_t ndevices;
};

struct device_judge {
	const struct device_registry *reg;
	struct device_judge_options opt;
	struct judge_device *dev; /* [i]: device_registry_at(reg, i) */
	size_t ndev;
	struct judge_station *st;
	size_t nst;
	uint32_t *st_devices; /* every station's devices, one block */
};

static int judge_str_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static struct judge_station *judge_station_find(const struct device_judge *j, const char *id)
{
	size_t lo = 0, hi = j->nst;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(id, j->st[mid].station_id);
		if (c == 0)
			return &j->st[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

static size_t judge_device_index(const struct device_judge *j, const char *code)
{
	const struct device *d = device_registry_find(j->reg, code);

	if (d == NULL)
		return SIZE_MAX;
	return (size_t)(d - device_registry_at(j->reg, 0));
}

unsigned device_judge_keep(enum device_metric m)
{
	switch (m) {
	case DEVICE_METRIC_CHANGE_24H:
		return DEVICE_WINDOW_KEEP_FIRST;
	case DEVICE_METRIC_RATE_PER_DAY:
	case DEVICE_METRIC_TANGENT_ANGLE:
		return DEVICE_WINDOW_KEEP_LSQ;
	case DEVICE_METRIC_SUM_1H:
		return DEVICE_WINDOW_KEEP_SLOTS;
	case DEVICE_METRIC_SUM_24H:
		return DEVICE_WINDOW_KEEP_SUM;
	case DEVICE_METRIC_VALUE:
	case DEVICE_METRIC_COUNT:
		break;
	}
	return 0;
}

void device_judge_free(struct device_judge *j)
{
	if (j == NULL)
		return;
	for (size_t i = 0; i < j->ndev; i++)
		free(j->dev[i].mem);
	free(j->dev);
	free(j->st);
	free(j->st_devices);
	free(j);
}

static bool judge_same_series(const struct device_rule *a, const struct device_rule *b)
{
	return strcmp(a->channel, b->channel) == 0 && strcmp(a->field, b->field) == 0;
}

/* Sets up a device's state (struct judge_device): one series per
 * distinct (channel, field) its rules name, its window keeping what
 * those rules need. */
static ga_err judge_device_init(struct judge_device *jd, const struct device *d)
{
	uint8_t rule_series[DEVICE_REGISTRY_MAX_RULES], series_rule[DEVICE_REGISTRY_MAX_RULES];
	unsigned keep[DEVICE_REGISTRY_MAX_RULES] = {0};
	size_t ns = 0, nr = d->n_rules, head, size;

	if (nr == 0)
		return GA_OK; /* stored, not judged */
	if (nr > DEVICE_REGISTRY_MAX_RULES)
		return GA_ERR_INVAL;
	for (size_t r = 0; r < nr; r++) {
		size_t s;
		for (s = 0; s < ns; s++)
			if (judge_same_series(&d->rules[series_rule[s]], &d->rules[r]))
				break;
		if (s == ns)
			series_rule[ns++] = (uint8_t)r;
		rule_series[r] = (uint8_t)s;
		keep[s] |= device_judge_keep(d->rules[r].metric);
	}
	head = nr * sizeof(struct device_judge_rule_state) + ns * sizeof(uint16_t) + nr + ns;
	head = (head + 7) & ~(size_t)7;
	size = head;
	for (size_t s = 0; s < ns; s++)
		size += device_window_size(keep[s]);
	if (size > UINT16_MAX)
		return GA_ERR_INVAL; /* 32 windows of every part: 35 KB */
	if ((jd->mem = calloc(1, size)) == NULL)
		return GA_ERR_NOMEM;
	jd->nrules = (uint8_t)nr;
	jd->nseries = (uint8_t)ns;
	memcpy(judge_rule_series(jd), rule_series, nr);
	memcpy(judge_series_rule(jd), series_rule, ns);
	size = head;
	for (size_t s = 0; s < ns; s++) {
		judge_win_off(jd)[s] = (uint16_t)size;
		device_window_init(judge_window(jd, s), keep[s]);
		size += device_window_size(keep[s]);
	}
	return GA_OK;
}

ga_err device_judge_new(const struct device_registry *reg, const struct device_judge_options *opt,
			struct device_judge **out)
{
	struct device_judge *j = calloc(1, sizeof(*j));
	const char **ids = NULL;
	size_t n = device_registry_count(reg), at = 0;
	ga_err rc = GA_ERR_NOMEM;

	if (j == NULL)
		goto out;
	j->reg = reg;
	j->opt = *opt;
	if (j->opt.confirm_points < 1)
		j->opt.confirm_points = 1;
	if (n > UINT32_MAX) {
		rc = GA_ERR_INVAL;
		goto out;
	}
	if ((j->dev = calloc(n + 1, sizeof(*j->dev))) == NULL ||
	    (ids = calloc(n + 1, sizeof(*ids))) == NULL ||
	    (j->st = calloc(n + 1, sizeof(*j->st))) == NULL ||
	    (j->st_devices = calloc(n + 1, sizeof(*j->st_devices))) == NULL)
		goto out;
	j->ndev = n;
	for (size_t i = 0; i < n; i++) {
		if ((rc = judge_device_init(&j->dev[i], device_registry_at(reg, i))) != GA_OK)
			goto out;
		ids[i] = device_registry_at(reg, i)->station_id;
	}
	rc = GA_ERR_NOMEM;
	qsort(ids, n, sizeof(*ids), judge_str_cmp);
	for (size_t i = 0; i < n; i++) {
		if (j->nst > 0 && strcmp(j->st[j->nst - 1].station_id, ids[i]) == 0)
			continue;
		struct judge_station *st = &j->st[j->nst++];
		st->station_id = ids[i];
		st->below_since_ms = -1;
		st->latest_ms = INT64_MIN;
	}
	/* one record a station, not a device (a station has ten devices in
	 * the fleet of issue 13): no pointer into st is taken before this */
	struct judge_station *shrunk = realloc(j->st, (j->nst + 1) * sizeof(*j->st));
	if (shrunk != NULL)
		j->st = shrunk;
	/* each station's devices, in one block: counted, placed, filled */
	for (size_t i = 0; i < n; i++) {
		struct judge_station *st =
		    judge_station_find(j, device_registry_at(reg, i)->station_id);
		st->ndevices++;
		j->dev[i].station = (uint32_t)(st - j->st);
	}
	for (size_t s = 0; s < j->nst; s++) {
		j->st[s].devices = j->st_devices + at;
		at += j->st[s].ndevices;
		j->st[s].ndevices = 0;
	}
	for (size_t i = 0; i < n; i++) {
		struct judge_station *st = &j->st[j->dev[i].station];
		st->devices[st->ndevices++] = (uint32_t)i;
	}
	*out = j;
	j = NULL;
	rc = GA_OK;
out:
	free(ids);
	device_judge_free(j);
	return rc;
}

static int judge_time_cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

/* The value of (channel, field) at t among pts, into *v. */
static bool judge_point(const struct device_point *pts, size_t n, const char *channel,
			const char *field, int64_t t, double *v)
{
	for (size_t i = 0; i < n; i++)
		if (pts[i].t_ms == t && strcmp(pts[i].channel, channel) == 0 &&
		    strcmp(pts[i].field, field) == 0) {
			*v = pts[i].value;
			return true;
		}
	return false;
}

bool device_horizontal_add(struct device_horizontal *h, const char *field, int64_t t_ms,
			   double value, double *out)
{
	bool isx = strcmp(field, "gpsTotalX") == 0, isy = strcmp(field, "gpsTotalY") == 0;

	if (!isx && !isy)
		return false;
	if (h->t_ms != t_ms)
		h->hx = h->hy = false, h->t_ms = t_ms;
	if (isx)
		h->x = value, h->hx = true;
	else
		h->y = value, h->hy = true;
	if (!(h->hx && h->hy))
		return false;
	h->hx = h->hy = false;
	*out = hypot(h->x, h->y);
	return true;
}

bool device_judge_metric(const struct device_rule *rule, const struct device_window *w,
			 double *value, enum device_level *level)
{
	struct device_window_metrics m;
	bool have = false;
	double v = 0;

	device_window_metrics(w, &m);
	switch (rule->metric) {
	case DEVICE_METRIC_VALUE:
		have = m.have_value, v = m.value;
		break;
	case DEVICE_METRIC_CHANGE_24H:
		have = m.have_change, v = m.change_24h;
		break;
	case DEVICE_METRIC_RATE_PER_DAY:
		have = m.have_rate, v = m.rate_per_day;
		break;
	case DEVICE_METRIC_SUM_1H:
		have = m.have_sum_1h, v = m.sum_1h;
		break;
	case DEVICE_METRIC_SUM_24H:
		have = m.have_sum_24h, v = m.sum_24h;
		break;
	case DEVICE_METRIC_TANGENT_ANGLE:
		have = m.have_rate;
		v = atan(m.rate_per_day / rule->v_ref_per_day) * (180.0 / M_PI);
		break;
	case DEVICE_METRIC_COUNT:
		break;
	}
	*value = have ? v : 0;
	*level = DEVICE_LEVEL_NONE;
	/* inclusive, and within rounding: a reading of 5.1 from 3.1 has
	 * passed 2 mm even when the double says 1.9999999999999996 */
	for (int l = DEVICE_LEVEL_RED; have && l > DEVICE_LEVEL_NONE; l--)
		if (rule->has[l] &&
		    v >= rule->threshold[l] - 1e-9 * fmax(1.0, fabs(rule->threshold[l]))) {
			*level = (enum device_level)l;
			break;
		}
	return have;
}

/* The level a rule gives its current metrics; fills st. */
static void judge_rule(const struct device_rule *rule, const struct device_window *w,
		       struct device_judge_rule_state *st)
{
	st->have = device_judge_metric(rule, w, &st->value, &st->level);
}

/* The station's highest rule: its level into *lvl, the device and rule
 * index into *dev, *rule (SIZE_MAX when the station has no rule). */
static void judge_station_top(const struct device_judge *j, const struct judge_station *st,
			      enum device_level *lvl, size_t *dev, size_t *rule)
{
	*lvl = DEVICE_LEVEL_NONE;
	*dev = *rule = SIZE_MAX;
	for (size_t k = 0; k < st->ndevices; k++) {
		const struct judge_device *jd = &j->dev[st->devices[k]];
		for (size_t r = 0; r < jd->nrules; r++)
			if (*rule == SIZE_MAX || judge_rules(jd)[r].level > *lvl) {
				*lvl = judge_rules(jd)[r].level;
				*dev = st->devices[k];
				*rule = r;
			}
	}
}

/* Applies one judged point at the station; true when its level changed
 * (old level in *from). */
static bool judge_hysteresis(const struct device_judge *j, struct judge_station *st,
			     enum device_level obs, enum device_level *from)
{
	*from = st->level;
	if (obs > st->level) {
		st->below_since_ms = -1;
		if (st->streak == 0 || obs < st->streak_min)
			st->streak_min = obs;
		if (++st->streak >= j->opt.confirm_points) {
			st->level = st->streak_min;
			st->streak = 0;
			return true;
		}
		return false;
	}
	st->streak = 0;
	if (obs == st->level) {
		st->below_since_ms = -1;
		return false;
	}
	if (st->below_since_ms < 0) {
		st->below_since_ms = st->latest_ms;
		st->below_max = obs;
	} else if (obs > st->below_max) {
		st->below_max = obs;
	}
	if (st->latest_ms - st->below_since_ms >= j->opt.clear_after_ms) {
		st->level = st->below_max;
		st->below_since_ms = -1;
		return true;
	}
	return false;
}

ga_err device_judge_feed(struct device_judge *j, const char *code, const struct device_point *pts,
			 size_t n, struct device_judge_change *changes, size_t cap,
			 size_t *nchanges)
{
	size_t di0 = judge_device_index(j, code);
	int64_t *times = NULL;
	bool updated[DEVICE_REGISTRY_MAX_RULES];
	size_t nt = 0;
	ga_err rc = GA_ERR_NOMEM;

	*nchanges = 0;
	if (di0 == SIZE_MAX)
		return GA_ERR_NOTFOUND;
	struct judge_device *jd = &j->dev[di0];
	const struct device *d = device_registry_at(j->reg, di0);
	if (n == 0 || jd->nseries == 0)
		return GA_OK;
	if ((times = malloc(n * sizeof(*times))) == NULL)
		goto out;
	for (size_t i = 0; i < n; i++)
		times[i] = pts[i].t_ms;
	qsort(times, n, sizeof(*times), judge_time_cmp);
	for (size_t i = 0; i < n; i++)
		if (nt == 0 || times[nt - 1] != times[i])
			times[nt++] = times[i];

	struct judge_station *st = &j->st[jd->station];
	struct device_judge_rule_state *rules = judge_rules(jd);
	const uint8_t *rule_series = judge_rule_series(jd), *series_rule = judge_series_rule(jd);
	for (size_t ti = 0; ti < nt; ti++) {
		int64_t t = times[ti];
		bool any = false;
		for (size_t s = 0; s < jd->nseries; s++) {
			const struct device_rule *sr = &d->rules[series_rule[s]];
			double v, x, y;
			updated[s] = false;
			if (strcmp(sr->field, "horizontal") == 0) {
				if (!judge_point(pts, n, sr->channel, "gpsTotalX", t, &x) ||
				    !judge_point(pts, n, sr->channel, "gpsTotalY", t, &y))
					continue;
				v = hypot(x, y);
			} else if (!judge_point(pts, n, sr->channel, sr->field, t, &v)) {
				continue;
			}
			if (device_window_add(judge_window(jd, s), t, v) == DEVICE_WINDOW_ADDED)
				updated[s] = any = true;
		}
		if (!any)
			continue;
		for (size_t r = 0; r < jd->nrules; r++)
			if (updated[rule_series[r]])
				judge_rule(&d->rules[r], judge_window(jd, rule_series[r]),
					   &rules[r]);
		if (t > st->latest_ms)
			st->latest_ms = t;
		enum device_level obs, from;
		size_t di, ri;
		judge_station_top(j, st, &obs, &di, &ri);
		if (!judge_hysteresis(j, st, obs, &from) || *nchanges >= cap)
			continue;
		struct device_judge_change *c = &changes[(*nchanges)++];
		memset(c, 0, sizeof(*c));
		snprintf(c->station_id, sizeof(c->station_id), "%s", st->station_id);
		c->from = from;
		c->to = st->level;
		c->t_ms = t;
		c->threshold = NAN;
		if (di != SIZE_MAX) {
			const struct device *td = device_registry_at(j->reg, di);
			const struct device_rule *rule = &td->rules[ri];
			const struct device_judge_rule_state *rs = &judge_rules(&j->dev[di])[ri];
			snprintf(c->device_code, sizeof(c->device_code), "%s", td->device_code);
			snprintf(c->channel, sizeof(c->channel), "%s", rule->channel);
			snprintf(c->field, sizeof(c->field), "%s", rule->field);
			c->metric = rule->metric;
			c->metric_value = rs->value;
			c->rule_level = rs->level;
			if (rs->level != DEVICE_LEVEL_NONE)
				c->threshold = rule->threshold[rs->level];
		}
	}
	rc = GA_OK;
out:
	free(times);
	return rc;
}

enum device_level device_judge_level(const struct device_judge *j, const char *station_id)
{
	const struct judge_station *st = judge_station_find(j, station_id);
	return st ? st->level : DEVICE_LEVEL_NONE;
}

ga_err device_judge_set_level(struct device_judge *j, const char *station_id,
			      enum device_level level)
{
	struct judge_station *st = judge_station_find(j, station_id);

	if (st == NULL)
		return GA_ERR_NOTFOUND;
	st->level = level;
	st->streak = 0;
	st->below_since_ms = -1;
	return GA_OK;
}

const struct device_window *device_judge_window(const struct device_judge *j, const char *code,
						const char *channel, const char *field)
{
	size_t di = judge_device_index(j, code);

	if (di == SIZE_MAX)
		return NULL;
	const struct judge_device *jd = &j->dev[di];
	const struct device *d = device_registry_at(j->reg, di);
	for (size_t s = 0; s < jd->nseries; s++) {
		const struct device_rule *sr = &d->rules[judge_series_rule(jd)[s]];
		if (strcmp(sr->channel, channel) == 0 && strcmp(sr->field, field) == 0)
			return judge_window(jd, s);
	}
	return NULL;
}

const struct device_judge_rule_state *device_judge_rule(const struct device_judge *j,
							const char *code, size_t i)
{
	size_t di = judge_device_index(j, code);
	return di != SIZE_MAX && i < j->dev[di].nrules ? &judge_rules(&j->dev[di])[i] : NULL;
}
