/* http_api.c - the officer API (spec §8): /api/v1/alerts...
 *
 * Order of checks: route (404), method (405), who asks (401; 403 for a
 * session without its CSRF token), may the role do it (403), the body
 * (400), then the workflow (404, 409, 400). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "delivery.h"
#include "geo_svg.h"
#include "http_internal.h"
#include "log.h"
#include "service.h"
#include "timeutil.h"

#define HTTP_API_PREFIX "/api/v1/alerts"

enum http_api_op {
	API_LIST,
	API_GET,
	API_MAP,
	API_CONFIRM,
	API_REJECT,
	API_CANCEL,
	API_DELIVERIES,
	API_RESEND /* /deliveries/{channel}/resend: routed by http_api_resend_route */
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
    [API_RESEND] = {NULL, "POST", OFFICER_RESEND},
};

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

/* The delivery ledger of one alert (delivery.h). */
static enum MHD_Result http_api_deliveries(struct http *h, struct MHD_Connection *conn,
					   const char *id)
{
	json_t *list = NULL;
	ga_err e = delivery_list(h->store, &h->svc->cfg, id, &list);

	if (e == GA_ERR_NOTFOUND)
		return http_send_error(conn, MHD_HTTP_NOT_FOUND, "no such alert");
	if (e != GA_OK)
		return http_send_error(conn, http_status_of(e), ga_strerror(e));
	return http_send_json(conn, MHD_HTTP_OK, list, NULL);
}

/* A failed delivery pending again; the worker is woken after the commit. */
static enum MHD_Result http_api_resend(struct http *h, struct MHD_Connection *conn,
				       const struct http_who *who, const char *id,
				       const char *channel)
{
	char msg[HTTP_MSG_MAX] = "";
	int version = 0;
	ga_err e = delivery_resend(h->store, &h->svc->cfg, who->officer.id, id, channel,
				   time_now_ms(), &version, msg, sizeof(msg));

	if (e != GA_OK)
		return http_send_error(conn, http_status_of(e), msg[0] ? msg : ga_strerror(e));
	delivery_kick(h->svc->delivery);
	return http_send_json(conn, MHD_HTTP_OK,
			      json_pack("{s:s, s:s, s:i, s:s}", "alert_id", id, "channel", channel,
					"version", version, "state", "pending"),
			      NULL);
}

static enum MHD_Result http_api_list(struct http *h, struct MHD_Connection *conn)
{
	const char *state = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "state");
	int st = -1;
	if (state) {
		st = alert_state_from_name(state);
		if (st != ALERT_PENDING && st != ALERT_PUBLISHED && st != ALERT_REJECTED)
			return http_send_error(conn, MHD_HTTP_BAD_REQUEST,
					       "state must be pending, published or rejected");
	}
	json_t *list = NULL;
	ga_err e = workflow_list(h->store, &h->wf, st, &list);
	if (e != GA_OK)
		return http_send_error(conn, http_status_of(e), ga_strerror(e));
	return http_send_json(conn, MHD_HTTP_OK, json_pack("{s:o}", "alerts", list), NULL);
}

static enum MHD_Result http_api_get(struct http *h, struct MHD_Connection *conn,
				    const struct http_who *who, const char *id)
{
	json_t *alert = NULL;
	struct workflow_ctx wf = h->wf;
	/* The thresholds are swapped on SIGHUP: hold them for the call. */
	pthread_rwlock_rdlock(&h->svc->lock);
	wf.thresholds = h->svc->thresholds;
	ga_err e = workflow_get(h->store, &wf, &who->officer, id, time_now_ms(), &alert);
	pthread_rwlock_unlock(&h->svc->lock);
	if (e == GA_ERR_NOTFOUND)
		return http_send_error(conn, MHD_HTTP_NOT_FOUND, "no such alert");
	if (e != GA_OK)
		return http_send_error(conn, http_status_of(e), ga_strerror(e));
	return http_send_json(conn, MHD_HTTP_OK, alert, NULL);
}

