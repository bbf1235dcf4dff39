/* http_warning.c - the public forms of a risk warning (spec §11):
 * /warnings/{product_id} (HTML with the province map), .json (signed as
 * alerts are, sign.h) and .xml (CAP 1.2 with its XML Signature,
 * cap_sign.h). Only products that were published (published, expired,
 * cancelled) are served; a pending or rejected one is 404 like an
 * unknown id. Counties below [riskwarning] publish_min_level are in none
 * of them. */
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cap_sign.h"
#include "feed.h"
#include "http_internal.h"
#include "log.h"
#include "riskwarning_cap.h"
#include "riskwarning_page.h"
#include "sign.h"
#include "store_riskwarning.h"
#include "timeutil.h"

#define HTTP_WARNING_PREFIX "/warnings/"
#define HTTP_WARNING_CACHE "public, max-age=60"
#define HTTP_WARNING_URL_MAX 512

/* The last documents rendered, each under a key naming everything it
 * depends on (id, state, version, published and ended times, form): a
 * product changes key when it changes. Used on the MHD thread only. */
#define HTTP_WARNING_CACHE_SLOTS 8
#define HTTP_WARNING_KEY_MAX (REPORT_ID_MAX + 96)

struct http_warning_cache {
	struct {
		char key[HTTP_WARNING_KEY_MAX];
		char *body;
		size_t len;
	} slot[HTTP_WARNING_CACHE_SLOTS];
	unsigned next; /* the slot to replace next (round robin) */
};

void http_warning_cache_free(struct http_warning_cache *c)
{
	if (c == NULL)
		return;
	for (int i = 0; i < HTTP_WARNING_CACHE_SLOTS; i++)
		free(c->slot[i].body);
	free(c);
}

/* A copy of the cached body of key (malloc'd), or NULL. */
static char *http_warning_cache_get(struct http *h, const char *key, size_t *len)
{
	struct http_warning_cache *c = h->warning_cache;

	for (int i = 0; c != NULL && i < HTTP_WARNING_CACHE_SLOTS; i++) {
		if (c->slot[i].body != NULL && strcmp(c->slot[i].key, key) == 0) {
			char *copy = malloc(c->slot[i].len + 1);
			if (copy == NULL)
				return NULL;
			memcpy(copy, c->slot[i].body, c->slot[i].len + 1);
			*len = c->slot[i].len;
			return copy;
		}
	}
	return NULL;
}

/* Keeps a copy of body under key; a failure only means no cache. */
static void http_warning_cache_put(struct http *h, const char *key, const char *body, size_t len)
{
	struct http_warning_cache *c = h->warning_cache;
	char *copy;

	if (c == NULL && (c = h->warning_cache = calloc(1, sizeof(*c))) == NULL)
		return;
	if ((copy = malloc(len + 1)) == NULL)
		return;
	memcpy(copy, body, len);
	copy[len] = '\0';
	unsigned i = c->next++ % HTTP_WARNING_CACHE_SLOTS;
	free(c->slot[i].body);
	snprintf(c->slot[i].key, sizeof(c->slot[i].key), "%s", key);
	c->slot[i].body = copy;
	c->slot[i].len = len;
}

bool http_warning_route(const char *url)
{
	return strncmp(url, HTTP_WARNING_PREFIX, strlen(HTTP_WARNING_PREFIX)) == 0;
}

static enum MHD_Result http_warning_send(struct MHD_Connection *conn, char *body, size_t len,
					 const char *type)
{
	struct MHD_Response *resp =
	    MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);

	if (resp == NULL) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(resp, "Content-Type", type);
	MHD_add_response_header(resp, "Cache-Control", HTTP_WARNING_CACHE);
	return http_queue(conn, MHD_HTTP_OK, resp);
}

static enum MHD_Result http_warning_fail(struct MHD_Connection *conn, ga_err e, const char *what)
{
	log_warnx("http: %s: %s", what, ga_strerror(e));
	return http_send_error(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "暂时无法读取该预警");
}

