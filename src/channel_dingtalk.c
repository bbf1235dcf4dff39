/* channel_dingtalk.c - the DingTalk (钉钉) custom robot: POST
 * {url}?access_token={token_file}&timestamp={ms}&sign={sign} with msgtype
 * markdown. With secret_file set ("加签"), sign is the HMAC-SHA256 of
 * "{timestamp}\n{secret}" under the secret, base64, URL-encoded; DingTalk
 * refuses a timestamp more than an hour off. errcode 0 is delivered;
 * 130101 is the robot's 20 messages a minute exceeded. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "channel_internal.h"

#define DINGTALK_TEXT_MAX 20000

static const char *const dingtalk_keys[] = {"secret_file", "internal", NULL};
static const int dingtalk_rate_codes[] = {130101, 0};

static ga_err dingtalk_url(struct channel *c, const struct channel_job *job, char *url, size_t len)
{
	char ts[32], sign64[64], sign[192];
	char tosign[CHANNEL_SECRET_MAX + 40];
	ga_err e;
	int n;

	if ((e = channel_token_url(c, "access_token", url, len)) != GA_OK)
		return e;
	if (c->secret[0] == '\0')
		return GA_OK;
	snprintf(ts, sizeof(ts), "%" PRId64, job->now_ms);
	n = snprintf(tosign, sizeof(tosign), "%s\n%s", ts, c->secret);
	channel_hmac_b64(c->secret, strlen(c->secret), tosign, (size_t)n, sign64, sizeof(sign64));
	explicit_bzero(tosign, sizeof(tosign));
	if (!channel_urlencode(sign64, sign, sizeof(sign)))
		return GA_ERR_TOOBIG;
	size_t used = strlen(url);
	n = snprintf(url + used, len - used, "&timestamp=%s&sign=%s", ts, sign);
	return n < 0 || (size_t)n >= len - used ? GA_ERR_TOOBIG : GA_OK;
}

static ga_err dingtalk_request(struct channel *c, struct channel_job *job,
			       struct channel_request *req, char *err, size_t errlen)
{
	ga_err e;

	if ((e = dingtalk_url(c, job, req->url, sizeof(req->url))) != GA_OK) {
		snprintf(err, errlen, "url too long");
		return e;
	}
	return channel_robot_markdown(c, job, "title", "text", req, err, errlen);
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
    .syntax = CHANNEL_ESC_MARKDOWN | CHANNEL_ESC_DEFANG,
    .text_max = DINGTALK_TEXT_MAX,
    .needs_url = true,
    .needs_token = true,
    .rate_per_min = 20,
    .request = dingtalk_request,
    .answer = dingtalk_answer,
};
