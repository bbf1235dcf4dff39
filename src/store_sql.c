/* store_sql.c - every SQL text of the store: the schema migrations
 * and the statements prepared at open. The one place to read (and to port
 * to another backend).
 *
 * Conventions: enums are stored by their contract names (kind,
 * hazard_type, figure) so the database reads without the code; level is
 * stored as its severity rank 0..3 (small..extra_large) so it sorts and
 * compares in SQL. Each figure is a nullable REAL column (NULL: not given),
 * the columns in the order of enum figure. Times are Unix milliseconds.
 *
 * Dialect. The statements (store_stmt_sql, and those prepared per call in
 * store_officer.c, store_riskwarning.c, store_timeliness.c) are written
 * for both backends of db.h: row ids come back with RETURNING id, an
 * ignored duplicate is ON CONFLICT DO NOTHING, a parameter PostgreSQL
 * cannot type from its context (a SELECT list, VALUES, `? IS NULL`) is
 * CAST, an upsert names its table's columns (`incident_seq.n`: a bare
 * column is ambiguous to PostgreSQL beside excluded's). Each one but
 * those below was prepared (not run) on PostgreSQL 15 over a translation
 * of the schema's tables. Still SQLite only:
 *   STMT_BEGIN            BEGIN IMMEDIATE (PostgreSQL: BEGIN)
 *   STMT_PING             reads sqlite_schema (PostgreSQL: e.g. SELECT 1)
 *   STMT_INCIDENT_BY_HP   ORDER BY ..., rowid DESC: incidents' key is
 *                         TEXT, rowid is the order of insertion
 *   timeliness_sql        group_concat(o.name, ','); store_timeliness.c
 *   (store_timeliness.c)  has timeliness_sql_pg with string_agg
 * The migrations below stay SQLite's dialect (WITHOUT ROWID, json_valid,
 * triggers); PostgreSQL's schema is written apart. */
#include "store_device.h"
#include "store_internal.h"
#include "store_riskwarning.h"

#define FIGURE_COLUMNS_DDL                                                                         \
	"deaths REAL, missing REAL, injured REAL, relocated_people REAL,"                          \
	" direct_loss_cny REAL, threatened_people REAL, threatened_property_cny REAL"

#define FIGURE_COLUMNS                                                                             \
	"deaths, missing, injured, relocated_people, direct_loss_cny, threatened_people,"          \
	" threatened_property_cny"

#define HAZARD_TYPES                                                                               \
	"('collapse','landslide','debris_flow','ground_collapse','ground_fissure',"                \
	"'land_subsidence')"

/* Every column of alert_drafts, for the rebuild that copies it. */
#define ALERT_DRAFT_COLUMNS_ALL                                                                    \
	"id, alert_id, version, msg_type, state, below_level, level, prev_level, kind,"            \
	" hazard_type, headline, situation, causes, response, trend, admin_code, admin_name,"      \
	" place, " FIGURE_COLUMNS ", lon, lat, observed_ms, created_ms, confirmed_ms,"             \
	" published_ms, escalated_ms, reject_reason, cancel_reason, supersedes, refs,"             \
	" fingerprint"

