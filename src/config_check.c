/* config_check.c - the checks of a whole configuration once every line
 * is read (config_load): what no single option can say alone (channels
 * against their types, the alerts' key files and the files beside the
 * database, [http] trusted_proxies, [cluster] against [store]). Defaults
 * that depend on other options are filled in here too. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "config_internal.h"
#include "device_registry.h"
#include "riskwarning.h"

/* The file name beside [store] path into buf ("" given): "name" in the
 * database's directory. */
static ga_err config_beside_store(const struct config *c, const char *key, const char *name,
				  char *buf, size_t len, char *err, size_t errlen)
{
	const char *slash = strrchr(c->store.path, '/');
	int dirlen = slash ? (int)(slash - c->store.path) : 0;
	int n;

	if (buf[0] != '\0')
		return GA_OK;
	if (slash == c->store.path)
		dirlen = 1; /* "/x.db": the root */
	n = snprintf(buf, len, "%.*s%s%s", dirlen, c->store.path, slash && dirlen > 1 ? "/" : "",
		     name);
	if (n < 0 || (size_t)n >= len) {
		snprintf(err, errlen, "[alerts] %s: [store] path too long", key);
		return GA_ERR_CONFIG;
	}
	return GA_OK;
}

/* [alerts] signing_key_file, cap_signing_key_file and cap_sender when not
 * given: derived from [store] path and [http] public_base_url; a given
 * cap_sender is checked against CAP's rules for <sender>. */
static ga_err config_alert_defaults(struct config *c, char *err, size_t errlen)
{
	/* Several instances must sign with one key, the public's proof: no
	 * key made per node beside a store that is not a file. Left empty
	 * here; serve refuses to start without them (service.c), the
	 * command-line verbs need none. */
	if (c->store.url[0] != '\0')
		goto sender;
	if (config_beside_store(c, "signing_key_file", "signing-key.pem",
				c->alerts.signing_key_file, sizeof(c->alerts.signing_key_file), err,
				errlen) != GA_OK ||
	    config_beside_store(c, "cap_signing_key_file", "cap-signing-key.pem",
				c->alerts.cap_signing_key_file,
				sizeof(c->alerts.cap_signing_key_file), err, errlen) != GA_OK)
		return GA_ERR_CONFIG;
sender:
	if (c->alerts.cap_sender[0] == '\0') {
		const char *h = strstr(c->http.public_base_url, "://");
		h = h ? h + 3 : c->http.public_base_url;
		size_t n = strcspn(h, "/?#");
		if (h[0] == '[') { /* [::1]:8080 */
			const char *close = memchr(h, ']', n);
			n = close ? (size_t)(close - h) + 1 : n;
		} else {
			const char *colon = memchr(h, ':', n);
			n = colon ? (size_t)(colon - h) : n;
		}
		snprintf(c->alerts.cap_sender, sizeof(c->alerts.cap_sender), "%.*s", (int)n, h);
	}
	if (c->alerts.cap_sender[0] == '\0' ||
	    strpbrk(c->alerts.cap_sender, " \t\r\n,<&") != NULL) {
		snprintf(err, errlen,
			 "[alerts] cap_sender: \"%s\" must be non-empty, without spaces, commas, "
			 "< or & (set it, or give [http] public_base_url a host)",
			 c->alerts.cap_sender);
		return GA_ERR_CONFIG;
	}
	return GA_OK;
}

/* [alerts] hotline: a telephone number the public can dial, "0511-
 * 87654321" or "12336": digits, spaces and + - ( ), at least 3 digits. */
static ga_err config_check_hotline(const struct config *c, char *err, size_t errlen)
{
	const char *h = c->alerts.hotline;
	size_t digits = 0;

	if (h[0] == '\0')
		return GA_OK;
	for (const char *p = h; *p; p++)
		digits += *p >= '0' && *p <= '9';
	if (strspn(h, "0123456789+-() ") != strlen(h) || digits < 3) {
		snprintf(err, errlen,
			 "[alerts] hotline: \"%s\" must be a telephone number: digits, spaces "
			 "and + - ( ), at least 3 digits",
			 h);
		return GA_ERR_CONFIG;
	}
	return GA_OK;
}

/* One entry of [http] trusted_proxies: an address or ADDRESS/PREFIX. */
static bool config_net_parse(const char *text, struct config_net *out)
{
	char host[INET6_ADDRSTRLEN + 8];
	const char *slash = strchr(text, '/');
	size_t n = slash ? (size_t)(slash - text) : strlen(text);
	if (n == 0 || n >= sizeof(host))
		return false;
	memcpy(host, text, n);
	host[n] = '\0';
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, host, out->addr) == 1) {
		out->family = AF_INET;
		out->prefix = 32;
	} else if (inet_pton(AF_INET6, host, out->addr) == 1) {
		out->family = AF_INET6;
		out->prefix = 128;
	} else {
		return false;
	}
	if (slash) {
		char *end;
		errno = 0;
		long p = strtol(slash + 1, &end, 10);
		if (errno || end == slash + 1 || *end || p < 0 || p > out->prefix)
			return false;
		out->prefix = (int)p;
	}
	return true;
}

