/* device_judge.c - rule levels and the per-station hysteresis of
 * device_judge.h. */
#include "device_judge.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct judge_series {
	const char *channel, *field; /* borrowed from the registry's rules */
	struct device_window w;
};

struct judge_device {
	const struct device *d;
	size_t station;
	struct judge_series *series;
	size_t nseries;
	size_t *rule_series; /* [d->n_rules] */
	struct device_judge_rule_state *rules;
};

struct judge_station {
	const char *station_id; /* borrowed */
	enum device_level level;
	int streak;		      /* consecutive points above level */
	enum device_level streak_min; /* the lowest of them */
	int64_t below_since_ms;	      /* first point below level; -1 */
	enum device_level below_max;  /* the highest since then */
	int64_t latest_ms;	      /* the station's clock */
	size_t *devices, ndevices;
};

struct device_judge {
	const struct device_registry *reg;
	struct device_judge_options opt;
	struct judge_device *dev;
	size_t ndev;
	struct judge_station *st;
	size_t nst;
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

static struct judge_device *judge_device_find(const struct device_judge *j, const char *code)
{
	const struct device *d = device_registry_find(j->reg, code);

	if (d == NULL)
		return NULL;
	return &j->dev[d - device_registry_at(j->reg, 0)];
}

void device_judge_free(struct device_judge *j)
{
	if (j == NULL)
		return;
	for (size_t i = 0; i < j->ndev; i++) {
		free(j->dev[i].series);
		free(j->dev[i].rule_series);
		free(j->dev[i].rules);
	}
	for (size_t i = 0; i < j->nst; i++)
		free(j->st[i].devices);
	free(j->dev);
	free(j->st);
	free(j);
}

/* Sets up device i: one series per distinct (channel, field) its rules
 * name. */
static ga_err judge_device_init(struct judge_device *jd, const struct device *d)
{
	size_t distinct = 0;

	jd->d = d;
	if (d->n_rules == 0)
		return GA_OK; /* stored, not judged */
	/* exactly one window per distinct series: a window is 1 KiB */
	for (size_t r = 0; r < d->n_rules; r++) {
		size_t q;
		for (q = 0; q < r; q++)
			if (strcmp(d->rules[q].channel, d->rules[r].channel) == 0 &&
			    strcmp(d->rules[q].field, d->rules[r].field) == 0)
				break;
		distinct += q == r;
	}
	jd->series = calloc(distinct, sizeof(*jd->series));
	jd->rule_series = calloc(d->n_rules, sizeof(*jd->rule_series));
	jd->rules = calloc(d->n_rules, sizeof(*jd->rules));
	if (jd->series == NULL || jd->rule_series == NULL || jd->rules == NULL)
		return GA_ERR_NOMEM;
	for (size_t r = 0; r < d->n_rules; r++) {
		const struct device_rule *rule = &d->rules[r];
		size_t s;
		for (s = 0; s < jd->nseries; s++)
			if (strcmp(jd->series[s].channel, rule->channel) == 0 &&
			    strcmp(jd->series[s].field, rule->field) == 0)
				break;
		if (s == jd->nseries) {
			jd->series[s].channel = rule->channel;
			jd->series[s].field = rule->field;
			device_window_init(&jd->series[s].w);
			jd->nseries++;
		}
		jd->rule_series[r] = s;
	}
	return GA_OK;
}

ga_err device_judge_new(const struct device_registry *reg, const struct device_judge_options *opt,
			struct device_judge **out)
{
	struct device_judge *j = calloc(1, sizeof(*j));
	const char **ids = NULL;
	size_t n = device_registry_count(reg);
	ga_err rc = GA_ERR_NOMEM;