/* Never edit a migration once released: add a new one at the end. */
const char *const store_migrations[] = {
    /* 1: the initial schema. */
    "CREATE TABLE incidents ("
    " id TEXT PRIMARY KEY NOT NULL,"
    " hazard_type TEXT NOT NULL CHECK (hazard_type IN " HAZARD_TYPES "),"
    " hazard_point_id TEXT NOT NULL DEFAULT '',"
    " lon REAL, lat REAL," /* NULL when the opening report had no point */
    " admin_code TEXT NOT NULL DEFAULT '',"
    " first_observed_ms INTEGER NOT NULL,"
    " last_observed_ms INTEGER NOT NULL,"
    " created_ms INTEGER NOT NULL,"
    " updated_ms INTEGER NOT NULL,"
    " has_disaster INTEGER NOT NULL DEFAULT 0 CHECK (has_disaster IN (0, 1)),"
    " level INTEGER NOT NULL CHECK (level BETWEEN 0 AND 3),"
    " nreports INTEGER NOT NULL DEFAULT 0,"
    " open INTEGER NOT NULL DEFAULT 1 CHECK (open IN (0, 1)),"
    " " FIGURE_COLUMNS_DDL ");"
    /* Grouping lookups only ever look at open incidents. */
    "CREATE INDEX incidents_by_hazard_point ON incidents"
    " (hazard_point_id, hazard_type, last_observed_ms) WHERE open = 1;"
    "CREATE INDEX incidents_by_type_time ON incidents"
    " (hazard_type, last_observed_ms) WHERE open = 1;"
    "CREATE INDEX incidents_by_updated ON incidents (updated_ms);"

    "CREATE TABLE reports ("
    " id INTEGER PRIMARY KEY,"
    " station_id TEXT NOT NULL,"
    " report_id TEXT NOT NULL,"
    " topic TEXT NOT NULL,"
    " raw BLOB NOT NULL,"
    " received_ms INTEGER NOT NULL,"
    " observed_ms INTEGER NOT NULL,"
    " observed_offset_min INTEGER NOT NULL DEFAULT 0,"
    " kind TEXT NOT NULL CHECK (kind IN ('danger', 'disaster')),"
    " hazard_type TEXT NOT NULL CHECK (hazard_type IN " HAZARD_TYPES "),"
    " lon REAL, lat REAL," /* NULL when the report had no point */
    " admin_code TEXT NOT NULL DEFAULT '',"
    " hazard_point_id TEXT NOT NULL DEFAULT '',"
    " place TEXT, causes TEXT, trend TEXT, measures TEXT,"
    " volume_m3 REAL, area_m2 REAL,"
    " incident_id TEXT REFERENCES incidents (id),"
    " level INTEGER CHECK (level BETWEEN 0 AND 3),"
    " " FIGURE_COLUMNS_DDL ","
    " UNIQUE (station_id, report_id));"
    /* An incident's reports, and "a report observed within the window". */
    "CREATE INDEX reports_by_incident ON reports (incident_id, observed_ms);"
    "CREATE INDEX reports_by_received ON reports (received_ms);"

    "CREATE TABLE rejected ("
    " id INTEGER PRIMARY KEY,"
    " topic TEXT NOT NULL,"
    " raw BLOB NOT NULL,"
    " received_ms INTEGER NOT NULL,"
    " reasons TEXT NOT NULL);" /* JSON array, as in the receipt */
    "CREATE INDEX rejected_by_received ON rejected (received_ms);"

    /* Each station's latest value of each figure of an incident. */
    "CREATE TABLE incident_station_figures ("
    " incident_id TEXT NOT NULL REFERENCES incidents (id),"
    " station_id TEXT NOT NULL,"
    " figure TEXT NOT NULL,"
    " observed_ms INTEGER NOT NULL,"
    " value REAL NOT NULL,"
    " PRIMARY KEY (incident_id, station_id, figure)) WITHOUT ROWID;"

    /* Last incident number given per day (YYYYMMDD at the id offset). */
    "CREATE TABLE incident_seq ("
    " day TEXT PRIMARY KEY NOT NULL,"
    " n INTEGER NOT NULL) WITHOUT ROWID;"

    /* Receipts written with their report and deleted once the broker has
     * acknowledged them: what is left after a crash is sent again. */
    "CREATE TABLE outbox ("
    " id INTEGER PRIMARY KEY,"
    " topic TEXT NOT NULL,"
    " payload TEXT NOT NULL,"
    " created_ms INTEGER NOT NULL);",

    /* 2: officers, console sessions, login attempts and the audit trail. */
    /* token_hash is the SHA-256 (hex) of the officer's API token. The
     * token is 32 random bytes, so a fast unsalted hash is right: there is
     * nothing to brute-force (2^256 guesses), it stays a unique lookup key,
     * and a copy of the database does not hand out working tokens.
     * Passwords are low-entropy and get argon2id (password_hash) instead. */
    "CREATE TABLE officers ("
    " id INTEGER PRIMARY KEY,"
    " name TEXT NOT NULL UNIQUE,"
    " role TEXT NOT NULL CHECK (role IN ('duty_officer', 'supervisor', 'admin')),"
    " password_hash TEXT," /* argon2id string; NULL: no console login */
    " token_hash TEXT UNIQUE,"
    " created_ms INTEGER NOT NULL,"
    " disabled INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)));"

    /* id is the SHA-256 (hex) of the session cookie, for the same reason
     * as token_hash. The CSRF token is kept as is: it is worthless
     * without the cookie. */
    "CREATE TABLE sessions ("
    " id TEXT PRIMARY KEY NOT NULL,"
    " officer_id INTEGER NOT NULL REFERENCES officers (id),"
    " csrf TEXT NOT NULL,"
    " created_ms INTEGER NOT NULL,"
    " last_seen_ms INTEGER NOT NULL,"
    " expires_ms INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE INDEX sessions_by_expiry ON sessions (expires_ms);"

    /* Console logins, for the rate limit: by name and by remote address. */
    "CREATE TABLE login_attempts ("
    " id INTEGER PRIMARY KEY,"
    " at_ms INTEGER NOT NULL,"
    " name TEXT NOT NULL,"
    " remote TEXT NOT NULL,"
    " ok INTEGER NOT NULL CHECK (ok IN (0, 1)));"
    "CREATE INDEX login_attempts_by_name ON login_attempts (name, at_ms);"
    "CREATE INDEX login_attempts_by_remote ON login_attempts (remote, at_ms);"
    "CREATE INDEX login_attempts_by_time ON login_attempts (at_ms);"

    /* Append-only, hash-chained (store_audit.c): hash = SHA-256 of the
     * row's canonical form, which includes prev_hash, the hash of row
     * seq - 1 (64 zeros for seq 1). The triggers stop honest mistakes and
     * the service itself; someone who can write the file can drop them,
     * which is what audit_verify is for. */
    "CREATE TABLE audit ("
    " seq INTEGER PRIMARY KEY,"
    " at_ms INTEGER NOT NULL,"
    " officer_id INTEGER REFERENCES officers (id)," /* NULL: the service or the CLI */
    " action TEXT NOT NULL,"
    " subject TEXT NOT NULL DEFAULT '',"
    " detail TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(detail)),"
    " prev_hash TEXT NOT NULL,"
    " hash TEXT NOT NULL);"
    "CREATE INDEX audit_by_subject ON audit (subject, seq);"
    "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit"
    " BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;"
    "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit"
    " BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;",

    /* 3: alert drafts and their confirmations (workflow.h). A draft gets
     * its version when published; until then version is NULL (UNIQUE
     * lets NULLs repeat). Texts are what officers confirmed, as
     * published. refs is the JSON array of earlier "alert_id:version"s;
     * fingerprint the workflow's hash of what makes an update. */
    "CREATE TABLE alert_drafts ("
    " id INTEGER PRIMARY KEY,"
    " alert_id TEXT NOT NULL REFERENCES incidents (id),"
    " version INTEGER CHECK (version > 0),"
    " msg_type TEXT NOT NULL CHECK (msg_type IN ('alert', 'update', 'cancel')),"
    " state TEXT NOT NULL CHECK (state IN ('pending', 'superseded', 'published', 'rejected')),"
    " below_level INTEGER NOT NULL DEFAULT 0 CHECK (below_level IN (0, 1)),"
    " level INTEGER NOT NULL CHECK (level BETWEEN 0 AND 3),"
    " prev_level INTEGER CHECK (prev_level BETWEEN 0 AND 3),"
    " kind TEXT NOT NULL CHECK (kind IN ('danger', 'disaster')),"
    " hazard_type TEXT NOT NULL CHECK (hazard_type IN " HAZARD_TYPES "),"
    " headline TEXT NOT NULL, situation TEXT NOT NULL, causes TEXT NOT NULL,"
    " response TEXT NOT NULL, trend TEXT NOT NULL,"
    " admin_code TEXT NOT NULL DEFAULT '',"
    " admin_name TEXT NOT NULL DEFAULT '',"
    " place TEXT NOT NULL DEFAULT '',"
    " " FIGURE_COLUMNS_DDL ","
    " lon REAL, lat REAL,"
    " observed_ms INTEGER NOT NULL,"
    " created_ms INTEGER NOT NULL,"
    " confirmed_ms INTEGER, published_ms INTEGER, escalated_ms INTEGER,"
    " reject_reason TEXT, cancel_reason TEXT,"
    " supersedes INTEGER REFERENCES alert_drafts (id),"
    " refs TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(refs)),"
    " fingerprint TEXT NOT NULL DEFAULT '',"
    " UNIQUE (alert_id, version));"
    /* The newest draft of an alert (every workflow step starts there). */
    "CREATE INDEX alert_drafts_by_alert ON alert_drafts (alert_id, id);"
    /* At most one pending draft per alert: the store refuses a second. */
    "CREATE UNIQUE INDEX alert_drafts_pending ON alert_drafts (alert_id)"
    " WHERE state = 'pending';"
    /* Escalation: pending drafts by age. */
    "CREATE INDEX alert_drafts_pending_by_created ON alert_drafts (created_ms)"
    " WHERE state = 'pending';"
    "CREATE INDEX alert_drafts_by_state ON alert_drafts (state, id);"

    /* Who confirmed which draft; the same officer twice is one row. */
    "CREATE TABLE alert_confirmations ("
    " draft_id INTEGER NOT NULL REFERENCES alert_drafts (id),"
    " officer_id INTEGER NOT NULL REFERENCES officers (id),"
    " at_ms INTEGER NOT NULL,"
    " PRIMARY KEY (draft_id, officer_id)) WITHOUT ROWID;"

    /* Each station's latest report of an incident, found without
     * reading the incident's other reports (STMT_REPORTS_LATEST). */
    "CREATE INDEX reports_by_incident_station ON reports"
    " (incident_id, station_id, observed_ms);",

    /* 4: the delivery ledger (delivery.h): one row per published version
     * and channel, written in the publishing transaction. idem_key is
     * "{alert_id}:{version}", the same for every attempt. next_attempt_ms
     * of a row being sent is when to try again if no answer is recorded
     * (a crash mid-send): such a row is retried with the same key. */
    "CREATE TABLE deliveries ("
    " id INTEGER PRIMARY KEY,"
    " alert_id TEXT NOT NULL,"
    " version INTEGER NOT NULL CHECK (version > 0),"
    " msg_type TEXT NOT NULL CHECK (msg_type IN ('alert', 'update', 'cancel')),"
    " channel TEXT NOT NULL,"
    " state TEXT NOT NULL CHECK (state IN ('pending', 'sending', 'delivered', 'failed')),"
    " attempts INTEGER NOT NULL DEFAULT 0,"
    " next_attempt_ms INTEGER NOT NULL,"
    " deadline_ms INTEGER NOT NULL,"
    " last_error TEXT NOT NULL DEFAULT '',"
    " idem_key TEXT NOT NULL,"
    " created_ms INTEGER NOT NULL,"
    " delivered_ms INTEGER,"
    " UNIQUE (alert_id, version, channel));"
    /* The worker's poll: what is due, among the few rows not finished. */
    "CREATE INDEX deliveries_due ON deliveries (next_attempt_ms)"
    " WHERE state IN ('pending', 'sending');"
    "CREATE INDEX deliveries_by_alert_channel ON deliveries (alert_id, channel, version);",

    /* 5: a report's full region name next to its code (spec issue 3:
     * "江苏省无锡市宜兴市"); '' for reports stored before. */
    "ALTER TABLE reports ADD COLUMN admin_name TEXT NOT NULL DEFAULT '';",

    /* 6: a multi-step delivery's progress (channel.h, struct
     * channel_job): the next step and what the steps done hand to it, so
     * a retry resumes there instead of repeating an SMS batch or a
     * WeChat draft that went through. */
    "ALTER TABLE deliveries ADD COLUMN step INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE deliveries ADD COLUMN scratch TEXT NOT NULL DEFAULT '';",

    /* 7: the notices to duty officers and supervisors (notify.h), kept
     * until their webhook takes them or their deadline passes: an
     * escalation must not be lost to a webhook down for a while or to a
     * restart. The URL is the audience's in the config of the run that
     * sends it. */
    "CREATE TABLE notices ("
    " id INTEGER PRIMARY KEY,"
    " audience TEXT NOT NULL CHECK (audience IN ('officers', 'supervisors')),"
    " event TEXT NOT NULL,"
    " body TEXT NOT NULL,"
    " state TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),"
    " attempts INTEGER NOT NULL DEFAULT 0,"
    " next_attempt_ms INTEGER NOT NULL,"
    " deadline_ms INTEGER NOT NULL,"
    " last_error TEXT NOT NULL DEFAULT '',"
    " created_ms INTEGER NOT NULL,"
    " delivered_ms INTEGER);"
    "CREATE INDEX notices_due ON notices (next_attempt_ms) WHERE state = 'pending';",

    /* 8: the persistent MQTT sessions geoalert has at the broker, by
     * client id, with the filter each subscribed to: a session no longer
     * in use (a smaller [mqtt] sessions, another client_id) still gets a
     * share of the reports from mosquitto, so it is drained and ended at
     * the next start (ingest_connect.c), and its row deleted. A database
     * that has taken reports before this migration does not know its
     * sessions: the row '*' asks for every {client_id}-N up to the
     * largest [mqtt] sessions to be tried once. */
    "CREATE TABLE mqtt_sessions ("
    " client_id TEXT PRIMARY KEY NOT NULL,"
    " topic TEXT NOT NULL);"
    "INSERT INTO mqtt_sessions (client_id, topic)"
    " SELECT '*', '' WHERE EXISTS (SELECT 1 FROM reports);",

    /* 9 (issue 10): what officers wrote into a draft, kept so that the
     * next version carries it. edits: {field: the text the templates had
     * composed for it} for each field whose text is an officer's (edited
     * at a confirmation, or carried from the version before); carried and
     * changed: the fields carried into this draft, and those of them
     * whose source facts changed since (JSON arrays of names). */
    "CREATE TABLE IF NOT EXISTS alert_draft_edits ("
    " draft_id INTEGER PRIMARY KEY NOT NULL REFERENCES alert_drafts (id),"
    " edits TEXT NOT NULL DEFAULT '{}',"
    " carried TEXT NOT NULL DEFAULT '[]',"
    " changed TEXT NOT NULL DEFAULT '[]');",

    /* 10 (issue 15): a rejected payload keeps at most its first 64 KiB (raw), with
     * the whole payload's length and SHA-256 (lowercase hex); NULL in
     * rows from before, whose raw is whole. */
    "ALTER TABLE rejected ADD COLUMN raw_len INTEGER;"
    "ALTER TABLE rejected ADD COLUMN raw_sha256 TEXT;",

    /* 11: /metrics in constant time (issue 15, "At scale"): no gauge may
     * read rows that grow with the reports or the published alerts.
     * delivery_counts is the ledger's row count by channel and state,
     * kept by triggers in the transaction that changes the ledger, so it
     * is right after any restart and whoever writes deliveries.
     * report_counts holds per-minute counts the writer adds in the
     * report's own transaction ('old_observed': accepted with the receipt
     * warning "old"); the rows of the last hours are all a gauge reads,
     * and retention deletes older ones. Seeded from the reports of the
     * last 25 h at the default max_observed_age (7 days). The partial
     * index lets the failed deliveries of the last day be counted
     * without reading the delivered ones. */
    "CREATE TABLE delivery_counts ("
    " channel TEXT NOT NULL,"
    " state TEXT NOT NULL,"
    " n INTEGER NOT NULL,"
    " PRIMARY KEY (channel, state)) WITHOUT ROWID;"
    "INSERT INTO delivery_counts (channel, state, n)"
    " SELECT channel, state, count(*) FROM deliveries GROUP BY channel, state;"
    "CREATE TRIGGER deliveries_count_insert AFTER INSERT ON deliveries BEGIN"
    " INSERT INTO delivery_counts (channel, state, n) VALUES (NEW.channel, NEW.state, 1)"
    "  ON CONFLICT (channel, state) DO UPDATE SET n = n + 1;"
    " END;"
    "CREATE TRIGGER deliveries_count_update AFTER UPDATE OF channel, state ON deliveries"
    " WHEN OLD.channel IS NOT NEW.channel OR OLD.state IS NOT NEW.state BEGIN"
    " UPDATE delivery_counts SET n = n - 1 WHERE channel = OLD.channel AND state = OLD.state;"
    " INSERT INTO delivery_counts (channel, state, n) VALUES (NEW.channel, NEW.state, 1)"
    "  ON CONFLICT (channel, state) DO UPDATE SET n = n + 1;"
    " END;"
    "CREATE TRIGGER deliveries_count_delete AFTER DELETE ON deliveries BEGIN"
    " UPDATE delivery_counts SET n = n - 1 WHERE channel = OLD.channel AND state = OLD.state;"
    " END;"
    "CREATE INDEX deliveries_failed_by_created ON deliveries (created_ms)"
    " WHERE state = 'failed';"
    "CREATE TABLE report_counts ("
    " what TEXT NOT NULL,"
    " minute_ms INTEGER NOT NULL,"
    " n INTEGER NOT NULL,"
    " PRIMARY KEY (what, minute_ms)) WITHOUT ROWID;"
    "INSERT INTO report_counts (what, minute_ms, n)"
    " SELECT 'old_observed', received_ms / 60000 * 60000, count(*) FROM reports"
    " WHERE received_ms >= (CAST(strftime('%s', 'now') AS INTEGER) - 90000) * 1000"
    " AND received_ms - observed_ms > 604800000"
    " GROUP BY received_ms / 60000;",

    /* 12 (issue 14): regional risk warning products (riskwarning.h): one row
     * per product_id, the payload as received (raw) and as validated
     * (product: the JSON with its counties expanded, officers' edits
     * applied), its sign-off (store_riskwarning.c). */
    STORE_RISKWARNING_MIGRATION,

    /* Several instances on one database (spec §10; store_cluster.c):
     * each instance's heartbeat and who took over its work when it went
     * silent; the leases of the duties one instance runs at a time; and
     * the instance each MQTT session belongs to ('' on SQLite: one). */
    "CREATE TABLE IF NOT EXISTS cluster_instances ("
    " name TEXT PRIMARY KEY NOT NULL,"
    " started_ms INTEGER NOT NULL,"
    " heartbeat_ms INTEGER NOT NULL,"
    " taken_by TEXT,"
    " taken_ms INTEGER) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS cluster_leases ("
    " name TEXT PRIMARY KEY NOT NULL,"
    " holder TEXT NOT NULL,"
    " expires_ms INTEGER NOT NULL) WITHOUT ROWID;"
    "ALTER TABLE mqtt_sessions ADD COLUMN instance TEXT NOT NULL DEFAULT '';",

    /* (issue 13): monitoring devices' points, malformed frames kept raw,
     * each hazard point's level and its changes (store_device.h). */
    STORE_DEVICE_MIGRATION,

    /* (issue 13, drafts of kind warning): alert_drafts.kind may be
     * 'warning' (a draft made from monitoring devices' levels, spec §12),
     * and device_incidents names, per hazard point (station), the incident
     * its warnings are drafted for (a row from its first draft on).
     * SQLite cannot alter a CHECK: the table is rebuilt by the 12 steps of
     * sqlite.org/lang_altertable.html — the runner (store.c) turns
     * foreign keys off around the migration and runs
     * PRAGMA foreign_key_check before its commit; here: the new table
     * under another name, the rows copied with their ids, the old table
     * dropped, the new one renamed, its indexes made again (it has no
     * triggers or views). reports keep their CHECK: a report is never a
     * warning (report_check.c refuses it). */
    "CREATE TABLE new_alert_drafts ("
    " id INTEGER PRIMARY KEY,"
    " alert_id TEXT NOT NULL REFERENCES incidents (id),"
    " version INTEGER CHECK (version > 0),"
    " msg_type TEXT NOT NULL CHECK (msg_type IN ('alert', 'update', 'cancel')),"
    " state TEXT NOT NULL CHECK (state IN ('pending', 'superseded', 'published', 'rejected')),"
    " below_level INTEGER NOT NULL DEFAULT 0 CHECK (below_level IN (0, 1)),"
    " level INTEGER NOT NULL CHECK (level BETWEEN 0 AND 3),"
    " prev_level INTEGER CHECK (prev_level BETWEEN 0 AND 3),"
    " kind TEXT NOT NULL CHECK (kind IN ('danger', 'disaster', 'warning')),"
    " hazard_type TEXT NOT NULL CHECK (hazard_type IN " HAZARD_TYPES "),"
    " headline TEXT NOT NULL, situation TEXT NOT NULL, causes TEXT NOT NULL,"
    " response TEXT NOT NULL, trend TEXT NOT NULL,"
    " admin_code TEXT NOT NULL DEFAULT '',"
    " admin_name TEXT NOT NULL DEFAULT '',"
    " place TEXT NOT NULL DEFAULT '',"
    " " FIGURE_COLUMNS_DDL ","
    " lon REAL, lat REAL,"
    " observed_ms INTEGER NOT NULL,"
    " created_ms INTEGER NOT NULL,"
    " confirmed_ms INTEGER, published_ms INTEGER, escalated_ms INTEGER,"
    " reject_reason TEXT, cancel_reason TEXT,"
    " supersedes INTEGER REFERENCES alert_drafts (id),"
    " refs TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(refs)),"
    " fingerprint TEXT NOT NULL DEFAULT '',"
    " UNIQUE (alert_id, version));"
    "INSERT INTO new_alert_drafts (" ALERT_DRAFT_COLUMNS_ALL ")"
    " SELECT " ALERT_DRAFT_COLUMNS_ALL " FROM alert_drafts;"
    "DROP TABLE alert_drafts;"
    "ALTER TABLE new_alert_drafts RENAME TO alert_drafts;"
    "CREATE INDEX alert_drafts_by_alert ON alert_drafts (alert_id, id);"
    "CREATE UNIQUE INDEX alert_drafts_pending ON alert_drafts (alert_id)"
    " WHERE state = 'pending';"
    "CREATE INDEX alert_drafts_pending_by_created ON alert_drafts (created_ms)"
    " WHERE state = 'pending';"
    "CREATE INDEX alert_drafts_by_state ON alert_drafts (state, id);"
    "CREATE TABLE IF NOT EXISTS device_incidents ("
    " station_id TEXT PRIMARY KEY NOT NULL,"
    " incident_id TEXT NOT NULL REFERENCES incidents (id)) WITHOUT ROWID;",

    /* Several brokers (spec §10, [mqtt] url with more than one): a client
     * id has a session on each broker, so a session is known by its
     * broker and client id; and a receipt waiting in the outbox goes out
     * on the broker its report came in on, where the station listens.
     * broker is the canonical url (config_broker); '' in the rows from
     * before: the first broker of [mqtt] url for a session, any broker
     * for a receipt. SQLite cannot change a primary key: the table is
     * made again, broker last as PostgreSQL's ADD COLUMN puts it (store
     * copy matches columns by name either way). */
    "CREATE TABLE mqtt_sessions_brokers ("
    " client_id TEXT NOT NULL,"
    " topic TEXT NOT NULL,"
    " instance TEXT NOT NULL DEFAULT '',"
    " broker TEXT NOT NULL DEFAULT '',"
    " PRIMARY KEY (broker, client_id));"
    "INSERT INTO mqtt_sessions_brokers (client_id, topic, instance, broker)"
    " SELECT client_id, topic, instance, '' FROM mqtt_sessions;"
    "DROP TABLE mqtt_sessions;"
    "ALTER TABLE mqtt_sessions_brokers RENAME TO mqtt_sessions;"
    "ALTER TABLE outbox ADD COLUMN broker TEXT NOT NULL DEFAULT '';",

    /* (issue 12) The incidents' generation: one row, its n bumped by every
     * transaction that writes incidents (the first write of each,
     * store_incident.c), read by the ingest writer after it takes the
     * transaction lock, so that its in-memory index of open incidents
     * (incident_index.h) knows when another instance, or another path,
     * changed incidents since its own last commit. No row yet reads as 0
     * (the row is made by the first bump: an empty table is what `store
     * copy` asks of its target). */
    "CREATE TABLE IF NOT EXISTS incident_gen ("
    " one INTEGER PRIMARY KEY CHECK (one = 1),"
    " n INTEGER NOT NULL);"
    /* Each incident row carries the generation of the transaction that
     * wrote it last: the index refreshes what changed since its own last
     * commit (gen > that) instead of rebuilding (store_incident_recent.h). */
    "ALTER TABLE incidents ADD COLUMN gen INTEGER NOT NULL DEFAULT 0;"
    "CREATE INDEX IF NOT EXISTS incidents_by_gen ON incidents (gen);",

    /* (issue 12) The keys the deployment signs with (store_keys.c): one
     * row per purpose ('alert': [alerts] signing_key_file, 'cap':
     * cap_signing_key_file), the public key id only, never the secret.
     * Recorded by the first serve on the database; a serve whose key ids
     * differ refuses to start (`geoalert keys adopt` records new ones). */
    "CREATE TABLE IF NOT EXISTS signing_keys ("
    " purpose TEXT PRIMARY KEY NOT NULL,"
    " key_id TEXT NOT NULL,"
    " recorded_ms INTEGER NOT NULL);",
};

