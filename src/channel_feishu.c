/* channel_feishu.c - the Feishu/Lark (飞书) custom bot: POST
 * {url}{hook token from token_file} with an interactive card whose
 * header is the headline in the level's colour. With secret_file set
 * ("签名校验"), the body carries timestamp (seconds) and sign: the
 * HMAC-SHA256 of an empty message under the key "{timestamp}\n{secret}",
 * base64. The whole body is at most 20 KB (max_bytes). code 0 is
 * delivered; 9499 and 11232 are its rate limits (100 a minute, 5 a
 * second). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "channel_internal.h"

#define FEISHU_BODY_MAX 20480
#define FEISHU_FIT_TRIES 6

static const char *const feishu_keys[] = {"secret_file", "internal", NULL};
static const int feishu_rate_codes[] = {9499, 11232, 0};

/* The card header's template for a level colour. */
static const char *feishu_colour(const char *color)
{
	static const char *const known[] = {"red", "orange", "yellow", "blue"};

	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strcmp(color, known[i]) == 0)
			return known[i];
	return "grey";
}

static json_t *feishu_body(struct channel *c, const struct channel_job *job, const char *text)
{
	char title[CHANNEL_TITLE_MAX];
	json_t *card = NULL, *body = NULL;
	char ts[32], key[CHANNEL_SECRET_MAX + 40], sign[64];
	int n;

	channel_plain(channel_alert_str(job->alert, "headline"), title, sizeof(title));
	card = json_pack("{s:{s:b}, s:{s:{s:s, s:s}, s:s}, s:[{s:s, s:s}]}", "config",
			 "wide_screen_mode", 1, "header", "title", "tag", "plain_text", "content",
			 title, "template", feishu_colour(channel_alert_str(job->alert, "color")),
			 "elements", "tag", "markdown", "content", text);
	body = json_object();

	if (card == NULL || body == NULL)
		goto fail;
	if (c->secret[0]) {
		snprintf(ts, sizeof(ts), "%" PRId64, job->now_ms / 1000);
		n = snprintf(key, sizeof(key), "%s\n%s", ts, c->secret);
		channel_hmac_b64(key, (size_t)n, "", 0, sign, sizeof(sign));
		explicit_bzero(key, sizeof(key));
		if (json_object_set_new(body, "timestamp", json_string(ts)) != 0 ||
		    json_object_set_new(body, "sign", json_string(sign)) != 0)
			goto fail;
	}
	if (json_object_set_new(body, "msg_type", json_string("interactive")) != 0 ||
	    json_object_set_new(body, "card", card) != 0) {
		card = NULL;
		goto fail;
	}
	return body;
fail:
	json_decref(card);
	json_decref(body);
	return NULL;
}

static ga_err feishu_request(struct channel *c, struct channel_job *job,
			     struct channel_request *req, char *err, size_t errlen)
{
	char token[CHANNEL_SECRET_MAX * 3];
	size_t cap = c->text_max;
	ga_err e = GA_ERR_TOOBIG;
	int n;

	if (!channel_urlencode(c->token, token, sizeof(token)))
		return GA_ERR_TOOBIG;
	n = snprintf(req->url, sizeof(req->url), "%s%s%s", c->ch->url,
		     c->ch->url[strlen(c->ch->url) - 1] == '/' ? "" : "/", token);
	explicit_bzero(token, sizeof(token));
	if (n < 0 || (size_t)n >= sizeof(req->url)) {
		snprintf(err, errlen, "url too long");
		return GA_ERR_TOOBIG;
	}
	/* The cap is on the whole body: shrink the text by what the rest
	 * and JSON escaping add until it fits. */
	for (int i = 0; i < FEISHU_FIT_TRIES && e == GA_ERR_TOOBIG; i++) {
		char *text = NULL, *dump;
		json_t *body;
		size_t len;

		if ((e = channel_text(c, job, CHANNEL_MD_LINK_PRE, CHANNEL_MD_LINK_POST, cap, &text,
				      err, errlen)) != GA_OK)
			return e;
		body = feishu_body(c, job, text);
		free(text);
		if (body == NULL)
			return GA_ERR_NOMEM;
		dump = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);
		len = dump ? strlen(dump) : 0;
		free(dump);
		if (dump == NULL) {
			e = GA_ERR_NOMEM;
		} else if (len > c->text_max) {
			if (cap <= len - c->text_max + 256) {
				json_decref(body);
				break;
			}
			cap -= len - c->text_max + 64;
			e = GA_ERR_TOOBIG;
		} else {
			e = channel_json_request(req, body, c->text_max);
		}
		json_decref(body);
	}
	if (e != GA_OK)
		snprintf(err, errlen, "building the request: %s", ga_strerror(e));
	return e;
}

static enum channel_verdict feishu_answer(struct channel *c, struct channel_job *job, long status,
					  const char *body, size_t len, char *err, size_t errlen)
{
	return channel_robot_answer(status, body, len, "code", feishu_rate_codes, err, errlen);
}

const struct channel_type channel_type_feishu = {
    .name = "feishu",
    .transport = CHANNEL_HTTP,
    .keys = feishu_keys,
    .template_file = "feishu.md",
    .syntax = CHANNEL_ESC_MARKDOWN | CHANNEL_ESC_DEFANG,
    .text_max = FEISHU_BODY_MAX,
    .needs_url = true,
    .needs_token = true,
    .rate_per_min = 100,
    .rate_per_s = 5,
    .request = feishu_request,
    .answer = feishu_answer,
};