/* [http] trusted_proxies: addresses or ranges separated by spaces or
 * commas; "" trusts no one (X-Forwarded-For is then never read). */
static ga_err config_proxies(struct config *c, char *err, size_t errlen)
{
	char copy[CONFIG_STR_MAX], *save = NULL;
	snprintf(copy, sizeof(copy), "%s", c->http.trusted_proxies_text);
	c->http.ntrusted_proxies = 0;
	for (char *t = strtok_r(copy, " ,\t", &save); t; t = strtok_r(NULL, " ,\t", &save)) {
		if (c->http.ntrusted_proxies == CONFIG_PROXIES_MAX) {
			snprintf(err, errlen, "[http] trusted_proxies: more than %d entries",
				 CONFIG_PROXIES_MAX);
			return GA_ERR_CONFIG;
		}
		if (!config_net_parse(t, &c->http.trusted_proxies[c->http.ntrusted_proxies])) {
			snprintf(err, errlen,
				 "[http] trusted_proxies: \"%.64s\" is not an IP address or "
				 "ADDRESS/PREFIX",
				 t);
			return GA_ERR_CONFIG;
		}
		c->http.ntrusted_proxies++;
	}
	return GA_OK;
}

/* [store] url and [cluster]: a PostgreSQL URL without a password in it
 * (the secret comes from password_file or libpq's PGPASSFILE, never from
 * a file operators paste into tickets), and an instance name, the host
 * name when not given. */
static ga_err config_check_cluster(struct config *c, char *err, size_t errlen)
{
	const char *u = c->store.url, *rest, *at, *colon;

	if (u[0] != '\0') {
		if (strncmp(u, "postgresql://", 13) == 0)
			rest = u + 13;
		else if (strncmp(u, "postgres://", 11) == 0)
			rest = u + 11;
		else {
			snprintf(err, errlen,
				 "[store] url: must start with postgresql:// (SQLite takes [store] "
				 "path)");
			return GA_ERR_CONFIG;
		}
		at = strchr(rest, '@');
		colon = strchr(rest, ':');
		if ((at && colon && colon < at && !memchr(rest, '/', (size_t)(at - rest))) ||
		    strstr(u, "password=") != NULL) {
			snprintf(err, errlen,
				 "[store] url: holds a password; put it in [store] password_file "
				 "(or libpq's PGPASSFILE) instead");
			return GA_ERR_CONFIG;
		}
	} else if (c->store.password_file[0] != '\0') {
		snprintf(err, errlen, "[store] password_file needs [store] url");
		return GA_ERR_CONFIG;
	}
	if (c->cluster.instance[0] == '\0' &&
	    gethostname(c->cluster.instance, sizeof(c->cluster.instance) - 1) != 0)
		snprintf(c->cluster.instance, sizeof(c->cluster.instance), "geoalert");
	c->cluster.instance[sizeof(c->cluster.instance) - 1] = '\0';
	if (c->cluster.instance[0] == '\0')
		snprintf(c->cluster.instance, sizeof(c->cluster.instance), "geoalert");
	for (const char *p = c->cluster.instance; *p; p++)
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		      (*p >= '0' && *p <= '9') || *p == '_' || *p == '-' || *p == '.')) {
			snprintf(err, errlen,
				 "[cluster] instance: \"%s\" must be 1..63 of A-Z a-z 0-9 . _ -",
				 c->cluster.instance);
			return GA_ERR_CONFIG;
		}
	/* Instances sharing a database share the brokers too: each needs
	 * client ids of its own (a broker drops the older of two connections
	 * with one id), whatever the config files they were copied from say. */
	if (u[0] != '\0') {
		char id[sizeof(c->mqtt.client_id)];
		snprintf(id, sizeof(id), "%.40s-%.63s", c->mqtt.client_id, c->cluster.instance);
		memcpy(c->mqtt.client_id, id, sizeof(id));
	}
	return GA_OK;
}

