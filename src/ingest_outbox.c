/* ingest_outbox.c - publishes committed receipts on a connection of its own and
 * clears each from the outbox table once the broker has it (outbox.h). */
#include "ingest_outbox.h"

#include <errno.h>
#include <mosquitto.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "ingest_writer.h"
#include "log.h"

#define OUTBOX_MIDS 65536 /* MQTT packet ids are 16 bits */
/* The packet id -> outbox id map is kept in pages made when a packet id
 * in them is first used and freed when none is in flight: ids are given
 * in sequence, so a few pages hold the receipts in flight, where one
 * array of all 65,536 grew to 512 KiB of touched memory. */
#define OUTBOX_PAGE 1024
#define OUTBOX_PAGES (OUTBOX_MIDS / OUTBOX_PAGE)
#define OUTBOX_BACKOFF_MIN_MS 500
#define OUTBOX_BACKOFF_MAX_MS 5000
#define OUTBOX_POLL_MS 1000

struct ingest_outbox {
	struct mosquitto *mosq;
	struct ingest_writer *w;
	int efd; /* eventfd: receipts were queued (ingest_outbox_flush) or stop */
	pthread_t thread;
	bool thread_started;
	atomic_bool quit;
	pthread_mutex_t mu; /* guards what follows */
	/* Outbox id of the receipt sent with each packet id, so that its
	 * PUBACK can clear it; 0: none. */
	int64_t *page[OUTBOX_PAGES];
	int page_used[OUTBOX_PAGES];
	int pending;
	bool connected, stopping;
	char name[CONFIG_BROKER_HOST_MAX + 8]; /* host:port, for the log */
};

/* Records that packet id mid carries outbox row id; false when out of
 * memory (the row stays in the outbox and goes again at the next start).
 * Under o->mu. */
static bool ingest_outbox_map_put(struct ingest_outbox *o, int mid, int64_t id)
{
	int p = mid / OUTBOX_PAGE, i = mid % OUTBOX_PAGE;

	if (mid <= 0 || mid >= OUTBOX_MIDS)
		return false;
	if (o->page[p] == NULL && (o->page[p] = calloc(OUTBOX_PAGE, sizeof(int64_t))) == NULL)
		return false;
	if (o->page[p][i] == 0) {
		o->page_used[p]++;
		o->pending++;
	}
	o->page[p][i] = id;
	return true;
}

/* The outbox row id of packet id mid, forgotten; 0 when none. Under
 * o->mu. */
static int64_t ingest_outbox_map_take(struct ingest_outbox *o, int mid)
{
	int p = mid / OUTBOX_PAGE, i = mid % OUTBOX_PAGE;
	int64_t id;

	if (mid <= 0 || mid >= OUTBOX_MIDS || o->page[p] == NULL || o->page[p][i] == 0)
		return 0;
	id = o->page[p][i];
	o->page[p][i] = 0;
	o->pending--;
	if (--o->page_used[p] == 0) {
		free(o->page[p]);
		o->page[p] = NULL;
	}
	return id;
}

static void ingest_outbox_on_connect(struct mosquitto *mosq, void *obj, int rc)
{
	struct ingest_outbox *o = obj;
	if (rc != 0) {
		log_warnx("mqtt receipts %s: connection refused: %s", o->name,
			  mosquitto_connack_string(rc));
		return;
	}
	pthread_mutex_lock(&o->mu);
	o->connected = true;
	pthread_mutex_unlock(&o->mu);
	log_info("mqtt receipts %s: connected", o->name);
}

static void ingest_outbox_on_disconnect(struct mosquitto *mosq, void *obj, int rc)
{
	struct ingest_outbox *o = obj;
	pthread_mutex_lock(&o->mu);
	bool stopping = o->stopping;
	o->connected = false;
	pthread_mutex_unlock(&o->mu);
	if (!stopping)
		log_warnx("mqtt receipts %s: disconnected (%s); reconnecting", o->name,
			  mosquitto_strerror(rc));
}

/* The broker has the receipt: its outbox row can go. Runs on the loop
 * thread. */
