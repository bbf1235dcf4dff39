/* report_check.c - the field rules of a station report (spec §2). Every
 * rule is checked and every failure recorded, so a station learns all
 * that is wrong with a report from one receipt. */
#include "report_check.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "text.h"
#include "timeutil.h"

#define REPORT_INCIDENT_ID_MAX 31
#define REPORT_CRS_DIGITS_MAX 6 /* "EPSG:" + up to 6 digits */
#define REPORT_GEO_ERR_MAX 256

/* Returns the member or NULL; a JSON null counts as present (wrong type). */
static json_t *report_member(const json_t *obj, const char *key)
{
	return json_object_get(obj, key);
}

/* Characters in the first n bytes of s. */
static size_t report_utf8_chars_n(const char *s, size_t n)
{
	size_t c = 0;

	for (size_t i = 0; i < n && s[i]; i++)
		if (((unsigned char)s[i] & 0xC0) != 0x80)
			c++;
	return c;
}

static bool report_id_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == ':' || c == '-';
}

/* Checks an identifier of 1..REPORT_ID_MAX characters of the report_id
 * charset; returns true when valid. */
static bool report_check_id(const char *s, const char *path, struct report_errors *errs)
{
	size_t len = strlen(s);

	if (len == 0 || len > REPORT_ID_MAX) {
		report_errors_add(errs, path, "length", "must be 1 to %d characters",
				  REPORT_ID_MAX);
		return false;
	}
	for (size_t i = 0; i < len; i++) {
		if (!report_id_char(s[i])) {
			report_errors_add(errs, path, "format",
					  "may contain only A-Z a-z 0-9 . _ : -");
			return false;
		}
	}
	return true;
}

const char *report_string(const json_t *obj, const char *key, const char *path, bool required,
			  struct report_errors *errs)
{
	json_t *v = report_member(obj, key);

	if (v == NULL) {
		if (required)
			report_errors_add(errs, path, "required", "is required");
		return NULL;
	}
	if (!json_is_string(v)) {
		report_errors_add(errs, path, "type", "must be a string");
		return NULL;
	}
	return json_string_value(v);
}

/* An optional free text of at most max characters (code points). */
static const char *report_text(const json_t *root, const char *key, size_t max,
			       struct report_errors *errs)
{
	char path[64];
	const char *s;
	long at;

	snprintf(path, sizeof(path), "/%s", key);
	s = report_string(root, key, path, false, errs);
	if (s != NULL && text_chars(s) > max) {
		report_errors_add(errs, path, "length", "must be at most %zu characters", max);
		return NULL;
	}
	if (s != NULL && (at = text_bidi_find(s)) >= 0) {
		const unsigned char *c = (const unsigned char *)s + at;
		report_errors_add(errs, path, "bidi",
				  "must not contain the bidirectional control U+%04X (character "
				  "%zu): it can make the text display reversed",
				  ((c[1] & 0x3Fu) << 6 | (c[2] & 0x3Fu)) | 0x2000u,
				  report_utf8_chars_n(s, (size_t)at) + 1);
		return NULL;
	}
	return s;
}

/* "must be one of: a, b, c" from a name function over n values. */
static void report_enum_error(struct report_errors *errs, const char *path,
			      const char *(*name)(int), int n)
{
	char list[256];
	size_t off = 0;

	list[0] = '\0';
	for (int i = 0; i < n && off < sizeof(list); i++) {
		int w = snprintf(list + off, sizeof(list) - off, "%s%s", i ? ", " : "", name(i));
		if (w < 0)
			break;
		off += (size_t)w;
	}
	report_errors_add(errs, path, "enum", "must be one of: %s", list);
}

static const char *report_kind_name(int i)
{
	return kind_name((enum kind)i);
}

static const char *report_hazard_name(int i)
{
	return hazard_type_name((enum hazard_type)i);
}

/* A number member that must be finite, non-negative and at most max;
 * count: integral. Returns true and sets *val when valid. */
static bool report_number(const json_t *v, const char *path, bool count, double max, double *val,
			  struct report_errors *errs)
{
	double d;

	if (!json_is_number(v)) {
		report_errors_add(errs, path, "type", "must be a number");
		return false;
	}
	d = json_number_value(v);
	if (!isfinite(d)) {
		report_errors_add(errs, path, "range", "must be a finite number");
		return false;
	}
	if (d < 0) {
		report_errors_add(errs, path, "range", "must not be negative");
		return false;
	}
	if (d > max) {
		report_errors_add(errs, path, "range", "must be at most %.0f", max);
		return false;
	}
	if (count && floor(d) != d) {
		report_errors_add(errs, path, "integer", "must be a whole number");
		return false;
	}
	*val = d;
	return true;
}

