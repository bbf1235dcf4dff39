/* ingest_commit.c - one report inside the writer's transaction
 * (ingest_commit.h). */
#include "ingest_commit.h"

#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

#include "ingest_device.h"
#include "ingest_receipt.h"
#include "riskwarning_flow.h"
#include "store_stats.h"

/* Stores a rejection inside the open transaction. */
static ga_err commit_rejected(const struct ingest_commit *c, struct ingest_writer_item *it)
{
	ga_err result = GA_ERR_NOMEM;
	char *reasons = NULL;
	json_t *arr = it->errs ? report_errors_to_json(it->errs) : NULL;
	if (!arr)
		goto out;
	reasons = json_dumps(arr, JSON_COMPACT);
	if (!reasons)
		goto out;
	result = store_rejected_put(c->store, it->topic, it->raw, it->rawlen,
				    it->raw_sha256 ? it->raw_total : it->rawlen, it->raw_sha256,
				    it->received_ms, reasons);
	it->status = WRITER_REJECTED;
out:
	free(reasons);
	json_decref(arr);
	return result;
}

/* The receipt, stored in the outbox in the same transaction. */
static ga_err commit_receipt(const struct ingest_commit *c, struct ingest_writer_item *it)
{
	const struct report *r = it->report;
	it->receipt = ingest_receipt_build(it->report_id, it->status, it->incident_id, it->level,
					   it->received_ms, c->utc_offset_min, it->errs,
					   r && it->status != WRITER_REJECTED ? r->warnings : 0);
	if (!it->receipt)
		return GA_ERR_NOMEM;
	if (it->receipt_topic[0] == '\0')
		return GA_OK; /* no topic to answer on (station name too long) */
	return store_outbox_put(c->store, it->broker ? it->broker : "", it->receipt_topic,
				it->receipt, it->received_ms, &it->outbox_id);
}

/* One item inside the open transaction. Only storage failures are
 * returned; a report's own faults become a rejection. */
static ga_err commit_report(const struct ingest_commit *c, struct ingest_writer_item *it)
{
	struct report *r = it->report;
	ga_err result;

	it->incident_id[0] = '\0';
	it->level = -1;
	if (it->riskwarning) {
		/* A risk warning product (issue 14): stored and receipted like a
		 * report, by product_id. */
		result = riskwarning_flow_intake_mqtt(c->store, it->riskwarning,
						      c->wf ? c->wf->geo : NULL, it->topic, it->raw,
						      it->rawlen, it->received_ms);
		if (result == RISKWARNING_FLOW_UNKNOWN_SUPERSEDES) {
			if (!it->errs && !(it->errs = calloc(1, sizeof(*it->errs))))
				return GA_ERR_NOMEM;
			riskwarning_flow_supersedes_error(it->riskwarning, it->errs);
			return commit_rejected(c, it);
		}
		it->status = result == GA_ERR_DUPLICATE ? WRITER_DUPLICATE : WRITER_ACCEPTED;
		return result == GA_ERR_DUPLICATE ? GA_OK : result;
	}
	if (!r)
		return commit_rejected(c, it);

	result =
	    store_report_find(c->store, r->station_id, r->report_id, it->incident_id, &it->level);
	if (result == GA_OK) {
		it->status = WRITER_DUPLICATE;
		return GA_OK;
	}
	if (result != GA_ERR_NOTFOUND)
		return result;

	struct incident inc;
	pthread_rwlock_rdlock(c->lock);
	result = incident_assign_indexed(c->store, c->index, c->rules, *c->thresholds, r,
					 it->received_ms, &inc);
	pthread_rwlock_unlock(c->lock);
	if (result == GA_ERR_NOTFOUND) {
		/* Valid reports come without an error list: make one. The
		 * caller frees it with the item. */
		if (!it->errs && !(it->errs = calloc(1, sizeof(*it->errs))))
			return GA_ERR_NOMEM;
		report_errors_add(it->errs, "/incident_id", "unknown_incident",
				  "no open incident with this id");
		it->report = NULL;
		return commit_rejected(c, it);
	}
	if (result != GA_OK)
		return result;

	result = store_report_put(c->store, r, it->topic, it->raw, it->rawlen, it->received_ms,
				  inc.id, inc.level);
	if (result != GA_OK)
		return result;
	/* /metrics reads this summary row, never the reports themselves. */
	if ((r->warnings & REPORT_WARN_OLD) &&
	    (result = store_stats_old_observed_add(c->store, it->received_ms, 1)) != GA_OK)
		return result;
	it->status = WRITER_ACCEPTED;
	snprintf(it->incident_id, sizeof(it->incident_id), "%s", inc.id);
	it->level = (int)inc.level;
	/* Drafts are made in the report's transaction: listed by the API the
	 * moment the receipt says the report is stored. */
	if (c->wf && c->wf->templates) {
		result = workflow_incident_changed(c->store, c->wf, &inc, inc.prev_level,
						   it->received_ms, &it->draft_made);
		if (result != GA_OK)
			return result;
	}
	return GA_OK;
}

ga_err ingest_commit_item(const struct ingest_commit *c, struct ingest_writer_item *it)
{
	if (it->device) /* a device's data frame: no receipt (ingest_device.h) */
		return ingest_device_commit(c->devices, it);
	ga_err result = commit_report(c, it);
	if (result != GA_OK)
		return result;
	return commit_receipt(c, it);
}

void ingest_commit_done(const struct ingest_commit *c, bool ok)
{
	ingest_device_txn_end(c->devices, ok);
}
