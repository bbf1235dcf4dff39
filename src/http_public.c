/* http_public.c - the public endpoints (spec §8): /, /alerts/{id},
 * /alerts/{id}.json, /alerts/{id}.xml (CAP 1.2 with its XML Signature),
 * /alerts/{id}/v{n}.json and .xml (one version), /feed.atom, /public.css,
 * /.well-known/geoalert-signing-key and
 * /.well-known/geoalert-cap-signing-key. Only published versions are ever
 * read (workflow_published_json, workflow_published_since): a draft not
 * yet confirmed is 404 like an unknown id, and nothing here can reach a
 * report or its reporter. */
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cap.h"
#include "cap_sign.h"
#include "feed.h"
#include "geo_svg.h"
#include "http_internal.h"
#include "log.h"
#include "public.h"
#include "sign.h"
#include "timeutil.h"

#define PUBLIC_CACHE "public, max-age=60"
#define PUBLIC_VERSIONS_MAX 100 /* versions listed on an alert's page (the latest) */
#define PUBLIC_URL_MAX 512

enum public_form { PUB_HTML, PUB_JSON, PUB_XML };

/* One /alerts/... path taken apart. */
struct public_path {
	char id[INCIDENT_ID_MAX];
	int version; /* 0: the latest */
	enum public_form form;
};

/* Sends a body we own (malloc'd, taken over) with type and the public
 * cache header. */
static enum MHD_Result public_send(struct MHD_Connection *conn, unsigned status, char *body,
				   size_t len, const char *type)
{
	struct MHD_Response *resp =
	    MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (resp == NULL) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(resp, "Content-Type", type);
	MHD_add_response_header(resp, "Cache-Control",
				status == MHD_HTTP_OK ? PUBLIC_CACHE : "no-store");
	return http_queue(conn, status, resp);
}

static void public_opts_of(const struct http *h, struct public_opts *o)
{
	o->sender = h->ctx.cfg->alerts.sender;
	o->exercise = h->wf.exercise;
	o->hotline = h->ctx.cfg->alerts.hotline;
	o->templates = h->wf.templates;
	o->lead_html = NULL;
}

static enum MHD_Result public_notfound(struct http *h, struct MHD_Connection *conn,
				       enum public_form form)
{
	struct public_opts o;
	char *body = NULL;
	size_t len = 0;

	if (form != PUB_HTML)
		return http_send_error(conn, MHD_HTTP_NOT_FOUND, "no such published alert");
	public_opts_of(h, &o);
	if (public_notfound_html(&o, &body, &len) != GA_OK)
		return MHD_NO;
	return public_send(conn, MHD_HTTP_NOT_FOUND, body, len, "text/html; charset=utf-8");
}

static enum MHD_Result public_fail(struct MHD_Connection *conn, ga_err e, const char *what)
{
	char msg[HTTP_MSG_MAX];

	log_warnx("http: %s: %s", what, ga_strerror(e));
	snprintf(msg, sizeof(msg), "cannot read %s: %s", what, ga_strerror(e));
	return http_send_error(conn,
			       http_status_of(e) == MHD_HTTP_SERVICE_UNAVAILABLE
				   ? MHD_HTTP_SERVICE_UNAVAILABLE
				   : MHD_HTTP_INTERNAL_SERVER_ERROR,
			       msg);
}

/* The public base URL without a trailing slash. */
static void public_base(const struct http *h, char *buf, size_t len)
{
	snprintf(buf, len, "%s", h->ctx.cfg->http.public_base_url);
	size_t n = strlen(buf);
	while (n > 0 && buf[n - 1] == '/')
		buf[--n] = '\0';
}

/* "/alerts/ID", "/alerts/ID.json", "/alerts/ID.xml", "/alerts/ID/vN.json",
 * "/alerts/ID/vN.xml". IDs are what incidents are named: A-Z a-z 0-9 - _. */
