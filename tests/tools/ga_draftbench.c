/* ga_draftbench - the probe of the draft benchmark (tests/bench/draft.sh,
 * docs/benchmarks.md "Drafts").
 *
 *   ga_draftbench --port P --http-port H --token T --probes FILE
 *                 [--host H] [--count N] [--interval-us U] [--gap-ms G]
 *                 [--run-id ID] [--timeout S]
 *
 * For each of N probe stations taken in turn from the registry GeoJSON
 * FILE (each a hazard point whose report makes a NEW large incident), it
 *   1. lists the pending drafts (GET /api/v1/alerts?state=pending, bearer
 *      token T) and remembers their alert_ids;
 *   2. publishes one danger report of that station (QoS 1, MQTT 5) and
 *      notes the time t0;
 *   3. polls the same list every U microseconds on one keep-alive
 *      connection until an alert_id not seen in 1. appears: draft latency
 *      is the end of that poll's response minus t0;
 *   4. waits for the report's receipt (receipt latency: its arrival minus
 *      t0) and checks that the receipt's incident_id is the new alert_id
 *      and its level "large";
 *   5. rejects the draft (POST .../reject) so the pending list stays
 *      short, then pauses G ms.
 * The draft became visible somewhere between the start of the last poll
 * that did not list it and the end of the one that did: draft_ms is the
 * upper bound, draft_lo_ms the lower one (both from t0), and their
 * difference, per sample, the resolution (its p50 and max printed).
 *
 * Prints one JSON line on stdout:
 *   {"probes","ok","draft_ms":{"p50","p99","max","min"},
 *    "receipt_ms":{...},"draft_lo_ms":{...},"draft_before_receipt",
 *    "resolution_ms":{"p50","max"},"poll_interval_us",
 *    "poll_ms":{"p50","p99","max"},"polls","errors"}
 * Exit status: 0 when every probe made its draft and receipt, 1 otherwise,
 * 2 on a usage error. */
#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tool_util.h"

#define DB_PROG "ga_draftbench"
#define DB_PROBES_MAX 10000	      /* probe stations taken from the file */
#define DB_ID_MAX TOOL_ID_MAX	      /* alert_id, as station_id and report_id */
#define DB_PENDING_MAX 4096	      /* alert_ids remembered from one listing */
#define DB_BODY_MAX (4 * 1024 * 1024) /* one API response */
#define DB_URL_MAX 512
#define DB_POLLS_MAX 2000000 /* poll durations kept for the percentiles */

struct receipt {
	bool seen;
	int64_t at_ns;
	char status[32];
	char level[32];
	char incident_id[DB_ID_MAX + 1];
};

struct bench {
	/* Options. */
	const char *host;
	int port;
	int http_port;
	const char *token;
	const char *probes_file;
	long count;
	long interval_us;
	long gap_ms;
	char run_id[TOOL_RUN_ID_MAX + 1];
	long timeout_s;

	struct tool_station *probes;
	size_t nprobes;

	/* HTTP: one keep-alive handle for the polls, one for the rejects. */
	CURL *poll, *post;
	struct curl_slist *headers;
	char *body;
	size_t bodylen;
	bool body_overflow;

	/* Shared with the libmosquitto thread, under sync.lock. */
	struct tool_sync sync;
	bool connected, connect_failed;
	int subacks, sub_failed;
	char want[DB_ID_MAX + 1]; /* report_id of the current probe */
	struct receipt rc;

	int64_t *poll_ns;
	long npolls;
};

static int usage(void)
{
	fprintf(stderr,
		"usage: ga_draftbench --port P --http-port H --token T --probes FILE\n"
		"                     [--host H] [--count N] [--interval-us U] [--gap-ms G]\n"
		"                     [--run-id ID] [--timeout S]\n");
	return 2;
}

/* --- MQTT ------------------------------------------------------------- */

static void on_connect(struct mosquitto *m, void *obj, int rc, int flags,
		       const mosquitto_property *p)
{
	struct bench *b = obj;
	tool_sync_set(&b->sync, rc == 0 ? &b->connected : &b->connect_failed, true);
}

static void on_subscribe(struct mosquitto *m, void *obj, int mid, int n, const int *qos,
			 const mosquitto_property *p)
{
	struct bench *b = obj;
	pthread_mutex_lock(&b->sync.lock);
	if (tool_suback_ok(n, qos))
		b->subacks++;
	else
		b->sub_failed++;
	pthread_cond_broadcast(&b->sync.cond);
	pthread_mutex_unlock(&b->sync.lock);
}

