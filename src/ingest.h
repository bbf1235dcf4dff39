/* ingest.h - the MQTT side: a pool of persistent MQTT 5 sessions on the
 * shared subscription $share/{group}/geohazard/v1/reports/+, each handled
 * by its own thread, and one more connection that publishes the receipts
 * (outbox.h).
 *
 * Why the acknowledgement is safe: each session runs libmosquitto in
 * threaded mode (mosquitto_threaded_set) and drives it by hand. In that
 * mode the PUBACK libmosquitto queues for a QoS 1 message is written only
 * by mosquitto_loop_write, and a session calls it only when every report
 * it has read is committed. When the commit fails the session's socket is
 * shut down first, so the queued PUBACKs never leave and the broker
 * redelivers the reports. tests/integration/test_ack.py proves both
 * halves against the real broker (docs/architecture.md). */
#ifndef GA_INGEST_H
#define GA_INGEST_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* The service's report counts since start (/healthz, /metrics): the
 * sessions add, anyone reads. */
struct ingest_stats {
	atomic_llong accepted;
	atomic_llong duplicates;
	atomic_llong rejected;
	atomic_llong refused; /* commit failed: not acknowledged, will be redelivered */
};

struct config;
struct service;
struct store;
struct ingest;
struct ingest_plan;

/* Receipts left in the outbox by an earlier run, to be sent again. */
#define INGEST_BACKLOG_MAX 100000
struct ingest_backlog {
	int64_t outbox_id;
	char *broker; /* the broker its report came in on; "": any (older rows) */
	char *topic;
	char *payload;
	struct ingest_backlog *next;
};
void ingest_backlog_free(struct ingest_backlog *b);

/* The persistent sessions this run uses and the ones it retires, from
 * what the store recorded of earlier runs (migration 8): a session
 * another [mqtt] sessions or client_id left at the broker keeps getting
 * a share of the reports, so it is drained and ended; a session whose
 * share_group changed drops its old subscription. Records this run's
 * sessions before they connect. Made before the writer thread owns the
 * store (like the backlog). */
ga_err ingest_plan_make(struct store *s, const struct config *cfg, struct ingest_plan **out,
			char *err, size_t errlen);
void ingest_plan_free(struct ingest_plan *p);

/* Creates the sessions, [mqtt] sessions of them on each broker of [mqtt]
 * url, and starts connecting (retrying with backoff while a broker is
 * away; each broker on its own). Takes ownership of backlog (may be
 * NULL): each broker's first session sends the receipts of that broker
 * once subscribed (a receipt of no known broker goes on each); and of
 * plan (ingest_plan_make). */
ga_err ingest_start(struct service *svc, struct ingest_backlog *backlog, struct ingest_plan *plan,
		    struct ingest **out, char *err, size_t errlen);

/* Number of sessions whose subscription a broker has granted, and of
 * sessions, over every broker of [mqtt] url. */
int ingest_subscribed(struct ingest *in);
int ingest_sessions(struct ingest *in);
/* The same for broker b (0 .. ingest_brokers - 1, [mqtt] url's order),
 * named by its canonical url (config_broker; borrowed). */
int ingest_brokers(struct ingest *in);
const char *ingest_broker_url(struct ingest *in, int b);
int ingest_broker_subscribed(struct ingest *in, int b);
int ingest_broker_sessions(struct ingest *in, int b);

/* Stops taking messages, lets handlers in progress finish (their reports
 * are committed and receipted), disconnects (the broker keeps the
 * sessions: reports sent meanwhile wait there) and frees in. */
void ingest_stop(struct ingest *in);
/* The first step of ingest_stop alone: every session, and a takeover or
 * retirement in progress in another thread (cluster.c), stops taking
 * messages and finishes what it has read. For service_stop, so that
 * joining the cluster's takeover thread does not wait for a whole drain. */
void ingest_stop_begin(struct ingest *in);

/* Takes over the sessions the silent instance dead left at the brokers
 * (spec §10): mosquitto keeps queueing a share of the shared subscription
 * to a disconnected member, and holds what it had in flight. Each of its
 * sessions is connected under its client id at its broker, drained
 * (stored and receipted there like any report), unsubscribed and ended,
 * then forgotten in s; then the receipts waiting in the outbox are
 * published again on their brokers (the dead one's among them). A broker
 * none of this instance's sessions is subscribed at is not waited for,
 * and one that goes down during it is given up after
 * INGEST_RETIRE_CONNECT_MS: those sessions stay, counted as left. Runs
 * in the caller's thread with the caller's store; returns how many of its
 * sessions are left at the brokers (not ended: a stop came, a broker is
 * down, or an error), -1 when they could not be read. A session at a
 * broker not in this instance's [mqtt] url is logged and not counted. */
int ingest_takeover(struct ingest *in, struct store *s, const char *dead);

/* Pause and resume (spec §10: a live instance that loses its lease stops
 * its sessions). The cluster thread gives the sessions a deadline, renewed
 * with every heartbeat it writes; once it passes, each session stops
 * taking messages, commits and acknowledges what it has read (a commit in
 * progress finishes; nothing uncommitted is acknowledged: a message that
 * comes meanwhile shuts the socket before its PUBACK), and disconnects
 * WITHOUT ending the session, so the broker keeps queueing for it and
 * another instance may claim it (ingest_takeover). A paused session never
 * reconnects, and a takeover or retirement in progress stops: so a taker
 * and this instance never both hold a client id. The sessions check the
 * deadline themselves (at least every INGEST_POLL_MS): a cluster thread
 * stuck in a database call does not keep them connected.
 *
 * ingest_lease extends the deadline to until_mono_ms (time_mono_ms) and
 * returns true, unless it has passed already: then it returns false,
 * changes nothing, and only ingest_resume lifts the pause. Before the
 * first call there is no deadline. */
bool ingest_lease(struct ingest *in, int64_t until_mono_ms);
/* Pauses now (as if the deadline had passed). */
void ingest_pause(struct ingest *in);
/* True while paused (the deadline passed and no resume since). */
bool ingest_paused(struct ingest *in);
/* Records the sessions again in s for this instance (a taker forgot them
 * when it ended them), then gives them the deadline until_mono_ms: they
 * connect again and subscribe (a session the taker ended is fresh at the
 * broker). The caller makes sure no taker holds them (cluster.c). On
 * error the instance stays paused. */
ga_err ingest_resume(struct ingest *in, struct store *s, int64_t until_mono_ms);

#endif
