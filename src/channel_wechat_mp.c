/* channel_wechat_mp.c - the WeChat official account (微信公众号): an
 * article made from wechat_mp.html, put in the drafts and published.
 *
 * One delivery is up to four requests to the API base url:
 *
 *   token   POST {url}/cgi-bin/stable_token {"grant_type":
 *           "client_credential", "appid", "secret"} -> access_token,
 *           expires_in; only when the cached token is missing or about
 *           to expire (it is the channel's, shared by its deliveries);
 *   draft   POST {url}/cgi-bin/draft/add?access_token=T {"articles":
 *           [...]} -> media_id;
 *   submit  POST {url}/cgi-bin/freepublish/submit?access_token=T
 *           {"media_id"} -> errcode 0, publish_id: the publication is
 *           queued, not done;
 *   poll    POST {url}/cgi-bin/freepublish/get?access_token=T
 *           {"publish_id"} -> publish_status: 0 published (delivered;
 *           the article_url is logged), 1 still publishing (try again
 *           later), 2 original-content check failed, 3 failed, 4 platform
 *           review failed, 5 deleted, 6 banned after publishing.
 *
 * The worker counts requests (job->step); which one comes next is in
 * job->scratch, which the worker stores after every step that went
 * through: "draft" (also ""), "submit:MEDIA_ID" once the draft exists,
 * so a retry, even after a restart, publishes that draft instead of
 * making a second one, and "poll:PUBLISH_ID" once it is submitted, so a
 * retry asks how that publication went and never submits again.
 * "token+" in front says a token request is out; "renew+" that the
 * token was already fetched again once after the API called it invalid
 * (40001, 40014, 42001), so that a second such answer waits for a retry
 * instead of looping. The API answers HTTP 200 with an errcode; 45009 is
 * its rate limit.
 *
 * Status 1 is CHANNEL_RETRY (the worker's backoff spaces the polls;
 * each counts as an attempt); 2 to 6 are CHANNEL_FAIL: the row fails at
 * once, its last_error naming the status and fail_idx, and the
 * supervisors are told (a resubmit would be refused the same way). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "channel_internal.h"
#include "log.h"

#define WMP_TEXT_MAX 20000    /* content: the API takes 20000 characters */
#define WMP_TITLE_MAX 64      /* bytes of the title */
#define WMP_AUTHOR_MAX 24     /* bytes of the author: 8 Chinese characters */
#define WMP_DIGEST_MAX 120    /* bytes of the digest */
#define WMP_TOKEN_MAX 1024    /* an access_token (the API says keep 512 characters) */
#define WMP_MEDIA_MAX 256     /* a media_id */
#define WMP_PUBLISH_MAX 128   /* a publish_id */
#define WMP_SHOWN_MAX 256     /* bytes of an article_url or id in the log */
#define WMP_FAILIDX_MAX 64    /* bytes of fail_idx as text */
#define WMP_MARGIN_MS 300000  /* a token is renewed this long before it expires */
#define WMP_EXPIRES_MAX 86400 /* seconds of expires_in believed */
#define WMP_TOKEN_PRE "token+"
#define WMP_RENEW_PRE "renew+"
#define WMP_SUBMIT_PRE "submit:"
#define WMP_POLL_PRE "poll:"

static const char *const wmp_keys[] = {"appid", "secret_file", "thumb_media_id", "author", NULL};
static const int wmp_token_codes[] = {40001, 40014, 42001, 0};
static const int wmp_rate_codes[] = {45009, 0};
/* freepublish/get's publish_status, by number */
static const char *const wmp_status_names[] = {
    "published",
    "publishing",
    "original-content check failed",
    "failed",
    "platform review failed",
    "deleted after publishing",
    "banned after publishing",
};

struct wmp {
	char token[WMP_TOKEN_MAX]; /* "" when none */
	int64_t expires_ms;	   /* renew at or after this */
};

