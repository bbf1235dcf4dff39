/* store_incident.c - incidents: lookups for grouping, insertion with the
 * day's next id, updates, and each station's latest figures. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "store.h"
#include "store_internal.h"
#include "timeutil.h"

#define STORE_DAY_LEN 9 /* "YYYYMMDD" + NUL */
#define MS_PER_DAY 86400000LL

/* a + b, saturated to the int64 range (t +- window must not overflow). */
static int64_t store_add_sat(int64_t a, int64_t b)
{
	if (b > 0 && a > INT64_MAX - b)
		return INT64_MAX;
	if (b < 0 && a < INT64_MIN - b)
		return INT64_MIN;
	return a + b;
}

ga_err store_incident_read(struct store *s, struct db_stmt *st, struct incident *out)
{
	const char *type = db_column_text(st, 1);
	int ht = type ? hazard_type_from_name(type) : -1;
	int level = db_column_int(st, 11);

	if (ht < 0 || level < 0 || level >= LEVEL_COUNT) {
		log_warnx("store: %s: incident %s has a bad hazard_type or level", s->path,
			  db_column_text(st, 0));
		return GA_ERR_DB;
	}
	memset(out, 0, sizeof(*out));
	store_column_copy(st, 0, out->id, sizeof(out->id));
	out->hazard_type = (enum hazard_type)ht;
	store_column_copy(st, 2, out->hazard_point_id, sizeof(out->hazard_point_id));
	out->lon = db_column_type(st, 3) == DB_NULL ? NAN : db_column_double(st, 3);
	out->lat = db_column_type(st, 4) == DB_NULL ? NAN : db_column_double(st, 4);
	store_column_copy(st, 5, out->admin_code, sizeof(out->admin_code));
	out->first_observed_ms = db_column_int64(st, 6);
	out->last_observed_ms = db_column_int64(st, 7);
	out->created_ms = db_column_int64(st, 8);
	out->updated_ms = db_column_int64(st, 9);
	out->has_disaster = db_column_int(st, 10) != 0;
	out->level = (enum level)level;
	out->nreports = db_column_int(st, 12);
	out->open = db_column_int(st, 13) != 0;
	store_column_figures(st, 14, &out->figures);
	return GA_OK;
}

ga_err store_incident_get(struct store *s, const char *id, struct incident *out)
{
	struct db_stmt *st = s->stmt[STMT_INCIDENT_GET];
	ga_err e = GA_ERR_DB;
	int rc;

	if ((e = store_spoiled(s)) != GA_OK)
		return e;
	if (id == NULL)
		return GA_ERR_INVAL;
	rc = db_bind_text(st, 1, id, -1);
	if ((e = store_step_row(s, st, rc, "incident get")) == GA_OK)
		e = store_incident_read(s, st, out);
	store_stmt_done(st);
	return e;
}

ga_err store_incident_by_hazard_point(struct store *s, const char *hazard_point_id,
				      enum hazard_type type, int64_t t_ms, int64_t window_ms,
				      struct incident *out)
{
	struct db_stmt *st = s->stmt[STMT_INCIDENT_BY_HP];
	ga_err e = GA_ERR_DB;
	int rc = DB_OK;

	if ((e = store_spoiled(s)) != GA_OK)
		return e;
	if (hazard_point_id == NULL || hazard_point_id[0] == '\0' ||
	    (unsigned)type >= HAZARD_COUNT || window_ms < 0)
		return GA_ERR_INVAL;
	rc = db_bind_text(st, 1, hazard_point_id, -1);
	if (rc == DB_OK)
		rc = db_bind_text(st, 2, hazard_type_name(type), -1);
	if (rc == DB_OK)
		rc = db_bind_int64(st, 3, store_add_sat(t_ms, -window_ms));
	if (rc == DB_OK)
		rc = db_bind_int64(st, 4, store_add_sat(t_ms, window_ms));
	if ((e = store_step_row(s, st, rc, "incident by hazard point")) == GA_OK)
		e = store_incident_read(s, st, out);
	store_stmt_done(st);
	return e;
}

