/* writer.c - group commit: one thread, one transaction per batch. */
#include "writer.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "incident.h"
#include "log.h"
#include "service.h"

struct writer {
	struct store *store;
	struct service *svc;
	int batch_max;

	pthread_mutex_t mu;
	pthread_cond_t work; /* signalled when an item is queued or on stop */
	pthread_cond_t done; /* broadcast when a batch is finished */
	struct writer_item *head, *tail;
	bool stopping;
	ga_err last_result;
	pthread_t thread;
};

/* Stores a rejection inside the open transaction. */
static ga_err writer_put_rejected(struct writer *w, struct writer_item *it)
{
	ga_err result = GA_ERR_NOMEM;
	char *reasons = NULL;
	json_t *arr = report_errors_to_json(it->errs);
	if (!arr)
		goto out;
	reasons = json_dumps(arr, JSON_COMPACT);
	if (!reasons)
		goto out;
	result = store_rejected_put(w->store, it->topic, it->raw, it->rawlen, it->received_ms,
				    reasons);
	it->status = WRITER_REJECTED;
out:
	free(reasons);
	json_decref(arr);
	return result;
}

/* One item inside the open transaction. Only storage failures are
 * returned; a report's own faults become a rejection. */
static ga_err writer_process(struct writer *w, struct writer_item *it)
{
	struct report *r = it->report;
	ga_err result;

	it->incident_id[0] = '\0';
	it->level = -1;
	if (!r)
		return writer_put_rejected(w, it);

	result = store_report_find(w->store, r->station_id, r->report_id, it->incident_id,
				   &it->level);
	if (result == GA_OK) {
		it->status = WRITER_DUPLICATE;
		return GA_OK;
	}
	if (result != GA_ERR_NOTFOUND)
		return result;

	struct incident inc;
	pthread_rwlock_rdlock(&w->svc->lock);
	result = incident_assign(w->store, &w->svc->rules, w->svc->thresholds, r,
				 it->received_ms, &inc);
	pthread_rwlock_unlock(&w->svc->lock);
	if (result == GA_ERR_NOTFOUND) {
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
	return GA_OK;
}

static ga_err writer_commit_batch(struct writer *w, struct writer_item *batch)
{
	ga_err result = store_begin(w->store);
	if (result != GA_OK)
		return result;
	for (struct writer_item *it = batch; it; it = it->next) {
		result = writer_process(w, it);
		if (result != GA_OK) {
			store_rollback(w->store);
			return result;
		}
	}
	return store_commit(w->store);
}

static void *writer_main(void *arg)
{
	struct writer *w = arg;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (!w->head && !w->stopping)
			pthread_cond_wait(&w->work, &w->mu);
		if (!w->head && w->stopping)
			break;

		/* Take up to batch_max items: everything that queued while the
		 * last commit was running. */
		struct writer_item *batch = w->head, *last = w->head;
		int n = 1;
		while (last->next && n < w->batch_max) {
			last = last->next;
			n++;
		}
		w->head = last->next;
		if (!w->head)
			w->tail = NULL;
		last->next = NULL;
		pthread_mutex_unlock(&w->mu);

		ga_err result = writer_commit_batch(w, batch);
		if (result != GA_OK)
			log_warnx("writer: commit of %d reports failed: %s; not acknowledged", n,
				  ga_strerror(result));

		pthread_mutex_lock(&w->mu);
		w->last_result = result;
		for (struct writer_item *it = batch, *next; it; it = next) {
			next = it->next;
			it->result = result;
			it->done = true;
		}
		pthread_cond_broadcast(&w->done);
	}
	pthread_mutex_unlock(&w->mu);
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
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->work, NULL);
	pthread_cond_init(&w->done, NULL);
	if (pthread_create(&w->thread, NULL, writer_main, w) != 0) {
		pthread_mutex_destroy(&w->mu);
		pthread_cond_destroy(&w->work);
		pthread_cond_destroy(&w->done);
		free(w);
		return GA_ERR_NOMEM;
	}
	*out = w;
	return GA_OK;
}

ga_err writer_submit(struct writer *w, struct writer_item *it)
{
	ga_err result;

	it->next = NULL;
	it->done = false;
	it->result = GA_OK;
	pthread_mutex_lock(&w->mu);
	if (w->stopping) {
		result = GA_ERR_SHUTDOWN;
		goto out;
	}
	if (w->tail)
		w->tail->next = it;
	else
		w->head = it;
	w->tail = it;
	pthread_cond_signal(&w->work);
	while (!it->done)
		pthread_cond_wait(&w->done, &w->mu);
	result = it->result;
out:
	pthread_mutex_unlock(&w->mu);
	return result;
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
	free(w);
}
