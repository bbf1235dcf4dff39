/* db_pg_pipe.c - the PostgreSQL backend's deferred writes (db.h,
 * db_stmt_may_defer): libpq's pipeline mode inside a transaction.
 *
 * A deferred write is sent (PQsendQueryPrepared) without a sync and
 * without waiting; libpq keeps it in its output buffer. The next
 * statement that needs an answer goes into the same pipeline, then a
 * sync (PQpipelineSync): one round trip carries the deferred writes and
 * that statement, and the answers come back in order. So a report's
 * writes cost no round trip of their own: they ride on the next read.
 *
 * Failures. When a deferred write fails, PostgreSQL aborts the
 * transaction and skips what follows it in the pipeline up to the sync
 * (PGRES_PIPELINE_ABORTED): the statement that needed an answer did not
 * run, and answers the failure instead. A deferred write that broke a
 * promise checked here (DB_DEFER_CHANGES: it changed no row; DB_DEFER_ROW:
 * no row came back) leaves the server's transaction healthy, so the
 * failure is kept on the connection (db->failed): every statement but a
 * ROLLBACK answers it until the transaction ends, a COMMIT included,
 * which is never sent. Either way the COMMIT cannot succeed after a
 * deferred failure. A COMMIT collects the deferred writes in a round trip
 * of its own before it is sent (db_pg_stmt.c): the client-side checks
 * must pass first. Once per transaction.
 *
 * A lost connection in the middle: the answers do not come (NULL
 * results, CONNECTION_BAD); db_pg_code marks db lost and the statement
 * answers DB_LOST, as when a lone statement loses it: the transaction is
 * gone, the store's caller rolls back and does not acknowledge. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "db_pg_internal.h"

/* Results of one query of the pipeline read at most: a query has one,
 * and NULL after it; the bound only keeps the loop finite. */
#define PIPE_RESULTS_MAX 16

/* The verb of sql, blanks skipped: true when it is word (case aside)
 * followed by the end or a blank or ';'. */
static bool pipe_verb(const char *sql, const char *word)
{
	size_t n = strlen(word);

	sql += strspn(sql, " \t\r\n");
	return strncasecmp(sql, word, n) == 0 &&
	       (sql[n] == '\0' || sql[n] == ';' || strchr(" \t\r\n", sql[n]));
}

bool db_pg_is_rollback(const char *sql)
{
	const char *rest;

	if (pipe_verb(sql, "ABORT"))
		return true;
	if (!pipe_verb(sql, "ROLLBACK"))
		return false;
	/* ROLLBACK [WORK | TRANSACTION] [AND [NO] CHAIN], not ROLLBACK TO. */
	rest = sql + strspn(sql, " \t\r\n") + 8;
	rest += strspn(rest, " \t\r\n");
	if (pipe_verb(rest, "WORK") || pipe_verb(rest, "TRANSACTION")) {
		rest += strcspn(rest, " \t\r\n;");
		rest += strspn(rest, " \t\r\n");
	}
	return !pipe_verb(rest, "TO");
}

bool db_pg_is_commit(const char *sql)
{
	return pipe_verb(sql, "COMMIT") || pipe_verb(sql, "END");
}

/* Records the first failure of the open transaction's deferred writes:
 * a constraint violation as DB_ERROR (the caller told of it is not the
 * write's caller: it must not take it for its own duplicate). db's
 * message is the failure's. */
void db_pg_fail(struct pg_db *db, int code, const char *what)
{
	if (db->failed)
		return;
	if ((code & 0xff) == DB_CONSTRAINT)
		code = DB_ERROR;
	db->failed = code;
	/* The server's message cut to leave room for the rest. */
	if (code == DB_LOST)
		memcpy(db->failmsg, db->err, sizeof db->failmsg);
	else
		snprintf(db->failmsg, sizeof db->failmsg,
			 "a deferred write of this transaction failed (%.47s...): %.360s; the"
			 " transaction must be rolled back",
			 what, db->err);
}

int db_pg_refuse(struct pg_db *db)
{
	memcpy(db->err, db->failmsg, sizeof db->err);
	return db->failed;
}

void db_pg_forget(struct pg_db *db)
{
	db_pg_batches_drop(db);
	db->npend = 0;
	db->failed = 0;
	db->failmsg[0] = '\0';
}

/* The connection cannot go on with its pipeline (a send or the exit
 * failed): treated as lost, so that the next store_begin connects anew
 * and the server rolls the transaction back. */
static int pipe_broken(struct pg_db *db, const char *step)
{
	if (db->conn && PQstatus(db->conn) != CONNECTION_BAD)
		db_pg_seterr(db, "connection lost: pipeline %s: %s", step,
			     PQerrorMessage(db->conn));
	else
		db_pg_seterr(db, "connection lost: %s",
			     db->conn ? PQerrorMessage(db->conn) : "no connection");
	db->lost = true;
	db_pg_fail(db, DB_LOST, "");
	db->npend = 0;
	return DB_LOST;
}

