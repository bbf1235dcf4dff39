/* ingest_connect.c - the MQTT connections of ingest: parsing [mqtt] url,
 * credentials, starting the sessions and the receipts' connection,
 * stopping them, and retiring the sessions a smaller [mqtt] sessions
 * leaves at the broker. */
#include <errno.h>
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "ingest_internal.h"
#include "log.h"
#include "outbox.h"
#include "receipt.h"
#include "service.h"

ga_err ingest_parse_url(const char *url, char *host, size_t hostlen, int *port, bool *tls)
{
	const char *p;
	if (strncmp(url, "mqtts://", 8) == 0) {
		*tls = true;
		*port = 8883;
		p = url + 8;
	} else if (strncmp(url, "mqtt://", 7) == 0) {
		*tls = false;
		*port = 1883;
		p = url + 7;
	} else {
		return GA_ERR_INVAL;
	}
	const char *colon = strrchr(p, ':');
	size_t n = colon ? (size_t)(colon - p) : strlen(p);
	if (n == 0 || n >= hostlen)
		return GA_ERR_INVAL;
	memcpy(host, p, n);
	host[n] = '\0';
	if (colon) {
		char *end;
		errno = 0;
		long v = strtol(colon + 1, &end, 10);
		if (errno || *end != '\0' || v < 1 || v > 65535)
			return GA_ERR_INVAL;
		*port = (int)v;
	}
	return GA_OK;
}

/* Credentials and TLS, the same for every connection. */
ga_err ingest_client_auth(struct ingest *in, struct mosquitto *mosq, const char *password,
			  char *err, size_t errlen)
{
	const struct config *cfg = &in->svc->cfg;
	int rc;

	if (cfg->mqtt.username[0]) {
		rc = mosquitto_username_pw_set(mosq, cfg->mqtt.username,
					       password[0] ? password : NULL);
		if (rc != MOSQ_ERR_SUCCESS) {
			snprintf(err, errlen, "mqtt: username: %s", mosquitto_strerror(rc));
			return GA_ERR_MQTT;
		}
	}
	if (in->tls) {
		if (cfg->mqtt.ca_file[0])
			rc = mosquitto_tls_set(mosq, cfg->mqtt.ca_file, NULL, NULL, NULL, NULL);
		else
			rc = mosquitto_int_option(mosq, MOSQ_OPT_TLS_USE_OS_CERTS, 1);
		if (rc != MOSQ_ERR_SUCCESS) {
			snprintf(err, errlen, "mqtt: TLS set-up (ca_file %s): %s",
				 cfg->mqtt.ca_file[0] ? cfg->mqtt.ca_file : "system",
				 mosquitto_strerror(rc));
			return GA_ERR_MQTT;
		}
	}
	return GA_OK;
}

/* The receipts' connection ({client_id}-receipts, clean start: what it
 * had not sent when it went away is in the outbox table). */
