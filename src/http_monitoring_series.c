/* http_monitoring_series.c - one device's drawn lines for the monitoring
 * detail (http_monitoring_series.h): one pass over its stored points,
 * each cut to HTTP_MON_SERIES_POINTS as it streams by (bounded memory
 * whatever the device sent). */
#include "http_monitoring_series.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device_judge.h"
#include "device_window.h"
#include "timeutil.h"

/* The span the window needs before the first drawn point to give its
 * 24 h metrics there (device_window.h: 25 hourly buckets). */
#define HTTP_MON_WARMUP_MS ((int64_t)DEVICE_WINDOW_BUCKETS * DEVICE_WINDOW_BUCKET_S * 1000)

struct http_mon_pt {
	int64_t t;
	double v;
};

struct http_mon_bucket {
	struct http_mon_pt lo, hi;
	bool used;
};

/* A line as it streams by, in time order: every point while there are
 * at most HTTP_MON_SERIES_POINTS; each slice's lowest and highest
 * always (for when there are more), and the latest. */
struct http_mon_ds {
	int64_t n;
	struct http_mon_pt raw[HTTP_MON_SERIES_POINTS];
	struct http_mon_bucket b[HTTP_MON_BUCKETS];
	struct http_mon_pt last;
};

static void http_mon_ds_add(struct http_mon_ds *d, const struct http_mon_window *w, int64_t t,
			    double v)
{
	struct http_mon_pt p = {t, v};
	int64_t span = w->now_ms - w->since_ms;
	int64_t k = span > 0 ? (t - w->since_ms) * HTTP_MON_BUCKETS / span : 0;
	if (k < 0)
		k = 0;
	if (k >= HTTP_MON_BUCKETS)
		k = HTTP_MON_BUCKETS - 1; /* a device clock a little ahead */
	struct http_mon_bucket *b = &d->b[k];
	if (!b->used) {
		b->lo = b->hi = p;
		b->used = true;
	} else if (v < b->lo.v) {
		b->lo = p;
	} else if (v > b->hi.v) {
		b->hi = p;
	}
	if (d->n < HTTP_MON_SERIES_POINTS)
		d->raw[d->n] = p;
	d->n++;
	d->last = p;
}

static bool http_mon_append(json_t *a, const struct http_mon_pt *p, int off)
{
	char t[TIME_TEXT_MAX];
	time_format_rfc3339(p->t, off, t, sizeof(t));
	return json_array_append_new(a, json_pack("[s, f]", t, p->v)) == 0;
}

/* The line's points (a new reference; NULL on ENOMEM). */
static json_t *http_mon_ds_points(const struct http_mon_ds *d, int off)
{
	json_t *a = json_array();
	bool ok = a != NULL;

	if (d->n <= HTTP_MON_SERIES_POINTS) {
		for (int64_t i = 0; ok && i < d->n; i++)
			ok = http_mon_append(a, &d->raw[i], off);
	} else {
		int64_t at = INT64_MIN; /* the time of the last point written */
		for (int k = 0; ok && k < HTTP_MON_BUCKETS; k++) {
			const struct http_mon_bucket *b = &d->b[k];
			if (!b->used)
				continue;
			const struct http_mon_pt *p = &b->lo, *q = &b->hi;
			if (p->t > q->t)
				p = &b->hi, q = &b->lo;
			ok = http_mon_append(a, p, off);
			if (ok && q->t != p->t)
				ok = http_mon_append(a, q, off);
			at = q->t;
		}
		if (ok && d->last.t != at)
			ok = http_mon_append(a, &d->last, off);
	}
	if (!ok) {
		json_decref(a);
		a = NULL;
	}
	return a;
}

json_t *http_mon_thresholds(const struct device_rule *rule)
{
	json_t *th = json_object();
	for (int l = DEVICE_LEVEL_BLUE; th && l < DEVICE_LEVEL_COUNT; l++)
		if (rule->has[l] && json_object_set_new(th, device_level_name((enum device_level)l),
							json_real(rule->threshold[l])) != 0) {
			json_decref(th);
			th = NULL;
		}
	return th;
}

