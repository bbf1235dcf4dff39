/* http_riskwarning.c - the officer API of risk warnings (spec §11):
 *   POST /api/v1/riskwarnings                        intake (201 / 400 / 409)
 *   GET  /api/v1/riskwarnings?state=...              list
 *   GET  /api/v1/riskwarnings/{product_id}           detail
 *   POST /api/v1/riskwarnings/{product_id}/confirm   {"edits": {...}} optional
 *   POST /api/v1/riskwarnings/{product_id}/reject    {"reason"}
 *   POST /api/v1/riskwarnings/{product_id}/cancel    {"reason"}
 *   POST /api/v1/riskwarnings/{product_id}/preview   what confirming publishes
 *   POST /api/v1/riskwarnings/{product_id}/deliveries/{channel}/resend
 *                                                    a failed delivery again
 *   GET  /api/v1/regions                             counties and the blank map
 * (the last two for the console's 风险预警 view, docs/console.md).
 * Same order of checks and error form as http_api.c. Runs on the MHD
 * thread with h->store. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "delivery.h"
#include "http_internal.h"
#include "log.h"
#include "riskwarning_deliver.h"
#include "riskwarning_flow.h"
#include "riskwarning_page.h"
#include "timeutil.h"

#define HTTP_RW_PREFIX "/api/v1/riskwarnings"

#define HTTP_RW_REGIONS "/api/v1/regions"

enum http_rw_op {
	RW_INTAKE,
	RW_LIST,
	RW_GET,
	RW_CONFIRM,
	RW_REJECT,
	RW_CANCEL,
	RW_PREVIEW,
	RW_RESEND
};

static const struct {
	const char *suffix; /* after /{product_id}; NULL: the collection */
	const char *method;
	enum officer_action action;
} http_rw_ops[] = {
    [RW_INTAKE] = {NULL, "POST", OFFICER_EDIT},
    [RW_LIST] = {NULL, "GET", OFFICER_VIEW},
    [RW_GET] = {"", "GET", OFFICER_VIEW},
    [RW_CONFIRM] = {"/confirm", "POST", OFFICER_CONFIRM},
    [RW_REJECT] = {"/reject", "POST", OFFICER_REJECT},
    [RW_CANCEL] = {"/cancel", "POST", OFFICER_CANCEL},
    [RW_PREVIEW] = {"/preview", "POST", OFFICER_CONFIRM},
    /* "/deliveries/{channel}/resend": matched by http_rw_parse */
    [RW_RESEND] = {NULL, "POST", OFFICER_RESEND},
};

bool http_riskwarning_route(const char *url)
{
	size_t n = strlen(HTTP_RW_PREFIX);

	if (strcmp(url, "/api/v1/regions") == 0)
		return true;
	return strncmp(url, HTTP_RW_PREFIX, n) == 0 && (url[n] == '\0' || url[n] == '/');
}

/* The operation and product id of url (and the channel of a resend);
 * false: 404. */
static bool http_rw_parse(const char *url, const char *method, enum http_rw_op *op,
			  char id[REPORT_ID_MAX + 1], char channel[STORE_CHANNEL_MAX])
{
	static const char pre[] = "/deliveries/", post[] = "/resend";

	url += strlen(HTTP_RW_PREFIX);
	if (url[0] == '\0') {
		*op = strcmp(method, "POST") == 0 ? RW_INTAKE : RW_LIST;
		return true;
	}
	url++;
	size_t n = strcspn(url, "/");
	if (n == 0 || n > REPORT_ID_MAX)
		return false;
	memcpy(id, url, n);
	id[n] = '\0';
	if (!report_id_valid(id))
		return false;
	for (int k = RW_GET; k <= RW_PREVIEW; k++) {
		if (strcmp(url + n, http_rw_ops[k].suffix) == 0) {
			*op = (enum http_rw_op)k;
			return true;
		}
	}
	url += n;
	size_t len = strlen(url);
	if (strncmp(url, pre, sizeof(pre) - 1) != 0 || len < sizeof(pre) - 1 + sizeof(post) - 1 ||
	    strcmp(url + len - (sizeof(post) - 1), post) != 0)
		return false;
	size_t clen = len - (sizeof(pre) - 1) - (sizeof(post) - 1);
	if (clen == 0 || clen >= STORE_CHANNEL_MAX || memchr(url + sizeof(pre) - 1, '/', clen))
		return false;
	memcpy(channel, url + sizeof(pre) - 1, clen);
	channel[clen] = '\0';
	*op = RW_RESEND;
	return true;
}

