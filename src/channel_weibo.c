/* channel_weibo.c - Weibo (新浪微博) statuses/share: POST {url}
 * (https://api.weibo.com/2/statuses/share.json) as
 * application/x-www-form-urlencoded, access_token from token_file and
 * status = the text of weibo.txt, a space and the link to the public
 * alert page, at most max_chars (140) Unicode characters in all. A longer
 * text is cut on a character boundary and ends in "…" before the link.
 *
 * share.json takes only links on the app's "安全域名": the key
 * safe_domain is required, and the host of [http] public_base_url must be
 * that domain or a subdomain of it (checked at open).
 *
 * Answers: 200 with an "id" is delivered. Errors are
 * {"error_code": N, "error": "..."}: 10023/10024 are rate limits; 20019
 * is "repeated content", Weibo having this very text already (an earlier
 * attempt went through, its answer lost), so delivered; 21314-21317,
 * 21319, 21327 and 21332 are the token expired or revoked. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "channel_internal.h"
#include "log.h"
#include "text.h"

#define WEIBO_CHARS_DEFAULT 140
#define WEIBO_CHARS_MIN 40
#define WEIBO_CHARS_MAX 2000 /* a long post ("长微博") */
#define WEIBO_DOMAIN_MAX 253
#define WEIBO_ELLIPSIS "…"

static const char *const weibo_keys[] = {"safe_domain", "max_chars", NULL};
static const long weibo_rate_codes[] = {10023, 10024, 0};
static const long weibo_token_codes[] = {21314, 21315, 21316, 21317, 21319, 21327, 21332, 0};

struct weibo {
	int max_chars;
	char domain[WEIBO_DOMAIN_MAX + 1];
};

static int weibo_key_line(const struct config_channel *ch, const char *key)
{
	for (int i = 0; i < ch->nkv; i++)
		if (strcmp(ch->kv[i].key, key) == 0)
			return ch->kv[i].line;
	return ch->line;
}

/* Cuts s after n code points (never inside one). */
static void weibo_cut_chars(char *s, size_t n)
{
	size_t seen = 0;

	for (char *p = s; *p; p++) {
		if (((unsigned char)*p & 0xC0) != 0x80 && seen++ == n) {
			*p = '\0';
			return;
		}
	}
}

/* Cuts s to at most n bytes, never inside a character. */
static void weibo_cut_bytes(char *s, size_t n)
{
	if (strlen(s) <= n)
		return;
	while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
		n--;
	s[n] = '\0';
}

/* The host of url (between "://" and the port, path, query or fragment;
 * after any userinfo), lower-cased into out. false when there is none. */
static bool weibo_url_host(const char *url, char *out, size_t outlen)
{
	const char *p = strstr(url, "://"), *end;
	size_t n;

	if (p == NULL)
		return false;
	p += 3;
	end = p + strcspn(p, "/?#");
	for (const char *at = p; at < end; at++)
		if (*at == '@')
			p = at + 1;
	if (*p == '[') { /* an IPv6 literal: up to its bracket */
		const char *rb = strchr(p, ']');
		n = rb != NULL && rb < end ? (size_t)(rb + 1 - p) : 0;
	} else {
		n = strcspn(p, ":/?#");
	}
	if (n == 0 || n >= outlen)
		return false;
	for (size_t i = 0; i < n; i++)
		out[i] = (p[i] >= 'A' && p[i] <= 'Z') ? (char)(p[i] - 'A' + 'a') : p[i];
	out[n] = '\0';
	if (n > 1 && out[n - 1] == '.') /* "example.org." is example.org */
		out[n - 1] = '\0';
	return true;
}

/* Whether host is domain or a subdomain of it (".evil-domain" is not). */
static bool weibo_on_domain(const char *host, const char *domain)
{
	size_t h = strlen(host), d = strlen(domain);

	if (h == d)
		return strcasecmp(host, domain) == 0;
	return h > d && host[h - d - 1] == '.' && strcasecmp(host + h - d, domain) == 0;
}

