/* store_alert.c - alert drafts, their confirmations, and an incident's
 * reports read back for composing drafts and for the officer view. The
 * rules (which draft, when) are workflow*.c's; this file keeps rows. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store.h"
#include "store_internal.h"

/* Binds an optional time: 0 is NULL. */
static int store_bind_time(struct db_stmt *st, int i, int64_t ms)
{
	return ms == 0 ? db_bind_null(st, i) : db_bind_int64(st, i, ms);
}

static int store_bind_double_or_null(struct db_stmt *st, int i, double v)
{
	return isfinite(v) ? db_bind_double(st, i, v) : db_bind_null(st, i);
}

static double store_column_double_or_nan(struct db_stmt *st, int col)
{
	return db_column_type(st, col) == DB_NULL ? NAN : db_column_double(st, col);
}

/* Fills d from a row of STORE_DRAFT_COLUMNS. GA_ERR_DB for values the
 * CHECK constraints make impossible (a damaged file). */
static ga_err store_draft_read(struct store *s, struct db_stmt *st, struct store_draft *d)
{
	const char *kind = db_column_text(st, 8);
	const char *type = db_column_text(st, 9);
	int k = kind ? kind_from_name(kind) : -1;
	int h = type ? hazard_type_from_name(type) : -1;
	int level = db_column_int(st, 6);

	memset(d, 0, sizeof(*d));
	d->id = db_column_int64(st, 0);
	if (k < 0 || h < 0 || level < 0 || level >= LEVEL_COUNT) {
		log_warnx("store: %s: draft %lld has a bad kind, hazard_type or level", s->path,
			  (long long)d->id);
		return GA_ERR_DB;
	}
	store_column_copy(st, 1, d->alert_id, sizeof(d->alert_id));
	d->version = db_column_int(st, 2);
	store_column_copy(st, 3, d->msg_type, sizeof(d->msg_type));
	store_column_copy(st, 4, d->state, sizeof(d->state));
	d->below_level = db_column_int(st, 5) != 0;
	d->level = (enum level)level;
	d->prev_level = db_column_type(st, 7) == DB_NULL ? -1 : db_column_int(st, 7);
	d->kind = (enum kind)k;
	d->hazard_type = (enum hazard_type)h;
	store_column_copy(st, 10, d->headline, sizeof(d->headline));
	store_column_copy(st, 11, d->situation, sizeof(d->situation));
	store_column_copy(st, 12, d->causes, sizeof(d->causes));
	store_column_copy(st, 13, d->response, sizeof(d->response));
	store_column_copy(st, 14, d->trend, sizeof(d->trend));
	store_column_copy(st, 15, d->admin_code, sizeof(d->admin_code));
	store_column_copy(st, 16, d->admin_name, sizeof(d->admin_name));
	store_column_copy(st, 17, d->place, sizeof(d->place));
	store_column_figures(st, 18, &d->figures);
	d->lon = store_column_double_or_nan(st, 25);
	d->lat = store_column_double_or_nan(st, 26);
	d->observed_ms = db_column_int64(st, 27);
	d->created_ms = db_column_int64(st, 28);
	d->confirmed_ms = db_column_int64(st, 29);
	d->published_ms = db_column_int64(st, 30);
	d->escalated_ms = db_column_int64(st, 31);
	store_column_copy(st, 32, d->reject_reason, sizeof(d->reject_reason));
	store_column_copy(st, 33, d->cancel_reason, sizeof(d->cancel_reason));
	d->supersedes = db_column_int64(st, 34);
	store_column_copy(st, 35, d->refs, sizeof(d->refs));
	store_column_copy(st, 36, d->fingerprint, sizeof(d->fingerprint));
	return GA_OK;
}

