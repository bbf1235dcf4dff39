/* ingest.c - MQTT sessions, validation and receipts. */
#include "ingest.h"

#include <errno.h>
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "outbox.h"
#include "receipt.h"
#include "report.h"
#include "service.h"
#include "timeutil.h"
#include "watchdog.h"
#include "writer.h"

#define INGEST_TOPIC_MAX 256
#define INGEST_BACKOFF_MIN_MS 500
#define INGEST_BACKOFF_MAX_MS 30000
#define INGEST_DRAIN_MS 1000 /* at stop, wait this long for receipt PUBACKs */
/* One session commits up to this many reports together (and asks the
 * broker for as many in flight: MQTT 5 Receive Maximum). 128 against 256:
 * the same rate with four sessions, ~2 MiB less peak memory (each report
 * in a batch holds its parsed JSON until the commit; docs/benchmarks.md). */
#define INGEST_BATCH_MAX 128
/* One read can deliver more than asked (QoS 0 messages are not bound by
 * Receive Maximum): the batch grows up to this, past it the session
 * refuses the lot. */
#define INGEST_BATCH_HARD 4096
#define INGEST_BATCH_BYTES (2u << 20) /* payload bytes held by one batch */
#define INGEST_POLL_MS 1000
/* Receipts kept in flight to the broker (MQTT 5 send quota; the broker's
 * Receive Maximum, mosquitto's max_inflight_messages, caps it too: 20 by
 * default). */
#define INGEST_RECEIPTS_INFLIGHT 1024
/* Spent messages kept for reuse by a session (each with its payload
 * buffer): a steady stream allocates nothing per report. */
#define INGEST_SPARE_MAX 64
#define INGEST_SPARE_BYTES 4096 /* larger payload buffers are not kept */

struct ingest_session {
	struct ingest *in;
	struct mosquitto *mosq;
	int index;
	char client_id[80];
	pthread_t thread;
	bool thread_started;
	atomic_bool stopping;
	atomic_bool subscribed;
	/* Reports read but not yet committed. While it is non-empty the
	 * session never calls mosquitto_loop_write: their PUBACKs wait in
	 * libmosquitto's queue. */
	struct ingest_msg **batch;
	struct writer_item **items; /* same size as batch: handed to the writer */
	int nbatch, capbatch;
	struct ingest_msg *spare; /* spent messages for reuse, linked by next */
	int nspare;
	size_t batch_bytes;
	unsigned events; /* callbacks run: tells a productive read from EAGAIN */
	bool tainted;	 /* a message arrived during stop: its PUBACK must never leave */
	bool connected;	 /* CONNACK accepted */
	/* Scratch error list for validation: copied out only for a rejected
	 * report (it is ~13 KiB; most reports are valid). */
	struct report_errors scratch;
	/* For the log line at stop: commits, reports, the largest batch. */
	uint64_t ncommits, nreports;
	int max_batch;
};

/* A report between its arrival and its commit: the message is copied,
 * since libmosquitto frees its own when on_message returns. */
