/* db_pg_internal.h - what db_pg.c (connection, errors) and db_pg_stmt.c
 * (statements, columns) share: the connection struct, the error helpers
 * and the statement ops that db_pg.c puts in its table. Only db_pg*.c
 * include it. */
#ifndef GA_DB_PG_INTERNAL_H
#define GA_DB_PG_INTERNAL_H

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

#define DB_PG_ERR_MAX 512    /* bytes of an error message kept */
#define DB_PG_PREPARED_MAX 4 /* server-side statements (signatures) per statement */
#define DB_PG_NAME_MAX 24    /* "ga" + a counter */

/* Deferred writes in the pipeline at once, at most: past it, the writes
 * so far are collected before the next is sent. A deferred write's answer
 * is a few dozen bytes, which the server writes while the client is not
 * reading; a bound keeps them well inside the socket buffers, so that
 * neither side ever blocks on a full one (libpq's warning on pipeline
 * mode with a blocking connection). */
#define DB_PG_PENDING_MAX 128
#define DB_PG_WHAT_MAX 48 /* bytes of a deferred write's SQL kept for messages */
/* Batched writes (db_pg_batch.c): rows of one statement gathered before
 * they are sent, at most; statements with rows gathered at once, at most. */
#define DB_PG_BATCH_ROWS 128
#define DB_PG_BATCHES_MAX 8

struct pg_batch;

/* A write sent in the pipeline whose answer is not read yet. */
struct pg_pending {
	int64_t *first;	  /* DB_DEFER_ROW: where the row's first column goes; may be NULL */
	bool want_row;	  /* DB_DEFER_ROW: a run without a row fails */
	bool must_change; /* DB_DEFER_CHANGES: a run changing no row fails */
	int rows;	  /* rows the write carries (a batch's chunk); 0: one */
	char what[DB_PG_WHAT_MAX];
};

struct pg_db {
	struct db base;
	PGconn *conn;
	char *url;	/* for db_reconnect; wiped before free */
	char *password; /* the URL's or the given one, scrubbed from messages; wiped before free */
	bool password_given; /* db_open_pg's password: passed to libpq */
	unsigned gen;	     /* connection generation: starts at 1 */
	unsigned next_name;
	bool lost;
	int64_t changes;
	char err[DB_PG_ERR_MAX];
	/* Deferred writes (db_pg_pipe.c): while npend > 0 the connection is
	 * in pipeline mode inside a transaction. failed: the code of a
	 * deferred write's failure in the open transaction (0: none), which
	 * every statement but ROLLBACK answers until the transaction ends;
	 * failmsg its message. */
	struct pg_pending pend[DB_PG_PENDING_MAX];
	int npend;
	int failed;
	char failmsg[DB_PG_ERR_MAX];
	/* The batches holding rows not sent yet (db_pg_batch.c). */
	struct pg_batch *batches[DB_PG_BATCHES_MAX];
	int nbatches;
};