static void http_warning_time(const struct http *h, int64_t ms, char buf[TIME_TEXT_MAX])
{
	buf[0] = '\0';
	if (ms != 0)
		time_format_rfc3339(ms, h->ctx.cfg->alerts.utc_offset_min, buf, TIME_TEXT_MAX);
}

static void http_warning_base(const struct http *h, char *buf, size_t len)
{
	size_t n;

	snprintf(buf, len, "%s", h->ctx.cfg->http.public_base_url);
	n = strlen(buf);
	while (n > 0 && buf[n - 1] == '/')
		buf[--n] = '\0';
}

static enum MHD_Result http_warning_cap(struct http *h, struct MHD_Connection *conn,
					const struct store_riskwarning *w, const json_t *product,
					const char *key)
{
	char base[HTTP_WARNING_URL_MAX], sent[TIME_TEXT_MAX], refs[512] = "";
	char err[HTTP_MSG_MAX] = "no CAP signing key", *xml = NULL, *signed_xml = NULL;
	bool cancel = strcmp(w->state, "cancelled") == 0;
	const struct cap_sign_key *k = cap_sign_lazy_get(h->ctx.cap_signer);
	size_t len = 0;
	ga_err e;

	http_warning_base(h, base, sizeof(base));
	http_warning_time(h, cancel ? w->ended_ms : w->published_ms, sent);
	if (w->supersedes[0] != '\0') {
		struct store_riskwarning old;
		if (store_riskwarning_get(h->store, w->supersedes, &old) == GA_OK &&
		    old.published_ms != 0) {
			char oldsent[TIME_TEXT_MAX];
			http_warning_time(h, old.published_ms, oldsent);
			snprintf(refs, sizeof(refs), "%s,%s-%d,%s", h->ctx.cfg->alerts.cap_sender,
				 old.product_id, old.version, oldsent);
		}
		store_riskwarning_clear(&old);
	}
	/* A cancel is the product's next version (store_rwversion.h): its
	 * Cancel references the version it cancels. */
	if (cancel && w->version > 1) {
		char pubsent[TIME_TEXT_MAX];
		http_warning_time(h, w->published_ms, pubsent);
		snprintf(refs, sizeof(refs), "%s,%s-%d,%s", h->ctx.cfg->alerts.cap_sender,
			 w->product_id, w->version - 1, pubsent);
	}
	struct riskwarning_cap_opts o = {
	    .sender = h->ctx.cfg->alerts.cap_sender,
	    .base_url = base,
	    .publish_min = (enum riskwarning_level)h->ctx.cfg->riskwarning.publish_min,
	    .version = w->version,
	    .msg_type = cancel	  ? "Cancel"
			: refs[0] ? "Update"
				  : "Alert",
	    .sent = sent,
	    .references = refs,
	    .exercise = h->wf.exercise,
	};
	e = riskwarning_cap_write(&o, product, h->ctx.geo, &xml, &len, NULL);
	if (e == GA_ERR_INVAL) /* no county at a public level: nothing public to say */
		return http_send_error(conn, MHD_HTTP_NOT_FOUND, "该预警没有公开等级的区域");
	if (e != GA_OK)
		return http_warning_fail(conn, e, "the risk warning as CAP");
	/* Never an unsigned CAP when signing is configured. */
	e = k ? cap_sign_xml(k, xml, len, &signed_xml, &len, err, sizeof(err)) : GA_ERR_IO;
	free(xml);
	if (e != GA_OK) {
		log_warnx("http: the risk warning CAP's signature: %s", err);
		return http_warning_fail(conn, e, "the risk warning CAP's signature");
	}
	http_warning_cache_put(h, key, signed_xml, len);
	return http_warning_send(conn, signed_xml, len, "application/cap+xml; charset=utf-8");
}

