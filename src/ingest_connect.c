/* ingest_connect.c - the MQTT connections of ingest: parsing [mqtt] url,
 * credentials, starting the sessions and the receipts' connection,
 * stopping them, and retiring the sessions an earlier run left at the
 * broker (a larger [mqtt] sessions, another client_id). */
#include <errno.h>
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "ingest_internal.h"
#include "ingest_outbox.h"
#include "ingest_receipt.h"
#include "log.h"
#include "service.h"
#include "store.h"

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
static ga_err ingest_connect_receipts(struct ingest *in, const char *password, char *err,
				      size_t errlen)
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
	return ingest_outbox_start(mosq, in->svc->writer, in->host, in->port, cfg->mqtt.keepalive,
				   &in->outbox, err, errlen);
}

/* The topic filter of this configuration's sessions. */
static void ingest_topic(const struct config *cfg, char *buf, size_t len)
{
	snprintf(buf, len, "$share/%s/%s+", cfg->mqtt.share_group, REPORT_TOPIC_PREFIX);
}

void ingest_plan_free(struct ingest_plan *p)
{
	if (!p)
		return;
	free(p->retire);
	free(p->old_topic);
	free(p);
}

struct ingest_plan_ctx {
	struct ingest_plan *p;
	const struct config *cfg;
	const char *topic;
	bool legacy; /* the row "*" */
};

/* The instance whose sessions this run records and retires: "" on SQLite
 * (one instance), [cluster] instance on PostgreSQL (spec §10). */
static const char *ingest_instance(const struct config *cfg)
{
	return cfg->store.url[0] ? cfg->cluster.instance : "";
}

static bool ingest_plan_row(const char *client_id, const char *topic, void *arg)
{
	struct ingest_plan_ctx *ctx = arg;
	struct ingest_plan *p = ctx->p;
	const char *cid = ctx->cfg->mqtt.client_id;
	size_t n = strlen(cid);

	if (strcmp(client_id, "*") == 0) {
		ctx->legacy = true;
		return true;
	}
	/* One of this run's sessions: only its filter matters. */
	if (strncmp(client_id, cid, n) == 0 && client_id[n] == '-') {
		char *end;
		errno = 0;
		long i = strtol(client_id + n + 1, &end, 10);
		if (errno == 0 && *end == '\0' && end != client_id + n + 1 && i >= 0 &&
		    i < p->nsessions) {
			if (strcmp(topic, ctx->topic) != 0)
				snprintf(p->old_topic[i], sizeof(p->old_topic[i]), "%s", topic);
			return true;
		}
	}
	if (p->nretire == INGEST_RETIRE_MAX)
		return true; /* the rest next time */
	struct ingest_retiree *r = &p->retire[p->nretire++];
	snprintf(r->client_id, sizeof(r->client_id), "%s", client_id);
	snprintf(r->topic, sizeof(r->topic), "%s", topic);
	return true;
}

ga_err ingest_plan_make(struct store *s, const struct config *cfg, struct ingest_plan **out,
			char *err, size_t errlen)
{
	char topic[INGEST_TOPIC_MAX], id[sizeof(cfg->mqtt.client_id) + 16];
	struct ingest_plan *p = calloc(1, sizeof(*p));
	ga_err e = GA_ERR_NOMEM;

	if (!p || !(p->retire = calloc(INGEST_RETIRE_MAX, sizeof(*p->retire))) ||
	    !(p->old_topic = calloc((size_t)cfg->mqtt.sessions, sizeof(*p->old_topic)))) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	p->nsessions = cfg->mqtt.sessions;
	ingest_topic(cfg, topic, sizeof(topic));
	struct ingest_plan_ctx ctx = {.p = p, .cfg = cfg, .topic = topic};
	if ((e = store_begin(s)) != GA_OK)
		goto fail;
	if ((e = store_mqtt_session_each(s, ingest_instance(cfg), ingest_plan_row, &ctx)) != GA_OK)
		goto fail;
	/* An older database: any {client_id}-N may be at the broker. */
	if (ctx.legacy) {
		for (int i = cfg->mqtt.sessions; i < CONFIG_SESSIONS_MAX; i++) {
			snprintf(id, sizeof(id), "%s-%d", cfg->mqtt.client_id, i);
			if ((e = store_mqtt_session_put(s, ingest_instance(cfg), id, topic)) !=
			    GA_OK)
				goto fail;
		}
		if ((e = store_mqtt_session_delete(s, "*")) != GA_OK)
			goto fail;
		p->nretire = 0;
		if ((e = store_mqtt_session_each(s, ingest_instance(cfg), ingest_plan_row, &ctx)) !=
		    GA_OK)
			goto fail;
	}
	/* Several instances: the sessions of a one-instance run (SQLite's,
	 * copied by store copy, or before [store] url) are nobody's now. */
	if (ingest_instance(cfg)[0] != '\0' &&
	    (e = store_mqtt_session_each(s, "", ingest_plan_row, &ctx)) != GA_OK)
		goto fail;
	/* Recorded before they connect: a session the broker has is always
	 * one the store knows. */
	for (int i = 0; i < cfg->mqtt.sessions; i++) {
		snprintf(id, sizeof(id), "%s-%d", cfg->mqtt.client_id, i);
		if ((e = store_mqtt_session_put(s, ingest_instance(cfg), id, topic)) != GA_OK)
			goto fail;
	}
	if ((e = store_commit(s)) != GA_OK)
		goto fail;
	*out = p;
	return GA_OK;
fail:
	store_rollback(s);
	snprintf(err, errlen, "database: cannot read or record the MQTT sessions: %s",
		 ga_strerror(e));
out:
	ingest_plan_free(p);
	return e;
}

