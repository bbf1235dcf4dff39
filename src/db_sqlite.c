/* db_sqlite.c - the SQLite backend of db.h (db.c dispatches to it
 * through sqlite_ops): each call is the sqlite3_* call of the same name,
 * and SQLite's result codes (extended codes included, when the connection
 * has them on) pass through unchanged. It defers nothing (no may_defer
 * op): a write marked with db_stmt_may_defer runs at once, as SQLite's
 * writes are function calls, not round trips. */
#include "db.h"
#include "db_internal.h"

#include <sqlite3.h>
#include <stdlib.h>

#include "log.h"

/* Starts with struct db / struct db_stmt (db_internal.h). */
struct sqlite_db {
	struct db base;
	sqlite3 *conn;
};

struct sqlite_stmt {
	struct db_stmt base;
	sqlite3_stmt *st; /* NULL until compiled (db_prepare_lazy) */
	sqlite3 *conn;
	const char *sql; /* the caller's, for a lazy compile; NULL otherwise */
};

static const struct db_ops sqlite_ops;

#define CONN(db) (((struct sqlite_db *)(db))->conn)
#define STMT(st) (((struct sqlite_stmt *)(st))->st)

/* Compiles a lazily prepared statement at its first use: SQLITE_OK when
 * it is ready. */
static int sqlite_ready(struct db_stmt *base)
{
	struct sqlite_stmt *st = (struct sqlite_stmt *)base;

	if (st->st != NULL)
		return SQLITE_OK;
	if (st->sql == NULL)
		return SQLITE_MISUSE;
	return sqlite3_prepare_v3(st->conn, st->sql, -1, SQLITE_PREPARE_PERSISTENT, &st->st, NULL);
}

struct db *db_wrap_sqlite(struct sqlite3 *conn)
{
	struct sqlite_db *db = calloc(1, sizeof(*db));

	if (db == NULL)
		return NULL;
	db->base.ops = &sqlite_ops;
	db->base.kind = DB_KIND_SQLITE;
	CONN(db) = conn;
	return &db->base;
}

static void sqlite_close(struct db *db)
{
	if (CONN(db) != NULL && sqlite3_close_v2(CONN(db)) != SQLITE_OK)
		log_warnx("db: close: %s", sqlite3_errmsg(CONN(db)));
	free(db);
}

static struct sqlite3 *sqlite_handle(struct db *db)
{
	return CONN(db);
}

struct sqlite3_stmt *db_sqlite_stmt(struct db_stmt *st)
{
	if (st == NULL || st->ops != &sqlite_ops || sqlite_ready(st) != SQLITE_OK)
		return NULL;
	return STMT(st);
}

static const char *sqlite_errmsg(struct db *db)
{
	const char *m = sqlite3_errmsg(CONN(db));

	return m != NULL ? m : "unknown error";
}

static int sqlite_exec(struct db *db, const char *sql)
{
	return sqlite3_exec(CONN(db), sql, NULL, NULL, NULL);
}

/* Every statement is prepared PERSISTENT: the store keeps most of them
 * for the connection's life. */
static int sqlite_prepare(struct db *db, const char *sql, struct db_stmt **out)
{
	struct sqlite_stmt *st;
	int rc;

	*out = NULL;
	if ((st = calloc(1, sizeof(*st))) == NULL)
		return DB_NOMEM;
	st->base.ops = &sqlite_ops;
	rc = sqlite3_prepare_v3(CONN(db), sql, -1, SQLITE_PREPARE_PERSISTENT, &st->st, NULL);
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
	*out = &st->base;
	return DB_OK;
}

/* Compiled once to check sql (and to fail here, at the store's opening,
 * rather than at a first use), then let go: only the schema it loaded
 * stays with the connection. */
static int sqlite_prepare_lazy(struct db *db, const char *sql, struct db_stmt **out)
{
	struct db_stmt *checked;
	int rc = sqlite_prepare(db, sql, &checked);

	if (rc != DB_OK)
		return rc;
	struct sqlite_stmt *st = (struct sqlite_stmt *)checked;
	sqlite3_finalize(st->st);
	st->st = NULL;
	st->conn = CONN(db);
	st->sql = sql;
	*out = checked;
	return DB_OK;
}

