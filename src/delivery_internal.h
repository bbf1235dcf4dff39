/* delivery_internal.h - private to delivery_worker.c and delivery_send.c:
 * the worker's state, and sending one step of a delivery (an HTTP or
 * SMTP transfer through libcurl multi, or an mqtt publish). */
#ifndef GA_DELIVERY_INTERNAL_H
#define GA_DELIVERY_INTERNAL_H

#include <curl/curl.h>
#include <pthread.h>

#include "channel.h"
#include "delivery.h"
#include "delivery_limit.h"
#include "log.h"
#include "workflow.h"

/* + "/alerts/{id}", or "/warnings/" and a 64-character product_id */
#define DELIVERY_URL_MAX (CONFIG_STR_MAX + 96)
#define DELIVERY_RATE_WAIT_MS 60000 /* refused for rate without Retry-After */
#define DELIVERY_MQTT_DONE_MAX DELIVERY_INFLIGHT_MAX

_Static_assert(CHANNEL_SCRATCH_MAX == STORE_SCRATCH_MAX, "a job's scratch is stored whole");

struct delivery_chan {
	struct channel *c;
	int inflight;
	struct delivery_limit per_min, per_s;
};

struct delivery_job {
	struct store_delivery row; /* as read when started */
	struct delivery_chan *dc;
	json_t *alert;
	char public_url[DELIVERY_URL_MAX];
	struct channel_job cj;
	struct channel_request req;
	CURL *easy;
	char curl_err[CURL_ERROR_SIZE]; /* curl's own words on a failed transfer */
	char *answer;
	size_t answerlen;
	size_t uploaded; /* smtp: bytes of req.body read by curl */
	bool waiting;	 /* its next step waits for the channel's rate limits */
	char retry_after[64];
	int mid;	      /* mqtt */
	int64_t expires_mono; /* mqtt: no PUBACK by then is a failure */
	bool finished;
	bool late; /* not given up, late: the supervisors are told */
	enum channel_verdict verdict;
	char err[CHANNEL_ERR_MAX];
	struct delivery_job *next;
};

struct delivery {
	struct log_repeat due_failed; /* said once, then summarised (log.h) */
	const struct config *cfg;
	struct workflow_ctx wf;
	struct notify *notify;
	struct metrics *metrics; /* may be NULL */
	struct store *store;
	struct delivery_chan chans[CONFIG_MAX_CHANNELS];
	int nchans;
	CURLM *multi;
	pthread_t thread;
	bool started;

	pthread_mutex_t mu; /* guards what follows */
	bool kicked, stopping;
	struct {
		const struct channel *c;
		int mid;
	} mqtt_done[DELIVERY_MQTT_DONE_MAX];
	int nmqtt_done;

	/* the worker thread's own */
	struct delivery_job *jobs;
	int njobs;
	struct store_delivery *due; /* DELIVERY_BATCH rows */
	int ndue;
	int64_t wake_mono; /* a rate limit frees a slot then */
};

/* Frees j (its alert, request and answer); NULL is fine. */
void delivery_job_free(struct delivery_job *j);
/* Ends j now with verdict v (a failure to even start), why as its error. */
void delivery_job_fail(struct delivery_job *j, enum channel_verdict v, const char *why);
/* Sends j's current step: builds the channel's request and adds it to
 * d's curl multi handle (HTTP, SMTP), or publishes it (mqtt). A step that
 * cannot even start ends j (delivery_job_fail). */
void delivery_launch(struct delivery *d, struct delivery_job *j);
/* Takes j's transfer off d's multi handle, if any. */
void delivery_job_unlink(struct delivery *d, struct delivery_job *j);
/* A Retry-After value (seconds or an HTTP-date) as a wall-clock time in
 * ms, capped at DELIVERY_RETRY_AFTER_MAX_S from now_ms; 0 when none. */
int64_t delivery_retry_after(const char *v, int64_t now_ms);

#endif
