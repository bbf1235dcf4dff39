/* ingest_device.c - monitoring devices' data frames on the report path
 * (ingest_device.h). */
#include "ingest_device.h"

#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "device_judge.h"
#include "device_registry.h"
#include "ingest_internal.h"
#include "ingest_writer.h"
#include "log.h"
#include "notify.h"
#include "registry.h"
#include "service.h"
#include "store.h"
#include "store_device.h"
#include "timeutil.h"
#include "workflow.h"

/* Retention ([devices] keep_days), in the writer's tick, one small
 * transaction a second: this many devices' oldest points, about
 * IDEV_PURGE_ROWS each, and the oldest IDEV_PURGE_MALFORMED refused
 * frames are looked at. */
#define IDEV_PURGE_DEVICES 16
#define IDEV_PURGE_ROWS 2048
#define IDEV_PURGE_MALFORMED 512

/* The judge's windows span 25 hourly buckets: the points of a device's
 * last 25 h (and the hour started) rebuild them. */
#define IDEV_REPLAY_MS ((int64_t)(DEVICE_WINDOW_BUCKETS + 1) * DEVICE_WINDOW_BUCKET_S * 1000)

bool ingest_device_topic(const char *topic, const char **device)
{
	size_t n = strlen(INGEST_DEVICE_TOPIC_PREFIX);

	if (strcmp(topic, INGEST_DEVICE_TOPIC_DP) == 0) {
		*device = NULL;
		return true;
	}
	if (strncmp(topic, INGEST_DEVICE_TOPIC_PREFIX, n) != 0)
		return false;
	*device = topic + n;
	return true;
}

void ingest_device_subscribe(struct mosquitto *mosq, struct service *svc, int index,
			     const char *client_id)
{
	char topic[INGEST_TOPIC_MAX];
	int s;

	if (svc->cfg.devices.file[0] == '\0')
		return;
	snprintf(topic, sizeof(topic), "$share/%s/%s+", svc->cfg.mqtt.share_group,
		 INGEST_DEVICE_TOPIC_PREFIX);
	s = mosquitto_subscribe_v5(mosq, NULL, topic, 1, 0, NULL);
	if (s != MOSQ_ERR_SUCCESS)
		log_warnx("mqtt %s: subscribe %s: %s", client_id, topic, mosquitto_strerror(s));
	if (index != 0)
		return;
	s = mosquitto_subscribe_v5(mosq, NULL, INGEST_DEVICE_TOPIC_DP, 1, 0, NULL);
	if (s != MOSQ_ERR_SUCCESS)
		log_warnx("mqtt %s: subscribe %s: %s", client_id, INGEST_DEVICE_TOPIC_DP,
			  mosquitto_strerror(s));
}

void ingest_device_frame_cleanup(struct ingest_device_frame *df)
{
	if (df == NULL)
		return;
	device_frame_cleanup(&df->f);
	df->reason = DEVICE_FRAME_OK;
	df->inserted = 0;
	df->nchanges = 0;
	df->kept_raw = false;
}

ga_err ingest_device_parse(struct service *svc, const char *topic_device, const void *payload,
			   size_t len, int64_t now_ms, struct ingest_device_frame *out)
{
	struct device_frame_context ctx = {.now_ms = now_ms, .topic_device = topic_device};
	ga_err e;

	ingest_device_frame_cleanup(out);
	/* A topic naming no valid code cannot match any frame's device. */
	if (topic_device && (topic_device[0] == '\0' || strlen(topic_device) > DEVICE_CODE_MAX)) {
		out->reason = DEVICE_FRAME_TOPIC_MISMATCH;
		return GA_OK;
	}
	e = device_frame_parse(&ctx, payload, len, &out->f, &out->reason);
	if (e == GA_ERR_NOMEM)
		return e;
	if (out->reason != DEVICE_FRAME_OK)
		return GA_OK; /* files and firmware (3, 4) are ignored unread */
	pthread_rwlock_rdlock(&svc->lock);
	if (!device_registry_find(svc->devices, out->f.device_code))
		out->reason = DEVICE_FRAME_UNKNOWN_DEVICE;
	pthread_rwlock_unlock(&svc->lock);
	if (out->reason == DEVICE_FRAME_UNKNOWN_DEVICE) {
		/* Not one point of it is stored: it is kept raw. */
		free(out->f.points);
		out->f.points = NULL;
		out->f.n_points = 0;
	}
	return GA_OK;
}

