/* store_internal.h - private to store*.c: the connection, its cached
 * statements and the translation of db.h's result codes. Nothing outside store*.c
 * includes this file (no SQL leaves the store module). */
#ifndef GA_STORE_INTERNAL_H
#define GA_STORE_INTERNAL_H

#include "db.h"
#include <stdbool.h>

#include "error.h"
#include "store.h"

#define STORE_PATH_MAX 4096
#define STORE_BUSY_TIMEOUT_MS 2000

/* Every statement the store runs more than once, prepared at open. The
 * SQL of each is store_stmt_sql[id] (store_sql.c). */
enum store_stmt_id {
	STMT_BEGIN,
	STMT_COMMIT,
	STMT_ROLLBACK,
	STMT_PING,
	STMT_COUNT_REPORTS,
	STMT_COUNT_REJECTED,
	STMT_COUNT_INCIDENTS,
	STMT_REPORT_FIND,
	STMT_REPORT_PUT,
	STMT_REJECTED_PUT,
	STMT_INCIDENT_GET,
	STMT_INCIDENT_BY_HP,
	STMT_INCIDENT_NEAR,
	STMT_INCIDENT_INSERT,
	STMT_INCIDENT_UPDATE,
	STMT_SEQ_NEXT,
	STMT_FIGURE_UPSERT,
	STMT_FIGURE_MAX,
	STMT_OUTBOX_PUT,
	STMT_OUTBOX_DELETE,
	STMT_OUTBOX_ALL,
	/* officers, sessions, login attempts, audit (migration 2) */
	STMT_OFFICER_ADD,
	STMT_OFFICER_BY_TOKEN,
	STMT_OFFICER_BY_NAME,
	STMT_OFFICER_BY_ID,
	STMT_OFFICER_ALL,
	STMT_SESSION_PUT,
	STMT_SESSION_GET,
	STMT_SESSION_TOUCH,
	STMT_SESSION_DELETE,
	STMT_SESSION_PURGE,
	STMT_LOGIN_ADD,
	STMT_LOGIN_COUNT,
	STMT_LOGIN_PURGE,
	STMT_AUDIT_LAST,
	STMT_AUDIT_APPEND,
	STMT_AUDIT_FROM,
	/* alert drafts, confirmations, reports read back (migration 3) */
	STMT_DRAFT_INSERT,
	STMT_DRAFT_UPDATE,
	STMT_DRAFT_GET,
	STMT_DRAFT_LATEST,
	STMT_DRAFT_PENDING,
	STMT_DRAFT_PUBLISHED,
	STMT_DRAFT_MAX_VERSION,
	STMT_DRAFT_EACH_PUBLISHED,
	STMT_DRAFT_LIST,
	STMT_DRAFT_LIST_STATE,
	STMT_DRAFT_DUE,
	STMT_CONFIRM_ADD,
	STMT_CONFIRM_COUNT,
	STMT_CONFIRM_EACH,
	STMT_REPORTS_LATEST,
	STMT_REPORTS_OF_INCIDENT,
	/* the delivery ledger (migration 4; store_delivery.c) */
	STMT_DELIVERY_INSERT,
	STMT_DELIVERY_CHANNELS,
	STMT_DELIVERY_DUE,
	STMT_DELIVERY_START,
	STMT_DELIVERY_FINISH,
	STMT_DELIVERY_OF_ALERT,
	STMT_DELIVERY_LATEST,
	STMT_DELIVERY_RESEND,
	STMT_DELIVERY_RECOVER,
	STMT_DELIVERY_PROGRESS,
	STMT_NOTICE_INSERT,
	STMT_NOTICE_DUE,
	STMT_NOTICE_FINISH,
	STMT_NOTICE_PENDING,
	STMT_NOTICE_RECOVER,
	/* published versions for the public pages and feed (store_alert.c) */
	STMT_DRAFT_PUBLISHED_SINCE,
	STMT_DRAFT_CURRENT_SINCE,
	/* gauges for /metrics and /healthz (store_stats.c) */
	STMT_STATS_INCIDENTS,
	STMT_STATS_DRAFTS_PENDING,
	STMT_STATS_DELIVERIES,
	STMT_STATS_BACKLOG,
	STMT_STATS_OLD_REPORTS,
	STMT_STATS_COUNT_ADD,
	/* retention (store_retention.c) */
	STMT_RETENTION_REJECTED,
	STMT_RETENTION_COUNTS,
	STMT_RETENTION_REPORTS,
	STMT_RETENTION_REPORT_DELETE,
	/* the MQTT sessions left at the broker (migration 8; store_mqtt.c) */
	STMT_MQTT_SESSION_EACH,
	STMT_MQTT_SESSION_PUT,
	STMT_MQTT_SESSION_DELETE,
	/* officers' edits of drafts (migration 9; store_alert.c) */
	STMT_DRAFT_EDITS_PUT,
	STMT_DRAFT_EDITS_GET,
	/* the incidents' generation (store_incident_recent.h) */
	STMT_INCIDENT_GEN_GET,
	STMT_INCIDENT_GEN_BUMP,
	STMT_INCIDENT_CHANGED,
	STMT_INCIDENT_FIGURES_CHANGED,
	/* a group's duplicate check in one statement (store_report_find_many) */
	STMT_REPORT_FIND_MANY,
	STMT_ID_COUNT
};

