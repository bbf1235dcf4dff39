/* store_report.c - storing accepted reports and rejected payloads, and
 * finding a report again by (station_id, report_id). */
#include <math.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

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

ga_err store_report_find_many(struct store *s, const char *const *station_ids,
			      const char *const *report_ids, int n, store_report_found_cb cb,
			      void *arg)
{
	struct db_stmt *st = s->stmt[STMT_REPORT_FIND_MANY];
	char incident_id[INCIDENT_ID_MAX];
	json_t *pairs = NULL;
	char *text = NULL;
	ga_err e = GA_ERR_DB;
	int rc;

	if ((e = store_spoiled(s)) != GA_OK)
		return e;
	if (n < 1 || n > STORE_REPORT_FIND_MANY_MAX || cb == NULL)
		return GA_ERR_INVAL;
	/* The pairs as one JSON parameter: [[station, report], ...], read
	 * back by json_each (SQLite) or json_array_elements (PostgreSQL). */
	e = GA_ERR_NOMEM;
	if ((pairs = json_array()) == NULL)
		goto out;
	for (int i = 0; i < n; i++) {
		json_t *p;
		if (station_ids[i] == NULL || report_ids[i] == NULL) {
			e = GA_ERR_INVAL;
			goto out;
		}
		/* json_string refuses text that is not UTF-8 (NULL) */
		p = json_pack("[ss]", station_ids[i], report_ids[i]);
		if (p == NULL) {
			e = GA_ERR_INVAL;
			goto out;
		}
		if (json_array_append_new(pairs, p) != 0)
			goto out;
	}
	if ((text = json_dumps(pairs, JSON_COMPACT)) == NULL)
		goto out;
	if ((rc = db_bind_text(st, 1, text, -1)) != DB_OK) {
		e = store_error(s, rc, "report find many");
		goto out;
	}
	while ((rc = db_step(st)) == DB_ROW) {
		const char *station = db_column_text(st, 0), *report = db_column_text(st, 1);
		store_column_copy(st, 2, incident_id, sizeof(incident_id));
		if (station != NULL && report != NULL)
			cb(station, report, incident_id,
			   db_column_type(st, 3) == DB_NULL ? -1 : db_column_int(st, 3), arg);
	}
	e = rc == DB_DONE ? GA_OK : store_error(s, rc, "report find many");
out:
	store_stmt_done(st);
	free(text);
	json_decref(pairs);
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
	if ((unsigned)r->kind >= KIND_REPORT_COUNT || (unsigned)r->hazard_type >= HAZARD_COUNT)
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
	/* ON CONFLICT DO NOTHING: a report already stored changes no row.
	 * PostgreSQL, in a transaction: the insert may be deferred
	 * (store_pg.c); db_changes then answers 1, and a deferred insert
	 * that changes no row fails the transaction instead (the writer's
	 * store_report_find has excluded it: store_pg.c says why). */
	e = db_changes(s->db) == 0 ? GA_ERR_DUPLICATE : GA_OK;
out:
	store_stmt_done(st);
	return e;
}

/* Bytes of a valid UTF-8 sequence at p (at most n bytes), 0 when there is
 * none (PostgreSQL's rule: no overlong forms, surrogates or code points
 * past U+10FFFF; a NUL cannot occur in a C string). */
static size_t store_utf8_len(const unsigned char *p, size_t n)
{
	size_t len;
	uint32_t c;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		len = 2, c = p[0] & 0x1f;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		len = 3, c = p[0] & 0x0f;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		len = 4, c = p[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (p[i] & 0x3f);
	}
	if ((len == 3 && c < 0x800) || (len == 4 && (c < 0x10000 || c > 0x10ffff)) ||
	    (c >= 0xd800 && c <= 0xdfff))
		return 0;
	return len;
}

/* PostgreSQL's TEXT holds valid UTF-8 only, where SQLite keeps any bytes:
 * on PostgreSQL a topic that is not valid UTF-8 is stored with each byte
 * of an invalid sequence written as \xHH (a backslash stays itself, so
 * this is a reading aid, not an encoding). *out is topic itself, or a
 * malloc'd copy to free (NULL: out of memory). */
static const char *store_topic_text(struct store *s, const char *topic, char **own)
{
	const unsigned char *p = (const unsigned char *)topic;
	size_t n = strlen(topic), k = 0, i = 0;
	bool valid = true;

	*own = NULL;
	if (db_kind(s->db) != DB_KIND_POSTGRES)
		return topic;
	for (size_t l; i < n && valid; i += l)
		valid = (l = store_utf8_len(p + i, n - i)) != 0;
	if (valid)
		return topic;
	if ((*own = malloc(4 * n + 1)) == NULL)
		return NULL;
	for (i = 0; i < n;) {
		size_t l = store_utf8_len(p + i, n - i);
		if (l == 0) {
			k += (size_t)snprintf(*own + k, 5, "\\x%02x", p[i]);
			i++;
			continue;
		}
		memcpy(*own + k, p + i, l);
		k += l;
		i += l;
	}
	(*own)[k] = '\0';
	return *own;
}

ga_err store_rejected_put(struct store *s, const char *topic, const void *raw, size_t rawlen,
			  size_t total, const unsigned char *sha256, int64_t received_ms,
			  const char *reasons_json)
{
	struct db_stmt *st = s->stmt[STMT_REJECTED_PUT];
	unsigned char own[crypto_hash_sha256_BYTES];
	char hex[crypto_hash_sha256_BYTES * 2 + 1];
	char *own_topic = NULL;
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
	if ((topic = store_topic_text(s, topic, &own_topic)) == NULL)
		return GA_ERR_NOMEM;
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
	free(own_topic);
	return e;
}

ga_err store_report_seen_since(struct store *s, int64_t since_ms, store_seen_cb cb, void *arg)
{
	/* substr from 22: after "geohazard/v1/reports/" (spec §1). */
	static const char sql[] =
	    "SELECT station_id, max(received_ms) FROM reports WHERE received_ms > ?1"
	    " GROUP BY station_id"
	    " UNION ALL SELECT substr(topic, 22), max(received_ms) FROM rejected"
	    " WHERE received_ms > ?1 AND topic LIKE 'geohazard/v1/reports/%' GROUP BY topic";
	char station[STORE_CLIENT_ID_MAX];
	struct db_stmt *st = NULL;
	ga_err e;
	int rc;

	if ((e = store_spoiled(s)) != GA_OK)
		return e;
	if ((rc = db_prepare(s->db, sql, &st)) != DB_OK)
		return store_error(s, rc, "stations seen");
	rc = db_bind_int64(st, 1, since_ms);
	while (rc == DB_OK || rc == DB_ROW) {
		if ((rc = db_step(st)) != DB_ROW)
			break;
		store_column_copy(st, 0, station, sizeof(station));
		if (station[0] && !cb(station, db_column_int64(st, 1), arg))
			break;
	}
	if (rc != DB_ROW && rc != DB_DONE)
		e = store_error(s, rc, "stations seen");
	db_finalize(st);
	return e;
}
