/* store_device.c - monitoring devices' points, malformed frames and
 * levels in SQLite (store_device.h). The statements live in this file
 * and are prepared once per connection. */
#include "store_device.h"

#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

enum sd_stmt {
	SD_POINT_PUT,
	SD_MALFORMED_COUNT,
	SD_MALFORMED_PUT,
	SD_LEVEL_SET,
	SD_CHANGE_PUT,
	SD_LEVELS,
	SD_POINTS_SINCE,
	SD_LATEST,
	SD_COUNT_POINTS,
	SD_COUNT_MALFORMED,
	SD_CHANGES_SINCE,
	SD_PURGE_POINTS,
	SD_PURGE_MALFORMED,
	SD_POINTS_START,
	SD_INCIDENT_GET,
	SD_INCIDENT_SET,
	SD_NSTMT
};

static const char *const sd_sql[SD_NSTMT] = {
    [SD_POINT_PUT] = "INSERT INTO device_points (device_code, channel, field, t_ms,"
		     " value, received_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO NOTHING",
    [SD_MALFORMED_COUNT] = "SELECT count(*) FROM device_malformed WHERE device_code = ?1"
			   " AND hour = ?2",
    [SD_MALFORMED_PUT] = "INSERT INTO device_malformed (device_code, hour, reason, topic, raw,"
			 " raw_total, received_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [SD_LEVEL_SET] = "INSERT INTO device_levels (station_id, level, t_ms, changed_ms)"
		     " VALUES (?1, ?2, ?3, ?4) ON CONFLICT (station_id) DO UPDATE SET"
		     " level = excluded.level, t_ms = excluded.t_ms,"
		     " changed_ms = excluded.changed_ms",
    [SD_CHANGE_PUT] = "INSERT INTO device_level_changes (station_id, from_level, to_level,"
		      " t_ms, changed_ms, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [SD_LEVELS] = "SELECT station_id, level, t_ms FROM device_levels ORDER BY station_id",
    [SD_POINTS_SINCE] = "SELECT channel, field, t_ms, value FROM device_points"
			" WHERE device_code = ?1 AND t_ms >= ?2 ORDER BY t_ms",
    [SD_LATEST] = "SELECT t_ms, received_ms FROM device_points WHERE device_code = ?1"
		  " ORDER BY t_ms DESC LIMIT 1",
    [SD_COUNT_POINTS] = "SELECT count(*) FROM device_points",
    [SD_COUNT_MALFORMED] = "SELECT count(*) FROM device_malformed",
    [SD_CHANGES_SINCE] = "SELECT from_level, to_level, t_ms, changed_ms, detail"
			 " FROM device_level_changes WHERE station_id = ?1 AND t_ms >= ?2"
			 " ORDER BY id LIMIT ?3",
    /* at most about ?3 rows: those up to the time of the ?3-th oldest */
    [SD_PURGE_POINTS] = "DELETE FROM device_points WHERE device_code = ?1 AND t_ms < ?2"
			" AND t_ms <= coalesce((SELECT t_ms FROM device_points"
			" WHERE device_code = ?1 AND t_ms < ?2 ORDER BY t_ms LIMIT 1 OFFSET ?3),"
			" ?2)",
    /* ids grow with arrival: the oldest rows first, by the key */
    [SD_PURGE_MALFORMED] = "DELETE FROM device_malformed WHERE id IN (SELECT id FROM"
			   " device_malformed ORDER BY id LIMIT ?2) AND received_ms < ?1",
    /* the (?3 + 1)-th newest point's time, by the (device_code, t_ms) index */
    [SD_POINTS_START] = "SELECT t_ms FROM device_points WHERE device_code = ?1 AND t_ms >= ?2"
			" ORDER BY t_ms DESC LIMIT 1 OFFSET ?3",
    [SD_INCIDENT_GET] = "SELECT incident_id FROM device_incidents WHERE station_id = ?1",
    [SD_INCIDENT_SET] =
	"INSERT INTO device_incidents (station_id, incident_id) VALUES (?1, ?2)"
	" ON CONFLICT (station_id) DO UPDATE SET incident_id = excluded.incident_id",
};