static struct riskwarning_flow_cfg http_rw_cfg(const struct http *h)
{
	return (struct riskwarning_flow_cfg){.signoff = h->ctx.cfg->riskwarning.signoff,
					     .utc_offset_min = h->ctx.cfg->alerts.utc_offset_min,
					     .deliver = h->wf.delivery_cfg};
}

static enum MHD_Result http_rw_fail(struct MHD_Connection *conn, const struct http_req *req,
				    ga_err e, const char *msg)
{
	unsigned status = http_status_of(e);
	const char *text = msg != NULL && msg[0]  ? msg
			   : e == GA_ERR_NOTFOUND ? "没有这个风险预警产品"
			   : e == GA_ERR_CONFLICT ? "产品当前的状态不允许此操作"
			   : e == GA_ERR_BUSY	  ? "服务繁忙，请稍后再试"
			   : status < 500	  ? "请求无效"
					  : "服务器内部错误，请稍后再试或联系管理员";
	if (status >= 500)
		log_warnx("http: %s %s: %s", req->method, req->url, ga_strerror(e));
	return http_send_problem(conn, status, NULL, text, NULL, 0);
}

/* POST /api/v1/riskwarnings: validated like the MQTT intake; a rejected
 * product is stored raw with its reasons, as a rejected report is. */
