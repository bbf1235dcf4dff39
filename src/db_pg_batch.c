/* db_pg_batch.c - the PostgreSQL backend's batched writes (db.h,
 * db_stmt_batch): the deferred steps of one statement gathered and sent
 * as one statement of many rows.
 *
 * Why. A deferred write (db_pg_pipe.c) costs no round trip, but each
 * still costs the server a statement: bind, executor start and end, the
 * protocol's messages. The ingest writer's report insert was 40 us of
 * server time a report (tests/bench/ingest_pg.sh, pg_stat_statements); in
 * pgbench on this machine 240 rows as one insert of 60 rows four times
 * cost the server half of 240 single-row inserts (docs/benchmarks.md,
 * "Many rows a statement").
 *
 * How. A batched step copies its parameters into the batch (the caller's
 * text and blobs need not outlive the step) and answers DB_DONE, as a
 * deferred step does. The rows are sent as deferred writes, in chunks of
 * a power of two rows (at most DB_PG_BATCH_ROWS), each a server-side
 * statement prepared once per connection and chunk size: the batch's SQL
 * with its marker replaced by the rows' parameter lists. They are sent
 * when the batch is full and before any statement that waits for its
 * answer (a read, a write not deferred, the COMMIT; db_collect), so a
 * read sees them; a deferred write of another statement may reach the
 * server before them (db.h says which writes may be batched). ROLLBACK
 * and a lost connection drop them unsent.
 *
 * DB_DEFER_CHANGES holds for a chunk as for a row: a chunk of k rows must
 * change k rows, else the transaction fails (db_pg_pipe.c). With a key,
 * no chunk carries two rows of one key: the second sends the rows before
 * it first (an UPDATE .. FROM (VALUES ..) would apply one of two rows of
 * one id, and change one row for them).
 *
 * Parameter types. Every parameter of a chunk is prepared with type 0
 * (the server infers it: in INSERT .. VALUES from the target column; the
 * batch SQL casts where it cannot), except one bound as a blob, which is
 * sent in binary and so declared bytea; a chunk whose blobs fall on other
 * parameters than its prepared statement's is prepared again. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_pg_internal.h"

/* Chunk sizes: 1, 2, 4 .. DB_PG_BATCH_ROWS (2^(DB_PG_BATCH_SIZES - 1)). */
#define DB_PG_BATCH_SIZES 8
#define DB_PG_BATCH_BYTES (4 * 1024 * 1024) /* bytes of parameters gathered, at most */
#define DB_PG_BATCH_ROWS_MARK "$ROWS"
#define DB_PG_BATCH_ORD_MARK "$ORDROWS"

/* One gathered row: its parameters, copied. */
struct pg_brow {
	const char **values;
	int *lengths;
	int *formats;
};

struct pg_chunk {
	unsigned gen; /* connection generation it was prepared on; 0: none */
	char name[DB_PG_NAME_MAX];
	Oid *types; /* size * nparams */
};

struct pg_batch {
	struct pg_db *db;
	char *head, *tail; /* the SQL around the marker */
	bool ord;	   /* $ORDROWS: each row's list starts with its ordinal (1, 2 ..) */
	int nparams;
	int key;	  /* db_stmt_batch's key: a parameter's number, 0 none */
	bool must_change; /* DB_DEFER_CHANGES: a chunk of k rows must change k */
	char what[DB_PG_WHAT_MAX];
	struct pg_brow rows[DB_PG_BATCH_ROWS];
	int nrows;
	size_t bytes;
	struct pg_chunk chunk[DB_PG_BATCH_SIZES];
};

struct pg_batch *db_pg_batch_new(struct pg_db *db, const char *sql, int nparams, int key)
{
	struct pg_batch *b = NULL;
	const char *mark = strstr(sql, DB_PG_BATCH_ORD_MARK);
	size_t marklen = strlen(DB_PG_BATCH_ORD_MARK);
	bool ord = mark != NULL;

	if (!ord) {
		mark = strstr(sql, DB_PG_BATCH_ROWS_MARK);
		marklen = strlen(DB_PG_BATCH_ROWS_MARK);
	}
	if (!mark || nparams < 1 || nparams > DB_PG_PARAMS_MAX || strlen(sql) > DB_PG_SQL_MAX ||
	    key < 0 || key > nparams) {
		db_pg_seterr(db,
			     "batch SQL without %s, parameters out of 1..%d or key out of 0..%d",
			     DB_PG_BATCH_ROWS_MARK, DB_PG_PARAMS_MAX, nparams);
		return NULL;
	}
	if (!(b = calloc(1, sizeof *b)) || !(b->head = strndup(sql, (size_t)(mark - sql))) ||
	    !(b->tail = strdup(mark + marklen))) {
		db_pg_seterr(db, "out of memory");
		db_pg_batch_free(b);
		return NULL;
	}
	b->db = db;
	b->ord = ord;
	b->nparams = nparams;
	b->key = key;
	snprintf(b->what, sizeof b->what, "%s", sql);
	return b;
}