struct store {
	struct db *db;
	char path[STORE_PATH_MAX];
	struct db_stmt *stmt[STMT_ID_COUNT];
	bool in_txn;
	/* First error that spoiled the open transaction (anything but a
	 * constraint violation, which only aborts its statement); store_commit
	 * then rolls back and returns it. */
	ga_err txn_err;
	/* Frames in the WAL after this connection's last commit (the WAL
	 * hook, store.c); -1 before the first. Written and read by the
	 * connection's one thread. */
	int wal_frames;
	bool defer_checkpoint; /* store_defer_checkpoints */
	/* PostgreSQL only (store_pg.c): every transaction takes this
	 * advisory lock, as BEGIN IMMEDIATE takes SQLite's write lock, so
	 * writers on several instances take turns; lost: the connection
	 * went away (DB_LOST), to be made again before the next use. */
	struct db_stmt *pg_lock;
	bool no_txn_lock; /* store_options: pg_lock is not taken */
	bool lost;
	bool reconnect_warned;
	/* The incidents' generation (store_incident_recent.h): bumped by the
	 * first write of incidents in each transaction (store_incident.c),
	 * which sets incident_gen_txn to the new value; -1 until then (reset
	 * by store_begin). incident_writes counts every insert and update of
	 * an incident on this connection. */
	int64_t incident_gen_txn;
	uint64_t incident_writes; /* a failed reconnect was logged (once per outage) */
};

/* PostgreSQL only (store_pg.c): connects to opt->url, migrates the
 * schema (store_sql_pg.c) and prepares the statements, each with its
 * PostgreSQL text where store_stmt_sql_pg has one. */
ga_err store_pg_open(struct store *s, const struct store_options *opt, char *err, size_t errlen);

/* PostgreSQL only: the transaction lock after BEGIN (store_begin). */
ga_err store_pg_lock(struct store *s);

/* PostgreSQL only: connects again after DB_LOST (libpq tries every host
 * of the URL: after a failover, the new primary). GA_OK or GA_ERR_DB. */
ga_err store_pg_reconnect(struct store *s);

/* The PostgreSQL text of statements whose SQLite text PostgreSQL does
 * not take (store_sql_pg.c); NULL: the same text on both. */
extern const char *const store_stmt_sql_pg[];
/* The writes the ingest writer's group sends many rows a statement
 * (db_stmt_batch; store_defer_writes): their batch SQL and key,
 * PostgreSQL only; sql NULL for the others. */
