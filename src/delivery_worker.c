/* delivery_worker.c - the delivery worker: one thread, its own store
 * connection, libcurl multi for the HTTP channels and each mqtt
 * channel's own broker connection. It reads the due rows (when kicked,
 * and every DELIVERY_POLL_MS), marks the ones it starts sending in one
 * transaction, and records the outcomes of a round in one transaction:
 * delivered; or pending again after exponential backoff with jitter (and
 * not before a Retry-After); or failed — past the channel's deadline, or
 * at once when the channel says it can never succeed (CHANNEL_FAIL) —
 * with the supervisors told once that is stored. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "delivery_internal.h"
#include "log.h"
#include "metrics.h"
#include "notify.h"
#include "riskwarning_deliver.h"
#include "sign.h"
#include "timeutil.h"

/* --- starting due rows --------------------------------------------- */

static struct delivery_chan *delivery_chan_find(struct delivery *d, const char *name)
{
	for (int i = 0; i < d->nchans; i++)
		if (strcmp(channel_name(d->chans[i].c), name) == 0)
			return &d->chans[i];
	return NULL;
}

static bool delivery_busy(const struct delivery *d, int64_t id)
{
	for (const struct delivery_job *j = d->jobs; j != NULL; j = j->next)
		if (j->row.id == id)
			return true;
	return false;
}

static bool delivery_due_cb(const struct store_delivery *row, void *arg)
{
	struct delivery *d = arg;

	d->due[d->ndue++] = *row;
	return d->ndue < DELIVERY_BATCH;
}

/* Whether dc's rate limits let one more request go now (and counts it);
 * else when they may (folded into d->wake_mono). Every request counts,
 * each step of a multi-step delivery too: an SMS gateway limits its
 * requests, not our deliveries. */
static bool delivery_rate_take(struct delivery *d, struct delivery_chan *dc, int64_t mono)
{
	int64_t next = 0;

	if (!delivery_limit_ok(&dc->per_min, mono, &next) ||
	    !delivery_limit_ok(&dc->per_s, mono, &next)) {
		if (d->wake_mono == 0 || next < d->wake_mono)
			d->wake_mono = next;
		return false;
	}
	delivery_limit_take(&dc->per_min, mono, NULL);
	delivery_limit_take(&dc->per_s, mono, NULL);
	return true;
}

/* Whether dc may start one more delivery now. */
static bool delivery_may_start(struct delivery *d, struct delivery_chan *dc, int64_t mono)
{
	if (dc->inflight >= channel_limits(dc->c)->concurrency)
		return false;
	return delivery_rate_take(d, dc, mono);
}

/* Makes a job of row (not started yet); NULL when it cannot be sent now.
 * A row whose channel or version is gone is failed on the spot. */
static struct delivery_job *delivery_job_new(struct delivery *d, const struct store_delivery *row,
					     int64_t mono, struct delivery_job **failed)
{
	struct delivery_chan *dc = delivery_chan_find(d, row->channel);
	const char *rw = riskwarning_deliver_product(row->alert_id); /* a risk warning's row */
	struct delivery_job *j;
	ga_err e;

	if (dc != NULL && (d->njobs >= DELIVERY_INFLIGHT_MAX || !delivery_may_start(d, dc, mono)))
		return NULL;
	if ((j = calloc(1, sizeof(*j))) == NULL)
		return NULL;
	j->row = *row;
	j->dc = dc;
	snprintf(j->public_url, sizeof(j->public_url), "%s/%s/%s", d->cfg->http.public_base_url,
		 rw ? "warnings" : "alerts", rw ? rw : row->alert_id);
	if (dc == NULL) {
		delivery_job_fail(j, CHANNEL_RETRY, "channel no longer configured");
		j->row.deadline_ms = 0; /* nothing to wait for */
		j->next = *failed;
		*failed = j;
		return NULL;
	}
	e = rw ? riskwarning_deliver_message(d->store, d->cfg, rw, row->version, row->msg_type,
					     row->channel, time_now_ms(), &j->alert)
	       : workflow_published_json(d->store, &d->wf, row->alert_id, row->version, &j->alert);
	if (rw && e == GA_ERR_CONFLICT) {
		/* The warning's valid_to has passed: not sent late, failed now
		 * (riskwarning_deliver.h). */
		delivery_job_fail(j, CHANNEL_FAIL, "expired");
		j->next = *failed;
		*failed = j;
		return NULL;
	}
	/* The JSON /alerts/{id}.json serves: signed the same way. */
	if (e == GA_OK && d->wf.signer != NULL)
		e = sign_alert(d->wf.signer, j->alert);
	if (e != GA_OK) {
		log_warnx("delivery: %s version %d: %s", row->alert_id, row->version,
			  ga_strerror(e));
		delivery_job_free(j);
		return NULL;
	}
	j->cj.alert_id = rw ? riskwarning_deliver_product(j->row.alert_id) : j->row.alert_id;
	j->cj.version = j->row.version;
	j->cj.msg_type = j->row.msg_type;
	j->cj.idem_key = j->row.idem_key;
	j->cj.alert = j->alert;
	j->cj.public_url = j->public_url;
	j->cj.step = row->step; /* where an earlier attempt got to */
	memcpy(j->cj.scratch, row->scratch, sizeof(j->cj.scratch));
	return j;
}