/* The county outline with the incident's point (alert id = incident id). */
static enum MHD_Result http_api_map(struct http *h, struct MHD_Connection *conn, const char *id)
{
	struct incident inc;
	char *svg = NULL;
	size_t len = 0;
	ga_err e = store_incident_get(h->store, id, &inc);
	if (e == GA_OK)
		e = geo_svg_region(h->svc->geo, inc.admin_code, inc.lon, inc.lat, &svg, &len);
	if (e == GA_ERR_NOTFOUND)
		return http_send_error(conn, MHD_HTTP_NOT_FOUND, "no such alert");
	if (e != GA_OK)
		return http_send_error(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, ga_strerror(e));
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

/* The body's keys must all be in allowed (NULL-terminated). */
static bool http_api_keys_known(json_t *body, const char *const *allowed, char *msg, size_t msglen)
{
	const char *key;
	json_t *v;
	json_object_foreach(body, key, v)
	{
		bool ok = false;
		for (size_t i = 0; allowed[i] && !ok; i++)
			ok = strcmp(key, allowed[i]) == 0;
		if (!ok) {
			snprintf(msg, msglen, "unknown field \"%.64s\"", key);
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
		if (workflow_published_json(h->store, &h->wf, id, 0, &alert) == GA_OK) {
			json_object_set(res, "version", json_object_get(alert, "version"));
			json_decref(alert);
		}
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

static enum MHD_Result http_api_act(struct http *h, struct MHD_Connection *conn,
				    const struct http_req *req, const struct http_who *who,
				    enum http_api_op op, const char *id)
{
	static const char *const confirm_keys[] = {"edits", "draft_id", NULL};
	static const char *const reason_keys[] = {"reason", "draft_id", NULL};
	char msg[HTTP_MSG_MAX] = "";
	json_t *body = NULL;
	enum MHD_Result r;
	ga_err e;
	int64_t now = time_now_ms();

	if ((e = http_body_json(req, op == API_CONFIRM, &body, msg, sizeof(msg))) != GA_OK)
		return http_send_error(conn, MHD_HTTP_BAD_REQUEST, msg);
	/* The draft the officer was shown: a newer one since is a conflict. */
	json_t *jdraft = body ? json_object_get(body, "draft_id") : NULL;
	json_int_t draft_id = 0;
	if (jdraft && (!json_is_integer(jdraft) || (draft_id = json_integer_value(jdraft)) <= 0 ||
		       op == API_CANCEL)) {
		r = http_send_error(conn, MHD_HTTP_BAD_REQUEST,
				    op == API_CANCEL ? "unknown field \"draft_id\""
						     : "draft_id must be a positive integer");
		goto out;
	}
	if (op == API_CONFIRM) {
		json_t *edits = body ? json_object_get(body, "edits") : NULL;
		if (body && !http_api_keys_known(body, confirm_keys, msg, sizeof(msg))) {
			r = http_send_error(conn, MHD_HTTP_BAD_REQUEST, msg);
			goto out;
		}
		if (edits && !json_is_object(edits)) {
			r = http_send_error(conn, MHD_HTTP_BAD_REQUEST, "edits must be an object");
			goto out;
		}
		if (edits && json_object_size(edits) > 0 &&
		    !officer_may(who->officer.role, OFFICER_EDIT)) {
			r = http_send_error(conn, MHD_HTTP_FORBIDDEN,
					    "your role may not edit drafts");
			goto out;
		}
		bool published = false;
		e = workflow_confirm_draft(h->store, &h->wf, &who->officer, id, draft_id,
					   edits && json_object_size(edits) ? edits : NULL, now,
					   &published, msg, sizeof(msg));
		if (e == GA_OK && published)
			delivery_kick(h->svc->delivery); /* its rows are committed */
		if (e == GA_OK) {
			r = http_send_json(conn, MHD_HTTP_OK,
					   http_api_confirm_result(h, id, published), NULL);
			goto out;
		}
	} else {
		json_t *reason = json_object_get(body, "reason");
		if (!http_api_keys_known(body, reason_keys, msg, sizeof(msg))) {
			r = http_send_error(conn, MHD_HTTP_BAD_REQUEST, msg);
			goto out;
		}
		if (!json_is_string(reason) || json_string_length(reason) == 0) {
			r = http_send_error(conn, MHD_HTTP_BAD_REQUEST,
					    "a reason (a non-empty string) is required");
			goto out;
		}
		if (op == API_REJECT)
			e = workflow_reject_draft(h->store, &h->wf, &who->officer, id, draft_id,
						  json_string_value(reason), now, msg, sizeof(msg));
		else
			e = workflow_cancel(h->store, &h->wf, &who->officer, id,
					    json_string_value(reason), now, msg, sizeof(msg));
		if (e == GA_OK && op == API_CANCEL)
			delivery_kick(h->svc->delivery);
		if (e == GA_OK) {
			json_t *res = json_pack("{s:s, s:s}", "alert_id", id, "state",
						op == API_REJECT ? "rejected" : "cancelled");
			json_t *alert = NULL;
			if (res && op == API_CANCEL &&
			    workflow_published_json(h->store, &h->wf, id, 0, &alert) == GA_OK) {
				json_object_set(res, "version", json_object_get(alert, "version"));
				json_decref(alert);
			}
			r = http_send_json(conn, MHD_HTTP_OK, res, NULL);
			goto out;
		}
	}
	if (!msg[0])
		snprintf(msg, sizeof(msg), "%s",
			 e == GA_ERR_NOTFOUND	? "no such alert"
			 : e == GA_ERR_CONFLICT ? "the alert's state does not allow this"
						: ga_strerror(e));
	if (http_status_of(e) >= 500)
		log_warnx("http: %s %s: %s", req->method, req->url, msg);
	r = http_send_error(conn, http_status_of(e), msg);
out:
	json_decref(body);
	return r;
}

enum MHD_Result http_api_handle(struct http *h, struct MHD_Connection *conn,
				const struct http_req *req)
{
	enum http_api_op op;
	char id[INCIDENT_ID_MAX] = "";
	char channel[STORE_CHANNEL_MAX] = "";
	char msg[HTTP_MSG_MAX];
	struct http_who who;

	if (!http_api_route(req->url, &op, id, channel))
		return http_send_error(conn, MHD_HTTP_NOT_FOUND, "no such resource");
	const char *want = http_api_ops[op].method;
	bool head = strcmp(want, "GET") == 0 && strcmp(req->method, "HEAD") == 0;
	if (strcmp(req->method, want) != 0 && !head)
		return http_send_method(conn, want);
	unsigned status = http_auth(h, conn, strcmp(want, "POST") == 0, &who, msg, sizeof(msg));
	if (status == MHD_HTTP_UNAUTHORIZED)
		return http_send_unauthorized(conn, msg);
	if (status != 0)
		return http_send_error(conn, status, msg);
	if (!officer_may(who.officer.role, http_api_ops[op].action)) {
		snprintf(msg, sizeof(msg), "role %s may not %s",
			 officer_role_name(who.officer.role),
			 officer_action_name(http_api_ops[op].action));
		return http_send_error(conn, MHD_HTTP_FORBIDDEN, msg);
	}
	switch (op) {
	case API_LIST:
		return http_api_list(h, conn);
	case API_GET:
		return http_api_get(h, conn, &who, id);
	case API_MAP:
		return http_api_map(h, conn, id);
	case API_DELIVERIES:
		return http_api_deliveries(h, conn, id);
	case API_RESEND:
		return http_api_resend(h, conn, &who, id, channel);
	default:
		return http_api_act(h, conn, req, &who, op, id);
	}
}
