/* store_retention.c - old reports, rejections and summary rows deleted in
 * small batches (store_retention.h; statements in store_sql.c). */
#include "store_retention.h"

#include <string.h>

#include "store_internal.h"

/* Reads up to limit reports from cur on and deletes the ones that are
 * not their station's latest of their incident: read first, then
 * deleted, so no statement changes the rows another is stepping over. */
static ga_err store_retention_reports(struct store *s, int64_t before_ms, int limit,
				      struct store_retention_cursor *cur,
				      struct store_retention_result *out)
{
	struct db_stmt *st = s->stmt[STMT_RETENTION_REPORTS];
	struct db_stmt *del = s->stmt[STMT_RETENTION_REPORT_DELETE];
	int64_t ids[STORE_RETENTION_LIMIT_MAX];
	ga_err e = GA_OK;
	int rc = DB_OK, nread = 0, ndel = 0;

	STORE_BIND(rc, db_bind_int64(st, 1, before_ms));
	STORE_BIND(rc, db_bind_int64(st, 2, cur->received_ms));
	STORE_BIND(rc, db_bind_int64(st, 3, cur->id));
	STORE_BIND(rc, db_bind_int(st, 4, limit));
	if (rc != DB_OK)
		goto fail;
	while ((rc = db_step(st)) == DB_ROW) {
		nread++;
		cur->received_ms = db_column_int64(st, 1);
		cur->id = db_column_int64(st, 0);
		if (db_column_int(st, 2) != 0) /* else its station's latest: kept */
			ids[ndel++] = cur->id;
	}
	if (rc != DB_DONE)
		goto fail;
	store_stmt_done(st);
	out->reports_done = nread < limit;
	for (int i = 0; i < ndel; i++) {
		int64_t n = 0;
		e = store_run_changes(s, del, db_bind_int64(del, 1, ids[i]), &n,
				      "retention report");
		if (e != GA_OK)
			return e;
		out->reports += n;
	}
	return GA_OK;
fail:
	e = store_error(s, rc, "retention reports");
	store_stmt_done(st);
	return e;
}

ga_err store_retention_step(struct store *s, int64_t before_ms, int64_t reports_before_ms,
			    int64_t counts_before_ms, int limit, struct store_retention_cursor *cur,
			    struct store_retention_result *out)
{
	struct store_retention_cursor c = *cur;
	ga_err e;
	int rc = DB_OK;
	int64_t n = 0;

	memset(out, 0, sizeof(*out));
	if (limit < 1 || limit > STORE_RETENTION_LIMIT_MAX)
		return GA_ERR_INVAL;
	if ((e = store_begin(s)) != GA_OK)
		return e;
	STORE_BIND(rc, db_bind_int64(s->stmt[STMT_RETENTION_REJECTED], 1, before_ms));
	STORE_BIND(rc, db_bind_int(s->stmt[STMT_RETENTION_REJECTED], 2, limit));
	if ((e = store_run_changes(s, s->stmt[STMT_RETENTION_REJECTED], rc, &n,
				   "retention rejected")) != GA_OK)
		goto fail;
	out->rejected = n;
	out->rejected_done = n < limit;
	e = store_run_changes(s, s->stmt[STMT_RETENTION_COUNTS],
			      db_bind_int64(s->stmt[STMT_RETENTION_COUNTS], 1, counts_before_ms),
			      &out->counts, "retention counts");
	if (e != GA_OK)
		goto fail;
	if ((e = store_retention_reports(s, reports_before_ms, limit, &c, out)) != GA_OK)
		goto fail;
	if ((e = store_commit(s)) != GA_OK)
		goto fail_committed;
	*cur = c;
	return GA_OK;
fail:
	store_rollback(s);
fail_committed:
	memset(out, 0, sizeof(*out));
	return e;
}