/* The first result of the next query of the pipeline (NULL: none came),
 * the others read and dropped. */
static PGresult *pipe_next(PGconn *c)
{
	PGresult *first = NULL, *x;

	for (int i = 0; i < PIPE_RESULTS_MAX && (x = PQgetResult(c)) != NULL; i++) {
		if (!first)
			first = x;
		else
			PQclear(x);
	}
	return first;
}

/* Checks the answer r of deferred write p; writes its row's first column
 * unless discard. */
static void pipe_check(struct pg_db *db, const struct pg_pending *p, PGresult *r, bool discard)
{
	int code;

	if (r && PQresultStatus(r) == PGRES_PIPELINE_ABORTED) {
		/* Skipped after an earlier failure, recorded already. */
		if (!discard && !db->failed) {
			db_pg_seterr(db, "skipped in the pipeline");
			db_pg_fail(db, DB_ERROR, p->what);
		}
		return;
	}
	if ((code = db_pg_code(db, r)) != DB_OK) {
		db_pg_seterr_res(db, r, code);
		if (!discard || code == DB_LOST)
			db_pg_fail(db, code, p->what);
		return;
	}
	if (discard || db->failed)
		return;
	if (p->must_change && strtoll(PQcmdTuples(r), NULL, 10) != (p->rows ? p->rows : 1)) {
		/* A chunk of a batch changes one row a row of it. */
		if (p->rows > 1)
			db_pg_seterr(db, "it changed %s rows of %d", PQcmdTuples(r), p->rows);
		else
			db_pg_seterr(db, "it changed no row");
		db_pg_fail(db, DB_ERROR, p->what);
		return;
	}
	if (p->want_row) {
		if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) < 1 || PQnfields(r) < 1) {
			db_pg_seterr(db, "it returned no row");
			db_pg_fail(db, DB_ERROR, p->what);
			return;
		}
		if (p->first)
			*p->first = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	}
}

/* The sync, the deferred writes' answers, own's answer (when own_name),
 * the pipeline left. */
static int pipe_finish(struct pg_db *db, bool discard, const char *own_name, int n,
		       const char *const *values, const int *lengths, const int *formats,
		       PGresult **own)
{
	PGconn *c = db->conn;
	PGresult *x;
	int npend = db->npend;

	if (own)
		*own = NULL;
	if (own_name && !PQsendQueryPrepared(c, own_name, n, values, lengths, formats, 0))
		return pipe_broken(db, "send");
	if (!PQpipelineSync(c))
		return pipe_broken(db, "sync");
	for (int i = 0; i < npend; i++) {
		x = pipe_next(c);
		pipe_check(db, &db->pend[i], x, discard);
		PQclear(x);
	}
	db->npend = 0;
	if (own_name) {
		x = pipe_next(c);
		if (own && !db->failed && !db->lost)
			*own = x;
		else
			PQclear(x);
	}
	/* PGRES_PIPELINE_SYNC, not followed by a NULL. */
	if ((x = PQgetResult(c)) != NULL)
		PQclear(x);
	if (!PQexitPipelineMode(c)) {
		if (own) {
			PQclear(*own);
			*own = NULL;
		}
		return pipe_broken(db, "exit");
	}
	if (db->lost)
		return DB_LOST;
	if (discard)
		return DB_OK;
	return db->failed ? db_pg_refuse(db) : DB_OK;
}

int db_pg_collect(struct pg_db *db, bool discard)
{
	if (db->npend == 0)
		return discard || !db->failed ? DB_OK : db_pg_refuse(db);
	return pipe_finish(db, discard, NULL, 0, NULL, NULL, NULL, NULL);
}

int db_pg_collect_with(struct pg_db *db, const char *name, int n, const char *const *values,
		       const int *lengths, const int *formats, PGresult **out)
{
	return pipe_finish(db, false, name, n, values, lengths, formats, out);
}

int db_pg_defer(struct pg_db *db, const char *name, int n, const char *const *values,
		const int *lengths, const int *formats, const struct pg_pending *pend)
{
	PGconn *c = db->conn;

	if (db->npend == 0 && !PQenterPipelineMode(c)) {
		db_pg_seterr(db, "pipeline: %s", PQerrorMessage(c));
		return db_pg_code(db, NULL) == DB_LOST ? DB_LOST : DB_ERROR;
	}
	if (!PQsendQueryPrepared(c, name, n, values, lengths, formats, 0))
		return pipe_broken(db, "send");
	db->pend[db->npend++] = *pend;
	if (db->npend == DB_PG_PENDING_MAX)
		return db_pg_collect(db, false);
	return DB_OK;
}

int db_pg_collect_op(struct db *base)
{
	struct pg_db *db = (struct pg_db *)base;
	int rc;

	if (db->npend == 0 && db->nbatches == 0 && !db->failed)
		return DB_OK;
	if ((rc = db_pg_usable(db)) != DB_OK)
		return rc;
	if (!db->failed && (rc = db_pg_batches_flush(db)) != DB_OK)
		return rc;
	return db_pg_collect(db, false);
}
