/* store_report.c - storing accepted reports and rejected payloads, and
 * finding a report again by (station_id, report_id). */
#include <math.h>
#include <sodium.h>
#include <string.h>

#include "log.h"
#include "store.h"
#include "store_internal.h"

ga_err store_report_find(struct store *s, const char *station_id, const char *report_id,
			 char incident_id[INCIDENT_ID_MAX], int *level)
{
	struct db_stmt *st = s->stmt[STMT_REPORT_FIND];
	ga_err e = GA_ERR_DB;
	int rc;

	if ((e = store_spoiled(s)) != GA_OK)
		return e;
	if (station_id == NULL || report_id == NULL)
		return GA_ERR_INVAL;
	if ((rc = db_bind_text(st, 1, station_id, -1)) == DB_OK)
		rc = db_bind_text(st, 2, report_id, -1);
	if ((e = store_step_row(s, st, rc, "report find")) != GA_OK)
		goto out;
	if (incident_id != NULL)
		store_column_copy(st, 0, incident_id, INCIDENT_ID_MAX);
	if (level != NULL)
		*level = db_column_type(st, 1) == DB_NULL ? -1 : db_column_int(st, 1);
	e = GA_OK;
out:
	store_stmt_done(st);
	return e;
}

static int store_bind_real_or_null(struct db_stmt *st, int i, bool has, double v)
{
	if (!has || !isfinite(v))
		return db_bind_null(st, i);
	return db_bind_double(st, i, v);
}

/* Binds raw bytes as a BLOB: never NULL (an empty payload is a zero-length
 * blob), any content. */
static int store_bind_raw(struct db_stmt *st, int i, const void *raw, size_t rawlen)
{
	if (raw == NULL || rawlen == 0)
		return db_bind_blob(st, i, "", 0);
	return db_bind_blob(st, i, raw, rawlen);
}

ga_err store_report_put(struct store *s, const struct report *r, const char *topic, const void *raw,
			size_t rawlen, int64_t received_ms, const char *incident_id,
			enum level level)
{
	struct db_stmt *st = s->stmt[STMT_REPORT_PUT];
	ga_err e = GA_ERR_DB;
	int rc = DB_OK;

	if ((e = store_spoiled(s)) != GA_OK)
		return e;
	if (r == NULL || r->station_id == NULL || r->report_id == NULL)
		return GA_ERR_INVAL;
	if ((unsigned)r->kind >= KIND_COUNT || (unsigned)r->hazard_type >= HAZARD_COUNT)
		return GA_ERR_INVAL;

	STORE_BIND(rc, db_bind_text(st, 1, r->station_id, -1));
	STORE_BIND(rc, db_bind_text(st, 2, r->report_id, -1));
	STORE_BIND(rc, db_bind_text(st, 3, topic ? topic : "", -1));
	STORE_BIND(rc, store_bind_raw(st, 4, raw, rawlen));
	STORE_BIND(rc, db_bind_int64(st, 5, received_ms));
	STORE_BIND(rc, db_bind_int64(st, 6, r->observed_at_ms));
	STORE_BIND(rc, db_bind_int(st, 7, r->observed_offset_min));
	STORE_BIND(rc, db_bind_text(st, 8, kind_name(r->kind), -1));
	STORE_BIND(rc, db_bind_text(st, 9, hazard_type_name(r->hazard_type), -1));
	STORE_BIND(rc, store_bind_real_or_null(st, 10, r->has_point, r->lon));
	STORE_BIND(rc, store_bind_real_or_null(st, 11, r->has_point, r->lat));
	STORE_BIND(rc, db_bind_text(st, 12, r->admin_code, -1));
	STORE_BIND(rc, db_bind_text(st, 13, r->hazard_point_id, -1));
	STORE_BIND(rc, store_bind_text(st, 14, r->place, false));
	STORE_BIND(rc, store_bind_text(st, 15, r->causes, false));
	STORE_BIND(rc, store_bind_text(st, 16, r->trend, false));
	STORE_BIND(rc, store_bind_text(st, 17, r->measures, false));
	STORE_BIND(rc, store_bind_real_or_null(st, 18, r->has_volume, r->volume_m3));
	STORE_BIND(rc, store_bind_real_or_null(st, 19, r->has_area, r->area_m2));
	STORE_BIND(rc, store_bind_text(st, 20, incident_id, true));
	if ((int)level >= 0 && level < LEVEL_COUNT)
		STORE_BIND(rc, db_bind_int(st, 21, (int)level));
	STORE_BIND(rc, store_bind_figures(st, 22, &r->figures)); /* 22..28 */
	STORE_BIND(rc, db_bind_text(st, 29, r->admin_name, -1));
	if (rc != DB_OK) {
		e = store_error(s, rc, "report put: bind");
		goto out;
	}
	rc = db_step(st);
	if (rc != DB_DONE) {
		e = store_error(s, rc, "report put");
		goto out;
	}
	e = GA_OK;
out:
	store_stmt_done(st);
	return e;
}

ga_err store_rejected_put(struct store *s, const char *topic, const void *raw, size_t rawlen,
			  size_t total, const unsigned char *sha256, int64_t received_ms,
			  const char *reasons_json)
{
	struct db_stmt *st = s->stmt[STMT_REJECTED_PUT];
	unsigned char own[crypto_hash_sha256_BYTES];
	char hex[crypto_hash_sha256_BYTES * 2 + 1];
	ga_err e = GA_ERR_DB;
	int rc = DB_OK;

	if (raw == NULL)
		rawlen = 0;
	if (total < rawlen || (sha256 == NULL && total != rawlen))
		return GA_ERR_INVAL;
	if (sha256 == NULL) {
		crypto_hash_sha256(own, raw != NULL ? raw : (const void *)"", rawlen);
		sha256 = own;
	}
	sodium_bin2hex(hex, sizeof(hex), sha256, crypto_hash_sha256_BYTES);
	if (rawlen > STORE_REJECTED_RAW_MAX)
		rawlen = STORE_REJECTED_RAW_MAX;

	/* The topic comes off the wire: bound by length, stored as is, even
	 * when it is not valid UTF-8. */
	if ((e = store_spoiled(s)) != GA_OK)
		return e;
	if (topic == NULL)
		topic = "";
	if (reasons_json == NULL)
		reasons_json = "[]";
	rc = db_bind_text(st, 1, topic, -1);
	if (rc == DB_OK)
		rc = store_bind_raw(st, 2, raw, rawlen);
	if (rc == DB_OK)
		rc = db_bind_int64(st, 3, received_ms);
	if (rc == DB_OK)
		rc = db_bind_text(st, 4, reasons_json, -1);
	if (rc == DB_OK)
		rc = db_bind_int64(st, 5, (int64_t)total);
	if (rc == DB_OK)
		rc = db_bind_text(st, 6, hex, -1);
	if (rc != DB_OK) {
		e = store_error(s, rc, "rejected put: bind");
		goto out;
	}
	rc = db_step(st);
	if (rc != DB_DONE) {
		e = store_error(s, rc, "rejected put");
		goto out;
	}
	e = GA_OK;
out:
	store_stmt_done(st);
	return e;
}