enum MHD_Result http_warning_handle(struct http *h, struct MHD_Connection *conn,
				    const struct http_req *req)
{
	const char *s = req->url + strlen(HTTP_WARNING_PREFIX);
	char id[REPORT_ID_MAX + 1], published[TIME_TEXT_MAX];
	enum { FORM_HTML, FORM_JSON, FORM_XML } form = FORM_HTML;
	size_t n = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-");
	struct store_riskwarning w;
	json_error_t jerr;
	json_t *product = NULL, *pub = NULL;
	enum MHD_Result r;
	char *body = NULL, *svg = NULL;
	size_t len = 0, svglen = 0;
	ga_err e;

	if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0)
		return http_send_method(conn, "GET, HEAD");
	/* A product_id may contain '.': the form is the last suffix. */
	if (n >= 5 && strcmp(s + n - 5, ".json") == 0)
		form = FORM_JSON, n -= 5;
	else if (n >= 4 && strcmp(s + n - 4, ".xml") == 0)
		form = FORM_XML, n -= 4;
	if (s[n + (form == FORM_JSON  ? 5
		   : form == FORM_XML ? 4
				      : 0)] != '\0' ||
	    n == 0 || n > REPORT_ID_MAX)
		return http_send_error(conn, MHD_HTTP_NOT_FOUND, "没有这个风险预警");
	memcpy(id, s, n);
	id[n] = '\0';
	e = store_riskwarning_get(h->store, id, &w);
	if (e == GA_ERR_NOTFOUND || (e == GA_OK && w.published_ms == 0)) {
		store_riskwarning_clear(&w);
		return http_send_error(conn, MHD_HTTP_NOT_FOUND, "没有这个风险预警");
	}
	if (e != GA_OK)
		return http_warning_fail(conn, e, "the risk warning");
	/* The product's text changes only while pending (edits), never
	 * once published: state and times name every public change. */
	char key[HTTP_WARNING_KEY_MAX];
	snprintf(key, sizeof(key), "%s|%s|%d|%lld|%lld|%d", w.product_id, w.state, w.version,
		 (long long)w.published_ms, (long long)w.ended_ms, (int)form);
	if (form != FORM_JSON && (body = http_warning_cache_get(h, key, &len)) != NULL) {
		r = http_warning_send(conn, body, len,
				      form == FORM_XML ? "application/cap+xml; charset=utf-8"
						       : "text/html; charset=utf-8");
		body = NULL;
		goto out;
	}
	if ((product = json_loads(w.product, 0, &jerr)) == NULL) {
		r = http_warning_fail(conn, GA_ERR_DB, "the stored risk warning");
		goto out;
	}
	if (form == FORM_XML) {
		r = http_warning_cap(h, conn, &w, product, key);
		goto out;
	}
	http_warning_time(h, w.published_ms, published);
	pub = riskwarning_page_json(product, w.version, w.state, published,
				    (enum riskwarning_level)h->ctx.cfg->riskwarning.publish_min);
	if (pub == NULL) {
		r = http_warning_fail(conn, GA_ERR_NOMEM, "the risk warning");
		goto out;
	}
	if (form == FORM_JSON) {
		if (h->ctx.signer != NULL && (e = sign_alert(h->ctx.signer, pub)) != GA_OK) {
			r = http_warning_fail(conn, e, "the risk warning's signature");
			goto out;
		}
		body = json_dumps(pub, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		r = body ? http_warning_send(conn, body, strlen(body),
					     "application/json; charset=utf-8")
			 : MHD_NO;
		goto out;
	}
	if (riskwarning_page_svg(pub, h->ctx.geo, &svg, &svglen) != GA_OK)
		svg = NULL; /* the page goes without its map */
	e = riskwarning_page_html(pub, svg, h->ctx.cfg->alerts.sender, h->wf.exercise, &body, &len);
	if (e == GA_OK)
		http_warning_cache_put(h, key, body, len);
	r = e == GA_OK ? http_warning_send(conn, body, len, "text/html; charset=utf-8")
		       : http_warning_fail(conn, e, "the risk warning page");
	body = NULL; /* the response owns it (or it was freed) */
out:
	free(svg);
	json_decref(pub);
	json_decref(product);
	store_riskwarning_clear(&w);
	return r;
}

