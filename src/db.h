/* db.h - the one SQL interface under the store: a prepared-statement API
 * with two backends, SQLite (db_sqlite.c, the embedded default) and
 * PostgreSQL (db_pg.c, libpq; spec §10). Only store*.c include it: no SQL
 * leaves the store module.
 *
 * The calls mirror SQLite's (bind, step, column, reset) so the store reads
 * the same on both backends, and the result codes are SQLite's numbers:
 * the SQLite backend passes its codes through, the PostgreSQL backend
 * maps SQLSTATEs onto them (db_pg.c says how).
 *
 * SQL is written once with `?` or `?N` parameters (N from 1); the
 * PostgreSQL backend rewrites them to `$N` outside quotes. A row id made
 * by an INSERT is read with `RETURNING id` (SQLite >= 3.35 and PostgreSQL
 * both have it), never with a last-insert-rowid call. Statements whose SQL
 * must differ by dialect say so where they are defined (store_sql.c).
 *
 * Threads: a struct db and its statements belong to one thread at a time,
 * as a SQLite connection opened NOMUTEX does. */
#ifndef GA_DB_H
#define GA_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Result codes: SQLite's values, so the SQLite backend returns its own. */
enum {
	DB_OK = 0,
	DB_ERROR = 1,  /* anything not listed below; db_errmsg says what */
	DB_BUSY = 5,   /* locked by another connection, serialization failure, deadlock */
	DB_LOCKED = 6, /* SQLite only: a conflict within the connection (never from PostgreSQL) */
	DB_NOMEM = 7,
	DB_IOERR = 10,
	DB_FULL = 13,	    /* disk full, max_page_count reached */
	DB_CONSTRAINT = 19, /* unique, primary key, check, foreign key, not null */
	DB_MISUSE = 21,
	DB_RANGE = 25, /* bind index out of range (SQLite's SQLITE_RANGE) */
	DB_ROW = 100,
	DB_DONE = 101,
	/* PostgreSQL only: the connection is gone (server stopped, failover).
	 * The statement did not run or its outcome is unknown; the open
	 * transaction, if any, is lost. db_reconnect tries again. */
	DB_LOST = 1000,
	/* Extended codes, SQLite's values: a result may carry one, so compare
	 * a result with a primary code above as (rc & 0xff). The store tells
	 * a duplicate key from other violations by these. PostgreSQL: 23505
	 * is DB_CONSTRAINT_UNIQUE, 23514 DB_CONSTRAINT_CHECK, any other
	 * class 23 DB_CONSTRAINT. */
	DB_CONSTRAINT_CHECK = 275,	 /* DB_CONSTRAINT | 1 << 8 */
	DB_CONSTRAINT_PRIMARYKEY = 1555, /* DB_CONSTRAINT | 6 << 8 */
	DB_CONSTRAINT_UNIQUE = 2067,	 /* DB_CONSTRAINT | 8 << 8 */
};

/* Column types as db_column_type reports them: SQLite's values. The
 * PostgreSQL backend reports DB_NULL or the type of the column's OID. */
enum {
	DB_INTEGER = 1,
	DB_FLOAT = 2,
	DB_TEXT = 3,
	DB_BLOB = 4,
	DB_NULL = 5,
};

enum db_kind { DB_KIND_SQLITE, DB_KIND_POSTGRES };

struct db;
struct db_stmt;

/* Opens a PostgreSQL connection from a libpq URL or keyword string
 * (`postgresql://u@h1:p1,h2:p2/db?target_session_attrs=read-write`).
 * NULL with err filled (the URL's password never copied into err). */
/* password (NULL: none) overrides the URL's; geoalert reads it from
 * [store] password_file, libpq may also find one in PGPASSFILE. */
struct db *db_open_pg(const char *url, const char *password, char *err, size_t errlen);

/* Wraps an open SQLite connection (store.c opens it and sets its pragmas);
 * db_close closes it. */
struct sqlite3;
struct db *db_wrap_sqlite(struct sqlite3 *conn);

/* Finalizes nothing: every statement must be finalized first. */
void db_close(struct db *db);

