/* http_internal.h - what the http_*.c files share. Not for other modules.
 *
 * Threads: libmicrohttpd runs every request handler on its one internal
 * polling thread (MHD_USE_INTERNAL_POLLING_THREAD, no thread pool), so
 * handlers are serialised and the server's own store connection h->store,
 * h->wf and the login throttle table are used by that thread only. Keep
 * it that way or guard them with a mutex. Slow work leaves that thread
 * through http_worker (the request's connection suspended meanwhile):
 * a job uses only its own memory and its thread's own store connection.
 * http_guard's sweeper thread touches only its registry, under its mutex. */
#ifndef GA_HTTP_INTERNAL_H
#define GA_HTTP_INTERNAL_H

#include <jansson.h>
#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "config.h"
#include "http.h"
#include "officer.h"
#include "store.h"
#include "workflow.h"

#define HTTP_BODY_MAX (64u * 1024) /* bytes of a request body */
#define HTTP_STATIC_MAX (1u << 20) /* bytes of a console file */
#define HTTP_MSG_MAX 256	   /* an error message */
#define HTTP_SESSION_COOKIE "geoalert_session"
#define HTTP_SECRET_BYTES 32  /* random bytes of a session cookie and a CSRF token */
#define HTTP_SECRET_MAX 64    /* their URL-safe base64 text + NUL */
#define HTTP_TOUCH_MS 15000   /* a session's idle timeout moves on at most this often */
#define HTTP_XFF_MAX 512      /* bytes of X-Forwarded-For read; longer: the peer is the client */
#define HTTP_WORKER_THREADS 2 /* password hashes at once (argon2id: 64 MiB each) */
#define HTTP_WORKER_THREADS_MAX 8
#define HTTP_LOGIN_QUEUE_MAX 64	       /* logins waiting for a hash thread; past it 503 */
#define HTTP_THROTTLE_SOURCES_MAX 1024 /* addresses whose refused logins are counted */
/* The console's login request carries this header (a cross-site form
 * cannot send it, and a cross-site fetch with it needs a CORS preflight,
 * which we never grant): login CSRF. */
#define HTTP_LOGIN_HEADER "X-Geoalert-Login"
/* Marks a console request made while the officer is away (its polls): the
 * session's idle timeout does not slide for it. */
#define HTTP_BACKGROUND_HEADER "X-Geoalert-Background"

struct http_worker;
struct http_guard;

/* Refused (429) logins from one address within a window: counted here,
 * audited as one login.throttled row when the window ends (issue 15). */
struct http_throttle {
	char remote[STORE_REMOTE_MAX];
	int64_t first_ms, last_ms, count;
	char name[OFFICER_NAME_MAX]; /* the last name tried */
};

struct http {
	struct http_ctx ctx; /* what it reads of the service */
	struct MHD_Daemon *daemon;
	int port;
	struct store *store;	/* its own connection: the MHD thread only */
	struct workflow_ctx wf; /* the service's; thresholds set per call */
	char console_dir[CONFIG_PATH_MAX];
	struct http_worker *worker;	/* password hashes */
	struct http_guard *guard;	/* slow and greedy clients */
	struct http_throttle *throttle; /* HTTP_THROTTLE_SOURCES_MAX slots */
	int nthrottle;
	int64_t throttle_due_ms; /* the earliest window end among them */
	/* rendered risk warning CAP and pages (http_warning.c): a render of
	 * all 95 counties takes ~15 ms of this one thread */
	struct http_warning_cache *warning_cache;
};

/* Work for http_worker: run() on a worker thread with that thread's store
 * connection (NULL when the worker has none), then done() (always, also
 * when cancelled at a stop without running). After done() the worker
 * never touches the job again. */
struct http_job {
	void (*run)(struct http_job *j, struct store *st);
	void (*done)(struct http_job *j);
	struct http_job *next;
	bool cancelled;
};

/* A console login waiting for its password check (http_console.c). */
struct http_login;

/* One request: its body, read incrementally up to HTTP_BODY_MAX. */
struct http_req {
	char *body; /* NUL-terminated; NULL when there is none */
	size_t len;
	bool too_big; /* past the cap: the rest was read and dropped */
	bool in;      /* the whole request is in (http_guard told) */
	const char *method, *url;
	struct http_login *login; /* owned; freed with the request */
};

/* Who asks, once authenticated (http_auth). */
struct http_who {
	struct officer officer;
	bool by_session; /* the console cookie, not a bearer token */
	struct store_session session;
};

