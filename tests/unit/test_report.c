/* test_report.c - every rule of spec §2 at its cap and one past it, the
 * pre-parse checks, and the error list of a rejected report. Station and
 * location rules that need the registry or geo: test_report_place.c. */
#include "report_testutil.h"

#include "timeutil.h"

static void test_valid_base(void **state)
{
	struct report r;
	struct report_errors e;
	json_t *o = base();

	json_object_set_new(o, "place", json_string("浦口区永宁街道青山村后山"));
	json_object_set_new(o, "figures",
			    json_pack("{s:i, s:f, s:f, s:i}", "deaths", 2, "missing", 1.0,
				      "direct_loss_cny", 1800000.5, "unknown_figure", -5));
	json_object_set_new(o, "scale",
			    json_pack("{s:i, s:f}", "volume_m3", 120000, "area_m2", 2.5));
	json_object_set_new(o, "incident_id", json_string("JS-20261126-0003"));
	json_object_set_new(o, "reporter", json_pack("{s:s, s:s}", "name", "王某", "phone", "1"));
	json_object_set_new(o, "causes", json_string("持续强降雨"));
	json_object_set_new(o, "extra_field", json_pack("[i]", 1));
	assert_int_equal(parse_obj(&plain_ctx, o, &r, &e), GA_OK);
	assert_int_equal(e.n, 0);
	assert_string_equal(r.report_id, "r-0001");
	assert_string_equal(r.station_id, "JS-3201-0007");
	assert_int_equal(r.kind, KIND_DISASTER);
	assert_int_equal(r.hazard_type, HAZARD_LANDSLIDE);
	assert_int_equal(r.observed_at_ms, OBSERVED_MS);
	assert_int_equal(r.observed_offset_min, 480);
	assert_false(r.has_location);
	assert_false(r.has_point);
	assert_string_equal(r.crs, "EPSG:4490");
	assert_string_equal(r.place, "浦口区永宁街道青山村后山");
	assert_string_equal(r.causes, "持续强降雨");
	assert_null(r.trend);
	assert_null(r.measures);
	assert_string_equal(r.incident_id, "JS-20261126-0003");
	assert_int_equal(r.figures.set,
			 (1u << FIG_DEATHS) | (1u << FIG_MISSING) | (1u << FIG_DIRECT_LOSS_CNY));
	assert_true(r.figures.value[FIG_DEATHS] == 2);
	assert_true(r.figures.value[FIG_MISSING] == 1);
	assert_true(r.figures.value[FIG_DIRECT_LOSS_CNY] == 1800000.5);
	assert_true(r.has_volume && r.volume_m3 == 120000);
	assert_true(r.has_area && r.area_m2 == 2.5);
	assert_string_equal(r.hazard_point_id, "");
	assert_string_equal(r.admin_code, "");
	report_cleanup(&r);
	assert_null(r.root);
	report_cleanup(NULL);
}

static void test_example_files(void **state)
{
	struct report r;
	struct report_errors e;
	size_t len;
	char *buf;

	buf = read_data("report-danger-registry.json", &len);
	assert_int_equal(parse_text(&plain_ctx, buf, len, &r, &e), GA_OK);
	assert_int_equal(r.kind, KIND_DANGER);
	/* No registry: no defaults. */
	assert_int_equal(r.figures.set, 0);
	assert_true(r.has_volume && !r.has_area);
	report_cleanup(&r);
	free(buf);

	buf = read_data("report-disaster-gk.json", &len);
	assert_int_equal(parse_text(&plain_ctx, buf, len, &r, &e), GA_OK);
	assert_true(r.has_location);
	assert_string_equal(r.crs, "EPSG:4549");
	assert_true(r.x == 420005.4 && r.y == 3559577.0);
	/* A projected CRS without geo: kept as given, no lon/lat. */
	assert_false(r.has_point);
	assert_int_equal(r.observed_offset_min, 0);
	report_cleanup(&r);
	free(buf);
}