enum db_kind db_kind(const struct db *db);
/* The SQLite connection of a DB_KIND_SQLITE db (pragmas, WAL hook,
 * backup), NULL for PostgreSQL. */
struct sqlite3 *db_sqlite(struct db *db);
/* The SQLite statement of a statement on a DB_KIND_SQLITE db (tests read
 * its counters), NULL for PostgreSQL. */
struct sqlite3_stmt;
struct sqlite3_stmt *db_sqlite_stmt(struct db_stmt *st);

/* Last error of this connection, never NULL. */
const char *db_errmsg(struct db *db);

/* Runs sql, which may hold several statements and no parameters (DDL,
 * migrations, BEGIN/COMMIT). */
int db_exec(struct db *db, const char *sql);

/* Prepares sql (up to its NUL), one statement. *out is NULL on failure;
 * db_finalize(NULL) does nothing. The PostgreSQL backend defers the
 * server-side prepare to the first step, per connection. */
int db_prepare(struct db *db, const char *sql, struct db_stmt **out);
/* The same, for a statement that may never run (the store's table of
 * statements, prepared for every connection): sql is checked now, as by
 * db_prepare, but SQLite compiles it for keeps only at its first bind or
 * step, so a connection holds compiled only the statements it uses
 * (issue 11: ~3 MiB of the service's peak RSS were the store's statements
 * compiled on connections that never ran them). sql must outlive the
 * statement (a string constant). A failure to compile it then is the
 * bind's or step's result. */
int db_prepare_lazy(struct db *db, const char *sql, struct db_stmt **out);
void db_finalize(struct db_stmt *st);

/* Says that st's caller never goes on with a transaction in which st
 * failed (it rolls the transaction back), so a failure of st may abort the
 * whole transaction. PostgreSQL: st, a write, then runs without the
 * savepoint every other write in a transaction gets (db_pg_stmt.c), and
 * saves its cost; a COMMIT after it failed is refused, never taken for a
 * commit. SQLite: nothing changes (a failed statement aborts only
 * itself). */
void db_stmt_fails_txn(struct db_stmt *st);

/* Deferred writes. Says that st, a write, may be sent without waiting
 * for its answer (how: DB_DEFER and the flags below); its caller goes on
 * as if it had succeeded. PostgreSQL, inside a transaction: the step
 * puts st in the connection's pipeline (libpq pipeline mode) and answers
 * DB_DONE at once; the answers of everything deferred are read by the
 * next statement that needs an answer (a read, a write not deferred, the
 * COMMIT; db_collect), in one round trip with it. A deferred write that
 * failed (or broke a DB_DEFER_CHANGES or DB_DEFER_ROW promise) fails the
 * transaction: that next statement answers the failure (a constraint
 * violation as DB_ERROR, never as DB_CONSTRAINT: nothing may take it
 * for a duplicate and go on), so does every later one but ROLLBACK, and
 * the COMMIT is refused, never taken for a commit. So only a statement
 * whose callers roll the transaction back when it fails may be marked
 * (db_stmt_fails_txn's promise); being told later is then the same.
 * SQLite, and PostgreSQL outside a transaction: st runs at once, as if
 * it were not marked. */
#define DB_DEFER 1u
/* db_changes after a deferred step answers 1: the write must change a
 * row, and one that changed none fails the transaction (the callers of
 * st take "no row" for an answer: not found, a duplicate; under
 * deferral that answer would come too late to act on). */
#define DB_DEFER_CHANGES 2u
/* st returns one row (INSERT .. RETURNING id): a step is deferred only
 * when db_defer_row was called for it; a run with no row fails the
 * transaction. */
#define DB_DEFER_ROW 4u
void db_stmt_may_defer(struct db_stmt *st, unsigned how);

