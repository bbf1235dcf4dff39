/* ingest.c - MQTT sessions, validation and receipts. */
#include "ingest.h"

#include <errno.h>
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "receipt.h"
#include "report.h"
#include "service.h"
#include "timeutil.h"
#include "writer.h"

#define INGEST_TOPIC_MAX 256
#define INGEST_BACKOFF_MIN_MS 500
#define INGEST_BACKOFF_MAX_MS 30000
#define INGEST_MIDS 65536    /* MQTT packet ids are 16 bits */
#define INGEST_DRAIN_MS 1000 /* at stop, wait this long for receipt PUBACKs */

struct ingest_session {
	struct ingest *in;
	struct mosquitto *mosq;
	int index;
	char client_id[80];
	pthread_t thread;
	bool thread_started;
	/* Held while a message is handled, so stop can wait for it. */
	pthread_mutex_t cb_lock;
	atomic_bool stopping;
	atomic_bool subscribed;
	/* Outbox id of the receipt sent with each packet id, so its PUBACK can
	 * clear it. Touched only by the session's loop thread. */
	int64_t *mid_outbox;
	atomic_int pending_receipts;
};

struct ingest {
	struct service *svc;
	int n;
	struct ingest_session *sessions;
	char topic[INGEST_TOPIC_MAX]; /* $share/group/geohazard/v1/reports/+ */
	char host[256];
	int port;
	bool tls;
	struct ingest_backlog *backlog; /* sent by session 0 once subscribed */
};

void ingest_backlog_free(struct ingest_backlog *b)
{
	while (b) {
		struct ingest_backlog *next = b->next;
		free(b->topic);
		free(b->payload);
		free(b);
		b = next;
	}
}

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

/* The report cannot be stored now: make sure it is not acknowledged. The
 * PUBACK is already queued inside libmosquitto; shutting the socket down
 * stops it from ever being written. The loop thread then sees the
 * connection fail and reconnects; the broker redelivers the message. */
static void ingest_refuse(struct ingest_session *ss)
{
	int fd = mosquitto_socket(ss->mosq);
	if (fd >= 0)
		shutdown(fd, SHUT_RDWR);
	atomic_fetch_add(&ss->in->svc->stats.refused, 1);
}

/* Station from the topic's last level; "" when the topic is not ours. */
static const char *ingest_topic_station(const char *topic)
{
	size_t n = strlen(REPORT_TOPIC_PREFIX);
	if (strncmp(topic, REPORT_TOPIC_PREFIX, n) != 0)
		return "";
	return topic + n;
}

/* Sends a receipt kept in the outbox; its PUBACK deletes it there. */
static void ingest_send_receipt(struct ingest_session *ss, const char *topic, const char *receipt,
				int64_t outbox_id)
{
	int mid = 0;
	int rc = mosquitto_publish_v5(ss->mosq, &mid, topic, (int)strlen(receipt), receipt, 1,
				      false, NULL);
	if (rc != MOSQ_ERR_SUCCESS) {
		/* Stays in the outbox: sent again at the next start. */
		log_warnx("ingest: receipt to %s not sent now: %s", topic, mosquitto_strerror(rc));
		return;
	}
	if (outbox_id > 0 && mid > 0 && mid < INGEST_MIDS) {
		if (ss->mid_outbox[mid] == 0)
			atomic_fetch_add(&ss->pending_receipts, 1);
		ss->mid_outbox[mid] = outbox_id;
	}
}

static void ingest_on_publish(struct mosquitto *mosq, void *obj, int mid, int reason,
			      const mosquitto_property *props)
{
	struct ingest_session *ss = obj;
	if (mid <= 0 || mid >= INGEST_MIDS || ss->mid_outbox[mid] == 0)
		return;
	int64_t id = ss->mid_outbox[mid];
	ss->mid_outbox[mid] = 0;
	atomic_fetch_sub(&ss->pending_receipts, 1);
	/* A refusal (e.g. not authorised) would be refused again: log it and
	 * do not keep it. */
	if (reason >= 0x80)
		log_warnx("mqtt %s: broker refused a receipt: %s", ss->client_id,
			  mosquitto_reason_string(reason));
	writer_receipt_acked(ss->in->svc->writer, id);
}

