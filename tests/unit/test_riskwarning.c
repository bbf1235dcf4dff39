/* test_riskwarning.c - every rule of a regional risk warning product
 * (spec §11) at its JSON Pointer, and every cap at the cap and one past. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "riskwarning.h"

/* The example's valid_from is 2026-12-07T20:00:00+08:00; "now" is the
 * example's issued_at, 17:30 that day. */
#define NOW_MS INT64_C(1796635800000)

static struct geo *jiangsu; /* bundled regions, service area "32" */
static struct geo *wuxi;    /* bundled regions, service area "3202" */

static const char *src_dir(void)
{
	const char *s = getenv("GA_SOURCE_DIR");
	return s ? s : GA_DATADIR;
}

static struct geo *new_geo(const char *regions, const char *service_area)
{
	struct geo_options opt;
	char err[512];
	struct geo *g;

	memset(&opt, 0, sizeof(opt));
	opt.regions_path = regions;
	opt.service_area = service_area;
	g = geo_new(&opt, err, sizeof(err));
	if (g == NULL)
		fail_msg("geo_new: %s", err);
	return g;
}

static int setup(void **state)
{
	jiangsu = new_geo(NULL, "32");
	wuxi = new_geo(NULL, "3202");
	return 0;
}

static int teardown(void **state)
{
	geo_free(jiangsu);
	geo_free(wuxi);
	return 0;
}

/* The spec's example (spec/examples/riskwarning.json, copied to
 * tests/data/riskwarning.json). */
static json_t *example(void)
{
	char path[1024];
	json_error_t jerr;
	json_t *o;

	snprintf(path, sizeof(path), "%s/tests/data/riskwarning.json", src_dir());
	o = json_load_file(path, 0, &jerr);
	if (o == NULL)
		fail_msg("%s: %s", path, jerr.text);
	return o;
}

static ga_err parse_text_with(const struct geo *g, const char *text, size_t len,
			      struct riskwarning *w, struct report_errors *e)
{
	const struct riskwarning_context ctx = {.geo = g, .now_ms = NOW_MS};

	return riskwarning_parse(&ctx, text, len, w, e);
}

/* Parses o (reference stolen) against geo g. */
static ga_err parse_with(const struct geo *g, json_t *o, struct riskwarning *w,
			 struct report_errors *e)
{
	char *s = json_dumps(o, JSON_COMPACT);
	ga_err rc;

	assert_non_null(s);
	json_decref(o);
	rc = parse_text_with(g, s, strlen(s), w, e);
	free(s);
	return rc;
}

static ga_err parse(json_t *o, struct riskwarning *w, struct report_errors *e)
{
	return parse_with(jiangsu, o, w, e);
}

static void dump(const struct report_errors *e)
{
	for (int i = 0; i < e->n; i++)
		print_message("  %s %s: %s\n", e->e[i].path, e->e[i].code, e->e[i].message);
}

static bool has_err(const struct report_errors *e, const char *path, const char *code)
{
	for (int i = 0; i < e->n; i++)
		if (strcmp(e->e[i].path, path) == 0 && strcmp(e->e[i].code, code) == 0)
			return true;
	dump(e);
	return false;
}

/* Parses o and expects exactly one error, at path with code. */
static void expect_one(json_t *o, const char *path, const char *code)
{
	struct riskwarning w;
	struct report_errors e;

	assert_int_equal(parse(o, &w, &e), GA_ERR_INVAL);
	assert_true(has_err(&e, path, code));
	if (e.n != 1)
		dump(&e);
	assert_int_equal(e.n, 1);
	riskwarning_cleanup(&w);
}

static void expect_ok(json_t *o)
{
	struct riskwarning w;
	struct report_errors e;
	ga_err rc = parse(o, &w, &e);

	if (rc != GA_OK)
		dump(&e);
	assert_int_equal(rc, GA_OK);
	assert_int_equal(e.n, 0);
	riskwarning_cleanup(&w);
}

static json_t *areas_of(json_t *o)
{
	return json_object_get(o, "areas");
}

