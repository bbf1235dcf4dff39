/* test_channel_mp_email.c - the wechat_mp and email channel types:
 * WeChat's token, draft and publish steps (the token cached across jobs
 * and fetched again at expiry or when the API calls it invalid, the
 * progress in job->scratch so a retry publishes the same draft and,
 * once submitted, polls freepublish/get for that publish_id), the
 * article's fields; the e-mail message (headers, the RFC 2047 subject,
 * both parts' base64, CRLF only, a stable Message-ID, the recipients
 * from to_file) and the config errors naming FILE:LINE. */
#include <sodium.h>

#include "channel.h"
#include "channel_internal.h"
#include "channel_testutil.h"
#include "draft_template.h"

#define T0 1795666800000LL /* 2026-11-26T04:20:00Z: 12:20 at +08:00, a Thursday */
#define AID CHTEST_AID
#define HEADLINE "【大型滑坡险情】江苏省南京市浦口区永宁街道"

static json_t *alert_json(const char *status, const char *headline)
{
	json_t *a = json_pack(
	    "{s:s, s:s, s:i, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s,"
	    " s:s, s:{s:s, s:s, s:s}, s:[]}",
	    "schema", "geohazard.alert/1", "alert_id", AID, "version", 1, "msg_type", "alert",
	    "status", status, "headline", headline, "kind", "danger", "level_zh", "大型",
	    "hazard_type_zh", "滑坡", "response_level", "II", "color", "orange", "sender",
	    "江苏省自然资源厅", "sent", "2026-11-26T15:10:00+08:00", "situation",
	    "坡体出现裂缝 <script>alert(1)</script> & \"引号\"\n第二行", "causes", "连续强降雨",
	    "response", "已撤离坡下群众", "trend", "变形加速", "area", "admin_code", "320111",
	    "admin_name", "江苏省南京市浦口区", "place", "永宁街道青山村后山", "references");
	assert_non_null(a);
	return a;
}

/* --- wechat_mp ------------------------------------------------------ */

/* A wechat_mp channel at url: appid, secret_file and thumb_media_id at
 * lines 11, 12 and 13. */
static struct config_channel *wmp_channel(struct config *c, const char *url)
{
	char sec[256];
	write_file("wxsecret", "APPSECRET-123\n", sec, sizeof(sec));
	struct config_channel *cc = add_channel(c, "mp", "wechat_mp", url);
	set_kv(cc, "appid", "wxAPPID");
	set_kv(cc, "secret_file", sec);
	set_kv(cc, "thumb_media_id", "THUMB_1");
	return cc;
}

static struct channel *wmp_open_test(struct config *c)
{
	return chtest_check_open(c, wmp_channel(c, "http://h:9/"));
}

/* The fixture of a wechat_mp test: a config with the channel open and
 * an actual alert of HEADLINE. */
struct wmp {
	struct config *c;
	struct channel *ch;
	json_t *a;
};

static int wmp_setup(void **state)
{
	struct wmp *w = calloc(1, sizeof(*w));
	assert_non_null(w);
	w->c = new_config();
	w->ch = wmp_open_test(w->c);
	w->a = alert_json("actual", HEADLINE);
	*state = w;
	return 0;
}

static int wmp_teardown(void **state)
{
	struct wmp *w = *state;
	chtest_end(w->ch, w->a, w->c);
	free(w);
	return 0;
}

static void expect_token_request(struct channel *ch, struct channel_job *j)
{
	struct channel_request req;
	chtest_request(ch, j, &req);
	assert_string_equal(req.url, "http://h:9/cgi-bin/stable_token");
	json_t *b = chtest_body_json(&req);
	assert_string_equal(chtest_jstr(b, "grant_type"), "client_credential");
	assert_string_equal(chtest_jstr(b, "appid"), "wxAPPID");
	assert_string_equal(chtest_jstr(b, "secret"), "APPSECRET-123");
	json_decref(b);
	channel_request_cleanup(&req);
}

/* The token step of j: its request checked, then answered with token
 * tok (for 7200 s), which takes j on to its next step. */
static void token_step(struct channel *ch, struct channel_job *j, const char *tok)
{
	char body[128], err[256];
	expect_token_request(ch, j);
	snprintf(body, sizeof(body), "{\"access_token\":\"%s\",\"expires_in\":7200}", tok);
	assert_int_equal(chtest_answer(ch, j, body, err, sizeof(err)), CHANNEL_NEXT);
}

/* A job of alert a at now_ms, past its token step (token tok). */
static void token_job(struct channel *ch, struct channel_job *j, const json_t *a, int64_t now_ms,
		      const char *tok)
{
	job_init(j, a, now_ms);
	token_step(ch, j, tok);
}

/* freepublish/get's answer once publish_id is published. */
#define WMP_PUBLISHED(id)                                                                          \
	"{\"publish_id\":\"" id "\",\"publish_status\":0,\"article_id\":\"ART_" id "\","           \
	"\"article_detail\":{\"count\":1,\"item\":[{\"idx\":1,\"article_url\":"                    \
	"\"https://mp.weixin.qq.com/s/" id "\"}]},\"fail_idx\":[]}"