static void on_message(struct mosquitto *m, void *obj, const struct mosquitto_message *msg,
		       const mosquitto_property *p)
{
	struct bench *b = obj;
	int64_t at = tool_now_ns();
	json_error_t jerr;
	json_t *root = json_loadb(msg->payload, (size_t)msg->payloadlen, 0, &jerr);
	if (!root)
		return;
	const char *rid = json_string_value(json_object_get(root, "report_id"));
	const char *st = json_string_value(json_object_get(root, "status"));
	const char *lv = json_string_value(json_object_get(root, "level"));
	const char *inc = json_string_value(json_object_get(root, "incident_id"));
	pthread_mutex_lock(&b->sync.lock);
	if (rid && strcmp(rid, b->want) == 0 && !b->rc.seen) {
		b->rc.seen = true;
		b->rc.at_ns = at;
		snprintf(b->rc.status, sizeof(b->rc.status), "%s", st ? st : "");
		snprintf(b->rc.level, sizeof(b->rc.level), "%s", lv ? lv : "");
		snprintf(b->rc.incident_id, sizeof(b->rc.incident_id), "%s", inc ? inc : "");
		pthread_cond_broadcast(&b->sync.cond);
	}
	pthread_mutex_unlock(&b->sync.lock);
	json_decref(root);
}

static bool all_subscribed(const void *arg)
{
	const struct bench *b = arg;
	return b->sub_failed > 0 || (size_t)b->subacks >= b->nprobes;
}

static bool receipt_seen(const void *arg)
{
	const struct bench *b = arg;
	return b->rc.seen;
}

/* --- HTTP ------------------------------------------------------------- */

static size_t collect(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct bench *b = arg;
	size_t n = size * nmemb;
	if (b->bodylen + n > DB_BODY_MAX) {
		b->body_overflow = true;
		return 0;
	}
	memcpy(b->body + b->bodylen, ptr, n);
	b->bodylen += n;
	return n;
}

static CURL *http_handle(struct bench *b)
{
	CURL *e = curl_easy_init();
	if (!e)
		return NULL;
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, b->headers);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, b);
	curl_easy_setopt(e, CURLOPT_TIMEOUT, 10L);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
	return e;
}

/* One request on handle e; the body lands in b->body. Returns the HTTP
 * status, or -1 on a transport error or a body past DB_BODY_MAX. */
static long http_do(struct bench *b, CURL *e, const char *path, const char *post)
{
	char url[DB_URL_MAX];
	long code = -1;
	snprintf(url, sizeof(url), "http://%s:%d%s", b->host, b->http_port, path);
	curl_easy_setopt(e, CURLOPT_URL, url);
	if (post)
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, post);
	else
		curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
	b->bodylen = 0;
	b->body_overflow = false;
	CURLcode rc = curl_easy_perform(e);
	if (rc != CURLE_OK || b->body_overflow) {
		fprintf(stderr, "ga_draftbench: %s: %s\n", path,
			rc != CURLE_OK ? curl_easy_strerror(rc) : "response too large");
		return -1;
	}
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
	b->body[b->bodylen] = '\0';
	return code;
}

/* The pending drafts' alert_ids (at most DB_PENDING_MAX) into ids;
 * returns how many, or -1 on error. */
static long list_pending(struct bench *b, char (*ids)[DB_ID_MAX + 1])
{
	long code = http_do(b, b->poll, "/api/v1/alerts?state=pending", NULL);
	if (code != 200) {
		if (code > 0)
			fprintf(stderr, "ga_draftbench: listing answered %ld: %.200s\n", code,
				b->body);
		return -1;
	}
	json_error_t jerr;
	json_t *root = json_loadb(b->body, b->bodylen, 0, &jerr);
	json_t *arr = root ? json_object_get(root, "alerts") : NULL;
	long n = -1;
	if (json_is_array(arr)) {
		n = 0;
		size_t i;
		json_t *it;
		json_array_foreach(arr, i, it)
		{
			const char *id = json_string_value(json_object_get(it, "alert_id"));
			if (id && strlen(id) <= DB_ID_MAX && n < DB_PENDING_MAX)
				snprintf(ids[n++], DB_ID_MAX + 1, "%s", id);
		}
	}
	json_decref(root);
	return n;
}