/* Replaces the areas by one area of level with the given codes. */
static json_t *with_codes(const char *level, json_t *codes)
{
	json_t *o = example();

	json_object_set_new(o, "areas",
			    json_pack("[{s:s, s:o}]", "level", level, "admin_codes", codes));
	return o;
}

static void test_example(void **state)
{
	struct riskwarning w;
	struct report_errors e;

	assert_int_equal(parse(example(), &w, &e), GA_OK);
	assert_string_equal(w.product_id, "JS-FX-20261207-01");
	assert_null(w.supersedes);
	assert_int_equal(w.ncounties, 6);
	/* Most severe first, then by code. */
	assert_string_equal(w.counties[0].admin_code, "320115");
	assert_int_equal(w.counties[0].level, RISKWARNING_RED);
	assert_string_equal(w.counties[1].admin_code, "320111");
	assert_string_equal(w.counties[2].admin_code, "320117");
	assert_int_equal(w.counties[2].level, RISKWARNING_ORANGE);
	assert_string_equal(w.counties[3].admin_code, "320281");
	assert_int_equal(w.counties[4].level, RISKWARNING_YELLOW);
	assert_string_equal(w.counties[5].admin_code, "321181");
	assert_int_equal(w.counties[5].level, RISKWARNING_BLUE);
	assert_int_equal(w.nlevel[RISKWARNING_RED], 1);
	assert_int_equal(w.nlevel[RISKWARNING_ORANGE], 2);
	assert_int_equal(w.nlevel[RISKWARNING_YELLOW], 2);
	assert_int_equal(w.nlevel[RISKWARNING_BLUE], 1);
	assert_int_equal(w.valid_to_ms - w.valid_from_ms, 24 * 3600 * 1000);
	assert_int_equal(w.valid_from_offset_min, 480);
	assert_non_null(strstr(w.rain_summary, "大到暴雨"));
	assert_non_null(strstr(w.advice, "撤离"));
	riskwarning_cleanup(&w);
}

static void test_levels(void **state)
{
	assert_string_equal(riskwarning_level_name(RISKWARNING_ORANGE), "orange");
	assert_string_equal(riskwarning_level_zh(RISKWARNING_RED), "一级（红色）");
	assert_string_equal(riskwarning_level_cap_severity(RISKWARNING_YELLOW), "Moderate");
	assert_string_equal(riskwarning_level_cap_severity(RISKWARNING_BLUE), "Minor");
	assert_null(riskwarning_level_name(RISKWARNING_LEVEL_COUNT));
	assert_int_equal(riskwarning_level_from_name("blue"), RISKWARNING_BLUE);
	assert_int_equal(riskwarning_level_from_name("Blue"), -1);
	assert_int_equal(riskwarning_level_from_name(NULL), -1);
	assert_true(riskwarning_level_public(RISKWARNING_RED, RISKWARNING_YELLOW));
	assert_true(riskwarning_level_public(RISKWARNING_YELLOW, RISKWARNING_YELLOW));
	assert_false(riskwarning_level_public(RISKWARNING_BLUE, RISKWARNING_YELLOW));
	assert_false(riskwarning_level_public(RISKWARNING_YELLOW, RISKWARNING_ORANGE));
}

