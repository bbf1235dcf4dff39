/* test_cap.c - CAP 1.2 of published alerts (cap.h): Alert, Update and
 * Cancel validated against the OASIS schema (tests/data/cap12.xsd) with
 * libxml2, the mapping of spec §6, times with numeric offsets (never Z),
 * references in "sender,identifier,sent" form, drill mode, escaping. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <libxml/parser.h>
#include <libxml/xmlschemas.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cap.h"
#include "cap_testutil.h"

static xmlSchemaPtr schema;

static const char alert_text[] =
    CAPTEST_ALERT_HEAD " \"figures\": {\"threatened_people\": 620},"
		       " \"observed_at\": \"2026-11-26T14:52:00+08:00\","
		       " \"confirmed_at\": \"2026-11-26T15:10:00+08:00\", \"references\": []}";

static int setup(void **state)
{
	(void)state;
	schema = captest_schema_load();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	xmlSchemaFree(schema);
	xmlCleanupParser();
	return 0;
}

static json_t *alert(const char *msg_type, int version)
{
	json_t *a = json_loads(alert_text, 0, NULL);
	assert_non_null(a);
	json_object_set_new(a, "msg_type", json_string(msg_type));
	json_object_set_new(a, "version", json_integer(version));
	return a;
}

/* The document parsed and validated against the OASIS schema. */
static xmlDocPtr parse_valid(const char *xml, size_t len)
{
	xmlDocPtr doc = xmlReadMemory(xml, (int)len, "cap.xml", NULL, XML_PARSE_NONET);
	assert_non_null(doc);
	xmlSchemaValidCtxtPtr vc = xmlSchemaNewValidCtxt(schema);
	assert_non_null(vc);
	int rc = xmlSchemaValidateDoc(vc, doc);
	if (rc != 0)
		fprintf(stderr, "invalid CAP:\n%s\n", xml);
	assert_int_equal(rc, 0);
	xmlSchemaFreeValidCtxt(vc);
	return doc;
}

/* The text of the first node at path (cap: prefix), "" when none. */
static char *xp(xmlDocPtr doc, const char *path)
{
	static char buf[4096];
	xmlXPathContextPtr ctx = xmlXPathNewContext(doc);
	xmlXPathRegisterNs(ctx, BAD_CAST "cap", BAD_CAST CAP_NS);
	xmlXPathObjectPtr r = xmlXPathEvalExpression(BAD_CAST path, ctx);
	buf[0] = '\0';
	if (r && r->nodesetval && r->nodesetval->nodeNr > 0) {
		xmlChar *t = xmlNodeGetContent(r->nodesetval->nodeTab[0]);
		snprintf(buf, sizeof(buf), "%s", (const char *)t);
		xmlFree(t);
	}
	xmlXPathFreeObject(r);
	xmlXPathFreeContext(ctx);
	return buf;
}

static xmlDocPtr write_valid(const json_t *a, const struct cap_ref *refs, int nrefs, char **xml)
{
	size_t len = 0;
	assert_int_equal(cap_write(&opts, a, refs, nrefs, xml, &len), GA_OK);
	assert_int_equal(strlen(*xml), len);
	/* xs:dateTime allows Z; CAP's pattern does not: never write it */
	assert_null(strstr(*xml, ":00Z<"));
	return parse_valid(*xml, len);
}

/* Asserts that each {path, text} of want[n] holds in doc (as xp). */
static void expect_xp(xmlDocPtr doc, const char *const want[][2], size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(xp(doc, want[i][0]), want[i][1]) != 0)
			fail_msg("%s: \"%s\", want \"%s\"", want[i][0], xp(doc, want[i][0]),
				 want[i][1]);
}

/* Frees what a test wrote: the document, its text and the alert. */
static void release(xmlDocPtr doc, char *xml, json_t *a)
{
	xmlFreeDoc(doc);
	free(xml);
	json_decref(a);
}

