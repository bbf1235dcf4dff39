/* writer.c - group commit: one thread, one transaction per batch. */
#include "writer.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <errno.h>
#include <time.h>

#include "incident.h"
#include "log.h"
#include "notify.h"
#include "receipt.h"
#include "riskwarning_flow.h"
#include "service.h"
#include "timeutil.h"
#include "watchdog.h"
#include "workflow.h"

/* Receipt acknowledgements waiting to be deleted from the outbox. Past
 * the cap they are dropped: those receipts are only sent again. */
#define WRITER_MAX_ACKS 65536
#define WRITER_TICK_MS 1000
/* Past this many, acknowledged receipts are deleted without waiting. */
#define WRITER_ACKS_FLUSH (WRITER_MAX_ACKS / 2)
/* Under load (the last commit carried several sessions' batches and at
 * least WRITER_GATHER_MIN reports), the writer waits this long at most
 * for the other sessions' batches to join the next commit: fewer, larger
 * transactions. Light load never waits. */
#define WRITER_GATHER_US 1000
#define WRITER_GATHER_MIN 8

struct writer {
	struct store *store;
	struct service *svc;
	int batch_max;

	pthread_mutex_t mu;
	pthread_cond_t work; /* signalled when an item is queued or on stop */
	pthread_cond_t done; /* broadcast when a batch is finished */
	struct writer_item *head, *tail;
	int nsubmits;	  /* writer_submit_many calls queued (not yet taken) */
	int last_submits; /* how many the last commit carried */
	int last_n;	  /* and how many reports */
	bool stopping;
	ga_err last_result;
	int64_t *acks; /* outbox ids acknowledged by the broker */
	int nacks;
	bool acks_dropped;
	bool tick;	      /* a second passed without work */
	int64_t last_tick_ms; /* monotonic */
	pthread_t thread;
};

/* Stores a rejection inside the open transaction. */
static ga_err writer_put_rejected(struct writer *w, struct writer_item *it)
{
	ga_err result = GA_ERR_NOMEM;
	char *reasons = NULL;
	json_t *arr = it->errs ? report_errors_to_json(it->errs) : NULL;
	if (!arr)
		goto out;
	reasons = json_dumps(arr, JSON_COMPACT);
	if (!reasons)
		goto out;
	result = store_rejected_put(w->store, it->topic, it->raw, it->rawlen,
				    it->raw_sha256 ? it->raw_total : it->rawlen, it->raw_sha256,
				    it->received_ms, reasons);
	it->status = WRITER_REJECTED;
out:
	free(reasons);
	json_decref(arr);
	return result;
}

/* The receipt, stored in the outbox in the same transaction. */
static ga_err writer_put_receipt(struct writer *w, struct writer_item *it)
{
	const struct report *r = it->report;
	it->receipt = receipt_build(it->report_id, it->status, it->incident_id, it->level,
				    it->received_ms, w->svc->cfg.alerts.utc_offset_min, it->errs,
				    r && it->status != WRITER_REJECTED ? r->warnings : 0);
	if (!it->receipt)
		return GA_ERR_NOMEM;
	if (it->receipt_topic[0] == '\0')
		return GA_OK; /* no topic to answer on (station name too long) */
	return store_outbox_put(w->store, it->receipt_topic, it->receipt, it->received_ms,
				&it->outbox_id);
}

/* One item inside the open transaction. Only storage failures are
 * returned; a report's own faults become a rejection. */
