/* notify.c - notices to people through their webhooks, kept in the
 * notices table (migration 7) until a webhook takes them or their
 * deadline passes.
 *
 * notify_send queues in memory and wakes the thread; the thread stores
 * what is queued (one transaction), then sends what is due from the
 * table with libcurl's multi interface and records each outcome. So a
 * notice outlives a webhook that is down for hours and a restart; only
 * a kill -9 in the milliseconds between notify_send and the thread's
 * insert loses it. */
#include "notify.h"

#include <curl/curl.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store.h"
#include "text.h"
#include "timeutil.h"

#define NOTIFY_URL_MAX 512
#define NOTIFY_PARALLEL 8
#define NOTIFY_TIMEOUT_MS 10000
#define NOTIFY_POLL_MS 1000
#define NOTIFY_STOP_MS 1000
#define NOTIFY_BACKOFF_MIN_MS 1000
#define NOTIFY_BACKOFF_MAX_MS 30000 /* a webhook back up hears within 30 s */
#define NOTIFY_ERR_MAX 256

/* One notice queued by notify_send, not stored yet. */
struct notice {
	const char *audience; /* "officers", "supervisors" */
	char event[STORE_EVENT_MAX];
	char *body;
	struct notice *next;
};

/* One notice being sent. */
struct notify_job {
	int64_t id;
	int attempts;
	int64_t deadline_ms;
	char event[STORE_EVENT_MAX];
	char *body;
	struct curl_slist *headers;
	CURL *easy;
};

struct notify {
	struct log_repeat due_failed; /* said once, then summarised (log.h) */
	char officers_url[NOTIFY_URL_MAX];
	char supervisors_url[NOTIFY_URL_MAX];
	int64_t deadline_ms; /* how long a notice is tried */
	struct store *store; /* the thread's own connection */
	/* Several instances (spec §10): notices are sent only while this
	 * points to true (this instance holds the duties' lease); NULL:
	 * always. */
	const atomic_bool *duty;
	CURLM *multi;
	pthread_t thread;

	pthread_mutex_t mu; /* guards what follows */
	struct notice *head, *tail;
	int queued;
	bool stopping;
	bool wake; /* notify_wake: notices were committed elsewhere */

	/* the thread's own */
	struct notify_job jobs[NOTIFY_PARALLEL];
	int running;
	int64_t next_poll; /* monotonic */
	/* The last read of due notices filled every job slot: more may be
	 * due, read again as soon as a slot frees (not a poll later). */
	bool more;
};

static void notice_free(struct notice *n)
{
	if (n == NULL)
		return;
	free(n->body);
	free(n);
}

static void notice_free_list(struct notice *n)
{
	while (n != NULL) {
		struct notice *next = n->next;
		notice_free(n);
		n = next;
	}
}

static const char *notify_url(const struct notify *nf, const char *audience)
{
	return strcmp(audience, "officers") == 0 ? nf->officers_url : nf->supervisors_url;
}

static size_t notify_discard(char *ptr, size_t size, size_t nmemb, void *arg)
{
	return size * nmemb;
}

/* Stores what notify_send queued, in one transaction. On failure the
 * notices go back to the front of the queue for the next round. */
static void notify_store_queued(struct notify *nf)
{
	struct notice *list, *n, *last = NULL;
	int64_t now = time_now_ms();
	ga_err e;

	pthread_mutex_lock(&nf->mu);
	list = nf->head;
	nf->head = nf->tail = NULL;
	nf->queued = 0;
	pthread_mutex_unlock(&nf->mu);
	if (list == NULL)
		return;
	if ((e = store_begin(nf->store)) == GA_OK) {
		for (n = list; n != NULL && e == GA_OK; n = n->next)
			e = store_notice_insert(nf->store, n->audience, n->event, n->body, now,
						now + nf->deadline_ms, NULL);
		if (e == GA_OK)
			e = store_commit(nf->store);
		else
			store_rollback(nf->store);
	}
	if (e == GA_OK) {
		notice_free_list(list);
		nf->next_poll = 0; /* send them now */
		return;
	}
	log_warnx("notify: cannot store notices: %s; trying again", ga_strerror(e));
	for (n = list; n != NULL; n = n->next)
		last = n;
	pthread_mutex_lock(&nf->mu);
	last->next = nf->head;
	nf->head = list;
	if (nf->tail == NULL)
		nf->tail = last;
	for (n = list; n != NULL; n = n->next)
		nf->queued++;
	pthread_mutex_unlock(&nf->mu);
}