/* What job->scratch says. */
struct wmp_state {
	bool token_out, renewed;
	char media_id[WMP_MEDIA_MAX];	  /* "" before the draft exists */
	char publish_id[WMP_PUBLISH_MAX]; /* "" before it is submitted */
};

static bool wmp_skip(const char **s, const char *pre)
{
	if (strncmp(*s, pre, strlen(pre)) != 0)
		return false;
	*s += strlen(pre);
	return true;
}

static void wmp_state_read(const char *scratch, struct wmp_state *st)
{
	const char *s = scratch;

	memset(st, 0, sizeof(*st));
	st->renewed = wmp_skip(&s, WMP_RENEW_PRE);
	st->token_out = wmp_skip(&s, WMP_TOKEN_PRE);
	if (wmp_skip(&s, WMP_SUBMIT_PRE))
		snprintf(st->media_id, sizeof(st->media_id), "%s", s);
	else if (wmp_skip(&s, WMP_POLL_PRE))
		snprintf(st->publish_id, sizeof(st->publish_id), "%s", s);
}

static void wmp_state_write(const struct wmp_state *st, char *scratch)
{
	const char *phase = st->publish_id[0] ? WMP_POLL_PRE
			    : st->media_id[0] ? WMP_SUBMIT_PRE
					      : "draft";

	snprintf(scratch, CHANNEL_SCRATCH_MAX, "%s%s%s%s", st->renewed ? WMP_RENEW_PRE : "",
		 st->token_out ? WMP_TOKEN_PRE : "", phase,
		 st->publish_id[0] ? st->publish_id : st->media_id);
}

/* An id of an answer (media_id, publish_id: a string, publish_id maybe a
 * number) into out, when it is one the scratch can carry. */
