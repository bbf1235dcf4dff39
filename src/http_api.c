/* http_api.c - the officer API (spec §8): /api/v1/alerts..., and
 * /api/v1/session (issue 10). docs/openapi.yaml describes every route.
 *
 * Every error is {"error": code, "message": Chinese text, "path": the
 * field, "limit": characters} (http_send_problem): officers read the
 * message, programs the code.
 *
 * Order of checks: route (404), method (405), who asks (401; 403 for a
 * session without its CSRF token), may the role do it (403), the body
 * (400), then the workflow (404, 409, 400). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "channel.h"
#include "delivery.h"
#include "geo_svg.h"
#include "http_internal.h"
#include "log.h"
#include "text.h"
#include "timeutil.h"

#define HTTP_API_PREFIX "/api/v1/alerts"
#define HTTP_API_SESSION "/api/v1/session"

enum http_api_op {
	API_LIST,
	API_GET,
	API_MAP,
	API_CONFIRM,
	API_REJECT,
	API_CANCEL,
	API_DELIVERIES,
	API_PREVIEW,	    /* issue 10: what confirming would publish */
	API_CANCEL_PREVIEW, /* issue 10: what cancelling would publish */
	API_RESEND	    /* /deliveries/{channel}/resend: routed by http_api_resend_route */
};

/* What each operation needs: method and the role's permission. */
static const struct {
	const char *suffix; /* after /alerts/{id}; NULL: no id */
	const char *method;
	enum officer_action action;
} http_api_ops[] = {
    [API_LIST] = {NULL, "GET", OFFICER_VIEW},
    [API_GET] = {"", "GET", OFFICER_VIEW},
    [API_MAP] = {"/map.svg", "GET", OFFICER_VIEW},
    [API_CONFIRM] = {"/confirm", "POST", OFFICER_CONFIRM},
    [API_REJECT] = {"/reject", "POST", OFFICER_REJECT},
    [API_CANCEL] = {"/cancel", "POST", OFFICER_CANCEL},
    [API_DELIVERIES] = {"/deliveries", "GET", OFFICER_VIEW},
    [API_PREVIEW] = {"/preview", "POST", OFFICER_CONFIRM},
    [API_CANCEL_PREVIEW] = {"/cancel/preview", "POST", OFFICER_CANCEL},
    [API_RESEND] = {NULL, "POST", OFFICER_RESEND},
};

/* RFC 3339 at the service's offset; null for 0 (not yet). */
static json_t *http_api_time(int64_t ms, int offset_min)
{
	char buf[TIME_TEXT_MAX];

	if (ms == 0)
		return json_null();
	time_format_rfc3339(ms, offset_min, buf, sizeof(buf));
	return json_string(buf);
}

/* Roles and actions in officers' words (messages only; the contract
 * names stay officer.c's). */
static const char *officer_role_zh(enum officer_role r)
{
	static const char *const zh[OFFICER_ROLE_COUNT] = {
	    [OFFICER_DUTY_OFFICER] = "值班员",
	    [OFFICER_SUPERVISOR] = "带班领导",
	    [OFFICER_ADMIN] = "管理员",
	};
	return (unsigned)r < OFFICER_ROLE_COUNT ? zh[r] : "未知角色";
}

static const char *officer_action_zh(enum officer_action a)
{
	static const char *const zh[OFFICER_ACTION_COUNT] = {
	    [OFFICER_VIEW] = "查看预警",      [OFFICER_EDIT] = "修改草稿",
	    [OFFICER_CONFIRM] = "确认发布",   [OFFICER_REJECT] = "驳回草稿",
	    [OFFICER_CANCEL] = "解除预警",    [OFFICER_RESEND] = "重新发送",
	    [OFFICER_AUDIT] = "查看审计记录", [OFFICER_OFFICERS] = "管理值班人员",
	};
	return (unsigned)a < OFFICER_ACTION_COUNT ? zh[a] : "执行此操作";
}