/* --- http_util.c ----------------------------------------------------- */

/* Adds the security headers every response carries (CSP, nosniff,
 * no-referrer, frame-ancestors), queues resp with status and drops our
 * reference. */
enum MHD_Result http_queue(struct MHD_Connection *conn, unsigned status, struct MHD_Response *resp);
/* Sends body (stolen) as JSON, Cache-Control: no-store. headers: NULL or
 * name, value, ..., NULL pairs added as they are. */
enum MHD_Result http_send_json(struct MHD_Connection *conn, unsigned status, json_t *body,
			       const char *const *headers);
/* {"error": the status's code, "message": message}. */
enum MHD_Result http_send_error(struct MHD_Connection *conn, unsigned status, const char *message);
/* The error body every API error has (issue 10): {"error": code (NULL:
 * the status's, e.g. "not_found"), "message": Chinese text for officers,
 * "path": the field (when path is not empty), "limit": the limit in
 * characters (when > 0)}. */
json_t *http_problem_json(unsigned status, const char *code, const char *message, const char *path,
			  long limit);
enum MHD_Result http_send_problem(struct MHD_Connection *conn, unsigned status, const char *code,
				  const char *message, const char *path, long limit);
/* 401 with WWW-Authenticate: Bearer. */
enum MHD_Result http_send_unauthorized(struct MHD_Connection *conn, const char *message);
/* 405 with Allow: allow. */
enum MHD_Result http_send_method(struct MHD_Connection *conn, const char *allow);
/* Status for a workflow/store error: NOTFOUND 404, CONFLICT 409, INVAL
 * and TOOBIG 400, BUSY 503, others 500. */
unsigned http_status_of(ga_err e);

/* The request body as a JSON object (JSON_REJECT_DUPLICATES); an empty
 * body gives NULL with GA_OK when empty_ok. GA_ERR_INVAL with msg
 * otherwise. *out is a new reference. */
ga_err http_body_json(const struct http_req *req, bool empty_ok, json_t **out, char *msg,
		      size_t msglen);

/* An IPv4 or IPv6 address (family 0: none); IPv4-mapped IPv6 is IPv4. */
struct http_addr {
	int family;
	unsigned char a[16];
};
bool http_addr_of(const struct sockaddr *sa, struct http_addr *out);
bool http_addr_parse(const char *text, struct http_addr *out);
/* One client for the per-address connection limit: the same IPv4
 * address, or the same IPv6 /64 (the smallest network handed to one site:
 * its holder has 2^64 addresses to spread connections over). */
bool http_addr_same_client(const struct http_addr *a, const struct http_addr *b);
/* Whether a is within [http] trusted_proxies. */
bool http_addr_trusted(const struct config *cfg, const struct http_addr *a);
void http_addr_text(const struct http_addr *a, char buf[STORE_REMOTE_MAX]);

/* The client's address as numeric text: peer, or when peer is a trusted
 * proxy, the rightmost address of xff (X-Forwarded-For, may be NULL)
 * that is not one. "" when unknown. */
void http_client_address(const struct config *cfg, const struct http_addr *peer, const char *xff,
			 char out[STORE_REMOTE_MAX]);
/* http_client_address of a request. */
void http_remote(struct http *h, struct MHD_Connection *conn, char buf[STORE_REMOTE_MAX]);

/* HTTP_SECRET_BYTES random bytes as URL-safe base64 without padding. */
void http_secret_new(char out[HTTP_SECRET_MAX]);

/* Constant-time equality of two NUL-terminated strings (a length
 * mismatch returns false at once: lengths are not secret here). */
bool http_secret_equal(const char *a, const char *b);

/* Authenticates the request: a bearer token or else the console session
 * cookie (whose idle timeout slides on use, in steps of HTTP_TOUCH_MS).
 * state_change: the request changes something, so a session must also
 * carry X-CSRF-Token. Returns 0 and fills who, or the status to answer
 * (401, 403, 500) with msg. */
unsigned http_auth(struct http *h, struct MHD_Connection *conn, bool state_change,
		   struct http_who *who, char *msg, size_t msglen);

/* --- http_worker.c: slow work off the MHD thread --------------------- */
/* nthreads threads (1..HTTP_WORKER_THREADS_MAX), each with a store
 * connection to the store of sopt (none when NULL); at most queue_max jobs
 * waiting. */