struct store_batch_pg {
	const char *sql;
	int key;
};
extern const struct store_batch_pg store_stmt_batch_pg[];

/* Schema migrations, in order: migration i takes user_version i to i+1. */
extern const char *const store_migrations[];
extern const int store_nmigrations;
extern const char *const store_stmt_sql[STMT_ID_COUNT];

/* Column list shared by every SELECT that fills a struct incident, in the
 * order store_incident_read expects. */
#define STORE_INCIDENT_COLUMNS                                                                     \
	"id, hazard_type, hazard_point_id, lon, lat, admin_code, first_observed_ms,"               \
	" last_observed_ms, created_ms, updated_ms, has_disaster, level, nreports, open,"          \
	" deaths, missing, injured, relocated_people, direct_loss_cny, threatened_people,"         \
	" threatened_property_cny"

/* After STORE_INCIDENT_COLUMNS (columns 0-20): the rowid (21; -1 on
 * PostgreSQL, whose incidents have none: store_sql_pg.c), whether a
 * report observed at last_observed_ms is stored (22: reports_by_incident
 * answers it) and whether a draft names the incident (23:
 * alert_drafts_by_alert). STORE_INCIDENT_RECENT_FACTS are 22 and 23. */
#define STORE_INCIDENT_RECENT_FACTS                                                                \
	", CASE WHEN nreports > 0 AND EXISTS (SELECT 1 FROM reports r"                             \
	" WHERE r.incident_id = incidents.id AND r.observed_ms = incidents.last_observed_ms)"      \
	" THEN 1 ELSE 0 END,"                                                                      \
	" CASE WHEN EXISTS (SELECT 1 FROM alert_drafts d WHERE d.alert_id = incidents.id)"         \
	" THEN 1 ELSE 0 END"
#define STORE_INCIDENT_RECENT_EXTRA STORE_INCIDENT_RECENT_FACTS " FROM incidents"

/* STMT_INCIDENT_CHANGED's rows: columns 0-23 as above, the incidents'
 * generation (24) in every row; a row whose id (0) is NULL when no
 * incident changed (store_incident_changed_each). */
#define STORE_INCIDENT_CHANGED_GEN_COL 24

/* Fills out from a row whose first columns are STORE_INCIDENT_COLUMNS
 * (store_incident.c); GA_ERR_DB for a bad hazard_type or level. */
ga_err store_incident_read(struct store *s, struct db_stmt *st, struct incident *out);

/* Column lists of the officer and audit SELECTs, in the order
 * store_officer.c and store_audit.c read them. */
#define STORE_OFFICER_COLUMNS "id, name, role, password_hash, token_hash, created_ms, disabled"
#define STORE_AUDIT_COLUMNS "seq, at_ms, officer_id, action, subject, detail, prev_hash, hash"

/* Columns of an alert_drafts SELECT, in the order store_alert.c reads
 * them (figures from column 18 on, as store_column_figures wants). */
#define STORE_DRAFT_COLUMNS                                                                        \
	"id, alert_id, version, msg_type, state, below_level, level, prev_level, kind,"            \
	" hazard_type, headline, situation, causes, response, trend, admin_code, admin_name,"      \
	" place, deaths, missing, injured, relocated_people, direct_loss_cny, threatened_people,"  \
	" threatened_property_cny, lon, lat, observed_ms, created_ms, confirmed_ms, published_ms," \
	" escalated_ms, reject_reason, cancel_reason, supersedes, refs, fingerprint"

/* Columns of a deliveries SELECT, in the order store_delivery.c reads them. */
#define STORE_DELIVERY_COLUMNS                                                                     \
	"id, alert_id, version, msg_type, channel, state, attempts, next_attempt_ms,"              \
	" deadline_ms, last_error, idem_key, created_ms, delivered_ms, step, scratch"