static ga_err writer_store(struct writer *w, struct writer_item *it)
{
	struct report *r = it->report;
	ga_err result;

	it->incident_id[0] = '\0';
	it->level = -1;
	if (it->riskwarning) {
		result =
		    riskwarning_flow_intake_mqtt(w->store, it->riskwarning, w->svc->geo, it->topic,
						 it->raw, it->rawlen, it->received_ms);
		it->status = result == GA_ERR_DUPLICATE ? WRITER_DUPLICATE : WRITER_ACCEPTED;
		return result == GA_ERR_DUPLICATE ? GA_OK : result;
	}
	if (!r)
		return writer_put_rejected(w, it);

	result =
	    store_report_find(w->store, r->station_id, r->report_id, it->incident_id, &it->level);
	if (result == GA_OK) {
		it->status = WRITER_DUPLICATE;
		return GA_OK;
	}
	if (result != GA_ERR_NOTFOUND)
		return result;

	struct incident inc;
	pthread_rwlock_rdlock(&w->svc->lock);
	result =
	    incident_assign(w->store, &w->svc->rules, w->svc->thresholds, r, it->received_ms, &inc);
	pthread_rwlock_unlock(&w->svc->lock);
	if (result == GA_ERR_NOTFOUND) {
		/* Valid reports come without an error list: make one. The
		 * caller frees it with the item. */
		if (!it->errs && !(it->errs = calloc(1, sizeof(*it->errs))))
			return GA_ERR_NOMEM;
		report_errors_add(it->errs, "/incident_id", "unknown_incident",
				  "no open incident with this id");
		it->report = NULL;
		return writer_put_rejected(w, it);
	}
	if (result != GA_OK)
		return result;

	result = store_report_put(w->store, r, it->topic, it->raw, it->rawlen, it->received_ms,
				  inc.id, inc.level);
	if (result != GA_OK)
		return result;
	it->status = WRITER_ACCEPTED;
	snprintf(it->incident_id, sizeof(it->incident_id), "%s", inc.id);
	it->level = (int)inc.level;
	/* Drafts are made in the report's transaction: listed by the API the
	 * moment the receipt says the report is stored. */
	if (w->svc->wf.templates) {
		result = workflow_incident_changed(w->store, &w->svc->wf, &inc, inc.prev_level,
						   it->received_ms, &it->draft_made);
		if (result != GA_OK)
			return result;
	}
	return GA_OK;
}

static ga_err writer_process(struct writer *w, struct writer_item *it)
{
	ga_err result = writer_store(w, it);
	if (result != GA_OK)
		return result;
	return writer_put_receipt(w, it);
}

static int writer_id_cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

/* Deletes the acknowledged receipts: sorted, one statement per run of
 * consecutive ids (receipts are stored in order, so a batch's are one
 * run or a few). acks is sorted in place. */
static ga_err writer_delete_acked(struct writer *w, int64_t *acks, int nacks)
{
	ga_err result = GA_OK;

	qsort(acks, (size_t)nacks, sizeof(*acks), writer_id_cmp);
	for (int i = 0; i < nacks && result == GA_OK;) {
		int j = i;
		while (j + 1 < nacks && acks[j + 1] <= acks[j] + 1)
			j++;
		result = store_outbox_delete_range(w->store, acks[i], acks[j]);
		i = j + 1;
	}
	return result;
}

/* One transaction: the batch's reports and receipts, and the deletion of
 * the receipts the broker has acknowledged meanwhile. */
static ga_err writer_commit_batch(struct writer *w, struct writer_item *batch, int64_t *acks,
				  int nacks)
{
	ga_err result = store_begin(w->store);
	if (result != GA_OK)
		return result;
	if ((result = writer_delete_acked(w, acks, nacks)) != GA_OK)
		goto fail;
	for (struct writer_item *it = batch; it; it = it->next) {
		result = writer_process(w, it);
		if (result != GA_OK)
			goto fail;
	}
	return store_commit(w->store);
fail:
	store_rollback(w->store);
	return result;
}

/* Lets the batches of the sessions that joined the last commit join this
 * one too, waiting at most WRITER_GATHER_US. Called with w->mu held. */
static void writer_gather(struct writer *w)
{
	struct timespec ts;

	if (w->last_submits < 2 || w->last_n < WRITER_GATHER_MIN || w->nsubmits >= w->last_submits)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += WRITER_GATHER_US * 1000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	while (w->nsubmits < w->last_submits && !w->stopping)
		if (pthread_cond_timedwait(&w->work, &w->mu, &ts) == ETIMEDOUT)
			break;
}

/* Waits for work, at most a second: the writer also has periodic duties
 * (flushing receipt acknowledgements, escalating old drafts). */
static void writer_wait(struct writer *w)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += WRITER_TICK_MS / 1000;
	if (pthread_cond_timedwait(&w->work, &w->mu, &ts) == ETIMEDOUT)
		w->tick = true;
}

static void writer_escalate_one(const char *alert_id, const char *headline, void *arg)
{
	struct writer *w = arg;
	char url[CONFIG_STR_MAX + 64];
	snprintf(url, sizeof(url), "%s/console/#%s", w->svc->cfg.http.public_base_url, alert_id);
	log_warnx("draft %s unconfirmed for %d s: escalated to supervisors", alert_id,
		  w->svc->cfg.alerts.escalate_after_s);
	if (w->svc->notify)
		notify_send(w->svc->notify, NOTIFY_SUPERVISORS, "escalation", alert_id, headline,
			    "", url);
}