ga_err store_draft_insert(struct store *s, struct store_draft *d)
{
	struct db_stmt *st = s->stmt[STMT_DRAFT_INSERT];
	ga_err e;
	int rc = DB_OK;

	if ((e = store_spoiled(s)) != GA_OK)
		return e;
	if ((unsigned)d->kind >= KIND_COUNT || (unsigned)d->hazard_type >= HAZARD_COUNT ||
	    (unsigned)d->level >= LEVEL_COUNT)
		return GA_ERR_INVAL;
	STORE_BIND(rc, db_bind_text(st, 1, d->alert_id, -1));
	STORE_BIND(rc, d->version > 0 ? db_bind_int(st, 2, d->version) : db_bind_null(st, 2));
	STORE_BIND(rc, db_bind_text(st, 3, d->msg_type, -1));
	STORE_BIND(rc, db_bind_text(st, 4, d->state, -1));
	STORE_BIND(rc, db_bind_int(st, 5, d->below_level ? 1 : 0));
	STORE_BIND(rc, db_bind_int(st, 6, (int)d->level));
	STORE_BIND(rc, d->prev_level >= 0 && d->prev_level < LEVEL_COUNT
			   ? db_bind_int(st, 7, d->prev_level)
			   : db_bind_null(st, 7));
	STORE_BIND(rc, db_bind_text(st, 8, kind_name(d->kind), -1));
	STORE_BIND(rc, db_bind_text(st, 9, hazard_type_name(d->hazard_type), -1));
	STORE_BIND(rc, db_bind_text(st, 10, d->headline, -1));
	STORE_BIND(rc, db_bind_text(st, 11, d->situation, -1));
	STORE_BIND(rc, db_bind_text(st, 12, d->causes, -1));
	STORE_BIND(rc, db_bind_text(st, 13, d->response, -1));
	STORE_BIND(rc, db_bind_text(st, 14, d->trend, -1));
	STORE_BIND(rc, db_bind_text(st, 15, d->admin_code, -1));
	STORE_BIND(rc, db_bind_text(st, 16, d->admin_name, -1));
	STORE_BIND(rc, db_bind_text(st, 17, d->place, -1));
	STORE_BIND(rc, store_bind_figures(st, 18, &d->figures));
	STORE_BIND(rc, store_bind_double_or_null(st, 25, d->lon));
	STORE_BIND(rc, store_bind_double_or_null(st, 26, d->lat));
	STORE_BIND(rc, db_bind_int64(st, 27, d->observed_ms));
	STORE_BIND(rc, db_bind_int64(st, 28, d->created_ms));
	STORE_BIND(rc, store_bind_time(st, 29, d->confirmed_ms));
	STORE_BIND(rc, store_bind_time(st, 30, d->published_ms));
	STORE_BIND(rc, store_bind_time(st, 31, d->escalated_ms));
	STORE_BIND(rc, store_bind_text(st, 32, d->reject_reason, true));
	STORE_BIND(rc, store_bind_text(st, 33, d->cancel_reason, true));
	STORE_BIND(rc,
		   d->supersedes > 0 ? db_bind_int64(st, 34, d->supersedes) : db_bind_null(st, 34));
	STORE_BIND(rc, db_bind_text(st, 35, d->refs[0] ? d->refs : "[]", -1));
	STORE_BIND(rc, db_bind_text(st, 36, d->fingerprint, -1));
	return store_run_insert(s, st, rc, &d->id, "draft insert");
}

ga_err store_draft_update(struct store *s, const struct store_draft *d)
{
	struct db_stmt *st = s->stmt[STMT_DRAFT_UPDATE];
	ga_err e;
	int rc = DB_OK;

	if ((e = store_spoiled(s)) != GA_OK)
		return e;
	STORE_BIND(rc, db_bind_int64(st, 1, d->id));
	STORE_BIND(rc, d->version > 0 ? db_bind_int(st, 2, d->version) : db_bind_null(st, 2));
	STORE_BIND(rc, db_bind_text(st, 3, d->state, -1));
	STORE_BIND(rc, db_bind_int(st, 4, d->below_level ? 1 : 0));
	STORE_BIND(rc, db_bind_text(st, 5, d->headline, -1));
	STORE_BIND(rc, db_bind_text(st, 6, d->situation, -1));
	STORE_BIND(rc, db_bind_text(st, 7, d->causes, -1));
	STORE_BIND(rc, db_bind_text(st, 8, d->response, -1));
	STORE_BIND(rc, db_bind_text(st, 9, d->trend, -1));
	STORE_BIND(rc, store_bind_time(st, 10, d->confirmed_ms));
	STORE_BIND(rc, store_bind_time(st, 11, d->published_ms));
	STORE_BIND(rc, store_bind_time(st, 12, d->escalated_ms));
	STORE_BIND(rc, store_bind_text(st, 13, d->reject_reason, true));
	STORE_BIND(rc, store_bind_text(st, 14, d->cancel_reason, true));
	STORE_BIND(rc, db_bind_text(st, 15, d->refs[0] ? d->refs : "[]", -1));
	return store_run_update(s, st, rc, "draft update");
}

