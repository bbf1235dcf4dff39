/* config.c - INI configuration against a declarative option table. */
#include "config.h"

#include <errno.h>
#include <ini.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_internal.h"
#include "riskwarning.h"
#include "text.h"
#include "timeutil.h"

#define CONFIG_MAX_BYTES (1u << 20) /* a config file is small; cap it */

enum opt_type {
	OPT_STR,
	OPT_INT,
	OPT_LONG,
	OPT_DOUBLE,
	OPT_LEVEL,
	OPT_OFFSET,
	OPT_DURATION,
	OPT_BOOL,
	OPT_MODE
};

struct option {
	const char *section;
	const char *key;
	enum opt_type type;
	size_t offset; /* into struct config */
	size_t size;   /* OPT_STR: buffer size */
	double min, max;
};

#define S(sec, key, field)                                                                         \
	{                                                                                          \
		sec, key, OPT_STR, offsetof(struct config, field),                                 \
		    sizeof(((struct config *)0)->field), 0, 0                                      \
	}
#define I(sec, key, field, lo, hi)                                                                 \
	{                                                                                          \
		sec, key, OPT_INT, offsetof(struct config, field), 0, lo, hi                       \
	}
#define L(sec, key, field, lo, hi)                                                                 \
	{                                                                                          \
		sec, key, OPT_LONG, offsetof(struct config, field), 0, lo, hi                      \
	}
#define D(sec, key, field, lo, hi)                                                                 \
	{                                                                                          \
		sec, key, OPT_DOUBLE, offsetof(struct config, field), 0, lo, hi                    \
	}

/* Every key the service knows, with its bounds. Defaults are in
 * config_defaults. */
