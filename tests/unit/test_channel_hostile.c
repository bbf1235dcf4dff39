/* test_channel_hostile.c - one shared set of hostile texts, put in every
 * text of an alert (headline, situation, causes, response, trend, place,
 * admin name, sender), run through every channel type's renderer: the
 * robots' markdown (wecom, dingtalk, feishu: body and title), the WeChat
 * article (HTML content, title, author, digest), the e-mail (text and
 * HTML parts, subject, From name), the Weibo status and the SMS
 * parameters. Whatever the text holds, the output carries no markup but
 * the template's own (counted against a benign alert), no link but
 * geoalert's, no mention, no bidirectional or C0 control, and the words
 * are still there to read. (The mqtt and portal types send the alert JSON
 * itself, data to their consumers; its bidi controls are stripped where
 * it is made, workflow_alert_json: test_text_choke below.) */
#include <errno.h>
#include <sodium.h>
#include <sys/stat.h>

#define CHTEST_BASE_URL "https://alerts.example.gov.cn"
#include "channel.h"
#include "channel_internal.h"
#include "channel_testutil.h"
#include "store.h"
#include "text.h"
#include "workflow_internal.h"

static const char *const hostile[] = {
    /* the probe's place */
    "[紧急：点此查看撤离路线](http://evil.example/phish) ![t](http://evil.example/track.png) "
    "<font color=\"warning\">假消息</font>",
    "<@all> 请全体注意",
    "<at user_id=\"all\">所有人</at> 请注意",
    "@所有人 @13800000000 紧急",
    "<script>alert(1)</script>脚本",
    "[点我](javascript:alert(1)) 链接",
    "&lt;font color=\"warning\"&gt;实体&lt;/font&gt; &amp;",
    "`代码` | 列 | 表 |\n|---|---|",
    "第一行\n# 标题\n> 引用\n- 列表\n+ 列表\n====\n   ## 缩进标题",
    "\xe2\x80\xae"
    "倒序\xe2\x80\xac \xe2\x81\xa6隔离\xe2\x81\xa9 \xe2\x80\x8f"
    "1 2 "
    "\xd8\x9c"
    "数字\xe2\x80\x8e",
    "**粗体** __下划__ ~~删除~~ \\*转义\\* *斜*",
    "www.evil.example 与 evil.example/x 与 #话题# 与 $股票$ [哈哈]",
    "<img src=x onerror=alert(1)>图片\r\n回车\t制表\x01控制",
};
#define NHOSTILE (sizeof(hostile) / sizeof(hostile[0]))

/* The words of each hostile text that must still be read. */
static const char *const words[NHOSTILE] = {
    "点此查看撤离路线", "请全体注意", "所有人", "所有人", "脚本", "点我", "实体", "代码",
    "缩进标题",		"隔离",	      "粗体",	"话题",	  "回车",
};

static char smsdir[600];

static json_t *alert_of(const char *t)
{
	json_t *a = json_pack(
	    "{s:s, s:s, s:i, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s,"
	    " s:s, s:s, s:s, s:s, s:{s:s, s:s, s:s}, s:[]}",
	    "schema", "geohazard.alert/1", "alert_id", CHTEST_AID, "version", 1, "msg_type",
	    "alert", "status", "actual", "headline", t, "kind", "danger", "level_zh", "大型",
	    "hazard_type_zh", "滑坡", "response_level", "II", "color", "orange", "sent",
	    "2026-11-26T15:10:00+08:00", "sender", t, "situation", t, "causes", t, "response", t,
	    "trend", t, "area", "admin_code", "320111", "admin_name", t, "place", t, "references");
	assert_non_null(a);
	return a;
}

/* --- what comes out ------------------------------------------------- */

/* One rendered text of one channel: where it goes and how it reads. */
enum out_kind { OUT_MARKDOWN, OUT_HTML, OUT_TEXT, OUT_WEIBO };

static size_t count(const char *s, const char *sub)
{
	size_t n = 0;
	for (const char *p = s; (p = strstr(p, sub)) != NULL; p += strlen(sub))
		n++;
	return n;
}

static size_t count_chars(const char *s, const char *set)
{
	size_t n = 0;
	for (; *s; s++)
		if (strchr(set, *s) != NULL)
			n++;
	return n;
}

/* Lines (after a line break and blanks) starting with one of set. */
static size_t count_line_starts(const char *s, const char *set)
{
	size_t n = 0;
	for (const char *p = s; p != NULL && *p; p = strchr(p, '\n')) {
		if (*p == '\n')
			p++;
		while (*p == ' ')
			p++;
		if (*p && strchr(set, *p) != NULL)
			n++;
	}
	return n;
}