static bool http_api_id_valid(const char *id, size_t n)
{
	if (n == 0 || n >= INCIDENT_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = id[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_'))
			return false;
	}
	return true;
}

/* "/deliveries/{channel}/resend" into channel; false when it is not. */
static bool http_api_resend_route(const char *rest, char channel[STORE_CHANNEL_MAX])
{
	static const char pre[] = "/deliveries/", post[] = "/resend";
	size_t n;

	if (strncmp(rest, pre, sizeof(pre) - 1) != 0)
		return false;
	rest += sizeof(pre) - 1;
	n = strcspn(rest, "/");
	if (n >= STORE_CHANNEL_MAX || !http_api_id_valid(rest, n) || strcmp(rest + n, post) != 0)
		return false;
	memcpy(channel, rest, n);
	channel[n] = '\0';
	return true;
}

/* Parses the URL into an operation and the alert id (and the channel of
 * a resend); false: 404. */
static bool http_api_route(const char *url, enum http_api_op *op, char id[INCIDENT_ID_MAX],
			   char channel[STORE_CHANNEL_MAX])
{
	size_t plen = strlen(HTTP_API_PREFIX);
	if (strncmp(url, HTTP_API_PREFIX, plen) != 0)
		return false;
	url += plen;
	if (url[0] == '\0') {
		*op = API_LIST;
		return true;
	}
	if (url[0] != '/')
		return false;
	url++;
	size_t n = strcspn(url, "/");
	if (!http_api_id_valid(url, n))
		return false;
	memcpy(id, url, n);
	id[n] = '\0';
	for (size_t k = API_GET; k < API_RESEND; k++) {
		if (strcmp(url + n, http_api_ops[k].suffix) == 0) {
			*op = (enum http_api_op)k;
			return true;
		}
	}
	if (http_api_resend_route(url + n, channel)) {
		*op = API_RESEND;
		return true;
	}
	return false;
}

/* A workflow or store error: msg when the workflow said why, else a
 * Chinese text for the status; 500s are logged with the detail. */
static enum MHD_Result http_api_fail(struct MHD_Connection *conn, const struct http_req *req,
				     ga_err e, const char *msg)
{
	unsigned status = http_status_of(e);
	const char *text = msg != NULL && msg[0]  ? msg
			   : e == GA_ERR_NOTFOUND ? "没有这条预警"
			   : e == GA_ERR_CONFLICT ? "预警当前的状态不允许此操作"
			   : e == GA_ERR_BUSY	  ? "服务繁忙，请稍后再试"
			   : status < 500	  ? "请求无效"
					  : "服务器内部错误，请稍后再试或联系管理员";
	if (status >= 500)
		log_warnx("http: %s %s: %s", req->method, req->url, ga_strerror(e));
	return http_send_problem(conn, status, NULL, text, NULL, 0);
}

/* The delivery ledger of one alert (delivery.h). */
static enum MHD_Result http_api_deliveries(struct http *h, struct MHD_Connection *conn,
					   const struct http_req *req, const char *id)
{
	json_t *list = NULL;
	ga_err e = delivery_list(h->store, h->ctx.cfg, id, &list);

	if (e != GA_OK)
		return http_api_fail(conn, req, e, NULL);
	return http_send_json(conn, MHD_HTTP_OK, list, NULL);
}

/* A failed delivery pending again; the worker is woken after the commit. */
static enum MHD_Result http_api_resend(struct http *h, struct MHD_Connection *conn,
				       const struct http_req *req, const struct http_who *who,
				       const char *id, const char *channel)
{
	char msg[HTTP_MSG_MAX] = "";
	int version = 0;
	ga_err e = delivery_resend(h->store, h->ctx.cfg, who->officer.id, id, channel,
				   time_now_ms(), &version, msg, sizeof(msg));

	if (e != GA_OK)
		return http_api_fail(conn, req, e, msg);
	delivery_kick(h->ctx.delivery);
	return http_send_json(conn, MHD_HTTP_OK,
			      json_pack("{s:s, s:s, s:i, s:s}", "alert_id", id, "channel", channel,
					"version", version, "state", "pending"),
			      NULL);
}

static enum MHD_Result http_api_list(struct http *h, struct MHD_Connection *conn,
				     const struct http_req *req)
{
	const char *state = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "state");
	int st = -1;
	if (state) {
		st = alert_state_from_name(state);
		if (st != ALERT_PENDING && st != ALERT_PUBLISHED && st != ALERT_REJECTED)
			return http_send_problem(conn, MHD_HTTP_BAD_REQUEST, "bad_state",
						 "state 只能是 pending、published 或 rejected",
						 "state", 0);
	}
	json_t *list = NULL;
	ga_err e = workflow_list_at(h->store, &h->wf, st, time_now_ms(), &list);
	if (e != GA_OK)
		return http_api_fail(conn, req, e, NULL);
	return http_send_json(conn, MHD_HTTP_OK, json_pack("{s:o}", "alerts", list), NULL);
}

