/* channel_wecom.c - the WeCom (企业微信) group robot: POST
 * {url}?key={robot key from token_file} with msgtype markdown, content at
 * most 4096 bytes of UTF-8 (max_bytes). errcode 0 is delivered; 45009 is
 * the robot's 20 messages a minute exceeded. */
#include <stdio.h>

#include "channel_internal.h"

#define WECOM_TEXT_MAX 4096

static const int wecom_rate_codes[] = {45009, 0};
static const char *const wecom_keys[] = {"internal", NULL};

static ga_err wecom_request(struct channel *c, struct channel_job *job, struct channel_request *req,
			    char *err, size_t errlen)
{
	ga_err e;

	if ((e = channel_token_url(c, "key", req->url, sizeof(req->url))) != GA_OK) {
		snprintf(err, errlen, "url too long");
		return e;
	}
	return channel_robot_markdown(c, job, NULL, "content", req, err, errlen);
}

static enum channel_verdict wecom_answer(struct channel *c, struct channel_job *job, long status,
					 const char *body, size_t len, char *err, size_t errlen)
{
	return channel_robot_answer(status, body, len, "errcode", wecom_rate_codes, err, errlen);
}

const struct channel_type channel_type_wecom = {
    .name = "wecom",
    .transport = CHANNEL_HTTP,
    .keys = wecom_keys,
    .template_file = "wecom.md",
    .syntax = CHANNEL_ESC_MARKDOWN | CHANNEL_ESC_DEFANG,
    .text_max = WECOM_TEXT_MAX,
    .needs_url = true,
    .needs_token = true,
    .rate_per_min = 20,
    .request = wecom_request,
    .answer = wecom_answer,
};
