/* test_public.c - the public pages (public.h) and the Atom feed (feed.h):
 * everything from the database escaped, cancelled alerts marked 已解除,
 * the drill banner, level colours from a fixed set, no external resource;
 * the feed well-formed with one CAP link per version and its caps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <libxml/parser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "feed.h"
#include "public.h"
#include "text_testutil.h"

static json_t *alert(const char *id, int version, const char *msg_type)
{
	json_t *a = json_pack(
	    "{s:s, s:i, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s,"
	    " s:{s:s, s:s, s:s, s:f, s:f}, s:{s:i}}",
	    "alert_id", id, "version", version, "msg_type", msg_type, "status", "actual", "sender",
	    "江苏省自然资源厅", "sent", "2026-11-26T15:10:00+08:00", "kind", "danger",
	    "hazard_type_zh", "滑坡", "level", "large", "level_zh", "大型", "response_level", "II",
	    "color", "orange", "headline", "【大型滑坡险情】<b>青山村</b> & \"后山\"", "situation",
	    "坡体<script>alert('x')</script>变形", "causes", "", "response", "撤离", "area",
	    "admin_code", "320111", "admin_name", "江苏省南京市浦口区", "place", "浦口区青山村",
	    "lon", 118.62, "lat", 32.06, "figures", "threatened_people", 620);
	assert_non_null(a);
	return a;
}

static const struct public_opts actual = {.sender = "江苏省自然资源厅", .exercise = false};
static const struct public_opts drill = {.sender = "江苏省自然资源厅", .exercise = true};

static void check_common(const char *html)
{
	assert_text_has(html, "<!DOCTYPE html>", "name=\"viewport\"");
	assert_text_lacks(html, "<script", "<b>", "http://", "https://");
	assert_null(strstr(html, "style=")); /* the CSP allows no inline style */
}

static void test_index(void **state)
{
	json_t *list = json_array();
	char *html = NULL;
	size_t len = 0;

	(void)state;
	assert_int_equal(public_index_html(&actual, list, &html, &len), GA_OK);
	assert_non_null(strstr(html, "没有发布"));
	assert_null(strstr(html, "演练"));
	free(html);

	json_array_append_new(list, alert("JS-20261126-0003", 2, "cancel"));
	json_array_append_new(list, alert("JS-20261126-0004", 1, "alert"));
	json_object_set_new(json_array_get(list, 1), "color", json_string("red\" onclick=\"x"));
	assert_int_equal(public_index_html(&actual, list, &html, &len), GA_OK);
	assert_int_equal(strlen(html), len);
	check_common(html);
	assert_text_has(html, "href=\"/alerts/JS-20261126-0003\"",
			"href=\"/alerts/JS-20261126-0004\"",
			"&lt;b&gt;青山村&lt;/b&gt; &amp; &quot;后山&quot;");
	/* the cancelled one is marked, once; the other is not */
	char *lifted = strstr(html, "已解除");
	assert_non_null(lifted);
	assert_true(lifted < strstr(html, "JS-20261126-0004"));
	assert_null(strstr(lifted + 1, "已解除"));
	assert_non_null(strstr(html, "lv-orange cancelled"));
	/* a colour outside the set becomes "none", never markup */
	assert_non_null(strstr(html, "card lv-none\""));
	assert_null(strstr(html, "onclick"));
	free(html);

	assert_int_equal(public_index_html(&drill, list, &html, &len), GA_OK);
	assert_text_has(html, "class=\"drill\"", "<title>【演练】");
	free(html);
	json_decref(list);
}