void ingest_device_count(struct service *svc, const struct ingest_device_frame *df)
{
	const char *outcome;

	if (df->reason == DEVICE_FRAME_OK)
		outcome = df->inserted > 0 || df->f.n_points == 0 ? "stored" : "duplicate";
	else if (df->reason == DEVICE_FRAME_IGNORED)
		outcome = "ignored";
	else
		outcome = "malformed";
	metrics_count(&svc->metrics.device_frames, outcome, 1);
	if (df->reason != DEVICE_FRAME_OK && df->reason != DEVICE_FRAME_IGNORED)
		metrics_count(&svc->metrics.device_malformed, device_frame_reason_name(df->reason),
			      1);
}

/* --- writer side ----------------------------------------------------- */

struct ingest_device {
	struct service *svc;
	struct store *store; /* the writer's connection */
	struct store_device *sd;
	/* The registry the judge was built for (borrowed: it is only read
	 * with svc->lock held, and a new one means a new judge). */
	const struct device_registry *reg;
	struct device_judge *judge;
	bool stale;    /* the judge saw points a rolled-back transaction held */
	bool fed;      /* the judge was fed in the open transaction */
	bool noticed;  /* ... and a level-change notice stored: wake the notifier */
	int64_t *seen; /* per device of reg (its order): the last frame's arrival */
	bool *offline; /* per device of reg: reported offline */
	size_t nseen;
	size_t purge_next;		 /* the next device (index in reg) retention looks at */
	struct device_point *pts;	 /* DEVICE_FRAME_MAX_POINTS: inserted points */
	struct device_judge_change *chg; /* DEVICE_FRAME_MAX_POINTS */
};

static const struct {
	const char *kind, *zh;
} idev_instruments[] = {
    {"L1_LF_", "裂缝计"},   {"L1_GP_", "GNSS 监测站"}, {"L1_QJ_", "倾角计"},
    {"L1_JS_", "加速度计"}, {"L1_SW_", "深部位移计"},  {"L3_YL_", "雨量计"},
    {"L4_NW_", "泥水位计"},
};

/* The instrument a channel is read by, in Chinese ("监测设备" when the
 * kind is not one of §12's). */
static const char *idev_instrument_zh(const char *channel)
{
	for (size_t i = 0; i < sizeof(idev_instruments) / sizeof(idev_instruments[0]); i++)
		if (strncmp(channel, idev_instruments[i].kind, strlen(idev_instruments[i].kind)) ==
		    0)
			return idev_instruments[i].zh;
	return "监测设备";
}

static const char *const idev_metric_zh[DEVICE_METRIC_COUNT] = {
    [DEVICE_METRIC_VALUE] = "当前值",
    [DEVICE_METRIC_CHANGE_24H] = "24 小时变化量",
    [DEVICE_METRIC_RATE_PER_DAY] = "变化速率（每日）",
    [DEVICE_METRIC_SUM_1H] = "1 小时累计",
    [DEVICE_METRIC_SUM_24H] = "24 小时累计",
    [DEVICE_METRIC_TANGENT_ANGLE] = "改进切线角",
};

/* Replay of the stored points into the judge: up to a frame's worth of
 * points at a time; the changes it makes are discarded (they are stored
 * already, and the levels are set from the store afterwards). */
struct idev_replay {
	struct ingest_device *d;
	const char *code;
	size_t n;
	ga_err e;
};