static void test_alert_mapping(void **state)
{
	json_t *a = alert("alert", 1);
	char *xml = NULL;

	(void)state;
	xmlDocPtr doc = write_valid(a, NULL, 0, &xml);
	const char *const want[][2] = {
	    {"/cap:alert/cap:identifier", "JS-20261126-0003-1"},
	    {"/cap:alert/cap:sender", "alerts.example.gov.cn"},
	    {"/cap:alert/cap:sent", "2026-11-26T15:10:00+08:00"},
	    {"/cap:alert/cap:status", "Actual"},
	    {"/cap:alert/cap:msgType", "Alert"},
	    {"/cap:alert/cap:scope", "Public"},
	    {"/cap:alert/cap:references", ""},
	    {"/cap:alert/cap:incidents", "JS-20261126-0003"},
	    {"//cap:info/cap:language", "zh-CN"},
	    {"//cap:info/cap:category", "Geo"},
	    {"//cap:info/cap:event", "滑坡险情"},
	    {"//cap:info/cap:urgency", "Immediate"},
	    {"//cap:info/cap:severity", "Severe"},
	    {"//cap:info/cap:certainty", "Likely"},
	    {"//cap:info/cap:onset", "2026-11-26T14:52:00+08:00"},
	    {"//cap:info/cap:senderName", "江苏省自然资源厅"},
	    {"//cap:info/cap:headline", "【大型滑坡险情】青山村后山"},
	    {"//cap:info/cap:description", "坡体变形。\n\n连续强降雨。\n\n可能下滑。"},
	    {"//cap:info/cap:instruction", "已撤离。"},
	    {"//cap:info/cap:web", "https://alerts.example.gov.cn/alerts/JS-20261126-0003"},
	    {"//cap:area/cap:areaDesc", "江苏省南京市浦口区永宁街道青山村后山"},
	    {"//cap:area/cap:circle", "32.060000,118.620000 1"},
	    {"//cap:area/cap:geocode/cap:valueName", "GB/T 2260"},
	    {"//cap:area/cap:geocode/cap:value", "320111"},
	    {"//cap:parameter[cap:valueName='response_level']/cap:value", "II"},
	};
	expect_xp(doc, want, sizeof(want) / sizeof(want[0]));
	release(doc, xml, a);
}

static void test_severity_certainty(void **state)
{
	static const char *const levels[][2] = {{"extra_large", "Extreme"},
						{"large", "Severe"},
						{"medium", "Moderate"},
						{"small", "Minor"}};
	(void)state;
	for (size_t i = 0; i < 4; i++) {
		json_t *a = alert("alert", 1);
		char *xml = NULL;
		json_object_set_new(a, "level", json_string(levels[i][0]));
		json_object_set_new(a, "kind", json_string("disaster"));
		xmlDocPtr doc = write_valid(a, NULL, 0, &xml);
		const char *const want[][2] = {
		    {"//cap:info/cap:severity", levels[i][1]},
		    {"//cap:info/cap:certainty", "Observed"},
		    {"//cap:info/cap:event", "滑坡灾情"},
		};
		expect_xp(doc, want, sizeof(want) / sizeof(want[0]));
		release(doc, xml, a);
	}
}

/* kind warning (spec §12, docs/devices.md): the four monitoring levels
 * give severity, urgency and certainty; the event is 监测预警; each
 * message type maps and validates. */
