/* cluster.c - heartbeats, the duties' lease and takeovers of silent
 * instances (cluster.h says what and why). */
#include "cluster.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ingest.h"
#include "log.h"
#include "service.h"
#include "store.h"
#include "timeutil.h"

#define CLUSTER_LEASE_DUTIES "duties"
#define CLUSTER_PERIOD_MIN_MS 1000
/* The least margin between the sessions' pause and a possible takeover. */
#define CLUSTER_MARGIN_MIN_MS 2000

struct cluster {
	struct service *svc;
	struct store *store;  /* the heartbeat thread's own connection */
	struct store *tstore; /* the takeover thread's */
	atomic_bool *duty;
	const char *me;	  /* [cluster] instance */
	int64_t after_ms; /* [cluster] takeover_after */
	int64_t period_ms;
	/* How long after the start of its last heartbeat written this
	 * instance may hold its MQTT sessions: takeover_after less a margin
	 * (cluster_hold_ms), so they are let go before anyone may claim them. */
	int64_t hold_ms;
	/* Monotonic time until which the lease this instance last renewed
	 * holds, counted from before the renewal was asked: on the safe
	 * side of the database's view. */
	int64_t lease_until_mono;
	/* Heartbeat thread only: the start (monotonic) of the last heartbeat
	 * written; the last failure's error; whether the pause was logged;
	 * the instance whose takeover of this one is awaited. */
	int64_t beat_mono;
	ga_err beat_err;
	bool pause_logged;
	char awaited[STORE_INSTANCE_MAX];
	/* Takeover thread only: an instance whose claim it could not hand
	 * back (store_cluster_release failed): tried again each round. */
	char unreleased[STORE_INSTANCE_MAX];
	pthread_t thread, tthread;
	bool tthread_started;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stopping; /* under mu */
};

/* The margin: the sessions need up to INGEST_POLL_MS to notice the
 * deadline and a drain (INGEST_DRAIN_MS) to let go; a third of
 * takeover_after leaves room for both and for NTP's skew. */
static int64_t cluster_hold_ms(int64_t after_ms)
{
	int64_t margin = after_ms / 3;

	if (margin < CLUSTER_MARGIN_MIN_MS)
		margin = CLUSTER_MARGIN_MIN_MS;
	return after_ms - margin;
}

/* The sessions hold on until hold_ms after mono (the start of a heartbeat
 * just written); a paused instance resumes, with its sessions recorded
 * again (rejoined: the taker forgot them). */
static void cluster_hold(struct cluster *c, int64_t mono, bool rejoined)
{
	struct ingest *in = c->svc->ingest;
	int64_t until = mono + c->hold_ms;
	ga_err e;

	if (in == NULL || (!rejoined && ingest_lease(in, until)))
		return;
	if ((e = ingest_resume(in, c->store, until)) != GA_OK) {
		log_warnx("cluster: %s: cannot record its sessions again (%s): still paused", c->me,
			  ga_strerror(e));
		return;
	}
	if (c->pause_logged)
		log_info("cluster: %s: heartbeat written again after %lld s: MQTT sessions resumed",
			 c->me, (long long)((time_mono_ms() - c->beat_mono) / 1000));
	c->pause_logged = false;
	c->awaited[0] = '\0';
}

/* The heartbeat, one transaction; joins again when the row is gone (taken
 * over and forgotten). While another instance's claim on this one stands
 * nothing is written and the sessions stay paused, until the taker
 * forgets this instance (its takeover done: every session ended) or is
 * silent itself (its takeover abandoned: claim cleared here). */