static enum MHD_Result http_rw_intake(struct http *h, struct MHD_Connection *conn,
				      const struct http_req *req, const struct http_who *who)
{
	const struct riskwarning_context ctx = {.geo = h->ctx.geo, .now_ms = time_now_ms()};
	struct riskwarning *w = malloc(sizeof(*w));
	struct report_errors *errs = malloc(sizeof(*errs));
	char source[STORE_RISKWARNING_SOURCE_MAX];
	struct riskwarning_flow_cfg cfg = http_rw_cfg(h);
	enum MHD_Result r;
	json_t *body = NULL;
	char *reasons = NULL;
	ga_err e;

	if (w == NULL || errs == NULL) {
		free(w);
		free(errs);
		return http_rw_fail(conn, req, GA_ERR_NOMEM, NULL);
	}
	snprintf(source, sizeof(source), "api:%s", who->officer.name);
	e = riskwarning_parse(&ctx, req->body, req->body ? req->len : 0, w, errs);
	/* supersedes must name a stored product: checked inside the intake's
	 * transaction, rejected here like any invalid product */
	bool unknown = false;
	if (e == GA_OK && w->supersedes != NULL && w->supersedes[0] != '\0') {
		struct store_riskwarning old;
		unknown = store_riskwarning_get(h->store, w->supersedes, &old) == GA_ERR_NOTFOUND;
		store_riskwarning_clear(&old);
		if (unknown) {
			riskwarning_flow_supersedes_error(w, errs);
			e = GA_ERR_INVAL;
		}
	}
	if (e == GA_ERR_INVAL) {
		json_t *list = report_errors_to_json(errs);
		reasons = list ? json_dumps(list, JSON_COMPACT) : NULL;
		if (reasons == NULL ||
		    store_rejected_put(h->store, HTTP_RW_PREFIX, req->body,
				       req->body ? req->len : 0, req->body ? req->len : 0, NULL,
				       ctx.now_ms, reasons) != GA_OK) {
			json_decref(list);
			r = http_rw_fail(conn, req, GA_ERR_DB, NULL);
			goto out;
		}
		body = json_pack("{s:s, s:s, s:o}", "error", "invalid", "message",
				 "风险预警产品无效，见 errors", "errors", list);
		r = body ? http_send_json(conn, MHD_HTTP_BAD_REQUEST, body, NULL)
			 : http_rw_fail(conn, req, GA_ERR_NOMEM, NULL);
		body = NULL;
		goto out;
	}
	if (e != GA_OK) {
		r = http_rw_fail(conn, req, e, NULL);
		goto out;
	}
	if ((e = store_begin(h->store)) == GA_OK) {
		e = riskwarning_flow_intake(h->store, w, h->ctx.geo, source, who->officer.id,
					    req->body, req->len, ctx.now_ms);
		if (e == GA_OK)
			e = store_commit(h->store);
		else
			store_rollback(h->store);
	}
	if (e == GA_ERR_DUPLICATE) {
		struct store_riskwarning row;
		const char *state = "";
		if (store_riskwarning_get(h->store, w->product_id, &row) == GA_OK)
			state = row.state;
		body = json_pack("{s:s, s:s, s:s, s:s}", "error", "duplicate", "message",
				 "该产品编号已收到过", "product_id", w->product_id, "state", state);
		store_riskwarning_clear(&row);
		r = body ? http_send_json(conn, MHD_HTTP_CONFLICT, body, NULL)
			 : http_rw_fail(conn, req, GA_ERR_NOMEM, NULL);
		body = NULL;
		goto out;
	}
	if (e != GA_OK) {
		r = http_rw_fail(conn, req, e, NULL);
		goto out;
	}
	struct store_riskwarning row;
	if ((e = store_riskwarning_get(h->store, w->product_id, &row)) != GA_OK) {
		r = http_rw_fail(conn, req, e, NULL);
		goto out;
	}
	body = riskwarning_flow_json(h->store, &cfg, &row, false);
	store_riskwarning_clear(&row);
	if (body != NULL)
		json_object_set_new(body, "status", json_string("accepted"));
	r = body ? http_send_json(conn, MHD_HTTP_CREATED, body, NULL)
		 : http_rw_fail(conn, req, GA_ERR_NOMEM, NULL);
	body = NULL;
out:
	free(reasons);
	json_decref(body);
	riskwarning_cleanup(w);
	free(w);
	free(errs);
	return r;
}

struct http_rw_list {
	struct store *s;
	const struct riskwarning_flow_cfg *cfg;
	json_t *items;
	bool nomem;
};

static bool http_rw_list_cb(const struct store_riskwarning *w, void *arg)
{
	struct http_rw_list *l = arg;
	json_t *o = riskwarning_flow_json(l->s, l->cfg, w, false);

	if (o == NULL || json_array_append_new(l->items, o) != 0) {
		l->nomem = true;
		return false;
	}
	return true;
}

static enum MHD_Result http_rw_list(struct http *h, struct MHD_Connection *conn,
				    const struct http_req *req)
{
	static const char *const states[] = {"pending", "published", "expired", "rejected",
					     "cancelled"};
	const char *state = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "state");
	struct riskwarning_flow_cfg cfg = http_rw_cfg(h);
	struct http_rw_list l = {.s = h->store, .cfg = &cfg};
	bool known = state == NULL;
	ga_err e;

	for (size_t i = 0; !known && i < sizeof(states) / sizeof(states[0]); i++)
		known = strcmp(state, states[i]) == 0;
	if (!known)
		return http_send_problem(conn, MHD_HTTP_BAD_REQUEST, "bad_state",
					 "state 须是 pending、published、expired、rejected 或 "
					 "cancelled",
					 "state", 0);
	if ((l.items = json_array()) == NULL)
		return http_rw_fail(conn, req, GA_ERR_NOMEM, NULL);
	e = store_riskwarning_list(h->store, state, 0, http_rw_list_cb, &l);
	if (e == GA_OK && l.nomem)
		e = GA_ERR_NOMEM;
	if (e != GA_OK) {
		json_decref(l.items);
		return http_rw_fail(conn, req, e, NULL);
	}
	return http_send_json(conn, MHD_HTTP_OK, json_pack("{s:o}", "items", l.items), NULL);
}