ga_err store_incident_near(struct store *s, enum hazard_type type, int64_t t_ms, int64_t window_ms,
			   double min_lon, double max_lon, double min_lat, double max_lat,
			   store_incident_cb cb, void *arg)
{
	struct db_stmt *st = s->stmt[STMT_INCIDENT_NEAR];
	ga_err e = GA_ERR_DB;
	int rc = DB_OK;

	if ((e = store_spoiled(s)) != GA_OK)
		return e;
	if ((unsigned)type >= HAZARD_COUNT || window_ms < 0 || cb == NULL)
		return GA_ERR_INVAL;
	rc = db_bind_text(st, 1, hazard_type_name(type), -1);
	if (rc == DB_OK)
		rc = db_bind_int64(st, 2, store_add_sat(t_ms, -window_ms));
	if (rc == DB_OK)
		rc = db_bind_int64(st, 3, store_add_sat(t_ms, window_ms));
	if (rc == DB_OK)
		rc = db_bind_double(st, 4, min_lon);
	if (rc == DB_OK)
		rc = db_bind_double(st, 5, max_lon);
	if (rc == DB_OK)
		rc = db_bind_double(st, 6, min_lat);
	if (rc == DB_OK)
		rc = db_bind_double(st, 7, max_lat);
	if (rc != DB_OK) {
		e = store_error(s, rc, "incident near");
		goto out;
	}
	for (;;) {
		struct incident inc;

		rc = db_step(st);
		if (rc == DB_DONE)
			break;
		if (rc != DB_ROW) {
			e = store_error(s, rc, "incident near");
			goto out;
		}
		if ((e = store_incident_read(s, st, &inc)) != GA_OK)
			goto out;
		if (!cb(&inc, arg))
			break;
	}
	e = GA_OK;
out:
	store_stmt_done(st);
	return e;
}

/* Every write of an incident goes through here first: counted, and the
 * first of a transaction bumps the incidents' generation
 * (store_incident_recent.h), so that no writer of incidents, on any
 * instance, can leave an index of open incidents believing it is
 * current. One statement per transaction, not per write. */
static ga_err store_incident_written(struct store *s, int64_t *gen)
{
	struct db_stmt *st = s->stmt[STMT_INCIDENT_GEN_BUMP];
	ga_err e;

	s->incident_writes++;
	if (s->in_txn && s->incident_gen_txn >= 0) {
		*gen = s->incident_gen_txn; /* bumped by this transaction already */
		return GA_OK;
	}
	/* Outside a transaction each write bumps it in its own (exact only
	 * while no writer runs beside it: tests, tools). */
	if ((e = store_step_row(s, st, DB_OK, "incident generation")) == GA_OK) {
		*gen = db_column_int64(st, 0);
		if (s->in_txn)
			s->incident_gen_txn = *gen;
	}
	store_stmt_done(st);
	return e;
}

/* "YYYYMMDD" of ms at utc_offset_min minutes east of UTC. */
static ga_err store_day(int64_t ms, int utc_offset_min, char day[STORE_DAY_LEN])
{
	int64_t local = store_add_sat(ms, (int64_t)utc_offset_min * 60000);
	int64_t days = local / MS_PER_DAY;
	int64_t y;
	int m, d;

	if (local % MS_PER_DAY < 0)
		days--; /* floor, for times before 1970 */
	time_civil_from_days(days, &y, &m, &d);
	if (y < 0 || y > 9999)
		return GA_ERR_INVAL;
	snprintf(day, STORE_DAY_LEN, "%04d%02d%02d", (int)y, m, d);
	return GA_OK;
}

/* An id prefix is 1-15 of A-Z a-z 0-9 _ - (ids go into URLs and file
 * names). */
static bool store_prefix_ok(const char *prefix)
{
	size_t n = prefix ? strlen(prefix) : 0;

	if (n == 0 || n > 15)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)prefix[i];
		if (c >= 128 || !(isalnum(c) || c == '_' || c == '-'))
			return false;
	}
	return true;
}

