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

struct cluster {
	struct service *svc;
	struct store *store; /* the thread's own connection */
	atomic_bool *duty;
	const char *me;	  /* [cluster] instance */
	int64_t after_ms; /* [cluster] takeover_after */
	int64_t period_ms;
	/* Monotonic time until which the lease this instance last renewed
	 * holds, counted from before the renewal was asked: on the safe
	 * side of the database's view. */
	int64_t lease_until_mono;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stopping; /* under mu */
};

/* The heartbeat, one transaction; joins again when the row is gone. */
static void cluster_beat(struct cluster *c)
{
	ga_err e;

	if ((e = store_begin(c->store)) != GA_OK)
		goto fail;
	e = store_cluster_heartbeat(c->store, c->me, time_now_ms());
	if (e == GA_ERR_NOTFOUND) {
		log_info("cluster: %s was taken over while silent: joining again", c->me);
		e = store_cluster_join(c->store, c->me, time_now_ms());
	}
	if (e != GA_OK) {
		store_rollback(c->store);
		goto fail;
	}
	if ((e = store_commit(c->store)) == GA_OK)
		return;
fail:
	log_warnx("cluster: %s: heartbeat: %s", c->me, ga_strerror(e));
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

/* Takes over one silent instance, if any. */
static void cluster_takeover(struct cluster *c)
{
	char dead[STORE_INSTANCE_MAX] = "";
	int64_t now = time_now_ms();
	ga_err e;

	if ((e = store_begin(c->store)) == GA_OK) {
		e = store_cluster_claim(c->store, c->me, now, now - c->after_ms, dead,
					sizeof(dead));
		if (e == GA_OK)
			e = store_commit(c->store);
		else
			store_rollback(c->store);
	}
	if (e != GA_OK || dead[0] == '\0' || c->svc->ingest == NULL)
		return;
	log_warnx("cluster: %s has been silent for %lld s: %s takes over its sessions", dead,
		  (long long)(c->after_ms / 1000), c->me);
	int left = ingest_takeover(c->svc->ingest, c->store, dead);
	if (left != 0) {
		/* Not all ended: claimed again later, by this or another one. */
		if (store_cluster_release(c->store, dead) != GA_OK)
			log_warnx("cluster: %s: cannot hand the claim back", dead);
		log_warnx("cluster: %s: %d of its sessions still at the broker: taken over again "
			  "later",
			  dead, left);
		return;
	}
	if (store_cluster_forget(c->store, dead) != GA_OK)
		log_warnx("cluster: %s: taken over, but its row is still there", dead);
	log_info("cluster: %s taken over: its sessions drained and ended", dead);
}

static void *cluster_main(void *arg)
{
	struct cluster *c = arg;

	for (;;) {
		pthread_mutex_lock(&c->mu);
		bool stopping = c->stopping;
		pthread_mutex_unlock(&c->mu);
		if (stopping)
			break;
		cluster_beat(c);
		cluster_lease(c);
		cluster_takeover(c);

		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += c->period_ms / 1000;
		ts.tv_nsec += (c->period_ms % 1000) * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_mutex_lock(&c->mu);
		while (!c->stopping && pthread_cond_timedwait(&c->cv, &c->mu, &ts) != ETIMEDOUT)
			;
		pthread_mutex_unlock(&c->mu);
	}
	return NULL;
}

ga_err cluster_start(struct service *svc, atomic_bool *duty, struct cluster **out, char *err,
		     size_t errlen)
{
	const struct config *cfg = &svc->cfg;
	struct store_options sopt = {.path = cfg->store.path,
				     .url = cfg->store.url,
				     .password_file = cfg->store.password_file};
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
	atomic_store(duty, false);
	if ((e = store_open(&sopt, &c->store, err, errlen)) != GA_OK)
		goto fail;
	if ((e = store_begin(c->store)) != GA_OK ||
	    (e = store_cluster_join(c->store, c->me, time_now_ms())) != GA_OK ||
	    (e = store_commit(c->store)) != GA_OK) {
		store_rollback(c->store);
		snprintf(err, errlen, "cluster: %s cannot join: %s", c->me, ga_strerror(e));
		goto fail;
	}
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
	log_info("cluster: %s joined (takeover after %d s)", c->me, cfg->cluster.takeover_after_s);
	*out = c;
	return GA_OK;
fail:
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
	pthread_cond_signal(&c->cv);
	pthread_mutex_unlock(&c->mu);
	pthread_join(c->thread, NULL);
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
	store_close(c->store);
	free(c);
}
