/* http.c - libmicrohttpd server: request bodies (read incrementally, with
 * a cap), routing, and the operations endpoints. The officer API is
 * http_api.c, the console http_console.c. */
#include "http.h"

#include <errno.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "http_internal.h"
#include "ingest.h"
#include "ingest_writer.h"
#include "log.h"
#include "metrics.h"
#include "store_stats.h"
#include "timeutil.h"
#include "watchdog.h"

#define HTTP_MAX_CONNECTIONS 256
#define HTTP_TIMEOUT_S 30

#define HTTP_FAILED_WINDOW_MS (24LL * 3600 * 1000) /* failed deliveries shown in /healthz */
#define HTTP_OLD_WINDOW_MS (24LL * 3600 * 1000)	   /* old-observed reports in /metrics */
#define HTTP_METRICS_CHANNELS_MAX 64		   /* channels in the deliveries gauge */

/* The longest grouping window (spec §6): an open incident that took a
 * report within it can still take the next one. */
static int64_t http_incident_window_ms(const struct config *cfg)
{
	int h = cfg->alerts.hazard_point_window_h > cfg->alerts.near_window_h
		    ? cfg->alerts.hazard_point_window_h
		    : cfg->alerts.near_window_h;
	return (int64_t)h * 3600 * 1000;
}

/* The database answers on our own connection and is writable, and the
 * writer's commits go through (ingest_writer_last_result: none refused
 * for want of space within WRITER_FAIL_HOLD_MS). NULL when so, else what
 * is wrong. Pings first whatever the writer says: the ping connects a
 * lost connection again (after a failover), which the checks after it
 * need. */
static const char *http_database_problem(struct http *h)
{
	const struct http_ctx *c = &h->ctx;
	ga_err ping = store_ping(h->store);
	ga_err db = c->writer ? ingest_writer_last_result(c->writer) : GA_ERR_DB;
	if (db == GA_OK)
		db = ping;
	return db == GA_OK ? NULL : ga_strerror(db);
}

/* Each broker of [mqtt] url: its sessions and how many hold their
 * subscription. *full: brokers with all of them subscribed. */
static json_t *http_brokers_json(struct ingest *in, int *full)
{
	json_t *arr = json_array();
	*full = 0;
	for (int b = 0; arr && in && b < ingest_brokers(in); b++) {
		int n = ingest_broker_sessions(in, b), sub = ingest_broker_subscribed(in, b);
		if (n > 0 && sub == n)
			(*full)++;
		json_array_append_new(arr,
				      json_pack("{s:s, s:i, s:i}", "url", ingest_broker_url(in, b),
						"sessions", n, "subscribed", sub));
	}
	return arr;
}

/* 200 when some broker has every MQTT session subscribed (the instance
 * takes reports: the stations of a broker that is down move to another,
 * spec §10), the database is writable and no delivery is unfinished
 * [http] healthz_backlog after its version was published; 503 otherwise.
 * "problems" names each check that failed; "warnings" what is wrong
 * without making the instance useless: "mqtt" when some broker but not
 * all has its sessions subscribed (docs/operations.md). */
static enum MHD_Result http_healthz(struct http *h, struct MHD_Connection *conn)
{
	const struct http_ctx *c = &h->ctx;
	int64_t now = time_now_ms();
	int64_t backlog_ms = (int64_t)c->cfg->http.healthz_backlog_s * 1000;
	int sessions = *c->ingest ? ingest_sessions(*c->ingest) : 0;
	int subscribed = *c->ingest ? ingest_subscribed(*c->ingest) : 0;
	bool paused = *c->ingest && ingest_paused(*c->ingest);
	const char *db = http_database_problem(h);
	struct store_backlog bl;
	ga_err be =
	    store_stats_backlog(h->store, now - backlog_ms, now - HTTP_FAILED_WINDOW_MS, &bl);

	int full = 0;
	json_t *brokers = http_brokers_json(*c->ingest, &full);
	json_t *problems = json_array(), *warnings = json_array();
	if (!problems || !warnings || !brokers) {
		json_decref(problems);
		json_decref(warnings);
		json_decref(brokers);
		return MHD_NO;
	}
	if (sessions == 0 || full == 0)
		json_array_append_new(problems, json_string("mqtt"));
	else if (subscribed != sessions)
		json_array_append_new(warnings, json_string("mqtt"));
	if (db)
		json_array_append_new(problems, json_string("database"));
	if (be != GA_OK || bl.overdue > 0)
		json_array_append_new(problems, json_string("deliveries"));
	bool ok = json_array_size(problems) == 0;