static void test_example_invalid(void **state)
{
	static const char *const want[][2] = {
	    {"/report_id", "format"},	     {"/hazard_type", "enum"},
	    {"/observed_at", "format"},	     {"/figures/deaths", "range"},
	    {"/figures/injured", "integer"},
	};
	struct report r;
	struct report_errors e;
	size_t len;
	char *buf = read_data("report-invalid.json", &len);
	json_t *j;

	assert_int_equal(parse_text(&plain_ctx, buf, len, &r, &e), GA_ERR_INVAL);
	if (e.n != 5)
		dump_errs(&e);
	assert_int_equal(e.n, 5);
	for (size_t i = 0; i < 5; i++) {
		assert_string_equal(e.e[i].path, want[i][0]);
		assert_string_equal(e.e[i].code, want[i][1]);
	}
	assert_string_equal(e.e[1].message,
			    "must be one of: collapse, landslide, debris_flow, ground_collapse, "
			    "ground_fissure, land_subsidence");
	/* The rejected receipt echoes the (invalid) id. */
	assert_string_equal(r.report_id, "bad id with spaces");

	j = report_errors_to_json(&e);
	assert_int_equal(json_array_size(j), 5);
	json_t *first = json_array_get(j, 0);
	assert_int_equal(json_object_size(first), 3);
	assert_string_equal(json_string_value(json_object_get(first, "path")), "/report_id");
	assert_string_equal(json_string_value(json_object_get(first, "code")), "format");
	assert_non_null(json_string_value(json_object_get(first, "message")));
	json_decref(j);
	report_cleanup(&r);
	free(buf);
}

/* A valid report padded with an unknown field to exactly n bytes. */
static char *padded(size_t n)
{
	static const char head[] = "{\"schema\":\"geohazard.report/1\",\"report_id\":\"r-1\","
				   "\"station_id\":\"S1\",\"kind\":\"danger\","
				   "\"hazard_type\":\"collapse\","
				   "\"observed_at\":\"2026-11-26T14:52:00+08:00\",\"pad\":\"";
	char *buf = malloc(n + 1);
	size_t h = strlen(head);

	assert_non_null(buf);
	assert_true(n > h + 2);
	memcpy(buf, head, h);
	memset(buf + h, 'x', n - h - 2);
	memcpy(buf + n - 2, "\"}", 2);
	buf[n] = '\0';
	return buf;
}

static void test_size_cap(void **state)
{
	struct report r;
	struct report_errors e;
	char *buf;

	buf = padded(REPORT_MAX_BYTES);
	assert_int_equal(parse_text(&plain_ctx, buf, REPORT_MAX_BYTES, &r, &e), GA_OK);
	report_cleanup(&r);
	free(buf);

	buf = padded(REPORT_MAX_BYTES + 1);
	assert_int_equal(parse_text(&plain_ctx, buf, REPORT_MAX_BYTES + 1, &r, &e), GA_ERR_INVAL);
	assert_int_equal(e.n, 1);
	assert_string_equal(e.e[0].path, "");
	assert_string_equal(e.e[0].code, "too_large");
	assert_null(r.root);
	assert_null(r.report_id);
	report_cleanup(&r);
	free(buf);
}

static void expect_whole(const char *text, size_t len, const char *code)
{
	struct report r;
	struct report_errors e;

	assert_int_equal(parse_text(&plain_ctx, text, len, &r, &e), GA_ERR_INVAL);
	if (e.n != 1 || strcmp(e.e[0].code, code) != 0 || e.e[0].path[0] != '\0') {
		dump_errs(&e);
		fail_msg("want one whole-message error %s", code);
	}
	assert_null(r.report_id);
	report_cleanup(&r);
}