static bool id_in(const char *id, char (*ids)[DB_ID_MAX + 1], long n)
{
	for (long i = 0; i < n; i++)
		if (strcmp(ids[i], id) == 0)
			return true;
	return false;
}

/* --- statistics -------------------------------------------------------- */

static void print_dist(const char *name, int64_t *v, size_t n, bool more)
{
	tool_sort_i64(v, n);
	printf("\"%s\":{\"p50\":%.3f,\"p99\":%.3f,\"max\":%.3f,\"min\":%.3f}%s", name,
	       tool_pct_ms(v, n, 50), tool_pct_ms(v, n, 99), tool_max_ms(v, n),
	       n ? (double)v[0] / 1e6 : 0.0, more ? "," : "");
}

/* --- one probe ----------------------------------------------------------- */

/* The report of probe i: a danger report of its station, no figures (the
 * station's hazard point gives the threatened people). */
static int build_report(const struct bench *b, long i, const struct tool_station *p, char *buf,
			size_t len)
{
	char more[256];
	int n =
	    snprintf(more, sizeof(more),
		     "\"place\":\"基准测试点%ld\",\"causes\":\"连续强降雨\",\"trend\":\"变形加速\","
		     "\"measures\":\"已组织群众撤离\"",
		     i);
	if (n < 0 || (size_t)n >= sizeof(more))
		return -1;
	return tool_report_format(b->run_id, i, p, more, buf, len);
}

struct sample {
	int64_t draft_ns, receipt_ns, resolution_ns;
	int64_t draft_lo_ns; /* start of the last poll that did not list it */
};

/* Runs probe i; 0 and *out filled on success, -1 otherwise. */
static int run_probe(struct bench *b, struct mosquitto *m, long i, char (*ids)[DB_ID_MAX + 1],
		     struct sample *out)
{
	const struct tool_station *p = &b->probes[i];
	char payload[TOOL_PAYLOAD_MAX], topic[TOOL_TOPIC_MAX], alert_id[DB_ID_MAX + 1] = "";
	char path[DB_URL_MAX];
	int len = build_report(b, i, p, payload, sizeof(payload));
	if (len < 0)
		return -1;
	snprintf(topic, sizeof(topic), "geohazard/v1/reports/%s", p->id);

	long nbefore = list_pending(b, ids);
	if (nbefore < 0)
		return -1;
	if (nbefore >= DB_PENDING_MAX) {
		fprintf(stderr, "ga_draftbench: too many pending drafts\n");
		return -1;
	}
	pthread_mutex_lock(&b->sync.lock);
	snprintf(b->want, sizeof(b->want), "%s-%ld", b->run_id, i);
	memset(&b->rc, 0, sizeof(b->rc));
	pthread_mutex_unlock(&b->sync.lock);

	/* The polls after the publish use the second half of ids. */
	char(*now_ids)[DB_ID_MAX + 1] = ids + DB_PENDING_MAX;
	int64_t t0 = tool_now_ns();
	if (mosquitto_publish_v5(m, NULL, topic, len, payload, 1, false, NULL) !=
	    MOSQ_ERR_SUCCESS) {
		fprintf(stderr, "ga_draftbench: publish failed\n");
		return -1;
	}
	int64_t deadline = t0 + (int64_t)b->timeout_s * 1000000000;
	int64_t prev_start = t0, listed_at = 0;
	for (long k = 0;; k++) {
		int64_t due = t0 + k * b->interval_us * 1000;
		tool_sleep_ns(due - tool_now_ns());
		int64_t start = tool_now_ns();
		long n = list_pending(b, now_ids);
		int64_t end = tool_now_ns();
		if (n < 0)
			return -1;
		if (b->npolls < DB_POLLS_MAX)
			b->poll_ns[b->npolls++] = end - start;
		for (long j = 0; j < n && !alert_id[0]; j++)
			if (!id_in(now_ids[j], ids, nbefore))
				snprintf(alert_id, sizeof(alert_id), "%s", now_ids[j]);
		if (alert_id[0]) {
			listed_at = end;
			out->resolution_ns = end - prev_start;
			out->draft_lo_ns = prev_start - t0;
			break;
		}
		prev_start = start;
		if (end > deadline) {
			fprintf(stderr, "ga_draftbench: probe %ld: no new draft in %ld s\n", i,
				b->timeout_s);
			return -1;
		}
	}
	out->draft_ns = listed_at - t0;

