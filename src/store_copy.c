/* store_copy.c - a SQLite store copied into an empty PostgreSQL store
 * (store_copy.h says what and in which order). All the SQL of the copy is
 * here: the catalogue queries of both sides, and per table one SELECT on
 * the source and one INSERT on the target run once per batch.
 *
 * Batches. db.h's PostgreSQL backend takes 64 parameters a statement, so
 * a multi-row VALUES would carry one or two rows of a wide table. Instead
 * each column of a batch is one parameter, a PostgreSQL array literal:
 * INSERT INTO t (c1, c2..) SELECT * FROM unnest(CAST(?1 AS type1[]),
 * CAST(?2 AS type2[])..), unnest keeping the rows' order. The array's
 * element type is the target column's, so the server reads each value as
 * it would read it typed into that column: integers in decimal, reals with
 * 17 significant digits (every double comes back the same), text quoted
 * with `"` and `\` escaped (the word NULL stays text; only an unquoted
 * NULL is SQL NULL), and into a BYTEA column the value's bytes (a BLOB's,
 * or a TEXT's) as \x and hex. A batch that does not go in names its rows.
 *
 * Names. Table, column and type names come from the catalogues and are
 * put into SQL quoted; a name that is not a plain lower-case identifier
 * ([a-z_][a-z0-9_]*, what the schema uses) is refused rather than escaped. */
#include "store_copy.h"

#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store_internal.h"
#include "strbuf.h"

/* Bytes of one generated statement: 64 quoted columns of 64 bytes fit. */
#define STORE_COPY_SQL_MAX 16384
#define STORE_COPY_NUM_MAX 40 /* a 64-bit integer or a %.17g double as text */
/* One column's array literal: what one text parameter may carry. */
#define STORE_COPY_COLUMN_BYTES_MAX (256 << 20)

struct copy_column {
	char name[STORE_COPY_NAME_MAX];
	int pk;				/* position in the primary key (1..), 0: not in it */
	char type[STORE_COPY_NAME_MAX]; /* the target column's type (udt_name) */
	bool bytea;			/* the target column is BYTEA */
};

struct copy_table {
	char name[STORE_COPY_NAME_MAX];
	struct copy_column col[STORE_COPY_COLUMNS_MAX];
	int ncols;
	int64_t rows;
};

struct copy {
	struct store *from, *to;
	store_copy_cb cb;
	void *arg;
	char *err;
	size_t errlen;
	struct copy_table *t; /* [STORE_COPY_TABLES_MAX], in sqlite_schema order */
	size_t nt;
	size_t order[STORE_COPY_TABLES_MAX];
};

ga_err store_copy_order(size_t n, const unsigned char *refs, size_t *order, size_t *cycle)
{
	bool done[STORE_COPY_TABLES_MAX] = {false};

	if (n > STORE_COPY_TABLES_MAX)
		return GA_ERR_INVAL;
	/* Kahn's algorithm, taking the lowest ready index each round: the
	 * order is the given one wherever the references allow it. */
	for (size_t k = 0; k < n; k++) {
		size_t pick = n;
		for (size_t i = 0; i < n && pick == n; i++) {
			bool ready = !done[i];
			for (size_t j = 0; j < n && ready; j++)
				if (j != i && refs[i * n + j] && !done[j])
					ready = false;
			if (ready)
				pick = i;
		}
		if (pick == n) {
			for (size_t i = 0; i < n; i++)
				if (!done[i]) {
					if (cycle)
						*cycle = i;
					break;
				}
			return GA_ERR_INVAL;
		}
		done[pick] = true;
		order[k] = pick;
	}
	return GA_OK;
}

static double copy_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void copy_emit(struct copy *c, enum store_copy_what what, const char *table,
		      const char *reason, int64_t rows, int64_t target_rows, double seconds)
{
	struct store_copy_event ev = {what, table, reason, rows, target_rows, seconds};

	if (c->cb)
		c->cb(&ev, c->arg);
}