struct store_device {
	struct store *s;
	struct db_stmt *st[SD_NSTMT];
};

void store_device_close(struct store_device *sd)
{
	if (sd == NULL)
		return;
	for (int i = 0; i < SD_NSTMT; i++)
		db_finalize(sd->st[i]);
	free(sd);
}

ga_err store_device_open(struct store *s, struct store_device **out)
{
	struct store_device *sd = calloc(1, sizeof(*sd));
	ga_err e = GA_ERR_NOMEM;

	if (sd == NULL)
		goto out;
	sd->s = s;
	for (int i = 0; i < SD_NSTMT; i++) {
		int rc = db_prepare(s->db, sd_sql[i], &sd->st[i]);
		if (rc != DB_OK) {
			e = store_error(s, rc, "device statement");
			goto out;
		}
	}
	*out = sd;
	sd = NULL;
	e = GA_OK;
out:
	store_device_close(sd);
	return e;
}

ga_err store_device_point_put(struct store_device *sd, const char *device_code, const char *channel,
			      const char *field, int64_t t_ms, double value, int64_t received_ms,
			      bool *inserted)
{
	struct db_stmt *st = sd->st[SD_POINT_PUT];
	int64_t n = 0;
	int rc = DB_OK;
	ga_err e;

	if ((e = store_spoiled(sd->s)) != GA_OK)
		return e;
	STORE_BIND(rc, db_bind_text(st, 1, device_code, -1));
	STORE_BIND(rc, db_bind_text(st, 2, channel, -1));
	STORE_BIND(rc, db_bind_text(st, 3, field, -1));
	STORE_BIND(rc, db_bind_int64(st, 4, t_ms));
	STORE_BIND(rc, db_bind_double(st, 5, value));
	STORE_BIND(rc, db_bind_int64(st, 6, received_ms));
	e = store_run_changes(sd->s, st, rc, &n, "device point put");
	*inserted = e == GA_OK && n == 1;
	return e;
}

ga_err store_device_malformed_put(struct store_device *sd, const char *device_code,
				  const char *reason, const char *topic, const void *raw,
				  size_t rawlen, size_t raw_total, int64_t received_ms, bool *kept)
{
	struct db_stmt *st = sd->st[SD_MALFORMED_COUNT];
	int64_t hour = received_ms / 3600000, n = 0;
	int rc = DB_OK;
	ga_err e;

	*kept = false;
	if ((e = store_spoiled(sd->s)) != GA_OK)
		return e;
	STORE_BIND(rc, db_bind_text(st, 1, device_code, -1));
	STORE_BIND(rc, db_bind_int64(st, 2, hour));
	e = store_step_row(sd->s, st, rc, "device malformed count");
	if (e == GA_OK)
		n = db_column_int64(st, 0);
	store_stmt_done(st);
	if (e != GA_OK || n >= STORE_DEVICE_MALFORMED_PER_HOUR)
		return e;
	st = sd->st[SD_MALFORMED_PUT];
	rc = DB_OK;
	STORE_BIND(rc, db_bind_text(st, 1, device_code, -1));
	STORE_BIND(rc, db_bind_int64(st, 2, hour));
	STORE_BIND(rc, db_bind_text(st, 3, reason, -1));
	STORE_BIND(rc, db_bind_text(st, 4, topic, -1));
	STORE_BIND(rc, db_bind_blob(st, 5, rawlen ? raw : "", rawlen));
	STORE_BIND(rc, db_bind_int64(st, 6, (int64_t)raw_total));
	STORE_BIND(rc, db_bind_int64(st, 7, received_ms));
	e = store_run_changes(sd->s, st, rc, NULL, "device malformed put");
	*kept = e == GA_OK;
	return e;
}

