/* store_cluster.c - several instances on one database (spec §10):
 * heartbeats, leases and takeovers (cluster.c uses them). Prepared per
 * call: they run every few seconds, not per report. */
#include <stdio.h>
#include <string.h>

#include "store.h"
#include "store_internal.h"

/* Runs st (an INSERT, UPDATE or DELETE, bound; bindrc the bind result),
 * finalizes it, *n the rows changed. */
static ga_err store_cluster_run(struct store *s, struct db_stmt *st, int bindrc, int64_t *n,
				const char *what)
{
	ga_err e = store_run_changes(s, st, bindrc, n, what);

	db_finalize(st);
	return e;
}

ga_err store_cluster_join(struct store *s, const char *instance, int64_t now_ms)
{
	struct db_stmt *st = NULL;
	ga_err e;
	int rc = DB_OK;

	if ((e = store_prepare_own(
		 s,
		 "INSERT INTO cluster_instances (name, started_ms, heartbeat_ms)"
		 " VALUES (?1, ?2, ?2) ON CONFLICT (name) DO UPDATE SET"
		 " started_ms = excluded.started_ms, heartbeat_ms = excluded.heartbeat_ms,"
		 " taken_by = NULL, taken_ms = NULL",
		 &st, "cluster join")) != GA_OK)
		return e;
	STORE_BIND(rc, db_bind_text(st, 1, instance, -1));
	STORE_BIND(rc, db_bind_int64(st, 2, now_ms));
	return store_cluster_run(s, st, rc, NULL, "cluster join");
}

ga_err store_cluster_heartbeat(struct store *s, const char *instance, int64_t now_ms, char *taker,
			       size_t takerlen)
{
	struct db_stmt *st = NULL;
	int64_t n = 0;
	ga_err e;
	int rc = DB_OK;

	taker[0] = '\0';
	/* Not while claimed: a heartbeat then would say alive to nobody (the
	 * claim is made) and hide that the takeover is still going on. */
	if ((e = store_prepare_own(s,
				   "UPDATE cluster_instances SET heartbeat_ms = ?2"
				   " WHERE name = ?1 AND taken_by IS NULL",
				   &st, "cluster heartbeat")) != GA_OK)
		return e;
	STORE_BIND(rc, db_bind_text(st, 1, instance, -1));
	STORE_BIND(rc, db_bind_int64(st, 2, now_ms));
	if ((e = store_cluster_run(s, st, rc, &n, "cluster heartbeat")) != GA_OK)
		return e;
	if (n > 0)
		return GA_OK;
	if ((e = store_prepare_own(s, "SELECT taken_by FROM cluster_instances WHERE name = ?1", &st,
				   "cluster heartbeat")) != GA_OK)
		return e;
	e = store_step_row(s, st, db_bind_text(st, 1, instance, -1), "cluster heartbeat");
	if (e == GA_OK)
		store_column_copy(st, 0, taker, takerlen);
	db_finalize(st);
	if (e != GA_OK)
		return e; /* GA_ERR_NOTFOUND: the row is gone */
	return taker[0] != '\0' ? GA_ERR_CONFLICT : GA_ERR_DB;
}

ga_err store_cluster_reclaim(struct store *s, const char *instance, const char *taker,
			     int64_t silent_before_ms, bool *done)
{
	struct db_stmt *st = NULL;
	int64_t n = 0;
	ga_err e;
	int rc = DB_OK;

	*done = false;
	if ((e = store_prepare_own(
		 s,
		 "UPDATE cluster_instances SET taken_by = NULL, taken_ms = NULL"
		 " WHERE name = ?1 AND taken_by = ?2 AND NOT EXISTS (SELECT 1 FROM"
		 " cluster_instances t WHERE t.name = ?2 AND t.heartbeat_ms >= ?3)",
		 &st, "cluster reclaim")) != GA_OK)
		return e;
	STORE_BIND(rc, db_bind_text(st, 1, instance, -1));
	STORE_BIND(rc, db_bind_text(st, 2, taker, -1));
	STORE_BIND(rc, db_bind_int64(st, 3, silent_before_ms));
	if ((e = store_cluster_run(s, st, rc, &n, "cluster reclaim")) != GA_OK)
		return e;
	*done = n > 0;
	return GA_OK;
}