/* {public_base_url}/alerts/{id}: where the public reads the alert. */
static void http_api_public_url(const struct http *h, const char *id, char *out, size_t len)
{
	const char *base = h->ctx.cfg->http.public_base_url;
	size_t n = strlen(base);

	snprintf(out, len, "%.*s/alerts/%s", (int)(n > 0 && base[n - 1] == '/' ? n - 1 : n), base,
		 id);
}

struct http_api_dwalk {
	const struct config *cfg;
	int version; /* the latest published */
	int64_t now_ms;
	json_t *arr;
	bool nomem;
};

/* One delivery of the latest published version as the console shows it:
 * "sending" is still pending; an open one past the channel's late_after
 * (a portal retried without deadline) is "late". */
static bool http_api_delivery_cb(const struct store_delivery *d, void *arg)
{
	struct http_api_dwalk *w = arg;
	const struct config_channel *ch = NULL;
	const char *state = d->state;
	struct channel_limits lim;
	char err[HTTP_MSG_MAX];

	if (d->version != w->version)
		return true;
	for (int i = 0; i < w->cfg->nchannels; i++)
		if (strcmp(w->cfg->channels[i].name, d->channel) == 0)
			ch = &w->cfg->channels[i];
	if (strcmp(state, "sending") == 0)
		state = "pending";
	if (strcmp(state, "pending") == 0 && ch != NULL &&
	    channel_limits_of(w->cfg, ch, &lim, err, sizeof(err)) == GA_OK && lim.late_ms > 0 &&
	    w->now_ms - d->created_ms > lim.late_ms)
		state = "late";
	json_t *o = json_pack("{s:s, s:o, s:s, s:i, s:s, s:o}", "channel", d->channel, "type",
			      ch ? json_string(ch->type) : json_null(), "state", state, "attempts",
			      d->attempts, "last_error", d->last_error, "delivered_at",
			      http_api_time(d->delivered_ms, w->cfg->alerts.utc_offset_min));
	if (o == NULL || json_array_append_new(w->arr, o) != 0) {
		w->nomem = true;
		return false;
	}
	return true;
}

/* Adds deliveries (of the latest published version; [] when none) and
 * public_url to the officers' view of an alert. */
static ga_err http_api_get_extras(struct http *h, const char *id, json_t *view)
{
	json_t *pub = json_object_get(view, "published");
	json_t *last = json_array_get(pub, json_array_size(pub) - 1);
	struct http_api_dwalk w = {h->ctx.cfg, 0, time_now_ms(), json_array(), false};
	char url[CONFIG_STR_MAX + INCIDENT_ID_MAX + 16];
	ga_err e = GA_OK;

	if (w.arr == NULL)
		return GA_ERR_NOMEM;
	if (last != NULL) {
		w.version = (int)json_integer_value(json_object_get(last, "version"));
		e = store_delivery_each(h->store, id, http_api_delivery_cb, &w);
		if (e == GA_OK && w.nomem)
			e = GA_ERR_NOMEM;
	}
	http_api_public_url(h, id, url, sizeof(url));
	if (e == GA_OK &&
	    (json_object_set(view, "deliveries", w.arr) != 0 ||
	     json_object_set_new(view, "public_url", last ? json_string(url) : json_null()) != 0))
		e = GA_ERR_NOMEM;
	json_decref(w.arr);
	return e;
}

static enum MHD_Result http_api_get(struct http *h, struct MHD_Connection *conn,
				    const struct http_req *req, const struct http_who *who,
				    const char *id)
{
	json_t *alert = NULL;
	struct workflow_ctx wf = h->wf;
	/* The thresholds are swapped on SIGHUP: hold them for the call. */
	pthread_rwlock_rdlock(h->ctx.lock);
	wf.thresholds = *h->ctx.thresholds;
	ga_err e = workflow_get(h->store, &wf, &who->officer, id, time_now_ms(), &alert);
	pthread_rwlock_unlock(h->ctx.lock);
	if (e == GA_OK && (e = http_api_get_extras(h, id, alert)) != GA_OK)
		json_decref(alert);
	if (e != GA_OK)
		return http_api_fail(conn, req, e, NULL);
	return http_send_json(conn, MHD_HTTP_OK, alert, NULL);
}

