/* ingest_connect.c - the MQTT connections of ingest: credentials, starting
 * each broker's sessions and receipts' connection, stopping them, and
 * retiring the sessions an earlier run left at a broker (a larger [mqtt]
 * sessions, another client_id) or a dead instance left (a takeover). */
#include <errno.h>
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "ingest_internal.h"
#include "ingest_outbox.h"
#include "ingest_receipt.h"
#include "log.h"
#include "service.h"
#include "store.h"

/* Credentials and TLS, the same for every connection. */
ga_err ingest_client_auth(struct ingest_broker *br, struct mosquitto *mosq, const char *password,
			  char *err, size_t errlen)
{
	const struct config *cfg = &br->in->svc->cfg;
	int rc;

	if (cfg->mqtt.username[0]) {
		rc = mosquitto_username_pw_set(mosq, cfg->mqtt.username,
					       password[0] ? password : NULL);
		if (rc != MOSQ_ERR_SUCCESS) {
			snprintf(err, errlen, "mqtt: username: %s", mosquitto_strerror(rc));
			return GA_ERR_MQTT;
		}
	}
	if (br->cfg->tls) {
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

/* A broker's receipts' connection ({client_id}-receipts, clean start: what
 * it had not sent when it went away is in the outbox table). */
static ga_err ingest_connect_receipts(struct ingest_broker *br, const char *password, char *err,
				      size_t errlen)
{
	const struct config *cfg = &br->in->svc->cfg;
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
	if (ingest_client_auth(br, mosq, password, err, errlen) != GA_OK) {
		mosquitto_destroy(mosq);
		return GA_ERR_MQTT;
	}
	return ingest_outbox_start(mosq, br->in->svc->writer, br->cfg->host, br->cfg->port,
				   cfg->mqtt.keepalive, &br->outbox, err, errlen);
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

/* The broker of [mqtt] url a stored row names: its index, or -1 when it
 * is not configured here. "" (a row from before several brokers) is the
 * first broker, the one broker of that time. */
static int ingest_broker_index(const struct config *cfg, const char *url)
{
	if (url[0] == '\0')
		return 0;
	for (int i = 0; i < cfg->mqtt.nbrokers; i++)
		if (strcmp(cfg->mqtt.brokers[i].url, url) == 0)
			return i;
	return -1;
}

/* Adds a session to retire to p; false when p is full. */
static bool ingest_retiree_add(struct ingest_plan *p, int bi, const char *broker,
			       const char *client_id, const char *topic)
{
	if (p->nretire == INGEST_RETIRE_MAX)
		return false;
	struct ingest_retiree *r = &p->retire[p->nretire++];
	snprintf(r->client_id, sizeof(r->client_id), "%s", client_id);
	snprintf(r->topic, sizeof(r->topic), "%s", topic);
	snprintf(r->broker, sizeof(r->broker), "%s", broker);
	r->bi = bi;
	return true;
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

static bool ingest_plan_row(const char *broker, const char *client_id, const char *topic, void *arg)
{
	struct ingest_plan_ctx *ctx = arg;
	struct ingest_plan *p = ctx->p;
	const char *cid = ctx->cfg->mqtt.client_id;
	size_t n = strlen(cid);
	int bi = ingest_broker_index(ctx->cfg, broker);

	if (strcmp(client_id, "*") == 0) {
		ctx->legacy = true;
		return true;
	}
	if (bi < 0) {
		/* Its broker was taken out of [mqtt] url: what it holds waits
		 * there until the broker is named again. */
		log_warnx("mqtt %s: a session at %s, which is not in [mqtt] url: left there",
			  client_id, broker);
		return true;
	}
	/* One of this run's sessions: only its filter matters. */
	if (strncmp(client_id, cid, n) == 0 && client_id[n] == '-') {
		char *end;
		errno = 0;
		long i = strtol(client_id + n + 1, &end, 10);
		if (errno == 0 && *end == '\0' && end != client_id + n + 1 && i >= 0 &&
		    i < p->nsessions) {
			char *old = p->old_topic[bi * p->nsessions + i];
			if (strcmp(topic, ctx->topic) != 0)
				snprintf(old, INGEST_TOPIC_MAX, "%s", topic);
			return true;
		}
	}
	ingest_retiree_add(p, bi, broker, client_id, topic); /* full: the rest next time */
	return true;
}

ga_err ingest_plan_make(struct store *s, const struct config *cfg, struct ingest_plan **out,
			char *err, size_t errlen)
{
	char topic[INGEST_TOPIC_MAX], id[sizeof(cfg->mqtt.client_id) + 16];
	struct ingest_plan *p = calloc(1, sizeof(*p));
	int nb = cfg->mqtt.nbrokers;
	ga_err e = GA_ERR_NOMEM;

	if (!p || !(p->retire = calloc(INGEST_RETIRE_MAX, sizeof(*p->retire))) ||
	    !(p->old_topic =
		  calloc((size_t)cfg->mqtt.sessions * (size_t)nb, sizeof(*p->old_topic)))) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	p->nsessions = cfg->mqtt.sessions;
	p->nbrokers = nb;
	ingest_topic(cfg, topic, sizeof(topic));
	struct ingest_plan_ctx ctx = {.p = p, .cfg = cfg, .topic = topic};
	if ((e = store_begin(s)) != GA_OK)
		goto fail;
	if ((e = store_mqtt_session_each(s, ingest_instance(cfg), ingest_plan_row, &ctx)) != GA_OK)
		goto fail;
	/* An older database: any {client_id}-N may be at the broker (the one
	 * broker of that time: the first). */
	if (ctx.legacy) {
		for (int i = cfg->mqtt.sessions; i < CONFIG_SESSIONS_MAX; i++) {
			snprintf(id, sizeof(id), "%s-%d", cfg->mqtt.client_id, i);
			if ((e = store_mqtt_session_put(s, ingest_instance(cfg),
							cfg->mqtt.brokers[0].url, id, topic)) !=
			    GA_OK)
				goto fail;
		}
		if ((e = store_mqtt_session_delete(s, "", "*")) != GA_OK)
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
	/* Recorded before they connect: a session a broker has is always
	 * one the store knows. This run's own rows from before several
	 * brokers (broker "") are recorded again under the first broker's
	 * url. */
	for (int b = 0; b < nb; b++)
		for (int i = 0; i < cfg->mqtt.sessions; i++) {
			snprintf(id, sizeof(id), "%s-%d", cfg->mqtt.client_id, i);
			if ((b == 0 && (e = store_mqtt_session_delete(s, "", id)) != GA_OK) ||
			    (e = store_mqtt_session_put(s, ingest_instance(cfg),
							cfg->mqtt.brokers[b].url, id, topic)) !=
				GA_OK)
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

bool ingest_broker_up(struct ingest_broker *br)
{
	for (int i = 0; i < br->n; i++)
		if (atomic_load(&br->sessions[i].subscribed))
			return true;
	return false;
}

/* Retires one session (ss: room for it) at its broker: passes of connect,
 * take what the broker gives until it is quiet, disconnect, until a pass
 * takes nothing: only that pass ends the session (session expiry 0,
 * ingest.c), so no report the broker still queued for it is dropped with
 * it (mosquitto 2.0 was seen to stop sending a resumed session its queue
 * after the first Receive Maximum's worth). What it takes is receipted on
 * that broker. Forgets it in store when ended; a broker that cannot be
 * reached (INGEST_RETIRE_CONNECT_MS) leaves it. Returns true when it was
 * ended. */
static bool ingest_retire_session(struct ingest *in, struct ingest_session *ss,
				  const struct ingest_retiree *r, struct store *store,
				  const char *whose)
{
	struct ingest_broker *br = &in->brokers[r->bi];
	unsigned long long taken = 0;
	char err[256];
	bool ended = false;

	/* Paused (ingest_lease): this instance may hold no client id now. */
	for (int pass = 0;
	     pass < INGEST_RETIRE_PASSES && !atomic_load(&in->stopping) && !ingest_paused(in);
	     pass++) {
		memset(ss, 0, sizeof(*ss));
		if (ingest_session_init(br, ss, -1, r, in->password, err, sizeof(err)) != GA_OK) {
			log_warnx("mqtt: retiring session %s at %s: %s", r->client_id, br->cfg->url,
				  err);
			ingest_session_free(ss);
			return false;
		}
		ingest_session_main(ss);
		bool reached = ss->retire_reached, found = ss->retire_found, done = ss->retire_done;
		unsigned long long n = ss->nreports;
		ingest_session_free(ss);
		taken += n;
		if (!reached)
			break; /* the broker is down: kept for later */
		if (!found || (done && n == 0)) {
			ended = done || !found;
			break;
		}
		if (!done)
			break; /* stopped before the end */
		struct timespec gap = {0, INGEST_RETIRE_PASS_GAP_MS * 1000 * 1000};
		nanosleep(&gap, NULL);
	}
	log_info("mqtt %s: session %s left: %llu reports taken, session %s (%s)", r->client_id,
		 whose, taken, ended ? "ended" : "kept (taken again next time)", br->cfg->url);
	if (ended && store_mqtt_session_delete(store, r->broker, r->client_id) != GA_OK)
		log_warnx("mqtt %s: ended, but still in the database: tried again next time",
			  r->client_id);
	return ended;
}

/* Waits (bounded) for br to be up: some session of this run subscribed. */
static bool ingest_retire_wait(struct ingest *in, struct ingest_broker *br)
{
	for (int waited = 0; waited < INGEST_RETIRE_WAIT_MS && !atomic_load(&in->stopping);
	     waited += 100) {
		if (ingest_broker_up(br))
			return true;
		struct timespec ts = {0, 100 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	return ingest_broker_up(br);
}

/* The sessions an earlier run left at the brokers (plan->retire), one
 * after another: mosquitto keeps routing a share of the reports to an
 * offline member of the shared subscription, where they would wait until
 * the session expires. Each is connected without clean start; the CONNACK
 * says whether the broker has it. A session it has is unsubscribed,
 * gives what it holds (stored and receipted like any report), and is
 * ended with a session expiry of 0 once a pass takes nothing
 * (ingest_retire_session); one it does not have is ended at once. Either way the store forgets it;
 * one this run stops before the end, or whose broker is down
 * (INGEST_RETIRE_WAIT_MS), is tried again next time. */
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
	for (int i = 0; i < p->nretire && !atomic_load(&in->stopping) && !ingest_paused(in); i++) {
		const struct ingest_retiree *r = &p->retire[i];
		if (!ingest_retire_wait(in, &in->brokers[r->bi])) {
			log_warnx("mqtt %s: %s is down: the session an earlier run left there is "
				  "retired at the next start",
				  r->client_id, in->brokers[r->bi].cfg->url);
			continue;
		}
		ingest_retire_session(in, &in->retire, r, store, "an earlier run");
	}
	store_close(store);
	return NULL;
}

struct ingest_takeover_ctx {
	const struct config *cfg;
	struct ingest_plan *p;
	int unknown; /* sessions at brokers not in [mqtt] url */
};

static bool ingest_takeover_row(const char *broker, const char *client_id, const char *topic,
				void *arg)
{
	struct ingest_takeover_ctx *ctx = arg;
	int bi = ingest_broker_index(ctx->cfg, broker);

	if (bi < 0) {
		log_warnx("cluster: session %s is at %s, which is not in this instance's [mqtt] "
			  "url: not taken over (name the broker there)",
			  client_id, broker);
		ctx->unknown++;
		return true;
	}
	return ingest_retiree_add(ctx->p, bi, broker, client_id, topic); /* the rest next time */
}

/* A receipt waiting in the outbox goes again on the broker its report came
 * in on, if it is up now (else it waits for the next takeover or start:
 * a down broker's connection would hold it in memory, again each time);
 * one from before several brokers on every broker that is up. */
static bool ingest_takeover_receipt(int64_t id, const char *broker, const char *topic,
				    const char *payload, void *arg)
{
	struct ingest *in = arg;
	int bi = broker[0] ? ingest_broker_index(&in->svc->cfg, broker) : -1;

	for (int i = 0; i < in->nbrokers; i++) {
		struct ingest_outbox *o = in->brokers[i].outbox;
		if ((bi < 0 || bi == i) && o && ingest_outbox_connected(o))
			ingest_outbox_send(o, topic, payload, id);
	}
	return true;
}

int ingest_takeover(struct ingest *in, struct store *s, const char *dead)
{
	struct ingest_plan p = {0};
	struct ingest_session *ss = NULL;
	struct ingest_takeover_ctx ctx = {.cfg = &in->svc->cfg, .p = &p};
	int left = -1;

	if ((p.retire = calloc(INGEST_RETIRE_MAX, sizeof(*p.retire))) == NULL ||
	    (ss = malloc(sizeof(*ss))) == NULL) {
		log_warnx("cluster: taking over %s: out of memory", dead);
		goto out;
	}
	if (store_mqtt_session_each(s, dead, ingest_takeover_row, &ctx) != GA_OK) {
		log_warnx("cluster: taking over %s: cannot read its sessions", dead);
		goto out;
	}
	left = p.nretire;
	for (int i = 0; i < p.nretire && !atomic_load(&in->stopping) && !ingest_paused(in); i++) {
		const struct ingest_retiree *r = &p.retire[i];
		/* A broker this instance cannot reach now is not waited for:
		 * the session stays, and the takeover is tried again. */
		if (!ingest_broker_up(&in->brokers[r->bi])) {
			log_warnx("cluster: %s's session %s at %s: the broker is down, taken over "
				  "later",
				  dead, r->client_id, in->brokers[r->bi].cfg->url);
			continue;
		}
		left -= ingest_retire_session(in, ss, r, s, dead);
	}
	if (p.nretire == INGEST_RETIRE_MAX)
		left++; /* perhaps more than read: claimed again to see */
	/* The receipts the dead instance committed and the broker never
	 * acknowledged: the outbox does not say whose they are, so every
	 * waiting one goes again. A receipt twice says the same twice; one
	 * never sent leaves a station without its answer. */
	if (store_outbox_each(s, ingest_takeover_receipt, in) == GA_OK)
		for (int i = 0; i < in->nbrokers; i++)
			if (in->brokers[i].outbox)
				ingest_outbox_flush(in->brokers[i].outbox);
out:
	free(ss);
	free(p.retire);
	return left;
}

/* Gives each broker the receipts an earlier run left for it: a receipt
 * whose broker is not (or no longer) known goes on every broker. Takes
 * backlog. */
static ga_err ingest_backlog_split(struct ingest *in, struct ingest_backlog *backlog)
{
	struct ingest_backlog **tail[CONFIG_BROKERS_MAX];
	ga_err result = GA_OK;

	for (int i = 0; i < in->nbrokers; i++)
		tail[i] = &in->brokers[i].backlog;
	while (backlog) {
		struct ingest_backlog *b = backlog;
		int bi = b->broker[0] ? ingest_broker_index(&in->svc->cfg, b->broker) : -1;
		backlog = b->next;
		b->next = NULL;
		for (int i = 0; i < in->nbrokers; i++) {
			if (bi >= 0 && bi != i)
				continue;
			struct ingest_backlog *c = b;
			if (bi < 0 && i < in->nbrokers - 1) {
				/* A copy for each broker but the last. */
				if (!(c = calloc(1, sizeof(*c))) ||
				    !(c->topic = strdup(b->topic)) ||
				    !(c->payload = strdup(b->payload)) ||
				    !(c->broker = strdup(b->broker))) {
					ingest_backlog_free(c);
					result = GA_ERR_NOMEM;
					continue;
				}
				c->outbox_id = b->outbox_id;
			}
			*tail[i] = c;
			tail[i] = &c->next;
		}
	}
	return result;
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
	in->plan = plan;
	if (!(in->brokers = calloc((size_t)cfg->mqtt.nbrokers, sizeof(*in->brokers)))) {
		ingest_backlog_free(backlog);
		goto out;
	}
	in->nbrokers = cfg->mqtt.nbrokers;
	for (int b = 0; b < in->nbrokers; b++) {
		in->brokers[b].in = in;
		in->brokers[b].cfg = &cfg->mqtt.brokers[b];
		in->brokers[b].index = b;
	}
	if (ingest_backlog_split(in, backlog) != GA_OK)
		log_warnx("outbox: out of memory: some receipts left over wait for the next start");
	ingest_topic(cfg, in->topic, sizeof(in->topic));
	if (cfg->mqtt.password_file[0]) {
		result = config_read_secret(cfg->mqtt.password_file, password, sizeof(password),
					    err, errlen);
		if (result != GA_OK)
			goto out;
	}
	for (int b = 0; b < in->nbrokers; b++) {
		struct ingest_broker *br = &in->brokers[b];
		/* First: the sessions hand it their receipts. */
		if ((result = ingest_connect_receipts(br, password, err, errlen)) != GA_OK)
			goto out;
		br->sessions = calloc((size_t)cfg->mqtt.sessions, sizeof(*br->sessions));
		if (!br->sessions) {
			result = GA_ERR_NOMEM;
			goto out;
		}
		for (int i = 0; i < cfg->mqtt.sessions; i++) {
			br->n = i + 1;
			struct ingest_session *ss = &br->sessions[i];
			result = ingest_session_init(br, ss, i, NULL, password, err, errlen);
			if (result != GA_OK)
				goto out;
			if (pthread_create(&ss->thread, NULL, ingest_session_main, ss) != 0) {
				snprintf(err, errlen, "mqtt: cannot start thread");
				result = GA_ERR_MQTT;
				goto out;
			}
			ss->thread_started = true;
		}
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

int ingest_brokers(struct ingest *in)
{
	return in->nbrokers;
}

const char *ingest_broker_url(struct ingest *in, int b)
{
	return in->brokers[b].cfg->url;
}

int ingest_broker_subscribed(struct ingest *in, int b)
{
	struct ingest_broker *br = &in->brokers[b];
	int n = 0;
	for (int i = 0; i < br->n; i++)
		n += atomic_load(&br->sessions[i].subscribed) ? 1 : 0;
	return n;
}

int ingest_broker_sessions(struct ingest *in, int b)
{
	return in->brokers[b].n;
}

int ingest_subscribed(struct ingest *in)
{
	int n = 0;
	for (int b = 0; b < in->nbrokers; b++)
		n += ingest_broker_subscribed(in, b);
	return n;
}

int ingest_sessions(struct ingest *in)
{
	int n = 0;
	for (int b = 0; b < in->nbrokers; b++)
		n += in->brokers[b].n;
	return n;
}

void ingest_stop_begin(struct ingest *in)
{
	if (in)
		atomic_store(&in->stopping, true);
}

void ingest_stop(struct ingest *in)
{
	if (!in)
		return;
	/* Each session finishes the batch it has read (committed and
	 * receipted), drains and disconnects, then its thread ends. */
	atomic_store(&in->stopping, true);
	for (int b = 0; b < in->nbrokers; b++)
		for (int i = 0; i < in->brokers[b].n; i++)
			atomic_store(&in->brokers[b].sessions[i].stopping, true);
	if (in->retire_started)
		pthread_join(in->retire_thread, NULL);
	for (int b = 0; b < in->nbrokers; b++) {
		struct ingest_broker *br = &in->brokers[b];
		for (int i = 0; i < br->n; i++) {
			struct ingest_session *ss = &br->sessions[i];
			if (ss->thread_started)
				pthread_join(ss->thread, NULL);
			ingest_session_free(ss);
		}
	}
	/* After the sessions: the receipts of their last batches. */
	for (int b = 0; b < in->nbrokers; b++) {
		struct ingest_broker *br = &in->brokers[b];
		ingest_outbox_stop(br->outbox, INGEST_DRAIN_MS);
		ingest_backlog_free(br->backlog);
		free(br->sessions);
	}
	explicit_bzero(in->password, sizeof(in->password));
	ingest_plan_free(in->plan);
	free(in->brokers);
	free(in);
}
