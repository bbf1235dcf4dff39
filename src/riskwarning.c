/* riskwarning.c - the rules of a regional risk warning product (spec §11).
 * Every rule is checked and every failure recorded at its JSON Pointer;
 * the cheap checks before the parser (bytes, encoding, depth) are the
 * reports' (report_json_load). */
#include "riskwarning.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"
#include "timeutil.h"

#define RISKWARNING_PATH_MAX 64

static const struct {
	const char *name, *zh, *meaning, *severity;
} riskwarning_levels[RISKWARNING_LEVEL_COUNT] = {
    {"red", "一级（红色）", "风险很高", "Extreme"},
    {"orange", "二级（橙色）", "风险高", "Severe"},
    {"yellow", "三级（黄色）", "风险较高", "Moderate"},
    {"blue", "四级（蓝色）", "有一定风险", "Minor"},
};

const char *riskwarning_level_name(enum riskwarning_level l)
{
	return (unsigned)l < RISKWARNING_LEVEL_COUNT ? riskwarning_levels[l].name : NULL;
}

const char *riskwarning_level_zh(enum riskwarning_level l)
{
	return (unsigned)l < RISKWARNING_LEVEL_COUNT ? riskwarning_levels[l].zh : NULL;
}

const char *riskwarning_level_meaning(enum riskwarning_level l)
{
	return (unsigned)l < RISKWARNING_LEVEL_COUNT ? riskwarning_levels[l].meaning : NULL;
}

const char *riskwarning_level_cap_severity(enum riskwarning_level l)
{
	return (unsigned)l < RISKWARNING_LEVEL_COUNT ? riskwarning_levels[l].severity : NULL;
}

int riskwarning_level_from_name(const char *name)
{
	for (int i = 0; name != NULL && i < RISKWARNING_LEVEL_COUNT; i++)
		if (strcmp(name, riskwarning_levels[i].name) == 0)
			return i;
	return -1;
}

bool riskwarning_level_public(enum riskwarning_level l, enum riskwarning_level min)
{
	return (unsigned)l < RISKWARNING_LEVEL_COUNT && l <= min;
}

/* A text of 1..max characters without a bidirectional embedding,
 * override or isolate (text.h: they would make a published text read
 * otherwise than it displays). NULL when invalid (error recorded). */
static const char *riskwarning_text(const char *s, const char *path, size_t max,
				    struct report_errors *errs)
{
	size_t n;

	if (s == NULL)
		return NULL;
	n = text_chars(s);
	if (n == 0 || n > max) {
		report_errors_add(errs, path, "length", "must be 1 to %zu characters", max);
		return NULL;
	}
	if (text_bidi_find(s) >= 0) {
		report_errors_add(errs, path, "bidi",
				  "must not contain a bidirectional embedding, override or "
				  "isolate (U+202A..U+202E, U+2066..U+2069)");
		return NULL;
	}
	return s;
}

static bool riskwarning_time(const json_t *root, const char *key, int64_t *ms, int *off,
			     struct report_errors *errs)
{
	char path[RISKWARNING_PATH_MAX];
	const char *s;

	snprintf(path, sizeof(path), "/%s", key);
	s = report_string(root, key, path, true, errs);
	if (s == NULL)
		return false;
	if (time_parse_rfc3339(s, ms, off) != GA_OK) {
		report_errors_add(
		    errs, path, "format",
		    "must be RFC 3339 with an offset, e.g. 2026-12-07T20:00:00+08:00");
		return false;
	}
	return true;
}

static void riskwarning_check_times(const struct riskwarning_context *ctx, const json_t *root,
				    struct riskwarning *out, struct report_errors *errs)
{
	bool issued =
	    riskwarning_time(root, "issued_at", &out->issued_at_ms, &out->issued_offset_min, errs);
	bool from = riskwarning_time(root, "valid_from", &out->valid_from_ms,
				     &out->valid_from_offset_min, errs);
	bool to =
	    riskwarning_time(root, "valid_to", &out->valid_to_ms, &out->valid_to_offset_min, errs);

	if (issued && ctx->now_ms != 0 && out->issued_at_ms > ctx->now_ms + RISKWARNING_FUTURE_MS)
		report_errors_add(errs, "/issued_at", "future",
				  "is more than %d minutes in the future",
				  RISKWARNING_FUTURE_MS / 60000);
	if (from && to) {
		if (out->valid_to_ms <= out->valid_from_ms)
			report_errors_add(errs, "/valid_to", "order", "must be after valid_from");
		else if (out->valid_to_ms - out->valid_from_ms > RISKWARNING_MAX_PERIOD_MS)
			report_errors_add(errs, "/valid_to", "range",
					  "must be at most %lld hours after valid_from",
					  RISKWARNING_MAX_PERIOD_MS / 3600000);
	}
	/* A product that has already expired would be published only to be
	 * withdrawn at once; the forecasting system must hear that. */
	if (to && ctx->now_ms != 0 && out->valid_to_ms <= ctx->now_ms)
		report_errors_add(errs, "/valid_to", "expired", "is already past");
}

