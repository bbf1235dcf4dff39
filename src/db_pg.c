/* db_pg.c - the PostgreSQL backend of db.h, on libpq (spec §10).
 *
 * Connection: db_open_pg takes a libpq URL or keyword string and adds,
 * when the URL does not set them: target_session_attrs=read-write (with
 * several hosts libpq then skips standbys and follows the primary after a
 * failover), connect_timeout=10 (per host; libpq's default waits for
 * ever), TCP keepalives (idle 10 s, interval 5 s, 3 probes) and
 * tcp_user_timeout=30000 so that a primary gone with its machine shows as
 * DB_LOST within about half a minute instead of the kernel's two hours,
 * fallback_application_name=geoalert; client_encoding is always UTF8. A
 * session that is read-only all the same (target_session_attrs=any on a
 * standby, default_transaction_read_only) is refused. No error message
 * carries the URL's password: libpq's are scrubbed of it.
 *
 * Statements: the SQL's `?`/`?N` become `$N` (db_pg_sql.c); the
 * server-side PREPARE happens at the first step on each connection (a
 * db_reconnect bumps the generation and so prepares again). Integers and
 * doubles are sent as text typed int8/float8, text as text of type 0
 * (the server infers it from the context), blobs as binary bytea, NULL
 * as type 0. A statement keeps up to DB_PG_PREPARED_MAX server-side
 * statements, one per parameter-type signature: a NULL matches any type
 * already prepared at its place (so NULL after an int reuses the int8
 * one), other kinds need their own type; a new signature prepares again,
 * and when the server cannot infer a type-0 parameter (42P18: `SELECT ?`
 * with text or NULL) it is prepared as text. Inside a transaction the
 * PREPARE runs under a savepoint, so that a statement that does not
 * prepare fails alone and leaves the transaction usable, as in SQLite.
 *
 * Deferred writes (db_stmt_may_defer; db_pg_pipe.c): inside a
 * transaction a statement so marked is sent in libpq's pipeline mode
 * without waiting, and its answer read with the next statement that
 * needs one; a failure among them fails the transaction.
 *
 * Results are read in text format, all rows at the first step (the
 * store reads bounded row counts). Error codes from SQLSTATE: 23505 ->
 * DB_CONSTRAINT_UNIQUE, 23514 -> DB_CONSTRAINT_CHECK, the rest of class 23
 * -> DB_CONSTRAINT (compare with rc & 0xff, as for SQLite); 53100 -> DB_FULL; 40001, 40P01, 55P03
 * -> DB_BUSY; 53200
 * -> DB_NOMEM; class 08, 57P01..57P03, no SQLSTATE (libpq's own errors)
 * or a bad connection -> DB_LOST, and every later call answers DB_LOST
 * until db_reconnect succeeds. Anything else: DB_ERROR. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "db_pg_internal.h"

#define DB_PG_URL_MAX 4096 /* bytes of a connection URL or string */

static const struct db_ops pg_ops;

static void wipe_free(char *s)
{
	if (s) {
		volatile char *v = s;
		while (*v)
			*v++ = '\0';
		free(s);
	}
}

/* Copies msg into dst (cap bytes) with newlines as spaces, trailing space
 * cut and each occurrence of secret (if any) replaced by "***". */
static void scrub_copy(char *dst, size_t cap, const char *msg, const char *secret)
{
	size_t n = 0, slen = secret ? strlen(secret) : 0;

	while (*msg && n + 1 < cap) {
		if (slen && strncmp(msg, secret, slen) == 0) {
			for (const char *r = "***"; *r && n + 1 < cap; r++)
				dst[n++] = *r;
			msg += slen;
			continue;
		}
		dst[n++] = (*msg == '\n' || *msg == '\r' || *msg == '\t') ? ' ' : *msg;
		msg++;
	}
	while (n > 0 && dst[n - 1] == ' ')
		n--;
	dst[n] = '\0';
}