/* Batched writes. Says that the deferred steps of st (db_stmt_may_defer,
 * not DB_DEFER_ROW) may be gathered and sent as one statement of many
 * rows: sql, with the marker $ROWS where the rows' parameter lists go
 * ("($1, .. $n), ($n+1, .. $2n) .."), or $ORDROWS for lists each led by
 * the row's ordinal in that statement (1, 2 ..; the rows of one
 * statement follow those of the one before); each parameter's type is inferred by the
 * server (sql casts where it cannot). PostgreSQL: a deferred step of st
 * copies its parameters and answers as deferred; the rows are sent, up
 * to 128 a statement, when 128 are gathered and before any statement
 * that waits for its answer (a read, a write not deferred, the COMMIT,
 * db_collect), so every read sees them. A deferred write of another
 * statement may reach the server before them: only a write that no
 * other deferred write depends on may be batched. DB_DEFER_CHANGES holds
 * row by row (a statement of k rows must change k); a failure fails the
 * transaction as a deferred one does; ROLLBACK drops them unsent. key
 * (a parameter's number; 0: none): a row whose parameter key equals that
 * of a row gathered (text, not NULL) sends the gathered rows first, so
 * no statement carries two rows of one key (an UPDATE .. FROM would
 * apply one of them). sql NULL: no batches. DB_OK, or DB_ERROR (sql
 * without a marker, key out of range). SQLite: DB_OK, nothing changes. */
int db_stmt_batch(struct db_stmt *st, const char *sql, int key);

/* For the next step of st (DB_DEFER_ROW), until its reset: the caller
 * takes the row late. If the step is deferred, *first (first may be NULL:
 * not wanted) gets the row's first column as an integer when the answer
 * is read, at the latest by the COMMIT or ROLLBACK; first must stay valid
 * until then. Until then *first is left as it was. */
void db_defer_row(struct db_stmt *st, int64_t *first);

/* True when the last step of st was deferred (until its reset). */
bool db_deferred(struct db_stmt *st);

/* Reads the answers of every deferred write of db: DB_OK, or the failure
 * (which then holds as said above). SQLite: DB_OK. */
int db_collect(struct db *db);

/* Binds parameter i (from 1). Text and blobs are not copied: they must
 * stay valid until the statement is reset (SQLITE_STATIC semantics).
 * Text: nbyte -1 is up to the NUL; p NULL binds NULL. Blob: p NULL binds
 * NULL; a non-NULL p with n 0 is an empty blob, not NULL (the store binds
 * "", 0 for one). */
int db_bind_int(struct db_stmt *st, int i, int v);
int db_bind_int64(struct db_stmt *st, int i, int64_t v);
int db_bind_double(struct db_stmt *st, int i, double v);
int db_bind_text(struct db_stmt *st, int i, const char *p, int nbyte);
int db_bind_blob(struct db_stmt *st, int i, const void *p, size_t n);
int db_bind_null(struct db_stmt *st, int i);

/* DB_ROW with a row to read, DB_DONE when there are no (more) rows, else
 * an error code. The first step runs the statement. */
int db_step(struct db_stmt *st);

/* Columns of the current row, from 0. Text is NULL for SQL NULL and valid
 * until the next step or reset. A NULL reads as 0 from the int, int64
 * and double calls, as NULL and 0 bytes from blob and bytes (the store
 * relies on it: "NULL reads as 0"). bytes: of the text (without its NUL)
 * or blob. */
int db_column_type(struct db_stmt *st, int col);
int db_column_int(struct db_stmt *st, int col);
int64_t db_column_int64(struct db_stmt *st, int col);
double db_column_double(struct db_stmt *st, int col);
const char *db_column_text(struct db_stmt *st, int col);
const void *db_column_blob(struct db_stmt *st, int col);
int db_column_bytes(struct db_stmt *st, int col);

/* Makes st ready to run again and clears its bindings. */
void db_reset(struct db_stmt *st);

/* Rows changed by the last INSERT, UPDATE or DELETE run on db (after a
 * deferred one: 1 with DB_DEFER_CHANGES, else 0). */
int64_t db_changes(struct db *db);

/* True inside an explicit transaction (BEGIN .. COMMIT/ROLLBACK). */
bool db_in_txn(struct db *db);

/* PostgreSQL: drops a lost connection and connects again (libpq tries
 * every host of a multi-host URL); statements are prepared again on their
 * next step. DB_OK, or DB_LOST while no server answers. SQLite: DB_OK. */
int db_reconnect(struct db *db);

#endif
