/* incident.c - grouping reports into incidents (spec §6).
 *
 * A report joins, in this order of preference:
 *  1. the incident it names (incident_id), which must exist and be open;
 *  2. the most recently updated open incident of the same hazard point
 *     and hazard type with a report observed within 72 h of it;
 *  3. the nearest open incident of the same hazard type whose first
 *     point lies within 1000 m (geodesic) and with a report observed
 *     within 24 h of it;
 * else it opens a new incident. Both windows and the radius are
 * inclusive: a report observed exactly 72 h after the last one joins,
 * 72 h + 1 ms does not. */
#include "incident.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "geo.h"
#include "incident_index.h"
#include "log.h"

#define HOUR_MS (60LL * 60 * 1000)
/* Metres per degree of latitude is at least 110574 (at the equator) on
 * CGCS2000's ellipsoid, and a degree of longitude at least that times
 * cos(lat): dividing by a smaller figure errs on the side of a larger
 * box. The geodesic distance then decides. */
#define INCIDENT_M_PER_DEG_MIN 110000.0
#define INCIDENT_PI 3.14159265358979323846

void incident_rules_default(struct incident_rules *rules)
{
	memset(rules, 0, sizeof(*rules));
	rules->hazard_point_window_ms = 72 * HOUR_MS;
	rules->near_window_ms = 24 * HOUR_MS;
	rules->near_radius_m = 1000.0;
	snprintf(rules->id_prefix, sizeof(rules->id_prefix), "%s", "JS");
	rules->utc_offset_min = 8 * 60;
}

struct incident_nearest {
	double lon, lat, radius_m;
	double best_m;
	bool found;
	struct incident best;
};

static bool incident_near_cb(const struct incident *inc, void *arg)
{
	struct incident_nearest *n = arg;

	if (!isfinite(inc->lon) || !isfinite(inc->lat))
		return true;
	double d = geo_distance_m(n->lon, n->lat, inc->lon, inc->lat);
	/* Strictly nearer wins: on a tie the first in id order stays. */
	if (isfinite(d) && d <= n->radius_m && (!n->found || d < n->best_m)) {
		n->best_m = d;
		n->best = *inc;
		n->found = true;
	}
	return true;
}

/* The nearest open incident of the report's type within the radius and
 * window, from the index when it is sure, else from the store.
 * GA_ERR_NOTFOUND if none. */
static ga_err incident_find_near(struct store *s, struct incident_index *idx,
				 const struct incident_rules *rules, const struct report *r,
				 struct incident *out)
{
	struct incident_nearest n = {
	    .lon = r->lon, .lat = r->lat, .radius_m = rules->near_radius_m};
	double dlat = rules->near_radius_m / INCIDENT_M_PER_DEG_MIN;
	double min_lon = -180.0, max_lon = 180.0;
	/* The widest longitude span is at the box's edge farthest from the
	 * equator. */
	double edge = fabs(r->lat) + dlat;
	ga_err e;

	if (edge < 89.0) {
		double dlon = dlat / cos(edge * INCIDENT_PI / 180.0);
		if (r->lon - dlon > -180.0 && r->lon + dlon < 180.0) {
			min_lon = r->lon - dlon;
			max_lon = r->lon + dlon;
		}
		/* else: crosses the antimeridian; scan every longitude. */
	}
	if (incident_index_near(idx, r->hazard_type, r->observed_at_ms, rules->near_window_ms,
				min_lon, max_lon, r->lat - dlat, r->lat + dlat, incident_near_cb,
				&n) == INCIDENT_INDEX_UNSURE) {
		/* The store's rows must be current (incident_index_defer). */
		if ((e = incident_index_flush(idx, s)) != GA_OK)
			return e;
		e = store_incident_near(s, r->hazard_type, r->observed_at_ms, rules->near_window_ms,
					min_lon, max_lon, r->lat - dlat, r->lat + dlat,
					incident_near_cb, &n);
		if (e != GA_OK)
			return e;
	}
	if (!n.found)
		return GA_ERR_NOTFOUND;
	*out = n.best;
	return GA_OK;
}

/* Finds the incident r joins: GA_OK with *inc filled, GA_ERR_NOTFOUND
 * when it opens a new one (*named set when it named an unknown id). */
static ga_err incident_find(struct store *s, struct incident_index *idx,
			    const struct incident_rules *rules, const struct report *r,
			    struct incident *inc, bool *named)
{
	ga_err e;