/* A channel field's stored points. */
struct http_mon_line {
	char channel[DEVICE_CHANNEL_MAX + 1], field[DEVICE_FIELD_MAX + 1];
	struct http_mon_ds ds;
};

/* A rule's metric, replayed. */
struct http_mon_rule {
	const struct device_rule *r;
	bool horizontal;
	struct device_window *w;       /* keeping what the rule's metric needs */
	struct device_horizontal pair; /* horizontal: X and Y paired by time */
	bool have;		       /* latest_* set */
	double latest_v;
	int64_t latest_t;
	enum device_level latest_level;
	struct http_mon_ds ds;
};

struct http_mon_pass {
	const struct http_mon_window *win;
	struct http_mon_line *lines[HTTP_MON_LINES_MAX];
	size_t nlines, hint;
	struct http_mon_rule *rules;
	size_t nrules;
	int64_t rows;
	bool truncated, nomem;
};

/* The rule's metric over its window, and the level it gives, as the
 * judge has it; false also for a metric that is not finite. */
static bool http_mon_metric(const struct device_rule *rule, const struct device_window *w,
			    double *value, enum device_level *level)
{
	return device_judge_metric(rule, w, value, level) && isfinite(*value);
}

static void http_mon_rule_feed(struct http_mon_pass *p, struct http_mon_rule *ru, int64_t t,
			       double v)
{
	double mv;
	enum device_level lv;
	if (device_window_add(ru->w, t, v) != DEVICE_WINDOW_ADDED || t < p->win->since_ms ||
	    !http_mon_metric(ru->r, ru->w, &mv, &lv))
		return;
	http_mon_ds_add(&ru->ds, p->win, t, mv);
	ru->have = true;
	ru->latest_t = t;
	ru->latest_v = mv;
	ru->latest_level = lv;
}

static struct http_mon_line *http_mon_line_of(struct http_mon_pass *p, const char *channel,
					      const char *field)
{
	struct http_mon_line *l;
	if (p->hint < p->nlines && strcmp(p->lines[p->hint]->channel, channel) == 0 &&
	    strcmp(p->lines[p->hint]->field, field) == 0)
		return p->lines[p->hint];
	for (size_t i = 0; i < p->nlines; i++)
		if (strcmp(p->lines[i]->channel, channel) == 0 &&
		    strcmp(p->lines[i]->field, field) == 0)
			return p->lines[p->hint = i];
	if (p->nlines == HTTP_MON_LINES_MAX) {
		p->truncated = true;
		return NULL;
	}
	if ((l = calloc(1, sizeof(*l))) == NULL) {
		p->nomem = true;
		return NULL;
	}
	snprintf(l->channel, sizeof(l->channel), "%s", channel);
	snprintf(l->field, sizeof(l->field), "%s", field);
	p->hint = p->nlines;
	return p->lines[p->nlines++] = l;
}

static bool http_mon_row(const char *channel, const char *field, int64_t t_ms, double value,
			 void *arg)
{
	struct http_mon_pass *p = arg;
	if (p->rows >= HTTP_MON_ROWS_MAX) {
		p->truncated = true; /* points that came while reading */
		return false;
	}
	p->rows++;
	if (t_ms >= p->win->since_ms) {
		struct http_mon_line *l = http_mon_line_of(p, channel, field);
		if (l)
			http_mon_ds_add(&l->ds, p->win, t_ms, value);
		else if (p->nomem)
			return false;
	}
	for (size_t i = 0; i < p->nrules; i++) {
		struct http_mon_rule *ru = &p->rules[i];
		if (strcmp(ru->r->channel, channel) != 0)
			continue;
		if (!ru->horizontal) {
			if (strcmp(ru->r->field, field) == 0)
				http_mon_rule_feed(p, ru, t_ms, value);
			continue;
		}
		double h;
		if (device_horizontal_add(&ru->pair, field, t_ms, value, &h))
			http_mon_rule_feed(p, ru, t_ms, h);
	}
	return true;
}

