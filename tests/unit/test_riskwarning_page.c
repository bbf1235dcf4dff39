/* test_riskwarning_page.c - the public forms of a risk warning: blue
 * (below the public level) in none, every text escaped and without
 * bidirectional controls, the map with one path per region and the
 * counties coloured by level. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "feed.h"
#include "riskwarning_page.h"

#define NOW_MS INT64_C(1796635800000)

static struct geo *geo;

static int setup(void **state)
{
	struct geo_options opt;
	char err[512];

	memset(&opt, 0, sizeof(opt));
	opt.service_area = "32";
	geo = geo_new(&opt, err, sizeof(err));
	if (geo == NULL)
		fail_msg("geo_new: %s", err);
	return 0;
}

static int teardown(void **state)
{
	geo_free(geo);
	return 0;
}

static json_t *product(const char *advice)
{
	const char *src = getenv("GA_SOURCE_DIR");
	const struct riskwarning_context ctx = {.geo = geo, .now_ms = NOW_MS};
	struct riskwarning w;
	struct report_errors e;
	char path[1024];
	json_t *o, *p;
	char *text;

	snprintf(path, sizeof(path), "%s/tests/data/riskwarning.json", src ? src : GA_DATADIR);
	o = json_load_file(path, 0, NULL);
	assert_non_null(o);
	json_object_set_new(o, "advice", json_string(advice));
	text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	assert_int_equal(riskwarning_parse(&ctx, text, strlen(text), &w, &e), GA_OK);
	p = riskwarning_product_json(&w, geo);
	assert_non_null(p);
	riskwarning_cleanup(&w);
	free(text);
	return p;
}

static size_t occurrences(const char *s, const char *what)
{
	size_t n = 0;

	for (const char *p = s; (p = strstr(p, what)) != NULL; p += strlen(what))
		n++;
	return n;
}

static void test_public_forms(void **state)
{
	/* an LRM mark (allowed in a product, removed from what is published) */
	json_t *p = product("<script>alert(1)</script> 撤离\xE2\x80\x8E & 转移");
	json_t *pub = riskwarning_page_json(p, 1, "published", "2026-12-07T18:00:00+08:00",
					    RISKWARNING_YELLOW);
	char *svg, *html, *text;
	size_t svglen, len;

	assert_non_null(pub);
	text = json_dumps(pub, 0);
	assert_null(strstr(text, "321181")); /* the blue county */
	assert_null(strstr(text, "\xE2\x80\x8E"));
	assert_int_equal(json_array_size(json_object_get(pub, "levels")), 3);
	free(text);

	assert_int_equal(riskwarning_page_svg(pub, geo, &svg, &svglen), GA_OK);
	assert_int_equal(occurrences(svg, "<path"), geo_region_count(geo));
	assert_int_equal(occurrences(svg, "fill=\"#d32f2f\""), 1);
	assert_int_equal(occurrences(svg, "fill=\"#f57c00\""), 2);
	assert_int_equal(occurrences(svg, "fill=\"#fbc02d\""), 2);
	assert_int_equal(occurrences(svg, "fill=\"#1976d2\""), 0);
	assert_non_null(strstr(svg, "aria-labelledby=\"rwmap-title\""));
	assert_null(strstr(svg, "data-code")); /* the public map names no code */
	{ /* the console's map: every county's path carries its code */
		char *coded;
		size_t codedlen;
		assert_int_equal(riskwarning_page_svg_coded(pub, geo, &coded, &codedlen), GA_OK);
		assert_int_equal(strlen(coded), codedlen);
		assert_int_equal(occurrences(coded, "<path data-code=\""), geo_region_count(geo));
		assert_non_null(strstr(coded, "data-code=\"321181\""));
		assert_int_equal(occurrences(coded, "fill=\"#d32f2f\""), 1);
		free(coded);
	}

	assert_int_equal(riskwarning_page_html(pub, svg, "江苏省自然资源厅", true, &html, &len),
			 GA_OK);
	assert_int_equal(strlen(html), len);
	assert_null(strstr(html, "<script>"));
	assert_non_null(strstr(html, "&lt;script&gt;alert(1)&lt;/script&gt; 撤离 &amp; 转移"));
	assert_non_null(strstr(html, "演练"));
	assert_non_null(strstr(html, "南京市江宁区"));
	assert_null(strstr(html, "321181"));
	assert_non_null(strstr(html, "2026-12-07T20:00:00+08:00"));
	free(html);

	/* The front page's section: nothing for none, a card per product. */
	json_t *list = json_array();
	char *idx;
	size_t idxlen;
	assert_int_equal(riskwarning_page_index_html(list, &idx, &idxlen), GA_OK);
	assert_int_equal(idxlen, 0);
	assert_string_equal(idx, "");
	free(idx);
	json_array_append(list, pub);
	assert_int_equal(riskwarning_page_index_html(list, &idx, &idxlen), GA_OK);
	assert_non_null(strstr(idx, "href=\"/warnings/JS-FX-20261207-01\""));
	assert_int_equal(occurrences(idx, "class=\"badge lv-"), 3);
	assert_non_null(strstr(idx, "card lv-red"));
	free(idx);
	json_decref(list);

	/* Its Atom entry, marked expired; the feed still well-formed. */
	json_t *pubs = json_array();
	json_object_set_new(pub, "state", json_string("expired"));
	json_array_append(pubs, pub);
	struct feed_opts fo = {"https://h.example", "标题", "江苏省自然资源厅",
			       "2026-12-07T18:00:00+08:00"};
	char *feed;
	size_t feedlen;
	json_t *none = json_array();
	assert_int_equal(feed_write_all(&fo, pubs, none, &feed, &feedlen), GA_OK);
	json_decref(none);
	assert_non_null(strstr(feed, "<id>https://h.example/warnings/JS-FX-20261207-01.xml</id>"));
	assert_non_null(strstr(feed, "【已过有效期】"));
	assert_non_null(strstr(feed, "term=\"expired\""));
	free(feed);
	json_decref(pubs);

	/* publish_min red: one level; blue: four. */
	json_decref(pub);
	pub = riskwarning_page_json(p, 1, "published", "", RISKWARNING_RED);
	assert_int_equal(json_array_size(json_object_get(pub, "levels")), 1);
	json_decref(pub);
	pub = riskwarning_page_json(p, 1, "published", "", RISKWARNING_BLUE);
	assert_int_equal(json_array_size(json_object_get(pub, "levels")), 4);
	json_decref(pub);
	free(svg);
	json_decref(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_public_forms),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