/* Runs a one-row draft SELECT whose parameters are bound (bindrc). */
static ga_err store_draft_one(struct store *s, struct db_stmt *st, int bindrc,
			      struct store_draft *out, const char *what)
{
	ga_err e;

	if ((e = store_spoiled(s)) == GA_OK && (e = store_step_row(s, st, bindrc, what)) == GA_OK)
		e = store_draft_read(s, st, out);
	store_stmt_done(st);
	return e;
}

ga_err store_draft_get(struct store *s, int64_t id, struct store_draft *out)
{
	struct db_stmt *st = s->stmt[STMT_DRAFT_GET];

	return store_draft_one(s, st, db_bind_int64(st, 1, id), out, "draft get");
}

ga_err store_draft_latest(struct store *s, const char *alert_id, struct store_draft *out)
{
	struct db_stmt *st = s->stmt[STMT_DRAFT_LATEST];

	if (alert_id == NULL)
		return GA_ERR_INVAL;
	return store_draft_one(s, st, db_bind_text(st, 1, alert_id, -1), out, "draft latest");
}

ga_err store_draft_pending(struct store *s, const char *alert_id, struct store_draft *out)
{
	struct db_stmt *st = s->stmt[STMT_DRAFT_PENDING];

	if (alert_id == NULL)
		return GA_ERR_INVAL;
	return store_draft_one(s, st, db_bind_text(st, 1, alert_id, -1), out, "draft pending");
}

ga_err store_draft_published(struct store *s, const char *alert_id, int version,
			     struct store_draft *out)
{
	struct db_stmt *st = s->stmt[STMT_DRAFT_PUBLISHED];
	int rc;

	if (alert_id == NULL)
		return GA_ERR_INVAL;
	rc = db_bind_text(st, 1, alert_id, -1);
	if (rc == DB_OK)
		rc = db_bind_int(st, 2, version);
	return store_draft_one(s, st, rc, out, "draft published");
}

ga_err store_draft_max_version(struct store *s, const char *alert_id, int *version)
{
	struct db_stmt *st = s->stmt[STMT_DRAFT_MAX_VERSION];
	ga_err e;
	int rc;

	if ((e = store_spoiled(s)) != GA_OK)
		return e;
	if (alert_id == NULL)
		return GA_ERR_INVAL;
	if ((rc = db_bind_text(st, 1, alert_id, -1)) == DB_OK)
		rc = db_step(st);
	if (rc == DB_ROW) {
		*version = db_column_int(st, 0);
		e = GA_OK;
	} else {
		e = store_error(s, rc, "draft max version");
	}
	store_stmt_done(st);
	return e;
}

/* Steps a draft SELECT whose parameters are bound (bindrc), calling cb
 * for each row. One struct store_draft (46 KB) is reused for the rows. */
static ga_err store_draft_walk(struct store *s, struct db_stmt *st, int bindrc, store_draft_cb cb,
			       void *arg, const char *what)
{
	struct store_draft *d = NULL;
	ga_err e;
	int rc = bindrc;

	if ((e = store_spoiled(s)) != GA_OK)
		goto out;
	if (rc != DB_OK) {
		e = store_error(s, rc, what);
		goto out;
	}
	if ((d = malloc(sizeof(*d))) == NULL) {
		e = GA_ERR_NOMEM;
		goto out;
	}
	while ((rc = db_step(st)) == DB_ROW) {
		if ((e = store_draft_read(s, st, d)) != GA_OK)
			goto out;
		if (!cb(d, arg))
			break;
	}
	if (rc != DB_ROW && rc != DB_DONE) {
		e = store_error(s, rc, what);
		goto out;
	}
	e = GA_OK;
out:
	free(d);
	store_stmt_done(st);
	return e;
}

ga_err store_draft_each_published(struct store *s, const char *alert_id, store_draft_cb cb,
				  void *arg)
{
	struct db_stmt *st = s->stmt[STMT_DRAFT_EACH_PUBLISHED];

	if (alert_id == NULL || cb == NULL)
		return GA_ERR_INVAL;
	return store_draft_walk(s, st, db_bind_text(st, 1, alert_id, -1), cb, arg,
				"draft each published");
}

ga_err store_draft_list(struct store *s, const char *state, int limit, store_draft_cb cb, void *arg)
{
	struct db_stmt *st;
	int rc;

	if (cb == NULL || limit <= 0)
		return GA_ERR_INVAL;
	if (state == NULL) {
		st = s->stmt[STMT_DRAFT_LIST];
		rc = db_bind_int(st, 1, limit);
	} else {
		st = s->stmt[STMT_DRAFT_LIST_STATE];
		rc = db_bind_text(st, 1, state, -1);
		if (rc == DB_OK)
			rc = db_bind_int(st, 2, limit);
	}
	return store_draft_walk(s, st, rc, cb, arg, "draft list");
}