/* The county outline with the incident's point (alert id = incident id). */
static enum MHD_Result http_api_map(struct http *h, struct MHD_Connection *conn,
				    const struct http_req *req, const char *id)
{
	struct incident inc;
	char *svg = NULL;
	size_t len = 0;
	ga_err e = store_incident_get(h->store, id, &inc);
	if (e == GA_OK)
		e = geo_svg_region(h->ctx.geo, inc.admin_code, inc.lon, inc.lat, &svg, &len);
	if (e != GA_OK)
		return http_api_fail(conn, req, e, NULL);
	struct MHD_Response *resp =
	    MHD_create_response_from_buffer(len, svg, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(svg);
		return MHD_NO;
	}
	MHD_add_response_header(resp, "Content-Type", "image/svg+xml");
	MHD_add_response_header(resp, "Cache-Control", "private, no-store");
	return http_queue(conn, MHD_HTTP_OK, resp);
}

/* The body's keys must all be in allowed (NULL-terminated); else a 400
 * is sent and false returned (*r its result). */
static bool http_api_keys_known(struct MHD_Connection *conn, json_t *body,
				const char *const *allowed, enum MHD_Result *r)
{
	const char *key;
	json_t *v;
	json_object_foreach(body, key, v)
	{
		bool ok = false;
		for (size_t i = 0; allowed[i] && !ok; i++)
			ok = strcmp(key, allowed[i]) == 0;
		if (!ok) {
			char msg[HTTP_MSG_MAX];
			snprintf(msg, sizeof(msg), "未知的字段：%.64s", key);
			*r = http_send_problem(conn, MHD_HTTP_BAD_REQUEST, "unknown_field", msg,
					       key, 0);
			return false;
		}
	}
	return true;
}

/* After a confirmation: the version and state it left the alert in. */
static json_t *http_api_confirm_result(struct http *h, const char *id, bool published)
{
	json_t *res = json_pack("{s:s, s:i, s:s, s:b}", "alert_id", id, "version", 0, "state",
				published ? "published" : "pending", "published", published);
	if (!res)
		return NULL;
	if (published) {
		json_t *alert = NULL;
		char url[CONFIG_STR_MAX + INCIDENT_ID_MAX + 16];
		if (workflow_published_json(h->store, &h->wf, id, 0, &alert) == GA_OK) {
			json_object_set(res, "version", json_object_get(alert, "version"));
			json_decref(alert);
		}
		http_api_public_url(h, id, url, sizeof(url));
		json_object_set_new(res, "public_url", json_string(url));
		return res;
	}
	json_t *list = NULL, *item;
	size_t i;
	if (workflow_list(h->store, &h->wf, ALERT_PENDING, &list) == GA_OK) {
		json_array_foreach(list, i, item)
		{
			if (json_is_string(json_object_get(item, "alert_id")) &&
			    strcmp(json_string_value(json_object_get(item, "alert_id")), id) == 0) {
				json_object_set(res, "version", json_object_get(item, "version"));
				json_object_set(res, "confirmations",
						json_object_get(item, "confirmations"));
				break;
			}
		}
		json_decref(list);
	}
	return res;
}

/* What the channels would send of alert (the preview, issue 10): one
 * item per channel delivery_enqueue would choose, with the text the
 * channel renders, its length in characters and the channel's limit in
 * characters (null when it counts bytes or has none). A channel whose
 * text cannot be made (e.g. the link does not fit) says so in "error". */