static void riskwarning_check_issuers(const json_t *root, struct report_errors *errs)
{
	json_t *arr = json_object_get(root, "issuers");
	char path[RISKWARNING_PATH_MAX];
	size_t i;
	json_t *v;

	if (arr == NULL) {
		report_errors_add(errs, "/issuers", "required", "is required");
		return;
	}
	if (!json_is_array(arr)) {
		report_errors_add(errs, "/issuers", "type", "must be an array of strings");
		return;
	}
	if (json_array_size(arr) == 0) {
		report_errors_add(errs, "/issuers", "empty", "must name at least one issuer");
		return;
	}
	if (json_array_size(arr) > RISKWARNING_MAX_ISSUERS) {
		report_errors_add(errs, "/issuers", "too_many", "must have at most %d entries",
				  RISKWARNING_MAX_ISSUERS);
		return;
	}
	json_array_foreach(arr, i, v)
	{
		snprintf(path, sizeof(path), "/issuers/%zu", i);
		if (!json_is_string(v))
			report_errors_add(errs, path, "type", "must be a string");
		else
			riskwarning_text(json_string_value(v), path, RISKWARNING_ISSUER_MAX, errs);
	}
}

/* Where each county came from while the areas are walked. */
struct riskwarning_seen {
	char admin_code[GEO_CODE_LEN];
	int level; /* -1 when its area's level is invalid */
	size_t area, code;
};

struct riskwarning_walk {
	const struct riskwarning_context *ctx;
	struct riskwarning_seen seen[RISKWARNING_MAX_COUNTIES];
	int nseen;
	bool full; /* the county cap was passed: stop adding */
	struct report_errors *errs;
};