/* err: "side: what: the database's message". */
static ga_err copy_fail(struct copy *c, struct store *s, int rc, const char *what)
{
	snprintf(c->err, c->errlen, "%s: %s: %s", s == c->from ? "source" : "target", what,
		 db_errmsg(s->db));
	return (rc & 0xff) == DB_BUSY ? GA_ERR_BUSY : GA_ERR_DB;
}

static bool copy_plain_name(const char *name)
{
	if (!((name[0] >= 'a' && name[0] <= 'z') || name[0] == '_'))
		return false;
	for (const char *p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
			return false;
	return true;
}

/* Copies a name read from a catalogue, refusing one too long or not
 * plain (the file header says why). */
static ga_err copy_name(struct copy *c, char *dst, const char *src, const char *what)
{
	if (src == NULL || strlen(src) >= STORE_COPY_NAME_MAX || !copy_plain_name(src)) {
		snprintf(c->err, c->errlen,
			 "source: %s \"%.64s\": not a plain lower-case name of"
			 " at most %d bytes",
			 what, src ? src : "(null)", STORE_COPY_NAME_MAX - 1);
		return GA_ERR_INVAL;
	}
	snprintf(dst, STORE_COPY_NAME_MAX, "%s", src);
	return GA_OK;
}

/* Why a table of sqlite_schema is not copied as rows, NULL when it is. */
static const char *copy_skip_reason(const char *name)
{
	if (strcmp(name, "sqlite_sequence") == 0)
		return "SQLite's AUTOINCREMENT counters: PostgreSQL's identities are moved past"
		       " the copied ids instead";
	if (strncmp(name, "sqlite_stat", 11) == 0)
		return "SQLite's planner statistics: PostgreSQL keeps its own (ANALYZE)";
	if (strncmp(name, "sqlite_", 7) == 0)
		return "internal to SQLite";
	return NULL;
}

/* The source's tables (sqlite_schema order) and their columns. */
static ga_err copy_read_source(struct copy *c)
{
	struct db *db = c->from->db;
	struct db_stmt *st = NULL, *ci = NULL;
	ga_err e = GA_ERR_DB;
	int rc;

	if ((rc = db_prepare(db,
			     "SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY rowid",
			     &st)) != DB_OK)
		return copy_fail(c, c->from, rc, "sqlite_schema");
	while ((rc = db_step(st)) == DB_ROW) {
		const char *name = db_column_text(st, 0), *why;
		if (name == NULL)
			continue;
		if ((why = copy_skip_reason(name)) != NULL) {
			copy_emit(c, STORE_COPY_SKIPPED, name, why, 0, 0, 0);
			continue;
		}
		if (c->nt == STORE_COPY_TABLES_MAX) {
			snprintf(c->err, c->errlen, "source: more than %d tables",
				 STORE_COPY_TABLES_MAX);
			e = GA_ERR_TOOBIG;
			goto out;
		}
		if ((e = copy_name(c, c->t[c->nt].name, name, "table")) != GA_OK)
			goto out;
		c->nt++;
	}
	if (rc != DB_DONE) {
		e = copy_fail(c, c->from, rc, "sqlite_schema");
		goto out;
	}
	if ((rc = db_prepare(db, "SELECT name, pk FROM pragma_table_info(?1) ORDER BY cid", &ci)) !=
	    DB_OK) {
		e = copy_fail(c, c->from, rc, "table_info");
		goto out;
	}
	for (size_t i = 0; i < c->nt; i++) {
		struct copy_table *t = &c->t[i];
		if ((rc = db_bind_text(ci, 1, t->name, -1)) == DB_OK)
			rc = db_step(ci);
		for (; rc == DB_ROW; rc = db_step(ci)) {
			if (t->ncols == STORE_COPY_COLUMNS_MAX) {
				snprintf(c->err, c->errlen,
					 "source: table %s: more than %d columns", t->name,
					 STORE_COPY_COLUMNS_MAX);
				e = GA_ERR_TOOBIG;
				goto out;
			}
			if ((e = copy_name(c, t->col[t->ncols].name, db_column_text(ci, 0),
					   "column")) != GA_OK)
				goto out;
			t->col[t->ncols].pk = db_column_int(ci, 1);
			t->ncols++;
		}
		db_reset(ci);
		if (rc != DB_DONE) {
			e = copy_fail(c, c->from, rc, t->name);
			goto out;
		}
		if (t->ncols == 0) {
			snprintf(c->err, c->errlen, "source: table %s: no columns", t->name);
			e = GA_ERR_INVAL;
			goto out;
		}
	}
	e = GA_OK;
out:
	db_finalize(ci);
	db_finalize(st);
	return e;
}

static ptrdiff_t copy_find(const struct copy *c, const char *name)
{
	for (size_t i = 0; i < c->nt; i++)
		if (strcmp(c->t[i].name, name) == 0)
			return (ptrdiff_t)i;
	return -1;
}

/* c->order: each table after those its foreign keys name (a key to a
 * table the copy does not know orders nothing). */
static ga_err copy_plan(struct copy *c)
{
	struct db_stmt *st = NULL;
	unsigned char *refs = calloc(STORE_COPY_TABLES_MAX * STORE_COPY_TABLES_MAX, 1);
	ga_err e = GA_ERR_NOMEM;
	size_t cycle = 0;
	int rc;

	if (refs == NULL) {
		snprintf(c->err, c->errlen, "out of memory");
		goto out;
	}
	if ((rc = db_prepare(c->from->db, "SELECT \"table\" FROM pragma_foreign_key_list(?1)",
			     &st)) != DB_OK) {
		e = copy_fail(c, c->from, rc, "foreign_key_list");
		goto out;
	}
	for (size_t i = 0; i < c->nt; i++) {
		if ((rc = db_bind_text(st, 1, c->t[i].name, -1)) == DB_OK)
			rc = db_step(st);
		for (; rc == DB_ROW; rc = db_step(st)) {
			const char *to = db_column_text(st, 0);
			ptrdiff_t j = to ? copy_find(c, to) : -1;
			if (j >= 0)
				refs[i * c->nt + (size_t)j] = 1;
		}
		db_reset(st);
		if (rc != DB_DONE) {
			e = copy_fail(c, c->from, rc, c->t[i].name);
			goto out;
		}
	}
	if ((e = store_copy_order(c->nt, refs, c->order, &cycle)) != GA_OK) {
		snprintf(c->err, c->errlen,
			 "source: the foreign keys of table %s form a cycle: no order to copy in",
			 c->t[cycle].name);
		goto out;
	}
	e = GA_OK;
out:
	db_finalize(st);
	free(refs);
	return e;
}

/* Runs a one-row, one-column query on s with optional text parameters;
 * *v its integer (0 for NULL). */
static ga_err copy_query_int(struct copy *c, struct store *s, const char *sql, const char *p1,
			     const char *p2, int64_t *v, const char *what)
{
	struct db_stmt *st = NULL;
	int rc = db_prepare(s->db, sql, &st);

	if (rc == DB_OK && p1)
		rc = db_bind_text(st, 1, p1, -1);
	if (rc == DB_OK && p2)
		rc = db_bind_text(st, 2, p2, -1);
	if (rc == DB_OK)
		rc = db_step(st);
	if (rc == DB_ROW)
		*v = db_column_int64(st, 0);
	db_finalize(st);
	if (rc != DB_ROW)
		return copy_fail(c, s, rc == DB_DONE ? DB_ERROR : rc, what);
	return GA_OK;
}

static ga_err copy_count(struct copy *c, struct store *s, const char *table, int64_t *n)
{
	char sql[128];

	snprintf(sql, sizeof(sql), "SELECT count(*) FROM \"%s\"", table);
	return copy_query_int(c, s, sql, NULL, NULL, n, table);
}

/* The target has every table and column of the source; notes which
 * columns are BYTEA. */
static ga_err copy_match_target(struct copy *c)
{
	struct db_stmt *st = NULL;
	ga_err e = GA_ERR_DB;
	int rc = db_prepare(c->to->db,
			    "SELECT udt_name FROM information_schema.columns"
			    " WHERE table_schema = current_schema() AND table_name = ?1"
			    " AND column_name = ?2",
			    &st);

	if (rc != DB_OK)
		return copy_fail(c, c->to, rc, "information_schema.columns");
	for (size_t i = 0; i < c->nt; i++) {
		struct copy_table *t = &c->t[i];
		for (int k = 0; k < t->ncols; k++) {
			rc = db_bind_text(st, 1, t->name, -1);
			if (rc == DB_OK)
				rc = db_bind_text(st, 2, t->col[k].name, -1);
			if (rc == DB_OK)
				rc = db_step(st);
			if (rc == DB_DONE) {
				snprintf(c->err, c->errlen,
					 "target has no column %s.%s: its schema is not the"
					 " source's (is it another geoalert version?)",
					 t->name, t->col[k].name);
				e = GA_ERR_INVAL;
				goto out;
			}
			if (rc != DB_ROW) {
				e = copy_fail(c, c->to, rc, t->name);
				goto out;
			}
			const char *type = db_column_text(st, 0);
			if (type == NULL || strlen(type) >= STORE_COPY_NAME_MAX ||
			    !copy_plain_name(type)) {
				snprintf(c->err, c->errlen, "target: column %s.%s: type \"%.64s\"",
					 t->name, t->col[k].name, type ? type : "");
				e = GA_ERR_INVAL;
				goto out;
			}
			snprintf(t->col[k].type, STORE_COPY_NAME_MAX, "%s", type);
			t->col[k].bytea = strcmp(type, "bytea") == 0;
			db_reset(st);
		}
	}
	e = GA_OK;
out:
	db_finalize(st);
	return e;
}

/* GA_ERR_CONFLICT naming the first table of the target holding a row:
 * the source's tables in copy order, then any other of the target's
 * (schema_version, which store_open fills, aside). */
static ga_err copy_check_empty(struct copy *c)
{
	struct db_stmt *st = NULL;
	char names[STORE_COPY_TABLES_MAX * 2][STORE_COPY_NAME_MAX];
	size_t n = 0;
	ga_err e = GA_ERR_DB;
	int rc;

	for (size_t k = 0; k < c->nt; k++)
		snprintf(names[n++], STORE_COPY_NAME_MAX, "%s", c->t[c->order[k]].name);
	rc = db_prepare(c->to->db,
			"SELECT table_name FROM information_schema.tables"
			" WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
			" AND table_name <> 'schema_version' ORDER BY table_name",
			&st);
	if (rc == DB_OK)
		rc = db_step(st);
	for (; rc == DB_ROW; rc = db_step(st)) {
		const char *name = db_column_text(st, 0);
		if (name == NULL || copy_find(c, name) >= 0)
			continue;
		if (n == sizeof(names) / sizeof(names[0]) || strlen(name) >= STORE_COPY_NAME_MAX ||
		    !copy_plain_name(name)) {
			snprintf(c->err, c->errlen, "target: table \"%.64s\": unexpected", name);
			e = GA_ERR_INVAL;
			goto out;
		}
		snprintf(names[n++], STORE_COPY_NAME_MAX, "%s", name);
	}
	if (rc != DB_DONE) {
		e = copy_fail(c, c->to, rc, "information_schema.tables");
		goto out;
	}
	for (size_t k = 0; k < n; k++) {
		char sql[160];
		int64_t any = 0;
		snprintf(sql, sizeof(sql),
			 "SELECT count(*) FROM (SELECT 1 FROM \"%s\" LIMIT 1) AS t", names[k]);
		if ((e = copy_query_int(c, c->to, sql, NULL, NULL, &any, names[k])) != GA_OK)
			goto out;
		if (any) {
			snprintf(c->err, c->errlen,
				 "target is not empty: table %s holds rows (store copy fills an"
				 " empty database only)",
				 names[k]);
			e = GA_ERR_CONFLICT;
			goto out;
		}
	}
	e = GA_OK;
out:
	db_finalize(st);
	return e;
}

static ga_err copy_exec(struct copy *c, struct store *s, const char *sql, const char *what)
{
	int rc = db_exec(s->db, sql);

	return rc == DB_OK ? GA_OK : copy_fail(c, s, rc, what);
}

/* Appends to buf (cap STORE_COPY_SQL_MAX, *len used) or fails. */
static bool copy_cat(char *buf, size_t *len, const char *s)
{
	size_t n = strlen(s);

	if (*len + n >= STORE_COPY_SQL_MAX)
		return false;
	memcpy(buf + *len, s, n + 1);
	*len += n;
	return true;
}

/* The SELECT of t on the source (primary-key order; rowid when it has
 * no key) and the INSERT on the target. */
static ga_err copy_sql(struct copy *c, const struct copy_table *t, char *sel, char *ins)
{
	size_t ls = 0, li = 0;
	char part[STORE_COPY_NAME_MAX + 32];
	bool ok = true, any_pk = false;

	ok = copy_cat(sel, &ls, "SELECT ") && ok;
	snprintf(part, sizeof(part), "INSERT INTO \"%s\" (", t->name);
	ok = copy_cat(ins, &li, part) && ok;
	for (int k = 0; k < t->ncols; k++) {
		snprintf(part, sizeof(part), "%s\"%s\"", k ? ", " : "", t->col[k].name);
		ok = copy_cat(sel, &ls, part) && copy_cat(ins, &li, part) && ok;
	}
	snprintf(part, sizeof(part), " FROM \"%s\" ORDER BY ", t->name);
	ok = copy_cat(sel, &ls, part) && copy_cat(ins, &li, ") SELECT * FROM unnest(") && ok;
	for (int pos = 1; pos <= t->ncols; pos++)
		for (int k = 0; k < t->ncols; k++)
			if (t->col[k].pk == pos) {
				snprintf(part, sizeof(part), "%s\"%s\"", any_pk ? ", " : "",
					 t->col[k].name);
				ok = copy_cat(sel, &ls, part) && ok;
				any_pk = true;
			}
	if (!any_pk)
		ok = copy_cat(sel, &ls, "rowid") && ok;
	for (int k = 0; k < t->ncols; k++) {
		snprintf(part, sizeof(part), "%sCAST(?%d AS \"%s\"[])", k ? ", " : "", k + 1,
			 t->col[k].type);
		ok = copy_cat(ins, &li, part) && ok;
	}
	ok = copy_cat(ins, &li, ")") && ok;
	if (!ok) {
		snprintf(c->err, c->errlen, "table %s: statement past %d bytes", t->name,
			 STORE_COPY_SQL_MAX);
		return GA_ERR_TOOBIG;
	}
	return GA_OK;
}

/* Appends s (n bytes) to b as the body of a quoted array element: `"`
 * and `\` escaped with a backslash. NULL when done, else why not. */
static const char *copy_put_text(struct strbuf *b, const char *s, size_t n)
{
	size_t run = 0;

	if (memchr(s, '\0', n))
		return "text holds a NUL byte (PostgreSQL text cannot)";
	for (size_t i = 0; i < n; i++) {
		if (s[i] != '"' && s[i] != '\\')
			continue;
		strbuf_put(b, s + run, i - run);
		strbuf_put(b, "\\", 1);
		run = i;
	}
	strbuf_put(b, s + run, n - run);
	return NULL;
}

/* Appends column k of the source's current row to b, the array literal
 * of that column for the batch (the file header says how each value is
 * written). NULL when done, else why not. */
static const char *copy_append(struct db_stmt *sel, int k, const struct copy_column *col,
			       struct strbuf *b)
{
	static const char hex[] = "0123456789abcdef";
	int type = db_column_type(sel, k);
	char num[STORE_COPY_NUM_MAX], chunk[512];
	const char *why = NULL;

	if (b->n > 1)
		strbuf_put(b, ",", 1);
	if (type == DB_NULL) {
		strbuf_puts(b, "NULL");
		return b->err == GA_OK ? NULL : "past the batch's cap";
	}
	strbuf_put(b, "\"", 1);
	if (col->bytea) { /* \x and hex digits; the backslash escaped */
		const unsigned char *p = db_column_blob(sel, k);
		int n = db_column_bytes(sel, k);
		size_t m = 0;
		strbuf_put(b, "\\\\x", 3);
		for (int i = 0; i < n; i++) {
			chunk[m++] = hex[p[i] >> 4];
			chunk[m++] = hex[p[i] & 15];
			if (m == sizeof(chunk)) {
				strbuf_put(b, chunk, m);
				m = 0;
			}
		}
		strbuf_put(b, chunk, m);
	} else if (type == DB_INTEGER) {
		snprintf(num, sizeof(num), "%" PRId64, db_column_int64(sel, k));
		strbuf_puts(b, num);
	} else if (type == DB_FLOAT) {
		double d = db_column_double(sel, k);
		if (isinf(d))
			snprintf(num, sizeof(num), "%s", d > 0 ? "Infinity" : "-Infinity");
		else
			snprintf(num, sizeof(num), "%.17g", d);
		strbuf_puts(b, num);
	} else { /* TEXT, or a BLOB into a text column: its bytes as text */
		const char *p = db_column_blob(sel, k);
		int n = db_column_bytes(sel, k);
		why = copy_put_text(b, p ? p : "", n > 0 ? (size_t)n : 0);
	}
	strbuf_put(b, "\"", 1);
	if (why == NULL && b->err != GA_OK)
		why = b->err == GA_ERR_NOMEM ? "out of memory" : "past the batch's cap";
	return why;
}

/* Starts the array literal of each column again. */
static void copy_restart(struct strbuf *b, int ncols)
{
	for (int k = 0; k < ncols; k++) {
		b[k].n = 0;
		strbuf_put(&b[k], "{", 1);
	}
}

/* Inserts the batch of rows first+1..first+n of t (the array literals in
 * b) with ins. */
static ga_err copy_flush(struct copy *c, struct copy_table *t, struct db_stmt *ins,
			 struct strbuf *b, int64_t first, int64_t n)
{
	char what[STORE_COPY_NAME_MAX * 2 + 96];
	int rc = DB_OK;

	for (int k = 0; k < t->ncols && rc == DB_OK; k++) {
		strbuf_put(&b[k], "}", 1);
		if (b[k].err != GA_OK) {
			snprintf(c->err, c->errlen,
				 "table %s, rows %" PRId64 "..%" PRId64 ": column %s past its cap",
				 t->name, first + 1, first + n, t->col[k].name);
			return GA_ERR_TOOBIG;
		}
		rc = db_bind_text(ins, k + 1, b[k].p, (int)b[k].n);
	}
	if (rc == DB_OK)
		rc = db_step(ins);
	int64_t changed = rc == DB_DONE ? db_changes(c->to->db) : 0;
	db_reset(ins);
	if (rc == DB_DONE && changed != n) {
		snprintf(c->err, c->errlen,
			 "target: table %s, rows %" PRId64 "..%" PRId64 ": %" PRId64
			 " rows went in, not %" PRId64,
			 t->name, first + 1, first + n, changed, n);
		return GA_ERR_DB;
	}
	if (rc != DB_DONE) {
		snprintf(what, sizeof(what), "table %s, rows %" PRId64 "..%" PRId64, t->name,
			 first + 1, first + n);
		return copy_fail(c, c->to, rc == DB_ROW ? DB_ERROR : rc, what);
	}
	copy_restart(b, t->ncols);
	return GA_OK;
}

/* Copies the rows of t, its user triggers off meanwhile, in batches of
 * STORE_COPY_BATCH_ROWS rows or STORE_COPY_BATCH_BYTES bytes. */
static ga_err copy_table(struct copy *c, struct copy_table *t)
{
	char *sel_sql = malloc(STORE_COPY_SQL_MAX), *ins_sql = malloc(STORE_COPY_SQL_MAX);
	struct strbuf *b = calloc(STORE_COPY_COLUMNS_MAX, sizeof(*b));
	char sql[160];
	struct db_stmt *sel = NULL, *ins = NULL;
	double t0 = copy_now();
	int64_t batch = 0, next_progress = STORE_COPY_PROGRESS_ROWS;
	ga_err e = GA_ERR_NOMEM;
	int rc;

	if (!sel_sql || !ins_sql || !b) {
		snprintf(c->err, c->errlen, "out of memory");
		goto out;
	}
	for (int k = 0; k < t->ncols; k++)
		b[k] = (struct strbuf)STRBUF_INIT(STORE_COPY_COLUMN_BYTES_MAX);
	copy_restart(b, t->ncols);
	if ((e = copy_sql(c, t, sel_sql, ins_sql)) != GA_OK)
		goto out;
	if ((rc = db_prepare(c->from->db, sel_sql, &sel)) != DB_OK) {
		e = copy_fail(c, c->from, rc, t->name);
		goto out;
	}
	if ((rc = db_prepare(c->to->db, ins_sql, &ins)) != DB_OK) {
		e = copy_fail(c, c->to, rc, t->name);
		goto out;
	}
	snprintf(sql, sizeof(sql), "ALTER TABLE \"%s\" DISABLE TRIGGER USER", t->name);
	if ((e = copy_exec(c, c->to, sql, t->name)) != GA_OK)
		goto out;
	while ((rc = db_step(sel)) == DB_ROW) {
		size_t bytes = 0;
		for (int k = 0; k < t->ncols; k++) {
			const char *why = copy_append(sel, k, &t->col[k], &b[k]);
			if (why != NULL) {
				snprintf(c->err, c->errlen,
					 "table %s, row %" PRId64 ", column %s: %s", t->name,
					 t->rows + batch + 1, t->col[k].name, why);
				e = GA_ERR_INVAL;
				goto out;
			}
			bytes += b[k].n;
		}
		if (++batch < STORE_COPY_BATCH_ROWS && bytes < STORE_COPY_BATCH_BYTES)
			continue;
		if ((e = copy_flush(c, t, ins, b, t->rows, batch)) != GA_OK)
			goto out;
		t->rows += batch;
		batch = 0;
		if (t->rows >= next_progress) {
			copy_emit(c, STORE_COPY_PROGRESS, t->name, NULL, t->rows, 0,
				  copy_now() - t0);
			next_progress = t->rows + STORE_COPY_PROGRESS_ROWS;
		}
	}
	if (rc != DB_DONE) {
		e = copy_fail(c, c->from, rc, t->name);
		goto out;
	}
	if (batch > 0) {
		if ((e = copy_flush(c, t, ins, b, t->rows, batch)) != GA_OK)
			goto out;
		t->rows += batch;
	}
	snprintf(sql, sizeof(sql), "ALTER TABLE \"%s\" ENABLE TRIGGER USER", t->name);
	if ((e = copy_exec(c, c->to, sql, t->name)) != GA_OK)
		goto out;
	copy_emit(c, STORE_COPY_COPIED, t->name, NULL, t->rows, 0, copy_now() - t0);
	e = GA_OK;
out:
	db_finalize(ins);
	db_finalize(sel);
	if (b)
		for (int k = 0; k < STORE_COPY_COLUMNS_MAX; k++)
			free(b[k].p);
	free(b);
	free(ins_sql);
	free(sel_sql);
	return e;
}

/* Moves every identity of the target past the largest id copied (an
 * empty table's max is NULL: setval, strict, leaves it alone). */
static ga_err copy_identities(struct copy *c)
{
	struct db_stmt *st = NULL;
	ga_err e = GA_ERR_DB;
	int rc = db_prepare(c->to->db,
			    "SELECT table_name, column_name FROM information_schema.columns"
			    " WHERE table_schema = current_schema() AND is_identity = 'YES'"
			    " ORDER BY table_name, column_name",
			    &st);

	if (rc == DB_OK)
		rc = db_step(st);
	for (; rc == DB_ROW; rc = db_step(st)) {
		const char *tn = db_column_text(st, 0), *cn = db_column_text(st, 1);
		char sql[STORE_COPY_NAME_MAX * 2 + 128], quoted[STORE_COPY_NAME_MAX + 2];
		int64_t v = 0;
		if (!tn || !cn || strlen(tn) >= STORE_COPY_NAME_MAX ||
		    strlen(cn) >= STORE_COPY_NAME_MAX || !copy_plain_name(tn) ||
		    !copy_plain_name(cn)) {
			snprintf(c->err, c->errlen, "target: identity %.64s.%.64s: unexpected name",
				 tn ? tn : "", cn ? cn : "");
			e = GA_ERR_INVAL;
			goto out;
		}
		snprintf(quoted, sizeof(quoted), "\"%s\"", tn);
		snprintf(sql, sizeof(sql),
			 "SELECT setval(pg_get_serial_sequence(?1, ?2), max(\"%s\")) FROM \"%s\"",
			 cn, tn);
		if ((e = copy_query_int(c, c->to, sql, quoted, cn, &v, tn)) != GA_OK)
			goto out;
	}
	if (rc != DB_DONE) {
		e = copy_fail(c, c->to, rc, "identities");
		goto out;
	}
	e = GA_OK;
out:
	db_finalize(st);
	return e;
}

/* Compares the row count of every table on both sides; emits them after
 * the commit (counted). */
static ga_err copy_compare(struct copy *c, bool counted)
{
	for (size_t k = 0; k < c->nt; k++) {
		const struct copy_table *t = &c->t[c->order[k]];
		int64_t a = 0, b = 0;
		ga_err e;
		if ((e = copy_count(c, c->from, t->name, &a)) != GA_OK ||
		    (e = copy_count(c, c->to, t->name, &b)) != GA_OK)
			return e;
		if (counted)
			copy_emit(c, STORE_COPY_COUNTED, t->name, NULL, a, b, 0);
		if (a != b || a != t->rows) {
			snprintf(c->err, c->errlen,
				 "table %s: %" PRId64 " rows in the source, %" PRId64
				 " in the target, %" PRId64 " copied%s",
				 t->name, a, b, t->rows,
				 counted ? " (after the commit)" : ": rolled back");
			return GA_ERR_DB;
		}
	}
	return GA_OK;
}

ga_err store_copy(struct store *from, struct store *to, store_copy_cb cb, void *arg, char *err,
		  size_t errlen)
{
	struct copy c = {from, to, cb, arg, err, errlen, NULL, 0, {0}};
	bool reading = false;
	ga_err e = GA_ERR_INVAL;

	if (db_kind(from->db) != DB_KIND_SQLITE || db_kind(to->db) != DB_KIND_POSTGRES) {
		snprintf(err, errlen, "store copy goes from SQLite to PostgreSQL only");
		return GA_ERR_INVAL;
	}
	if (from->in_txn || to->in_txn) {
		snprintf(err, errlen, "store copy: a store is inside a transaction");
		return GA_ERR_INVAL;
	}
	if ((c.t = calloc(STORE_COPY_TABLES_MAX, sizeof(*c.t))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return GA_ERR_NOMEM;
	}
	/* One read transaction on the source: every table from one snapshot. */
	if ((e = copy_exec(&c, from, "BEGIN", "begin")) != GA_OK)
		goto out;
	reading = true;
	if ((e = copy_read_source(&c)) != GA_OK || (e = copy_plan(&c)) != GA_OK)
		goto out;
	if ((e = store_begin(to)) != GA_OK) {
		snprintf(err, errlen, "target: begin: %s", db_errmsg(to->db));
		goto out;
	}
	if ((e = copy_match_target(&c)) != GA_OK || (e = copy_check_empty(&c)) != GA_OK)
		goto rollback;
	for (size_t k = 0; k < c.nt; k++)
		if ((e = copy_table(&c, &c.t[c.order[k]])) != GA_OK)
			goto rollback;
	if ((e = copy_identities(&c)) != GA_OK || (e = copy_compare(&c, false)) != GA_OK)
		goto rollback;
	if ((e = store_commit(to)) != GA_OK) {
		snprintf(err, errlen, "target: commit: %s", db_errmsg(to->db));
		goto out;
	}
	copy_emit(&c, STORE_COPY_COMMITTED, "", NULL, 0, 0, 0);
	e = copy_compare(&c, true);
	goto out;
rollback:
	store_rollback(to);
out:
	if (reading)
		db_exec(from->db, "COMMIT");
	free(c.t);
	return e;
}