static void test_product_id(void **state)
{
	char id[REPORT_ID_MAX + 2];
	json_t *o;

	o = example();
	json_object_set_new(o, "product_id", json_string("JS FX/01"));
	expect_one(o, "/product_id", "format");
	o = example();
	json_object_set_new(o, "product_id", json_string(""));
	expect_one(o, "/product_id", "format");
	o = example();
	json_object_set_new(o, "product_id", json_string("江苏-01"));
	expect_one(o, "/product_id", "format");
	o = example();
	json_object_set_new(o, "product_id", json_integer(1));
	expect_one(o, "/product_id", "type");
	o = example();
	json_object_del(o, "product_id");
	expect_one(o, "/product_id", "required");

	/* At the cap and one past; past it, it is not echoed. */
	memset(id, 'A', REPORT_ID_MAX);
	id[REPORT_ID_MAX] = '\0';
	o = example();
	json_object_set_new(o, "product_id", json_string(id));
	expect_ok(o);
	id[REPORT_ID_MAX] = 'A';
	id[REPORT_ID_MAX + 1] = '\0';
	o = example();
	json_object_set_new(o, "product_id", json_string(id));
	struct riskwarning w;
	struct report_errors e;
	assert_int_equal(parse(o, &w, &e), GA_ERR_INVAL);
	assert_true(has_err(&e, "/product_id", "format"));
	assert_null(w.product_id);
	riskwarning_cleanup(&w);

	/* A rejected product still tells its id (the receipt echoes it). */
	o = example();
	json_object_set_new(o, "schema", json_string("geohazard.report/1"));
	assert_int_equal(parse(o, &w, &e), GA_ERR_INVAL);
	assert_true(has_err(&e, "/schema", "enum"));
	assert_string_equal(w.product_id, "JS-FX-20261207-01");
	riskwarning_cleanup(&w);
}

static void test_period(void **state)
{
	json_t *o;

	o = example();
	json_object_set_new(o, "valid_to", json_string("2026-12-07T20:00:00+08:00"));
	expect_one(o, "/valid_to", "order");
	o = example();
	json_object_set_new(o, "valid_to", json_string("2026-12-07T19:00:00+08:00"));
	expect_one(o, "/valid_to", "order");
	/* 72 h exactly, and one second more; the same instant in UTC. */
	o = example();
	json_object_set_new(o, "valid_to", json_string("2026-12-10T20:00:00+08:00"));
	expect_ok(o);
	o = example();
	json_object_set_new(o, "valid_to", json_string("2026-12-10T12:00:01Z"));
	expect_one(o, "/valid_to", "range");
	o = example();
	json_object_set_new(o, "valid_from", json_string("2026-12-07 20:00"));
	expect_one(o, "/valid_from", "format");
	o = example();
	json_object_set_new(o, "valid_to", json_string("2026-12-08T20:00:00"));
	expect_one(o, "/valid_to", "format");
	o = example();
	json_object_del(o, "issued_at");
	expect_one(o, "/issued_at", "required");
	/* issued_at up to 10 minutes ahead of the clock, not more. */
	o = example();
	json_object_set_new(o, "issued_at", json_string("2026-12-07T17:40:00+08:00"));
	expect_ok(o);
	o = example();
	json_object_set_new(o, "issued_at", json_string("2026-12-07T17:40:01+08:00"));
	expect_one(o, "/issued_at", "future");
	/* Already past its valid_to at arrival. */
	o = example();
	json_object_set_new(o, "valid_from", json_string("2026-12-07T08:00:00+08:00"));
	json_object_set_new(o, "valid_to", json_string("2026-12-07T17:30:00+08:00"));
	expect_one(o, "/valid_to", "expired");
}

static void test_areas_shape(void **state)
{
	json_t *o;

	o = example();
	json_object_del(o, "areas");
	expect_one(o, "/areas", "required");
	o = example();
	json_object_set_new(o, "areas", json_array());
	expect_one(o, "/areas", "empty");
	o = example();
	json_object_set_new(o, "areas", json_object());
	expect_one(o, "/areas", "type");
	o = example();
	json_array_set_new(areas_of(o), 1, json_string("orange"));
	expect_one(o, "/areas/1", "type");
	o = example();
	json_object_set_new(json_array_get(areas_of(o), 2), "level", json_string("purple"));
	expect_one(o, "/areas/2/level", "enum");
	o = example();
	json_object_del(json_array_get(areas_of(o), 2), "level");
	expect_one(o, "/areas/2/level", "required");
	o = example();
	json_object_set_new(json_array_get(areas_of(o), 3), "admin_codes", json_array());
	expect_one(o, "/areas/3/admin_codes", "empty");
	o = example();
	json_object_del(json_array_get(areas_of(o), 3), "admin_codes");
	expect_one(o, "/areas/3/admin_codes", "required");
	o = example();
	json_object_set_new(json_array_get(areas_of(o), 3), "admin_codes", json_string("321181"));
	expect_one(o, "/areas/3/admin_codes", "type");
	o = example();
	json_array_set_new(json_object_get(json_array_get(areas_of(o), 1), "admin_codes"), 1,
			   json_integer(320117));
	expect_one(o, "/areas/1/admin_codes/1", "type");
}

