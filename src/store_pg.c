/* store_pg.c - the store on PostgreSQL (spec §10): connecting, the
 * schema's migrations (store_sql_pg.c), the transaction lock and
 * reconnecting after the connection is lost. Everything else in the store
 * is the same code on both backends (db.h).
 *
 * Transactions. SQLite serialises writers (BEGIN IMMEDIATE takes the
 * file's write lock); the store's verbs rely on it: the incident a report
 * joins, the next incident number, the audit chain's last hash are read
 * and then written in one transaction. On PostgreSQL every transaction
 * takes one advisory lock (STORE_PG_TXN_LOCK) right after BEGIN, so the
 * writers of every instance take turns in the same way, and READ
 * COMMITTED then sees every earlier commit. One writer at a time is what
 * SQLite gives too; the reports of one group still share one commit.
 *
 * Lost connection. A statement answering DB_LOST (server gone, failover)
 * marks the store lost (store_error); its transaction, if any, is gone
 * and its caller rolls back and fails (the writer does not acknowledge
 * the group: the broker sends it again). The next store_begin or
 * store_ping connects again; libpq tries every host of a multi-host URL
 * and, with target_session_attrs=read-write, lands on the new primary. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "file.h"
#include "log.h"
#include "store_internal.h"
#include "store_sql_pg.h"

/* The advisory lock every transaction takes (pg_advisory_xact_lock). */
#define STORE_PG_TXN_LOCK 0x67656f7478LL /* "geotx" */
#define STORE_PG_PASSWORD_MAX 1024

/* The writes of a report's path through the ingest writer (ingest_commit.c:
 * the report, its incident and figures, the receipt in the outbox, the
 * acknowledged receipts deleted): the writer rolls the whole group back
 * when any of them fails (ingest_writer.c), so they need not the
 * savepoint that keeps a transaction usable after a failed write
 * (db_stmt_fails_txn). Each would have cost a subtransaction and two
 * more statements per write, four writes a report; docs/benchmarks.md,
 * "PostgreSQL and several instances". A duplicate report raises no
 * error: STMT_REPORT_PUT has ON CONFLICT DO NOTHING (store_report_put
 * answers GA_ERR_DUPLICATE, the transaction stays usable, as on SQLite).
 * Their other callers (incident.c) return the failure too; were one to go
 * on and commit, the COMMIT would be refused (db_pg_commit_refused), not
 * taken for a commit. */
static const enum store_stmt_id store_pg_fails_txn[] = {
    STMT_REPORT_PUT,	STMT_SEQ_NEXT,	 STMT_INCIDENT_INSERT, STMT_INCIDENT_UPDATE,
    STMT_FIGURE_UPSERT, STMT_OUTBOX_PUT, STMT_OUTBOX_DELETE,
};

/* Of those, the writes whose answer the writer does not need at once
 * (store_defer_writes: on the writer's connection only) are sent in the connection's pipeline
 * without waiting, their answers read with the next statement that needs one (a read) or before the
 * COMMIT (db_stmt_may_defer, db_pg_pipe.c): a report's writes then cost no round trip of their own.
 * Safe for the reason above: their callers roll back when any fails, and a deferred failure fails
 * the transaction (the next statement answers it, the COMMIT is refused). What their callers read
 * from them:
 * - STMT_REPORT_PUT: db_changes, 0 for a report already stored
 *   (GA_ERR_DUPLICATE). Deferred, the answer would come too late, so
 *   DB_DEFER_CHANGES makes "no row" a failure of the transaction. It
 *   does not happen on the writer's path: the writer asked
 *   store_report_find first, in the same transaction under the
 *   transaction lock (no other instance commits in between; READ
 *   COMMITTED sees every earlier commit), and the find's answer follows
 *   the group's earlier inserts in the pipeline, so it sees a repeat
 *   within the group too. Were it to happen, the group fails and is not
 *   acknowledged; the broker sends it again and the find then answers
 *   `duplicate`: a late answer, never a loss.
 * - STMT_INCIDENT_UPDATE: db_changes, 0 for an unknown incident
 *   (store_run_update: GA_ERR_NOTFOUND): DB_DEFER_CHANGES too; the
 *   incident was read in the same transaction.
 * - STMT_INCIDENT_INSERT: nothing (one row or an error).
 * - STMT_OUTBOX_PUT: the new id (RETURNING), wanted only after the
 *   commit: DB_DEFER_ROW, written into the caller's variable when the
 *   answer is read (store_outbox_put), at the latest by store_commit.
 * - STMT_FIGURE_UPSERT, STMT_OUTBOX_DELETE: nothing (no row is a
 *   fine answer: an older observation; receipts deleted already).
 * STMT_SEQ_NEXT is not deferred: its caller reads the number at once. */