/* Reads the due rows and starts what the limits allow. */
static void delivery_poll(struct delivery *d, struct delivery_job **finished)
{
	struct delivery_job *fresh = NULL, *j, *next;
	int64_t now = time_now_ms(), mono = time_mono_ms();
	ga_err e;

	d->ndue = 0;
	d->wake_mono = 0;
	if ((e = store_delivery_due(d->store, now, DELIVERY_BATCH, delivery_due_cb, d)) != GA_OK) {
		log_warnx_repeat(&d->due_failed, "delivery: reading due rows: %s", ga_strerror(e));
		return;
	}
	log_repeat_over(&d->due_failed, "delivery: due rows read again");
	for (int i = 0; i < d->ndue; i++) {
		if (delivery_busy(d, d->due[i].id))
			continue;
		if ((j = delivery_job_new(d, &d->due[i], mono, finished)) != NULL) {
			j->next = fresh;
			fresh = j;
			j->dc->inflight++;
			d->njobs++;
		}
	}
	if (fresh == NULL)
		return;
	/* Marked sending first: a crash from here on retries them. */
	if ((e = store_begin(d->store)) == GA_OK) {
		for (j = fresh; j != NULL && e == GA_OK; j = j->next) {
			int64_t retry =
			    now + channel_limits(j->dc->c)->timeout_ms * 2 + DELIVERY_GRACE_MS;
			e = store_delivery_start(d->store, j->row.id, retry);
		}
		if (e == GA_OK)
			e = store_commit(d->store);
		else
			store_rollback(d->store);
	}
	for (j = fresh; j != NULL; j = next) {
		next = j->next;
		if (e != GA_OK) {
			j->dc->inflight--;
			d->njobs--;
			delivery_job_free(j);
			continue;
		}
		j->row.attempts++;
		j->next = d->jobs;
		d->jobs = j;
		delivery_launch(d, j);
	}
	if (e != GA_OK)
		log_warnx("delivery: cannot mark rows sending: %s", ga_strerror(e));
}

/* --- outcomes ------------------------------------------------------ */

static const char *delivery_str(const json_t *o, const char *key)
{
	const char *v = json_string_value(json_object_get(o, key));
	return v != NULL ? v : "";
}

/* The supervisors' notice of a delivery that failed or is late (event). */
static void delivery_tell_supervisors(struct delivery *d, const struct delivery_job *j,
				      const char *event)
{
	char headline[CHANNEL_ERR_MAX + STORE_HEADLINE_MAX];

	if (d->notify == NULL)
		return;
	snprintf(headline, sizeof(headline), "[%s] %s", j->row.channel,
		 j->alert ? delivery_str(j->alert, "headline") : "");
	notify_send(d->notify, NOTIFY_SUPERVISORS, event, j->row.alert_id, headline,
		    j->alert ? delivery_str(j->alert, "level") : "", j->public_url);
}