/* RISKWARNING_MAX_AREAS entries (the same level repeated is allowed:
 * they add up), and one more. */
static void test_areas_cap(void **state)
{
	json_t *o;

	o = example();
	for (int i = 4; i < RISKWARNING_MAX_AREAS; i++)
		json_array_append_new(areas_of(o), json_pack("{s:s, s:[s]}", "level", "yellow",
							     "admin_codes", "320281"));
	assert_int_equal(json_array_size(areas_of(o)), RISKWARNING_MAX_AREAS);
	expect_ok(o);
	o = example();
	for (int i = 4; i < RISKWARNING_MAX_AREAS + 1; i++)
		json_array_append_new(areas_of(o), json_pack("{s:s, s:[s]}", "level", "yellow",
							     "admin_codes", "320281"));
	expect_one(o, "/areas", "too_many");
}

static void test_two_levels(void **state)
{
	struct riskwarning w;
	struct report_errors e;
	json_t *o;

	/* 320115 is red in /areas/0 and again yellow. */
	o = example();
	json_array_append_new(json_object_get(json_array_get(areas_of(o), 2), "admin_codes"),
			      json_string("320115"));
	expect_one(o, "/areas/2/admin_codes/2", "conflict");
	/* Through its city code: 3201 (yellow) holds 320115 (red), 320111
	 * and 320117 (orange): three conflicts, all at the city code. */
	o = example();
	json_array_append_new(json_object_get(json_array_get(areas_of(o), 2), "admin_codes"),
			      json_string("3201"));
	assert_int_equal(parse(o, &w, &e), GA_ERR_INVAL);
	assert_int_equal(e.n, 3);
	for (int i = 0; i < e.n; i++) {
		assert_string_equal(e.e[i].path, "/areas/2/admin_codes/2");
		assert_string_equal(e.e[i].code, "conflict");
	}
	assert_non_null(strstr(e.e[0].message, "/areas/"));
	riskwarning_cleanup(&w);
	/* The same county twice at one level is no conflict. */
	o = example();
	json_array_append_new(json_object_get(json_array_get(areas_of(o), 0), "admin_codes"),
			      json_string("320115"));
	json_array_append_new(areas_of(o),
			      json_pack("{s:s, s:[s]}", "level", "red", "admin_codes", "320115"));
	assert_int_equal(parse(o, &w, &e), GA_OK);
	assert_int_equal(w.ncounties, 6);
	assert_int_equal(w.nlevel[RISKWARNING_RED], 1);
	riskwarning_cleanup(&w);
}

static void test_city_code(void **state)
{
	struct riskwarning w;
	struct report_errors e;
	size_t n = 0;

	/* 3201 is every county of Nanjing in the regions file. */
	for (size_t i = 0; i < geo_region_count(jiangsu); i++)
		if (strncmp(geo_region_get(jiangsu, i)->admin_code, "3201", 4) == 0)
			n++;
	assert_true(n >= 2);
	assert_int_equal(parse(with_codes("orange", json_pack("[s]", "3201")), &w, &e), GA_OK);
	assert_int_equal(w.ncounties, (int)n);
	for (int i = 0; i < w.ncounties; i++) {
		assert_memory_equal(w.counties[i].admin_code, "3201", 4);
		assert_int_equal(w.counties[i].level, RISKWARNING_ORANGE);
	}
	riskwarning_cleanup(&w);
	/* A city and one of its counties at the same level: once each. */
	assert_int_equal(parse(with_codes("red", json_pack("[s,s]", "320115", "3201")), &w, &e),
			 GA_OK);
	assert_int_equal(w.ncounties, (int)n);
	riskwarning_cleanup(&w);
}

