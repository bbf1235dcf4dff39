/* store_incident_recent.c - what the writer's index of open incidents
 * reads (store_incident_recent.h). The load statement is prepared per
 * call: it runs at start and when the index is rebuilt, not per report. */
#include "store_incident_recent.h"

#include "store_internal.h"

/* STORE_INCIDENT_COLUMNS (columns 0-20), then the rowid (21) and whether
 * a report observed at last_observed_ms is stored (22: reports_by_incident
 * answers it). Uses the partial index incidents_by_type_time per type. */
static const char recent_sql[] =
    "SELECT " STORE_INCIDENT_COLUMNS ", rowid,"
    " nreports > 0 AND EXISTS (SELECT 1 FROM reports r WHERE r.incident_id = incidents.id"
    "  AND r.observed_ms = incidents.last_observed_ms)"
    " FROM incidents WHERE open = 1 AND last_observed_ms >= ?1"
    " ORDER BY last_observed_ms DESC, rowid DESC LIMIT ?2";
/* PostgreSQL's incidents have no rowid (store_sql_pg.c). */
static const char recent_sql_pg[] =
    "SELECT " STORE_INCIDENT_COLUMNS ", CAST(-1 AS BIGINT),"
    " CASE WHEN nreports > 0 AND EXISTS (SELECT 1 FROM reports r"
    "  WHERE r.incident_id = incidents.id AND r.observed_ms = incidents.last_observed_ms)"
    "  THEN 1 ELSE 0 END"
    " FROM incidents WHERE open = 1 AND last_observed_ms >= ?1"
    " ORDER BY last_observed_ms DESC, created_ms DESC, id DESC LIMIT ?2";

ga_err store_incident_recent_each(struct store *s, int64_t since_ms, int limit,
				  store_incident_recent_cb cb, void *arg)
{
	struct db_stmt *st = NULL;
	ga_err e = GA_ERR_DB;
	int rc;

	if ((e = store_spoiled(s)) != GA_OK)
		return e;
	if (limit < 0 || cb == NULL)
		return GA_ERR_INVAL;
	if ((rc = db_prepare(s->db, store_shared(s) ? recent_sql_pg : recent_sql, &st)) != DB_OK) {
		st = NULL;
		e = store_error(s, rc, "incidents recent");
		goto out;
	}
	rc = db_bind_int64(st, 1, since_ms);
	if (rc == DB_OK)
		rc = db_bind_int(st, 2, limit);
	if (rc != DB_OK) {
		e = store_error(s, rc, "incidents recent");
		goto out;
	}
	for (;;) {
		struct incident inc;
		struct store_incident_recent row;

		rc = db_step(st);
		if (rc == DB_DONE)
			break;
		if (rc != DB_ROW) {
			e = store_error(s, rc, "incidents recent");
			goto out;
		}
		if ((e = store_incident_read(s, st, &inc)) != GA_OK)
			goto out;
		row.rowid = db_column_int64(st, 21);
		row.last_is_report = db_column_int(st, 22) != 0;
		if (!cb(&inc, &row, arg))
			break;
	}
	e = GA_OK;
out:
	db_finalize(st);
	return e;
}

ga_err store_incident_gen_get(struct store *s, int64_t *gen)
{
	struct db_stmt *st = s->stmt[STMT_INCIDENT_GEN_GET];
	ga_err e;

	if ((e = store_spoiled(s)) != GA_OK)
		return e;
	if ((e = store_step_row(s, st, DB_OK, "incident generation")) == GA_OK)
		*gen = db_column_int64(st, 0);
	store_stmt_done(st);
	return e;
}

int64_t store_incident_gen_txn(const struct store *s)
{
	return s->incident_gen_txn;
}

uint64_t store_incident_writes(const struct store *s)
{
	return s->incident_writes;
}
