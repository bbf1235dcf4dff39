/* service_tick.c - the service's periodic duties, run by the writer
 * thread on its connection (ingest_writer_duties, ingest_writer.h): retention,
 * silent stations, escalation of drafts pending too long, and the
 * officers' notices of the drafts a commit made. */
#include "service_tick.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest_device.h"
#include "log.h"
#include "notify.h"
#include "riskwarning_flow.h"
#include "service.h"
#include "store_retention.h"
#include "timeutil.h"
#include "watchdog.h"
#include "workflow.h"

/* Retention (store_retention.h): rows of each kind one step reads, and
 * the writer's time per tick it may take (steps go on while there is
 * more, within it); a pass over the old reports is done at most once in
 * TICK_RETENTION_REST_MS (the reports it keeps are read again then). */
#define TICK_RETENTION_LIMIT 256
#define TICK_RETENTION_BUDGET_MS 50
#define TICK_RETENTION_REST_MS (60 * 1000)
#define TICK_DAY_MS (24LL * 3600 * 1000)
/* Summary rows of /metrics older than this go (the gauges read a day). */
#define TICK_COUNTS_KEEP_MS (2 * TICK_DAY_MS)

/* Several instances: how often the watchdog reads the stations the
 * others heard (its intervals are minutes to hours), and how far before
 * the last report heard (longer than a group's commit takes). */
#define TICK_SEEN_EVERY_MS 10000
#define TICK_SEEN_OVERLAP_MS 20000

struct service_tick {
	struct service *svc;
	/* retention, in the writer thread only */
	struct store_retention_cursor ret_cursor;
	int64_t ret_rest_until_ms;	   /* monotonic: no pass over the reports before */
	int64_t ret_reports, ret_rejected; /* deleted since the last log line */
	int64_t ret_second_ms;		   /* monotonic: the budget's second began */
	int64_t ret_spent_ms;		   /* of the budget, in that second */
	bool ret_more;			   /* a step may have more to delete */
	int64_t seen_ms;      /* several instances: the watchdog heard the store up to here */
	int64_t seen_read_ms; /* monotonic: the store last read for it */
	/* Failures said once, then summarised (log.h). */
	struct log_repeat retention_failed, expiry_failed, escalation_failed;
};

ga_err service_tick_new(struct service *svc, struct service_tick **out)
{
	struct service_tick *t = calloc(1, sizeof(*t));
	if (!t)
		return GA_ERR_NOMEM;
	t->svc = svc;
	*out = t;
	return GA_OK;
}

void service_tick_free(struct service_tick *t)
{
	free(t);
}

static void service_tick_escalate_one(const char *alert_id, const char *headline, void *arg)
{
	struct service_tick *t = arg;
	char url[CONFIG_STR_MAX + 64];
	snprintf(url, sizeof(url), "%s/console/#%s", t->svc->cfg.http.public_base_url, alert_id);
	log_warnx("draft %s unconfirmed for %d s: escalated to supervisors", alert_id,
		  t->svc->cfg.alerts.escalate_after_s);
	if (t->svc->notify)
		notify_send(t->svc->notify, NOTIFY_SUPERVISORS, "escalation", alert_id, headline,
			    "", url);
}

static void service_tick_station_change(const struct station *st, int64_t silent_ms, bool back,
					void *arg)
{
	struct service_tick *t = arg;
	char what[REGISTRY_ID_MAX + REGISTRY_NAME_MAX + 2];
	if (back) {
		log_info("station %s (%s) reports again", st->station_id, st->name);
	} else {
		log_warnx("station %s (%s) silent for %lld s", st->station_id, st->name,
			  (long long)(silent_ms / 1000));
		metrics_count(&t->svc->metrics.stations_silent, st->station_id, 1);
	}
	snprintf(what, sizeof(what), "%s %s", st->station_id, st->name);
	if (t->svc->notify)
		notify_send(t->svc->notify, NOTIFY_OFFICERS,
			    back ? "station_back" : "station_silent", st->station_id, what, "", "");
}

/* One retention step (one short transaction) when one is due and this
 * second's budget (TICK_RETENTION_BUDGET_MS of the writer's time)
 * allows; false when there is nothing more to do this second. Under load
 * the writer takes one step after each batch, so the reports that
 * arrive meanwhile wait for one step, not for the whole budget; when
 * idle, the tick takes steps until the budget is spent. Reports come in
 * passes: once a pass has read every report older than the limit, the
 * next waits TICK_RETENTION_REST_MS. */
