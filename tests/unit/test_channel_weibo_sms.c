/* test_channel_weibo_sms.c - the weibo and sms channel types.
 *
 * weibo: the status fitted to max_chars Unicode characters including the
 * link (at the cap exactly, one past it, Chinese and ASCII mixed, the
 * bundled weibo.txt), the form encoding, the safe domain checked at open
 * with FILE:LINE, and Weibo's error codes.
 * sms: the parameters (values, the 35-character cut, a link never cut),
 * batching (250 numbers by 100: 3 steps, the last DONE), out_id, the
 * scratch resuming at a step even after the list changed, duplicate and
 * rate answers, recipient files' errors naming file:line and never the
 * number. */
#include <sys/stat.h>

#define CHTEST_BASE_URL "https://alerts.example.gov.cn"
#include "channel.h"
#include "channel_testutil.h"
#include "draft_template.h"

#define LINK CHTEST_PUBLIC_URL

static json_t *alert_json(const char *situation)
{
	json_t *a = json_pack("{s:s, s:s, s:i, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s,"
			      " s:s, s:{s:s, s:s, s:s}}",
			      "schema", "geohazard.alert/1", "alert_id", "JS-20261126-0003",
			      "version", 1, "msg_type", "alert", "status", "actual", "headline",
			      "【大型滑坡险情】江苏省南京市浦口区", "kind", "danger", "level_zh",
			      "大型", "hazard_type_zh", "滑坡", "color", "orange", "sent",
			      "2026-11-26T15:10:00+08:00", "sender", "江苏省自然资源厅",
			      "situation", situation, "area", "admin_code", "320111", "admin_name",
			      "江苏省南京市浦口区", "place", "浦口区永宁街道青山村后山");
	assert_non_null(a);
	return a;
}

/* Appends s to buf (cap bytes). */
static void append(char *buf, size_t cap, const char *s)
{
	size_t n = strlen(buf);
	assert_true(n + strlen(s) < cap);
	memcpy(buf + n, s, strlen(s) + 1);
}

static size_t cps(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			n++;
	return n;
}

/* The value of key in an x-www-form-urlencoded body, decoded (new). */
static char *form_get(const char *body, size_t len, const char *key)
{
	size_t kl = strlen(key);
	const char *p = body, *end = body + len;

	while (p < end) {
		const char *amp = memchr(p, '&', (size_t)(end - p));
		const char *stop = amp ? amp : end;
		if ((size_t)(stop - p) > kl && memcmp(p, key, kl) == 0 && p[kl] == '=') {
			char *out = malloc((size_t)(stop - p) + 1), *o = out;
			assert_non_null(out);
			for (const char *q = p + kl + 1; q < stop; q++) {
				if (*q == '%') {
					char hex[3] = {q[1], q[2], 0};
					assert_true(q + 2 < stop);
					*o++ = (char)strtol(hex, NULL, 16);
					q += 2;
				} else {
					/* nothing but unreserved characters is sent plain */
					assert_non_null(
					    strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghij"
						   "klmnopqrstuvwxyz0123456789-._~",
						   *q));
					*o++ = *q;
				}
			}
			*o = '\0';
			return out;
		}
		p = stop + 1;
	}
	return NULL;
}

/* --- weibo ---------------------------------------------------------- */

static struct channel *weibo_open_with(struct config *c, const char *tpl, const char *max_chars)
{
	char tp[256];

	c->nchannels = 0;
	struct config_channel *cc =
	    add_token_channel(c, "weibo", "weibo", "http://127.0.0.1:9/2/statuses/share.json",
			      "wbtok", "2.00abc+/=token\n");
	set_kv(cc, "safe_domain", "example.gov.cn");
	if (tpl != NULL) {
		write_file("wb.txt", tpl, tp, sizeof(tp));
		set_kv(cc, "template", tp);
	}
	if (max_chars != NULL)
		set_kv(cc, "max_chars", max_chars);
	return chtest_check_open(c, cc);
}

