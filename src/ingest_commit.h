/* ingest_commit.h - the business step of ingest for one report, inside the
 * writer's open transaction: a duplicate is found, or the report joins an
 * incident, its row is stored, a draft alert is made when the incident
 * calls for one, and the receipt goes into the outbox. The writer
 * (ingest_writer.c) owns the transaction and calls this for each item. */
#ifndef GA_INGEST_COMMIT_H
#define GA_INGEST_COMMIT_H

#include <pthread.h>

#include "error.h"
#include "incident.h"
#include "ingest_writer.h"
#include "store.h"
#include "workflow.h"

struct thresholds;
struct ingest_device;

/* What the step reads; all borrowed, outliving the writer. */
struct ingest_commit {
	struct store *store; /* the writer's connection, a transaction open */
	/* Held shared while rules and *thresholds are read: a reload swaps
	 * them under it held exclusive. */
	pthread_rwlock_t *lock;
	const struct incident_rules *rules;
	struct thresholds *const *thresholds;
	/* Drafts are made (in the report's transaction) only when
	 * wf->templates is set. */
	const struct workflow_ctx *wf;
	int utc_offset_min; /* the receipts' times ([alerts] utc_offset) */
	/* The writer's index of open incidents (incident_index.h), owned by
	 * the writer thread, which discards it when a transaction fails; NULL:
	 * the incident lookups go to the store. */
	struct incident_index *index;
	/* Monitoring devices' frames (ingest_device.h); NULL: none taken. */
	struct ingest_device *devices;
};

/* Commits one item: a rejection (it->report NULL, or an unknown
 * incident_id, which adds to it->errs, allocating it), a duplicate, or an
 * accepted report; then its receipt, stored in the outbox (it->receipt,
 * it->outbox_id; none stored when it->receipt_topic is ""). Sets
 * it->status, incident_id, level, draft_made. Only storage failures are
 * returned (the transaction must then be rolled back); a report's own
 * faults become a rejection. */
ga_err ingest_commit_item(const struct ingest_commit *c, struct ingest_writer_item *it);

/* Before the items of a group (linked by next) are committed, in the
 * group's transaction (after its lock): which of its reports are stored
 * already, asked of the store in one statement (store_report_find_many)
 * instead of one per report, and which repeat an earlier report of the
 * group. ingest_commit_item then answers those from memory, as the
 * per-report lookup would have. A failure only leaves the items to the
 * per-report lookup. */
void ingest_commit_prefind(const struct ingest_commit *c, struct ingest_writer_item *batch);

/* The writer's transaction was committed (ok) or rolled back. */
void ingest_commit_done(const struct ingest_commit *c, bool ok);

#endif