static ga_err weibo_open(struct channel *c, char *err, size_t errlen)
{
	const struct config *cfg = c->cfg;
	const struct config_channel *ch = c->ch;
	const char *dom = config_channel_get(ch, "safe_domain");
	const char *mc = config_channel_get(ch, "max_chars");
	char host[WEIBO_DOMAIN_MAX + 1];
	struct weibo *w;
	char *end;
	long n = WEIBO_CHARS_DEFAULT;

	if (dom == NULL || dom[0] == '\0') {
		snprintf(err, errlen,
			 "%s:%d: [channel.%s]: safe_domain must be set for type weibo (the "
			 "app's safe domain, which the alert links must be on)",
			 cfg->path, ch->line, ch->name);
		return GA_ERR_CONFIG;
	}
	if (strlen(dom) > WEIBO_DOMAIN_MAX || strcspn(dom, "/:@?# ") != strlen(dom)) {
		snprintf(err, errlen, "%s:%d: [channel.%s] safe_domain: \"%s\" is not a domain",
			 cfg->path, weibo_key_line(ch, "safe_domain"), ch->name, dom);
		return GA_ERR_CONFIG;
	}
	if (mc != NULL) {
		n = strtol(mc, &end, 10);
		if (end == mc || *end != '\0' || n < WEIBO_CHARS_MIN || n > WEIBO_CHARS_MAX) {
			snprintf(err, errlen,
				 "%s:%d: [channel.%s] max_chars: \"%s\" must be an integer %d..%d",
				 cfg->path, weibo_key_line(ch, "max_chars"), ch->name, mc,
				 WEIBO_CHARS_MIN, WEIBO_CHARS_MAX);
			return GA_ERR_CONFIG;
		}
	}
	if (!weibo_url_host(cfg->http.public_base_url, host, sizeof(host)) ||
	    !weibo_on_domain(host, dom[0] == '.' ? dom + 1 : dom)) {
		snprintf(err, errlen,
			 "%s:%d: [channel.%s] safe_domain: the alert links are on \"%s\" "
			 "([http] public_base_url), not on \"%s\" or a subdomain of it: Weibo "
			 "refuses them",
			 cfg->path, weibo_key_line(ch, "safe_domain"), ch->name,
			 cfg->http.public_base_url, dom);
		return GA_ERR_CONFIG;
	}
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return GA_ERR_NOMEM;
	w->max_chars = (int)n;
	snprintf(w->domain, sizeof(w->domain), "%s", dom[0] == '.' ? dom + 1 : dom);
	c->priv = w;
	return GA_OK;
}

static void weibo_close(struct channel *c)
{
	free(c->priv);
	c->priv = NULL;
}

/* text + " " + link in max_chars code points (and, with max_bytes set,
 * that many bytes): text cut on a character boundary, ending in "…",
 * when it does not fit. *out is new (caller frees). */
static ga_err weibo_fit(const char *text, const char *link, size_t max_chars, size_t max_bytes,
			char **out)
{
	size_t tl = strlen(text), ll = strlen(link), lc = text_chars(link);
	size_t keep, size = tl + ll + sizeof(WEIBO_ELLIPSIS) + 2;
	char *s;

	/* the link, a space and at least "…" */
	if (lc + 2 > max_chars || (max_bytes > 0 && ll + 1 + strlen(WEIBO_ELLIPSIS) > max_bytes))
		return GA_ERR_TOOBIG;
	if ((s = malloc(size)) == NULL)
		return GA_ERR_NOMEM;
	memcpy(s, text, tl + 1);
	/* trailing blanks and line breaks would only stand before the link */
	while (tl > 0 && strchr(" \t\r\n", s[tl - 1]) != NULL)
		s[--tl] = '\0';
	if (text_chars(s) + 1 + lc > max_chars || (max_bytes > 0 && tl + 1 + ll > max_bytes)) {
		keep = max_chars - lc - 2; /* room for "…" and the space */
		weibo_cut_chars(s, keep);
		if (max_bytes > 0)
			weibo_cut_bytes(s, max_bytes - ll - 1 - strlen(WEIBO_ELLIPSIS));
		tl = strlen(s);
		while (tl > 0 && strchr(" \t\r\n", s[tl - 1]) != NULL)
			s[--tl] = '\0';
		memcpy(s + tl, WEIBO_ELLIPSIS, sizeof(WEIBO_ELLIPSIS));
		tl += strlen(WEIBO_ELLIPSIS);
	}
	if (tl > 0)
		s[tl++] = ' ';
	memcpy(s + tl, link, ll + 1);
	*out = s;
	return GA_OK;
}

/* The status text weibo_request posts. */
static ga_err weibo_preview(struct channel *c, struct channel_job *job, char **out,
			    long *limit_chars, char *err, size_t errlen)
{
	struct weibo *w = c->priv;
	char *text = NULL;
	ga_err e;

	*limit_chars = w->max_chars;
	if ((e = channel_text(c, job, "", "", CHANNEL_TEXT_MAX, &text, err, errlen)) != GA_OK)
		return e;
	if ((e = weibo_fit(text, job->public_url, (size_t)w->max_chars, c->text_max, out)) != GA_OK)
		snprintf(err, errlen, "the link does not fit in %d characters", w->max_chars);
	free(text);
	return e;
}

