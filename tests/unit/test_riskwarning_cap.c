/* test_riskwarning_cap.c - the CAP 1.2 of a risk warning product, valid
 * against the OASIS schema: one <info> per public level present, one
 * <geocode> per county, polygons closed, at most 100 points, "lat,lon";
 * blue nowhere when yellow is the least public level. */
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <libxml/xmlschemas.h>

#include "cap.h"
#include "riskwarning_cap.h"
#include "riskwarning_outline.h"

#define NOW_MS INT64_C(1796635800000)

static xmlSchemaPtr schema;
static struct geo *geo;

static int setup(void **state)
{
	char path[1024], err[512];
	const char *src = getenv("GA_SOURCE_DIR");
	struct geo_options opt;

	snprintf(path, sizeof(path), "%s/tests/data/cap12.xsd", src ? src : GA_DATADIR);
	xmlSchemaParserCtxtPtr pc = xmlSchemaNewParserCtxt(path);
	assert_non_null(pc);
	schema = xmlSchemaParse(pc);
	xmlSchemaFreeParserCtxt(pc);
	assert_non_null(schema);
	memset(&opt, 0, sizeof(opt));
	opt.service_area = "32";
	geo = geo_new(&opt, err, sizeof(err));
	if (geo == NULL)
		fail_msg("geo_new: %s", err);
	return 0;
}

static int teardown(void **state)
{
	xmlSchemaFree(schema);
	xmlCleanupParser();
	geo_free(geo);
	return 0;
}

/* The example (optionally with its areas replaced), as stored. */
static json_t *product(json_t *areas)
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
	if (areas != NULL)
		json_object_set_new(o, "areas", areas);
	text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	assert_int_equal(riskwarning_parse(&ctx, text, strlen(text), &w, &e), GA_OK);
	p = riskwarning_product_json(&w, geo);
	assert_non_null(p);
	riskwarning_cleanup(&w);
	free(text);
	return p;
}

static struct riskwarning_cap_opts opts(enum riskwarning_level min, const char *msg_type)
{
	return (struct riskwarning_cap_opts){.sender = "alerts.example.gov.cn",
					     .base_url = "https://alerts.example.gov.cn",
					     .publish_min = min,
					     .version = 1,
					     .msg_type = msg_type,
					     .sent = "2026-12-07T18:00:00+08:00"};
}

static xmlDocPtr parse_valid(const char *xml, size_t len)
{
	xmlDocPtr doc = xmlReadMemory(xml, (int)len, "cap.xml", NULL, XML_PARSE_NONET);
	assert_non_null(doc);
	xmlSchemaValidCtxtPtr vc = xmlSchemaNewValidCtxt(schema);
	assert_non_null(vc);
	int rc = xmlSchemaValidateDoc(vc, doc);
	assert_int_equal(rc, 0);
	xmlSchemaFreeValidCtxt(vc);
	return doc;
}

static int count(xmlDocPtr doc, const char *path)
{
	xmlXPathContextPtr ctx = xmlXPathNewContext(doc);
	xmlXPathRegisterNs(ctx, BAD_CAST "cap", BAD_CAST CAP_NS);
	xmlXPathObjectPtr r = xmlXPathEvalExpression(BAD_CAST path, ctx);
	int n = r && r->type == XPATH_NUMBER ? (int)r->floatval : -1;
	xmlXPathFreeObject(r);
	xmlXPathFreeContext(ctx);
	return n;
}

/* Every polygon: closed, 4..100 pairs, each "lat,lon" within Jiangsu
 * (lat 30..36, lon 116..122: a swapped pair falls outside). */
static void check_polygons(xmlDocPtr doc)
{
	xmlXPathContextPtr ctx = xmlXPathNewContext(doc);
	xmlXPathRegisterNs(ctx, BAD_CAST "cap", BAD_CAST CAP_NS);
	xmlXPathObjectPtr r = xmlXPathEvalExpression(BAD_CAST "//cap:polygon", ctx);
	assert_non_null(r);
	assert_true(r->nodesetval && r->nodesetval->nodeNr > 0);
	for (int i = 0; i < r->nodesetval->nodeNr; i++) {
		xmlChar *t = xmlNodeGetContent(r->nodesetval->nodeTab[i]);
		char *save = NULL, *first = NULL, *last = NULL;
		int pairs = 0;
		for (char *tok = strtok_r((char *)t, " ", &save); tok;
		     tok = strtok_r(NULL, " ", &save)) {
			double lat, lon;
			assert_int_equal(sscanf(tok, "%lf,%lf", &lat, &lon), 2);
			assert_true(lat > 30 && lat < 36 && lon > 116 && lon < 122);
			if (!first)
				first = tok;
			last = tok;
			pairs++;
		}
		assert_true(pairs >= 4 && pairs <= 100);
		assert_string_equal(first, last);
		xmlFree(t);
	}
	xmlXPathFreeObject(r);
	xmlXPathFreeContext(ctx);
}