/* The status the channel sends for situation (new). */
static char *weibo_status(struct channel *ch, const char *situation)
{
	struct channel_request req;
	struct channel_job j;
	json_t *a = alert_json(situation);

	job_init(&j, a, 0);
	chtest_request(ch, &j, &req);
	assert_string_equal(req.url, "http://127.0.0.1:9/2/statuses/share.json");
	assert_true(has_header(&req, "Content-Type: application/x-www-form-urlencoded"));
	char *tok = form_get(req.body, req.bodylen, "access_token");
	assert_non_null(tok);
	assert_string_equal(tok, "2.00abc+/=token");
	assert_non_null(strstr(req.body, "access_token=2.00abc%2B%2F%3Dtoken&status="));
	free(tok);
	char *st = form_get(req.body, req.bodylen, "status");
	assert_non_null(st);
	assert_true(draft_utf8_valid(st, strlen(st)));
	channel_request_cleanup(&req);
	json_decref(a);
	return st;
}

static void test_weibo_fits_140_with_link(void **state)
{
	struct config *c = new_config();
	struct channel *ch = weibo_open_with(c, "{situation}\n", NULL);
	size_t room = 140 - 1 - strlen(LINK); /* the link is ASCII */
	char text[1024] = "";
	char *st;

	/* exactly at the cap: sent whole, 140 characters with the link */
	for (size_t i = 0; i < room; i++)
		append(text, sizeof(text),
		       i % 3 == 0 ? "a" : "滑"); /* mixed: 1- and 3-byte characters */
	st = weibo_status(ch, text);
	assert_int_equal(cps(st), 140);
	assert_null(strstr(st, "…"));
	assert_int_equal(strncmp(st, text, strlen(text)), 0);
	assert_string_equal(st + strlen(text), " " LINK);
	free(st);

	/* one past: cut on a character, "…", then the link, 140 in all */
	append(text, sizeof(text), "坡");
	st = weibo_status(ch, text);
	assert_int_equal(cps(st), 140);
	const char *tail = "… " LINK;
	assert_true(strlen(st) > strlen(tail));
	assert_string_equal(st + strlen(st) - strlen(tail), tail);
	/* the kept text is the start of the original, room - 1 characters */
	size_t kept = strlen(st) - strlen(tail);
	assert_int_equal(strncmp(st, text, kept), 0);
	char *k = strndup(st, kept);
	assert_int_equal(cps(k), room - 1);
	free(k);
	free(st);

	/* all Chinese, far too long */
	text[0] = '\0';
	for (int i = 0; i < 300; i++)
		append(text, sizeof(text), "裂");
	st = weibo_status(ch, text);
	assert_int_equal(cps(st), 140);
	assert_non_null(strstr(st, "裂… " LINK));
	free(st);

	/* short: text, a space, the link */
	st = weibo_status(ch, "坡体裂缝");
	assert_string_equal(st, "坡体裂缝 " LINK);
	free(st);
	channel_free(ch);

	/* max_chars is the cap */
	ch = weibo_open_with(c, "{situation}\n", "100");
	st = weibo_status(ch, text);
	assert_int_equal(cps(st), 100);
	free(st);
	channel_free(ch);

	/* max_bytes, when set, caps the bytes too (300 Chinese characters
	 * would be 900): within 256 bytes, still ending in the link */
	ch = weibo_open_with(c, "{situation}\n", NULL);
	channel_free(ch);
	set_kv(&c->channels[0], "max_bytes", "256");
	char err[512];
	assert_int_equal(channel_open(c, &c->channels[0], NULL, NULL, &ch, err, sizeof(err)),
			 GA_OK);
	st = weibo_status(ch, text);
	assert_true(strlen(st) <= 256 && strlen(st) >= 250);
	assert_non_null(strstr(st, "裂… " LINK));
	free(st);
	channel_free(ch);
	free(c);
}