/* Retires one session (ss: room for it): passes of connect, take what the
 * broker gives until it is quiet, disconnect, until a pass takes nothing:
 * only that pass ends the session (session expiry 0, ingest.c), so no
 * report the broker still queued for it is dropped with it (mosquitto
 * 2.0 was seen to stop sending a resumed session its queue after the
 * first Receive Maximum's worth). Forgets it in store when ended.
 * Returns true when it was ended. */
static bool ingest_retire_session(struct ingest *in, struct ingest_session *ss,
				  const struct ingest_retiree *r, struct store *store,
				  const char *whose)
{
	unsigned long long taken = 0;
	char err[256];
	bool ended = false;

	/* Paused (ingest_lease): this instance may hold no client id now. */
	for (int pass = 0;
	     pass < INGEST_RETIRE_PASSES && !atomic_load(&in->stopping) && !ingest_paused(in);
	     pass++) {
		memset(ss, 0, sizeof(*ss));
		if (ingest_session_init(in, ss, -1, r, in->password, err, sizeof(err)) != GA_OK) {
			log_warnx("mqtt: retiring session %s: %s", r->client_id, err);
			ingest_session_free(ss);
			return false;
		}
		ingest_session_main(ss);
		bool found = ss->retire_found, done = ss->retire_done;
		unsigned long long n = ss->nreports;
		ingest_session_free(ss);
		taken += n;
		if (!found || (done && n == 0)) {
			ended = done || !found;
			break;
		}
		if (!done)
			break; /* stopped before the end */
	}
	log_info("mqtt %s: session %s left: %llu reports taken, session %s", r->client_id, whose,
		 taken, ended ? "ended" : "kept (taken again next time)");
	if (ended && store_mqtt_session_delete(store, r->client_id) != GA_OK)
		log_warnx("mqtt %s: ended, but still in the database: tried again next time",
			  r->client_id);
	return ended;
}

/* The sessions an earlier run left at the broker (plan->retire), one
 * after another: mosquitto keeps routing a share of the reports to an
 * offline member of the shared subscription, where they would wait until
 * the session expires. Each is connected without clean start; the CONNACK
 * says whether the broker has it. A session it has is unsubscribed,
 * gives what it holds (stored and receipted like any report), and is
 * ended with a session expiry of 0 once a pass takes nothing
 * (ingest_retire_session); one it does not have is ended at once. Either way the store forgets it;
 * one this run stops before the end is tried again next time. */
static void *ingest_retire_main(void *arg)
{
	struct ingest *in = arg;
	const struct config *cfg = &in->svc->cfg;
	const struct ingest_plan *p = in->plan;
	struct store_options sopt = {.path = cfg->store.path,
				     .url = cfg->store.url,
				     .password_file = cfg->store.password_file,
				     .max_page_count = cfg->store.max_page_count};
	struct store *store = NULL;
	char err[256];

	if (store_open(&sopt, &store, err, sizeof(err)) != GA_OK) {
		log_warnx("mqtt: cannot retire the sessions an earlier run left: %s", err);
		return NULL;
	}
	for (int i = 0; i < p->nretire && !atomic_load(&in->stopping) && !ingest_paused(in); i++)
		ingest_retire_session(in, &in->retire, &p->retire[i], store, "an earlier run");
	store_close(store);
	return NULL;
}

