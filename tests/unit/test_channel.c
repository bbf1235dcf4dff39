/* test_channel.c - the channel types: config keys checked with FILE:LINE,
 * limits and their defaults, DingTalk's and Feishu's signatures against
 * vectors computed independently (Python's hmac), the portal's headers,
 * texts fitted to a byte cap on a character boundary ending in the link,
 * and the robots' answers. */
#include "channel.h"
#include "channel_testutil.h"
#include "draft_template.h"

static void test_config_check(void **state)
{
	struct config *c = new_config();
	char err[512], tok[256];
	struct config_channel *ch;

	write_file("tok", "T0K\n", tok, sizeof(tok));
	ch = add_channel(c, "portal", "portal", "http://127.0.0.1:9/api");
	assert_int_equal(channel_check_all(c, err, sizeof(err)), GA_OK);

	set_kv(ch, "bogus", "1"); /* line 11 */
	assert_int_equal(channel_check_all(c, err, sizeof(err)), GA_ERR_CONFIG);
	assert_non_null(strstr(err, "/etc/geoalert.ini:11:"));
	assert_non_null(strstr(err, "bogus"));

	/* max_bytes is a text type's key, not the portal's */
	snprintf(ch->kv[0].key, sizeof(ch->kv[0].key), "max_bytes");
	assert_int_equal(channel_check_all(c, err, sizeof(err)), GA_ERR_CONFIG);

	snprintf(ch->kv[0].key, sizeof(ch->kv[0].key), "concurrency");
	snprintf(ch->kv[0].value, sizeof(ch->kv[0].value), "0");
	assert_int_equal(channel_check_all(c, err, sizeof(err)), GA_ERR_CONFIG);
	assert_non_null(strstr(err, "concurrency"));
	snprintf(ch->kv[0].value, sizeof(ch->kv[0].value), "65");
	assert_int_equal(channel_check_all(c, err, sizeof(err)), GA_ERR_CONFIG);
	snprintf(ch->kv[0].value, sizeof(ch->kv[0].value), "64");
	assert_int_equal(channel_check_all(c, err, sizeof(err)), GA_OK);

	/* a robot needs its token file; an unknown type is refused */
	ch = add_channel(c, "wc", "wecom", "http://127.0.0.1:9/cgi-bin/webhook/send");
	assert_int_equal(channel_check_all(c, err, sizeof(err)), GA_ERR_CONFIG);
	assert_non_null(strstr(err, "token_file"));
	snprintf(ch->token_file, sizeof(ch->token_file), "%s", tok);
	assert_int_equal(channel_check_all(c, err, sizeof(err)), GA_OK);
	snprintf(ch->url, sizeof(ch->url), "ftp://x");
	assert_int_equal(channel_check_all(c, err, sizeof(err)), GA_ERR_CONFIG);
	snprintf(ch->url, sizeof(ch->url), "http://127.0.0.1:9/cgi-bin/webhook/send");
	ch = add_channel(c, "sms", "carrier_pigeon", "");
	assert_int_equal(channel_check_all(c, err, sizeof(err)), GA_ERR_CONFIG);
	assert_non_null(strstr(err, "carrier_pigeon"));
	c->nchannels--;

	/* an unreadable secret file is an error at check time */
	set_kv(&c->channels[1], "max_bytes", "1000");
	assert_int_equal(channel_check_all(c, err, sizeof(err)), GA_OK);
	ch = add_channel(c, "dt", "dingtalk", "http://127.0.0.1:9/robot/send");
	snprintf(ch->token_file, sizeof(ch->token_file), "%s", tok);
	set_kv(ch, "secret_file", "/nonexistent/secret");
	assert_int_not_equal(channel_check_all(c, err, sizeof(err)), GA_OK);
	free(c);
}

static void test_limits_defaults(void **state)
{
	struct config *c = new_config();
	struct channel_limits l;
	char err[256];
	struct config_channel *ch = add_channel(c, "fs", "feishu", "http://x/");

	assert_int_equal(channel_limits_of(c, ch, &l, err, sizeof(err)), GA_OK);
	assert_int_equal(l.rate_per_min, 100);
	assert_int_equal(l.rate_per_s, 5);
	assert_int_equal(l.concurrency, 4);
	assert_int_equal(l.deadline_ms, 3600 * 1000);
	ch = add_channel(c, "wc", "wecom", "http://x/");
	set_kv(ch, "rate_per_min", "7");
	set_kv(ch, "deadline", "60");
	assert_int_equal(channel_limits_of(c, ch, &l, err, sizeof(err)), GA_OK);
	assert_int_equal(l.rate_per_min, 7);
	assert_int_equal(l.rate_per_s, 0);
	assert_int_equal(l.deadline_ms, 60000);
	assert_int_equal(l.late_ms, 3600 * 1000);
	/* the portal: retried until it answers 2xx (spec §9) */
	ch = add_channel(c, "p", "portal", "http://x/");
	assert_int_equal(channel_limits_of(c, ch, &l, err, sizeof(err)), GA_OK);
	assert_int_equal(l.rate_per_min, 0);
	assert_int_equal(l.deadline_ms, 0);
	/* any channel may go without a deadline, and say when it is late */
	set_kv(ch, "late_after", "120");
	assert_int_equal(channel_limits_of(c, ch, &l, err, sizeof(err)), GA_OK);
	assert_int_equal(l.late_ms, 120000);
	ch = add_channel(c, "f2", "feishu", "http://x/");
	set_kv(ch, "deadline", "0");
	assert_int_equal(channel_limits_of(c, ch, &l, err, sizeof(err)), GA_OK);
	assert_int_equal(l.deadline_ms, 0);
	set_kv(ch, "late_after", "0");
	assert_int_not_equal(channel_limits_of(c, ch, &l, err, sizeof(err)), GA_OK);
	assert_non_null(strstr(err, "late_after"));
	free(c);
}