static bool public_parse(const char *url, struct public_path *p)
{
	const char *s = url + strlen("/alerts/");
	size_t n = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_");
	const char *rest = s + n;

	memset(p, 0, sizeof(*p));
	if (n == 0 || n >= sizeof(p->id))
		return false;
	memcpy(p->id, s, n);
	if (strncmp(rest, "/v", 2) == 0) {
		char *end;
		long v = strtol(rest + 2, &end, 10);
		if (end == rest + 2 || rest[2] < '1' || rest[2] > '9' || v > 1000000)
			return false;
		p->version = (int)v;
		rest = end;
		if (*rest == '\0')
			return false; /* a version is a document, not a page */
	}
	if (*rest == '\0')
		p->form = PUB_HTML;
	else if (strcmp(rest, ".json") == 0)
		p->form = PUB_JSON;
	else if (strcmp(rest, ".xml") == 0)
		p->form = PUB_XML;
	else
		return false;
	return true;
}

static enum MHD_Result public_json(struct http *h, struct MHD_Connection *conn, json_t *alert)
{
	ga_err e;

	if (h->ctx.signer != NULL && (e = sign_alert(h->ctx.signer, alert)) != GA_OK) {
		json_decref(alert);
		return public_fail(conn, e, "the alert's signature");
	}
	char *text = json_dumps(alert, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(alert);
	if (text == NULL)
		return MHD_NO;
	size_t len = strlen(text);
	char *p = realloc(text, len + 2);
	if (p == NULL) {
		free(text);
		return MHD_NO;
	}
	p[len++] = '\n';
	p[len] = '\0';
	return public_send(conn, MHD_HTTP_OK, p, len, "application/json; charset=utf-8");
}

/* The references of alert ("alert_id:version") as CAP references, with
 * the sent time of each (a version no longer found is left out). */
static ga_err public_refs(struct http *h, const json_t *alert, struct cap_ref *refs, int *nrefs)
{
	json_t *arr = json_object_get(alert, "references"), *item;
	size_t i;

	*nrefs = 0;
	json_array_foreach(arr, i, item)
	{
		const char *r = json_string_value(item), *colon;
		char id[INCIDENT_ID_MAX];
		json_t *old = NULL;
		ga_err e;

		if (r == NULL || (colon = strrchr(r, ':')) == NULL ||
		    (size_t)(colon - r) >= sizeof(id))
			continue;
		snprintf(id, sizeof(id), "%.*s", (int)(colon - r), r);
		int v = (int)strtol(colon + 1, NULL, 10);
		if (v <= 0)
			continue;
		e = workflow_published_json(h->store, &h->wf, id, v, &old);
		if (e == GA_ERR_NOTFOUND)
			continue;
		if (e != GA_OK)
			return e;
		const char *sent = json_string_value(json_object_get(old, "sent"));
		if (sent != NULL && *nrefs < CAP_REFS_MAX) {
			cap_identifier(id, v, refs[*nrefs].identifier, sizeof(refs[0].identifier));
			snprintf(refs[*nrefs].sent, sizeof(refs[0].sent), "%s", sent);
			(*nrefs)++;
		}
		json_decref(old);
	}
	return GA_OK;
}

static enum MHD_Result public_cap(struct http *h, struct MHD_Connection *conn, json_t *alert)
{
	struct cap_ref refs[CAP_REFS_MAX];
	char base[PUBLIC_URL_MAX];
	char *xml = NULL;
	size_t len = 0;
	int nrefs = 0;
	ga_err e;

