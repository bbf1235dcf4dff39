/* db_pg_stmt.c - the PostgreSQL backend's statements: bind, the lazy
 * server-side PREPARE per parameter-type signature, step, columns
 * (db_pg.c's header comment has the contract). */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "db_pg_internal.h"

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

struct pg_stmt {
	struct db_stmt base;
	struct pg_db *db;
	char *sql; /* rewritten: $N */
	int nparams;
	struct pg_param p[DB_PG_PARAMS_MAX];
	struct pg_prepared prep[DB_PG_PREPARED_MAX];
	int evict;		/* next slot to reuse when all are taken */
	bool writes;		/* INSERT, UPDATE, DELETE or WITH: may break a constraint */
	bool bare;		/* a write run without its savepoint (db_stmt_fails_txn) */
	bool commit;		/* COMMIT or END: the deferred writes are collected first */
	bool rollback;		/* ROLLBACK (not TO): ends a failed transaction */
	unsigned defer;		/* DB_DEFER flags (db_stmt_may_defer); 0: runs at once */
	struct pg_batch *batch; /* db_stmt_batch: deferred steps gathered here */
	bool row_late;		/* db_defer_row called since the last reset */
	int64_t *first;		/* its pointer */
	bool deferred;		/* the last step was deferred */
	bool ran;		/* stepped since the last reset */
	PGresult *res;		/* rows not yet all stepped over */
	int row, nrows, ncols;
	char **blob; /* per column of the current row: decoded bytea */
	int *bloblen;
};

/* ---- statements ---- */

/* True when sql begins (after blanks) with INSERT, UPDATE, DELETE or WITH:
 * a statement that may break a constraint. */
static bool pg_writes(const char *sql)
{
	static const char *const verbs[] = {"INSERT", "UPDATE", "DELETE", "WITH"};

	sql += strspn(sql, " \t\r\n");
	for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++) {
		size_t n = strlen(verbs[i]);
		if (strncasecmp(sql, verbs[i], n) == 0 && !isalnum((unsigned char)sql[n]))
			return true;
	}
	return false;
}

int db_pg_prepare(struct db *base, const char *sql, struct db_stmt **out)
{
	struct pg_db *db = (struct pg_db *)base;
	struct pg_stmt *st = NULL;
	size_t len = strlen(sql), cap;
	char err[DB_PG_ERR_MAX];
	int rc = DB_NOMEM;

	if (len > DB_PG_SQL_MAX) {
		db_pg_seterr(db, "SQL longer than %d bytes", DB_PG_SQL_MAX);
		rc = DB_ERROR;
		goto out;
	}
	cap = 3 * len + 1; /* "?" -> "$64" at most triples a byte */
	st = calloc(1, sizeof *st);
	if (!st || !(st->sql = malloc(cap))) {
		db_pg_seterr(db, "out of memory");
		goto out;
	}
	st->base.ops = db->base.ops;
	st->db = db;
	if ((rc = db_pg_rewrite(sql, st->sql, cap, &st->nparams, err, sizeof err)) != DB_OK) {
		db_pg_seterr(db, "%s", err);
		goto out;
	}
	st->writes = pg_writes(sql);
	st->commit = db_pg_is_commit(sql);
	st->rollback = db_pg_is_rollback(sql);
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

void db_pg_reset(struct db_stmt *base)
{
	struct pg_stmt *st = (struct pg_stmt *)base;

	pg_drop_result(st);
	for (int i = 0; i < st->nparams; i++) {
		free(st->p[i].text);
		memset(&st->p[i], 0, sizeof st->p[i]);
	}
	st->ran = false;
	st->deferred = false;
	st->row_late = false;
	st->first = NULL;
}

void db_pg_deallocate_name(struct pg_db *db, const char *name)
{
	char sql[DB_PG_NAME_MAX + 16];

	if (!db->lost && db->npend == 0 && db->conn && PQstatus(db->conn) == CONNECTION_OK &&
	    PQtransactionStatus(db->conn) != PQTRANS_INERROR) {
		snprintf(sql, sizeof sql, "DEALLOCATE %s", name);
		PQclear(PQexec(db->conn, sql));
	}
}

/* DEALLOCATEs a server-side statement of the current connection, when
 * the connection can take a command (not in a failed transaction, whose
 * end frees nothing, nor with deferred writes in the pipeline: the
 * statement then lives until the connection). */
static void pg_deallocate(struct pg_db *db, struct pg_prepared *pp)
{
	if (pp->gen == db->gen)
		db_pg_deallocate_name(db, pp->name);
	pp->gen = 0;
}

void db_pg_fails_txn(struct db_stmt *base)
{
	struct pg_stmt *st = (struct pg_stmt *)base;

	st->bare = true;
}

void db_pg_may_defer(struct db_stmt *base, unsigned how)
{
	struct pg_stmt *st = (struct pg_stmt *)base;

	st->defer = (how & DB_DEFER) ? how : 0;
}

int db_pg_batch(struct db_stmt *base, const char *sql, int key)
{
	struct pg_stmt *st = (struct pg_stmt *)base;
	struct pg_batch *b = NULL;

	if (sql && !(b = db_pg_batch_new(st->db, sql, st->nparams, key)))
		return DB_ERROR;
	db_pg_batch_free(st->batch);
	st->batch = b;
	return DB_OK;
}

void db_pg_defer_row(struct db_stmt *base, int64_t *first)
{
	struct pg_stmt *st = (struct pg_stmt *)base;

	st->row_late = true;
	st->first = first;
}

bool db_pg_deferred(struct db_stmt *base)
{
	return ((struct pg_stmt *)base)->deferred;
}

void db_pg_finalize(struct db_stmt *base)
{
	struct pg_stmt *st = (struct pg_stmt *)base;

	db_pg_reset(base);
	db_pg_batch_free(st->batch);
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
		db_pg_seterr(st->db, "bind on a statement not reset since its step");
		*rc = DB_MISUSE;
		return NULL;
	}
	if (i < 1 || i > st->nparams) {
		db_pg_seterr(st->db, "parameter %d out of 1..%d", i, st->nparams);
		*rc = DB_RANGE;
		return NULL;
	}
	p = &st->p[i - 1];
	free(p->text);
	memset(p, 0, sizeof *p);
	*rc = DB_OK;
	return p;
}