/* Session 0, once subscribed: receipts an earlier run could not send. */
static void ingest_send_backlog(struct ingest_session *ss)
{
	struct ingest *in = ss->in;
	int n = 0;
	for (struct ingest_backlog *b = in->backlog; b; b = b->next, n++)
		ingest_send_receipt(ss, b->topic, b->payload, b->outbox_id);
	if (n)
		log_info("mqtt %s: sent %d receipts left over from the last run", ss->client_id, n);
	ingest_backlog_free(in->backlog);
	in->backlog = NULL;
}

static void ingest_on_message(struct mosquitto *mosq, void *obj,
			      const struct mosquitto_message *msg, const mosquitto_property *props)
{
	struct ingest_session *ss = obj;
	struct service *svc = ss->in->svc;
	struct report r;
	struct report_errors errs;
	char *receipt = NULL;
	int64_t received_ms = time_now_ms();
	const char *station = ingest_topic_station(msg->topic);
	char receipt_topic[INGEST_TOPIC_MAX + 64];

	memset(&r, 0, sizeof(r));
	memset(&errs, 0, sizeof(errs));
	pthread_mutex_lock(&ss->cb_lock);
	if (atomic_load(&ss->stopping)) {
		/* Arrived after stop began: leave it to the next run. */
		ingest_refuse(ss);
		goto out;
	}

	struct report_context ctx = {
	    .geo = svc->geo,
	    .topic_station = station,
	    .now_ms = received_ms,
	};
	pthread_rwlock_rdlock(&svc->lock);
	ctx.registry = svc->registry;
	ga_err valid =
	    report_parse(&ctx, msg->payload, msg->payload ? (size_t)msg->payloadlen : 0, &r, &errs);
	pthread_rwlock_unlock(&svc->lock);
	if (valid == GA_ERR_NOMEM) {
		ingest_refuse(ss);
		goto out;
	}

	int n =
	    snprintf(receipt_topic, sizeof(receipt_topic), "%s%s", RECEIPT_TOPIC_PREFIX, station);
	if (n < 0 || (size_t)n >= sizeof(receipt_topic))
		receipt_topic[0] = '\0'; /* cannot be answered; still stored */

	struct writer_item it = {
	    .topic = msg->topic,
	    .receipt_topic = receipt_topic,
	    .report_id = r.report_id,
	    .raw = msg->payload,
	    .rawlen = msg->payload ? (size_t)msg->payloadlen : 0,
	    .received_ms = received_ms,
	    .report = valid == GA_OK ? &r : NULL,
	    .errs = &errs,
	};
	ga_err stored = writer_submit(svc->writer, &it);
	receipt = it.receipt;
	if (stored != GA_OK) {
		ingest_refuse(ss);
		goto out;
	}
	if (receipt_topic[0])
		ingest_send_receipt(ss, receipt_topic, receipt, it.outbox_id);
	switch (it.status) {
	case WRITER_ACCEPTED:
		atomic_fetch_add(&svc->stats.accepted, 1);
		break;
	case WRITER_DUPLICATE:
		atomic_fetch_add(&svc->stats.duplicates, 1);
		break;
	case WRITER_REJECTED:
		atomic_fetch_add(&svc->stats.rejected, 1);
		break;
	}
out:
	free(receipt);
	report_cleanup(&r);
	pthread_mutex_unlock(&ss->cb_lock);
}

static void ingest_on_connect(struct mosquitto *mosq, void *obj, int rc, int flags,
			      const mosquitto_property *props)
{
	struct ingest_session *ss = obj;
	if (rc != 0) {
		log_warnx("mqtt %s: connection refused: %s", ss->client_id,
			  mosquitto_reason_string(rc));
		return;
	}
	log_info("mqtt %s: connected (session %s)", ss->client_id, (flags & 1) ? "resumed" : "new");
	/* Subscribe every time: harmless when the session kept it, needed
	 * when the broker lost it. */
	int s = mosquitto_subscribe_v5(mosq, NULL, ss->in->topic, 1, 0, NULL);
	if (s != MOSQ_ERR_SUCCESS)
		log_warnx("mqtt %s: subscribe: %s", ss->client_id, mosquitto_strerror(s));
}

