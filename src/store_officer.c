/* store_officer.c - officers, console sessions and login attempts. The
 * store keeps hashes of tokens and cookies only; officer.c makes them. */
#include <string.h>

#include "log.h"
#include "officer_role.h"
#include "store.h"
#include "store_internal.h"

ga_err store_officer_add(struct store *s, const char *name, enum officer_role role,
			 const char *password_hash, const char *token_hash, int64_t created_ms,
			 int64_t *id)
{
	struct db_stmt *st = s->stmt[STMT_OFFICER_ADD];
	ga_err e;
	int rc = DB_OK;

	if ((e = store_spoiled(s)) != GA_OK)
		return e;
	if (name == NULL || role < 0 || role >= OFFICER_ROLE_COUNT)
		return GA_ERR_INVAL;
	STORE_BIND(rc, db_bind_text(st, 1, name, -1));
	STORE_BIND(rc, db_bind_text(st, 2, officer_role_name(role), -1));
	STORE_BIND(rc, store_bind_text(st, 3, password_hash, true));
	STORE_BIND(rc, store_bind_text(st, 4, token_hash, true));
	STORE_BIND(rc, db_bind_int64(st, 5, created_ms));
	return store_run_insert(s, st, rc, id, "officer add");
}

/* Fills o from a row of STORE_OFFICER_COLUMNS. GA_ERR_DB for a role the
 * code does not know (the CHECK constraint makes that a damaged file). */
static ga_err store_officer_read(struct store *s, struct db_stmt *st, struct officer *o)
{
	const char *role = db_column_text(st, 2);

	memset(o, 0, sizeof(*o));
	o->id = db_column_int64(st, 0);
	store_column_copy(st, 1, o->name, sizeof(o->name));
	if (role == NULL || officer_role_parse(role, &o->role) != GA_OK) {
		log_warnx("store: %s: officer %lld has an unknown role %s", s->path,
			  (long long)o->id, role ? role : "NULL");
		return GA_ERR_DB;
	}
	store_column_copy(st, 3, o->password_hash, sizeof(o->password_hash));
	store_column_copy(st, 4, o->token_hash, sizeof(o->token_hash));
	o->created_ms = db_column_int64(st, 5);
	o->disabled = db_column_int(st, 6) != 0;
	return GA_OK;
}

/* Runs a one-row officer SELECT whose parameter 1 is already bound. */
static ga_err store_officer_one(struct store *s, struct db_stmt *st, int bindrc,
				struct officer *out, const char *what)
{
	ga_err e;

	if ((e = store_step_row(s, st, bindrc, what)) == GA_OK)
		e = store_officer_read(s, st, out);
	store_stmt_done(st);
	return e;
}

ga_err store_officer_by_token_hash(struct store *s, const char *token_hash, struct officer *out)
{
	struct db_stmt *st = s->stmt[STMT_OFFICER_BY_TOKEN];

	if (token_hash == NULL || token_hash[0] == '\0')
		return GA_ERR_NOTFOUND;
	return store_officer_one(s, st, db_bind_text(st, 1, token_hash, -1), out,
				 "officer by token");
}

ga_err store_officer_by_name(struct store *s, const char *name, struct officer *out)
{
	struct db_stmt *st = s->stmt[STMT_OFFICER_BY_NAME];

	if (name == NULL)
		return GA_ERR_NOTFOUND;
	return store_officer_one(s, st, db_bind_text(st, 1, name, -1), out, "officer by name");
}

ga_err store_officer_get(struct store *s, int64_t id, struct officer *out)
{
	struct db_stmt *st = s->stmt[STMT_OFFICER_BY_ID];

	return store_officer_one(s, st, db_bind_int64(st, 1, id), out, "officer get");
}

ga_err store_officer_each(struct store *s, store_officer_cb cb, void *arg)
{
	struct db_stmt *st = s->stmt[STMT_OFFICER_ALL];
	struct officer o;
	ga_err e = GA_OK;
	int rc;

	while ((rc = db_step(st)) == DB_ROW) {
		if ((e = store_officer_read(s, st, &o)) != GA_OK)
			goto out;
		if (!cb(&o, arg))
			goto out;
	}
	if (rc != DB_DONE)
		e = store_error(s, rc, "officer list");
out:
	store_stmt_done(st);
	return e;
}