static void test_warning_levels(void **state)
{
	static const char *const levels[][5] = {
	    /* level, severity, urgency, certainty, response_level */
	    {"red", "Extreme", "Immediate", "Likely", "I"},
	    {"orange", "Severe", "Immediate", "Likely", "II"},
	    {"yellow", "Moderate", "Expected", "Possible", "III"},
	    {"blue", "Minor", "Future", "Possible", "IV"},
	};
	static const char *const types[][2] = {
	    {"alert", "Alert"}, {"update", "Update"}, {"cancel", "Cancel"}};
	(void)state;
	for (size_t i = 0; i < 4; i++)
		for (size_t k = 0; k < 3; k++) {
			json_t *a = alert(types[k][0], (int)k + 1);
			char *xml = NULL;
			json_object_set_new(a, "kind", json_string("warning"));
			json_object_set_new(a, "level", json_string(levels[i][0]));
			json_object_set_new(a, "level_zh", json_string("警戒级"));
			json_object_set_new(a, "color", json_string(levels[i][0]));
			json_object_set_new(a, "response_level", json_string(levels[i][4]));
			xmlDocPtr doc = write_valid(a, NULL, 0, &xml);
			const char *const want[][2] = {
			    {"/cap:alert/cap:msgType", types[k][1]},
			    {"//cap:info/cap:category", "Geo"},
			    {"//cap:info/cap:event", "滑坡监测预警"},
			    {"//cap:info/cap:severity", levels[i][1]},
			    {"//cap:info/cap:urgency", levels[i][2]},
			    {"//cap:info/cap:certainty", levels[i][3]},
			    {"//cap:parameter[cap:valueName='level']/cap:value", levels[i][0]},
			    {"//cap:parameter[cap:valueName='color']/cap:value", levels[i][0]},
			};
			expect_xp(doc, want, sizeof(want) / sizeof(want[0]));
			release(doc, xml, a);
		}
	/* A severity name of neither vocabulary is refused, not guessed. */
	json_t *a = alert("alert", 1);
	char *xml = NULL;
	size_t len = 0;
	json_object_set_new(a, "kind", json_string("warning"));
	json_object_set_new(a, "level", json_string("purple"));
	assert_int_equal(cap_write(&opts, a, NULL, 0, &xml, &len), GA_ERR_INVAL);
	assert_null(xml);
	json_decref(a);
}

static void test_update_and_cancel_references(void **state)
{
	struct cap_ref refs[2];
	char *xml = NULL;

	(void)state;
	cap_identifier("JS-20261126-0003", 1, refs[0].identifier, sizeof(refs[0].identifier));
	snprintf(refs[0].sent, sizeof(refs[0].sent), "2026-11-26T15:10:00+08:00");
	cap_identifier("JS-20261126-0003", 2, refs[1].identifier, sizeof(refs[1].identifier));
	snprintf(refs[1].sent, sizeof(refs[1].sent), "2026-11-26T16:00:05+08:00");

	json_t *a = alert("update", 2);
	xmlDocPtr doc = write_valid(a, refs, 1, &xml);
	const char *const want[][2] = {
	    {"/cap:alert/cap:msgType", "Update"},
	    {"/cap:alert/cap:identifier", "JS-20261126-0003-2"},
	    {"/cap:alert/cap:references",
	     "alerts.example.gov.cn,JS-20261126-0003-1,2026-11-26T15:10:00+08:00"},
	};
	expect_xp(doc, want, sizeof(want) / sizeof(want[0]));
	release(doc, xml, a);

	/* a cancel: empty causes and trend, references both versions */
	a = alert("cancel", 3);
	json_object_set_new(a, "causes", json_string(""));
	json_object_set_new(a, "trend", json_string(""));
	doc = write_valid(a, refs, 2, &xml);
	const char *const want2[][2] = {
	    {"/cap:alert/cap:msgType", "Cancel"},
	    {"/cap:alert/cap:references",
	     "alerts.example.gov.cn,JS-20261126-0003-1,2026-11-26T15:10:00+08:00 "
	     "alerts.example.gov.cn,JS-20261126-0003-2,2026-11-26T16:00:05+08:00"},
	    {"//cap:info/cap:description", "坡体变形。"},
	};
	expect_xp(doc, want2, sizeof(want2) / sizeof(want2[0]));
	release(doc, xml, a);
}

