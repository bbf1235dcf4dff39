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
 * Results are read in text format, all rows at the first step (the
 * store reads bounded row counts). Error codes from SQLSTATE: class 23 ->
 * DB_CONSTRAINT; 53100 -> DB_FULL; 40001, 40P01, 55P03 -> DB_BUSY; 53200
 * -> DB_NOMEM; class 08, 57P01..57P03, no SQLSTATE (libpq's own errors)
 * or a bad connection -> DB_LOST, and every later call answers DB_LOST
 * until db_reconnect succeeds. Anything else: DB_ERROR. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libpq-fe.h>

#include "db_internal.h"

/* Type OIDs (pg_type.dat; stable since PostgreSQL 7; the client headers do
 * not carry them). */
#define PG_BOOLOID 16
#define PG_BYTEAOID 17
#define PG_INT8OID 20
#define PG_INT2OID 21
#define PG_INT4OID 23
#define PG_TEXTOID 25
#define PG_OIDOID 26
#define PG_FLOAT4OID 700
#define PG_FLOAT8OID 701
#define PG_NUMERICOID 1700

#define DB_PG_URL_MAX 4096   /* bytes of a connection URL or string */
#define DB_PG_ERR_MAX 512    /* bytes of an error message kept */
#define DB_PG_PREPARED_MAX 4 /* server-side statements (signatures) per statement */
#define DB_PG_NAME_MAX 24    /* "ga" + a counter */

enum pg_kind { PK_NULL, PK_INT, PK_DOUBLE, PK_TEXT, PK_BLOB };

struct pg_param {
	enum pg_kind kind;
	char num[32];	  /* PK_INT, PK_DOUBLE: the value as text */
	char *text;	  /* PK_TEXT: a NUL-terminated copy */
	const void *blob; /* PK_BLOB: the caller's bytes */
	int len;
};

struct pg_prepared {
	unsigned gen; /* 0: free */
	char name[DB_PG_NAME_MAX];
	Oid types[DB_PG_PARAMS_MAX];
};

struct pg_db {
	struct db base;
	PGconn *conn;
	char *url;	/* for db_reconnect; wiped before free */
	char *password; /* the URL's, to scrub from messages; wiped before free */
	unsigned gen;	/* connection generation: starts at 1 */
	unsigned next_name;
	bool lost;
	int64_t changes;
	char err[DB_PG_ERR_MAX];
};

struct pg_stmt {
	struct db_stmt base;
	struct pg_db *db;
	char *sql; /* rewritten: $N */
	int nparams;
	struct pg_param p[DB_PG_PARAMS_MAX];
	struct pg_prepared prep[DB_PG_PREPARED_MAX];
	int evict;     /* next slot to reuse when all are taken */
	bool ran;      /* stepped since the last reset */
	PGresult *res; /* rows not yet all stepped over */
	int row, nrows, ncols;
	char **blob; /* per column of the current row: decoded bytea */
	int *bloblen;
};

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

static void pg_seterr(struct pg_db *db, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void pg_seterr(struct pg_db *db, const char *fmt, ...)
{
	char buf[DB_PG_ERR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	scrub_copy(db->err, sizeof db->err, buf, db->password);
}

/* The code for a finished command's result (NULL: none came back). */
static int pg_code(struct pg_db *db, const PGresult *res)
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
static void pg_seterr_res(struct pg_db *db, const PGresult *res, int code)
{
	const char *msg = res ? PQresultErrorMessage(res) : "";
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

	if (!*msg && db->conn)
		msg = PQerrorMessage(db->conn);
	if (!*msg)
		msg = "no answer from the server";
	if (code == DB_LOST)
		pg_seterr(db, "connection lost: %s", msg);
	else if (state)
		pg_seterr(db, "%s (SQLSTATE %s)", msg, state);
	else
		pg_seterr(db, "%s", msg);
}

/* Records db_changes from an INSERT, UPDATE, DELETE or MERGE result. */
static void pg_count(struct pg_db *db, PGresult *res)
{
	const char *cmd = PQcmdStatus(res), *n = PQcmdTuples(res);

	if (!*n)
		return;
	if (strncmp(cmd, "INSERT ", 7) == 0 || strncmp(cmd, "UPDATE ", 7) == 0 ||
	    strncmp(cmd, "DELETE ", 7) == 0 || strncmp(cmd, "MERGE ", 6) == 0)
		db->changes = strtoll(n, NULL, 10);
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
	const char *keys[NDEF + 3], *vals[NDEF + 3];
	PQconninfoOption *opts = NULL;
	PGresult *res = NULL;
	char *perr = NULL;
	int n = 0, result = DB_LOST;

	if (db->conn)
		PQfinish(db->conn);
	db->conn = NULL;
	db->gen++;
	opts = PQconninfoParse(db->url, &perr);
	if (!opts) {
		pg_seterr(db, "invalid connection URL%s", perr ? "" : ": out of memory");
		goto out;
	}
	keys[n] = "dbname";
	vals[n++] = db->url;
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
		pg_seterr(db, "cannot connect: out of memory");
		goto out;
	}
	if (PQstatus(db->conn) != CONNECTION_OK) {
		pg_seterr(db, "cannot connect: %s", PQerrorMessage(db->conn));
		goto out;
	}
	/* NOTICEs (IF NOT EXISTS skipping, ...) are not errors: libpq's
	 * default prints them on stderr. */
	PQsetNoticeProcessor(db->conn, pg_notice, NULL);
	res = PQexec(db->conn, "SELECT pg_is_in_recovery()"
			       " OR current_setting('transaction_read_only') = 'on'");
	if (pg_code(db, res) != DB_OK) {
		pg_seterr_res(db, res, DB_LOST);
		goto out;
	}
	if (PQntuples(res) != 1 || strcmp(PQgetvalue(res, 0, 0), "f") != 0) {
		pg_seterr(db,
			  "refused: the server's session is read-only (a standby, or"
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

struct db *db_open_pg(const char *url, char *err, size_t errlen)
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
static int pg_usable(struct pg_db *db)
{
	if (db->lost || !db->conn || PQstatus(db->conn) == CONNECTION_BAD) {
		db->lost = true;
		pg_seterr(db, "connection lost: call db_reconnect");
		return DB_LOST;
	}
	return DB_OK;
}

static int pg_exec(struct db *base, const char *sql)
{
	struct pg_db *db = (struct pg_db *)base;
	PGresult *res = NULL;
	int rc;

	if ((rc = pg_usable(db)) != DB_OK)
		goto out;
	if (strlen(sql) > DB_PG_SQL_MAX) {
		pg_seterr(db, "SQL longer than %d bytes", DB_PG_SQL_MAX);
		rc = DB_ERROR;
		goto out;
	}
	res = PQexec(db->conn, sql);
	rc = pg_code(db, res);
	if (rc != DB_OK)
		pg_seterr_res(db, res, rc);
	else
		pg_count(db, res);
out:
	PQclear(res);
	return rc;
}

/* Runs a command of the backend's own (savepoints); DB_OK or the error,
 * with db's message set only on an error. */
static int pg_cmd(struct pg_db *db, const char *sql)
{
	PGresult *res = PQexec(db->conn, sql);
	int rc = pg_code(db, res);

	if (rc != DB_OK)
		pg_seterr_res(db, res, rc);
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

/* ---- statements ---- */

static int pg_prepare(struct db *base, const char *sql, struct db_stmt **out)
{
	struct pg_db *db = (struct pg_db *)base;
	struct pg_stmt *st = NULL;
	size_t len = strlen(sql), cap;
	char err[DB_PG_ERR_MAX];
	int rc = DB_NOMEM;

	if (len > DB_PG_SQL_MAX) {
		pg_seterr(db, "SQL longer than %d bytes", DB_PG_SQL_MAX);
		rc = DB_ERROR;
		goto out;
	}
	cap = 3 * len + 1; /* "?" -> "$64" at most triples a byte */
	st = calloc(1, sizeof *st);
	if (!st || !(st->sql = malloc(cap))) {
		pg_seterr(db, "out of memory");
		goto out;
	}
	st->base.ops = &pg_ops;
	st->db = db;
	if ((rc = db_pg_rewrite(sql, st->sql, cap, &st->nparams, err, sizeof err)) != DB_OK) {
		pg_seterr(db, "%s", err);
		goto out;
	}
	*out = &st->base;
	st = NULL;
	rc = DB_OK;
out:
	if (st) {
		free(st->sql);
		free(st);
	}
	return rc;
}

static void pg_free_row(struct pg_stmt *st)
{
	if (st->blob) {
		for (int c = 0; c < st->ncols; c++) {
			free(st->blob[c]);
			st->blob[c] = NULL;
		}
	}
}

/* Drops the result and its decoded columns. */
static void pg_drop_result(struct pg_stmt *st)
{
	pg_free_row(st);
	free(st->blob);
	free(st->bloblen);
	st->blob = NULL;
	st->bloblen = NULL;
	PQclear(st->res);
	st->res = NULL;
	st->row = st->nrows = st->ncols = 0;
}

static void pg_reset(struct db_stmt *base)
{
	struct pg_stmt *st = (struct pg_stmt *)base;

	pg_drop_result(st);
	for (int i = 0; i < st->nparams; i++) {
		free(st->p[i].text);
		memset(&st->p[i], 0, sizeof st->p[i]);
	}
	st->ran = false;
}

/* DEALLOCATEs a server-side statement of the current connection, when
 * the connection can take a command (not in a failed transaction, whose
 * end frees nothing: the statement then lives until the connection). */
static void pg_deallocate(struct pg_db *db, struct pg_prepared *pp)
{
	char sql[DB_PG_NAME_MAX + 16];

	if (pp->gen == db->gen && !db->lost && db->conn && PQstatus(db->conn) == CONNECTION_OK &&
	    PQtransactionStatus(db->conn) != PQTRANS_INERROR) {
		snprintf(sql, sizeof sql, "DEALLOCATE %s", pp->name);
		PQclear(PQexec(db->conn, sql));
	}
	pp->gen = 0;
}

static void pg_finalize(struct db_stmt *base)
{
	struct pg_stmt *st = (struct pg_stmt *)base;

	pg_reset(base);
	for (int k = 0; k < DB_PG_PREPARED_MAX; k++)
		pg_deallocate(st->db, &st->prep[k]);
	free(st->sql);
	free(st);
}

/* The parameter i (from 1) ready to take a new value, or NULL with *rc. */
static struct pg_param *pg_param(struct pg_stmt *st, int i, int *rc)
{
	struct pg_param *p;

	if (st->ran) {
		pg_seterr(st->db, "bind on a statement not reset since its step");
		*rc = DB_MISUSE;
		return NULL;
	}
	if (i < 1 || i > st->nparams) {
		pg_seterr(st->db, "parameter %d out of 1..%d", i, st->nparams);
		*rc = DB_RANGE;
		return NULL;
	}
	p = &st->p[i - 1];
	free(p->text);
	memset(p, 0, sizeof *p);
	*rc = DB_OK;
	return p;
}

static int pg_bind_int64(struct db_stmt *base, int i, int64_t v)
{
	int rc;
	struct pg_param *p = pg_param((struct pg_stmt *)base, i, &rc);

	if (p) {
		p->kind = PK_INT;
		snprintf(p->num, sizeof p->num, "%" PRId64, v);
	}
	return rc;
}

static int pg_bind_double(struct db_stmt *base, int i, double v)
{
	int rc;
	struct pg_param *p = pg_param((struct pg_stmt *)base, i, &rc);

	if (!p || isnan(v)) /* SQLite binds a NaN as NULL */
		return rc;
	p->kind = PK_DOUBLE;
	if (isinf(v))
		snprintf(p->num, sizeof p->num, "%s", v > 0 ? "Infinity" : "-Infinity");
	else
		snprintf(p->num, sizeof p->num, "%.17g", v);
	return rc;
}

static int pg_bind_text(struct db_stmt *base, int i, const char *s, int nbyte)
{
	struct pg_stmt *st = (struct pg_stmt *)base;
	int rc;
	struct pg_param *p = pg_param(st, i, &rc);
	size_t len;

	if (!p || !s) /* SQLite binds a NULL pointer as NULL */
		return rc;
	len = nbyte < 0 ? strlen(s) : (size_t)nbyte;
	if (memchr(s, '\0', len)) {
		pg_seterr(st->db, "parameter %d: PostgreSQL text cannot hold a NUL byte", i);
		return DB_ERROR;
	}
	/* Text parameters go in text format, which libpq reads up to a NUL. */
	if (!(p->text = malloc(len + 1))) {
		pg_seterr(st->db, "out of memory");
		return DB_NOMEM;
	}
	memcpy(p->text, s, len);
	p->text[len] = '\0';
	p->kind = PK_TEXT;
	return DB_OK;
}

static int pg_bind_blob(struct db_stmt *base, int i, const void *b, size_t n)
{
	struct pg_stmt *st = (struct pg_stmt *)base;
	int rc;
	struct pg_param *p = pg_param(st, i, &rc);

	if (!p || !b)
		return rc;
	if (n > INT_MAX) {
		pg_seterr(st->db, "parameter %d: blob of %zu bytes past %d", i, n, INT_MAX);
		return DB_ERROR;
	}
	p->kind = PK_BLOB;
	p->blob = b;
	p->len = (int)n;
	return DB_OK;
}

static int pg_bind_null(struct db_stmt *base, int i)
{
	int rc;

	pg_param((struct pg_stmt *)base, i, &rc);
	return rc;
}

/* True when prepared statement pp can take the parameters bound now. */
static bool pg_fits(const struct pg_stmt *st, const struct pg_prepared *pp)
{
	for (int i = 0; i < st->nparams; i++) {
		Oid t = pp->types[i];
		switch (st->p[i].kind) {
		case PK_NULL:
			break; /* NULL is a value of every type */
		case PK_INT:
			if (t != PG_INT8OID)
				return false;
			break;
		case PK_DOUBLE:
			if (t != PG_FLOAT8OID)
				return false;
			break;
		case PK_TEXT:
			if (t != 0 && t != PG_TEXTOID)
				return false;
			break;
		case PK_BLOB:
			if (t != PG_BYTEAOID)
				return false;
			break;
		}
	}
	return true;
}

/* The server-side statement for the parameters bound now: one prepared
 * on this connection before, else a new one (PREPARE). NULL with *rc. */
static struct pg_prepared *pg_prepared_for(struct pg_stmt *st, int *rc)
{
	struct pg_db *db = st->db;
	struct pg_prepared *pp = NULL;
	PGresult *res = NULL;
	const char *state;
	bool sp;
	int k;

	for (k = 0; k < DB_PG_PREPARED_MAX; k++)
		if (st->prep[k].gen == db->gen && pg_fits(st, &st->prep[k]))
			return &st->prep[k];
	for (k = 0; k < DB_PG_PREPARED_MAX && st->prep[k].gen == db->gen; k++)
		;
	if (k == DB_PG_PREPARED_MAX) {
		k = st->evict;
		st->evict = (st->evict + 1) % DB_PG_PREPARED_MAX;
		pg_deallocate(db, &st->prep[k]);
	}
	pp = &st->prep[k];
	pp->gen = 0;
	snprintf(pp->name, sizeof pp->name, "ga%u", db->next_name++);
	for (int i = 0; i < st->nparams; i++) {
		static const Oid types[] = {[PK_NULL] = 0,
					    [PK_INT] = PG_INT8OID,
					    [PK_DOUBLE] = PG_FLOAT8OID,
					    [PK_TEXT] = 0,
					    [PK_BLOB] = PG_BYTEAOID};
		pp->types[i] = types[st->p[i].kind];
	}
	/* In a transaction, a failed PREPARE would abort it: under a
	 * savepoint it does not (as a failed sqlite3_prepare), and the retry
	 * below can run. Once per connection and signature: cheap. */
	sp = PQtransactionStatus(db->conn) == PQTRANS_INTRANS;
	if (sp && (*rc = pg_cmd(db, "SAVEPOINT ga_prepare")) != DB_OK) {
		pp = NULL;
		goto out;
	}
	res = PQprepare(db->conn, pp->name, st->sql, st->nparams, pp->types);
	state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	if (state && strcmp(state, "42P18") == 0) {
		/* Could not infer a type-0 parameter: try those as text. */
		bool any = false;
		for (int i = 0; i < st->nparams; i++)
			if (pp->types[i] == 0) {
				pp->types[i] = PG_TEXTOID;
				any = true;
			}
		if (any && (!sp || pg_cmd(db, "ROLLBACK TO SAVEPOINT ga_prepare") == DB_OK)) {
			PQclear(res);
			res = PQprepare(db->conn, pp->name, st->sql, st->nparams, pp->types);
		}
	}
	*rc = pg_code(db, res);
	if (*rc != DB_OK)
		pg_seterr_res(db, res, *rc);
	if (sp && *rc != DB_LOST) {
		int r2 = DB_OK;
		if (*rc != DB_OK)
			r2 = pg_cmd(db, "ROLLBACK TO SAVEPOINT ga_prepare");
		if (r2 == DB_OK)
			r2 = pg_cmd(db, "RELEASE SAVEPOINT ga_prepare");
		if (r2 != DB_OK && *rc == DB_OK)
			*rc = r2;
	}
	if (*rc != DB_OK) {
		pp = NULL;
		goto out;
	}
	pp->gen = db->gen;
out:
	PQclear(res);
	return pp;
}

/* Runs st with its bindings: DB_ROW, DB_DONE or an error code. */
static int pg_run(struct pg_stmt *st)
{
	struct pg_db *db = st->db;
	const char *values[DB_PG_PARAMS_MAX];
	int lengths[DB_PG_PARAMS_MAX], formats[DB_PG_PARAMS_MAX];
	struct pg_prepared *pp;
	PGresult *res = NULL;
	int rc;

	st->ran = true;
	if ((rc = pg_usable(db)) != DB_OK)
		goto out;
	if (!(pp = pg_prepared_for(st, &rc)))
		goto out;
	for (int i = 0; i < st->nparams; i++) {
		const struct pg_param *p = &st->p[i];
		lengths[i] = 0;
		formats[i] = 0;
		switch (p->kind) {
		case PK_NULL:
			values[i] = NULL;
			break;
		case PK_INT:
		case PK_DOUBLE:
			values[i] = p->num;
			break;
		case PK_TEXT:
			values[i] = p->text;
			break;
		case PK_BLOB:
			values[i] = p->len ? p->blob : ""; /* non-NULL: not SQL NULL */
			lengths[i] = p->len;
			formats[i] = 1;
			break;
		}
	}
	res = PQexecPrepared(db->conn, pp->name, st->nparams, values, lengths, formats, 0);
	if ((rc = pg_code(db, res)) != DB_OK) {
		pg_seterr_res(db, res, rc);
		goto out;
	}
	pg_count(db, res);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) == 0) {
		rc = DB_DONE;
		goto out;
	}
	st->ncols = PQnfields(res);
	st->nrows = PQntuples(res);
	st->blob = calloc((size_t)st->ncols, sizeof *st->blob);
	st->bloblen = calloc((size_t)st->ncols, sizeof *st->bloblen);
	if (!st->blob || !st->bloblen) {
		pg_seterr(db, "out of memory");
		rc = DB_NOMEM;
		st->ncols = 0;
		goto out;
	}
	st->res = res;
	res = NULL;
	st->row = 0;
	rc = DB_ROW;
out:
	PQclear(res);
	return rc;
}

static int pg_step(struct db_stmt *base)
{
	struct pg_stmt *st = (struct pg_stmt *)base;

	if (st->ran && st->res) {
		pg_free_row(st);
		if (++st->row < st->nrows)
			return DB_ROW;
		pg_drop_result(st);
		return DB_DONE;
	}
	/* First step, or a step after DB_DONE or an error: SQLite runs the
	 * statement again (auto-reset, bindings kept), so does this. */
	pg_drop_result(st);
	return pg_run(st);
}

/* ---- columns ---- */

/* True when col of the current row can be read and is not NULL. */
static bool pg_has(const struct pg_stmt *st, int col)
{
	return st->res && col >= 0 && col < st->ncols && st->row < st->nrows &&
	       !PQgetisnull(st->res, st->row, col);
}

static int pg_column_type(struct db_stmt *base, int col)
{
	struct pg_stmt *st = (struct pg_stmt *)base;

	if (!pg_has(st, col))
		return DB_NULL;
	switch (PQftype(st->res, col)) {
	case PG_INT2OID:
	case PG_INT4OID:
	case PG_INT8OID:
	case PG_OIDOID:
	case PG_BOOLOID: /* as SQLite has it: 1 or 0 */
		return DB_INTEGER;
	case PG_FLOAT4OID:
	case PG_FLOAT8OID:
	case PG_NUMERICOID:
		return DB_FLOAT;
	case PG_BYTEAOID:
		return DB_BLOB;
	default:
		return DB_TEXT;
	}
}

/* The decoded bytes of a bytea column (NUL-terminated), NULL when out of
 * memory. */
static const char *pg_bytea(struct pg_stmt *st, int col)
{
	unsigned char *raw;
	size_t n;

	if (st->blob[col])
		return st->blob[col];
	raw = PQunescapeBytea((const unsigned char *)PQgetvalue(st->res, st->row, col), &n);
	if (!raw || n > INT_MAX)
		goto out;
	if ((st->blob[col] = malloc(n + 1))) {
		memcpy(st->blob[col], raw, n);
		st->blob[col][n] = '\0';
		st->bloblen[col] = (int)n;
	}
out:
	if (raw)
		PQfreemem(raw);
	return st->blob[col];
}

static const char *pg_column_text(struct db_stmt *base, int col)
{
	struct pg_stmt *st = (struct pg_stmt *)base;
	const char *v;

	if (!pg_has(st, col))
		return NULL;
	v = PQgetvalue(st->res, st->row, col);
	switch (PQftype(st->res, col)) {
	case PG_BYTEAOID:
		return pg_bytea(st, col);
	case PG_BOOLOID:
		return *v == 't' ? "1" : "0";
	default:
		return v;
	}
}

static const void *pg_column_blob(struct db_stmt *base, int col)
{
	return pg_column_text(base, col);
}

static int pg_column_bytes(struct db_stmt *base, int col)
{
	struct pg_stmt *st = (struct pg_stmt *)base;
	const char *v = pg_column_text(base, col);

	if (!v)
		return 0;
	if (PQftype(st->res, col) == PG_BYTEAOID)
		return st->bloblen[col];
	return (int)strlen(v);
}

static double pg_column_double(struct db_stmt *base, int col)
{
	const char *v = pg_column_text(base, col);

	return v ? strtod(v, NULL) : 0.0;
}

static int64_t pg_column_int64(struct db_stmt *base, int col)
{
	const char *v = pg_column_text(base, col);
	char *end;
	long long n;
	double d;

	if (!v)
		return 0;
	errno = 0;
	n = strtoll(v, &end, 10);
	if (errno == 0 && *end != '.' && *end != 'e' && *end != 'E' && !(end == v && *v))
		return n;
	/* A float, numeric or out-of-range text: SQLite's cast, truncated
	 * toward zero and clamped. */
	d = strtod(v, NULL);
	if (isnan(d))
		return 0;
	if (d >= 9223372036854775807.0)
		return INT64_MAX;
	if (d <= -9223372036854775808.0)
		return INT64_MIN;
	return (int64_t)d;
}

static const struct db_ops pg_ops = {
    .close = pg_close,
    .sqlite = pg_sqlite,
    .errmsg = pg_errmsg,
    .exec = pg_exec,
    .prepare = pg_prepare,
    .finalize = pg_finalize,
    .bind_int64 = pg_bind_int64,
    .bind_double = pg_bind_double,
    .bind_text = pg_bind_text,
    .bind_blob = pg_bind_blob,
    .bind_null = pg_bind_null,
    .step = pg_step,
    .column_type = pg_column_type,
    .column_int64 = pg_column_int64,
    .column_double = pg_column_double,
    .column_text = pg_column_text,
    .column_blob = pg_column_blob,
    .column_bytes = pg_column_bytes,
    .reset = pg_reset,
    .changes = pg_changes,
    .in_txn = pg_in_txn,
    .reconnect = pg_reconnect,
};