static void test_encoding(void **state)
{
	static const char nul[] = "{\"schema\":\"geohazard.report/1\"\0}";
	static const unsigned char binary[] = {0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0xff, 0xfe};

	expect_whole("", 0, "syntax");
	expect_whole(NULL, 0, "syntax");
	expect_whole(nul, sizeof(nul) - 1, "encoding");
	expect_whole((const char *)binary, sizeof(binary), "encoding");
	expect_whole("{\"place\":\"\xc3\x28\"}", 12, "encoding");	  /* bad continuation */
	expect_whole("{\"place\":\"\xc0\xaf\"}", 12, "encoding");	  /* overlong '/' */
	expect_whole("{\"place\":\"\xed\xa0\x80\"}", 13, "encoding");	  /* surrogate */
	expect_whole("{\"place\":\"\xf4\x90\x80\x80\"}", 14, "encoding"); /* > U+10FFFF */
	expect_whole("{\"place\":\"\xe6\x9d\"}", 12, "encoding");	  /* truncated */
	expect_whole("{\"place\":\"\xe6", 11, "encoding");		  /* truncated at end */
	expect_whole("{\"place\":\"a\\u0000b\"}", 20, "encoding");	  /* escaped NUL */
	expect_whole("{\"a\":1,\"a\":2}", 13, "duplicate_key");
	expect_whole("{\"figures\":{\"deaths\":1,\"deaths\":1}}", 35, "duplicate_key");
	expect_whole("[1,2]", 5, "type");
	expect_whole("\"report\"", 8, "type");
	expect_whole("{\"a\":}", 6, "syntax");
	expect_whole("{\"a\":1} x", 9, "syntax");
	expect_whole("\xef\xbb\xbf{}", 5, "syntax"); /* a BOM is not JSON */

	/* A number past a double's range is a syntax error, with a position. */
	struct report r;
	struct report_errors e;
	json_t *o = base();
	char *s, *big;
	json_object_set_new(o, "figures", json_pack("{s:i}", "deaths", 7));
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	big = strstr(s, "7}");
	assert_non_null(big);
	char text[1024];
	snprintf(text, sizeof(text), "%.*s1e999}}", (int)(big - s), s);
	free(s);
	assert_int_equal(parse_text(&plain_ctx, text, strlen(text), &r, &e), GA_ERR_INVAL);
	assert_int_equal(e.n, 1);
	assert_string_equal(e.e[0].code, "syntax");
	assert_non_null(strstr(e.e[0].message, "line 1 column"));
	report_cleanup(&r);
}

/* n nested arrays inside the root object. */
static char *nested(int n)
{
	size_t len = 16 + 2 * (size_t)n;
	char *buf = malloc(len);
	size_t off = 0;

	assert_non_null(buf);
	off += (size_t)snprintf(buf, len, "{\"x\":");
	for (int i = 0; i < n; i++)
		buf[off++] = '[';
	for (int i = 0; i < n; i++)
		buf[off++] = ']';
	buf[off++] = '}';
	buf[off] = '\0';
	return buf;
}

static void test_depth(void **state)
{
	struct report r;
	struct report_errors e;
	char *s;

	/* The root object is level 1: 31 arrays inside it reach the cap. */
	s = nested(REPORT_MAX_DEPTH - 1);
	assert_int_equal(parse_text(&plain_ctx, s, strlen(s), &r, &e), GA_ERR_INVAL);
	assert_false(has_err(&e, "", "depth"));
	assert_true(has_err(&e, "/schema", "required")); /* it got to the field rules */
	report_cleanup(&r);
	free(s);

	s = nested(REPORT_MAX_DEPTH);
	expect_whole(s, strlen(s), "depth");
	free(s);
	s = nested(30000); /* 60 kB, under the size cap */
	expect_whole(s, strlen(s), "depth");
	free(s);

	/* Brackets inside strings, escaped quotes included, do not count. */
	json_t *o = base();
	char brackets[REPORT_PLACE_MAX + 1];
	memset(brackets, '[', 100);
	memcpy(brackets + 100, "\\\"{{{{", 6);
	brackets[106] = '\0';
	json_object_set_new(o, "place", json_string(brackets));
	json_object_set_new(o, "trend", json_string("\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\\"));
	expect_ok(&plain_ctx, o);
}

static void test_required(void **state)
{
	static const char *const keys[] = {"schema", "report_id",   "station_id",
					   "kind",   "hazard_type", "observed_at"};
	char path[64];

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		json_t *o = base();
		json_object_del(o, keys[i]);
		snprintf(path, sizeof(path), "/%s", keys[i]);
		expect_one(&plain_ctx, o, path, "required");
	}
	/* All missing at once: all reported. */
	struct report r;
	struct report_errors e;
	assert_int_equal(parse_text(&plain_ctx, "{}", 2, &r, &e), GA_ERR_INVAL);
	assert_int_equal(e.n, 6);
	report_cleanup(&r);
}