ga_err store_device_level_change(struct store_device *sd, const char *station_id, int from, int to,
				 int64_t t_ms, int64_t changed_ms, const char *detail)
{
	struct db_stmt *st = sd->st[SD_LEVEL_SET];
	int rc = DB_OK;
	ga_err e;

	if ((e = store_spoiled(sd->s)) != GA_OK)
		return e;
	STORE_BIND(rc, db_bind_text(st, 1, station_id, -1));
	STORE_BIND(rc, db_bind_int(st, 2, to));
	STORE_BIND(rc, db_bind_int64(st, 3, t_ms));
	STORE_BIND(rc, db_bind_int64(st, 4, changed_ms));
	if ((e = store_run_changes(sd->s, st, rc, NULL, "device level set")) != GA_OK)
		return e;
	st = sd->st[SD_CHANGE_PUT];
	rc = DB_OK;
	STORE_BIND(rc, db_bind_text(st, 1, station_id, -1));
	STORE_BIND(rc, db_bind_int(st, 2, from));
	STORE_BIND(rc, db_bind_int(st, 3, to));
	STORE_BIND(rc, db_bind_int64(st, 4, t_ms));
	STORE_BIND(rc, db_bind_int64(st, 5, changed_ms));
	STORE_BIND(rc, db_bind_text(st, 6, detail, -1));
	return store_run_changes(sd->s, st, rc, NULL, "device level change");
}

ga_err store_device_levels(struct store_device *sd, store_device_level_cb cb, void *arg)
{
	struct db_stmt *st = sd->st[SD_LEVELS];
	char id[128];
	ga_err e;
	int rc;

	if ((e = store_spoiled(sd->s)) != GA_OK)
		return e;
	while ((rc = db_step(st)) == DB_ROW) {
		store_column_copy(st, 0, id, sizeof(id));
		if (!cb(id, db_column_int(st, 1), db_column_int64(st, 2), arg)) {
			rc = DB_DONE;
			break;
		}
	}
	if (rc != DB_DONE)
		e = store_error(sd->s, rc, "device levels");
	store_stmt_done(st);
	return e;
}

ga_err store_device_points_since(struct store_device *sd, const char *device_code, int64_t since_ms,
				 store_device_point_cb cb, void *arg)
{
	struct db_stmt *st = sd->st[SD_POINTS_SINCE];
	char channel[64], field[64];
	int rc = DB_OK;
	ga_err e;

	if ((e = store_spoiled(sd->s)) != GA_OK)
		return e;
	STORE_BIND(rc, db_bind_text(st, 1, device_code, -1));
	STORE_BIND(rc, db_bind_int64(st, 2, since_ms));
	if (rc != DB_OK) {
		e = store_error(sd->s, rc, "device points since");
		goto out;
	}
	while ((rc = db_step(st)) == DB_ROW) {
		store_column_copy(st, 0, channel, sizeof(channel));
		store_column_copy(st, 1, field, sizeof(field));
		if (!cb(channel, field, db_column_int64(st, 2), db_column_double(st, 3), arg)) {
			rc = DB_DONE;
			break;
		}
	}
	if (rc != DB_DONE)
		e = store_error(sd->s, rc, "device points since");
out:
	store_stmt_done(st);
	return e;
}

ga_err store_device_latest(struct store_device *sd, const char *device_code, int64_t *t_ms,
			   int64_t *received_ms)
{
	struct db_stmt *st = sd->st[SD_LATEST];
	ga_err e;

	if ((e = store_spoiled(sd->s)) != GA_OK)
		return e;
	e = store_step_row(sd->s, st, db_bind_text(st, 1, device_code, -1), "device latest");
	if (e == GA_OK) {
		*t_ms = db_column_int64(st, 0);
		*received_ms = db_column_int64(st, 1);
	}
	store_stmt_done(st);
	return e;
}

ga_err store_device_incident_get(struct store_device *sd, const char *station_id, char *id,
				 size_t idlen)
{
	struct db_stmt *st = sd->st[SD_INCIDENT_GET];
	ga_err e;

	id[0] = '\0';
	if ((e = store_spoiled(sd->s)) != GA_OK)
		return e;
	e = store_step_row(sd->s, st, db_bind_text(st, 1, station_id, -1), "device incident");
	if (e == GA_OK)
		store_column_copy(st, 0, id, idlen);
	store_stmt_done(st);
	if (e == GA_OK && id[0] == '\0')
		e = GA_ERR_NOTFOUND;
	return e;
}