static bool notify_busy(const struct notify *nf, int64_t id)
{
	for (int i = 0; i < NOTIFY_PARALLEL; i++)
		if (nf->jobs[i].easy != NULL && nf->jobs[i].id == id)
			return true;
	return false;
}

static void notify_job_clear(struct notify *nf, struct notify_job *j)
{
	if (j->easy != NULL) {
		curl_multi_remove_handle(nf->multi, j->easy);
		curl_easy_cleanup(j->easy);
		nf->running--;
	}
	free(j->body);
	curl_slist_free_all(j->headers);
	memset(j, 0, sizeof(*j));
}

/* Records the outcome of an attempt at notice j: delivered; or pending
 * again after a backoff; or failed at its deadline. */
static void notify_record(struct notify *nf, struct notify_job *j, bool ok, const char *why)
{
	int64_t now = time_now_ms();
	int64_t delay =
	    time_backoff_ms(NOTIFY_BACKOFF_MIN_MS, NOTIFY_BACKOFF_MAX_MS, j->attempts + 1);
	const char *state = "pending";
	ga_err e;

	if (ok)
		state = "delivered";
	else if (now >= j->deadline_ms)
		state = "failed";
	e = store_notice_finish(nf->store, j->id, state, now + delay, ok ? "" : why, ok ? now : 0);
	if (e != GA_OK)
		log_warnx("notify: cannot record notice %" PRId64 ": %s; it is sent again", j->id,
			  ga_strerror(e));
	else if (strcmp(state, "failed") == 0)
		log_warnx("notify: %s notice %" PRId64 " not taken before its deadline, after %d "
			  "attempts: %s",
			  j->event, j->id, j->attempts + 1, why);
	else if (!ok)
		log_info("notify: %s notice %" PRId64 ": attempt %d failed (%s); next in %" PRId64
			 " ms",
			 j->event, j->id, j->attempts + 1, why, delay);
}

/* Starts sending notice n in a free job slot. */
static bool notify_start_cb(const struct store_notice *n, void *arg)
{
	struct notify *nf = arg;
	struct notify_job *j = NULL;
	const char *url = notify_url(nf, n->audience);
	char key[64];

	if (notify_busy(nf, n->id))
		return true;
	for (int i = 0; i < NOTIFY_PARALLEL && j == NULL; i++)
		if (nf->jobs[i].easy == NULL && nf->jobs[i].body == NULL)
			j = &nf->jobs[i];
	if (j == NULL)
		return false;
	j->id = n->id;
	j->attempts = n->attempts;
	j->deadline_ms = n->deadline_ms;
	snprintf(j->event, sizeof(j->event), "%s", n->event);
	if (url[0] == '\0') {
		/* The webhook was taken out of the config since. */
		j->deadline_ms = 0;
		notify_record(nf, j, false, "no webhook configured for this audience");
		notify_job_clear(nf, j);
		return true;
	}
	snprintf(key, sizeof(key), "Idempotency-Key: notice:%" PRId64, n->id);
	if ((j->body = strdup(n->body)) == NULL ||
	    (j->headers = curl_slist_append(NULL, "Content-Type: application/json")) == NULL ||
	    curl_slist_append(j->headers, key) == NULL ||
	    curl_slist_append(j->headers, "Expect:") == NULL ||
	    (j->easy = curl_easy_init()) == NULL)
		goto fail;
	curl_easy_setopt(j->easy, CURLOPT_URL, url);
	curl_easy_setopt(j->easy, CURLOPT_POSTFIELDS, j->body);
	curl_easy_setopt(j->easy, CURLOPT_HTTPHEADER, j->headers);
	curl_easy_setopt(j->easy, CURLOPT_TIMEOUT_MS, (long)NOTIFY_TIMEOUT_MS);
	curl_easy_setopt(j->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(j->easy, CURLOPT_WRITEFUNCTION, notify_discard);
	curl_easy_setopt(j->easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(j->easy, CURLOPT_PRIVATE, j);
	if (curl_multi_add_handle(nf->multi, j->easy) != CURLM_OK) {
		curl_easy_cleanup(j->easy);
		j->easy = NULL;
		goto fail;
	}
	nf->running++;
	return nf->running < NOTIFY_PARALLEL;
fail:
	log_warnx("notify: out of memory starting notice %" PRId64, n->id);
	notify_job_clear(nf, j);
	return false;
}

/* Reads the finished transfers and records them. */
static void notify_done(struct notify *nf)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(nf->multi, &left)) != NULL) {
		struct notify_job *j = NULL;
		char why[NOTIFY_ERR_MAX];
		long code = 0;
		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&j);
		curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &code);
		if (m->data.result != CURLE_OK)
			snprintf(why, sizeof(why), "%s", curl_easy_strerror(m->data.result));
		else
			snprintf(why, sizeof(why), "HTTP %ld", code);
		notify_record(nf, j, m->data.result == CURLE_OK && code >= 200 && code <= 299, why);
		notify_job_clear(nf, j);
		if (nf->more)
			nf->next_poll = 0;
	}
}

