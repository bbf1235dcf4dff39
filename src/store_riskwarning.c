/* store_riskwarning.c - risk warning products and their sign-off in
 * SQLite. Statements are prepared per call: products come a few times a
 * day, and keeping them out of the shared statement table keeps this
 * feature's SQL in one file. */
#include "store_riskwarning.h"

#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

#define STORE_RW_COLUMNS                                                                           \
	"w.id, w.product_id, w.version, w.state, w.source, w.product, w.valid_from_ms,"            \
	" w.valid_to_ms, w.received_ms, w.published_ms, w.ended_ms, w.supersedes, w.reason,"       \
	" (SELECT count(*) FROM riskwarning_confirmations c WHERE c.warning_id = w.id)"

void store_riskwarning_clear(struct store_riskwarning *w)
{
	if (w == NULL)
		return;
	free(w->product);
	memset(w, 0, sizeof(*w));
}

/* Reads a row of STORE_RW_COLUMNS; false when out of memory. */
static bool store_rw_read(struct db_stmt *st, struct store_riskwarning *w)
{
	const char *p;

	memset(w, 0, sizeof(*w));
	w->id = db_column_int64(st, 0);
	store_column_copy(st, 1, w->product_id, sizeof(w->product_id));
	w->version = db_column_int(st, 2);
	store_column_copy(st, 3, w->state, sizeof(w->state));
	store_column_copy(st, 4, w->source, sizeof(w->source));
	p = db_column_text(st, 5);
	w->product = strdup(p ? p : "{}");
	w->valid_from_ms = db_column_int64(st, 6);
	w->valid_to_ms = db_column_int64(st, 7);
	w->received_ms = db_column_int64(st, 8);
	w->published_ms = db_column_int64(st, 9);
	w->ended_ms = db_column_int64(st, 10);
	store_column_copy(st, 11, w->supersedes, sizeof(w->supersedes));
	store_column_copy(st, 12, w->reason, sizeof(w->reason));
	w->confirmations = db_column_int(st, 13);
	return w->product != NULL;
}

ga_err store_riskwarning_put(struct store *s, const char *product_id, const char *source,
			     const void *raw, size_t rawlen, const char *product_json,
			     int64_t valid_from_ms, int64_t valid_to_ms, const char *supersedes,
			     int64_t received_ms, int64_t *id)
{
	struct db_stmt *st = NULL;
	ga_err e;
	int rc = DB_OK;

	if ((e = store_spoiled(s)) != GA_OK)
		return e;
	if (product_id == NULL || source == NULL || product_json == NULL)
		return GA_ERR_INVAL;
	/* Looked up first: a unique-key failure would be logged as one. */
	if ((e = store_prepare_own(s, "SELECT 1 FROM riskwarnings WHERE product_id = ?1", &st,
				   "riskwarning find")) != GA_OK)
		return e;
	e = store_step_row(s, st, db_bind_text(st, 1, product_id, -1), "riskwarning find");
	db_finalize(st);
	st = NULL;
	if (e == GA_OK)
		return GA_ERR_DUPLICATE;
	if (e != GA_ERR_NOTFOUND)
		return e;

	if ((e = store_prepare_own(
		 s,
		 "INSERT INTO riskwarnings (product_id, state, source, raw, product,"
		 " valid_from_ms, valid_to_ms, supersedes, received_ms)"
		 " VALUES (?1, 'pending', ?2, ?3, ?4, ?5, ?6, ?7, ?8) RETURNING id",
		 &st, "riskwarning put")) != GA_OK)
		return e;
	STORE_BIND(rc, db_bind_text(st, 1, product_id, -1));
	STORE_BIND(rc, db_bind_text(st, 2, source, -1));
	if (raw == NULL || rawlen == 0)
		STORE_BIND(rc, db_bind_blob(st, 3, "", 0));
	else
		STORE_BIND(rc, db_bind_blob(st, 3, raw, rawlen));
	STORE_BIND(rc, db_bind_text(st, 4, product_json, -1));
	STORE_BIND(rc, db_bind_int64(st, 5, valid_from_ms));
	STORE_BIND(rc, db_bind_int64(st, 6, valid_to_ms));
	STORE_BIND(rc, store_bind_text(st, 7, supersedes, true));
	STORE_BIND(rc, db_bind_int64(st, 8, received_ms));
	e = store_run_insert(s, st, rc, id, "riskwarning put");
	db_finalize(st);
	return e;
}