ga_err store_device_incident_set(struct store_device *sd, const char *station_id,
				 const char *incident_id)
{
	struct db_stmt *st = sd->st[SD_INCIDENT_SET];
	int rc = DB_OK;
	ga_err e;

	if ((e = store_spoiled(sd->s)) != GA_OK)
		return e;
	STORE_BIND(rc, db_bind_text(st, 1, station_id, -1));
	STORE_BIND(rc, db_bind_text(st, 2, incident_id, -1));
	return store_run_changes(sd->s, st, rc, NULL, "device incident set");
}

static ga_err sd_count(struct store_device *sd, enum sd_stmt id, int64_t *n)
{
	struct db_stmt *st = sd->st[id];
	ga_err e = store_step_row(sd->s, st, DB_OK, "device count");
	*n = e == GA_OK ? db_column_int64(st, 0) : 0;
	store_stmt_done(st);
	return e;
}

ga_err store_device_counts(struct store_device *sd, int64_t *points, int64_t *malformed)
{
	ga_err e = sd_count(sd, SD_COUNT_POINTS, points);
	return e != GA_OK ? e : sd_count(sd, SD_COUNT_MALFORMED, malformed);
}

ga_err store_device_changes_since(struct store_device *sd, const char *station_id, int64_t since_ms,
				  int limit, store_device_change_cb cb, void *arg)
{
	struct db_stmt *st = sd->st[SD_CHANGES_SINCE];
	int rc = DB_OK;
	ga_err e;

	if ((e = store_spoiled(sd->s)) != GA_OK)
		return e;
	STORE_BIND(rc, db_bind_text(st, 1, station_id, -1));
	STORE_BIND(rc, db_bind_int64(st, 2, since_ms));
	STORE_BIND(rc, db_bind_int(st, 3, limit));
	if (rc != DB_OK) {
		e = store_error(sd->s, rc, "device changes since");
		goto out;
	}
	while ((rc = db_step(st)) == DB_ROW) {
		const char *detail = db_column_text(st, 4);
		if (!cb(db_column_int(st, 0), db_column_int(st, 1), db_column_int64(st, 2),
			db_column_int64(st, 3), detail ? detail : "{}", arg)) {
			rc = DB_DONE;
			break;
		}
	}
	if (rc != DB_DONE)
		e = store_error(sd->s, rc, "device changes since");
out:
	store_stmt_done(st);
	return e;
}

ga_err store_device_purge_points(struct store_device *sd, const char *device_code,
				 int64_t before_ms, int limit, int64_t *n)
{
	struct db_stmt *st = sd->st[SD_PURGE_POINTS];
	int rc = DB_OK;

	STORE_BIND(rc, db_bind_text(st, 1, device_code, -1));
	STORE_BIND(rc, db_bind_int64(st, 2, before_ms));
	STORE_BIND(rc, db_bind_int(st, 3, limit));
	return store_run_changes(sd->s, st, rc, n, "device purge points");
}

ga_err store_device_purge_malformed(struct store_device *sd, int64_t before_ms, int limit,
				    int64_t *n)
{
	struct db_stmt *st = sd->st[SD_PURGE_MALFORMED];
	int rc = DB_OK;

	STORE_BIND(rc, db_bind_int64(st, 1, before_ms));
	STORE_BIND(rc, db_bind_int(st, 2, limit));
	return store_run_changes(sd->s, st, rc, n, "device purge malformed");
}

ga_err store_device_points_start(struct store_device *sd, const char *device_code, int64_t since_ms,
				 int max, int64_t *start_ms)
{
	struct db_stmt *st = sd->st[SD_POINTS_START];
	int rc = DB_OK;
	ga_err e;

	if ((e = store_spoiled(sd->s)) != GA_OK)
		return e;
	STORE_BIND(rc, db_bind_text(st, 1, device_code, -1));
	STORE_BIND(rc, db_bind_int64(st, 2, since_ms));
	STORE_BIND(rc, db_bind_int(st, 3, max));
	e = store_step_row(sd->s, st, rc, "device points start");
	if (e == GA_OK)
		*start_ms = db_column_int64(st, 0) + 1;
	store_stmt_done(st);
	return e;
}