static ga_err http_api_channels(struct http *h, const json_t *alert, json_t **out)
{
	const struct config *cfg = h->ctx.cfg;
	const char *id = json_string_value(json_object_get(alert, "alert_id"));
	const char *type = json_string_value(json_object_get(alert, "msg_type"));
	int version = (int)json_integer_value(json_object_get(alert, "version"));
	bool chosen[CONFIG_MAX_CHANNELS];
	char url[CONFIG_STR_MAX + INCIDENT_ID_MAX + 16], idem[INCIDENT_ID_MAX + 16];
	json_t *arr = json_array();
	ga_err e;

	if (arr == NULL || id == NULL || type == NULL)
		return GA_ERR_NOMEM;
	if ((e = delivery_targets(h->store, cfg, id, version, type, chosen)) != GA_OK)
		goto out;
	http_api_public_url(h, id, url, sizeof(url));
	snprintf(idem, sizeof(idem), "%s:%d", id, version);
	for (int i = 0; i < cfg->nchannels && e == GA_OK; i++) {
		const struct config_channel *ch = &cfg->channels[i];
		struct channel_job job = {id,  version,	      type, idem, alert,
					  url, time_now_ms(), 0,    ""};
		struct channel *c = NULL;
		char err[HTTP_MSG_MAX] = "", *text = NULL;
		long limit = 0;
		json_t *item;

		if (!chosen[i])
			continue;
		/* mqtt sends the alert JSON, and opening it would connect. */
		if (strcmp(ch->type, "mqtt") != 0 &&
		    channel_open(cfg, ch, NULL, NULL, &c, err, sizeof(err)) == GA_OK) {
			if (channel_preview(c, &job, &text, &limit, err, sizeof(err)) != GA_OK)
				text = NULL;
			else
				err[0] = '\0';
			channel_free(c);
		}
		item = json_pack("{s:s, s:s, s:o, s:o, s:o}", "channel", ch->name, "type", ch->type,
				 "text", text ? json_string(text) : json_null(), "chars",
				 text ? json_integer((json_int_t)text_chars(text)) : json_null(),
				 "limit", limit > 0 ? json_integer(limit) : json_null());
		if (item != NULL && err[0] != '\0')
			json_object_set_new(item, "error", json_string(err));
		free(text);
		if (item == NULL || json_array_append_new(arr, item) != 0)
			e = GA_ERR_NOMEM;
	}
out:
	if (e != GA_OK) {
		json_decref(arr);
		return e;
	}
	*out = arr;
	return GA_OK;
}

/* The preview answer: {alert_id, version, page_html, alert, channels}
 * and, for a cancel, edits (the five texts as they would be published). */
static enum MHD_Result http_api_preview_send(struct http *h, struct MHD_Connection *conn,
					     const struct http_req *req, json_t *alert, bool cancel)
{
	json_t *channels = NULL, *res = NULL;
	char *page = NULL;
	size_t len = 0;
	ga_err e = http_public_page_html(h, alert, &page, &len);

	if (e == GA_OK)
		e = http_api_channels(h, alert, &channels);
	if (e == GA_OK) {
		res = json_pack("{s:O, s:O, s:s%, s:O, s:O}", "alert_id",
				json_object_get(alert, "alert_id"), "version",
				json_object_get(alert, "version"), "page_html", page, len, "alert",
				alert, "channels", channels);
		if (res != NULL && cancel) {
			static const char *const f[] = {"headline", "situation", "causes",
							"response", "trend"};
			json_t *edits = json_object();
			for (size_t i = 0; edits && i < sizeof(f) / sizeof(f[0]); i++)
				json_object_set(edits, f[i], json_object_get(alert, f[i]));
			if (edits == NULL || json_object_set_new(res, "edits", edits) != 0) {
				json_decref(res);
				res = NULL;
			}
		}
		if (res == NULL)
			e = GA_ERR_NOMEM;
	}
	free(page);
	json_decref(channels);
	json_decref(alert);
	if (e != GA_OK)
		return http_api_fail(conn, req, e, NULL);
	return http_send_json(conn, MHD_HTTP_OK, res, NULL);
}

/* A 400 for edits that workflow_edits_validate refuses, with its path
 * and limit; true when they are fine. */
static bool http_api_edits_ok(struct MHD_Connection *conn, const json_t *edits, enum MHD_Result *r)
{
	struct workflow_problem p;

	if (workflow_edits_validate(edits, &p) == GA_OK)
		return true;
	*r = http_send_problem(conn, MHD_HTTP_BAD_REQUEST, p.code, p.message, p.path, p.limit);
	return false;
}

static enum MHD_Result http_api_act(struct http *h, struct MHD_Connection *conn,
				    const struct http_req *req, const struct http_who *who,
				    enum http_api_op op, const char *id)
{
	static const char *const confirm_keys[] = {"edits", "draft_id", NULL};
	static const char *const reject_keys[] = {"reason", "draft_id", NULL};
	static const char *const cancel_keys[] = {"reason", "edits", NULL};
	bool edits_op =
	    op == API_CONFIRM || op == API_PREVIEW || op == API_CANCEL || op == API_CANCEL_PREVIEW;
	bool reason_op = op == API_REJECT || op == API_CANCEL;
	bool cancel_op = op == API_CANCEL || op == API_CANCEL_PREVIEW;
	char msg[HTTP_MSG_MAX] = "";
	json_t *body = NULL, *edits = NULL, *reason = NULL;
	enum MHD_Result r;
	ga_err e;
	int64_t now = time_now_ms();