static void idev_replay_flush(struct idev_replay *r)
{
	size_t nch = 0;
	if (r->n == 0)
		return;
	ga_err e = device_judge_feed(r->d->judge, r->code, r->d->pts, r->n, r->d->chg,
				     DEVICE_FRAME_MAX_POINTS, &nch);
	if (e == GA_ERR_NOMEM)
		r->e = e;
	r->n = 0;
}

static bool idev_replay_point(const char *channel, const char *field, int64_t t_ms, double value,
			      void *arg)
{
	struct idev_replay *r = arg;
	/* Flush at a timestamp boundary only, once the buffer is nearly
	 * full: a timestamp's points are judged together. */
	if (r->n >= DEVICE_FRAME_MAX_POINTS / 2 && r->d->pts[r->n - 1].t_ms != t_ms)
		idev_replay_flush(r);
	if (r->n == DEVICE_FRAME_MAX_POINTS)
		idev_replay_flush(r);
	struct device_point *p = &r->d->pts[r->n++];
	snprintf(p->channel, sizeof(p->channel), "%s", channel);
	snprintf(p->field, sizeof(p->field), "%s", field);
	p->t_ms = t_ms;
	p->value = value;
	return r->e == GA_OK;
}

struct idev_level {
	char station_id[REGISTRY_ID_MAX];
	int level;
};

struct idev_levels {
	struct idev_level *v;
	size_t n, cap;
	bool nomem;
};

static bool idev_level_row(const char *station_id, int level, int64_t t_ms, void *arg)
{
	struct idev_levels *l = arg;
	(void)t_ms;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		struct idev_level *v = realloc(l->v, cap * sizeof(*v));
		if (!v) {
			l->nomem = true;
			return false;
		}
		l->v = v;
		l->cap = cap;
	}
	snprintf(l->v[l->n].station_id, sizeof(l->v[l->n].station_id), "%s", station_id);
	l->v[l->n++].level = level;
	return true;
}

static int idev_level_cmp(const void *a, const void *b)
{
	return strcmp(((const struct idev_level *)a)->station_id,
		      ((const struct idev_level *)b)->station_id);
}

/* A new judge for reg, its windows from the store, its levels as stored.
 * The replay from NONE gives the hysteresis state exactly when it comes
 * to the stored level (a series within the window); otherwise the
 * stored level is set and its counters start afresh. Called with
 * svc->lock held shared (or before the service starts). */
