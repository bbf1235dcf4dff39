/* http_console.c - the duty officers' console (spec §8 /console/): its
 * static files (a fixed list: no path from the URL reaches the file
 * system), password login (rate-limited, CSRF-proof, its hash on a
 * worker thread), sessions and logout. The page itself talks to the
 * officer API (http_api.c) with fetch. */
#include <fcntl.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit.h"
#include "http_internal.h"
#include "log.h"
#include "timeutil.h"

#define HTTP_COOKIE_MAX 256 /* the Set-Cookie value */

static const struct {
	const char *url, *file, *type;
} http_console_files[] = {
    {"/console/", "index.html", "text/html; charset=utf-8"},
    {"/console/index.html", "index.html", "text/html; charset=utf-8"},
    {"/console/app.js", "app.js", "text/javascript; charset=utf-8"},
    {"/console/app.css", "app.css", "text/css; charset=utf-8"},
    {"/console/monitoring.js", "monitoring.js", "text/javascript; charset=utf-8"},
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
		r = http_send_error(conn, MHD_HTTP_NOT_FOUND, "控制台文件缺失");
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

/* The login must come from the console's own script (login CSRF, issue
 * 15): a cross-site page can make a browser POST a form (urlencoded,
 * multipart or text/plain, whose body may well look like JSON), but not
 * with a header of its own choosing nor as application/json without a
 * CORS preflight, which we never grant. 0 when it does, else the status
 * to answer with msg. */
static unsigned http_login_origin(struct MHD_Connection *conn, char *msg, size_t msglen)
{
	const char *mark = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, HTTP_LOGIN_HEADER);
	const char *ctype = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type");
	const char *site = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Sec-Fetch-Site");

	if (!mark || strcmp(mark, "1") != 0 || (site && strcmp(site, "cross-site") == 0)) {
		snprintf(msg, msglen, "登录只能从值班控制台发起（需要 %s: 1）", HTTP_LOGIN_HEADER);
		return MHD_HTTP_FORBIDDEN;
	}
	if (!ctype || strncasecmp(ctype, "application/json", 16) != 0 ||
	    (ctype[16] != '\0' && ctype[16] != ';' && ctype[16] != ' ')) {
		snprintf(msg, msglen, "登录请求须为 JSON 对象（Content-Type: application/json）");
		return MHD_HTTP_UNSUPPORTED_MEDIA_TYPE;
	}
	return 0;
}

/* name and password from the JSON body; a new reference in *out
 * ({"name": s, "password": s}). GA_ERR_INVAL with msg otherwise. */