ga_err store_riskwarning_get(struct store *s, const char *product_id, struct store_riskwarning *out)
{
	struct db_stmt *st = NULL;
	ga_err e;

	memset(out, 0, sizeof(*out));
	if ((e = store_spoiled(s)) != GA_OK)
		return e;
	if ((e = store_prepare_own(s,
				   "SELECT " STORE_RW_COLUMNS " FROM riskwarnings w"
				   " WHERE w.product_id = ?1",
				   &st, "riskwarning get")) != GA_OK)
		return e;
	e = store_step_row(s, st, db_bind_text(st, 1, product_id, -1), "riskwarning get");
	if (e == GA_OK && !store_rw_read(st, out)) {
		store_riskwarning_clear(out);
		e = GA_ERR_NOMEM;
	}
	db_finalize(st);
	return e;
}

ga_err store_riskwarning_list(struct store *s, const char *state, int limit,
			      bool (*cb)(const struct store_riskwarning *w, void *arg), void *arg)
{
	struct db_stmt *st = NULL;
	struct store_riskwarning w;
	ga_err e;
	int rc = DB_OK;

	if ((e = store_spoiled(s)) != GA_OK)
		return e;
	if (limit <= 0 || limit > STORE_RISKWARNING_LIST_MAX)
		limit = STORE_RISKWARNING_LIST_MAX;
	if ((e = store_prepare_own(s,
				   "SELECT " STORE_RW_COLUMNS " FROM riskwarnings w"
				   " WHERE CAST(?1 AS TEXT) IS NULL OR w.state = ?1"
				   " ORDER BY w.received_ms DESC, w.id DESC LIMIT ?2",
				   &st, "riskwarning list")) != GA_OK)
		return e;
	STORE_BIND(rc, store_bind_text(st, 1, state, true));
	STORE_BIND(rc, db_bind_int(st, 2, limit));
	if (rc != DB_OK) {
		e = store_error(s, rc, "riskwarning list: bind");
		goto out;
	}
	while ((rc = db_step(st)) == DB_ROW) {
		bool more;
		if (!store_rw_read(st, &w)) {
			store_riskwarning_clear(&w);
			e = GA_ERR_NOMEM;
			goto out;
		}
		more = cb(&w, arg);
		store_riskwarning_clear(&w);
		if (!more)
			break;
	}
	e = rc == DB_ROW || rc == DB_DONE ? GA_OK : store_error(s, rc, "riskwarning list");
out:
	db_finalize(st);
	return e;
}

ga_err store_riskwarning_confirm(struct store *s, int64_t id, int64_t officer_id, int64_t at_ms,
				 int *count)
{
	struct db_stmt *st = NULL;
	ga_err e;
	int rc = DB_OK;

	if ((e = store_spoiled(s)) != GA_OK)
		return e;
	if ((e = store_prepare_own(
		 s,
		 "INSERT INTO riskwarning_confirmations (warning_id, officer_id, at_ms)"
		 " VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
		 &st, "riskwarning confirm")) != GA_OK)
		return e;
	STORE_BIND(rc, db_bind_int64(st, 1, id));
	STORE_BIND(rc, db_bind_int64(st, 2, officer_id));
	STORE_BIND(rc, db_bind_int64(st, 3, at_ms));
	int64_t n = 0;
	e = store_run_changes(s, st, rc, &n, "riskwarning confirm");
	db_finalize(st);
	st = NULL;
	if (e != GA_OK)
		return e;
	if (n == 0)
		return GA_ERR_DUPLICATE;
	if (count == NULL)
		return GA_OK;
	if ((e = store_prepare_own(
		 s, "SELECT count(*) FROM riskwarning_confirmations WHERE warning_id = ?1", &st,
		 "riskwarning confirm count")) != GA_OK)
		return e;
	e = store_step_row(s, st, db_bind_int64(st, 1, id), "riskwarning confirm count");
	if (e == GA_OK)
		*count = db_column_int(st, 0);
	db_finalize(st);
	return e;
}

