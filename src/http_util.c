/* http_util.c - responses, request bodies and authentication shared by the
 * officer API and the console. */
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "http_internal.h"
#include "log.h"
#include "timeutil.h"

/* Every response: the console page loads only its own files. */
static const char *const http_security_headers[] = {
    "Content-Security-Policy",
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "frame-ancestors 'none'",
    "X-Content-Type-Options",
    "nosniff",
    "Referrer-Policy",
    "no-referrer",
    "X-Frame-Options",
    "DENY",
    NULL,
};

enum MHD_Result http_queue(struct MHD_Connection *conn, unsigned status, struct MHD_Response *resp)
{
	for (size_t i = 0; http_security_headers[i]; i += 2)
		MHD_add_response_header(resp, http_security_headers[i],
					http_security_headers[i + 1]);
	enum MHD_Result r = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return r;
}

enum MHD_Result http_send_json(struct MHD_Connection *conn, unsigned status, json_t *body,
			       const char *const *headers)
{
	char *text = body ? json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
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
	for (size_t i = 0; headers && headers[i]; i += 2)
		MHD_add_response_header(resp, headers[i], headers[i + 1]);
	return http_queue(conn, status, resp);
}

/* The error code of a status when the caller names none (issue 10). */
static const char *http_code_of(unsigned status)
{
	switch (status) {
	case MHD_HTTP_BAD_REQUEST:
		return "bad_request";
	case MHD_HTTP_UNAUTHORIZED:
		return "unauthorized";
	case MHD_HTTP_FORBIDDEN:
		return "forbidden";
	case MHD_HTTP_NOT_FOUND:
		return "not_found";
	case MHD_HTTP_METHOD_NOT_ALLOWED:
		return "method_not_allowed";
	case MHD_HTTP_CONFLICT:
		return "conflict";
	case MHD_HTTP_CONTENT_TOO_LARGE:
		return "too_large";
	case MHD_HTTP_TOO_MANY_REQUESTS:
		return "too_many_requests";
	case MHD_HTTP_SERVICE_UNAVAILABLE:
		return "unavailable";
	default:
		return status >= 500 ? "internal" : "error";
	}
}

json_t *http_problem_json(unsigned status, const char *code, const char *message, const char *path,
			  long limit)
{
	json_t *o = json_pack("{s:s, s:s}", "error", code ? code : http_code_of(status), "message",
			      message ? message : "");

	if (o != NULL && path != NULL && path[0] != '\0')
		json_object_set_new(o, "path", json_string(path));
	if (o != NULL && limit > 0)
		json_object_set_new(o, "limit", json_integer(limit));
	return o;
}

enum MHD_Result http_send_problem(struct MHD_Connection *conn, unsigned status, const char *code,
				  const char *message, const char *path, long limit)
{
	return http_send_json(conn, status, http_problem_json(status, code, message, path, limit),
			      NULL);
}

enum MHD_Result http_send_error(struct MHD_Connection *conn, unsigned status, const char *message)
{
	return http_send_problem(conn, status, NULL, message, NULL, 0);
}

enum MHD_Result http_send_unauthorized(struct MHD_Connection *conn, const char *message)
{
	static const char *const hdr[] = {"WWW-Authenticate", "Bearer realm=\"geoalert\"", NULL};
	return http_send_json(conn, MHD_HTTP_UNAUTHORIZED,
			      http_problem_json(MHD_HTTP_UNAUTHORIZED, NULL, message, NULL, 0),
			      hdr);
}

enum MHD_Result http_send_method(struct MHD_Connection *conn, const char *allow)
{
	const char *hdr[] = {"Allow", allow, NULL};
	char msg[HTTP_MSG_MAX];
	snprintf(msg, sizeof(msg), "不允许此请求方法，请用 %s", allow);
	return http_send_json(conn, MHD_HTTP_METHOD_NOT_ALLOWED,
			      http_problem_json(MHD_HTTP_METHOD_NOT_ALLOWED, NULL, msg, NULL, 0),
			      hdr);
}

unsigned http_status_of(ga_err e)
{
	switch (e) {
	case GA_OK:
		return MHD_HTTP_OK;
	case GA_ERR_NOTFOUND:
		return MHD_HTTP_NOT_FOUND;
	case GA_ERR_CONFLICT:
	case GA_ERR_DUPLICATE:
		return MHD_HTTP_CONFLICT;
	case GA_ERR_INVAL:
	case GA_ERR_TOOBIG:
		return MHD_HTTP_BAD_REQUEST;
	case GA_ERR_BUSY:
	case GA_ERR_FULL:
		return MHD_HTTP_SERVICE_UNAVAILABLE;
	default:
		return MHD_HTTP_INTERNAL_SERVER_ERROR;
	}
}