static ga_err idev_rebuild(struct ingest_device *d, const struct device_registry *reg)
{
	struct device_judge_options opt = {
	    .confirm_points = d->svc->cfg.devices.confirm_points,
	    .clear_after_ms = (int64_t)d->svc->cfg.devices.clear_after_s * 1000,
	};
	struct idev_levels levels = {0};
	size_t ndev = device_registry_count(reg);
	int64_t now = time_now_ms();
	ga_err e = GA_ERR_NOMEM;

	device_judge_free(d->judge);
	d->judge = NULL;
	d->reg = reg;
	d->stale = false;
	free(d->seen);
	free(d->offline);
	d->seen = calloc(ndev ? ndev : 1, sizeof(*d->seen));
	d->offline = calloc(ndev ? ndev : 1, sizeof(*d->offline));
	d->nseen = 0;
	if (!d->seen || !d->offline)
		goto out;
	/* Silence is counted from now at start and after a reload: a
	 * restart is not a device's fault (and no notice storm). */
	for (size_t i = 0; i < ndev; i++)
		d->seen[i] = now;
	d->nseen = ndev;
	if (reg == NULL) {
		e = GA_OK;
		goto out;
	}
	if ((e = device_judge_new(reg, &opt, &d->judge)) != GA_OK)
		goto out;
	for (size_t i = 0; i < ndev; i++) {
		const struct device *dev = device_registry_at(reg, i);
		int64_t latest = 0, received = 0;
		if (dev->n_rules == 0)
			continue;
		e = store_device_latest(d->sd, dev->device_code, &latest, &received);
		if (e == GA_ERR_NOTFOUND)
			continue;
		if (e != GA_OK)
			goto out;
		struct idev_replay r = {.d = d, .code = dev->device_code, .e = GA_OK};
		e = store_device_points_since(d->sd, dev->device_code, latest - IDEV_REPLAY_MS,
					      idev_replay_point, &r);
		if (e == GA_OK)
			idev_replay_flush(&r);
		if (e == GA_OK)
			e = r.e;
		if (e != GA_OK)
			goto out;
	}
	if ((e = store_device_levels(d->sd, idev_level_row, &levels)) != GA_OK)
		goto out;
	if (levels.nomem) {
		e = GA_ERR_NOMEM;
		goto out;
	}
	if (levels.n)
		qsort(levels.v, levels.n, sizeof(*levels.v), idev_level_cmp);
	for (size_t i = 0; i < ndev; i++) {
		const struct device *dev = device_registry_at(reg, i);
		struct idev_level key, *found;
		snprintf(key.station_id, sizeof(key.station_id), "%s", dev->station_id);
		found = levels.n ? bsearch(&key, levels.v, levels.n, sizeof(key), idev_level_cmp)
				 : NULL;
		int stored = found ? found->level : DEVICE_LEVEL_NONE;
		if (stored < DEVICE_LEVEL_NONE || stored >= DEVICE_LEVEL_COUNT)
			stored = DEVICE_LEVEL_NONE;
		if ((int)device_judge_level(d->judge, dev->station_id) != stored)
			device_judge_set_level(d->judge, dev->station_id,
					       (enum device_level)stored);
	}
	e = GA_OK;
out:
	free(levels.v);
	if (e != GA_OK) {
		device_judge_free(d->judge);
		d->judge = NULL;
		d->stale = true; /* tried again at the next frame */
	}
	return e;
}

ga_err ingest_device_new(struct service *svc, struct store *s, struct ingest_device **out)
{
	struct ingest_device *d = NULL;
	ga_err e = GA_ERR_NOMEM;

	*out = NULL;
	if (svc->cfg.devices.file[0] == '\0')
		return GA_OK;
	if (!(d = calloc(1, sizeof(*d))))
		goto out;
	d->svc = svc;
	d->store = s;
	d->pts = calloc(DEVICE_FRAME_MAX_POINTS, sizeof(*d->pts));
	d->chg = calloc(DEVICE_FRAME_MAX_POINTS, sizeof(*d->chg));
	if (!d->pts || !d->chg)
		goto out;
	if ((e = store_device_open(s, &d->sd)) != GA_OK)
		goto out;
	pthread_rwlock_rdlock(&svc->lock);
	e = idev_rebuild(d, svc->devices);
	pthread_rwlock_unlock(&svc->lock);
	if (e != GA_OK)
		goto out;
	*out = d;
	d = NULL;
out:
	ingest_device_free(d);
	return e;
}

void ingest_device_free(struct ingest_device *d)
{
	if (!d)
		return;
	device_judge_free(d->judge);
	store_device_close(d->sd);
	free(d->seen);
	free(d->offline);
	free(d->pts);
	free(d->chg);
	free(d);
}

/* The notice and audit detail of one change, as JSON. */
static json_t *idev_change_json(const struct device_judge_change *c, const struct station *st)
{
	char t[40];
	const char *to = device_level_name(c->to), *from = device_level_name(c->from);
	time_format_rfc3339(c->t_ms, 0, t, sizeof(t));
	json_t *o = json_object();
	if (!o)
		return NULL;
	json_object_set_new(o, "station_id", json_string(c->station_id));
	json_object_set_new(o, "station_name", json_string(st ? st->name : ""));
	json_object_set_new(o, "from", from ? json_string(from) : json_null());
	json_object_set_new(o, "to", to ? json_string(to) : json_null());
	json_object_set_new(o, "level_zh", json_string(to ? device_level_zh(c->to) : "低于注意级"));
	json_object_set_new(o, "device_code", json_string(c->device_code));
	json_object_set_new(o, "channel", json_string(c->channel));
	json_object_set_new(o, "field", json_string(c->field));
	json_object_set_new(o, "instrument_zh", json_string(idev_instrument_zh(c->channel)));
	json_object_set_new(o, "metric", json_string(device_metric_name(c->metric)));
	json_object_set_new(o, "value",
			    isfinite(c->metric_value) ? json_real(c->metric_value) : json_null());
	json_object_set_new(o, "threshold",
			    isfinite(c->threshold) ? json_real(c->threshold) : json_null());
	json_object_set_new(o, "at", json_string(t));
	return o;
}

