/* The HTTP server's pieces that need no socket (issue 15): [http]
 * trusted_proxies, the client address from X-Forwarded-For, and the
 * worker queue's cap (at the cap, one past it, and a stop). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "http_internal.h"
#include "service.h"
#include "store_testutil.h"

static char dir[] = "/tmp/ga-http-XXXXXX";

/* Loads a config whose [http] trusted_proxies is proxies; the error
 * message ("" when it loaded). */
static const char *load(const char *proxies, struct config *c)
{
	static char err[1024];
	char path[512];
	snprintf(path, sizeof(path), "%s/t.ini", dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f,
		"[mqtt]\nurl = mqtt://127.0.0.1:1883\nclient_id = t\n[store]\npath = x.db\n"
		"[http]\nlisten = 127.0.0.1:8080\ntrusted_proxies = %s\n",
		proxies);
	fclose(f);
	err[0] = '\0';
	if (config_load(path, c, err, sizeof(err)) != GA_OK)
		assert_true(err[0] != '\0');
	return err;
}

static void test_trusted_proxies_config(void **state)
{
	(void)state;
	struct config *c = calloc(1, sizeof(*c));
	assert_non_null(c);
	assert_string_equal(load("127.0.0.1, ::1  10.1.0.0/16,2001:db8::/32", c), "");
	assert_int_equal(c->http.ntrusted_proxies, 4);
	assert_int_equal(c->http.trusted_proxies[2].prefix, 16);
	assert_string_equal(load("", c), "");
	assert_int_equal(c->http.ntrusted_proxies, 0);
	assert_int_equal(c->http.connections_per_address, 32);
	assert_int_equal(c->http.request_timeout_s, 10);
	assert_int_equal(c->console.login_address_max_failures, 20);
	static const char *const bad[] = {"localhost", "10.0.0.0/33", "::1/129", "1.2.3.4/",
					  "1.2.3.4/x", "/8",	      "1.2.3"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_non_null(strstr(load(bad[i], c), "trusted_proxies"));
	/* The cap: CONFIG_PROXIES_MAX entries, and one past. */
	char list[CONFIG_STR_MAX] = "";
	for (int i = 0; i < CONFIG_PROXIES_MAX; i++)
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "10.0.0.%d ", i);
	assert_string_equal(load(list, c), "");
	assert_int_equal(c->http.ntrusted_proxies, CONFIG_PROXIES_MAX);
	snprintf(list + strlen(list), sizeof(list) - strlen(list), "10.0.1.1");
	assert_non_null(strstr(load(list, c), "more than"));
	free(c);
}

static const char *client(const struct config *c, const char *peer, const char *xff)
{
	static char out[STORE_REMOTE_MAX];
	struct http_addr a;
	assert_true(http_addr_parse(peer, &a));
	http_client_address(c, &a, xff, out);
	return out;
}

