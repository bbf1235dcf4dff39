/* incident.h - grouping reports into incidents (spec §6) and keeping each
 * incident's figures and level current. Logic only; storage is store.h. */
#ifndef GA_INCIDENT_H
#define GA_INCIDENT_H

#include <stdint.h>

#include "classify.h"
#include "error.h"
#include "report.h"
#include "store.h"

struct incident_index;

struct incident_rules {
	int64_t hazard_point_window_ms; /* same hazard point and type: 72 h */
	int64_t near_window_ms;		/* same type nearby: 24 h */
	double near_radius_m;		/* 1000 m, geodesic, inclusive */
	char id_prefix[16];		/* "JS" */
	int utc_offset_min;		/* for the date in ids: +480 */
};

/* The spec's defaults: 72 h, 24 h, 1000 m, "JS", +08:00. */
void incident_rules_default(struct incident_rules *rules);

/* Inside an open store transaction: finds the incident the report joins
 * (its incident_id; else same hazard point and type within the window;
 * else the nearest of the same type within the radius and window) or
 * opens a new one; folds in the report's figures; recomputes the level
 * with t. On GA_OK *inc is the incident as stored now.
 * GA_ERR_NOTFOUND when the report names an incident_id that does not
 * exist (the caller rejects the report at /incident_id). */
ga_err incident_assign(struct store *s, const struct incident_rules *rules,
		       const struct thresholds *t, const struct report *r, int64_t received_ms,
		       struct incident *inc);

/* As incident_assign, the lookups answered by idx (the writer's index of
 * open incidents, incident_index.h) when it is sure, by the store when
 * not; idx is loaded when it is not, and told the incident's new state.
 * idx NULL: the store only. A failure here means the transaction must be
 * rolled back and idx discarded (incident_index_discard). */
ga_err incident_assign_indexed(struct store *s, struct incident_index *idx,
			       const struct incident_rules *rules, const struct thresholds *t,
			       const struct report *r, int64_t received_ms, struct incident *inc);

#endif
