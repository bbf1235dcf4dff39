/* store_stats.h - counts read from the database at the moment they are
 * asked for: the gauges of /metrics and the delivery backlog of /healthz
 * (spec §8, issue 6 "Observability"). Each is a read of its own outside
 * any transaction, on the caller's connection (the HTTP server's: never
 * the writer's, so a scrape never holds up a report). Times are Unix ms.
 *
 * Each reads a bounded number of rows whatever the data stored (issue
 * 15): summary rows (delivery_counts, kept by triggers; report_counts,
 * written by the writer with the reports) or open items through their
 * indexes. A new gauge must keep it so (test_store_stats.c,
 * test_scrape_does_not_read_the_data). */
#ifndef GA_STORE_STATS_H
#define GA_STORE_STATS_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "hazard.h"
#include "store.h"

/* Delivery states as the ledger names them (store.h, deliveries). */
enum store_stats_state {
	STORE_STATS_PENDING,
	STORE_STATS_SENDING,
	STORE_STATS_DELIVERED,
	STORE_STATS_FAILED,
	STORE_STATS_STATE_COUNT
};

/* "pending", "sending", "delivered", "failed"; -1 for any other name. */
const char *store_stats_state_name(enum store_stats_state st);
int store_stats_state_from_name(const char *name);

/* Open incidents that changed (took a report) at or after since_ms, by
 * level: n[level] for every level, 0 when none. */
ga_err store_stats_incidents(struct store *s, int64_t since_ms, int64_t n[LEVEL_COUNT]);

/* Drafts waiting for officers (state pending, below_level or not). */
ga_err store_stats_drafts_pending(struct store *s, int64_t *n);

/* Calls cb once per (channel, state) that has rows, by channel then
 * state, with the row count; channel is borrowed for the call; cb
 * returns false to stop. A state the store does not know is skipped. */
typedef bool (*store_stats_delivery_cb)(const char *channel, enum store_stats_state st, int64_t n,
					void *arg);
ga_err store_stats_deliveries(struct store *s, store_stats_delivery_cb cb, void *arg);

/* What has not gone out yet. */
struct store_backlog {
	int64_t unfinished;	   /* rows pending or sending */
	int64_t overdue;	   /* of those, made before overdue_before_ms */
	int64_t oldest_created_ms; /* of the unfinished rows; 0 when none */
	int64_t failed_recent;	   /* failed rows made at or after failed_since_ms */
};
ga_err store_stats_backlog(struct store *s, int64_t overdue_before_ms, int64_t failed_since_ms,
			   struct store_backlog *out);

/* Accepted reports flagged old (report.h, REPORT_WARN_OLD: observed_at
 * more than [stations] max_observed_age before they arrived) that
 * arrived in the minute of since_ms or later: read from per-minute
 * summary rows (store_stats_old_observed_add), at most a day's worth of
 * rows whatever the number of reports. max_age_ms is not consulted: the
 * writer flagged each report against the threshold in force when it
 * arrived (kept so that callers need not change). */
ga_err store_stats_old_reports(struct store *s, int64_t since_ms, int64_t max_age_ms, int64_t *n);

/* Inside the transaction that stores them: n accepted reports flagged
 * old arrived at received_ms (counted in its minute). */
ga_err store_stats_old_observed_add(struct store *s, int64_t received_ms, int64_t n);

/* The width of a summary row of report counts. */
#define STORE_STATS_BUCKET_MS 60000

#endif