ga_err store_riskwarning_confirmations(struct store *s, int64_t id,
				       void (*cb)(int64_t officer_id, int64_t at_ms, void *arg),
				       void *arg)
{
	struct db_stmt *st = NULL;
	ga_err e;
	int rc;

	if ((e = store_spoiled(s)) != GA_OK)
		return e;
	if ((e = store_prepare_own(s,
				   "SELECT officer_id, at_ms FROM riskwarning_confirmations"
				   " WHERE warning_id = ?1 ORDER BY at_ms, officer_id",
				   &st, "riskwarning confirmations")) != GA_OK)
		return e;
	rc = db_bind_int64(st, 1, id);
	if (rc == DB_OK) {
		while ((rc = db_step(st)) == DB_ROW)
			cb(db_column_int64(st, 0), db_column_int64(st, 1), arg);
	}
	e = rc == DB_DONE ? GA_OK : store_error(s, rc, "riskwarning confirmations");
	db_finalize(st);
	return e;
}

ga_err store_riskwarning_transition(struct store *s, int64_t id, const char *from, const char *to,
				    int64_t at_ms, const char *reason)
{
	struct db_stmt *st = NULL;
	ga_err e;
	int rc = DB_OK;
	int64_t n = 0;
	bool publish = strcmp(to, "published") == 0;

	if ((e = store_spoiled(s)) != GA_OK)
		return e;
	if ((e = store_prepare_own(s,
				   publish ? "UPDATE riskwarnings SET state = ?3, published_ms = ?4"
					     " WHERE id = ?1 AND state = ?2"
					   : "UPDATE riskwarnings SET state = ?3, ended_ms = ?4,"
					     " reason = ?5 WHERE id = ?1 AND state = ?2",
				   &st, "riskwarning transition")) != GA_OK)
		return e;
	STORE_BIND(rc, db_bind_int64(st, 1, id));
	STORE_BIND(rc, db_bind_text(st, 2, from, -1));
	STORE_BIND(rc, db_bind_text(st, 3, to, -1));
	STORE_BIND(rc, db_bind_int64(st, 4, at_ms));
	if (!publish)
		STORE_BIND(rc, db_bind_text(st, 5, reason ? reason : "", -1));
	e = store_run_changes(s, st, rc, &n, "riskwarning transition");
	db_finalize(st);
	if (e == GA_OK && n == 0)
		e = GA_ERR_CONFLICT;
	return e;
}

ga_err store_riskwarning_due(struct store *s, int64_t now_ms, int limit,
			     void (*cb)(int64_t id, const char *product_id, const char *state,
					void *arg),
			     void *arg)
{
	struct db_stmt *st = NULL;
	ga_err e;
	int rc = DB_OK;

	if ((e = store_spoiled(s)) != GA_OK)
		return e;
	if (limit <= 0 || limit > STORE_RISKWARNING_LIST_MAX)
		limit = STORE_RISKWARNING_LIST_MAX;
	if ((e = store_prepare_own(s,
				   "SELECT id, product_id, state FROM riskwarnings"
				   " WHERE state IN ('pending', 'published') AND valid_to_ms <= ?1"
				   " ORDER BY valid_to_ms, id LIMIT ?2",
				   &st, "riskwarning due")) != GA_OK)
		return e;
	STORE_BIND(rc, db_bind_int64(st, 1, now_ms));
	STORE_BIND(rc, db_bind_int(st, 2, limit));
	if (rc == DB_OK) {
		while ((rc = db_step(st)) == DB_ROW)
			cb(db_column_int64(st, 0), db_column_text(st, 1), db_column_text(st, 2),
			   arg);
	}
	e = rc == DB_DONE ? GA_OK : store_error(s, rc, "riskwarning due");
	db_finalize(st);
	return e;
}

ga_err store_riskwarning_set_product(struct store *s, int64_t id, const char *product_json)
{
	struct db_stmt *st = NULL;
	ga_err e;
	int rc = DB_OK;

	if ((e = store_spoiled(s)) != GA_OK)
		return e;
	if ((e = store_prepare_own(s,
				   "UPDATE riskwarnings SET product = ?2 WHERE id = ?1"
				   " AND state = 'pending'",
				   &st, "riskwarning set product")) != GA_OK)
		return e;
	STORE_BIND(rc, db_bind_int64(st, 1, id));
	STORE_BIND(rc, db_bind_text(st, 2, product_json, -1));
	e = store_run_update(s, st, rc, "riskwarning set product");
	db_finalize(st);
	return e;
}
