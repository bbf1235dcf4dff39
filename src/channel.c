/* channel.c - the channel types' table, their config check, opening a
 * channel and what the types share: texts rendered from the templates in
 * alerts/templates/ and fitted to each type's length limit. */
#include "channel.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "channel_internal.h"
#include "draft.h"
#include "hazard.h"
#include "log.h"
#include "timeutil.h"

#ifndef GA_DATADIR
#define GA_DATADIR "."
#endif

#define CHANNEL_DEADLINE_MAX_S (7 * 24 * 3600)
#define CHANNEL_BACKOFF_MAX_MS (24LL * 3600 * 1000)
#define CHANNEL_TIMEOUT_MAX_MS 600000

static const struct channel_type *const channel_types[] = {
    &channel_type_portal, &channel_type_wecom, &channel_type_dingtalk,
    &channel_type_feishu, &channel_type_mqtt,  &channel_type_wechat_mp,
    &channel_type_weibo,  &channel_type_sms,   &channel_type_email,
};
#define CHANNEL_NTYPES (sizeof(channel_types) / sizeof(channel_types[0]))

/* Keys every type takes (the limits, and the text's cap and template). */
static const char *const channel_common_keys[] = {
    "rate_per_min",   "rate_per_s", "concurrency", "deadline", "backoff_initial_ms",
    "backoff_max_ms", "timeout_ms", "late_after",  NULL,
};
static const char *const channel_text_keys[] = {"max_bytes", "template", NULL};

static const struct channel_type *channel_type_find(const char *name)
{
	for (size_t i = 0; i < CHANNEL_NTYPES; i++)
		if (strcmp(channel_types[i]->name, name) == 0)
			return channel_types[i];
	return NULL;
}

static bool channel_key_in(const char *key, const char *const *keys)
{
	for (size_t i = 0; keys != NULL && keys[i] != NULL; i++)
		if (strcmp(key, keys[i]) == 0)
			return true;
	return false;
}

int channel_key_line(const struct config_channel *ch, const char *key)
{
	for (int i = 0; i < ch->nkv; i++)
		if (strcmp(ch->kv[i].key, key) == 0)
			return ch->kv[i].line;
	return ch->line;
}

/* Reads key of ch as an integer in [lo, hi], or def when absent. */
static ga_err channel_int(const struct config *cfg, const struct config_channel *ch,
			  const char *key, long long lo, long long hi, long long def,
			  long long *out, char *err, size_t errlen)
{
	const char *v = config_channel_get(ch, key);
	char *end;
	long long n;

	*out = def;
	if (v == NULL)
		return GA_OK;
	errno = 0;
	n = strtoll(v, &end, 10);
	if (errno != 0 || end == v || *end != '\0' || n < lo || n > hi) {
		snprintf(err, errlen,
			 "%s:%d: [channel.%s] %s: \"%s\" must be an integer %lld..%lld", cfg->path,
			 channel_key_line(ch, key), ch->name, key, v, lo, hi);
		return GA_ERR_CONFIG;
	}
	*out = n;
	return GA_OK;
}

ga_err channel_limits_of(const struct config *cfg, const struct config_channel *ch,
			 struct channel_limits *out, char *err, size_t errlen)
{
	const struct channel_type *t = channel_type_find(ch->type);
	long long v[8];
	ga_err e;