	pthread_mutex_lock(&b->sync.lock);
	bool seen = tool_sync_wait(&b->sync, receipt_seen, b, b->timeout_s);
	struct receipt rc = b->rc;
	pthread_mutex_unlock(&b->sync.lock);
	if (!seen) {
		fprintf(stderr, "ga_draftbench: probe %ld: no receipt\n", i);
		return -1;
	}
	out->receipt_ns = rc.at_ns - t0;
	if (strcmp(rc.status, "accepted") != 0 || strcmp(rc.level, "large") != 0 ||
	    strcmp(rc.incident_id, alert_id) != 0) {
		fprintf(stderr,
			"ga_draftbench: probe %ld (%s): receipt %s level %s incident %s, "
			"new draft %s\n",
			i, p->id, rc.status, rc.level, rc.incident_id, alert_id);
		return -1;
	}

	snprintf(path, sizeof(path), "/api/v1/alerts/%s/reject", alert_id);
	long code = http_do(b, b->post, path, "{\"reason\":\"benchmark probe\"}");
	if (code != 200) {
		fprintf(stderr, "ga_draftbench: reject %s answered %ld: %.200s\n", alert_id, code,
			b->body);
		return -1;
	}
	return 0;
}

/* --- main -------------------------------------------------------------- */

static int run(struct bench *b)
{
	struct mosquitto *m = NULL;
	char(*ids)[DB_ID_MAX + 1] = NULL;
	struct sample *s = NULL;
	int64_t *v = NULL;
	long ok = 0, errors = 0, before = 0;
	int status = 1;
	char auth[600];

	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", b->token);
	b->headers = curl_slist_append(NULL, auth);
	b->headers =
	    b->headers ? curl_slist_append(b->headers, "Content-Type: application/json") : NULL;
	b->body = malloc(DB_BODY_MAX + 1);
	b->poll_ns = malloc(DB_POLLS_MAX * sizeof(*b->poll_ns));
	ids = calloc(2 * DB_PENDING_MAX, sizeof(*ids));
	s = calloc((size_t)b->count, sizeof(*s));
	v = calloc((size_t)b->count, sizeof(*v));
	if (!b->headers || !b->body || !b->poll_ns || !ids || !s || !v)
		goto out;
	if (!(b->poll = http_handle(b)) || !(b->post = http_handle(b)))
		goto out;

	if (!(m = tool_mqtt_new("ga-draftbench", NULL, b)))
		goto out;
	mosquitto_connect_v5_callback_set(m, on_connect);
	mosquitto_subscribe_v5_callback_set(m, on_subscribe);
	mosquitto_message_v5_callback_set(m, on_message);
	if (!tool_mqtt_start(DB_PROG, m, b->host, b->port, 30))
		goto out;
	if (!tool_sync_wait_flag(&b->sync, &b->connected, &b->connect_failed, 10)) {
		fprintf(stderr, "ga_draftbench: MQTT connection refused or timed out\n");
		goto out;
	}
	/* Only the probe stations' receipts, not the background's. */
	for (size_t i = 0; i < b->nprobes; i++) {
		char topic[TOOL_TOPIC_MAX];
		snprintf(topic, sizeof(topic), "geohazard/v1/receipts/%s", b->probes[i].id);
		if (mosquitto_subscribe_v5(m, NULL, topic, 1, 0, NULL) != MOSQ_ERR_SUCCESS)
			goto out;
	}
	pthread_mutex_lock(&b->sync.lock);
	bool subbed = tool_sync_wait(&b->sync, all_subscribed, b, 10) && b->sub_failed == 0;
	pthread_mutex_unlock(&b->sync.lock);
	if (!subbed) {
		fprintf(stderr, "ga_draftbench: receipt subscriptions not granted\n");
		goto out;
	}

	for (long i = 0; i < b->count; i++) {
		if (run_probe(b, m, i, ids, &s[ok]) == 0) {
			if (s[ok].draft_ns <= s[ok].receipt_ns)
				before++;
			ok++;
		} else {
			errors++;
		}
		tool_sleep_ns(b->gap_ms * 1000000);
	}

	printf("{\"probes\":%ld,\"ok\":%ld,", b->count, ok);
	for (long i = 0; i < ok; i++)
		v[i] = s[i].draft_ns;
	print_dist("draft_ms", v, (size_t)ok, true);
	for (long i = 0; i < ok; i++)
		v[i] = s[i].receipt_ns;
	print_dist("receipt_ms", v, (size_t)ok, true);
	for (long i = 0; i < ok; i++)
		v[i] = s[i].draft_lo_ns;
	print_dist("draft_lo_ms", v, (size_t)ok, true);
	for (long i = 0; i < ok; i++)
		v[i] = s[i].resolution_ns;
	tool_sort_i64(v, (size_t)ok);
	printf("\"draft_before_receipt\":%ld,\"resolution_ms\":{\"p50\":%.3f,\"max\":%.3f},",
	       before, tool_pct_ms(v, (size_t)ok, 50), tool_max_ms(v, (size_t)ok));
	printf("\"poll_interval_us\":%ld,", b->interval_us);
	tool_sort_i64(b->poll_ns, (size_t)b->npolls);
	printf("\"poll_ms\":{\"p50\":%.3f,\"p99\":%.3f,\"max\":%.3f},\"polls\":%ld,",
	       tool_pct_ms(b->poll_ns, (size_t)b->npolls, 50),
	       tool_pct_ms(b->poll_ns, (size_t)b->npolls, 99),
	       tool_max_ms(b->poll_ns, (size_t)b->npolls), b->npolls);
	printf("\"errors\":%ld}\n", errors);
	fflush(stdout);
	status = errors == 0 && ok == b->count ? 0 : 1;
out:
	tool_mqtt_stop(m);
	mosquitto_destroy(m);
	curl_easy_cleanup(b->poll);
	curl_easy_cleanup(b->post);
	curl_slist_free_all(b->headers);
	free(b->body);
	free(b->poll_ns);
	free(ids);
	free(s);
	free(v);
	return status;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {{"host", required_argument, NULL, 'h'},
					     {"port", required_argument, NULL, 'p'},
					     {"http-port", required_argument, NULL, 'H'},
					     {"token", required_argument, NULL, 'T'},
					     {"probes", required_argument, NULL, 's'},
					     {"count", required_argument, NULL, 'n'},
					     {"interval-us", required_argument, NULL, 'i'},
					     {"gap-ms", required_argument, NULL, 'g'},
					     {"run-id", required_argument, NULL, 'r'},
					     {"timeout", required_argument, NULL, 't'},
					     {NULL, 0, NULL, 0}};
	struct bench b = {.host = "127.0.0.1", .interval_us = 1000, .gap_ms = 100, .timeout_s = 10};
	long port = 0, http_port = 0;
	int c, status;

	snprintf(b.run_id, sizeof(b.run_id), "draftbench-%ld", (long)getpid());
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			b.host = optarg;
			break;
		case 'p':
			if (!tool_parse_long(optarg, 1, 65535, &port))
				return usage();
			break;
		case 'H':
			if (!tool_parse_long(optarg, 1, 65535, &http_port))
				return usage();
			break;
		case 'T':
			if (strlen(optarg) > 512)
				return usage();
			b.token = optarg;
			break;
		case 's':
			b.probes_file = optarg;
			break;
		case 'n':
			if (!tool_parse_long(optarg, 1, DB_PROBES_MAX, &b.count))
				return usage();
			break;
		case 'i':
			if (!tool_parse_long(optarg, 0, 1000000, &b.interval_us))
				return usage();
			break;
		case 'g':
			if (!tool_parse_long(optarg, 0, 60000, &b.gap_ms))
				return usage();
			break;
		case 'r':
			if (!tool_parse_run_id(optarg, b.run_id))
				return usage();
			break;
		case 't':
			if (!tool_parse_long(optarg, 1, 3600, &b.timeout_s))
				return usage();
			break;
		default:
			return usage();
		}
	}
	if (optind != argc || !port || !http_port || !b.token || !b.probes_file)
		return usage();
	b.port = (int)port;
	b.http_port = (int)http_port;
	if (tool_stations_load(DB_PROG, b.probes_file, DB_PROBES_MAX, &b.probes, &b.nprobes) != 0)
		return 1;
	if (b.count == 0)
		b.count = (long)b.nprobes;
	if ((size_t)b.count > b.nprobes) {
		/* A station's second report would join its first incident. */
		fprintf(stderr, "ga_draftbench: --count %ld but only %zu probe stations\n", b.count,
			b.nprobes);
		return 2;
	}
	tool_sync_init(&b.sync);
	mosquitto_lib_init();
	curl_global_init(CURL_GLOBAL_DEFAULT);
	status = run(&b);
	curl_global_cleanup();
	mosquitto_lib_cleanup();
	tool_sync_cleanup(&b.sync);
	free(b.probes);
	return status;
}
