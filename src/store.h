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
#include "officer.h"
#include "registry.h"
#include "report.h"

#define INCIDENT_ID_MAX 32

struct store;

struct store_options {
	const char *path;
	/* [store] url: PostgreSQL instead of the SQLite file at path (spec
	 * §10); its password from password_file (NULL: none, or libpq's
	 * PGPASSFILE). */
	const char *url;
	const char *password_file;
	/* Cap on the database size in pages (0: none). Used by the full-disk
	 * fault test; past it writes fail with GA_ERR_FULL. */
	long max_page_count;
	/* PostgreSQL: transactions take no transaction lock (store_pg.c).
	 * Only for a connection whose every statement stands alone, atomic
	 * by itself: the cluster's heartbeats, leases and claims, which must
	 * not wait behind the writers' commits (cluster.c). */
	bool no_txn_lock;
};

/* Opens (creating the file and running migrations up to the current
 * schema version, PRAGMA user_version) and sets WAL + synchronous=FULL.
 * A database locked by another process gives GA_ERR_BUSY with a message
 * saying so. On error *out is unchanged and err names the path. */
ga_err store_open(const struct store_options *opt, struct store **out, char *err, size_t errlen);
void store_close(struct store *s);

/* True when other processes may write the same database (PostgreSQL,
 * several instances): what this process read is then no cache of it. */
bool store_shared(const struct store *s);

/* BEGIN IMMEDIATE / COMMIT / ROLLBACK. store_commit gives GA_ERR_FULL when
 * the disk (or max_page_count) is full; the transaction is then rolled
 * back and nothing of it is stored. */
ga_err store_begin(struct store *s);
ga_err store_commit(struct store *s);
ga_err store_rollback(struct store *s);

/* The WAL file is truncated back to this size whenever the log restarts
 * from its beginning (PRAGMA journal_size_limit, set on every
 * connection). */
#define STORE_WAL_LIMIT_BYTES 8388608

/* Checkpoints the WAL outside any transaction. Passive (restart false):
 * copies what no reader still needs, never waits. Restart: waits up to
 * wait_ms for the readers of older snapshots to finish, copies the whole
 * log and makes the next commit start it again from its beginning (so
 * the file is cut to STORE_WAL_LIMIT_BYTES); writers wait meanwhile.
 * *log_frames: frames in the log, *done_frames: frames copied (either
 * may be NULL; -1 when unknown). GA_ERR_BUSY when a reader kept it from
 * finishing. */
ga_err store_checkpoint(struct store *s, bool restart, int wait_ms, int *log_frames,
			int *done_frames);

/* A commit that leaves at least this many frames in the WAL checkpoints
 * it (passively), as SQLite's default wal_autocheckpoint does. */
#define STORE_WAL_AUTOCHECKPOINT 1000

/* Frames in the WAL after the last commit on s (-1: none yet). */
int store_wal_frames(const struct store *s);

/* With defer, commits on s no longer checkpoint by themselves: the
 * caller runs store_checkpoint when it suits it (the writer: after the
 * sessions waiting for the commit have their answer). */
void store_defer_checkpoints(struct store *s, bool defer);

/* With defer, on PostgreSQL, the writes of the ingest writer's path on s
 * (the report, its incident and figures, the receipt in the outbox, the
 * acknowledged receipts deleted: store_pg.c) are sent inside a
 * transaction without waiting for their answers, which come with the
 * next read or the commit (libpq's pipeline; store_pg.c says what
 * changes): a failed one fails the transaction there; store_report_put
 * never answers GA_ERR_DUPLICATE (a duplicate insert fails the
 * transaction: ask store_report_find first), store_incident_update never
 * GA_ERR_NOTFOUND; store_outbox_put's *id is written by the next read or
 * the commit and must stay valid until store_commit or store_rollback
 * returns. For a caller that rolls back whenever one of them fails (the
 * writer). SQLite: nothing changes. Off by default. */
void store_defer_writes(struct store *s, bool defer);

/* Cheap check that the database answers and is writable (for /healthz). */
ga_err store_ping(struct store *s);

/* --- reports ------------------------------------------------------- */

/* Looks up (station_id, report_id). GA_OK when seen before: incident_id
 * (may be "") and *level (may be -1) are those given when it was stored.
 * GA_ERR_NOTFOUND otherwise. */
ga_err store_report_find(struct store *s, const char *station_id, const char *report_id,
			 char incident_id[INCIDENT_ID_MAX], int *level);

/* store_report_find for n pairs (station_ids[i], report_ids[i]) in one
 * statement (1 <= n <= STORE_REPORT_FIND_MANY_MAX): cb is called for each
 * pair seen before, in no particular order, with its incident_id (may be
 * "") and level (may be -1) as given when it was stored. A pair that is
 * not valid UTF-8 cannot be asked this way: GA_ERR_INVAL before any
 * statement (ask it with store_report_find). */