static void test_exercise_escaping_unknown_point(void **state)
{
	json_t *a = alert("alert", 1);
	char *xml = NULL;

	(void)state;
	json_object_set_new(a, "status", json_string("exercise"));
	json_object_set_new(a, "headline", json_string("a < b & \"c\" \x01 ]]> 演练"));
	json_t *area = json_object_get(a, "area");
	json_object_set_new(area, "lon", json_null());
	json_object_set_new(area, "lat", json_null());
	json_object_set_new(area, "admin_code", json_string(""));
	json_object_set_new(area, "place", json_string("江苏省南京市浦口区某村"));
	xmlDocPtr doc = write_valid(a, NULL, 0, &xml);
	const char *const want[][2] = {
	    {"/cap:alert/cap:status", "Exercise"},
	    {"//cap:info/cap:headline", "a < b & \"c\"   ]]> 演练"},
	    {"//cap:area/cap:circle", ""},
	    {"//cap:area/cap:geocode", ""},
	};
	expect_xp(doc, want, sizeof(want) / sizeof(want[0]));
	/* a place naming its county already is not doubled */
	assert_string_equal(xp(doc, "//cap:area/cap:areaDesc"), "江苏省南京市浦口区某村");
	char buf[64];
	cap_area_desc("江苏省南京市浦口区", "浦口区永宁街道", buf, sizeof(buf));
	assert_string_equal(buf, "江苏省南京市浦口区永宁街道");
	cap_area_desc("江苏省南京市浦口区", "南京市浦口区永宁街道", buf, sizeof(buf));
	assert_string_equal(buf, "江苏省南京市浦口区永宁街道");
	cap_area_desc("江苏省南京市浦口区", "口区永宁", buf, sizeof(buf)); /* not at a unit */
	assert_string_equal(buf, "江苏省南京市浦口区口区永宁");
	cap_area_desc("江苏省南京市浦口区", "", buf, sizeof(buf));
	assert_string_equal(buf, "江苏省南京市浦口区");
	cap_area_desc(NULL, "青山村", buf, sizeof(buf));
	assert_string_equal(buf, "青山村");
	cap_area_desc("江苏省南京市浦口区", "青山村", buf, 10); /* 9 bytes: 3 characters */
	assert_string_equal(buf, "江苏省");
	cap_area_desc("江苏省南京市浦口区", "青山村", buf, 11); /* never half a character */
	assert_string_equal(buf, "江苏省");
	release(doc, xml, a);
}

static void test_refuses_incomplete(void **state)
{
	static const char *const need[] = {"alert_id", "version", "msg_type", "status",
					   "sent",     "kind",	  "level",    "headline"};
	char *xml = NULL;
	size_t len = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
		json_t *a = alert("alert", 1);
		json_object_del(a, need[i]);
		assert_int_equal(cap_write(&opts, a, NULL, 0, &xml, &len), GA_ERR_INVAL);
		json_decref(a);
	}
	/* a time the schema would refuse is refused here first */
	static const char *const bad_sent[] = {
	    "2026-11-26T07:10:00Z", "2026-11-26T15:10:00.5+08:00", "2026-11-26 15:10:00+08:00", ""};
	for (size_t i = 0; i < sizeof(bad_sent) / sizeof(bad_sent[0]); i++) {
		json_t *a = alert("alert", 1);
		json_object_set_new(a, "sent", json_string(bad_sent[i]));
		assert_int_equal(cap_write(&opts, a, NULL, 0, &xml, &len), GA_ERR_INVAL);
		json_decref(a);
	}
	/* and the schema does refuse Z: the check above is not for show */
	json_t *a = alert("alert", 1);
	assert_int_equal(cap_write(&opts, a, NULL, 0, &xml, &len), GA_OK);
	char *at = strstr(xml, "+08:00</sent>");
	assert_non_null(at);
	memcpy(at, "Z</sent>      ", 14);
	xmlDocPtr doc = xmlReadMemory(xml, (int)len, "z.xml", NULL, XML_PARSE_NONET);
	assert_non_null(doc);
	xmlSchemaValidCtxtPtr vc = xmlSchemaNewValidCtxt(schema);
	assert_int_not_equal(xmlSchemaValidateDoc(vc, doc), 0);
	xmlSchemaFreeValidCtxt(vc);
	release(doc, xml, a);

	a = alert("bogus", 1);
	assert_int_equal(cap_write(&opts, a, NULL, 0, &xml, &len), GA_ERR_INVAL);
	json_object_set_new(a, "msg_type", json_string("alert"));
	json_object_set_new(a, "level", json_string("huge"));
	assert_int_equal(cap_write(&opts, a, NULL, 0, &xml, &len), GA_ERR_INVAL);
	json_decref(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_alert_mapping),
	    cmocka_unit_test(test_severity_certainty),
	    cmocka_unit_test(test_warning_levels),
	    cmocka_unit_test(test_update_and_cancel_references),
	    cmocka_unit_test(test_exercise_escaping_unknown_point),
	    cmocka_unit_test(test_refuses_incomplete),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
