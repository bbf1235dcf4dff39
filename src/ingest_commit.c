/* ingest_commit.c - one report inside the writer's transaction
 * (ingest_commit.h). */
#include "ingest_commit.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "incident_index.h"
#include "ingest_device.h"
#include "ingest_receipt.h"
#include "riskwarning_flow.h"
#include "store_incident_recent.h"
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

/* Whether it->report is stored already (GA_OK: it->incident_id and
 * it->level are the stored ones) or not (GA_ERR_NOTFOUND): from what
 * ingest_commit_prefind learnt when it can, else from the store. */
static ga_err commit_find(const struct ingest_commit *c, struct ingest_writer_item *it)
{
	const struct report *r = it->report;
	const struct ingest_writer_item *p = it->same;

	if (p != NULL && (p->status == WRITER_ACCEPTED || p->status == WRITER_DUPLICATE)) {
		/* Stored by this group (or found) just before: its answer. */
		snprintf(it->incident_id, sizeof(it->incident_id), "%s", p->incident_id);
		it->level = p->level;
		return GA_OK;
	}
	if (p == NULL && it->stored == WRITER_FOUND_STORED)
		return GA_OK; /* incident_id and level set by the prefind */
	if (p == NULL && it->stored == WRITER_FOUND_NEW)
		return GA_ERR_NOTFOUND;
	/* Not asked, or its twin was rejected: the store says, as before. */
	return store_report_find(c->store, r->station_id, r->report_id, it->incident_id,
				 &it->level);
}

/* One item inside the open transaction. Only storage failures are
 * returned; a report's own faults become a rejection. */
static ga_err commit_report(const struct ingest_commit *c, struct ingest_writer_item *it)
{
	struct report *r = it->report;
	ga_err result;

	if (it->stored != WRITER_FOUND_STORED) { /* else the prefind's answer */
		it->incident_id[0] = '\0';
		it->level = -1;
	}
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

	result = commit_find(c, it);
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
		/* An incident below the publishing level with no draft: the
		 * drafting would find none with its first query and stop
		 * there; the index answers that query when it knows. */
		if (inc.level < c->wf->publish_min_level &&
		    incident_index_no_draft(c->index, inc.id))
			return GA_OK;
		incident_index_draft_maybe(c->index, inc.id);
		result = workflow_incident_changed(c->store, c->wf, &inc, inc.prev_level,
						   it->received_ms, &it->draft_made);
		if (result != GA_OK)
			return result;
	}
	return GA_OK;
}

ga_err ingest_commit_item(const struct ingest_commit *c, struct ingest_writer_item *it)
{
	uint64_t writes;
	ga_err result;

	/* A device's frame or a risk warning may read incidents from the
	 * store: the index's deferred updates are written first. */
	if ((it->device || it->riskwarning) &&
	    (result = incident_index_flush(c->index, c->store)) != GA_OK)
		return result;
	writes = store_incident_writes(c->store);
	if (it->device) /* a device's data frame: no receipt (ingest_device.h) */
		result = ingest_device_commit(c->devices, it);
	else if ((result = commit_report(c, it)) == GA_OK)
		result = commit_receipt(c, it);
	/* Incidents written by other than a report's grouping (a device's
	 * warning opens, moves on or closes one: workflow_warning.c) were
	 * not told to the index: it is rebuilt (in this transaction, so it
	 * sees them) at the next report. */
	if (!it->report && store_incident_writes(c->store) != writes)
		incident_index_discard(c->index);
	return result;
}

/* The prefind's table of the group's reports by (station, report id):
 * open addressing, twice the batch's cap in slots. */
#define COMMIT_FIND_SLOTS (2 * STORE_REPORT_FIND_MANY_MAX)

struct commit_find_table {
	struct ingest_writer_item *slot[COMMIT_FIND_SLOTS];
};

static unsigned commit_find_hash(const char *station, const char *report)
{
	uint32_t h = 2166136261u;

	for (const char *p = station; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	h = (h ^ 0xff) * 16777619u; /* a separator no UTF-8 byte equals */
	for (const char *p = report; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	return h & (COMMIT_FIND_SLOTS - 1);
}

/* The first item of the group with this key, or the empty slot for it. */
static struct ingest_writer_item **commit_find_slot(struct commit_find_table *t,
						    const char *station, const char *report)
{
	unsigned i = commit_find_hash(station, report);

	for (;; i = (i + 1) & (COMMIT_FIND_SLOTS - 1)) {
		struct ingest_writer_item *it = t->slot[i];
		if (it == NULL || (strcmp(it->report->station_id, station) == 0 &&
				   strcmp(it->report->report_id, report) == 0))
			return &t->slot[i];
	}
}

static void commit_found_cb(const char *station_id, const char *report_id, const char *incident_id,
			    int level, void *arg)
{
	struct ingest_writer_item *it = *commit_find_slot(arg, station_id, report_id);

	if (it == NULL)
		return; /* not asked (a collation's notion of equal, say) */
	it->stored = WRITER_FOUND_STORED;
	snprintf(it->incident_id, sizeof(it->incident_id), "%s", incident_id);
	it->level = level;
}

void ingest_commit_prefind(const struct ingest_commit *c, struct ingest_writer_item *batch)
{
	static const int cap = STORE_REPORT_FIND_MANY_MAX;
	struct commit_find_table *t = calloc(1, sizeof(*t));
	const char **stations = malloc((size_t)cap * sizeof(*stations));
	const char **reports = malloc((size_t)cap * sizeof(*reports));
	struct ingest_writer_item *first[STORE_REPORT_FIND_MANY_MAX];
	int n = 0;

	for (struct ingest_writer_item *it = batch; it; it = it->next) {
		it->stored = WRITER_FOUND_ASK;
		it->same = NULL;
	}
	if (!t || !stations || !reports)
		goto out; /* each report asks the store */
	for (struct ingest_writer_item *it = batch; it && n < cap; it = it->next) {
		const struct report *r = it->report;
		if (it->device || it->riskwarning || !r || !r->station_id || !r->report_id)
			continue;
		struct ingest_writer_item **slot = commit_find_slot(t, r->station_id, r->report_id);
		if (*slot != NULL) {
			it->same = *slot;
			continue;
		}
		*slot = it;
		first[n] = it;
		stations[n] = r->station_id;
		reports[n] = r->report_id;
		n++;
	}
	if (n == 0 ||
	    store_report_find_many(c->store, stations, reports, n, commit_found_cb, t) != GA_OK) {
		for (struct ingest_writer_item *it = batch; it; it = it->next) {
			it->stored = WRITER_FOUND_ASK;
			it->same = NULL;
		}
		goto out;
	}
	for (int i = 0; i < n; i++)
		if (first[i]->stored != WRITER_FOUND_STORED)
			first[i]->stored = WRITER_FOUND_NEW;
out:
	free(t);
	free(stations);
	free(reports);
}

void ingest_commit_done(const struct ingest_commit *c, bool ok)
{
	ingest_device_txn_end(c->devices, ok);
}