static enum MHD_Result http_rw_get(struct http *h, struct MHD_Connection *conn,
				   const struct http_req *req, const char *id)
{
	struct riskwarning_flow_cfg cfg = http_rw_cfg(h);
	struct store_riskwarning row;
	json_t *o;
	ga_err e = store_riskwarning_get(h->store, id, &row);

	if (e != GA_OK)
		return http_rw_fail(conn, req, e, NULL);
	o = riskwarning_flow_json(h->store, &cfg, &row, true);
	store_riskwarning_clear(&row);
	if (o == NULL)
		return http_rw_fail(conn, req, GA_ERR_NOMEM, NULL);
	/* its deliveries, as an alert's (GET /api/v1/alerts/{id}/deliveries) */
	json_t *dl = NULL;
	if ((e = riskwarning_deliver_list(h->store, h->ctx.cfg, id, &dl)) != GA_OK ||
	    json_object_set_new(o, "deliveries", dl) != 0) {
		json_decref(o);
		return http_rw_fail(conn, req, e != GA_OK ? e : GA_ERR_NOMEM, NULL);
	}
	return http_send_json(conn, MHD_HTTP_OK, o, NULL);
}

static enum MHD_Result http_rw_act(struct http *h, struct MHD_Connection *conn,
				   const struct http_req *req, const struct http_who *who,
				   enum http_rw_op op, const char *id)
{
	struct riskwarning_flow_cfg cfg = http_rw_cfg(h);
	char msg[HTTP_MSG_MAX] = "";
	json_t *body = NULL, *edits = NULL;
	bool published = false;
	enum MHD_Result r;
	ga_err e;

	if ((e = http_body_json(req, op == RW_CONFIRM, &body, msg, sizeof(msg))) != GA_OK)
		return http_send_problem(conn, MHD_HTTP_BAD_REQUEST, "bad_body", msg, NULL, 0);
	if (op == RW_CONFIRM) {
		edits = body ? json_object_get(body, "edits") : NULL;
		e = riskwarning_flow_confirm(h->store, &cfg, &who->officer, id, edits,
					     time_now_ms(), &published, msg, sizeof(msg));
	} else {
		json_t *reason = body ? json_object_get(body, "reason") : NULL;
		if (!json_is_string(reason)) {
			r = http_send_problem(conn, MHD_HTTP_BAD_REQUEST, "reason_required",
					      "请填写原因（非空文字）", "reason",
					      RISKWARNING_REASON_MAX);
			goto out;
		}
		e = riskwarning_flow_end_cfg(h->store, &cfg, &who->officer, id, op == RW_CANCEL,
					     json_string_value(reason), time_now_ms(), msg,
					     sizeof(msg));
	}
	if (e == GA_OK && (published || op == RW_CANCEL))
		delivery_kick(h->ctx.delivery); /* its ledger rows are committed */
	if (e != GA_OK) {
		r = http_rw_fail(conn, req, e, msg);
		goto out;
	}
	struct store_riskwarning row;
	if ((e = store_riskwarning_get(h->store, id, &row)) != GA_OK) {
		r = http_rw_fail(conn, req, e, NULL);
		goto out;
	}
	json_t *o = riskwarning_flow_json(h->store, &cfg, &row, false);
	store_riskwarning_clear(&row);
	if (o != NULL && op == RW_CONFIRM)
		json_object_set_new(o, "published", json_boolean(published));
	r = o ? http_send_json(conn, MHD_HTTP_OK, o, NULL)
	      : http_rw_fail(conn, req, GA_ERR_NOMEM, NULL);
out:
	json_decref(body);
	return r;
}

/* POST …/deliveries/{channel}/resend: a failed delivery pending again
 * (supervisor, admin: the resend permission); the worker is woken after
 * the commit. 200 {"product_id", "channel", "version", "state"}. */