/* Writes the outcome of each finished job in one transaction; then tells
 * supervisors of the failed ones. Returns true when some row was
 * delivered (a later version may be due now). */
static bool delivery_record(struct delivery *d, struct delivery_job *done)
{
	int64_t now = time_now_ms();
	bool delivered = false;
	ga_err e;

	if (done == NULL)
		return false;
	if ((e = store_begin(d->store)) != GA_OK) {
		log_warnx("delivery: cannot record outcomes: %s", ga_strerror(e));
		return false;
	}
	for (struct delivery_job *j = done; j != NULL && e == GA_OK; j = j->next) {
		struct store_delivery *r = &j->row;
		if (j->verdict == CHANNEL_DONE) {
			snprintf(r->state, sizeof(r->state), "delivered");
			e = store_delivery_finish(d->store, r->id, r->state, now, r->last_error,
						  now);
			continue;
		}
		snprintf(r->last_error, sizeof(r->last_error), "%s", j->err);
		if (now >= r->deadline_ms || j->verdict == CHANNEL_FAIL) {
			snprintf(r->state, sizeof(r->state), "failed");
			e = store_delivery_finish(d->store, r->id, r->state, now, j->err, 0);
			continue;
		}
		const struct channel_limits *lim = channel_limits(j->dc->c);
		int64_t next = now + time_backoff_ms(lim->backoff_initial_ms, lim->backoff_max_ms,
						     r->attempts);
		int64_t after = delivery_retry_after(j->retry_after, now);
		if (next > r->deadline_ms)
			next = r->deadline_ms;
		if (j->verdict == CHANNEL_RATE && after == 0)
			after = now + DELIVERY_RATE_WAIT_MS;
		if (after > next)
			next = after; /* never before the server said */
		/* Never given up: the supervisors hear once that it is late,
		 * from the attempt whose wait spans the mark (due at or before
		 * it, the next one after it). */
		int64_t late = r->created_ms + lim->late_ms;
		j->late =
		    r->deadline_ms == DELIVERY_NEVER && r->next_attempt_ms <= late && next > late;
		snprintf(r->state, sizeof(r->state), "pending");
		r->next_attempt_ms = next;
		e = store_delivery_finish(d->store, r->id, r->state, next, j->err, 0);
	}
	if (e == GA_OK)
		e = store_commit(d->store);
	else
		store_rollback(d->store);
	if (e != GA_OK) {
		/* The rows stay sending and come back when their retry time
		 * passes: the same key again, nothing lost. */
		log_warnx("delivery: cannot record outcomes: %s", ga_strerror(e));
		return false;
	}
	for (struct delivery_job *j = done; j != NULL; j = j->next) {
		const struct store_delivery *r = &j->row;
		if (strcmp(r->state, "delivered") == 0) {
			delivered = true;
			if (d->metrics != NULL)
				metrics_observe_ms(&d->metrics->confirm_delivered, r->channel,
						   (double)(now - r->created_ms));
			log_info("delivery: %s version %d delivered to %s (attempt %d)",
				 r->alert_id, r->version, r->channel, r->attempts);
		} else if (strcmp(r->state, "failed") == 0) {
			log_warnx("delivery: %s version %d to %s failed after %d attempts: %s",
				  r->alert_id, r->version, r->channel, r->attempts, r->last_error);
			delivery_tell_supervisors(d, j, "delivery_failed");
		} else if (j->late) {
			log_warnx(
			    "delivery: %s version %d to %s not delivered after %d attempts in "
			    "%lld min; still trying: %s",
			    r->alert_id, r->version, r->channel, r->attempts,
			    (long long)((now - r->created_ms) / 60000), r->last_error);
			delivery_tell_supervisors(d, j, "delivery_late");
		} else {
			log_info("delivery: %s version %d to %s: attempt %d failed (%s); next in "
				 "%lld ms",
				 r->alert_id, r->version, r->channel, r->attempts, r->last_error,
				 (long long)(r->next_attempt_ms - now));
		}
	}
	return delivered;
}