	*named = false;
	if (r->incident_id != NULL && r->incident_id[0] != '\0') {
		*named = true;
		if ((e = incident_index_flush(idx, s)) != GA_OK)
			return e;
		e = store_incident_get(s, r->incident_id, inc);
		if (e == GA_OK && !inc->open)
			e = GA_ERR_NOTFOUND;
		return e;
	}
	if (r->hazard_point_id[0] != '\0') {
		switch (incident_index_by_hazard_point(idx, r->hazard_point_id, r->hazard_type,
						       r->observed_at_ms,
						       rules->hazard_point_window_ms, inc)) {
		case INCIDENT_INDEX_FOUND:
			return GA_OK;
		case INCIDENT_INDEX_NONE:
			break;
		case INCIDENT_INDEX_UNSURE:
			if ((e = incident_index_flush(idx, s)) != GA_OK)
				return e;
			e = store_incident_by_hazard_point(s, r->hazard_point_id, r->hazard_type,
							   r->observed_at_ms,
							   rules->hazard_point_window_ms, inc);
			if (e != GA_ERR_NOTFOUND)
				return e;
			break;
		}
	}
	if (r->has_point && isfinite(r->lon) && isfinite(r->lat))
		return incident_find_near(s, idx, rules, r, inc);
	return GA_ERR_NOTFOUND;
}

static ga_err incident_open(struct store *s, const struct incident_rules *rules,
			    const struct report *r, int64_t received_ms, struct incident *inc)
{
	memset(inc, 0, sizeof(*inc));
	inc->hazard_type = r->hazard_type;
	snprintf(inc->hazard_point_id, sizeof(inc->hazard_point_id), "%s", r->hazard_point_id);
	if (r->has_point) {
		inc->lon = r->lon;
		inc->lat = r->lat;
	} else {
		inc->lon = NAN;
		inc->lat = NAN;
	}
	snprintf(inc->admin_code, sizeof(inc->admin_code), "%s", r->admin_code);
	inc->first_observed_ms = r->observed_at_ms;
	inc->last_observed_ms = r->observed_at_ms;
	inc->created_ms = received_ms;
	inc->updated_ms = received_ms;
	inc->level = LEVEL_SMALL;
	inc->open = true;
	return store_incident_insert(s, inc, rules->id_prefix, rules->utc_offset_min);
}

ga_err incident_assign(struct store *s, const struct incident_rules *rules,
		       const struct thresholds *t, const struct report *r, int64_t received_ms,
		       struct incident *inc)
{
	return incident_assign_indexed(s, NULL, rules, t, r, received_ms, inc);
}

ga_err incident_assign_indexed(struct store *s, struct incident_index *idx,
			       const struct incident_rules *rules, const struct thresholds *t,
			       const struct report *r, int64_t received_ms, struct incident *inc)
{
	struct incident cur;
	bool named = false;
	ga_err e;

	if (s == NULL || rules == NULL || t == NULL || r == NULL || inc == NULL ||
	    r->station_id == NULL)
		return GA_ERR_INVAL;

	if (idx != NULL && (e = incident_index_ready(idx, s, received_ms)) != GA_OK)
		return e;
	e = incident_find(s, idx, rules, r, &cur, &named);
	int prev_level = e == GA_OK ? (int)cur.level : -1;
	bool created = false;
	if (e == GA_ERR_NOTFOUND && !named) {
		e = incident_open(s, rules, r, received_ms, &cur);
		created = e == GA_OK;
		if (created) /* the index sees its station figures from the first */
			incident_index_put(idx, &cur, true, true);
	}
	if (e != GA_OK)
		return e;
	cur.prev_level = prev_level;

	/* The figures: folded by the index when it knows the incident's
	 * station figures (the store then only stores the station's), else
	 * by the store. */
	struct figures folded;
	if (incident_index_fold_figures(idx, cur.id, r->station_id, r->observed_at_ms, &r->figures,
					&folded)) {
		e = store_incident_fold_figures(s, cur.id, r->station_id, r->observed_at_ms,
						&r->figures, NULL);
		cur.figures = folded;
	} else {
		e = store_incident_fold_figures(s, cur.id, r->station_id, r->observed_at_ms,
						&r->figures, &cur.figures);
	}
	if (e != GA_OK)
		return e;
	if (r->kind == KIND_DISASTER)
		cur.has_disaster = true;
	if (r->observed_at_ms < cur.first_observed_ms)
		cur.first_observed_ms = r->observed_at_ms;
	if (r->observed_at_ms > cur.last_observed_ms)
		cur.last_observed_ms = r->observed_at_ms;
	cur.nreports++;
	cur.level = classify_figures_level(t, cur.has_disaster, &cur.figures);
	cur.updated_ms = received_ms;
	/* An incident the index holds is written once per group, at its
	 * flush; any other now. */
	bool at_last = r->observed_at_ms == cur.last_observed_ms;
	if (!incident_index_defer(idx, &cur, at_last)) {
		if ((e = store_incident_update(s, &cur)) != GA_OK)
			return e;
		incident_index_put(idx, &cur, created, at_last);
	}
	*inc = cur;
	return GA_OK;
}