static void test_weibo_bundled_template(void **state)
{
	struct config *c = new_config();
	struct channel *ch = weibo_open_with(c, NULL, NULL);
	char text[4096] = "";

	for (int i = 0; i < 200; i++)
		append(text, sizeof(text), "坡体");
	char *st = weibo_status(ch, text);
	assert_true(cps(st) <= 140);
	assert_int_equal(strncmp(st, "【大型滑坡险情】江苏省南京市浦口区",
				 strlen("【大型滑坡险情】江苏省南京市浦口区")),
			 0);
	assert_non_null(strstr(st, "江苏省自然资源厅2026年11月26日15时10分发布"));
	assert_string_equal(st + strlen(st) - strlen(LINK), LINK);
	free(st);
	channel_free(ch);
	free(c);
}

static void test_weibo_safe_domain(void **state)
{
	struct config *c = new_config();
	struct channel *ch = NULL;
	char err[512], tok[256];
	struct config_channel *cc;

	write_file("wbtok2", "t\n", tok, sizeof(tok));
	cc = add_channel(c, "weibo", "weibo", "https://api.weibo.com/2/statuses/share.json");
	snprintf(cc->token_file, sizeof(cc->token_file), "%s", tok);
	/* required */
	assert_int_equal(channel_open(c, cc, NULL, NULL, &ch, err, sizeof(err)), GA_ERR_CONFIG);
	assert_non_null(strstr(err, "/etc/geoalert.ini:10:"));
	assert_non_null(strstr(err, "safe_domain"));
	/* the host itself, a parent domain: fine */
	set_kv(cc, "safe_domain", "alerts.example.gov.cn"); /* line 11 */
	ch = chtest_open(c, cc);
	channel_free(ch);
	snprintf(cc->kv[0].value, sizeof(cc->kv[0].value), "Example.GOV.cn");
	ch = chtest_open(c, cc);
	channel_free(ch);
	/* another domain, a suffix that is not a parent, a child: refused */
	const char *bad[] = {"example.org", "ple.gov.cn", "x.alerts.example.gov.cn", "a/b"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ch = NULL;
		snprintf(cc->kv[0].value, sizeof(cc->kv[0].value), "%s", bad[i]);
		assert_int_equal(channel_open(c, cc, NULL, NULL, &ch, err, sizeof(err)),
				 GA_ERR_CONFIG);
		assert_null(ch);
		assert_non_null(strstr(err, "/etc/geoalert.ini:11:"));
	}
	/* a port and user info are not the host */
	snprintf(c->http.public_base_url, sizeof(c->http.public_base_url),
		 "http://u@Alerts.Example.gov.cn:8080/x");
	snprintf(cc->kv[0].value, sizeof(cc->kv[0].value), "example.gov.cn");
	ch = chtest_open(c, cc);
	channel_free(ch);
	snprintf(c->http.public_base_url, sizeof(c->http.public_base_url),
		 "http://example.gov.cn.evil.org");
	assert_int_equal(channel_open(c, cc, NULL, NULL, &ch, err, sizeof(err)), GA_ERR_CONFIG);
	/* max_chars out of range */
	snprintf(c->http.public_base_url, sizeof(c->http.public_base_url),
		 "https://alerts.example.gov.cn");
	set_kv(cc, "max_chars", "10"); /* line 12 */
	assert_int_equal(channel_open(c, cc, NULL, NULL, &ch, err, sizeof(err)), GA_ERR_CONFIG);
	assert_non_null(strstr(err, "/etc/geoalert.ini:12:"));
	free(c);
}