void db_pg_seterr(struct pg_db *db, const char *fmt, ...)
{
	char buf[DB_PG_ERR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	scrub_copy(db->err, sizeof db->err, buf, db->password);
}

/* The code for a finished command's result (NULL: none came back). */
int db_pg_code(struct pg_db *db, const PGresult *res)
{
	const char *state;

	if (!db->conn || PQstatus(db->conn) == CONNECTION_BAD || !res)
		goto lost;
	switch (PQresultStatus(res)) {
	case PGRES_COMMAND_OK:
	case PGRES_TUPLES_OK:
	case PGRES_EMPTY_QUERY:
		return DB_OK;
	default:
		break;
	}
	state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	if (!state || strlen(state) != 5)
		goto lost;
	if (strcmp(state, "23505") == 0)
		return DB_CONSTRAINT_UNIQUE;
	if (strcmp(state, "23514") == 0)
		return DB_CONSTRAINT_CHECK;
	if (strncmp(state, "23", 2) == 0)
		return DB_CONSTRAINT;
	if (strcmp(state, "53100") == 0)
		return DB_FULL;
	if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 ||
	    strcmp(state, "55P03") == 0)
		return DB_BUSY;
	if (strcmp(state, "53200") == 0)
		return DB_NOMEM;
	if (strncmp(state, "08", 2) == 0 || strcmp(state, "57P01") == 0 ||
	    strcmp(state, "57P02") == 0 || strcmp(state, "57P03") == 0)
		goto lost;
	return DB_ERROR;
lost:
	db->lost = true;
	return DB_LOST;
}

/* Sets db's message from a failed command. */
void db_pg_seterr_res(struct pg_db *db, const PGresult *res, int code)
{
	const char *msg = res ? PQresultErrorMessage(res) : "";
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

	if (!*msg && db->conn)
		msg = PQerrorMessage(db->conn);
	if (!*msg)
		msg = "no answer from the server";
	if (code == DB_LOST)
		db_pg_seterr(db, "connection lost: %s", msg);
	else if (state)
		db_pg_seterr(db, "%s (SQLSTATE %s)", msg, state);
	else
		db_pg_seterr(db, "%s", msg);
}

/* Records db_changes from an INSERT, UPDATE, DELETE or MERGE result. */
void db_pg_count(struct pg_db *db, PGresult *res)
{
	const char *cmd = PQcmdStatus(res), *n = PQcmdTuples(res);

	if (!*n)
		return;
	if (strncmp(cmd, "INSERT ", 7) == 0 || strncmp(cmd, "UPDATE ", 7) == 0 ||
	    strncmp(cmd, "DELETE ", 7) == 0 || strncmp(cmd, "MERGE ", 6) == 0)
		db->changes = strtoll(n, NULL, 10);
}

bool db_pg_commit_refused(struct pg_db *db, const char *sql, PGresult *res)
{
	sql += strspn(sql, " \t\r\n");
	if ((strncasecmp(sql, "COMMIT", 6) != 0 && strncasecmp(sql, "END", 3) != 0) ||
	    strcmp(PQcmdStatus(res), "ROLLBACK") != 0)
		return false;
	db_pg_seterr(db, "COMMIT of a transaction in which a statement had failed: rolled back,"
			 " nothing committed");
	return true;
}

static void pg_notice(void *arg, const char *message)
{
}