static void report_check_figures(const json_t *root, struct report *out, struct report_errors *errs)
{
	json_t *figs = report_member(root, "figures");
	char path[64];

	if (figs == NULL)
		return;
	if (!json_is_object(figs)) {
		report_errors_add(errs, "/figures", "type", "must be an object");
		return;
	}
	/* Unknown figure keys are ignored (kept in the raw report). */
	for (int i = 0; i < FIG_COUNT; i++) {
		json_t *v = json_object_get(figs, figure_name((enum figure)i));
		double d;
		if (v == NULL)
			continue;
		snprintf(path, sizeof(path), "/figures/%s", figure_name((enum figure)i));
		bool count = figure_is_count((enum figure)i);
		if (report_number(v, path, count, count ? REPORT_PEOPLE_MAX : REPORT_CNY_MAX, &d,
				  errs)) {
			out->figures.value[i] = d;
			out->figures.set |= 1u << i;
		}
	}
}

static void report_check_scale(const json_t *root, struct report *out, struct report_errors *errs)
{
	json_t *scale = report_member(root, "scale");
	json_t *v;

	if (scale == NULL)
		return;
	if (!json_is_object(scale)) {
		report_errors_add(errs, "/scale", "type", "must be an object");
		return;
	}
	if ((v = json_object_get(scale, "volume_m3")) != NULL)
		out->has_volume = report_number(v, "/scale/volume_m3", false, REPORT_VOLUME_M3_MAX,
						&out->volume_m3, errs);
	if ((v = json_object_get(scale, "area_m2")) != NULL)
		out->has_area = report_number(v, "/scale/area_m2", false, REPORT_AREA_M2_MAX,
					      &out->area_m2, errs);
}

static void report_check_reporter(const json_t *root, struct report_errors *errs)
{
	json_t *rep = report_member(root, "reporter");

	if (rep == NULL)
		return;
	if (!json_is_object(rep)) {
		report_errors_add(errs, "/reporter", "type", "must be an object");
		return;
	}
	/* Private: kept only in the raw report, so only the types matter. */
	report_string(rep, "name", "/reporter/name", false, errs);
	report_string(rep, "phone", "/reporter/phone", false, errs);
}

static void report_check_incident(const json_t *root, struct report *out,
				  struct report_errors *errs)
{
	const char *s = report_string(root, "incident_id", "/incident_id", false, errs);
	size_t len;

	if (s == NULL)
		return;
	len = strlen(s);
	if (len == 0 || len > REPORT_INCIDENT_ID_MAX ||
	    strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-") != len) {
		report_errors_add(errs, "/incident_id", "format",
				  "must be 1 to %d characters of A-Z a-z 0-9 -",
				  REPORT_INCIDENT_ID_MAX);
		return;
	}
	out->incident_id = s;
}

static bool report_crs_valid(const char *s)
{
	size_t digits;

	if (strncmp(s, "EPSG:", 5) != 0)
		return false;
	digits = strspn(s + 5, "0123456789");
	return digits >= 1 && digits <= REPORT_CRS_DIGITS_MAX && s[5 + digits] == '\0';
}

static void report_fill_region(struct report *out, const struct region *r)
{
	snprintf(out->admin_code, sizeof(out->admin_code), "%s", r->admin_code);
	snprintf(out->admin_name, sizeof(out->admin_name), "%s", r->full_name);
}

/* Transforms and places a location given in the report (ctx->geo set). */
static void report_locate_geo(const struct report_context *ctx, struct report *out,
			      struct report_errors *errs)
{
	char err[REPORT_GEO_ERR_MAX] = "";
	const struct region *r;
	ga_err rc;

	unsigned warn = 0;
	rc = geo_transform(ctx->geo, out->crs, out->x, out->y, &out->lon, &out->lat, &warn, err,
			   sizeof(err));
	out->warnings |= warn; /* REPORT_WARN_OLD may be set already */
	if (rc == GA_ERR_INVAL) {
		report_errors_add(errs, "/location/crs", "crs", "%s",
				  err[0] ? err : "unknown coordinate reference system");
		return;
	}
	if (rc != GA_OK) {
		report_errors_add(errs, "/location/coordinates", "transform", "%s",
				  err[0] ? err : "the point does not transform");
		return;
	}
	r = geo_region_at(ctx->geo, out->lon, out->lat);
	if (r == NULL) {
		report_errors_add(errs, "/location/coordinates", "outside_area",
				  "outside every known region");
		return;
	}
	if (!geo_in_service_area(ctx->geo, r->admin_code)) {
		report_errors_add(errs, "/location/coordinates", "outside_area",
				  "outside the service area: %s", r->full_name);
		return;
	}
	report_fill_region(out, r);
	out->has_point = true;
}