bool service_tick_step(struct store *s, void *arg)
{
	struct service_tick *t = arg;
	int days = t->svc->cfg.store.keep_reports_days;
	int64_t t0 = time_mono_ms(), now = time_now_ms();
	struct store_retention_result r;

	if (days <= 0 || !atomic_load(&t->svc->duty))
		return false;
	if (t0 - t->ret_second_ms >= 1000) {
		t->ret_second_ms = t0;
		t->ret_spent_ms = 0;
		t->ret_more = true;
	}
	if (!t->ret_more || t->ret_spent_ms >= TICK_RETENTION_BUDGET_MS)
		return false;
	int64_t before = now - (int64_t)days * TICK_DAY_MS;
	bool rest = t0 < t->ret_rest_until_ms;
	ga_err e = store_retention_step(s, before, rest ? 0 : before, now - TICK_COUNTS_KEEP_MS,
					TICK_RETENTION_LIMIT, &t->ret_cursor, &r);
	t->ret_spent_ms += time_mono_ms() - t0;
	if (e != GA_OK) {
		log_warnx_repeat(&t->retention_failed,
				 "writer: retention: %s; tried again in a second", ga_strerror(e));
		t->ret_more = false;
		return false;
	}
	log_repeat_over(&t->retention_failed, "writer: retention works again");
	t->ret_reports += r.reports;
	t->ret_rejected += r.rejected;
	if (!rest && r.reports_done) {
		/* The pass is over: say what it did, rest, start again. */
		if (t->ret_reports > 0 || t->ret_rejected > 0)
			log_info("retention: %lld reports and %lld rejected payloads older than %d "
				 "days deleted",
				 (long long)t->ret_reports, (long long)t->ret_rejected, days);
		t->ret_reports = t->ret_rejected = 0;
		memset(&t->ret_cursor, 0, sizeof(t->ret_cursor));
		t->ret_rest_until_ms = time_mono_ms() + TICK_RETENTION_REST_MS;
		rest = true;
	}
	t->ret_more = !((rest || r.reports_done) && r.rejected_done);
	return t->ret_more && t->ret_spent_ms < TICK_RETENTION_BUDGET_MS;
}

static bool service_tick_seen_one(const char *station_id, int64_t received_ms, void *arg)
{
	struct service_tick *t = arg;

	watchdog_seen(t->svc->watchdog, station_id, received_ms);
	if (received_ms > t->seen_ms)
		t->seen_ms = received_ms;
	return true;
}

/* Several instances (spec §10): the watchdog runs on the lease holder
 * but hears only the reports its own sessions take; the others' are in
 * the store. Read back a little before the last one heard: a group
 * commits after the reports in it were received. */
static void service_tick_seen(struct service_tick *t, struct store *s)
{
	if (t->seen_read_ms != 0 && time_mono_ms() - t->seen_read_ms < TICK_SEEN_EVERY_MS)
		return;
	t->seen_read_ms = time_mono_ms();
	int64_t since = t->seen_ms > 0 ? t->seen_ms - TICK_SEEN_OVERLAP_MS
				       : time_now_ms() - TICK_SEEN_OVERLAP_MS;
	ga_err e = store_report_seen_since(s, since, service_tick_seen_one, t);

	if (e != GA_OK)
		log_warnx("watchdog: reading the stations heard by other instances: %s",
			  ga_strerror(e));
}

/* Periodic work, outside any batch: the WAL's bound; retention; silent
 * stations; drafts pending too long (the workflow runs its own
 * transaction). */
void service_tick_run(struct store *s, void *arg)
{
	struct service_tick *t = arg;

	/* Several instances: the lease holder alone (cluster.h). */
	if (!atomic_load(&t->svc->duty))
		return;
	if (t->svc->watchdog && store_shared(s))
		service_tick_seen(t, s);
	if (t->svc->watchdog) {
		pthread_rwlock_rdlock(&t->svc->lock);
		watchdog_check(t->svc->watchdog, t->svc->registry, time_now_ms(),
			       service_tick_station_change, t);
		pthread_rwlock_unlock(&t->svc->lock);
	}
	ingest_device_tick(t->svc->devintake, time_now_ms()); /* devices offline (§12) */
	/* Risk warnings past their valid_to (issue 14), also one due while
	 * the service was down. */
	int expired = 0;
	ga_err re = riskwarning_flow_expire_due(s, time_now_ms(), &expired);
	if (re != GA_OK)
		log_warnx_repeat(&t->expiry_failed, "risk warning expiry check failed: %s",
				 ga_strerror(re));
	else
		log_repeat_over(&t->expiry_failed, "risk warning expiry check works again");
	if (re == GA_OK && expired > 0)
		log_info("%d risk warning product(s) expired", expired);
	int after_s = t->svc->cfg.alerts.escalate_after_s;
	if (after_s <= 0 || !t->svc->wf.templates)
		return;
	ga_err e = workflow_escalate_due(s, time_now_ms(), (int64_t)after_s * 1000,
					 service_tick_escalate_one, t);
	if (e != GA_OK)
		log_warnx_repeat(&t->escalation_failed, "escalation check failed: %s",
				 ga_strerror(e));
	else
		log_repeat_over(&t->escalation_failed, "escalation check works again");
}

/* After the commit: officers hear of the drafts it made. */
void service_tick_committed(struct store *s, struct ingest_writer_item *batch, void *arg)
{
	struct service_tick *t = arg;
	int64_t now = time_now_ms();
	for (struct ingest_writer_item *it = batch; it; it = it->next) {
		if (!it->draft_made)
			continue;
		metrics_observe_ms(&t->svc->metrics.report_draft, NULL,
				   (double)(now - it->received_ms));
		char url[CONFIG_STR_MAX + 64];
		snprintf(url, sizeof(url), "%s/console/#%s", t->svc->cfg.http.public_base_url,
			 it->incident_id);
		if (!t->svc->notify)
			continue;
		/* The headline, for the notice: drafts are rare, one read each. */
		struct store_draft *d = malloc(sizeof(*d));
		const char *headline = "";
		if (d && store_draft_pending(s, it->incident_id, d) == GA_OK)
			headline = d->headline;
		notify_send(t->svc->notify, NOTIFY_OFFICERS, "draft", it->incident_id, headline,
			    level_name((enum level)it->level), url);
		free(d);
	}
}