static void writer_station_change(const struct station *st, int64_t silent_ms, bool back, void *arg)
{
	struct writer *w = arg;
	char what[REGISTRY_ID_MAX + REGISTRY_NAME_MAX + 2];
	if (back) {
		log_info("station %s (%s) reports again", st->station_id, st->name);
	} else {
		log_warnx("station %s (%s) silent for %lld s", st->station_id, st->name,
			  (long long)(silent_ms / 1000));
		metrics_count(&w->svc->metrics.stations_silent, st->station_id, 1);
	}
	snprintf(what, sizeof(what), "%s %s", st->station_id, st->name);
	if (w->svc->notify)
		notify_send(w->svc->notify, NOTIFY_OFFICERS,
			    back ? "station_back" : "station_silent", st->station_id, what, "", "");
}

/* Periodic work, outside any batch: silent stations; drafts pending too
 * long (the workflow runs its own transaction). */
static void writer_tick(struct writer *w)
{
	if (w->svc->watchdog) {
		pthread_rwlock_rdlock(&w->svc->lock);
		watchdog_check(w->svc->watchdog, w->svc->registry, time_now_ms(),
			       writer_station_change, w);
		pthread_rwlock_unlock(&w->svc->lock);
	}
	int expired = 0;
	ga_err re = riskwarning_flow_expire_due(w->store, time_now_ms(), &expired);
	if (re != GA_OK)
		log_warnx("writer: risk warning expiry check failed: %s", ga_strerror(re));
	else if (expired > 0)
		log_info("writer: %d risk warning product(s) expired", expired);
	int after_s = w->svc->cfg.alerts.escalate_after_s;
	if (after_s <= 0 || !w->svc->wf.templates)
		return;
	ga_err e = workflow_escalate_due(w->store, time_now_ms(), (int64_t)after_s * 1000,
					 writer_escalate_one, w);
	if (e != GA_OK)
		log_warnx("writer: escalation check failed: %s", ga_strerror(e));
}

/* After the commit: officers hear of the drafts it made. */
static void writer_notify_drafts(struct writer *w, struct writer_item *batch)
{
	int64_t now = time_now_ms();
	for (struct writer_item *it = batch; it; it = it->next) {
		if (!it->draft_made)
			continue;
		metrics_observe_ms(&w->svc->metrics.report_draft, NULL,
				   (double)(now - it->received_ms));
		char url[CONFIG_STR_MAX + 64];
		snprintf(url, sizeof(url), "%s/console/#%s", w->svc->cfg.http.public_base_url,
			 it->incident_id);
		if (!w->svc->notify)
			continue;
		/* The headline, for the notice: drafts are rare, one read each. */
		struct store_draft *d = malloc(sizeof(*d));
		const char *headline = "";
		if (d && store_draft_pending(w->store, it->incident_id, d) == GA_OK)
			headline = d->headline;
		notify_send(w->svc->notify, NOTIFY_OFFICERS, "draft", it->incident_id, headline,
			    level_name((enum level)it->level), url);
		free(d);
	}
}

static void *writer_main(void *arg)
{
	struct writer *w = arg;

	int64_t *acks = malloc(WRITER_MAX_ACKS * sizeof(*acks));
	if (!acks)
		fatalx("writer: out of memory");
	pthread_mutex_lock(&w->mu);
	for (;;) {
		w->tick = false;
		while (!w->head && !w->stopping && !w->tick && w->nacks < WRITER_ACKS_FLUSH)
			writer_wait(w);
		if (!w->head && w->stopping && w->nacks == 0)
			break;
		if (time_mono_ms() - w->last_tick_ms >= WRITER_TICK_MS) {
			w->last_tick_ms = time_mono_ms();
			pthread_mutex_unlock(&w->mu);
			writer_tick(w);
			pthread_mutex_lock(&w->mu);
		}
		/* Acknowledged receipts alone wait for the next batch, or for
		 * the tick when idle: a transaction (an fsync) of their own
		 * for each would cost more than all the reports. */
		if (!w->head &&
		    (w->nacks == 0 || (!w->tick && !w->stopping && w->nacks < WRITER_ACKS_FLUSH)))
			continue;

		if (w->head)
			writer_gather(w);
		/* Take up to batch_max items: everything that queued while the
		 * last commit was running; and the acknowledged receipts. */
		struct writer_item *batch = w->head, *last = w->head;
		int n = 0, submits = 0;
		if (batch) {
			n = 1;
			submits = last->ends_submit;
			while (last->next && n < w->batch_max) {
				last = last->next;
				n++;
				submits += last->ends_submit;
			}
			w->nsubmits -= submits;
			w->last_submits = submits;
			w->last_n = n;
			w->head = last->next;
			if (!w->head)
				w->tail = NULL;
			last->next = NULL;
		}
		int nacks = w->nacks;
		memcpy(acks, w->acks, (size_t)nacks * sizeof(*acks));
		w->nacks = 0;
		pthread_mutex_unlock(&w->mu);

		ga_err result = writer_commit_batch(w, batch, acks, nacks);
		if (result != GA_OK)
			log_warnx("writer: commit of %d reports failed: %s; not acknowledged", n,
				  ga_strerror(result));

		if (result == GA_OK)
			writer_notify_drafts(w, batch);

		pthread_mutex_lock(&w->mu);
		w->last_result = result;
		for (struct writer_item *it = batch, *next; it; it = next) {
			next = it->next;
			it->result = result;
			it->done = true;
		}
		pthread_cond_broadcast(&w->done);
		if (result != GA_OK && nacks > 0 && w->nacks + nacks <= WRITER_MAX_ACKS) {
			/* Keep them for the next transaction. */
			memcpy(w->acks + w->nacks, acks, (size_t)nacks * sizeof(*acks));
			w->nacks += nacks;
		}
		if (result != GA_OK && w->stopping && !w->head)
			break; /* cannot write: what is left is sent again next start */
	}
	pthread_mutex_unlock(&w->mu);
	free(acks);
	return NULL;
}

