/* test_device_frame.c - the data frame parser of spec §12: both example
 * frames, bare JSON, types 3/4, every malformed case as its reason code,
 * and each cap at the cap and one past it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "device_frame.h"
#include "timeutil.h"

/* 2026-12-07T05:30:00Z: an hour after the example's type-2 times. */
#define NOW_MS INT64_C(1796621400000)

static const struct device_frame_context ctx = {.now_ms = NOW_MS};

static unsigned char *read_example(const char *name, size_t *len)
{
	const char *src = getenv("GA_SOURCE_DIR");
	char path[1024];
	FILE *fp;
	static unsigned char buf[4096];

	snprintf(path, sizeof(path), "%s/tests/data/devices/%s", src ? src : GA_DATADIR, name);
	fp = fopen(path, "rb");
	assert_non_null(fp);
	*len = fread(buf, 1, sizeof(buf), fp);
	fclose(fp);
	return buf;
}

/* Wraps json in a header of the given type; returns a malloc'd frame. */
static unsigned char *framed(int type, const char *json, size_t *len)
{
	size_t n = strlen(json);
	unsigned char *f = malloc(n + 3);

	assert_non_null(f);
	f[0] = (unsigned char)type;
	f[1] = (unsigned char)(n >> 8);
	f[2] = (unsigned char)(n & 0xff);
	memcpy(f + 3, json, n);
	*len = n + 3;
	return f;
}

static enum device_frame_reason parse_bytes(const struct device_frame_context *c, const void *p,
					    size_t len, struct device_frame *f)
{
	enum device_frame_reason r;
	ga_err rc = device_frame_parse(c, p, len, f, &r);

	if (r == DEVICE_FRAME_OK || r == DEVICE_FRAME_IGNORED)
		assert_int_equal(rc, GA_OK);
	else
		assert_int_equal(rc, GA_ERR_INVAL);
	if (rc != GA_OK)
		assert_int_equal(f->n_points, 0);
	return r;
}

/* Parses json framed as type (0 = bare) and returns the reason. */
static enum device_frame_reason parse_json(int type, const char *json)
{
	struct device_frame f;
	enum device_frame_reason r;
	size_t len;

	if (type == 0) {
		r = parse_bytes(&ctx, json, strlen(json), &f);
	} else {
		unsigned char *b = framed(type, json, &len);
		r = parse_bytes(&ctx, b, len, &f);
		free(b);
	}
	device_frame_cleanup(&f);
	return r;
}

static const struct device_point *find(const struct device_frame *f, const char *ch,
				       const char *field, int64_t t)
{
	for (size_t i = 0; i < f->n_points; i++)
		if (strcmp(f->points[i].channel, ch) == 0 &&
		    strcmp(f->points[i].field, field) == 0 && f->points[i].t_ms == t)
			return &f->points[i];
	return NULL;
}

static void test_example_type1(void **state)
{
	struct device_frame f;
	size_t len;
	const unsigned char *b = read_example("dp-type1.bin", &len);

	(void)state;
	assert_int_equal(len, 132);
	assert_int_equal(parse_bytes(&ctx, b, len, &f), DEVICE_FRAME_OK);
	assert_int_equal(f.type, 1);
	assert_string_equal(f.device_code, "SK00EA0D1307986");
	assert_int_equal(f.n_channels, 3);
	assert_int_equal(f.n_points, 5);
	assert_float_equal(find(&f, "L1_LF_1", "value", NOW_MS)->value, 10.86, 1e-12);
	assert_float_equal(find(&f, "L3_YL_1", "value", NOW_MS)->value, 2.5, 1e-12);
	assert_float_equal(find(&f, "L3_YL_1", "totalValue", NOW_MS)->value, 88.0, 1e-12);
	assert_float_equal(find(&f, "S1_ZT_1", "ext_power_volt", NOW_MS)->value, 12.1, 1e-12);
	assert_float_equal(find(&f, "S1_ZT_1", "signal_4g", NOW_MS)->value, -71, 1e-12);
	device_frame_cleanup(&f);
	assert_null(f.points);
	/* the same frame from the topic naming its device */
	struct device_frame_context c = {.now_ms = NOW_MS, .topic_device = "SK00EA0D1307986"};
	assert_int_equal(parse_bytes(&c, b, len, &f), DEVICE_FRAME_OK);
	device_frame_cleanup(&f);
	c.topic_device = "SK00EA0D1307987";
	assert_int_equal(parse_bytes(&c, b, len, &f), DEVICE_FRAME_TOPIC_MISMATCH);
	/* the device is still named, for per-device accounting */
	assert_string_equal(f.device_code, "SK00EA0D1307986");
	device_frame_cleanup(&f);
}