int db_pg_bind_int64(struct db_stmt *base, int i, int64_t v)
{
	int rc;
	struct pg_param *p = pg_param((struct pg_stmt *)base, i, &rc);

	if (p) {
		p->kind = PK_INT;
		snprintf(p->num, sizeof p->num, "%" PRId64, v);
	}
	return rc;
}

int db_pg_bind_double(struct db_stmt *base, int i, double v)
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

int db_pg_bind_text(struct db_stmt *base, int i, const char *s, int nbyte)
{
	struct pg_stmt *st = (struct pg_stmt *)base;
	int rc;
	struct pg_param *p = pg_param(st, i, &rc);
	size_t len;

	if (!p || !s) /* SQLite binds a NULL pointer as NULL */
		return rc;
	len = nbyte < 0 ? strlen(s) : (size_t)nbyte;
	if (memchr(s, '\0', len)) {
		db_pg_seterr(st->db, "parameter %d: PostgreSQL text cannot hold a NUL byte", i);
		return DB_ERROR;
	}
	/* Text parameters go in text format, which libpq reads up to a NUL. */
	if (!(p->text = malloc(len + 1))) {
		db_pg_seterr(st->db, "out of memory");
		return DB_NOMEM;
	}
	memcpy(p->text, s, len);
	p->text[len] = '\0';
	p->kind = PK_TEXT;
	return DB_OK;
}

int db_pg_bind_blob(struct db_stmt *base, int i, const void *b, size_t n)
{
	struct pg_stmt *st = (struct pg_stmt *)base;
	int rc;
	struct pg_param *p = pg_param(st, i, &rc);

	if (!p || !b)
		return rc;
	if (n > INT_MAX) {
		db_pg_seterr(st->db, "parameter %d: blob of %zu bytes past %d", i, n, INT_MAX);
		return DB_ERROR;
	}
	p->kind = PK_BLOB;
	p->blob = b;
	p->len = (int)n;
	return DB_OK;
}

int db_pg_bind_null(struct db_stmt *base, int i)
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

/* The server-side statement prepared on this connection before for the
 * parameters bound now, NULL when there is none yet. */