static enum MHD_Result http_rw_resend(struct http *h, struct MHD_Connection *conn,
				      const struct http_req *req, const struct http_who *who,
				      const char *id, const char *channel)
{
	char msg[HTTP_MSG_MAX] = "";
	int version = 0;
	ga_err e = riskwarning_deliver_resend(h->store, h->ctx.cfg, who->officer.id, id, channel,
					      time_now_ms(), &version, msg, sizeof(msg));

	if (e != GA_OK)
		return http_rw_fail(conn, req, e, msg);
	delivery_kick(h->ctx.delivery);
	return http_send_json(conn, MHD_HTTP_OK,
			      json_pack("{s:s, s:s, s:i, s:s}", "product_id", id, "channel",
					channel, "version", version, "state", "pending"),
			      NULL);
}

/* --- the console's 风险预警 view (docs/console.md) --------------------- */

/* POST …/preview: what confirming would make public, publishing nothing:
 * the public page as it would read (only the counties at a public level,
 * [riskwarning] publish_min_level) and its public JSON. Any state: for a
 * published product it is the page as served. {"product_id", "state",
 * "public", "page_html"}. */
static enum MHD_Result http_rw_preview(struct http *h, struct MHD_Connection *conn,
				       const struct http_req *req, const char *id)
{
	struct store_riskwarning w;
	char published[TIME_TEXT_MAX] = "";
	json_t *product = NULL, *pub = NULL, *body = NULL;
	char *svg = NULL, *html = NULL;
	size_t svglen = 0, len = 0;
	json_error_t jerr;
	enum MHD_Result r;
	ga_err e = store_riskwarning_get(h->store, id, &w);

	if (e != GA_OK) {
		store_riskwarning_clear(&w);
		return http_rw_fail(conn, req, e, NULL);
	}
	if (w.published_ms != 0)
		time_format_rfc3339(w.published_ms, h->ctx.cfg->alerts.utc_offset_min, published,
				    sizeof(published));
	if ((product = json_loads(w.product, 0, &jerr)) == NULL) {
		r = http_rw_fail(conn, req, GA_ERR_DB, NULL);
		goto out;
	}
	pub = riskwarning_page_json(product, w.version, w.state, published,
				    (enum riskwarning_level)h->ctx.cfg->riskwarning.publish_min);
	if (pub == NULL) {
		r = http_rw_fail(conn, req, GA_ERR_NOMEM, NULL);
		goto out;
	}
	if (riskwarning_page_svg(pub, h->ctx.geo, &svg, &svglen) != GA_OK)
		svg = NULL; /* the public page goes without its map too */
	e = riskwarning_page_html(pub, svg, h->ctx.cfg->alerts.sender, h->wf.exercise, &html, &len);
	if (e != GA_OK) {
		r = http_rw_fail(conn, req, e, NULL);
		goto out;
	}
	body = json_pack("{s:s, s:s, s:O, s:s%}", "product_id", w.product_id, "state", w.state,
			 "public", pub, "page_html", html, len);
	r = body ? http_send_json(conn, MHD_HTTP_OK, body, NULL)
		 : http_rw_fail(conn, req, GA_ERR_NOMEM, NULL);
out:
	free(svg);
	free(html);
	json_decref(pub);
	json_decref(product);
	store_riskwarning_clear(&w);
	return r;
}

/* GET /api/v1/regions: what the console composes a product on: every
 * county of the regions file ({admin_code, name, city, in_service_area}),
 * the province map with no county coloured (riskwarning_page_svg_coded:
 * each path has data-code), the sender (the default issuer) and the lowest
 * public level. */
