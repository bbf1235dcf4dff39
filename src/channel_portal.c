/* channel_portal.c - the portal (spec §9): the alert JSON of spec §6
 * POSTed as is, with Idempotency-Key: {alert_id}:{version} and, when
 * token_file is set, Authorization: Bearer. 2xx is delivered; 409 is the
 * portal saying it has that key already, so delivered too. */
#include <stdio.h>
#include <string.h>

#include "channel_internal.h"

static ga_err portal_request(struct channel *c, struct channel_job *job,
			     struct channel_request *req, char *err, size_t errlen)
{
	char bearer[CHANNEL_SECRET_MAX + 16];
	ga_err e;

	snprintf(req->url, sizeof(req->url), "%s", c->ch->url);
	if ((e = channel_json_request(req, job->alert, 0)) != GA_OK ||
	    (e = channel_header(req, "Idempotency-Key", job->idem_key)) != GA_OK)
		goto out;
	if (c->token[0]) {
		snprintf(bearer, sizeof(bearer), "Bearer %s", c->token);
		e = channel_header(req, "Authorization", bearer);
		explicit_bzero(bearer, sizeof(bearer));
	}
out:
	if (e != GA_OK)
		snprintf(err, errlen, "building the request: %s", ga_strerror(e));
	return e;
}

static enum channel_verdict portal_answer(struct channel *c, struct channel_job *job, long status,
					  const char *body, size_t len, char *err, size_t errlen)
{
	if ((status >= 200 && status <= 299) || status == 409)
		return CHANNEL_DONE;
	snprintf(err, errlen, "HTTP %ld", status);
	return status == 429 ? CHANNEL_RATE : CHANNEL_RETRY;
}

const struct channel_type channel_type_portal = {
    .name = "portal",
    .transport = CHANNEL_HTTP,
    .keys = NULL,
    .needs_url = true,
    .never_give_up = true, /* spec §9: retried until the portal answers 2xx */
    .request = portal_request,
    .answer = portal_answer,
};
