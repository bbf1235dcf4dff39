/* report_testutil.h - helpers shared by test_report.c and
 * test_report_place.c: a valid base report, parsing shortcuts and error
 * lookups. Static inline so that each test uses what it needs. */
#ifndef GA_REPORT_TESTUTIL_H
#define GA_REPORT_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "report.h"

#define PATH_MAX_T 1024
/* 2026-11-26T14:52:00+08:00 is the observed_at of the base report; "now"
 * is an hour later. */
#define OBSERVED_MS INT64_C(1795675920000)
#define NOW_MS (OBSERVED_MS + 3600 * 1000)

static const struct report_context plain_ctx = {.now_ms = NOW_MS};

static inline const char *src_dir(void)
{
	const char *s = getenv("GA_SOURCE_DIR");
	return s ? s : GA_DATADIR;
}

static inline json_t *base(void)
{
	json_t *o =
	    json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "schema", REPORT_SCHEMA, "report_id",
		      "r-0001", "station_id", "JS-3201-0007", "kind", "disaster", "hazard_type",
		      "landslide", "observed_at", "2026-11-26T14:52:00+08:00");
	assert_non_null(o);
	return o;
}

/* base() with member set to value (reference stolen). */
static inline json_t *base_with(const char *member, json_t *value)
{
	json_t *o = base();

	assert_int_equal(json_object_set_new(o, member, value), 0);
	return o;
}

static inline ga_err parse_text(const struct report_context *ctx, const char *text, size_t len,
				struct report *r, struct report_errors *e)
{
	return report_parse(ctx, text, len, r, e);
}

/* Parses o (reference stolen) with ctx. */
static inline ga_err parse_obj(const struct report_context *ctx, json_t *o, struct report *r,
			       struct report_errors *e)
{
	char *s = json_dumps(o, JSON_COMPACT);
	ga_err rc;

	assert_non_null(s);
	json_decref(o);
	rc = report_parse(ctx, s, strlen(s), r, e);
	free(s);
	return rc;
}

static inline bool has_err(const struct report_errors *e, const char *path, const char *code)
{
	for (int i = 0; i < e->n; i++)
		if (strcmp(e->e[i].path, path) == 0 && strcmp(e->e[i].code, code) == 0)
			return true;
	return false;
}

static inline void dump_errs(const struct report_errors *e)
{
	for (int i = 0; i < e->n; i++)
		print_message("  %s %s %s\n", e->e[i].path, e->e[i].code, e->e[i].message);
}

/* Expects exactly one error, at path with code. */
static inline void expect_one(const struct report_context *ctx, json_t *o, const char *path,
			      const char *code)
{
	struct report r;
	struct report_errors e;

	assert_int_equal(parse_obj(ctx, o, &r, &e), GA_ERR_INVAL);
	if (e.n != 1 || !has_err(&e, path, code)) {
		dump_errs(&e);
		fail_msg("want exactly %s %s, got %d errors", path, code, e.n);
	}
	report_cleanup(&r);
}

static inline void expect_ok(const struct report_context *ctx, json_t *o)
{
	struct report r;
	struct report_errors e;

	if (parse_obj(ctx, o, &r, &e) != GA_OK) {
		dump_errs(&e);
		fail_msg("want valid, got %d errors", e.n);
	}
	assert_int_equal(e.n, 0);
	report_cleanup(&r);
}
static inline char *read_data(const char *name, size_t *len)
{
	char path[PATH_MAX_T];
	FILE *fp;
	char *buf = malloc(REPORT_MAX_BYTES + 1);

	assert_non_null(buf);
	snprintf(path, sizeof(path), "%s/tests/data/%s", src_dir(), name);
	fp = fopen(path, "rb");
	assert_non_null(fp);
	*len = fread(buf, 1, REPORT_MAX_BYTES, fp);
	fclose(fp);
	return buf;
}

#endif