static enum MHD_Result http_rw_regions(struct http *h, struct MHD_Connection *conn,
				       const struct http_req *req)
{
	json_t *list = json_array(), *blank = json_pack("{s:[]}", "levels"), *body = NULL;
	size_t n = geo_region_count(h->ctx.geo), len = 0;
	char *svg = NULL;
	enum MHD_Result r;
	ga_err e;

	if (list == NULL || blank == NULL) {
		r = http_rw_fail(conn, req, GA_ERR_NOMEM, NULL);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		const struct region *g = geo_region_get(h->ctx.geo, i);
		if (json_array_append_new(
			list, json_pack("{s:s, s:s, s:s, s:b}", "admin_code", g->admin_code, "name",
					g->name, "city", g->city, "in_service_area",
					geo_in_service_area(h->ctx.geo, g->admin_code))) != 0) {
			r = http_rw_fail(conn, req, GA_ERR_NOMEM, NULL);
			goto out;
		}
	}
	if ((e = riskwarning_page_svg_coded(blank, h->ctx.geo, &svg, &len)) != GA_OK) {
		r = http_rw_fail(conn, req, e, NULL);
		goto out;
	}
	body = json_pack(
	    "{s:O, s:s%, s:s, s:s}", "regions", list, "map_svg", svg, len, "sender",
	    h->ctx.cfg->alerts.sender, "publish_min_level",
	    riskwarning_level_name((enum riskwarning_level)h->ctx.cfg->riskwarning.publish_min));
	r = body ? http_send_json(conn, MHD_HTTP_OK, body, NULL)
		 : http_rw_fail(conn, req, GA_ERR_NOMEM, NULL);
out:
	free(svg);
	json_decref(list);
	json_decref(blank);
	return r;
}

enum MHD_Result http_riskwarning_handle(struct http *h, struct MHD_Connection *conn,
					const struct http_req *req)
{
	char id[REPORT_ID_MAX + 1] = "", channel[STORE_CHANNEL_MAX] = "";
	char msg[HTTP_MSG_MAX];
	struct http_who who;
	enum http_rw_op op;

	if (strcmp(req->url, HTTP_RW_REGIONS) == 0) {
		if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0)
			return http_send_method(conn, "GET");
		unsigned st = http_auth(h, conn, false, &who, msg, sizeof(msg));
		if (st == MHD_HTTP_UNAUTHORIZED)
			return http_send_unauthorized(conn, msg);
		if (st != 0)
			return http_send_problem(conn, st, NULL, msg, NULL, 0);
		if (!officer_may(who.officer.role, OFFICER_VIEW))
			return http_send_problem(conn, MHD_HTTP_FORBIDDEN, "forbidden",
						 "当前角色无权进行此操作", NULL, 0);
		return http_rw_regions(h, conn, req);
	}
	if (!http_rw_parse(req->url, req->method, &op, id, channel))
		return http_send_problem(conn, MHD_HTTP_NOT_FOUND, NULL, "没有这个资源", NULL, 0);
	const char *want = http_rw_ops[op].method;
	bool head = strcmp(want, "GET") == 0 && strcmp(req->method, "HEAD") == 0;
	if (strcmp(req->method, want) != 0 && !head)
		return http_send_method(conn, op == RW_LIST ? "GET, POST" : want);
	unsigned status = http_auth(h, conn, strcmp(want, "POST") == 0, &who, msg, sizeof(msg));
	if (status == MHD_HTTP_UNAUTHORIZED)
		return http_send_unauthorized(conn, msg);
	if (status != 0)
		return http_send_problem(conn, status, status == MHD_HTTP_FORBIDDEN ? "csrf" : NULL,
					 msg, NULL, 0);
	if (!officer_may(who.officer.role, http_rw_ops[op].action))
		return http_send_problem(conn, MHD_HTTP_FORBIDDEN, "forbidden",
					 "当前角色无权进行此操作", NULL, 0);
	switch (op) {
	case RW_INTAKE:
		return http_rw_intake(h, conn, req, &who);
	case RW_LIST:
		return http_rw_list(h, conn, req);
	case RW_GET:
		return http_rw_get(h, conn, req, id);
	case RW_PREVIEW:
		return http_rw_preview(h, conn, req, id);
	case RW_RESEND:
		return http_rw_resend(h, conn, req, &who, id, channel);
	default:
		return http_rw_act(h, conn, req, &who, op, id);
	}
}
