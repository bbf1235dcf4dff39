/* notify.c - webhook notices through libcurl multi. */
#include "notify.h"

#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "timeutil.h"

#define NOTIFY_PARALLEL 8
#define NOTIFY_TIMEOUT_MS 10000

struct notice {
	char *url;
	char *body;
	int tries;
	int64_t due_ms; /* monotonic: not before */
	struct notice *next;
};

struct notify {
	char officers_url[512];
	char supervisors_url[512];
	pthread_mutex_t mu;
	pthread_cond_t cond;
	struct notice *head, *tail;
	int queued;
	bool stopping;
	pthread_t thread;
};

static void notice_free(struct notice *n)
{
	if (!n)
		return;
	free(n->url);
	free(n->body);
	free(n);
}

static size_t notify_discard(char *ptr, size_t size, size_t nmemb, void *arg)
{
	return size * nmemb;
}

static CURL *notify_easy(struct notice *n, struct curl_slist *headers)
{
	CURL *e = curl_easy_init();
	if (!e)
		return NULL;
	curl_easy_setopt(e, CURLOPT_URL, n->url);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, n->body);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)NOTIFY_TIMEOUT_MS);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, notify_discard);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_PRIVATE, n);
	return e;
}

/* Puts a failed notice back with backoff, or drops it after NOTIFY_TRIES. */
static void notify_retry(struct notify *nf, struct notice *n, const char *why)
{
	if (++n->tries >= NOTIFY_TRIES) {
		log_warnx("notify: giving up on %s after %d tries: %s", n->url, n->tries, why);
		notice_free(n);
		return;
	}
	n->due_ms = time_mono_ms() + 1000LL * (1 << n->tries);
	pthread_mutex_lock(&nf->mu);
	n->next = NULL;
	if (nf->tail)
		nf->tail->next = n;
	else
		nf->head = n;
	nf->tail = n;
	nf->queued++;
	pthread_mutex_unlock(&nf->mu);
}

static void *notify_main(void *arg)
{
	struct notify *nf = arg;
	CURLM *multi = curl_multi_init();
	struct curl_slist *headers = curl_slist_append(NULL, "Content-Type: application/json");
	CURL *active[NOTIFY_PARALLEL] = {0};
	int running = 0;
	int64_t stop_deadline = 0;

	if (!multi || !headers)
		fatalx("notify: cannot initialise libcurl");
	for (;;) {
		pthread_mutex_lock(&nf->mu);
		if (nf->stopping && !stop_deadline)
			stop_deadline = time_mono_ms() + 1000;
		if (nf->stopping &&
		    ((!nf->head && running == 0) || time_mono_ms() > stop_deadline)) {
			pthread_mutex_unlock(&nf->mu);
			break;
		}
		/* Start what is due, up to NOTIFY_PARALLEL at once. */
		int64_t now = time_mono_ms();
		struct notice **pp = &nf->head, *prev = NULL;
		while (*pp && running < NOTIFY_PARALLEL) {
			struct notice *n = *pp;
			if (n->due_ms > now) {
				prev = n;
				pp = &n->next;
				continue;
			}
			*pp = n->next;
			if (nf->tail == n)
				nf->tail = prev;
			nf->queued--;
			CURL *e = notify_easy(n, headers);
			if (!e || curl_multi_add_handle(multi, e) != CURLM_OK) {
				curl_easy_cleanup(e);
				notice_free(n);
				continue;
			}
			for (int i = 0; i < NOTIFY_PARALLEL; i++)
				if (!active[i]) {
					active[i] = e;
					break;
				}
			running++;
		}
		if (running == 0 && !nf->stopping) {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += 1;
			pthread_cond_timedwait(&nf->cond, &nf->mu, &ts);
			pthread_mutex_unlock(&nf->mu);
			continue;
		}
		pthread_mutex_unlock(&nf->mu);

		int still = 0;
		curl_multi_perform(multi, &still);
		CURLMsg *m;
		int left;
		while ((m = curl_multi_info_read(multi, &left))) {
			if (m->msg != CURLMSG_DONE)
				continue;
			CURL *e = m->easy_handle;
			struct notice *n = NULL;
			long code = 0;
			curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&n);
			curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
			CURLcode rc = m->data.result;
			curl_multi_remove_handle(multi, e);
			curl_easy_cleanup(e);
			for (int i = 0; i < NOTIFY_PARALLEL; i++)
				if (active[i] == e)
					active[i] = NULL;
			running--;
			if (rc != CURLE_OK)
				notify_retry(nf, n, curl_easy_strerror(rc));
			else if (code < 200 || code > 299)
				notify_retry(nf, n, code >= 500 ? "server error" : "refused");
			else
				notice_free(n);
		}
		curl_multi_poll(multi, NULL, 0, 200, NULL);
	}
	/* Whatever is still running at the deadline is dropped. */
	for (int i = 0; i < NOTIFY_PARALLEL; i++) {
		if (!active[i])
			continue;
		struct notice *n = NULL;
		curl_easy_getinfo(active[i], CURLINFO_PRIVATE, (char **)&n);
		curl_multi_remove_handle(multi, active[i]);
		curl_easy_cleanup(active[i]);
		notice_free(n);
	}
	curl_multi_cleanup(multi);
	curl_slist_free_all(headers);
	return NULL;
}

