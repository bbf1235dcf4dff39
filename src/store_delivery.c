/* store_delivery.c - the delivery ledger: one row per published version
 * and channel (migration 4; the SQL is in store_sql.c). */
#include <stdio.h>
#include <string.h>

#include "store.h"
#include "store_internal.h"

/* Fills d from a row of STORE_DELIVERY_COLUMNS. */
static void store_delivery_read(struct db_stmt *st, struct store_delivery *d)
{
	memset(d, 0, sizeof(*d));
	d->id = db_column_int64(st, 0);
	store_column_copy(st, 1, d->alert_id, sizeof(d->alert_id));
	d->version = db_column_int(st, 2);
	store_column_copy(st, 3, d->msg_type, sizeof(d->msg_type));
	store_column_copy(st, 4, d->channel, sizeof(d->channel));
	store_column_copy(st, 5, d->state, sizeof(d->state));
	d->attempts = db_column_int(st, 6);
	d->next_attempt_ms = db_column_int64(st, 7);
	d->deadline_ms = db_column_int64(st, 8);
	store_column_copy(st, 9, d->last_error, sizeof(d->last_error));
	store_column_copy(st, 10, d->idem_key, sizeof(d->idem_key));
	d->created_ms = db_column_int64(st, 11);
	d->delivered_ms = db_column_int64(st, 12); /* NULL reads as 0 */
	d->step = db_column_int(st, 13);
	store_column_copy(st, 14, d->scratch, sizeof(d->scratch));
}

ga_err store_delivery_insert(struct store *s, struct store_delivery *d)
{
	struct db_stmt *st = s->stmt[STMT_DELIVERY_INSERT];
	ga_err e;
	int rc = DB_OK;

	if ((e = store_spoiled(s)) != GA_OK)
		return e;
	STORE_BIND(rc, db_bind_text(st, 1, d->alert_id, -1));
	STORE_BIND(rc, db_bind_int(st, 2, d->version));
	STORE_BIND(rc, db_bind_text(st, 3, d->msg_type, -1));
	STORE_BIND(rc, db_bind_text(st, 4, d->channel, -1));
	STORE_BIND(rc, db_bind_int64(st, 5, d->next_attempt_ms));
	STORE_BIND(rc, db_bind_int64(st, 6, d->deadline_ms));
	STORE_BIND(rc, db_bind_text(st, 7, d->idem_key, -1));
	STORE_BIND(rc, db_bind_int64(st, 8, d->created_ms));
	return store_run_insert(s, st, rc, &d->id, "delivery insert");
}

ga_err store_delivery_channels(struct store *s, const char *alert_id, int version,
			       store_channel_cb cb, void *arg)
{
	struct db_stmt *st = s->stmt[STMT_DELIVERY_CHANNELS];
	ga_err e = GA_OK;
	int rc;

	if ((e = store_spoiled(s)) != GA_OK)
		return e;
	if ((rc = db_bind_text(st, 1, alert_id, -1)) != DB_OK ||
	    (rc = db_bind_int(st, 2, version)) != DB_OK) {
		e = store_error(s, rc, "delivery channels");
		goto out;
	}
	while ((rc = db_step(st)) == DB_ROW) {
		const char *ch = db_column_text(st, 0);
		if (ch != NULL && !cb(ch, arg))
			break;
	}
	if (rc != DB_ROW && rc != DB_DONE)
		e = store_error(s, rc, "delivery channels");
out:
	store_stmt_done(st);
	return e;
}

/* Steps st (bound) and calls cb for each row. */
static ga_err store_delivery_walk(struct store *s, struct db_stmt *st, store_delivery_cb cb,
				  void *arg, const char *what)
{
	struct store_delivery d;
	ga_err e = GA_OK;
	int rc;

	while ((rc = db_step(st)) == DB_ROW) {
		store_delivery_read(st, &d);
		if (!cb(&d, arg))
			break;
	}
	if (rc != DB_ROW && rc != DB_DONE)
		e = store_error(s, rc, what);
	return e;
}

ga_err store_delivery_due(struct store *s, int64_t now_ms, int limit, store_delivery_cb cb,
			  void *arg)
{
	struct db_stmt *st = s->stmt[STMT_DELIVERY_DUE];
	ga_err e;
	int rc;

	if ((e = store_spoiled(s)) != GA_OK)
		return e;
	if ((rc = db_bind_int64(st, 1, now_ms)) != DB_OK ||
	    (rc = db_bind_int(st, 2, limit)) != DB_OK)
		e = store_error(s, rc, "delivery due");
	else
		e = store_delivery_walk(s, st, cb, arg, "delivery due");
	store_stmt_done(st);
	return e;
}

ga_err store_delivery_each(struct store *s, const char *alert_id, store_delivery_cb cb, void *arg)
{
	struct db_stmt *st = s->stmt[STMT_DELIVERY_OF_ALERT];
	ga_err e;
	int rc;

	if ((e = store_spoiled(s)) != GA_OK)
		return e;
	if ((rc = db_bind_text(st, 1, alert_id, -1)) != DB_OK)
		e = store_error(s, rc, "delivery list");
	else
		e = store_delivery_walk(s, st, cb, arg, "delivery list");
	store_stmt_done(st);
	return e;
}

static bool store_delivery_copy(const struct store_delivery *d, void *arg)
{
	*(struct store_delivery *)arg = *d;
	return false;
}

