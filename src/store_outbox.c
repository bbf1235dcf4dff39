/* store_outbox.c - receipts waiting for the broker's acknowledgement. */
#include "store.h"
#include "store_internal.h"

ga_err store_outbox_put(struct store *s, const char *topic, const char *payload, int64_t created_ms,
			int64_t *id)
{
	sqlite3_stmt *st = s->stmt[STMT_OUTBOX_PUT];
	ga_err e;
	int rc;

	if ((e = store_spoiled(s)) != GA_OK)
		return e;
	if ((rc = sqlite3_bind_text(st, 1, topic, -1, SQLITE_STATIC)) != SQLITE_OK ||
	    (rc = sqlite3_bind_text(st, 2, payload, -1, SQLITE_STATIC)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int64(st, 3, created_ms)) != SQLITE_OK ||
	    (rc = sqlite3_step(st)) != SQLITE_DONE) {
		e = store_error(s, rc, "outbox put");
		goto out;
	}
	*id = sqlite3_last_insert_rowid(s->db);
	e = GA_OK;
out:
	store_stmt_done(st);
	return e;
}

ga_err store_outbox_delete(struct store *s, int64_t id)
{
	return store_outbox_delete_range(s, id, id);
}

ga_err store_outbox_delete_range(struct store *s, int64_t first, int64_t last)
{
	sqlite3_stmt *st = s->stmt[STMT_OUTBOX_DELETE];
	ga_err e;
	int rc;

	if ((e = store_spoiled(s)) != GA_OK)
		return e;
	if (first > last)
		return GA_ERR_INVAL;
	if ((rc = sqlite3_bind_int64(st, 1, first)) == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 2, last);
	return store_run_changes(s, st, rc, NULL, "outbox delete");
}

ga_err store_outbox_each(struct store *s, store_outbox_cb cb, void *arg)
{
	sqlite3_stmt *st = s->stmt[STMT_OUTBOX_ALL];
	ga_err e = GA_OK;
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *topic = (const char *)sqlite3_column_text(st, 1);
		const char *payload = (const char *)sqlite3_column_text(st, 2);
		if (!topic || !payload)
			continue;
		if (!cb(sqlite3_column_int64(st, 0), topic, payload, arg))
			break;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		e = store_error(s, rc, "outbox read");
	store_stmt_done(st);
	return e;
}