static void test_example_type2(void **state)
{
	struct device_frame f;
	size_t len;
	const unsigned char *b = read_example("dp-type2.bin", &len);
	int64_t t1, t2;

	(void)state;
	assert_int_equal(time_parse_rfc3339("2026-12-07T04:30:00Z", &t1, NULL), GA_OK);
	assert_int_equal(time_parse_rfc3339("2026-12-07T04:40:00Z", &t2, NULL), GA_OK);
	assert_int_equal(parse_bytes(&ctx, b, len, &f), DEVICE_FRAME_OK);
	assert_int_equal(f.type, 2);
	assert_int_equal(f.n_channels, 1);
	assert_int_equal(f.n_points, 6);
	assert_float_equal(find(&f, "L1_GP_1", "gpsTotalX", t1)->value, 12.1, 1e-12);
	assert_float_equal(find(&f, "L1_GP_1", "gpsTotalY", t1)->value, -3.4, 1e-12);
	assert_float_equal(find(&f, "L1_GP_1", "gpsTotalZ", t2)->value, -1.2, 1e-12);
	assert_float_equal(find(&f, "L1_GP_1", "gpsTotalX", t2)->value, 12.6, 1e-12);
	device_frame_cleanup(&f);
	/* the example is 10 min old: with the clock 20 min behind it is
	 * > 10 min in the future */
	struct device_frame_context c = {.now_ms = t2 - 10 * 60 * 1000 - 1000};
	assert_int_equal(parse_bytes(&c, b, len, &f), DEVICE_FRAME_FUTURE);
	device_frame_cleanup(&f);
	c.now_ms = t2 - 10 * 60 * 1000; /* exactly 10 min ahead: taken */
	assert_int_equal(parse_bytes(&c, b, len, &f), DEVICE_FRAME_OK);
	device_frame_cleanup(&f);
	/* one byte cut off: the header's length no longer matches */
	assert_int_equal(parse_bytes(&ctx, b, len - 1, &f), DEVICE_FRAME_LENGTH);
	device_frame_cleanup(&f);
}

static void test_bare_json_is_type1(void **state)
{
	struct device_frame f;
	const char *j = " {\"D-1.a\": {\"L4_NW_1\": 3.25, \"L1_QJ_1\": {\"X\": 1, \"angle\": -0.5,"
			"\"note\": \"ok\", \"flag\": true, \"n\": null}}}";

	(void)state;
	assert_int_equal(parse_bytes(&ctx, j, strlen(j), &f), DEVICE_FRAME_OK);
	assert_int_equal(f.type, 1);
	assert_string_equal(f.device_code, "D-1.a");
	assert_int_equal(f.n_points, 3);
	assert_int_equal(f.n_skipped, 3);
	assert_float_equal(find(&f, "L4_NW_1", "value", NOW_MS)->value, 3.25, 0);
	assert_float_equal(find(&f, "L1_QJ_1", "angle", NOW_MS)->value, -0.5, 0);
	device_frame_cleanup(&f);
}

static void test_types_3_4_ignored(void **state)
{
	struct device_frame f;
	const unsigned char t3[] = {3, 0, 2, 'x', 'y'}, t4[] = {4};

	(void)state;
	assert_int_equal(parse_bytes(&ctx, t3, sizeof(t3), &f), DEVICE_FRAME_IGNORED);
	assert_int_equal(f.type, 3);
	assert_int_equal(f.n_points, 0);
	device_frame_cleanup(&f);
	assert_int_equal(parse_bytes(&ctx, t4, sizeof(t4), &f), DEVICE_FRAME_IGNORED);
	assert_int_equal(f.type, 4);
	device_frame_cleanup(&f);
}

