/* db.c - the calls of db.h, dispatched to the connection's backend
 * (db_internal.h: db_sqlite.c or db_pg.c). A NULL db or statement is a
 * misuse, answered without a crash: DB_MISUSE, or a zero value. */
#include <stddef.h>

#include "db_internal.h"

void db_close(struct db *db)
{
	if (db)
		db->ops->close(db);
}

enum db_kind db_kind(const struct db *db)
{
	return db ? db->kind : DB_KIND_SQLITE;
}

struct sqlite3 *db_sqlite(struct db *db)
{
	return db ? db->ops->sqlite(db) : NULL;
}

const char *db_errmsg(struct db *db)
{
	return db ? db->ops->errmsg(db) : "no database connection";
}

int db_exec(struct db *db, const char *sql)
{
	return db && sql ? db->ops->exec(db, sql) : DB_MISUSE;
}

int db_prepare(struct db *db, const char *sql, struct db_stmt **out)
{
	if (out)
		*out = NULL;
	return db && sql && out ? db->ops->prepare(db, sql, out) : DB_MISUSE;
}

int db_prepare_lazy(struct db *db, const char *sql, struct db_stmt **out)
{
	if (out)
		*out = NULL;
	if (!db || !sql || !out)
		return DB_MISUSE;
	return db->ops->prepare_lazy ? db->ops->prepare_lazy(db, sql, out)
				     : db->ops->prepare(db, sql, out);
}

void db_finalize(struct db_stmt *st)
{
	if (st)
		st->ops->finalize(st);
}

void db_stmt_fails_txn(struct db_stmt *st)
{
	if (st && st->ops->fails_txn)
		st->ops->fails_txn(st);
}

void db_stmt_may_defer(struct db_stmt *st, unsigned how)
{
	if (st && st->ops->may_defer)
		st->ops->may_defer(st, how);
}

int db_stmt_batch(struct db_stmt *st, const char *sql, int key)
{
	if (!st)
		return DB_MISUSE;
	return st->ops->batch ? st->ops->batch(st, sql, key) : DB_OK;
}

void db_defer_row(struct db_stmt *st, int64_t *first)
{
	if (st && st->ops->defer_row)
		st->ops->defer_row(st, first);
}

bool db_deferred(struct db_stmt *st)
{
	return st && st->ops->deferred ? st->ops->deferred(st) : false;
}

int db_collect(struct db *db)
{
	if (!db)
		return DB_MISUSE;
	return db->ops->collect ? db->ops->collect(db) : DB_OK;
}

int db_bind_int(struct db_stmt *st, int i, int v)
{
	return st ? st->ops->bind_int64(st, i, v) : DB_MISUSE;
}

int db_bind_int64(struct db_stmt *st, int i, int64_t v)
{
	return st ? st->ops->bind_int64(st, i, v) : DB_MISUSE;
}

int db_bind_double(struct db_stmt *st, int i, double v)
{
	return st ? st->ops->bind_double(st, i, v) : DB_MISUSE;
}

int db_bind_text(struct db_stmt *st, int i, const char *p, int nbyte)
{
	return st ? st->ops->bind_text(st, i, p, nbyte) : DB_MISUSE;
}

int db_bind_blob(struct db_stmt *st, int i, const void *p, size_t n)
{
	return st ? st->ops->bind_blob(st, i, p, n) : DB_MISUSE;
}

int db_bind_null(struct db_stmt *st, int i)
{
	return st ? st->ops->bind_null(st, i) : DB_MISUSE;
}

int db_step(struct db_stmt *st)
{
	return st ? st->ops->step(st) : DB_MISUSE;
}

int db_column_type(struct db_stmt *st, int col)
{
	return st ? st->ops->column_type(st, col) : DB_NULL;
}

int db_column_int(struct db_stmt *st, int col)
{
	/* SQLite's sqlite3_column_int: the low 32 bits of the 64-bit value. */
	return st ? (int)(uint32_t)(uint64_t)st->ops->column_int64(st, col) : 0;
}

int64_t db_column_int64(struct db_stmt *st, int col)
{
	return st ? st->ops->column_int64(st, col) : 0;
}

double db_column_double(struct db_stmt *st, int col)
{
	return st ? st->ops->column_double(st, col) : 0.0;
}

const char *db_column_text(struct db_stmt *st, int col)
{
	return st ? st->ops->column_text(st, col) : NULL;
}

const void *db_column_blob(struct db_stmt *st, int col)
{
	return st ? st->ops->column_blob(st, col) : NULL;
}

int db_column_bytes(struct db_stmt *st, int col)
{
	return st ? st->ops->column_bytes(st, col) : 0;
}

void db_reset(struct db_stmt *st)
{
	if (st)
		st->ops->reset(st);
}

int64_t db_changes(struct db *db)
{
	return db ? db->ops->changes(db) : 0;
}

bool db_in_txn(struct db *db)
{
	return db ? db->ops->in_txn(db) : false;
}

int db_reconnect(struct db *db)
{
	return db ? db->ops->reconnect(db) : DB_MISUSE;
}