ga_err http_body_json(const struct http_req *req, bool empty_ok, json_t **out, char *msg,
		      size_t msglen)
{
	json_error_t jerr;
	size_t i = 0;

	*out = NULL;
	while (req->body && i < req->len && strchr(" \t\r\n", req->body[i]))
		i++;
	if (!req->body || i == req->len) {
		if (empty_ok)
			return GA_OK;
		snprintf(msg, msglen, "请求体须是 JSON 对象");
		return GA_ERR_INVAL;
	}
	json_t *j = json_loadb(req->body, req->len, JSON_REJECT_DUPLICATES, &jerr);
	if (!j) {
		/* jansson's own text is English: the place says enough. */
		snprintf(msg, msglen, "%s（第%d行第%d列）",
			 strstr(jerr.text, "duplicate") ? "JSON 中有重复的字段" : "JSON 格式错误",
			 jerr.line, jerr.column);
		return GA_ERR_INVAL;
	}
	if (!json_is_object(j)) {
		json_decref(j);
		snprintf(msg, msglen, "请求体须是 JSON 对象");
		return GA_ERR_INVAL;
	}
	*out = j;
	return GA_OK;
}

bool http_addr_of(const struct sockaddr *sa, struct http_addr *out)
{
	memset(out, 0, sizeof(*out));
	if (sa->sa_family == AF_INET) {
		out->family = AF_INET;
		memcpy(out->a, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		return true;
	}
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a6 = &((const struct sockaddr_in6 *)sa)->sin6_addr;
		if (IN6_IS_ADDR_V4MAPPED(a6)) {
			/* ::ffff:192.0.2.1 is 192.0.2.1: one client, one count. */
			out->family = AF_INET;
			memcpy(out->a, &a6->s6_addr[12], 4);
		} else {
			out->family = AF_INET6;
			memcpy(out->a, a6, 16);
		}
		return true;
	}
	return false;
}

/* An IPv4 address is written straight into out: handing http_addr_of a
 * sockaddr_in made gcc 12 at -O3 see its IPv6 branch read past the
 * 16-byte object (-Warray-bounds, an error in a -Werror Release build). */
bool http_addr_parse(const char *text, struct http_addr *out)
{
	struct sockaddr_in6 s6 = {.sin6_family = AF_INET6};
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, text, out->a) == 1) {
		out->family = AF_INET;
		return true;
	}
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET6, text, &s6.sin6_addr) == 1)
		return http_addr_of((const struct sockaddr *)&s6, out);
	return false;
}

bool http_addr_same_client(const struct http_addr *a, const struct http_addr *b)
{
	return a->family == b->family && a->family != 0 &&
	       memcmp(a->a, b->a, a->family == AF_INET ? 4 : 8) == 0;
}

bool http_addr_trusted(const struct config *cfg, const struct http_addr *a)
{
	for (int i = 0; i < cfg->http.ntrusted_proxies; i++) {
		const struct config_net *n = &cfg->http.trusted_proxies[i];
		if (n->family != a->family)
			continue;
		int bytes = n->prefix / 8, bits = n->prefix % 8;
		if (memcmp(n->addr, a->a, (size_t)bytes) != 0)
			continue;
		if (bits) {
			unsigned char mask = (unsigned char)(0xff << (8 - bits));
			if ((n->addr[bytes] & mask) != (a->a[bytes] & mask))
				continue;
		}
		return true;
	}
	return false;
}

void http_addr_text(const struct http_addr *a, char buf[STORE_REMOTE_MAX])
{
	buf[0] = '\0';
	if (a->family != 0 && !inet_ntop(a->family, a->a, buf, STORE_REMOTE_MAX))
		buf[0] = '\0';
}

void http_client_address(const struct config *cfg, const struct http_addr *peer, const char *xff,
			 char out[STORE_REMOTE_MAX])
{
	struct http_addr client = *peer;
	char copy[HTTP_XFF_MAX];

	/* Right to left: each trusted proxy appended the address it saw; the
	 * first address that is not a trusted proxy is the client. Anything
	 * left of it was written by the client and proves nothing. */
	if (xff && http_addr_trusted(cfg, peer) && strlen(xff) < sizeof(copy)) {
		snprintf(copy, sizeof(copy), "%s", xff);
		char *end = copy + strlen(copy);
		while (end > copy) {
			char *comma = end - 1;
			while (comma > copy && *comma != ',')
				comma--;
			char *item = *comma == ',' ? comma + 1 : comma;
			*end = '\0';
			while (*item == ' ' || *item == '\t')
				item++;
			for (char *t = end; t > item && (t[-1] == ' ' || t[-1] == '\t');)
				*--t = '\0';
			struct http_addr a;
			if (!http_addr_parse(item, &a))
				break; /* not an address: stop at the last proxy */
			client = a;
			if (!http_addr_trusted(cfg, &a))
				break;
			end = comma;
		}
	}
	http_addr_text(&client, out);
}

