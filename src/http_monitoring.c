/* http_monitoring.c - the officer API of monitoring devices (spec §12):
 *   GET /api/v1/monitoring               hazard points with devices, by level
 *   GET /api/v1/monitoring/{station_id}  one, with each channel's series of
 *                                        the last 72 h and its level changes
 * Levels and readings come from the store (what the writer committed);
 * which devices watch which station from the registry (under the lock).
 * Runs on the MHD thread with h->store. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device_registry.h"
#include "http_internal.h"
#include "ingest_device.h"
#include "log.h"
#include "registry.h"
#include "store_device.h"
#include "timeutil.h"

#define HTTP_MON_PREFIX "/api/v1/monitoring"
#define HTTP_MON_SERIES_MS (72LL * 3600 * 1000)
/* Points of one device in a detail answer: past it the series stop
 * (oldest first) and "truncated" is true. 72 h at one point a minute on
 * four channels. */
#define HTTP_MON_POINTS_MAX 20000
#define HTTP_MON_CHANGES_MAX 100 /* level changes in a detail answer */

bool http_monitoring_route(const char *url)
{
	size_t n = strlen(HTTP_MON_PREFIX);

	return strncmp(url, HTTP_MON_PREFIX, n) == 0 && (url[n] == '\0' || url[n] == '/');
}

static json_t *http_mon_time(int64_t ms, int offset_min)
{
	char t[40];
	time_format_rfc3339(ms, offset_min, t, sizeof(t));
	return json_string(t);
}

static json_t *http_mon_level(int level)
{
	const char *name = device_level_name((enum device_level)level);
	return name ? json_string(name) : json_null();
}

struct http_mon_levels {
	json_t *by_station; /* station_id -> level */
};

static bool http_mon_level_row(const char *station_id, int level, int64_t t_ms, void *arg)
{
	struct http_mon_levels *l = arg;
	(void)t_ms;
	return json_object_set_new(l->by_station, station_id, json_integer(level)) == 0;
}

/* The rules of dev with their thresholds, for the charts' lines. */
static json_t *http_mon_rules(const struct device *dev)
{
	json_t *a = json_array();
	for (size_t i = 0; a && i < dev->n_rules; i++) {
		const struct device_rule *r = &dev->rules[i];
		json_t *th = json_object();
		for (int l = DEVICE_LEVEL_BLUE; th && l < DEVICE_LEVEL_COUNT; l++)
			if (r->has[l])
				json_object_set_new(th, device_level_name((enum device_level)l),
						    json_real(r->threshold[l]));
		json_array_append_new(
		    a, json_pack("{s:s, s:s, s:s, s:o*}", "channel", r->channel, "field", r->field,
				 "metric", device_metric_name(r->metric), "thresholds", th));
	}
	return a;
}

/* One hazard point's object: its level, devices and latest reading. */
static json_t *http_mon_point(struct http *h, struct store_device *sd, const char *station_id,
			      const struct device_registry *reg, const struct registry *stations,
			      int level, int64_t now, bool rules)
{
	int off = h->ctx.cfg->alerts.utc_offset_min;
	const struct station *st = registry_find(stations, station_id);
	json_t *devs = json_array(), *o = NULL;
	int64_t last = -1;

	if (!devs)
		return NULL;
	for (size_t i = 0; i < device_registry_count(reg); i++) {
		const struct device *dev = device_registry_at(reg, i);
		int64_t t = 0, rx = 0;
		if (strcmp(dev->station_id, station_id) != 0)
			continue;
		ga_err e = store_device_latest(sd, dev->device_code, &t, &rx);
		if (e != GA_OK && e != GA_ERR_NOTFOUND)
			goto fail;
		bool have = e == GA_OK;
		if (have && t > last)
			last = t;
		int64_t limit = (int64_t)INGEST_DEVICE_OFFLINE_INTERVALS * dev->interval_s * 1000;
		json_t *d = json_pack("{s:s, s:i, s:o, s:b}", "device_code", dev->device_code,
				      "interval_s", dev->interval_s, "last_reading_at",
				      have ? http_mon_time(t, off) : json_null(), "online",
				      have && now - rx < limit);
		if (!d || json_array_append_new(devs, d) != 0)
			goto fail;
		if (rules)
			json_object_set_new(d, "rules", http_mon_rules(dev));
	}
	const char *zh = device_level_zh((enum device_level)level);
	o = json_pack("{s:s, s:s, s:o, s:o, s:o, s:o}", "station_id", station_id, "name",
		      st ? st->name : "", "level", http_mon_level(level), "level_zh",
		      zh ? json_string(zh) : json_null(), "devices", devs, "last_reading_at",
		      last >= 0 ? http_mon_time(last, off) : json_null());
	return o;
fail:
	json_decref(devs);
	return NULL;
}