/* The one-line text of a change, for the notice's headline. */
static void idev_change_text(const struct device_judge_change *c, const struct station *st,
			     char *buf, size_t len)
{
	const char *name = st ? st->name : c->station_id;
	const char *metric = c->metric < DEVICE_METRIC_COUNT ? idev_metric_zh[c->metric] : "";
	if (c->to == DEVICE_LEVEL_NONE)
		snprintf(buf, len, "%s（%s）监测预警等级降至注意级以下（原%s）", name,
			 c->station_id, device_level_zh(c->from) ? device_level_zh(c->from) : "");
	else
		snprintf(buf, len, "%s（%s）监测预警等级%s%s：%s %s %s %s %.6g，阈值 %.6g", name,
			 c->station_id, c->to > c->from ? "升至" : "降至", device_level_zh(c->to),
			 idev_instrument_zh(c->channel), c->device_code, c->channel, metric,
			 c->metric_value, c->threshold);
}

/* The station's contacts (§12), for the notice only: they are private
 * like a reporter and stay out of the audit trail. */
static json_t *idev_contacts(const struct station *st)
{
	json_t *a = json_array();
	for (int i = 0; a && st && i < st->ncontacts; i++)
		json_array_append_new(a, json_pack("{s:s, s:s}", "name", st->contacts[i].name,
						   "phone", st->contacts[i].phone));
	return a;
}

/* The trend of a draft (rate_per_day, least squares over the judge's
 * window) for a series whose window keeps no least-squares sums (a crack
 * meter judged on change_24h alone: issue 13's memory target): its
 * stored points over the window's span folded into a window that keeps
 * them. Same pairing of X and Y as the judge's for "horizontal". */
struct idev_trend {
	const char *channel, *field;
	bool horizontal;
	struct device_horizontal pair;
	struct device_window *w;
};

static bool idev_trend_point(const char *channel, const char *field, int64_t t_ms, double value,
			     void *arg)
{
	struct idev_trend *tr = arg;

	if (strcmp(channel, tr->channel) != 0)
		return true;
	if (!tr->horizontal) {
		if (strcmp(field, tr->field) == 0)
			device_window_add(tr->w, t_ms, value);
		return true;
	}
	double h;
	if (device_horizontal_add(&tr->pair, field, t_ms, value, &h))
		device_window_add(tr->w, t_ms, h);
	return true;
}

/* The rate per day of c's series for its draft: the window's when it
 * keeps it, else from the store (the points of the window's 25 hourly
 * buckets, this frame's included: they are in the transaction); NAN
 * when there is none. */
static ga_err idev_trend(struct ingest_device *d, const struct device_judge_change *c,
			 const struct device_window *win, double *rate)
{
	struct device_window_metrics m;
	struct idev_trend tr = {.channel = c->channel,
				.field = c->field,
				.horizontal = strcmp(c->field, "horizontal") == 0,
				.pair = DEVICE_HORIZONTAL_INIT};
	ga_err e;

	*rate = NAN;
	if (win == NULL || win->latest_ms < 0)
		return GA_OK;
	device_window_metrics(win, &m);
	if (m.have_rate || (win->keep & DEVICE_WINDOW_KEEP_LSQ)) {
		*rate = m.have_rate ? m.rate_per_day : NAN;
		return GA_OK;
	}
	if ((tr.w = device_window_new(DEVICE_WINDOW_KEEP_LSQ)) == NULL)
		return GA_ERR_NOMEM;
	int64_t from =
	    ((int64_t)win->hour - (DEVICE_WINDOW_BUCKETS - 1)) * DEVICE_WINDOW_BUCKET_S * 1000;
	e = store_device_points_since(d->sd, c->device_code, from, idev_trend_point, &tr);
	if (e == GA_OK) {
		device_window_metrics(tr.w, &m);
		*rate = m.have_rate ? m.rate_per_day : NAN;
	}
	device_window_free(tr.w);
	return e;
}