ga_err http_worker_new(const struct store_options *sopt, int nthreads, size_t queue_max,
		       struct http_worker **out, char *err, size_t errlen);
/* Queues j: GA_ERR_FULL when queue_max are waiting, GA_ERR_BUSY once
 * stopping; j is then not the worker's. */
ga_err http_worker_submit(struct http_worker *w, struct http_job *j);
/* Stops: the running jobs finish, waiting ones are done() cancelled;
 * submit refuses from now on. */
void http_worker_stop(struct http_worker *w);
/* Stops (if not yet) and frees. */
void http_worker_free(struct http_worker *w);

/* --- http_guard.c: per-address limit, request deadline --------------- */
ga_err http_guard_new(const struct config *cfg, struct http_guard **out);
/* After MHD_stop_daemon. */
void http_guard_free(struct http_guard *g);
/* MHD_OPTION_ACCEPT_POLICY_CALLBACK, cls the guard. */
enum MHD_Result http_guard_accept(void *cls, const struct sockaddr *sa, socklen_t len);
/* MHD_OPTION_NOTIFY_CONNECTION, cls the guard. */
void http_guard_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
		       enum MHD_ConnectionNotificationCode toe);
/* The whole request is in: the deadline stops. */
void http_guard_request_in(struct MHD_Connection *conn);
/* The request was answered: the next one's deadline starts. */
void http_guard_request_done(struct MHD_Connection *conn);

/* --- http_api.c: /api/v1/... ------------------------------------------ */
enum MHD_Result http_api_handle(struct http *h, struct MHD_Connection *conn,
				const struct http_req *req);

/* --- http_riskwarning.c: /api/v1/riskwarnings... (issue 14) ---------- */
bool http_riskwarning_route(const char *url);
enum MHD_Result http_riskwarning_handle(struct http *h, struct MHD_Connection *conn,
					const struct http_req *req);
/* --- http_warning.c: /warnings/{product_id}[.json|.xml] (issue 14) --- */
/* --- http_monitoring.c: GET /api/v1/monitoring[/{station_id}] (§12) -- */
bool http_monitoring_route(const char *url);
enum MHD_Result http_monitoring_handle(struct http *h, struct MHD_Connection *conn,
				       const struct http_req *req);

bool http_warning_route(const char *url);
enum MHD_Result http_warning_handle(struct http *h, struct MHD_Connection *conn,
				    const struct http_req *req);
/* The front page's section of the risk warnings current at now_ms
 * (published, valid_to later): *html malloc'd (caller frees). */
ga_err http_warning_current_html(struct http *h, int64_t now_ms, char **html);
/* The public JSON of every risk warning published since since_ms (newest
 * first, at most FEED_ENTRIES_MAX), for the Atom feed: *out a new array. */
ga_err http_warning_feed_json(struct http *h, int64_t since_ms, json_t **out);
/* Frees h->warning_cache (NULL is fine). */
void http_warning_cache_free(struct http_warning_cache *c);
/* --- http_public.c: /, /alerts/..., /feed.atom, the signing key ------ */
/* Whether url is one of the public endpoints http_public_handle serves. */
bool http_public_route(const char *url);
enum MHD_Result http_public_handle(struct http *h, struct MHD_Connection *conn,
				   const struct http_req *req);

/* The public page of alert (spec §6 JSON; borrowed) with its earlier
 * versions from the store, exactly as /alerts/{id} serves it when alert
 * is the latest: the officers' preview (issue 10) renders a version not
 * yet published with it. *body is malloc'd. */
ga_err http_public_page_html(struct http *h, const json_t *alert, char **body, size_t *len);

/* --- http_console.c: /console/... ------------------------------------- */
enum MHD_Result http_console_handle(struct http *h, struct MHD_Connection *conn,
				    struct http_req *req);
/* Frees a login's state (the request is done). */
void http_login_free(struct http_login *l);
/* One more refused login from remote (name: the name tried). Past
 * HTTP_THROTTLE_SOURCES_MAX addresses the oldest window is audited early
 * to make room: the count is bounded in memory, and nothing goes
 * uncounted. On the MHD thread. */
void http_throttle_count(struct http *h, const char *remote, const char *name, int64_t now);
/* Audits every throttle window that has ended by now (all with force, at
 * a stop); on the MHD thread, or after it stopped. */
void http_throttle_flush(struct http *h, int64_t now, bool force);

#endif