static bool riskwarning_digits(const char *s, size_t n)
{
	if (strlen(s) != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/* Adds one county at level (-1: unknown level, only counted); a county
 * already at another level is the "conflict" error at path. */
static void riskwarning_add_county(struct riskwarning_walk *w, const struct region *r, int level,
				   size_t area, size_t code, const char *path)
{
	for (int i = 0; i < w->nseen; i++) {
		struct riskwarning_seen *s = &w->seen[i];

		if (strcmp(s->admin_code, r->admin_code) != 0)
			continue;
		if (s->level >= 0 && level >= 0 && s->level != level)
			report_errors_add(w->errs, path, "conflict",
					  "county %s (%s) is already at level %s "
					  "(/areas/%zu/admin_codes/%zu); a county may be "
					  "in one level only",
					  r->admin_code, r->name,
					  riskwarning_level_name((enum riskwarning_level)s->level),
					  s->area, s->code);
		return;
	}
	if (w->nseen >= RISKWARNING_MAX_COUNTIES) {
		if (!w->full)
			report_errors_add(w->errs, path, "too_many",
					  "more than %d counties in the product",
					  RISKWARNING_MAX_COUNTIES);
		w->full = true;
		return;
	}
	struct riskwarning_seen *s = &w->seen[w->nseen++];
	snprintf(s->admin_code, sizeof(s->admin_code), "%s", r->admin_code);
	s->level = level;
	s->area = area;
	s->code = code;
}

/* One admin code: a 6-digit county, or a 4-digit city meaning all of
 * its counties inside the service area. */
static void riskwarning_check_code(struct riskwarning_walk *w, const char *code, int level,
				   size_t area, size_t idx, const char *path)
{
	const struct geo *g = w->ctx->geo;

	if (riskwarning_digits(code, 6)) {
		const struct region *r;

		if (g == NULL)
			return;
		r = geo_region_by_code(g, code);
		if (r == NULL) {
			report_errors_add(w->errs, path, "unknown",
					  "%s is not a county of the regions file", code);
		} else if (!geo_in_service_area(g, code)) {
			report_errors_add(w->errs, path, "outside",
					  "county %s (%s) is outside the service area", code,
					  r->name);
		} else {
			riskwarning_add_county(w, r, level, area, idx, path);
		}
		return;
	}
	if (!riskwarning_digits(code, 4)) {
		report_errors_add(w->errs, path, "format",
				  "must be a 6-digit county code or a 4-digit city code "
				  "(GB/T 2260)");
		return;
	}
	if (g == NULL)
		return;
	size_t n = geo_region_count(g), under = 0, inside = 0;
	for (size_t i = 0; i < n && !w->full; i++) {
		const struct region *r = geo_region_get(g, i);

		if (strncmp(r->admin_code, code, 4) != 0)
			continue;
		under++;
		if (!geo_in_service_area(g, r->admin_code))
			continue;
		inside++;
		riskwarning_add_county(w, r, level, area, idx, path);
	}
	if (under == 0)
		report_errors_add(w->errs, path, "unknown",
				  "no county of the regions file is under city code %s", code);
	else if (inside == 0)
		report_errors_add(w->errs, path, "outside", "city %s is outside the service area",
				  code);
}

static void riskwarning_check_area(struct riskwarning_walk *w, const json_t *area, size_t ai,
				   size_t *ncodes)
{
	struct report_errors *errs = w->errs;
	char path[RISKWARNING_PATH_MAX];
	const char *s;
	json_t *codes, *v;
	int level = -1;
	size_t j;

	snprintf(path, sizeof(path), "/areas/%zu", ai);
	if (!json_is_object(area)) {
		report_errors_add(errs, path, "type", "must be an object");
		return;
	}
	snprintf(path, sizeof(path), "/areas/%zu/level", ai);
	s = report_string(area, "level", path, true, errs);
	if (s != NULL && (level = riskwarning_level_from_name(s)) < 0)
		report_errors_add(errs, path, "enum", "must be one of: red, orange, yellow, blue");

	snprintf(path, sizeof(path), "/areas/%zu/admin_codes", ai);
	codes = json_object_get(area, "admin_codes");
	if (codes == NULL) {
		report_errors_add(errs, path, "required", "is required");
		return;
	}
	if (!json_is_array(codes)) {
		report_errors_add(errs, path, "type", "must be an array of strings");
		return;
	}
	if (json_array_size(codes) == 0) {
		report_errors_add(errs, path, "empty", "must name at least one county or city");
		return;
	}
	if (*ncodes + json_array_size(codes) > RISKWARNING_MAX_CODES) {
		report_errors_add(errs, path, "too_many", "more than %d admin codes in the product",
				  RISKWARNING_MAX_CODES);
		*ncodes = RISKWARNING_MAX_CODES + 1;
		return;
	}
	*ncodes += json_array_size(codes);
	json_array_foreach(codes, j, v)
	{
		snprintf(path, sizeof(path), "/areas/%zu/admin_codes/%zu", ai, j);
		if (!json_is_string(v))
			report_errors_add(errs, path, "type", "must be a string");
		else
			riskwarning_check_code(w, json_string_value(v), level, ai, j, path);
	}
}

static int riskwarning_county_cmp(const void *a, const void *b)
{
	const struct riskwarning_county *x = a, *y = b;

	if (x->level != y->level)
		return x->level < y->level ? -1 : 1;
	return strcmp(x->admin_code, y->admin_code);
}

static ga_err riskwarning_check_areas(const struct riskwarning_context *ctx, const json_t *root,
				      struct riskwarning *out, struct report_errors *errs)
{
	json_t *arr = json_object_get(root, "areas");
	struct riskwarning_walk *w = NULL;
	size_t i, ncodes = 0;
	json_t *v;
	ga_err rc = GA_ERR_NOMEM;

	if (arr == NULL) {
		report_errors_add(errs, "/areas", "required", "is required");
		return GA_OK;
	}
	if (!json_is_array(arr)) {
		report_errors_add(errs, "/areas", "type", "must be an array of objects");
		return GA_OK;
	}
	if (json_array_size(arr) == 0) {
		report_errors_add(errs, "/areas", "empty", "must name at least one area");
		return GA_OK;
	}
	if (json_array_size(arr) > RISKWARNING_MAX_AREAS) {
		report_errors_add(errs, "/areas", "too_many", "must have at most %d entries",
				  RISKWARNING_MAX_AREAS);
		return GA_OK;
	}
	/* ~10 KiB: on the heap, the MQTT threads' stacks are not large. */
	w = calloc(1, sizeof(*w));
	if (w == NULL)
		goto out;
	w->ctx = ctx;
	w->errs = errs;
	json_array_foreach(arr, i, v)
	{
		if (ncodes > RISKWARNING_MAX_CODES)
			break;
		riskwarning_check_area(w, v, i, &ncodes);
	}
	out->ncounties = 0;
	for (int k = 0; k < w->nseen; k++) {
		if (w->seen[k].level < 0)
			continue;
		struct riskwarning_county *c = &out->counties[out->ncounties++];
		snprintf(c->admin_code, sizeof(c->admin_code), "%s", w->seen[k].admin_code);
		c->level = (enum riskwarning_level)w->seen[k].level;
		out->nlevel[c->level]++;
	}
	qsort(out->counties, (size_t)out->ncounties, sizeof(out->counties[0]),
	      riskwarning_county_cmp);
	rc = GA_OK;
out:
	free(w);
	return rc;
}

static ga_err riskwarning_check(const struct riskwarning_context *ctx, struct riskwarning *out,
				struct report_errors *errs)
{
	const json_t *root = out->root;
	json_t *v;
	const char *s;

	s = report_string(root, "schema", "/schema", true, errs);
	if (s != NULL && strcmp(s, RISKWARNING_SCHEMA) != 0)
		report_errors_add(errs, "/schema", "enum", "must be \"%s\"", RISKWARNING_SCHEMA);

	/* The receipt echoes product_id even when the product is rejected;
	 * a string past the cap is not echoed. */
	s = report_string(root, "product_id", "/product_id", true, errs);
	if (s != NULL) {
		if (strlen(s) <= REPORT_ID_MAX)
			out->product_id = s;
		if (!report_id_valid(s))
			report_errors_add(errs, "/product_id", "format",
					  "must be 1 to %d characters of A-Z a-z 0-9 . _ : -",
					  REPORT_ID_MAX);
	}

	riskwarning_check_times(ctx, root, out, errs);
	riskwarning_check_issuers(root, errs);
	if (riskwarning_check_areas(ctx, root, out, errs) != GA_OK)
		return GA_ERR_NOMEM;

	out->rain_summary =
	    riskwarning_text(report_string(root, "rain_summary", "/rain_summary", true, errs),
			     "/rain_summary", RISKWARNING_TEXT_MAX, errs);
	out->advice = riskwarning_text(report_string(root, "advice", "/advice", true, errs),
				       "/advice", RISKWARNING_TEXT_MAX, errs);

	v = json_object_get(root, "supersedes");
	if (v != NULL && !json_is_null(v)) {
		if (!json_is_string(v)) {
			report_errors_add(errs, "/supersedes", "type",
					  "must be a product_id or null");
		} else if (!report_id_valid(json_string_value(v))) {
			report_errors_add(errs, "/supersedes", "format",
					  "must be 1 to %d characters of A-Z a-z 0-9 . _ : -",
					  REPORT_ID_MAX);
		} else if (out->product_id != NULL &&
			   strcmp(json_string_value(v), out->product_id) == 0) {
			report_errors_add(errs, "/supersedes", "self",
					  "a product cannot supersede itself");
		} else {
			out->supersedes = json_string_value(v);
		}
	}
	return GA_OK;
}

bool riskwarning_text_ok(const char *s)
{
	size_t n = s ? text_chars(s) : 0;

	return n > 0 && n <= RISKWARNING_TEXT_MAX && text_bidi_find(s) < 0;
}

json_t *riskwarning_product_json(const struct riskwarning *w, const struct geo *g)
{
	json_t *o = json_deep_copy(w->root), *arr = json_array(), *result = NULL;

	if (o == NULL || arr == NULL)
		goto out;
	for (int i = 0; i < w->ncounties; i++) {
		const struct riskwarning_county *c = &w->counties[i];
		const struct region *r = geo_region_by_code(g, c->admin_code);
		json_t *e = json_pack("{s:s, s:s, s:s, s:s}", "admin_code", c->admin_code, "name",
				      r ? r->name : "", "city", r ? r->city : "", "level",
				      riskwarning_level_name(c->level));
		if (e == NULL || json_array_append_new(arr, e) != 0)
			goto out;
	}
	if (json_object_set(o, "counties", arr) != 0)
		goto out;
	result = o;
	o = NULL;
out:
	json_decref(arr);
	json_decref(o);
	return result;
}

ga_err riskwarning_parse(const struct riskwarning_context *ctx, const void *payload, size_t len,
			 struct riskwarning *out, struct report_errors *errs)
{
	ga_err rc;

	memset(out, 0, sizeof(*out));
	memset(errs, 0, sizeof(*errs));
	rc = report_json_load(payload, len, RISKWARNING_MAX_BYTES, RISKWARNING_MAX_DEPTH,
			      &out->root, errs);
	if (rc != GA_OK)
		goto out;
	rc = riskwarning_check(ctx, out, errs);
	if (rc == GA_OK && errs->n > 0)
		rc = GA_ERR_INVAL;
out:
	return rc;
}

void riskwarning_cleanup(struct riskwarning *w)
{
	if (w == NULL)
		return;
	json_decref(w->root);
	memset(w, 0, sizeof(*w));
}