static void test_types(void **state)
{
	static const struct {
		const char *key, *json, *path, *code;
	} cases[] = {
	    {"schema", "1", "/schema", "type"},
	    {"schema", "\"geohazard.report/2\"", "/schema", "enum"},
	    {"report_id", "5", "/report_id", "type"},
	    {"report_id", "null", "/report_id", "type"},
	    {"station_id", "[\"a\"]", "/station_id", "type"},
	    {"kind", "true", "/kind", "type"},
	    {"kind", "\"Danger\"", "/kind", "enum"},
	    {"hazard_type", "{}", "/hazard_type", "type"},
	    {"observed_at", "1795675920", "/observed_at", "type"},
	    {"observed_at", "\"2026-11-26T14:52:00\"", "/observed_at", "format"},
	    {"location", "\"here\"", "/location", "type"},
	    {"location", "{\"crs\":\"EPSG:4490\"}", "/location/coordinates", "required"},
	    {"location", "{\"coordinates\":{}}", "/location/coordinates", "type"},
	    {"location", "{\"coordinates\":[1]}", "/location/coordinates", "length"},
	    {"location", "{\"coordinates\":[1,2,3]}", "/location/coordinates", "length"},
	    {"location", "{\"coordinates\":[\"1\",2]}", "/location/coordinates/0", "type"},
	    {"location", "{\"coordinates\":[1,null]}", "/location/coordinates/1", "type"},
	    {"location", "{\"crs\":4490,\"coordinates\":[1,2]}", "/location/crs", "type"},
	    {"location", "{\"crs\":\"WGS84\",\"coordinates\":[1,2]}", "/location/crs", "format"},
	    {"location", "{\"crs\":\"EPSG:\",\"coordinates\":[1,2]}", "/location/crs", "format"},
	    {"location", "{\"crs\":\"EPSG:1234567\",\"coordinates\":[1,2]}", "/location/crs",
	     "format"},
	    {"location", "{\"coordinates\":[181,2]}", "/location/coordinates/0", "range"},
	    {"location", "{\"coordinates\":[-180.5,2]}", "/location/coordinates/0", "range"},
	    {"location", "{\"crs\":\"EPSG:4326\",\"coordinates\":[118,90.1]}",
	     "/location/coordinates/1", "range"},
	    {"place", "7", "/place", "type"},
	    {"causes", "[]", "/causes", "type"},
	    {"trend", "false", "/trend", "type"},
	    {"measures", "{}", "/measures", "type"},
	    {"figures", "[]", "/figures", "type"},
	    {"figures", "{\"deaths\":\"3\"}", "/figures/deaths", "type"},
	    {"figures", "{\"deaths\":true}", "/figures/deaths", "type"},
	    {"figures", "{\"missing\":null}", "/figures/missing", "type"},
	    {"figures", "{\"deaths\":2.5}", "/figures/deaths", "integer"},
	    {"figures", "{\"threatened_people\":0.001}", "/figures/threatened_people", "integer"},
	    {"figures", "{\"relocated_people\":-1}", "/figures/relocated_people", "range"},
	    {"figures", "{\"direct_loss_cny\":-0.01}", "/figures/direct_loss_cny", "range"},
	    {"figures", "{\"threatened_property_cny\":-5}", "/figures/threatened_property_cny",
	     "range"},
	    {"scale", "5", "/scale", "type"},
	    {"scale", "{\"volume_m3\":-1}", "/scale/volume_m3", "range"},
	    {"scale", "{\"area_m2\":\"big\"}", "/scale/area_m2", "type"},
	    {"incident_id", "12", "/incident_id", "type"},
	    {"incident_id", "\"\"", "/incident_id", "format"},
	    {"incident_id", "\"JS_2026\"", "/incident_id", "format"},
	    {"incident_id", "\"JS-20261126-0003-000000000000000\"", "/incident_id", "format"},
	    {"reporter", "\"王某\"", "/reporter", "type"},
	    {"reporter", "{\"name\":1}", "/reporter/name", "type"},
	    {"reporter", "{\"phone\":13800000000}", "/reporter/phone", "type"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *o = base();
		json_t *v = json_loads(cases[i].json, JSON_DECODE_ANY, NULL);
		assert_non_null(v);
		json_object_set_new(o, cases[i].key, v);
		print_message("case %zu: %s = %s\n", i, cases[i].key, cases[i].json);
		expect_one(&plain_ctx, o, cases[i].path, cases[i].code);
	}
}

static void test_accepts(void **state)
{
	static const struct {
		const char *key, *json;
	} cases[] = {
	    {"figures", "{\"deaths\":3.0}"},
	    {"figures", "{\"deaths\":0,\"missing\":0,\"direct_loss_cny\":0.5}"},
	    {"figures", "{\"threatened_people\":1e3}"},
	    {"figures", "{\"other\":\"ignored\"}"},
	    {"incident_id", "\"JS-20261126-000300000000000000\""}, /* 31 characters */
	    {"location", "{\"coordinates\":[180,-90]}"},
	    {"location", "{\"crs\":\"EPSG:4326\",\"coordinates\":[-180,90]}"},
	    {"location", "{\"crs\":\"EPSG:4549\",\"coordinates\":[420005.4,3559577.0]}"},
	    {"reporter", "{}"},
	    {"scale", "{}"},
	    {"observed_at", "\"2026-11-26T06:52:00.25Z\""},
	    {"unknown", "{\"a\":[1,2,{\"b\":null}]}"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *o = base();
		json_object_set_new(o, cases[i].key,
				    json_loads(cases[i].json, JSON_DECODE_ANY, NULL));
		print_message("case %zu: %s = %s\n", i, cases[i].key, cases[i].json);
		expect_ok(&plain_ctx, o);
	}
}

static void test_location_plain(void **state)
{
	struct report r;
	struct report_errors e;
	json_t *o = base();

	json_object_set_new(o, "location", json_pack("{s:[f,f]}", "coordinates", 118.628, 32.0589));
	assert_int_equal(parse_obj(&plain_ctx, o, &r, &e), GA_OK);
	assert_true(r.has_location && r.has_point);
	assert_true(r.lon == 118.628 && r.lat == 32.0589);
	assert_string_equal(r.crs, "EPSG:4490");
	report_cleanup(&r);

	/* Both coordinates out of range: both reported. */
	o = base();
	json_object_set_new(o, "location", json_pack("{s:[i,i]}", "coordinates", 200, -100));
	assert_int_equal(parse_obj(&plain_ctx, o, &r, &e), GA_ERR_INVAL);
	assert_int_equal(e.n, 2);
	assert_true(has_err(&e, "/location/coordinates/0", "range"));
	assert_true(has_err(&e, "/location/coordinates/1", "range"));
	report_cleanup(&r);
}

static char *repeat(const char *unit, size_t n)
{
	size_t ul = strlen(unit);
	char *s = malloc(ul * n + 1);

	assert_non_null(s);
	for (size_t i = 0; i < n; i++)
		memcpy(s + i * ul, unit, ul);
	s[ul * n] = '\0';
	return s;
}

/* member of unit repeated max times is valid; max + 1 times is one
 * "length" error at /member. */
static void expect_length_cap(const char *member, const char *unit, size_t max)
{
	char path[32], *s = repeat(unit, max);

	expect_ok(&plain_ctx, base_with(member, json_string(s)));
	free(s);
	s = repeat(unit, max + 1);
	snprintf(path, sizeof(path), "/%s", member);
	expect_one(&plain_ctx, base_with(member, json_string(s)), path, "length");
	free(s);
}

static void test_lengths(void **state)
{
	struct report r;
	struct report_errors e;
	char *s;

	/* report_id: 64 characters, then 65 (not echoed). */
	s = repeat("a", REPORT_ID_MAX);
	assert_int_equal(parse_obj(&plain_ctx, base_with("report_id", json_string(s)), &r, &e),
			 GA_OK);
	assert_string_equal(r.report_id, s);
	report_cleanup(&r);
	free(s);
	s = repeat("a", REPORT_ID_MAX + 1);
	assert_int_equal(parse_obj(&plain_ctx, base_with("report_id", json_string(s)), &r, &e),
			 GA_ERR_INVAL);
	assert_true(e.n == 1 && has_err(&e, "/report_id", "length"));
	assert_null(r.report_id);
	report_cleanup(&r);
	free(s);
	expect_one(&plain_ctx, base_with("report_id", json_string("")), "/report_id", "length");
	/* Every allowed character, and one that is not. */
	expect_ok(&plain_ctx, base_with("report_id", json_string("AZaz09._:-")));
	expect_one(&plain_ctx, base_with("report_id", json_string("r/1")), "/report_id", "format");
	/* 20 Chinese characters are 60 bytes: not valid characters anyway. */
	assert_int_equal(parse_obj(&plain_ctx, base_with("report_id", json_string("报告")), &r, &e),
			 GA_ERR_INVAL);
	assert_string_equal(r.report_id, "报告");
	report_cleanup(&r);

	/* station_id: same rule. */
	expect_length_cap("station_id", "S", REPORT_ID_MAX);
	expect_one(&plain_ctx, base_with("station_id", json_string("JS 3201")), "/station_id",
		   "format");

	/* place: 200 characters of 3 bytes each (600 bytes) pass; 201 do not. */
	expect_length_cap("place", "村", REPORT_PLACE_MAX);
	/* 4-byte characters count once too. */
	s = repeat("\xf0\x9f\x98\x80", REPORT_PLACE_MAX);
	expect_ok(&plain_ctx, base_with("place", json_string(s)));
	free(s);

	static const char *const texts[] = {"causes", "trend", "measures"};
	for (size_t i = 0; i < 3; i++)
		expect_length_cap(texts[i], "雨", REPORT_TEXT_MAX);
}

static void test_future(void **state)
{
	char t[TIME_TEXT_MAX];
	struct report_context ctx = plain_ctx;

	/* Exactly 10 minutes ahead is allowed; one millisecond more is not. */
	ctx.now_ms = OBSERVED_MS - REPORT_FUTURE_MS;
	expect_ok(&ctx, base());
	ctx.now_ms = OBSERVED_MS - REPORT_FUTURE_MS - 1;
	expect_one(&ctx, base(), "/observed_at", "future");

	/* The same instant in another offset is the same instant. */
	time_format_rfc3339(NOW_MS + REPORT_FUTURE_MS, -330, t, sizeof(t));
	expect_ok(&plain_ctx, base_with("observed_at", json_string(t)));
	time_format_rfc3339(NOW_MS + REPORT_FUTURE_MS + 1000, -330, t, sizeof(t));
	expect_one(&plain_ctx, base_with("observed_at", json_string(t)), "/observed_at", "future");

	/* Old reports are fine (stations catch up after an outage). */
	expect_ok(&plain_ctx, base_with("observed_at", json_string("2001-01-01T00:00:00+08:00")));
	expect_one(&plain_ctx, base_with("observed_at", json_string("2026-02-30T00:00:00+08:00")),
		   "/observed_at", "format");
}

static void test_topic(void **state)
{
	struct report_context ctx = plain_ctx;

	ctx.topic_station = "JS-3201-0007";
	expect_ok(&ctx, base());
	ctx.topic_station = "JS-3201-0008";
	expect_one(&ctx, base(), "/station_id", "station_mismatch");
}

static void test_all_collected(void **state)
{
	struct report r;
	struct report_errors e;
	json_t *o = json_pack("{s:s, s:i, s:s, s:s, s:s, s:s, s:s, s:{s:i, s:f, s:s}, s:[]}",
			      "schema", "x", "report_id", 1, "station_id", "", "kind", "k",
			      "hazard_type", "h", "observed_at", "t", "place", "p", "figures",
			      "deaths", -1, "missing", 0.5, "injured", "x", "scale");

	assert_int_equal(parse_obj(&plain_ctx, o, &r, &e), GA_ERR_INVAL);
	assert_int_equal(e.n, 10);
	assert_false(e.truncated);
	assert_true(has_err(&e, "/schema", "enum"));
	assert_true(has_err(&e, "/report_id", "type"));
	assert_true(has_err(&e, "/station_id", "length"));
	assert_true(has_err(&e, "/kind", "enum"));
	assert_true(has_err(&e, "/hazard_type", "enum"));
	assert_true(has_err(&e, "/observed_at", "format"));
	assert_true(has_err(&e, "/figures/deaths", "range"));
	assert_true(has_err(&e, "/figures/missing", "integer"));
	assert_true(has_err(&e, "/figures/injured", "type"));
	assert_true(has_err(&e, "/scale", "type"));
	assert_null(r.report_id);
	report_cleanup(&r);
}

static void test_errors_add(void **state)
{
	struct report_errors e;
	char big[1024];

	memset(&e, 0, sizeof(e));
	for (int i = 0; i < REPORT_MAX_ERRORS; i++)
		report_errors_add(&e, "/a", "type", "n %d", i);
	assert_int_equal(e.n, REPORT_MAX_ERRORS);
	assert_false(e.truncated);
	report_errors_add(&e, "/b", "type", "one too many");
	assert_int_equal(e.n, REPORT_MAX_ERRORS);
	assert_true(e.truncated);
	assert_string_equal(e.e[REPORT_MAX_ERRORS - 1].message, "n 31");

	/* Long texts are cut on a character boundary. */
	memset(&e, 0, sizeof(e));
	size_t off = 0;
	while (off + 3 < sizeof(big)) {
		memcpy(big + off, "村", 3);
		off += 3;
	}
	big[off] = '\0';
	report_errors_add(&e, big, "a-code-that-is-far-too-long-for-it", "%s", big);
	assert_int_equal(e.n, 1);
	assert_true(strlen(e.e[0].message) <= sizeof(e.e[0].message) - 1);
	assert_int_equal(strlen(e.e[0].message) % 3, 0);
	assert_int_equal(strlen(e.e[0].path) % 3, 0);
	assert_true(strlen(e.e[0].message) > 240);
	assert_int_equal(strlen(e.e[0].code), sizeof(e.e[0].code) - 1);

	json_t *j = report_errors_to_json(&e);
	assert_int_equal(json_array_size(j), 1); /* valid UTF-8, or jansson refuses */
	json_decref(j);
	memset(&e, 0, sizeof(e));
	j = report_errors_to_json(&e);
	assert_true(json_is_array(j) && json_array_size(j) == 0);
	json_decref(j);

	/* Invalid UTF-8 in a message (a quote cut inside a character)
	 * becomes '?', so the receipt still serialises. */
	report_errors_add(&e, "", "syntax", "near '%s'", "\xe5\xbd");
	assert_string_equal(e.e[0].message, "near '?"
					    "?'"); /* no trigraph */
	j = report_errors_to_json(&e);
	assert_non_null(j);
	json_decref(j);
}

/* Found by the fuzzer: jansson's message quoted half a character. */
static void test_syntax_message_utf8(void **state)
{
	static const char text[] = "{\n   \"gard.rev,\\\\\\\xe5\xbd\xa2\xe5\x8d\xa0";
	struct report r;
	struct report_errors e;
	json_t *j;

	assert_int_equal(parse_text(&plain_ctx, text, sizeof(text) - 1, &r, &e), GA_ERR_INVAL);
	assert_int_equal(e.n, 1);
	assert_string_equal(e.e[0].code, "syntax");
	j = report_errors_to_json(&e);
	assert_non_null(j);
	assert_int_equal(json_array_size(j), 1);
	json_decref(j);
	report_cleanup(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_valid_base),	    cmocka_unit_test(test_example_files),
	    cmocka_unit_test(test_example_invalid), cmocka_unit_test(test_size_cap),
	    cmocka_unit_test(test_encoding),	    cmocka_unit_test(test_depth),
	    cmocka_unit_test(test_required),	    cmocka_unit_test(test_types),
	    cmocka_unit_test(test_accepts),	    cmocka_unit_test(test_location_plain),
	    cmocka_unit_test(test_lengths),	    cmocka_unit_test(test_future),
	    cmocka_unit_test(test_topic),	    cmocka_unit_test(test_all_collected),
	    cmocka_unit_test(test_errors_add),	    cmocka_unit_test(test_syntax_message_utf8),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