/* Connects db->conn from db->url; DB_OK, or DB_LOST with db->err set. */
static int pg_connect(struct pg_db *db)
{
	static const char *const defaults[][2] = {
	    {"target_session_attrs", "read-write"},
	    {"connect_timeout", "10"},
	    {"keepalives", "1"},
	    {"keepalives_idle", "10"},
	    {"keepalives_interval", "5"},
	    {"keepalives_count", "3"},
	    {"tcp_user_timeout", "30000"},
	    {"fallback_application_name", "geoalert"},
	};
	enum { NDEF = sizeof defaults / sizeof defaults[0] };
	const char *keys[NDEF + 4], *vals[NDEF + 4];
	PQconninfoOption *opts = NULL;
	PGresult *res = NULL;
	char *perr = NULL;
	int n = 0, result = DB_LOST;

	if (db->conn)
		PQfinish(db->conn);
	db->conn = NULL;
	db->gen++;
	db_pg_forget(db); /* the deferred writes went with the connection */
	opts = PQconninfoParse(db->url, &perr);
	if (!opts) {
		db_pg_seterr(db, "invalid connection URL%s", perr ? "" : ": out of memory");
		goto out;
	}
	keys[n] = "dbname";
	vals[n++] = db->url;
	if (db->password_given) { /* after dbname: overrides the URL's */
		keys[n] = "password";
		vals[n++] = db->password;
	}
	for (size_t d = 0; d < NDEF; d++) {
		bool set = false;
		for (PQconninfoOption *o = opts; o->keyword; o++)
			if (strcmp(o->keyword, defaults[d][0]) == 0 && o->val && *o->val)
				set = true;
		if (!set) {
			keys[n] = defaults[d][0];
			vals[n++] = defaults[d][1];
		}
	}
	keys[n] = "client_encoding";
	vals[n++] = "UTF8";
	keys[n] = NULL;
	vals[n] = NULL;
	db->conn = PQconnectdbParams(keys, vals, 1);
	if (!db->conn) {
		db_pg_seterr(db, "cannot connect: out of memory");
		goto out;
	}
	if (PQstatus(db->conn) != CONNECTION_OK) {
		db_pg_seterr(db, "cannot connect: %s", PQerrorMessage(db->conn));
		goto out;
	}
	/* NOTICEs (IF NOT EXISTS skipping, ...) are not errors: libpq's
	 * default prints them on stderr. */
	PQsetNoticeProcessor(db->conn, pg_notice, NULL);
	res = PQexec(db->conn, "SELECT pg_is_in_recovery()"
			       " OR current_setting('transaction_read_only') = 'on'");
	if (db_pg_code(db, res) != DB_OK) {
		db_pg_seterr_res(db, res, DB_LOST);
		goto out;
	}
	if (PQntuples(res) != 1 || strcmp(PQgetvalue(res, 0, 0), "f") != 0) {
		db_pg_seterr(
		    db, "refused: the server's session is read-only (a standby, or"
			" default_transaction_read_only); use target_session_attrs=read-write");
		goto out;
	}
	result = DB_OK;
out:
	if (result != DB_OK && db->conn) {
		PQfinish(db->conn);
		db->conn = NULL;
	}
	db->lost = result != DB_OK;
	PQclear(res);
	PQconninfoFree(opts);
	if (perr)
		PQfreemem(perr);
	return result;
}

/* True when s, a URL or keyword string, may hold a password. */
static bool has_password(const char *s)
{
	const char *scheme = strstr(s, "://"), *at, *colon;

	for (const char *p = s; *p; p++)
		if (strncasecmp(p, "password", 8) == 0)
			return true;
	if (!scheme)
		return false;
	at = strchr(scheme + 3, '@');
	colon = strchr(scheme + 3, ':');
	return at && colon && colon < at;
}

struct db *db_open_pg(const char *url, const char *password, char *err, size_t errlen)
{
	struct pg_db *db = NULL, *result = NULL;
	PQconninfoOption *opts = NULL;
	char *perr = NULL;

	if (!url || !*url || strlen(url) > DB_PG_URL_MAX) {
		snprintf(err, errlen, "PostgreSQL URL empty or longer than %d bytes",
			 DB_PG_URL_MAX);
		goto out;
	}
	opts = PQconninfoParse(url, &perr);
	if (!opts) {
		/* libpq quotes the bad part, which may be the password. */
		if (perr && !has_password(url))
			snprintf(err, errlen, "invalid PostgreSQL URL: %s", perr);
		else
			snprintf(err, errlen,
				 "invalid PostgreSQL URL (libpq's message withheld:"
				 " the URL holds a password)");
		if (err && errlen) {
			char tmp[DB_PG_ERR_MAX];
			scrub_copy(tmp, sizeof tmp, err, NULL);
			snprintf(err, errlen, "%s", tmp);
		}
		goto out;
	}
	db = calloc(1, sizeof *db);
	if (!db || !(db->url = strdup(url))) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	db->base.ops = &pg_ops;
	db->base.kind = DB_KIND_POSTGRES;
	for (PQconninfoOption *o = opts; o->keyword; o++) {
		if (strcmp(o->keyword, "password") == 0 && o->val && *o->val &&
		    !(db->password = strdup(o->val))) {
			snprintf(err, errlen, "out of memory");
			goto out;
		}
	}
	if (password && *password) {
		wipe_free(db->password);
		if (!(db->password = strdup(password))) {
			snprintf(err, errlen, "out of memory");
			goto out;
		}
		db->password_given = true;
	}
	if (pg_connect(db) != DB_OK) {
		snprintf(err, errlen, "%s", db->err);
		goto out;
	}
	result = db;
	db = NULL;
out:
	if (db) {
		wipe_free(db->url);
		wipe_free(db->password);
		free(db);
	}
	PQconninfoFree(opts);
	if (perr)
		PQfreemem(perr);
	return result ? &result->base : NULL;
}

