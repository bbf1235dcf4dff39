/* store_incident_recent.c - what the writer's index of open incidents
 * reads (store_incident_recent.h). The load statement is prepared per
 * call: it runs at start and when the index is rebuilt, not per report. */
#include "store_incident_recent.h"

#include "store_internal.h"

/* The open incidents observed since ?1, newest first, at most ?2. Uses
 * the partial index incidents_by_type_time per type. */
static const char recent_sql[] =
    "SELECT " STORE_INCIDENT_COLUMNS ", rowid" STORE_INCIDENT_RECENT_EXTRA
    " WHERE open = 1 AND last_observed_ms >= ?1"
    " ORDER BY last_observed_ms DESC, rowid DESC LIMIT ?2";
static const char recent_sql_pg[] =
    "SELECT " STORE_INCIDENT_COLUMNS ", CAST(-1 AS BIGINT)" STORE_INCIDENT_RECENT_EXTRA
    " WHERE open = 1 AND last_observed_ms >= ?1"
    " ORDER BY last_observed_ms DESC, created_ms DESC, id DESC LIMIT ?2";
/* Runs sql (prepared now; or the cached cached, when not NULL) with ?1 =
 * a and ?2 = limit (when >= 0) and calls cb per row. gen not NULL:
 * STMT_INCIDENT_CHANGED, whose rows carry the generation (*gen) and whose
 * row with a NULL id says no incident changed. */
static ga_err store_incident_rows(struct store *s, const char *sql, struct db_stmt *cached,
				  int64_t a, int limit, int64_t *gen, store_incident_recent_cb cb,
				  void *arg)
{
	struct db_stmt *st = cached;
	ga_err e = GA_ERR_DB;
	int rc;

	if ((e = store_spoiled(s)) != GA_OK)
		return e;
	if (cb == NULL)
		return GA_ERR_INVAL;
	if (st == NULL && (rc = db_prepare(s->db, sql, &st)) != DB_OK) {
		st = NULL;
		e = store_error(s, rc, "incidents recent");
		goto out;
	}
	rc = db_bind_int64(st, 1, a);
	if (rc == DB_OK && limit >= 0)
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
		if (gen != NULL) {
			*gen = db_column_int64(st, STORE_INCIDENT_CHANGED_GEN_COL);
			if (db_column_type(st, 0) == DB_NULL)
				continue; /* nothing changed: the generation alone */
		}
		if ((e = store_incident_read(s, st, &inc)) != GA_OK)
			goto out;
		row.rowid = db_column_int64(st, 21);
		row.last_is_report = db_column_int(st, 22) != 0;
		row.has_draft = db_column_int(st, 23) != 0;
		if (!cb(&inc, &row, arg))
			break;
	}
	e = GA_OK;
out:
	if (cached != NULL)
		store_stmt_done(cached);
	else
		db_finalize(st);
	return e;
}

ga_err store_incident_recent_each(struct store *s, int64_t since_ms, int limit,
				  store_incident_recent_cb cb, void *arg)
{
	if (limit < 0)
		return GA_ERR_INVAL;
	return store_incident_rows(s, store_shared(s) ? recent_sql_pg : recent_sql, NULL, since_ms,
				   limit, NULL, cb, arg);
}

ga_err store_incident_changed_each(struct store *s, int64_t since_gen, int64_t *gen,
				   store_incident_recent_cb cb, void *arg)
{
	int64_t g = -1;
	ga_err e;

	if (gen == NULL || since_gen < 0)
		return GA_ERR_INVAL;
	e = store_incident_rows(s, NULL, s->stmt[STMT_INCIDENT_CHANGED], since_gen, -1, &g, cb,
				arg);
	if (e == GA_OK && g < 0)
		e = store_error(s, DB_ERROR, "incidents changed: no generation");
	if (e == GA_OK)
		*gen = g;
	return e;
}

ga_err store_incident_figures_changed_each(struct store *s, int64_t since_gen, int64_t gen,
					   store_incident_figure_cb cb, void *arg)
{
	struct db_stmt *st = s->stmt[STMT_INCIDENT_FIGURES_CHANGED];
	ga_err e;
	int rc = DB_OK;

	if ((e = store_spoiled(s)) != GA_OK)
		return e;
	if (cb == NULL)
		return GA_ERR_INVAL;
	STORE_BIND(rc, db_bind_int64(st, 1, since_gen));
	STORE_BIND(rc, db_bind_int64(st, 2, gen));
	if (rc != DB_OK) {
		e = store_error(s, rc, "incident figures changed");
		goto out;
	}
	while ((rc = db_step(st)) == DB_ROW) {
		const char *incident = db_column_text(st, 0), *station = db_column_text(st, 1);
		const char *name = db_column_text(st, 2);
		int fig = name ? figure_from_name(name) : -1;
		if (incident == NULL || station == NULL || fig < 0)
			continue; /* the store's own fold skips an unknown figure too */
		if (!cb(incident, station, (enum figure)fig, db_column_int64(st, 3),
			db_column_double(st, 4), arg))
			break;
	}
	e = rc == DB_ROW || rc == DB_DONE ? GA_OK : store_error(s, rc, "incident figures changed");
out:
	store_stmt_done(st);
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