static const struct {
	enum store_stmt_id id;
	unsigned how;
} store_pg_deferred[] = {
    {STMT_REPORT_PUT, DB_DEFER | DB_DEFER_CHANGES},
    {STMT_INCIDENT_INSERT, DB_DEFER | DB_DEFER_CHANGES},
    {STMT_INCIDENT_UPDATE, DB_DEFER | DB_DEFER_CHANGES},
    {STMT_FIGURE_UPSERT, DB_DEFER},
    {STMT_OUTBOX_PUT, DB_DEFER | DB_DEFER_ROW},
    {STMT_OUTBOX_DELETE, DB_DEFER},
};

/* Bench builds only (cmake -DGA_BENCH_NO_PIPELINE=ON): the A/B of the
 * deferred writes, every write waiting for its answer as before. */
#ifdef GA_BENCH_NO_PIPELINE
#define STORE_PG_DEFER_WRITES 0
#else
#define STORE_PG_DEFER_WRITES 1
#endif

/* Bench builds only (cmake -DGA_BENCH_ALL_SAVEPOINTS=ON): the A/B of the
 * savepoints, every write under one as before. */
#ifdef GA_BENCH_ALL_SAVEPOINTS
#define STORE_PG_BARE_WRITES 0
#else
#define STORE_PG_BARE_WRITES 1
#endif

/* Runs sql (no parameters) and says what failed in err. */
static ga_err store_pg_exec(struct store *s, const char *sql, const char *what, char *err,
			    size_t errlen)
{
	int rc = db_exec(s->db, sql);

	if (rc == DB_OK)
		return GA_OK;
	snprintf(err, errlen, "database %s: %s: %s", s->path, what, db_errmsg(s->db));
	return store_error(s, rc, what);
}

/* The schema's version under the migration lock (the transaction is
 * open); GA_OK with *version. */
static ga_err store_pg_version(struct store *s, long long *version, char *err, size_t errlen)
{
	struct db_stmt *st = NULL;
	ga_err e = GA_ERR_DB;
	int rc = db_prepare(s->db, "SELECT version FROM schema_version", &st);

	if (rc == DB_OK)
		rc = db_step(st);
	if (rc != DB_ROW) {
		snprintf(err, errlen, "database %s: schema_version: %s", s->path, db_errmsg(s->db));
		e = store_error(s, rc == DB_DONE ? DB_ERROR : rc, "schema_version");
		goto out;
	}
	*version = db_column_int64(st, 0);
	e = GA_OK;
out:
	db_finalize(st);
	return e;
}

/* Brings the schema to the newest version, one migration per
 * transaction under STORE_PG_MIGRATION_LOCK, so that instances starting
 * together run each migration once (store_sql_pg.c). */
static ga_err store_pg_migrate(struct store *s, char *err, size_t errlen)
{
	char lock[96], what[64], bump[96];
	ga_err e;

	snprintf(lock, sizeof(lock), "SELECT pg_advisory_xact_lock(%lld)",
		 (long long)STORE_PG_MIGRATION_LOCK);
	for (int round = 0; round <= store_nmigrations_pg; round++) {
		long long version = 0;

		if ((e = store_pg_exec(s, "BEGIN", "begin migration", err, errlen)) ||
		    (e = store_pg_exec(s, lock, "migration lock", err, errlen)) ||
		    (e = store_pg_exec(s, store_pg_schema_version_sql, "schema_version", err,
				       errlen)) ||
		    (e = store_pg_version(s, &version, err, errlen)))
			goto fail;
		if (version > store_nmigrations_pg) {
			snprintf(err, errlen,
				 "database %s has schema version %lld, newer than the %d this"
				 " geoalert knows: use a newer geoalert",
				 s->path, version, store_nmigrations_pg);
			e = GA_ERR_DB;
			goto fail;
		}
		if (version == store_nmigrations_pg)
			return store_pg_exec(s, "COMMIT", "commit", err, errlen);
		snprintf(what, sizeof(what), "migration %lld", version + 1);
		snprintf(bump, sizeof(bump), "UPDATE schema_version SET version = %lld",
			 version + 1);
		if ((e = store_pg_exec(s, store_migrations_pg[version], what, err, errlen)) ||
		    (e = store_pg_exec(s, bump, what, err, errlen)) ||
		    (e = store_pg_exec(s, "COMMIT", what, err, errlen)))
			goto fail;
		log_info("store: %s: schema migrated to version %lld", s->path, version + 1);
	}
	snprintf(err, errlen, "database %s: migrations did not converge", s->path);
	return GA_ERR_DB;
fail:
	if (db_in_txn(s->db))
		db_exec(s->db, "ROLLBACK");
	return e;
}

/* The URL as logs may show it: scheme, hosts and database (a URL with a
 * password is refused by config_load; cut at the query all the same). */