/* out (of hostile text i) against ref (the same channel and field for a
 * benign alert): the same markup, nothing live from the text. */
static void check_out(const char *what, enum out_kind k, size_t i, const char *out, const char *ref)
{
	print_message("  %s\n", what);
	/* no foreign link, whatever the syntax */
	if (strstr(out, "evil.example") || strstr(out, "://evil") || strstr(out, "javascript:"))
		fail_msg("%s, text %zu: a live link survives:\n%s", what, i, out);
	/* no bidirectional control, no C0 control but line breaks */
	for (const char *p = out; *p; p++) {
		if (text_bidi_len(p) != 0)
			fail_msg("%s, text %zu: a bidi control survives at %zu", what, i,
				 (size_t)(p - out));
		if ((unsigned char)*p < 0x20 && *p != '\n' && *p != '\r')
			fail_msg("%s, text %zu: control 0x%02x survives", what, i, *p);
	}
	switch (k) {
	case OUT_MARKDOWN:
		/* the markup characters are the template's alone */
		if (count_chars(out, "[]<>*_~#|&@`\\") != count_chars(ref, "[]<>*_~#|&@`\\") ||
		    count(out, "](") != count(ref, "](") ||
		    count_line_starts(out, "#>-+=|") != count_line_starts(ref, "#>-+=|"))
			fail_msg(
			    "%s, text %zu: markup from the text survives:\n%s\n--- benign:\n%s",
			    what, i, out, ref);
		break;
	case OUT_HTML:
		/* tags but the <br> a line break of the text becomes */
		if (count_chars(out, "<>") - 2 * count(out, "<br>") !=
			count_chars(ref, "<>") - 2 * count(ref, "<br>") ||
		    count(out, "href=") != count(ref, "href="))
			fail_msg("%s, text %zu: a tag from the text survives:\n%s", what, i, out);
		break;
	case OUT_WEIBO:
		if (count_chars(out, "@#[]$") != count_chars(ref, "@#[]$"))
			fail_msg("%s, text %zu: a mention, topic or tag survives:\n%s", what, i,
				 out);
		break;
	case OUT_TEXT:
		break;
	}
	/* still readable: the words are there (in the bodies; titles,
	 * names, digests, statuses and SMS parameters are cut short) */
	if ((strstr(what, "content") || strstr(what, "text") || strstr(what, "lark_md")) &&
	    strstr(out, words[i]) == NULL)
		fail_msg("%s, text %zu: \"%s\" is gone:\n%s", what, i, words[i], out);
}

/* --- the channels --------------------------------------------------- */

enum { CH_WECOM, CH_DINGTALK, CH_FEISHU, CH_WMP, CH_EMAIL, CH_WEIBO, CH_SMS, CH_COUNT };

static struct config *config_all(void)
{
	struct config *c = new_config();
	struct config_channel *cc;
	char sec[256], to[256], pw[256], path[700];

