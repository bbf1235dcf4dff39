/* store_incident_recent.h - what the writer's in-memory index of open
 * incidents (incident_index.h) reads from the store: the open incidents
 * most recently observed, when it is (re)built (at the first report after
 * start, after a rolled-back transaction, after another writer changed
 * incidents); and the incidents' generation, which tells it whether
 * anyone else changed incidents since its own last commit. */
#ifndef GA_STORE_INCIDENT_RECENT_H
#define GA_STORE_INCIDENT_RECENT_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "store.h"

/* One row of store_incident_recent_each. */
struct store_incident_recent {
	/* The order the grouping lookups break ties of updated_ms by on
	 * SQLite (rowid DESC); -1 on PostgreSQL, which breaks them by
	 * created_ms DESC, id DESC (store_sql_pg.c). */
	int64_t rowid;
	/* A report observed at last_observed_ms is stored: the "a report in
	 * the window" test is certain from last_observed_ms. Not so for an
	 * incident a monitoring device opened or moved on (workflow_warning.c:
	 * nreports 0, or last_observed_ms a device reading's time). */
	bool last_is_report;
	/* An alert draft names the incident (alert_drafts.alert_id). */
	bool has_draft;
};

/* Called for each row: the incident as stored and what else the index
 * needs. Returns false to stop. */
typedef bool (*store_incident_recent_cb)(const struct incident *inc,
					 const struct store_incident_recent *row, void *arg);

/* Calls cb for each open incident with last_observed_ms >= since_ms,
 * newest last_observed_ms first (ties: in the store's tie order), at
 * most limit rows. Reads only: in or outside a transaction. */
ga_err store_incident_recent_each(struct store *s, int64_t since_ms, int limit,
				  store_incident_recent_cb cb, void *arg);

/* Reads the incidents' generation into *gen and calls cb for each
 * incident, open or not, written by a transaction whose generation is
 * past since_gen (>= 0; each row keeps the generation of the transaction
 * that wrote it last: incidents.gen): what others changed since the
 * writer's last commit, whose generation was since_gen. One statement
 * (one round trip on PostgreSQL) whether anything changed or not: inside
 * the writer's transaction after its lock, it stands for
 * store_incident_gen_get too. */
ga_err store_incident_changed_each(struct store *s, int64_t since_gen, int64_t *gen,
				   store_incident_recent_cb cb, void *arg);

/* Calls cb for each station figure (incident_station_figures) of the
 * incidents store_incident_changed_each(since_gen) read, gen the
 * generation it answered: the station's latest value of figure f in the
 * incident, observed at observed_ms. Returns false to stop. */
typedef bool (*store_incident_figure_cb)(const char *incident_id, const char *station_id,
					 enum figure f, int64_t observed_ms, double value,
					 void *arg);
ga_err store_incident_figures_changed_each(struct store *s, int64_t since_gen, int64_t gen,
					   store_incident_figure_cb cb, void *arg);

/* The incidents' generation: a count bumped once by every transaction
 * that inserts or updates incidents (store_incident_insert,
 * store_incident_update: the first such write of the transaction bumps
 * it; a write outside a transaction bumps it itself), on any instance. Read inside the writer's
 * transaction after its lock (store_begin): on PostgreSQL no other transaction that writes
 * incidents can commit between this read and the writer's commit, since
 * every one takes the same lock. 0 before the first bump. */
ga_err store_incident_gen_get(struct store *s, int64_t *gen);

/* The generation the open transaction set by its first write of an
 * incident; -1 when it has written none (yet). */
int64_t store_incident_gen_txn(const struct store *s);

/* How many incidents this connection has inserted or updated, ever: the
 * writer compares it around a step that is not incident.c's, to know
 * whether incidents changed behind its index (a device's warning,
 * workflow_warning.c). */
uint64_t store_incident_writes(const struct store *s);

#endif