static void test_header_cases(void **state)
{
	struct device_frame f;
	const unsigned char one[] = {1}, two[] = {2, 0}, zero_len[] = {1, 0, 0};
	const unsigned char t0[] = {0, 0, 2, '{', '}'}, t5[] = {5, 0, 2, '{', '}'};
	const char *j = "{\"D\":{\"L1_LF_1\":1}}";
	size_t len;
	unsigned char *b = framed(1, j, &len);

	(void)state;
	assert_int_equal(parse_bytes(&ctx, "", 0, &f), DEVICE_FRAME_EMPTY);
	assert_int_equal(parse_bytes(&ctx, one, 1, &f), DEVICE_FRAME_SHORT_HEADER);
	assert_int_equal(parse_bytes(&ctx, two, 2, &f), DEVICE_FRAME_SHORT_HEADER);
	assert_int_equal(parse_bytes(&ctx, zero_len, 3, &f), DEVICE_FRAME_BAD_JSON);
	assert_int_equal(parse_bytes(&ctx, t0, sizeof(t0), &f), DEVICE_FRAME_BAD_TYPE);
	assert_int_equal(parse_bytes(&ctx, t5, sizeof(t5), &f), DEVICE_FRAME_BAD_TYPE);
	assert_int_equal(parse_bytes(&ctx, b, len, &f), DEVICE_FRAME_OK);
	device_frame_cleanup(&f);
	/* length says one more / one less than there is */
	b[2]++;
	assert_int_equal(parse_bytes(&ctx, b, len, &f), DEVICE_FRAME_LENGTH);
	b[2] -= 2;
	assert_int_equal(parse_bytes(&ctx, b, len, &f), DEVICE_FRAME_LENGTH);
	b[2]++;
	b[1] = 1; /* the high byte counts */
	assert_int_equal(parse_bytes(&ctx, b, len, &f), DEVICE_FRAME_LENGTH);
	free(b);
	device_frame_cleanup(&f);
}

static void test_bad_json_and_shape(void **state)
{
	(void)state;
	assert_int_equal(parse_json(1, "{\"D\":{\"L1_LF_1\":1}"), DEVICE_FRAME_BAD_JSON);
	assert_int_equal(parse_json(0, "hello"), DEVICE_FRAME_BAD_JSON);
	assert_int_equal(parse_json(1, "{\"D\":{\"L1_LF_1\":1,\"L1_LF_1\":2}}"),
			 DEVICE_FRAME_BAD_JSON);
	assert_int_equal(parse_json(1, "{\"D\xff\":{\"L1_LF_1\":1}}"), DEVICE_FRAME_BAD_JSON);
	assert_int_equal(parse_json(1, "{\"D\":{\"L1_LF_1\":\"1\\u0000\"}}"),
			 DEVICE_FRAME_BAD_JSON);
	assert_int_equal(parse_json(1, "[1]"), DEVICE_FRAME_BAD_SHAPE);
	assert_int_equal(parse_json(1, "{}"), DEVICE_FRAME_BAD_SHAPE);
	assert_int_equal(parse_json(1, "{\"D\":{},\"E\":{}}"), DEVICE_FRAME_BAD_SHAPE);
	assert_int_equal(parse_json(1, "{\"D\":[1]}"), DEVICE_FRAME_BAD_SHAPE);
	assert_int_equal(parse_json(1, "{\"D\":{\"L1_LF_1\":[1]}}"), DEVICE_FRAME_BAD_SHAPE);
	assert_int_equal(parse_json(1, "{\"D\":{\"L1_LF_1\":{\"value\":{\"a\":1}}}}"),
			 DEVICE_FRAME_BAD_SHAPE);
	assert_int_equal(parse_json(1, "{\"D\":{\"L1 LF\":1}}"), DEVICE_FRAME_BAD_SHAPE);
	assert_int_equal(parse_json(1, "{\"D\":{\"L1_LF_1\":{\"va-lue\":1}}}"),
			 DEVICE_FRAME_BAD_SHAPE);
	assert_int_equal(parse_json(1, "{\"D/E\":{\"L1_LF_1\":1}}"), DEVICE_FRAME_BAD_SHAPE);
	assert_int_equal(parse_json(1, "{\"\":{\"L1_LF_1\":1}}"), DEVICE_FRAME_BAD_SHAPE);
	/* type 2 wants timestamped values */
	assert_int_equal(parse_json(2, "{\"D\":{\"L1_LF_1\":1}}"), DEVICE_FRAME_BAD_SHAPE);
	/* an empty device or channel is well-formed and carries nothing */
	assert_int_equal(parse_json(1, "{\"D\":{}}"), DEVICE_FRAME_OK);
}