/* Forgets the gathered rows. */
static void batch_clear(struct pg_batch *b)
{
	for (int r = 0; r < b->nrows; r++)
		free(b->rows[r].values); /* one block: the row's arrays and bytes */
	b->nrows = 0;
	b->bytes = 0;
}

/* Takes b off its connection's list of batches with rows. */
static void batch_unlist(struct pg_batch *b)
{
	struct pg_db *db = b->db;

	for (int i = 0; i < db->nbatches; i++)
		if (db->batches[i] == b) {
			db->batches[i] = db->batches[--db->nbatches];
			return;
		}
}

void db_pg_batch_free(struct pg_batch *b)
{
	if (!b)
		return;
	if (b->nrows > 0) {
		/* Rows the caller was told were written never will be: the
		 * transaction must not commit. */
		batch_unlist(b);
		batch_clear(b);
		db_pg_seterr(b->db, "a batched write was dropped unsent");
		db_pg_fail(b->db, DB_ERROR, b->what);
	}
	for (int k = 0; k < DB_PG_BATCH_SIZES; k++)
		free(b->chunk[k].types);
	free(b->head);
	free(b->tail);
	free(b);
}

/* Appends to buf (cap bytes, *len used) what fmt says; past cap it
 * writes nothing more and *len only grows, so that the caller sees it. */
__attribute__((format(printf, 4, 5))) static void batch_put(char *buf, size_t cap, size_t *len,
							    const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(*len < cap ? buf + *len : NULL, *len < cap ? cap - *len : 0, fmt, ap);
	va_end(ap);
	*len += n > 0 ? (size_t)n : 0;
}

/* The SQL of a chunk of size rows, NULL when out of memory. */
static char *batch_sql(const struct pg_batch *b, int size)
{
	/* "(ord, " + nparams * "$NNNN, " + ")" + ", " per row */
	size_t per = 16 + (size_t)b->nparams * 8, cap = strlen(b->head) + strlen(b->tail) + 1;
	char *sql;
	size_t len = 0;
	int n = 0;

	cap += (size_t)size * per;
	if (!(sql = malloc(cap)))
		return NULL;
	batch_put(sql, cap, &len, "%s", b->head);
	for (int r = 0; r < size; r++) {
		batch_put(sql, cap, &len, "%s(", r ? ", " : "");
		if (b->ord)
			batch_put(sql, cap, &len, "%d, ", r + 1);
		for (int i = 0; i < b->nparams; i++)
			batch_put(sql, cap, &len, "%s$%d", i ? ", " : "", ++n);
		batch_put(sql, cap, &len, ")");
	}
	batch_put(sql, cap, &len, "%s", b->tail);
	if (len >= cap) { /* cap is computed to fit: never, but never past it */
		free(sql);
		return NULL;
	}
	return sql;
}

/* Sends rows [first, first + size) as one chunk (a deferred write). */
static int batch_send(struct pg_batch *b, int first, int size, int k)
{
	struct pg_db *db = b->db;
	struct pg_chunk *c = &b->chunk[k];
	int n = size * b->nparams, rc = DB_NOMEM;
	const char **values = malloc((size_t)n * sizeof *values);
	int *lengths = malloc((size_t)n * sizeof *lengths);
	int *formats = malloc((size_t)n * sizeof *formats);
	Oid *types = calloc((size_t)n, sizeof *types), *ptypes = NULL;
	struct pg_pending pend = {.must_change = b->must_change, .rows = size};
	char *sql = NULL;

	if (!values || !lengths || !formats || !types) {
		db_pg_seterr(db, "out of memory");
		goto out;
	}
	for (int r = 0; r < size; r++) {
		const struct pg_brow *row = &b->rows[first + r];
		for (int i = 0; i < b->nparams; i++) {
			int j = r * b->nparams + i;
			values[j] = row->values[i];
			lengths[j] = row->lengths[i];
			formats[j] = row->formats[i];
			types[j] = formats[j] ? PG_BYTEAOID : 0;
		}
	}
	if (c->gen != db->gen || !c->types ||
	    memcmp(c->types, types, (size_t)n * sizeof *types) != 0) {
		if (c->gen == db->gen)
			db_pg_deallocate_name(db, c->name);
		c->gen = 0;
		if (!(sql = batch_sql(b, size))) {
			db_pg_seterr(db, "out of memory");
			goto out;
		}
		snprintf(c->name, sizeof c->name, "ga%u", db->next_name++);
		/* The prepare may turn a type 0 into text (db_pg_server_prepare):
		 * give it a copy, so that the next chunk compares alike. */
		if (!(ptypes = malloc((size_t)n * sizeof *ptypes))) {
			db_pg_seterr(db, "out of memory");
			rc = DB_NOMEM;
			goto out;
		}
		memcpy(ptypes, types, (size_t)n * sizeof *types);
		if ((rc = db_pg_server_prepare(db, c->name, sql, n, ptypes)) != DB_OK)
			goto out;
		free(c->types);
		c->types = types;
		types = NULL;
		c->gen = db->gen;
	}
	snprintf(pend.what, sizeof pend.what, "%s", b->what);
	rc = db_pg_defer(db, c->name, n, values, lengths, formats, &pend);
out:
	free(values);
	free(lengths);
	free(formats);
	free(types);
	free(ptypes);
	free(sql);
	return rc;
}

