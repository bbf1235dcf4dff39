/* ga_loadgen - the load generator of the ingest benchmark
 * (tests/bench/ingest.sh, docs/benchmarks.md).
 *
 *   ga_loadgen [--host H] [--port P] [--count N] [--window W] [--rate R]
 *              [--stations FILE] [--receipts] [--run-id ID] [--timeout S]
 *
 * Publishes N valid reports (spec §2) with QoS 1 over MQTT 5 to
 * geohazard/v1/reports/{station_id}, keeping at most W publishes in flight
 * (sent, PUBACK not yet seen). R = 0 sends as fast as the window allows;
 * R > 0 paces the publishes at a fixed R per second. Stations are taken in
 * turn from a registry GeoJSON (--stations), each report carrying its
 * station's hazard_type; without one, the example station JS-3201-0007.
 *
 * With --receipts it first subscribes to geohazard/v1/receipts/# (on a
 * second connection) and, after publishing, waits until every report it
 * sent is answered; latency is the time from a report's publish call to the
 * arrival of its first receipt. report_ids are "{run_id}-{i}", so receipts
 * of other runs are ignored.
 *
 * Prints one JSON line on stdout:
 *   {"sent","acked","receipts","elapsed_s","rate","latency_ms":{"p50","p99","max"},
 *    "status":{"accepted","duplicate","rejected","other"},"timeout","cpu_s"}
 * elapsed_s runs from the first publish to the last PUBACK (to the last
 * receipt with --receipts); rate = sent / elapsed_s. cpu_s is the load
 * generator's own CPU time (user + system, all threads) over its run.
 * Exit status: 0 when every report was acknowledged (and, with --receipts,
 * answered accepted or duplicate), 1 otherwise, 2 on a usage error. */
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
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define LG_COUNT_MAX 10000000L /* reports per run */
#define LG_WINDOW_MAX 65535L   /* MQTT receive maximum */
#define LG_STATIONS_MAX 100000 /* stations taken from the registry */
#define LG_ID_MAX 64	       /* station_id and report_id, spec §2 */
#define LG_RUN_ID_MAX 40       /* leaves room for "-{i}" in a report_id */
#define LG_PAYLOAD_MAX 1024
#define LG_TOPIC_MAX 256

enum lg_status { LG_ACCEPTED, LG_DUPLICATE, LG_REJECTED, LG_OTHER, LG_NSTATUS };

struct station {
	char id[LG_ID_MAX + 1];
	char hazard_type[32];
};

struct loadgen {
	/* Options. */
	const char *host;
	int port;
	long count;
	long window;
	double rate;
	const char *stations_file;
	bool receipts;
	char run_id[LG_RUN_ID_MAX + 1];
	int timeout_s;

	struct station *stations;
	size_t nstations;

	/* Shared with the libmosquitto threads, under lock. */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	long inflight;
	long acked;
	long nacked; /* PUBACK with a reason code >= 128 */
	bool pub_connected, pub_failed;
	bool sub_ready, sub_failed;
	long answered; /* reports with at least one receipt */
	long status[LG_NSTATUS];
	int64_t *sent_ns;    /* per report: when publish was called */
	int64_t *latency_ns; /* per report: first receipt - sent; -1 none */
};

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The deadline for pthread_cond_timedwait (CLOCK_REALTIME) s seconds on. */
static struct timespec deadline_after(int s)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += s;
	return ts;
}

static int usage(void)
{
	fprintf(stderr, "usage: ga_loadgen [--host H] [--port P] [--count N] [--window W]\n"
			"                  [--rate R] [--stations FILE] [--receipts]\n"
			"                  [--run-id ID] [--timeout S]\n");
	return 2;
}

static bool parse_long(const char *s, long lo, long hi, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

static bool id_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > LG_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == ':' || c == '-'))
			return false;
	}
	return true;
}