/* Moves the finished jobs off d->jobs onto *done. */
static void delivery_reap(struct delivery *d, struct delivery_job **done)
{
	struct delivery_job **pp = &d->jobs, *j;

	while ((j = *pp) != NULL) {
		if (!j->finished) {
			pp = &j->next;
			continue;
		}
		*pp = j->next;
		delivery_job_unlink(d, j);
		j->dc->inflight--;
		d->njobs--;
		j->next = *done;
		*done = j;
	}
}

/* The step of j went through: stores where j got to, so that a retry
 * (even after kill -9) does not repeat it, and launches the next step
 * when the channel's rate limits allow, else leaves j waiting. A step
 * whose progress cannot be stored is not followed: the retry starts from
 * the last progress stored. */
static void delivery_next_step(struct delivery *d, struct delivery_job *j)
{
	ga_err e;

	if (j->cj.step + 1 >= CHANNEL_STEPS_MAX) {
		delivery_job_fail(j, CHANNEL_RETRY, "too many steps");
		return;
	}
	j->cj.step++;
	if ((e = store_delivery_progress(d->store, j->row.id, j->cj.step, j->cj.scratch)) !=
	    GA_OK) {
		char why[CHANNEL_ERR_MAX];
		snprintf(why, sizeof(why), "cannot store progress at step %d: %s", j->cj.step,
			 ga_strerror(e));
		delivery_job_fail(j, CHANNEL_RETRY, why);
		return;
	}
	j->waiting = !delivery_rate_take(d, j->dc, time_mono_ms());
	if (!j->waiting)
		delivery_launch(d, j);
}

/* Launches the waiting steps the rate limits now allow. */
static void delivery_resume(struct delivery *d)
{
	int64_t mono = time_mono_ms();

	for (struct delivery_job *j = d->jobs; j != NULL; j = j->next) {
		if (!j->waiting || j->finished || !delivery_rate_take(d, j->dc, mono))
			continue;
		j->waiting = false;
		delivery_launch(d, j);
	}
}

/* Reads curl's finished transfers; a step that went through launches
 * the next one of its job. */
static void delivery_http_done(struct delivery *d)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(d->multi, &left)) != NULL) {
		struct delivery_job *j = NULL;
		long status = 0;
		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&j);
		curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &status);
		CURLcode rc = m->data.result;
		delivery_job_unlink(d, j);
		if (rc != CURLE_OK) {
			/* curl's name for the failure, then its detail ("SSL
			 * certificate problem: unable to get local issuer
			 * certificate"): an officer can act on the detail. */
			char what[CHANNEL_ERR_MAX], why[CHANNEL_ERR_MAX];
			if (j->curl_err[0])
				snprintf(what, sizeof(what), "%.60s: %.180s",
					 curl_easy_strerror(rc), j->curl_err);
			else
				snprintf(what, sizeof(what), "%s", curl_easy_strerror(rc));
			if (status > 0) /* an SMTP refusal ends the transfer too */
				snprintf(why, sizeof(why), "%.200s (server said %ld)", what,
					 status);
			else
				snprintf(why, sizeof(why), "%s", what);
			delivery_job_fail(j, CHANNEL_RETRY, why);
			continue;
		}
		j->verdict = channel_answer(j->dc->c, &j->cj, status, j->answer ? j->answer : "",
					    j->answerlen, j->err, sizeof(j->err));
		if (j->verdict == CHANNEL_NEXT)
			delivery_next_step(d, j);
		else
			j->finished = true;
	}
}

/* Matches the broker's acknowledgements to mqtt jobs; times out the
 * ones that waited too long. */
static void delivery_mqtt_check(struct delivery *d)
{
	struct {
		const struct channel *c;
		int mid;
	} acks[DELIVERY_MQTT_DONE_MAX];
	int n;
	int64_t mono = time_mono_ms();

	pthread_mutex_lock(&d->mu);
	n = d->nmqtt_done;
	memcpy(acks, d->mqtt_done, (size_t)n * sizeof(acks[0]));
	d->nmqtt_done = 0;
	pthread_mutex_unlock(&d->mu);
	for (struct delivery_job *j = d->jobs; j != NULL; j = j->next) {
		if (j->finished || channel_transport(j->dc->c) != CHANNEL_MQTT)
			continue;
		for (int i = 0; i < n; i++) {
			if (acks[i].c == j->dc->c && acks[i].mid == j->mid) {
				j->finished = true;
				j->verdict = CHANNEL_DONE;
			}
		}
		if (!j->finished && mono > j->expires_mono)
			delivery_job_fail(j, CHANNEL_RETRY, "no PUBACK from the broker in time");
	}
}

