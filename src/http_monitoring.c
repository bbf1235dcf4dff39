/* http_monitoring.c - the officer API of monitoring devices (spec §12):
 *   GET /api/v1/monitoring               hazard points with devices, by level
 *   GET /api/v1/monitoring/{station_id}  one, with each channel's series of
 *                                        the last 72 h and its level changes
 * Levels and readings come from the store (what the writer committed);
 * which devices watch which station from the registry (under the lock).
 * Runs on the MHD thread with h->store. The detail's lines are built in
 * http_monitoring_series.c (capped per line and per device). */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device_registry.h"
#include "http_internal.h"
#include "http_monitoring_series.h"
#include "ingest_device.h"
#include "log.h"
#include "registry.h"
#include "store_device.h"
#include "timeutil.h"

#define HTTP_MON_PREFIX "/api/v1/monitoring"
#define HTTP_MON_SERIES_MS (72LL * 3600 * 1000)
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

static int http_mon_strcmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static json_t *http_mon_level(int level)
{
	const char *name = device_level_name((enum device_level)level);
	return name ? json_string(name) : json_null();
}

struct http_mon_levels {
	json_t *by_station; /* station_id -> level */
	json_t *at;	    /* station_id -> the time of the reading that made it */
};

static bool http_mon_level_row(const char *station_id, int level, int64_t t_ms, void *arg)
{
	struct http_mon_levels *l = arg;
	return json_object_set_new(l->by_station, station_id, json_integer(level)) == 0 &&
	       json_object_set_new(l->at, station_id, json_integer(t_ms)) == 0;
}

/* The rules of dev with their thresholds, for the charts' lines. */
static json_t *http_mon_rules(const struct device *dev)
{
	json_t *a = json_array();
	for (size_t i = 0; a && i < dev->n_rules; i++) {
		const struct device_rule *r = &dev->rules[i];
		json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:o*}", "channel", r->channel,
						   "field", r->field, "metric",
						   device_metric_name(r->metric), "thresholds",
						   http_mon_thresholds(r)));
	}
	return a;
}

/* The hazard points of reg (only station only_id when not NULL), in
 * station_id order, as an array of {station_id, name, level, level_zh,
 * level_at, devices, last_reading_at}; each device with its rules when
 * rules is set. One pass over the registry: each device's latest point is one
 * indexed read. NULL with *e set on failure. */
static json_t *http_mon_points(struct http *h, struct store_device *sd,
			       const struct device_registry *reg, const struct registry *stations,
			       const struct http_mon_levels *levels, const char *only_id,
			       int64_t now, bool rules, ga_err *e)
{
	int off = h->ctx.cfg->alerts.utc_offset_min;
	json_t *by = json_object(), *last = json_object(), *out = NULL;
	const char **keys = NULL;
	size_t nkeys = 0;

	*e = GA_ERR_NOMEM;
	if (!by || !last)
		goto done;
	for (size_t i = 0; i < device_registry_count(reg); i++) {
		const struct device *dev = device_registry_at(reg, i);
		int64_t t = 0, rx = 0;
		if (only_id && strcmp(dev->station_id, only_id) != 0)
			continue;
		json_t *p = json_object_get(by, dev->station_id);
		if (!p) {
			const struct station *st = registry_find(stations, dev->station_id);
			int level = (int)json_integer_value(
			    json_object_get(levels->by_station, dev->station_id));
			json_t *at = json_object_get(levels->at, dev->station_id);
			const char *zh = device_level_zh((enum device_level)level);
			/* level_at: when the level held now was reached (the
			 * reading's time), null when it never changed */
			p = json_pack("{s:s, s:s, s:o, s:o, s:o, s:[], s:n}", "station_id",
				      dev->station_id, "name", st ? st->name : "", "level",
				      http_mon_level(level), "level_zh",
				      zh ? json_string(zh) : json_null(), "level_at",
				      at ? http_mon_time(json_integer_value(at), off) : json_null(),
				      "devices", "last_reading_at");
			if (!p || json_object_set_new(by, dev->station_id, p) != 0)
				goto done;
		}
		ga_err ge = store_device_latest(sd, dev->device_code, &t, &rx);
		if (ge != GA_OK && ge != GA_ERR_NOTFOUND) {
			*e = ge;
			goto done;
		}
		bool have = ge == GA_OK;
		if (have) {
			json_t *prev = json_object_get(last, dev->station_id);
			if (!prev || json_integer_value(prev) < t) {
				json_object_set_new(last, dev->station_id, json_integer(t));
				json_object_set_new(p, "last_reading_at", http_mon_time(t, off));
			}
		}
		int64_t limit = (int64_t)INGEST_DEVICE_OFFLINE_INTERVALS * dev->interval_s * 1000;
		json_t *d = json_pack("{s:s, s:i, s:o, s:b}", "device_code", dev->device_code,
				      "interval_s", dev->interval_s, "last_reading_at",
				      have ? http_mon_time(t, off) : json_null(), "online",
				      have && now - rx < limit);
		if (!d || json_array_append_new(json_object_get(p, "devices"), d) != 0)
			goto done;
		if (rules && json_object_set_new(d, "rules", http_mon_rules(dev)) != 0)
			goto done;
	}
	/* station_id order: the registry is in device_code order */
	if (!(keys = calloc(json_object_size(by) + 1, sizeof(*keys))) || !(out = json_array()))
		goto done;
	const char *k;
	json_t *v;
	json_object_foreach(by, k, v) keys[nkeys++] = k;
	qsort(keys, nkeys, sizeof(*keys), http_mon_strcmp);
	for (size_t i = 0; i < nkeys; i++)
		if (json_array_append(out, json_object_get(by, keys[i])) != 0) {
			json_decref(out);
			out = NULL;
			goto done;
		}
	*e = GA_OK;
done:
	free(keys);
	json_decref(by);
	json_decref(last);
	return out;
}

