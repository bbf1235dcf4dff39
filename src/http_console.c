/* http_console.c - the duty officers' console (spec §8 /console/): its
 * static files (a fixed list: no path from the URL reaches the file
 * system), password login with a rate limit, sessions and logout. The
 * page itself talks to the officer API (http_api.c) with fetch. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit.h"
#include "http_internal.h"
#include "log.h"
#include "service.h"
#include "timeutil.h"

#define HTTP_COOKIE_MAX 256 /* the Set-Cookie value */

static const struct {
	const char *url, *file, *type;
} http_console_files[] = {
    {"/console/", "index.html", "text/html; charset=utf-8"},
    {"/console/index.html", "index.html", "text/html; charset=utf-8"},
    {"/console/app.js", "app.js", "text/javascript; charset=utf-8"},
    {"/console/app.css", "app.css", "text/css; charset=utf-8"},
};

static enum MHD_Result http_console_file(struct http *h, struct MHD_Connection *conn,
					 const char *file, const char *type)
{
	char path[CONFIG_PATH_MAX + 32];
	struct stat st;
	char *buf = NULL;
	int fd = -1;
	enum MHD_Result r;

	snprintf(path, sizeof(path), "%s/%s", h->console_dir, file);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &st) != 0 ||
	    !S_ISREG(st.st_mode) || st.st_size > (off_t)HTTP_STATIC_MAX) {
		log_warn("console: %s", path);
		r = http_send_error(conn, MHD_HTTP_NOT_FOUND, "console file missing");
		goto out;
	}
	size_t size = (size_t)st.st_size, got = 0;
	if ((buf = malloc(size ? size : 1)) == NULL) {
		r = MHD_NO;
		goto out;
	}
	while (got < size) {
		ssize_t n = read(fd, buf + got, size - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	struct MHD_Response *resp =
	    MHD_create_response_from_buffer(got, buf, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		r = MHD_NO;
		goto out;
	}
	buf = NULL;
	MHD_add_response_header(resp, "Content-Type", type);
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	r = http_queue(conn, MHD_HTTP_OK, resp);
out:
	free(buf);
	if (fd >= 0)
		close(fd);
	return r;
}

/* In-place application/x-www-form-urlencoded decoding of one value. */
static void http_form_decode(char *s)
{
	char *w = s;
	for (char *r = s; *r; r++) {
		if (*r == '+') {
			*w++ = ' ';
		} else if (*r == '%' && r[1] && r[2] && strchr("0123456789abcdefABCDEF", r[1]) &&
			   strchr("0123456789abcdefABCDEF", r[2])) {
			char hex[3] = {r[1], r[2], '\0'};
			*w++ = (char)strtol(hex, NULL, 16);
			r += 2;
		} else {
			*w++ = *r;
		}
	}
	*w = '\0';
}

/* name and password from a form or a JSON body; new references in *out
 * ({"name": s, "password": s}). GA_ERR_INVAL with msg otherwise. */
static ga_err http_login_fields(struct MHD_Connection *conn, const struct http_req *req,
				json_t **out, char *msg, size_t msglen)
{
	const char *ctype = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type");
	json_t *body = NULL;
	ga_err e;

	*out = NULL;
	if (ctype && strncasecmp(ctype, "application/x-www-form-urlencoded", 33) == 0) {
		if ((body = json_object()) == NULL)
			return GA_ERR_NOMEM;
		char *copy = strndup(req->body ? req->body : "", req->len);
		char *save = NULL;
		if (!copy) {
			json_decref(body);
			return GA_ERR_NOMEM;
		}
		for (char *kv = strtok_r(copy, "&", &save); kv; kv = strtok_r(NULL, "&", &save)) {
			char *eq = strchr(kv, '=');
			if (!eq)
				continue;
			*eq = '\0';
			http_form_decode(kv);
			http_form_decode(eq + 1);
			/* json_string refuses bad UTF-8: such a field is as good as absent. */
			if (strcmp(kv, "name") == 0 || strcmp(kv, "password") == 0)
				json_object_set_new(body, kv, json_string(eq + 1));
		}
		free(copy);
	} else {
		static const char *const keys[] = {"name", "password"};
		if ((e = http_body_json(req, false, &body, msg, msglen)) != GA_OK)
			return e;
		const char *key;
		json_t *v;
		json_object_foreach(body, key, v)
		{
			if (strcmp(key, keys[0]) != 0 && strcmp(key, keys[1]) != 0) {
				snprintf(msg, msglen, "unknown field \"%.64s\"", key);
				json_decref(body);
				return GA_ERR_INVAL;
			}
		}
	}
	if (!json_is_string(json_object_get(body, "name")) ||
	    !json_is_string(json_object_get(body, "password"))) {
		snprintf(msg, msglen, "name and password are required");
		json_decref(body);
		return GA_ERR_INVAL;
	}
	*out = body;
	return GA_OK;
}

/* The name as recorded: cut to fit OFFICER_NAME_MAX on a UTF-8 boundary. */
static void http_login_name_cut(const char *name, char out[OFFICER_NAME_MAX])
{
	size_t n = strlen(name);
	if (n >= OFFICER_NAME_MAX) {
		n = OFFICER_NAME_MAX - 1;
		while (n > 0 && ((unsigned char)name[n] & 0xc0) == 0x80)
			n--;
	}
	memcpy(out, name, n);
	out[n] = '\0';
}

static void http_login_failed(struct http *h, const char *name, const char *remote, bool throttled,
			      int64_t now)
{
	ga_err e;
	if (!throttled &&
	    (e = store_login_attempt_add(h->store, name, remote, false, now)) != GA_OK)
		log_warnx("console: recording a failed login: %s", ga_strerror(e));
	json_t *detail =
	    json_pack("{s:s, s:s, s:b}", "name", name, "remote", remote, "throttled", throttled);
	if (!detail || (e = audit_record_json(h->store, 0, "login.fail", "", detail)) != GA_OK)
		log_warnx("console: audit of a failed login for %s failed", name);
	json_decref(detail);
}

static enum MHD_Result http_console_login(struct http *h, struct MHD_Connection *conn,
					  const struct http_req *req)
{
	const struct config *c = &h->svc->cfg;
	char msg[HTTP_MSG_MAX] = "", name[OFFICER_NAME_MAX], remote[STORE_REMOTE_MAX];
	json_t *fields = NULL;
	int64_t now = time_now_ms(), since = now - (int64_t)c->console.login_window_s * 1000;
	int64_t by_name = 0, by_remote = 0;
	struct officer o;
	enum MHD_Result r;
	ga_err e;

	if ((e = http_login_fields(conn, req, &fields, msg, sizeof(msg))) != GA_OK)
		return http_send_error(
		    conn, e == GA_ERR_INVAL ? MHD_HTTP_BAD_REQUEST : MHD_HTTP_INTERNAL_SERVER_ERROR,
		    msg[0] ? msg : ga_strerror(e));
	http_login_name_cut(json_string_value(json_object_get(fields, "name")), name);
	http_remote(conn, remote);
	store_login_attempt_purge(h->store, since);
	if ((e = store_login_attempt_count_since(h->store, name, NULL, since, &by_name)) != GA_OK ||
	    (e = store_login_attempt_count_since(h->store, NULL, remote, since, &by_remote)) !=
		GA_OK) {
		r = http_send_error(conn, http_status_of(e), ga_strerror(e));
		goto out;
	}
	if (by_name >= c->console.login_max_failures ||
	    by_remote >= c->console.login_max_failures) {
		char retry[32];
		snprintf(retry, sizeof(retry), "%d", c->console.login_window_s);
		const char *hdr[] = {"Retry-After", retry, NULL};
		http_login_failed(h, name, remote, true, now);
		r = http_send_json(conn, MHD_HTTP_TOO_MANY_REQUESTS,
				   json_pack("{s:s}", "error", "too many failed logins; try later"),
				   hdr);
		goto out;
	}
	e = officer_authenticate_password(
	    h->store, json_string_value(json_object_get(fields, "name")),
	    json_string_value(json_object_get(fields, "password")), &o);
	if (e == GA_ERR_NOTFOUND) {
		http_login_failed(h, name, remote, false, now);
		r = http_send_error(conn, MHD_HTTP_UNAUTHORIZED, "wrong name or password");
		goto out;
	}
	if (e != GA_OK) {
		r = http_send_error(conn, http_status_of(e), ga_strerror(e));
		goto out;
	}

	char cookie[HTTP_SECRET_MAX], setcookie[HTTP_COOKIE_MAX];
	struct store_session sess = {
	    .officer_id = o.id,
	    .created_ms = now,
	    .last_seen_ms = now,
	    .expires_ms = now + (int64_t)c->console.session_idle_s * 1000,
	};
	http_secret_new(cookie);
	http_secret_new(sess.csrf);
	officer_secret_hash(cookie, strlen(cookie), sess.id);
	store_session_purge(h->store, now, NULL);
	if ((e = store_session_put(h->store, &sess)) != GA_OK) {
		r = http_send_error(conn, http_status_of(e), ga_strerror(e));
		goto out;
	}
	if (store_login_attempt_add(h->store, name, remote, true, now) != GA_OK)
		log_warnx("console: recording a login failed");
	char subject[40];
	snprintf(subject, sizeof(subject), "officer:%lld", (long long)o.id);
	json_t *detail = json_pack("{s:s}", "remote", remote);
	if (!detail || audit_record_json(h->store, o.id, "login", subject, detail) != GA_OK)
		log_warnx("console: audit of the login of %s failed", o.name);
	json_decref(detail);
	snprintf(setcookie, sizeof(setcookie), "%s=%s; Path=/; HttpOnly; SameSite=Strict%s",
		 HTTP_SESSION_COOKIE, cookie, c->console.secure_cookies ? "; Secure" : "");
	const char *hdr[] = {"Set-Cookie", setcookie, NULL};
	r = http_send_json(conn, MHD_HTTP_OK,
			   json_pack("{s:s, s:s, s:s}", "name", o.name, "role",
				     officer_role_name(o.role), "csrf", sess.csrf),
			   hdr);
out:
	json_decref(fields);
	return r;
}

static enum MHD_Result http_console_logout(struct http *h, struct MHD_Connection *conn)
{
	char msg[HTTP_MSG_MAX], setcookie[HTTP_COOKIE_MAX], subject[40];
	struct http_who who;
	unsigned status = http_auth(h, conn, true, &who, msg, sizeof(msg));

	if (status == MHD_HTTP_FORBIDDEN || status >= 500)
		return http_send_error(conn, status, msg);
	if (status == 0 && who.by_session) {
		store_session_delete(h->store, who.session.id);
		snprintf(subject, sizeof(subject), "officer:%lld", (long long)who.officer.id);
		if (audit_record(h->store, who.officer.id, "logout", subject, NULL) != GA_OK)
			log_warnx("console: audit of the logout of %s failed", who.officer.name);
	}
	/* Whatever the session was, the browser forgets it. */
	snprintf(setcookie, sizeof(setcookie),
		 "%s=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict%s", HTTP_SESSION_COOKIE,
		 h->svc->cfg.console.secure_cookies ? "; Secure" : "");
	const char *hdr[] = {"Set-Cookie", setcookie, NULL};
	return http_send_json(conn, MHD_HTTP_OK, json_pack("{s:b}", "ok", 1), hdr);
}

static enum MHD_Result http_console_session(struct http *h, struct MHD_Connection *conn)
{
	char msg[HTTP_MSG_MAX];
	struct http_who who;
	unsigned status = http_auth(h, conn, false, &who, msg, sizeof(msg));

	if (status == MHD_HTTP_UNAUTHORIZED)
		return http_send_unauthorized(conn, msg);
	if (status != 0)
		return http_send_error(conn, status, msg);
	json_t *body = json_pack("{s:s, s:s}", "name", who.officer.name, "role",
				 officer_role_name(who.officer.role));
	if (body)
		json_object_set_new(body, "csrf",
				    who.by_session ? json_string(who.session.csrf) : json_null());
	return http_send_json(conn, MHD_HTTP_OK, body, NULL);
}

enum MHD_Result http_console_handle(struct http *h, struct MHD_Connection *conn,
				    const struct http_req *req)
{
	const char *url = req->url, *method = req->method;
	bool get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;

	if (strcmp(url, "/console") == 0) {
		struct MHD_Response *resp =
		    MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
		if (!resp)
			return MHD_NO;
		MHD_add_response_header(resp, "Location", "/console/");
		return http_queue(conn, MHD_HTTP_MOVED_PERMANENTLY, resp);
	}
	for (size_t i = 0; i < sizeof(http_console_files) / sizeof(http_console_files[0]); i++) {
		if (strcmp(url, http_console_files[i].url) != 0)
			continue;
		if (!get)
			return http_send_method(conn, "GET");
		return http_console_file(h, conn, http_console_files[i].file,
					 http_console_files[i].type);
	}
	if (strcmp(url, "/console/login") == 0 || strcmp(url, "/console/logout") == 0) {
		if (strcmp(method, "POST") != 0)
			return http_send_method(conn, "POST");
		if (strcmp(url, "/console/login") == 0)
			return http_console_login(h, conn, req);
		return http_console_logout(h, conn);
	}
	if (strcmp(url, "/console/session") == 0) {
		if (!get)
			return http_send_method(conn, "GET");
		return http_console_session(h, conn);
	}
	return http_send_error(conn, MHD_HTTP_NOT_FOUND, "no such resource");
}
