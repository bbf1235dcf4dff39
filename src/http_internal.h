/* http_internal.h - what http.c, http_util.c, http_api.c and
 * http_console.c share. Not for other modules.
 *
 * Threads: libmicrohttpd runs every request on its one internal polling
 * thread (MHD_USE_INTERNAL_POLLING_THREAD, no thread pool), so requests
 * are serialised and the server's own store connection is used by that
 * thread only. Keep it that way or guard h->store with a mutex. */
#ifndef GA_HTTP_INTERNAL_H
#define GA_HTTP_INTERNAL_H

#include <jansson.h>
#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "officer.h"
#include "store.h"
#include "workflow.h"

#define HTTP_BODY_MAX (64u * 1024) /* bytes of a request body */
#define HTTP_STATIC_MAX (1u << 20) /* bytes of a console file */
#define HTTP_MSG_MAX 256	   /* an error message */
#define HTTP_SESSION_COOKIE "geoalert_session"
#define HTTP_SECRET_BYTES 32 /* random bytes of a session cookie and a CSRF token */
#define HTTP_SECRET_MAX 64   /* their URL-safe base64 text + NUL */
#define HTTP_TOUCH_MS 15000  /* a session's idle timeout moves on at most this often */

struct service;

struct http {
	struct service *svc;
	struct MHD_Daemon *daemon;
	int port;
	struct store *store;	/* its own connection: the MHD thread only */
	struct workflow_ctx wf; /* the service's; thresholds set per call */
	char console_dir[CONFIG_PATH_MAX];
};

/* One request: its body, read incrementally up to HTTP_BODY_MAX. */
struct http_req {
	char *body; /* NUL-terminated; NULL when there is none */
	size_t len;
	bool too_big; /* past the cap: the rest was read and dropped */
	const char *method, *url;
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

/* The client's address as numeric text ("" when unknown). */
void http_remote(struct MHD_Connection *conn, char buf[STORE_REMOTE_MAX]);

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

/* --- http_api.c: /api/v1/... ------------------------------------------ */
enum MHD_Result http_api_handle(struct http *h, struct MHD_Connection *conn,
				const struct http_req *req);

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
				    const struct http_req *req);

#endif
