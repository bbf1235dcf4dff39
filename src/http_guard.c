/* http_guard.c - what keeps slow or greedy clients from taking every
 * connection (issue 15): at most [http] connections_per_address open at
 * once from one address, and [http] request_timeout to send a whole
 * request (headers and body), counted from the connection's start or the
 * end of its previous request. An IPv6 client is its /64.
 *
 * libmicrohttpd's own timeout (MHD_OPTION_CONNECTION_TIMEOUT) is an idle
 * timeout: every byte resets it, so a client sending one header byte a
 * second holds its connection for ever. Its per-IP limit
 * (MHD_OPTION_PER_IP_CONNECTION_LIMIT) knows no exceptions, and behind a
 * reverse proxy every request comes from the proxy's address. Hence our
 * own: a registry of open connections (MHD_OPTION_NOTIFY_CONNECTION), an
 * accept policy counting them per address (trusted proxies exempt), and
 * a thread that shuts down the socket of a connection still reading its
 * request past the deadline; MHD then sees the end of the stream and
 * closes the connection on its own thread.
 *
 * Threads: the accept policy and the notifications run on the MHD thread,
 * the sweeper on its own; the registry is under mu. shutdown() is called
 * with mu held, and MHD closes a socket only after the CLOSED notification
 * (which takes mu) has returned, so the descriptor is still ours. */
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "http_internal.h"
#include "log.h"
#include "timeutil.h"

#define HTTP_GUARD_TICK_MS 250	      /* how often the sweeper looks */
#define HTTP_GUARD_LOG_EVERY_MS 60000 /* at most one log line this often */

enum http_gconn_state {
	HTTP_GCONN_READING, /* the request is not all in yet: the deadline runs */
	HTTP_GCONN_BUSY,    /* being answered (or waiting for a worker) */
	HTTP_GCONN_CUT,	    /* shut down by the sweeper; MHD is closing it */
};

struct http_gconn {
	struct http_gconn *prev, *next;
	struct http_guard *g;
	int fd;
	struct http_addr addr;
	bool exempt; /* a trusted proxy: no per-address limit, no deadline */
	enum http_gconn_state state;
	int64_t since_ms; /* monotonic: when the current request began */
};

struct http_guard {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	const struct config *cfg;
	struct http_gconn *head;
	int open;
	bool stopping, started;
	pthread_t sweeper;
	/* Counters for the log, under mu. */
	int64_t refused, cut, last_log_ms;
};

static int64_t http_guard_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One line now and then: an attack must not flood the log. mu held. */
static void http_guard_log(struct http_guard *g, int64_t now)
{
	if ((g->refused == 0 && g->cut == 0) || now - g->last_log_ms < HTTP_GUARD_LOG_EVERY_MS)
		return;
	log_warnx("http: %lld connections refused (past [http] connections_per_address = %d), "
		  "%lld cut (request not in after [http] request_timeout = %d s) since the "
		  "last report",
		  (long long)g->refused, g->cfg->http.connections_per_address, (long long)g->cut,
		  g->cfg->http.request_timeout_s);
	g->refused = g->cut = 0;
	g->last_log_ms = now;
}

static void *http_guard_main(void *arg)
{
	struct http_guard *g = arg;
	int64_t limit_ms = (int64_t)g->cfg->http.request_timeout_s * 1000;

	pthread_mutex_lock(&g->mu);
	while (!g->stopping) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_nsec += HTTP_GUARD_TICK_MS * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&g->cv, &g->mu, &ts);
		int64_t now = http_guard_now();
		for (struct http_gconn *c = g->head; c; c = c->next) {
			if (c->state != HTTP_GCONN_READING || c->exempt ||
			    now - c->since_ms <= limit_ms)
				continue;
			shutdown(c->fd, SHUT_RDWR);
			c->state = HTTP_GCONN_CUT;
			g->cut++;
		}
		http_guard_log(g, now);
	}
	pthread_mutex_unlock(&g->mu);
	return NULL;
}