ga_err store_draft_due(struct store *s, int64_t before_ms, int limit, store_draft_cb cb, void *arg)
{
	struct db_stmt *st = s->stmt[STMT_DRAFT_DUE];
	int rc;

	if (cb == NULL || limit <= 0)
		return GA_ERR_INVAL;
	rc = db_bind_int64(st, 1, before_ms);
	if (rc == DB_OK)
		rc = db_bind_int(st, 2, limit);
	return store_draft_walk(s, st, rc, cb, arg, "draft due");
}

ga_err store_draft_published_since(struct store *s, int64_t since_ms, bool latest_only, int limit,
				   store_draft_cb cb, void *arg)
{
	struct db_stmt *st =
	    s->stmt[latest_only ? STMT_DRAFT_CURRENT_SINCE : STMT_DRAFT_PUBLISHED_SINCE];
	int rc;

	if (cb == NULL || limit <= 0)
		return GA_ERR_INVAL;
	rc = db_bind_int64(st, 1, since_ms);
	if (rc == DB_OK)
		rc = db_bind_int(st, 2, limit);
	return store_draft_walk(s, st, rc, cb, arg, "draft published since");
}

/* --- confirmations ------------------------------------------------- */

ga_err store_confirmation_add(struct store *s, int64_t draft_id, int64_t officer_id, int64_t at_ms)
{
	struct db_stmt *st = s->stmt[STMT_CONFIRM_ADD];
	ga_err e;
	int rc;

	if ((e = store_spoiled(s)) != GA_OK)
		return e;
	if ((rc = db_bind_int64(st, 1, draft_id)) == DB_OK &&
	    (rc = db_bind_int64(st, 2, officer_id)) == DB_OK)
		rc = db_bind_int64(st, 3, at_ms);
	return store_run_changes(s, st, rc, NULL, "confirmation add");
}

ga_err store_confirmation_count(struct store *s, int64_t draft_id, int *n)
{
	struct db_stmt *st = s->stmt[STMT_CONFIRM_COUNT];
	ga_err e;
	int rc;

	if ((e = store_spoiled(s)) != GA_OK)
		return e;
	if ((rc = db_bind_int64(st, 1, draft_id)) == DB_OK)
		rc = db_step(st);
	if (rc == DB_ROW) {
		*n = db_column_int(st, 0);
		e = GA_OK;
	} else {
		e = store_error(s, rc, "confirmation count");
	}
	store_stmt_done(st);
	return e;
}

ga_err store_confirmation_each(struct store *s, int64_t draft_id, store_confirmation_cb cb,
			       void *arg)
{
	struct db_stmt *st = s->stmt[STMT_CONFIRM_EACH];
	ga_err e;
	int rc;

	if ((e = store_spoiled(s)) != GA_OK)
		return e;
	if (cb == NULL)
		return GA_ERR_INVAL;
	if ((rc = db_bind_int64(st, 1, draft_id)) != DB_OK) {
		e = store_error(s, rc, "confirmation each");
		goto out;
	}
	while ((rc = db_step(st)) == DB_ROW) {
		const char *name = db_column_text(st, 1);
		if (!cb(db_column_int64(st, 0), name ? name : "", db_column_int64(st, 2), arg))
			break;
	}
	e = rc == DB_ROW || rc == DB_DONE ? GA_OK : store_error(s, rc, "confirmation each");
out:
	store_stmt_done(st);
	return e;
}

/* --- an incident's reports ----------------------------------------- */

static const char *store_column_text_or_null(struct db_stmt *st, int col)
{
	return db_column_text(st, col);
}

/* Steps a STORE_REPORT_ROW_COLUMNS + raw SELECT bound to (incident_id,
 * limit), calling cb per row. */
