/* db_sqlite.c - the SQLite backend of db.h: each call is the sqlite3_*
 * call of the same name, and SQLite's result codes (extended codes
 * included, when the connection has them on) pass through unchanged.
 *
 * This file compiles and links alone: nothing here refers to the
 * PostgreSQL backend. */
#include "db.h"

#include <sqlite3.h>
#include <stdlib.h>

#include "log.h"

struct db {
	sqlite3 *conn;
};

struct db_stmt {
	sqlite3_stmt *st;
};

struct db *db_wrap_sqlite(struct sqlite3 *conn)
{
	struct db *db = calloc(1, sizeof(*db));

	if (db == NULL)
		return NULL;
	db->conn = conn;
	return db;
}

void db_close(struct db *db)
{
	if (db == NULL)
		return;
	if (db->conn != NULL && sqlite3_close_v2(db->conn) != SQLITE_OK)
		log_warnx("db: close: %s", sqlite3_errmsg(db->conn));
	free(db);
}

enum db_kind db_kind(const struct db *db)
{
	return DB_KIND_SQLITE;
}

struct sqlite3 *db_sqlite(struct db *db)
{
	return db->conn;
}

struct sqlite3_stmt *db_sqlite_stmt(struct db_stmt *st)
{
	return st->st;
}

const char *db_errmsg(struct db *db)
{
	const char *m = sqlite3_errmsg(db->conn);

	return m != NULL ? m : "unknown error";
}

int db_exec(struct db *db, const char *sql)
{
	return sqlite3_exec(db->conn, sql, NULL, NULL, NULL);
}

/* Every statement is prepared PERSISTENT: the store keeps most of them
 * for the connection's life. */
int db_prepare(struct db *db, const char *sql, struct db_stmt **out)
{
	struct db_stmt *st;
	int rc;

	*out = NULL;
	if ((st = calloc(1, sizeof(*st))) == NULL)
		return DB_NOMEM;
	rc = sqlite3_prepare_v3(db->conn, sql, -1, SQLITE_PREPARE_PERSISTENT, &st->st, NULL);
	if (rc != SQLITE_OK) {
		sqlite3_finalize(st->st);
		free(st);
		return rc;
	}
	if (st->st == NULL) {
		/* sql held no statement (only blanks or a comment). */
		free(st);
		return DB_MISUSE;
	}
	*out = st;
	return DB_OK;
}

void db_finalize(struct db_stmt *st)
{
	if (st == NULL)
		return;
	sqlite3_finalize(st->st);
	free(st);
}

int db_bind_int(struct db_stmt *st, int i, int v)
{
	return sqlite3_bind_int(st->st, i, v);
}

int db_bind_int64(struct db_stmt *st, int i, int64_t v)
{
	return sqlite3_bind_int64(st->st, i, (sqlite3_int64)v);
}

int db_bind_double(struct db_stmt *st, int i, double v)
{
	return sqlite3_bind_double(st->st, i, v);
}

int db_bind_text(struct db_stmt *st, int i, const char *p, int nbyte)
{
	return sqlite3_bind_text(st->st, i, p, nbyte, SQLITE_STATIC);
}

int db_bind_blob(struct db_stmt *st, int i, const void *p, size_t n)
{
	return sqlite3_bind_blob64(st->st, i, p, (sqlite3_uint64)n, SQLITE_STATIC);
}

int db_bind_null(struct db_stmt *st, int i)
{
	return sqlite3_bind_null(st->st, i);
}

int db_step(struct db_stmt *st)
{
	return sqlite3_step(st->st);
}

int db_column_type(struct db_stmt *st, int col)
{
	return sqlite3_column_type(st->st, col);
}

int db_column_int(struct db_stmt *st, int col)
{
	return sqlite3_column_int(st->st, col);
}

int64_t db_column_int64(struct db_stmt *st, int col)
{
	return (int64_t)sqlite3_column_int64(st->st, col);
}

double db_column_double(struct db_stmt *st, int col)
{
	return sqlite3_column_double(st->st, col);
}

const char *db_column_text(struct db_stmt *st, int col)
{
	return (const char *)sqlite3_column_text(st->st, col);
}

const void *db_column_blob(struct db_stmt *st, int col)
{
	return sqlite3_column_blob(st->st, col);
}

int db_column_bytes(struct db_stmt *st, int col)
{
	return sqlite3_column_bytes(st->st, col);
}

void db_reset(struct db_stmt *st)
{
	sqlite3_reset(st->st);
	sqlite3_clear_bindings(st->st);
}

int64_t db_changes(struct db *db)
{
	return (int64_t)sqlite3_changes64(db->conn);
}

bool db_in_txn(struct db *db)
{
	return !sqlite3_get_autocommit(db->conn);
}

int db_reconnect(struct db *db)
{
	return DB_OK;
}

_Static_assert(DB_OK == SQLITE_OK && DB_ERROR == SQLITE_ERROR && DB_BUSY == SQLITE_BUSY &&
		   DB_LOCKED == SQLITE_LOCKED && DB_NOMEM == SQLITE_NOMEM &&
		   DB_IOERR == SQLITE_IOERR && DB_FULL == SQLITE_FULL &&
		   DB_CONSTRAINT == SQLITE_CONSTRAINT && DB_MISUSE == SQLITE_MISUSE &&
		   DB_ROW == SQLITE_ROW && DB_DONE == SQLITE_DONE,
	       "db.h result codes are SQLite's");
_Static_assert(DB_CONSTRAINT_CHECK == SQLITE_CONSTRAINT_CHECK &&
		   DB_CONSTRAINT_PRIMARYKEY == SQLITE_CONSTRAINT_PRIMARYKEY &&
		   DB_CONSTRAINT_UNIQUE == SQLITE_CONSTRAINT_UNIQUE,
	       "db.h extended codes are SQLite's");
_Static_assert(DB_INTEGER == SQLITE_INTEGER && DB_FLOAT == SQLITE_FLOAT && DB_TEXT == SQLITE_TEXT &&
		   DB_BLOB == SQLITE_BLOB && DB_NULL == SQLITE_NULL,
	       "db.h column types are SQLite's");