/* The warning draft a change makes (workflow_warning_changed), in the
 * change's transaction: a kill -9 loses both or keeps both, and a frame
 * delivered again is not judged again, so no draft is made twice. */
static ga_err idev_draft(struct ingest_device *d, const struct device_judge_change *c,
			 const struct station *st, int64_t now)
{
	struct service *svc = d->svc;
	struct workflow_warning w;
	double rate = NAN;
	char incident[INCIDENT_ID_MAX], before[INCIDENT_ID_MAX];
	bool made = false;
	ga_err e;

	if (st == NULL || svc->wf.templates == NULL)
		return GA_OK; /* a station gone from the registry has nothing to draft */
	e = store_device_incident_get(d->sd, c->station_id, incident, sizeof(incident));
	if (e != GA_OK && e != GA_ERR_NOTFOUND)
		return e;
	snprintf(before, sizeof(before), "%s", incident);
	memset(&w, 0, sizeof(w));
	w.station_id = c->station_id;
	w.station_name = st->name;
	w.hazard_point_id = st->hazard_point_id;
	w.hazard_type = st->hazard_type;
	w.admin_code = st->admin_code;
	w.lon = st->lon;
	w.lat = st->lat;
	w.threatened_people = st->threatened_people;
	w.threatened_property = st->threatened_property_cny;
	w.from = (int)c->from;
	w.to = (int)c->to;
	w.draft_min =
	    svc->cfg.devices.draft_min > 0 ? svc->cfg.devices.draft_min : DEVICE_LEVEL_ORANGE;
	w.t_ms = c->t_ms;
	w.device_code = c->device_code;
	w.channel = c->channel;
	w.metric = device_metric_name(c->metric);
	w.value = c->metric_value;
	w.threshold = c->threshold;
	/* the trend is written in drafts at draft_min and above only
	 * (workflow_warning_changed); below, no replay */
	if ((int)c->to >= w.draft_min &&
	    (e = idev_trend(d, c,
			    device_judge_window(d->judge, c->device_code, c->channel, c->field),
			    &rate)) != GA_OK)
		return e;
	w.rate_per_day = rate;
	w.clear_after_s = svc->cfg.devices.clear_after_s;
	w.incident_prefix = svc->cfg.alerts.incident_prefix;
	if ((e = workflow_warning_changed(d->store, &svc->wf, &w, incident, now, &made)) != GA_OK)
		return e;
	if (strcmp(before, incident) != 0 &&
	    (e = store_device_incident_set(d->sd, c->station_id, incident)) != GA_OK)
		return e;
	if (made)
		metrics_count(&svc->metrics.device_drafts,
			      device_level_name(c->to) ? device_level_name(c->to) : "cancel", 1);
	return GA_OK;
}

/* One level change inside the transaction: the level and its history
 * row, the audit row, the officers' notice (durable: the notices table,
 * committed with the change; notify.c sends it). */
