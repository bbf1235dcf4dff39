/* incident_index.h - the writer thread's in-memory index of open
 * incidents, so that grouping a report (incident.c) needs no SQL lookup.
 *
 * What it answers: the two grouping lookups of store.h,
 * store_incident_by_hazard_point and store_incident_near, with exactly
 * their rules (open, same type, the span and the "a report observed
 * within the window" test, the lon/lat box, the order). It answers only
 * when it is sure; otherwise it says INCIDENT_INDEX_UNSURE and the caller
 * asks the store. It is never sure:
 *  - before it is loaded (incident_index_ready) or after a discard;
 *  - for a window starting before its horizon: every open incident with
 *    last_observed_ms >= horizon is in the index, older ones may not be
 *    (not loaded, or evicted past the cap);
 *  - when a candidate's window test needs the store: "a report observed
 *    within [t - w, t + w]" is certain from the index only when
 *    last_observed_ms lies in it and a report observed at
 *    last_observed_ms is known to be stored (the latest report of an
 *    incident is never deleted by retention; earlier ones may be:
 *    store_retention.h). An incident a monitoring device opened has no
 *    report (nreports 0) and is never a candidate; one whose
 *    last_observed_ms is a device reading's time (workflow_warning.c) is
 *    left to the store;
 *  - on a tie of updated_ms the store breaks by rowid (SQLite) with an
 *    entry whose rowid it does not know, or by created_ms and id
 *    (PostgreSQL) with an entry of the same created_ms.
 *
 * What keeps it true. Its one user is the writer thread, which owns it
 * (ingest_writer.c, ingest_commit.c); it is used only inside the writer's
 * transactions, which hold the store's write lock (SQLite's BEGIN
 * IMMEDIATE; PostgreSQL's transaction lock, store_pg.c), and:
 *  1. every change to an open incident made by a report's grouping in the
 *     writer's transaction is put here (incident_index_put) after it is
 *     written (incident.c);
 *  2. any other write of incidents in the writer's transaction (a
 *     device's warning, workflow_warning.c) discards it: the writer sees
 *     the store's count of incident writes move (store_incident_writes,
 *     ingest_commit_item) and it is rebuilt, inside that transaction, at
 *     the next report;
 *  3. a rolled-back transaction or a failed commit discards it: it may
 *     hold incidents, or states, that were never committed;
 *  4. writes of incidents by anyone else — another instance on a shared
 *     PostgreSQL, or another transaction on the writer's own connection
 *     (its duties) — are seen through the incidents' generation
 *     (store_incident_recent.h): every transaction that writes incidents
 *     bumps it once and stamps the rows it writes with the new value
 *     (store_incident.c, whoever calls it). The writer reads it after its
 *     lock at the start of each group; when it moved since the writer's
 *     own last commit, the incidents stamped past that commit's value are
 *     read back and replace their entries, with their station figures
 *     (incident_index_refresh: the generation and the incidents in one
 *     statement, their figures in a second when any changed). Under the lock no other
 *     transaction that writes incidents commits until the writer's does,
 *     so the index stays the store's for the whole group.
 * The next incident_index_ready after a discard rebuilds it from the
 * store. Not thread-safe. */
#ifndef GA_INCIDENT_INDEX_H
#define GA_INCIDENT_INDEX_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "store.h"

/* Most incidents held. Past it, the entries observed longest ago are
 * evicted (an eighth at a time) and the horizon moves past them: lookups
 * of windows before it go to the store. The open incidents of a 72 h
 * window are expected in the hundreds. An entry is ~1.8 KiB with its
 * station figures; the array is calloc'd, so only the slots used are
 * ever touched (resident). */
#define INCIDENT_INDEX_CAP 4096
/* At a (re)build, open incidents observed up to this long before the
 * time given are loaded: windows starting earlier go to the store. Twice
 * the longest grouping window of the spec (72 h) plus a day. */
#define INCIDENT_INDEX_LOAD_SPAN_MS (7LL * 24 * 3600 * 1000)
/* The spatial grid's cell, in degrees of latitude and longitude (~1.1 km
 * north-south; the default 1000 m radius spans 2-3 cells each way). */
#define INCIDENT_INDEX_CELL_DEG 0.01
/* The per-station figures kept for an incident the index saw created (the
 * station's latest value of each figure, as incident_station_figures
 * holds them), so its figures are folded without reading the store. Past
 * this many stations, or for an incident loaded from the store, the store
 * folds them. */
#define INCIDENT_INDEX_STATIONS 8
/* A "near" box covering more cells than this is answered by a scan of
 * every entry instead (a box across the antimeridian, a huge radius). */
#define INCIDENT_INDEX_CELLS_MAX 64

enum incident_index_answer {
	INCIDENT_INDEX_FOUND,  /* sure: the answer is given */
	INCIDENT_INDEX_NONE,   /* sure: there is none */
	INCIDENT_INDEX_UNSURE, /* ask the store */
};

struct incident_index;