static const struct option options[] = {
    S("mqtt", "url", mqtt.url),
    S("mqtt", "client_id", mqtt.client_id),
    S("mqtt", "username", mqtt.username),
    S("mqtt", "password_file", mqtt.password_file),
    S("mqtt", "ca_file", mqtt.ca_file),
    I("mqtt", "sessions", mqtt.sessions, 1, CONFIG_SESSIONS_MAX),
    I("mqtt", "keepalive", mqtt.keepalive, 5, 3600),
    L("mqtt", "session_expiry", mqtt.session_expiry, 60, 4294967295.0),
    S("mqtt", "share_group", mqtt.share_group),
    S("store", "path", store.path),
    L("store", "max_page_count", store.max_page_count, 0, 1e12),
    I("store", "batch_max", store.batch_max, 1, 4096),
    I("store", "keep_reports_days", store.keep_reports_days, 0, 36500),
    S("store", "url", store.url),
    S("store", "password_file", store.password_file),
    S("cluster", "instance", cluster.instance),
    I("cluster", "takeover_after", cluster.takeover_after_s, 5, 3600),
    S("http", "listen", http.listen),
    S("http", "public_base_url", http.public_base_url),
    {"http", "healthz_backlog", OPT_DURATION, offsetof(struct config, http.healthz_backlog_s), 0,
     10, 7 * 86400},
    S("http", "trusted_proxies", http.trusted_proxies_text),
    I("http", "connections_per_address", http.connections_per_address, 1, 1024),
    {"http", "request_timeout", OPT_DURATION, offsetof(struct config, http.request_timeout_s), 0, 1,
     300},
    S("stations", "file", stations.file),
    {"stations", "expected_interval", OPT_DURATION,
     offsetof(struct config, stations.expected_interval_s), 0, 10, 30 * 86400},
    {"stations", "max_observed_age", OPT_DURATION,
     offsetof(struct config, stations.max_observed_age_s), 0, 60, 365 * 86400},
    S("devices", "file", devices.file),
    I("devices", "confirm_points", devices.confirm_points, 1, 100),
    I("devices", "keep_days", devices.keep_days, 0, 36500),
    S("devices", "draft_min_level", devices.draft_min_level),
    {"devices", "clear_after", OPT_DURATION, offsetof(struct config, devices.clear_after_s), 0, 0,
     30 * 86400},
    S("geo", "regions", geo.regions),
    S("geo", "service_area", geo.service_area),
    {"alerts", "publish_min_level", OPT_LEVEL, offsetof(struct config, alerts.publish_min_level), 0,
     0, 0},
    S("alerts", "sender", alerts.sender),
    S("alerts", "thresholds", alerts.thresholds),
    S("alerts", "incident_prefix", alerts.incident_prefix),
    {"alerts", "utc_offset", OPT_OFFSET, offsetof(struct config, alerts.utc_offset_min), 0, 0, 0},
    I("alerts", "hazard_point_window_h", alerts.hazard_point_window_h, 1, 24 * 365),
    I("alerts", "near_window_h", alerts.near_window_h, 1, 24 * 365),
    D("alerts", "near_radius_m", alerts.near_radius_m, 1, 100000),
    I("alerts", "confirmations.extra_large", alerts.confirmations_extra_large, 1, 2),
    {"alerts", "escalate_after", OPT_DURATION, offsetof(struct config, alerts.escalate_after_s), 0,
     1, 7 * 86400},
    S("alerts", "templates", alerts.templates),
    {"alerts", "mode", OPT_MODE, offsetof(struct config, alerts.exercise), 0, 0, 0},
    S("alerts", "signing_key_file", alerts.signing_key_file),
    S("alerts", "cap_signing_key_file", alerts.cap_signing_key_file),
    S("alerts", "cap_sender", alerts.cap_sender),
    S("alerts", "hotline", alerts.hotline),
    S("notify", "officers_url", notify.officers_url),
    S("notify", "supervisors_url", notify.supervisors_url),
    {"console", "session_idle", OPT_DURATION, offsetof(struct config, console.session_idle_s), 0,
     60, 86400},
    I("console", "login_max_failures", console.login_max_failures, 1, 1000),
    I("console", "login_address_max_failures", console.login_address_max_failures, 1, 100000),
    {"console", "login_window", OPT_DURATION, offsetof(struct config, console.login_window_s), 0, 1,
     86400},
    {"console", "secure_cookies", OPT_BOOL, offsetof(struct config, console.secure_cookies), 0, 0,
     0},
    S("riskwarning", "issuers", riskwarning.issuers),
    I("riskwarning", "signoff", riskwarning.signoff, 1, 8),
    S("riskwarning", "publish_min_level", riskwarning.publish_min_level),
};

void config_defaults(struct config *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->mqtt.url, sizeof(c->mqtt.url), "mqtt://127.0.0.1:1883");
	(void)config_parse_brokers(c->mqtt.url, c->mqtt.brokers, &c->mqtt.nbrokers, NULL, 0);
	snprintf(c->mqtt.client_id, sizeof(c->mqtt.client_id), "geoalert");
	c->mqtt.sessions = 4;
	c->mqtt.keepalive = 30;
	c->mqtt.session_expiry = CONFIG_SESSION_NEVER;
	snprintf(c->mqtt.share_group, sizeof(c->mqtt.share_group), "%s",
		 CONFIG_SHARE_GROUP_DEFAULT);
	snprintf(c->store.path, sizeof(c->store.path), "var/geoalert.db");
	c->store.batch_max = 256;
	c->store.keep_reports_days = 90;
	c->cluster.takeover_after_s = 30;
	snprintf(c->http.listen, sizeof(c->http.listen), "127.0.0.1:8080");
	snprintf(c->http.public_base_url, sizeof(c->http.public_base_url), "http://127.0.0.1:8080");
	snprintf(c->geo.service_area, sizeof(c->geo.service_area), "32");
	c->alerts.publish_min_level = LEVEL_LARGE;
	snprintf(c->alerts.sender, sizeof(c->alerts.sender), "江苏省自然资源厅");
	snprintf(c->alerts.incident_prefix, sizeof(c->alerts.incident_prefix), "JS");
	c->alerts.utc_offset_min = 480;
	snprintf(c->alerts.utc_offset, sizeof(c->alerts.utc_offset), "+08:00");
	c->alerts.hazard_point_window_h = 72;
	c->alerts.near_window_h = 24;
	c->alerts.near_radius_m = 1000;
	c->alerts.confirmations_extra_large = 1;
	c->alerts.escalate_after_s = 600;
	c->stations.expected_interval_s = 3600;
	c->stations.max_observed_age_s = 7 * 86400;
	c->devices.confirm_points = 2;
	c->devices.clear_after_s = 6 * 3600;
	c->devices.keep_days = 400;
	snprintf(c->devices.draft_min_level, sizeof(c->devices.draft_min_level), "orange");
	c->http.healthz_backlog_s = 600;
	c->http.connections_per_address = 32;
	c->http.request_timeout_s = 10;
	c->console.session_idle_s = 1800;
	c->console.login_max_failures = 5;
	c->console.login_window_s = 900;
	c->console.login_address_max_failures = 20;
	c->riskwarning.signoff = 2;
	snprintf(c->riskwarning.publish_min_level, sizeof(c->riskwarning.publish_min_level),
		 "yellow");
	c->riskwarning.publish_min = RISKWARNING_YELLOW;
}