struct http_warning_current {
	struct http *h;
	int64_t now_ms;
	json_t *pubs;
	bool failed;
};

static bool http_warning_current_cb(const struct store_riskwarning *w, void *arg)
{
	struct http_warning_current *c = arg;
	char published[TIME_TEXT_MAX];
	json_error_t jerr;
	json_t *product, *pub;

	if (w->valid_to_ms <= c->now_ms)
		return true; /* past its period: no longer current */
	if ((product = json_loads(w->product, 0, &jerr)) == NULL) {
		c->failed = true;
		return false;
	}
	http_warning_time(c->h, w->published_ms, published);
	pub = riskwarning_page_json(product, w->version, w->state, published,
				    (enum riskwarning_level)c->h->ctx.cfg->riskwarning.publish_min);
	json_decref(product);
	/* a product with no public county is not listed */
	if (pub != NULL && json_array_size(json_object_get(pub, "levels")) == 0) {
		json_decref(pub);
		return true;
	}
	if (pub == NULL || json_array_append_new(c->pubs, pub) != 0) {
		c->failed = true;
		return false;
	}
	return true;
}

ga_err http_warning_current_html(struct http *h, int64_t now_ms, char **html)
{
	struct http_warning_current c = {h, now_ms, json_array(), false};
	size_t len;
	ga_err e;

	*html = NULL;
	if (c.pubs == NULL)
		return GA_ERR_NOMEM;
	e = store_riskwarning_list(h->store, "published", 0, http_warning_current_cb, &c);
	if (e == GA_OK && c.failed)
		e = GA_ERR_NOMEM;
	if (e == GA_OK)
		e = riskwarning_page_index_html(c.pubs, html, &len);
	json_decref(c.pubs);
	if (e != GA_OK)
		log_warnx("http: the current risk warnings: %s", ga_strerror(e));
	return e;
}

struct http_warning_feed {
	struct http *h;
	int64_t since_ms;
	json_t *pubs;
	bool failed;
};

static bool http_warning_feed_cb(const struct store_riskwarning *w, void *arg)
{
	struct http_warning_feed *c = arg;
	char published[TIME_TEXT_MAX];
	json_error_t jerr;
	json_t *product, *pub;

	if (w->published_ms == 0 || w->published_ms < c->since_ms)
		return true;
	if ((product = json_loads(w->product, 0, &jerr)) == NULL) {
		c->failed = true;
		return false;
	}
	http_warning_time(c->h, w->published_ms, published);
	pub = riskwarning_page_json(product, w->version, w->state, published,
				    (enum riskwarning_level)c->h->ctx.cfg->riskwarning.publish_min);
	json_decref(product);
	if (pub != NULL && json_array_size(json_object_get(pub, "levels")) == 0) {
		json_decref(pub);
		return true; /* nothing public in it */
	}
	if (pub == NULL || json_array_append_new(c->pubs, pub) != 0) {
		c->failed = true;
		return false;
	}
	return json_array_size(c->pubs) < FEED_ENTRIES_MAX;
}

ga_err http_warning_feed_json(struct http *h, int64_t since_ms, json_t **out)
{
	struct http_warning_feed c = {h, since_ms, json_array(), false};
	ga_err e;

	*out = NULL;
	if (c.pubs == NULL)
		return GA_ERR_NOMEM;
	/* newest received first: close enough to newest published for a feed */
	e = store_riskwarning_list(h->store, NULL, 0, http_warning_feed_cb, &c);
	if (e == GA_OK && c.failed)
		e = GA_ERR_NOMEM;
	if (e != GA_OK) {
		log_warnx("http: the risk warnings of the feed: %s", ga_strerror(e));
		json_decref(c.pubs);
		return e;
	}
	*out = c.pubs;
	return GA_OK;
}