/* The request of j's step is the poll of publish_id with token tok. */
static void expect_poll_request(struct channel *ch, struct channel_job *j, const char *tok,
				const char *publish_id)
{
	struct channel_request req;
	char url[256];
	chtest_request(ch, j, &req);
	snprintf(url, sizeof(url), "http://h:9/cgi-bin/freepublish/get?access_token=%s", tok);
	assert_string_equal(req.url, url);
	assert_true(has_header(&req, "Content-Type: application/json"));
	json_t *b = chtest_body_json(&req);
	assert_string_equal(chtest_jstr(b, "publish_id"), publish_id);
	assert_int_equal(json_object_size(b), 1);
	json_decref(b);
	channel_request_cleanup(&req);
}

static void test_wechat_steps_and_token_cache(void **state)
{
	struct wmp *w = *state;
	struct channel_request req;
	struct channel_job j;
	char err[256];

	/* job 1: token, draft, submit */
	token_job(w->ch, &j, w->a, T0, "TOK1");
	assert_string_equal(j.scratch, "draft");
	j.step++;
	chtest_request(w->ch, &j, &req);
	assert_string_equal(req.url, "http://h:9/cgi-bin/draft/add?access_token=TOK1");
	json_t *b = chtest_body_json(&req);
	json_t *art = json_array_get(json_object_get(b, "articles"), 0);
	assert_int_equal(json_array_size(json_object_get(b, "articles")), 1);
	assert_string_equal(chtest_jstr(art, "title"), HEADLINE);
	assert_string_equal(chtest_jstr(art, "author"), "江苏省自然资源厅");
	assert_non_null(strstr(chtest_jstr(art, "digest"), "坡体出现裂缝"));
	assert_string_equal(chtest_jstr(art, "content_source_url"),
			    "https://x.example/alerts/" AID);
	assert_string_equal(chtest_jstr(art, "thumb_media_id"), "THUMB_1");
	assert_int_equal(json_integer_value(json_object_get(art, "need_open_comment")), 0);
	const char *html = chtest_jstr(art, "content");
	/* values escaped, line breaks as <br>, the template's markup kept */
	assert_non_null(strstr(html, "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;引号&quot;"
				     "<br>第二行"));
	assert_null(strstr(html, "<script>"));
	assert_non_null(strstr(html, "<h2>" HEADLINE "</h2>"));
	assert_non_null(strstr(html, "大型滑坡险情"));
	assert_non_null(strstr(html, "永宁街道青山村后山"));
	assert_non_null(strstr(html, "连续强降雨"));
	assert_non_null(strstr(html, "已撤离坡下群众"));
	assert_non_null(strstr(html, "2026年11月26日15时10分"));
	assert_non_null(strstr(html, "href=\"https://x.example/alerts/" AID "\""));
	assert_null(strstr(html, "演练"));
	json_decref(b);
	channel_request_cleanup(&req);
	assert_int_equal(
	    chtest_answer(w->ch, &j, "{\"media_id\":\"MEDIA_1\",\"item\":[]}", err, sizeof(err)),
	    CHANNEL_NEXT);
	assert_string_equal(j.scratch, "submit:MEDIA_1");
	j.step++;
	chtest_request(w->ch, &j, &req);
	assert_string_equal(req.url, "http://h:9/cgi-bin/freepublish/submit?access_token=TOK1");
	b = chtest_body_json(&req);
	assert_string_equal(chtest_jstr(b, "media_id"), "MEDIA_1");
	assert_int_equal(json_object_size(b), 1);
	json_decref(b);
	channel_request_cleanup(&req);
	/* submitted is only queued: the next step asks how it went */
	assert_int_equal(chtest_answer(w->ch, &j,
				       "{\"errcode\":0,\"errmsg\":\"ok\",\"publish_id\":\"100\"}",
				       err, sizeof(err)),
			 CHANNEL_NEXT);
	assert_string_equal(j.scratch, "poll:100");
	j.step++;
	expect_poll_request(w->ch, &j, "TOK1", "100");
	assert_int_equal(chtest_answer(w->ch, &j, WMP_PUBLISHED("100"), err, sizeof(err)),
			 CHANNEL_DONE);

	/* job 2 an hour later: the cached token, no token request */
	job_init(&j, w->a, T0 + 3600 * 1000);
	chtest_request(w->ch, &j, &req);
	assert_string_equal(req.url, "http://h:9/cgi-bin/draft/add?access_token=TOK1");
	channel_request_cleanup(&req);

	/* job 3 within five minutes of expiry: a new token first */
	token_job(w->ch, &j, w->a, T0 + (7200 - 200) * 1000LL, "TOK2");
	j.step++;
	chtest_request(w->ch, &j, &req);
	assert_string_equal(req.url, "http://h:9/cgi-bin/draft/add?access_token=TOK2");
	channel_request_cleanup(&req);
}