static void cluster_beat(struct cluster *c)
{
	char taker[STORE_INSTANCE_MAX] = "";
	int64_t mono = time_mono_ms();
	bool rejoined = false, reclaimed = false;
	ga_err e;

	if ((e = store_begin(c->store)) != GA_OK)
		goto fail;
	e = store_cluster_heartbeat(c->store, c->me, time_now_ms(), taker, sizeof(taker));
	if (e == GA_ERR_CONFLICT) {
		e = store_cluster_reclaim(c->store, c->me, taker, time_now_ms() - c->after_ms,
					  &reclaimed);
		if (e == GA_OK)
			e = reclaimed ? store_cluster_heartbeat(c->store, c->me, time_now_ms(),
								taker, sizeof(taker))
				      : GA_ERR_CONFLICT;
	}
	if (e == GA_ERR_NOTFOUND) {
		rejoined = true;
		e = store_cluster_join(c->store, c->me, time_now_ms());
	}
	if (e != GA_OK) {
		store_rollback(c->store);
		if (e == GA_ERR_CONFLICT)
			goto taken;
		goto fail;
	}
	if ((e = store_commit(c->store)) != GA_OK)
		goto fail;
	if (rejoined)
		log_info("cluster: %s was taken over while silent: joined again", c->me);
	if (reclaimed)
		log_warnx("cluster: %s: %s claimed it and went silent: claim cleared", c->me,
			  taker);
	/* The recovery line: cluster_hold's when it resumes the sessions. */
	if (c->beat_err != GA_OK && !c->pause_logged)
		log_info("cluster: %s: heartbeat written again", c->me);
	c->beat_err = GA_OK;
	cluster_hold(c, mono, rejoined || reclaimed);
	c->beat_mono = mono;
	return;
taken:
	/* Claimed: the taker is connecting this instance's client ids. */
	if (c->svc->ingest != NULL && !ingest_paused(c->svc->ingest))
		ingest_pause(c->svc->ingest);
	if (strcmp(c->awaited, taker) != 0)
		log_warnx("cluster: %s: %s is taking it over: sessions paused until it is done",
			  c->me, taker);
	snprintf(c->awaited, sizeof(c->awaited), "%s", taker);
	c->pause_logged = true;
	return;
fail:
	/* The first failure, then one line when the sessions pause. */
	if (c->beat_err == GA_OK)
		log_warnx("cluster: %s: heartbeat: %s", c->me, ga_strerror(e));
	c->beat_err = e;
}

/* The sessions pause by themselves (ingest_lease); said once, here. */
static void cluster_check_pause(struct cluster *c)
{
	struct ingest *in = c->svc->ingest;

	if (in == NULL || c->pause_logged || !ingest_paused(in))
		return;
	c->pause_logged = true;
	log_warnx("cluster: %s: no heartbeat written for %lld s (%s): MQTT sessions paused, kept "
		  "at the broker, before another instance may take them over (after %lld s)",
		  c->me, (long long)((time_mono_ms() - c->beat_mono) / 1000),
		  ga_strerror(c->beat_err), (long long)(c->after_ms / 1000));
}

/* Deliveries and notices an earlier holder left 'sending' or due: back to
 * pending, as a restart does. */
static void cluster_recover(struct cluster *c)
{
	int deliveries = 0, notices = 0;

	if (store_delivery_recover(c->store, time_now_ms(), &deliveries) != GA_OK ||
	    store_notice_recover(c->store, time_now_ms(), &notices) != GA_OK)
		log_warnx("cluster: %s: cannot recover the deliveries left by the last holder",
			  c->me);
	else if (deliveries > 0 || notices > 0)
		log_info("cluster: %s: %d deliveries and %d notices left unfinished are due again",
			 c->me, deliveries, notices);
}