#define STORE_REPORT_FIND_MANY_MAX 1024
typedef void (*store_report_found_cb)(const char *station_id, const char *report_id,
				      const char *incident_id, int level, void *arg);
ga_err store_report_find_many(struct store *s, const char *const *station_ids,
			      const char *const *report_ids, int n, store_report_found_cb cb,
			      void *arg);

/* Stores an accepted report: its raw bytes, topic, receive time, parsed
 * fields and the incident it joined. GA_ERR_DUPLICATE if (station_id,
 * report_id) exists. Inside a transaction. */
ga_err store_report_put(struct store *s, const struct report *r, const char *topic, const void *raw,
			size_t rawlen, int64_t received_ms, const char *incident_id,
			enum level level);

/* Each station that sent anything (a report stored, or a payload
 * rejected on its topic) received after since_ms, with the latest time:
 * what the station watchdog of the instance holding the duties hears of
 * the reports the other instances took (spec §10). cb returns false to
 * stop. */
typedef bool (*store_seen_cb)(const char *station_id, int64_t received_ms, void *arg);
ga_err store_report_seen_since(struct store *s, int64_t since_ms, store_seen_cb cb, void *arg);

/* Bytes of a rejected payload kept: as many as a valid report may have. */
#define STORE_REJECTED_RAW_MAX REPORT_MAX_BYTES

/* Stores a rejected payload with its reasons (JSON array text, as in the
 * receipt): raw is the first rawlen bytes of a payload of total bytes
 * (rawlen <= total), sha256 the SHA-256 of the whole payload (32 bytes),
 * or NULL when raw is the whole (rawlen == total): computed here. Keeps
 * at most STORE_REJECTED_RAW_MAX bytes of raw, and total and the hash
 * (hex) beside them, so a 5 MiB payload costs 64 KiB of disk and can
 * still be told apart. Never fails on content: any bytes, any topic. */
ga_err store_rejected_put(struct store *s, const char *topic, const void *raw, size_t rawlen,
			  size_t total, const unsigned char *sha256, int64_t received_ms,
			  const char *reasons_json);

/* Counts for tests and metrics. */
ga_err store_count(struct store *s, int64_t *accepted, int64_t *rejected, int64_t *incidents);

/* --- receipt outbox ----------------------------------------------
 * A receipt is stored in the transaction of its report and deleted once
 * the broker has acknowledged it, so a crash between the commit and the
 * receipt leaving re-sends it at the next start instead of losing it. */

/* Inside a transaction. broker: the canonical url of the broker the report
 * came in on (config_broker), where the station listens for its receipt;
 * "" in rows from before several brokers (any broker). *id identifies it
 * for store_outbox_delete. */
ga_err store_outbox_put(struct store *s, const char *broker, const char *topic, const char *payload,
			int64_t created_ms, int64_t *id);
/* Inside a transaction; an id already gone is not an error. */
ga_err store_outbox_delete(struct store *s, int64_t id);
/* Deletes ids first..last, all acknowledged (one statement for a run of
 * them). Inside a transaction. */
ga_err store_outbox_delete_range(struct store *s, int64_t first, int64_t last);
/* Calls cb for each stored receipt, oldest first; cb returns false to
 * stop. Outside a transaction. */
typedef bool (*store_outbox_cb)(int64_t id, const char *broker, const char *topic,
				const char *payload, void *arg);
ga_err store_outbox_each(struct store *s, store_outbox_cb cb, void *arg);

/* --- incidents ----------------------------------------------------- */

