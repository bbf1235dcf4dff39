/* ingest_writer.h - the one thread that writes to the store, committing the
 * reports of many MQTT sessions together (group commit).
 *
 * A session thread fills a ingest_writer_item and calls ingest_writer_submit, which
 * blocks until the item's transaction is durable (or failed). The writer
 * takes every item queued while the previous commit ran, so under load a
 * commit carries many reports and the fsync cost is shared. */
#ifndef GA_WRITER_H
#define GA_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "report.h"
#include "riskwarning.h"
#include "store.h"

struct ingest_commit;
struct ingest_device_frame;

enum ingest_writer_status { WRITER_ACCEPTED, WRITER_DUPLICATE, WRITER_REJECTED };

struct ingest_writer_item {
	/* in: borrowed from the caller for the duration of ingest_writer_submit */
	const char *topic;
	const void *raw; /* the payload's first rawlen bytes (all of a valid one) */
	size_t rawlen;
	size_t raw_total;		 /* the payload's length */
	const unsigned char *raw_sha256; /* of the whole payload (32 bytes); NULL: raw is whole */
	int64_t received_ms;
	struct report *report; /* a valid report; NULL when rejected */
	/* errors of a rejected report; NULL for a valid one. The writer may
	 * add one (unknown incident), allocating it: the caller frees it. */
	struct report_errors *errs;
	const char *receipt_topic; /* where the receipt goes */
	/* the broker it came in on (config_broker's url), where the station
	 * listens: recorded with the receipt in the outbox; NULL: "" */
	const char *broker;
	const char *report_id; /* as read from the payload, NULL if unreadable */
	/* a valid risk warning product (issue 14, riskwarning_flow.h), stored
	 * instead of a report; NULL otherwise (report NULL too) */
	const struct riskwarning *riskwarning;
	/* a monitoring device's data frame (ingest_device.h), stored instead
	 * of a report (report and riskwarning NULL; no receipt); its out
	 * fields are set by the writer */
	struct ingest_device_frame *device;

	/* out */
	enum ingest_writer_status status;
	char incident_id[INCIDENT_ID_MAX]; /* "" when none */
	int level;			   /* enum level, or -1 */
	char *receipt;			   /* receipt JSON, committed in the outbox; caller frees */
	int64_t outbox_id; /* pass to ingest_writer_receipt_acked once the broker has it */
	bool draft_made;   /* the report made a draft alert */

	/* private to the writer */
	struct ingest_writer_item *next;
	/* The group's duplicate check (ingest_commit_prefind): whether the
	 * report was stored before the group (then incident_id and level are
	 * the stored ones); same: an earlier item of the group with the same
	 * station and report id, or NULL. Zeroed: the store is asked. */
	enum ingest_writer_found {
		WRITER_FOUND_ASK = 0, /* not known: the store is asked */
		WRITER_FOUND_STORED,
		WRITER_FOUND_NEW,
	} stored;
	struct ingest_writer_item *same;
	ga_err result;
	bool done;
	bool ends_submit; /* the last item of its ingest_writer_submit_many call */
};

struct ingest_writer;

/* Starts the writer thread on store (borrowed; the writer is its only user
 * until ingest_writer_free). Each item is committed by ingest_commit_item(commit)
 * (copied; its store is set to store); duties (copied) may be NULL. */
/* The writer's periodic duties and its notices, which are the service's
 * (service_tick.c): called in the writer thread, outside any
 * transaction, on the writer's connection. Any may be NULL. */
struct ingest_writer_duties {
	/* one short background step (its own transaction: retention), after
	 * each committed batch; when idle, again while it returns true */
	bool (*step)(struct store *s, void *arg);
	/* about once a second (WRITER_TICK_MS), also when idle, after the steps */
	void (*tick)(struct store *s, void *arg);
	/* after each committed batch: the items, linked by next */
	void (*committed)(struct store *s, struct ingest_writer_item *batch, void *arg);
	void *arg;
};

ga_err ingest_writer_new(struct store *store, const struct ingest_commit *commit,
			 const struct ingest_writer_duties *duties, int batch_max,
			 struct ingest_writer **out);

/* Queues it and waits until it is committed. Returns GA_OK (the item's
 * status says what was stored), GA_ERR_FULL / GA_ERR_DB when the commit
 * failed (nothing of it is stored: do not acknowledge), GA_ERR_SHUTDOWN
 * once ingest_writer_free has begun. */
ga_err ingest_writer_submit(struct ingest_writer *w, struct ingest_writer_item *it);

/* Queues n items together and waits until all are committed: GA_OK when
 * all were, else the first error (some may be committed: their reports
 * are stored, and a redelivery gets a duplicate receipt). */
ga_err ingest_writer_submit_many(struct ingest_writer *w, struct ingest_writer_item **items, int n);

/* The broker has acknowledged the receipt stored as outbox_id: the writer
 * deletes it from the outbox with its next transaction (or within a
 * second when idle). Lost acknowledgements only mean a receipt is sent
 * twice. Thread-safe, never blocks on the database. */
void ingest_writer_receipt_acked(struct ingest_writer *w, int64_t outbox_id);

/* A commit refused for want of space (GA_ERR_FULL) keeps the writer
 * unhealthy this long after it, though later commits succeed: on a full
 * disk the small commits that still fit (a receipt's acknowledgement, a
 * group of one) would otherwise turn /healthz to 200 between the refusals
 * of the groups that do not. Other failures (a lost connection, a
 * failover) hold for as long as they last: once commits go through, the
 * database is back. */
#define WRITER_FAIL_HOLD_MS 10000

/* Health of the commits: GA_OK, or the error of the last commit when it
 * failed, or GA_ERR_FULL for WRITER_FAIL_HOLD_MS after a commit refused
 * for want of space. */
ga_err ingest_writer_last_result(struct ingest_writer *w);

/* Commits what is queued (and the acknowledged receipts), stops the thread and frees w. NULL is
 * fine. */
void ingest_writer_free(struct ingest_writer *w);

#endif