/* Binds what an incident's reports change, from parameter first on, in
 * the order the insert and the update both take it: first and last
 * observed, updated, has_disaster, level, nreports, open, the figures. */
static int store_incident_bind_state(struct db_stmt *st, int first, const struct incident *inc)
{
	int rc = db_bind_int64(st, first, inc->first_observed_ms);

	if (rc == DB_OK)
		rc = db_bind_int64(st, first + 1, inc->last_observed_ms);
	if (rc == DB_OK)
		rc = db_bind_int64(st, first + 2, inc->updated_ms);
	if (rc == DB_OK)
		rc = db_bind_int(st, first + 3, inc->has_disaster ? 1 : 0);
	if (rc == DB_OK)
		rc = db_bind_int(st, first + 4, (int)inc->level);
	if (rc == DB_OK)
		rc = db_bind_int(st, first + 5, inc->nreports);
	if (rc == DB_OK)
		rc = db_bind_int(st, first + 6, inc->open ? 1 : 0);
	if (rc == DB_OK)
		rc = store_bind_figures(st, first + 7, &inc->figures);
	return rc;
}

ga_err store_incident_insert(struct store *s, struct incident *inc, const char *prefix,
			     int utc_offset_min)
{
	struct db_stmt *seq = s->stmt[STMT_SEQ_NEXT];
	struct db_stmt *st = s->stmt[STMT_INCIDENT_INSERT];
	char day[STORE_DAY_LEN];
	char id[INCIDENT_ID_MAX];
	int64_t gen = 0;
	ga_err e = GA_ERR_DB;
	int rc;

	if ((e = store_spoiled(s)) != GA_OK)
		return e;
	if (!store_prefix_ok(prefix) || (unsigned)inc->hazard_type >= HAZARD_COUNT ||
	    (unsigned)inc->level >= LEVEL_COUNT || utc_offset_min < -24 * 60 ||
	    utc_offset_min > 24 * 60)
		return GA_ERR_INVAL;
	if (store_day(inc->created_ms, utc_offset_min, day) != GA_OK)
		return GA_ERR_INVAL;
	if ((e = store_incident_written(s, &gen)) != GA_OK)
		return e;

	if ((rc = db_bind_text(seq, 1, day, -1)) != DB_OK) {
		e = store_error(s, rc, "incident sequence");
		goto out;
	}
	if ((rc = db_step(seq)) != DB_ROW) {
		e = store_error(s, rc, "incident sequence");
		goto out;
	}
	long long n = db_column_int64(seq, 0);
	int len = snprintf(id, sizeof(id), "%s-%s-%04lld", prefix, day, n);
	if (len < 0 || (size_t)len >= sizeof(id)) {
		log_warnx("store: %s: incident id %s-%s-%lld is too long", s->path, prefix, day, n);
		e = GA_ERR_TOOBIG;
		goto out;
	}
	/* Done with the sequence before the insert runs. */
	store_stmt_done(seq);

	rc = db_bind_text(st, 1, id, -1);
	if (rc == DB_OK)
		rc = db_bind_text(st, 2, hazard_type_name(inc->hazard_type), -1);
	if (rc == DB_OK)
		rc = db_bind_text(st, 3, inc->hazard_point_id, -1);
	if (rc == DB_OK)
		rc = isfinite(inc->lon) && isfinite(inc->lat) ? db_bind_double(st, 4, inc->lon)
							      : db_bind_null(st, 4);
	if (rc == DB_OK)
		rc = isfinite(inc->lon) && isfinite(inc->lat) ? db_bind_double(st, 5, inc->lat)
							      : db_bind_null(st, 5);
	if (rc == DB_OK)
		rc = db_bind_text(st, 6, inc->admin_code, -1);
	if (rc == DB_OK)
		rc = store_incident_bind_state(st, 7, inc);
	if (rc == DB_OK)
		rc = db_bind_int64(st, 21, inc->created_ms);
	if (rc == DB_OK)
		rc = db_bind_int64(st, 22, gen);
	if (rc != DB_OK) {
		e = store_error(s, rc, "incident insert");
		goto out;
	}
	if ((rc = db_step(st)) != DB_DONE) {
		e = store_error(s, rc, "incident insert");
		goto out;
	}
	memcpy(inc->id, id, sizeof(inc->id));
	e = GA_OK;
out:
	store_stmt_done(seq);
	store_stmt_done(st);
	return e;
}

