/* db_internal.h - what the backends of db.h share: the dispatch table
 * (db.c calls through it) and the PostgreSQL backend's SQL rewriter.
 * Only db.c and db_*.c include it.
 *
 * A backend's connection struct starts with a struct db and its
 * statement struct with a struct db_stmt (so a pointer to one is a pointer
 * to the other); db_open_pg / db_wrap_sqlite set ops and kind. db.c checks
 * nothing the backend can check itself: each op gets a non-NULL pointer
 * (db.c returns DB_MISUSE or a zero value for NULL). */
#ifndef GA_DB_INTERNAL_H
#define GA_DB_INTERNAL_H

#include "db.h"

struct db_ops {
	void (*close)(struct db *db);
	struct sqlite3 *(*sqlite)(struct db *db);
	const char *(*errmsg)(struct db *db);
	int (*exec)(struct db *db, const char *sql);
	int (*prepare)(struct db *db, const char *sql, struct db_stmt **out);
	/* NULL: prepare serves (db_prepare_lazy) */
	int (*prepare_lazy)(struct db *db, const char *sql, struct db_stmt **out);
	void (*finalize)(struct db_stmt *st);
	void (*fails_txn)(struct db_stmt *st); /* NULL: nothing to do */
	/* Deferred writes: NULL when the backend runs every write at once. */
	void (*may_defer)(struct db_stmt *st, unsigned how);
	int (*batch)(struct db_stmt *st, const char *sql, int key); /* NULL: no batches */
	void (*defer_row)(struct db_stmt *st, int64_t *first);
	bool (*deferred)(struct db_stmt *st);
	int (*collect)(struct db *db);
	int (*bind_int64)(struct db_stmt *st, int i, int64_t v);
	int (*bind_double)(struct db_stmt *st, int i, double v);
	int (*bind_text)(struct db_stmt *st, int i, const char *p, int nbyte);
	int (*bind_blob)(struct db_stmt *st, int i, const void *p, size_t n);
	int (*bind_null)(struct db_stmt *st, int i);
	int (*step)(struct db_stmt *st);
	int (*column_type)(struct db_stmt *st, int col);
	int64_t (*column_int64)(struct db_stmt *st, int col);
	double (*column_double)(struct db_stmt *st, int col);
	const char *(*column_text)(struct db_stmt *st, int col);
	const void *(*column_blob)(struct db_stmt *st, int col);
	int (*column_bytes)(struct db_stmt *st, int col);
	void (*reset)(struct db_stmt *st);
	int64_t (*changes)(struct db *db);
	bool (*in_txn)(struct db *db);
	int (*reconnect)(struct db *db);
};

struct db {
	const struct db_ops *ops;
	enum db_kind kind;
};

struct db_stmt {
	const struct db_ops *ops;
};

/* PostgreSQL backend caps. */
#define DB_PG_PARAMS_MAX 64	   /* parameters of one statement (?N: N <= this) */
#define DB_PG_SQL_MAX (256 * 1024) /* bytes of one statement's or exec's SQL */

/* Rewrites SQLite-style parameters to PostgreSQL's: `?` becomes `$N` with
 * N one more than the largest number given so far (SQLite's rule), `?N`
 * becomes `$N`. Left alone: text in '..' and E'..' strings, ".."
 * identifiers, $tag$..$tag$ bodies, -- and (nested) block comments.
 * out (outcap bytes, at least 3 * strlen(sql) + 1 is always enough) gets
 * the NUL-terminated result, *nparams the largest N (0: none).
 * DB_OK; DB_ERROR with err filled for `?0`, N past DB_PG_PARAMS_MAX, an
 * unterminated string, identifier or comment, or out too small.
 * (PostgreSQL's jsonb operators ?, ?| and ?& cannot be written: use
 * jsonb_exists, jsonb_exists_any, jsonb_exists_all.) */
int db_pg_rewrite(const char *sql, char *out, size_t outcap, int *nparams, char *err,
		  size_t errlen);

#endif
