/* store_stats.c - the gauges of /metrics and the backlog of /healthz,
 * counted by SQLite (statements in store_sql.c). */
#include "store_stats.h"

#include <string.h>

#include "store_internal.h"

static const char *const store_stats_states[STORE_STATS_STATE_COUNT] = {"pending", "sending",
									"delivered", "failed"};

const char *store_stats_state_name(enum store_stats_state st)
{
	return (unsigned)st < STORE_STATS_STATE_COUNT ? store_stats_states[st] : NULL;
}

int store_stats_state_from_name(const char *name)
{
	for (int i = 0; name != NULL && i < STORE_STATS_STATE_COUNT; i++)
		if (strcmp(name, store_stats_states[i]) == 0)
			return i;
	return -1;
}

/* The start of the minute t_ms is in: report_counts' bucket. */
static int64_t store_stats_minute(int64_t t_ms)
{
	int64_t m = t_ms / STORE_STATS_BUCKET_MS;
	if (t_ms < 0 && m * STORE_STATS_BUCKET_MS != t_ms)
		m--; /* floor, not toward zero */
	return m * STORE_STATS_BUCKET_MS;
}

/* Steps a statement that yields one row of integers into v[0..n-1]. */
static ga_err store_stats_row(struct store *s, enum store_stmt_id id, int64_t *v, int n,
			      const char *what)
{
	struct db_stmt *st = s->stmt[id];
	ga_err e = GA_OK;
	int rc = db_step(st);

	if (rc == DB_ROW) {
		for (int i = 0; i < n; i++)
			v[i] = db_column_int64(st, i); /* NULL reads as 0 */
	} else {
		e = store_error(s, rc, what);
	}
	store_stmt_done(st);
	return e;
}

ga_err store_stats_incidents(struct store *s, int64_t since_ms, int64_t n[LEVEL_COUNT])
{
	struct db_stmt *st = s->stmt[STMT_STATS_INCIDENTS];
	ga_err e = GA_OK;
	int rc;

	for (int i = 0; i < LEVEL_COUNT; i++)
		n[i] = 0;
	if ((rc = db_bind_int64(st, 1, since_ms)) != DB_OK) {
		e = store_error(s, rc, "stats incidents");
		goto out;
	}
	while ((rc = db_step(st)) == DB_ROW) {
		int level = db_column_int(st, 0);
		if (level >= 0 && level < LEVEL_COUNT) /* the schema's CHECK */
			n[level] = db_column_int64(st, 1);
	}
	if (rc != DB_DONE)
		e = store_error(s, rc, "stats incidents");
out:
	store_stmt_done(st);
	return e;
}

ga_err store_stats_drafts_pending(struct store *s, int64_t *n)
{
	*n = 0;
	return store_stats_row(s, STMT_STATS_DRAFTS_PENDING, n, 1, "stats drafts");
}

ga_err store_stats_deliveries(struct store *s, store_stats_delivery_cb cb, void *arg)
{
	struct db_stmt *st = s->stmt[STMT_STATS_DELIVERIES];
	ga_err e = GA_OK;
	int rc;

	while ((rc = db_step(st)) == DB_ROW) {
		char channel[STORE_CHANNEL_MAX], state[STORE_WORD_MAX];
		store_column_copy(st, 0, channel, sizeof(channel));
		store_column_copy(st, 1, state, sizeof(state));
		int k = store_stats_state_from_name(state);
		if (k < 0)
			continue;
		if (!cb(channel, (enum store_stats_state)k, db_column_int64(st, 2), arg)) {
			rc = DB_DONE;
			break;
		}
	}
	if (rc != DB_DONE)
		e = store_error(s, rc, "stats deliveries");
	store_stmt_done(st);
	return e;
}

ga_err store_stats_backlog(struct store *s, int64_t overdue_before_ms, int64_t failed_since_ms,
			   struct store_backlog *out)
{
	struct db_stmt *st = s->stmt[STMT_STATS_BACKLOG];
	int64_t v[4] = {0, 0, 0, 0};
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = db_bind_int64(st, 1, overdue_before_ms)) != DB_OK ||
	    (rc = db_bind_int64(st, 2, failed_since_ms)) != DB_OK) {
		store_stmt_done(st);
		return store_error(s, rc, "stats backlog");
	}
	ga_err e = store_stats_row(s, STMT_STATS_BACKLOG, v, 4, "stats backlog");
	if (e == GA_OK) {
		out->unfinished = v[0];
		out->overdue = v[1];
		out->oldest_created_ms = v[2];
		out->failed_recent = v[3];
	}
	return e;
}

ga_err store_stats_old_reports(struct store *s, int64_t since_ms, int64_t max_age_ms, int64_t *n)
{
	struct db_stmt *st = s->stmt[STMT_STATS_OLD_REPORTS];
	int rc;

	(void)max_age_ms; /* applied by the writer as each report arrived */
	*n = 0;
	if ((rc = db_bind_int64(st, 1, store_stats_minute(since_ms))) != DB_OK) {
		store_stmt_done(st);
		return store_error(s, rc, "stats old reports");
	}
	return store_stats_row(s, STMT_STATS_OLD_REPORTS, n, 1, "stats old reports");
}

ga_err store_stats_old_observed_add(struct store *s, int64_t received_ms, int64_t n)
{
	struct db_stmt *st = s->stmt[STMT_STATS_COUNT_ADD];
	int rc = DB_OK;
	ga_err e = store_spoiled(s);

	if (e != GA_OK) {
		store_stmt_done(st);
		return e;
	}
	STORE_BIND(rc, db_bind_text(st, 1, "old_observed", -1));
	STORE_BIND(rc, db_bind_int64(st, 2, store_stats_minute(received_ms)));
	STORE_BIND(rc, db_bind_int64(st, 3, n));
	return store_run_changes(s, st, rc, NULL, "stats count");
}