static void test_codes(void **state)
{
	expect_one(with_codes("red", json_pack("[s]", "329999")), "/areas/0/admin_codes/0",
		   "unknown");
	expect_one(with_codes("red", json_pack("[s,s]", "320115", "3299")),
		   "/areas/0/admin_codes/1", "unknown");
	expect_one(with_codes("red", json_pack("[s]", "32011")), "/areas/0/admin_codes/0",
		   "format");
	expect_one(with_codes("red", json_pack("[s]", "32")), "/areas/0/admin_codes/0", "format");
	expect_one(with_codes("red", json_pack("[s]", "3201150")), "/areas/0/admin_codes/0",
		   "format");
	expect_one(with_codes("red", json_pack("[s]", "32011a")), "/areas/0/admin_codes/0",
		   "format");
	expect_one(with_codes("red", json_pack("[s]", "")), "/areas/0/admin_codes/0", "format");
	/* A province outside the regions file. */
	expect_one(with_codes("red", json_pack("[s]", "110101")), "/areas/0/admin_codes/0",
		   "unknown");
}

/* Service area "3202" (Wuxi): Nanjing's counties and city are outside. */
static void test_service_area(void **state)
{
	struct riskwarning w;
	struct report_errors e;
	json_t *o;

	o = with_codes("red", json_pack("[s,s,s]", "320281", "320115", "3201"));
	assert_int_equal(parse_with(wuxi, o, &w, &e), GA_ERR_INVAL);
	assert_int_equal(e.n, 2);
	assert_true(has_err(&e, "/areas/0/admin_codes/1", "outside"));
	assert_true(has_err(&e, "/areas/0/admin_codes/2", "outside"));
	riskwarning_cleanup(&w);
	o = with_codes("red", json_pack("[s]", "3202"));
	assert_int_equal(parse_with(wuxi, o, &w, &e), GA_OK);
	assert_true(w.ncounties >= 2);
	riskwarning_cleanup(&w);
}

/* RISKWARNING_MAX_CODES codes as written (here one county repeated),
 * then one past, then 5,000 (a hostile product of the issue). */
static void test_codes_cap(void **state)
{
	int counts[] = {RISKWARNING_MAX_CODES, RISKWARNING_MAX_CODES + 1, 5000};

	for (size_t k = 0; k < sizeof(counts) / sizeof(counts[0]); k++) {
		json_t *codes = json_array();
		json_t *o;

		for (int i = 0; i < counts[k]; i++)
			json_array_append_new(codes, json_string("320115"));
		o = with_codes("red", codes);
		if (k == 0)
			expect_ok(o);
		else
			expect_one(o, "/areas/0/admin_codes", "too_many");
	}
	/* The cap counts over all areas. */
	json_t *o = example();
	json_t *codes = json_array();
	for (int i = 0; i < RISKWARNING_MAX_CODES - 5; i++)
		json_array_append_new(codes, json_string("321181"));
	json_array_append_new(areas_of(o),
			      json_pack("{s:s, s:o}", "level", "blue", "admin_codes", codes));
	expect_one(o, "/areas/4/admin_codes", "too_many");
}

/* A regions file of n one-by-one-hundredth-degree squares, codes 330001.. */
static char *write_regions(int n)
{
	static char path[] = "/tmp/test_riskwarning_XXXXXX";
	int fd = mkstemp(path);
	FILE *f;

	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	fprintf(f, "{\"type\":\"FeatureCollection\",\"features\":[");
	for (int i = 0; i < n; i++) {
		double x = 100 + (i % 100) * 0.01, y = 30 + (i / 100) * 0.01;
		fprintf(f,
			"%s{\"type\":\"Feature\",\"properties\":{\"admin_code\":\"33%04d\","
			"\"name\":\"县%d\",\"city\":\"市\",\"province\":\"省\"},"
			"\"geometry\":{\"type\":\"Polygon\",\"coordinates\":[[[%.2f,%.2f],"
			"[%.2f,%.2f],[%.2f,%.2f],[%.2f,%.2f],[%.2f,%.2f]]]}}",
			i ? "," : "", i + 1, i + 1, x, y, x + 0.01, y, x + 0.01, y + 0.01, x,
			y + 0.01, x, y);
	}
	fprintf(f, "]}");
	assert_int_equal(fclose(f), 0);
	return path;
}