/* Without geo: geographic CRSs are range-checked and taken as lon/lat;
 * projected ones are kept as given. */
static void report_locate_plain(struct report *out, struct report_errors *errs)
{
	if (strcmp(out->crs, "EPSG:4490") != 0 && strcmp(out->crs, "EPSG:4326") != 0)
		return;
	bool ok = true;
	if (out->x < -180 || out->x > 180) {
		report_errors_add(errs, "/location/coordinates/0", "range",
				  "longitude must be between -180 and 180");
		ok = false;
	}
	if (out->y < -90 || out->y > 90) {
		report_errors_add(errs, "/location/coordinates/1", "range",
				  "latitude must be between -90 and 90");
		ok = false;
	}
	if (ok) {
		out->lon = out->x;
		out->lat = out->y;
		out->has_point = true;
	}
}

/* Reads the location object; returns true when a well-formed location
 * was given (out->crs, x, y set). */
static bool report_check_location(const json_t *root, struct report *out,
				  struct report_errors *errs)
{
	json_t *loc = report_member(root, "location");
	json_t *coords;
	const char *crs;
	bool ok = true;

	if (loc == NULL)
		return false;
	out->has_location = true;
	if (!json_is_object(loc)) {
		report_errors_add(errs, "/location", "type", "must be an object");
		return false;
	}
	crs = report_string(loc, "crs", "/location/crs", false, errs);
	if (json_object_get(loc, "crs") != NULL && crs == NULL)
		ok = false;
	if (crs != NULL) {
		if (!report_crs_valid(crs)) {
			report_errors_add(errs, "/location/crs", "format",
					  "must be \"EPSG:n\", e.g. EPSG:4490");
			ok = false;
		} else {
			snprintf(out->crs, sizeof(out->crs), "%s", crs);
		}
	}
	coords = json_object_get(loc, "coordinates");
	if (coords == NULL) {
		report_errors_add(errs, "/location/coordinates", "required", "is required");
		return false;
	}
	if (!json_is_array(coords)) {
		report_errors_add(errs, "/location/coordinates", "type", "must be an array");
		return false;
	}
	if (json_array_size(coords) != 2) {
		report_errors_add(errs, "/location/coordinates", "length",
				  "must hold exactly 2 numbers [x, y]");
		return false;
	}
	double xy[2];
	for (size_t i = 0; i < 2; i++) {
		json_t *v = json_array_get(coords, i);
		char path[64];
		snprintf(path, sizeof(path), "/location/coordinates/%zu", i);
		if (!json_is_number(v)) {
			report_errors_add(errs, path, "type", "must be a number");
			ok = false;
			continue;
		}
		xy[i] = json_number_value(v);
		if (!isfinite(xy[i])) {
			report_errors_add(errs, path, "range", "must be a finite number");
			ok = false;
		}
	}
	if (!ok)
		return false;
	out->x = xy[0];
	out->y = xy[1];
	return true;
}

/* Region of a station's registered point. The station's own position
 * outside the service area is not the report's fault: no error, the
 * admin fields then come from the station's declared admin_code. */
static void report_station_region(const struct report_context *ctx, const struct station *st,
				  struct report *out)
{
	const struct region *r = geo_region_at(ctx->geo, st->lon, st->lat);

	if (r == NULL || !geo_in_service_area(ctx->geo, r->admin_code)) {
		const struct region *byc = geo_region_by_code(ctx->geo, st->admin_code);
		if (byc != NULL)
			r = byc;
	}
	if (r != NULL) {
		report_fill_region(out, r);
	} else {
		snprintf(out->admin_code, sizeof(out->admin_code), "%s", st->admin_code);
		out->admin_name[0] = '\0';
	}
}

static void report_check_time(const struct report_context *ctx, const json_t *root,
			      struct report *out, struct report_errors *errs)
{
	const char *s = report_string(root, "observed_at", "/observed_at", true, errs);

	if (s == NULL)
		return;
	if (time_parse_rfc3339(s, &out->observed_at_ms, &out->observed_offset_min) != GA_OK) {
		report_errors_add(errs, "/observed_at", "format",
				  "must be RFC 3339 with an offset, e.g. "
				  "2026-11-26T14:52:00+08:00");
		return;
	}
	if (out->observed_at_ms > ctx->now_ms + REPORT_FUTURE_MS)
		report_errors_add(errs, "/observed_at", "future",
				  "is more than %d minutes in the future",
				  REPORT_FUTURE_MS / 60000);
	/* Far in the past is no reason to refuse (a station that was cut
	 * off uploads late; the report still counts), but it is flagged in
	 * the receipt and in /metrics. */
	int64_t max_age = ctx->max_age_ms != 0 ? ctx->max_age_ms : REPORT_MAX_AGE_MS;
	if (max_age > 0 && ctx->now_ms - out->observed_at_ms > max_age)
		out->warnings |= REPORT_WARN_OLD;
}