static ga_err store_report_rows(struct store *s, struct db_stmt *st, const char *incident_id,
				int limit, store_report_row_cb cb, void *arg, const char *what)
{
	struct store_report_row r;
	ga_err e;
	int rc;

	if ((e = store_spoiled(s)) != GA_OK)
		return e;
	if (incident_id == NULL || cb == NULL || limit <= 0)
		return GA_ERR_INVAL;
	if ((rc = db_bind_text(st, 1, incident_id, -1)) != DB_OK ||
	    (rc = db_bind_int(st, 2, limit)) != DB_OK) {
		e = store_error(s, rc, what);
		goto out;
	}
	while ((rc = db_step(st)) == DB_ROW) {
		const char *kind = db_column_text(st, 2);
		int k = kind ? kind_from_name(kind) : -1;

		memset(&r, 0, sizeof(r));
		r.station_id = store_column_text_or_null(st, 0);
		r.report_id = store_column_text_or_null(st, 1);
		r.kind = k < 0 ? KIND_DANGER : (enum kind)k;
		r.observed_ms = db_column_int64(st, 3);
		r.received_ms = db_column_int64(st, 4);
		r.observed_offset_min = db_column_int(st, 5);
		r.place = store_column_text_or_null(st, 6);
		r.causes = store_column_text_or_null(st, 7);
		r.trend = store_column_text_or_null(st, 8);
		r.measures = store_column_text_or_null(st, 9);
		r.volume_m3 = store_column_double_or_nan(st, 10);
		r.area_m2 = store_column_double_or_nan(st, 11);
		store_column_figures(st, 12, &r.figures);
		if (db_column_type(st, 19) != DB_NULL) {
			r.raw = db_column_blob(st, 19);
			r.rawlen = (size_t)db_column_bytes(st, 19);
		}
		if (r.station_id == NULL || r.report_id == NULL)
			continue; /* NOT NULL columns: cannot happen */
		if (!cb(&r, arg))
			break;
	}
	e = rc == DB_ROW || rc == DB_DONE ? GA_OK : store_error(s, rc, what);
out:
	store_stmt_done(st);
	return e;
}

ga_err store_incident_reports_latest(struct store *s, const char *incident_id, int limit,
				     store_report_row_cb cb, void *arg)
{
	return store_report_rows(s, s->stmt[STMT_REPORTS_LATEST], incident_id, limit, cb, arg,
				 "incident reports latest");
}

ga_err store_incident_reports(struct store *s, const char *incident_id, int limit,
			      store_report_row_cb cb, void *arg)
{
	return store_report_rows(s, s->stmt[STMT_REPORTS_OF_INCIDENT], incident_id, limit, cb, arg,
				 "incident reports");
}

/* --- officers' edits (migration 9) -------------------------------- */

ga_err store_draft_edits_put(struct store *s, int64_t draft_id, const char *edits,
			     const char *carried, const char *changed)
{
	struct db_stmt *st = s->stmt[STMT_DRAFT_EDITS_PUT];
	ga_err e;
	int rc;

	if ((e = store_spoiled(s)) != GA_OK)
		return e;
	if ((rc = db_bind_int64(st, 1, draft_id)) == DB_OK &&
	    (rc = db_bind_text(st, 2, edits, -1)) == DB_OK &&
	    (rc = db_bind_text(st, 3, carried, -1)) == DB_OK)
		rc = db_bind_text(st, 4, changed, -1);
	return store_run_changes(s, st, rc, NULL, "draft edits put");
}

static char *store_column_dup(struct db_stmt *st, int col, const char *dflt)
{
	const char *p = db_column_text(st, col);
	return strdup(p != NULL ? p : dflt);
}

ga_err store_draft_edits_get(struct store *s, int64_t draft_id, char **edits, char **carried,
			     char **changed)
{
	struct db_stmt *st = s->stmt[STMT_DRAFT_EDITS_GET];
	bool row = false;
	ga_err e;
	int rc;

	*edits = *carried = *changed = NULL;
	if ((e = store_spoiled(s)) != GA_OK)
		return e;
	if ((rc = db_bind_int64(st, 1, draft_id)) == DB_OK)
		rc = db_step(st);
	if (rc == DB_ROW || rc == DB_DONE) {
		row = rc == DB_ROW;
		*edits = row ? store_column_dup(st, 0, "{}") : strdup("{}");
		*carried = row ? store_column_dup(st, 1, "[]") : strdup("[]");
		*changed = row ? store_column_dup(st, 2, "[]") : strdup("[]");
		e = *edits && *carried && *changed ? GA_OK : GA_ERR_NOMEM;
	} else {
		e = store_error(s, rc, "draft edits get");
	}
	store_stmt_done(st);
	if (e != GA_OK) {
		free(*edits);
		free(*carried);
		free(*changed);
		*edits = *carried = *changed = NULL;
	}
	return e;
}
