/* store_incident_recent.h - the open incidents most recently observed, for
 * the writer's in-memory index of open incidents (incident_index.h), read
 * when it is (re)built: at the first report after start and after a
 * rolled-back transaction. */
#ifndef GA_STORE_INCIDENT_RECENT_H
#define GA_STORE_INCIDENT_RECENT_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "store.h"

/* Called for each row: the incident as stored and its rowid (the order
 * the grouping lookups break ties by). Returns false to stop. */
typedef bool (*store_incident_recent_cb)(const struct incident *inc, int64_t rowid, void *arg);

/* Calls cb for each open incident with last_observed_ms >= since_ms,
 * newest last_observed_ms first (ties: higher rowid first), at most limit
 * rows. Reads only: in or outside a transaction. */
ga_err store_incident_recent_each(struct store *s, int64_t since_ms, int limit,
				  store_incident_recent_cb cb, void *arg);

#endif