ga_err writer_new(struct store *store, struct service *svc, int batch_max, struct writer **out)
{
	struct writer *w = calloc(1, sizeof(*w));
	if (!w)
		return GA_ERR_NOMEM;
	w->store = store;
	w->svc = svc;
	w->batch_max = batch_max > 0 ? batch_max : 1;
	w->acks = malloc(WRITER_MAX_ACKS * sizeof(*w->acks));
	if (!w->acks) {
		free(w);
		return GA_ERR_NOMEM;
	}
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->work, NULL);
	pthread_cond_init(&w->done, NULL);
	if (pthread_create(&w->thread, NULL, writer_main, w) != 0) {
		pthread_mutex_destroy(&w->mu);
		pthread_cond_destroy(&w->work);
		pthread_cond_destroy(&w->done);
		free(w->acks);
		free(w);
		return GA_ERR_NOMEM;
	}
	*out = w;
	return GA_OK;
}

ga_err writer_submit_many(struct writer *w, struct writer_item **items, int n)
{
	ga_err result = GA_OK;

	if (n <= 0)
		return GA_OK;
	for (int i = 0; i < n; i++) {
		struct writer_item *it = items[i];
		it->next = i + 1 < n ? items[i + 1] : NULL;
		it->done = false;
		it->result = GA_OK;
		it->receipt = NULL;
		it->outbox_id = 0;
		it->draft_made = false;
		it->ends_submit = i == n - 1;
	}
	pthread_mutex_lock(&w->mu);
	if (w->stopping) {
		result = GA_ERR_SHUTDOWN;
		goto out;
	}
	if (w->tail)
		w->tail->next = items[0];
	else
		w->head = items[0];
	w->tail = items[n - 1];
	w->nsubmits++;
	pthread_cond_signal(&w->work);
	/* The writer finishes items in queue order: the last one done means
	 * all are. */
	while (!items[n - 1]->done)
		pthread_cond_wait(&w->done, &w->mu);
	for (int i = 0; i < n; i++)
		if (items[i]->result != GA_OK && result == GA_OK)
			result = items[i]->result;
out:
	pthread_mutex_unlock(&w->mu);
	return result;
}

ga_err writer_submit(struct writer *w, struct writer_item *it)
{
	return writer_submit_many(w, &it, 1);
}

void writer_receipt_acked(struct writer *w, int64_t outbox_id)
{
	pthread_mutex_lock(&w->mu);
	if (w->nacks < WRITER_MAX_ACKS) {
		w->acks[w->nacks++] = outbox_id;
		if (w->nacks == WRITER_ACKS_FLUSH)
			pthread_cond_signal(&w->work);
	} else if (!w->acks_dropped) {
		w->acks_dropped = true;
		log_warnx("writer: too many receipt acknowledgements queued; some receipts "
			  "will be sent again at the next start");
	}
	pthread_mutex_unlock(&w->mu);
}

ga_err writer_last_result(struct writer *w)
{
	pthread_mutex_lock(&w->mu);
	ga_err r = w->last_result;
	pthread_mutex_unlock(&w->mu);
	return r;
}

void writer_free(struct writer *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->mu);
	w->stopping = true;
	pthread_cond_signal(&w->work);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->thread, NULL);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->work);
	pthread_cond_destroy(&w->done);
	free(w->acks);
	free(w);
}