static void *notify_main(void *arg)
{
	struct notify *nf = arg;
	int64_t stop_at = 0;

	for (;;) {
		int64_t mono = time_mono_ms();
		bool stopping;
		int still = 0;
		ga_err e;

		pthread_mutex_lock(&nf->mu);
		stopping = nf->stopping;
		if (nf->wake)
			nf->next_poll = 0;
		nf->wake = false;
		pthread_mutex_unlock(&nf->mu);
		notify_store_queued(nf);
		if (stopping && stop_at == 0)
			stop_at = mono + NOTIFY_STOP_MS;
		if (stopping && (nf->running == 0 || mono >= stop_at))
			break;
		const atomic_bool *duty = nf->duty;
		if (!stopping && mono >= nf->next_poll && nf->running < NOTIFY_PARALLEL &&
		    (duty == NULL || atomic_load(duty))) {
			e = store_notice_due(nf->store, time_now_ms(), NOTIFY_PARALLEL,
					     notify_start_cb, nf);
			if (e != GA_OK)
				log_warnx_repeat(&nf->due_failed, "notify: reading due notices: %s",
						 ga_strerror(e));
			else
				log_repeat_over(&nf->due_failed, "notify: due notices read again");
			nf->more = e == GA_OK && nf->running == NOTIFY_PARALLEL;
			nf->next_poll = mono + NOTIFY_POLL_MS;
		}
		curl_multi_perform(nf->multi, &still);
		notify_done(nf);
		curl_multi_poll(nf->multi, NULL, 0, stopping ? 50 : NOTIFY_POLL_MS, NULL);
	}
	/* Unanswered at the stop: still pending in the table, sent by the
	 * next run. */
	for (int i = 0; i < NOTIFY_PARALLEL; i++)
		notify_job_clear(nf, &nf->jobs[i]);
	pthread_mutex_lock(&nf->mu);
	if (nf->queued > 0)
		log_warnx("notify: %d notices could not be stored at the stop", nf->queued);
	pthread_mutex_unlock(&nf->mu);
	return NULL;
}

static void notify_destroy(struct notify *nf)
{
	notice_free_list(nf->head);
	if (nf->multi != NULL)
		curl_multi_cleanup(nf->multi);
	store_close(nf->store);
	pthread_mutex_destroy(&nf->mu);
	free(nf);
}