static json_t *alert_json(size_t textlen)
{
	char *text = malloc(textlen + 1);
	assert_non_null(text);
	/* "滑" is 3 bytes: a cut at any byte count may land inside one */
	for (size_t i = 0; i + 3 <= textlen; i += 3)
		memcpy(text + i, "滑", 3);
	text[textlen - textlen % 3] = '\0';
	json_t *a = json_pack("{s:s, s:s, s:i, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s,"
			      " s:{s:s, s:s}}",
			      "schema", "geohazard.alert/1", "alert_id", "JS-20261126-0003",
			      "version", 1, "msg_type", "alert", "status", "actual", "headline",
			      "【大型滑坡险情】江苏省南京市浦口区", "kind", "danger", "level_zh",
			      "大型", "hazard_type_zh", "滑坡", "color", "orange", "sent",
			      "2026-11-26T15:10:00+08:00", "situation", text, "area", "admin_code",
			      "320111", "admin_name", "江苏省南京市浦口区");
	free(text);
	assert_non_null(a);
	return a;
}

static void test_portal_request(void **state)
{
	struct config *c = new_config();
	struct channel *ch = NULL;
	struct channel_request req;
	struct channel_job j;
	char err[512];
	json_t *a = alert_json(30);

	struct config_channel *cc = add_token_channel(
	    c, "portal", "portal", "http://127.0.0.1:9/api", "ptok", "s3cret-portal\n");
	ch = chtest_open(c, cc);
	job_init(&j, a, 0);
	chtest_request(ch, &j, &req);
	assert_string_equal(req.url, "http://127.0.0.1:9/api");
	assert_true(has_header(&req, "Idempotency-Key: JS-20261126-0003:1"));
	assert_true(has_header(&req, "Authorization: Bearer s3cret-portal"));
	assert_true(has_header(&req, "Content-Type: application/json"));
	json_t *back = json_loadb(req.body, req.bodylen, 0, NULL);
	assert_true(json_equal(back, a));
	json_decref(back);
	channel_request_cleanup(&req);
	/* 2xx and 409 (the key is known) are delivered; others are not */
	assert_int_equal(channel_answer(ch, &j, 201, "", 0, err, sizeof(err)), CHANNEL_DONE);
	assert_int_equal(channel_answer(ch, &j, 409, "", 0, err, sizeof(err)), CHANNEL_DONE);
	assert_int_equal(channel_answer(ch, &j, 500, "", 0, err, sizeof(err)), CHANNEL_RETRY);
	assert_int_equal(channel_answer(ch, &j, 429, "", 0, err, sizeof(err)), CHANNEL_RATE);
	assert_int_equal(channel_answer(ch, &j, 0, "", 0, err, sizeof(err)), CHANNEL_RETRY);
	chtest_end(ch, a, c);
}

static void test_dingtalk_sign(void **state)
{
	struct config *c = new_config();
	struct channel *ch = NULL;
	struct channel_request req;
	struct channel_job j;
	char err[512], sec[256];
	json_t *a = alert_json(30);

	write_file("dsec", "SECabc\n", sec, sizeof(sec));
	struct config_channel *cc =
	    add_token_channel(c, "dt", "dingtalk", "http://h/robot/send", "dtok", "tok en\n");
	set_kv(cc, "secret_file", sec);
	ch = chtest_open(c, cc);
	job_init(&j, a, 0);
	j.now_ms = 1700000000000;
	chtest_request(ch, &j, &req);
	assert_string_equal(req.url,
			    "http://h/robot/send?access_token=tok%20en&timestamp="
			    "1700000000000&sign=jcUpW0QmtKduN03n4JqQ0PBosVjqnM8gU7fIIvsDmCM%3D");
	json_t *b = json_loadb(req.body, req.bodylen, 0, NULL);
	assert_string_equal(json_string_value(json_object_get(b, "msgtype")), "markdown");
	assert_non_null(
	    strstr(json_string_value(json_object_get(json_object_get(b, "markdown"), "text")),
		   "【大型滑坡险情】"));
	json_decref(b);
	channel_request_cleanup(&req);
	assert_int_equal(
	    channel_answer(ch, &j, 200, "{\"errcode\":0,\"errmsg\":\"ok\"}", 27, err, sizeof(err)),
	    CHANNEL_DONE);
	const char *fast = "{\"errcode\":130101,\"errmsg\":\"send too fast\"}";
	assert_int_equal(channel_answer(ch, &j, 200, fast, strlen(fast), err, sizeof(err)),
			 CHANNEL_RATE);
	const char *bad = "{\"errcode\":310000,\"errmsg\":\"sign not match\"}";
	assert_int_equal(channel_answer(ch, &j, 200, bad, strlen(bad), err, sizeof(err)),
			 CHANNEL_RETRY);
	assert_non_null(strstr(err, "310000"));
	assert_int_equal(channel_answer(ch, &j, 200, "nonsense", 8, err, sizeof(err)),
			 CHANNEL_RETRY);
	chtest_end(ch, a, c);
}