ga_err notify_new(const char *officers_url, const char *supervisors_url, struct notify **out)
{
	struct notify *nf = calloc(1, sizeof(*nf));
	if (!nf)
		return GA_ERR_NOMEM;
	snprintf(nf->officers_url, sizeof(nf->officers_url), "%s",
		 officers_url ? officers_url : "");
	snprintf(nf->supervisors_url, sizeof(nf->supervisors_url), "%s",
		 supervisors_url ? supervisors_url : "");
	pthread_mutex_init(&nf->mu, NULL);
	pthread_cond_init(&nf->cond, NULL);
	if (pthread_create(&nf->thread, NULL, notify_main, nf) != 0) {
		pthread_mutex_destroy(&nf->mu);
		pthread_cond_destroy(&nf->cond);
		free(nf);
		return GA_ERR_NOMEM;
	}
	*out = nf;
	return GA_OK;
}

bool notify_send(struct notify *nf, enum notify_audience to, const char *event,
		 const char *alert_id, const char *headline, const char *level, const char *url)
{
	const char *target = to == NOTIFY_OFFICERS ? nf->officers_url : nf->supervisors_url;
	if (!target[0])
		return false;
	json_t *o =
	    json_pack("{s:s, s:s, s:s, s:s, s:s}", "event", event, "alert_id", alert_id, "headline",
		      headline ? headline : "", "level", level ? level : "", "url", url ? url : "");
	char *body = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(o);
	struct notice *n = body ? calloc(1, sizeof(*n)) : NULL;
	if (!n || strlen(body) > NOTIFY_BODY_MAX || !(n->url = strdup(target))) {
		free(body);
		notice_free(n);
		return false;
	}
	n->body = body;
	pthread_mutex_lock(&nf->mu);
	bool ok = nf->queued < NOTIFY_QUEUE_MAX && !nf->stopping;
	if (ok) {
		if (nf->tail)
			nf->tail->next = n;
		else
			nf->head = n;
		nf->tail = n;
		nf->queued++;
		pthread_cond_signal(&nf->cond);
	}
	pthread_mutex_unlock(&nf->mu);
	if (!ok) {
		log_warnx("notify: queue full, %s notice for %s dropped", event, alert_id);
		notice_free(n);
	}
	return ok;
}

void notify_free(struct notify *nf)
{
	if (!nf)
		return;
	pthread_mutex_lock(&nf->mu);
	nf->stopping = true;
	pthread_cond_signal(&nf->cond);
	pthread_mutex_unlock(&nf->mu);
	pthread_join(nf->thread, NULL);
	struct notice *n = nf->head;
	while (n) {
		struct notice *next = n->next;
		notice_free(n);
		n = next;
	}
	pthread_mutex_destroy(&nf->mu);
	pthread_cond_destroy(&nf->cond);
	free(nf);
}