static ga_err http_login_fields(const struct http_req *req, json_t **out, char *msg, size_t msglen)
{
	static const char *const keys[] = {"name", "password"};
	json_t *body = NULL, *v;
	const char *key;
	ga_err e;

	*out = NULL;
	if ((e = http_body_json(req, false, &body, msg, msglen)) != GA_OK)
		return e;
	json_object_foreach(body, key, v)
	{
		if (strcmp(key, keys[0]) != 0 && strcmp(key, keys[1]) != 0) {
			snprintf(msg, msglen, "未知字段“%.64s”", key);
			json_decref(body);
			return GA_ERR_INVAL;
		}
	}
	if (!json_is_string(json_object_get(body, "name")) ||
	    !json_is_string(json_object_get(body, "password"))) {
		snprintf(msg, msglen, "请填写用户名和密码");
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

/* --- refused logins: counted, audited once per window and address ----- */

static void http_throttle_audit(struct http *h, const struct http_throttle *t)
{
	json_t *detail = json_pack("{s:s, s:I, s:I, s:I, s:s}", "remote", t->remote, "count",
				   (json_int_t)t->count, "first_ms", (json_int_t)t->first_ms,
				   "last_ms", (json_int_t)t->last_ms, "last_name", t->name);
	if (!detail || audit_record_json(h->store, 0, "login.throttled", "", detail) != GA_OK)
		log_warnx("console: audit of %lld refused logins from %s failed",
			  (long long)t->count, t->remote);
	json_decref(detail);
}

void http_throttle_flush(struct http *h, int64_t now, bool force)
{
	int64_t window = (int64_t)h->ctx.cfg->console.login_window_s * 1000;
	int64_t due = INT64_MAX;
	for (int i = 0; i < h->nthrottle;) {
		struct http_throttle *t = &h->throttle[i];
		if (force || now >= t->first_ms + window) {
			http_throttle_audit(h, t);
			h->throttle[i] = h->throttle[--h->nthrottle];
			continue;
		}
		if (t->first_ms + window < due)
			due = t->first_ms + window;
		i++;
	}
	h->throttle_due_ms = due;
}

void http_throttle_count(struct http *h, const char *remote, const char *name, int64_t now)
{
	int64_t window = (int64_t)h->ctx.cfg->console.login_window_s * 1000;
	struct http_throttle *t = NULL;
	for (int i = 0; i < h->nthrottle && !t; i++)
		if (strcmp(h->throttle[i].remote, remote) == 0)
			t = &h->throttle[i];
	if (!t) {
		if (h->nthrottle == HTTP_THROTTLE_SOURCES_MAX) {
			int oldest = 0;
			for (int i = 1; i < h->nthrottle; i++)
				if (h->throttle[i].first_ms < h->throttle[oldest].first_ms)
					oldest = i;
			http_throttle_audit(h, &h->throttle[oldest]);
			h->throttle[oldest] = h->throttle[--h->nthrottle];
		}
		t = &h->throttle[h->nthrottle++];
		memset(t, 0, sizeof(*t));
		snprintf(t->remote, sizeof(t->remote), "%s", remote);
		t->first_ms = now;
		if (h->nthrottle == 1 || now + window < h->throttle_due_ms)
			h->throttle_due_ms = now + window;
	}
	t->count++;
	t->last_ms = now;
	snprintf(t->name, sizeof(t->name), "%s", name);
}

/* --- the password check, off the MHD thread ---------------------------- */

enum http_login_state {
	HTTP_LOGIN_WAITING, /* queued or being hashed; the connection suspended */
	HTTP_LOGIN_CHECKED, /* result and officer are set */
	HTTP_LOGIN_REFUSED, /* the worker was full or stopping: not checked */
};

struct http_login {
	struct http_job job; /* first: the job is the login */
	struct MHD_Connection *conn;
	char *name, *password; /* as typed; the password wiped when freed */
	char name_cut[OFFICER_NAME_MAX];
	char remote[STORE_REMOTE_MAX];
	enum http_login_state state;
	ga_err result;
	struct officer officer;
};

void http_login_free(struct http_login *l)
{
	if (!l)
		return;
	if (l->password) {
		sodium_memzero(l->password, strlen(l->password));
		free(l->password);
	}
	free(l->name);
	sodium_memzero(&l->officer, sizeof(l->officer));
	free(l);
}

static void http_login_run(struct http_job *j, struct store *st)
{
	struct http_login *l = (struct http_login *)j;
	l->result =
	    st ? officer_authenticate_password(st, l->name, l->password, &l->officer) : GA_ERR_DB;
}

static void http_login_done(struct http_job *j)
{
	struct http_login *l = (struct http_login *)j;
	struct MHD_Connection *conn = l->conn;
	l->state = j->cancelled ? HTTP_LOGIN_REFUSED : HTTP_LOGIN_CHECKED;
	MHD_resume_connection(conn);
}

static void http_login_failed(struct http *h, const char *name, const char *remote, int64_t now)
{
	ga_err e;
	if ((e = store_login_attempt_add(h->store, name, remote, false, now)) != GA_OK)
		log_warnx("console: recording a failed login: %s", ga_strerror(e));
	json_t *detail =
	    json_pack("{s:s, s:s, s:b}", "name", name, "remote", remote, "throttled", false);
	if (!detail || (e = audit_record_json(h->store, 0, "login.fail", "", detail)) != GA_OK)
		log_warnx("console: audit of a failed login for %s failed", name);
	json_decref(detail);
}

/* Back on the MHD thread with the password checked: the session, or 401. */
static enum MHD_Result http_login_finish(struct http *h, struct MHD_Connection *conn,
					 struct http_login *l)
{
	const struct config *c = h->ctx.cfg;
	int64_t now = time_now_ms();
	const struct officer *o = &l->officer;
	ga_err e;

	if (l->state != HTTP_LOGIN_CHECKED) {
		static const char *const hdr[] = {"Retry-After", "1", NULL};
		return http_send_json(conn, MHD_HTTP_SERVICE_UNAVAILABLE,
				      http_problem_json(MHD_HTTP_SERVICE_UNAVAILABLE, NULL,
							"同时登录的人过多，请稍后再试", NULL, 0),
				      hdr);
	}
	if (l->result == GA_ERR_NOTFOUND) {
		http_login_failed(h, l->name_cut, l->remote, now);
		return http_send_error(conn, MHD_HTTP_UNAUTHORIZED, "用户名或密码错误");
	}
	if (l->result != GA_OK)
		return http_send_error(conn, http_status_of(l->result), ga_strerror(l->result));

	char cookie[HTTP_SECRET_MAX], setcookie[HTTP_COOKIE_MAX];
	struct store_session sess = {
	    .officer_id = o->id,
	    .created_ms = now,
	    .last_seen_ms = now,
	    .expires_ms = now + (int64_t)c->console.session_idle_s * 1000,
	};
	http_secret_new(cookie);
	http_secret_new(sess.csrf);
	officer_secret_hash(cookie, strlen(cookie), sess.id);
	store_session_purge(h->store, now, NULL);
	if ((e = store_session_put(h->store, &sess)) != GA_OK)
		return http_send_error(conn, http_status_of(e), ga_strerror(e));
	if (store_login_attempt_add(h->store, l->name_cut, l->remote, true, now) != GA_OK)
		log_warnx("console: recording a login failed");
	char subject[40];
	snprintf(subject, sizeof(subject), "officer:%lld", (long long)o->id);
	json_t *detail = json_pack("{s:s}", "remote", l->remote);
	if (!detail || audit_record_json(h->store, o->id, "login", subject, detail) != GA_OK)
		log_warnx("console: audit of the login of %s failed", o->name);
	json_decref(detail);
	snprintf(setcookie, sizeof(setcookie), "%s=%s; Path=/; HttpOnly; SameSite=Strict%s",
		 HTTP_SESSION_COOKIE, cookie, c->console.secure_cookies ? "; Secure" : "");
	const char *hdr[] = {"Set-Cookie", setcookie, NULL};
	return http_send_json(conn, MHD_HTTP_OK,
			      json_pack("{s:s, s:s, s:s}", "name", o->name, "role",
					officer_role_name(o->role), "csrf", sess.csrf),
			      hdr);
}

/* POST /console/login. First call: checks the request and the limits on
 * this thread, then suspends the connection while a worker checks the
 * password (argon2id, ~150 ms: not on the thread that answers /healthz);
 * MHD calls again once the worker resumes it, and http_login_finish
 * answers. The limits (issue 15): login_max_failures per name from one
 * address and login_address_max_failures per address, so that failures
 * elsewhere never lock out a right password from another client. */
static enum MHD_Result http_console_login(struct http *h, struct MHD_Connection *conn,
					  struct http_req *req)
{
	const struct config *c = h->ctx.cfg;
	char msg[HTTP_MSG_MAX] = "";
	json_t *fields = NULL;
	int64_t now = time_now_ms(), since = now - (int64_t)c->console.login_window_s * 1000;
	int64_t by_pair = 0, by_remote = 0;
	struct http_login *l = req->login;
	enum MHD_Result r;
	unsigned status;
	ga_err e;

	if (l)
		return http_login_finish(h, conn, l);
	if ((status = http_login_origin(conn, msg, sizeof(msg))) != 0)
		return http_send_error(conn, status, msg);
	if ((e = http_login_fields(req, &fields, msg, sizeof(msg))) != GA_OK)
		return http_send_error(
		    conn, e == GA_ERR_INVAL ? MHD_HTTP_BAD_REQUEST : MHD_HTTP_INTERNAL_SERVER_ERROR,
		    msg[0] ? msg : ga_strerror(e));
	if ((l = calloc(1, sizeof(*l))) == NULL ||
	    (l->name = strdup(json_string_value(json_object_get(fields, "name")))) == NULL ||
	    (l->password = strdup(json_string_value(json_object_get(fields, "password")))) ==
		NULL) {
		r = http_send_error(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "服务器内存不足");
		goto out;
	}
	http_login_name_cut(l->name, l->name_cut);
	http_remote(h, conn, l->remote);
	store_login_attempt_purge(h->store, since);
	if ((e = store_login_attempt_count_since(h->store, l->name_cut, l->remote, since,
						 &by_pair)) != GA_OK ||
	    (e = store_login_attempt_count_since(h->store, NULL, l->remote, since, &by_remote)) !=
		GA_OK) {
		r = http_send_error(conn, http_status_of(e), ga_strerror(e));
		goto out;
	}
	if (by_pair >= c->console.login_max_failures ||
	    by_remote >= c->console.login_address_max_failures) {
		char retry[32];
		snprintf(retry, sizeof(retry), "%d", c->console.login_window_s);
		const char *hdr[] = {"Retry-After", retry, NULL};
		http_throttle_count(h, l->remote, l->name_cut, now);
		r = http_send_json(conn, MHD_HTTP_TOO_MANY_REQUESTS,
				   http_problem_json(MHD_HTTP_TOO_MANY_REQUESTS, NULL,
						     "登录失败次数过多，请稍后再试", NULL, 0),
				   hdr);
		goto out;
	}
	l->conn = conn;
	l->job.run = http_login_run;
	l->job.done = http_login_done;
	req->login = l;
	l = NULL;
	/* Suspended before it is queued: the worker may resume it at once. */
	MHD_suspend_connection(conn);
	if (http_worker_submit(h->worker, &req->login->job) != GA_OK) {
		req->login->state = HTTP_LOGIN_REFUSED;
		MHD_resume_connection(conn);
	}
	r = MHD_YES;
out:
	http_login_free(l);
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
		 h->ctx.cfg->console.secure_cookies ? "; Secure" : "");
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
				    struct http_req *req)
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
	return http_send_error(conn, MHD_HTTP_NOT_FOUND, "没有这个资源");
}
