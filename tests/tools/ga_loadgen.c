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
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "tool_util.h"

#define LG_PROG "ga_loadgen"
#define LG_COUNT_MAX 10000000L /* reports per run */
#define LG_WINDOW_MAX 65535L   /* MQTT receive maximum */
#define LG_STATIONS_MAX 100000 /* stations taken from the registry */

enum lg_status { LG_ACCEPTED, LG_DUPLICATE, LG_REJECTED, LG_OTHER, LG_NSTATUS };

struct loadgen {
	/* Options. */
	const char *host;
	int port;
	long count;
	long window;
	double rate;
	const char *stations_file;
	bool receipts;
	char run_id[TOOL_RUN_ID_MAX + 1];
	int timeout_s;

	struct tool_station *stations;
	size_t nstations;

	/* Shared with the libmosquitto threads, under sync.lock. */
	struct tool_sync sync;
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

static int usage(void)
{
	fprintf(stderr, "usage: ga_loadgen [--host H] [--port P] [--count N] [--window W]\n"
			"                  [--rate R] [--stations FILE] [--receipts]\n"
			"                  [--run-id ID] [--timeout S]\n");
	return 2;
}

static void on_pub_connect(struct mosquitto *m, void *obj, int rc, int flags,
			   const mosquitto_property *p)
{
	struct loadgen *lg = obj;
	tool_sync_set(&lg->sync, rc == 0 ? &lg->pub_connected : &lg->pub_failed, true);
}

static void on_pub_disconnect(struct mosquitto *m, void *obj, int rc, const mosquitto_property *p)
{
	struct loadgen *lg = obj;
	tool_sync_set(&lg->sync, &lg->pub_connected, false);
}

static void on_publish(struct mosquitto *m, void *obj, int mid, int reason,
		       const mosquitto_property *p)
{
	struct loadgen *lg = obj;
	pthread_mutex_lock(&lg->sync.lock);
	lg->inflight--;
	lg->acked++;
	/* 16 (no matching subscribers) is a success; >= 128 is a refusal. */
	if (reason >= 128)
		lg->nacked++;
	pthread_cond_broadcast(&lg->sync.cond);
	pthread_mutex_unlock(&lg->sync.lock);
}

static void on_sub_connect(struct mosquitto *m, void *obj, int rc, int flags,
			   const mosquitto_property *p)
{
	struct loadgen *lg = obj;
	if (rc == 0 && mosquitto_subscribe_v5(m, NULL, "geohazard/v1/receipts/#", 1, 0, NULL) ==
			   MOSQ_ERR_SUCCESS)
		return;
	tool_sync_set(&lg->sync, &lg->sub_failed, true);
}

static void on_subscribe(struct mosquitto *m, void *obj, int mid, int n, const int *qos,
			 const mosquitto_property *p)
{
	struct loadgen *lg = obj;
	tool_sync_set(&lg->sync, tool_suback_ok(n, qos) ? &lg->sub_ready : &lg->sub_failed, true);
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
	if (!tool_parse_long(report_id + n + 1, 0, lg->count - 1, &i))
		return -1;
	return i;
}

static void on_receipt(struct mosquitto *m, void *obj, const struct mosquitto_message *msg,
		       const mosquitto_property *p)
{
	struct loadgen *lg = obj;
	int64_t arrived = tool_now_ns();
	json_error_t jerr;
	json_t *root = json_loadb(msg->payload, (size_t)msg->payloadlen, 0, &jerr);
	if (!root)
		return;
	long i = report_index(lg, json_string_value(json_object_get(root, "report_id")));
	enum lg_status st = status_of(json_string_value(json_object_get(root, "status")));
	json_decref(root);
	if (i < 0)
		return;
	pthread_mutex_lock(&lg->sync.lock);
	/* Only the first receipt of a report counts: a redelivered report is
	 * answered again, and must not be counted twice. */
	if (lg->latency_ns[i] < 0 && lg->sent_ns[i] > 0) {
		lg->latency_ns[i] = arrived - lg->sent_ns[i];
		lg->status[st]++;
		lg->answered++;
		pthread_cond_broadcast(&lg->sync.cond);
	}
	pthread_mutex_unlock(&lg->sync.lock);
}

static struct mosquitto *client_new(struct loadgen *lg, const char *role)
{
	struct mosquitto *m = tool_mqtt_new("ga-loadgen", role, lg);
	if (!m)
		return NULL;
	/* Let the window, not the library, bound what is in flight. */
	mosquitto_int_option(m, MOSQ_OPT_SEND_MAXIMUM, (int)lg->window);
	mosquitto_int_option(m, MOSQ_OPT_RECEIVE_MAXIMUM, 1000);
	return m;
}

/* Waits on the condition for at most a second (caller holds the lock);
 * returns whether the run's overall deadline has passed. */
static bool wait_step(struct loadgen *lg, int64_t overall)
{
	struct timespec dl = tool_deadline_after(1);
	pthread_cond_timedwait(&lg->sync.cond, &lg->sync.lock, &dl);
	return tool_now_ns() > overall;
}

static void pace(const struct loadgen *lg, int64_t start, long i)
{
	if (lg->rate <= 0)
		return;
	int64_t due = start + (int64_t)((double)i * 1e9 / lg->rate);
	tool_sleep_ns(due - tool_now_ns());
}

/* Formats report i into buf; returns its length or -1. */
static int report_format(const struct loadgen *lg, long i, const struct tool_station *st, char *buf,
			 size_t len)
{
	char more[160];
	int n = snprintf(more, sizeof(more),
			 "\"place\":\"benchmark\","
			 "\"figures\":{\"threatened_people\":%ld,\"threatened_property_cny\":%ld}",
			 5 + i % 40, 100000 + (i % 50) * 1000);
	if (n < 0 || (size_t)n >= sizeof(more))
		return -1;
	return tool_report_format(lg->run_id, i, st, more, buf, len);
}

static int run(struct loadgen *lg)
{
	static const struct tool_station fallback = {"JS-3201-0007", "landslide"};
	struct mosquitto *pub = NULL, *sub = NULL;
	char payload[TOOL_PAYLOAD_MAX], topic[TOOL_TOPIC_MAX];
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
		if (!tool_mqtt_start(LG_PROG, sub, lg->host, lg->port, 60))
			goto out;
		if (!tool_sync_wait_flag(&lg->sync, &lg->sub_ready, &lg->sub_failed, 10)) {
			fprintf(stderr, "ga_loadgen: receipt subscription failed\n");
			goto out;
		}
	}

