/* store_timeliness.c - the rows of `geoalert report timeliness`: a rare
 * command-line read, so its statement is prepared on use, not cached. */
#include <string.h>

#include "store.h"
#include "store_internal.h"

/* agg: the officers' names joined by commas, in each dialect. */
#define TIMELINESS_SQL(agg)                                                                        \
	"SELECT i.id, i.level, i.created_ms,"                                                      \
	" (SELECT min(d.created_ms) FROM alert_drafts d WHERE d.alert_id = i.id),"                 \
	" p.published_ms,"                                                                         \
	" (SELECT " agg " FROM alert_confirmations c"                                              \
	"  JOIN officers o ON o.id = c.officer_id WHERE c.draft_id = p.id),"                       \
	" dl.channel, dl.delivered_ms"                                                             \
	" FROM incidents i"                                                                        \
	" LEFT JOIN alert_drafts p ON p.alert_id = i.id AND p.version = 1"                         \
	" LEFT JOIN deliveries dl ON dl.alert_id = i.id AND dl.version = 1"                        \
	" WHERE i.created_ms >= ?1"                                                                \
	" AND EXISTS (SELECT 1 FROM alert_drafts d WHERE d.alert_id = i.id)"                       \
	" ORDER BY i.created_ms, i.id, dl.channel"

/* PostgreSQL has no group_concat: string_agg there. (dl.channel is NULL
 * only on an incident's single row without deliveries, so NULL's place in
 * the order, first in SQLite and last in PostgreSQL, does not matter.) */
static const char timeliness_sql[] = TIMELINESS_SQL("group_concat(o.name, ',')");
static const char timeliness_sql_pg[] = TIMELINESS_SQL("string_agg(o.name, ',')");

ga_err store_timeliness_each(struct store *s, int64_t since_ms, store_timeliness_cb cb, void *arg)
{
	struct db_stmt *st = NULL;
	ga_err e = GA_OK;
	int rc = db_prepare(
	    s->db, db_kind(s->db) == DB_KIND_POSTGRES ? timeliness_sql_pg : timeliness_sql, &st);
	if (rc != DB_OK)
		return store_error(s, rc, "timeliness");
	if ((rc = db_bind_int64(st, 1, since_ms)) != DB_OK) {
		e = store_error(s, rc, "timeliness");
		goto out;
	}
	while ((rc = db_step(st)) == DB_ROW) {
		struct store_timeliness_row r;
		memset(&r, 0, sizeof(r));
		store_column_copy(st, 0, r.incident_id, sizeof(r.incident_id));
		r.level = db_column_int(st, 1);
		r.reported_ms = db_column_int64(st, 2);
		r.draft_ms = db_column_int64(st, 3);
		r.confirmed_ms = db_column_int64(st, 4);
		store_column_copy(st, 5, r.confirmed_by, sizeof(r.confirmed_by));
		store_column_copy(st, 6, r.channel, sizeof(r.channel));
		r.delivered_ms = db_column_int64(st, 7);
		if (!cb(&r, arg))
			break;
	}
	if (rc != DB_ROW && rc != DB_DONE)
		e = store_error(s, rc, "timeliness");
out:
	db_finalize(st);
	return e;
}