	json_t *deliveries =
	    be != GA_OK
		? json_pack("{s:s}", "error", ga_strerror(be))
		: json_pack("{s:I, s:I, s:I, s:I, s:I}", "unfinished", (json_int_t)bl.unfinished,
			    "overdue", (json_int_t)bl.overdue, "overdue_after_s",
			    (json_int_t)c->cfg->http.healthz_backlog_s, "oldest_s",
			    (json_int_t)(bl.unfinished ? (now - bl.oldest_created_ms) / 1000 : 0),
			    "failed_24h", (json_int_t)bl.failed_recent);
	json_t *body = json_pack(
	    "{s:s, s:o, s:o, s:{s:i, s:i, s:b, s:o}, s:s, s:o*, s:{s:I, s:I, s:I, s:I}}", "status",
	    ok ? "ok" : "unavailable", "problems", problems, "warnings", warnings, "mqtt",
	    "sessions", sessions, "subscribed", subscribed, "paused", paused, "brokers", brokers,
	    "database", db ? db : "ok", "deliveries", deliveries, "reports", "accepted",
	    (json_int_t)atomic_load(&c->stats->accepted), "duplicate",
	    (json_int_t)atomic_load(&c->stats->duplicates), "rejected",
	    (json_int_t)atomic_load(&c->stats->rejected), "refused",
	    (json_int_t)atomic_load(&c->stats->refused));
	if (!body)
		return MHD_NO;
	return http_send_json(conn, ok ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE, body, NULL);
}

/* Takes one chunk of the body: kept while the whole fits HTTP_BODY_MAX,
 * dropped (and the request marked too big) once it does not. */
static void http_body_take(struct http_req *req, const char *data, size_t n)
{
	if (req->too_big)
		return;
	if (n > HTTP_BODY_MAX - req->len) {
		req->too_big = true;
		free(req->body);
		req->body = NULL;
		req->len = 0;
		return;
	}
	char *p = realloc(req->body, req->len + n + 1);
	if (!p) {
		/* Answered as too big: the request cannot be served either way. */
		req->too_big = true;
		free(req->body);
		req->body = NULL;
		req->len = 0;
		return;
	}
	memcpy(p + req->len, data, n);
	req->len += n;
	p[req->len] = '\0';
	req->body = p;
}

/* A Content-Length past the cap is refused before the body is read. */
static bool http_declared_too_big(struct MHD_Connection *conn)
{
	const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
	if (!cl)
		return false;
	errno = 0;
	char *end;
	unsigned long long n = strtoull(cl, &end, 10);
	return errno != 0 || end == cl || n > HTTP_BODY_MAX;
}

/* Deliveries by channel and state: every configured channel and every
 * channel in the ledger, each with all four states (0 when none). */
struct http_dlv {
	char channel[HTTP_METRICS_CHANNELS_MAX][STORE_CHANNEL_MAX];
	int64_t n[HTTP_METRICS_CHANNELS_MAX][STORE_STATS_STATE_COUNT];
	int nchannels;
	bool cut; /* more channels than HTTP_METRICS_CHANNELS_MAX */
};

static int http_dlv_slot(struct http_dlv *d, const char *channel)
{
	for (int i = 0; i < d->nchannels; i++)
		if (strcmp(d->channel[i], channel) == 0)
			return i;
	if (d->nchannels == HTTP_METRICS_CHANNELS_MAX) {
		d->cut = true;
		return -1;
	}
	snprintf(d->channel[d->nchannels], STORE_CHANNEL_MAX, "%s", channel);
	return d->nchannels++;
}

static bool http_dlv_cb(const char *channel, enum store_stats_state st, int64_t n, void *arg)
{
	int i = http_dlv_slot(arg, channel);
	if (i >= 0)
		((struct http_dlv *)arg)->n[i][st] = n;
	return true;
}

/* Prometheus text: the in-memory counters and histograms, and gauges of
 * the moment, read from the database on our own connection. A gauge
 * whose read fails is left out (and logged by the store): the rest is
 * still worth scraping. */
static enum MHD_Result http_metrics(struct http *h, struct MHD_Connection *conn)
{
	const struct http_ctx *c = &h->ctx;
	int64_t now = time_now_ms();
	enum MHD_Result ret = MHD_NO;
	struct http_dlv *dlv = calloc(1, sizeof(*dlv));
	struct metrics_gauge2 *g2 = NULL;
	char *text = NULL;
	if (!dlv)
		return http_send_error(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "服务器内存不足");