/* Runs one UPDATE or DELETE prepared for this call only: these verbs run
 * from the command line a few times a year, so they stay out of the
 * statements prepared at every open. Parameter 1 is an officer id,
 * parameter 2 (when the SQL has one) is bound by bind2. */
static ga_err store_officer_change(struct store *s, const char *sql, int64_t id,
				   int (*bind2)(struct db_stmt *st, const void *arg),
				   const void *arg, int64_t *n, const char *what)
{
	struct db_stmt *st = NULL;
	ga_err e;
	int rc;

	if ((e = store_spoiled(s)) != GA_OK)
		return e;
	if ((rc = db_prepare(s->db, sql, &st)) != DB_OK)
		return store_error(s, rc, what);
	rc = db_bind_int64(st, 1, id);
	if (rc == DB_OK && bind2 != NULL)
		rc = bind2(st, arg);
	e = store_run_changes(s, st, rc, n, what);
	db_finalize(st);
	return e;
}

static int store_officer_bind_flag(struct db_stmt *st, const void *arg)
{
	return db_bind_int(st, 2, *(const bool *)arg ? 1 : 0);
}

static int store_officer_bind_hash(struct db_stmt *st, const void *arg)
{
	return store_bind_text(st, 2, arg, true);
}

ga_err store_officer_set_disabled(struct store *s, int64_t id, bool disabled)
{
	int64_t n = 0;
	ga_err e = store_officer_change(s, "UPDATE officers SET disabled = ?2 WHERE id = ?1", id,
					store_officer_bind_flag, &disabled, &n, "officer disable");

	return e == GA_OK && n == 0 ? GA_ERR_NOTFOUND : e;
}

ga_err store_officer_set_token_hash(struct store *s, int64_t id, const char *token_hash)
{
	int64_t n = 0;
	ga_err e = store_officer_change(s, "UPDATE officers SET token_hash = ?2 WHERE id = ?1", id,
					store_officer_bind_hash, token_hash, &n, "officer token");

	return e == GA_OK && n == 0 ? GA_ERR_NOTFOUND : e;
}

ga_err store_officer_set_password_hash(struct store *s, int64_t id, const char *password_hash)
{
	int64_t n = 0;
	ga_err e =
	    store_officer_change(s, "UPDATE officers SET password_hash = ?2 WHERE id = ?1", id,
				 store_officer_bind_hash, password_hash, &n, "officer password");

	return e == GA_OK && n == 0 ? GA_ERR_NOTFOUND : e;
}

ga_err store_session_delete_officer(struct store *s, int64_t officer_id, int64_t *n)
{
	return store_officer_change(s, "DELETE FROM sessions WHERE officer_id = ?1", officer_id,
				    NULL, NULL, n, "officer sessions delete");
}

/* --- sessions ------------------------------------------------------ */

ga_err store_session_put(struct store *s, const struct store_session *sess)
{
	struct db_stmt *st = s->stmt[STMT_SESSION_PUT];
	ga_err e;
	int rc;

	if ((e = store_spoiled(s)) != GA_OK)
		return e;
	if ((rc = db_bind_text(st, 1, sess->id, -1)) == DB_OK &&
	    (rc = db_bind_int64(st, 2, sess->officer_id)) == DB_OK &&
	    (rc = db_bind_text(st, 3, sess->csrf, -1)) == DB_OK &&
	    (rc = db_bind_int64(st, 4, sess->created_ms)) == DB_OK &&
	    (rc = db_bind_int64(st, 5, sess->last_seen_ms)) == DB_OK)
		rc = db_bind_int64(st, 6, sess->expires_ms);
	return store_run_changes(s, st, rc, NULL, "session put");
}