/* One URL of [mqtt] url (len bytes at u) into b. */
static bool config_parse_broker(const char *u, size_t len, struct config_broker *b)
{
	char port[8];
	const char *p, *end = u + len, *colon;
	size_t n;

	memset(b, 0, sizeof(*b));
	if (len > 8 && strncmp(u, "mqtts://", 8) == 0) {
		b->tls = true;
		b->port = 8883;
		p = u + 8;
	} else if (len > 7 && strncmp(u, "mqtt://", 7) == 0) {
		b->port = 1883;
		p = u + 7;
	} else {
		return false;
	}
	colon = memchr(p, ':', (size_t)(end - p));
	n = (size_t)((colon ? colon : end) - p);
	/* A host name (letters, digits, . - _) or an IPv4 address; no path,
	 * no user@, no IPv6 literal (what ingest has always taken). */
	if (n == 0 || n >= sizeof(b->host))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((p[i] >= 'A' && p[i] <= 'Z') || (p[i] >= 'a' && p[i] <= 'z') ||
		      (p[i] >= '0' && p[i] <= '9') || p[i] == '.' || p[i] == '-' || p[i] == '_'))
			return false;
	memcpy(b->host, p, n);
	if (colon) {
		size_t pl = (size_t)(end - colon - 1);
		char *e;
		if (pl == 0 || pl >= sizeof(port) || strspn(colon + 1, "0123456789") < pl)
			return false;
		memcpy(port, colon + 1, pl);
		port[pl] = '\0';
		long v = strtol(port, &e, 10);
		if (*e != '\0' || v < 1 || v > 65535)
			return false;
		b->port = (int)v;
	}
	snprintf(b->url, sizeof(b->url), "%s://%s:%d", b->tls ? "mqtts" : "mqtt", b->host, b->port);
	return true;
}

ga_err config_parse_brokers(const char *text, struct config_broker *out, int *n, char *err,
			    size_t errlen)
{
	static const char blanks[] = " \t";
	int k = 0;

	*n = 0;
	for (const char *q = text; *(q += strspn(q, blanks));) {
		size_t len = strcspn(q, blanks);
		if (k == CONFIG_BROKERS_MAX) {
			if (err)
				snprintf(err, errlen, "[mqtt] url: more than %d brokers",
					 CONFIG_BROKERS_MAX);
			return GA_ERR_CONFIG;
		}
		if (!config_parse_broker(q, len, &out[k])) {
			if (err)
				snprintf(err, errlen,
					 "[mqtt] url: \"%.*s\" is not mqtt://HOST[:PORT] or "
					 "mqtts://HOST[:PORT]",
					 (int)(len < 96 ? len : 96), q);
			return GA_ERR_CONFIG;
		}
		/* The same broker twice would open each session twice under
		 * one client id: the broker drops one, then the other. */
		for (int i = 0; i < k; i++)
			if (strcmp(out[i].host, out[k].host) == 0 && out[i].port == out[k].port) {
				if (err)
					snprintf(err, errlen, "[mqtt] url: %s given twice",
						 out[k].url);
				return GA_ERR_CONFIG;
			}
		k++;
		q += len;
	}
	if (k == 0) {
		if (err)
			snprintf(err, errlen, "[mqtt] url: names no broker");
		return GA_ERR_CONFIG;
	}
	*n = k;
	return GA_OK;
}