	if (t == NULL) {
		snprintf(err, errlen, "%s:%d: [channel.%s] type: unknown type \"%s\"", cfg->path,
			 ch->line, ch->name, ch->type);
		return GA_ERR_CONFIG;
	}
	if ((e = channel_int(cfg, ch, "rate_per_min", 0, CHANNEL_RATE_MAX, t->rate_per_min, &v[0],
			     err, errlen)) != GA_OK ||
	    (e = channel_int(cfg, ch, "rate_per_s", 0, CHANNEL_RATE_MAX, t->rate_per_s, &v[1], err,
			     errlen)) != GA_OK ||
	    (e = channel_int(cfg, ch, "concurrency", 1, CHANNEL_CONCURRENCY_MAX, 4, &v[2], err,
			     errlen)) != GA_OK ||
	    (e = channel_int(cfg, ch, "deadline", 0, CHANNEL_DEADLINE_MAX_S,
			     t->never_give_up ? 0 : 3600, &v[3], err, errlen)) != GA_OK ||
	    (e = channel_int(cfg, ch, "backoff_initial_ms", 1, CHANNEL_BACKOFF_MAX_MS, 1000, &v[4],
			     err, errlen)) != GA_OK ||
	    (e = channel_int(cfg, ch, "backoff_max_ms", 1, CHANNEL_BACKOFF_MAX_MS, 60000, &v[5],
			     err, errlen)) != GA_OK ||
	    (e = channel_int(cfg, ch, "timeout_ms", 100, CHANNEL_TIMEOUT_MAX_MS, 10000, &v[6], err,
			     errlen)) != GA_OK ||
	    (e = channel_int(cfg, ch, "late_after", 1, CHANNEL_DEADLINE_MAX_S, 3600, &v[7], err,
			     errlen)) != GA_OK)
		return e;
	out->rate_per_min = (int)v[0];
	out->rate_per_s = (int)v[1];
	out->concurrency = (int)v[2];
	out->deadline_ms = v[3] * 1000;
	out->backoff_initial_ms = v[4];
	out->backoff_max_ms = v[5] < v[4] ? v[4] : v[5];
	out->timeout_ms = v[6];
	out->late_ms = v[7] * 1000;
	return GA_OK;
}

/* --- templates ----------------------------------------------------- */

const char *const channel_var_names[CV_COUNT] = {
    "alert",	      "update",	  "cancel",	"exercise",   "headline",    "situation",
    "causes",	      "response", "trend",	"level_zh",   "hazard_zh",   "kind_zh",
    "response_level", "color",	  "admin_name", "admin_code", "place",	     "sender",
    "sent",	      "alert_id", "version",	"url",	      "riskwarning", "levels",
};

int channel_var_lookup(const char *name, size_t len)
{
	for (int i = 0; i < CV_COUNT; i++)
		if (strlen(channel_var_names[i]) == len &&
		    memcmp(channel_var_names[i], name, len) == 0)
			return i;
	return -1;
}

const char *channel_alert_str(const json_t *alert, const char *key)
{
	const char *v = json_string_value(json_object_get(alert, key));
	return v != NULL ? v : "";
}

#define CHANNEL_HTML_TRIES 6