static struct pg_prepared *pg_prepared_find(struct pg_stmt *st)
{
	for (int k = 0; k < DB_PG_PREPARED_MAX; k++)
		if (st->prep[k].gen == st->db->gen && pg_fits(st, &st->prep[k]))
			return &st->prep[k];
	return NULL;
}

/* The server-side statement for the parameters bound now: one prepared
 * on this connection before, else a new one (PREPARE; the deferred
 * writes are collected first: PQprepare waits for its answer). NULL
 * with *rc. */
static struct pg_prepared *pg_prepared_for(struct pg_stmt *st, int *rc)
{
	struct pg_db *db = st->db;
	struct pg_prepared *pp = NULL;
	int k;

	if ((pp = pg_prepared_find(st)))
		return pp;
	if (db->npend > 0 && (*rc = db_pg_collect(db, false)) != DB_OK)
		return NULL;
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
	if ((*rc = db_pg_server_prepare(db, pp->name, st->sql, st->nparams, pp->types)) != DB_OK)
		return NULL;
	pp->gen = db->gen;
	return pp;
}

int db_pg_server_prepare(struct pg_db *db, const char *name, const char *sql, int n, Oid *types)
{
	PGresult *res = NULL;
	const char *state;
	bool sp;
	int rc;

	if (db->npend > 0 && (rc = db_pg_collect(db, false)) != DB_OK)
		return rc;
	/* In a transaction, a failed PREPARE would abort it: under a
	 * savepoint it does not (as a failed sqlite3_prepare), and the retry
	 * below can run. Once per connection and signature: cheap. */
	sp = PQtransactionStatus(db->conn) == PQTRANS_INTRANS;
	if (sp && (rc = db_pg_cmd(db, "SAVEPOINT ga_prepare")) != DB_OK)
		return rc;
	res = PQprepare(db->conn, name, sql, n, types);
	state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	if (state && strcmp(state, "42P18") == 0) {
		/* Could not infer a type-0 parameter: try those as text. */
		bool any = false;
		for (int i = 0; i < n; i++)
			if (types[i] == 0) {
				types[i] = PG_TEXTOID;
				any = true;
			}
		if (any && (!sp || db_pg_cmd(db, "ROLLBACK TO SAVEPOINT ga_prepare") == DB_OK)) {
			PQclear(res);
			res = PQprepare(db->conn, name, sql, n, types);
		}
	}
	rc = db_pg_code(db, res);
	if (rc != DB_OK)
		db_pg_seterr_res(db, res, rc);
	if (sp && rc != DB_LOST) {
		int r2 = DB_OK;
		if (rc != DB_OK)
			r2 = db_pg_cmd(db, "ROLLBACK TO SAVEPOINT ga_prepare");
		if (r2 == DB_OK)
			r2 = db_pg_cmd(db, "RELEASE SAVEPOINT ga_prepare");
		if (r2 != DB_OK && rc == DB_OK)
			rc = r2;
	}
	PQclear(res);
	return rc;
}

/* Runs the prepared statement name under SAVEPOINT ga_stmt, in one round
 * trip: SAVEPOINT, the statement and RELEASE go as one libpq pipeline.
 * When the statement fails, ROLLBACK TO and RELEASE follow (two more
 * round trips, on failure only) and the statement's code and message are
 * db's; the transaction stays usable. *out: the statement's result (NULL
 * on failure). DB_OK or the error code. */