static void test_client_address(void **state)
{
	(void)state;
	struct config *c = calloc(1, sizeof(*c));
	assert_non_null(c);
	assert_string_equal(load("127.0.0.1 10.9.0.0/16 fd00::/8", c), "");

	/* Not from a trusted proxy: the header is the client's word. */
	assert_string_equal(client(c, "192.0.2.1", "198.51.100.7"), "192.0.2.1");
	assert_string_equal(client(c, "192.0.2.1", NULL), "192.0.2.1");
	/* From one: the rightmost address that is not a trusted proxy. */
	assert_string_equal(client(c, "127.0.0.1", "198.51.100.7"), "198.51.100.7");
	assert_string_equal(client(c, "127.0.0.1", " 198.51.100.7 "), "198.51.100.7");
	assert_string_equal(client(c, "127.0.0.1", "6.6.6.6, 198.51.100.7"), "198.51.100.7");
	assert_string_equal(client(c, "127.0.0.1", "198.51.100.7,10.9.3.4"), "198.51.100.7");
	assert_string_equal(client(c, "127.0.0.1", "2001:db8::5, fd00::1"), "2001:db8::5");
	/* IPv4-mapped peers are IPv4. */
	assert_string_equal(client(c, "::ffff:127.0.0.1", "198.51.100.7"), "198.51.100.7");
	/* Garbage stops the walk at the last proxy. */
	assert_string_equal(client(c, "127.0.0.1", "198.51.100.7, junk"), "127.0.0.1");
	assert_string_equal(client(c, "127.0.0.1", "junk, 10.9.0.1"), "10.9.0.1");
	assert_string_equal(client(c, "127.0.0.1", ""), "127.0.0.1");
	assert_string_equal(client(c, "127.0.0.1", ","), "127.0.0.1");
	/* Only trusted proxies: the leftmost of them. */
	assert_string_equal(client(c, "127.0.0.1", "10.9.0.1, 127.0.0.1"), "10.9.0.1");
	/* The cap: HTTP_XFF_MAX - 1 bytes are read, one more and the peer is it. */
	char xff[HTTP_XFF_MAX + 1];
	memset(xff, ' ', sizeof(xff));
	memcpy(xff + HTTP_XFF_MAX - 1 - strlen("198.51.100.7"), "198.51.100.7", 12);
	xff[HTTP_XFF_MAX - 1] = '\0';
	assert_string_equal(client(c, "127.0.0.1", xff), "198.51.100.7");
	memset(xff, ' ', sizeof(xff));
	memcpy(xff + HTTP_XFF_MAX - strlen("198.51.100.7"), "198.51.100.7", 12);
	xff[HTTP_XFF_MAX] = '\0';
	assert_string_equal(client(c, "127.0.0.1", xff), "127.0.0.1");

	struct http_addr a, b;
	assert_true(http_addr_parse("10.9.255.255", &a));
	assert_true(http_addr_trusted(c, &a));
	assert_true(http_addr_parse("10.10.0.0", &a));
	assert_false(http_addr_trusted(c, &a));
	assert_true(http_addr_parse("::ffff:10.9.1.1", &b));
	assert_true(http_addr_trusted(c, &b));
	assert_false(http_addr_same_client(&a, &b));
	assert_true(http_addr_parse("10.9.1.1", &a));
	assert_true(http_addr_same_client(&a, &b));
	assert_true(http_addr_parse("10.9.1.2", &a));
	assert_false(http_addr_same_client(&a, &b));
	/* IPv6: one /64 is one client. */
	assert_true(http_addr_parse("2001:db8:1:2::1", &a));
	assert_true(http_addr_parse("2001:db8:1:2:ffff::9", &b));
	assert_true(http_addr_same_client(&a, &b));
	assert_true(http_addr_parse("2001:db8:1:3::1", &b));
	assert_false(http_addr_same_client(&a, &b));
	assert_false(http_addr_parse("10.9.1", &a));
	free(c);
}

/* --- the worker ----------------------------------------------------------- */

struct tjob {
	struct http_job job; /* first */
	bool ran, done;
};

static pthread_mutex_t tmu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t tcv = PTHREAD_COND_INITIALIZER;
static bool trelease, trunning;

static void tjob_run(struct http_job *j, struct store *st)
{
	struct tjob *t = (struct tjob *)j;
	assert_null(st);
	pthread_mutex_lock(&tmu);
	t->ran = true;
	trunning = true;
	pthread_cond_broadcast(&tcv);
	while (!trelease)
		pthread_cond_wait(&tcv, &tmu);
	pthread_mutex_unlock(&tmu);
}

static void tjob_done(struct http_job *j)
{
	struct tjob *t = (struct tjob *)j;
	pthread_mutex_lock(&tmu);
	t->done = true;
	pthread_cond_broadcast(&tcv);
	pthread_mutex_unlock(&tmu);
}

static void tjob_init(struct tjob *t)
{
	memset(t, 0, sizeof(*t));
	t->job.run = tjob_run;
	t->job.done = tjob_done;
}

static void *stopper(void *arg)
{
	http_worker_stop(arg);
	return NULL;
}

static void test_worker_queue_cap(void **state)
{
	(void)state;
	enum { QMAX = 3 };
	struct http_worker *w;
	char err[256];
	struct tjob blocker, q[QMAX + 1], late;

	trelease = trunning = false;
	assert_int_equal(http_worker_new(NULL, 0, QMAX, &w, err, sizeof(err)), GA_ERR_INVAL);
	assert_int_equal(
	    http_worker_new(NULL, HTTP_WORKER_THREADS_MAX + 1, QMAX, &w, err, sizeof(err)),
	    GA_ERR_INVAL);
	assert_int_equal(http_worker_new(NULL, 1, QMAX, &w, err, sizeof(err)), GA_OK);
	tjob_init(&blocker);
	assert_int_equal(http_worker_submit(w, &blocker.job), GA_OK);
	pthread_mutex_lock(&tmu);
	while (!trunning)
		pthread_cond_wait(&tcv, &tmu);
	pthread_mutex_unlock(&tmu);
	/* The one thread is busy: QMAX wait, the next is refused. */
	for (int i = 0; i <= QMAX; i++) {
		tjob_init(&q[i]);
		assert_int_equal(http_worker_submit(w, &q[i].job), i < QMAX ? GA_OK : GA_ERR_FULL);
	}
	/* A stop: the running job finishes, the waiting ones are done
	 * without running (cancelled), later ones refused. */
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, stopper, w), 0);
	tjob_init(&late);
	/* Full until the stop has begun (bounded: 10 s), then refused. */
	for (int i = 0; i < 10000 && http_worker_submit(w, &late.job) == GA_ERR_FULL; i++)
		usleep(1000);
	assert_int_equal(http_worker_submit(w, &late.job), GA_ERR_BUSY);
	assert_false(late.done);
	pthread_mutex_lock(&tmu);
	trelease = true;
	pthread_cond_broadcast(&tcv);
	pthread_mutex_unlock(&tmu);
	pthread_join(t, NULL);
	assert_true(blocker.ran && blocker.done && !blocker.job.cancelled);
	for (int i = 0; i < QMAX; i++) {
		assert_true(q[i].done);
		assert_false(q[i].ran);
		assert_true(q[i].job.cancelled);
	}
	assert_false(q[QMAX].done);
	http_worker_free(w);
}