static void test_wechat_resume_and_errors(void **state)
{
	struct wmp *w = *state;
	struct channel_request req;
	struct channel_job j;
	char err[256];

	/* a retry after draft/add went through (the worker stored step and
	 * scratch): straight to submit, with that media_id */
	token_job(w->ch, &j, w->a, T0, "TOK1");
	job_init(&j, w->a, T0 + 1000);
	j.step = 2;
	snprintf(j.scratch, sizeof(j.scratch), "submit:MEDIA_9");
	chtest_request(w->ch, &j, &req);
	assert_string_equal(req.url, "http://h:9/cgi-bin/freepublish/submit?access_token=TOK1");
	json_t *b = chtest_body_json(&req);
	assert_string_equal(chtest_jstr(b, "media_id"), "MEDIA_9");
	json_decref(b);
	channel_request_cleanup(&req);
	/* an error: retried later, the scratch still names the draft */
	assert_int_equal(chtest_answer(w->ch, &j,
				       "{\"errcode\":48001,\"errmsg\":\"api unauthorized\"}", err,
				       sizeof(err)),
			 CHANNEL_RETRY);
	assert_non_null(strstr(err, "48001"));
	assert_non_null(strstr(err, "api unauthorized"));
	assert_non_null(strstr(j.scratch, "submit:MEDIA_9"));
	/* rate and HTTP errors */
	assert_int_equal(chtest_answer(w->ch, &j,
				       "{\"errcode\":45009,\"errmsg\":\"reach max api daily quota"
				       "\"}",
				       err, sizeof(err)),
			 CHANNEL_RATE);
	assert_int_equal(channel_answer(w->ch, &j, 500, "", 0, err, sizeof(err)), CHANNEL_RETRY);
	assert_int_equal(channel_answer(w->ch, &j, 429, "", 0, err, sizeof(err)), CHANNEL_RATE);
	assert_int_equal(chtest_answer(w->ch, &j, "not json", err, sizeof(err)), CHANNEL_RETRY);
	assert_int_equal(chtest_answer(w->ch, &j, "{\"errmsg\":\"ok\"}", err, sizeof(err)),
			 CHANNEL_RETRY);

	/* the token called invalid: dropped, fetched again at once, then the
	 * same submit; a second time waits for a retry */
	chtest_request(w->ch, &j, &req);
	channel_request_cleanup(&req);
	assert_int_equal(chtest_answer(w->ch, &j,
				       "{\"errcode\":40001,\"errmsg\":\"invalid credential\"}", err,
				       sizeof(err)),
			 CHANNEL_NEXT);
	j.step++;
	token_step(w->ch, &j, "TOK3");
	j.step++;
	chtest_request(w->ch, &j, &req);
	assert_string_equal(req.url, "http://h:9/cgi-bin/freepublish/submit?access_token=TOK3");
	channel_request_cleanup(&req);
	assert_int_equal(chtest_answer(w->ch, &j,
				       "{\"errcode\":42001,\"errmsg\":\"access_token expired\"}",
				       err, sizeof(err)),
			 CHANNEL_RETRY);
	/* the next attempt fetches a token (the bad one is gone) */
	j.step++;
	expect_token_request(w->ch, &j);
	/* a token answer without a token is not taken */
	assert_int_equal(chtest_answer(w->ch, &j, "{\"expires_in\":7200}", err, sizeof(err)),
			 CHANNEL_RETRY);
	assert_int_equal(chtest_answer(w->ch, &j,
				       "{\"errcode\":40125,\"errmsg\":\"invalid appsecret\"}", err,
				       sizeof(err)),
			 CHANNEL_RETRY);
	assert_non_null(strstr(err, "invalid appsecret"));

	/* a draft refused: retried; a media_id that could not be stored
	 * is an error, not a step */
	token_job(w->ch, &j, w->a, T0, "TOK4");
	chtest_request(w->ch, &j, &req);
	channel_request_cleanup(&req);
	assert_int_equal(chtest_answer(w->ch, &j,
				       "{\"errcode\":40007,\"errmsg\":\"invalid media_id\"}", err,
				       sizeof(err)),
			 CHANNEL_RETRY);
	assert_int_equal(chtest_answer(w->ch, &j, "{\"media_id\":\"a b\"}", err, sizeof(err)),
			 CHANNEL_RETRY);
	assert_string_equal(j.scratch, "draft");
}

static void test_wechat_title_cap_exercise_config(void **state)
{
	struct config *c = new_config();
	struct channel *ch = wmp_open_test(c);
	struct channel_request req;
	struct channel_job j;
	char err[512];
	/* 120 bytes of 3-byte characters: the title is cut to 64 */
	json_t *a =
	    alert_json("exercise", "【大型滑坡险情】江苏省南京市浦口区永宁街道青山村后山东侧坡体");

	token_job(ch, &j, a, T0, "T");
	chtest_request(ch, &j, &req);
	json_t *b = chtest_body_json(&req);
	json_t *art = json_array_get(json_object_get(b, "articles"), 0);
	const char *title = chtest_jstr(art, "title");
	assert_true(strlen(title) <= 64 && strlen(title) >= 58);
	assert_true(draft_utf8_valid(title, strlen(title)));
	assert_memory_equal(title, "【演练】【大型滑坡险情】", strlen("【演练】【大型滑坡险情】"));
	assert_non_null(strstr(chtest_jstr(art, "content"), "【演练】"));
	assert_true(strlen(chtest_jstr(art, "digest")) <= 120);
	json_decref(b);
	channel_request_cleanup(&req);
	channel_free(ch);

	/* each required key missing names the section's line */
	struct config_channel *cc = &c->channels[0];
	snprintf(cc->kv[2].key, sizeof(cc->kv[2].key), "author"); /* was thumb_media_id */
	assert_int_equal(channel_check_all(c, err, sizeof(err)), GA_ERR_CONFIG);
	assert_non_null(strstr(err, "/etc/geoalert.ini:10:"));
	assert_non_null(strstr(err, "thumb_media_id"));
	snprintf(cc->kv[2].key, sizeof(cc->kv[2].key), "thumb_media_id");
	snprintf(cc->kv[0].key, sizeof(cc->kv[0].key), "appidx");
	assert_int_equal(channel_check_all(c, err, sizeof(err)), GA_ERR_CONFIG);
	assert_non_null(strstr(err, "/etc/geoalert.ini:11:")); /* unknown key */
	json_decref(a);
	free(c);
}