ga_err store_incident_update(struct store *s, const struct incident *inc)
{
	struct db_stmt *st = s->stmt[STMT_INCIDENT_UPDATE];
	int64_t gen = 0;
	ga_err e;
	int rc;

	if ((e = store_spoiled(s)) != GA_OK)
		return e;
	if ((unsigned)inc->level >= LEVEL_COUNT)
		return GA_ERR_INVAL;
	if ((e = store_incident_written(s, &gen)) != GA_OK)
		return e;
	rc = db_bind_text(st, 1, inc->id, -1);
	if (rc == DB_OK)
		rc = store_incident_bind_state(st, 2, inc);
	if (rc == DB_OK)
		rc = db_bind_int64(st, 16, gen);
	return store_run_update(s, st, rc, "incident update");
}

ga_err store_incident_fold_figures(struct store *s, const char *incident_id, const char *station_id,
				   int64_t observed_ms, const struct figures *f,
				   struct figures *out)
{
	struct db_stmt *up = s->stmt[STMT_FIGURE_UPSERT];
	struct db_stmt *mx = s->stmt[STMT_FIGURE_MAX];
	struct figures agg;
	ga_err e = GA_ERR_DB;
	int rc;

	if ((e = store_spoiled(s)) != GA_OK)
		return e;
	if (incident_id == NULL || station_id == NULL)
		return GA_ERR_INVAL;
	/* One statement for all the figures given: (name, value) pairs from
	 * ?4, a NULL value for a figure not given (or not finite). */
	if (f != NULL && f->set != 0) {
		rc = db_bind_text(up, 1, incident_id, -1);
		if (rc == DB_OK)
			rc = db_bind_text(up, 2, station_id, -1);
		if (rc == DB_OK)
			rc = db_bind_int64(up, 3, observed_ms);
		for (int i = 0; rc == DB_OK && i < FIG_COUNT; i++) {
			rc = db_bind_text(up, 4 + 2 * i, figure_name((enum figure)i), -1);
			if (rc == DB_OK && (f->set & (1u << i)) && isfinite(f->value[i]))
				rc = db_bind_double(up, 5 + 2 * i, f->value[i]);
		}
		if (rc == DB_OK && (rc = db_step(up)) == DB_DONE)
			rc = DB_OK;
		store_stmt_done(up);
		if (rc != DB_OK) {
			e = store_error(s, rc, "incident figures");
			goto out;
		}
	}

	if (out == NULL) {
		e = GA_OK; /* the caller folds them (incident_index.h) */
		goto out;
	}
	memset(&agg, 0, sizeof(agg));
	if ((rc = db_bind_text(mx, 1, incident_id, -1)) != DB_OK) {
		e = store_error(s, rc, "incident figures max");
		goto out;
	}
	while ((rc = db_step(mx)) == DB_ROW) {
		const char *name = db_column_text(mx, 0);
		int fig = name ? figure_from_name(name) : -1;
		if (fig < 0) {
			log_warnx("store: %s: incident %s has an unknown figure %s", s->path,
				  incident_id, name ? name : "(null)");
			continue;
		}
		agg.value[fig] = db_column_double(mx, 1);
		agg.set |= 1u << fig;
	}
	if (rc != DB_DONE) {
		e = store_error(s, rc, "incident figures max");
		goto out;
	}
	if (out != NULL)
		*out = agg;
	e = GA_OK;
out:
	store_stmt_done(mx);
	return e;
}