ga_err channel_values_fill(const struct channel_job *job, unsigned how, struct channel_values *out)
{
	const char **vals = out->v;
	const json_t *a = job->alert, *area = json_object_get(job->alert, "area");
	const char *mt = job->msg_type;
	int64_t ms;
	int k;

	memset(out, 0, sizeof(*out));

	vals[CV_ALERT] = strcmp(mt, "alert") == 0 ? "1" : NULL;
	vals[CV_UPDATE] = strcmp(mt, "update") == 0 ? "1" : NULL;
	vals[CV_CANCEL] = strcmp(mt, "cancel") == 0 ? "1" : NULL;
	vals[CV_EXERCISE] = strcmp(channel_alert_str(a, "status"), "exercise") == 0 ? "1" : NULL;
	vals[CV_HEADLINE] = channel_alert_str(a, "headline");
	vals[CV_SITUATION] = channel_alert_str(a, "situation");
	vals[CV_CAUSES] = channel_alert_str(a, "causes");
	vals[CV_RESPONSE] = channel_alert_str(a, "response");
	vals[CV_TREND] = channel_alert_str(a, "trend");
	vals[CV_LEVEL_ZH] = channel_alert_str(a, "level_zh");
	vals[CV_HAZARD_ZH] = channel_alert_str(a, "hazard_type_zh");
	k = kind_from_name(channel_alert_str(a, "kind"));
	vals[CV_KIND_ZH] = k >= 0 ? kind_zh((enum kind)k) : "";
	vals[CV_RESPONSE_LEVEL] = channel_alert_str(a, "response_level");
	vals[CV_COLOR] = channel_alert_str(a, "color");
	vals[CV_ADMIN_NAME] = channel_alert_str(area, "admin_name");
	vals[CV_ADMIN_CODE] = channel_alert_str(area, "admin_code");
	vals[CV_PLACE] = channel_alert_str(area, "place");
	vals[CV_SENDER] = channel_alert_str(a, "sender");
	if (time_parse_rfc3339(channel_alert_str(a, "sent"), &ms, &k) == GA_OK)
		draft_format_time(ms, k, out->sent, sizeof(out->sent));
	vals[CV_SENT] = out->sent;
	vals[CV_ALERT_ID] = job->alert_id;
	snprintf(out->version, sizeof(out->version), "%d", job->version);
	vals[CV_VERSION] = out->version;
	vals[CV_URL] = job->public_url;
	/* A risk warning's message (riskwarning_deliver.h) has the alert's
	 * members its templates read, and these two. */
	vals[CV_RISKWARNING] = json_is_true(json_object_get(a, "riskwarning")) ? "1" : NULL;
	vals[CV_LEVELS] = channel_alert_str(a, "levels");
	if (how == 0)
		return GA_OK;
	for (int i = 0; i < CV_COUNT; i++) {
		if (vals[i] == NULL || i == CV_URL || i == CV_ALERT || i == CV_UPDATE ||
		    i == CV_CANCEL || i == CV_EXERCISE || i == CV_RISKWARNING)
			continue;
		if ((out->own[i] = channel_escape(vals[i], SIZE_MAX, how)) == NULL)
			return GA_ERR_NOMEM;
		vals[i] = out->own[i];
	}
	return GA_OK;
}

void channel_values_cleanup(struct channel_values *cv)
{
	for (int i = 0; i < CV_COUNT; i++) {
		free(cv->own[i]);
		cv->own[i] = NULL;
	}
}

ga_err channel_text(const struct channel *c, const struct channel_job *job, const char *link_pre,
		    const char *link_post, size_t cap, char **out, char *err, size_t errlen)
{
	struct channel_values cv;
	char link[CHANNEL_URL_MAX + 64];
	char *text = NULL;
	ga_err e;

	/* The template's markup is the channel's; the values are data. */
	if ((e = channel_values_fill(job, c->type->syntax | CHANNEL_ESC_DEFANG, &cv)) == GA_OK)
		e = draft_template_render(c->tpl, cv.v, CHANNEL_TEXT_MAX, &text, NULL);
	channel_values_cleanup(&cv);
	if (e != GA_OK) {
		snprintf(err, errlen, "rendering: %s", ga_strerror(e));
		return e;
	}
	if (strlen(text) > cap) {
		int n =
		    snprintf(link, sizeof(link), "%s%s%s", link_pre, job->public_url, link_post);
		if (n < 0 || (size_t)n >= sizeof(link) || (size_t)n + 16 > cap) {
			free(text);
			snprintf(err, errlen, "the link does not fit in %zu bytes", cap);
			return GA_ERR_TOOBIG;
		}
		draft_utf8_fit(text, cap - (size_t)n);
		/* text has CHANNEL_TEXT_MAX + 1 bytes and cap < that. */
		memcpy(text + strlen(text), link, (size_t)n + 1);
	}
	*out = text;
	return GA_OK;
}