/* --- email ---------------------------------------------------------- */

static struct config_channel *email_channel(struct config *c, const char *to_text)
{
	char to[256], pw[256];
	write_file("to", to_text, to, sizeof(to));
	write_file("smtppw", "pa55word\n", pw, sizeof(pw));
	struct config_channel *cc = add_channel(c, "mail", "email", "smtp://127.0.0.1:2525");
	set_kv(cc, "from", "alerts@dnr.example.org");
	set_kv(cc, "to_file", to);
	set_kv(cc, "username", "geoalert");
	set_kv(cc, "secret_file", pw);
	set_kv(cc, "starttls", "true");
	return cc;
}

/* The value of header name (unfolded, CRLFs removed), or NULL. */
static char *header(const char *msg, const char *name)
{
	static char buf[4096];
	const char *end = strstr(msg, "\r\n\r\n"), *p = msg;
	size_t n = strlen(name), o = 0;

	while (p < end) {
		if (strncmp(p, name, n) == 0 && p[n] == ':') {
			p += n + 1;
			while (*p == ' ')
				p++;
			for (; p < end; p++) {
				if (p[0] == '\r' && p[1] == '\n' && p[2] != ' ' && p[2] != '\t')
					break;
				if (*p != '\r' && *p != '\n' && o + 1 < sizeof(buf))
					buf[o++] = *p;
			}
			buf[o] = '\0';
			return buf;
		}
		p = strstr(p, "\r\n") + 2;
	}
	return NULL;
}

/* Decodes a value of RFC 2047 B words (whitespace between them ignored). */
static void decode_words(const char *v, char *out, size_t outlen)
{
	size_t o = 0, bin;
	while ((v = strstr(v, "=?UTF-8?B?")) != NULL) {
		v += 10;
		const char *e = strstr(v, "?=");
		assert_non_null(e);
		assert_int_equal(sodium_base642bin((unsigned char *)out + o, outlen - o - 1, v,
						   (size_t)(e - v), NULL, &bin, NULL,
						   sodium_base64_VARIANT_ORIGINAL),
				 0);
		o += bin;
		v = e + 2;
	}
	out[o] = '\0';
}

/* The base64 of the part whose Content-Type starts with type, decoded. */
static char *part(const char *msg, const char *type)
{
	char want[64];
	snprintf(want, sizeof(want), "Content-Type: %s", type);
	const char *p = strstr(msg, want);
	assert_non_null(p);
	p = strstr(p, "\r\n\r\n") + 4;
	const char *e = strstr(p, "\r\n--");
	assert_non_null(e);
	char *b64 = calloc(1, (size_t)(e - p) + 1), *out = calloc(1, (size_t)(e - p) + 1);
	size_t n = 0, bin;
	for (const char *q = p; q < e; q += 78) {
		const char *eol = strstr(q, "\r\n");
		assert_true(eol - q <= 76); /* lines of 76 */
		memcpy(b64 + n, q, (size_t)(eol - q));
		n += (size_t)(eol - q);
		if (eol - q < 76)
			break;
	}
	assert_int_equal(sodium_base642bin((unsigned char *)out, (size_t)(e - p), b64, n, NULL,
					   &bin, NULL, sodium_base64_VARIANT_ORIGINAL),
			 0);
	out[bin] = '\0';
	free(b64);
	return out;
}

static char *crlf(const char *s)
{
	char *o = calloc(2, strlen(s) + 1), *q = o;
	for (; *s; s++) {
		if (*s == '\n')
			*q++ = '\r';
		*q++ = *s;
	}
	return o;
}

