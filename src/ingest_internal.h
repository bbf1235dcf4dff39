/* ingest_internal.h - private to ingest.c (messages, batches, a
 * session's loop) and ingest_connect.c (connections, start, stop, and
 * the sessions a smaller [mqtt] sessions leaves behind). */
#ifndef GA_INGEST_INTERNAL_H
#define GA_INGEST_INTERNAL_H

#include <mosquitto.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "ingest.h"
#include "ingest_writer.h"
#include "log.h"
#include "report.h"
#include "store.h"

#define INGEST_TOPIC_MAX 256
#define INGEST_BACKOFF_MIN_MS 500
#define INGEST_BACKOFF_MAX_MS 30000
#define INGEST_DRAIN_MS 1000 /* at stop, wait this long for receipt PUBACKs */
/* Sessions the store may name for retiring at one start (the rest wait
 * for the next). */
#define INGEST_RETIRE_MAX 256
/* A retiring session ends once nothing came for this long after its
 * CONNACK or its last report (the broker sends what it queued at once). */
#define INGEST_RETIRE_QUIET_MS 2000
/* A pass that has taken reports ends sooner: another pass follows it
 * anyway, and only a pass that took nothing for INGEST_RETIRE_QUIET_MS
 * ends the session (mosquitto 2.0.11 stops a resumed session's queue
 * after 128 messages, so a long queue takes many passes). */
#define INGEST_RETIRE_PASS_QUIET_MS 300
/* Between passes: the broker handles the DISCONNECT before the next
 * CONNECT of the same client id (else it closes "the old connection"). */
#define INGEST_RETIRE_PASS_GAP_MS 100
/* A retiring session is connected again while a pass took something, at
 * most this many times per retirement (ingest_connect.c). */
#define INGEST_RETIRE_PASSES 256
/* A retiring session that has had no connection for this long gives up
 * (its broker is down): its row stays and it is tried again later, so a
 * broker that stays down holds up neither start-up nor a takeover. */
#define INGEST_RETIRE_CONNECT_MS 10000
/* At start, the retirement of a session waits this long for its broker
 * to take this run's own sessions (it is up), then leaves it for the
 * next start. */
#define INGEST_RETIRE_WAIT_MS 15000
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
	struct ingest_broker *br; /* the broker it is on */
	struct mosquitto *mosq;
	int index;
	char client_id[STORE_CLIENT_ID_MAX];
	pthread_t thread;
	bool thread_started;
	atomic_bool stopping;
	atomic_bool subscribed;
	/* Reports read but not yet committed. While it is non-empty the
	 * session never calls mosquitto_loop_write: their PUBACKs wait in
	 * libmosquitto's queue. */
	struct ingest_msg **batch;
	struct ingest_writer_item **items; /* same size as batch: handed to the writer */
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
	/* A filter an earlier run subscribed this session to (another
	 * share_group): unsubscribed at every connect. */
	char old_topic[INGEST_TOPIC_MAX];
	/* A session an earlier run left (ingest_connect.c): it takes what the
	 * broker queued for it, then ends the session. */
	bool retiring;
	char retire_topic[INGEST_TOPIC_MAX]; /* what it subscribed to */
	bool retire_reached;		     /* a CONNACK came: the broker was up */
	bool retire_found;		     /* the broker had the session (CONNACK) */
	bool retire_done;		     /* nothing (more) to take: end it */
	int64_t retire_quiet;		     /* monotonic: the last report or the CONNACK */
};

/* A report between its arrival and its commit: the message is copied,
 * since libmosquitto frees its own when on_message returns. */