static void test_feishu_sign_and_body_cap(void **state)
{
	struct config *c = new_config();
	struct channel *ch = NULL;
	struct channel_request req;
	struct channel_job j;
	char err[512], sec[256];
	json_t *a = alert_json(30000); /* far past 20 KB */

	write_file("fsec", "fs-secret\n", sec, sizeof(sec));
	struct config_channel *cc = add_token_channel(
	    c, "fs", "feishu", "http://h/open-apis/bot/v2/hook", "ftok", "hooktoken\n");
	set_kv(cc, "secret_file", sec);
	ch = chtest_open(c, cc);
	job_init(&j, a, 0);
	j.now_ms = 1700000000123;
	chtest_request(ch, &j, &req);
	assert_string_equal(req.url, "http://h/open-apis/bot/v2/hook/hooktoken");
	assert_true(req.bodylen <= 20480);
	assert_true(req.bodylen > 19000); /* cut, not emptied */
	json_t *b = json_loadb(req.body, req.bodylen, 0, NULL);
	assert_non_null(b);
	assert_string_equal(json_string_value(json_object_get(b, "timestamp")), "1700000000");
	assert_string_equal(json_string_value(json_object_get(b, "sign")),
			    "ognpFOmraex6LA29Ao14dsiNmmjE3YO4x5e/SX8n9Bw=");
	const char *text = json_string_value(json_object_get(
	    json_array_get(json_object_get(json_object_get(b, "card"), "elements"), 0), "content"));
	assert_non_null(text);
	assert_true(draft_utf8_valid(text, strlen(text)));
	const char *link = "…\n\n[查看全文](https://x.example/alerts/JS-20261126-0003)";
	assert_true(strlen(text) > strlen(link));
	assert_string_equal(text + strlen(text) - strlen(link), link);
	json_decref(b);
	channel_request_cleanup(&req);
	const char *ok = "{\"code\":0,\"msg\":\"success\"}";
	assert_int_equal(channel_answer(ch, &j, 200, ok, strlen(ok), err, sizeof(err)),
			 CHANNEL_DONE);
	const char *rate = "{\"code\":11232,\"msg\":\"frequency limited\"}";
	assert_int_equal(channel_answer(ch, &j, 200, rate, strlen(rate), err, sizeof(err)),
			 CHANNEL_RATE);
	chtest_end(ch, a, c);
}

/* WeCom at its cap and one past: the content never exceeds max_bytes,
 * whatever the byte at which a character would be cut. */
static void test_wecom_fits_every_cap(void **state)
{
	struct config *c = new_config();
	json_t *a = alert_json(6000);

	for (int cap = 300; cap <= 303; cap++) {
		struct channel *ch = NULL;
		struct channel_request req;
		struct channel_job j;
		char v[16];
		c->nchannels = 0;
		struct config_channel *cc =
		    add_token_channel(c, "wc", "wecom", "http://h/send?x=1", "wtok", "k\n");
		snprintf(v, sizeof(v), "%d", cap);
		set_kv(cc, "max_bytes", v);
		ch = chtest_open(c, cc);
		job_init(&j, a, 0);
		chtest_request(ch, &j, &req);
		assert_string_equal(req.url, "http://h/send?x=1&key=k");
		json_t *b = json_loadb(req.body, req.bodylen, 0, NULL);
		const char *text =
		    json_string_value(json_object_get(json_object_get(b, "markdown"), "content"));
		assert_non_null(text);
		assert_true(strlen(text) <= (size_t)cap);
		assert_true(strlen(text) >= (size_t)cap - 4);
		assert_true(draft_utf8_valid(text, strlen(text)));
		assert_non_null(
		    strstr(text, "[查看全文](https://x.example/alerts/JS-20261126-0003)"));
		json_decref(b);
		channel_request_cleanup(&req);
		channel_free(ch);
	}
	json_decref(a);
	free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_config_check),
	    cmocka_unit_test(test_limits_defaults),
	    cmocka_unit_test(test_portal_request),
	    cmocka_unit_test(test_dingtalk_sign),
	    cmocka_unit_test(test_feishu_sign_and_body_cap),
	    cmocka_unit_test(test_wecom_fits_every_cap),
	};
	if (!chtest_mkdtemp("/tmp/ga-channel-XXXXXX"))
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