struct parse_state {
	struct config *c;
	FILE *fp;
	int line;      /* line the reader last returned */
	char err[512]; /* first problem, without file:line */
	int err_line;
};

static int config_fail(struct parse_state *ps, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int config_fail(struct parse_state *ps, const char *fmt, ...)
{
	if (ps->err[0] == '\0') {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(ps->err, sizeof(ps->err), fmt, ap);
		va_end(ap);
		ps->err_line = ps->line;
	}
	return 0;
}

/* inih reader: fgets that counts lines, so the handler knows its line. */
static char *config_reader(char *str, int num, void *stream)
{
	struct parse_state *ps = stream;
	char *s = fgets(str, num, ps->fp);
	if (!s)
		return NULL;
	ps->line++;
	size_t n = strlen(s);
	if (n == (size_t)num - 1 && s[n - 1] != '\n' && !feof(ps->fp)) {
		/* inih would read the rest as a line of its own: refuse instead. */
		config_fail(ps, "line longer than %d bytes", num - 2);
		return NULL;
	}
	return s;
}

static int config_set(struct parse_state *ps, const struct option *o, const char *value)
{
	char *base = (char *)ps->c + o->offset;
	char *end;

	switch (o->type) {
	case OPT_STR:
		if (strlen(value) >= o->size)
			return config_fail(ps, "[%s] %s: longer than %zu bytes", o->section, o->key,
					   o->size - 1);
		memcpy(base, value, strlen(value) + 1);
		return 1;
	case OPT_INT:
	case OPT_LONG: {
		errno = 0;
		long long v = strtoll(value, &end, 10);
		if (errno || end == value || *end != '\0')
			return config_fail(ps, "[%s] %s: \"%s\" is not an integer", o->section,
					   o->key, value);
		if ((double)v < o->min || (double)v > o->max)
			return config_fail(ps, "[%s] %s: %lld is outside %.0f..%.0f", o->section,
					   o->key, v, o->min, o->max);
		if (o->type == OPT_INT)
			*(int *)(void *)base = (int)v;
		else
			*(long *)(void *)base = (long)v;
		return 1;
	}
	case OPT_DOUBLE: {
		errno = 0;
		double v = strtod(value, &end);
		if (errno || end == value || *end != '\0' || !isfinite(v))
			return config_fail(ps, "[%s] %s: \"%s\" is not a number", o->section,
					   o->key, value);
		if (v < o->min || v > o->max)
			return config_fail(ps, "[%s] %s: %g is outside %g..%g", o->section, o->key,
					   v, o->min, o->max);
		*(double *)(void *)base = v;
		return 1;
	}
	case OPT_LEVEL: {
		int l = level_from_name(value);
		if (l < 0)
			return config_fail(ps,
					   "[%s] %s: \"%s\" is not one of small, medium, large, "
					   "extra_large",
					   o->section, o->key, value);
		*(enum level *)(void *)base = (enum level)l;
		return 1;
	}
	case OPT_DURATION: {
		/* "600", "600s", "10m", "2h", "1d" */
		errno = 0;
		long long v = strtoll(value, &end, 10);
		long long unit = 1;
		if (*end == 's')
			end++;
		else if (*end == 'm')
			unit = 60, end++;
		else if (*end == 'h')
			unit = 3600, end++;
		else if (*end == 'd')
			unit = 86400, end++;
		if (errno || end == value || *end != '\0' || v < 0 || v > 100LL * 365 * 86400)
			return config_fail(ps,
					   "[%s] %s: \"%s\" is not a duration like 600s, 10m, 2h",
					   o->section, o->key, value);
		v *= unit;
		if ((double)v < o->min || (double)v > o->max)
			return config_fail(ps, "[%s] %s: %llds is outside %.0fs..%.0fs", o->section,
					   o->key, v, o->min, o->max);
		*(int *)(void *)base = (int)v;
		return 1;
	}
	case OPT_MODE:
		if (strcmp(value, "actual") == 0)
			*(bool *)(void *)base = false;
		else if (strcmp(value, "exercise") == 0)
			*(bool *)(void *)base = true;
		else
			return config_fail(ps, "[%s] %s: \"%s\" is not actual or exercise",
					   o->section, o->key, value);
		return 1;
	case OPT_BOOL:
		if (strcmp(value, "true") == 0 || strcmp(value, "yes") == 0 ||
		    strcmp(value, "1") == 0)
			*(bool *)(void *)base = true;
		else if (strcmp(value, "false") == 0 || strcmp(value, "no") == 0 ||
			 strcmp(value, "0") == 0)
			*(bool *)(void *)base = false;
		else
			return config_fail(ps, "[%s] %s: \"%s\" is not true or false", o->section,
					   o->key, value);
		return 1;
	case OPT_OFFSET: {
		int off;
		if (time_parse_offset(value, &off) != GA_OK)
			return config_fail(ps, "[%s] %s: \"%s\" is not an offset like +08:00",
					   o->section, o->key, value);
		*(int *)(void *)base = off;
		snprintf(ps->c->alerts.utc_offset, sizeof(ps->c->alerts.utc_offset), "%s", value);
		return 1;
	}
	}
	return config_fail(ps, "internal: bad option type");
}

static struct config_channel *config_channel(struct parse_state *ps, const char *name)
{
	struct config *c = ps->c;
	for (int i = 0; i < c->nchannels; i++)
		if (strcmp(c->channels[i].name, name) == 0)
			return &c->channels[i];
	if (c->nchannels == CONFIG_MAX_CHANNELS) {
		config_fail(ps, "more than %d channels", CONFIG_MAX_CHANNELS);
		return NULL;
	}
	if (name[0] == '\0' || strlen(name) >= sizeof(c->channels[0].name)) {
		config_fail(ps, "[channel.%s]: channel name must be 1..%zu bytes", name,
			    sizeof(c->channels[0].name) - 1);
		return NULL;
	}
	struct config_channel *ch = &c->channels[c->nchannels++];
	memset(ch, 0, sizeof(*ch));
	snprintf(ch->name, sizeof(ch->name), "%s", name);
	ch->enabled = true;
	ch->line = ps->line;
	return ch;
}

static int config_channel_set(struct parse_state *ps, const char *name, const char *key,
			      const char *value)
{
	struct config_channel *ch = config_channel(ps, name);
	if (!ch)
		return 0;
	char *dst = NULL;
	size_t size = 0;
	if (strcmp(key, "type") == 0) {
		dst = ch->type;
		size = sizeof(ch->type);
	} else if (strcmp(key, "url") == 0) {
		dst = ch->url;
		size = sizeof(ch->url);
	} else if (strcmp(key, "token_file") == 0) {
		dst = ch->token_file;
		size = sizeof(ch->token_file);
	} else if (strcmp(key, "enabled") == 0 || strcmp(key, "exercise") == 0) {
		bool *flag = strcmp(key, "enabled") == 0 ? &ch->enabled : &ch->exercise;
		if (strcmp(value, "true") == 0 || strcmp(value, "yes") == 0 ||
		    strcmp(value, "1") == 0)
			*flag = true;
		else if (strcmp(value, "false") == 0 || strcmp(value, "no") == 0 ||
			 strcmp(value, "0") == 0)
			*flag = false;
		else
			return config_fail(ps, "[channel.%s] %s: \"%s\" is not true or false", name,
					   key, value);
		return 1;
	} else {
		/* A key of the channel's type: checked by the channel module,
		 * which names the line of an unknown one. */
		if (ch->nkv == CONFIG_CHANNEL_KV_MAX)
			return config_fail(ps, "[channel.%s]: more than %d keys", name,
					   CONFIG_CHANNEL_KV_MAX);
		struct config_kv *kv = &ch->kv[ch->nkv];
		if (strlen(key) >= sizeof(kv->key) || strlen(value) >= sizeof(kv->value))
			return config_fail(ps, "[channel.%s] %s: too long", name, key);
		for (int i = 0; i < ch->nkv; i++)
			if (strcmp(ch->kv[i].key, key) == 0)
				return config_fail(ps, "[channel.%s] %s: given twice", name, key);
		snprintf(kv->key, sizeof(kv->key), "%s", key);
		snprintf(kv->value, sizeof(kv->value), "%s", value);
		kv->line = ps->line;
		ch->nkv++;
		return 1;
	}
	if (strlen(value) >= size)
		return config_fail(ps, "[channel.%s] %s: longer than %zu bytes", name, key,
				   size - 1);
	memcpy(dst, value, strlen(value) + 1);
	return 1;
}

/* [geo] helmert.EPSG = dx,dy,dz,rx,ry,rz,ds : a local datum shift. */
static int config_helmert_set(struct parse_state *ps, const char *key, const char *value)
{
	struct config *c = ps->c;
	char *end;
	errno = 0;
	long epsg = strtol(key + strlen("helmert."), &end, 10);
	if (errno || *end != '\0' || epsg <= 0 || epsg > 999999)
		return config_fail(ps, "[geo] %s: expected helmert.EPSGCODE", key);
	int n = 0;
	const char *p = value;
	while (*p) {
		errno = 0;
		double v = strtod(p, &end);
		if (errno || end == p || !isfinite(v))
			return config_fail(ps, "[geo] %s: expected 7 numbers dx,dy,dz,rx,ry,rz,ds",
					   key);
		n++;
		p = end;
		while (*p == ' ')
			p++;
		if (*p == ',')
			p++;
		else if (*p != '\0')
			return config_fail(ps, "[geo] %s: expected 7 numbers dx,dy,dz,rx,ry,rz,ds",
					   key);
	}
	if (n != 7 && n != 3)
		return config_fail(ps, "[geo] %s: expected 3 or 7 numbers, got %d", key, n);
	if (c->geo.nhelmert == GEO_MAX_HELMERT)
		return config_fail(ps, "[geo]: more than %d helmert entries", GEO_MAX_HELMERT);
	struct geo_helmert *h = &c->geo.helmert[c->geo.nhelmert++];
	h->epsg = (int)epsg;
	if (strlen(value) >= sizeof(h->towgs84))
		return config_fail(ps, "[geo] %s: too long", key);
	snprintf(h->towgs84, sizeof(h->towgs84), "%s", value);
	return 1;
}

static int config_handler(void *user, const char *section, const char *key, const char *value)
{
	struct parse_state *ps = user;

	if (text_has_bidi(value)) /* the sender, names: published text (text.h) */
		return config_fail(ps, "[%s] %s: contains a bidirectional control character",
				   section, key);
	if (strncmp(section, "channel.", 8) == 0)
		return config_channel_set(ps, section + 8, key, value);
	if (strcmp(section, "geo") == 0 && strncmp(key, "helmert.", 8) == 0)
		return config_helmert_set(ps, key, value);

	bool section_known = false;
	for (size_t i = 0; i < sizeof(options) / sizeof(options[0]); i++) {
		if (strcmp(options[i].section, section) != 0)
			continue;
		section_known = true;
		if (strcmp(options[i].key, key) != 0)
			continue;
		if (!config_set(ps, &options[i], value))
			return 0;
		if (strcmp(section, "mqtt") == 0 && strcmp(key, "url") == 0) {
			/* Checked here, so the error names the line. */
			char msg[256];
			if (config_parse_brokers(value, ps->c->mqtt.brokers, &ps->c->mqtt.nbrokers,
						 msg, sizeof(msg)) != GA_OK)
				return config_fail(ps, "%s", msg);
		}
		return 1;
	}
	if (!section_known)
		return config_fail(ps, "unknown section [%s]", section);
	return config_fail(ps, "[%s]: unknown key \"%s\"", section, key);
}

ga_err config_load(const char *path, struct config *c, char *err, size_t errlen)
{
	ga_err result = GA_ERR_CONFIG;
	struct parse_state ps = {.c = c};

	config_defaults(c);
	if (strlen(path) >= sizeof(c->path)) {
		snprintf(err, errlen, "%s: path too long", path);
		return GA_ERR_CONFIG;
	}
	snprintf(c->path, sizeof(c->path), "%s", path);

	ps.fp = fopen(path, "r");
	if (!ps.fp) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		result = GA_ERR_IO;
		goto out;
	}
	if (fseek(ps.fp, 0, SEEK_END) == 0) {
		long size = ftell(ps.fp);
		if (size > (long)CONFIG_MAX_BYTES) {
			snprintf(err, errlen, "%s: larger than %u bytes", path, CONFIG_MAX_BYTES);
			goto out;
		}
		rewind(ps.fp);
	}
	/* Continuation lines would turn an indented typo into part of the
	 * previous value; the first error is the one worth reporting. */
	ini_allow_multiline = false;
	ini_stop_on_first_error = true;
	int rc = ini_parse_stream(config_reader, &ps, config_handler, &ps);
	if (rc < 0) {
		snprintf(err, errlen, "%s: cannot read", path);
		result = GA_ERR_IO;
		goto out;
	}
	if (rc > 0 || ps.err[0]) {
		if (ps.err[0])
			snprintf(err, errlen, "%s:%d: %s", path, ps.err_line, ps.err);
		else
			snprintf(err, errlen,
				 "%s:%d: syntax error (expected [section] or key = value)", path,
				 rc);
		goto out;
	}
	char msg[400];
	if (config_check(c, msg, sizeof(msg)) != GA_OK) {
		snprintf(err, errlen, "%s: %s", path, msg);
		goto out;
	}
	result = GA_OK;
out:
	if (ps.fp)
		fclose(ps.fp);
	return result;
}