static void ingest_on_subscribe(struct mosquitto *mosq, void *obj, int mid, int qos_count,
				const int *granted_qos, const mosquitto_property *props)
{
	struct ingest_session *ss = obj;
	if (qos_count < 1 || granted_qos[0] > 2) {
		log_warnx("mqtt %s: subscription to %s refused", ss->client_id, ss->in->topic);
		return;
	}
	if (granted_qos[0] < 1)
		log_warnx("mqtt %s: broker granted QoS %d only", ss->client_id, granted_qos[0]);
	atomic_store(&ss->subscribed, true);
	if (ss->index == 0 && ss->in->backlog)
		ingest_send_backlog(ss);
}

static void ingest_on_disconnect(struct mosquitto *mosq, void *obj, int rc,
				 const mosquitto_property *props)
{
	struct ingest_session *ss = obj;
	atomic_store(&ss->subscribed, false);
	if (!atomic_load(&ss->stopping))
		log_warnx("mqtt %s: disconnected (%s); reconnecting", ss->client_id,
			  mosquitto_reason_string(rc));
}

static void ingest_sleep_ms(struct ingest_session *ss, int ms)
{
	/* Sleep in short steps so stop is not held up by the backoff. */
	for (int slept = 0; slept < ms && !atomic_load(&ss->stopping); slept += 100) {
		struct timespec ts = {0, 100 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
}

/* Our own loop thread (instead of mosquitto_loop_start) so that fatal
 * loop errors, which end libmosquitto's own thread, are retried too. */
static void *ingest_session_main(void *arg)
{
	struct ingest_session *ss = arg;
	int backoff = INGEST_BACKOFF_MIN_MS;

	while (!atomic_load(&ss->stopping)) {
		int64_t started = time_mono_ms();
		int rc = mosquitto_loop_forever(ss->mosq, 1000, 1);
		if (atomic_load(&ss->stopping))
			break;
		if (time_mono_ms() - started > 60000)
			backoff = INGEST_BACKOFF_MIN_MS;
		log_warnx("mqtt %s: %s; retrying in %d ms", ss->client_id,
			  rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc), backoff);
		ingest_sleep_ms(ss, backoff);
		backoff = backoff * 2 > INGEST_BACKOFF_MAX_MS ? INGEST_BACKOFF_MAX_MS : backoff * 2;
		if (!atomic_load(&ss->stopping))
			mosquitto_reconnect(ss->mosq);
	}
	return NULL;
}

static ga_err ingest_session_init(struct ingest *in, struct ingest_session *ss, int index,
				  const char *password, char *err, size_t errlen)
{
	const struct config *cfg = &in->svc->cfg;
	mosquitto_property *props = NULL;
	ga_err result = GA_ERR_MQTT;
	int rc;

	ss->in = in;
	ss->index = index;
	pthread_mutex_init(&ss->cb_lock, NULL);
	snprintf(ss->client_id, sizeof(ss->client_id), "%s-%d", cfg->mqtt.client_id, index);
	ss->mid_outbox = calloc(INGEST_MIDS, sizeof(*ss->mid_outbox));
	if (!ss->mid_outbox) {
		result = GA_ERR_NOMEM;
		goto out;
	}
	/* clean_session=false: with MQTT 5 this is clean start off. */
	ss->mosq = mosquitto_new(ss->client_id, false, ss);
	if (!ss->mosq) {
		snprintf(err, errlen, "mqtt: cannot create client: %s", strerror(errno));
		result = GA_ERR_NOMEM;
		goto out;
	}
	mosquitto_int_option(ss->mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
	mosquitto_int_option(ss->mosq, MOSQ_OPT_TCP_NODELAY, 1);
	/* We run the loop in our own thread: packets are then only written by
	 * that thread, after on_message returns (see ingest.h). */
	mosquitto_threaded_set(ss->mosq, true);
	mosquitto_reconnect_delay_set(ss->mosq, 1, 30, true);
	mosquitto_connect_v5_callback_set(ss->mosq, ingest_on_connect);
	mosquitto_subscribe_v5_callback_set(ss->mosq, ingest_on_subscribe);
	mosquitto_disconnect_v5_callback_set(ss->mosq, ingest_on_disconnect);
	mosquitto_message_v5_callback_set(ss->mosq, ingest_on_message);
	mosquitto_publish_v5_callback_set(ss->mosq, ingest_on_publish);
	if (cfg->mqtt.username[0]) {
		rc = mosquitto_username_pw_set(ss->mosq, cfg->mqtt.username,
					       password[0] ? password : NULL);
		if (rc != MOSQ_ERR_SUCCESS) {
			snprintf(err, errlen, "mqtt: username: %s", mosquitto_strerror(rc));
			goto out;
		}
	}
	if (in->tls) {
		if (cfg->mqtt.ca_file[0])
			rc = mosquitto_tls_set(ss->mosq, cfg->mqtt.ca_file, NULL, NULL, NULL, NULL);
		else
			rc = mosquitto_int_option(ss->mosq, MOSQ_OPT_TLS_USE_OS_CERTS, 1);
		if (rc != MOSQ_ERR_SUCCESS) {
			snprintf(err, errlen, "mqtt: TLS set-up (ca_file %s): %s",
				 cfg->mqtt.ca_file[0] ? cfg->mqtt.ca_file : "system",
				 mosquitto_strerror(rc));
			goto out;
		}
	}
	/* The broker keeps the session (subscription and queued reports) this
	 * long while we are away. */
	rc = mosquitto_property_add_int32(&props, MQTT_PROP_SESSION_EXPIRY_INTERVAL,
					  (uint32_t)cfg->mqtt.session_expiry);
	if (rc != MOSQ_ERR_SUCCESS) {
		snprintf(err, errlen, "mqtt: %s", mosquitto_strerror(rc));
		goto out;
	}
	rc = mosquitto_connect_bind_v5(ss->mosq, in->host, in->port, cfg->mqtt.keepalive, NULL,
				       props);
	if (rc != MOSQ_ERR_SUCCESS)
		log_warnx("mqtt %s: cannot connect to %s:%d yet (%s); will retry", ss->client_id,
			  in->host, in->port,
			  rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc));
	if (pthread_create(&ss->thread, NULL, ingest_session_main, ss) != 0) {
		snprintf(err, errlen, "mqtt: cannot start thread");
		goto out;
	}
	ss->thread_started = true;
	result = GA_OK;
out:
	mosquitto_property_free_all(&props);
	return result;
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
	in->sessions = calloc((size_t)cfg->mqtt.sessions, sizeof(*in->sessions));
	if (!in->sessions) {
		result = GA_ERR_NOMEM;
		goto out;
	}
	for (int i = 0; i < cfg->mqtt.sessions; i++) {
		in->n = i + 1;
		result = ingest_session_init(in, &in->sessions[i], i, password, err, errlen);
		if (result != GA_OK)
			goto out;
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
	/* Give the receipts already sent a moment to be acknowledged, so the
	 * next start does not send them again. */
	for (int waited = 0; waited < INGEST_DRAIN_MS; waited += 20) {
		int pending = 0;
		for (int i = 0; i < in->n; i++)
			pending += atomic_load(&in->sessions[i].pending_receipts);
		if (pending == 0)
			break;
		struct timespec ts = {0, 20 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	for (int i = 0; i < in->n; i++) {
		struct ingest_session *ss = &in->sessions[i];
		/* Wait for a message in progress: it is committed, receipted
		 * and acknowledged before the DISCONNECT is queued. */
		pthread_mutex_lock(&ss->cb_lock);
		atomic_store(&ss->stopping, true);
		if (ss->mosq)
			mosquitto_disconnect_v5(ss->mosq, 0, NULL);
		pthread_mutex_unlock(&ss->cb_lock);
	}
	for (int i = 0; i < in->n; i++) {
		struct ingest_session *ss = &in->sessions[i];
		if (ss->thread_started)
			pthread_join(ss->thread, NULL);
		mosquitto_destroy(ss->mosq);
		pthread_mutex_destroy(&ss->cb_lock);
		free(ss->mid_outbox);
	}
	ingest_backlog_free(in->backlog);
	free(in->sessions);
	free(in);
}