/* cap entries at most (1 .. INCIDENT_INDEX_CAP; 0 for the default). */
ga_err incident_index_new(int cap, struct incident_index **out);
void incident_index_free(struct incident_index *x);

/* Loads the index from s when it is not loaded: the open incidents with
 * last_observed_ms >= now_ms - INCIDENT_INDEX_LOAD_SPAN_MS, newest first,
 * at most the cap. Inside the writer's transaction (or outside one). A
 * failure leaves it unloaded (lookups UNSURE). */
ga_err incident_index_ready(struct incident_index *x, struct store *s, int64_t now_ms);

/* Takes in what other writers changed: every incident written by a
 * transaction of generation past since_gen (>= 0; the generation the index
 * was true at), and reads the incidents' generation now into *gen
 * (store_incident_changed_each: one statement when nothing changed, two
 * when something did). Inside the writer's transaction, after its lock.
 * Not loaded: only *gen is read. A failure leaves it unloaded (and *gen
 * unknown). */
ga_err incident_index_refresh(struct incident_index *x, struct store *s, int64_t since_gen,
			      int64_t *gen);

/* A report's grouping changed inc (open, in the index, its type, hazard
 * point and first point as the index has them): the index takes its new
 * state and writes it to the store later, at incident_index_flush, so
 * that an incident joined by several reports of one group is updated
 * once (report_at_last as for incident_index_put). false: not taken; the
 * caller writes it (store_incident_update) and puts it. Until the flush
 * the store's row is behind: whoever reads incidents from the store in
 * the transaction flushes first (incident.c before its store lookups,
 * ingest_commit.c before a device's or a risk warning's item, the writer
 * before its commit). */
bool incident_index_defer(struct incident_index *x, const struct incident *inc,
			  bool report_at_last);

/* Writes the deferred updates (store_incident_update) to s, inside the
 * transaction that made them. A failure (the transaction must be rolled
 * back) also reports one of a flush the index made itself before an
 * eviction. */
ga_err incident_index_flush(struct incident_index *x, struct store *s);

/* Forgets everything: the next incident_index_ready reloads. For a
 * rolled-back transaction or a failed commit. */
void incident_index_discard(struct incident_index *x);

/* inc was just written to the store by a report's grouping (inserted
 * when created, else updated): the index takes its new state.
 * report_at_last: that report was observed at inc->last_observed_ms (else
 * what the index knew of the report at last_observed_ms stays). An
 * incident not open is removed. One that is not in the index and not
 * created is added when its last_observed_ms is past the horizon. May
 * evict (see the cap). */
void incident_index_put(struct incident_index *x, const struct incident *inc, bool created,
			bool report_at_last);

/* store_incident_fold_figures from the index: station's figures f
 * observed at observed_ms are folded into incident_id's per-station
 * figures (the latest observation of each figure wins, an equal time
 * too), and *out is the max over its stations. false (nothing changed)
 * when the index does not know all of the incident's station figures: the
 * store must fold them. On true the caller must still store the
 * station's figures (store_incident_fold_figures with out NULL). */
bool incident_index_fold_figures(struct incident_index *x, const char *incident_id,
				 const char *station_id, int64_t observed_ms,
				 const struct figures *f, struct figures *out);

/* Whether incident_id is known to have no alert draft: it was created
 * (incident_index_put, created) while the index held it, and no draft has
 * been asked about for it since. Drafts of an incident the index holds
 * are made only by the drafting of its reports (workflow.c, in a
 * transaction that writes the incident: by this writer, which calls
 * incident_index_draft_maybe first, or by another, which bumps the
 * incidents' generation); a cancel needs a published draft, and a
 * device's warnings draft for incidents a device opened, never created
 * here. false when not known. */
bool incident_index_no_draft(const struct incident_index *x, const char *incident_id);

/* A draft of incident_id may be made now (workflow_incident_changed is
 * called): it is no longer known to have none. */
void incident_index_draft_maybe(struct incident_index *x, const char *incident_id);

/* store_incident_by_hazard_point from the index: FOUND with *out filled,
 * NONE, or UNSURE. */
enum incident_index_answer incident_index_by_hazard_point(const struct incident_index *x,
							  const char *hazard_point_id,
							  enum hazard_type type, int64_t t_ms,
							  int64_t window_ms, struct incident *out);

/* store_incident_near from the index: when sure, calls cb for each match
 * in id order (as the store does) and returns FOUND (some matched) or
 * NONE; when UNSURE, cb is not called. */
enum incident_index_answer incident_index_near(struct incident_index *x, enum hazard_type type,
					       int64_t t_ms, int64_t window_ms, double min_lon,
					       double max_lon, double min_lat, double max_lat,
					       store_incident_cb cb, void *arg);

/* How many incidents it holds; whether it is loaded; its horizon. For
 * tests and the log. */
int incident_index_count(const struct incident_index *x);
bool incident_index_loaded(const struct incident_index *x);
int64_t incident_index_horizon(const struct incident_index *x);

#endif