	add_token_channel(c, "wc", "wecom", "http://127.0.0.1:9/cgi-bin/webhook/send", "wctok",
			  "K\n");
	add_token_channel(c, "dt", "dingtalk", "http://127.0.0.1:9/robot/send", "dttok", "T\n");
	add_token_channel(c, "fs", "feishu", "http://127.0.0.1:9/hook/", "fstok", "H\n");
	write_file("wxsecret", "S\n", sec, sizeof(sec));
	cc = add_channel(c, "mp", "wechat_mp", "http://h:9/");
	set_kv(cc, "appid", "wxAPPID");
	set_kv(cc, "secret_file", sec);
	set_kv(cc, "thumb_media_id", "THUMB_1");
	write_file("to", "ops@dnr.example.org\n", to, sizeof(to));
	write_file("smtppw", "pw\n", pw, sizeof(pw));
	cc = add_channel(c, "mail", "email", "smtp://127.0.0.1:2525");
	set_kv(cc, "from", "alerts@dnr.example.org");
	set_kv(cc, "to_file", to);
	cc = add_token_channel(c, "weibo", "weibo", "http://127.0.0.1:9/2/statuses/share.json",
			       "wbtok", "W\n");
	set_kv(cc, "safe_domain", "example.gov.cn");
	snprintf(smsdir, sizeof(smsdir), "%s/sms", dir);
	assert_true(mkdir(smsdir, 0700) == 0 || errno == EEXIST);
	snprintf(path, sizeof(path), "%s/320111.txt", smsdir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("+8613900000000\n", f);
	fclose(f);
	cc = add_token_channel(c, "sms", "sms", "http://127.0.0.1:9/sms/send", "smstok", "G\n");
	set_kv(cc, "template_code", "SMS_1");
	set_kv(cc, "sign_name", "江苏地灾预警");
	set_kv(cc, "recipients_dir", smsdir);
	set_kv(cc, "params", "what=situation,place=place,name=admin_name,who=sender");
	return c;
}

/* The value of an x-www-form-urlencoded key, decoded (new). */
static char *form_get(const char *body, const char *key)
{
	size_t kl = strlen(key);
	const char *p = strstr(body, key);
	assert_non_null(p);
	assert_true(p[kl] == '=');
	p += kl + 1;
	char *out = calloc(1, strlen(p) + 1), *o = out;
	for (; *p && *p != '&'; p++) {
		if (*p == '%') {
			char hex[3] = {p[1], p[2], 0};
			*o++ = (char)strtol(hex, NULL, 16);
			p += 2;
		} else {
			*o++ = *p;
		}
	}
	return out;
}

/* The base64 body of the MIME part of type, decoded (new). */
static char *mime_part(const char *msg, const char *type)
{
	char want[64];
	snprintf(want, sizeof(want), "Content-Type: %s", type);
	const char *p = strstr(msg, want);
	assert_non_null(p);
	p = strstr(p, "\r\n\r\n") + 4;
	const char *e = strstr(p, "\r\n--");
	assert_non_null(e);
	char *out = calloc(1, (size_t)(e - p) + 1);
	size_t bin;
	assert_int_equal(sodium_base642bin((unsigned char *)out, (size_t)(e - p), p,
					   (size_t)(e - p), "\r\n", &bin, NULL,
					   sodium_base64_VARIANT_ORIGINAL),
			 0);
	out[bin] = '\0';
	return out;
}

/* The decoded RFC 2047 words of header name (new). */
static char *mime_header(const char *msg, const char *name)
{
	char *out = calloc(1, 4096);
	const char *p = strstr(msg, name), *end = strstr(msg, "\r\n\r\n");
	size_t o = 0, bin;
	assert_true(p != NULL && p < end);
	const char *stop = p;
	do /* the header and its folded lines */
		stop = strstr(stop + 2, "\r\n");
	while (stop[2] == ' ' || stop[2] == '\t');
	for (p = strstr(p, "=?UTF-8?B?"); p != NULL && p < stop; p = strstr(p, "=?UTF-8?B?")) {
		p += 10;
		const char *e = strstr(p, "?=");
		assert_int_equal(sodium_base642bin((unsigned char *)out + o, 4095 - o, p,
						   (size_t)(e - p), NULL, &bin, NULL,
						   sodium_base64_VARIANT_ORIGINAL),
				 0);
		o += bin;
		p = e + 2;
	}
	out[o] = '\0';
	return out;
}

struct rendered {
	char *s[16];
	const char *what[16];
	enum out_kind kind[16];
	int n;
};

static void add(struct rendered *r, const char *what, enum out_kind k, const char *s)
{
	assert_true(r->n < 16);
	assert_non_null(s);
	r->what[r->n] = what;
	r->kind[r->n] = k;
	r->s[r->n++] = strdup(s);
}

static void rendered_free(struct rendered *r)
{
	for (int i = 0; i < r->n; i++)
		free(r->s[i]);
	r->n = 0;
}

/* Every output of channel ch for alert a, into r. */
static void render(struct channel *ch, int which, const json_t *a, struct rendered *r)
{
	struct channel_request req;
	struct channel_job j;
	char err[256];
	json_t *b = NULL, *m;

	job_init(&j, a, 1795666800000LL);
	switch (which) {
	case CH_WECOM:
	case CH_DINGTALK:
		chtest_request(ch, &j, &req);
		b = chtest_body_json(&req);
		m = json_object_get(b, "markdown");
		if (which == CH_WECOM) {
			add(r, "wecom content", OUT_MARKDOWN, chtest_jstr(m, "content"));
		} else {
			add(r, "dingtalk text", OUT_MARKDOWN, chtest_jstr(m, "text"));
			add(r, "dingtalk title", OUT_TEXT, chtest_jstr(m, "title"));
		}
		break;
	case CH_FEISHU:
		chtest_request(ch, &j, &req);
		b = chtest_body_json(&req);
		m = json_object_get(b, "card");
		add(r, "feishu lark_md", OUT_MARKDOWN,
		    chtest_jstr(json_array_get(json_object_get(m, "elements"), 0), "content"));
		add(r, "feishu header title", OUT_TEXT,
		    chtest_jstr(json_object_get(json_object_get(m, "header"), "title"), "content"));
		break;
	case CH_WMP:
		chtest_request(ch, &j, &req);
		if (strstr(req.url, "stable_token") != NULL) { /* the token, once */
			channel_request_cleanup(&req);
			assert_int_equal(
			    chtest_answer(ch, &j, "{\"access_token\":\"TK\",\"expires_in\":7200}",
					  err, sizeof(err)),
			    CHANNEL_NEXT);
			j.step++;
			chtest_request(ch, &j, &req);
		}
		b = chtest_body_json(&req);
		m = json_array_get(json_object_get(b, "articles"), 0);
		add(r, "wechat_mp content", OUT_HTML, chtest_jstr(m, "content"));
		add(r, "wechat_mp title", OUT_TEXT, chtest_jstr(m, "title"));
		add(r, "wechat_mp author", OUT_TEXT, chtest_jstr(m, "author"));
		add(r, "wechat_mp digest", OUT_TEXT, chtest_jstr(m, "digest"));
		break;
	case CH_EMAIL: {
		chtest_request(ch, &j, &req);
		char *msg = strndup(req.body, req.bodylen), *t;
		b = NULL;
		add(r, "email text/plain", OUT_TEXT, t = mime_part(msg, "text/plain"));
		free(t);
		add(r, "email text/html", OUT_HTML, t = mime_part(msg, "text/html"));
		free(t);
		add(r, "email subject", OUT_TEXT, t = mime_header(msg, "\r\nSubject:"));
		free(t);
		add(r, "email from", OUT_TEXT, t = mime_header(msg, "\r\nFrom:"));
		free(t);
		free(msg);
		break;
	}
	case CH_WEIBO: {
		chtest_request(ch, &j, &req);
		char *body = strndup(req.body, req.bodylen), *st = form_get(body, "status");
		b = NULL;
		/* the link the channel appends is geoalert's own: not counted */
		char *link = strstr(st, " " CHTEST_PUBLIC_URL);
		assert_non_null(link);
		*link = '\0';
		add(r, "weibo status", OUT_WEIBO, st);
		add(r, "weibo status (plain)", OUT_TEXT, st);
		free(st);
		free(body);
		break;
	}
	case CH_SMS: {
		chtest_request(ch, &j, &req);
		b = chtest_body_json(&req);
		m = json_object_get(b, "params");
		add(r, "sms what", OUT_TEXT, chtest_jstr(m, "what"));
		add(r, "sms place", OUT_TEXT, chtest_jstr(m, "place"));
		add(r, "sms who", OUT_TEXT, chtest_jstr(m, "who"));
		break;
	}
	default:
		fail();
	}
	json_decref(b);
	channel_request_cleanup(&req);
}

static void test_every_channel_every_text(void **state)
{
	struct config *c = config_all();
	struct channel *ch[CH_COUNT];
	json_t *benign = alert_of("坡体出现裂缝");
	struct rendered ref[CH_COUNT] = {0}, out = {0};

	assert_int_equal(c->nchannels, CH_COUNT);
	for (int k = 0; k < CH_COUNT; k++) {
		ch[k] = chtest_check_open(c, &c->channels[k]);
		render(ch[k], k, benign, &ref[k]);
	}
	for (size_t i = 0; i < NHOSTILE; i++) {
		json_t *a = alert_of(hostile[i]);
		print_message("hostile text %zu\n", i);
		for (int k = 0; k < CH_COUNT; k++) {
			render(ch[k], k, a, &out);
			assert_int_equal(out.n, ref[k].n);
			for (int o = 0; o < out.n; o++)
				check_out(out.what[o], out.kind[o], i, out.s[o], ref[k].s[o]);
			rendered_free(&out);
		}
		json_decref(a);
	}
	for (int k = 0; k < CH_COUNT; k++) {
		rendered_free(&ref[k]);
		channel_free(ch[k]);
	}
	json_decref(benign);
	free(c);
}

/* The probe's own case, read as a person would: the link, image, colour
 * and mention are gone from the WeCom body, their text is there. */
static void test_wecom_probe(void **state)
{
	struct config *c = config_all();
	struct channel *ch = chtest_check_open(c, &c->channels[CH_WECOM]);
	json_t *a = alert_of("坡下");
	struct rendered r = {0};

	json_object_set_new(json_object_get(a, "area"), "place", json_string(hostile[0]));
	json_object_set_new(a, "situation", json_string(hostile[0]));
	json_object_set_new(a, "causes", json_string("<@all>"));
	render(ch, CH_WECOM, a, &r);
	assert_null(strstr(r.s[0], "<@all>"));
	assert_null(strstr(r.s[0], "](http://evil"));
	assert_null(strstr(r.s[0], "![t]"));
	assert_non_null(strstr(r.s[0], "＜＠all＞"));
	assert_non_null(strstr(r.s[0], "［紧急：点此查看撤离路线］(http：//evil．example/phish)"));
	assert_non_null(strstr(r.s[0], "＜font color=\"warning\"＞假消息＜/font＞"));
	/* the template's own markup and link are untouched */
	assert_non_null(strstr(r.s[0], "<font color=\"warning\">大型滑坡险情"));
	assert_non_null(strstr(r.s[0], "[查看全文](" CHTEST_PUBLIC_URL ")"));
	rendered_free(&r);
	chtest_end(ch, a, c);
}

/* The alert JSON every published text comes from (pages, CAP, Atom, the
 * channels, the API) carries no bidi control, whichever field held it. */
static void test_text_choke(void **state)
{
	struct store_draft *d = calloc(1, sizeof(*d));
	struct workflow_ctx ctx = {.sender = "自然资源厅\xe2\x80\xae"};
	const char *rlo = "\xe2\x80\xae", *pdi = "\xe2\x81\xa9";

	assert_non_null(d);
	snprintf(d->alert_id, sizeof(d->alert_id), "%s", CHTEST_AID);
	snprintf(d->msg_type, sizeof(d->msg_type), "alert");
	snprintf(d->headline, sizeof(d->headline), "标题%s反", rlo);
	snprintf(d->situation, sizeof(d->situation), "险情%s 1 2", pdi);
	snprintf(d->causes, sizeof(d->causes), "%s", rlo);
	snprintf(d->response, sizeof(d->response), "处置\xe2\x80\x8f");
	snprintf(d->trend, sizeof(d->trend), "趋势\xd8\x9c");
	snprintf(d->place, sizeof(d->place), "村%s", rlo);
	snprintf(d->admin_name, sizeof(d->admin_name), "区%s", pdi);
	snprintf(d->admin_code, sizeof(d->admin_code), "320111");
	json_t *o = workflow_alert_json(&ctx, d);
	assert_non_null(o);
	char *s = json_dumps(o, JSON_ENSURE_ASCII);
	assert_non_null(s);
	for (const char *u = "202a202b202c202d202e2066206720682069200e200f061c"; *u; u += 4) {
		char esc[8];
		snprintf(esc, sizeof(esc), "\\u%.4s", u);
		if (strstr(s, esc) != NULL)
			fail_msg("%s survives in %s", esc, s);
	}
	assert_string_equal(json_string_value(json_object_get(o, "headline")), "标题反");
	assert_string_equal(json_string_value(json_object_get(o, "sender")), "自然资源厅");
	free(s);
	json_decref(o);
	free(d);
}

/* channel_plain's cap (CHANNEL_TITLE_MAX): at it, one past it, and a
 * character across it (cut before, never inside). */
static void test_plain_cap(void **state)
{
	char in[CHANNEL_TITLE_MAX * 2], out[CHANNEL_TITLE_MAX];
	size_t n = 0;

	for (int i = 0; i < 170; i++, n += 3)
		memcpy(in + n, "中", 3); /* 510 bytes */
	memcpy(in + n, "x", 2);
	channel_plain(in, out, sizeof(out));
	assert_int_equal(strlen(out), CHANNEL_TITLE_MAX - 1); /* at the cap: whole */
	assert_string_equal(out, in);
	memcpy(in + n, "xy", 3);
	channel_plain(in, out, sizeof(out));
	assert_int_equal(strlen(out), CHANNEL_TITLE_MAX - 1); /* one past: cut */
	assert_memory_equal(out, in, CHANNEL_TITLE_MAX - 1);
	memcpy(in + n, "中", 4);
	channel_plain(in, out, sizeof(out));
	assert_int_equal(strlen(out), 510); /* the 171st character does not fit */
	/* what escaping adds counts: "a.b" is 5 bytes once defanged */
	n = 0;
	for (int i = 0; i < 120; i++, n += 3)
		memcpy(in + n, "a.b", 3);
	in[n] = '\0';
	channel_plain(in, out, sizeof(out));
	assert_int_equal(strlen(out), 511); /* 102 whole "a．b", then "a" */
	assert_int_equal(out[510], 'a');
	assert_null(strstr(out, "a.b"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_plain_cap),
	    cmocka_unit_test(test_every_channel_every_text),
	    cmocka_unit_test(test_wecom_probe),
	    cmocka_unit_test(test_text_choke),
	};
	if (!chtest_mkdtemp("/tmp/ga-chhostile-XXXXXX") || sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