/* Reads the station_id and hazard_type of every feature of a registry. */
static int stations_load(struct loadgen *lg)
{
	json_error_t jerr;
	int rc = -1;
	json_t *root = json_load_file(lg->stations_file, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		fprintf(stderr, "%s:%d: %s\n", lg->stations_file, jerr.line, jerr.text);
		return -1;
	}
	json_t *features = json_object_get(root, "features");
	size_t n = json_array_size(features);
	if (n == 0 || n > LG_STATIONS_MAX) {
		fprintf(stderr, "%s: expected 1..%d features\n", lg->stations_file,
			LG_STATIONS_MAX);
		goto out;
	}
	lg->stations = calloc(n, sizeof(*lg->stations));
	if (!lg->stations)
		goto out;
	for (size_t i = 0; i < n; i++) {
		json_t *props = json_object_get(json_array_get(features, i), "properties");
		const char *id = json_string_value(json_object_get(props, "station_id"));
		const char *ht = json_string_value(json_object_get(props, "hazard_type"));
		if (!id || !ht || !id_ok(id) || strlen(ht) >= sizeof(lg->stations[0].hazard_type)) {
			fprintf(stderr, "%s: feature %zu: bad station_id or hazard_type\n",
				lg->stations_file, i);
			goto out;
		}
		snprintf(lg->stations[i].id, sizeof(lg->stations[i].id), "%s", id);
		snprintf(lg->stations[i].hazard_type, sizeof(lg->stations[i].hazard_type), "%s",
			 ht);
	}
	lg->nstations = n;
	rc = 0;
out:
	json_decref(root);
	return rc;
}

static void on_pub_connect(struct mosquitto *m, void *obj, int rc, int flags,
			   const mosquitto_property *p)
{
	struct loadgen *lg = obj;
	pthread_mutex_lock(&lg->lock);
	if (rc == 0)
		lg->pub_connected = true;
	else
		lg->pub_failed = true;
	pthread_cond_broadcast(&lg->cond);
	pthread_mutex_unlock(&lg->lock);
}

static void on_pub_disconnect(struct mosquitto *m, void *obj, int rc, const mosquitto_property *p)
{
	struct loadgen *lg = obj;
	pthread_mutex_lock(&lg->lock);
	lg->pub_connected = false;
	pthread_cond_broadcast(&lg->cond);
	pthread_mutex_unlock(&lg->lock);
}

static void on_publish(struct mosquitto *m, void *obj, int mid, int reason,
		       const mosquitto_property *p)
{
	struct loadgen *lg = obj;
	pthread_mutex_lock(&lg->lock);
	lg->inflight--;
	lg->acked++;
	/* 16 (no matching subscribers) is a success; >= 128 is a refusal. */
	if (reason >= 128)
		lg->nacked++;
	pthread_cond_broadcast(&lg->cond);
	pthread_mutex_unlock(&lg->lock);
}

static void on_sub_connect(struct mosquitto *m, void *obj, int rc, int flags,
			   const mosquitto_property *p)
{
	struct loadgen *lg = obj;
	if (rc == 0 && mosquitto_subscribe_v5(m, NULL, "geohazard/v1/receipts/#", 1, 0, NULL) ==
			   MOSQ_ERR_SUCCESS)
		return;
	pthread_mutex_lock(&lg->lock);
	lg->sub_failed = true;
	pthread_cond_broadcast(&lg->cond);
	pthread_mutex_unlock(&lg->lock);
}

static void on_subscribe(struct mosquitto *m, void *obj, int mid, int n, const int *qos,
			 const mosquitto_property *p)
{
	struct loadgen *lg = obj;
	pthread_mutex_lock(&lg->lock);
	if (n == 1 && qos[0] < 128)
		lg->sub_ready = true;
	else
		lg->sub_failed = true;
	pthread_cond_broadcast(&lg->cond);
	pthread_mutex_unlock(&lg->lock);
}

static enum lg_status status_of(const char *s)
{
	if (!s)
		return LG_OTHER;
	if (strcmp(s, "accepted") == 0)
		return LG_ACCEPTED;
	if (strcmp(s, "duplicate") == 0)
		return LG_DUPLICATE;
	if (strcmp(s, "rejected") == 0)
		return LG_REJECTED;
	return LG_OTHER;
}

/* Maps a report_id of this run, "{run_id}-{i}", to i; -1 otherwise. */
static long report_index(const struct loadgen *lg, const char *report_id)
{
	size_t n = strlen(lg->run_id);
	long i;
	if (!report_id || strncmp(report_id, lg->run_id, n) != 0 || report_id[n] != '-')
		return -1;
	if (!parse_long(report_id + n + 1, 0, lg->count - 1, &i))
		return -1;
	return i;
}