static ga_err idev_change(struct ingest_device *d, const struct device_judge_change *c, int64_t now)
{
	struct service *svc = d->svc;
	const struct station *st = registry_find(svc->registry, c->station_id);
	char headline[512];
	char *detail = NULL, *body = NULL;
	ga_err e = GA_ERR_NOMEM;
	json_t *o = idev_change_json(c, st), *n = NULL;

	if (!o || !(detail = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS)))
		goto out;
	if ((e = store_device_level_change(d->sd, c->station_id, (int)c->from, (int)c->to, c->t_ms,
					   now, detail)) != GA_OK)
		goto out;
	if ((e = audit_record_json(d->store, 0, "device.level", c->station_id, o)) != GA_OK)
		goto out;
	idev_change_text(c, st, headline, sizeof(headline));
	e = GA_ERR_NOMEM;
	const char *to = device_level_name(c->to);
	n = json_pack("{s:s, s:s, s:s, s:s, s:s}", "event", "monitoring_level", "alert_id",
		      c->station_id, "headline", headline, "level", to ? to : "", "url", "");
	if (!n || json_object_set(n, "monitoring", o) != 0 ||
	    json_object_set_new(n, "contacts", idev_contacts(st)) != 0 ||
	    !(body = json_dumps(n, JSON_COMPACT | JSON_PRESERVE_ORDER)))
		goto out;
	if ((e = store_notice_insert(d->store, "officers", "monitoring_level", body, now,
				     now + NOTIFY_DEADLINE_MS, NULL)) != GA_OK)
		goto out;
	if ((e = idev_draft(d, c, st, now)) != GA_OK)
		goto out;
	d->noticed = true;
	log_info("monitoring: %s", headline);
	metrics_count(&svc->metrics.device_level_changes, to ? to : "none", 1);
out:
	free(detail);
	free(body);
	json_decref(o);
	json_decref(n);
	return e;
}

/* The arrival of a frame from code: it is not silent. */
static void idev_seen(struct ingest_device *d, const char *code, int64_t received_ms)
{
	const struct device *dev = device_registry_find(d->reg, code);
	if (!dev || !d->nseen)
		return;
	size_t i = (size_t)(dev - device_registry_at(d->reg, 0));
	if (i >= d->nseen)
		return;
	d->seen[i] = received_ms;
	if (d->offline[i]) {
		d->offline[i] = false;
		log_info("monitoring: device %s (%s) sends again", code, dev->station_id);
		if (d->svc->notify)
			notify_send(d->svc->notify, NOTIFY_OFFICERS, "device_back", code,
				    dev->station_id, "", "");
	}
}

static ga_err idev_points(struct ingest_device *d, struct ingest_writer_item *it)
{
	struct ingest_device_frame *df = it->device;
	size_t n = 0, nch = 0;
	int64_t now = time_now_ms();
	ga_err e;

	for (size_t i = 0; i < df->f.n_points; i++) {
		const struct device_point *p = &df->f.points[i];
		bool inserted = false;
		e = store_device_point_put(d->sd, df->f.device_code, p->channel, p->field, p->t_ms,
					   p->value, it->received_ms, &inserted);
		if (e != GA_OK)
			return e;
		if (inserted && n < DEVICE_FRAME_MAX_POINTS)
			d->pts[n++] = *p;
	}
	df->inserted = (int)n;
	if (n == 0 || !d->judge)
		return GA_OK;
	/* Points on channels no rule names are stored and never judged (the
	 * judge skips them): a device is trusted only for its own rules. */
	d->fed = true;
	e = device_judge_feed(d->judge, df->f.device_code, d->pts, n, d->chg,
			      DEVICE_FRAME_MAX_POINTS, &nch);
	if (e == GA_ERR_NOTFOUND)
		return GA_OK; /* dropped from the registry since it was read */
	if (e != GA_OK)
		return e;
	for (size_t k = 0; k < nch; k++)
		if ((e = idev_change(d, &d->chg[k], now)) != GA_OK)
			return e;
	df->nchanges = (int)nch;
	return GA_OK;
}