	json_t *silent = c->watchdog ? watchdog_silent_json(c->watchdog) : NULL;
	struct metrics_gauge g[8 + LEVEL_COUNT + 2 * CONFIG_BROKERS_MAX];
	size_t ng = 0;
	struct ingest *in = *c->ingest;
	int nb = in ? ingest_brokers(in) : 0;
	g[ng++] = (struct metrics_gauge){"geoalert_mqtt_sessions",
					 "MQTT sessions configured, over every broker.", NULL, NULL,
					 in ? ingest_sessions(in) : 0};
	g[ng++] = (struct metrics_gauge){"geoalert_mqtt_subscribed",
					 "MQTT sessions whose subscription is granted, over every "
					 "broker.",
					 NULL, NULL, in ? ingest_subscribed(in) : 0};
	for (int b = 0; b < nb && b < CONFIG_BROKERS_MAX; b++)
		g[ng++] = (struct metrics_gauge){
		    "geoalert_mqtt_broker_sessions", "MQTT sessions configured on each broker.",
		    "broker", ingest_broker_url(in, b), ingest_broker_sessions(in, b)};
	for (int b = 0; b < nb && b < CONFIG_BROKERS_MAX; b++)
		g[ng++] = (struct metrics_gauge){
		    "geoalert_mqtt_broker_subscribed",
		    "MQTT sessions whose subscription each broker has granted.", "broker",
		    ingest_broker_url(in, b), ingest_broker_subscribed(in, b)};
	g[ng++] = (struct metrics_gauge){"geoalert_database_ok",
					 "1 when the database is writable and the last commit "
					 "succeeded.",
					 NULL, NULL, http_database_problem(h) ? 0 : 1};
	g[ng++] = (struct metrics_gauge){"geoalert_stations_silent",
					 "Registered stations silent past their interval.", NULL,
					 NULL, silent ? (double)json_array_size(silent) : 0};
	json_decref(silent);

	int64_t inc[LEVEL_COUNT];
	if (store_stats_incidents(h->store, now - http_incident_window_ms(c->cfg), inc) == GA_OK)
		for (int l = 0; l < LEVEL_COUNT; l++)
			g[ng++] = (struct metrics_gauge){
			    "geoalert_incidents",
			    "Open incidents that took a report within the grouping window, by "
			    "level.",
			    "level", level_name((enum level)l), (double)inc[l]};
	int64_t n;
	if (store_stats_drafts_pending(h->store, &n) == GA_OK)
		g[ng++] =
		    (struct metrics_gauge){"geoalert_drafts_pending",
					   "Drafts waiting for officers.", NULL, NULL, (double)n};
	int64_t max_age_ms = (int64_t)c->cfg->stations.max_observed_age_s * 1000;
	if (store_stats_old_reports(h->store, now - HTTP_OLD_WINDOW_MS, max_age_ms, &n) == GA_OK)
		g[ng++] = (struct metrics_gauge){
		    "geoalert_reports_old_observed",
		    "Reports accepted in the last 24 h whose observed_at was older than "
		    "[stations] max_observed_age when they arrived.",
		    NULL, NULL, (double)n};
	struct store_backlog bl;
	if (store_stats_backlog(h->store, now - (int64_t)c->cfg->http.healthz_backlog_s * 1000,
				now - HTTP_FAILED_WINDOW_MS, &bl) == GA_OK)
		g[ng++] = (struct metrics_gauge){
		    "geoalert_deliveries_overdue",
		    "Deliveries unfinished longer than [http] healthz_backlog after publication.",
		    NULL, NULL, (double)bl.overdue};

	for (int i = 0; i < c->cfg->nchannels; i++)
		http_dlv_slot(dlv, c->cfg->channels[i].name);
	size_t ng2 = 0;
	if (store_stats_deliveries(h->store, http_dlv_cb, dlv) == GA_OK) {
		if (dlv->cut)
			log_warnx("metrics: more than %d delivery channels; the rest left out",
				  HTTP_METRICS_CHANNELS_MAX);
		g2 = calloc((size_t)dlv->nchannels * STORE_STATS_STATE_COUNT + 1, sizeof(*g2));
		if (!g2)
			goto out;
		for (int i = 0; i < dlv->nchannels; i++)
			for (int k = 0; k < STORE_STATS_STATE_COUNT; k++)
				g2[ng2++] = (struct metrics_gauge2){
				    "geoalert_deliveries",
				    "Delivery ledger rows, by channel and state.",
				    {"channel", "state"},
				    {dlv->channel[i], store_stats_state_name(k)},
				    (double)dlv->n[i][k]};
	}