/* RISKWARNING_MAX_COUNTIES counties after expansion, and one past: city
 * codes 3300..3305 hold 100, 100, ... counties. */
static void test_counties_cap(void **state)
{
	int sizes[] = {RISKWARNING_MAX_COUNTIES, RISKWARNING_MAX_COUNTIES + 1};

	for (int k = 0; k < 2; k++) {
		char *path = write_regions(sizes[k]);
		struct geo *g = new_geo(path, "33");
		struct riskwarning w;
		struct report_errors e;
		json_t *codes = json_array();

		for (int c = 0; c * 100 < sizes[k] + 1; c++) {
			char city[16];
			snprintf(city, sizeof(city), "33%02d", c);
			json_array_append_new(codes, json_string(city));
		}
		ga_err rc = parse_with(g, with_codes("yellow", codes), &w, &e);
		if (k == 0) {
			if (rc != GA_OK)
				dump(&e);
			assert_int_equal(rc, GA_OK);
			assert_int_equal(w.ncounties, RISKWARNING_MAX_COUNTIES);
		} else {
			assert_int_equal(rc, GA_ERR_INVAL);
			assert_int_equal(e.n, 1);
			assert_string_equal(e.e[0].path, "/areas/0/admin_codes/5");
			assert_string_equal(e.e[0].code, "too_many");
		}
		riskwarning_cleanup(&w);
		geo_free(g);
		unlink(path);
		memcpy(path + strlen(path) - 6, "XXXXXX", 6);
	}
}

static void test_issuers(void **state)
{
	char name[RISKWARNING_ISSUER_MAX * 3 + 4];
	json_t *o, *arr;

	o = example();
	json_object_del(o, "issuers");
	expect_one(o, "/issuers", "required");
	o = example();
	json_object_set_new(o, "issuers", json_array());
	expect_one(o, "/issuers", "empty");
	o = example();
	json_object_set_new(o, "issuers", json_string("江苏省气象局"));
	expect_one(o, "/issuers", "type");
	o = example();
	json_array_set_new(json_object_get(o, "issuers"), 1, json_null());
	expect_one(o, "/issuers/1", "type");
	o = example();
	json_array_set_new(json_object_get(o, "issuers"), 1, json_string(""));
	expect_one(o, "/issuers/1", "length");

	arr = json_array();
	for (int i = 0; i < RISKWARNING_MAX_ISSUERS; i++)
		json_array_append_new(arr, json_string("气象局"));
	o = example();
	json_object_set(o, "issuers", arr);
	expect_ok(o);
	json_array_append_new(arr, json_string("气象局"));
	o = example();
	json_object_set_new(o, "issuers", arr);
	expect_one(o, "/issuers", "too_many");

	/* RISKWARNING_ISSUER_MAX characters (3 bytes each) and one more. */
	size_t nlen = 0;
	for (int i = 0; i < RISKWARNING_ISSUER_MAX; i++)
		nlen += (size_t)snprintf(name + nlen, sizeof(name) - nlen, "局");
	o = example();
	json_array_set_new(json_object_get(o, "issuers"), 0, json_string(name));
	expect_ok(o);
	snprintf(name + nlen, sizeof(name) - nlen, "局");
	o = example();
	json_array_set_new(json_object_get(o, "issuers"), 0, json_string(name));
	expect_one(o, "/issuers/0", "length");
}