static void test_email_message(void **state)
{
	struct config *c = new_config();
	struct config_channel *cc = email_channel(
	    c, "# duty officers\n\nops@dnr.example.org\n  gis-list@lists.example.org  "
	       "# the list\r\nchief.engineer+alerts@example.com\n");
	struct channel *ch = NULL;
	struct channel_request req, req2;
	struct channel_job j;
	char err[512], subj[512], msgid[256];
	json_t *a = alert_json("actual", HEADLINE);

	ch = chtest_check_open(c, cc);
	job_init(&j, a, T0);
	chtest_request(ch, &j, &req);
	assert_string_equal(req.url, "smtp://127.0.0.1:2525");
	assert_string_equal(req.mail_from, "alerts@dnr.example.org");
	assert_string_equal(req.username, "geoalert");
	assert_string_equal(req.password, "pa55word");
	assert_true(req.starttls);
	const char *want[] = {"ops@dnr.example.org", "gis-list@lists.example.org",
			      "chief.engineer+alerts@example.com"};
	int n = 0;
	for (const struct curl_slist *l = req.rcpt; l; l = l->next, n++) {
		assert_true(n < 3);
		assert_string_equal(l->data, want[n]);
	}
	assert_int_equal(n, 3);

	const char *m = req.body;
	assert_int_equal(strlen(m), req.bodylen);
	if (getenv("GA_DUMP_MAIL") != NULL) { /* to look at it with other tools */
		FILE *f = fopen(getenv("GA_DUMP_MAIL"), "wb");
		assert_non_null(f);
		fwrite(m, 1, req.bodylen, f);
		fclose(f);
	}
	/* CRLF only, no line past 78 */
	for (size_t i = 0, col = 0; i < req.bodylen; i++, col++) {
		if (m[i] == '\n') {
			assert_true(i > 0 && m[i - 1] == '\r');
			col = 0;
		}
		if (m[i] == '\r')
			assert_int_equal(m[i + 1], '\n');
		assert_true(col <= 78);
	}
	assert_string_equal(header(m, "Date"), "Thu, 26 Nov 2026 12:20:00 +0800");
	assert_string_equal(header(m, "To"), "undisclosed-recipients:;");
	assert_string_equal(header(m, "MIME-Version"), "1.0");
	assert_string_equal(header(m, "Message-ID"), "<" AID ".1@dnr.example.org>");
	assert_null(header(m, "References"));
	assert_non_null(strstr(header(m, "Content-Type"), "multipart/alternative"));
	decode_words(header(m, "From"), subj, sizeof(subj));
	assert_string_equal(subj, "江苏省自然资源厅");
	assert_non_null(strstr(header(m, "From"), "<alerts@dnr.example.org>"));
	decode_words(header(m, "Subject"), subj, sizeof(subj));
	assert_string_equal(subj, HEADLINE);
	/* no address of the list in the message */
	assert_null(strstr(m, "ops@dnr"));
	assert_null(strstr(m, "gis-list"));

	/* both parts decode to the texts the templates render */
	char *text = NULL, *html = NULL, *want_text;
	struct draft_template *tpl = NULL;
	assert_int_equal(channel_text(ch, &j, "", "", 1 << 16, &text, err, sizeof(err)), GA_OK);
	assert_int_equal(
	    channel_template_open(c, cc, "template_html", "email.html", &tpl, err, sizeof(err)),
	    GA_OK);
	assert_int_equal(channel_html(tpl, &j, 1 << 16, &html, err, sizeof(err)), GA_OK);
	char *got = part(m, "text/plain");
	want_text = crlf(text);
	assert_string_equal(got, want_text);
	assert_non_null(strstr(got, HEADLINE));
	assert_non_null(strstr(got, "大型滑坡险情（II级响应）"));
	assert_non_null(strstr(got, "江苏省南京市浦口区 永宁街道青山村后山"));
	assert_non_null(strstr(got, "https://x.example/alerts/" AID));
	assert_non_null(strstr(got, "2026年11月26日15时10分"));
	assert_null(strstr(got, "演练"));
	free(got);
	got = part(m, "text/html");
	assert_string_equal(got, html);
	assert_non_null(strstr(got, "&lt;script&gt;"));
	assert_null(strstr(got, "<script>"));
	free(got);
	free(want_text);
	free(text);
	free(html);
	draft_template_free(tpl);

	/* another attempt later: another Date, the same Message-ID */
	snprintf(msgid, sizeof(msgid), "%s", header(m, "Message-ID"));
	job_init(&j, a, T0 + 90 * 1000);
	chtest_request(ch, &j, &req2);
	assert_string_equal(header(req2.body, "Message-ID"), msgid);
	assert_string_equal(header(req2.body, "Date"), "Thu, 26 Nov 2026 12:21:30 +0800");
	channel_request_cleanup(&req2);
	channel_request_cleanup(&req);

	/* drill mode and an update: 【演练】 in the subject and the texts,
	 * In-Reply-To and References the earlier version */
	json_decref(a);
	a = alert_json("exercise", HEADLINE);
	json_object_set_new(a, "references", json_pack("[s]", AID ":1"));
	job_init(&j, a, T0);
	j.version = 2;
	j.msg_type = "update";
	chtest_request(ch, &j, &req);
	decode_words(header(req.body, "Subject"), subj, sizeof(subj));
	assert_string_equal(subj, "【演练】" HEADLINE);
	assert_string_equal(header(req.body, "Message-ID"), "<" AID ".2@dnr.example.org>");
	assert_string_equal(header(req.body, "In-Reply-To"), "<" AID ".1@dnr.example.org>");
	assert_string_equal(header(req.body, "References"), "<" AID ".1@dnr.example.org>");
	got = part(req.body, "text/plain");
	assert_non_null(strstr(got, "【演练】"));
	free(got);
	got = part(req.body, "text/html");
	assert_non_null(strstr(got, "【演练】"));
	free(got);
	channel_request_cleanup(&req);

	/* the SMTP answer */
	assert_int_equal(channel_answer(ch, &j, 250, "", 0, err, sizeof(err)), CHANNEL_DONE);
	assert_int_equal(channel_answer(ch, &j, 451, "", 0, err, sizeof(err)), CHANNEL_RETRY);
	assert_non_null(strstr(err, "451"));
	assert_int_equal(channel_answer(ch, &j, 0, "", 0, err, sizeof(err)), CHANNEL_RETRY);
	chtest_end(ch, a, c);
}