static ga_err ingest_outbox_start(struct ingest *in, const char *password, char *err, size_t errlen)
{
	const struct config *cfg = &in->svc->cfg;
	char id[sizeof(cfg->mqtt.client_id) + 16];

	snprintf(id, sizeof(id), "%s-receipts", cfg->mqtt.client_id);
	struct mosquitto *mosq = mosquitto_new(id, true, NULL);
	if (!mosq) {
		snprintf(err, errlen, "mqtt: cannot create client: %s", strerror(errno));
		return GA_ERR_NOMEM;
	}
	mosquitto_int_option(mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
	mosquitto_int_option(mosq, MOSQ_OPT_TCP_NODELAY, 1);
	/* Receipts in flight at once (libmosquitto's default is 20); the
	 * broker's Receive Maximum (its max_inflight_messages) caps it. */
	mosquitto_int_option(mosq, MOSQ_OPT_SEND_MAXIMUM, INGEST_RECEIPTS_INFLIGHT);
	if (ingest_client_auth(in, mosq, password, err, errlen) != GA_OK) {
		mosquitto_destroy(mosq);
		return GA_ERR_MQTT;
	}
	return outbox_start(mosq, in->svc->writer, in->host, in->port, cfg->mqtt.keepalive,
			    &in->outbox, err, errlen);
}

/* The sessions {client_id}-{N} ... {client_id}-63 beyond [mqtt] sessions
 * = N, one after another: a geoalert that ran with more sessions left
 * theirs at the broker, which keeps routing a share of the reports to
 * them (mosquitto queues shared-subscription messages for an offline
 * member) — reports that would wait there until the session expires. Each
 * is connected without clean start; the CONNACK says whether the broker
 * had it. A session it had is unsubscribed, gives what it holds (stored
 * and receipted like any report), and is ended with a session expiry of
 * 0; one it did not have is ended at once. */
static void *ingest_retire_main(void *arg)
{
	struct ingest *in = arg;
	const struct config *cfg = &in->svc->cfg;
	char err[256];

	for (int i = cfg->mqtt.sessions; i < CONFIG_SESSIONS_MAX; i++) {
		struct ingest_session *ss = &in->retire;
		if (atomic_load(&in->stopping))
			break;
		memset(ss, 0, sizeof(*ss));
		if (ingest_session_init(in, ss, i, true, in->password, err, sizeof(err)) != GA_OK) {
			log_warnx("mqtt: retiring session %d: %s", i, err);
			ingest_session_free(ss);
			continue;
		}
		ingest_session_main(ss);
		if (ss->retire_found)
			log_info("mqtt %s: session left by a larger [mqtt] sessions: %llu reports "
				 "taken, session %s",
				 ss->client_id, (unsigned long long)ss->nreports,
				 ss->retire_done ? "ended" : "kept (stopped before the end)");
		ingest_session_free(ss);
	}
	return NULL;
}

ga_err ingest_start(struct service *svc, struct ingest_backlog *backlog, struct ingest **out,
		    char *err, size_t errlen)
{
	const struct config *cfg = &svc->cfg;
	char password[256] = "";
	ga_err result = GA_ERR_NOMEM;
	struct ingest *in = calloc(1, sizeof(*in));
	if (!in) {
		ingest_backlog_free(backlog);
		goto out;
	}
	in->svc = svc;
	in->backlog = backlog;
	if (ingest_parse_url(cfg->mqtt.url, in->host, sizeof(in->host), &in->port, &in->tls) !=
	    GA_OK) {
		snprintf(err, errlen, "[mqtt] url: cannot parse \"%s\"", cfg->mqtt.url);
		result = GA_ERR_CONFIG;
		goto out;
	}
	snprintf(in->topic, sizeof(in->topic), "$share/%s/%s+", cfg->mqtt.share_group,
		 REPORT_TOPIC_PREFIX);
	if (cfg->mqtt.password_file[0]) {
		result = config_read_secret(cfg->mqtt.password_file, password, sizeof(password),
					    err, errlen);
		if (result != GA_OK)
			goto out;
	}
	/* First: the sessions hand it their receipts. */
	if ((result = ingest_outbox_start(in, password, err, errlen)) != GA_OK)
		goto out;
	in->sessions = calloc((size_t)cfg->mqtt.sessions, sizeof(*in->sessions));
	if (!in->sessions) {
		result = GA_ERR_NOMEM;
		goto out;
	}
	for (int i = 0; i < cfg->mqtt.sessions; i++) {
		in->n = i + 1;
		struct ingest_session *ss = &in->sessions[i];
		result = ingest_session_init(in, ss, i, false, password, err, errlen);
		if (result != GA_OK)
			goto out;
		if (pthread_create(&ss->thread, NULL, ingest_session_main, ss) != 0) {
			snprintf(err, errlen, "mqtt: cannot start thread");
			result = GA_ERR_MQTT;
			goto out;
		}
		ss->thread_started = true;
	}
	/* Then the sessions a larger [mqtt] sessions may have left. */
	snprintf(in->password, sizeof(in->password), "%s", password);
	if (cfg->mqtt.sessions < CONFIG_SESSIONS_MAX) {
		if (pthread_create(&in->retire_thread, NULL, ingest_retire_main, in) != 0) {
			snprintf(err, errlen, "mqtt: cannot start thread");
			result = GA_ERR_MQTT;
			goto out;
		}
		in->retire_started = true;
	}
	*out = in;
	in = NULL;
	result = GA_OK;
out:
	explicit_bzero(password, sizeof(password));
	if (in)
		ingest_stop(in);
	return result;
}

int ingest_subscribed(struct ingest *in)
{
	int n = 0;
	for (int i = 0; i < in->n; i++)
		n += atomic_load(&in->sessions[i].subscribed) ? 1 : 0;
	return n;
}

int ingest_sessions(struct ingest *in)
{
	return in->n;
}

void ingest_stop(struct ingest *in)
{
	if (!in)
		return;
	/* Each session finishes the batch it has read (committed and
	 * receipted), drains and disconnects, then its thread ends. */
	atomic_store(&in->stopping, true);
	for (int i = 0; i < in->n; i++)
		atomic_store(&in->sessions[i].stopping, true);
	if (in->retire_started)
		pthread_join(in->retire_thread, NULL);
	for (int i = 0; i < in->n; i++) {
		struct ingest_session *ss = &in->sessions[i];
		if (ss->thread_started)
			pthread_join(ss->thread, NULL);
		ingest_session_free(ss);
	}
	/* After the sessions: the receipts of their last batches. */
	outbox_stop(in->outbox, INGEST_DRAIN_MS);
	ingest_backlog_free(in->backlog);
	explicit_bzero(in->password, sizeof(in->password));
	free(in->sessions);
	free(in);
}
