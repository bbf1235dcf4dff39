/* test_unknown_figures.c - unknown is not zero (spec 1.1 §6; issue 10).
 *
 * A figure no report of the incident gave is null in the alert JSON,
 * absent from CAP, 未报告 (or no row: a 险情 has no casualty rows) on
 * the public page, and never printed as 0 in any channel's text (wecom,
 * dingtalk, feishu, weibo, email text and HTML, wechat_mp, sms). The
 * alerts are made the way the daemon makes them: the draft text composed
 * from the bundled templates, the alert JSON from workflow_alert_json.
 * Also: a cancelled alert's page keeps no 级响应 badge. */
#include <math.h>
#include <sys/stat.h>

#include "cap.h"
#include "channel.h"
#include "channel_internal.h"
#include "channel_testutil.h"
#include "draft.h"
#include "public.h"
#include "text_testutil.h"
#include "workflow_internal.h"

static struct draft_templates *tpl;

static int setup(void **state)
{
	char err[512] = "";

	(void)state;
	if (!chtest_mkdtemp("/tmp/ga-unknown-XXXXXX"))
		return -1;
	if (draft_templates_load(NULL, &tpl, err, sizeof(err)) != GA_OK) {
		fprintf(stderr, "templates: %s\n", err);
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	draft_templates_free(tpl);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void set_fig(struct figures *f, enum figure i, double v)
{
	f->value[i] = v;
	f->set |= 1u << i;
}

/* The published alert JSON (new) of a large collapse incident with figures
 * f, disaster or danger, msg_type "alert" or "cancel", as the daemon
 * makes it: text composed from the bundled templates. */
static json_t *make_alert(const struct figures *f, bool disaster, enum draft_msg_type mt)
{
	struct workflow_ctx ctx = {.sender = "江苏省自然资源厅", .utc_offset_min = 480};
	struct incident inc;
	struct draft_input in;
	struct draft_text t = {0};
	struct store_draft *d = calloc(1, sizeof(*d));
	json_t *a;

	assert_non_null(d);
	memset(&inc, 0, sizeof(inc));
	snprintf(inc.id, sizeof(inc.id), "%s", CHTEST_AID);
	inc.hazard_type = HAZARD_COLLAPSE;
	snprintf(inc.admin_code, sizeof(inc.admin_code), "321183");
	inc.first_observed_ms = 1795675920000; /* 2026-11-26T14:52+08:00 */
	inc.has_disaster = disaster;
	inc.figures = *f;
	inc.level = LEVEL_LARGE;
	draft_input_init(&in, &inc);
	in.msg_type = mt;
	in.admin_name = "江苏省镇江市句容市";
	in.place = "宝华镇采石宕口";
	in.sender = ctx.sender;
	assert_int_equal(draft_compose(tpl, &in, &t), GA_OK);

	snprintf(d->alert_id, sizeof(d->alert_id), "%s", CHTEST_AID);
	d->version = mt == DRAFT_MSG_CANCEL ? 2 : 1;
	snprintf(d->msg_type, sizeof(d->msg_type), "%s", draft_msg_type_name(mt));
	snprintf(d->state, sizeof(d->state), "published");
	d->level = LEVEL_LARGE;
	d->prev_level = -1;
	d->kind = in.kind;
	d->hazard_type = HAZARD_COLLAPSE;
	d->figures = *f;
	snprintf(d->admin_code, sizeof(d->admin_code), "321183");
	snprintf(d->admin_name, sizeof(d->admin_name), "%s", in.admin_name);
	snprintf(d->place, sizeof(d->place), "%s", in.place);
	d->lon = 119.152;
	d->lat = 32.157;
	d->observed_ms = inc.first_observed_ms;
	d->confirmed_ms = d->published_ms = inc.first_observed_ms + 600000;
	snprintf(d->headline, sizeof(d->headline), "%s", t.headline);
	snprintf(d->situation, sizeof(d->situation), "%s", t.situation);
	snprintf(d->causes, sizeof(d->causes), "%s", t.causes);
	snprintf(d->response, sizeof(d->response), "%s", t.response);
	snprintf(d->trend, sizeof(d->trend), "%s", t.trend);
	draft_text_cleanup(&t);
	a = workflow_alert_json(&ctx, d);
	free(d);
	assert_non_null(a);
	return a;
}

/* A 险情 whose reports gave only the threatened figures (the station's
 * registry values: 45 people), and a 灾情 that gave only deaths. */
static json_t *danger_alert(void)
{
	struct figures f = {0};
	set_fig(&f, FIG_THREATENED_PEOPLE, 45);
	set_fig(&f, FIG_THREATENED_PROPERTY_CNY, 60000000);
	return make_alert(&f, false, DRAFT_MSG_ALERT);
}

static json_t *disaster_alert(void)
{
	struct figures f = {0};
	set_fig(&f, FIG_DEATHS, 12);
	return make_alert(&f, true, DRAFT_MSG_ALERT);
}

static void test_json_null_for_unknown(void **state)
{
	(void)state;
	json_t *a = danger_alert();
	json_t *f = json_object_get(a, "figures");

	assert_int_equal(json_object_size(f), FIG_COUNT);
	for (int i = 0; i < FIG_COUNT; i++) {
		json_t *v = json_object_get(f, figure_name((enum figure)i));
		assert_non_null(v);
		if (i == FIG_THREATENED_PEOPLE || i == FIG_THREATENED_PROPERTY_CNY)
			assert_true(json_is_integer(v));
		else
			assert_true(json_is_null(v)); /* not 0 */
	}
	assert_int_equal(json_integer_value(json_object_get(f, "threatened_people")), 45);
	json_decref(a);

	/* a reported 0 stays 0: known, and nothing to do with unknown */
	struct figures z = {0};
	set_fig(&z, FIG_DEATHS, 0);
	a = make_alert(&z, true, DRAFT_MSG_ALERT);
	f = json_object_get(a, "figures");
	assert_true(json_is_integer(json_object_get(f, "deaths")));
	assert_int_equal(json_integer_value(json_object_get(f, "deaths")), 0);
	assert_true(json_is_null(json_object_get(f, "missing")));
	json_decref(a);
}

static char *page_of(const json_t *a)
{
	struct public_opts o = {.sender = "江苏省自然资源厅"};
	char *html = NULL;
	size_t len = 0;

	assert_int_equal(public_alert_html(&o, a, NULL, NULL, &html, &len), GA_OK);
	return html;
}

static void test_page_rows(void **state)
{
	(void)state;
	json_t *a = danger_alert();
	char *html = page_of(a);

	/* a 险情: its threatened rows, no casualty or loss rows, no 0 */
	assert_text_has(html, "<th>威胁人数</th><td>45人</td>",
			"<th>威胁财产</th><td>6000万元</td>");
	assert_text_lacks(html, "<th>死亡", "<th>失踪", "<th>受伤", "<th>直接经济损失",
			  "<th>转移安置", ">0人<", ">0元<", "未报告");
	free(html);
	json_decref(a);

	a = disaster_alert();
	html = page_of(a);
	/* a 灾情: the casualty rows, 未报告 where no report gave one */
	assert_text_has(html, "<th>死亡</th><td>12人</td>",
			"<th>失踪</th><td><span class=\"unknown\">未报告</span></td>",
			"<th>受伤</th><td><span class=\"unknown\">未报告</span></td>",
			"<th>直接经济损失</th><td><span class=\"unknown\">未报告</span></td>");
	assert_text_lacks(html, ">0人<", ">0元<", "<th>威胁人数", "<dt>发现时间");
	assert_text_has(html, "<dt>发生时间</dt><dd>2026-11-26 14:52（UTC+08:00）</dd>");
	free(html);
	json_decref(a);
}

static void test_cap_leaves_unknown_out(void **state)
{
	(void)state;
	struct cap_opts o = {"dnr.js.gov.cn", "https://x.example", 1.0};
	json_t *a = disaster_alert();
	char *xml = NULL;
	size_t len = 0;

	assert_int_equal(cap_write(&o, a, NULL, 0, &xml, &len), GA_OK);
	assert_text_has(xml, "<valueName>deaths</valueName>\n      <value>12</value>");
	assert_text_lacks(xml, "<valueName>missing</valueName>", "<valueName>injured</valueName>",
			  "<valueName>direct_loss_cny</valueName>",
			  "<valueName>threatened_people</valueName>");
	free(xml);
	json_decref(a);

	a = danger_alert();
	assert_int_equal(cap_write(&o, a, NULL, 0, &xml, &len), GA_OK);
	assert_text_has(xml, "<valueName>threatened_people</valueName>\n      <value>45</value>");
	assert_text_lacks(xml, "<valueName>deaths</valueName>");
	free(xml);
	json_decref(a);
}

/* What a channel prints of a danger (only threatened figures known) and a
 * disaster (only deaths known): the known ones, never a 0 or a casualty
 * word for an unknown figure. */
static void check_channel_text(const char *text, bool disaster)
{
	assert_non_null(text);
	assert_text_lacks(text, "0人", "0元", "未造成人员伤亡", "失踪", "受伤", "直接经济损失");
	if (disaster)
		assert_text_has(text, "12人死亡");
	else
		assert_text_has(text, "威胁45人", "潜在经济损失6000万元");
	if (!disaster)
		assert_text_lacks(text, "死亡");
}

/* The template text of channel cc (wecom, dingtalk, feishu, weibo, email)
 * for alert a (new). */
static char *channel_rendered(struct config *c, struct config_channel *cc, const json_t *a)
{
	struct channel *ch = chtest_check_open(c, cc);
	struct channel_job j;
	char err[512] = "", *text = NULL;

	job_init(&j, a, 0);
	if (channel_text(ch, &j, "", "", 20000, &text, err, sizeof(err)) != GA_OK)
		fail_msg("channel_text: %s", err);
	channel_free(ch);
	return text;
}

static void test_markdown_weibo_email_texts(void **state)
{
	(void)state;
	char tok[256], to[256], pw[256];

	write_file("tok", "k\n", tok, sizeof(tok));
	write_file("to", "a@example.org\n", to, sizeof(to));
	write_file("pw", "pa55word\n", pw, sizeof(pw));
	for (int k = 0; k < 2; k++) {
		json_t *a = k ? disaster_alert() : danger_alert();
		static const char *const types[] = {"wecom", "dingtalk", "feishu", "weibo",
						    "email"};
		for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
			struct config *c = new_config();
			struct config_channel *cc;
			if (strcmp(types[i], "weibo") == 0) {
				cc = add_token_channel(c, "wb", "weibo", "http://127.0.0.1:9/2/s",
						       "wbtok", "t\n");
				set_kv(cc, "safe_domain", "x.example");
			} else if (strcmp(types[i], "email") == 0) {
				cc = add_channel(c, "mail", "email", "smtp://127.0.0.1:2525");
				set_kv(cc, "from", "alerts@dnr.example.org");
				set_kv(cc, "to_file", to);
				set_kv(cc, "username", "geoalert");
				set_kv(cc, "secret_file", pw);
			} else {
				cc = add_token_channel(c, types[i], types[i],
						       "http://127.0.0.1:9/s", "tk", "k\n");
			}
			char *text = channel_rendered(c, cc, a);
			check_channel_text(text, k == 1);
			free(text);
			free(c);
		}
		json_decref(a);
	}
}

/* The wechat_mp article's HTML content (its draft/add step). */
static void test_wechat_mp_text(void **state)
{
	(void)state;
	char sec[256], err[256];

	write_file("wxsecret", "APPSECRET-123\n", sec, sizeof(sec));
	for (int k = 0; k < 2; k++) {
		struct config *c = new_config();
		struct config_channel *cc = add_channel(c, "mp", "wechat_mp", "http://h:9/");
		set_kv(cc, "appid", "wxAPPID");
		set_kv(cc, "secret_file", sec);
		set_kv(cc, "thumb_media_id", "THUMB_1");
		struct channel *ch = chtest_check_open(c, cc);
		json_t *a = k ? disaster_alert() : danger_alert();
		struct channel_request req;
		struct channel_job j;

		job_init(&j, a, 1000);
		chtest_request(ch, &j, &req); /* the token */
		channel_request_cleanup(&req);
		assert_int_equal(chtest_answer(ch, &j,
					       "{\"access_token\":\"T\",\"expires_in\":7200}", err,
					       sizeof(err)),
				 CHANNEL_NEXT);
		j.step++;
		chtest_request(ch, &j, &req);
		json_t *b = chtest_body_json(&req);
		check_channel_text(
		    chtest_jstr(json_array_get(json_object_get(b, "articles"), 0), "content"),
		    k == 1);
		json_decref(b);
		channel_request_cleanup(&req);
		chtest_end(ch, a, c);
	}
}

/* The sms parameters, the situation among them (cut to 35 characters). */
static void test_sms_params(void **state)
{
	(void)state;
	char path[600], smsdir[512], err[512] = "";

	snprintf(smsdir, sizeof(smsdir), "%s/sms", dir);
	assert_int_equal(mkdir(smsdir, 0700), 0);
	snprintf(path, sizeof(path), "%s/321183.txt", smsdir);
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	fputs("+8613900000001\n", fp);
	fclose(fp);
	for (int k = 0; k < 2; k++) {
		struct config *c = new_config();
		struct config_channel *cc =
		    add_token_channel(c, "sms", "sms", "http://127.0.0.1:9/sms", "smstok", "g\n");
		set_kv(cc, "template_code", "SMS_1");
		set_kv(cc, "sign_name", "江苏地灾预警");
		set_kv(cc, "recipients_dir", smsdir);
		set_kv(cc, "params", "level=level_zh,what=situation");
		assert_int_equal(channel_check_all(c, err, sizeof(err)), GA_OK);
		struct channel *ch = chtest_open(c, cc);
		json_t *a = k ? disaster_alert() : danger_alert();
		struct channel_request req;
		struct channel_job j;

		job_init(&j, a, 0);
		chtest_request(ch, &j, &req);
		json_t *b = chtest_body_json(&req);
		const char *what = chtest_jstr(json_object_get(b, "params"), "what");
		assert_text_lacks(what, "0人", "0元", "失踪", "受伤", "未造成人员伤亡");
		json_decref(b);
		channel_request_cleanup(&req);
		chtest_end(ch, a, c);
	}
}

/* A cancelled alert's page: 已解除, and no 级响应 badge left over. */
static void test_cancelled_page_has_no_response_badge(void **state)
{
	(void)state;
	struct figures f = {0};
	set_fig(&f, FIG_THREATENED_PEOPLE, 45);
	json_t *a = make_alert(&f, false, DRAFT_MSG_ALERT);
	char *html = page_of(a);

	assert_text_has(html, "<span class=\"badge resp\">II级响应</span>");
	free(html);
	json_decref(a);
	a = make_alert(&f, false, DRAFT_MSG_CANCEL);
	html = page_of(a);
	assert_text_has(html, "<span class=\"badge lifted\">已解除</span>", "lifted-banner");
	assert_text_lacks(html, "级响应", "badge resp");
	free(html);
	json_decref(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_json_null_for_unknown),
	    cmocka_unit_test(test_page_rows),
	    cmocka_unit_test(test_cap_leaves_unknown_out),
	    cmocka_unit_test(test_markdown_weibo_email_texts),
	    cmocka_unit_test(test_wechat_mp_text),
	    cmocka_unit_test(test_sms_params),
	    cmocka_unit_test(test_cancelled_page_has_no_response_badge),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
