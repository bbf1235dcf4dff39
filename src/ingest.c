/* ingest.c - a session's loop: reports read, validated, handed to the
 * writer in batches, acknowledged after their commit, receipted
 * (ingest_connect.c makes the connections). */
#include "ingest.h"

#include <errno.h>
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ingest_device.h"
#include "ingest_internal.h"
#include "ingest_outbox.h"
#include "ingest_receipt.h"
#include "ingest_writer.h"
#include "log.h"
#include "report.h"
#include "riskwarning_ingest.h"
#include "service.h"
#include "timeutil.h"
#include "watchdog.h"

void ingest_backlog_free(struct ingest_backlog *b)
{
	while (b) {
		struct ingest_backlog *next = b->next;
		free(b->broker);
		free(b->topic);
		free(b->payload);
		free(b);
		b = next;
	}
}

/* The session is to stop: it was told, or the whole ingest is stopping
 * (how a retiring session, ingest_connect.c, hears it), or, for a retiring
 * one, the ingest is paused (ingest_lease: it must let go of the client
 * id it holds). */
static bool ingest_stopping(const struct ingest_session *ss)
{
	return atomic_load(&ss->stopping) || atomic_load(&ss->in->stopping) ||
	       (ss->retiring && ingest_paused(ss->in));
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

/* Session 0 of a broker, once subscribed: receipts an earlier run could
 * not send on that broker. */
static void ingest_send_backlog(struct ingest_session *ss)
{
	struct ingest_broker *br = ss->br;
	int n = 0;
	for (struct ingest_backlog *b = br->backlog; b; b = b->next, n++)
		ingest_outbox_send(br->outbox, b->topic, b->payload, b->outbox_id);
	ingest_outbox_flush(br->outbox);
	if (n)
		log_info("mqtt %s: sent %d receipts left over from the last run to %s",
			 ss->client_id, n, br->cfg->url);
	ingest_backlog_free(br->backlog);
	br->backlog = NULL;
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
	struct ingest_writer_item **it = realloc(ss->items, (size_t)cap * sizeof(*it));
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
	riskwarning_cleanup(m->rw);
	free(m->rw);
	ingest_device_frame_cleanup(m->dev);
	free(m->dev);
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
	riskwarning_cleanup(m->rw);
	ingest_device_frame_cleanup(m->dev);
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
	if (ss->retiring)
		ss->retire_quiet = time_mono_ms();
	if (ingest_stopping(ss) || ingest_paused(ss->in)) {
		/* Its PUBACK is queued already: it must never be written. */
		ss->tainted = true;
		return;
	}
	/* libmosquitto hands the whole message in (its size is the broker's
	 * to bound: message_size_limit / max_packet_size, docs/security.md);
	 * only its first STORE_REJECTED_RAW_MAX bytes are copied and kept. */
	size_t keep = len < STORE_REJECTED_RAW_MAX ? len : STORE_REJECTED_RAW_MAX;
	size_t topiclen = strlen(msg->topic);
	if (!(m = ingest_msg_get(ss, keep)))
		goto nomem;
	m->topic = topiclen < sizeof(m->topic_buf) ? m->topic_buf : malloc(topiclen + 1);
	if (!m->topic)
		goto nomem;
	memcpy(m->topic, msg->topic, topiclen + 1);
	if (keep)
		memcpy(m->payload, msg->payload, keep);
	m->len = keep;

	int64_t received_ms = time_now_ms();
	const char *issuer = riskwarning_flow_topic_issuer(m->topic);
	const char *station = issuer ? issuer : ingest_topic_station(m->topic);
	ga_err valid;
	const char *dp_device = NULL;
	bool device = svc->cfg.devices.file[0] && ingest_device_topic(m->topic, &dp_device);
	ss->scratch.n = 0;
	ss->scratch.truncated = false;
	if (device) {
		/* A monitoring device's data frame (issue 13): stored in the
		 * same commit, no receipt. */
		if (!m->dev && !(m->dev = calloc(1, sizeof(*m->dev))))
			goto nomem;
		if (ingest_device_parse(svc, dp_device, msg->payload, len, received_ms, m->dev) !=
		    GA_OK)
			goto nomem;
		valid = GA_OK;
		m->receipt_topic[0] = '\0';
		goto queue;
	}
	if (issuer) {
		/* A risk warning product (issue 14): stored and receipted like a
		 * report, by product_id. */
		if (!m->rw && !(m->rw = calloc(1, sizeof(*m->rw))))
			goto nomem;
		valid = riskwarning_ingest_parse(svc, issuer, msg->payload, len, received_ms, m->rw,
						 &ss->scratch);
		goto parsed;
	}
	struct report_context ctx = {
	    .geo = svc->geo,
	    .topic_station = station,
	    .now_ms = received_ms,
	    .max_age_ms = (int64_t)svc->cfg.stations.max_observed_age_s * 1000,
	    .stations_required = true,
	};
	pthread_rwlock_rdlock(&svc->lock);
	ctx.registry = svc->registry;
	/* the whole payload: one past the cap is rejected unread */
	valid = report_parse(&ctx, msg->payload, len, &m->r, &ss->scratch);
	/* Any message on a registered station's topic shows it is alive. */
	if (svc->watchdog && ctx.registry && registry_find(ctx.registry, station))
		watchdog_seen(svc->watchdog, station, received_ms);
	pthread_rwlock_unlock(&svc->lock);
parsed:
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
		crypto_hash_sha256(m->sha256, len ? msg->payload : (const void *)"", len);
	}
	int n = snprintf(m->receipt_topic, sizeof(m->receipt_topic), "%s%s", RECEIPT_TOPIC_PREFIX,
			 station);
	if (n < 0 || (size_t)n >= sizeof(m->receipt_topic))
		m->receipt_topic[0] = '\0'; /* cannot be answered; still stored */
queue:
	if (ss->nbatch == ss->capbatch && !ingest_batch_grow(ss)) {
		log_warnx("mqtt %s: more than %d reports in one read: refused", ss->client_id,
			  INGEST_BATCH_HARD);
		ss->tainted = true;
		goto fail;
	}
	m->it = (struct ingest_writer_item){
	    .topic = m->topic,
	    .receipt_topic = m->receipt_topic,
	    .broker = ss->br->cfg->url,
	    .report_id = issuer ? m->rw->product_id : m->r.report_id,
	    .raw = m->payload,
	    .rawlen = keep,
	    .raw_total = len,
	    .raw_sha256 = valid != GA_OK ? m->sha256 : NULL,
	    .received_ms = received_ms,
	    .report = valid == GA_OK && !issuer && !device ? &m->r : NULL,
	    .riskwarning = valid == GA_OK && issuer ? m->rw : NULL,
	    .errs = errs,
	    .device = device ? m->dev : NULL,
	};
	ss->batch[ss->nbatch++] = m;
	ss->batch_bytes += keep;
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
static void ingest_count(struct service *svc, const struct ingest_writer_item *it)
{
	static const char *const names[] = {"accepted", "duplicate", "rejected"};
	/* A risk warning product is not a report: its own counter. */
	if (riskwarning_flow_topic_issuer(it->topic) != NULL) {
		metrics_count(&svc->metrics.riskwarnings, names[it->status], 1);
		return;
	}
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
	struct ingest_writer_item **items = ss->items;
	int n = ss->nbatch;

	for (int i = 0; i < n; i++)
		items[i] = &ss->batch[i]->it;
	ss->ncommits++;
	ss->nreports += (uint64_t)n;
	if (n > ss->max_batch)
		ss->max_batch = n;
	ga_err stored = n ? ingest_writer_submit_many(svc->writer, items, n) : GA_OK;
	if (stored != GA_OK || ss->tainted) {
		ingest_refuse(ss);
		atomic_fetch_add(&svc->stats.refused, n);
		for (int i = 0; i < n; i++)
			metrics_count(riskwarning_flow_topic_issuer(items[i]->topic) != NULL
					  ? &svc->metrics.riskwarnings
					  : &svc->metrics.reports,
				      "refused", 1);
	} else {
		int64_t now = time_now_ms();
		if (n > 0)
			log_repeat_over(&ss->in->reconnects,
					"mqtt: sessions connected and committing again");
		for (int i = 0; i < n; i++) {
			struct ingest_writer_item *it = items[i];
			if (it->device) {
				ingest_device_count(svc, it->device);
				continue;
			}
			/* Committed: the receipt may go (on its own connection,
			 * which need not wait for this session's loop_write). */
			if (it->receipt && it->receipt_topic[0])
				ingest_outbox_send(ss->br->outbox, it->receipt_topic, it->receipt,
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
		ingest_outbox_flush(ss->br->outbox);
	}
	for (int i = 0; i < n; i++)
		ingest_msg_put(ss, ss->batch[i]);
	ss->nbatch = 0;
	ss->batch_bytes = 0;
}

static void ingest_unsubscribe(struct ingest_session *ss, const char *topic)
{
	int u = mosquitto_unsubscribe_v5(ss->mosq, NULL, topic, NULL);
	if (u != MOSQ_ERR_SUCCESS)
		log_warnx("mqtt %s: unsubscribe %s: %s", ss->client_id, topic,
			  mosquitto_strerror(u));
}

/* UNSUBACK: only an earlier run's filter is ever unsubscribed. */
static void ingest_on_unsubscribe(struct mosquitto *mosq, void *obj, int mid,
				  const mosquitto_property *props)
{
	struct ingest_session *ss = obj;
	ss->events++;
	log_info("mqtt %s: an earlier run's filter dropped", ss->client_id);
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
	if (ss->retiring) {
		ss->retire_reached = true;
		/* Stop the broker routing new reports here, take what it
		 * queued (ingest_connect.c); a session it did not have is
		 * ended at once. */
		ss->retire_quiet = time_mono_ms();
		if (!(flags & 1)) {
			ss->retire_done = true;
			return;
		}
		ss->retire_found = true;
		log_info("mqtt %s: a session an earlier run left: taking what it holds, then "
			 "ending it",
			 ss->client_id);
		if (ss->retire_topic[0])
			ingest_unsubscribe(ss, ss->retire_topic);
		return;
	}
	/* While sessions keep dropping (ingest_commit_batch), said at the
	 * first commit that goes through instead. */
	if (!log_repeat_failing(&ss->in->reconnects))
		log_info("mqtt %s: connected to %s (session %s)", ss->client_id, ss->br->cfg->url,
			 (flags & 1) ? "resumed" : "new");
	/* Subscribe every time: harmless when the session kept it, needed
	 * when the broker lost it. */
	int s = mosquitto_subscribe_v5(mosq, NULL, ss->in->topic, 1, 0, NULL);
	if (s != MOSQ_ERR_SUCCESS)
		log_warnx("mqtt %s: subscribe: %s", ss->client_id, mosquitto_strerror(s));
	riskwarning_ingest_subscribe(mosq, ss->in->svc, ss->client_id);
	ingest_device_subscribe(mosq, ss->in->svc, ss->index, ss->client_id);
	/* Another share_group before: the session still has that filter
	 * (each report would come twice). */
	if (ss->old_topic[0])
		ingest_unsubscribe(ss, ss->old_topic);
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
	if (ss->index == 0 && ss->br->backlog)
		ingest_send_backlog(ss);
}

static void ingest_on_disconnect(struct mosquitto *mosq, void *obj, int rc,
				 const mosquitto_property *props)
{
	struct ingest_session *ss = obj;
	atomic_store(&ss->subscribed, false);
	ss->connected = false;
	if (!ingest_stopping(ss) && !ingest_paused(ss->in))
		log_warnx_repeat(&ss->in->reconnects,
				 "mqtt %s: disconnected from %s (%s); reconnecting", ss->client_id,
				 ss->br->cfg->url, mosquitto_reason_string(rc));
}

static void ingest_sleep_ms(struct ingest_session *ss, int ms)
{
	/* Sleep in short steps so stop is not held up by the backoff. */
	for (int slept = 0; slept < ms && !ingest_stopping(ss); slept += 100) {
		struct timespec ts = {0, 100 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
}

static void ingest_session_drain(struct ingest_session *ss);
static void ingest_session_hold(struct ingest_session *ss);

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
/* A retiring session's pass is over: the broker had nothing for it, or
 * has given it nothing for INGEST_RETIRE_QUIET_MS (INGEST_RETIRE_PASS_QUIET_MS
 * once the pass has taken reports) and everything taken is acknowledged. */
static bool ingest_retire_over(struct ingest_session *ss)
{
	if (!ss->connected || ss->nbatch > 0 || mosquitto_want_write(ss->mosq))
		return false;
	int64_t quiet = ss->nreports > 0 ? INGEST_RETIRE_PASS_QUIET_MS : INGEST_RETIRE_QUIET_MS;
	if (!ss->retire_done && time_mono_ms() - ss->retire_quiet < quiet)
		return false;
	ss->retire_done = true;
	return true;
}

void *ingest_session_main(void *arg)
{
	struct ingest_session *ss = arg;
	int backoff = INGEST_BACKOFF_MIN_MS;

	while (!ingest_stopping(ss)) {
		if (!ss->retiring && ingest_paused(ss->in)) {
			/* Everything read is committed (the loop commits before
			 * it comes back here): let go of the session. */
			ingest_session_hold(ss);
			backoff = INGEST_BACKOFF_MIN_MS;
			continue;
		}
		int fd = mosquitto_socket(ss->mosq);
		if (fd < 0) {
			/* A retirement or takeover does not wait for a broker that
			 * stays down: its row stays, tried again later. */
			if (ss->retiring &&
			    time_mono_ms() - ss->retire_quiet >= INGEST_RETIRE_CONNECT_MS) {
				log_warnx("mqtt %s: %s unreachable for %d s: left for later",
					  ss->client_id, ss->br->cfg->url,
					  INGEST_RETIRE_CONNECT_MS / 1000);
				break;
			}
			ingest_sleep_ms(ss, backoff);
			if (ingest_stopping(ss))
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
		if (ss->retiring && ingest_retire_over(ss))
			break;
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
	if (!ss->connected && ingest_paused(ss->in)) {
		/* Paused before its CONNACK: the queued CONNECT must not go
		 * (it would take the client id from its other holder). */
		ingest_refuse(ss);
		return;
	}
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
	/* A retired session ends with its connection: the broker forgets it
	 * (and routes it nothing more). */
	mosquitto_property *props = NULL;
	if (ss->retiring && ss->retire_done && ss->nreports == 0)
		mosquitto_property_add_int32(&props, MQTT_PROP_SESSION_EXPIRY_INTERVAL, 0);
	mosquitto_disconnect_v5(ss->mosq, 0, props);
	mosquitto_property_free_all(&props);
	for (int i = 0; i < 50 && mosquitto_socket(ss->mosq) >= 0 && mosquitto_want_write(ss->mosq);
	     i++)
		mosquitto_loop_write(ss->mosq, 1);
}

/* Paused (ingest_lease): the last PUBACKs and a DISCONNECT that keeps the
 * session at the broker (ingest_session_drain), then no connection until
 * the resume. A session not connected yet (CONNECT queued, no CONNACK) is
 * closed without writing, so it never takes its client id from another
 * holder. */
static void ingest_session_hold(struct ingest_session *ss)
{
	if (mosquitto_socket(ss->mosq) >= 0) {
		bool was = ss->connected;
		if (was)
			ingest_session_drain(ss);
		if (mosquitto_socket(ss->mosq) >= 0) {
			/* Not connected, or the DISCONNECT did not go: the
			 * socket shut, the read that sees it closes it. */
			ingest_refuse(ss);
			mosquitto_loop_read(ss->mosq, 1);
		}
		ss->connected = false;
		atomic_store(&ss->subscribed, false);
		if (was)
			log_info("mqtt %s: paused: disconnected, the session kept at the broker",
				 ss->client_id);
	}
	ingest_sleep_ms(ss, INGEST_POLL_MS / 5);
}

ga_err ingest_session_init(struct ingest_broker *br, struct ingest_session *ss, int index,
			   const struct ingest_retiree *retiree, const char *password, char *err,
			   size_t errlen)
{
	struct ingest *in = br->in;
	const struct config *cfg = &in->svc->cfg;
	mosquitto_property *props = NULL;
	ga_err result = GA_ERR_MQTT;
	int rc;

	ss->in = in;
	ss->br = br;
	ss->index = index;
	ss->retiring = retiree != NULL;
	if (retiree) {
		ss->retire_quiet = time_mono_ms(); /* for INGEST_RETIRE_CONNECT_MS */
		snprintf(ss->client_id, sizeof(ss->client_id), "%s", retiree->client_id);
		snprintf(ss->retire_topic, sizeof(ss->retire_topic), "%s", retiree->topic);
	} else {
		snprintf(ss->client_id, sizeof(ss->client_id), "%s-%d", cfg->mqtt.client_id, index);
		if (in->plan && index < in->plan->nsessions && br->index < in->plan->nbrokers)
			snprintf(ss->old_topic, sizeof(ss->old_topic), "%s",
				 in->plan->old_topic[br->index * in->plan->nsessions + index]);
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
	/* We drive the loop ourselves: with threaded_set, libmosquitto only
	 * queues packets and nothing is written but by loop_write (ingest.h). */
	mosquitto_threaded_set(ss->mosq, true);
	/* Ask for a batch's worth of reports in flight (MQTT 5 Receive
	 * Maximum; the broker's max_inflight_messages caps it too). */
	mosquitto_int_option(ss->mosq, MOSQ_OPT_RECEIVE_MAXIMUM, INGEST_BATCH_MAX);
	mosquitto_connect_v5_callback_set(ss->mosq, ingest_on_connect);
	mosquitto_subscribe_v5_callback_set(ss->mosq, ingest_on_subscribe);
	mosquitto_unsubscribe_v5_callback_set(ss->mosq, ingest_on_unsubscribe);
	mosquitto_disconnect_v5_callback_set(ss->mosq, ingest_on_disconnect);
	mosquitto_message_v5_callback_set(ss->mosq, ingest_on_message);
	if (ingest_client_auth(br, ss->mosq, password, err, errlen) != GA_OK)
		goto out;
	/* The broker keeps the session (subscription and queued reports) this
	 * long while we are away. */
	rc = mosquitto_property_add_int32(&props, MQTT_PROP_SESSION_EXPIRY_INTERVAL,
					  (uint32_t)cfg->mqtt.session_expiry);
	if (rc != MOSQ_ERR_SUCCESS) {
		snprintf(err, errlen, "mqtt: %s", mosquitto_strerror(rc));
		goto out;
	}
	rc = mosquitto_connect_bind_v5(ss->mosq, br->cfg->host, br->cfg->port, cfg->mqtt.keepalive,
				       NULL, props);
	if (rc != MOSQ_ERR_SUCCESS)
		log_warnx("mqtt %s: cannot connect to %s yet (%s); will retry", ss->client_id,
			  br->cfg->url,
			  rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc));
	result = GA_OK;
out:
	mosquitto_property_free_all(&props);
	return result;
}

void ingest_session_free(struct ingest_session *ss)
{
	if (ss->ncommits)
		log_info("mqtt %s: %llu reports in %llu batches (largest %d)", ss->client_id,
			 (unsigned long long)ss->nreports, (unsigned long long)ss->ncommits,
			 ss->max_batch);
	for (int k = 0; k < ss->nbatch; k++)
		ingest_msg_free(ss->batch[k]);
	while (ss->spare) {
		struct ingest_msg *next = ss->spare->next;
		ingest_msg_free(ss->spare);
		ss->spare = next;
	}
	free(ss->batch);
	free(ss->items);
	ss->batch = NULL;
	ss->items = NULL;
	ss->nbatch = 0;
	if (ss->mosq != NULL)
		mosquitto_destroy(ss->mosq);
	ss->mosq = NULL;
}

/* hold_until: 0 no deadline; else the monotonic ms past which the
 * sessions pause (INT64_MIN: paused now). */
bool ingest_paused(struct ingest *in)
{
	int64_t until = atomic_load(&in->hold_until);
	return until != 0 && time_mono_ms() >= until;
}

bool ingest_lease(struct ingest *in, int64_t until_mono_ms)
{
	long long cur = atomic_load(&in->hold_until);

	/* Only while not paused: a pause is lifted by ingest_resume alone. */
	while (cur == 0 || time_mono_ms() < cur)
		if (atomic_compare_exchange_weak(&in->hold_until, &cur, until_mono_ms))
			return true;
	return false;
}

void ingest_pause(struct ingest *in)
{
	atomic_store(&in->hold_until, INT64_MIN);
}

ga_err ingest_resume(struct ingest *in, struct store *s, int64_t until_mono_ms)
{
	const struct config *cfg = &in->svc->cfg;
	/* As ingest_plan_make records them (ingest_connect.c). */
	const char *instance = cfg->store.url[0] ? cfg->cluster.instance : "";
	ga_err e;

	if ((e = store_begin(s)) != GA_OK)
		return e;
	int n = 0;
	for (int b = 0; b < in->nbrokers && e == GA_OK; b++)
		for (int i = 0; i < in->brokers[b].n && e == GA_OK; i++, n++)
			e = store_mqtt_session_put(s, instance, in->brokers[b].cfg->url,
						   in->brokers[b].sessions[i].client_id, in->topic);
	if (e != GA_OK || (e = store_commit(s)) != GA_OK) {
		store_rollback(s);
		return e;
	}
	atomic_store(&in->hold_until, until_mono_ms);
	log_info("mqtt: %d sessions resumed: connecting again", n);
	return GA_OK;
}