static void test_alert_page(void **state)
{
	json_t *a = alert("JS-20261126-0003", 2, "update"), *versions = json_array();
	char *html = NULL;
	size_t len = 0;

	(void)state;
	json_array_append_new(versions, alert("JS-20261126-0003", 1, "alert"));
	json_array_append(versions, a);
	assert_int_equal(
	    public_alert_html(&actual, a, versions, "<svg xmlns=\"x\"></svg>", &html, &len), GA_OK);
	check_common(html);
	assert_text_has(html, "坡体&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;变形",
			"<svg xmlns=\"x\"></svg>");
	assert_non_null(strstr(html, "江苏省南京市浦口区青山村")); /* the county not doubled */
	assert_text_has(html, "续报（第2版）", "/alerts/JS-20261126-0003/v1.xml",
			"/alerts/JS-20261126-0003/v2.json", "620人");
	assert_null(strstr(html, "发生原因")); /* empty causes: no section */
	assert_null(strstr(html, "已解除"));
	free(html);

	json_object_set_new(a, "msg_type", json_string("cancel"));
	json_object_set_new(a, "kind", json_string("disaster")); /* casualty rows: a 灾情's */
	json_object_set_new(a, "figures",
			    json_pack("{s:i, s:f}", "deaths", 3, "direct_loss_cny", 12500000.0));
	assert_int_equal(public_alert_html(&drill, a, NULL, NULL, &html, &len), GA_OK);
	assert_text_has(html, "lifted-banner", "已解除", "class=\"drill\"", "3人", "1250万元");
	assert_null(strstr(html, "<svg"));
	free(html);

	json_object_del(a, "alert_id");
	assert_int_equal(public_alert_html(&actual, a, NULL, NULL, &html, &len), GA_ERR_INVAL);
	assert_int_equal(public_notfound_html(&actual, &html, &len), GA_OK);
	assert_non_null(strstr(html, "未找到"));
	free(html);
	assert_non_null(strstr(public_css(), ".lv-red"));
	json_decref(versions);
	json_decref(a);
}

static void test_feed(void **state)
{
	struct feed_opts o = {"http://h.example", "标题 <&>", "江苏省自然资源厅",
			      "2026-11-27T08:00:00+08:00"};
	json_t *list = json_array();
	char *xml = NULL;
	size_t len = 0;

	(void)state;
	assert_int_equal(feed_write(&o, list, &xml, &len), GA_OK);
	assert_non_null(strstr(xml, "<updated>2026-11-27T08:00:00+08:00</updated>"));
	assert_null(strstr(xml, "<entry>"));
	free(xml);

	for (int i = 0; i < FEED_ENTRIES_MAX + 5; i++)
		json_array_append_new(
		    list, alert("JS-20261126-0003", FEED_ENTRIES_MAX + 5 - i, "update"));
	json_object_set_new(json_array_get(list, 0), "status", json_string("exercise"));
	json_array_append_new(list, json_pack("{s:s}", "alert_id", "broken"));
	assert_int_equal(feed_write(&o, list, &xml, &len), GA_OK);
	xmlDocPtr doc = xmlReadMemory(xml, (int)len, "feed.xml", NULL, XML_PARSE_NONET);
	assert_non_null(doc);
	xmlFreeDoc(doc);
	int entries = 0;
	for (const char *p = xml; (p = strstr(p, "<entry>")) != NULL; p++)
		entries++;
	assert_int_equal(entries, FEED_ENTRIES_MAX);
	assert_non_null(strstr(xml,
			       "<link rel=\"alternate\" type=\"application/cap+xml\" "
			       "href=\"http://h.example/alerts/JS-20261126-0003/v105.xml\"/>"));
	assert_null(strstr(xml, "/v5.xml\"")); /* past the cap */
	assert_text_has(xml, "<title>【演练】【大型滑坡险情】&lt;b&gt;",
			"<title>标题 &lt;&amp;&gt;</title>",
			"<updated>2026-11-26T15:10:00+08:00</updated>");
	free(xml);
	assert_int_equal(feed_write(&o, NULL, &xml, &len), GA_ERR_INVAL);
	json_decref(list);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_index),
	    cmocka_unit_test(test_alert_page),
	    cmocka_unit_test(test_feed),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	xmlCleanupParser();
	return rc;
}