static void test_nonfinite(void **state)
{
	(void)state;
	assert_int_equal(parse_json(1, "{\"D\":{\"L1_LF_1\":NaN}}"), DEVICE_FRAME_NONFINITE);
	assert_int_equal(parse_json(1, "{\"D\":{\"L1_LF_1\":Infinity}}"), DEVICE_FRAME_NONFINITE);
	assert_int_equal(parse_json(1, "{\"D\":{\"L1_LF_1\":-Infinity}}"), DEVICE_FRAME_NONFINITE);
	assert_int_equal(parse_json(0, "{\"D\":{\"L1_LF_1\":{\"value\":1e999}}}"),
			 DEVICE_FRAME_NONFINITE);
	assert_int_equal(parse_json(2, "{\"D\":{\"L1_LF_1\":{\"2026-12-07T04:30:00Z\":-1e400}}}"),
			 DEVICE_FRAME_NONFINITE);
	/* the largest finite double is finite; NaN inside a string is text */
	assert_int_equal(parse_json(1, "{\"D\":{\"L1_LF_1\":1.7976931348623157e308}}"),
			 DEVICE_FRAME_OK);
	assert_int_equal(parse_json(1, "{\"D\":{\"S1_ZT_1\":{\"s\":\"NaN\"}}}"), DEVICE_FRAME_OK);
}

static void test_times(void **state)
{
	(void)state;
	static const char *const bad[] = {
	    "2026-12-07T04:30:00",
	    "2026-12-07 04:30:00Z",
	    "2026-13-07T04:30:00Z",
	    "2026-02-30T04:30:00Z",
	    "yesterday",
	    "1796617800000",
	    "2026-12-07T24:00:00Z",
	    "",
	};
	char j[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(j, sizeof(j), "{\"D\":{\"L1_LF_1\":{\"%s\":1}}}", bad[i]);
		print_message("%s\n", bad[i]);
		assert_int_equal(parse_json(2, j), DEVICE_FRAME_BAD_TIME);
	}
	/* offsets are read: 13:39:59+08:00 is 05:39:59Z, 9 min 59 s ahead */
	assert_int_equal(parse_json(2, "{\"D\":{\"L1_LF_1\":{\"2026-12-07T13:39:59+08:00\":1}}}"),
			 DEVICE_FRAME_OK);
	assert_int_equal(
	    parse_json(2, "{\"D\":{\"L1_LF_1\":{\"2026-12-07T13:40:00.001+08:00\":1}}}"),
	    DEVICE_FRAME_FUTURE);
	/* one bad time refuses the whole frame */
	assert_int_equal(parse_json(2, "{\"D\":{\"L1_LF_1\":{\"2026-12-07T04:30:00Z\":1,"
				       "\"2026-12-07T04:30:00\":2}}}"),
			 DEVICE_FRAME_BAD_TIME);
}

static void test_cap_bytes(void **state)
{
	struct device_frame f;
	const char *j = "{\"D\":{\"L1_LF_1\":1}}";
	size_t n = strlen(j);
	char *b = malloc(DEVICE_FRAME_MAX_BYTES + 1);

	(void)state;
	assert_non_null(b);
	memcpy(b, j, n);
	memset(b + n, ' ', DEVICE_FRAME_MAX_BYTES + 1 - n);
	assert_int_equal(parse_bytes(&ctx, b, DEVICE_FRAME_MAX_BYTES, &f), DEVICE_FRAME_OK);
	device_frame_cleanup(&f);
	assert_int_equal(parse_bytes(&ctx, b, DEVICE_FRAME_MAX_BYTES + 1, &f),
			 DEVICE_FRAME_TOO_BIG);
	device_frame_cleanup(&f);
	free(b);
}

/* {"D":{"C0":1,...}} with n channels, or one channel of n fields */
static char *many(size_t n, int fields)
{
	size_t cap = 64 + n * 24, off = 0;
	char *s = malloc(cap);

	assert_non_null(s);
	off += (size_t)snprintf(s + off, cap - off, fields ? "{\"D\":{\"C\":{" : "{\"D\":{");
	for (size_t i = 0; i < n; i++)
		off += (size_t)snprintf(s + off, cap - off, "%s\"%s%zu\":%zu", i ? "," : "",
					fields ? "f" : "C", i, i);
	snprintf(s + off, cap - off, fields ? "}}}" : "}}");
	assert_true(off + 4 <= cap);
	return s;
}