/* Sends b's rows, largest chunks first. */
static int batch_flush(struct pg_batch *b)
{
	int first = 0, rc = DB_OK;

	for (int k = DB_PG_BATCH_SIZES - 1; k >= 0 && rc == DB_OK; k--)
		while (b->nrows - first >= (1 << k) && rc == DB_OK) {
			rc = batch_send(b, first, 1 << k, k);
			first += 1 << k;
		}
	batch_unlist(b);
	batch_clear(b);
	if (rc != DB_OK)
		db_pg_fail(b->db, rc, b->what);
	return rc;
}

int db_pg_batch_add(struct pg_batch *b, bool must_change, const char *const *values,
		    const int *lengths, const int *formats)
{
	struct pg_db *db = b->db;
	size_t size = (size_t)b->nparams * (sizeof(char *) + 2 * sizeof(int)), data = 0;
	struct pg_brow *row;
	char *block, *p;

	/* A row of a key gathered already: the gathered ones go first. */
	if (b->key > 0 && values[b->key - 1] && !formats[b->key - 1])
		for (int r = 0; r < b->nrows; r++) {
			const char *k = b->rows[r].values[b->key - 1];
			if (k && !b->rows[r].formats[b->key - 1] &&
			    strcmp(k, values[b->key - 1]) == 0) {
				int rc = batch_flush(b);
				if (rc != DB_OK)
					return rc;
				break;
			}
		}
	for (int i = 0; i < b->nparams; i++)
		if (values[i])
			data += (formats[i] ? (size_t)lengths[i] : strlen(values[i]) + 1);
	if (!(block = malloc(size + data + 1))) {
		db_pg_seterr(db, "out of memory");
		return DB_NOMEM;
	}
	if (b->nrows == 0) {
		if (db->nbatches == DB_PG_BATCHES_MAX) {
			free(block);
			db_pg_seterr(db, "more than %d batched statements at once",
				     DB_PG_BATCHES_MAX);
			return DB_MISUSE;
		}
		db->batches[db->nbatches++] = b;
	}
	b->must_change = must_change; /* the statement's: the same for every row */
	row = &b->rows[b->nrows++];
	row->values = (const char **)block;
	row->lengths = (int *)(block + (size_t)b->nparams * sizeof(char *));
	row->formats = row->lengths + b->nparams;
	p = block + size;
	for (int i = 0; i < b->nparams; i++) {
		size_t len = 0;
		row->lengths[i] = lengths[i];
		row->formats[i] = formats[i];
		row->values[i] = NULL;
		if (!values[i])
			continue;
		len = formats[i] ? (size_t)lengths[i] : strlen(values[i]) + 1;
		memcpy(p, values[i], len);
		row->values[i] = p;
		p += len;
	}
	b->bytes += data;
	if (b->nrows == DB_PG_BATCH_ROWS || b->bytes >= DB_PG_BATCH_BYTES)
		return batch_flush(b);
	return DB_OK;
}

int db_pg_batches_flush(struct pg_db *db)
{
	int rc = DB_OK;

	/* batch_flush takes each off the list. */
	while (db->nbatches > 0) {
		int r = batch_flush(db->batches[db->nbatches - 1]);
		if (rc == DB_OK)
			rc = r;
	}
	return rc;
}

void db_pg_batches_drop(struct pg_db *db)
{
	while (db->nbatches > 0) {
		struct pg_batch *b = db->batches[--db->nbatches];
		batch_clear(b);
	}
}