static void sqlite_finalize(struct db_stmt *st)
{
	sqlite3_finalize(STMT(st));
	free(st);
}

static int sqlite_bind_int64(struct db_stmt *st, int i, int64_t v)
{
	int rc = sqlite_ready(st);

	return rc == SQLITE_OK ? sqlite3_bind_int64(STMT(st), i, (sqlite3_int64)v) : rc;
}

static int sqlite_bind_double(struct db_stmt *st, int i, double v)
{
	int rc = sqlite_ready(st);

	return rc == SQLITE_OK ? sqlite3_bind_double(STMT(st), i, v) : rc;
}

static int sqlite_bind_text(struct db_stmt *st, int i, const char *p, int nbyte)
{
	int rc = sqlite_ready(st);

	return rc == SQLITE_OK ? sqlite3_bind_text(STMT(st), i, p, nbyte, SQLITE_STATIC) : rc;
}

static int sqlite_bind_blob(struct db_stmt *st, int i, const void *p, size_t n)
{
	int rc = sqlite_ready(st);

	return rc == SQLITE_OK
		   ? sqlite3_bind_blob64(STMT(st), i, p, (sqlite3_uint64)n, SQLITE_STATIC)
		   : rc;
}

static int sqlite_bind_null(struct db_stmt *st, int i)
{
	int rc = sqlite_ready(st);

	return rc == SQLITE_OK ? sqlite3_bind_null(STMT(st), i) : rc;
}

static int sqlite_step(struct db_stmt *st)
{
	int rc = sqlite_ready(st);

	return rc == SQLITE_OK ? sqlite3_step(STMT(st)) : rc;
}

static int sqlite_column_type(struct db_stmt *st, int col)
{
	return sqlite3_column_type(STMT(st), col);
}

static int64_t sqlite_column_int64(struct db_stmt *st, int col)
{
	return (int64_t)sqlite3_column_int64(STMT(st), col);
}

static double sqlite_column_double(struct db_stmt *st, int col)
{
	return sqlite3_column_double(STMT(st), col);
}

static const char *sqlite_column_text(struct db_stmt *st, int col)
{
	return (const char *)sqlite3_column_text(STMT(st), col);
}

static const void *sqlite_column_blob(struct db_stmt *st, int col)
{
	return sqlite3_column_blob(STMT(st), col);
}

static int sqlite_column_bytes(struct db_stmt *st, int col)
{
	return sqlite3_column_bytes(STMT(st), col);
}

static void sqlite_reset(struct db_stmt *st)
{
	if (STMT(st) == NULL)
		return; /* never compiled (db_prepare_lazy): nothing bound */
	sqlite3_reset(STMT(st));
	sqlite3_clear_bindings(STMT(st));
}

static int64_t sqlite_changes(struct db *db)
{
	return (int64_t)sqlite3_changes64(CONN(db));
}

static bool sqlite_in_txn(struct db *db)
{
	return !sqlite3_get_autocommit(CONN(db));
}

static int sqlite_reconnect(struct db *db)
{
	(void)db;
	return DB_OK;
}

static const struct db_ops sqlite_ops = {
    .close = sqlite_close,
    .sqlite = sqlite_handle,
    .errmsg = sqlite_errmsg,
    .exec = sqlite_exec,
    .prepare = sqlite_prepare,
    .prepare_lazy = sqlite_prepare_lazy,
    .finalize = sqlite_finalize,
    .bind_int64 = sqlite_bind_int64,
    .bind_double = sqlite_bind_double,
    .bind_text = sqlite_bind_text,
    .bind_blob = sqlite_bind_blob,
    .bind_null = sqlite_bind_null,
    .step = sqlite_step,
    .column_type = sqlite_column_type,
    .column_int64 = sqlite_column_int64,
    .column_double = sqlite_column_double,
    .column_text = sqlite_column_text,
    .column_blob = sqlite_column_blob,
    .column_bytes = sqlite_column_bytes,
    .reset = sqlite_reset,
    .changes = sqlite_changes,
    .in_txn = sqlite_in_txn,
    .reconnect = sqlite_reconnect,
};

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