	text = metrics_render_all(c->metrics, g, ng, g2, ng2);
	if (!text) {
		ret = http_send_error(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "服务器内存不足");
		goto out;
	}
	struct MHD_Response *resp =
	    MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
	if (!resp)
		goto out;
	text = NULL; /* the response owns it */
	MHD_add_response_header(resp, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
	ret = http_queue(conn, MHD_HTTP_OK, resp);
out:
	free(text);
	free(g2);
	free(dlv);
	return ret;
}

static enum MHD_Result http_route(struct http *h, struct MHD_Connection *conn, struct http_req *req)
{
	const char *url = req->url, *method = req->method;

	if (!req->in) {
		req->in = true;
		http_guard_request_in(conn);
	}
	if (h->nthrottle > 0) {
		int64_t now = time_now_ms();
		if (now >= h->throttle_due_ms)
			http_throttle_flush(h, now, false);
	}

	if (req->too_big) {
		char msg[HTTP_MSG_MAX];
		snprintf(msg, sizeof(msg), "请求内容超过 %u 字节", HTTP_BODY_MAX);
		return http_send_error(conn, MHD_HTTP_CONTENT_TOO_LARGE, msg);
	}
	if (strcmp(url, "/healthz") == 0) {
		if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
			return http_send_method(conn, "GET");
		return http_healthz(h, conn);
	}
	if (strcmp(url, "/metrics") == 0) {
		if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
			return http_send_method(conn, "GET");
		return http_metrics(h, conn);
	}
	if (http_riskwarning_route(url))
		return http_riskwarning_handle(h, conn, req);
	if (http_monitoring_route(url))
		return http_monitoring_handle(h, conn, req);
	if (strncmp(url, "/api/", 5) == 0)
		return http_api_handle(h, conn, req);
	if (strcmp(url, "/console") == 0 || strncmp(url, "/console/", 9) == 0)
		return http_console_handle(h, conn, req);
	if (http_warning_route(url))
		return http_warning_handle(h, conn, req);
	if (http_public_route(url))
		return http_public_handle(h, conn, req);
	return http_send_error(conn, MHD_HTTP_NOT_FOUND, "没有这个资源");
}

static enum MHD_Result http_handler(void *cls, struct MHD_Connection *conn, const char *url,
				    const char *method, const char *version,
				    const char *upload_data, size_t *upload_data_size,
				    void **con_cls)
{
	struct http *h = cls;
	struct http_req *req = *con_cls;

	if (!req) {
		/* Headers only so far. */
		if ((req = calloc(1, sizeof(*req))) == NULL)
			return MHD_NO;
		req->url = url;
		req->method = method;
		*con_cls = req;
		if (http_declared_too_big(conn)) {
			req->too_big = true;
			return http_route(h, conn, req);
		}
		return MHD_YES;
	}
	if (*upload_data_size != 0) {
		http_body_take(req, upload_data, *upload_data_size);
		*upload_data_size = 0;
		return MHD_YES;
	}
	return http_route(h, conn, req);
}

static void http_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			   enum MHD_RequestTerminationCode toe)
{
	struct http_req *req = *con_cls;
	(void)toe;
	http_guard_request_done(conn);
	if (!req)
		return;
	http_login_free(req->login);
	free(req->body);
	free(req);
	*con_cls = NULL;
}

/* "127.0.0.1:8080", "[::1]:8080", "0.0.0.0:8080". */
static ga_err http_parse_listen(const char *listen, struct addrinfo **res, char *err, size_t errlen)
{
	char host[256];
	const char *port;
	if (listen[0] == '[') {
		const char *close = strchr(listen, ']');
		if (!close || close[1] != ':' || (size_t)(close - listen - 1) >= sizeof(host))
			goto bad;
		memcpy(host, listen + 1, (size_t)(close - listen - 1));
		host[close - listen - 1] = '\0';
		port = close + 2;
	} else {
		const char *colon = strrchr(listen, ':');
		if (!colon || (size_t)(colon - listen) >= sizeof(host))
			goto bad;
		memcpy(host, listen, (size_t)(colon - listen));
		host[colon - listen] = '\0';
		port = colon + 1;
	}
	struct addrinfo hints = {
	    .ai_family = AF_UNSPEC,
	    .ai_socktype = SOCK_STREAM,
	    .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE,
	};
	int rc = getaddrinfo(host, port, &hints, res);
	if (rc != 0) {
		snprintf(err, errlen, "[http] listen \"%s\": %s", listen, gai_strerror(rc));
		return GA_ERR_CONFIG;
	}
	return GA_OK;
bad:
	snprintf(err, errlen, "[http] listen \"%s\": expected HOST:PORT", listen);
	return GA_ERR_CONFIG;
}