	if ((e = http_body_json(req, !reason_op, &body, msg, sizeof(msg))) != GA_OK)
		return http_send_problem(conn, MHD_HTTP_BAD_REQUEST, "bad_body", msg, NULL, 0);
	if (body && !http_api_keys_known(conn, body,
					 cancel_op	    ? cancel_keys
					 : op == API_REJECT ? reject_keys
							    : confirm_keys,
					 &r))
		goto out;
	/* The draft the officer was shown: a newer one since is a conflict. */
	json_t *jdraft = body ? json_object_get(body, "draft_id") : NULL;
	json_int_t draft_id = 0;
	if (jdraft && (!json_is_integer(jdraft) || (draft_id = json_integer_value(jdraft)) <= 0)) {
		r = http_send_problem(conn, MHD_HTTP_BAD_REQUEST, "bad_draft_id",
				      "draft_id 必须是正整数", "draft_id", 0);
		goto out;
	}
	edits = body ? json_object_get(body, "edits") : NULL;
	if (edits_op && !http_api_edits_ok(conn, edits, &r))
		goto out;
	if (edits && json_object_size(edits) > 0 && !officer_may(who->officer.role, OFFICER_EDIT)) {
		r = http_send_problem(conn, MHD_HTTP_FORBIDDEN, "forbidden", "你的角色不能修改草稿",
				      "edits", 0);
		goto out;
	}
	if (edits && json_object_size(edits) == 0)
		edits = NULL;
	reason = body ? json_object_get(body, "reason") : NULL;
	if ((reason_op || (op == API_CANCEL_PREVIEW && reason)) &&
	    (!json_is_string(reason) || json_string_length(reason) == 0)) {
		r = http_send_problem(conn, MHD_HTTP_BAD_REQUEST, "reason_required",
				      "请填写原因（非空文字）", "reason", 0);
		goto out;
	}
	switch (op) {
	case API_PREVIEW:
	case API_CANCEL_PREVIEW: {
		json_t *alert = NULL;
		if (op == API_PREVIEW)
			e = workflow_preview(h->store, &h->wf, id, draft_id, edits, now, &alert,
					     msg, sizeof(msg));
		else
			e = workflow_cancel_preview(h->store, &h->wf, id, edits, now, &alert, msg,
						    sizeof(msg));
		if (e == GA_OK) {
			r = http_api_preview_send(h, conn, req, alert, op == API_CANCEL_PREVIEW);
			goto out;
		}
		break;
	}
	case API_CONFIRM: {
		bool published = false;
		e = workflow_confirm_draft(h->store, &h->wf, &who->officer, id, draft_id, edits,
					   now, &published, msg, sizeof(msg));
		if (e == GA_OK && published)
			delivery_kick(h->ctx.delivery); /* its rows are committed */
		if (e == GA_OK) {
			r = http_send_json(conn, MHD_HTTP_OK,
					   http_api_confirm_result(h, id, published), NULL);
			goto out;
		}
		break;
	}
	default:
		if (op == API_REJECT)
			e = workflow_reject_draft(h->store, &h->wf, &who->officer, id, draft_id,
						  json_string_value(reason), now, msg, sizeof(msg));
		else
			e = workflow_cancel_edited(h->store, &h->wf, &who->officer, id,
						   json_string_value(reason), edits, now, msg,
						   sizeof(msg));
		if (e == GA_OK && op == API_CANCEL)
			delivery_kick(h->ctx.delivery);
		if (e == GA_OK) {
			json_t *res = json_pack("{s:s, s:s}", "alert_id", id, "state",
						op == API_REJECT ? "rejected" : "cancelled");
			json_t *alert = NULL;
			if (res && op == API_CANCEL &&
			    workflow_published_json(h->store, &h->wf, id, 0, &alert) == GA_OK) {
				char url[CONFIG_STR_MAX + INCIDENT_ID_MAX + 16];
				http_api_public_url(h, id, url, sizeof(url));
				json_object_set(res, "version", json_object_get(alert, "version"));
				json_object_set_new(res, "public_url", json_string(url));
				json_decref(alert);
			}
			r = http_send_json(conn, MHD_HTTP_OK, res, NULL);
			goto out;
		}
	}
	r = http_api_fail(conn, req, e, msg);
out:
	json_decref(body);
	return r;
}

