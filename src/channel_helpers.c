/* channel_helpers.c - what the HTTP channel types share: JSON requests,
 * headers, HMAC-SHA256 signatures in base64, URL encoding and the
 * errcode/code answers of the chat robots. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "channel_internal.h"

void channel_hmac_b64(const void *key, size_t keylen, const void *msg, size_t msglen, char *out,
		      size_t outlen)
{
	crypto_auth_hmacsha256_state st;
	unsigned char mac[crypto_auth_hmacsha256_BYTES];

	crypto_auth_hmacsha256_init(&st, key, keylen);
	crypto_auth_hmacsha256_update(&st, msg, msglen);
	crypto_auth_hmacsha256_final(&st, mac);
	sodium_bin2base64(out, outlen, mac, sizeof(mac), sodium_base64_VARIANT_ORIGINAL);
	sodium_memzero(&st, sizeof(st));
}

bool channel_urlencode(const char *s, char *out, size_t outlen)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		bool plain = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
			     (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' || *p == '_' ||
			     *p == '~';
		if (o + (plain ? 1 : 3) >= outlen)
			return false;
		if (plain) {
			out[o++] = (char)*p;
		} else {
			out[o++] = '%';
			out[o++] = hex[*p >> 4];
			out[o++] = hex[*p & 15];
		}
	}
	if (outlen == 0)
		return false;
	out[o] = '\0';
	return true;
}

ga_err channel_token_url(const struct channel *c, const char *param, char *url, size_t len)
{
	char token[CHANNEL_SECRET_MAX * 3];
	int n;

	if (!channel_urlencode(c->token, token, sizeof(token)))
		return GA_ERR_TOOBIG;
	n = snprintf(url, len, "%s%s%s=%s", c->ch->url, strchr(c->ch->url, '?') ? "&" : "?", param,
		     token);
	explicit_bzero(token, sizeof(token));
	return n < 0 || (size_t)n >= len ? GA_ERR_TOOBIG : GA_OK;
}

ga_err channel_header(struct channel_request *req, const char *name, const char *value)
{
	char line[CHANNEL_SECRET_MAX + 128];
	struct curl_slist *l;
	int n = snprintf(line, sizeof(line), "%s: %s", name, value);

	if (n < 0 || (size_t)n >= sizeof(line))
		return GA_ERR_TOOBIG;
	l = curl_slist_append(req->headers, line);
	explicit_bzero(line, sizeof(line)); /* may be a bearer token */
	if (l == NULL)
		return GA_ERR_NOMEM;
	req->headers = l;
	return GA_OK;
}

ga_err channel_json_request(struct channel_request *req, const json_t *body, size_t max)
{
	char *text = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);

	if (text == NULL)
		return GA_ERR_NOMEM;
	if (strlen(text) > (max ? max : CHANNEL_BODY_MAX)) {
		free(text);
		return GA_ERR_TOOBIG;
	}
	free(req->body);
	req->body = text;
	req->bodylen = strlen(text);
	return channel_header(req, "Content-Type", "application/json");
}

ga_err channel_robot_markdown(const struct channel *c, const struct channel_job *job,
			      const char *title_key, const char *text_key,
			      struct channel_request *req, char *err, size_t errlen)
{
	char *text = NULL, title[CHANNEL_TITLE_MAX];
	json_t *body;
	ga_err e;

	channel_plain(channel_alert_str(job->alert, "headline"), title, sizeof(title));
	if ((e = channel_text(c, job, CHANNEL_MD_LINK_PRE, CHANNEL_MD_LINK_POST, c->text_max, &text,
			      err, errlen)) != GA_OK)
		return e;
	if (title_key != NULL)
		body = json_pack("{s:s, s:{s:s, s:s}}", "msgtype", "markdown", "markdown",
				 title_key, title, text_key, text);
	else
		body =
		    json_pack("{s:s, s:{s:s}}", "msgtype", "markdown", "markdown", text_key, text);
	e = body ? channel_json_request(req, body, 0) : GA_ERR_NOMEM;
	if (e != GA_OK)
		snprintf(err, errlen, "building the request: %s", ga_strerror(e));
	json_decref(body);
	free(text);
	return e;
}

enum channel_verdict channel_robot_answer(long status, const char *body, size_t len,
					  const char *field, const int *rate_codes, char *err,
					  size_t errlen)
{
	json_t *j, *code;
	json_int_t n;

	if (status == 429) {
		snprintf(err, errlen, "HTTP 429");
		return CHANNEL_RATE;
	}
	if (status != 200) {
		snprintf(err, errlen, "HTTP %ld", status);
		return CHANNEL_RETRY;
	}
	j = json_loadb(body, len, 0, NULL);
	code = json_object_get(j, field);
	if (!json_is_integer(code)) {
		snprintf(err, errlen, "answer without an integer %s", field);
		json_decref(j);
		return CHANNEL_RETRY;
	}
	n = json_integer_value(code);
	if (n == 0) {
		json_decref(j);
		return CHANNEL_DONE;
	}
	snprintf(err, errlen, "%s %lld: %.160s", field, (long long)n,
		 json_string_value(json_object_get(j, "errmsg"))
		     ? json_string_value(json_object_get(j, "errmsg"))
		     : (json_string_value(json_object_get(j, "msg"))
			    ? json_string_value(json_object_get(j, "msg"))
			    : ""));
	json_decref(j);
	for (size_t i = 0; rate_codes != NULL && rate_codes[i] != 0; i++)
		if (rate_codes[i] == n)
			return CHANNEL_RATE;
	return CHANNEL_RETRY;
}