static void test_example(void **state)
{
	json_t *p = product(NULL);
	struct riskwarning_cap_opts o = opts(RISKWARNING_YELLOW, "Alert");
	char *xml;
	size_t len;
	int ninfo;

	assert_int_equal(riskwarning_cap_write(&o, p, geo, &xml, &len, &ninfo), GA_OK);
	assert_int_equal(ninfo, 3);
	xmlDocPtr doc = parse_valid(xml, len);
	assert_int_equal(count(doc, "count(//cap:info)"), 3);
	assert_int_equal(count(doc, "count(//cap:info[cap:severity='Extreme']//cap:geocode)"), 1);
	assert_int_equal(count(doc, "count(//cap:info[cap:severity='Severe']//cap:geocode)"), 2);
	assert_int_equal(count(doc, "count(//cap:info[cap:severity='Moderate']//cap:geocode)"), 2);
	assert_int_equal(count(doc, "count(//cap:info[cap:severity='Minor'])"), 0);
	assert_int_equal(count(doc, "count(//cap:geocode[cap:valueName='GB/T 2260'])"), 5);
	assert_int_equal(count(doc, "count(//cap:info[cap:urgency='Expected' and "
				    "cap:certainty='Likely' and cap:category='Geo' and "
				    "cap:onset='2026-12-07T20:00:00+08:00' and "
				    "cap:expires='2026-12-08T20:00:00+08:00'])"),
			 3);
	assert_int_equal(count(doc, "count(//cap:references)"), 0);
	check_polygons(doc);
	/* the blue county (321181) is nowhere in the public document */
	assert_null(strstr(xml, "321181"));
	assert_non_null(strstr(xml, "江苏省自然资源厅、江苏省气象局"));
	assert_non_null(strstr(xml, "<identifier>JS-FX-20261207-01-1</identifier>"));
	print_message("example CAP: %zu bytes\n", len);
	xmlFreeDoc(doc);
	free(xml);

	/* blue public: four <info>; red only: one. */
	o = opts(RISKWARNING_BLUE, "Alert");
	assert_int_equal(riskwarning_cap_write(&o, p, geo, &xml, &len, &ninfo), GA_OK);
	assert_int_equal(ninfo, 4);
	assert_non_null(strstr(xml, "321181"));
	xmlFreeDoc(parse_valid(xml, len));
	free(xml);
	o = opts(RISKWARNING_RED, "Alert");
	assert_int_equal(riskwarning_cap_write(&o, p, geo, &xml, &len, &ninfo), GA_OK);
	assert_int_equal(ninfo, 1);
	free(xml);
	json_decref(p);
}

static void test_update_cancel(void **state)
{
	json_t *p = product(NULL);
	struct riskwarning_cap_opts o = opts(RISKWARNING_YELLOW, "Update");
	char *xml;
	size_t len;

	o.references = "alerts.example.gov.cn,JS-FX-20261207-00-1,2026-12-07T12:00:00+08:00";
	o.version = 2;
	assert_int_equal(riskwarning_cap_write(&o, p, geo, &xml, &len, NULL), GA_OK);
	xmlDocPtr doc = parse_valid(xml, len);
	assert_int_equal(count(doc, "count(//cap:alert[cap:msgType='Update' and "
				    "cap:references='alerts.example.gov.cn,JS-FX-20261207-00-1,"
				    "2026-12-07T12:00:00+08:00'])"),
			 1);
	xmlFreeDoc(doc);
	free(xml);
	o.msg_type = "Cancel";
	assert_int_equal(riskwarning_cap_write(&o, p, geo, &xml, &len, NULL), GA_OK);
	doc = parse_valid(xml, len);
	assert_int_equal(count(doc, "count(//cap:alert[cap:msgType='Cancel'])"), 1);
	xmlFreeDoc(doc);
	free(xml);
	o.msg_type = "Ack";
	assert_int_equal(riskwarning_cap_write(&o, p, geo, &xml, &len, NULL), GA_ERR_INVAL);
	json_decref(p);
}

/* A product of blue counties only has nothing public; every county of
 * the province at red is one large but valid document. */
static void test_blue_only_and_all(void **state)
{
	json_t *p = product(json_pack("[{s:s, s:[s]}]", "level", "blue", "admin_codes", "3201"));
	struct riskwarning_cap_opts o = opts(RISKWARNING_YELLOW, "Alert");
	char *xml;
	size_t len;
	int ninfo;

	assert_int_equal(riskwarning_cap_write(&o, p, geo, &xml, &len, &ninfo), GA_ERR_INVAL);
	json_decref(p);
	json_t *codes = json_array();
	for (int c = 1; c <= 13; c++) {
		char city[8];
		snprintf(city, sizeof(city), "32%02d", c);
		json_array_append_new(codes, json_string(city));
	}
	p = product(json_pack("[{s:s, s:o}]", "level", "red", "admin_codes", codes));
	assert_int_equal(riskwarning_cap_write(&o, p, geo, &xml, &len, &ninfo), GA_OK);
	xmlDocPtr doc = parse_valid(xml, len);
	assert_int_equal(count(doc, "count(//cap:geocode)"), (int)geo_region_count(geo));
	check_polygons(doc);
	/* every piece of every county (riskwarning_outline.h: the counties
	 * whose outline does not fit 100 points within 200 m are cut) */
	size_t pieces = 0;
	for (size_t i = 0; i < geo_region_count(geo); i++) {
		struct riskwarning_outline *ol;
		assert_int_equal(
		    riskwarning_outline_new(geo, geo_region_get(geo, i)->admin_code, &ol), GA_OK);
		pieces += riskwarning_outline_count(ol);
		riskwarning_outline_free(ol);
	}
	assert_int_equal(count(doc, "count(//cap:polygon)"), (int)pieces);
	assert_true(pieces > geo_region_count(geo));
	print_message("all %zu counties red: %zu bytes, %zu polygons\n", geo_region_count(geo), len,
		      pieces);
	xmlFreeDoc(doc);
	free(xml);
	json_decref(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_example),
	    cmocka_unit_test(test_update_cancel),
	    cmocka_unit_test(test_blue_only_and_all),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