static int pg_run_savepoint(struct pg_db *db, const char *name, int n, const char *const *values,
			    const int *lengths, const int *formats, PGresult **out)
{
	PGconn *c = db->conn;
	PGresult *r[3] = {NULL, NULL, NULL}, *x;
	int rc;

	*out = NULL;
	if (!PQenterPipelineMode(c)) {
		db_pg_seterr(db, "pipeline: %s", PQerrorMessage(c));
		return db_pg_code(db, NULL);
	}
	if (PQsendQueryParams(c, "SAVEPOINT ga_stmt", 0, NULL, NULL, NULL, NULL, 0) &&
	    PQsendQueryPrepared(c, name, n, values, lengths, formats, 0) &&
	    PQsendQueryParams(c, "RELEASE SAVEPOINT ga_stmt", 0, NULL, NULL, NULL, NULL, 0) &&
	    PQpipelineSync(c)) {
		/* Each query's results end with a NULL; the sync follows. A broken
		 * connection gives NULLs, which end every loop. */
		for (int q = 0; q < 3; q++)
			while ((x = PQgetResult(c)) != NULL) {
				if (r[q] == NULL)
					r[q] = x;
				else
					PQclear(x);
			}
		if ((x = PQgetResult(c)) != NULL)
			PQclear(x); /* PGRES_PIPELINE_SYNC */
	}
	if (!PQexitPipelineMode(c) && PQstatus(c) != CONNECTION_BAD)
		db_pg_seterr(db, "pipeline: %s", PQerrorMessage(c));
	if ((rc = db_pg_code(db, r[0])) != DB_OK) {
		/* No savepoint: the transaction was lost or aborted before. */
		db_pg_seterr_res(db, r[0], rc);
		goto out;
	}
	if ((rc = db_pg_code(db, r[1])) != DB_OK) {
		db_pg_seterr_res(db, r[1], rc);
		if (rc != DB_LOST) {
			int r2 = db_pg_cmd(db, "ROLLBACK TO SAVEPOINT ga_stmt");
			if (r2 == DB_OK)
				r2 = db_pg_cmd(db, "RELEASE SAVEPOINT ga_stmt");
			if (r2 != DB_OK) /* the transaction may be unusable: say so */
				rc = r2;
		}
		goto out;
	}
	if ((rc = db_pg_code(db, r[2])) != DB_OK) {
		db_pg_seterr_res(db, r[2], rc);
		goto out;
	}
	*out = r[1];
	r[1] = NULL;
out:
	for (int q = 0; q < 3; q++)
		PQclear(r[q]);
	return rc;
}

/* Writes in a transaction run under a savepoint (pg_run, below). A bench
 * build only (cmake -DGA_BENCH_NO_SAVEPOINT=ON, tests/bench/ingest_pg.sh)
 * runs them bare, to measure what the savepoint costs: there a duplicate
 * report aborts its group's whole transaction, so it must never serve. */
#ifdef GA_BENCH_NO_SAVEPOINT
#define PG_WRITE_SAVEPOINT 0
#else
#define PG_WRITE_SAVEPOINT 1
#endif

