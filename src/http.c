/* http.c - libmicrohttpd server and the operations endpoints. */
#include "http.h"

#include <jansson.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "ingest.h"
#include "log.h"
#include "service.h"
#include "writer.h"

#define HTTP_MAX_CONNECTIONS 256
#define HTTP_TIMEOUT_S 30

struct http {
	struct service *svc;
	struct MHD_Daemon *daemon;
	int port;
};

static enum MHD_Result http_send_json(struct MHD_Connection *conn, unsigned status, json_t *body)
{
	char *text = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(body);
	if (!text)
		return MHD_NO;
	struct MHD_Response *resp =
	    MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(text);
		return MHD_NO;
	}
	MHD_add_response_header(resp, "Content-Type", "application/json; charset=utf-8");
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	enum MHD_Result r = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return r;
}

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
	return http_send_json(conn, ok ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE, body);
}

static enum MHD_Result http_error(struct MHD_Connection *conn, unsigned status, const char *message)
{
	json_t *body = json_pack("{s:s}", "error", message);
	if (!body)
		return MHD_NO;
	return http_send_json(conn, status, body);
}

static enum MHD_Result http_handler(void *cls, struct MHD_Connection *conn, const char *url,
				    const char *method, const char *version,
				    const char *upload_data, size_t *upload_data_size,
				    void **con_cls)
{
	struct http *h = cls;

	/* No endpoint takes a body yet: refuse one rather than buffer it. */
	if (*upload_data_size != 0)
		return http_error(conn, MHD_HTTP_CONTENT_TOO_LARGE, "request body not accepted");
	if (strcmp(url, "/healthz") == 0) {
		if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
			return http_error(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "use GET");
		return http_healthz(h, conn);
	}
	return http_error(conn, MHD_HTTP_NOT_FOUND, "no such resource");
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
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
	if (ai->ai_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	h->daemon = MHD_start_daemon(flags, 0, NULL, NULL, http_handler, h, MHD_OPTION_SOCK_ADDR,
				     ai->ai_addr, MHD_OPTION_CONNECTION_LIMIT,
				     (unsigned)HTTP_MAX_CONNECTIONS, MHD_OPTION_CONNECTION_TIMEOUT,
				     (unsigned)HTTP_TIMEOUT_S, MHD_OPTION_END);
	if (!h->daemon) {
		snprintf(err, errlen, "[http] listen \"%s\": cannot listen (address in use?)",
			 svc->cfg.http.listen);
		result = GA_ERR_IO;
		free(h);
		goto out;
	}
	const union MHD_DaemonInfo *info =
	    MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_BIND_PORT);
	h->port = info ? info->port : 0;
	*out = h;
	result = GA_OK;
out:
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
	free(h);
}