/* The stations watched by a device, each once, in station_id order. */
static json_t *http_mon_stations(const struct device_registry *reg)
{
	json_t *seen = json_object();
	for (size_t i = 0; seen && i < device_registry_count(reg); i++)
		json_object_set_new(seen, device_registry_at(reg, i)->station_id, json_true());
	return seen;
}

struct http_mon_series {
	json_t *by_key; /* "channel/field" -> [[t, v], ...] */
	json_t *list;	/* [{device_code, channel, field, points}] */
	const char *code;
	int off;
	int n;
	bool truncated, nomem;
};

static bool http_mon_point_cb(const char *channel, const char *field, int64_t t_ms, double value,
			      void *arg)
{
	struct http_mon_series *s = arg;
	char key[DEVICE_CHANNEL_MAX + DEVICE_FIELD_MAX + 2];
	if (s->n >= HTTP_MON_POINTS_MAX) {
		s->truncated = true;
		return false;
	}
	snprintf(key, sizeof(key), "%s/%s", channel, field);
	json_t *pts = json_object_get(s->by_key, key);
	if (!pts) {
		pts = json_array();
		json_t *ser = json_pack("{s:s, s:s, s:s, s:o}", "device_code", s->code, "channel",
					channel, "field", field, "points", pts);
		if (!pts || !ser || json_object_set(s->by_key, key, pts) != 0 ||
		    json_array_append_new(s->list, ser) != 0) {
			s->nomem = true;
			return false;
		}
	}
	json_t *p = json_pack("[o, f]", http_mon_time(t_ms, s->off), value);
	if (!p || json_array_append_new(pts, p) != 0) {
		s->nomem = true;
		return false;
	}
	s->n++;
	return true;
}

static bool http_mon_change_cb(int from, int to, int64_t t_ms, int64_t changed_ms,
			       const char *detail, void *arg)
{
	json_t *a = arg;
	json_t *d = json_loads(detail, 0, NULL);
	(void)changed_ms;
	json_t *c = json_pack("{s:o, s:o, s:o, s:o}", "from", http_mon_level(from), "to",
			      http_mon_level(to), "at", http_mon_time(t_ms, 0), "reading",
			      d ? d : json_object());
	return c && json_array_append_new(a, c) == 0;
}

static enum MHD_Result http_mon_fail(struct MHD_Connection *conn, const struct http_req *req,
				     ga_err e)
{
	unsigned status = http_status_of(e);
	if (status >= 500)
		log_warnx("http: %s %s: %s", req->method, req->url, ga_strerror(e));
	return http_send_problem(conn, status, NULL,
				 e == GA_ERR_NOTFOUND ? "没有这个监测点"
						      : "服务器内部错误，请稍后再试或联系管理员",
				 NULL, 0);
}

