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
#include "log.h"
#include "metrics.h"
#include "service.h"
#include "watchdog.h"
#include "writer.h"

#define HTTP_MAX_CONNECTIONS 256
#define HTTP_TIMEOUT_S 30

static enum MHD_Result http_healthz(struct http *h, struct MHD_Connection *conn)
{
	struct service *svc = h->svc;
	int sessions = svc->ingest ? ingest_sessions(svc->ingest) : 0;
	int subscribed = svc->ingest ? ingest_subscribed(svc->ingest) : 0;
	ga_err db = svc->writer ? writer_last_result(svc->writer) : GA_ERR_DB;
	bool ok = db == GA_OK && sessions > 0 && subscribed == sessions;

	json_t *body =
	    json_pack("{s:s, s:{s:i, s:i}, s:s, s:{s:I, s:I, s:I, s:I}}", "status",
		      ok ? "ok" : "unavailable", "mqtt", "sessions", sessions, "subscribed",
		      subscribed, "database", db == GA_OK ? "ok" : ga_strerror(db), "reports",
		      "accepted", (json_int_t)atomic_load(&svc->stats.accepted), "duplicate",
		      (json_int_t)atomic_load(&svc->stats.duplicates), "rejected",
		      (json_int_t)atomic_load(&svc->stats.rejected), "refused",
		      (json_int_t)atomic_load(&svc->stats.refused));
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

/* Prometheus text: the in-memory counters and histograms, and gauges of
 * the moment. */
static enum MHD_Result http_metrics(struct http *h, struct MHD_Connection *conn)
{
	struct service *svc = h->svc;
	json_t *silent = svc->watchdog ? watchdog_silent_json(svc->watchdog) : NULL;
	struct metrics_gauge g[] = {
	    {"geoalert_mqtt_sessions", "MQTT sessions configured.", NULL, NULL,
	     svc->ingest ? ingest_sessions(svc->ingest) : 0},
	    {"geoalert_mqtt_subscribed", "MQTT sessions whose subscription is granted.", NULL, NULL,
	     svc->ingest ? ingest_subscribed(svc->ingest) : 0},
	    {"geoalert_database_ok", "1 when the last commit succeeded.", NULL, NULL,
	     svc->writer && writer_last_result(svc->writer) == GA_OK ? 1 : 0},
	    {"geoalert_stations_silent", "Registered stations silent past their interval.", NULL,
	     NULL, silent ? (double)json_array_size(silent) : 0},
	};
	json_decref(silent);
	char *text = metrics_render(&svc->metrics, g, sizeof(g) / sizeof(g[0]));
	if (!text)
		return http_send_error(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
	struct MHD_Response *resp =
	    MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(text);
		return MHD_NO;
	}
	MHD_add_response_header(resp, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
	return http_queue(conn, MHD_HTTP_OK, resp);
}

static enum MHD_Result http_route(struct http *h, struct MHD_Connection *conn,
				  const struct http_req *req)
{
	const char *url = req->url, *method = req->method;

	if (req->too_big) {
		char msg[HTTP_MSG_MAX];
		snprintf(msg, sizeof(msg), "request body larger than %u bytes", HTTP_BODY_MAX);
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
	if (strncmp(url, "/api/", 5) == 0)
		return http_api_handle(h, conn, req);
	if (strcmp(url, "/console") == 0 || strncmp(url, "/console/", 9) == 0)
		return http_console_handle(h, conn, req);
	if (http_public_route(url))
		return http_public_handle(h, conn, req);
	return http_send_error(conn, MHD_HTTP_NOT_FOUND, "no such resource");
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
	if (!req)
		return;
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
	store_close(h->store);
	free(h);
}

/* The API's own store connection and its view of the workflow context
 * (the service's: templates loaded and checked at start). */
static ga_err http_prepare(struct http *h, char *err, size_t errlen)
{
	struct store_options sopt = {.path = h->svc->cfg.store.path};
	ga_err result = store_open(&sopt, &h->store, err, errlen);
	if (result != GA_OK)
		return result;
	if (!h->svc->wf.templates) {
		snprintf(err, errlen, "http: the draft templates are not loaded");
		return GA_ERR_CONFIG;
	}
	h->wf = h->svc->wf;
	snprintf(h->console_dir, sizeof(h->console_dir), "%s/console", GA_DATADIR);
	return GA_OK;
}

ga_err http_start(struct service *svc, struct http **out, char *err, size_t errlen)
{
	struct addrinfo *ai = NULL;
	ga_err result = http_parse_listen(svc->cfg.http.listen, &ai, err, errlen);
	if (result != GA_OK)
		return result;
	result = GA_ERR_NOMEM;
	struct http *h = calloc(1, sizeof(*h));
	if (!h)
		goto out;
	h->svc = svc;
	if ((result = http_prepare(h, err, errlen)) != GA_OK)
		goto out;
	/* One internal polling thread and no thread pool: requests are
	 * serialised, which is what makes h->store safe to use. */
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
	if (ai->ai_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	h->daemon = MHD_start_daemon(flags, 0, NULL, NULL, http_handler, h, MHD_OPTION_SOCK_ADDR,
				     ai->ai_addr, MHD_OPTION_CONNECTION_LIMIT,
				     (unsigned)HTTP_MAX_CONNECTIONS, MHD_OPTION_CONNECTION_TIMEOUT,
				     (unsigned)HTTP_TIMEOUT_S, MHD_OPTION_NOTIFY_COMPLETED,
				     http_completed, h, MHD_OPTION_END);
	if (!h->daemon) {
		snprintf(err, errlen, "[http] listen \"%s\": cannot listen (address in use?)",
			 svc->cfg.http.listen);
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
	MHD_stop_daemon(h->daemon);
	http_free(h);
}
