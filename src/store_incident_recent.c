/* store_incident_recent.c - the open incidents most recently observed
 * (store_incident_recent.h). The statement is prepared per call: it runs
 * at start and after a rollback, not per report. */
#include "store_incident_recent.h"

#include "store_internal.h"

/* STORE_INCIDENT_COLUMNS (columns 0-20), then the rowid (21). Uses the
 * partial index incidents_by_type_time per type. */
static const char recent_sql[] = "SELECT " STORE_INCIDENT_COLUMNS ", rowid FROM incidents"
				 " WHERE open = 1 AND last_observed_ms >= ?1"
				 " ORDER BY last_observed_ms DESC, rowid DESC LIMIT ?2";

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
	if ((rc = db_prepare(s->db, recent_sql, &st)) != DB_OK) {
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

		rc = db_step(st);
		if (rc == DB_DONE)
			break;
		if (rc != DB_ROW) {
			e = store_error(s, rc, "incidents recent");
			goto out;
		}
		if ((e = store_incident_read(s, st, &inc)) != GA_OK)
			goto out;
		if (!cb(&inc, db_column_int64(st, 21), arg))
			break;
	}
	e = GA_OK;
out:
	db_finalize(st);
	return e;
}