struct incident {
	char id[INCIDENT_ID_MAX];
	enum hazard_type hazard_type;
	char hazard_point_id[REGISTRY_HP_MAX]; /* of the report that opened it; may be "" */
	double lon, lat;		       /* where it was first reported */
	char admin_code[GEO_CODE_LEN];
	int64_t first_observed_ms, last_observed_ms;
	int64_t created_ms, updated_ms;
	bool has_disaster;	/* some report of it is a disaster */
	struct figures figures; /* max over stations of each station's latest value */
	enum level level;
	int nreports;
	bool open;
	/* Not stored: set by incident_assign to the level before the report
	 * it folded in, -1 when that report opened the incident. */
	int prev_level;
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
ga_err store_incident_near(struct store *s, enum hazard_type type, int64_t t_ms, int64_t window_ms,
			   double min_lon, double max_lon, double min_lat, double max_lat,
			   store_incident_cb cb, void *arg);

/* Inserts a new incident, giving it the next id of its day:
 * "{prefix}-YYYYMMDD-NNNN", the date of created_ms at utc_offset_min. */
ga_err store_incident_insert(struct store *s, struct incident *inc, const char *prefix,
			     int utc_offset_min);
ga_err store_incident_update(struct store *s, const struct incident *inc);

/* Records station's figures observed at observed_ms for the incident,
 * keeping per (station, figure) only the latest observed value, then
 * writes into *out the incident's figures: per figure, the max over
 * stations of each station's latest value (out NULL: only records). */
ga_err store_incident_fold_figures(struct store *s, const char *incident_id, const char *station_id,
				   int64_t observed_ms, const struct figures *f,
				   struct figures *out);

/* === officers, console sessions, login attempts, audit trail ==========
 * (migration 2; store_officer.c and store_audit.c). The store sees only
 * hashes of tokens and cookies, never the secrets (officer.h). */

#define STORE_HASH_HEX 65   /* SHA-256 as lowercase hex + NUL */
#define STORE_CSRF_MAX 65   /* CSRF token text + NUL */
#define STORE_REMOTE_MAX 64 /* a remote address as text + NUL */

/* Inserts an officer; password_hash and token_hash may be NULL. *id is
 * the new officer's id. GA_ERR_DUPLICATE when the name (or the token
 * hash) exists. Inside or outside a transaction. */
ga_err store_officer_add(struct store *s, const char *name, enum officer_role role,
			 const char *password_hash, const char *token_hash, int64_t created_ms,
			 int64_t *id);
/* Look-ups; GA_ERR_NOTFOUND when there is no such officer. Disabled
 * officers are found too: the caller decides. */
ga_err store_officer_by_token_hash(struct store *s, const char *token_hash, struct officer *out);
ga_err store_officer_by_name(struct store *s, const char *name, struct officer *out);
ga_err store_officer_get(struct store *s, int64_t id, struct officer *out);
/* Disables (or enables again) officer id; GA_ERR_NOTFOUND when there is
 * no such officer. Setting the flag it already has is GA_OK. */
ga_err store_officer_set_disabled(struct store *s, int64_t id, bool disabled);
/* Replaces officer id's token hash (NULL or "": no token at all);
 * GA_ERR_NOTFOUND when there is no such officer, GA_ERR_DUPLICATE when
 * another officer has that hash. */
ga_err store_officer_set_token_hash(struct store *s, int64_t id, const char *token_hash);
/* Sets officer id's argon2id password hash (NULL: no console login). */
ga_err store_officer_set_password_hash(struct store *s, int64_t id, const char *password_hash);
/* Ends every console session of officer_id; *n (may be NULL) how many. */
ga_err store_session_delete_officer(struct store *s, int64_t officer_id, int64_t *n);
/* Calls cb for each officer by id; cb returns false to stop. */
typedef bool (*store_officer_cb)(const struct officer *o, void *arg);
ga_err store_officer_each(struct store *s, store_officer_cb cb, void *arg);

/* A console session. id is the SHA-256 hex of the cookie value. */
struct store_session {
	char id[STORE_HASH_HEX];
	int64_t officer_id;
	char csrf[STORE_CSRF_MAX];
	int64_t created_ms, last_seen_ms, expires_ms;
};
/* GA_ERR_DUPLICATE when the id exists. */
ga_err store_session_put(struct store *s, const struct store_session *sess);
/* The session with this id that expires after now_ms; GA_ERR_NOTFOUND
 * when there is none or it has expired. */
ga_err store_session_get(struct store *s, const char *id, int64_t now_ms,
			 struct store_session *out);
/* Sets last_seen_ms and expires_ms (the idle timeout slides);
 * GA_ERR_NOTFOUND when the session is gone. */
ga_err store_session_touch(struct store *s, const char *id, int64_t last_seen_ms,
			   int64_t expires_ms);
/* Logout; a session already gone is not an error. */
ga_err store_session_delete(struct store *s, const char *id);
/* Deletes every session expired at now_ms; *n (may be NULL) the count. */
ga_err store_session_purge(struct store *s, int64_t now_ms, int64_t *n);

/* Records a console login attempt (name as typed, remote address).
 * GA_ERR_TOOBIG for a name of OFFICER_NAME_MAX bytes or more or a remote
 * of STORE_REMOTE_MAX or more: the caller cuts hostile input first. */
ga_err store_login_attempt_add(struct store *s, const char *name, const char *remote, bool ok,
			       int64_t at_ms);
/* Failed attempts at or after since_ms for this name and from this
 * remote (either may be NULL: it then matches any). */
ga_err store_login_attempt_count_since(struct store *s, const char *name, const char *remote,
				       int64_t since_ms, int64_t *n);
/* Forgets attempts older than before_ms. */
ga_err store_login_attempt_purge(struct store *s, int64_t before_ms);

/* --- audit trail ---------------------------------------------------
 * Append-only and hash-chained: row seq carries prev_hash = hash of row
 * seq - 1 (STORE_AUDIT_GENESIS for seq 1) and hash = store_audit_hash of
 * itself. UPDATE and DELETE are refused by triggers; audit_verify (audit.h)
 * finds rows edited or deleted behind the triggers' back. */

#define STORE_AUDIT_GENESIS "0000000000000000000000000000000000000000000000000000000000000000"
#define STORE_AUDIT_ACTION_MAX 64    /* bytes, without the NUL */
#define STORE_AUDIT_SUBJECT_MAX 256  /* bytes, without the NUL */
#define STORE_AUDIT_DETAIL_MAX 16384 /* bytes of JSON, without the NUL */

/* One row; the strings are borrowed (valid during a store_audit_each
 * callback only). officer_id 0: no officer (NULL in the table). */
struct store_audit_row {
	int64_t seq;
	int64_t at_ms;
	int64_t officer_id;
	const char *action;
	const char *subject;
	const char *detail; /* JSON text */
	const char *prev_hash;
	const char *hash;
};

/* The row's hash: SHA-256, lowercase hex, over its canonical form
 *   "geoalert.audit/1\n" then, for seq, at_ms, officer_id, action,
 *   subject, detail, prev_hash in that order, each field as a netstring
 *   "LEN:BYTES," (integers in decimal, a NULL officer_id as "0:,").
 * Length prefixes make the form unambiguous; r->hash is not read. */
void store_audit_hash(const struct store_audit_row *r, char hex[STORE_HASH_HEX]);

/* Appends a row: seq = last seq + 1, prev_hash = last hash, hash computed
 * here. detail must be valid JSON (NULL: "{}"); subject NULL: "".
 * GA_ERR_TOOBIG past the caps, GA_ERR_INVAL for an empty action or bad
 * JSON. Inside a transaction the row commits (or not) with it; outside,
 * the append is a transaction of its own. *seq (may be NULL) the row's. */
ga_err store_audit_append(struct store *s, int64_t at_ms, int64_t officer_id, const char *action,
			  const char *subject, const char *detail, int64_t *seq);

/* Calls cb for each row with seq >= from_seq, in seq order; cb returns
 * false to stop. Rows are read as stored, unchecked, except that a row
 * whose columns could not have been written by geoalert (text with a NUL
 * byte, a non-integer seq, at_ms or officer_id) is handed out with hash
 * "" so that it fails verification. */
typedef bool (*store_audit_cb)(const struct store_audit_row *row, void *arg);
ga_err store_audit_each(struct store *s, int64_t from_seq, store_audit_cb cb, void *arg);

/* === alert drafts and confirmations (migration 3; store_alert.c) =====
 * One row per draft of an alert (alert_id = its incident's id); a draft
 * becomes version N of the alert when published. The workflow (workflow.h)
 * owns the state machine; the store only keeps rows and enforces, with a
 * partial unique index, at most one pending draft per alert. States and
 * msg_types are the contract names ("pending", "update"...). */

#define STORE_WORD_MAX 16      /* "superseded", "update" + NUL */
#define STORE_HEADLINE_MAX 481 /* an officer's 120 characters of <= 4 bytes + NUL */
#define STORE_TEXT_MAX 8001    /* an officer's 2000 characters of <= 4 bytes + NUL */
#define STORE_REASON_MAX 4001  /* ALERT_REASON_MAX characters of UTF-8 + NUL */
#define STORE_PLACE_MAX 801    /* REPORT_PLACE_MAX characters of UTF-8 + NUL */
#define STORE_REFS_MAX 2048    /* references, a JSON array text, + NUL */

struct store_draft {
	int64_t id; /* set by store_draft_insert */
	char alert_id[INCIDENT_ID_MAX];
	int version;		       /* 0 until published */
	char msg_type[STORE_WORD_MAX]; /* "alert", "update", "cancel" */
	char state[STORE_WORD_MAX];    /* "pending", "superseded", "published", "rejected" */
	bool below_level;	       /* the incident fell below the publish level */
	enum level level;
	int prev_level; /* level of the version an update follows; -1: none */
	enum kind kind;
	enum hazard_type hazard_type;
	char headline[STORE_HEADLINE_MAX];
	char situation[STORE_TEXT_MAX], causes[STORE_TEXT_MAX], response[STORE_TEXT_MAX],
	    trend[STORE_TEXT_MAX];
	struct figures figures;
	char admin_code[GEO_CODE_LEN];
	char admin_name[GEO_NAME_MAX];
	char place[STORE_PLACE_MAX];
	double lon, lat; /* NAN when unknown */
	int64_t observed_ms, created_ms;
	int64_t confirmed_ms, published_ms, escalated_ms; /* 0: not (yet) */
	char reject_reason[STORE_REASON_MAX], cancel_reason[STORE_REASON_MAX];
	int64_t supersedes;		  /* id of the draft this one replaced; 0: none */
	char refs[STORE_REFS_MAX];	  /* JSON array of "alert_id:version" */
	char fingerprint[STORE_HASH_HEX]; /* of what makes an update (workflow.c) */
};

/* Inserts d (its id is ignored) and sets d->id. GA_ERR_DUPLICATE when it
 * would be a second pending draft of the alert, or a version given twice.
 * Inside a transaction. */
ga_err store_draft_insert(struct store *s, struct store_draft *d);
/* Writes the mutable columns of draft d->id: version, state, below_level,
 * the five texts, confirmed/published/escalated times, reasons, refs.
 * GA_ERR_NOTFOUND when there is no such draft. */
ga_err store_draft_update(struct store *s, const struct store_draft *d);
/* Look-ups; GA_ERR_NOTFOUND when there is none. */
ga_err store_draft_get(struct store *s, int64_t id, struct store_draft *out);
/* The newest draft of the alert in any state (the pending one, if any,
 * is always the newest). */
ga_err store_draft_latest(struct store *s, const char *alert_id, struct store_draft *out);
ga_err store_draft_pending(struct store *s, const char *alert_id, struct store_draft *out);
/* The published version (version <= 0: the highest). */
ga_err store_draft_published(struct store *s, const char *alert_id, int version,
			     struct store_draft *out);
/* The highest version given so far; 0 when none. */
ga_err store_draft_max_version(struct store *s, const char *alert_id, int *version);

/* Calls cb for each draft; cb returns false to stop. d is borrowed for
 * the call only. */
typedef bool (*store_draft_cb)(const struct store_draft *d, void *arg);
/* The published versions of the alert, by version. */
ga_err store_draft_each_published(struct store *s, const char *alert_id, store_draft_cb cb,
				  void *arg);
/* Up to limit drafts in state (NULL: any), pending first, then newest
 * first. */
ga_err store_draft_list(struct store *s, const char *state, int limit, store_draft_cb cb,
			void *arg);
/* Up to limit pending drafts created at or before before_ms and not yet
 * escalated, oldest first. */
ga_err store_draft_due(struct store *s, int64_t before_ms, int limit, store_draft_cb cb, void *arg);
/* Up to limit published versions with published_ms >= since_ms, newest
 * first: every such version (latest_only false: the feed), or only each
 * alert's latest published version (latest_only true: the front page;
 * an alert whose latest version is older than since_ms is left out). */
ga_err store_draft_published_since(struct store *s, int64_t since_ms, bool latest_only, int limit,
				   store_draft_cb cb, void *arg);

/* Records that officer_id confirmed draft_id. GA_ERR_DUPLICATE when that
 * officer already did. Inside a transaction. */
ga_err store_confirmation_add(struct store *s, int64_t draft_id, int64_t officer_id, int64_t at_ms);
ga_err store_confirmation_count(struct store *s, int64_t draft_id, int *n);
/* The confirmations of a draft in time order; officer_name is borrowed
 * for the call ("" when the officer is gone). */
/* What officers wrote into draft_id (migration 9): edits a JSON object
 * {field: the text the templates composed}, carried and changed JSON
 * arrays of field names (workflow.c says what they mean). put replaces
 * the row; get gives malloc'd strings (caller frees), "{}"/"[]" when
 * the draft has no row. Inside a transaction for put. */
ga_err store_draft_edits_put(struct store *s, int64_t draft_id, const char *edits,
			     const char *carried, const char *changed);
ga_err store_draft_edits_get(struct store *s, int64_t draft_id, char **edits, char **carried,
			     char **changed);
typedef bool (*store_confirmation_cb)(int64_t officer_id, const char *officer_name, int64_t at_ms,
				      void *arg);
ga_err store_confirmation_each(struct store *s, int64_t draft_id, store_confirmation_cb cb,
			       void *arg);

/* A stored report as the workflow reads it back. Strings and raw are
 * borrowed for the callback only; texts are NULL when absent. */
struct store_report_row {
	const char *station_id, *report_id;
	enum kind kind;
	int64_t observed_ms, received_ms;
	int observed_offset_min;
	const char *place, *causes, *trend, *measures;
	double volume_m3, area_m2; /* NAN when absent */
	struct figures figures;
	const void *raw; /* the payload as received; NULL for the latest-per-station walk */
	size_t rawlen;
};
typedef bool (*store_report_row_cb)(const struct store_report_row *r, void *arg);
/* Each station's latest report (by observed time) of the incident, up to
 * limit stations, newest first. */
ga_err store_incident_reports_latest(struct store *s, const char *incident_id, int limit,
				     store_report_row_cb cb, void *arg);
/* The incident's reports with their raw payloads, newest first, up to
 * limit. */
ga_err store_incident_reports(struct store *s, const char *incident_id, int limit,
			      store_report_row_cb cb, void *arg);

/* === online backup (store_backup.c) =================================
 * Copies the whole database as of one moment to dest_path while other
 * connections (the running service) go on writing: SQLite's online
 * backup in one step, one read transaction (WAL: the writer is not held
 * up). The copy goes to a temporary file beside dest_path, passes PRAGMA
 * quick_check, is synced and renamed over dest_path: dest_path is then
 * either what it was or a complete backup. dest_path naming the database
 * itself is refused (GA_ERR_INVAL). Outside a transaction. *pages (may be
 * NULL) is set to the pages copied; on error err says what failed. */
ga_err store_backup(struct store *s, const char *dest_path, int64_t *pages, char *err,
		    size_t errlen);

/* === the delivery ledger (migration 4; store_delivery.c) ============
 * One row per (alert_id, version, channel): what delivery.h sends. States
 * are "pending", "sending", "delivered", "failed". Times are Unix ms. */

#define STORE_CHANNEL_MAX 64  /* a channel name + NUL (config_channel.name) */
#define STORE_ERROR_MAX 256   /* last_error + NUL */
#define STORE_IDEM_MAX 80     /* "{alert_id}:{version}" + NUL */
#define STORE_SCRATCH_MAX 512 /* a delivery's progress (CHANNEL_SCRATCH_MAX) */

/* alert_id: an alert's id, or "rw:" and a risk warning's product_id of
 * up to 64 characters (riskwarning_deliver.h); STORE_IDEM_MAX holds its key */
#define STORE_DELIVERY_ID_MAX 72

struct store_delivery {
	int64_t id; /* set by store_delivery_insert */
	char alert_id[STORE_DELIVERY_ID_MAX];
	int version;
	char msg_type[STORE_WORD_MAX];
	char channel[STORE_CHANNEL_MAX];
	char state[STORE_WORD_MAX];
	int attempts;
	int64_t next_attempt_ms, deadline_ms, created_ms;
	int64_t delivered_ms; /* 0: not delivered */
	char last_error[STORE_ERROR_MAX];
	char idem_key[STORE_IDEM_MAX];
	int step;			 /* migration 6: the next step of a multi-step type */
	char scratch[STORE_SCRATCH_MAX]; /* what the steps done hand to it */
};

/* Inserts d as a pending row with no attempts (state, attempts,
 * last_error and delivered_ms of d are ignored) and sets d->id.
 * GA_ERR_DUPLICATE when (alert_id, version, channel) exists. Inside a
 * transaction. */
ga_err store_delivery_insert(struct store *s, struct store_delivery *d);
/* Calls cb with each channel name (borrowed) that has a row for an
 * earlier version of alert_id than version; cb returns false to stop. */
typedef bool (*store_channel_cb)(const char *channel, void *arg);
ga_err store_delivery_channels(struct store *s, const char *alert_id, int version,
			       store_channel_cb cb, void *arg);
/* Up to limit rows pending or sending with next_attempt_ms <= now_ms,
 * oldest first, leaving out a row while an earlier version of the same
 * alert to the same channel is unfinished (versions go out in order). d
 * is borrowed for the call. */
typedef bool (*store_delivery_cb)(const struct store_delivery *d, void *arg);
ga_err store_delivery_due(struct store *s, int64_t now_ms, int limit, store_delivery_cb cb,
			  void *arg);
/* Marks row id sending: one more attempt; retry_ms is when it is due
 * again if nothing is recorded before (a crash mid-send).
 * GA_ERR_NOTFOUND when it is no longer pending or sending. */
ga_err store_delivery_start(struct store *s, int64_t id, int64_t retry_ms);
/* Records an attempt's outcome: state, when next due, the error text
 * ("" none; cut to fit), delivered_ms (0: NULL). */
ga_err store_delivery_finish(struct store *s, int64_t id, const char *state,
			     int64_t next_attempt_ms, const char *last_error, int64_t delivered_ms);
/* Every row of alert_id, by version then channel. */
ga_err store_delivery_each(struct store *s, const char *alert_id, store_delivery_cb cb, void *arg);
/* The row of the highest version below below_version of alert_id to
 * channel (INT_MAX: any); GA_ERR_NOTFOUND when none. */
ga_err store_delivery_latest(struct store *s, const char *alert_id, const char *channel,
			     int below_version, struct store_delivery *out);
/* A failed row pending again: due at now_ms, new deadline.
 * GA_ERR_CONFLICT when row id is not failed. */
/* The pending row (alert_id, version, channel), when due after at_ms,
 * due (and counted as made) at at_ms instead; *n (may be NULL) how many
 * rows changed (0 or 1). */
ga_err store_delivery_bring_forward(struct store *s, const char *alert_id, int version,
				    const char *channel, int64_t at_ms, int64_t *n);
ga_err store_delivery_resend(struct store *s, int64_t id, int64_t now_ms, int64_t deadline_ms);
/* Records a multi-step delivery's progress while row id is sending:
 * the next step and its scratch (cut to fit). Autocommit or inside a
 * transaction. GA_ERR_NOTFOUND when the row is no longer sending. */
ga_err store_delivery_progress(struct store *s, int64_t id, int step, const char *scratch);
/* At start, before any row is sent: rows an earlier run left sending are
 * due at now_ms at the latest; *n (may be NULL) their count. */
ga_err store_delivery_recover(struct store *s, int64_t now_ms, int *n);

/* === notices to people (migration 7; store_notice.c) ================
 * What notify.h sends to the officers' and supervisors' webhooks, kept
 * until taken or past its deadline. audience is "officers" or
 * "supervisors". Times are Unix ms. */

#define STORE_AUDIENCE_MAX 16
#define STORE_EVENT_MAX 32

struct store_notice {
	int64_t id;
	char audience[STORE_AUDIENCE_MAX];
	char event[STORE_EVENT_MAX];
	const char *body; /* borrowed for the callback */
	int attempts;
	int64_t deadline_ms, created_ms;
};

/* Stores a pending notice due at now_ms; *id (may be NULL) its id. */
ga_err store_notice_insert(struct store *s, const char *audience, const char *event,
			   const char *body, int64_t now_ms, int64_t deadline_ms, int64_t *id);
/* Up to limit pending notices due at now_ms, oldest first; cb returns
 * false to stop. */
typedef bool (*store_notice_cb)(const struct store_notice *n, void *arg);
ga_err store_notice_due(struct store *s, int64_t now_ms, int limit, store_notice_cb cb, void *arg);
/* Records an attempt: state "pending" (due again at next_attempt_ms),
 * "delivered" or "failed"; last_error ("" none); delivered_ms (0: NULL). */
ga_err store_notice_finish(struct store *s, int64_t id, const char *state, int64_t next_attempt_ms,
			   const char *last_error, int64_t delivered_ms);
/* How many notices are pending. */
ga_err store_notice_pending(struct store *s, int64_t *n);
/* At start: every pending notice is due at now_ms at the latest (the
 * restart may have fixed a webhook's URL); *n (may be NULL) their count. */
ga_err store_notice_recover(struct store *s, int64_t now_ms, int *n);

/* === timeliness (store_timeliness.c) ===============================
 * One row per (incident, channel of its first published version) for
 * incidents created since since_ms that got a draft; channel "" when the
 * first version went to no channel (or was never published). Times are
 * Unix ms, 0 when it has not happened. */
struct store_timeliness_row {
	char incident_id[INCIDENT_ID_MAX];
	int level;
	int64_t reported_ms;	/* the incident's first report arrived */
	int64_t draft_ms;	/* its first draft */
	int64_t confirmed_ms;	/* version 1 published */
	char confirmed_by[256]; /* officer names, comma separated */
	char channel[64];
	int64_t delivered_ms;
};
typedef bool (*store_timeliness_cb)(const struct store_timeliness_row *row, void *arg);
ga_err store_timeliness_each(struct store *s, int64_t since_ms, store_timeliness_cb cb, void *arg);

/* === MQTT sessions at the brokers (migration 8; store_mqtt.c) =======
 * The persistent sessions geoalert has made, by broker and client id
 * (one client id has a session on each broker of [mqtt] url), and the
 * filter each subscribed to (ingest_connect.c retires the ones no
 * longer in use). broker: a canonical url (config_broker); "" in rows
 * from before several brokers: the first broker of [mqtt] url then.
 * client_id "*": an older database that did not record them. */
#define STORE_CLIENT_ID_MAX 160
#define STORE_TOPIC_MAX 256
#define STORE_BROKER_MAX 160

typedef bool (*store_mqtt_session_cb)(const char *broker, const char *client_id, const char *topic,
				      void *arg);
/* Every recorded session of instance ("" on SQLite, [cluster] instance
 * on PostgreSQL), by broker and client id; cb returns false to stop. */
ga_err store_mqtt_session_each(struct store *s, const char *instance, store_mqtt_session_cb cb,
			       void *arg);
/* Records a session of instance at broker (or its new filter). */
ga_err store_mqtt_session_put(struct store *s, const char *instance, const char *broker,
			      const char *client_id, const char *topic);
/* Forgets a session the broker no longer has. */
ga_err store_mqtt_session_delete(struct store *s, const char *broker, const char *client_id);

/*
 * Several instances on one database (spec §10; store_cluster.c). Each
 * verb is one statement or two: the caller holds the transaction.
 */
#define STORE_INSTANCE_MAX 64

/* Records instance as started now: its heartbeat now, not taken over. */
ga_err store_cluster_join(struct store *s, const char *instance, int64_t now_ms);
/* The instance's heartbeat, unless another instance has claimed it: then
 * GA_ERR_CONFLICT, nothing written and taker names the claimant (its
 * takeover is going on). GA_ERR_NOTFOUND when the row is gone (taken over
 * and forgotten while it was away: join again). taker is "" otherwise. */
ga_err store_cluster_heartbeat(struct store *s, const char *instance, int64_t now_ms, char *taker,
			       size_t takerlen);
/* Takes instance back from a claimant taker that has been silent itself
 * since silent_before_ms (or is gone): a takeover abandoned half-way.
 * *done says whether the claim was cleared. */
ga_err store_cluster_reclaim(struct store *s, const char *instance, const char *taker,
			     int64_t silent_before_ms, bool *done);
/* Takes the lease name for holder until expires_ms when it is free,
 * expired (expires_ms <= now_ms) or already holder's: *held says whether
 * holder has it now. */
ga_err store_cluster_lease(struct store *s, const char *name, const char *holder, int64_t now_ms,
			   int64_t expires_ms, bool *held);
/* Claims for me one instance other than me whose heartbeat is older than
 * silent_before_ms and that nobody has taken yet: its name in out (""
 * when there is none). */
ga_err store_cluster_claim(struct store *s, const char *me, int64_t now_ms,
			   int64_t silent_before_ms, char *out, size_t outlen);
/* Hands back me's claim (store_cluster_claim) whose takeover did not end
 * every session: the instance may be claimed again. Nothing when me no
 * longer holds the claim (the instance took itself back). */
ga_err store_cluster_release(struct store *s, const char *instance, const char *me);
/* Forgets an instance whose work me took over (its row), only while me
 * holds the claim. */
ga_err store_cluster_forget(struct store *s, const char *instance, const char *me);

/* === the keys the deployment signs with (issue 12; store_keys.c) =====
 * One row per purpose: the public key id of the key that signs it (what
 * sign_key_id and cap_sign_key_id print), never the secret, and when it
 * was recorded. Every instance on the database must sign with these. */
#define STORE_KEY_PURPOSE_MAX 16
#define STORE_KEY_ID_MAX 64
#define STORE_KEY_ALERT "alert" /* [alerts] signing_key_file */
#define STORE_KEY_CAP "cap"	/* [alerts] cap_signing_key_file */

struct store_key {
	const char *purpose; /* in: STORE_KEY_ALERT... (borrowed) */
	const char *key_id;  /* in: this process's key's id (borrowed) */
	/* out: the id the database records for purpose ("" when none),
	 * when it was recorded, and whether it was recorded by this call */
	char recorded[STORE_KEY_ID_MAX];
	int64_t recorded_ms;
	bool recorded_now;
};

/* In one transaction of its own (on PostgreSQL under the transaction
 * lock, so that instances starting at once take turns): records key_id
 * for each purpose of keys[0..n-1] that has none recorded, and reads back
 * what is recorded for each. GA_OK when every recorded id equals key_id:
 * committed. GA_ERR_CONFLICT when one differs: rolled back (nothing
 * recorded by this call, recorded_now false for every key), recorded and
 * recorded_ms filled for every key so the caller can name them. Else a
 * database error, nothing recorded. */
ga_err store_keys_check(struct store *s, struct store_key *keys, size_t n, int64_t now_ms);

/* In one transaction of its own: records key_id for each purpose,
 * replacing what was recorded (`geoalert keys adopt`; an id recorded
 * already keeps its recorded_ms); recorded and recorded_ms are what was
 * recorded before ("" and 0 when none), recorded_now true. */
ga_err store_keys_adopt(struct store *s, struct store_key *keys, size_t n, int64_t now_ms);

/* Reads what is recorded for each purpose (no transaction needed):
 * recorded "" and recorded_ms 0 when none; recorded_now false. */
ga_err store_keys_get(struct store *s, struct store_key *keys, size_t n);

#endif