static json_t *http_mon_line_json(const char *code, const char *channel, const char *field,
				  const struct http_mon_ds *ds, int off)
{
	return json_pack("{s:s, s:s, s:s, s:o, s:I, s:b}", "device_code", code, "channel", channel,
			 "field", field, "points", http_mon_ds_points(ds, off), "points_total",
			 (json_int_t)ds->n, "downsampled", ds->n > HTTP_MON_SERIES_POINTS);
}

static json_t *http_mon_rule_json(const char *code, const struct http_mon_rule *ru, int off)
{
	const struct device_rule *r = ru->r;
	json_t *o = http_mon_line_json(code, r->channel, r->field, &ru->ds, off), *latest = NULL;
	char t[TIME_TEXT_MAX];

	if (!o)
		return NULL;
	if (ru->have) {
		time_format_rfc3339(ru->latest_t, off, t, sizeof(t));
		const char *lv = device_level_name(ru->latest_level);
		latest = json_pack("{s:s, s:f, s:o}", "at", t, "value", ru->latest_v, "level",
				   lv ? json_string(lv) : json_null());
	}
	if (json_object_set_new(o, "metric", json_string(device_metric_name(r->metric))) != 0 ||
	    json_object_set_new(o, "thresholds", http_mon_thresholds(r)) != 0 ||
	    json_object_set_new(o, "latest", ru->have ? latest : json_null()) != 0 ||
	    (r->metric == DEVICE_METRIC_TANGENT_ANGLE &&
	     json_object_set_new(o, "v_ref_per_day", json_real(r->v_ref_per_day)) != 0)) {
		json_decref(o);
		return NULL;
	}
	return o;
}

ga_err http_mon_device_series(struct store_device *sd, const struct device *dev,
			      const struct http_mon_window *win, json_t *series, json_t *judged,
			      bool *truncated)
{
	struct http_mon_pass p = {.win = win};
	int64_t from = win->since_ms - (dev->n_rules ? HTTP_MON_WARMUP_MS : 0), start;
	ga_err e = GA_ERR_NOMEM;

	if (dev->n_rules && (p.rules = calloc(dev->n_rules, sizeof(*p.rules))) == NULL)
		goto out;
	p.nrules = dev->n_rules;
	for (size_t i = 0; i < p.nrules; i++) {
		p.rules[i].r = &dev->rules[i];
		p.rules[i].horizontal = strcmp(dev->rules[i].field, "horizontal") == 0;
		p.rules[i].pair = (struct device_horizontal)DEVICE_HORIZONTAL_INIT;
		p.rules[i].w = device_window_new(device_judge_keep(dev->rules[i].metric));
		if (p.rules[i].w == NULL)
			goto out;
	}
	/* a device that sent more than the cap: its newest points */
	e = store_device_points_start(sd, dev->device_code, from, HTTP_MON_ROWS_MAX, &start);
	if (e == GA_OK) {
		from = start;
		p.truncated = true;
	} else if (e != GA_ERR_NOTFOUND) {
		goto out;
	}
	if ((e = store_device_points_since(sd, dev->device_code, from, http_mon_row, &p)) != GA_OK)
		goto out;
	e = GA_ERR_NOMEM;
	if (p.nomem)
		goto out;
	for (size_t i = 0; i < p.nlines; i++)
		if (json_array_append_new(series,
					  http_mon_line_json(dev->device_code, p.lines[i]->channel,
							     p.lines[i]->field, &p.lines[i]->ds,
							     win->utc_offset_min)) != 0)
			goto out;
	for (size_t i = 0; i < p.nrules; i++)
		if (json_array_append_new(judged, http_mon_rule_json(dev->device_code, &p.rules[i],
								     win->utc_offset_min)) != 0)
			goto out;
	if (p.truncated)
		*truncated = true;
	e = GA_OK;
out:
	for (size_t i = 0; i < p.nlines; i++)
		free(p.lines[i]);
	for (size_t i = 0; i < p.nrules; i++)
		device_window_free(p.rules[i].w);
	free(p.rules);
	return e;
}
