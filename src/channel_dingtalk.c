/* channel_dingtalk.c - the DingTalk (钉钉) custom robot: POST
 * {url}?access_token={token_file}&timestamp={ms}&sign={sign} with msgtype
 * markdown. With secret_file set ("加签"), sign is the HMAC-SHA256 of
 * "{timestamp}\n{secret}" under the secret, base64, URL-encoded; DingTalk
 * refuses a timestamp more than an hour off. errcode 0 is delivered;
 * 130101 is the robot's 20 messages a minute exceeded. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "channel_internal.h"

#define DINGTALK_TEXT_MAX 20000
#define DINGTALK_LINK_PRE "\n\n[查看全文]("
#define DINGTALK_LINK_POST ")"

static const char *const dingtalk_keys[] = {"secret_file", NULL};
static const int dingtalk_rate_codes[] = {130101, 0};

static ga_err dingtalk_url(struct channel *c, const struct channel_job *job, char *url, size_t len)
{
	char token[CHANNEL_SECRET_MAX * 3], ts[32], sign64[64], sign[192];
	char tosign[CHANNEL_SECRET_MAX + 40];
	int n;

	if (!channel_urlencode(c->token, token, sizeof(token)))
		return GA_ERR_TOOBIG;
	n = snprintf(url, len, "%s%saccess_token=%s", c->ch->url,
		     strchr(c->ch->url, '?') ? "&" : "?", token);
	explicit_bzero(token, sizeof(token));
	if (n < 0 || (size_t)n >= len)
		return GA_ERR_TOOBIG;
	if (c->secret[0] == '\0')
		return GA_OK;
	snprintf(ts, sizeof(ts), "%" PRId64, job->now_ms);
	n = snprintf(tosign, sizeof(tosign), "%s\n%s", ts, c->secret);
	channel_hmac_b64(c->secret, strlen(c->secret), tosign, (size_t)n, sign64, sizeof(sign64));
	explicit_bzero(tosign, sizeof(tosign));
	if (!channel_urlencode(sign64, sign, sizeof(sign)))
		return GA_ERR_TOOBIG;
	n = snprintf(url + strlen(url), len - strlen(url), "&timestamp=%s&sign=%s", ts, sign);
	return n < 0 || (size_t)n >= len ? GA_ERR_TOOBIG : GA_OK;
}

static ga_err dingtalk_request(struct channel *c, struct channel_job *job,
			       struct channel_request *req, char *err, size_t errlen)
{
	char *text = NULL;
	json_t *body = NULL;
	ga_err e;

	if ((e = dingtalk_url(c, job, req->url, sizeof(req->url))) != GA_OK) {
		snprintf(err, errlen, "url too long");
		return e;
	}
	if ((e = channel_text(c, job, DINGTALK_LINK_PRE, DINGTALK_LINK_POST, c->text_max, &text,
			      err, errlen)) != GA_OK)
		return e;
	body = json_pack("{s:s, s:{s:s, s:s}}", "msgtype", "markdown", "markdown", "title",
			 channel_alert_str(job->alert, "headline"), "text", text);
	e = body ? channel_json_request(req, body, 0) : GA_ERR_NOMEM;
	if (e != GA_OK)
		snprintf(err, errlen, "building the request: %s", ga_strerror(e));
	json_decref(body);
	free(text);
	return e;
}

static enum channel_verdict dingtalk_answer(struct channel *c, struct channel_job *job, long status,
					    const char *body, size_t len, char *err, size_t errlen)
{
	return channel_robot_answer(status, body, len, "errcode", dingtalk_rate_codes, err, errlen);
}

const struct channel_type channel_type_dingtalk = {
    .name = "dingtalk",
    .transport = CHANNEL_HTTP,
    .keys = dingtalk_keys,
    .template_file = "dingtalk.md",
    .text_max = DINGTALK_TEXT_MAX,
    .needs_url = true,
    .needs_token = true,
    .rate_per_min = 20,
    .request = dingtalk_request,
    .answer = dingtalk_answer,
};