static void test_weibo_answers(void **state)
{
	struct config *c = new_config();
	struct channel *ch = weibo_open_with(c, "{situation}\n", NULL);
	struct channel_job j;
	char err[512];
	json_t *a = alert_json("x");
	struct {
		long status;
		const char *body;
		enum channel_verdict v;
		const char *in_err;
	} cases[] = {
	    {200, "{\"id\":4567890123456789,\"idstr\":\"4567890123456789\",\"text\":\"x\"}",
	     CHANNEL_DONE, NULL},
	    {400, "{\"error_code\":20019,\"error\":\"repeat content!\"}", CHANNEL_DONE, NULL},
	    {403, "{\"error_code\":10023,\"error\":\"User requests out of rate limit!\"}",
	     CHANNEL_RATE, "10023"},
	    {403, "{\"error_code\":10024,\"error\":\"User requests for x out of rate limit!\"}",
	     CHANNEL_RATE, "10024"},
	    {401, "{\"error_code\":21327,\"error\":\"expired_token\"}", CHANNEL_RETRY,
	     "token_file"},
	    {401, "{\"error_code\":21332,\"error\":\"invalid_access_token\"}", CHANNEL_RETRY,
	     "expired or invalid"},
	    {400, "{\"error_code\":20012,\"error\":\"Text too long\"}", CHANNEL_RETRY, "20012"},
	    {200, "{}", CHANNEL_RETRY, "without an id"},
	    {502, "<html>bad gateway</html>", CHANNEL_RETRY, "HTTP 502"},
	    {429, "", CHANNEL_RATE, "429"},
	};

	job_init(&j, a, 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = '\0';
		assert_int_equal(channel_answer(ch, &j, cases[i].status, cases[i].body,
						strlen(cases[i].body), err, sizeof(err)),
				 cases[i].v);
		if (cases[i].in_err != NULL)
			assert_non_null(strstr(err, cases[i].in_err));
	}
	chtest_end(ch, a, c);
}

/* --- sms ------------------------------------------------------------ */

static char smsdir[512];

/* A recipients dir of its own with county 320111's n numbers
 * (+861390000NNNN, written in reverse order, with comments). */
static void sms_dir(const char *name, int n)
{
	char path[600];
	snprintf(smsdir, sizeof(smsdir), "%s/%s", dir, name);
	assert_int_equal(mkdir(smsdir, 0700), 0);
	snprintf(path, sizeof(path), "%s/320111.txt", smsdir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "# 浦口区 recipients\n\n");
	for (int i = n - 1; i >= 0; i--)
		fprintf(f, "  +86139%08d   # person %d\n", i, i);
	fclose(f);
}

