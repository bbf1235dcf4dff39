/* store_incident_recent.c - the open incidents most recently observed
 * (store_incident_recent.h). The statement is prepared per call: it runs
 * at start and after a rollback, not per report. */
#include "store_incident_recent.h"

#include <math.h>
#include <string.h>

#include "log.h"
#include "store_internal.h"

/* STORE_INCIDENT_COLUMNS (columns 0-20), then the rowid (21). Uses the
 * partial index incidents_by_type_time per type. */
static const char recent_sql[] = "SELECT " STORE_INCIDENT_COLUMNS ", rowid FROM incidents"
				 " WHERE open = 1 AND last_observed_ms >= ?1"
				 " ORDER BY last_observed_ms DESC, rowid DESC LIMIT ?2";

/* A row of recent_sql into out, as store_incident.c reads incidents. */
static ga_err store_incident_recent_read(struct store *s, struct db_stmt *st, struct incident *out)
{
	const char *type = db_column_text(st, 1);
	int ht = type ? hazard_type_from_name(type) : -1;
	int level = db_column_int(st, 11);

	if (ht < 0 || level < 0 || level >= LEVEL_COUNT) {
		log_warnx("store: %s: incident %s has a bad hazard_type or level", s->path,
			  db_column_text(st, 0));
		return GA_ERR_DB;
	}
	memset(out, 0, sizeof(*out));
	store_column_copy(st, 0, out->id, sizeof(out->id));
	out->hazard_type = (enum hazard_type)ht;
	store_column_copy(st, 2, out->hazard_point_id, sizeof(out->hazard_point_id));
	out->lon = db_column_type(st, 3) == DB_NULL ? NAN : db_column_double(st, 3);
	out->lat = db_column_type(st, 4) == DB_NULL ? NAN : db_column_double(st, 4);
	store_column_copy(st, 5, out->admin_code, sizeof(out->admin_code));
	out->first_observed_ms = db_column_int64(st, 6);
	out->last_observed_ms = db_column_int64(st, 7);
	out->created_ms = db_column_int64(st, 8);
	out->updated_ms = db_column_int64(st, 9);
	out->has_disaster = db_column_int(st, 10) != 0;
	out->level = (enum level)level;
	out->nreports = db_column_int(st, 12);
	out->open = db_column_int(st, 13) != 0;
	store_column_figures(st, 14, &out->figures);
	return GA_OK;
}

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
		if ((e = store_incident_recent_read(s, st, &inc)) != GA_OK)
			goto out;
		if (!cb(&inc, db_column_int64(st, 21), arg))
			break;
	}
	e = GA_OK;
out:
	db_finalize(st);
	return e;
}