/* Checks station_id; returns the registry entry when there is one. */
static const struct station *report_check_station(const struct report_context *ctx,
						  const json_t *root, struct report *out,
						  struct report_errors *errs)
{
	const char *s = report_string(root, "station_id", "/station_id", true, errs);
	const struct station *st = NULL;

	if (s == NULL || !report_check_id(s, "/station_id", errs))
		return NULL;
	out->station_id = s;
	if (ctx->topic_station != NULL && strcmp(ctx->topic_station, s) != 0)
		report_errors_add(errs, "/station_id", "station_mismatch",
				  "does not match the topic's station");
	if (ctx->registry != NULL) {
		st = registry_find(ctx->registry, s);
		if (st == NULL)
			report_errors_add(errs, "/station_id", "unknown_station",
					  "is not in the station registry");
	} else if (ctx->stations_required) {
		report_errors_add(errs, "/station_id", "unknown_station",
				  "is not in the station registry (none is configured)");
	}
	return st;
}

ga_err report_check_fields(const struct report_context *ctx, struct report *out,
			   struct report_errors *errs)
{
	const json_t *root = out->root;
	const struct station *st;
	const char *s;
	bool kind_ok = false;
	int e;

	s = report_string(root, "schema", "/schema", true, errs);
	if (s != NULL && strcmp(s, REPORT_SCHEMA) != 0)
		report_errors_add(errs, "/schema", "enum", "must be \"%s\"", REPORT_SCHEMA);

	/* The receipt echoes report_id even when the report is rejected; a
	 * string longer than the cap is not echoed. */
	s = report_string(root, "report_id", "/report_id", true, errs);
	if (s != NULL) {
		if (strlen(s) <= REPORT_ID_MAX)
			out->report_id = s;
		report_check_id(s, "/report_id", errs);
	}

	st = report_check_station(ctx, root, out, errs);

	s = report_string(root, "kind", "/kind", true, errs);
	if (s != NULL) {
		/* A warning is made from devices' readings, never reported. */
		if ((e = kind_from_name(s)) < 0 || e >= KIND_REPORT_COUNT) {
			report_enum_error(errs, "/kind", report_kind_name, KIND_REPORT_COUNT);
		} else {
			out->kind = (enum kind)e;
			kind_ok = true;
		}
	}
	s = report_string(root, "hazard_type", "/hazard_type", true, errs);
	if (s != NULL) {
		if ((e = hazard_type_from_name(s)) < 0)
			report_enum_error(errs, "/hazard_type", report_hazard_name, HAZARD_COUNT);
		else
			out->hazard_type = (enum hazard_type)e;
	}

	report_check_time(ctx, root, out, errs);

	if (report_check_location(root, out, errs)) {
		if (ctx->geo != NULL)
			report_locate_geo(ctx, out, errs);
		else
			report_locate_plain(out, errs);
	}
	if (!out->has_location && st != NULL && ctx->geo != NULL)
		report_station_region(ctx, st, out);
	if (!out->has_point && st != NULL && (!out->has_location || ctx->geo == NULL)) {
		out->lon = st->lon;
		out->lat = st->lat;
		out->has_point = true;
	}

	out->place = report_text(root, "place", REPORT_PLACE_MAX, errs);
	report_check_figures(root, out, errs);
	report_check_scale(root, out, errs);
	out->causes = report_text(root, "causes", REPORT_TEXT_MAX, errs);
	out->trend = report_text(root, "trend", REPORT_TEXT_MAX, errs);
	out->measures = report_text(root, "measures", REPORT_TEXT_MAX, errs);
	report_check_incident(root, out, errs);
	report_check_reporter(root, errs);

	if (st != NULL) {
		snprintf(out->hazard_point_id, sizeof(out->hazard_point_id), "%s",
			 st->hazard_point_id);
		if (kind_ok && out->kind == KIND_DANGER) {
			struct figures *f = &out->figures;
			if (!(f->set & (1u << FIG_THREATENED_PEOPLE))) {
				f->value[FIG_THREATENED_PEOPLE] = st->threatened_people;
				f->set |= 1u << FIG_THREATENED_PEOPLE;
			}
			if (!(f->set & (1u << FIG_THREATENED_PROPERTY_CNY))) {
				f->value[FIG_THREATENED_PROPERTY_CNY] = st->threatened_property_cny;
				f->set |= 1u << FIG_THREATENED_PROPERTY_CNY;
			}
		}
	}
	return GA_OK;
}
