/* store_copy.h - `geoalert store copy` (spec §10, issue 12): every table
 * of a SQLite store copied, row for row, into an empty PostgreSQL store.
 *
 * Both stores are opened with store_open first (so both have the current
 * schema). The copy reads the source's table list from sqlite_schema and
 * each table's columns from pragma_table_info: a table added by a later
 * migration is copied without touching this file. Tables are copied in an
 * order where a table comes after every table its foreign keys name
 * (store_copy_order), rows in primary-key order (a self-reference, as
 * alert_drafts.supersedes, names an older row). Tables SQLite keeps for
 * itself (sqlite_sequence, sqlite_stat1...) are skipped with a reason.
 *
 * The whole copy is one transaction on PostgreSQL: a failure anywhere
 * leaves the target as empty as it was. It is refused unless every table
 * of the target (schema_version aside) is empty. Inside it, each table's
 * user triggers are off while its rows go in (ALTER TABLE .. DISABLE
 * TRIGGER USER, on again before the commit): the counters that triggers
 * keep (delivery_counts) are copied as they are, not counted twice, and
 * the audit trail goes in as it was written. Foreign keys stay checked.
 * Then each identity column is moved past the largest copied id, and the
 * row counts of every table are compared on both sides, before the
 * commit (a difference rolls back) and after it. */
#ifndef GA_STORE_COPY_H
#define GA_STORE_COPY_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "store.h"

/* Tables of the source copied or skipped, at most. */
#define STORE_COPY_TABLES_MAX 64
/* Columns of one table: one insert parameter each (db.h's PostgreSQL
 * backend takes 64 per statement). */
#define STORE_COPY_COLUMNS_MAX 64
/* Bytes of a table or column name, with its NUL. */
#define STORE_COPY_NAME_MAX 64
/* Rows go in by batches of at most this many rows (one INSERT of one
 * array per column), or fewer once their bytes reach the second cap. */
#define STORE_COPY_BATCH_ROWS 1000
#define STORE_COPY_BATCH_BYTES (4 << 20)
/* A progress event every this many rows of one table. */
#define STORE_COPY_PROGRESS_ROWS 20000

enum store_copy_what {
	STORE_COPY_SKIPPED,   /* table not copied: reason says why */
	STORE_COPY_PROGRESS,  /* rows so far of a table being copied */
	STORE_COPY_COPIED,    /* a table is in: rows, seconds */
	STORE_COPY_COMMITTED, /* the target's transaction is committed */
	STORE_COPY_COUNTED,   /* after the commit: rows (source) and target_rows */
};

struct store_copy_event {
	enum store_copy_what what;
	const char *table;
	const char *reason;
	int64_t rows, target_rows;
	double seconds;
};

typedef void (*store_copy_cb)(const struct store_copy_event *ev, void *arg);

/* Copies every table of from (SQLite) into to (PostgreSQL), calling cb
 * (may be NULL) as it goes. GA_OK when every table is copied and its row
 * count is the same on both sides after the commit; GA_ERR_CONFLICT when
 * the target holds rows (err names the first table that does);
 * GA_ERR_INVAL when from is not SQLite or to not PostgreSQL, or the
 * schemas differ (err names the table or column); else the error, err
 * saying which table and row. Neither store may be in a transaction. */
ga_err store_copy(struct store *from, struct store *to, store_copy_cb cb, void *arg, char *err,
		  size_t errlen);

/* The order to copy n tables in (n <= STORE_COPY_TABLES_MAX): refs[i * n
 * + j] non-zero when table i has a foreign key to table j (i == j, a
 * self-reference, is ignored). order gets the n indexes, each table after
 * those it references, otherwise in index order. GA_ERR_INVAL when n is
 * past the cap or the references form a cycle (*cycle, when not NULL, is
 * then a table in it). */
ga_err store_copy_order(size_t n, const unsigned char *refs, size_t *order, size_t *cycle);

#endif