struct ingest_msg {
	struct writer_item it;
	struct report r;
	char *topic; /* topic_buf, or allocated when longer */
	char topic_buf[INGEST_TOPIC_MAX + 64];
	void *payload;
	size_t len, cap; /* payload bytes and the buffer's size */
	char receipt_topic[INGEST_TOPIC_MAX + 64];
	struct ingest_msg *next; /* on the spare list */
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
	struct outbox *outbox;		/* the receipts' own connection */
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

/* The reports read cannot be stored now: make sure they are not
 * acknowledged. Their PUBACKs are queued inside libmosquitto; shutting the
 * socket down stops them from ever being written. The next read fails,
 * the session reconnects and the broker redelivers them. */
static void ingest_refuse(struct ingest_session *ss)
{
	int fd = mosquitto_socket(ss->mosq);
	if (fd >= 0)
		shutdown(fd, SHUT_RDWR);
	ss->tainted = false;
}

/* Station from the topic's last level; "" when the topic is not ours. */
static const char *ingest_topic_station(const char *topic)
{
	size_t n = strlen(REPORT_TOPIC_PREFIX);
	if (strncmp(topic, REPORT_TOPIC_PREFIX, n) != 0)
		return "";
	return topic + n;
}

/* Session 0, once subscribed: receipts an earlier run could not send. */
static void ingest_send_backlog(struct ingest_session *ss)
{
	struct ingest *in = ss->in;
	int n = 0;
	for (struct ingest_backlog *b = in->backlog; b; b = b->next, n++)
		outbox_send(in->outbox, b->topic, b->payload, b->outbox_id);
	outbox_flush(in->outbox);
	if (n)
		log_info("mqtt %s: sent %d receipts left over from the last run", ss->client_id, n);
	ingest_backlog_free(in->backlog);
	in->backlog = NULL;
}

static bool ingest_batch_grow(struct ingest_session *ss)
{
	int cap = ss->capbatch ? ss->capbatch * 2 : INGEST_BATCH_MAX;
	if (cap > INGEST_BATCH_HARD)
		return false;
	struct ingest_msg **b = realloc(ss->batch, (size_t)cap * sizeof(*b));
	if (!b)
		return false;
	ss->batch = b;
	struct writer_item **it = realloc(ss->items, (size_t)cap * sizeof(*it));
	if (!it)
		return false;
	ss->items = it;
	ss->capbatch = cap;
	return true;
}

static void ingest_msg_free(struct ingest_msg *m)
{
	if (!m)
		return;
	report_cleanup(&m->r);
	free(m->it.errs);
	free(m->it.receipt);
	if (m->topic != m->topic_buf)
		free(m->topic);
	free(m->payload);
	free(m);
}

/* A message is done with: kept for the next report when there is room. */
static void ingest_msg_put(struct ingest_session *ss, struct ingest_msg *m)
{
	if (!m)
		return;
	if (ss->nspare >= INGEST_SPARE_MAX || m->cap > INGEST_SPARE_BYTES) {
		ingest_msg_free(m);
		return;
	}
	report_cleanup(&m->r);
	free(m->it.errs);
	m->it.errs = NULL;
	free(m->it.receipt);
	m->it.receipt = NULL;
	if (m->topic != m->topic_buf)
		free(m->topic);
	m->topic = NULL;
	m->next = ss->spare;
	ss->spare = m;
	ss->nspare++;
}

/* A message with room for len payload bytes: a spare one, or new. */
static struct ingest_msg *ingest_msg_get(struct ingest_session *ss, size_t len)
{
	struct ingest_msg *m = ss->spare;
	if (m) {
		ss->spare = m->next;
		ss->nspare--;
		m->next = NULL;
	} else if (!(m = calloc(1, sizeof(*m)))) {
		return NULL;
	}
	if (len > m->cap) {
		void *p = realloc(m->payload, len);
		if (!p) {
			ingest_msg_free(m);
			return NULL;
		}
		m->payload = p;
		m->cap = len;
	}
	return m;
}

/* Validates and keeps one message for the session's next commit. Runs
 * inside mosquitto_loop_read; must not block. */
static void ingest_on_message(struct mosquitto *mosq, void *obj,
			      const struct mosquitto_message *msg, const mosquitto_property *props)
{
	struct ingest_session *ss = obj;
	struct service *svc = ss->in->svc;
	struct report_errors *errs = NULL;
	size_t len = msg->payload && msg->payloadlen > 0 ? (size_t)msg->payloadlen : 0;
	struct ingest_msg *m = NULL;

	ss->events++;
	if (atomic_load(&ss->stopping)) {
		/* Its PUBACK is queued already: it must never be written. */
		ss->tainted = true;
		return;
	}
	size_t topiclen = strlen(msg->topic);
	if (!(m = ingest_msg_get(ss, len)))
		goto nomem;
	m->topic = topiclen < sizeof(m->topic_buf) ? m->topic_buf : malloc(topiclen + 1);
	if (!m->topic)
		goto nomem;
	memcpy(m->topic, msg->topic, topiclen + 1);
	if (len)
		memcpy(m->payload, msg->payload, len);
	m->len = len;

	int64_t received_ms = time_now_ms();
	const char *station = ingest_topic_station(m->topic);
	struct report_context ctx = {
	    .geo = svc->geo,
	    .topic_station = station,
	    .now_ms = received_ms,
	    .max_age_ms = (int64_t)svc->cfg.stations.max_observed_age_s * 1000,
	};
	ss->scratch.n = 0;
	ss->scratch.truncated = false;
	pthread_rwlock_rdlock(&svc->lock);
	ctx.registry = svc->registry;
	ga_err valid = report_parse(&ctx, m->payload, len, &m->r, &ss->scratch);
	/* Any message on a registered station's topic shows it is alive. */
	if (svc->watchdog && ctx.registry && registry_find(ctx.registry, station))
		watchdog_seen(svc->watchdog, station, received_ms);
	pthread_rwlock_unlock(&svc->lock);
	if (valid == GA_ERR_NOMEM) {
		ss->tainted = true;
		goto fail;
	}
	if (valid != GA_OK) {
		if (!(errs = malloc(sizeof(*errs)))) {
			ss->tainted = true;
			goto fail;
		}
		*errs = ss->scratch;
	}
	int n = snprintf(m->receipt_topic, sizeof(m->receipt_topic), "%s%s", RECEIPT_TOPIC_PREFIX,
			 station);
	if (n < 0 || (size_t)n >= sizeof(m->receipt_topic))
		m->receipt_topic[0] = '\0'; /* cannot be answered; still stored */
	if (ss->nbatch == ss->capbatch && !ingest_batch_grow(ss)) {
		log_warnx("mqtt %s: more than %d reports in one read: refused", ss->client_id,
			  INGEST_BATCH_HARD);
		ss->tainted = true;
		goto fail;
	}
	m->it = (struct writer_item){
	    .topic = m->topic,
	    .receipt_topic = m->receipt_topic,
	    .report_id = m->r.report_id,
	    .raw = m->payload,
	    .rawlen = len,
	    .received_ms = received_ms,
	    .report = valid == GA_OK ? &m->r : NULL,
	    .errs = errs,
	};
	ss->batch[ss->nbatch++] = m;
	ss->batch_bytes += len;
	return;
fail:
	free(errs);
	ingest_msg_put(ss, m);
	return;
nomem:
	log_warnx("ingest: out of memory: report refused");
	ss->tainted = true;
	ingest_msg_put(ss, m);
}

/* Counts one outcome; a rejection also by each error code. */
static void ingest_count(struct service *svc, const struct writer_item *it)
{
	static const char *const names[] = {"accepted", "duplicate", "rejected"};
	metrics_count(&svc->metrics.reports, names[it->status], 1);
	if (it->status == WRITER_REJECTED && it->errs)
		for (int k = 0; k < it->errs->n; k++)
			metrics_count(&svc->metrics.rejections, it->errs->e[k].code, 1);
}

/* Commits the batch, then queues the receipts (and so lets the PUBACKs
 * go). On failure the socket is shut down first: no PUBACK of the batch
 * can leave, and the broker redelivers all of it. */
static void ingest_commit_batch(struct ingest_session *ss)
{
	struct service *svc = ss->in->svc;
	struct writer_item **items = ss->items;
	int n = ss->nbatch;

	for (int i = 0; i < n; i++)
		items[i] = &ss->batch[i]->it;
	ss->ncommits++;
	ss->nreports += (uint64_t)n;
	if (n > ss->max_batch)
		ss->max_batch = n;
	ga_err stored = n ? writer_submit_many(svc->writer, items, n) : GA_OK;
	if (stored != GA_OK || ss->tainted) {
		ingest_refuse(ss);
		atomic_fetch_add(&svc->stats.refused, n);
		metrics_count(&svc->metrics.reports, "refused", (uint64_t)n);
	} else {
		int64_t now = time_now_ms();
		for (int i = 0; i < n; i++) {
			struct writer_item *it = items[i];
			/* Committed: the receipt may go (on its own connection,
			 * which need not wait for this session's loop_write). */
			if (it->receipt && it->receipt_topic[0])
				outbox_send(ss->in->outbox, it->receipt_topic, it->receipt,
					    it->outbox_id);
			metrics_observe_ms(&svc->metrics.report_receipt, NULL,
					   (double)(now - it->received_ms));
			ingest_count(svc, it);
			switch (it->status) {
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
		}
		outbox_flush(ss->in->outbox);
	}
	for (int i = 0; i < n; i++)
		ingest_msg_put(ss, ss->batch[i]);
	ss->nbatch = 0;
	ss->batch_bytes = 0;
}

static void ingest_on_connect(struct mosquitto *mosq, void *obj, int rc, int flags,
			      const mosquitto_property *props)
{
	struct ingest_session *ss = obj;
	ss->events++;
	if (rc != 0) {
		log_warnx("mqtt %s: connection refused: %s", ss->client_id,
			  mosquitto_reason_string(rc));
		return;
	}
	ss->connected = true;
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
	ss->connected = false;
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

static void ingest_session_drain(struct ingest_session *ss);

/* Writes what libmosquitto has queued (PUBACKs, receipts) with the socket
 * corked: one PUBACK or receipt per write(2) would otherwise be one TCP
 * segment each, and each segment a wake-up of the broker. */
static void ingest_write(struct ingest_session *ss)
{
	int fd = mosquitto_socket(ss->mosq);
	int on = 1, off = 0;

	if (fd < 0 || !mosquitto_want_write(ss->mosq))
		return;
	setsockopt(fd, IPPROTO_TCP, TCP_CORK, &on, sizeof(on));
	mosquitto_loop_write(ss->mosq, 1);
	/* The socket may have been closed by a failed write. */
	if ((fd = mosquitto_socket(ss->mosq)) >= 0)
		setsockopt(fd, IPPROTO_TCP, TCP_CORK, &off, sizeof(off));
}

/* Is there more to read right now? */
static bool ingest_readable(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	return poll(&p, 1, 0) > 0 && (p.revents & (POLLIN | POLLHUP | POLLERR));
}

/* Reads what the broker has sent, up to a batch: every report arriving
 * goes into ss->batch. A read that ran a callback is followed by another
 * without polling, so data buffered inside TLS is not left waiting. */
static int ingest_read_burst(struct ingest_session *ss)
{
	int fd, rc = MOSQ_ERR_SUCCESS;
	while (ss->nbatch < INGEST_BATCH_MAX && ss->batch_bytes < INGEST_BATCH_BYTES &&
	       (fd = mosquitto_socket(ss->mosq)) >= 0) {
		unsigned before = ss->events;
		rc = mosquitto_loop_read(ss->mosq, 1);
		if (rc != MOSQ_ERR_SUCCESS)
			break;
		if (ss->events == before && !ingest_readable(fd))
			break;
	}
	return rc;
}

/* The session's own loop, driving libmosquitto through loop_read,
 * loop_write and loop_misc (threaded_set: nothing is written except by
 * loop_write). The rule that makes the acknowledgement safe: loop_write is
 * called only when every report read so far is committed. */
static void *ingest_session_main(void *arg)
{
	struct ingest_session *ss = arg;
	int backoff = INGEST_BACKOFF_MIN_MS;

	while (!atomic_load(&ss->stopping)) {
		int fd = mosquitto_socket(ss->mosq);
		if (fd < 0) {
			ingest_sleep_ms(ss, backoff);
			if (atomic_load(&ss->stopping))
				break;
			int rc = mosquitto_reconnect(ss->mosq);
			if (rc != MOSQ_ERR_SUCCESS) {
				log_warnx(
				    "mqtt %s: reconnect: %s; retrying in %d ms", ss->client_id,
				    rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc),
				    backoff);
				backoff = backoff * 2 > INGEST_BACKOFF_MAX_MS
					      ? INGEST_BACKOFF_MAX_MS
					      : backoff * 2;
			}
			continue;
		}
		if (ss->connected)
			backoff = INGEST_BACKOFF_MIN_MS;

		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (mosquitto_want_write(ss->mosq))
			p.events |= POLLOUT;
		if (poll(&p, 1, INGEST_POLL_MS) < 0 && errno != EINTR)
			log_warn("mqtt %s: poll", ss->client_id);
		if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
			ingest_read_burst(ss);
			if (ss->nbatch || ss->tainted)
				ingest_commit_batch(ss);
		}
		/* Everything read is committed (or refused): PUBACKs and
		 * receipts may leave now. */
		ingest_write(ss);
		if (mosquitto_socket(ss->mosq) >= 0)
			mosquitto_loop_misc(ss->mosq);
	}
	ingest_session_drain(ss);
	return NULL;
}

/* At stop: the last PUBACKs and receipts out, their acknowledgements in,
 * a DISCONNECT (the broker keeps the session). A report arriving now is
 * not taken: the socket is shut before its PUBACK could leave. */
static void ingest_session_drain(struct ingest_session *ss)
{
	int64_t deadline = time_mono_ms() + INGEST_DRAIN_MS;
	while (mosquitto_socket(ss->mosq) >= 0 && time_mono_ms() < deadline) {
		if (ss->tainted) {
			ingest_refuse(ss);
			return;
		}
		ingest_write(ss);
		if (!mosquitto_want_write(ss->mosq))
			break;
		struct pollfd p = {.fd = mosquitto_socket(ss->mosq), .events = POLLIN};
		if (poll(&p, 1, 20) > 0)
			mosquitto_loop_read(ss->mosq, 1);
	}
	if (ss->tainted) {
		ingest_refuse(ss);
		return;
	}
	if (mosquitto_socket(ss->mosq) < 0)
		return;
	mosquitto_disconnect_v5(ss->mosq, 0, NULL);
	for (int i = 0; i < 50 && mosquitto_socket(ss->mosq) >= 0 && mosquitto_want_write(ss->mosq);
	     i++)
		mosquitto_loop_write(ss->mosq, 1);
}

/* Credentials and TLS, the same for every connection. */
static ga_err ingest_client_auth(struct ingest *in, struct mosquitto *mosq, const char *password,
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

static ga_err ingest_session_init(struct ingest *in, struct ingest_session *ss, int index,
				  const char *password, char *err, size_t errlen)
{
	const struct config *cfg = &in->svc->cfg;
	mosquitto_property *props = NULL;
	ga_err result = GA_ERR_MQTT;
	int rc;

	ss->in = in;
	ss->index = index;
	snprintf(ss->client_id, sizeof(ss->client_id), "%s-%d", cfg->mqtt.client_id, index);
	/* clean_session=false: with MQTT 5 this is clean start off. */
	ss->mosq = mosquitto_new(ss->client_id, false, ss);
	if (!ss->mosq) {
		snprintf(err, errlen, "mqtt: cannot create client: %s", strerror(errno));
		result = GA_ERR_NOMEM;
		goto out;
	}
	mosquitto_int_option(ss->mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
	mosquitto_int_option(ss->mosq, MOSQ_OPT_TCP_NODELAY, 1);
	/* We drive the loop ourselves: with threaded_set, libmosquitto only
	 * queues packets and nothing is written but by loop_write (ingest.h). */
	mosquitto_threaded_set(ss->mosq, true);
	/* Ask for a batch's worth of reports in flight (MQTT 5 Receive
	 * Maximum; the broker's max_inflight_messages caps it too). */
	mosquitto_int_option(ss->mosq, MOSQ_OPT_RECEIVE_MAXIMUM, INGEST_BATCH_MAX);
	mosquitto_connect_v5_callback_set(ss->mosq, ingest_on_connect);
	mosquitto_subscribe_v5_callback_set(ss->mosq, ingest_on_subscribe);
	mosquitto_disconnect_v5_callback_set(ss->mosq, ingest_on_disconnect);
	mosquitto_message_v5_callback_set(ss->mosq, ingest_on_message);
	if (ingest_client_auth(in, ss->mosq, password, err, errlen) != GA_OK)
		goto out;
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
	/* Each session finishes the batch it has read (committed and
	 * receipted), drains and disconnects, then its thread ends. */
	for (int i = 0; i < in->n; i++)
		atomic_store(&in->sessions[i].stopping, true);
	for (int i = 0; i < in->n; i++) {
		struct ingest_session *ss = &in->sessions[i];
		if (ss->thread_started)
			pthread_join(ss->thread, NULL);
		if (ss->ncommits)
			log_info("mqtt %s: %llu reports in %llu batches (largest %d)",
				 ss->client_id, (unsigned long long)ss->nreports,
				 (unsigned long long)ss->ncommits, ss->max_batch);
		for (int k = 0; k < ss->nbatch; k++)
			ingest_msg_free(ss->batch[k]);
		while (ss->spare) {
			struct ingest_msg *next = ss->spare->next;
			ingest_msg_free(ss->spare);
			ss->spare = next;
		}
		free(ss->batch);
		free(ss->items);
		mosquitto_destroy(ss->mosq);
	}
	/* After the sessions: the receipts of their last batches. */
	outbox_stop(in->outbox, INGEST_DRAIN_MS);
	ingest_backlog_free(in->backlog);
	free(in->sessions);
	free(in);
}
