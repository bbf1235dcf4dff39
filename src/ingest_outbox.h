/* ingest_outbox.h - the live half of the receipt outbox: one MQTT connection of
 * its own that publishes committed receipts and, when the broker has
 * acknowledged one, tells the writer to delete it from the outbox table.
 *
 * Why a connection apart from the ingest sessions: a session may write
 * (loop_write) only once every report it has read is committed, since
 * libmosquitto queues a report's PUBACK before the report is handed over
 * (docs/architecture.md). Receipts published there could only leave at
 * those moments and pile up behind the broker's in-flight limit for
 * clients (mosquitto's max_inflight_messages, 20 by default), tens of
 * thousands of them in memory under load. Here a thread of its own
 * writes them and reads their PUBACKs as they come, whatever the sessions
 * are waiting for. */
#ifndef GA_OUTBOX_H
#define GA_OUTBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

struct mosquitto;
struct ingest_writer;
struct ingest_outbox;

/* Takes mosq (created and configured by the caller: credentials, TLS, MQTT
 * 5; not connected) and starts connecting it to host:port with its own
 * loop thread, reconnecting while the broker is away. The broker's
 * acknowledgements go to ingest_writer_receipt_acked(w, ...). */
ga_err ingest_outbox_start(struct mosquitto *mosq, struct ingest_writer *w, const char *host,
			   int port, int keepalive, struct ingest_outbox **out, char *err,
			   size_t errlen);

/* Publishes a committed receipt (QoS 1). Thread-safe, never blocks on the
 * network. A receipt that cannot be queued now stays in the outbox table
 * and is sent again at the next start; outbox_id 0: not from the table. */
void ingest_outbox_send(struct ingest_outbox *o, const char *topic, const char *payload,
			int64_t outbox_id);

/* Wakes the connection's thread to write the receipts sent since the
 * last call: call once after a burst of ingest_outbox_send. */
void ingest_outbox_flush(struct ingest_outbox *o);

/* The connection is up (CONNACK accepted, not lost since). */
bool ingest_outbox_connected(struct ingest_outbox *o);

/* Receipts published and not yet acknowledged by the broker. */
int ingest_outbox_pending(struct ingest_outbox *o);

/* Waits up to drain_ms for the pending receipts, disconnects, stops the
 * loop thread and frees o (and its mosq). NULL is fine. */
void ingest_outbox_stop(struct ingest_outbox *o, int drain_ms);

#endif