ga_err store_session_get(struct store *s, const char *id, int64_t now_ms, struct store_session *out)
{
	struct db_stmt *st = s->stmt[STMT_SESSION_GET];
	ga_err e;
	int rc;

	if ((rc = db_bind_text(st, 1, id, -1)) == DB_OK)
		rc = db_bind_int64(st, 2, now_ms);
	if ((e = store_step_row(s, st, rc, "session get")) == GA_OK) {
		memset(out, 0, sizeof(*out));
		store_column_copy(st, 0, out->id, sizeof(out->id));
		out->officer_id = db_column_int64(st, 1);
		store_column_copy(st, 2, out->csrf, sizeof(out->csrf));
		out->created_ms = db_column_int64(st, 3);
		out->last_seen_ms = db_column_int64(st, 4);
		out->expires_ms = db_column_int64(st, 5);
	}
	store_stmt_done(st);
	return e;
}

ga_err store_session_touch(struct store *s, const char *id, int64_t last_seen_ms,
			   int64_t expires_ms)
{
	struct db_stmt *st = s->stmt[STMT_SESSION_TOUCH];
	ga_err e;
	int rc;

	if ((e = store_spoiled(s)) != GA_OK)
		return e;
	if ((rc = db_bind_text(st, 1, id, -1)) == DB_OK &&
	    (rc = db_bind_int64(st, 2, last_seen_ms)) == DB_OK)
		rc = db_bind_int64(st, 3, expires_ms);
	return store_run_update(s, st, rc, "session touch");
}

ga_err store_session_delete(struct store *s, const char *id)
{
	struct db_stmt *st = s->stmt[STMT_SESSION_DELETE];

	return store_run_changes(s, st, db_bind_text(st, 1, id, -1), NULL, "session delete");
}

ga_err store_session_purge(struct store *s, int64_t now_ms, int64_t *n)
{
	struct db_stmt *st = s->stmt[STMT_SESSION_PURGE];

	return store_run_changes(s, st, db_bind_int64(st, 1, now_ms), n, "session purge");
}

/* --- login attempts ------------------------------------------------ */

ga_err store_login_attempt_add(struct store *s, const char *name, const char *remote, bool ok,
			       int64_t at_ms)
{
	struct db_stmt *st = s->stmt[STMT_LOGIN_ADD];
	ga_err e;
	int rc;

	if ((e = store_spoiled(s)) != GA_OK)
		return e;
	if ((name && strlen(name) >= OFFICER_NAME_MAX) ||
	    (remote && strlen(remote) >= STORE_REMOTE_MAX))
		return GA_ERR_TOOBIG;
	if ((rc = db_bind_int64(st, 1, at_ms)) == DB_OK &&
	    (rc = db_bind_text(st, 2, name ? name : "", -1)) == DB_OK &&
	    (rc = db_bind_text(st, 3, remote ? remote : "", -1)) == DB_OK)
		rc = db_bind_int(st, 4, ok ? 1 : 0);
	return store_run_changes(s, st, rc, NULL, "login attempt add");
}

ga_err store_login_attempt_count_since(struct store *s, const char *name, const char *remote,
				       int64_t since_ms, int64_t *n)
{
	struct db_stmt *st = s->stmt[STMT_LOGIN_COUNT];
	ga_err e = GA_OK;
	int rc;

	/* A NULL argument matches any row ("?1 IS NULL OR ..."). */
	if ((rc = store_bind_text(st, 1, name, false)) == DB_OK &&
	    (rc = store_bind_text(st, 2, remote, false)) == DB_OK &&
	    (rc = db_bind_int64(st, 3, since_ms)) == DB_OK)
		rc = db_step(st);
	if (rc == DB_ROW)
		*n = db_column_int64(st, 0);
	else
		e = store_error(s, rc, "login attempt count");
	store_stmt_done(st);
	return e;
}

ga_err store_login_attempt_purge(struct store *s, int64_t before_ms)
{
	struct db_stmt *st = s->stmt[STMT_LOGIN_PURGE];

	return store_run_changes(s, st, db_bind_int64(st, 1, before_ms), NULL,
				 "login attempt purge");
}
