/* test_geojson.c - the feature-by-feature FeatureCollection walk: what it
 * passes to the callback, the top-level checks (type, features, duplicate
 * and foreign keys), and syntax errors reported on the same line as
 * jansson reports them when it parses the whole text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "geojson.h"

#define PATH "regions.test"
#define SEEN_MAX 16

static char errbuf[512];

struct seen {
	size_t n;
	size_t index[SEEN_MAX];
	json_t *feature[SEEN_MAX]; /* references taken */
	size_t stop_at;		   /* fail at this index (SIZE_MAX: never) */
};

static ga_err collect(json_t *f, size_t index, void *arg, char *err, size_t errlen)
{
	struct seen *s = arg;

	if (index == s->stop_at) {
		snprintf(err, errlen, "%s: feature %zu: stopped", PATH, index);
		return GA_ERR_INVAL;
	}
	assert_true(s->n < SEEN_MAX);
	s->index[s->n] = index;
	s->feature[s->n++] = json_incref(f);
	return GA_OK;
}

static void seen_clear(struct seen *s)
{
	for (size_t i = 0; i < s->n; i++)
		json_decref(s->feature[i]);
	memset(s, 0, sizeof(*s));
	s->stop_at = SIZE_MAX;
}

static ga_err walk(const char *text, struct seen *s)
{
	seen_clear(s);
	errbuf[0] = '\0';
	return geojson_each_feature(PATH, text, strlen(text), collect, s, errbuf, sizeof(errbuf));
}

/* Features of every JSON kind, foreign members holding brackets and
 * quotes in strings, "type" after "features", all JSON whitespace. */
static void test_valid(void **state)
{
	static const char text[] =
	    " \r\n\t{ \"features\" :\n[ {\"a\":{\"b\":[1,\"]}\"]}} ,2,\"s\\\"]\" , "
	    "[3,[4]],null\r\n] ,"
	    "\"bbox\":[1,2,{\"x\":\"}\"}],\"x\\\"y\":{\"y\":\"}\\\"]{\",\"z\":[]},"
	    "\"name\":\"a\\\\\",\"n\":-1.5e3,\"t\":true,\"type\":\"FeatureCollection\"}\n\t ";
	struct seen s = {0};
	json_t *want;
	json_error_t jerr;

	assert_int_equal(walk(text, &s), GA_OK);
	assert_int_equal(s.n, 5);
	for (size_t i = 0; i < s.n; i++)
		assert_int_equal(s.index[i], i);
	want = json_loads("[{\"a\":{\"b\":[1,\"]}\"]}},2,\"s\\\"]\",[3,[4]],null]", 0, &jerr);
	assert_non_null(want);
	for (size_t i = 0; i < s.n; i++)
		assert_true(json_equal(s.feature[i], json_array_get(want, i)));
	json_decref(want);

	assert_int_equal(walk("{\"type\":\"FeatureCollection\",\"features\":[]}", &s), GA_OK);
	assert_int_equal(s.n, 0);
	assert_int_equal(walk("{\"type\":\"FeatureCollection\",\"features\":[ \n ]}", &s), GA_OK);
	assert_int_equal(s.n, 0);
	seen_clear(&s);
}

static void test_not_feature_collection(void **state)
{
	static const char *const cases[] = {
	    "{}",
	    "[1]",
	    "\"x\"",
	    "{\"type\":\"Feature\",\"features\":[]}",
	    "{\"features\":[],\"type\":\"Feature\"}",
	    "{\"type\":\"FeatureCollection\"}",
	    "{\"features\":[]}",
	    "{\"type\":\"FeatureCollection\",\"features\":{}}",
	    "{\"type\":\"FeatureCollection\",\"features\":null}",
	    "{\"type\":1,\"features\":[]}",
	    "{\"type\":\"featurecollection\",\"features\":[]}",
	    "{\"TYPE\":\"FeatureCollection\",\"features\":[]}",
	};
	struct seen s = {0};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(walk(cases[i], &s), GA_ERR_CONFIG);
		if (strcmp(errbuf, PATH ": not a GeoJSON FeatureCollection") != 0)
			fail_msg("case %zu: \"%s\"", i, errbuf);
	}
	seen_clear(&s);
}