static void http_free(struct http *h)
{
	if (!h)
		return;
	http_worker_free(h->worker);
	http_guard_free(h->guard);
	if (h->store)
		http_throttle_flush(h, time_now_ms(), true);
	free(h->throttle);
	http_warning_cache_free(h->warning_cache);
	store_close(h->store);
	free(h);
}

/* The API's own store connection and its view of the workflow context
 * (the service's: templates loaded and checked at start). */
static ga_err http_prepare(struct http *h, char *err, size_t errlen)
{
	struct store_options sopt = {.path = h->ctx.cfg->store.path,
				     .url = h->ctx.cfg->store.url,
				     .password_file = h->ctx.cfg->store.password_file};
	ga_err result = store_open(&sopt, &h->store, err, errlen);
	if (result != GA_OK)
		return result;
	if (!h->ctx.wf->templates) {
		snprintf(err, errlen, "http: the draft templates are not loaded");
		return GA_ERR_CONFIG;
	}
	h->wf = *h->ctx.wf;
	h->wf.metrics = h->ctx.metrics; /* draft -> confirm, observed by the workflow */
	snprintf(h->console_dir, sizeof(h->console_dir), "%s/console", GA_DATADIR);
	if ((h->throttle = calloc(HTTP_THROTTLE_SOURCES_MAX, sizeof(*h->throttle))) == NULL)
		return GA_ERR_NOMEM;
	if ((result = http_worker_new(&sopt, HTTP_WORKER_THREADS, HTTP_LOGIN_QUEUE_MAX, &h->worker,
				      err, errlen)) != GA_OK)
		return result;
	if ((result = http_guard_new(h->ctx.cfg, &h->guard)) != GA_OK) {
		snprintf(err, errlen, "http: cannot start the connection guard");
		return result;
	}
	return GA_OK;
}

ga_err http_start(const struct http_ctx *ctx, struct http **out, char *err, size_t errlen)
{
	struct addrinfo *ai = NULL;
	ga_err result = http_parse_listen(ctx->cfg->http.listen, &ai, err, errlen);
	if (result != GA_OK)
		return result;
	result = GA_ERR_NOMEM;
	struct http *h = calloc(1, sizeof(*h));
	if (!h)
		goto out;
	h->ctx = *ctx;
	if ((result = http_prepare(h, err, errlen)) != GA_OK)
		goto out;
	/* One internal polling thread and no thread pool: handlers are
	 * serialised, which is what makes h->store safe to use. A password
	 * hash suspends its connection and runs on h->worker meanwhile.
	 * The guard refuses a connection past [http] connections_per_address
	 * and cuts one whose request is not in after [http] request_timeout
	 * (HTTP_TIMEOUT_S is only an idle timeout: each byte resets it). */
	unsigned flags =
	    MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME;
	if (ai->ai_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	h->daemon = MHD_start_daemon(flags, 0, http_guard_accept, h->guard, http_handler, h,
				     MHD_OPTION_SOCK_ADDR, ai->ai_addr, MHD_OPTION_CONNECTION_LIMIT,
				     (unsigned)HTTP_MAX_CONNECTIONS, MHD_OPTION_CONNECTION_TIMEOUT,
				     (unsigned)HTTP_TIMEOUT_S, MHD_OPTION_NOTIFY_COMPLETED,
				     http_completed, h, MHD_OPTION_NOTIFY_CONNECTION,
				     http_guard_notify, h->guard, MHD_OPTION_END);
	if (!h->daemon) {
		snprintf(err, errlen, "[http] listen \"%s\": cannot listen (address in use?)",
			 ctx->cfg->http.listen);
		result = GA_ERR_IO;
		goto out;
	}
	const union MHD_DaemonInfo *info =
	    MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_BIND_PORT);
	h->port = info ? info->port : 0;
	*out = h;
	h = NULL;
	result = GA_OK;
out:
	http_free(h);
	freeaddrinfo(ai);
	return result;
}

int http_port(struct http *h)
{
	return h->port;
}

void http_stop(struct http *h)
{
	if (!h)
		return;
	/* Every suspended login back to MHD first: it panics over one. */
	http_worker_stop(h->worker);
	MHD_stop_daemon(h->daemon);
	http_free(h);
}