ga_err http_guard_new(const struct config *cfg, struct http_guard **out)
{
	struct http_guard *g = calloc(1, sizeof(*g));
	pthread_condattr_t ca;

	*out = NULL;
	if (!g)
		return GA_ERR_NOMEM;
	g->cfg = cfg;
	g->last_log_ms = http_guard_now() - HTTP_GUARD_LOG_EVERY_MS;
	pthread_mutex_init(&g->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&g->cv, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&g->sweeper, NULL, http_guard_main, g) != 0) {
		http_guard_free(g);
		return GA_ERR_NOMEM;
	}
	g->started = true;
	*out = g;
	return GA_OK;
}

void http_guard_free(struct http_guard *g)
{
	if (!g)
		return;
	pthread_mutex_lock(&g->mu);
	g->stopping = true;
	pthread_cond_broadcast(&g->cv);
	pthread_mutex_unlock(&g->mu);
	if (g->started)
		pthread_join(g->sweeper, NULL);
	/* MHD has stopped: every connection was notified CLOSED and freed. */
	pthread_cond_destroy(&g->cv);
	pthread_mutex_destroy(&g->mu);
	free(g);
}

enum MHD_Result http_guard_accept(void *cls, const struct sockaddr *sa, socklen_t len)
{
	struct http_guard *g = cls;
	struct http_addr a;
	int n = 0;

	(void)len;
	if (!http_addr_of(sa, &a) || http_addr_trusted(g->cfg, &a))
		return MHD_YES;
	pthread_mutex_lock(&g->mu);
	for (struct http_gconn *c = g->head; c; c = c->next)
		if (c->state != HTTP_GCONN_CUT && http_addr_same_client(&c->addr, &a))
			n++;
	bool ok = n < g->cfg->http.connections_per_address;
	if (!ok)
		g->refused++;
	pthread_mutex_unlock(&g->mu);
	return ok ? MHD_YES : MHD_NO;
}

void http_guard_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
		       enum MHD_ConnectionNotificationCode toe)
{
	struct http_guard *g = cls;
	struct http_gconn *c = *socket_context;

	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *fdi =
		    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
		const union MHD_ConnectionInfo *ai =
		    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
		if ((c = calloc(1, sizeof(*c))) == NULL)
			return; /* unguarded, which only costs the guard */
		c->g = g;
		c->fd = fdi ? fdi->connect_fd : -1;
		if (!ai || !ai->client_addr || !http_addr_of(ai->client_addr, &c->addr))
			memset(&c->addr, 0, sizeof(c->addr));
		c->exempt = http_addr_trusted(g->cfg, &c->addr) || c->fd < 0;
		c->state = HTTP_GCONN_READING;
		c->since_ms = http_guard_now();
		pthread_mutex_lock(&g->mu);
		c->next = g->head;
		if (g->head)
			g->head->prev = c;
		g->head = c;
		g->open++;
		pthread_mutex_unlock(&g->mu);
		*socket_context = c;
		return;
	}
	if (!c)
		return;
	pthread_mutex_lock(&g->mu);
	if (c->prev)
		c->prev->next = c->next;
	else
		g->head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	g->open--;
	pthread_mutex_unlock(&g->mu);
	free(c);
	*socket_context = NULL;
}

/* The registry entry of conn, NULL when it has none. */
static struct http_gconn *http_gconn_of(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return ci ? ci->socket_context : NULL;
}

static void http_guard_set(struct MHD_Connection *conn, enum http_gconn_state st)
{
	struct http_gconn *c = http_gconn_of(conn);
	if (!c)
		return;
	pthread_mutex_lock(&c->g->mu);
	if (c->state != HTTP_GCONN_CUT) {
		c->state = st;
		c->since_ms = http_guard_now();
	}
	pthread_mutex_unlock(&c->g->mu);
}

void http_guard_request_in(struct MHD_Connection *conn)
{
	http_guard_set(conn, HTTP_GCONN_BUSY);
}

void http_guard_request_done(struct MHD_Connection *conn)
{
	http_guard_set(conn, HTTP_GCONN_READING);
}