	public_base(h, base, sizeof(base));
	struct cap_opts o = {h->ctx.cfg->alerts.cap_sender, base,
			     h->ctx.cfg->alerts.near_radius_m / 1000.0};
	if ((e = public_refs(h, alert, refs, &nrefs)) == GA_OK)
		e = cap_write(&o, alert, refs, nrefs, &xml, &len);
	json_decref(alert);
	if (e != GA_OK)
		return public_fail(conn, e, "the alert as CAP");
	{
		const struct cap_sign_key *k = cap_sign_lazy_get(h->ctx.cap_signer);
		char *signed_xml = NULL, err[HTTP_MSG_MAX] = "no signing key";
		/* Never an unsigned CAP when signing is configured. */
		e = k ? cap_sign_xml(k, xml, len, &signed_xml, &len, err, sizeof(err)) : GA_ERR_IO;
		free(xml);
		if (e != GA_OK) {
			log_warnx("http: the CAP's signature: %s", err);
			return public_fail(conn, e, "the CAP's signature");
		}
		xml = signed_xml;
	}
	return public_send(conn, MHD_HTTP_OK, xml, len, "application/cap+xml; charset=utf-8");
}

/* An alert's page: its latest version, the list of versions, the map.
 * Also the officers' preview of a version not yet published (http_api.c):
 * the versions before alert's are read from the store. */
ga_err http_public_page_html(struct http *h, const json_t *alert, char **body, size_t *len)
{
	const char *id = json_string_value(json_object_get(alert, "alert_id"));
	int latest = (int)json_integer_value(json_object_get(alert, "version"));
	json_t *versions = json_array(), *area = json_object_get(alert, "area");
	json_t *lon = json_object_get(area, "lon"), *lat = json_object_get(area, "lat");
	const char *code = json_string_value(json_object_get(area, "admin_code"));
	char *svg = NULL;
	size_t svglen = 0;
	struct public_opts o;
	ga_err e = versions && id ? GA_OK : GA_ERR_NOMEM;

	for (int v = latest > PUBLIC_VERSIONS_MAX ? latest - PUBLIC_VERSIONS_MAX + 1 : 1;
	     e == GA_OK && v < latest; v++) {
		json_t *old = NULL;
		e = workflow_published_json(h->store, &h->wf, id, v, &old);
		if (e == GA_OK)
			e = json_array_append_new(versions, old) == 0 ? GA_OK : GA_ERR_NOMEM;
		else if (e == GA_ERR_NOTFOUND)
			e = GA_OK;
	}
	if (e == GA_OK && json_array_append(versions, (json_t *)alert) != 0)
		e = GA_ERR_NOMEM;
	if (e == GA_OK && json_is_number(lon) && json_is_number(lat) &&
	    geo_svg_region(h->wf.geo, code ? code : "", json_number_value(lon),
			   json_number_value(lat), &svg, &svglen) != GA_OK)
		svg = NULL; /* the page goes without its map */
	public_opts_of(h, &o);
	if (e == GA_OK)
		e = public_alert_html(&o, alert, versions, svg, body, len);
	free(svg);
	json_decref(versions);
	return e;
}

static enum MHD_Result public_page(struct http *h, struct MHD_Connection *conn, json_t *alert)
{
	char *body = NULL;
	size_t len = 0;
	ga_err e = http_public_page_html(h, alert, &body, &len);

	json_decref(alert);
	if (e != GA_OK)
		return public_fail(conn, e, "the alert page");
	return public_send(conn, MHD_HTTP_OK, body, len, "text/html; charset=utf-8");
}

static enum MHD_Result public_alert(struct http *h, struct MHD_Connection *conn, const char *url)
{
	struct public_path p;
	json_t *alert = NULL;
	ga_err e;

	if (!public_parse(url, &p))
		return public_notfound(h, conn, PUB_HTML);
	e = workflow_published_json(h->store, &h->wf, p.id, p.version, &alert);
	if (e == GA_ERR_NOTFOUND)
		return public_notfound(h, conn, p.form);
	if (e != GA_OK)
		return public_fail(conn, e, "the alert");
	switch (p.form) {
	case PUB_JSON:
		return public_json(h, conn, alert);
	case PUB_XML:
		return public_cap(h, conn, alert);
	case PUB_HTML:
		break;
	}
	return public_page(h, conn, alert);
}

/* The front page (latest_only) or the feed. */
static enum MHD_Result public_list(struct http *h, struct MHD_Connection *conn, bool feed)
{
	int64_t now = time_now_ms();
	char base[PUBLIC_URL_MAX], updated[TIME_TEXT_MAX], title[CONFIG_STR_MAX + 64];
	json_t *alerts = NULL;
	char *body = NULL;
	size_t len = 0;
	ga_err e;