static bool wmp_id_of(const json_t *v, char *out, size_t outlen)
{
	const char *s = json_string_value(v);
	int n;

	if (json_is_integer(v) && json_integer_value(v) >= 0) {
		n = snprintf(out, outlen, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		if (n > 0 && (size_t)n < outlen)
			return true;
		out[0] = '\0';
		return false;
	}
	if (s == NULL || s[0] == '\0' || strlen(s) >= outlen || strcspn(s, " \t\r\n:") != strlen(s))
		return false;
	snprintf(out, outlen, "%s", s);
	return true;
}

/* s (from the API) for a log line: cut to cap bytes, control characters
 * as '?'. */
static void wmp_shown(const char *s, char *out, size_t cap)
{
	snprintf(out, cap, "%s", s != NULL && s[0] ? s : "(none)");
	for (char *p = out; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
}

static bool wmp_is(const int *codes, json_int_t n)
{
	for (size_t i = 0; codes[i] != 0; i++)
		if (codes[i] == n)
			return true;
	return false;
}

static ga_err wmp_check(const struct config *cfg, const struct config_channel *ch, char *err,
			size_t errlen)
{
	static const char *const need[] = {"appid", "secret_file", "thumb_media_id"};

	for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
		const char *v = config_channel_get(ch, need[i]);
		if (v == NULL || v[0] == '\0') {
			snprintf(err, errlen,
				 "%s:%d: [channel.%s]: %s must be set for type wechat_mp",
				 cfg->path, ch->line, ch->name, need[i]);
			return GA_ERR_CONFIG;
		}
	}
	return GA_OK;
}

static ga_err wmp_open(struct channel *c, char *err, size_t errlen)
{
	if ((c->priv = calloc(1, sizeof(struct wmp))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return GA_ERR_NOMEM;
	}
	return GA_OK;
}

static void wmp_close(struct channel *c)
{
	struct wmp *w = c->priv;

	if (w != NULL)
		explicit_bzero(w->token, sizeof(w->token));
	free(w);
	c->priv = NULL;
}

/* req->url = {url}{path}, with ?access_token= when token is not NULL. */
static ga_err wmp_url(const struct channel *c, struct channel_request *req, const char *path,
		      const char *token)
{
	char enc[WMP_TOKEN_MAX * 3];
	size_t n = strlen(c->ch->url);
	int len;

	if (token != NULL && !channel_urlencode(token, enc, sizeof(enc)))
		return GA_ERR_TOOBIG;
	len = snprintf(req->url, sizeof(req->url), "%.*s%s%s%s",
		       (int)n - (n && c->ch->url[n - 1] == '/'), c->ch->url, path,
		       token ? "?access_token=" : "", token ? enc : "");
	explicit_bzero(enc, sizeof(enc));
	return len < 0 || (size_t)len >= sizeof(req->url) ? GA_ERR_TOOBIG : GA_OK;
}

/* The draft/add body: one article. */
static json_t *wmp_draft_body(struct channel *c, const struct channel_job *job, char *err,
			      size_t errlen, ga_err *e)
{
	const char *author = config_channel_get(c->ch, "author");
	/* longer than the caps: draft_utf8_fit cuts them on a boundary */
	char title[CHANNEL_TITLE_MAX + 32], by[CONFIG_STR_MAX], digest[WMP_DIGEST_MAX * 4];
	char head[CHANNEL_TITLE_MAX];
	char *html = NULL;
	json_t *body = NULL;
	bool exercise = strcmp(channel_alert_str(job->alert, "status"), "exercise") == 0;

	channel_plain(channel_alert_str(job->alert, "headline"), head, sizeof(head));
	snprintf(title, sizeof(title), "%s%s", exercise ? "【演练】" : "", head);
	draft_utf8_fit(title, WMP_TITLE_MAX);
	channel_plain(author != NULL ? author : channel_alert_str(job->alert, "sender"), by,
		      sizeof(by));
	channel_utf8_cut(by, WMP_AUTHOR_MAX);
	channel_plain(channel_alert_str(job->alert, "situation"), digest, sizeof(digest));
	draft_utf8_fit(digest, WMP_DIGEST_MAX);
	if ((*e = channel_html(c->tpl, job, c->text_max, &html, err, errlen)) != GA_OK)
		return NULL;
	body = json_pack("{s:[{s:s, s:s, s:s, s:s, s:s, s:s, s:i}]}", "articles", "title", title,
			 "author", by, "digest", digest, "content", html, "content_source_url",
			 job->public_url, "thumb_media_id",
			 config_channel_get(c->ch, "thumb_media_id"), "need_open_comment", 0);
	free(html);
	if (body == NULL) {
		*e = GA_ERR_NOMEM;
		snprintf(err, errlen, "building the draft: out of memory");
	}
	return body;
}

/* The article's HTML content wmp_request sends. */
static ga_err wmp_preview(struct channel *c, struct channel_job *job, char **out, long *limit_chars,
			  char *err, size_t errlen)
{
	*limit_chars = 0;
	return channel_html(c->tpl, job, c->text_max, out, err, errlen);
}

static ga_err wmp_request(struct channel *c, struct channel_job *job, struct channel_request *req,
			  char *err, size_t errlen)
{
	struct wmp *w = c->priv;
	struct wmp_state st;
	json_t *body = NULL;
	ga_err e;

	wmp_state_read(job->scratch, &st);
	st.token_out = w->token[0] == '\0' || job->now_ms >= w->expires_ms;
	wmp_state_write(&st, job->scratch);
	if (st.token_out) {
		body = json_pack("{s:s, s:s, s:s}", "grant_type", "client_credential", "appid",
				 config_channel_get(c->ch, "appid"), "secret", c->secret);
		e = body ? wmp_url(c, req, "/cgi-bin/stable_token", NULL) : GA_ERR_NOMEM;
	} else if (st.publish_id[0]) {
		body = json_pack("{s:s}", "publish_id", st.publish_id);
		e = body ? wmp_url(c, req, "/cgi-bin/freepublish/get", w->token) : GA_ERR_NOMEM;
	} else if (st.media_id[0]) {
		body = json_pack("{s:s}", "media_id", st.media_id);
		e = body ? wmp_url(c, req, "/cgi-bin/freepublish/submit", w->token) : GA_ERR_NOMEM;
	} else {
		if ((body = wmp_draft_body(c, job, err, errlen, &e)) == NULL)
			return e;
		e = wmp_url(c, req, "/cgi-bin/draft/add", w->token);
	}
	if (e == GA_OK)
		e = channel_json_request(req, body, 0);
	json_decref(body);
	if (e != GA_OK)
		snprintf(err, errlen, "building the request: %s", ga_strerror(e));
	return e;
}

/* The answer to a token request: the token cached, or why not. */
static enum channel_verdict wmp_token_answer(struct wmp *w, struct channel_job *job, json_t *j,
					     char *err, size_t errlen)
{
	const char *tok = json_string_value(json_object_get(j, "access_token"));
	json_t *exp = json_object_get(j, "expires_in");
	json_int_t s = json_integer_value(exp);

	if (tok == NULL || tok[0] == '\0' || strlen(tok) >= sizeof(w->token) ||
	    !json_is_integer(exp) || s <= 0) {
		snprintf(err, errlen, "stable_token: no access_token and expires_in in the answer");
		return CHANNEL_RETRY;
	}
	if (s > WMP_EXPIRES_MAX)
		s = WMP_EXPIRES_MAX;
	snprintf(w->token, sizeof(w->token), "%s", tok);
	/* renew a margin before expiry; a short-lived token at half-life */
	w->expires_ms =
	    job->now_ms + (s * 1000 > 2 * WMP_MARGIN_MS ? s * 1000 - WMP_MARGIN_MS : s * 500);
	return CHANNEL_NEXT;
}

/* fail_idx (the articles refused, from 1) as "1,2" into out. */
static void wmp_fail_idx(const json_t *a, char *out, size_t outlen)
{
	size_t i, at = 0;
	int n;

	out[0] = '\0';
	for (i = 0; i < json_array_size(a); i++) {
		n = snprintf(out + at, outlen - at, "%s%" JSON_INTEGER_FORMAT, i ? "," : "",
			     json_integer_value(json_array_get(a, i)));
		if (n < 0 || (size_t)n >= outlen - at) {
			out[at] = '\0';
			break;
		}
		at += (size_t)n;
	}
}

/* The answer to freepublish/get: DONE once published, else RETRY with
 * what it is waiting for or why it will not be (see the top). */
static enum channel_verdict wmp_poll_answer(const struct channel *c, const struct channel_job *job,
					    const struct wmp_state *st, json_t *j, char *err,
					    size_t errlen)
{
	json_t *ps = json_object_get(j, "publish_status");
	json_t *item =
	    json_array_get(json_object_get(json_object_get(j, "article_detail"), "item"), 0);
	char url[WMP_SHOWN_MAX], art[WMP_SHOWN_MAX], idx[WMP_FAILIDX_MAX];
	json_int_t n = json_integer_value(ps);

	if (!json_is_integer(ps) || n < 0 ||
	    n >= (json_int_t)(sizeof(wmp_status_names) / sizeof(wmp_status_names[0]))) {
		snprintf(err, errlen, "freepublish/get: publish_id %s: no known publish_status",
			 st->publish_id);
		return CHANNEL_RETRY;
	}
	if (n == 0) {
		wmp_shown(json_string_value(json_object_get(item, "article_url")), url,
			  sizeof(url));
		wmp_shown(json_string_value(json_object_get(j, "article_id")), art, sizeof(art));
		log_info("wechat_mp %s: %s:%d published (publish_id %s, article_id %s): %s",
			 c->ch->name, job->alert_id, job->version, st->publish_id, art, url);
		return CHANNEL_DONE;
	}
	if (n == 1) {
		snprintf(err, errlen, "freepublish/get: publish_id %s: publishing (status 1)",
			 st->publish_id);
		return CHANNEL_RETRY;
	}
	wmp_fail_idx(json_object_get(j, "fail_idx"), idx, sizeof(idx));
	snprintf(err, errlen,
		 "freepublish/get: publish_id %s: status %d (%s), fail_idx [%s]; not "
		 "submitted again",
		 st->publish_id, (int)n, wmp_status_names[n], idx);
	return CHANNEL_FAIL;
}

static enum channel_verdict wmp_answer(struct channel *c, struct channel_job *job, long status,
				       const char *body, size_t len, char *err, size_t errlen)
{
	struct wmp *w = c->priv;
	struct wmp_state st;
	enum channel_verdict v = CHANNEL_RETRY;
	const char *what;
	json_t *j = NULL, *code;
	json_int_t n = 0;

	wmp_state_read(job->scratch, &st);
	what = st.token_out	  ? "stable_token"
	       : st.publish_id[0] ? "freepublish/get"
	       : st.media_id[0]	  ? "freepublish/submit"
				  : "draft/add";
	if (status != 200) {
		snprintf(err, errlen, "%s: HTTP %ld", what, status);
		return status == 429 ? CHANNEL_RATE : CHANNEL_RETRY;
	}
	if ((j = json_loadb(body, len, 0, NULL)) == NULL || !json_is_object(j)) {
		snprintf(err, errlen, "%s: the answer is not a JSON object", what);
		goto out;
	}
	code = json_object_get(j, "errcode");
	if (code != NULL && (!json_is_integer(code) || (n = json_integer_value(code)) != 0)) {
		const char *msg = json_string_value(json_object_get(j, "errmsg"));
		snprintf(err, errlen, "%s: errcode %lld: %.160s", what, (long long)n,
			 msg ? msg : "");
		if (wmp_is(wmp_rate_codes, n)) {
			v = CHANNEL_RATE;
		} else if (!st.token_out && wmp_is(wmp_token_codes, n)) {
			/* the token went bad: fetch another now, once */
			explicit_bzero(w->token, sizeof(w->token));
			w->expires_ms = 0;
			if (!st.renewed) {
				st.renewed = true;
				v = CHANNEL_NEXT;
			}
		}
		goto out;
	}
	if (st.token_out) {
		st.token_out = false;
		v = wmp_token_answer(w, job, j, err, errlen);
	} else if (st.publish_id[0]) {
		v = wmp_poll_answer(c, job, &st, j, err, errlen);
	} else if (st.media_id[0] == '\0') {
		if (!wmp_id_of(json_object_get(j, "media_id"), st.media_id, sizeof(st.media_id))) {
			snprintf(err, errlen, "draft/add: no usable media_id in the answer");
			goto out;
		}
		st.renewed = false;
		v = CHANNEL_NEXT;
	} else if (code == NULL) {
		snprintf(err, errlen, "freepublish/submit: no errcode in the answer");
	} else if (wmp_id_of(json_object_get(j, "publish_id"), st.publish_id,
			     sizeof(st.publish_id))) {
		/* queued: ask how it went, from now on */
		st.media_id[0] = '\0';
		st.renewed = false;
		v = CHANNEL_NEXT;
	} else {
		/* submitted, but nothing to poll: submitting again would
		 * publish twice */
		log_warnx("wechat_mp %s: %s:%d submitted without a usable publish_id: "
			  "taken as published, not polled",
			  c->ch->name, job->alert_id, job->version);
		v = CHANNEL_DONE;
	}
out:
	if (v == CHANNEL_NEXT)
		wmp_state_write(&st, job->scratch);
	json_decref(j);
	return v;
}

const struct channel_type channel_type_wechat_mp = {
    .name = "wechat_mp",
    .transport = CHANNEL_HTTP,
    .keys = wmp_keys,
    .template_file = "wechat_mp.html",
    .syntax = CHANNEL_ESC_TEXT, /* its text is channel_html's */
    .text_max = WMP_TEXT_MAX,
    .needs_url = true,
    .check = wmp_check,
    .open = wmp_open,
    .close = wmp_close,
    .request = wmp_request,
    .preview = wmp_preview,
    .answer = wmp_answer,
};