static void pg_close(struct db *base)
{
	struct pg_db *db = (struct pg_db *)base;

	if (db->conn)
		PQfinish(db->conn);
	wipe_free(db->url);
	wipe_free(db->password);
	free(db);
}

static struct sqlite3 *pg_sqlite(struct db *base)
{
	return NULL;
}

static const char *pg_errmsg(struct db *base)
{
	return ((struct pg_db *)base)->err;
}

/* DB_LOST with the message set when db has no usable connection. */
int db_pg_usable(struct pg_db *db)
{
	if (db->lost || !db->conn || PQstatus(db->conn) == CONNECTION_BAD) {
		db->lost = true;
		db_pg_seterr(db, "connection lost: call db_reconnect");
		return DB_LOST;
	}
	return DB_OK;
}

static int pg_exec(struct db *base, const char *sql)
{
	struct pg_db *db = (struct pg_db *)base;
	PGresult *res = NULL;
	int rc;

	if ((rc = db_pg_usable(db)) != DB_OK)
		goto out;
	if (strlen(sql) > DB_PG_SQL_MAX) {
		db_pg_seterr(db, "SQL longer than %d bytes", DB_PG_SQL_MAX);
		rc = DB_ERROR;
		goto out;
	}
	/* The deferred writes first, as for a statement (db_pg_stmt.c). */
	if (db_pg_is_rollback(sql)) {
		if (db->npend > 0)
			db_pg_collect(db, true);
		db_pg_forget(db);
		if ((rc = db_pg_usable(db)) != DB_OK)
			goto out;
	} else if ((!db->failed && (rc = db_pg_batches_flush(db)) != DB_OK) ||
		   (rc = db_pg_collect(db, false)) != DB_OK)
		goto out;
	res = PQexec(db->conn, sql);
	rc = db_pg_code(db, res);
	if (rc != DB_OK)
		db_pg_seterr_res(db, res, rc);
	else if (db_pg_commit_refused(db, sql, res))
		rc = DB_ERROR;
	else
		db_pg_count(db, res);
out:
	PQclear(res);
	return rc;
}

/* Runs a command of the backend's own (savepoints); DB_OK or the error,
 * with db's message set only on an error. */
int db_pg_cmd(struct pg_db *db, const char *sql)
{
	PGresult *res = PQexec(db->conn, sql);
	int rc = db_pg_code(db, res);

	if (rc != DB_OK)
		db_pg_seterr_res(db, res, rc);
	PQclear(res);
	return rc;
}

static int64_t pg_changes(struct db *base)
{
	return ((struct pg_db *)base)->changes;
}

static bool pg_in_txn(struct db *base)
{
	struct pg_db *db = (struct pg_db *)base;

	if (!db->conn)
		return false;
	switch (PQtransactionStatus(db->conn)) {
	case PQTRANS_INTRANS:
	case PQTRANS_INERROR:
	case PQTRANS_ACTIVE:
		return true;
	default:
		return false;
	}
}

static int pg_reconnect(struct db *base)
{
	return pg_connect((struct pg_db *)base);
}

static const struct db_ops pg_ops = {
    .close = pg_close,
    .sqlite = pg_sqlite,
    .errmsg = pg_errmsg,
    .exec = pg_exec,
    .prepare = db_pg_prepare,
    .finalize = db_pg_finalize,
    .fails_txn = db_pg_fails_txn,
    .may_defer = db_pg_may_defer,
    .batch = db_pg_batch,
    .defer_row = db_pg_defer_row,
    .deferred = db_pg_deferred,
    .collect = db_pg_collect_op,
    .bind_int64 = db_pg_bind_int64,
    .bind_double = db_pg_bind_double,
    .bind_text = db_pg_bind_text,
    .bind_blob = db_pg_bind_blob,
    .bind_null = db_pg_bind_null,
    .step = db_pg_step,
    .column_type = db_pg_column_type,
    .column_int64 = db_pg_column_int64,
    .column_double = db_pg_column_double,
    .column_text = db_pg_column_text,
    .column_blob = db_pg_column_blob,
    .column_bytes = db_pg_column_bytes,
    .reset = db_pg_reset,
    .changes = pg_changes,
    .in_txn = pg_in_txn,
    .reconnect = pg_reconnect,
};