/* db's message from printf-style arguments, scrubbed of the password. */
void db_pg_seterr(struct pg_db *db, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The db.h code of a finished command's result (NULL: none came back);
 * DB_LOST marks db lost. */
int db_pg_code(struct pg_db *db, const PGresult *res);
/* db's message from a failed command's result. */
void db_pg_seterr_res(struct pg_db *db, const PGresult *res, int code);
/* Records db_changes from an INSERT, UPDATE, DELETE or MERGE result. */
void db_pg_count(struct pg_db *db, PGresult *res);
/* Runs a parameterless command of the backend's own; DB_OK or its code. */
int db_pg_cmd(struct pg_db *db, const char *sql);
/* DB_OK, or DB_LOST with the message set when db has no usable connection. */
int db_pg_usable(struct pg_db *db);

/* Deferred writes (db_pg_pipe.c). */
/* Sends the prepared statement name with its parameters into the
 * pipeline (entered when empty) and records pend; DB_OK, or the code of
 * a connection that cannot take it (the pipeline is then collected). */
int db_pg_defer(struct pg_db *db, const char *name, int n, const char *const *values,
		const int *lengths, const int *formats, const struct pg_pending *pend);
/* Collects the deferred writes: a sync, every answer read, the pipeline
 * left. DB_OK or the failure, which db->failed then holds (db->lost
 * for DB_LOST). discard: the transaction is being rolled back: nothing
 * is written through a pending's first pointer, no failure recorded. */
int db_pg_collect(struct pg_db *db, bool discard);
/* As db_pg_collect, with one more statement (prepared name, its
 * parameters) sent after the deferred writes in the same round trip:
 * *out its result when every deferred write succeeded (NULL otherwise).
 * DB_OK (look at *out's status yourself) or the deferred failure. */
int db_pg_collect_with(struct pg_db *db, const char *name, int n, const char *const *values,
		       const int *lengths, const int *formats, PGresult **out);
/* The answer of a statement run while db->failed holds: the code, db's
 * message set. */
int db_pg_refuse(struct pg_db *db);
/* Forgets the deferred writes of a connection being dropped (nothing
 * written through their first pointers) and the failure. */
void db_pg_forget(struct pg_db *db);
/* True when sql (blanks skipped) is a ROLLBACK of the whole transaction
 * (not ROLLBACK TO a savepoint), or ABORT. */
bool db_pg_is_rollback(const char *sql);
/* True when sql is a COMMIT or END. */
bool db_pg_is_commit(const char *sql);
int db_pg_collect_op(struct db *base);
/* Records a failure of the open transaction (the first one is kept):
 * every statement but ROLLBACK answers it until the transaction ends.
 * what: the SQL it came from, for the message. */
void db_pg_fail(struct pg_db *db, int code, const char *what);

/* Batched writes (db_pg_batch.c). */
/* A batch for a statement of nparams parameters: sql holds the marker
 * $ROWS, replaced by the rows' parameter lists "($1, .. $n), ($n+1, ..)",
 * or $ORDROWS, the same with each list led by the row's ordinal in its
 * statement (a chunk), from 1.
 * key: db_stmt_batch's. NULL with db's message set on a bad sql or key, or
 * out of memory. */
struct pg_batch *db_pg_batch_new(struct pg_db *db, const char *sql, int nparams, int key);
/* Frees b; rows still gathered fail the transaction (never sent). */
void db_pg_batch_free(struct pg_batch *b);
/* Copies a row of b's nparams parameters (libpq's values, lengths,
 * formats) into b; sends b's rows when it is full. must_change:
 * DB_DEFER_CHANGES (a chunk of k rows must change k). DB_OK or the code
 * of a send, which then fails the transaction. */
int db_pg_batch_add(struct pg_batch *b, bool must_change, const char *const *values,
		    const int *lengths, const int *formats);
/* Sends every batch's rows as deferred writes: before a statement that
 * waits for its answer. DB_OK or the first failure (the transaction's). */
int db_pg_batches_flush(struct pg_db *db);
/* Drops every batch's rows unsent (ROLLBACK, a connection dropped). */
void db_pg_batches_drop(struct pg_db *db);
/* PREPAREs sql as name with types (n; a type 0 the server may infer,
 * changed to text where it cannot) on db's connection; the deferred
 * writes are collected first, and in a transaction it runs under a
 * savepoint, so a failure leaves the transaction usable. DB_OK or the
 * code, db's message set. */
int db_pg_server_prepare(struct pg_db *db, const char *name, const char *sql, int n, Oid *types);
/* DEALLOCATEs name when the connection can take a command now (else it
 * lives until the connection ends). */
void db_pg_deallocate_name(struct pg_db *db, const char *name);

/* The statement ops (db_pg_stmt.c), as struct db_ops names them. */
int db_pg_prepare(struct db *base, const char *sql, struct db_stmt **out);
void db_pg_finalize(struct db_stmt *base);
void db_pg_fails_txn(struct db_stmt *base);
void db_pg_may_defer(struct db_stmt *base, unsigned how);
int db_pg_batch(struct db_stmt *base, const char *sql, int key);
void db_pg_defer_row(struct db_stmt *base, int64_t *first);
bool db_pg_deferred(struct db_stmt *base);
/* True, with db's message set, when res answers a COMMIT (sql) with
 * ROLLBACK: the transaction had failed and is gone, nothing committed
 * (PostgreSQL reports no error for it). */
bool db_pg_commit_refused(struct pg_db *db, const char *sql, PGresult *res);
int db_pg_bind_int64(struct db_stmt *base, int i, int64_t v);
int db_pg_bind_double(struct db_stmt *base, int i, double v);
int db_pg_bind_text(struct db_stmt *base, int i, const char *s, int nbyte);
int db_pg_bind_blob(struct db_stmt *base, int i, const void *b, size_t n);
int db_pg_bind_null(struct db_stmt *base, int i);
int db_pg_step(struct db_stmt *base);
int db_pg_column_type(struct db_stmt *base, int col);
int64_t db_pg_column_int64(struct db_stmt *base, int col);
double db_pg_column_double(struct db_stmt *base, int col);
const char *db_pg_column_text(struct db_stmt *base, int col);
const void *db_pg_column_blob(struct db_stmt *base, int col);
int db_pg_column_bytes(struct db_stmt *base, int col);
void db_pg_reset(struct db_stmt *base);

#endif