struct http_mon_changes {
	json_t *list;
	int off;
};

static bool http_mon_change_cb(int from, int to, int64_t t_ms, int64_t changed_ms,
			       const char *detail, void *arg)
{
	struct http_mon_changes *c = arg;
	json_t *d = json_loads(detail, 0, NULL);
	(void)changed_ms;
	json_t *o = json_pack("{s:o, s:o, s:o, s:o}", "from", http_mon_level(from), "to",
			      http_mon_level(to), "at", http_mon_time(t_ms, c->off), "reading",
			      d ? d : json_object());
	return o && json_array_append_new(c->list, o) == 0;
}

/* Adds to body (the point of station id) the window's lines of its
 * devices (series, judged), whether a cap left points out (truncated),
 * its level changes (changes) and the window (since, until). */
static ga_err http_mon_detail(struct store_device *sd, const struct device_registry *reg,
			      const char *id, int64_t now, int off, json_t *body)
{
	struct http_mon_window win = {now - HTTP_MON_SERIES_MS, now, off};
	json_t *series = json_array(), *judged = json_array(), *changes = json_array();
	struct http_mon_changes ch = {changes, off};
	bool truncated = false;
	ga_err e = series && judged && changes ? GA_OK : GA_ERR_NOMEM;

	for (size_t i = 0; e == GA_OK && i < device_registry_count(reg); i++) {
		const struct device *dev = device_registry_at(reg, i);
		if (strcmp(dev->station_id, id) == 0)
			e = http_mon_device_series(sd, dev, &win, series, judged, &truncated);
	}
	if (e == GA_OK)
		e = store_device_changes_since(sd, id, win.since_ms, HTTP_MON_CHANGES_MAX,
					       http_mon_change_cb, &ch);
	if (e == GA_OK &&
	    (json_object_set(body, "series", series) != 0 ||
	     json_object_set(body, "judged", judged) != 0 ||
	     json_object_set_new(body, "truncated", json_boolean(truncated)) != 0 ||
	     json_object_set(body, "changes", changes) != 0 ||
	     json_object_set_new(body, "since", http_mon_time(win.since_ms, off)) != 0 ||
	     json_object_set_new(body, "until", http_mon_time(win.now_ms, off)) != 0))
		e = GA_ERR_NOMEM;
	json_decref(series);
	json_decref(judged);
	json_decref(changes);
	return e;
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
	json_t *body = NULL, *points = NULL;
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

	if (!(lv.by_station = json_object()) || !(lv.at = json_object()))
		goto fail;
	if ((e = store_device_open(h->store, &sd)) != GA_OK ||
	    (e = store_device_levels(sd, http_mon_level_row, &lv)) != GA_OK)
		goto fail;
	e = GA_ERR_NOMEM;
	pthread_rwlock_rdlock(h->ctx.lock);
	const struct device_registry *reg = h->ctx.devices ? *h->ctx.devices : NULL;
	const struct registry *sreg = h->ctx.registry ? *h->ctx.registry : NULL;
	points = http_mon_points(h, sd, reg, sreg, &lv, id[0] ? id : NULL, now, id[0] != '\0', &e);
	if (e != GA_OK) {
		/* failed */
	} else if (id[0] == '\0') {
		body = json_pack("{s:O}", "points", points);
		e = body ? GA_OK : GA_ERR_NOMEM;
	} else if (json_array_size(points) == 0) {
		e = GA_ERR_NOTFOUND;
	} else {
		body = json_incref(json_array_get(points, 0));
		e = http_mon_detail(sd, reg, id, now, h->ctx.cfg->alerts.utc_offset_min, body);
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
	json_decref(points);
	json_decref(lv.by_station);
	json_decref(lv.at);
	store_device_close(sd);
	return r;
}