const int store_nmigrations = (int)(sizeof(store_migrations) / sizeof(store_migrations[0]));

const char *const store_stmt_sql[STMT_ID_COUNT] = {
    [STMT_BEGIN] = "BEGIN IMMEDIATE",
    [STMT_COMMIT] = "COMMIT",
    [STMT_ROLLBACK] = "ROLLBACK",
    /* Reads the schema: fails when the file is gone, corrupt or locked. */
    [STMT_PING] = "SELECT count(*) FROM sqlite_schema",
    [STMT_COUNT_REPORTS] = "SELECT count(*) FROM reports",
    [STMT_COUNT_REJECTED] = "SELECT count(*) FROM rejected",
    [STMT_COUNT_INCIDENTS] = "SELECT count(*) FROM incidents",

    [STMT_REPORT_FIND] = "SELECT incident_id, level FROM reports"
			 " WHERE station_id = ?1 AND report_id = ?2",
    [STMT_REPORT_PUT] =
	"INSERT INTO reports (station_id, report_id, topic, raw, received_ms, observed_ms,"
	" observed_offset_min, kind, hazard_type, lon, lat, admin_code, hazard_point_id,"
	" place, causes, trend, measures, volume_m3, area_m2, incident_id, level, " FIGURE_COLUMNS
	", admin_name) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15,"
	" ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28, ?29)"
	/* A duplicate inserts nothing and raises nothing (store_report_put:
	 * no row changed): on PostgreSQL no error, so no savepoint is
	 * needed to keep the group's transaction usable (store_pg.c). */
	" ON CONFLICT (station_id, report_id) DO NOTHING",
    [STMT_REJECTED_PUT] = "INSERT INTO rejected (topic, raw, received_ms, reasons, raw_len,"
			  " raw_sha256) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",

    [STMT_INCIDENT_GET] = "SELECT " STORE_INCIDENT_COLUMNS " FROM incidents WHERE id = ?1",
    /* ?3 = t - window, ?4 = t + window. The span test uses the index; the
     * EXISTS makes it exact when the incident's reports have gaps. */
    [STMT_INCIDENT_BY_HP] = "SELECT " STORE_INCIDENT_COLUMNS " FROM incidents i"
			    " WHERE open = 1 AND hazard_point_id = ?1 AND hazard_type = ?2"
			    " AND last_observed_ms >= ?3 AND first_observed_ms <= ?4"
			    " AND EXISTS (SELECT 1 FROM reports r WHERE r.incident_id = i.id"
			    "  AND r.observed_ms BETWEEN ?3 AND ?4)"
			    " ORDER BY updated_ms DESC, rowid DESC LIMIT 1",
    [STMT_INCIDENT_NEAR] = "SELECT " STORE_INCIDENT_COLUMNS " FROM incidents i"
			   " WHERE open = 1 AND hazard_type = ?1"
			   " AND last_observed_ms >= ?2 AND first_observed_ms <= ?3"
			   " AND lon BETWEEN ?4 AND ?5 AND lat BETWEEN ?6 AND ?7"
			   " AND EXISTS (SELECT 1 FROM reports r WHERE r.incident_id = i.id"
			   "  AND r.observed_ms BETWEEN ?2 AND ?3)"
			   " ORDER BY id",
    /* ?7 to ?20: what reports change, in the order of the update's ?2 to
     * ?15 (store_incident_bind_state). */
    [STMT_INCIDENT_INSERT] =
	"INSERT INTO incidents (id, hazard_type, hazard_point_id, lon, lat, admin_code,"
	" first_observed_ms, last_observed_ms, updated_ms, has_disaster, level, nreports, open,"
	" " FIGURE_COLUMNS ", created_ms, gen) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10,"
	" ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22)",
    /* The id, type, first point and created time never change. */
    [STMT_INCIDENT_UPDATE] =
	"UPDATE incidents SET first_observed_ms = ?2, last_observed_ms = ?3, updated_ms = ?4,"
	" has_disaster = ?5, level = ?6, nreports = ?7, open = ?8, deaths = ?9, missing = ?10,"
	" injured = ?11, relocated_people = ?12, direct_loss_cny = ?13, threatened_people = ?14,"
	" threatened_property_cny = ?15, gen = ?16 WHERE id = ?1",
    [STMT_SEQ_NEXT] = "INSERT INTO incident_seq (day, n) VALUES (?1, 1)"
		      " ON CONFLICT (day) DO UPDATE SET n = incident_seq.n + 1 RETURNING n",
    /* All figures of one report in one statement: (?4 name, ?5 value),
     * (?6, ?7) ... (?16, ?17), a NULL value for a figure not given. Keeps
     * the station's latest value: an older observation (a late or
     * replayed report) does not overwrite a newer one; an equal time does.
     * (The WHERE before ON CONFLICT is SQLite's rule for an upsert from a
     * SELECT. The CASTs type ?3 and the values for PostgreSQL; to SQLite
     * they change nothing: ?3 is bound an integer, the values reals or
     * NULL.) */
    [STMT_FIGURE_UPSERT] =
	"INSERT INTO incident_station_figures (incident_id, station_id, figure, observed_ms,"
	" value) SELECT ?1, ?2, f.column1, CAST(?3 AS BIGINT), f.column2"
	" FROM (VALUES (?4, CAST(?5 AS DOUBLE PRECISION)), (?6, ?7),"
	" (?8, ?9), (?10, ?11), (?12, ?13), (?14, ?15), (?16, ?17)) AS f"
	" WHERE f.column2 IS NOT NULL"
	" ON CONFLICT (incident_id, station_id, figure) DO UPDATE"
	" SET observed_ms = excluded.observed_ms, value = excluded.value"
	" WHERE excluded.observed_ms >= incident_station_figures.observed_ms",
    [STMT_OUTBOX_PUT] = "INSERT INTO outbox (topic, payload, created_ms, broker)"
			" VALUES (?1, ?2, ?3, ?4) RETURNING id",
    /* A run of acknowledged receipts: ids ?1 to ?2. */
    [STMT_OUTBOX_DELETE] = "DELETE FROM outbox WHERE id BETWEEN ?1 AND ?2",
    [STMT_OUTBOX_ALL] = "SELECT id, topic, payload, broker FROM outbox ORDER BY id",
    [STMT_INCIDENT_GEN_GET] = "SELECT COALESCE((SELECT n FROM incident_gen WHERE one = 1), 0)",
    /* The writer's index reads back what others changed since its last
     * commit (store_incident_recent.h), in the statement that reads the
     * incidents' generation: after the transaction lock, one round trip
     * whether anything changed or not. ?1: the generation of the writer's
     * last commit. One row of NULLs but the generation (the LEFT JOIN)
     * when nothing changed. The upper bound changes no answer (no row is
     * stamped past the generation) but gives PostgreSQL's planner a range
     * (two bounds: incidents_by_gen, not a scan of a table full of dead
     * rows; store_sql_pg.c). Then their station figures, ?2 the
     * generation the first statement read. */
    [STMT_INCIDENT_CHANGED] =
	"SELECT " STORE_INCIDENT_COLUMNS ", incidents.rowid" STORE_INCIDENT_RECENT_FACTS
	", g.n FROM (SELECT COALESCE((SELECT n FROM incident_gen WHERE one = 1), 0) AS n) AS g"
	" LEFT JOIN incidents ON incidents.gen > ?1"
	" AND incidents.gen <= (SELECT n FROM incident_gen WHERE one = 1)",
    [STMT_INCIDENT_FIGURES_CHANGED] =
	"SELECT f.incident_id, f.station_id, f.figure, f.observed_ms, f.value"
	" FROM incident_station_figures f JOIN incidents i ON i.id = f.incident_id"
	" WHERE i.gen > ?1 AND i.gen <= ?2",
    [STMT_INCIDENT_GEN_BUMP] =
	"INSERT INTO incident_gen (one, n) VALUES (1, 1)"
	" ON CONFLICT (one) DO UPDATE SET n = incident_gen.n + 1 RETURNING n",
    /* ?1: a JSON array of [station_id, report_id] pairs (json_each; the
     * PostgreSQL text, store_sql_pg.c, reads it with json_array_elements).
     * The pairs are looked up by the reports' unique key. */
    [STMT_REPORT_FIND_MANY] =
	"SELECT station_id, report_id, incident_id, level FROM reports"
	" WHERE (station_id, report_id) IN (SELECT json_extract(k.value, '$[0]'),"
	" json_extract(k.value, '$[1]') FROM json_each(?1) AS k)",
    [STMT_FIGURE_MAX] = "SELECT figure, max(value) FROM incident_station_figures"
			" WHERE incident_id = ?1 GROUP BY figure",

    [STMT_OFFICER_ADD] = "INSERT INTO officers (name, role, password_hash, token_hash, created_ms)"
			 " VALUES (?1, ?2, ?3, ?4, ?5) RETURNING id",
    [STMT_OFFICER_BY_TOKEN] = "SELECT " STORE_OFFICER_COLUMNS " FROM officers"
			      " WHERE token_hash = ?1",
    [STMT_OFFICER_BY_NAME] = "SELECT " STORE_OFFICER_COLUMNS " FROM officers WHERE name = ?1",
    [STMT_OFFICER_BY_ID] = "SELECT " STORE_OFFICER_COLUMNS " FROM officers WHERE id = ?1",
    [STMT_OFFICER_ALL] = "SELECT " STORE_OFFICER_COLUMNS " FROM officers ORDER BY id",
    [STMT_SESSION_PUT] = "INSERT INTO sessions (id, officer_id, csrf, created_ms, last_seen_ms,"
			 " expires_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    /* An expired session is as good as gone. */
    [STMT_SESSION_GET] = "SELECT id, officer_id, csrf, created_ms, last_seen_ms, expires_ms"
			 " FROM sessions WHERE id = ?1 AND expires_ms > ?2",
    [STMT_SESSION_TOUCH] = "UPDATE sessions SET last_seen_ms = ?2, expires_ms = ?3 WHERE id = ?1",
    [STMT_SESSION_DELETE] = "DELETE FROM sessions WHERE id = ?1",
    [STMT_SESSION_PURGE] = "DELETE FROM sessions WHERE expires_ms <= ?1",
    [STMT_LOGIN_ADD] = "INSERT INTO login_attempts (at_ms, name, remote, ok)"
		       " VALUES (?1, ?2, ?3, ?4)",
    /* Failed attempts since ?3 for this name and from this address (a NULL
     * argument matches any; CAST: PostgreSQL types a parameter before IS
     * NULL). */
    [STMT_LOGIN_COUNT] = "SELECT count(*) FROM login_attempts"
			 " WHERE ok = 0 AND at_ms >= ?3 AND (CAST(?1 AS TEXT) IS NULL OR name = ?1)"
			 " AND (CAST(?2 AS TEXT) IS NULL OR remote = ?2)",
    [STMT_LOGIN_PURGE] = "DELETE FROM login_attempts WHERE at_ms < ?1",
    [STMT_AUDIT_LAST] = "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1",
    [STMT_AUDIT_APPEND] = "INSERT INTO audit (" STORE_AUDIT_COLUMNS ")"
			  " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    [STMT_AUDIT_FROM] = "SELECT " STORE_AUDIT_COLUMNS " FROM audit WHERE seq >= ?1 ORDER BY seq",

    [STMT_DRAFT_INSERT] =
	"INSERT INTO alert_drafts (alert_id, version, msg_type, state, below_level, level,"
	" prev_level, kind, hazard_type, headline, situation, causes, response, trend,"
	" admin_code, admin_name, place, " FIGURE_COLUMNS ", lon, lat, observed_ms, created_ms,"
	" confirmed_ms, published_ms, escalated_ms, reject_reason, cancel_reason, supersedes,"
	" refs, fingerprint) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13,"
	" ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28, ?29, ?30,"
	" ?31, ?32, ?33, ?34, ?35, ?36) RETURNING id",
    /* What a draft's life changes; what it is about never does. */
    [STMT_DRAFT_UPDATE] =
	"UPDATE alert_drafts SET version = ?2, state = ?3, below_level = ?4, headline = ?5,"
	" situation = ?6, causes = ?7, response = ?8, trend = ?9, confirmed_ms = ?10,"
	" published_ms = ?11, escalated_ms = ?12, reject_reason = ?13, cancel_reason = ?14,"
	" refs = ?15 WHERE id = ?1",
    [STMT_DRAFT_GET] = "SELECT " STORE_DRAFT_COLUMNS " FROM alert_drafts WHERE id = ?1",
    [STMT_DRAFT_LATEST] = "SELECT " STORE_DRAFT_COLUMNS " FROM alert_drafts"
			  " WHERE alert_id = ?1 ORDER BY id DESC LIMIT 1",
    [STMT_DRAFT_PENDING] = "SELECT " STORE_DRAFT_COLUMNS " FROM alert_drafts"
			   " WHERE alert_id = ?1 AND state = 'pending'",
    /* ?2 <= 0: the highest version. */
    [STMT_DRAFT_PUBLISHED] = "SELECT " STORE_DRAFT_COLUMNS " FROM alert_drafts"
			     " WHERE alert_id = ?1 AND state = 'published'"
			     " AND (?2 <= 0 OR version = ?2) ORDER BY version DESC LIMIT 1",
    [STMT_DRAFT_MAX_VERSION] = "SELECT coalesce(max(version), 0) FROM alert_drafts"
			       " WHERE alert_id = ?1",
    [STMT_DRAFT_EACH_PUBLISHED] = "SELECT " STORE_DRAFT_COLUMNS " FROM alert_drafts"
				  " WHERE alert_id = ?1 AND state = 'published'"
				  " ORDER BY version",
    /* Pending first (few), then everything else newest first. */
    [STMT_DRAFT_LIST] = "SELECT " STORE_DRAFT_COLUMNS " FROM alert_drafts"
			" ORDER BY state = 'pending' DESC, id DESC LIMIT ?1",
    [STMT_DRAFT_LIST_STATE] = "SELECT " STORE_DRAFT_COLUMNS " FROM alert_drafts"
			      " WHERE state = ?1 ORDER BY id DESC LIMIT ?2",
    [STMT_DRAFT_DUE] = "SELECT " STORE_DRAFT_COLUMNS " FROM alert_drafts"
		       " WHERE state = 'pending' AND created_ms <= ?1 AND escalated_ms IS NULL"
		       " ORDER BY created_ms LIMIT ?2",
    [STMT_CONFIRM_ADD] = "INSERT INTO alert_confirmations (draft_id, officer_id, at_ms)"
			 " VALUES (?1, ?2, ?3)",
    [STMT_CONFIRM_COUNT] = "SELECT count(*) FROM alert_confirmations WHERE draft_id = ?1",
    [STMT_CONFIRM_EACH] = "SELECT c.officer_id, coalesce(o.name, ''), c.at_ms"
			  " FROM alert_confirmations c LEFT JOIN officers o ON o.id = c.officer_id"
			  " WHERE c.draft_id = ?1 ORDER BY c.at_ms, c.officer_id",
    /* Each station's latest report of the incident (ties: the later
     * stored), newest first; the raw payload is not carried. This runs on
     * every report of an alerted incident, so it must not read all of
     * them: st jumps from station to station through the index (a loose
     * index scan), and each station's latest is one index probe. */
    [STMT_REPORTS_LATEST] =
	"WITH RECURSIVE st (station_id) AS ("
	" SELECT (SELECT min(station_id) FROM reports WHERE incident_id = ?1)"
	" UNION ALL SELECT (SELECT min(station_id) FROM reports"
	"  WHERE incident_id = ?1 AND station_id > st.station_id)"
	" FROM st WHERE st.station_id IS NOT NULL)"
	" SELECT " STORE_REPORT_ROW_COLUMNS ", NULL FROM reports WHERE id IN"
	" (SELECT (SELECT r.id FROM reports r WHERE r.incident_id = ?1"
	"   AND r.station_id = st.station_id ORDER BY r.observed_ms DESC, r.id DESC LIMIT 1)"
	"  FROM st WHERE st.station_id IS NOT NULL)"
	" ORDER BY observed_ms DESC, id DESC LIMIT ?2",
    [STMT_REPORTS_OF_INCIDENT] = "SELECT " STORE_REPORT_ROW_COLUMNS ", raw FROM reports"
				 " WHERE incident_id = ?1 ORDER BY observed_ms DESC, id DESC"
				 " LIMIT ?2",

    [STMT_DELIVERY_INSERT] =
	"INSERT INTO deliveries (alert_id, version, msg_type, channel, state, attempts,"
	" next_attempt_ms, deadline_ms, last_error, idem_key, created_ms)"
	" VALUES (?1, ?2, ?3, ?4, 'pending', 0, ?5, ?6, '', ?7, ?8) RETURNING id",
    [STMT_DELIVERY_CHANNELS] = "SELECT DISTINCT channel FROM deliveries"
			       " WHERE alert_id = ?1 AND version < ?2 ORDER BY channel",
    /* Due rows, oldest first; a channel gets the versions of one alert in
     * order: a row waits while an earlier version to that channel is not
     * finished. */
    [STMT_DELIVERY_DUE] =
	"SELECT " STORE_DELIVERY_COLUMNS " FROM deliveries d"
	" WHERE state IN ('pending', 'sending') AND next_attempt_ms <= ?1"
	" AND NOT EXISTS (SELECT 1 FROM deliveries p WHERE p.alert_id = d.alert_id"
	"  AND p.channel = d.channel AND p.version < d.version"
	"  AND p.state IN ('pending', 'sending'))"
	" ORDER BY next_attempt_ms, id LIMIT ?2",
    [STMT_DELIVERY_START] = "UPDATE deliveries SET state = 'sending', attempts = attempts + 1,"
			    " next_attempt_ms = ?2 WHERE id = ?1"
			    " AND state IN ('pending', 'sending')",
    [STMT_DELIVERY_FINISH] = "UPDATE deliveries SET state = ?2, next_attempt_ms = ?3,"
			     " last_error = ?4, delivered_ms = ?5 WHERE id = ?1",
    [STMT_DELIVERY_OF_ALERT] = "SELECT " STORE_DELIVERY_COLUMNS " FROM deliveries"
			       " WHERE alert_id = ?1 ORDER BY version, channel",
    [STMT_DELIVERY_LATEST] = "SELECT " STORE_DELIVERY_COLUMNS " FROM deliveries"
			     " WHERE alert_id = ?1 AND channel = ?2 AND version < ?3"
			     " ORDER BY version DESC LIMIT 1",
    /* Only while the row is being sent: a resend or a recorded outcome
     * in between wins. */
    [STMT_DELIVERY_PROGRESS] = "UPDATE deliveries SET step = ?2, scratch = ?3"
			       " WHERE id = ?1 AND state = 'sending'",
    /* At start: rows an earlier run left sending got no answer recorded
     * and never will: due now (same idempotency key). The CASE is the
     * lesser of the two (next_attempt_ms is NOT NULL): SQLite's min(a, b)
     * is LEAST in PostgreSQL, which SQLite lacks. */
    [STMT_DELIVERY_RECOVER] = "UPDATE deliveries SET next_attempt_ms = CASE WHEN next_attempt_ms"
			      " < ?1 THEN next_attempt_ms ELSE ?1 END WHERE state = 'sending'",
    [STMT_DELIVERY_RESEND] = "UPDATE deliveries SET state = 'pending', next_attempt_ms = ?2,"
			     " deadline_ms = ?3 WHERE id = ?1 AND state = 'failed'",

    /* notices (store_notice.c) */
    [STMT_NOTICE_INSERT] = "INSERT INTO notices (audience, event, body, state, next_attempt_ms,"
			   " deadline_ms, created_ms) VALUES (?1, ?2, ?3, 'pending', ?4, ?5, ?4)"
			   " RETURNING id",
    [STMT_NOTICE_DUE] = "SELECT id, audience, event, body, attempts, deadline_ms, created_ms"
			" FROM notices WHERE state = 'pending' AND next_attempt_ms <= ?1"
			" ORDER BY next_attempt_ms, id LIMIT ?2",
    [STMT_NOTICE_FINISH] = "UPDATE notices SET state = ?2, attempts = attempts + 1,"
			   " next_attempt_ms = ?3, last_error = ?4, delivered_ms = ?5"
			   " WHERE id = ?1",
    [STMT_NOTICE_PENDING] = "SELECT count(*) FROM notices WHERE state = 'pending'",
    /* The lesser of the two, as STMT_DELIVERY_RECOVER. */
    [STMT_NOTICE_RECOVER] = "UPDATE notices SET next_attempt_ms = CASE WHEN next_attempt_ms"
			    " < ?1 THEN next_attempt_ms ELSE ?1 END WHERE state = 'pending'",

    [STMT_MQTT_SESSION_EACH] = "SELECT client_id, topic, broker FROM mqtt_sessions"
			       " WHERE instance = ?1 ORDER BY broker, client_id",
    [STMT_MQTT_SESSION_PUT] =
	"INSERT INTO mqtt_sessions (client_id, topic, instance, broker)"
	" VALUES (?1, ?2, ?3, ?4)"
	" ON CONFLICT (broker, client_id) DO UPDATE SET topic = excluded.topic,"
	" instance = excluded.instance",
    [STMT_MQTT_SESSION_DELETE] = "DELETE FROM mqtt_sessions WHERE client_id = ?1"
				 " AND broker = ?2",
    [STMT_DRAFT_EDITS_PUT] = "INSERT INTO alert_draft_edits (draft_id, edits, carried, changed)"
			     " VALUES (?1, ?2, ?3, ?4) ON CONFLICT (draft_id) DO UPDATE"
			     " SET edits = excluded.edits, carried = excluded.carried,"
			     " changed = excluded.changed",
    [STMT_DRAFT_EDITS_GET] = "SELECT edits, carried, changed FROM alert_draft_edits"
			     " WHERE draft_id = ?1",

    /* Published versions since ?1, newest first (the Atom feed). */
    [STMT_DRAFT_PUBLISHED_SINCE] = "SELECT " STORE_DRAFT_COLUMNS " FROM alert_drafts"
				   " WHERE state = 'published' AND published_ms >= ?1"
				   " ORDER BY published_ms DESC, id DESC LIMIT ?2",
    /* The latest published version of each alert, when published since
     * ?1, newest first (the public front page). */
    [STMT_DRAFT_CURRENT_SINCE] = "SELECT " STORE_DRAFT_COLUMNS " FROM alert_drafts d"
				 " WHERE state = 'published' AND published_ms >= ?1"
				 " AND version = (SELECT max(version) FROM alert_drafts p"
				 "  WHERE p.alert_id = d.alert_id AND p.state = 'published')"
				 " ORDER BY published_ms DESC, id DESC LIMIT ?2",

    /* Gauges at scrape time (store_stats.c). Incidents still taking
     * reports: open and changed (a report folded in) since ?1. */
    [STMT_STATS_INCIDENTS] = "SELECT level, count(*) FROM incidents"
			     " WHERE open = 1 AND updated_ms >= ?1 GROUP BY level",
    [STMT_STATS_DRAFTS_PENDING] = "SELECT count(*) FROM alert_drafts WHERE state = 'pending'",
    /* The counts the triggers of migration 9 keep (one row per channel
     * and state ever seen). */
    [STMT_STATS_DELIVERIES] = "SELECT channel, state, n FROM delivery_counts"
			      " WHERE n > 0 ORDER BY channel, state",
    /* Unfinished rows (the partial index deliveries_due holds them all):
     * how many, how many made before ?1, the oldest; and failed rows made
     * since ?2. */
    [STMT_STATS_BACKLOG] = "SELECT (SELECT count(*) FROM deliveries"
			   "  WHERE state IN ('pending', 'sending')),"
			   " (SELECT count(*) FROM deliveries"
			   "  WHERE state IN ('pending', 'sending') AND created_ms < ?1),"
			   " (SELECT min(created_ms) FROM deliveries"
			   "  WHERE state IN ('pending', 'sending')),"
			   " (SELECT count(*) FROM deliveries"
			   "  WHERE state = 'failed' AND created_ms >= ?2)",
    /* Reports flagged old that arrived in the minutes from ?1 on: at
     * most a day's 1,441 summary rows, whatever the reports. */
    [STMT_STATS_OLD_REPORTS] = "SELECT sum(n) FROM report_counts"
			       " WHERE what = 'old_observed' AND minute_ms >= ?1",
    /* Retention (store_retention.c). Rejected payloads, oldest first. */
    [STMT_RETENTION_REJECTED] = "DELETE FROM rejected WHERE id IN (SELECT id FROM rejected"
				" WHERE received_ms < ?1 ORDER BY received_ms, id LIMIT ?2)",
    [STMT_RETENTION_COUNTS] = "DELETE FROM report_counts WHERE minute_ms < ?1",
    /* Reports received before ?1, after the cursor (?2, ?3), oldest
     * first; the third column says whether the report may go: it has no
     * incident, or a later one of its station in its incident exists
     * (the order of STMT_REPORTS_LATEST: observed_ms, then id); a CASE
     * makes it 0 or 1 on both backends (PostgreSQL's would be boolean). */
    [STMT_RETENTION_REPORTS] =
	"SELECT r.id, r.received_ms, CASE WHEN r.incident_id IS NULL OR EXISTS (SELECT 1"
	"  FROM reports n WHERE n.incident_id = r.incident_id AND n.station_id = r.station_id"
	"  AND (n.observed_ms > r.observed_ms OR (n.observed_ms = r.observed_ms AND n.id > r.id)))"
	"  THEN 1 ELSE 0 END"
	" FROM reports r WHERE r.received_ms < ?1 AND (r.received_ms > ?2"
	"  OR (r.received_ms = ?2 AND r.id > ?3))"
	" ORDER BY r.received_ms, r.id LIMIT ?4",
    [STMT_RETENTION_REPORT_DELETE] = "DELETE FROM reports WHERE id = ?1",
    [STMT_STATS_COUNT_ADD] = "INSERT INTO report_counts (what, minute_ms, n) VALUES (?1, ?2, ?3)"
			     " ON CONFLICT (what, minute_ms) DO UPDATE"
			     " SET n = report_counts.n + excluded.n",
};
