/* channel_wecom.c - the WeCom (企业微信) group robot: POST
 * {url}?key={robot key from token_file} with msgtype markdown, content at
 * most 4096 bytes of UTF-8 (max_bytes). errcode 0 is delivered; 45009 is
 * the robot's 20 messages a minute exceeded. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "channel_internal.h"

#define WECOM_TEXT_MAX 4096
#define WECOM_LINK_PRE "\n\n[查看全文]("
#define WECOM_LINK_POST ")"

static const int wecom_rate_codes[] = {45009, 0};

static ga_err wecom_request(struct channel *c, struct channel_job *job, struct channel_request *req,
			    char *err, size_t errlen)
{
	char key[CHANNEL_SECRET_MAX * 3];
	char *text = NULL;
	json_t *body = NULL;
	ga_err e;
	int n;

	if (!channel_urlencode(c->token, key, sizeof(key)))
		return GA_ERR_TOOBIG;
	n = snprintf(req->url, sizeof(req->url), "%s%skey=%s", c->ch->url,
		     strchr(c->ch->url, '?') ? "&" : "?", key);
	explicit_bzero(key, sizeof(key));
	if (n < 0 || (size_t)n >= sizeof(req->url)) {
		snprintf(err, errlen, "url too long");
		return GA_ERR_TOOBIG;
	}
	if ((e = channel_text(c, job, WECOM_LINK_PRE, WECOM_LINK_POST, c->text_max, &text, err,
			      errlen)) != GA_OK)
		return e;
	body = json_pack("{s:s, s:{s:s}}", "msgtype", "markdown", "markdown", "content", text);
	e = body ? channel_json_request(req, body, 0) : GA_ERR_NOMEM;
	if (e != GA_OK)
		snprintf(err, errlen, "building the request: %s", ga_strerror(e));
	json_decref(body);
	free(text);
	return e;
}

static enum channel_verdict wecom_answer(struct channel *c, struct channel_job *job, long status,
					 const char *body, size_t len, char *err, size_t errlen)
{
	return channel_robot_answer(status, body, len, "errcode", wecom_rate_codes, err, errlen);
}

const struct channel_type channel_type_wecom = {
    .name = "wecom",
    .transport = CHANNEL_HTTP,
    .template_file = "wecom.md",
    .text_max = WECOM_TEXT_MAX,
    .needs_url = true,
    .needs_token = true,
    .rate_per_min = 20,
    .request = wecom_request,
    .answer = wecom_answer,
};