struct ingest_msg {
	struct ingest_writer_item it;
	struct report r;
	struct riskwarning *rw;		 /* a risk warning's (issue 14): made on the first, kept */
	struct ingest_device_frame *dev; /* a device frame's (issue 13): made on the first, kept */
	char *topic;			 /* topic_buf, or allocated when longer */
	char topic_buf[INGEST_TOPIC_MAX + 64];
	void *payload;		  /* the first STORE_REJECTED_RAW_MAX bytes at most */
	size_t len, cap;	  /* payload bytes kept and the buffer's size */
	unsigned char sha256[32]; /* of the whole payload, when rejected */
	char receipt_topic[INGEST_TOPIC_MAX + 64];
	struct ingest_msg *next; /* on the spare list */
};

/* One session of an earlier run to retire, and what it subscribed to. */
struct ingest_retiree {
	char client_id[STORE_CLIENT_ID_MAX];
	char topic[INGEST_TOPIC_MAX];
	char broker[STORE_BROKER_MAX]; /* as stored ("": before several brokers) */
	int bi;			       /* the broker it is on: index into [mqtt] url */
};

struct ingest_plan {
	struct ingest_retiree *retire;
	int nretire;
	/* Per broker and session of this run (broker * nsessions + session),
	 * "" or the filter an earlier run gave it. */
	char (*old_topic)[INGEST_TOPIC_MAX];
	int nsessions, nbrokers;
};

/* One broker of [mqtt] url (spec §10): its pool of sessions, the
 * receipts' connection to it (a report's receipt goes out on the broker
 * it came in on: the station listens there) and the receipts an earlier
 * run left for it. Brokers are independent: one that is down holds up
 * none of the others. */
struct ingest_broker {
	struct ingest *in;
	const struct config_broker *cfg; /* borrowed from the service's config */
	int index;
	struct ingest_session *sessions; /* [mqtt] sessions of them */
	int n;				 /* made so far */
	struct ingest_outbox *outbox;	 /* the receipts' own connection */
	struct ingest_backlog *backlog;	 /* sent by its session 0 once subscribed */
};

struct ingest {
	struct service *svc;
	struct ingest_plan *plan;
	struct ingest_broker *brokers; /* [mqtt] url, in its order */
	int nbrokers;
	char topic[INGEST_TOPIC_MAX]; /* $share/group/geohazard/v1/reports/+ */
	char password[256];	      /* [mqtt] password_file, for the retiring sessions */
	/* The retiring sessions (plan->retire), one after another on a
	 * thread of their own. */
	struct ingest_session retire;
	pthread_t retire_thread;
	bool retire_started;
	atomic_bool stopping; /* every session, the retiring ones too */
	/* Monotonic ms until which this instance may hold its sessions at the
	 * broker (ingest_lease); past it they pause. INT64_MAX: no lease (one
	 * instance). */
	atomic_llong hold_until;
	/* Sessions dropped and connected again (a refused commit shuts the
	 * socket): said once, then summarised until a commit succeeds. */
	struct log_repeat reconnects;
};

/* Credentials and TLS of [mqtt], the same for every connection. */
ga_err ingest_client_auth(struct ingest_broker *br, struct mosquitto *mosq, const char *password,
			  char *err, size_t errlen);
/* Makes session index's client ({client_id}-{index}, persistent, MQTT 5)
 * on broker br and starts connecting; the caller runs ingest_session_main
 * (on a thread of its own, or inline). A retiring session (retiree not
 * NULL; index -1) does not subscribe: it takes what the broker queued for
 * it, then ends the session (expiry 0); it gives up when its broker
 * cannot be reached for INGEST_RETIRE_CONNECT_MS. */
ga_err ingest_session_init(struct ingest_broker *br, struct ingest_session *ss, int index,
			   const struct ingest_retiree *retiree, const char *password, char *err,
			   size_t errlen);
/* Some session of br holds its subscription: the broker is up. */
bool ingest_broker_up(struct ingest_broker *br);
/* The session's loop until ss->stopping, or a retiring session is done;
 * then the last acknowledgements and a DISCONNECT. */
void *ingest_session_main(void *arg);
/* Frees what the session holds (after its loop ended). */
void ingest_session_free(struct ingest_session *ss);

#endif