void http_remote(struct http *h, struct MHD_Connection *conn, char buf[STORE_REMOTE_MAX])
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	struct http_addr peer;
	buf[0] = '\0';
	if (!ci || !ci->client_addr || !http_addr_of(ci->client_addr, &peer))
		return;
	http_client_address(h->ctx.cfg, &peer,
			    MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Forwarded-For"),
			    buf);
}

void http_secret_new(char out[HTTP_SECRET_MAX])
{
	unsigned char raw[HTTP_SECRET_BYTES];
	randombytes_buf(raw, sizeof(raw));
	sodium_bin2base64(out, HTTP_SECRET_MAX, raw, sizeof(raw),
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(raw, sizeof(raw));
}

bool http_secret_equal(const char *a, const char *b)
{
	size_t n = strlen(a);
	if (n != strlen(b) || n == 0)
		return false;
	return sodium_memcmp(a, b, n) == 0;
}

/* Bearer token: 401 for a malformed header, an unknown or revoked token. */
static unsigned http_auth_bearer(struct http *h, const char *authz, struct http_who *who, char *msg,
				 size_t msglen)
{
	if (strncasecmp(authz, "Bearer ", 7) != 0) {
		snprintf(msg, msglen, "需要 Authorization: Bearer 令牌");
		return MHD_HTTP_UNAUTHORIZED;
	}
	const char *token = authz + 7;
	while (*token == ' ')
		token++;
	if (strlen(token) >= OFFICER_TOKEN_MAX) {
		snprintf(msg, msglen, "令牌无效");
		return MHD_HTTP_UNAUTHORIZED;
	}
	ga_err e = officer_authenticate_token(h->store, token, &who->officer);
	if (e == GA_ERR_NOTFOUND) {
		snprintf(msg, msglen, "令牌无效");
		return MHD_HTTP_UNAUTHORIZED;
	}
	if (e != GA_OK) {
		snprintf(msg, msglen, "无法核对令牌：%s", ga_strerror(e));
		return http_status_of(e) == MHD_HTTP_SERVICE_UNAVAILABLE
			   ? MHD_HTTP_SERVICE_UNAVAILABLE
			   : MHD_HTTP_INTERNAL_SERVER_ERROR;
	}
	return 0;
}

unsigned http_auth(struct http *h, struct MHD_Connection *conn, bool state_change,
		   struct http_who *who, char *msg, size_t msglen)
{
	memset(who, 0, sizeof(*who));
	const char *authz = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
	if (authz)
		return http_auth_bearer(h, authz, who, msg, msglen);

	const char *cookie =
	    MHD_lookup_connection_value(conn, MHD_COOKIE_KIND, HTTP_SESSION_COOKIE);
	if (!cookie || !cookie[0] || strlen(cookie) >= HTTP_SECRET_MAX) {
		snprintf(msg, msglen, "请先登录");
		return MHD_HTTP_UNAUTHORIZED;
	}
	char id[OFFICER_HASH_HEX];
	int64_t now = time_now_ms();
	officer_secret_hash(cookie, strlen(cookie), id);
	ga_err e = store_session_get(h->store, id, now, &who->session);
	if (e == GA_OK)
		e = store_officer_get(h->store, who->session.officer_id, &who->officer);
	if (e == GA_OK && who->officer.disabled)
		e = GA_ERR_NOTFOUND;
	if (e == GA_ERR_NOTFOUND) {
		snprintf(msg, msglen, "登录已过期，请重新登录");
		return MHD_HTTP_UNAUTHORIZED;
	}
	if (e != GA_OK) {
		snprintf(msg, msglen, "无法核对登录状态：%s", ga_strerror(e));
		return MHD_HTTP_INTERNAL_SERVER_ERROR;
	}
	if (state_change) {
		const char *csrf =
		    MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-CSRF-Token");
		if (!csrf || !http_secret_equal(csrf, who->session.csrf)) {
			snprintf(msg, msglen, "缺少或错误的 X-CSRF-Token");
			return MHD_HTTP_FORBIDDEN;
		}
	}
	who->by_session = true;
	/* The idle timeout slides; a write per request is not needed for
	 * that, one per HTTP_TOUCH_MS is. A request the console makes on its
	 * own while the officer is away (its polls, marked with
	 * HTTP_BACKGROUND_HEADER) does not slide it: an unattended console
	 * must still time out (issue 10). */
	bool background =
	    MHD_lookup_connection_value(conn, MHD_HEADER_KIND, HTTP_BACKGROUND_HEADER) != NULL;
	if (!background && now - who->session.last_seen_ms >= HTTP_TOUCH_MS) {
		int64_t expires = now + (int64_t)h->ctx.cfg->console.session_idle_s * 1000;
		if ((e = store_session_touch(h->store, id, now, expires)) != GA_OK &&
		    e != GA_ERR_NOTFOUND)
			log_warnx("http: session touch: %s", ga_strerror(e));
		who->session.last_seen_ms = now;
		who->session.expires_ms = expires;
	}
	return 0;
}
