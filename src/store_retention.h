/* store_retention.h - deleting what [store] keep_reports_days no longer
 * keeps (issue 15, "At scale"): raw reports, rejected payloads and the
 * per-minute summary rows of /metrics, in small batches, each its own
 * short transaction on the writer's connection (ingest_writer.c runs them from
 * its tick, between batches of reports). Incidents, drafts, alerts,
 * deliveries, notices and the audit trail are never deleted here.
 *
 * What is kept of the old reports: each station's latest report of each
 * incident (by observed_at, then the later stored). Drafts and updates
 * are written from exactly those (workflow_sources_load reads each
 * station's latest report of the incident), so deleting the rest changes
 * no draft an open incident or a pending draft may still make; the
 * figures an incident was classified on are in incident_station_figures,
 * not in the reports. A report deleted here is no longer known as a
 * duplicate: a station re-sending it later is answered "accepted" again
 * (docs/operations.md, Retention). */
#ifndef GA_STORE_RETENTION_H
#define GA_STORE_RETENTION_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "store.h"

/* Most rows of each kind one step reads. */
#define STORE_RETENTION_LIMIT_MAX 1024

/* Where a pass over the old reports has got to: the reports are read in
 * (received_ms, id) order, and the ones kept (a station's latest of an
 * incident) are not read again in the same pass. Zero it to start a
 * pass. */
struct store_retention_cursor {
	int64_t received_ms;
	int64_t id;
};

struct store_retention_result {
	int64_t reports;    /* reports deleted */
	int64_t rejected;   /* rejected payloads deleted */
	int64_t counts;	    /* summary rows deleted */
	bool reports_done;  /* the pass reached before_ms: nothing more to read */
	bool rejected_done; /* fewer than limit rejected rows were left */
};

/* One batch, in a transaction of its own: the rejected payloads
 * received before before_ms (at most limit), the summary rows of minutes
 * before counts_before_ms, and, from cur on, up to limit reports received
 * before reports_before_ms (0: none), each deleted unless it is its
 * station's latest of its incident; cur is moved past the reports read. Not inside another
 * transaction. limit is 1..STORE_RETENTION_LIMIT_MAX. On error nothing is deleted and cur is
 * unchanged. */
ga_err store_retention_step(struct store *s, int64_t before_ms, int64_t reports_before_ms,
			    int64_t counts_before_ms, int limit, struct store_retention_cursor *cur,
			    struct store_retention_result *out);

#endif