/* Takes or keeps the duties' lease; sets *duty accordingly. */
static void cluster_lease(struct cluster *c)
{
	int64_t mono = time_mono_ms(), now = time_now_ms();
	bool held = false, had = atomic_load(c->duty);
	ga_err e;

	if ((e = store_begin(c->store)) == GA_OK) {
		e = store_cluster_lease(c->store, CLUSTER_LEASE_DUTIES, c->me, now,
					now + c->after_ms, &held);
		if (e == GA_OK)
			e = store_commit(c->store);
		else
			store_rollback(c->store);
	}
	if (e != GA_OK) {
		/* Unknown: keep the duties only while the last lease lasts. */
		if (had && time_mono_ms() >= c->lease_until_mono) {
			atomic_store(c->duty, false);
			log_warnx("cluster: %s: lease not renewed (%s): duties stopped", c->me,
				  ga_strerror(e));
		}
		return;
	}
	if (held) {
		c->lease_until_mono = mono + c->after_ms;
		if (!had) {
			cluster_recover(c);
			log_info("cluster: %s holds the duties (deliveries, notices, escalations, "
				 "watchdog, expiry, retention)",
				 c->me);
			atomic_store(c->duty, true);
		}
	} else if (had) {
		atomic_store(c->duty, false);
		log_warnx("cluster: %s: another instance holds the duties now", c->me);
	}
}

/* Takes over one silent instance, if any (on the takeover thread, with
 * its own connection: the heartbeats go on meanwhile). Not while this
 * instance is paused itself: it may hold no client id then. */
static void cluster_takeover(struct cluster *c)
{
	struct ingest *in = c->svc->ingest;
	char dead[STORE_INSTANCE_MAX] = "";
	int64_t now = time_now_ms();
	ga_err e;

	if (in == NULL || ingest_paused(in))
		return;
	if (c->unreleased[0] != '\0') {
		if (store_cluster_release(c->tstore, c->unreleased, c->me) != GA_OK)
			return;
		log_info("cluster: %s: claim handed back", c->unreleased);
		c->unreleased[0] = '\0';
	}
	if ((e = store_begin(c->tstore)) == GA_OK) {
		e = store_cluster_claim(c->tstore, c->me, now, now - c->after_ms, dead,
					sizeof(dead));
		if (e == GA_OK)
			e = store_commit(c->tstore);
		else
			store_rollback(c->tstore);
	}
	if (e != GA_OK || dead[0] == '\0')
		return;
	log_warnx("cluster: %s has been silent for %lld s: %s takes over its sessions", dead,
		  (long long)(c->after_ms / 1000), c->me);
	int left = ingest_takeover(in, c->tstore, dead);
	if (left != 0) {
		/* Not all ended: claimed again later, by this or another one
		 * (or taken back by dead itself once this one is silent). */
		if (store_cluster_release(c->tstore, dead, c->me) != GA_OK) {
			log_warnx("cluster: %s: cannot hand the claim back yet", dead);
			snprintf(c->unreleased, sizeof(c->unreleased), "%s", dead);
		}
		log_warnx("cluster: %s: %d of its sessions still at the broker: taken over again "
			  "later",
			  dead, left);
		return;
	}
	if (store_cluster_forget(c->tstore, dead, c->me) != GA_OK)
		log_warnx("cluster: %s: taken over, but its row is still there", dead);
	log_info("cluster: %s taken over: its sessions drained and ended", dead);
}

/* Waits ms or until stop; false when stopping. */
static bool cluster_wait(struct cluster *c, int64_t ms)
{
	struct timespec ts;
	bool stopping;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&c->mu);
	while (!c->stopping && pthread_cond_timedwait(&c->cv, &c->mu, &ts) != ETIMEDOUT)
		;
	stopping = c->stopping;
	pthread_mutex_unlock(&c->mu);
	return !stopping;
}

/* Heartbeats and the duties' lease, every period; woken at the sessions'
 * deadline too, so the pause is said when it happens. */
static void *cluster_main(void *arg)
{
	struct cluster *c = arg;
	int64_t wait;

	do {
		cluster_beat(c);
		cluster_check_pause(c);
		cluster_lease(c);
		wait = c->period_ms;
		int64_t to_pause = c->beat_mono + c->hold_ms - time_mono_ms();
		if (!c->pause_logged && to_pause >= 0 && to_pause < wait)
			wait = to_pause + 1;
	} while (cluster_wait(c, wait));
	return NULL;
}

static void *cluster_takeover_main(void *arg)
{
	struct cluster *c = arg;

	do
		cluster_takeover(c);
	while (cluster_wait(c, c->period_ms));
	return NULL;
}

