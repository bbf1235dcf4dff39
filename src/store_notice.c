/* store_notice.c - the notices to duty officers and supervisors
 * (migration 7; the SQL is in store_sql.c). */
#include <stdio.h>
#include <string.h>

#include "store.h"
#include "store_internal.h"

ga_err store_notice_insert(struct store *s, const char *audience, const char *event,
			   const char *body, int64_t now_ms, int64_t deadline_ms, int64_t *id)
{
	struct db_stmt *st = s->stmt[STMT_NOTICE_INSERT];
	ga_err e;
	int rc = DB_OK;

	if ((e = store_spoiled(s)) != GA_OK)
		return e;
	STORE_BIND(rc, db_bind_text(st, 1, audience, -1));
	STORE_BIND(rc, db_bind_text(st, 2, event, -1));
	STORE_BIND(rc, db_bind_text(st, 3, body, -1));
	STORE_BIND(rc, db_bind_int64(st, 4, now_ms));
	STORE_BIND(rc, db_bind_int64(st, 5, deadline_ms));
	return store_run_insert(s, st, rc, id, "notice insert");
}

ga_err store_notice_due(struct store *s, int64_t now_ms, int limit, store_notice_cb cb, void *arg)
{
	struct db_stmt *st = s->stmt[STMT_NOTICE_DUE];
	struct store_notice n;
	ga_err e;
	int rc;

	if ((e = store_spoiled(s)) != GA_OK)
		return e;
	if ((rc = db_bind_int64(st, 1, now_ms)) != DB_OK ||
	    (rc = db_bind_int(st, 2, limit)) != DB_OK) {
		e = store_error(s, rc, "notice due");
		goto out;
	}
	while ((rc = db_step(st)) == DB_ROW) {
		memset(&n, 0, sizeof(n));
		n.id = db_column_int64(st, 0);
		store_column_copy(st, 1, n.audience, sizeof(n.audience));
		store_column_copy(st, 2, n.event, sizeof(n.event));
		n.body = db_column_text(st, 3);
		n.attempts = db_column_int(st, 4);
		n.deadline_ms = db_column_int64(st, 5);
		n.created_ms = db_column_int64(st, 6);
		if (n.body == NULL || !cb(&n, arg))
			break;
	}
	if (rc != DB_ROW && rc != DB_DONE)
		e = store_error(s, rc, "notice due");
out:
	store_stmt_done(st);
	return e;
}

ga_err store_notice_finish(struct store *s, int64_t id, const char *state, int64_t next_attempt_ms,
			   const char *last_error, int64_t delivered_ms)
{
	struct db_stmt *st = s->stmt[STMT_NOTICE_FINISH];
	ga_err e;
	int rc;

	if ((e = store_spoiled(s)) != GA_OK)
		return e;
	if ((rc = db_bind_int64(st, 1, id)) == DB_OK &&
	    (rc = db_bind_text(st, 2, state, -1)) == DB_OK &&
	    (rc = db_bind_int64(st, 3, next_attempt_ms)) == DB_OK &&
	    (rc = db_bind_text(st, 4, last_error, -1)) == DB_OK)
		rc = delivered_ms != 0 ? db_bind_int64(st, 5, delivered_ms) : db_bind_null(st, 5);
	return store_run_changes(s, st, rc, NULL, "notice finish");
}

ga_err store_notice_pending(struct store *s, int64_t *n)
{
	struct db_stmt *st = s->stmt[STMT_NOTICE_PENDING];
	ga_err e;
	int rc;

	if ((e = store_spoiled(s)) != GA_OK)
		return e;
	if ((rc = db_step(st)) != DB_ROW)
		e = store_error(s, rc, "notice pending");
	else
		*n = db_column_int64(st, 0);
	store_stmt_done(st);
	return e;
}

ga_err store_notice_recover(struct store *s, int64_t now_ms, int *n)
{
	struct db_stmt *st = s->stmt[STMT_NOTICE_RECOVER];
	int64_t changed = 0;
	ga_err e =
	    store_run_changes(s, st, db_bind_int64(st, 1, now_ms), &changed, "notice recover");

	if (e == GA_OK && n != NULL)
		*n = (int)changed;
	return e;
}