static void test_texts(void **state)
{
	const char *keys[] = {"rain_summary", "advice"};
	size_t cap = (size_t)RISKWARNING_TEXT_MAX * 3 + 4;
	char *t = malloc(cap);
	char path[32];
	json_t *o;

	assert_non_null(t);
	for (int k = 0; k < 2; k++) {
		snprintf(path, sizeof(path), "/%s", keys[k]);
		o = example();
		json_object_del(o, keys[k]);
		expect_one(o, path, "required");
		o = example();
		json_object_set_new(o, keys[k], json_string(""));
		expect_one(o, path, "length");
		o = example();
		json_object_set_new(o, keys[k], json_integer(3));
		expect_one(o, path, "type");
		o = example();
		json_object_set_new(o, keys[k], json_string("南京\xE2\x80\xAE雨"));
		expect_one(o, path, "bidi");
		/* At the cap, counted in characters, and one past. */
		t[0] = '\0';
		for (int i = 0; i < RISKWARNING_TEXT_MAX; i++)
			memcpy(t + 3 * i, "雨", 4);
		o = example();
		json_object_set_new(o, keys[k], json_string(t));
		expect_ok(o);
		memcpy(t + 3 * RISKWARNING_TEXT_MAX, "x", 2); /* one past the cap */
		o = example();
		json_object_set_new(o, keys[k], json_string(t));
		expect_one(o, path, "length");
	}
	free(t);
}

static void test_supersedes(void **state)
{
	struct riskwarning w;
	struct report_errors e;
	json_t *o;

	o = example();
	json_object_set_new(o, "supersedes", json_string("JS-FX-20261207-00"));
	assert_int_equal(parse(o, &w, &e), GA_OK);
	assert_string_equal(w.supersedes, "JS-FX-20261207-00");
	riskwarning_cleanup(&w);
	o = example();
	json_object_del(o, "supersedes");
	expect_ok(o);
	o = example();
	json_object_set_new(o, "supersedes", json_string("JS-FX-20261207-01"));
	expect_one(o, "/supersedes", "self");
	o = example();
	json_object_set_new(o, "supersedes", json_string("a b"));
	expect_one(o, "/supersedes", "format");
	o = example();
	json_object_set_new(o, "supersedes", json_integer(7));
	expect_one(o, "/supersedes", "type");
}

/* Every problem of a product is listed, not only the first. */
static void test_all_errors(void **state)
{
	struct riskwarning w;
	struct report_errors e;
	json_t *o = example();

	json_object_set_new(o, "product_id", json_string("a/b"));
	json_object_set_new(o, "valid_to", json_string("2026-12-07T19:00:00+08:00"));
	json_object_set_new(json_array_get(areas_of(o), 0), "level", json_string("pink"));
	json_array_append_new(json_object_get(json_array_get(areas_of(o), 1), "admin_codes"),
			      json_string("999999"));
	json_object_del(o, "advice");
	assert_int_equal(parse(o, &w, &e), GA_ERR_INVAL);
	assert_true(has_err(&e, "/product_id", "format"));
	assert_true(has_err(&e, "/valid_to", "order"));
	assert_true(has_err(&e, "/areas/0/level", "enum"));
	assert_true(has_err(&e, "/areas/1/admin_codes/2", "unknown"));
	assert_true(has_err(&e, "/advice", "required"));
	assert_int_equal(e.n, 5);
	riskwarning_cleanup(&w);
}