/* GET /api/v1/session: who is logged in and until when, so the console
 * can warn before its session expires (issue 10), and the service's zone
 * (utc_offset, "+08:00") every time of the API is given in. A session's expiry is
 * an idle one: expires_at moves on with use (in steps of HTTP_TOUCH_MS);
 * a bearer token has none (null). */
static enum MHD_Result http_api_session(struct http *h, struct MHD_Connection *conn,
					const struct http_req *req)
{
	char msg[HTTP_MSG_MAX];
	struct http_who who;
	int off = h->ctx.cfg->alerts.utc_offset_min;
	int64_t now = time_now_ms();
	unsigned status;

	if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0)
		return http_send_method(conn, "GET");
	status = http_auth(h, conn, false, &who, msg, sizeof(msg));
	if (status == MHD_HTTP_UNAUTHORIZED)
		return http_send_unauthorized(conn, msg);
	if (status != 0)
		return http_send_problem(conn, status, NULL, msg, NULL, 0);
	return http_send_json(
	    conn, MHD_HTTP_OK,
	    json_pack("{s:s, s:s, s:s, s:b, s:o, s:o, s:o, s:o, s:s}", "name", who.officer.name,
		      "role", officer_role_name(who.officer.role), "role_zh",
		      officer_role_zh(who.officer.role), "by_session", who.by_session, "expires_at",
		      who.by_session ? http_api_time(who.session.expires_ms, off) : json_null(),
		      "idle_expires_at",
		      who.by_session ? http_api_time(who.session.expires_ms, off) : json_null(),
		      "idle_timeout_s",
		      who.by_session ? json_integer(h->ctx.cfg->console.session_idle_s)
				     : json_null(),
		      "server_time", http_api_time(now, off), "utc_offset",
		      h->ctx.cfg->alerts.utc_offset),
	    NULL);
}

enum MHD_Result http_api_handle(struct http *h, struct MHD_Connection *conn,
				const struct http_req *req)
{
	enum http_api_op op;
	char id[INCIDENT_ID_MAX] = "";
	char channel[STORE_CHANNEL_MAX] = "";
	char msg[HTTP_MSG_MAX];
	struct http_who who;

	if (strcmp(req->url, HTTP_API_SESSION) == 0)
		return http_api_session(h, conn, req);
	if (!http_api_route(req->url, &op, id, channel))
		return http_send_problem(conn, MHD_HTTP_NOT_FOUND, NULL, "没有这个资源", NULL, 0);
	const char *want = http_api_ops[op].method;
	bool head = strcmp(want, "GET") == 0 && strcmp(req->method, "HEAD") == 0;
	if (strcmp(req->method, want) != 0 && !head)
		return http_send_method(conn, want);
	unsigned status = http_auth(h, conn, strcmp(want, "POST") == 0, &who, msg, sizeof(msg));
	if (status == MHD_HTTP_UNAUTHORIZED)
		return http_send_unauthorized(conn, msg);
	if (status != 0)
		return http_send_problem(conn, status, status == MHD_HTTP_FORBIDDEN ? "csrf" : NULL,
					 msg, NULL, 0);
	if (!officer_may(who.officer.role, http_api_ops[op].action)) {
		snprintf(msg, sizeof(msg), "%s无权%s", officer_role_zh(who.officer.role),
			 officer_action_zh(http_api_ops[op].action));
		return http_send_problem(conn, MHD_HTTP_FORBIDDEN, "forbidden", msg, NULL, 0);
	}
	switch (op) {
	case API_LIST:
		return http_api_list(h, conn, req);
	case API_GET:
		return http_api_get(h, conn, req, &who, id);
	case API_MAP:
		return http_api_map(h, conn, req, id);
	case API_DELIVERIES:
		return http_api_deliveries(h, conn, req, id);
	case API_RESEND:
		return http_api_resend(h, conn, req, &who, id, channel);
	default:
		return http_api_act(h, conn, req, &who, op, id);
	}
}
