/* test_public_guide.c - what the public page tells people to do (issue
 * 10): the 防御指南 section from hazards.txt's "guide" of the alert's
 * hazard type (none on a cancelled page, none without templates), the
 * [alerts] hotline on every page (a tel: link) and its check at config
 * load (at its cap and one past it). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "draft.h"
#include "public.h"
#include "text_testutil.h"

static struct draft_templates *tpl;

static int setup(void **state)
{
	char err[512] = "";

	(void)state;
	if (draft_templates_load(NULL, &tpl, err, sizeof(err)) != GA_OK) {
		fprintf(stderr, "templates: %s\n", err);
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	draft_templates_free(tpl);
	return 0;
}

static json_t *alert(const char *hazard, const char *msg_type)
{
	json_t *a = json_pack(
	    "{s:s, s:i, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s,"
	    " s:{s:s, s:s, s:s}, s:{s:i}}",
	    "alert_id", "JS-20261126-0003", "version", 1, "msg_type", msg_type, "kind", "danger",
	    "hazard_type", hazard, "hazard_type_zh", "崩塌", "level", "large", "level_zh", "大型",
	    "response_level", "II", "color", "orange", "headline", "【大型崩塌险情】句容市",
	    "sender", "江苏省自然资源厅", "area", "admin_code", "321183", "admin_name",
	    "江苏省镇江市句容市", "place", "宝华镇", "figures", "threatened_people", 45);
	assert_non_null(a);
	return a;
}

static char *page(const struct public_opts *o, const json_t *a)
{
	char *html = NULL;
	size_t len = 0;

	assert_int_equal(public_alert_html(o, a, NULL, NULL, &html, &len), GA_OK);
	assert_int_equal(strlen(html), len);
	return html;
}

static void test_guide_by_hazard_type(void **state)
{
	(void)state;
	struct public_opts o = {
	    .sender = "江苏省自然资源厅", .hotline = "0511-87654321", .templates = tpl};
	json_t *a = alert("collapse", "alert");
	char *html = page(&o, a);

	/* the collapse guide, one item per "；", each ending in "。" */
	assert_text_has(html, "<section class=\"guide\"><h2>防御指南</h2><ul><li>",
			"<li>不在陡崖、危岩体下方停留、避雨或通行，不进入警戒区。</li>",
			"<a href=\"tel:0511-87654321\">0511-87654321</a>");
	assert_text_lacks(html, "；</li>", "<li></li>", "沟谷");
	/* every item of the guide is on the page */
	const char *g = draft_templates_guide(tpl, HAZARD_COLLAPSE);
	assert_true(strlen(g) > 0);
	free(html);
	json_decref(a);

	a = alert("debris_flow", "alert");
	html = page(&o, a);
	assert_text_has(html, "防御指南", "沟谷");
	assert_text_lacks(html, "陡崖");
	free(html);
	json_decref(a);

	/* cancelled: no guide, the hotline still in the footer */
	a = alert("collapse", "cancel");
	html = page(&o, a);
	assert_text_lacks(html, "防御指南");
	assert_text_has(html, "<footer><p class=\"hotline\">", "tel:0511-87654321");
	free(html);
	json_decref(a);

	/* no templates, no hotline: neither */
	struct public_opts bare = {.sender = "江苏省自然资源厅"};
	a = alert("collapse", "alert");
	html = page(&bare, a);
	assert_text_lacks(html, "防御指南", "tel:", "值班电话");
	free(html);
	json_decref(a);
}

static void test_hotline_on_index(void **state)
{
	(void)state;
	struct public_opts o = {.sender = "江苏省自然资源厅", .hotline = "(025) 8333 1234"};
	json_t *list = json_array();
	char *html = NULL;
	size_t len = 0;

	assert_int_equal(public_index_html(&o, list, &html, &len), GA_OK);
	/* spaces and brackets are left out of the tel: link, kept in its text */
	assert_text_has(html, "<a href=\"tel:02583331234\">(025) 8333 1234</a>");
	free(html);
	assert_int_equal(public_notfound_html(&o, &html, &len), GA_OK);
	assert_text_has(html, "tel:02583331234");
	free(html);
	json_decref(list);
}

/* Loads an [alerts] hotline: the error message ("" when it loaded). */
static const char *load_hotline(const char *value, struct config *c)
{
	static char err[1024];
	char path[] = "/tmp/ga-hotline-XXXXXX";
	int fd = mkstemp(path);
	FILE *f;

	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	fprintf(f, "[mqtt]\nurl = mqtt://h:1\n[alerts]\nhotline = %s\n", value);
	fclose(f);
	err[0] = '\0';
	if (config_load(path, c, err, sizeof(err)) == GA_OK)
		assert_string_equal(err, "");
	else
		assert_true(err[0] != '\0');
	unlink(path);
	return err;
}

static void test_hotline_config(void **state)
{
	(void)state;
	struct config *c = calloc(1, sizeof(*c));
	char cap[CONFIG_HOTLINE_MAX + 1];

	assert_non_null(c);
	config_defaults(c);
	assert_string_equal(c->alerts.hotline, "");
	assert_string_equal(load_hotline("0511-87654321", c), "");
	assert_string_equal(c->alerts.hotline, "0511-87654321");
	assert_string_equal(load_hotline("12336", c), "");
	assert_string_equal(load_hotline("+86 (25) 8333 1234", c), "");
	assert_text_has(load_hotline("call 12336", c), "[alerts] hotline", "telephone number");
	assert_text_has(load_hotline("12", c), "at least 3 digits");
	assert_text_has(load_hotline("0511<b>", c), "[alerts] hotline");
	/* the cap: CONFIG_HOTLINE_MAX - 1 bytes load, one more does not */
	memset(cap, '1', CONFIG_HOTLINE_MAX - 1);
	cap[CONFIG_HOTLINE_MAX - 1] = '\0';
	assert_string_equal(load_hotline(cap, c), "");
	assert_string_equal(c->alerts.hotline, cap);
	cap[CONFIG_HOTLINE_MAX - 1] = '1';
	cap[CONFIG_HOTLINE_MAX] = '\0';
	assert_text_has(load_hotline(cap, c), "hotline");
	free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_guide_by_hazard_type),
	    cmocka_unit_test(test_hotline_on_index),
	    cmocka_unit_test(test_hotline_config),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