static void test_email_long_subject_words(void **state)
{
	struct config *c = new_config();
	struct config_channel *cc = email_channel(c, "a@b.example\n");
	struct channel *ch = NULL;
	struct channel_request req;
	struct channel_job j;
	char subj[1024], head[400] = "";

	/* 1, 2 and 3-byte characters mixed: no word splits one */
	size_t o = 0;
	for (int i = 0; i < 12; i++)
		o += (size_t)snprintf(head + o, sizeof(head) - o, "%s",
				      i % 3 == 0   ? "a滑"
				      : i % 3 == 1 ? "é坡"
						   : "体b");
	json_t *a = alert_json("actual", head);
	set_kv(cc, "to_name", "地质灾害预警名单");
	ch = chtest_open(c, cc);
	job_init(&j, a, T0);
	chtest_request(ch, &j, &req);
	decode_words(header(req.body, "Subject"), subj, sizeof(subj));
	assert_string_equal(subj, head);
	/* every word decodes to whole characters */
	const char *v = strstr(req.body, "Subject: ");
	for (const char *w = v; (w = strstr(w, "=?UTF-8?B?")) != NULL && w < strstr(v, "\r\nM");
	     w += 10) {
		char one[128];
		const char *e = strstr(w, "?=");
		char tmp[128];
		snprintf(tmp, sizeof(tmp), "%.*s", (int)(e - w + 2), w);
		decode_words(tmp, one, sizeof(one));
		assert_true(draft_utf8_valid(one, strlen(one)));
	}
	decode_words(header(req.body, "To"), subj, sizeof(subj));
	assert_string_equal(subj, "地质灾害预警名单");
	assert_true(strstr(header(req.body, "To"), ":;") != NULL);
	channel_request_cleanup(&req);
	chtest_end(ch, a, c);
}

static void test_email_config_errors(void **state)
{
	struct config *c = new_config();
	struct config_channel *cc = email_channel(c, "ops@dnr.example.org\nnot an address\n");
	char err[512], path[256], big[8192];

	/* a bad address names to_file and its line */
	assert_int_equal(channel_check_all(c, err, sizeof(err)), GA_ERR_CONFIG);
	snprintf(path, sizeof(path), "%s/to:2:", dir);
	assert_non_null(strstr(err, path));
	write_file("to", "ops@dnr.example.org\nx@-bad.example\n", path, sizeof(path));
	assert_int_equal(channel_check_all(c, err, sizeof(err)), GA_ERR_CONFIG);
	write_file("to", "ops@dnr.example.org\n\n# dup\nops@dnr.example.org\n", path, sizeof(path));
	assert_int_equal(channel_check_all(c, err, sizeof(err)), GA_ERR_CONFIG);
	assert_non_null(strstr(err, "to:4:"));
	write_file("to", "# nobody\n", path, sizeof(path));
	assert_int_equal(channel_check_all(c, err, sizeof(err)), GA_ERR_CONFIG);
	assert_non_null(strstr(err, "no recipient"));
	/* 100 recipients at the cap, 101 one past */
	size_t o = 0;
	for (int i = 0; i < 100; i++)
		o += (size_t)snprintf(big + o, sizeof(big) - o, "r%d@example.org\n", i);
	write_file("to", big, path, sizeof(path));
	assert_int_equal(channel_check_all(c, err, sizeof(err)), GA_OK);
	snprintf(big + o, sizeof(big) - o, "r100@example.org\n");
	write_file("to", big, path, sizeof(path));
	assert_int_equal(channel_check_all(c, err, sizeof(err)), GA_ERR_CONFIG);
	assert_non_null(strstr(err, "to:101:"));
	write_file("to", "ops@dnr.example.org\n", path, sizeof(path));
	assert_int_equal(channel_check_all(c, err, sizeof(err)), GA_OK);

	/* from: a bad one names its line (11), a missing one the section's */
	snprintf(cc->kv[0].value, sizeof(cc->kv[0].value), "alerts at example.org");
	assert_int_equal(channel_check_all(c, err, sizeof(err)), GA_ERR_CONFIG);
	assert_non_null(strstr(err, "/etc/geoalert.ini:11:"));
	snprintf(cc->kv[0].key, sizeof(cc->kv[0].key), "from_name");
	assert_int_equal(channel_check_all(c, err, sizeof(err)), GA_ERR_CONFIG);
	assert_non_null(strstr(err, "/etc/geoalert.ini:10:"));
	assert_non_null(strstr(err, "from"));
	snprintf(cc->kv[0].key, sizeof(cc->kv[0].key), "from");
	snprintf(cc->kv[0].value, sizeof(cc->kv[0].value), "alerts@example.org");
	snprintf(cc->kv[1].key, sizeof(cc->kv[1].key), "to_name");
	assert_int_equal(channel_check_all(c, err, sizeof(err)), GA_ERR_CONFIG);
	assert_non_null(strstr(err, "to_file"));
	snprintf(cc->kv[1].key, sizeof(cc->kv[1].key), "to_file");
	/* starttls must be a boolean; the url smtp:// or smtps:// */
	snprintf(cc->kv[4].value, sizeof(cc->kv[4].value), "maybe");
	assert_int_equal(channel_check_all(c, err, sizeof(err)), GA_ERR_CONFIG);
	assert_non_null(strstr(err, "/etc/geoalert.ini:15:"));
	snprintf(cc->kv[4].value, sizeof(cc->kv[4].value), "false");
	snprintf(cc->url, sizeof(cc->url), "http://127.0.0.1:25");
	assert_int_equal(channel_check_all(c, err, sizeof(err)), GA_ERR_CONFIG);
	assert_non_null(strstr(err, "smtp://"));
	snprintf(cc->url, sizeof(cc->url), "smtps://mail.example.org:465");
	assert_int_equal(channel_check_all(c, err, sizeof(err)), GA_OK);
	/* a username needs the password's file */
	snprintf(cc->kv[3].key, sizeof(cc->kv[3].key), "to_name");
	assert_int_equal(channel_check_all(c, err, sizeof(err)), GA_ERR_CONFIG);
	assert_non_null(strstr(err, "/etc/geoalert.ini:13:"));
	free(c);
}