static void delivery_on_mqtt_ack(void *arg, const struct channel *c, int mid)
{
	struct delivery *d = arg;

	pthread_mutex_lock(&d->mu);
	if (d->nmqtt_done < DELIVERY_MQTT_DONE_MAX) {
		d->mqtt_done[d->nmqtt_done].c = c;
		d->mqtt_done[d->nmqtt_done].mid = mid;
		d->nmqtt_done++;
	}
	pthread_mutex_unlock(&d->mu);
	if (d->multi != NULL)
		curl_multi_wakeup(d->multi);
}

static void delivery_free_list(struct delivery_job *j)
{
	while (j != NULL) {
		struct delivery_job *next = j->next;
		delivery_job_free(j);
		j = next;
	}
}

/* At stop: what is still unanswered is pending again, due now. */
static void delivery_abandon(struct delivery *d)
{
	struct delivery_job *j;
	int64_t now = time_now_ms();
	ga_err e = store_begin(d->store);

	for (j = d->jobs; j != NULL; j = j->next) {
		delivery_job_unlink(d, j);
		if (e == GA_OK)
			e = store_delivery_finish(d->store, j->row.id, "pending", now,
						  "interrupted by a stop", 0);
	}
	if (e == GA_OK)
		e = store_commit(d->store);
	else
		store_rollback(d->store);
	if (e != GA_OK)
		log_warnx("delivery: at stop: %s; the rows are sent again later", ga_strerror(e));
	delivery_free_list(d->jobs);
	d->jobs = NULL;
	d->njobs = 0;
}

static void *delivery_main(void *arg)
{
	struct delivery *d = arg;
	int64_t next_poll = 0, stop_at = 0;

	for (;;) {
		struct delivery_job *done = NULL;
		bool kicked, stopping;
		int64_t mono = time_mono_ms(), wait;
		int running = 0;

		pthread_mutex_lock(&d->mu);
		kicked = d->kicked;
		d->kicked = false;
		stopping = d->stopping;
		pthread_mutex_unlock(&d->mu);
		if (stopping && stop_at == 0)
			stop_at = mono + DELIVERY_STOP_MS;
		if (stopping && (d->jobs == NULL || mono >= stop_at))
			break;
		const atomic_bool *duty = d->wf.duty;
		bool on_duty = duty == NULL || atomic_load(duty);
		if (!stopping && on_duty &&
		    (kicked || mono >= next_poll || (d->wake_mono != 0 && mono >= d->wake_mono))) {
			delivery_poll(d, &done);
			next_poll = mono + DELIVERY_POLL_MS;
		} else if (!on_duty && mono >= next_poll) {
			/* Another instance holds the duties: look again at the
			 * next poll, not at once (a next_poll left in the past
			 * made this loop spin a core). */
			next_poll = mono + DELIVERY_POLL_MS;
		}
		curl_multi_perform(d->multi, &running);
		delivery_http_done(d);
		delivery_resume(d);
		delivery_mqtt_check(d);
		delivery_reap(d, &done);
		if (delivery_record(d, done)) {
			pthread_mutex_lock(&d->mu);
			d->kicked = true; /* the next version may be due */
			pthread_mutex_unlock(&d->mu);
		}
		delivery_free_list(done);

		mono = time_mono_ms();
		wait = next_poll - mono;
		if (on_duty && d->wake_mono != 0 && d->wake_mono - mono < wait)
			wait = d->wake_mono - mono;
		if (stopping)
			wait = 50;
		if (wait > DELIVERY_POLL_MS)
			wait = DELIVERY_POLL_MS;
		pthread_mutex_lock(&d->mu);
		if (d->kicked || d->nmqtt_done > 0)
			wait = 0;
		pthread_mutex_unlock(&d->mu);
		if (wait > 0)
			curl_multi_poll(d->multi, NULL, 0, (int)wait, NULL);
	}
	delivery_abandon(d);
	return NULL;
}