/* --- refused logins: one audit row per address and window ------------- */

static int64_t audit_rows(const char *path, const char *action)
{
	struct db *db = stest_raw_open(path);
	struct db_stmt *st = stest_raw_prepare(db, "SELECT count(*) FROM audit WHERE action = ?1");
	int64_t n = -1;

	assert_int_equal(db_bind_text(st, 1, action, -1), DB_OK);
	if (db_step(st) == DB_ROW)
		n = db_column_int64(st, 0);
	db_finalize(st);
	db_close(db);
	return n;
}

static void test_throttle_cap_and_window(void **state)
{
	(void)state;
	struct stest_db db;
	struct service *svc = calloc(1, sizeof(*svc));
	struct http h = {.ctx.cfg = &svc->cfg};
	const int64_t T0 = 1800000000000LL, W = 900 * 1000LL;
	char remote[STORE_REMOTE_MAX];

	assert_non_null(svc);
	svc->cfg.console.login_window_s = 900;
	stest_db_make(&db, "http-throttle");
	h.store = stest_open(db.path, 0);
	h.throttle = calloc(HTTP_THROTTLE_SOURCES_MAX, sizeof(*h.throttle));
	assert_non_null(h.throttle);

	/* Many refused logins from one address: one slot, no row yet. */
	for (int i = 0; i < 100; i++)
		http_throttle_count(&h, "192.0.2.1", "x", T0 + i);
	assert_int_equal(h.nthrottle, 1);
	assert_int_equal(h.throttle[0].count, 100);
	assert_int_equal(h.throttle_due_ms, T0 + W);
	http_throttle_flush(&h, T0 + W - 1, false);
	assert_int_equal(audit_rows(db.path, "login.throttled"), 0);
	/* The window ends: one row. */
	http_throttle_flush(&h, T0 + W, false);
	assert_int_equal(h.nthrottle, 0);
	assert_int_equal(audit_rows(db.path, "login.throttled"), 1);

	/* The cap: HTTP_THROTTLE_SOURCES_MAX addresses fit without a row ... */
	for (int i = 0; i < HTTP_THROTTLE_SOURCES_MAX; i++) {
		snprintf(remote, sizeof(remote), "10.%d.%d.1", i / 256, i % 256);
		http_throttle_count(&h, remote, "x", T0 + W + 1 + i);
	}
	assert_int_equal(h.nthrottle, HTTP_THROTTLE_SOURCES_MAX);
	assert_int_equal(audit_rows(db.path, "login.throttled"), 1);
	/* ... one more audits the oldest window early, keeping the count. */
	http_throttle_count(&h, "198.51.100.1", "x", T0 + 2 * W);
	assert_int_equal(h.nthrottle, HTTP_THROTTLE_SOURCES_MAX);
	assert_int_equal(audit_rows(db.path, "login.throttled"), 2);
	for (int i = 0; i < h.nthrottle; i++)
		assert_string_not_equal(h.throttle[i].remote, "10.0.0.1");
	/* A stop audits the rest. */
	http_throttle_flush(&h, T0 + 2 * W, true);
	assert_int_equal(h.nthrottle, 0);
	assert_int_equal(audit_rows(db.path, "login.throttled"), 2 + HTTP_THROTTLE_SOURCES_MAX);

	free(h.throttle);
	store_close(h.store);
	stest_db_remove(&db);
	free(svc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_trusted_proxies_config),
	    cmocka_unit_test(test_client_address),
	    cmocka_unit_test(test_worker_queue_cap),
	    cmocka_unit_test(test_throttle_cap_and_window),
	};
	if (!mkdtemp(dir))
		return 1;
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	char path[600];
	snprintf(path, sizeof(path), "%s/t.ini", dir);
	unlink(path);
	rmdir(dir);
	return rc;
}