/* The poll after a submit: a restart resumes at it with the stored
 * publish_id (never a second submit); "publishing" and the failures wait
 * for a retry with the status, fail_idx and publish_id in err and the
 * scratch unchanged; a bad token is fetched again once; only status 0
 * is delivered. */
static void test_wechat_poll(void **state)
{
	struct wmp *w = *state;
	struct channel_job j;
	char err[256], body[256];
	static const struct {
		int status;
		const char *fail_idx, *want;
	} bad[] = {
	    {2, "[1,2]", "status 2 (original-content check failed), fail_idx [1,2]"},
	    {3, "[]", "status 3 (failed), fail_idx []"},
	    {4, "[1]", "status 4 (platform review failed), fail_idx [1]"},
	    {5, "[]", "status 5 (deleted after publishing)"},
	    {6, "[]", "status 6 (banned after publishing)"},
	};

	/* a new process (no token yet) resuming at the poll: the token,
	 * then the poll of that publish_id, with the phase kept */
	job_init(&j, w->a, T0);
	j.step = 3;
	snprintf(j.scratch, sizeof(j.scratch), "poll:2247503051");
	expect_token_request(w->ch, &j);
	assert_string_equal(j.scratch, "token+poll:2247503051");
	assert_int_equal(chtest_answer(w->ch, &j, "{\"access_token\":\"TOK1\",\"expires_in\":7200}",
				       err, sizeof(err)),
			 CHANNEL_NEXT);
	assert_string_equal(j.scratch, "poll:2247503051");
	j.step++;
	expect_poll_request(w->ch, &j, "TOK1", "2247503051");

	/* still publishing: asked again at the next attempt, same scratch */
	assert_int_equal(chtest_answer(w->ch, &j,
				       "{\"publish_id\":\"2247503051\",\"publish_status\":1,"
				       "\"fail_idx\":[]}",
				       err, sizeof(err)),
			 CHANNEL_RETRY);
	assert_non_null(strstr(err, "publishing (status 1)"));
	assert_non_null(strstr(err, "2247503051"));
	assert_string_equal(j.scratch, "poll:2247503051");

	/* refused, deleted, banned: never submitted again */
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(body, sizeof(body),
			 "{\"publish_id\":\"2247503051\",\"publish_status\":%d,"
			 "\"fail_idx\":%s}",
			 bad[i].status, bad[i].fail_idx);
		assert_int_equal(chtest_answer(w->ch, &j, body, err, sizeof(err)), CHANNEL_FAIL);
		assert_non_null(strstr(err, bad[i].want));
		assert_non_null(strstr(err, "freepublish/get: publish_id 2247503051"));
		assert_string_equal(j.scratch, "poll:2247503051");
		expect_poll_request(w->ch, &j, "TOK1", "2247503051");
	}
	/* an answer without a known status is not taken */
	assert_int_equal(
	    chtest_answer(w->ch, &j, "{\"publish_id\":\"2247503051\"}", err, sizeof(err)),
	    CHANNEL_RETRY);
	assert_non_null(strstr(err, "no known publish_status"));
	assert_int_equal(chtest_answer(w->ch, &j, "{\"publish_status\":7}", err, sizeof(err)),
			 CHANNEL_RETRY);
	assert_int_equal(chtest_answer(w->ch, &j, "{\"publish_status\":\"0\"}", err, sizeof(err)),
			 CHANNEL_RETRY);
	assert_int_equal(channel_answer(w->ch, &j, 502, "", 0, err, sizeof(err)), CHANNEL_RETRY);
	assert_non_null(strstr(err, "freepublish/get: HTTP 502"));
	assert_int_equal(
	    chtest_answer(w->ch, &j, "{\"errcode\":45009,\"errmsg\":\"quota\"}", err, sizeof(err)),
	    CHANNEL_RATE);

	/* the token called invalid at the poll: fetched again at once, then
	 * the same poll */
	assert_int_equal(chtest_answer(w->ch, &j,
				       "{\"errcode\":40001,\"errmsg\":\"invalid credential\"}", err,
				       sizeof(err)),
			 CHANNEL_NEXT);
	assert_string_equal(j.scratch, "renew+poll:2247503051");
	j.step++;
	expect_token_request(w->ch, &j);
	assert_int_equal(chtest_answer(w->ch, &j, "{\"access_token\":\"TOK2\",\"expires_in\":7200}",
				       err, sizeof(err)),
			 CHANNEL_NEXT);
	j.step++;
	expect_poll_request(w->ch, &j, "TOK2", "2247503051");
	/* a second time in the attempt: a retry, the token dropped */
	assert_int_equal(chtest_answer(w->ch, &j, "{\"errcode\":42001,\"errmsg\":\"expired\"}", err,
				       sizeof(err)),
			 CHANNEL_RETRY);
	assert_string_equal(j.scratch, "renew+poll:2247503051");
	token_step(w->ch, &j, "TOK3");
	expect_poll_request(w->ch, &j, "TOK3", "2247503051");
	assert_int_equal(chtest_answer(w->ch, &j, WMP_PUBLISHED("2247503051"), err, sizeof(err)),
			 CHANNEL_DONE);

	/* a numeric publish_id is polled as a string; an unusable one (or
	 * none) after errcode 0 is taken as published: a second submit would
	 * publish twice */
	job_init(&j, w->a, T0);
	j.step = 2;
	snprintf(j.scratch, sizeof(j.scratch), "submit:MEDIA_5");
	assert_int_equal(chtest_answer(w->ch, &j,
				       "{\"errcode\":0,\"errmsg\":\"ok\",\"publish_id\":12345}",
				       err, sizeof(err)),
			 CHANNEL_NEXT);
	assert_string_equal(j.scratch, "poll:12345");
	expect_poll_request(w->ch, &j, "TOK3", "12345");
	snprintf(j.scratch, sizeof(j.scratch), "submit:MEDIA_5");
	assert_int_equal(chtest_answer(w->ch, &j,
				       "{\"errcode\":0,\"errmsg\":\"ok\",\"publish_id\":\"a b\"}",
				       err, sizeof(err)),
			 CHANNEL_DONE);
	assert_int_equal(
	    chtest_answer(w->ch, &j, "{\"errcode\":0,\"errmsg\":\"ok\"}", err, sizeof(err)),
	    CHANNEL_DONE);
	assert_string_equal(j.scratch, "submit:MEDIA_5");
	/* a failed submit stays at submit */
	assert_int_equal(chtest_answer(w->ch, &j, "{\"errcode\":-1,\"errmsg\":\"system error\"}",
				       err, sizeof(err)),
			 CHANNEL_RETRY);
	assert_string_equal(j.scratch, "submit:MEDIA_5");
}