ga_err cluster_start(struct service *svc, atomic_bool *duty, struct cluster **out, char *err,
		     size_t errlen)
{
	const struct config *cfg = &svc->cfg;
	/* No transaction lock: each of the cluster's statements stands alone
	 * (a row updated under its own condition), and a heartbeat must not
	 * wait behind the writers' commits of every instance. */
	struct store_options sopt = {.path = cfg->store.path,
				     .url = cfg->store.url,
				     .password_file = cfg->store.password_file,
				     .no_txn_lock = true};
	struct cluster *c = calloc(1, sizeof(*c));
	ga_err e = GA_ERR_NOMEM;

	if (c == NULL) {
		snprintf(err, errlen, "cluster: out of memory");
		return e;
	}
	c->svc = svc;
	c->duty = duty;
	c->me = cfg->cluster.instance;
	c->after_ms = (int64_t)cfg->cluster.takeover_after_s * 1000;
	c->period_ms = c->after_ms / 5;
	if (c->period_ms < CLUSTER_PERIOD_MIN_MS)
		c->period_ms = CLUSTER_PERIOD_MIN_MS;
	c->hold_ms = cluster_hold_ms(c->after_ms);
	atomic_store(duty, false);
	if ((e = store_open(&sopt, &c->store, err, errlen)) != GA_OK ||
	    (e = store_open(&sopt, &c->tstore, err, errlen)) != GA_OK)
		goto fail;
	c->beat_mono = time_mono_ms();
	if ((e = store_begin(c->store)) != GA_OK ||
	    (e = store_cluster_join(c->store, c->me, time_now_ms())) != GA_OK ||
	    (e = store_commit(c->store)) != GA_OK) {
		store_rollback(c->store);
		snprintf(err, errlen, "cluster: %s cannot join: %s", c->me, ga_strerror(e));
		goto fail;
	}
	if (svc->ingest != NULL)
		ingest_lease(svc->ingest, c->beat_mono + c->hold_ms);
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->cv, NULL);
	/* The lease now, so a lone instance has its duties at once. */
	cluster_lease(c);
	if (pthread_create(&c->thread, NULL, cluster_main, c) != 0) {
		pthread_mutex_destroy(&c->mu);
		pthread_cond_destroy(&c->cv);
		snprintf(err, errlen, "cluster: cannot start its thread");
		e = GA_ERR_NOMEM;
		goto fail;
	}
	if (pthread_create(&c->tthread, NULL, cluster_takeover_main, c) == 0)
		c->tthread_started = true;
	else
		log_warnx("cluster: %s: cannot start the takeover thread: takes over nobody",
			  c->me);
	log_info("cluster: %s joined (takeover after %d s; sessions paused %lld s after the last "
		 "heartbeat written)",
		 c->me, cfg->cluster.takeover_after_s, (long long)(c->hold_ms / 1000));
	*out = c;
	return GA_OK;
fail:
	store_close(c->tstore);
	store_close(c->store);
	free(c);
	return e;
}

void cluster_stop(struct cluster *c)
{
	bool held = false;

	if (c == NULL)
		return;
	pthread_mutex_lock(&c->mu);
	c->stopping = true;
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mu);
	pthread_join(c->thread, NULL);
	if (c->tthread_started)
		pthread_join(c->tthread, NULL);
	if (atomic_load(c->duty)) {
		/* Hand the lease back: expired now, taken at the next round. */
		atomic_store(c->duty, false);
		int64_t now = time_now_ms();
		if (store_begin(c->store) == GA_OK) {
			if (store_cluster_lease(c->store, CLUSTER_LEASE_DUTIES, c->me, now, now,
						&held) == GA_OK)
				store_commit(c->store);
			else
				store_rollback(c->store);
		}
	}
	pthread_mutex_destroy(&c->mu);
	pthread_cond_destroy(&c->cv);
	store_close(c->tstore);
	store_close(c->store);
	free(c);
}