ga_err store_cluster_lease(struct store *s, const char *name, const char *holder, int64_t now_ms,
			   int64_t expires_ms, bool *held)
{
	struct db_stmt *st = NULL;
	int64_t n = 0;
	ga_err e;
	int rc = DB_OK;

	*held = false;
	if ((e = store_prepare_own(s,
				   "UPDATE cluster_leases SET holder = ?2, expires_ms = ?4"
				   " WHERE name = ?1 AND (holder = ?2 OR expires_ms <= ?3)",
				   &st, "cluster lease")) != GA_OK)
		return e;
	STORE_BIND(rc, db_bind_text(st, 1, name, -1));
	STORE_BIND(rc, db_bind_text(st, 2, holder, -1));
	STORE_BIND(rc, db_bind_int64(st, 3, now_ms));
	STORE_BIND(rc, db_bind_int64(st, 4, expires_ms));
	if ((e = store_cluster_run(s, st, rc, &n, "cluster lease")) != GA_OK)
		return e;
	if (n == 0) {
		/* No row yet, or another holder's that has not expired. */
		if ((e = store_prepare_own(s,
					   "INSERT INTO cluster_leases (name, holder, expires_ms)"
					   " VALUES (?1, ?2, ?3) ON CONFLICT (name) DO NOTHING",
					   &st, "cluster lease")) != GA_OK)
			return e;
		rc = DB_OK;
		STORE_BIND(rc, db_bind_text(st, 1, name, -1));
		STORE_BIND(rc, db_bind_text(st, 2, holder, -1));
		STORE_BIND(rc, db_bind_int64(st, 3, expires_ms));
		if ((e = store_cluster_run(s, st, rc, &n, "cluster lease")) != GA_OK)
			return e;
	}
	*held = n > 0;
	return GA_OK;
}

ga_err store_cluster_claim(struct store *s, const char *me, int64_t now_ms,
			   int64_t silent_before_ms, char *out, size_t outlen)
{
	struct db_stmt *st = NULL;
	char name[STORE_INSTANCE_MAX] = "";
	int64_t n = 0;
	ga_err e;
	int rc = DB_OK;

	out[0] = '\0';
	if ((e = store_prepare_own(s,
				   "SELECT name FROM cluster_instances WHERE name <> ?1"
				   " AND taken_by IS NULL AND heartbeat_ms < ?2"
				   " ORDER BY heartbeat_ms LIMIT 1",
				   &st, "cluster claim")) != GA_OK)
		return e;
	STORE_BIND(rc, db_bind_text(st, 1, me, -1));
	STORE_BIND(rc, db_bind_int64(st, 2, silent_before_ms));
	e = store_step_row(s, st, rc, "cluster claim");
	if (e == GA_OK)
		store_column_copy(st, 0, name, sizeof(name));
	db_finalize(st);
	if (e != GA_OK)
		return e == GA_ERR_NOTFOUND ? GA_OK : e;
	if ((e = store_prepare_own(s,
				   "UPDATE cluster_instances SET taken_by = ?2, taken_ms = ?3"
				   " WHERE name = ?1 AND taken_by IS NULL AND heartbeat_ms < ?4",
				   &st, "cluster claim")) != GA_OK)
		return e;
	rc = DB_OK;
	STORE_BIND(rc, db_bind_text(st, 1, name, -1));
	STORE_BIND(rc, db_bind_text(st, 2, me, -1));
	STORE_BIND(rc, db_bind_int64(st, 3, now_ms));
	STORE_BIND(rc, db_bind_int64(st, 4, silent_before_ms));
	if ((e = store_cluster_run(s, st, rc, &n, "cluster claim")) != GA_OK)
		return e;
	if (n > 0)
		snprintf(out, outlen, "%s", name);
	return GA_OK;
}

ga_err store_cluster_release(struct store *s, const char *instance, const char *me)
{
	struct db_stmt *st = NULL;
	ga_err e;
	int rc = DB_OK;

	if ((e = store_prepare_own(s,
				   "UPDATE cluster_instances SET taken_by = NULL, taken_ms = NULL"
				   " WHERE name = ?1 AND taken_by = ?2",
				   &st, "cluster release")) != GA_OK)
		return e;
	STORE_BIND(rc, db_bind_text(st, 1, instance, -1));
	STORE_BIND(rc, db_bind_text(st, 2, me, -1));
	return store_cluster_run(s, st, rc, NULL, "cluster release");
}

ga_err store_cluster_forget(struct store *s, const char *instance, const char *me)
{
	struct db_stmt *st = NULL;
	ga_err e;
	int rc = DB_OK;

	if ((e = store_prepare_own(
		 s, "DELETE FROM cluster_instances WHERE name = ?1 AND taken_by = ?2", &st,
		 "cluster forget")) != GA_OK)
		return e;
	STORE_BIND(rc, db_bind_text(st, 1, instance, -1));
	STORE_BIND(rc, db_bind_text(st, 2, me, -1));
	return store_cluster_run(s, st, rc, NULL, "cluster forget");
}