static void test_duplicates(void **state)
{
	static const char *const cases[] = {
	    "{\"type\":\"FeatureCollection\",\"features\":[],\"type\":\"x\"}",
	    "{\"features\":[],\"type\":\"FeatureCollection\",\"features\":[]}",
	    "{\"type\":\"FeatureCollection\",\"features\":[],\"typ\\u0065\":\"FeatureCollection\"}",
	    "{\"type\":\"FeatureCollection\",\"x\":1,\"features\":[],\"x\":2}",
	    "{\"type\":\"FeatureCollection\",\"features\":[],\"a/b\":1,\"a\\/b\":2}",
	    "{\"type\":\"FeatureCollection\",\"features\":[{\"a\":1,\"a\":2}]}",
	    "{\"type\":\"FeatureCollection\",\"features\":[],\"x\":{\"a\":1,\"a\":2}}",
	};
	struct seen s = {0};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(walk(cases[i], &s), GA_ERR_CONFIG);
		if (strstr(errbuf, "duplicate") == NULL ||
		    strncmp(errbuf, PATH ":1:", strlen(PATH ":1:")) != 0)
			fail_msg("case %zu: \"%s\"", i, errbuf);
	}
	/* A key that is a prefix of another is a different key. */
	assert_int_equal(walk("{\"type\":\"FeatureCollection\",\"features\":[],\"a\":1,\"ab\":2,"
			      "\"a\\/b\":3,\"type2\":4}",
			      &s),
			 GA_OK);
	seen_clear(&s);
}

/* Each text is malformed JSON: the walk must fail with "PATH:LINE:" where
 * LINE is what json_loadb says for the whole text. */
static void test_syntax_lines(void **state)
{
	static const char *const cases[] = {
	    "",
	    "   \n  ",
	    "not json",
	    "{",
	    "\n\n{\"type\"",
	    "{\"type\":\"FeatureCollection\",\n\"features\":[\n{\"a\":1},\n{\"a\":\n1,}\n]}",
	    "{\"type\":\"FeatureCollection\",\n\"features\":[\n{\"a\":1}\n\n{\"b\":2}]}",
	    "{\"type\":\"FeatureCollection\",\"features\":[]}\n\nx",
	    "{\"type\":\"FeatureCollection\",\"features\":[]}\n\n{}",
	    "{\"type\":\"FeatureCollection\"\n\"features\":[]}",
	    "{\"type\":\"FeatureCollection\",\"features\":[1,\n]}",
	    "{\"type\":\"FeatureCollection\",\"features\":[\n{\"a\":\"x\ny\"}]}",
	    "{\"type\":\"FeatureCollection\",\"features\":[],}",
	    "{\"type\" \"FeatureCollection\"}",
	    "{\"type\":\"FeatureCollection\",\"features\":[]",
	    "{\"type\":\"FeatureCollection\",\"features\":[\n{}",
	    "{\"type\":\"FeatureCollection\",\"features\":[1 2]}",
	    "{\"type\":\"FeatureCollection\",\"features\":[],\"x\":tru}",
	    "{\"type\":\"FeatureCollection\",\"features\":[],\n 5:1}",
	    "{\"type\":\"FeatureCollection\",\"features\":[],\"x\":\"\\q\"}",
	    "{\"type\":\"FeatureCollection\",\"features\":[\"\\u0000\"]}",
	    "{\"type\":\"FeatureCollection\",\"features\":[\"\\ud800\"]}",
	    "{\"type\":\"FeatureCollection\",\"features\":[],\"x\":\"\xff\"}",
	    "\xef\xbb\xbf{\"type\":\"FeatureCollection\",\"features\":[]}",
	    "{\"type\":\"FeatureCollection\",\"features\":[1e999]}",
	    "{\"type\":\"FeatureCollection\",\"features\"\n:[{\"a\":[1,2}]}",
	    "{\"type\":\"FeatureCollection\",\"features\":[\n\n01]}",
	};
	struct seen s = {0};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_error_t jerr;
		json_t *doc = json_loads(cases[i], JSON_REJECT_DUPLICATES, &jerr);
		char want[64];

		if (doc != NULL)
			fail_msg("case %zu is valid JSON", i);
		snprintf(want, sizeof(want), "%s:%d: ", PATH, jerr.line);
		assert_int_equal(walk(cases[i], &s), GA_ERR_CONFIG);
		if (strncmp(errbuf, want, strlen(want)) != 0)
			fail_msg("case %zu: \"%s\", jansson says line %d: %s", i, errbuf, jerr.line,
				 jerr.text);
	}
	seen_clear(&s);
}