	if (j == NULL)
		goto out;
	j->reg = reg;
	j->opt = *opt;
	if (j->opt.confirm_points < 1)
		j->opt.confirm_points = 1;
	if ((j->dev = calloc(n + 1, sizeof(*j->dev))) == NULL ||
	    (ids = calloc(n + 1, sizeof(*ids))) == NULL ||
	    (j->st = calloc(n + 1, sizeof(*j->st))) == NULL)
		goto out;
	j->ndev = n;
	for (size_t i = 0; i < n; i++) {
		if (judge_device_init(&j->dev[i], device_registry_at(reg, i)) != GA_OK)
			goto out;
		ids[i] = j->dev[i].d->station_id;
	}
	qsort(ids, n, sizeof(*ids), judge_str_cmp);
	for (size_t i = 0; i < n; i++) {
		if (j->nst > 0 && strcmp(j->st[j->nst - 1].station_id, ids[i]) == 0)
			continue;
		struct judge_station *st = &j->st[j->nst++];
		st->station_id = ids[i];
		st->below_since_ms = -1;
		st->latest_ms = INT64_MIN;
	}
	for (size_t i = 0; i < n; i++) {
		struct judge_station *st = judge_station_find(j, j->dev[i].d->station_id);
		size_t *p = realloc(st->devices, (st->ndevices + 1) * sizeof(*p));
		if (p == NULL)
			goto out;
		st->devices = p;
		st->devices[st->ndevices++] = i;
		j->dev[i].station = (size_t)(st - j->st);
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
		have = m.have_value, v = m.sum_1h;
		break;
	case DEVICE_METRIC_SUM_24H:
		have = m.have_value, v = m.sum_24h;
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
		for (size_t r = 0; r < jd->d->n_rules; r++)
			if (*rule == SIZE_MAX || jd->rules[r].level > *lvl) {
				*lvl = jd->rules[r].level;
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
	struct judge_device *jd = judge_device_find(j, code);
	int64_t *times = NULL;
	bool *updated = NULL;
	size_t nt = 0;
	ga_err rc = GA_ERR_NOMEM;

	*nchanges = 0;
	if (jd == NULL)
		return GA_ERR_NOTFOUND;
	if (n == 0 || jd->nseries == 0)
		return GA_OK;
	if ((times = malloc(n * sizeof(*times))) == NULL ||
	    (updated = calloc(jd->nseries, sizeof(*updated))) == NULL)
		goto out;
	for (size_t i = 0; i < n; i++)
		times[i] = pts[i].t_ms;
	qsort(times, n, sizeof(*times), judge_time_cmp);
	for (size_t i = 0; i < n; i++)
		if (nt == 0 || times[nt - 1] != times[i])
			times[nt++] = times[i];

	struct judge_station *st = &j->st[jd->station];
	for (size_t ti = 0; ti < nt; ti++) {
		int64_t t = times[ti];
		bool any = false;
		for (size_t s = 0; s < jd->nseries; s++) {
			struct judge_series *se = &jd->series[s];
			double v, x, y;
			updated[s] = false;
			if (strcmp(se->field, "horizontal") == 0) {
				if (!judge_point(pts, n, se->channel, "gpsTotalX", t, &x) ||
				    !judge_point(pts, n, se->channel, "gpsTotalY", t, &y))
					continue;
				v = hypot(x, y);
			} else if (!judge_point(pts, n, se->channel, se->field, t, &v)) {
				continue;
			}
			if (device_window_add(&se->w, t, v) == DEVICE_WINDOW_ADDED)
				updated[s] = any = true;
		}
		if (!any)
			continue;
		for (size_t r = 0; r < jd->d->n_rules; r++)
			if (updated[jd->rule_series[r]])
				judge_rule(&jd->d->rules[r], &jd->series[jd->rule_series[r]].w,
					   &jd->rules[r]);
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
			const struct device_rule *rule = &j->dev[di].d->rules[ri];
			const struct device_judge_rule_state *rs = &j->dev[di].rules[ri];
			snprintf(c->device_code, sizeof(c->device_code), "%s",
				 j->dev[di].d->device_code);
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
	free(updated);
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
	const struct judge_device *jd = judge_device_find(j, code);

	for (size_t s = 0; jd != NULL && s < jd->nseries; s++)
		if (strcmp(jd->series[s].channel, channel) == 0 &&
		    strcmp(jd->series[s].field, field) == 0)
			return &jd->series[s].w;
	return NULL;
}

const struct device_judge_rule_state *device_judge_rule(const struct device_judge *j,
							const char *code, size_t i)
{
	const struct judge_device *jd = judge_device_find(j, code);
	return jd != NULL && i < jd->d->n_rules ? &jd->rules[i] : NULL;
}
