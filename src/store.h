/* store.h - durable storage behind one interface (SQLite now; PostgreSQL
 * is the planned second backend, so no SQL leaves store*.c).
 *
 * A struct store is one connection and is used by one thread at a time:
 * the writer thread owns the read-write one. Writes happen inside
 * store_begin/store_commit; store_commit returns only once the
 * transaction is durable (WAL, synchronous=FULL). */
#ifndef GA_STORE_H
#define GA_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "geo.h"
#include "hazard.h"
#include "registry.h"
#include "report.h"

#define INCIDENT_ID_MAX 32

struct store;

struct store_options {
	const char *path;
	/* Cap on the database size in pages (0: none). Used by the full-disk
	 * fault test; past it writes fail with GA_ERR_FULL. */
	long max_page_count;
};

/* Opens (creating the file and running migrations up to the current
 * schema version, PRAGMA user_version) and sets WAL + synchronous=FULL.
 * A database locked by another process gives GA_ERR_BUSY with a message
 * saying so. On error *out is unchanged and err names the path. */
ga_err store_open(const struct store_options *opt, struct store **out, char *err, size_t errlen);
void store_close(struct store *s);

/* BEGIN IMMEDIATE / COMMIT / ROLLBACK. store_commit gives GA_ERR_FULL when
 * the disk (or max_page_count) is full; the transaction is then rolled
 * back and nothing of it is stored. */
ga_err store_begin(struct store *s);
ga_err store_commit(struct store *s);
ga_err store_rollback(struct store *s);

/* Cheap check that the database answers and is writable (for /healthz). */
ga_err store_ping(struct store *s);

/* --- reports ------------------------------------------------------- */

/* Looks up (station_id, report_id). GA_OK when seen before: incident_id
 * (may be "") and *level (may be -1) are those given when it was stored.
 * GA_ERR_NOTFOUND otherwise. */
ga_err store_report_find(struct store *s, const char *station_id, const char *report_id,
			 char incident_id[INCIDENT_ID_MAX], int *level);

/* Stores an accepted report: its raw bytes, topic, receive time, parsed
 * fields and the incident it joined. GA_ERR_DUPLICATE if (station_id,
 * report_id) exists. Inside a transaction. */
ga_err store_report_put(struct store *s, const struct report *r, const char *topic,
			const void *raw, size_t rawlen, int64_t received_ms, const char *incident_id,
			enum level level);

/* Stores a rejected payload raw with its reasons (JSON array text, as in
 * the receipt). Never fails on content: any bytes, any topic. */
ga_err store_rejected_put(struct store *s, const char *topic, const void *raw, size_t rawlen,
			  int64_t received_ms, const char *reasons_json);

/* Counts for tests and metrics. */
ga_err store_count(struct store *s, int64_t *accepted, int64_t *rejected, int64_t *incidents);

/* --- receipt outbox ----------------------------------------------
 * A receipt is stored in the transaction of its report and deleted once
 * the broker has acknowledged it, so a crash between the commit and the
 * receipt leaving re-sends it at the next start instead of losing it. */

/* Inside a transaction. *id identifies it for store_outbox_delete. */
ga_err store_outbox_put(struct store *s, const char *topic, const char *payload,
			int64_t created_ms, int64_t *id);
/* Inside a transaction; an id already gone is not an error. */
ga_err store_outbox_delete(struct store *s, int64_t id);
/* Calls cb for each stored receipt, oldest first; cb returns false to
 * stop. Outside a transaction. */
typedef bool (*store_outbox_cb)(int64_t id, const char *topic, const char *payload, void *arg);
ga_err store_outbox_each(struct store *s, store_outbox_cb cb, void *arg);

/* --- incidents ----------------------------------------------------- */

struct incident {
	char id[INCIDENT_ID_MAX];
	enum hazard_type hazard_type;
	char hazard_point_id[REGISTRY_HP_MAX]; /* of the report that opened it; may be "" */
	double lon, lat;                       /* where it was first reported */
	char admin_code[GEO_CODE_LEN];
	int64_t first_observed_ms, last_observed_ms;
	int64_t created_ms, updated_ms;
	bool has_disaster;      /* some report of it is a disaster */
	struct figures figures; /* max over stations of each station's latest value */
	enum level level;
	int nreports;
	bool open;
};

ga_err store_incident_get(struct store *s, const char *id, struct incident *out);

/* The most recently updated open incident of this hazard point and type
 * with a report observed within window_ms of t_ms. GA_ERR_NOTFOUND if none. */
ga_err store_incident_by_hazard_point(struct store *s, const char *hazard_point_id,
				      enum hazard_type type, int64_t t_ms, int64_t window_ms,
				      struct incident *out);

/* Calls cb for each open incident of this type with a report observed
 * within window_ms of t_ms whose first point lies in the lon/lat box;
 * cb returns false to stop. */
typedef bool (*store_incident_cb)(const struct incident *inc, void *arg);
ga_err store_incident_near(struct store *s, enum hazard_type type, int64_t t_ms,
			   int64_t window_ms, double min_lon, double max_lon, double min_lat,
			   double max_lat, store_incident_cb cb, void *arg);

/* Inserts a new incident, giving it the next id of its day:
 * "{prefix}-YYYYMMDD-NNNN", the date of created_ms at utc_offset_min. */
ga_err store_incident_insert(struct store *s, struct incident *inc, const char *prefix,
			     int utc_offset_min);
ga_err store_incident_update(struct store *s, const struct incident *inc);

/* Records station's figures observed at observed_ms for the incident,
 * keeping per (station, figure) only the latest observed value, then
 * writes into *out the incident's figures: per figure, the max over
 * stations of each station's latest value. */
ga_err store_incident_fold_figures(struct store *s, const char *incident_id,
				   const char *station_id, int64_t observed_ms,
				   const struct figures *f, struct figures *out);

#endif