static void on_receipt(struct mosquitto *m, void *obj, const struct mosquitto_message *msg,
		       const mosquitto_property *p)
{
	struct loadgen *lg = obj;
	int64_t arrived = now_ns();
	json_error_t jerr;
	json_t *root = json_loadb(msg->payload, (size_t)msg->payloadlen, 0, &jerr);
	if (!root)
		return;
	long i = report_index(lg, json_string_value(json_object_get(root, "report_id")));
	enum lg_status st = status_of(json_string_value(json_object_get(root, "status")));
	json_decref(root);
	if (i < 0)
		return;
	pthread_mutex_lock(&lg->lock);
	/* Only the first receipt of a report counts: a redelivered report is
	 * answered again, and must not be counted twice. */
	if (lg->latency_ns[i] < 0 && lg->sent_ns[i] > 0) {
		lg->latency_ns[i] = arrived - lg->sent_ns[i];
		lg->status[st]++;
		lg->answered++;
		pthread_cond_broadcast(&lg->cond);
	}
	pthread_mutex_unlock(&lg->lock);
}

static struct mosquitto *client_new(struct loadgen *lg, const char *role)
{
	char id[64];
	snprintf(id, sizeof(id), "ga-loadgen-%s-%ld", role, (long)getpid());
	struct mosquitto *m = mosquitto_new(id, true, lg);
	if (!m)
		return NULL;
	mosquitto_int_option(m, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
	/* Let the window, not the library, bound what is in flight. */
	mosquitto_int_option(m, MOSQ_OPT_SEND_MAXIMUM, (int)lg->window);
	mosquitto_int_option(m, MOSQ_OPT_RECEIVE_MAXIMUM, 1000);
	/* Latency is measured per message: no Nagle delay on our side. */
	mosquitto_int_option(m, MOSQ_OPT_TCP_NODELAY, 1);
	return m;
}

/* Waits on lg->cond until *flag or *fail is set or the timeout passes;
 * returns *flag. Caller holds lg->lock. */
static bool wait_flag(struct loadgen *lg, const bool *flag, const bool *fail, int timeout_s)
{
	struct timespec dl = deadline_after(timeout_s);
	while (!*flag && !*fail) {
		if (pthread_cond_timedwait(&lg->cond, &lg->lock, &dl) == ETIMEDOUT)
			break;
	}
	return *flag;
}

static void pace(const struct loadgen *lg, int64_t start, long i)
{
	if (lg->rate <= 0)
		return;
	int64_t due = start + (int64_t)((double)i * 1e9 / lg->rate);
	int64_t now = now_ns();
	if (due <= now)
		return;
	struct timespec ts = {(time_t)((due - now) / 1000000000), (long)((due - now) % 1000000000)};
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

/* Nearest-rank percentile of n sorted values, in milliseconds. */
static double pct_ms(const int64_t *v, size_t n, double p)
{
	if (n == 0)
		return 0;
	size_t k = (size_t)(p / 100.0 * (double)n + 0.999999);
	if (k < 1)
		k = 1;
	if (k > n)
		k = n;
	return (double)v[k - 1] / 1e6;
}

/* Formats report i into buf; returns its length or -1. */
static int report_format(const struct loadgen *lg, long i, const struct station *st, char *buf,
			 size_t len)
{
	char when[40];
	time_t t = time(NULL) + 8 * 3600;
	struct tm tm;
	gmtime_r(&t, &tm);
	if (strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S+08:00", &tm) == 0)
		return -1;
	int n = snprintf(buf, len,
			 "{\"schema\":\"geohazard.report/1\",\"report_id\":\"%s-%ld\","
			 "\"station_id\":\"%s\",\"kind\":\"danger\",\"hazard_type\":\"%s\","
			 "\"observed_at\":\"%s\",\"place\":\"benchmark\","
			 "\"figures\":{\"threatened_people\":%ld,\"threatened_property_cny\":%ld}}",
			 lg->run_id, i, st->id, st->hazard_type, when, 5 + i % 40,
			 100000 + (i % 50) * 1000);
	if (n < 0 || (size_t)n >= len)
		return -1;
	return n;
}

static int run(struct loadgen *lg)
{
	static const struct station fallback = {"JS-3201-0007", "landslide"};
	struct mosquitto *pub = NULL, *sub = NULL;
	char payload[LG_PAYLOAD_MAX], topic[LG_TOPIC_MAX];
	long sent = 0;
	int status = 1;
	bool timed_out = false;
	int64_t start = 0, end = 0;

	pub = client_new(lg, "pub");
	if (!pub)
		goto out;
	mosquitto_connect_v5_callback_set(pub, on_pub_connect);
	mosquitto_disconnect_v5_callback_set(pub, on_pub_disconnect);
	mosquitto_publish_v5_callback_set(pub, on_publish);

	if (lg->receipts) {
		sub = client_new(lg, "sub");
		if (!sub)
			goto out;
		mosquitto_connect_v5_callback_set(sub, on_sub_connect);
		mosquitto_subscribe_v5_callback_set(sub, on_subscribe);
		mosquitto_message_v5_callback_set(sub, on_receipt);
		if (mosquitto_connect_bind_v5(sub, lg->host, lg->port, 60, NULL, NULL) !=
			MOSQ_ERR_SUCCESS ||
		    mosquitto_loop_start(sub) != MOSQ_ERR_SUCCESS) {
			fprintf(stderr, "ga_loadgen: cannot connect to %s:%d\n", lg->host,
				lg->port);
			goto out;
		}
		pthread_mutex_lock(&lg->lock);
		bool ok = wait_flag(lg, &lg->sub_ready, &lg->sub_failed, 10);
		pthread_mutex_unlock(&lg->lock);
		if (!ok) {
			fprintf(stderr, "ga_loadgen: receipt subscription failed\n");
			goto out;
		}
	}

	if (mosquitto_connect_bind_v5(pub, lg->host, lg->port, 60, NULL, NULL) !=
		MOSQ_ERR_SUCCESS ||
	    mosquitto_loop_start(pub) != MOSQ_ERR_SUCCESS) {
		fprintf(stderr, "ga_loadgen: cannot connect to %s:%d\n", lg->host, lg->port);
		goto out;
	}
	pthread_mutex_lock(&lg->lock);
	bool ok = wait_flag(lg, &lg->pub_connected, &lg->pub_failed, 10);
	pthread_mutex_unlock(&lg->lock);
	if (!ok) {
		fprintf(stderr, "ga_loadgen: connection refused\n");
		goto out;
	}

	start = now_ns();
	int64_t overall = start + (int64_t)lg->timeout_s * 1000000000;
	for (long i = 0; i < lg->count; i++) {
		const struct station *st =
		    lg->nstations ? &lg->stations[(size_t)i % lg->nstations] : &fallback;
		int n = report_format(lg, i, st, payload, sizeof(payload));
		if (n < 0)
			goto out;
		snprintf(topic, sizeof(topic), "geohazard/v1/reports/%s", st->id);
		pace(lg, start, i);

		pthread_mutex_lock(&lg->lock);
		while (lg->inflight >= lg->window && !timed_out) {
			struct timespec dl = deadline_after(1);
			pthread_cond_timedwait(&lg->cond, &lg->lock, &dl);
			if (now_ns() > overall)
				timed_out = true;
		}
		if (timed_out) {
			pthread_mutex_unlock(&lg->lock);
			break;
		}
		lg->inflight++;
		lg->sent_ns[i] = now_ns();
		pthread_mutex_unlock(&lg->lock);

		int rc = mosquitto_publish_v5(pub, NULL, topic, n, payload, 1, false, NULL);
		if (rc != MOSQ_ERR_SUCCESS) {
			fprintf(stderr, "ga_loadgen: publish %ld: %s\n", i, mosquitto_strerror(rc));
			pthread_mutex_lock(&lg->lock);
			lg->inflight--;
			lg->sent_ns[i] = 0;
			pthread_mutex_unlock(&lg->lock);
			break;
		}
		sent++;
	}

	/* Wait for every PUBACK, then (with --receipts) every receipt. */
	pthread_mutex_lock(&lg->lock);
	while (!timed_out && (lg->acked < sent || (lg->receipts && lg->answered < sent))) {
		struct timespec dl = deadline_after(1);
		pthread_cond_timedwait(&lg->cond, &lg->lock, &dl);
		if (now_ns() > overall)
			timed_out = true;
	}
	end = now_ns();
	pthread_mutex_unlock(&lg->lock);

	mosquitto_disconnect_v5(pub, 0, NULL);
	mosquitto_loop_stop(pub, false);
	if (sub) {
		mosquitto_disconnect_v5(sub, 0, NULL);
		mosquitto_loop_stop(sub, false);
	}

	/* Latencies of the answered reports. */
	size_t nl = 0;
	for (long i = 0; i < lg->count; i++)
		if (lg->latency_ns[i] >= 0)
			lg->latency_ns[nl++] = lg->latency_ns[i];
	qsort(lg->latency_ns, nl, sizeof(int64_t), cmp_i64);

	double elapsed = (double)(end - start) / 1e9;
	struct rusage ru;
	double cpu = 0;
	if (getrusage(RUSAGE_SELF, &ru) == 0)
		cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
		      (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
	printf("{\"sent\":%ld,\"acked\":%ld,\"nacked\":%ld,\"receipts\":%ld,\"elapsed_s\":%.3f,"
	       "\"rate\":%.1f,\"window\":%ld,\"target_rate\":%.1f,"
	       "\"latency_ms\":{\"p50\":%.3f,\"p99\":%.3f,\"max\":%.3f},"
	       "\"status\":{\"accepted\":%ld,\"duplicate\":%ld,\"rejected\":%ld,\"other\":%ld},"
	       "\"timeout\":%s,\"cpu_s\":%.3f}\n",
	       sent, lg->acked, lg->nacked, lg->answered, elapsed,
	       elapsed > 0 ? (double)sent / elapsed : 0.0, lg->window, lg->rate,
	       pct_ms(lg->latency_ns, nl, 50), pct_ms(lg->latency_ns, nl, 99),
	       nl ? (double)lg->latency_ns[nl - 1] / 1e6 : 0.0, lg->status[LG_ACCEPTED],
	       lg->status[LG_DUPLICATE], lg->status[LG_REJECTED], lg->status[LG_OTHER],
	       timed_out ? "true" : "false", cpu);
	fflush(stdout);

	if (!timed_out && sent == lg->count && lg->acked == sent && lg->nacked == 0 &&
	    (!lg->receipts || lg->status[LG_ACCEPTED] + lg->status[LG_DUPLICATE] == (long)sent))
		status = 0;
out:
	mosquitto_destroy(pub);
	mosquitto_destroy(sub);
	return status;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"host", required_argument, NULL, 'h'},    {"port", required_argument, NULL, 'p'},
	    {"count", required_argument, NULL, 'n'},   {"window", required_argument, NULL, 'w'},
	    {"rate", required_argument, NULL, 'r'},    {"stations", required_argument, NULL, 's'},
	    {"receipts", no_argument, NULL, 'R'},      {"run-id", required_argument, NULL, 'i'},
	    {"timeout", required_argument, NULL, 't'}, {NULL, 0, NULL, 0},
	};
	struct loadgen lg = {
	    .host = "127.0.0.1", .port = 1883, .count = 1000, .window = 100, .timeout_s = 300};
	long v;
	int ch, status;

	snprintf(lg.run_id, sizeof(lg.run_id), "lg%ld-%ld", (long)time(NULL), (long)getpid());
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'h':
			lg.host = optarg;
			break;
		case 'p':
			if (!parse_long(optarg, 1, 65535, &v))
				return usage();
			lg.port = (int)v;
			break;
		case 'n':
			if (!parse_long(optarg, 1, LG_COUNT_MAX, &lg.count))
				return usage();
			break;
		case 'w':
			if (!parse_long(optarg, 1, LG_WINDOW_MAX, &lg.window))
				return usage();
			break;
		case 'r': {
			char *end;
			errno = 0;
			lg.rate = strtod(optarg, &end);
			if (errno || end == optarg || *end || !(lg.rate >= 0) || lg.rate > 1e7)
				return usage();
			break;
		}
		case 's':
			lg.stations_file = optarg;
			break;
		case 'R':
			lg.receipts = true;
			break;
		case 'i':
			if (strlen(optarg) > LG_RUN_ID_MAX || !id_ok(optarg))
				return usage();
			snprintf(lg.run_id, sizeof(lg.run_id), "%s", optarg);
			break;
		case 't':
			if (!parse_long(optarg, 1, 86400, &v))
				return usage();
			lg.timeout_s = (int)v;
			break;
		default:
			return usage();
		}
	}
	if (optind != argc)
		return usage();
	if (lg.stations_file && stations_load(&lg) != 0)
		return 1;

	lg.sent_ns = calloc((size_t)lg.count, sizeof(int64_t));
	lg.latency_ns = malloc((size_t)lg.count * sizeof(int64_t));
	if (!lg.sent_ns || !lg.latency_ns) {
		fprintf(stderr, "ga_loadgen: out of memory\n");
		return 1;
	}
	for (long i = 0; i < lg.count; i++)
		lg.latency_ns[i] = -1;
	pthread_mutex_init(&lg.lock, NULL);
	pthread_cond_init(&lg.cond, NULL);

	mosquitto_lib_init();
	status = run(&lg);
	mosquitto_lib_cleanup();

	pthread_cond_destroy(&lg.cond);
	pthread_mutex_destroy(&lg.lock);
	free(lg.sent_ns);
	free(lg.latency_ns);
	free(lg.stations);
	return status;
}