ga_err notify_new(const char *officers_url, const char *supervisors_url,
		  const struct store_options *sopt, const atomic_bool *duty, struct notify **out,
		  char *err, size_t errlen)
{
	struct notify *nf = calloc(1, sizeof(*nf));
	int pending = 0;
	ga_err e;

	if (nf == NULL)
		return GA_ERR_NOMEM;
	pthread_mutex_init(&nf->mu, NULL);
	snprintf(nf->officers_url, sizeof(nf->officers_url), "%s",
		 officers_url ? officers_url : "");
	snprintf(nf->supervisors_url, sizeof(nf->supervisors_url), "%s",
		 supervisors_url ? supervisors_url : "");
	nf->deadline_ms = NOTIFY_DEADLINE_MS;
	nf->duty = duty;
	if ((e = store_open(sopt, &nf->store, err, errlen)) != GA_OK)
		goto fail;
	if ((e = store_notice_recover(nf->store, time_now_ms(), &pending)) != GA_OK) {
		snprintf(err, errlen, "notify: cannot read the notices: %s", ga_strerror(e));
		goto fail;
	}
	if (pending > 0)
		log_info("notify: %d notices of an earlier run still to send", pending);
	if ((nf->multi = curl_multi_init()) == NULL) {
		e = GA_ERR_NOMEM;
		snprintf(err, errlen, "notify: out of memory");
		goto fail;
	}
	if (pthread_create(&nf->thread, NULL, notify_main, nf) != 0) {
		e = GA_ERR_NOMEM;
		snprintf(err, errlen, "notify: cannot start its thread");
		goto fail;
	}
	*out = nf;
	return GA_OK;
fail:
	notify_destroy(nf);
	return e;
}

bool notify_send(struct notify *nf, enum notify_audience to, const char *event,
		 const char *alert_id, const char *headline, const char *level, const char *url)
{
	const char *audience = to == NOTIFY_OFFICERS ? "officers" : "supervisors";
	const char *why = "out of memory";
	struct notice *n = NULL;
	json_t *o = NULL;
	bool ok = false;

	if (notify_url(nf, audience)[0] == '\0')
		return false;
	o = json_pack("{s:s, s:s, s:s, s:s, s:s}", "event", event, "alert_id", alert_id, "headline",
		      headline ? headline : "", "level", level ? level : "", "url", url ? url : "");
	/* An officer's edited headline or a device's name may carry
	 * bidirectional controls (reports cannot): a reader of the chat the
	 * webhook posts to must see the text in its written order. */
	if (o == NULL || !text_json_strip_bidi(o) || (n = calloc(1, sizeof(*n))) == NULL ||
	    (n->body = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER)) == NULL)
		goto out;
	why = "too long";
	if (strlen(n->body) > NOTIFY_BODY_MAX)
		goto out;
	why = "the queue is full or the service stops";
	n->audience = audience;
	snprintf(n->event, sizeof(n->event), "%s", event);
	pthread_mutex_lock(&nf->mu);
	if ((ok = nf->queued < NOTIFY_QUEUE_MAX && !nf->stopping)) {
		if (nf->tail != NULL)
			nf->tail->next = n;
		else
			nf->head = n;
		nf->tail = n;
		nf->queued++;
		n = NULL;
	}
	pthread_mutex_unlock(&nf->mu);
	if (ok)
		curl_multi_wakeup(nf->multi);
out:
	if (!ok)
		log_warnx("notify: %s notice for %s dropped: %s", event, alert_id, why);
	notice_free(n);
	json_decref(o);
	return ok;
}

void notify_wake(struct notify *nf)
{
	if (nf == NULL)
		return;
	pthread_mutex_lock(&nf->mu);
	nf->wake = true;
	pthread_mutex_unlock(&nf->mu);
	curl_multi_wakeup(nf->multi);
}

void notify_free(struct notify *nf)
{
	if (nf == NULL)
		return;
	pthread_mutex_lock(&nf->mu);
	nf->stopping = true;
	pthread_mutex_unlock(&nf->mu);
	curl_multi_wakeup(nf->multi);
	pthread_join(nf->thread, NULL);
	notify_destroy(nf);
}
