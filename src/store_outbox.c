/* store_outbox.c - receipts waiting for the broker's acknowledgement. */
#include "store.h"
#include "store_internal.h"

ga_err store_outbox_put(struct store *s, const char *broker, const char *topic, const char *payload,
			int64_t created_ms, int64_t *id)
{
	struct db_stmt *st = s->stmt[STMT_OUTBOX_PUT];
	ga_err e;
	int rc = DB_OK;

	if ((e = store_spoiled(s)) != GA_OK)
		return e;
	STORE_BIND(rc, db_bind_text(st, 1, topic, -1));
	STORE_BIND(rc, db_bind_text(st, 2, payload, -1));
	STORE_BIND(rc, db_bind_int64(st, 3, created_ms));
	STORE_BIND(rc, db_bind_text(st, 4, broker, -1));
	/* PostgreSQL, in a transaction: the insert may be deferred
	 * (store_pg.c), *id then written when its answer is read. */
	if (rc == DB_OK)
		db_defer_row(st, id);
	return store_run_insert(s, st, rc, id, "outbox put");
}

ga_err store_outbox_delete(struct store *s, int64_t id)
{
	return store_outbox_delete_range(s, id, id);
}

ga_err store_outbox_delete_range(struct store *s, int64_t first, int64_t last)
{
	struct db_stmt *st = s->stmt[STMT_OUTBOX_DELETE];
	ga_err e;
	int rc;

	if ((e = store_spoiled(s)) != GA_OK)
		return e;
	if (first > last)
		return GA_ERR_INVAL;
	if ((rc = db_bind_int64(st, 1, first)) == DB_OK)
		rc = db_bind_int64(st, 2, last);
	return store_run_changes(s, st, rc, NULL, "outbox delete");
}

ga_err store_outbox_each(struct store *s, store_outbox_cb cb, void *arg)
{
	struct db_stmt *st = s->stmt[STMT_OUTBOX_ALL];
	ga_err e = GA_OK;
	int rc;

	while ((rc = db_step(st)) == DB_ROW) {
		const char *topic = db_column_text(st, 1);
		const char *payload = db_column_text(st, 2);
		const char *broker = db_column_text(st, 3);
		if (!topic || !payload)
			continue;
		if (!cb(db_column_int64(st, 0), broker ? broker : "", topic, payload, arg))
			break;
	}
	if (rc != DB_ROW && rc != DB_DONE)
		e = store_error(s, rc, "outbox read");
	store_stmt_done(st);
	return e;
}