static bool ingest_takeover_row(const char *client_id, const char *topic, void *arg)
{
	struct ingest_plan *p = arg;

	if (p->nretire == INGEST_RETIRE_MAX)
		return false; /* the rest by the next takeover */
	struct ingest_retiree *r = &p->retire[p->nretire++];
	snprintf(r->client_id, sizeof(r->client_id), "%s", client_id);
	snprintf(r->topic, sizeof(r->topic), "%s", topic);
	return true;
}

static bool ingest_takeover_receipt(int64_t id, const char *topic, const char *payload, void *arg)
{
	struct ingest *in = arg;

	ingest_outbox_send(in->outbox, topic, payload, id);
	return true;
}

int ingest_takeover(struct ingest *in, struct store *s, const char *dead)
{
	struct ingest_plan p = {0};
	struct ingest_session *ss = NULL;
	int left = -1;

	if ((p.retire = calloc(INGEST_RETIRE_MAX, sizeof(*p.retire))) == NULL ||
	    (ss = malloc(sizeof(*ss))) == NULL) {
		log_warnx("cluster: taking over %s: out of memory", dead);
		goto out;
	}
	if (store_mqtt_session_each(s, dead, ingest_takeover_row, &p) != GA_OK) {
		log_warnx("cluster: taking over %s: cannot read its sessions", dead);
		goto out;
	}
	left = p.nretire;
	for (int i = 0; i < p.nretire && !atomic_load(&in->stopping) && !ingest_paused(in); i++)
		left -= ingest_retire_session(in, ss, &p.retire[i], s, dead);
	if (p.nretire == INGEST_RETIRE_MAX)
		left++; /* perhaps more than read: claimed again to see */
	/* The receipts the dead instance committed and the broker never
	 * acknowledged: the outbox does not say whose they are, so every
	 * waiting one goes again. A receipt twice says the same twice; one
	 * never sent leaves a station without its answer. */
	if (in->outbox && store_outbox_each(s, ingest_takeover_receipt, in) == GA_OK)
		ingest_outbox_flush(in->outbox);
out:
	free(ss);
	free(p.retire);
	return left;
}

ga_err ingest_start(struct service *svc, struct ingest_backlog *backlog, struct ingest_plan *plan,
		    struct ingest **out, char *err, size_t errlen)
{
	const struct config *cfg = &svc->cfg;
	char password[256] = "";
	ga_err result = GA_ERR_NOMEM;
	struct ingest *in = calloc(1, sizeof(*in));
	if (!in) {
		ingest_backlog_free(backlog);
		ingest_plan_free(plan);
		goto out;
	}
	in->svc = svc;
	in->backlog = backlog;
	in->plan = plan;
	if (ingest_parse_url(cfg->mqtt.url, in->host, sizeof(in->host), &in->port, &in->tls) !=
	    GA_OK) {
		snprintf(err, errlen, "[mqtt] url: cannot parse \"%s\"", cfg->mqtt.url);
		result = GA_ERR_CONFIG;
		goto out;
	}
	ingest_topic(cfg, in->topic, sizeof(in->topic));
	if (cfg->mqtt.password_file[0]) {
		result = config_read_secret(cfg->mqtt.password_file, password, sizeof(password),
					    err, errlen);
		if (result != GA_OK)
			goto out;
	}
	/* First: the sessions hand it their receipts. */
	if ((result = ingest_connect_receipts(in, password, err, errlen)) != GA_OK)
		goto out;
	in->sessions = calloc((size_t)cfg->mqtt.sessions, sizeof(*in->sessions));
	if (!in->sessions) {
		result = GA_ERR_NOMEM;
		goto out;
	}
	for (int i = 0; i < cfg->mqtt.sessions; i++) {
		in->n = i + 1;
		struct ingest_session *ss = &in->sessions[i];
		result = ingest_session_init(in, ss, i, NULL, password, err, errlen);
		if (result != GA_OK)
			goto out;
		if (pthread_create(&ss->thread, NULL, ingest_session_main, ss) != 0) {
			snprintf(err, errlen, "mqtt: cannot start thread");
			result = GA_ERR_MQTT;
			goto out;
		}
		ss->thread_started = true;
	}
	/* Then the sessions an earlier run left. */
	snprintf(in->password, sizeof(in->password), "%s", password);
	if (plan && plan->nretire > 0) {
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
	ingest_outbox_stop(in->outbox, INGEST_DRAIN_MS);
	ingest_backlog_free(in->backlog);
	explicit_bzero(in->password, sizeof(in->password));
	ingest_plan_free(in->plan);
	free(in->sessions);
	free(in);
}
