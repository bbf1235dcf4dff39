/* channel_testutil.h - fixtures shared by the channel tests
 * (test_channel.c, test_channel_mp_email.c, test_channel_weibo_sms.c): a
 * temp dir of the test's own with files written into it, a config with
 * channels and their keys at known lines, a job for one alert, a
 * request's headers and body, and a channel opened, asked and answered
 * with the test failing on any error.
 *
 * A test may define CHTEST_BASE_URL before including this file: the
 * config's [http] public_base_url, and with "/alerts/" CHTEST_AID the
 * job's public_url (default "https://x.example"). */
#ifndef GA_CHANNEL_TESTUTIL_H
#define GA_CHANNEL_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "channel.h"

#ifndef CHTEST_BASE_URL
#define CHTEST_BASE_URL "https://x.example"
#endif
#define CHTEST_AID "JS-20261126-0003"
#define CHTEST_PUBLIC_URL CHTEST_BASE_URL "/alerts/" CHTEST_AID

/* The test's temp dir, made by chtest_mkdtemp before the tests run. */
static char dir[64];

/* Makes dir from the mkdtemp template tmpl; false on failure. */
static inline bool chtest_mkdtemp(const char *tmpl)
{
	snprintf(dir, sizeof(dir), "%s", tmpl);
	return mkdtemp(dir) != NULL;
}

/* Writes text to dir/name and puts that path in path (len bytes). */
static inline void write_file(const char *name, const char *text, char *path, size_t len)
{
	snprintf(path, len, "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* Adds an enabled channel to c; its section is at line 10 * its number. */
static inline struct config_channel *add_channel(struct config *c, const char *name,
						 const char *type, const char *url)
{
	struct config_channel *ch = &c->channels[c->nchannels++];
	memset(ch, 0, sizeof(*ch));
	snprintf(ch->name, sizeof(ch->name), "%s", name);
	snprintf(ch->type, sizeof(ch->type), "%s", type);
	snprintf(ch->url, sizeof(ch->url), "%s", url);
	ch->enabled = true;
	ch->line = 10 * c->nchannels;
	return ch;
}

/* Writes token to dir/tokname and adds a channel (as add_channel) whose
 * token_file it is. */
static inline struct config_channel *add_token_channel(struct config *c, const char *name,
						       const char *type, const char *url,
						       const char *tokname, const char *token)
{
	char tok[256];
	write_file(tokname, token, tok, sizeof(tok));
	struct config_channel *ch = add_channel(c, name, type, url);
	snprintf(ch->token_file, sizeof(ch->token_file), "%s", tok);
	return ch;
}

/* Adds key = value to ch, at the line after its last key; value must fit. */
static inline void set_kv(struct config_channel *ch, const char *key, const char *value)
{
	struct config_kv *kv = &ch->kv[ch->nkv++];
	snprintf(kv->key, sizeof(kv->key), "%s", key);
	assert_true(strlen(value) < sizeof(kv->value));
	snprintf(kv->value, sizeof(kv->value), "%.*s", (int)sizeof(kv->value) - 1, value);
	kv->line = ch->line + ch->nkv;
}

/* A config of the defaults (new, free it), read from /etc/geoalert.ini. */
static inline struct config *new_config(void)
{
	struct config *c = calloc(1, sizeof(*c));
	assert_non_null(c);
	config_defaults(c);
	snprintf(c->path, sizeof(c->path), "/etc/geoalert.ini");
	snprintf(c->http.public_base_url, sizeof(c->http.public_base_url), "%s", CHTEST_BASE_URL);
	c->alerts.utc_offset_min = 480; /* the alerts' +08:00, whatever the default */
	return c;
}

/* A job for version 1 of alert CHTEST_AID (borrowed) at now_ms. */
static inline void job_init(struct channel_job *j, const json_t *alert, int64_t now_ms)
{
	memset(j, 0, sizeof(*j));
	j->alert_id = CHTEST_AID;
	j->version = 1;
	j->msg_type = "alert";
	j->idem_key = CHTEST_AID ":1";
	j->alert = alert;
	j->public_url = CHTEST_PUBLIC_URL;
	j->now_ms = now_ms;
}

/* Whether r has the header line exactly. */
static inline bool has_header(const struct channel_request *r, const char *line)
{
	for (const struct curl_slist *l = r->headers; l; l = l->next)
		if (strcmp(l->data, line) == 0)
			return true;
	return false;
}

/* Opens cc of c (new, channel_free it); the test fails, with the
 * message, when it cannot. */
static inline struct channel *chtest_open(const struct config *c, const struct config_channel *cc)
{
	struct channel *ch = NULL;
	char err[512] = "";
	if (channel_open(c, cc, NULL, NULL, &ch, err, sizeof(err)) != GA_OK)
		fail_msg("channel_open: %s", err);
	assert_non_null(ch);
	return ch;
}

/* Checks every channel of c, then opens cc as chtest_open does. */
static inline struct channel *chtest_check_open(const struct config *c,
						const struct config_channel *cc)
{
	char err[512] = "";
	if (channel_check_all(c, err, sizeof(err)) != GA_OK)
		fail_msg("channel_check_all: %s", err);
	return chtest_open(c, cc);
}

/* The request of j's step into *req (channel_request_cleanup it); the
 * test fails, with the message, when there is none. */
static inline void chtest_request(struct channel *ch, struct channel_job *j,
				  struct channel_request *req)
{
	char err[512] = "";
	if (channel_request(ch, j, req, err, sizeof(err)) != GA_OK)
		fail_msg("channel_request: %s", err);
}

/* Answers the step of j with body (HTTP 200). */
static inline enum channel_verdict chtest_answer(struct channel *ch, struct channel_job *j,
						 const char *body, char *err, size_t errlen)
{
	return channel_answer(ch, j, 200, body, strlen(body), err, errlen);
}

/* The body of r as JSON (new); the test fails when it is not JSON. */
static inline json_t *chtest_body_json(const struct channel_request *r)
{
	json_t *b = json_loadb(r->body, r->bodylen, 0, NULL);
	assert_non_null(b);
	return b;
}

/* The string member k of o; the test fails when there is none. */
static inline const char *chtest_jstr(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	assert_non_null(s);
	return s;
}

/* The end of a test: frees ch, a and c (each may be NULL). */
static inline void chtest_end(struct channel *ch, json_t *a, struct config *c)
{
	channel_free(ch);
	json_decref(a);
	free(c);
}

#endif