	e = workflow_published_since(h->store, &h->wf, now - (int64_t)FEED_DAYS * 86400 * 1000,
				     !feed, FEED_ENTRIES_MAX, &alerts);
	if (e != GA_OK)
		return public_fail(conn, e, feed ? "the feed" : "the current alerts");
	if (feed) {
		public_base(h, base, sizeof(base));
		time_format_rfc3339(now, h->wf.utc_offset_min, updated, sizeof(updated));
		snprintf(title, sizeof(title), "%s%s地质灾害险情灾情信息",
			 h->wf.exercise ? "【演练】" : "", h->ctx.cfg->alerts.sender);
		struct feed_opts o = {base, title, h->ctx.cfg->alerts.sender, updated};
		json_t *warnings = NULL;
		/* Risk warnings published in the same days (issue 14); the
		 * feed goes without them rather than not at all. */
		if (http_warning_feed_json(h, now - (int64_t)FEED_DAYS * 86400 * 1000, &warnings) !=
		    GA_OK)
			warnings = NULL;
		e = feed_write_all(&o, warnings, alerts, &body, &len);
		json_decref(warnings);
	} else {
		struct public_opts o;
		char *lead = NULL;
		public_opts_of(h, &o);
		/* Current risk warnings above the alerts (issue 14); the page
		 * goes without them rather than not at all. */
		if (http_warning_current_html(h, now, &lead) == GA_OK)
			o.lead_html = lead;
		e = public_index_html(&o, alerts, &body, &len);
		free(lead);
	}
	json_decref(alerts);
	if (e != GA_OK)
		return public_fail(conn, e, feed ? "the feed" : "the current alerts");
	return public_send(conn, MHD_HTTP_OK, body, len,
			   feed ? "application/atom+xml; charset=utf-8"
				: "text/html; charset=utf-8");
}

static enum MHD_Result public_static(struct MHD_Connection *conn, const char *text,
				     const char *type)
{
	char *body = strdup(text);

	if (body == NULL)
		return MHD_NO;
	return public_send(conn, MHD_HTTP_OK, body, strlen(body), type);
}

bool http_public_route(const char *url)
{
	return strcmp(url, "/") == 0 || strcmp(url, "/feed.atom") == 0 ||
	       strcmp(url, "/public.css") == 0 ||
	       strcmp(url, "/.well-known/geoalert-signing-key") == 0 ||
	       strcmp(url, "/.well-known/geoalert-cap-signing-key") == 0 ||
	       strncmp(url, "/alerts/", 8) == 0;
}

enum MHD_Result http_public_handle(struct http *h, struct MHD_Connection *conn,
				   const struct http_req *req)
{
	const char *url = req->url;

	if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0)
		return http_send_method(conn, "GET, HEAD");
	if (strcmp(url, "/") == 0)
		return public_list(h, conn, false);
	if (strcmp(url, "/feed.atom") == 0)
		return public_list(h, conn, true);
	if (strcmp(url, "/public.css") == 0)
		return public_static(conn, public_css(), "text/css; charset=utf-8");
	if (strcmp(url, "/.well-known/geoalert-signing-key") == 0) {
		char pem[SIGN_PEM_MAX];
		if (h->ctx.signer == NULL ||
		    sign_pubkey_pem(h->ctx.signer, pem, sizeof(pem)) != GA_OK)
			return http_send_error(conn, MHD_HTTP_NOT_FOUND, "no signing key");
		return public_static(conn, pem, "text/plain; charset=utf-8");
	}
	if (strcmp(url, "/.well-known/geoalert-cap-signing-key") == 0) {
		char pem[CAP_SIGN_PEM_MAX];
		const struct cap_sign_key *k = cap_sign_lazy_get(h->ctx.cap_signer);
		if (k == NULL || cap_sign_pubkey_pem(k, pem, sizeof(pem)) != GA_OK)
			return http_send_error(conn, MHD_HTTP_NOT_FOUND, "no CAP signing key");
		return public_static(conn, pem, "text/plain; charset=utf-8");
	}
	return public_alert(h, conn, url);
}