const char *config_channel_get(const struct config_channel *ch, const char *key)
{
	for (int i = 0; i < ch->nkv; i++)
		if (strcmp(ch->kv[i].key, key) == 0)
			return ch->kv[i].value;
	return NULL;
}

void config_geo_options(const struct config *c, struct geo_options *opt)
{
	memset(opt, 0, sizeof(*opt));
	opt->regions_path = c->geo.regions[0] ? c->geo.regions : NULL;
	opt->service_area = c->geo.service_area;
	opt->nhelmert = c->geo.nhelmert;
	memcpy(opt->helmert, c->geo.helmert, sizeof(opt->helmert));
}

ga_err config_read_secret(const char *path, char *buf, size_t len, char *err, size_t errlen)
{
	ga_err result = GA_ERR_IO;
	FILE *fp = fopen(path, "r");
	if (!fp) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (!fgets(buf, (int)len, fp)) {
		snprintf(err, errlen, "%s: empty secret file", path);
		goto out;
	}
	size_t n = strlen(buf);
	if (n == len - 1 && buf[n - 1] != '\n' && !feof(fp)) {
		snprintf(err, errlen, "%s: secret longer than %zu bytes", path, len - 2);
		result = GA_ERR_TOOBIG;
		goto out;
	}
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	if (n == 0) {
		snprintf(err, errlen, "%s: empty secret file", path);
		goto out;
	}
	result = GA_OK;
out:
	if (fp)
		fclose(fp);
	return result;
}