	if (!tool_mqtt_start(LG_PROG, pub, lg->host, lg->port, 60))
		goto out;
	if (!tool_sync_wait_flag(&lg->sync, &lg->pub_connected, &lg->pub_failed, 10)) {
		fprintf(stderr, "ga_loadgen: connection refused\n");
		goto out;
	}

	start = tool_now_ns();
	int64_t overall = start + (int64_t)lg->timeout_s * 1000000000;
	for (long i = 0; i < lg->count; i++) {
		const struct tool_station *st =
		    lg->nstations ? &lg->stations[(size_t)i % lg->nstations] : &fallback;
		int n = report_format(lg, i, st, payload, sizeof(payload));
		if (n < 0)
			goto out;
		snprintf(topic, sizeof(topic), "geohazard/v1/reports/%s", st->id);
		pace(lg, start, i);

		pthread_mutex_lock(&lg->sync.lock);
		while (lg->inflight >= lg->window && !timed_out)
			timed_out = wait_step(lg, overall);
		if (timed_out) {
			pthread_mutex_unlock(&lg->sync.lock);
			break;
		}
		lg->inflight++;
		lg->sent_ns[i] = tool_now_ns();
		pthread_mutex_unlock(&lg->sync.lock);

		int rc = mosquitto_publish_v5(pub, NULL, topic, n, payload, 1, false, NULL);
		if (rc != MOSQ_ERR_SUCCESS) {
			fprintf(stderr, "ga_loadgen: publish %ld: %s\n", i, mosquitto_strerror(rc));
			pthread_mutex_lock(&lg->sync.lock);
			lg->inflight--;
			lg->sent_ns[i] = 0;
			pthread_mutex_unlock(&lg->sync.lock);
			break;
		}
		sent++;
	}

	/* Wait for every PUBACK, then (with --receipts) every receipt. */
	pthread_mutex_lock(&lg->sync.lock);
	while (!timed_out && (lg->acked < sent || (lg->receipts && lg->answered < sent)))
		timed_out = wait_step(lg, overall);
	end = tool_now_ns();
	pthread_mutex_unlock(&lg->sync.lock);

	tool_mqtt_stop(pub);
	tool_mqtt_stop(sub);

	/* Latencies of the answered reports. */
	size_t nl = 0;
	for (long i = 0; i < lg->count; i++)
		if (lg->latency_ns[i] >= 0)
			lg->latency_ns[nl++] = lg->latency_ns[i];
	tool_sort_i64(lg->latency_ns, nl);

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
	       tool_pct_ms(lg->latency_ns, nl, 50), tool_pct_ms(lg->latency_ns, nl, 99),
	       tool_max_ms(lg->latency_ns, nl), lg->status[LG_ACCEPTED], lg->status[LG_DUPLICATE],
	       lg->status[LG_REJECTED], lg->status[LG_OTHER], timed_out ? "true" : "false", cpu);
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
			if (!tool_parse_long(optarg, 1, 65535, &v))
				return usage();
			lg.port = (int)v;
			break;
		case 'n':
			if (!tool_parse_long(optarg, 1, LG_COUNT_MAX, &lg.count))
				return usage();
			break;
		case 'w':
			if (!tool_parse_long(optarg, 1, LG_WINDOW_MAX, &lg.window))
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
			if (!tool_parse_run_id(optarg, lg.run_id))
				return usage();
			break;
		case 't':
			if (!tool_parse_long(optarg, 1, 86400, &v))
				return usage();
			lg.timeout_s = (int)v;
			break;
		default:
			return usage();
		}
	}
	if (optind != argc)
		return usage();
	if (lg.stations_file && tool_stations_load(LG_PROG, lg.stations_file, LG_STATIONS_MAX,
						   &lg.stations, &lg.nstations) != 0)
		return 1;

	lg.sent_ns = calloc((size_t)lg.count, sizeof(int64_t));
	lg.latency_ns = malloc((size_t)lg.count * sizeof(int64_t));
	if (!lg.sent_ns || !lg.latency_ns) {
		fprintf(stderr, "ga_loadgen: out of memory\n");
		return 1;
	}
	for (long i = 0; i < lg.count; i++)
		lg.latency_ns[i] = -1;
	tool_sync_init(&lg.sync);

	mosquitto_lib_init();
	status = run(&lg);
	mosquitto_lib_cleanup();

	tool_sync_cleanup(&lg.sync);
	free(lg.sent_ns);
	free(lg.latency_ns);
	free(lg.stations);
	return status;
}