/* Checks that span several keys, after the whole file is read. */
ga_err config_check(struct config *c, char *err, size_t errlen)
{
	if (c->mqtt.nbrokers < 1 || c->mqtt.nbrokers > CONFIG_BROKERS_MAX) {
		snprintf(err, errlen, "[mqtt] url: names no broker");
		return GA_ERR_CONFIG;
	}
	if (c->mqtt.client_id[0] == '\0' || strlen(c->mqtt.client_id) > 40) {
		snprintf(err, errlen, "[mqtt] client_id: must be 1..40 bytes");
		return GA_ERR_CONFIG;
	}
	if (c->mqtt.password_file[0] && !c->mqtt.username[0]) {
		snprintf(err, errlen, "[mqtt] password_file needs username");
		return GA_ERR_CONFIG;
	}
	if (c->mqtt.share_group[0] == '\0' || strpbrk(c->mqtt.share_group, "/+#") != NULL) {
		snprintf(err, errlen, "[mqtt] share_group: \"%s\" must be a name without / + #",
			 c->mqtt.share_group);
		return GA_ERR_CONFIG;
	}
	/* mosquitto grants any SUBSCRIBE: a broker account that knows the
	 * group takes its share of every station's reports and, not allowed
	 * to read them, drops them (docs/operations.md). Where there are
	 * accounts, the group's name is a secret, never the default. */
	if (c->mqtt.username[0] && strcmp(c->mqtt.share_group, CONFIG_SHARE_GROUP_DEFAULT) == 0) {
		snprintf(err, errlen,
			 "[mqtt] share_group: with username set it must be a secret name, not the "
			 "default \"%s\": a station account subscribing to $share/%s/... would "
			 "take a share of the reports (e.g. share_group = `openssl rand -hex 16`)",
			 CONFIG_SHARE_GROUP_DEFAULT, CONFIG_SHARE_GROUP_DEFAULT);
		return GA_ERR_CONFIG;
	}
	const char *p = c->alerts.incident_prefix;
	bool prefix_ok = p[0] != '\0';
	for (; *p; p++)
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		      (*p >= '0' && *p <= '9') || *p == '_' || *p == '-'))
			prefix_ok = false;
	if (!prefix_ok) {
		snprintf(err, errlen,
			 "[alerts] incident_prefix: \"%s\" must be 1..15 of A-Z a-z 0-9 _ -",
			 c->alerts.incident_prefix);
		return GA_ERR_CONFIG;
	}
	if (config_check_cluster(c, err, errlen) != GA_OK)
		return GA_ERR_CONFIG;
	if (c->store.path[0] == '\0') {
		snprintf(err, errlen, "[store] path: must be set");
		return GA_ERR_CONFIG;
	}
	if (!strchr(c->http.listen, ':')) {
		snprintf(err, errlen, "[http] listen: \"%s\" must be HOST:PORT", c->http.listen);
		return GA_ERR_CONFIG;
	}
	if (config_check_hotline(c, err, errlen) != GA_OK)
		return GA_ERR_CONFIG;
	if ((c->riskwarning.publish_min =
		 riskwarning_level_from_name(c->riskwarning.publish_min_level)) < 0) {
		snprintf(err, errlen,
			 "[riskwarning] publish_min_level: \"%s\" must be red, orange, "
			 "yellow or blue",
			 c->riskwarning.publish_min_level);
		return GA_ERR_CONFIG;
	}
	if ((c->devices.draft_min = device_level_from_name(c->devices.draft_min_level)) < 0) {
		snprintf(err, errlen,
			 "[devices] draft_min_level: \"%s\" must be blue, yellow, orange or red",
			 c->devices.draft_min_level);
		return GA_ERR_CONFIG;
	}
	for (const char *q = c->riskwarning.issuers; *(q += strspn(q, " \t,"));) {
		char id[REPORT_ID_MAX + 2];
		size_t n = strcspn(q, " \t,");
		snprintf(id, sizeof(id), "%.*s", (int)(n < sizeof(id) - 1 ? n : sizeof(id) - 1), q);
		if (n > REPORT_ID_MAX || !report_id_valid(id)) {
			snprintf(err, errlen,
				 "[riskwarning] issuers: \"%.64s\" must be 1..%d of "
				 "A-Z a-z 0-9 . _ : -",
				 id, REPORT_ID_MAX);
			return GA_ERR_CONFIG;
		}
		q += n;
	}
	if (config_proxies(c, err, errlen) != GA_OK)
		return GA_ERR_CONFIG;
	if (config_alert_defaults(c, err, errlen) != GA_OK)
		return GA_ERR_CONFIG;
	for (int i = 0; i < c->nchannels; i++) {
		struct config_channel *ch = &c->channels[i];
		if (ch->type[0] == '\0') {
			snprintf(err, errlen, "[channel.%s] (line %d): type must be set", ch->name,
				 ch->line);
			return GA_ERR_CONFIG;
		}
	}
	return GA_OK;
}
