/* http_worker.c - a few threads that do the slow work of a request (the
 * argon2id hash of a login) off libmicrohttpd's one thread, so that
 * /healthz, /metrics and the public pages answer during a login storm.
 *
 * Each thread has a store connection of its own (opened from [store] path;
 * none when the path is NULL), used by that thread only: the server's
 * connection (struct http.store) stays with the MHD thread. A job touches
 * nothing but its own memory and that connection. */
#include <pthread.h>
#include <stdlib.h>

#include "http_internal.h"
#include "log.h"

struct http_worker {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct http_job *head, *tail; /* waiting, oldest first */
	size_t queued, queue_max;
	bool stopping;
	int nthreads;
	pthread_t threads[HTTP_WORKER_THREADS_MAX];
	struct store *stores[HTTP_WORKER_THREADS_MAX];
};

struct http_worker_arg {
	struct http_worker *w;
	int i;
};

/* Takes the oldest job, or NULL once stopping and the queue is empty. */
static struct http_job *http_worker_take(struct http_worker *w)
{
	struct http_job *j;
	pthread_mutex_lock(&w->mu);
	while (!w->head && !w->stopping)
		pthread_cond_wait(&w->cv, &w->mu);
	j = w->head;
	if (j) {
		w->head = j->next;
		if (!w->head)
			w->tail = NULL;
		w->queued--;
		j->cancelled = w->stopping;
	}
	pthread_mutex_unlock(&w->mu);
	return j;
}

static void *http_worker_main(void *arg)
{
	struct http_worker *w = ((struct http_worker_arg *)arg)->w;
	struct store *st = w->stores[((struct http_worker_arg *)arg)->i];
	struct http_job *j;
	free(arg);
	/* Jobs still queued at a stop are not run but still done: each ends
	 * by handing its connection back to MHD, which must have them all
	 * back before it stops (MHD_stop_daemon panics over a suspended
	 * connection). */
	while ((j = http_worker_take(w)) != NULL) {
		j->next = NULL;
		if (!j->cancelled)
			j->run(j, st);
		/* After done() the job may be freed at once: not touched again. */
		j->done(j);
	}
	return NULL;
}

ga_err http_worker_new(const struct store_options *sopt, int nthreads, size_t queue_max,
		       struct http_worker **out, char *err, size_t errlen)
{
	ga_err result = GA_ERR_NOMEM;
	struct http_worker *w = NULL;

	*out = NULL;
	if (nthreads < 1 || nthreads > HTTP_WORKER_THREADS_MAX || queue_max < 1) {
		snprintf(err, errlen, "http worker: %d threads, queue of %zu", nthreads, queue_max);
		return GA_ERR_INVAL;
	}
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return GA_ERR_NOMEM;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	w->queue_max = queue_max;
	for (int i = 0; sopt && i < nthreads; i++) {
		if ((result = store_open(sopt, &w->stores[i], err, errlen)) != GA_OK)
			goto out;
	}
	for (; w->nthreads < nthreads; w->nthreads++) {
		struct http_worker_arg *a = malloc(sizeof(*a));
		if (!a) {
			result = GA_ERR_NOMEM;
			goto out;
		}
		*a = (struct http_worker_arg){w, w->nthreads};
		if (pthread_create(&w->threads[w->nthreads], NULL, http_worker_main, a) != 0) {
			free(a);
			snprintf(err, errlen, "http worker: cannot start a thread");
			result = GA_ERR_NOMEM;
			goto out;
		}
	}
	*out = w;
	w = NULL;
	result = GA_OK;
out:
	http_worker_free(w);
	return result;
}

ga_err http_worker_submit(struct http_worker *w, struct http_job *j)
{
	ga_err e = GA_OK;
	pthread_mutex_lock(&w->mu);
	if (w->stopping) {
		e = GA_ERR_BUSY;
	} else if (w->queued >= w->queue_max) {
		e = GA_ERR_FULL;
	} else {
		j->next = NULL;
		if (w->tail)
			w->tail->next = j;
		else
			w->head = j;
		w->tail = j;
		w->queued++;
		pthread_cond_signal(&w->cv);
	}
	pthread_mutex_unlock(&w->mu);
	return e;
}

void http_worker_stop(struct http_worker *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->mu);
	w->stopping = true;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	for (int i = 0; i < w->nthreads; i++)
		pthread_join(w->threads[i], NULL);
	w->nthreads = 0;
}

void http_worker_free(struct http_worker *w)
{
	if (!w)
		return;
	http_worker_stop(w);
	for (int i = 0; i < HTTP_WORKER_THREADS_MAX; i++)
		store_close(w->stores[i]);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	free(w);
}