static void ingest_outbox_on_publish(struct mosquitto *mosq, void *obj, int mid, int reason,
				     const mosquitto_property *props)
{
	struct ingest_outbox *o = obj;
	int64_t id = 0;

	pthread_mutex_lock(&o->mu);
	id = ingest_outbox_map_take(o, mid);
	pthread_mutex_unlock(&o->mu);
	/* A refusal (e.g. not authorised) would be refused again: log it and
	 * do not keep it. */
	if (reason >= 0x80)
		log_warnx("mqtt receipts %s: broker refused a receipt: %s", o->name,
			  mosquitto_reason_string(reason));
	if (id > 0)
		ingest_writer_receipt_acked(o->w, id);
}

/* Writes what libmosquitto has queued with the socket corked: a burst of
 * receipts leaves in a few TCP segments instead of one each. */
static void ingest_outbox_write(struct ingest_outbox *o)
{
	int fd = mosquitto_socket(o->mosq);
	int on = 1, off = 0;

	if (fd < 0 || !mosquitto_want_write(o->mosq))
		return;
	setsockopt(fd, IPPROTO_TCP, TCP_CORK, &on, sizeof(on));
	mosquitto_loop_write(o->mosq, 1);
	if ((fd = mosquitto_socket(o->mosq)) >= 0)
		setsockopt(fd, IPPROTO_TCP, TCP_CORK, &off, sizeof(off));
}