/* --- start and stop ------------------------------------------------ */

static void delivery_free(struct delivery *d)
{
	for (int i = 0; i < d->nchans; i++) {
		channel_free(d->chans[i].c);
		delivery_limit_cleanup(&d->chans[i].per_min);
		delivery_limit_cleanup(&d->chans[i].per_s);
	}
	if (d->multi != NULL)
		curl_multi_cleanup(d->multi);
	store_close(d->store);
	pthread_mutex_destroy(&d->mu);
	free(d->due);
	free(d);
}

ga_err delivery_start(const struct config *cfg, const struct workflow_ctx *wf,
		      struct notify *notify, struct metrics *metrics, struct delivery **out,
		      char *err, size_t errlen)
{
	struct store_options sopt = {.path = cfg->store.path,
				     .url = cfg->store.url,
				     .password_file = cfg->store.password_file,
				     .max_page_count = cfg->store.max_page_count};
	struct delivery *d = calloc(1, sizeof(*d));
	int recovered = 0;
	ga_err e = GA_ERR_NOMEM;

	if (d == NULL)
		return GA_ERR_NOMEM;
	pthread_mutex_init(&d->mu, NULL);
	d->cfg = cfg;
	d->wf = *wf;
	d->notify = notify;
	d->metrics = metrics;
	if ((d->due = calloc(DELIVERY_BATCH, sizeof(*d->due))) == NULL ||
	    (d->multi = curl_multi_init()) == NULL) {
		snprintf(err, errlen, "delivery: out of memory");
		goto fail;
	}
	curl_multi_setopt(d->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)DELIVERY_INFLIGHT_MAX);
	if ((e = store_open(&sopt, &d->store, err, errlen)) != GA_OK)
		goto fail;
	/* Every section, disabled ones too: an update follows the alert it
	 * updates to a channel disabled since. */
	for (int i = 0; i < cfg->nchannels; i++) {
		struct delivery_chan *dc = &d->chans[d->nchans];
		const struct channel_limits *lim;
		if ((e = channel_open(cfg, &cfg->channels[i], delivery_on_mqtt_ack, d, &dc->c, err,
				      errlen)) != GA_OK)
			goto fail;
		d->nchans++;
		lim = channel_limits(dc->c);
		if ((e = delivery_limit_init(&dc->per_min, lim->rate_per_min, 60000)) != GA_OK ||
		    (e = delivery_limit_init(&dc->per_s, lim->rate_per_s, 1000)) != GA_OK) {
			snprintf(err, errlen, "delivery: out of memory");
			goto fail;
		}
	}
	if ((e = store_delivery_recover(d->store, time_now_ms(), &recovered)) != GA_OK) {
		snprintf(err, errlen, "delivery: cannot read the ledger: %s", ga_strerror(e));
		goto fail;
	}
	if (recovered > 0)
		log_info("delivery: %d deliveries were being sent when the last run ended: "
			 "sending them again with their keys",
			 recovered);
	if (pthread_create(&d->thread, NULL, delivery_main, d) != 0) {
		snprintf(err, errlen, "delivery: cannot start the worker thread");
		e = GA_ERR_NOMEM;
		goto fail;
	}
	d->started = true;
	log_info("delivery: %d channels", d->nchans);
	*out = d;
	return GA_OK;
fail:
	delivery_free(d);
	return e;
}

void delivery_kick(struct delivery *d)
{
	if (d == NULL)
		return;
	pthread_mutex_lock(&d->mu);
	d->kicked = true;
	pthread_mutex_unlock(&d->mu);
	curl_multi_wakeup(d->multi);
}

void delivery_stop(struct delivery *d)
{
	if (d == NULL)
		return;
	pthread_mutex_lock(&d->mu);
	d->stopping = true;
	pthread_mutex_unlock(&d->mu);
	curl_multi_wakeup(d->multi);
	if (d->started)
		pthread_join(d->thread, NULL);
	delivery_free(d);
}