ga_err channel_html(const struct draft_template *tpl, const struct channel_job *job, size_t cap,
		    char **out, char *err, size_t errlen)
{
	struct channel_values cv;
	const char *const *vals = cv.v;
	char *esc[CV_COUNT] = {0};
	size_t cut = CHANNEL_TEXT_MAX;
	char *text = NULL;
	bool truncated = true;
	ga_err e = GA_OK;

	channel_values_fill(job, 0, &cv); /* borrowed: cannot fail */
	/* A cut inside markup would break it: when the page is too long,
	 * shorten the values instead, more each time. */
	for (int t = 0; t < CHANNEL_HTML_TRIES && truncated; t++, cut = cap / (2u << t)) {
		for (int i = 0; i < CV_COUNT; i++) {
			free(esc[i]);
			esc[i] = NULL;
			/* the link is geoalert's own: escaped, not defanged */
			unsigned how = CHANNEL_ESC_HTML | (i == CV_URL ? 0 : CHANNEL_ESC_DEFANG);
			if (vals[i] != NULL &&
			    (esc[i] = channel_escape(vals[i], cut, how)) == NULL) {
				e = GA_ERR_NOMEM;
				goto out;
			}
		}
		free(text);
		text = NULL;
		if ((e = draft_template_render(tpl, (const char *const *)esc, cap, &text,
					       &truncated)) != GA_OK)
			goto out;
	}
	if (truncated) {
		e = GA_ERR_TOOBIG;
		goto out;
	}
	*out = text;
	text = NULL;
out:
	if (e != GA_OK)
		snprintf(err, errlen, "rendering the HTML: %s", ga_strerror(e));
	free(text);
	for (int i = 0; i < CV_COUNT; i++)
		free(esc[i]);
	return e;
}

void channel_utf8_cut(char *s, size_t cap)
{
	size_t n = strlen(s);

	if (n <= cap)
		return;
	while (cap > 0 && ((unsigned char)s[cap] & 0xC0) == 0x80)
		cap--;
	s[cap] = '\0';
}

ga_err channel_bool(const struct config *cfg, const struct config_channel *ch, const char *key,
		    bool def, bool *out, char *err, size_t errlen)
{
	const char *v = config_channel_get(ch, key);

	*out = def;
	if (v == NULL)
		return GA_OK;
	if (strcmp(v, "true") == 0 || strcmp(v, "yes") == 0 || strcmp(v, "1") == 0) {
		*out = true;
	} else if (strcmp(v, "false") == 0 || strcmp(v, "no") == 0 || strcmp(v, "0") == 0) {
		*out = false;
	} else {
		snprintf(err, errlen, "%s:%d: [channel.%s] %s: \"%s\" must be true or false",
			 cfg->path, channel_key_line(ch, key), ch->name, key, v);
		return GA_ERR_CONFIG;
	}
	return GA_OK;
}

/* --- checking and opening ------------------------------------------ */

static const char *channel_templates_dir(const struct config *cfg)
{
	return cfg->alerts.templates[0] ? cfg->alerts.templates : GA_DATADIR "/alerts/templates";
}

ga_err channel_template_open(const struct config *cfg, const struct config_channel *ch,
			     const char *key, const char *file, struct draft_template **out,
			     char *err, size_t errlen)
{
	char path[CONFIG_PATH_MAX + 64];
	const char *own = config_channel_get(ch, key);

	if (own != NULL)
		snprintf(path, sizeof(path), "%s", own);
	else
		snprintf(path, sizeof(path), "%s/%s", channel_templates_dir(cfg), file);
	return draft_template_load(path, channel_var_lookup, out, err, errlen);
}

/* The template path of ch: its template key, else the type's file in
 * the templates dir. */
static void channel_template_path(const struct config *cfg, const struct config_channel *ch,
				  const struct channel_type *t, char *buf, size_t len)
{
	const char *own = config_channel_get(ch, "template");

	if (own != NULL)
		snprintf(buf, len, "%s", own);
	else
		snprintf(buf, len, "%s/%s", channel_templates_dir(cfg), t->template_file);
}

static bool channel_scheme_ok(const struct channel_type *t, const char *url)
{
	static const char *const http[] = {"http://", "https://", NULL};
	const char *const *s = t->schemes != NULL ? t->schemes : http;

	for (; *s != NULL; s++)
		if (strncmp(url, *s, strlen(*s)) == 0)
			return true;
	return false;
}

/* Checks ch's keys and values; fills c's limits, secrets and template
 * when c is not NULL. */