/* Bytes after the object, NUL included, are refused. */
static void test_trailing_nul(void **state)
{
	static const char text[] = "{\"type\":\"FeatureCollection\",\"features\":[]}\0";
	struct seen s = {0};

	seen_clear(&s);
	assert_int_equal(
	    geojson_each_feature(PATH, text, sizeof(text) - 1, collect, &s, errbuf, sizeof(errbuf)),
	    GA_ERR_CONFIG);
	assert_non_null(strstr(errbuf, "end of file expected"));
	/* Only the given length is read: the same bytes cut before the NUL pass. */
	assert_int_equal(
	    geojson_each_feature(PATH, text, sizeof(text) - 2, collect, &s, errbuf, sizeof(errbuf)),
	    GA_OK);
	seen_clear(&s);
}

/* The callback's error stops the walk and comes back as is. */
static void test_callback_stops(void **state)
{
	struct seen s = {0};

	seen_clear(&s);
	s.stop_at = 1;
	errbuf[0] = '\0';
	assert_int_equal(
	    geojson_each_feature(PATH,
				 "{\"type\":\"FeatureCollection\",\"features\":[{},{},"
				 "{}]}",
				 strlen("{\"type\":\"FeatureCollection\",\"features\":[{},"
					"{},{}]}"),
				 collect, &s, errbuf, sizeof(errbuf)),
	    GA_ERR_INVAL);
	assert_int_equal(s.n, 1);
	assert_string_equal(errbuf, PATH ": feature 1: stopped");
	/* A wrong "type" before "features" is found before any feature. */
	seen_clear(&s);
	assert_int_equal(walk("{\"type\":\"Feature\",\"features\":[{}]}", &s), GA_ERR_CONFIG);
	assert_int_equal(s.n, 0);
	seen_clear(&s);
}

/* Nesting past jansson's depth limit inside a feature: an error, no crash. */
static void test_deep(void **state)
{
	const char *head = "{\"type\":\"FeatureCollection\",\"features\":[";
	size_t depth = 5000, len = strlen(head) + 2 * depth + 3;
	char *text = malloc(len + 1);
	struct seen s = {0};
	size_t n = 0;

	assert_non_null(text);
	memcpy(text, head, strlen(head));
	n = strlen(head);
	for (size_t i = 0; i < depth; i++)
		text[n++] = '[';
	for (size_t i = 0; i < depth; i++)
		text[n++] = ']';
	memcpy(text + n, "]}", 3);
	assert_int_equal(walk(text, &s), GA_ERR_CONFIG);
	assert_non_null(strstr(errbuf, "depth"));
	free(text);
	seen_clear(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_valid),	 cmocka_unit_test(test_not_feature_collection),
	    cmocka_unit_test(test_duplicates),	 cmocka_unit_test(test_syntax_lines),
	    cmocka_unit_test(test_trailing_nul), cmocka_unit_test(test_callback_stops),
	    cmocka_unit_test(test_deep),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