enum MHD_Result http_monitoring_handle(struct http *h, struct MHD_Connection *conn,
				       const struct http_req *req)
{
	const char *rest = req->url + strlen(HTTP_MON_PREFIX);
	struct store_device *sd = NULL;
	struct http_mon_levels lv = {0};
	struct http_who who;
	char msg[HTTP_MSG_MAX], id[REGISTRY_ID_MAX];
	json_t *body = NULL, *stations = NULL;
	int64_t now = time_now_ms();
	enum MHD_Result r;
	ga_err e = GA_ERR_NOMEM;

	if (rest[0] == '/') {
		rest++;
		if (rest[0] == '\0' || strlen(rest) >= sizeof(id) || strchr(rest, '/'))
			return http_send_problem(conn, MHD_HTTP_NOT_FOUND, NULL, "没有这个资源",
						 NULL, 0);
		snprintf(id, sizeof(id), "%s", rest);
	} else {
		id[0] = '\0';
	}
	if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0)
		return http_send_method(conn, "GET");
	unsigned status = http_auth(h, conn, false, &who, msg, sizeof(msg));
	if (status == MHD_HTTP_UNAUTHORIZED)
		return http_send_unauthorized(conn, msg);
	if (status != 0)
		return http_send_problem(conn, status, NULL, msg, NULL, 0);
	if (!officer_may(who.officer.role, OFFICER_VIEW))
		return http_send_problem(conn, MHD_HTTP_FORBIDDEN, "forbidden",
					 "当前角色无权进行此操作", NULL, 0);

	if (!(lv.by_station = json_object()))
		goto fail;
	if ((e = store_device_open(h->store, &sd)) != GA_OK ||
	    (e = store_device_levels(sd, http_mon_level_row, &lv)) != GA_OK)
		goto fail;
	e = GA_ERR_NOMEM;
	pthread_rwlock_rdlock(h->ctx.lock);
	const struct device_registry *reg = h->ctx.devices ? *h->ctx.devices : NULL;
	const struct registry *sreg = h->ctx.registry ? *h->ctx.registry : NULL;
	stations = http_mon_stations(reg);
	if (!stations) {
		pthread_rwlock_unlock(h->ctx.lock);
		goto fail;
	}
	if (id[0] == '\0') {
		json_t *points = json_array();
		const char *sid;
		json_t *v;
		body = json_pack("{s:o}", "points", points);
		json_object_foreach(stations, sid, v)
		{
			json_t *p = http_mon_point(
			    h, sd, sid, reg, sreg,
			    (int)json_integer_value(json_object_get(lv.by_station, sid)), now,
			    false);
			if (!p || !points || json_array_append_new(points, p) != 0) {
				e = GA_ERR_DB;
				break;
			}
			e = GA_OK;
		}
		if (json_object_size(stations) == 0)
			e = GA_OK;
	} else if (!json_object_get(stations, id)) {
		e = GA_ERR_NOTFOUND;
	} else {
		body = http_mon_point(h, sd, id, reg, sreg,
				      (int)json_integer_value(json_object_get(lv.by_station, id)),
				      now, true);
		struct http_mon_series s = {.by_key = json_object(),
					    .list = json_array(),
					    .off = h->ctx.cfg->alerts.utc_offset_min};
		json_t *changes = json_array();
		e = body && s.by_key && s.list && changes ? GA_OK : GA_ERR_NOMEM;
		for (size_t i = 0; e == GA_OK && i < device_registry_count(reg); i++) {
			const struct device *dev = device_registry_at(reg, i);
			if (strcmp(dev->station_id, id) != 0)
				continue;
			json_object_clear(s.by_key);
			s.code = dev->device_code;
			s.n = 0;
			e = store_device_points_since(
			    sd, dev->device_code, now - HTTP_MON_SERIES_MS, http_mon_point_cb, &s);
			if (e == GA_OK && s.nomem)
				e = GA_ERR_NOMEM;
		}
		if (e == GA_OK)
			e = store_device_changes_since(sd, id, now - HTTP_MON_SERIES_MS,
						       HTTP_MON_CHANGES_MAX, http_mon_change_cb,
						       changes);
		json_decref(s.by_key);
		if (e == GA_OK) {
			json_object_set_new(body, "series", s.list);
			json_object_set_new(body, "truncated", json_boolean(s.truncated));
			json_object_set_new(body, "changes", changes);
		} else {
			json_decref(s.list);
			json_decref(changes);
		}
	}
	pthread_rwlock_unlock(h->ctx.lock);
	if (e != GA_OK || !body)
		goto fail;
	r = http_send_json(conn, MHD_HTTP_OK, body, NULL);
	body = NULL;
	goto out;
fail:
	r = http_mon_fail(conn, req, e == GA_OK ? GA_ERR_NOMEM : e);
out:
	json_decref(body);
	json_decref(stations);
	json_decref(lv.by_station);
	store_device_close(sd);
	return r;
}