static void ingest_outbox_sleep_ms(struct ingest_outbox *o, int ms)
{
	for (int slept = 0; slept < ms && !atomic_load(&o->quit); slept += 100) {
		struct timespec ts = {0, 100 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
}

/* The connection's own loop (threaded_set: libmosquitto writes only in
 * loop_write): wakes for the broker's packets or for receipts queued by
 * the sessions (the eventfd), reads, then writes everything queued. */
static void *ingest_outbox_main(void *arg)
{
	struct ingest_outbox *o = arg;
	int backoff = OUTBOX_BACKOFF_MIN_MS;

	while (!atomic_load(&o->quit)) {
		int fd = mosquitto_socket(o->mosq);
		if (fd < 0) {
			ingest_outbox_sleep_ms(o, backoff);
			if (atomic_load(&o->quit))
				break;
			int rc = mosquitto_reconnect(o->mosq);
			if (rc != MOSQ_ERR_SUCCESS) {
				log_warnx(
				    "mqtt receipts %s: reconnect: %s; retrying in %d ms", o->name,
				    rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc),
				    backoff);
				backoff = backoff * 2 > OUTBOX_BACKOFF_MAX_MS
					      ? OUTBOX_BACKOFF_MAX_MS
					      : backoff * 2;
			}
			continue;
		}
		struct pollfd p[2] = {{.fd = fd, .events = POLLIN},
				      {.fd = o->efd, .events = POLLIN}};
		if (mosquitto_want_write(o->mosq))
			p[0].events |= POLLOUT;
		if (poll(p, 2, OUTBOX_POLL_MS) < 0 && errno != EINTR)
			log_warn("mqtt receipts: poll");
		if (p[1].revents & POLLIN) {
			uint64_t v;
			if (read(o->efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
				log_warn("mqtt receipts: eventfd");
		}
		if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			/* Everything readable now (several packets a call). */
			do {
				if (mosquitto_loop_read(o->mosq, 1) != MOSQ_ERR_SUCCESS)
					break;
				fd = mosquitto_socket(o->mosq);
			} while (fd >= 0 &&
				 poll(&(struct pollfd){.fd = fd, .events = POLLIN}, 1, 0) > 0);
		}
		pthread_mutex_lock(&o->mu);
		if (o->connected)
			backoff = OUTBOX_BACKOFF_MIN_MS;
		pthread_mutex_unlock(&o->mu);
		ingest_outbox_write(o);
		if (mosquitto_socket(o->mosq) >= 0)
			mosquitto_loop_misc(o->mosq);
	}
	return NULL;
}

ga_err ingest_outbox_start(struct mosquitto *mosq, struct ingest_writer *w, const char *host,
			   int port, int keepalive, struct ingest_outbox **out, char *err,
			   size_t errlen)
{
	struct ingest_outbox *o = calloc(1, sizeof(*o));
	int rc;

	if (!o) {
		mosquitto_destroy(mosq);
		snprintf(err, errlen, "mqtt receipts: out of memory");
		return GA_ERR_NOMEM;
	}
	o->mosq = mosq;
	o->w = w;
	snprintf(o->name, sizeof(o->name), "%.*s:%d", CONFIG_BROKER_HOST_MAX - 1, host, port);
	pthread_mutex_init(&o->mu, NULL);
	if ((o->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
		snprintf(err, errlen, "mqtt receipts: eventfd: %s", strerror(errno));
		ingest_outbox_stop(o, 0);
		return GA_ERR_MQTT;
	}
	mosquitto_user_data_set(mosq, o);
	/* We drive the loop (ingest_outbox_main): nothing is written but by it. */
	mosquitto_threaded_set(mosq, true);
	mosquitto_connect_callback_set(mosq, ingest_outbox_on_connect);
	mosquitto_disconnect_callback_set(mosq, ingest_outbox_on_disconnect);
	mosquitto_publish_v5_callback_set(mosq, ingest_outbox_on_publish);
	rc = mosquitto_connect(mosq, host, port, keepalive);
	if (rc != MOSQ_ERR_SUCCESS)
		log_warnx("mqtt receipts %s: cannot connect yet (%s); will retry", o->name,
			  rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc));
	if (pthread_create(&o->thread, NULL, ingest_outbox_main, o) != 0) {
		snprintf(err, errlen, "mqtt receipts: cannot start thread");
		ingest_outbox_stop(o, 0);
		return GA_ERR_MQTT;
	}
	o->thread_started = true;
	*out = o;
	return GA_OK;
}

void ingest_outbox_send(struct ingest_outbox *o, const char *topic, const char *payload,
			int64_t outbox_id)
{
	int mid = 0;

	/* Held across the publish: the PUBACK (on the loop thread) cannot be
	 * handled before its packet id is recorded. */
	pthread_mutex_lock(&o->mu);
	int rc = mosquitto_publish_v5(o->mosq, &mid, topic, (int)strlen(payload), payload, 1, false,
				      NULL);
	if (rc == MOSQ_ERR_SUCCESS && outbox_id > 0)
		ingest_outbox_map_put(o, mid, outbox_id);
	pthread_mutex_unlock(&o->mu);
	if (rc != MOSQ_ERR_SUCCESS)
		/* Stays in the outbox: sent again at the next start. */
		log_warnx("mqtt receipts %s: receipt to %s not sent now: %s", o->name, topic,
			  mosquitto_strerror(rc));
}

void ingest_outbox_flush(struct ingest_outbox *o)
{
	uint64_t one = 1;
	if (write(o->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_warn("mqtt receipts: eventfd");
}

bool ingest_outbox_connected(struct ingest_outbox *o)
{
	pthread_mutex_lock(&o->mu);
	bool up = o->connected;
	pthread_mutex_unlock(&o->mu);
	return up;
}

int ingest_outbox_pending(struct ingest_outbox *o)
{
	pthread_mutex_lock(&o->mu);
	int n = o->pending;
	pthread_mutex_unlock(&o->mu);
	return n;
}

void ingest_outbox_stop(struct ingest_outbox *o, int drain_ms)
{
	if (!o)
		return;
	for (int waited = 0; o->thread_started && waited < drain_ms; waited += 10) {
		pthread_mutex_lock(&o->mu);
		bool done = o->pending == 0 || !o->connected;
		pthread_mutex_unlock(&o->mu);
		if (done)
			break;
		struct timespec ts = {0, 10 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	pthread_mutex_lock(&o->mu);
	o->stopping = true;
	if (o->pending > 0)
		log_info("mqtt receipts %s: %d receipts not acknowledged yet: sent again at the "
			 "next start",
			 o->name, o->pending);
	pthread_mutex_unlock(&o->mu);
	atomic_store(&o->quit, true);
	if (o->thread_started) {
		ingest_outbox_flush(o);
		pthread_join(o->thread, NULL);
	}
	/* The loop has stopped: a clean DISCONNECT, written here. */
	if (mosquitto_socket(o->mosq) >= 0) {
		mosquitto_disconnect(o->mosq);
		for (int i = 0;
		     i < 50 && mosquitto_socket(o->mosq) >= 0 && mosquitto_want_write(o->mosq); i++)
			mosquitto_loop_write(o->mosq, 1);
	}
	mosquitto_destroy(o->mosq);
	if (o->efd >= 0)
		close(o->efd);
	pthread_mutex_destroy(&o->mu);
	for (int p = 0; p < OUTBOX_PAGES; p++)
		free(o->page[p]);
	free(o);
}