static ga_err weibo_request(struct channel *c, struct channel_job *job, struct channel_request *req,
			    char *err, size_t errlen)
{
	const struct weibo *w = c->priv;
	char *text = NULL, *status = NULL, *body = NULL, *enc = NULL;
	char token[CHANNEL_SECRET_MAX * 3];
	char host[WEIBO_DOMAIN_MAX + 1];
	size_t enclen;
	ga_err e;
	int n;

	snprintf(req->url, sizeof(req->url), "%s", c->ch->url);
	if (!weibo_url_host(job->public_url, host, sizeof(host)) ||
	    !weibo_on_domain(host, w->domain)) {
		snprintf(err, errlen, "the alert link is not on the safe domain %s", w->domain);
		return GA_ERR_INVAL;
	}
	/* rendered whole: the fitting counts characters, not bytes */
	if ((e = channel_text(c, job, "", "", CHANNEL_TEXT_MAX, &text, err, errlen)) != GA_OK)
		return e;
	if ((e = weibo_fit(text, job->public_url, (size_t)w->max_chars, c->text_max, &status)) !=
	    GA_OK) {
		snprintf(err, errlen, "the link does not fit in %d characters", w->max_chars);
		goto out;
	}
	enclen = strlen(status) * 3 + 1;
	e = GA_ERR_NOMEM;
	if ((enc = malloc(enclen)) == NULL || (body = malloc(enclen + sizeof(token) + 32)) == NULL)
		goto out;
	if (!channel_urlencode(c->token, token, sizeof(token)) ||
	    !channel_urlencode(status, enc, enclen)) {
		snprintf(err, errlen, "the token or text does not encode");
		e = GA_ERR_TOOBIG;
		goto out;
	}
	n = snprintf(body, enclen + sizeof(token) + 32, "access_token=%s&status=%s", token, enc);
	if (n < 0 || (size_t)n >= enclen + sizeof(token) + 32) {
		e = GA_ERR_TOOBIG;
		goto out;
	}
	req->body = body;
	req->bodylen = (size_t)n;
	body = NULL;
	e = channel_header(req, "Content-Type", "application/x-www-form-urlencoded");
out:
	if (e != GA_OK && e != GA_ERR_TOOBIG)
		snprintf(err, errlen, "building the request: %s", ga_strerror(e));
	explicit_bzero(token, sizeof(token));
	if (body != NULL)
		explicit_bzero(body, strlen(body));
	free(body);
	free(enc);
	free(status);
	free(text);
	return e;
}

static bool weibo_code_in(long code, const long *codes)
{
	for (; *codes != 0; codes++)
		if (*codes == code)
			return true;
	return false;
}

static enum channel_verdict weibo_answer(struct channel *c, struct channel_job *job, long status,
					 const char *body, size_t len, char *err, size_t errlen)
{
	json_t *j = json_loadb(body, len, 0, NULL);
	json_t *code = json_object_get(j, "error_code");
	const char *msg = json_string_value(json_object_get(j, "error"));
	enum channel_verdict v = CHANNEL_RETRY;
	long n;

	if (status == 200 && !json_is_integer(code) &&
	    (json_is_integer(json_object_get(j, "id")) ||
	     json_is_string(json_object_get(j, "idstr")))) {
		v = CHANNEL_DONE;
		goto out;
	}
	if (!json_is_integer(code)) {
		snprintf(err, errlen, "HTTP %ld%s", status,
			 status == 200 ? ": answer without an id or error_code" : "");
		v = status == 429 ? CHANNEL_RATE : CHANNEL_RETRY;
		goto out;
	}
	n = (long)json_integer_value(code);
	if (n == 20019) { /* the very text is there: an earlier attempt went through */
		log_info("weibo %s: %s:%d is on Weibo already (20019, repeated content)",
			 c->ch->name, job->alert_id, job->version);
		v = CHANNEL_DONE;
		goto out;
	}
	if (weibo_code_in(n, weibo_token_codes))
		snprintf(err, errlen,
			 "error_code %ld: the access token is expired or invalid (%.100s): "
			 "renew it in token_file and restart",
			 n, msg ? msg : "");
	else
		snprintf(err, errlen, "error_code %ld: %.160s", n, msg ? msg : "");
	v = weibo_code_in(n, weibo_rate_codes) ? CHANNEL_RATE : CHANNEL_RETRY;
out:
	json_decref(j);
	return v;
}

const struct channel_type channel_type_weibo = {
    .name = "weibo",
    .transport = CHANNEL_HTTP,
    .keys = weibo_keys,
    .template_file = "weibo.txt",
    .syntax = CHANNEL_ESC_WEIBO | CHANNEL_ESC_DEFANG,
    .text_max = 0, /* max_chars counts characters; max_bytes, when set, bytes too */
    .needs_url = true,
    .needs_token = true,
    .rate_per_min = 0,
    .open = weibo_open,
    .close = weibo_close,
    .request = weibo_request,
    .preview = weibo_preview,
    .answer = weibo_answer,
};