static void store_pg_label(const char *url, char *out, size_t len)
{
	size_t n = strcspn(url, "?");

	snprintf(out, len, "%.*s", (int)(n < len ? n : len - 1), url);
}

ga_err store_pg_open(struct store *s, const struct store_options *opt, char *err, size_t errlen)
{
	char *password = NULL;
	size_t plen = 0;
	ga_err e;

	store_pg_label(opt->url, s->path, sizeof(s->path));
	if (opt->password_file && opt->password_file[0]) {
		if ((e = file_read(opt->password_file, STORE_PG_PASSWORD_MAX, &password, &plen, err,
				   errlen)) != GA_OK)
			goto out;
		while (plen > 0 && (password[plen - 1] == '\n' || password[plen - 1] == '\r'))
			password[--plen] = '\0';
	}
	if ((s->db = db_open_pg(opt->url, password, err, errlen)) == NULL) {
		e = GA_ERR_DB;
		goto out;
	}
	if ((e = store_pg_migrate(s, err, errlen)) != GA_OK)
		goto out;
	for (int i = 0; i < STMT_ID_COUNT; i++) {
		const char *sql = store_stmt_sql_pg[i] ? store_stmt_sql_pg[i] : store_stmt_sql[i];
		int rc = db_prepare(s->db, sql, &s->stmt[i]);
		if (rc != DB_OK) {
			e = store_error(s, rc, "prepare");
			snprintf(err, errlen, "database %s: statement %d: %s", s->path, i,
				 db_errmsg(s->db));
			goto out;
		}
	}
	for (size_t i = 0;
	     STORE_PG_BARE_WRITES && i < sizeof(store_pg_fails_txn) / sizeof(store_pg_fails_txn[0]);
	     i++)
		db_stmt_fails_txn(s->stmt[store_pg_fails_txn[i]]);
	char lock[96];
	snprintf(lock, sizeof(lock), "SELECT pg_advisory_xact_lock(%lld)",
		 (long long)STORE_PG_TXN_LOCK);
	if (db_prepare(s->db, lock, &s->pg_lock) != DB_OK) {
		snprintf(err, errlen, "database %s: %s", s->path, db_errmsg(s->db));
		e = GA_ERR_DB;
		goto out;
	}
	e = GA_OK;
out:
	if (password) {
		sodium_memzero(password, plen);
		free(password);
	}
	return e;
}

void store_defer_writes(struct store *s, bool defer)
{
	if (!STORE_PG_BARE_WRITES || !STORE_PG_DEFER_WRITES || db_kind(s->db) != DB_KIND_POSTGRES)
		return;
	for (size_t i = 0; i < sizeof(store_pg_deferred) / sizeof(store_pg_deferred[0]); i++) {
		enum store_stmt_id id = store_pg_deferred[i].id;
		db_stmt_may_defer(s->stmt[id], defer ? store_pg_deferred[i].how : 0);
		/* Only a malformed batch SQL is refused: then row by row. */
		const struct store_batch_pg *b = &store_stmt_batch_pg[id];
		if (b->sql && db_stmt_batch(s->stmt[id], defer ? b->sql : NULL, b->key) != DB_OK)
			log_warnx("store: %s: %s", s->path, db_errmsg(s->db));
	}
	/* The transaction lock too (issue 12): sent after BEGIN without
	 * waiting, its answer read with the transaction's first statement
	 * that needs one (the writer's: the incidents' generation,
	 * store_incident_changed_each), one round trip for both. The server
	 * runs the pipeline in order, so that statement starts (and takes
	 * its snapshot) only once the lock is held: it sees every commit of
	 * the writer before. A lock that failed (the connection lost) fails
	 * the transaction: its next statement answers the failure, a COMMIT
	 * is refused; every transaction on the writer's connection rolls
	 * back on a failure (store_begin's other callers: the same). */
	db_stmt_may_defer(s->pg_lock, defer ? DB_DEFER : 0);
}

ga_err store_pg_lock(struct store *s)
{
	int rc = db_step(s->pg_lock);

	while (rc == DB_ROW)
		rc = db_step(s->pg_lock);
	db_reset(s->pg_lock);
	return rc == DB_DONE ? GA_OK : store_error(s, rc, "transaction lock");
}

ga_err store_pg_reconnect(struct store *s)
{
	int rc = db_reconnect(s->db);

	if (rc != DB_OK) {
		/* Once per outage: the pollers try every second. */
		if (!s->reconnect_warned)
			log_warnx("store: %s: reconnecting: %s (tried again while it lasts)",
				  s->path, db_errmsg(s->db));
		s->reconnect_warned = true;
		return GA_ERR_DB;
	}
	log_info("store: %s: connected again", s->path);
	s->reconnect_warned = false;
	s->lost = false;
	s->in_txn = false;
	s->txn_err = GA_OK;
	return GA_OK;
}