static void test_cap_channels_points(void **state)
{
	char *s;

	(void)state;
	s = many(DEVICE_FRAME_MAX_CHANNELS, 0);
	assert_int_equal(parse_json(1, s), DEVICE_FRAME_OK);
	free(s);
	s = many(DEVICE_FRAME_MAX_CHANNELS + 1, 0);
	assert_int_equal(parse_json(1, s), DEVICE_FRAME_TOO_MANY);
	free(s);
	s = many(DEVICE_FRAME_MAX_POINTS, 1);
	assert_int_equal(parse_json(0, s), DEVICE_FRAME_OK);
	free(s);
	s = many(DEVICE_FRAME_MAX_POINTS + 1, 1);
	assert_int_equal(parse_json(0, s), DEVICE_FRAME_TOO_MANY);
	free(s);
}

static void test_cap_names(void **state)
{
	char dev[DEVICE_CODE_MAX + 2], ch[DEVICE_CHANNEL_MAX + 2], fl[DEVICE_FIELD_MAX + 2];
	char j[512];

	(void)state;
	memset(dev, 'A', sizeof(dev));
	memset(ch, 'C', sizeof(ch));
	memset(fl, 'f', sizeof(fl));
	dev[DEVICE_CODE_MAX] = ch[DEVICE_CHANNEL_MAX] = fl[DEVICE_FIELD_MAX] = '\0';
	snprintf(j, sizeof(j), "{\"%s\":{\"%s\":{\"%s\":1}}}", dev, ch, fl);
	assert_int_equal(parse_json(1, j), DEVICE_FRAME_OK);
	dev[DEVICE_CODE_MAX] = 'A';
	dev[DEVICE_CODE_MAX + 1] = '\0';
	snprintf(j, sizeof(j), "{\"%s\":{\"%s\":{\"%s\":1}}}", dev, ch, fl);
	assert_int_equal(parse_json(1, j), DEVICE_FRAME_BAD_SHAPE);
	dev[DEVICE_CODE_MAX] = '\0';
	ch[DEVICE_CHANNEL_MAX] = 'C';
	ch[DEVICE_CHANNEL_MAX + 1] = '\0';
	snprintf(j, sizeof(j), "{\"%s\":{\"%s\":{\"%s\":1}}}", dev, ch, fl);
	assert_int_equal(parse_json(1, j), DEVICE_FRAME_BAD_SHAPE);
	ch[DEVICE_CHANNEL_MAX] = '\0';
	fl[DEVICE_FIELD_MAX] = 'f';
	fl[DEVICE_FIELD_MAX + 1] = '\0';
	snprintf(j, sizeof(j), "{\"%s\":{\"%s\":{\"%s\":1}}}", dev, ch, fl);
	assert_int_equal(parse_json(1, j), DEVICE_FRAME_BAD_SHAPE);
}

static void test_reason_names(void **state)
{
	(void)state;
	for (int r = 0; r < DEVICE_FRAME_REASON_COUNT; r++) {
		const char *n = device_frame_reason_name((enum device_frame_reason)r);
		assert_non_null(n);
		assert_string_not_equal(n, "unknown");
		for (int s = 0; s < r; s++)
			assert_string_not_equal(
			    n, device_frame_reason_name((enum device_frame_reason)s));
	}
	assert_string_equal(device_frame_reason_name(DEVICE_FRAME_REASON_COUNT), "unknown");
	assert_string_equal(device_frame_reason_name(DEVICE_FRAME_LENGTH), "length_mismatch");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_example_type1),      cmocka_unit_test(test_example_type2),
	    cmocka_unit_test(test_bare_json_is_type1), cmocka_unit_test(test_types_3_4_ignored),
	    cmocka_unit_test(test_header_cases),       cmocka_unit_test(test_bad_json_and_shape),
	    cmocka_unit_test(test_nonfinite),	       cmocka_unit_test(test_times),
	    cmocka_unit_test(test_cap_bytes),	       cmocka_unit_test(test_cap_channels_points),
	    cmocka_unit_test(test_cap_names),	       cmocka_unit_test(test_reason_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