/* Runs st with its bindings: DB_ROW, DB_DONE or an error code. */
static int pg_run(struct pg_stmt *st)
{
	struct pg_db *db = st->db;
	const char *values[DB_PG_PARAMS_MAX];
	int lengths[DB_PG_PARAMS_MAX], formats[DB_PG_PARAMS_MAX];
	struct pg_prepared *pp;
	PGresult *res = NULL;
	bool defer;
	int rc;

	st->ran = true;
	if ((rc = db_pg_usable(db)) != DB_OK)
		goto out;
	/* A write that may be deferred, in a transaction (the pipeline is
	 * only ever open in one): sent, answered later (db_pg_pipe.c); or
	 * gathered with the others of its batch (db_pg_batch.c). One
	 * returning a row only when its caller takes the row late. Any other
	 * statement waits for its answer: the batches are sent first. */
	defer = st->defer &&
		(db->npend > 0 || db->nbatches > 0 ||
		 PQtransactionStatus(db->conn) == PQTRANS_INTRANS) &&
		(!(st->defer & DB_DEFER_ROW) || st->row_late);
	/* Deferred writes (db_pg_pipe.c): a ROLLBACK drops their answers
	 * (and the batches' rows unsent: db_pg_forget) and ends a failure;
	 * anything else answers a failure; a COMMIT
	 * collects them in a round trip of its own first, so that no
	 * client-side check can fail once it is sent; so does a write run
	 * under its savepoint (pg_run_savepoint leads a pipeline of its
	 * own). */
	if (st->rollback) {
		if (db->npend > 0)
			db_pg_collect(db, true);
		db_pg_forget(db);
		if ((rc = db_pg_usable(db)) != DB_OK)
			goto out;
	} else if (db->failed) {
		rc = db_pg_refuse(db);
		goto out;
	} else if (!defer && db->nbatches > 0 && (rc = db_pg_batches_flush(db)) != DB_OK) {
		goto out;
	} else if (db->npend > 0 && (st->commit || (st->writes && !st->bare))) {
		if ((rc = db_pg_collect(db, false)) != DB_OK)
			goto out;
	}
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
	if (defer && st->batch && !(st->defer & DB_DEFER_ROW)) {
		if ((rc = db_pg_batch_add(st->batch, (st->defer & DB_DEFER_CHANGES) != 0, values,
					  lengths, formats)) == DB_OK) {
			st->deferred = true;
			db->changes = (st->defer & DB_DEFER_CHANGES) ? 1 : 0;
			rc = DB_DONE;
		}
		goto out;
	}
	if (!(pp = pg_prepared_for(st, &rc)))
		goto out;
	if (defer) {
		struct pg_pending pend = {.first = st->first,
					  .want_row = (st->defer & DB_DEFER_ROW) != 0,
					  .must_change = (st->defer & DB_DEFER_CHANGES) != 0};
		snprintf(pend.what, sizeof pend.what, "%s", st->sql);
		if ((rc = db_pg_defer(db, pp->name, st->nparams, values, lengths, formats,
				      &pend)) == DB_OK) {
			st->deferred = true;
			db->changes = pend.must_change ? 1 : 0;
			rc = DB_DONE;
		}
		goto out;
	}
	/* In a transaction, an error aborts the whole of it in PostgreSQL
	 * but only the statement in SQLite, and the store relies on that: a
	 * duplicate report or a refused row leaves the group's transaction
	 * usable (store.c, store_error). A statement that writes runs under
	 * a savepoint, rolled back to when it fails (pg_run_savepoint);
	 * but not one whose callers roll back when it fails (bare): there the
	 * savepoint (a subtransaction, two more statements) is pure cost. */
	if (db->npend > 0) {
		/* Behind the deferred writes, in their round trip. */
		if ((rc = db_pg_collect_with(db, pp->name, st->nparams, values, lengths, formats,
					     &res)) == DB_OK &&
		    (rc = db_pg_code(db, res)) != DB_OK)
			db_pg_seterr_res(db, res, rc);
	} else if (PG_WRITE_SAVEPOINT && st->writes && !st->bare &&
		   PQtransactionStatus(db->conn) == PQTRANS_INTRANS)
		rc = pg_run_savepoint(db, pp->name, st->nparams, values, lengths, formats, &res);
	else {
		res = PQexecPrepared(db->conn, pp->name, st->nparams, values, lengths, formats, 0);
		if ((rc = db_pg_code(db, res)) != DB_OK)
			db_pg_seterr_res(db, res, rc);
	}
	if (rc != DB_OK)
		goto out;
	if (db_pg_commit_refused(db, st->sql, res)) {
		rc = DB_ERROR;
		goto out;
	}
	db_pg_count(db, res);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) == 0) {
		rc = DB_DONE;
		goto out;
	}
	st->ncols = PQnfields(res);
	st->nrows = PQntuples(res);
	st->blob = calloc((size_t)st->ncols, sizeof *st->blob);
	st->bloblen = calloc((size_t)st->ncols, sizeof *st->bloblen);
	if (!st->blob || !st->bloblen) {
		db_pg_seterr(db, "out of memory");
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

int db_pg_step(struct db_stmt *base)
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

int db_pg_column_type(struct db_stmt *base, int col)
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

const char *db_pg_column_text(struct db_stmt *base, int col)
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

const void *db_pg_column_blob(struct db_stmt *base, int col)
{
	return db_pg_column_text(base, col);
}

int db_pg_column_bytes(struct db_stmt *base, int col)
{
	struct pg_stmt *st = (struct pg_stmt *)base;
	const char *v = db_pg_column_text(base, col);

	if (!v)
		return 0;
	if (PQftype(st->res, col) == PG_BYTEAOID)
		return st->bloblen[col];
	return (int)strlen(v);
}

double db_pg_column_double(struct db_stmt *base, int col)
{
	const char *v = db_pg_column_text(base, col);

	return v ? strtod(v, NULL) : 0.0;
}

int64_t db_pg_column_int64(struct db_stmt *base, int col)
{
	const char *v = db_pg_column_text(base, col);
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