/* Writes (mode "w") or appends ("a") text to smsdir/name. */
static void sms_file(const char *name, const char *mode, const char *text)
{
	char path[600];
	snprintf(path, sizeof(path), "%s/%s", smsdir, name);
	FILE *f = fopen(path, mode);
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static struct channel *sms_open_with(struct config *c, const char *batch, const char *params,
				     char *err, size_t errlen, ga_err want)
{
	struct channel *ch = NULL;

	c->nchannels = 0;
	struct config_channel *cc = add_token_channel(
	    c, "sms", "sms", "http://127.0.0.1:9/sms/send", "smstok", "gw-token-1\n");
	set_kv(cc, "template_code", "SMS_123456"); /* 11 */
	set_kv(cc, "sign_name", "江苏地灾预警");   /* 12 */
	set_kv(cc, "recipients_dir", smsdir);	   /* 13 */
	set_kv(cc, "params", params);		   /* 14 */
	if (batch)
		set_kv(cc, "batch_size", batch); /* 15 */
	/* check-config finds what open refuses */
	assert_int_equal(channel_check_all(c, err, errlen), want);
	assert_int_equal(channel_open(c, cc, NULL, NULL, &ch, err, errlen), want);
	return ch;
}

/* Sends job's current step; returns its phones and checks the rest. */
static json_t *sms_step(struct channel *ch, struct channel_job *j, const char *answer,
			enum channel_verdict want)
{
	struct channel_request req;
	char err[512], oid[64];

	chtest_request(ch, j, &req);
	assert_string_equal(req.url, "http://127.0.0.1:9/sms/send");
	assert_true(has_header(&req, "Authorization: Bearer gw-token-1"));
	assert_true(has_header(&req, "Content-Type: application/json"));
	json_t *b = json_loadb(req.body, req.bodylen, 0, NULL);
	assert_non_null(b);
	assert_string_equal(json_string_value(json_object_get(b, "template_code")), "SMS_123456");
	assert_string_equal(json_string_value(json_object_get(b, "sign_name")), "江苏地灾预警");
	snprintf(oid, sizeof(oid), "JS-20261126-0003:1:%d", j->step + 1);
	assert_string_equal(json_string_value(json_object_get(b, "out_id")), oid);
	json_t *phones = json_incref(json_object_get(b, "phones"));
	json_decref(b);
	channel_request_cleanup(&req);
	assert_int_equal(channel_answer(ch, j, 200, answer, strlen(answer), err, sizeof(err)),
			 want);
	if (want == CHANNEL_NEXT)
		j->step++;
	return phones;
}

static void test_sms_batches_250_by_100(void **state)
{
	struct config *c = new_config();
	char err[512];
	const char *ok = "{\"code\":\"OK\",\"message\":\"OK\"}";
	json_t *a = alert_json("坡体出现多条拉张裂缝，后缘下错约三十厘米，前缘鼓胀，"
			       "险情仍在发展，请坡下群众立即撤离。"); /* 41 characters */
	struct channel_job j;

	sms_dir("b250", 250);
	struct channel *ch = sms_open_with(
	    c, "100", "level=level_zh,place=admin_name, what = situation", err, sizeof(err), GA_OK);
	job_init(&j, a, 0);
	/* the parameters, in order; the situation cut to 34 characters and "…" */
	struct channel_request req;
	chtest_request(ch, &j, &req);
	json_t *b = json_loadb(req.body, req.bodylen, 0, NULL);
	json_t *p = json_object_get(b, "params");
	assert_int_equal(json_object_size(p), 3);
	assert_string_equal(json_string_value(json_object_get(p, "level")), "大型");
	assert_string_equal(json_string_value(json_object_get(p, "place")), "江苏省南京市浦口区");
	const char *what = json_string_value(json_object_get(p, "what"));
	assert_int_equal(cps(what), 35);
	assert_int_equal(strncmp(what, "坡体出现多条拉张裂缝", strlen("坡体出现多条拉张裂缝")), 0);
	assert_string_equal(what + strlen(what) - strlen("…"), "…");
	assert_non_null(strstr(req.body, "\"params\":{\"level\":"));
	json_decref(b);
	channel_request_cleanup(&req);

	/* 3 steps: 100, 100, 50; sorted, each number once, the last DONE */
	json_t *all[3];
	all[0] = sms_step(ch, &j, ok, CHANNEL_NEXT);
	char scratch1[CHANNEL_SCRATCH_MAX];
	memcpy(scratch1, j.scratch, sizeof(scratch1));
	assert_non_null(strstr(scratch1, "next=100;"));
	assert_null(strstr(scratch1, "+86")); /* no number in what is stored */
	all[1] = sms_step(ch, &j, "{\"code\":0}", CHANNEL_NEXT);
	all[2] = sms_step(ch, &j, ok, CHANNEL_DONE);
	assert_int_equal(j.step, 2);
	assert_int_equal(json_array_size(all[0]), 100);
	assert_int_equal(json_array_size(all[1]), 100);
	assert_int_equal(json_array_size(all[2]), 50);
	int k = 0;
	for (int s = 0; s < 3; s++) {
		for (size_t i = 0; i < json_array_size(all[s]); i++, k++) {
			char want[32];
			snprintf(want, sizeof(want), "+86139%08d", k);
			assert_string_equal(json_string_value(json_array_get(all[s], i)), want);
		}
	}
	assert_int_equal(k, 250);

	/* a retry of step 1 (after kill -9) with the stored scratch: the
	 * same batch, same out_id; the gateway's duplicate answer counts */
	struct channel_job r;
	job_init(&r, a, 0);
	r.step = 1;
	memcpy(r.scratch, scratch1, sizeof(r.scratch));
	json_t *again =
	    sms_step(ch, &r, "{\"code\":\"DUPLICATE_OUT_ID\",\"message\":\"dup\"}", CHANNEL_NEXT);
	assert_true(json_equal(again, all[1]));
	json_decref(again);

	/* the list changed before the retry: a number before the cursor
	 * added, one of the sent ones removed: the batch starts after the
	 * last number sent all the same */
	sms_file("320111.txt", "a", "+8613800000001\n"); /* sorts first */
	job_init(&r, a, 0);
	r.step = 1;
	memcpy(r.scratch, scratch1, sizeof(r.scratch));
	again = sms_step(ch, &r, "{\"code\":\"OK\"}", CHANNEL_NEXT);
	assert_true(json_equal(again, all[1]));
	json_decref(again);
	for (int s = 0; s < 3; s++)
		json_decref(all[s]);

	/* errors: rate, 500, the gateway's text masked (it may name a number) */
	job_init(&r, a, 0);
	assert_int_equal(channel_request(ch, &r, &req, err, sizeof(err)), GA_OK);
	channel_request_cleanup(&req);
	const char *rate = "{\"code\":\"isv.BUSINESS_LIMIT_CONTROL\",\"message\":\"too fast\"}";
	assert_int_equal(channel_answer(ch, &r, 200, rate, strlen(rate), err, sizeof(err)),
			 CHANNEL_RATE);
	assert_int_equal(channel_answer(ch, &r, 429, "", 0, err, sizeof(err)), CHANNEL_RATE);
	const char *bad =
	    "{\"code\":\"isv.MOBILE_NUMBER_ILLEGAL\",\"message\":\"bad +8613912345678\"}";
	assert_int_equal(channel_answer(ch, &r, 200, bad, strlen(bad), err, sizeof(err)),
			 CHANNEL_RETRY);
	assert_non_null(strstr(err, "MOBILE_NUMBER_ILLEGAL"));
	assert_null(strstr(err, "13912345678"));
	assert_int_equal(channel_answer(ch, &r, 500, "oops", 4, err, sizeof(err)), CHANNEL_RETRY);
	assert_non_null(strstr(err, "HTTP 500"));
	/* a 200 without "OK" is not accepted */
	assert_int_equal(channel_answer(ch, &r, 200, "{}", 2, err, sizeof(err)), CHANNEL_RETRY);
	chtest_end(ch, a, c);
}

/* issue 10: the officer's preview is the text the request sends: the
 * weibo status (limit 140 characters) and the SMS parameters (limit
 * param_max_chars each), at and past the limits. */
static void test_preview_is_what_is_sent(void **state)
{
	struct config *c = new_config();
	struct channel *ch = weibo_open_with(c, "{situation}\n", NULL);
	char text[2048] = "", err[512], *pv = NULL, *st;
	struct channel_job j;
	long limit = 0;
	json_t *a;

	for (int round = 0; round < 2; round++) {
		/* at the cap, then well past it */
		size_t n = round == 0 ? 140 - 1 - strlen(LINK) : 300;
		text[0] = '\0';
		for (size_t i = 0; i < n; i++)
			append(text, sizeof(text), "滑");
		st = weibo_status(ch, text);
		a = alert_json(text);
		job_init(&j, a, 0);
		assert_int_equal(channel_preview(ch, &j, &pv, &limit, err, sizeof(err)), GA_OK);
		assert_int_equal(limit, 140);
		assert_string_equal(pv, st);
		assert_int_equal(cps(pv), 140);
		free(pv);
		free(st);
		json_decref(a);
	}
	channel_free(ch);

	sms_dir("preview", 3);
	ch = sms_open_with(c, NULL, "level=level_zh,what=situation", err, sizeof(err), GA_OK);
	a = alert_json("坡体出现多条拉张裂缝，后缘下错约三十厘米，前缘鼓胀，"
		       "险情仍在发展，请坡下群众立即撤离。"); /* 41 characters */
	job_init(&j, a, 0);
	assert_int_equal(channel_preview(ch, &j, &pv, &limit, err, sizeof(err)), GA_OK);
	assert_int_equal(limit, 35); /* param_max_chars' default */
	/* the parameters the gateway gets, the situation cut to 35 with "…" */
	assert_int_equal(
	    strncmp(pv, "level: 大型\nwhat: 坡体出现", strlen("level: 大型\nwhat: 坡体出现")), 0);
	assert_int_equal(cps(strchr(pv, '\n') + 1 + strlen("what: ")), 35);
	assert_string_equal(pv + strlen(pv) - strlen("…"), "…");
	free(pv);
	json_decref(a);
	channel_free(ch);
	free(c);
	(void)state;
}

static void test_sms_city_and_province_lists(void **state)
{
	struct config *c = new_config();
	char err[512];
	json_t *a = alert_json("x");
	struct channel_job j;

	sms_dir("levels", 3);
	/* the city's list shares one number with the county's */
	sms_file("320100.txt", "w", "+8613900000001\n13700000000\n");
	sms_file("320000.txt", "w", "# province duty\n+8618600000000\n");
	/* another city's list is not read */
	sms_file("320200.txt", "w", "+8615000000000\n");
	struct channel *ch = sms_open_with(c, NULL, "id=alert_id", err, sizeof(err), GA_OK);
	job_init(&j, a, 0);
	json_t *ph = sms_step(ch, &j, "{\"code\":\"OK\"}", CHANNEL_DONE);
	assert_int_equal(json_array_size(ph), 5);
	char *got = json_dumps(ph, JSON_COMPACT);
	assert_string_equal(got, "[\"+8613900000000\",\"+8613900000001\",\"+8613900000002\","
				 "\"+8618600000000\",\"13700000000\"]");
	free(got);
	json_decref(ph);
	channel_free(ch);

	/* a county without any list: no request, an error saying so */
	json_object_set_new(json_object_get(a, "area"), "admin_code", json_string("330106"));
	ch = sms_open_with(c, NULL, "id=alert_id", err, sizeof(err), GA_OK);
	struct channel_request req;
	assert_int_equal(channel_request(ch, &j, &req, err, sizeof(err)), GA_ERR_INVAL);
	assert_non_null(strstr(err, "no recipients for 330106"));
	chtest_end(ch, a, c);
}

static void test_sms_config_and_file_errors(void **state)
{
	struct config *c = new_config();
	char err[512], path[600];
	struct channel *ch;

	sms_dir("errs", 5);
	/* params: unknown variable, bad form, a link too long for 35 */
	ch = sms_open_with(c, NULL, "level=nonsense", err, sizeof(err), GA_ERR_CONFIG);
	assert_non_null(strstr(err, "/etc/geoalert.ini:14:"));
	assert_non_null(strstr(err, "nonsense"));
	ch = sms_open_with(c, NULL, "level", err, sizeof(err), GA_ERR_CONFIG);
	assert_non_null(strstr(err, "/etc/geoalert.ini:14:"));
	ch = sms_open_with(c, NULL, "a=level_zh,a=place", err, sizeof(err), GA_ERR_CONFIG);
	assert_non_null(strstr(err, "twice"));
	ch = sms_open_with(c, NULL, "u=url", err, sizeof(err), GA_ERR_CONFIG);
	assert_non_null(strstr(err, "param_max_chars"));
	/* batch_size in 1..1000 */
	ch = sms_open_with(c, "1001", "a=level_zh", err, sizeof(err), GA_ERR_CONFIG);
	assert_non_null(strstr(err, "/etc/geoalert.ini:15:"));
	ch = sms_open_with(c, "1000", "a=level_zh", err, sizeof(err), GA_OK);
	channel_free(ch);

	/* a bad line names file:line, never the line */
	sms_file("320111.txt", "a", "+8613912345678 x\n");
	ch = sms_open_with(c, NULL, "a=level_zh", err, sizeof(err), GA_ERR_CONFIG);
	char want[700];
	snprintf(want, sizeof(want), "%s/320111.txt:8:", smsdir);
	assert_non_null(strstr(err, want));
	assert_non_null(strstr(err, "/etc/geoalert.ini:13:"));
	assert_null(strstr(err, "13912345678"));
	const char *bad[] = {"12345\n+86-139\n", "1234\n", "+1234567890123456\n",
			     "138000000001 138000000002\n"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		sms_file("320111.txt", "w", bad[i]);
		ch = sms_open_with(c, NULL, "a=level_zh", err, sizeof(err), GA_ERR_CONFIG);
		assert_non_null(strstr(err, "320111.txt:"));
	}
	/* a line past the cap */
	char longline[303];
	longline[0] = '#';
	memset(longline + 1, 'x', 300);
	memcpy(longline + 301, "\n", 2);
	sms_file("320111.txt", "w", longline);
	ch = sms_open_with(c, NULL, "a=level_zh", err, sizeof(err), GA_ERR_CONFIG);
	assert_non_null(strstr(err, "320111.txt:1: line longer"));
	/* 15 digits and a plus: fine */
	sms_file("320111.txt", "w", "+123456789012345\n12345\n");
	ch = sms_open_with(c, NULL, "a=level_zh", err, sizeof(err), GA_OK);
	channel_free(ch);
	/* a file not named by an admin code */
	sms_file("3201.txt", "w", "");
	snprintf(path, sizeof(path), "%s/3201.txt", smsdir);
	ch = sms_open_with(c, NULL, "a=level_zh", err, sizeof(err), GA_ERR_CONFIG);
	assert_non_null(strstr(err, "3201.txt: not named"));
	unlink(path);
	/* no such dir */
	snprintf(smsdir, sizeof(smsdir), "%s/nonexistent", dir);
	ch = sms_open_with(c, NULL, "a=level_zh", err, sizeof(err), GA_ERR_CONFIG);
	assert_non_null(strstr(err, "nonexistent"));
	free(c);
}

/* The cap of one file: 100000 numbers are taken, 100001 are not. */
static void test_sms_file_cap(void **state)
{
	struct config *c = new_config();
	char err[512];
	struct channel *ch;

	sms_dir("cap", 100000);
	ch = sms_open_with(c, "1000", "a=level_zh", err, sizeof(err), GA_OK);
	json_t *a = alert_json("x");
	struct channel_job j;
	job_init(&j, a, 0);
	j.step = 99; /* the last batch, found by index without a scratch */
	json_t *ph = sms_step(ch, &j, "{\"code\":\"OK\"}", CHANNEL_DONE);
	assert_int_equal(json_array_size(ph), 1000);
	assert_string_equal(json_string_value(json_array_get(ph, 999)), "+8613900099999");
	json_decref(ph);
	json_decref(a);
	channel_free(ch);
	sms_file("320111.txt", "a", "+8613800000000\n");
	ch = sms_open_with(c, "1000", "a=level_zh", err, sizeof(err), GA_ERR_CONFIG);
	assert_non_null(strstr(err, "more than 100000"));
	free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_weibo_fits_140_with_link),
	    cmocka_unit_test(test_weibo_bundled_template),
	    cmocka_unit_test(test_weibo_safe_domain),
	    cmocka_unit_test(test_weibo_answers),
	    cmocka_unit_test(test_sms_batches_250_by_100),
	    cmocka_unit_test(test_sms_city_and_province_lists),
	    cmocka_unit_test(test_sms_config_and_file_errors),
	    cmocka_unit_test(test_sms_file_cap),
	    cmocka_unit_test(test_preview_is_what_is_sent),
	};
	if (!chtest_mkdtemp("/tmp/ga-chwbsms-XXXXXX"))
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