static ga_err channel_setup(const struct config *cfg, const struct config_channel *ch,
			    struct channel *c, char *err, size_t errlen)
{
	const struct channel_type *t = channel_type_find(ch->type);
	struct channel_limits lim;
	struct draft_template *tpl = NULL;
	char token[CHANNEL_SECRET_MAX] = "", secret[CHANNEL_SECRET_MAX] = "";
	char path[CONFIG_PATH_MAX + 64];
	long long max_bytes = 0;
	const char *sf;
	ga_err e;

	if ((e = channel_limits_of(cfg, ch, &lim, err, errlen)) != GA_OK)
		return e;
	for (int i = 0; i < ch->nkv; i++) {
		const char *key = ch->kv[i].key;
		if (channel_key_in(key, channel_common_keys) || channel_key_in(key, t->keys) ||
		    (t->template_file != NULL && channel_key_in(key, channel_text_keys)))
			continue;
		snprintf(err, errlen, "%s:%d: [channel.%s] %s: unknown key for type %s", cfg->path,
			 ch->kv[i].line, ch->name, key, t->name);
		return GA_ERR_CONFIG;
	}
	if (t->needs_url && ch->url[0] == '\0') {
		snprintf(err, errlen, "%s:%d: [channel.%s]: url must be set for type %s", cfg->path,
			 ch->line, ch->name, t->name);
		return GA_ERR_CONFIG;
	}
	if (t->needs_url && !channel_scheme_ok(t, ch->url)) {
		snprintf(err, errlen, "%s:%d: [channel.%s] url: \"%s\" must start with %s or %s",
			 cfg->path, ch->line, ch->name, ch->url,
			 t->schemes != NULL ? t->schemes[0] : "http://",
			 t->schemes != NULL && t->schemes[1] != NULL ? t->schemes[1] : "https://");
		return GA_ERR_CONFIG;
	}
	if (t->needs_token && ch->token_file[0] == '\0') {
		snprintf(err, errlen, "%s:%d: [channel.%s]: token_file must be set for type %s",
			 cfg->path, ch->line, ch->name, t->name);
		return GA_ERR_CONFIG;
	}
	if (ch->token_file[0] &&
	    (e = config_read_secret(ch->token_file, token, sizeof(token), err, errlen)) != GA_OK)
		goto out;
	if ((sf = config_channel_get(ch, "secret_file")) != NULL &&
	    (e = config_read_secret(sf, secret, sizeof(secret), err, errlen)) != GA_OK)
		goto out;
	if (t->template_file != NULL) {
		if ((e = channel_int(cfg, ch, "max_bytes", 256, CHANNEL_TEXT_MAX,
				     (long long)t->text_max, &max_bytes, err, errlen)) != GA_OK)
			goto out;
		channel_template_path(cfg, ch, t, path, sizeof(path));
		if ((e = draft_template_load(path, channel_var_lookup, &tpl, err, errlen)) != GA_OK)
			goto out;
	}
	if (t->check != NULL && (e = t->check(cfg, ch, err, errlen)) != GA_OK)
		goto out;
	/* internal (the officers' own groups get blue risk warnings too,
	 * riskwarning_deliver.h): only the types that list it take it */
	bool internal;
	if ((e = channel_bool(cfg, ch, "internal", false, &internal, err, errlen)) != GA_OK)
		goto out;
	if (c != NULL) {
		c->type = t;
		c->limits = lim;
		memcpy(c->token, token, sizeof(token));
		memcpy(c->secret, secret, sizeof(secret));
		c->tpl = tpl;
		tpl = NULL;
		c->text_max = (size_t)max_bytes;
	}
	e = GA_OK;
out:
	draft_template_free(tpl);
	explicit_bzero(token, sizeof(token));
	explicit_bzero(secret, sizeof(secret));
	return e;
}