/* Columns of a reports SELECT for struct store_report_row. */
#define STORE_REPORT_ROW_COLUMNS                                                                   \
	"station_id, report_id, kind, observed_ms, received_ms, observed_offset_min, place,"       \
	" causes, trend, measures, volume_m3, area_m2, deaths, missing, injured,"                  \
	" relocated_people, direct_loss_cny, threatened_people, threatened_property_cny"

/* Translates a db.h result code of statement `what` into a ga_err,
 * logging it once with db_errmsg (not for a unique-key violation,
 * which is GA_ERR_DUPLICATE and expected). Inside a transaction, any
 * error but a constraint violation marks the transaction failed. */
ga_err store_error(struct store *s, int rc, const char *what);

/* The error that spoiled the open transaction, GA_OK when none. Every
 * verb returns it before touching the database: once SQLite has rolled
 * back on its own (DB_FULL...), a later statement would otherwise run
 * in autocommit mode and store part of the group. */
static inline ga_err store_spoiled(const struct store *s)
{
	return s->in_txn ? s->txn_err : GA_OK;
}

/* Resets st and clears its bindings so it is ready for the next use. */
void store_stmt_done(struct db_stmt *st);

/* Prepares sql for the caller, who finalizes *st (db_finalize): for the
 * verbs that run seldom (cluster heartbeats, risk warnings, the key
 * check) and keep no statement of the cached table. GA_OK with *st; else
 * store_spoiled's error, or store_error's for what, with *st NULL. */
ga_err store_prepare_own(struct store *s, const char *sql, struct db_stmt **st, const char *what);

/* Runs st (an UPDATE or DELETE) whose parameters are bound, bindrc the
 * result of binding them (DB_OK or the first error); *n (when not
 * NULL) the rows it changed. Leaves st done (store_stmt_done) either way. */
ga_err store_run_changes(struct store *s, struct db_stmt *st, int bindrc, int64_t *n,
			 const char *what);

/* Steps st, a SELECT of one row at most whose parameters are bound
 * (bindrc the result of binding them): GA_OK with the row ready to read,
 * GA_ERR_NOTFOUND when there is none, else store_error's for what. The
 * caller reads the row, then calls store_stmt_done. */
ga_err store_step_row(struct store *s, struct db_stmt *st, int bindrc, const char *what);

/* Runs st, an INSERT ... RETURNING id whose parameters are bound (bindrc
 * the result of binding them): GA_OK with *id (when not NULL) the new
 * row's id, else store_error's for what. Leaves st done either way. */
ga_err store_run_insert(struct store *s, struct db_stmt *st, int bindrc, int64_t *id,
			const char *what);

/* As store_run_changes, for an UPDATE or DELETE of rows that must exist:
 * GA_ERR_NOTFOUND when st changed no row. */
ga_err store_run_update(struct store *s, struct db_stmt *st, int bindrc, const char *what);

/* Does call (a db_bind_* or store_bind_*) unless an earlier bind
 * failed: rc, an int starting at DB_OK, ends as DB_OK or the first
 * error, so a long parameter list needs no test after each bind. */
#define STORE_BIND(rc, call)                                                                       \
	do {                                                                                       \
		if ((rc) == DB_OK)                                                                 \
			(rc) = (call);                                                             \
	} while (0)

/* Binds a figures struct to params first..first+FIG_COUNT-1 (NULL for an
 * unset figure) and reads one back from columns first.. of a row. */
int store_bind_figures(struct db_stmt *st, int first, const struct figures *f);
void store_column_figures(struct db_stmt *st, int first, struct figures *f);

/* Binds text or NULL when p is NULL (or "" when empty_is_null). */
int store_bind_text(struct db_stmt *st, int i, const char *p, bool empty_is_null);
/* Copies a text column into buf (cut to fit, NUL-terminated; "" for NULL). */
void store_column_copy(struct db_stmt *st, int col, char *buf, size_t len);

#endif