/* A page past max_bytes: the values shortened, the markup whole. */
static void test_wechat_long_page_keeps_markup(void **state)
{
	struct config *c = new_config();
	struct channel *ch = NULL;
	struct channel_request req;
	struct channel_job j;
	size_t n = 0;
	json_t *a = alert_json("actual", HEADLINE);
	char *lng = malloc(9000);

	assert_non_null(lng);
	while (n + 4 < 9000) /* "坡&" a thousand times and more: 4 bytes, 8 escaped */
		n += (size_t)snprintf(lng + n, 9000 - n, "坡&");
	json_object_set_new(a, "situation", json_string(lng));
	json_object_set_new(a, "causes", json_string(lng));
	free(lng);
	struct config_channel *cc = wmp_channel(c, "http://h:9");
	set_kv(cc, "max_bytes", "5000");
	ch = chtest_open(c, cc);
	token_job(ch, &j, a, T0, "T");
	chtest_request(ch, &j, &req);
	json_t *b = chtest_body_json(&req);
	const char *html =
	    chtest_jstr(json_array_get(json_object_get(b, "articles"), 0), "content");
	assert_true(strlen(html) <= 5000);
	assert_true(strlen(html) > 2000); /* shortened, not emptied */
	assert_true(draft_utf8_valid(html, strlen(html)));
	assert_non_null(strstr(html, "坡&amp;坡&amp;"));
	assert_non_null(strstr(html, "…</p>")); /* each long value ends in … */
	const char *tail = "第 1 版</p>";
	assert_string_equal(html + strlen(html) - strlen(tail), tail);
	assert_null(strstr(html, "&amp…")); /* no entity cut in two */
	json_decref(b);
	channel_request_cleanup(&req);
	chtest_end(ch, a, c);
}

/* issue 10: the officer's preview of a WeChat article is the content
 * the draft/add step sends (no limit in characters: max_bytes counts
 * bytes). */
static void test_wechat_preview_is_the_content(void **state)
{
	struct config *c = new_config();
	struct channel *ch = NULL;
	struct channel_request req;
	struct channel_job j;
	json_t *a = alert_json("actual", HEADLINE);
	char err[256], *pv = NULL;
	long limit = -1;

	(void)state;
	ch = chtest_open(c, wmp_channel(c, "http://h:9"));
	token_job(ch, &j, a, T0, "T");
	chtest_request(ch, &j, &req);
	json_t *b = chtest_body_json(&req);
	const char *html =
	    chtest_jstr(json_array_get(json_object_get(b, "articles"), 0), "content");
	assert_int_equal(channel_preview(ch, &j, &pv, &limit, err, sizeof(err)), GA_OK);
	assert_int_equal(limit, 0);
	assert_string_equal(pv, html);
	free(pv);
	json_decref(b);
	channel_request_cleanup(&req);
	chtest_end(ch, a, c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_wechat_steps_and_token_cache, wmp_setup,
					    wmp_teardown),
	    cmocka_unit_test_setup_teardown(test_wechat_resume_and_errors, wmp_setup, wmp_teardown),
	    cmocka_unit_test(test_wechat_title_cap_exercise_config),
	    cmocka_unit_test(test_wechat_long_page_keeps_markup),
	    cmocka_unit_test(test_wechat_preview_is_the_content),
	    cmocka_unit_test_setup_teardown(test_wechat_poll, wmp_setup, wmp_teardown),
	    cmocka_unit_test(test_email_message),
	    cmocka_unit_test(test_email_long_subject_words),
	    cmocka_unit_test(test_email_config_errors),
	};
	if (!chtest_mkdtemp("/tmp/ga-mpmail-XXXXXX") || sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