ga_err ingest_device_commit(struct ingest_device *d, struct ingest_writer_item *it)
{
	struct ingest_device_frame *df = it->device;
	struct service *svc;
	ga_err e = GA_OK;

	it->status = WRITER_ACCEPTED;
	if (!d || !df)
		return GA_OK; /* [devices] not configured: nothing subscribed */
	svc = d->svc;
	pthread_rwlock_rdlock(&svc->lock);
	if (d->stale || d->reg != svc->devices) {
		if ((e = idev_rebuild(d, svc->devices)) != GA_OK)
			goto out;
	}
	if (df->reason != DEVICE_FRAME_IGNORED && df->f.device_code[0])
		idev_seen(d, df->f.device_code, it->received_ms);
	if (df->reason == DEVICE_FRAME_OK) {
		e = idev_points(d, it);
	} else if (df->reason != DEVICE_FRAME_IGNORED) {
		it->status = WRITER_REJECTED;
		e = store_device_malformed_put(
		    d->sd, df->f.device_code, device_frame_reason_name(df->reason), it->topic,
		    it->raw, it->rawlen, it->raw_total, it->received_ms, &df->kept_raw);
	}
out:
	pthread_rwlock_unlock(&svc->lock);
	return e;
}

void ingest_device_txn_end(struct ingest_device *d, bool ok)
{
	if (!d)
		return;
	if (!ok && d->fed)
		d->stale = true;
	if (ok && d->noticed)
		notify_wake(d->svc->notify); /* committed: send it now, not a poll later */
	d->fed = false;
	d->noticed = false;
}

/* One retention step (its own transaction; the tick runs outside the
 * writer's batches). Failures are logged and tried again next second. */
static void idev_purge(struct ingest_device *d, int64_t now_ms)
{
	int days = d->svc->cfg.devices.keep_days;
	int64_t before = now_ms - (int64_t)days * 86400000, n = 0, total = 0;
	ga_err e;

	if (days <= 0 || d->nseen == 0)
		return;
	if ((e = store_begin(d->store)) != GA_OK)
		goto fail;
	for (int k = 0; k < IDEV_PURGE_DEVICES && k < (int)d->nseen; k++) {
		const struct device *dev = device_registry_at(d->reg, d->purge_next++ % d->nseen);
		if ((e = store_device_purge_points(d->sd, dev->device_code, before, IDEV_PURGE_ROWS,
						   &n)) != GA_OK)
			goto rollback;
		total += n;
	}
	if ((e = store_device_purge_malformed(d->sd, before, IDEV_PURGE_MALFORMED, &n)) != GA_OK)
		goto rollback;
	total += n;
	if ((e = store_commit(d->store)) != GA_OK)
		goto fail;
	if (total > 0)
		log_debug("monitoring: retention deleted %lld rows", (long long)total);
	return;
rollback:
	store_rollback(d->store);
fail:
	log_warnx("monitoring: retention step failed: %s", ga_strerror(e));
}

void ingest_device_tick(struct ingest_device *d, int64_t now_ms)
{
	if (!d)
		return;
	pthread_rwlock_rdlock(&d->svc->lock);
	if (d->reg != d->svc->devices) {
		/* Reloaded: the next frame rebuilds; nothing to judge now. */
		pthread_rwlock_unlock(&d->svc->lock);
		return;
	}
	for (size_t i = 0; i < d->nseen; i++) {
		const struct device *dev = device_registry_at(d->reg, i);
		int64_t limit = (int64_t)INGEST_DEVICE_OFFLINE_INTERVALS * dev->interval_s * 1000;
		if (d->offline[i] || now_ms - d->seen[i] < limit)
			continue;
		d->offline[i] = true;
		log_warnx("monitoring: device %s (%s) silent for %lld s: offline", dev->device_code,
			  dev->station_id, (long long)((now_ms - d->seen[i]) / 1000));
		metrics_count(&d->svc->metrics.device_offline, NULL, 1);
		if (d->svc->notify)
			notify_send(d->svc->notify, NOTIFY_OFFICERS, "device_offline",
				    dev->device_code, dev->station_id, "", "");
	}
	idev_purge(d, now_ms);
	pthread_rwlock_unlock(&d->svc->lock);
}