ga_err store_delivery_latest(struct store *s, const char *alert_id, const char *channel,
			     int below_version, struct store_delivery *out)
{
	struct db_stmt *st = s->stmt[STMT_DELIVERY_LATEST];
	ga_err e;
	int rc;

	if ((e = store_spoiled(s)) != GA_OK)
		return e;
	out->id = 0;
	if ((rc = db_bind_text(st, 1, alert_id, -1)) != DB_OK ||
	    (rc = db_bind_text(st, 2, channel, -1)) != DB_OK ||
	    (rc = db_bind_int(st, 3, below_version)) != DB_OK)
		e = store_error(s, rc, "delivery latest");
	else
		e = store_delivery_walk(s, st, store_delivery_copy, out, "delivery latest");
	store_stmt_done(st);
	if (e == GA_OK && out->id == 0)
		e = GA_ERR_NOTFOUND;
	return e;
}

ga_err store_delivery_start(struct store *s, int64_t id, int64_t retry_ms)
{
	struct db_stmt *st = s->stmt[STMT_DELIVERY_START];
	ga_err e;
	int rc;

	if ((e = store_spoiled(s)) != GA_OK)
		return e;
	if ((rc = db_bind_int64(st, 1, id)) == DB_OK)
		rc = db_bind_int64(st, 2, retry_ms);
	return store_run_update(s, st, rc, "delivery start");
}

ga_err store_delivery_finish(struct store *s, int64_t id, const char *state,
			     int64_t next_attempt_ms, const char *last_error, int64_t delivered_ms)
{
	struct db_stmt *st = s->stmt[STMT_DELIVERY_FINISH];
	char err[STORE_ERROR_MAX];
	ga_err e;
	int rc;

	if ((e = store_spoiled(s)) != GA_OK)
		return e;
	snprintf(err, sizeof(err), "%s", last_error ? last_error : "");
	if ((rc = db_bind_int64(st, 1, id)) == DB_OK &&
	    (rc = db_bind_text(st, 2, state, -1)) == DB_OK &&
	    (rc = db_bind_int64(st, 3, next_attempt_ms)) == DB_OK &&
	    (rc = db_bind_text(st, 4, err, -1)) == DB_OK)
		rc = delivered_ms > 0 ? db_bind_int64(st, 5, delivered_ms) : db_bind_null(st, 5);
	return store_run_update(s, st, rc, "delivery finish");
}

ga_err store_delivery_resend(struct store *s, int64_t id, int64_t now_ms, int64_t deadline_ms)
{
	struct db_stmt *st = s->stmt[STMT_DELIVERY_RESEND];
	ga_err e;
	int rc;

	if ((e = store_spoiled(s)) != GA_OK)
		return e;
	if ((rc = db_bind_int64(st, 1, id)) == DB_OK &&
	    (rc = db_bind_int64(st, 2, now_ms)) == DB_OK)
		rc = db_bind_int64(st, 3, deadline_ms);
	e = store_run_update(s, st, rc, "delivery resend");
	return e == GA_ERR_NOTFOUND ? GA_ERR_CONFLICT : e;
}

ga_err store_delivery_bring_forward(struct store *s, const char *alert_id, int version,
				    const char *channel, int64_t at_ms, int64_t *n)
{
	/* Rare (an update superseding a risk warning): prepared here, not
	 * kept among the store's statements. */
	static const char sql[] =
	    "UPDATE deliveries SET next_attempt_ms = ?4, created_ms = ?4"
	    " WHERE alert_id = ?1 AND version = ?2 AND channel = ?3 AND state = 'pending'"
	    " AND next_attempt_ms > ?4";
	struct db_stmt *st = NULL;
	ga_err e;
	int rc;

	if ((e = store_spoiled(s)) != GA_OK)
		return e;
	if ((rc = db_prepare(s->db, sql, &st)) != DB_OK)
		return store_error(s, rc, "delivery bring forward");
	if ((rc = db_bind_text(st, 1, alert_id, -1)) == DB_OK &&
	    (rc = db_bind_int(st, 2, version)) == DB_OK &&
	    (rc = db_bind_text(st, 3, channel, -1)) == DB_OK)
		rc = db_bind_int64(st, 4, at_ms);
	e = store_run_changes(s, st, rc, n, "delivery bring forward");
	db_finalize(st);
	return e;
}

ga_err store_delivery_recover(struct store *s, int64_t now_ms, int *n)
{
	struct db_stmt *st = s->stmt[STMT_DELIVERY_RECOVER];
	int64_t changed = 0;
	ga_err e =
	    store_run_changes(s, st, db_bind_int64(st, 1, now_ms), &changed, "delivery recover");

	if (e == GA_OK && n != NULL)
		*n = (int)changed;
	return e;
}

ga_err store_delivery_progress(struct store *s, int64_t id, int step, const char *scratch)
{
	struct db_stmt *st = s->stmt[STMT_DELIVERY_PROGRESS];
	int64_t changed = 0;
	int rc;
	ga_err e;

	if ((rc = db_bind_int64(st, 1, id)) == DB_OK && (rc = db_bind_int(st, 2, step)) == DB_OK)
		rc = db_bind_text(st, 3, scratch, -1);
	e = store_run_changes(s, st, rc, &changed, "delivery progress");
	return e == GA_OK && changed != 1 ? GA_ERR_NOTFOUND : e;
}