ga_err channel_check_all(const struct config *cfg, char *err, size_t errlen)
{
	const struct channel_type *t;
	struct channel *c;
	ga_err e;

	for (int i = 0; i < cfg->nchannels; i++) {
		const struct config_channel *ch = &cfg->channels[i];
		if ((e = channel_setup(cfg, ch, NULL, err, errlen)) != GA_OK)
			return e;
		/* An HTTP type's open only reads and checks (a Weibo safe
		 * domain, SMS recipient files): check-config runs it too, so
		 * it finds what serve would refuse. An mqtt open connects. */
		t = channel_type_find(ch->type);
		if (t->transport != CHANNEL_HTTP || t->open == NULL)
			continue;
		if ((e = channel_open(cfg, ch, NULL, NULL, &c, err, errlen)) != GA_OK)
			return e;
		channel_free(c);
	}
	return GA_OK;
}

ga_err channel_open(const struct config *cfg, const struct config_channel *ch,
		    channel_mqtt_done mqtt_done, void *arg, struct channel **out, char *err,
		    size_t errlen)
{
	struct channel *c = calloc(1, sizeof(*c));
	ga_err e;

	if (c == NULL)
		return GA_ERR_NOMEM;
	c->cfg = cfg;
	c->ch = ch;
	c->mqtt_done = mqtt_done;
	c->mqtt_arg = arg;
	if ((e = channel_setup(cfg, ch, c, err, errlen)) != GA_OK)
		goto fail;
	if (c->type->open != NULL && (e = c->type->open(c, err, errlen)) != GA_OK)
		goto fail;
	*out = c;
	return GA_OK;
fail:
	channel_free(c); /* a type's close undoes a partial open */
	return e;
}

void channel_free(struct channel *c)
{
	if (c == NULL)
		return;
	if (c->type != NULL && c->type->close != NULL)
		c->type->close(c);
	draft_template_free(c->tpl);
	explicit_bzero(c->token, sizeof(c->token));
	explicit_bzero(c->secret, sizeof(c->secret));
	free(c);
}

const char *channel_name(const struct channel *c)
{
	return c->ch->name;
}

const char *channel_type_name(const struct channel *c)
{
	return c->type->name;
}

enum channel_transport channel_transport(const struct channel *c)
{
	return c->type->transport;
}

const struct channel_limits *channel_limits(const struct channel *c)
{
	return &c->limits;
}

ga_err channel_request(struct channel *c, struct channel_job *job, struct channel_request *req,
		       char *err, size_t errlen)
{
	ga_err e;

	memset(req, 0, sizeof(*req));
	if (c->type->request == NULL || job->step >= CHANNEL_STEPS_MAX) {
		snprintf(err, errlen, "no request for step %d", job->step);
		return GA_ERR_INVAL;
	}
	if ((e = c->type->request(c, job, req, err, errlen)) != GA_OK)
		channel_request_cleanup(req);
	return e;
}

void channel_request_cleanup(struct channel_request *req)
{
	free(req->body);
	curl_slist_free_all(req->headers);
	curl_slist_free_all(req->rcpt);
	memset(req, 0, sizeof(*req));
}

enum channel_verdict channel_answer(struct channel *c, struct channel_job *job, long status,
				    const char *body, size_t len, char *err, size_t errlen)
{
	return c->type->answer(c, job, status, body, len, err, errlen);
}

ga_err channel_publish(struct channel *c, struct channel_job *job, int *mid, char *err,
		       size_t errlen)
{
	if (c->type->publish == NULL) {
		snprintf(err, errlen, "type %s does not publish", c->type->name);
		return GA_ERR_INVAL;
	}
	return c->type->publish(c, job, mid, err, errlen);
}

ga_err channel_preview(struct channel *c, struct channel_job *job, char **text, long *limit_chars,
		       char *err, size_t errlen)
{
	*text = NULL;
	*limit_chars = 0;
	if (c->type->preview != NULL)
		return c->type->preview(c, job, text, limit_chars, err, errlen);
	if (c->tpl == NULL)
		return GA_OK; /* the alert JSON goes out as it is */
	return channel_text(c, job, CHANNEL_MD_LINK_PRE, CHANNEL_MD_LINK_POST, c->text_max, text,
			    err, errlen);
}