/* The payload caps: bytes (padding with spaces) and nesting depth. */
static void test_payload_caps(void **state)
{
	struct riskwarning w;
	struct report_errors e;
	json_t *o = example();
	char *s = json_dumps(o, JSON_COMPACT);

	json_decref(o);
	size_t len = strlen(s);
	char *buf = malloc(RISKWARNING_MAX_BYTES + 2);
	assert_non_null(buf);
	memcpy(buf, s, len);
	memset(buf + len, ' ', RISKWARNING_MAX_BYTES + 1 - len);
	assert_int_equal(parse_text_with(jiangsu, buf, RISKWARNING_MAX_BYTES, &w, &e), GA_OK);
	riskwarning_cleanup(&w);
	assert_int_equal(parse_text_with(jiangsu, buf, RISKWARNING_MAX_BYTES + 1, &w, &e),
			 GA_ERR_INVAL);
	assert_true(has_err(&e, "", "too_large"));
	riskwarning_cleanup(&w);
	free(buf);
	free(s);

	/* The root is depth 1: RISKWARNING_MAX_DEPTH - 1 arrays inside a
	 * member reach the cap; one more passes it. */
	for (int extra = 0; extra < 2; extra++) {
		json_t *v = json_array();
		o = example();
		for (int i = 1; i < RISKWARNING_MAX_DEPTH - 1 + extra; i++)
			v = json_pack("[o]", v);
		json_object_set_new(o, "x", v);
		if (extra == 0) {
			expect_ok(o);
		} else {
			assert_int_equal(parse(o, &w, &e), GA_ERR_INVAL);
			assert_true(has_err(&e, "", "depth"));
			riskwarning_cleanup(&w);
		}
	}
}

static void test_bad_input(void **state)
{
	struct riskwarning w;
	struct report_errors e;
	static const char bad_utf8[] =
	    "{\"schema\":\"geohazard.riskwarning/1\",\"product_id\":\"\xC3\x28\"}";

	assert_int_equal(parse_text_with(jiangsu, bad_utf8, sizeof(bad_utf8) - 1, &w, &e),
			 GA_ERR_INVAL);
	assert_true(has_err(&e, "", "encoding"));
	riskwarning_cleanup(&w);
	assert_int_equal(parse_text_with(jiangsu, "[1]", 3, &w, &e), GA_ERR_INVAL);
	assert_true(has_err(&e, "", "type"));
	riskwarning_cleanup(&w);
	assert_int_equal(parse_text_with(jiangsu, "{\"a\":", 5, &w, &e), GA_ERR_INVAL);
	assert_true(has_err(&e, "", "syntax"));
	riskwarning_cleanup(&w);
	assert_int_equal(parse_text_with(jiangsu, "", 0, &w, &e), GA_ERR_INVAL);
	assert_true(has_err(&e, "", "syntax"));
	riskwarning_cleanup(&w);
	assert_int_equal(parse_text_with(jiangsu, "{\"a\":1,\"a\":2}", 13, &w, &e), GA_ERR_INVAL);
	assert_true(has_err(&e, "", "duplicate_key"));
	riskwarning_cleanup(&w);
}

/* Without a geo (and a clock of 0) only the forms are checked. */
static void test_no_geo(void **state)
{
	const struct riskwarning_context ctx = {0};
	struct riskwarning w;
	struct report_errors e;
	json_t *o = example();
	char *s;

	json_object_set_new(o, "valid_from", json_string("2020-01-01T00:00:00+08:00"));
	json_object_set_new(o, "valid_to", json_string("2020-01-02T00:00:00+08:00"));
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	assert_int_equal(riskwarning_parse(&ctx, s, strlen(s), &w, &e), GA_OK);
	assert_int_equal(w.ncounties, 0);
	riskwarning_cleanup(&w);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_example),	 cmocka_unit_test(test_levels),
	    cmocka_unit_test(test_product_id),	 cmocka_unit_test(test_period),
	    cmocka_unit_test(test_areas_shape),	 cmocka_unit_test(test_areas_cap),
	    cmocka_unit_test(test_two_levels),	 cmocka_unit_test(test_city_code),
	    cmocka_unit_test(test_codes),	 cmocka_unit_test(test_service_area),
	    cmocka_unit_test(test_codes_cap),	 cmocka_unit_test(test_counties_cap),
	    cmocka_unit_test(test_issuers),	 cmocka_unit_test(test_texts),
	    cmocka_unit_test(test_supersedes),	 cmocka_unit_test(test_all_errors),
	    cmocka_unit_test(test_payload_caps), cmocka_unit_test(test_bad_input),
	    cmocka_unit_test(test_no_geo),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
