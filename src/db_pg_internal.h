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

/* The statement ops (db_pg_stmt.c), as struct db_ops names them. */
int db_pg_prepare(struct db *base, const char *sql, struct db_stmt **out);
void db_pg_finalize(struct db_stmt *base);
void db_pg_fails_txn(struct db_stmt *base);
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
