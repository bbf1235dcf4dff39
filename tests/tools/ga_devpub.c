/* ga_devpub - the publisher of the device fleet benchmark
 * (tests/bench/devices.sh, docs/benchmarks.md "Monitoring device fleet").
 *
 *   ga_devpub --flood --count N [--window W]          (as fast as W allows)
 *   ga_devpub --mix --seconds S [--cross L]           (the fleet's own pace)
 *   ga_devpub --sizes                                 (sizeof the judge's parts)
 *   common: [--host H] [--port P] [--slow NS] [--fast NF] [--timeout S]
 *
 * The fleet is the one tests/bench/devices_registry.py writes: devices
 * BF000000.. ; the first NS (100 000) report every 10 min, nine in ten a
 * crack meter (L1_LF_1 value), every tenth a GNSS station (L1_GP_1
 * gpsTotalX/Y/Z); the NF (2 000) after them are rain gauges (L3_YL_1
 * value, totalValue) in 加密采集, one frame a second. Every frame is a
 * type-2 frame of one timestamp on geohazard/v1/dp/{code}, QoS 1, its
 * reading time the wall clock (ms) at the publish call: so a stored level
 * change's t_ms is when the frame that made it was published.
 *
 * --flood: N frames round-robin over all devices, steady readings (no
 * level changes), at most W unacknowledged by the broker.
 * --mix: for S seconds, every slow device once per 600 s and every fast
 * device once per second, evenly spread (the slow ones' phase continues
 * from a random start); meanwhile the first crack meter of each of the L
 * first stations (BF000000, BF000010, ...) is left out of that schedule
 * and sends instead the series 100, 102, 102, 105, 105, 110, 110, 120,
 * 120 mm, its 9 L frames spread evenly over the S seconds: with
 * confirm_points 2 and the change_24h rule 2/5/10/20 of the registry each
 * such station rises to blue, yellow, orange and red at the 3rd, 5th, 7th
 * and 9th frame (4 L level changes whose latency is measured).
 *
 * Prints one JSON line: {"sent","acked","nacked","cross","elapsed_s",
 * "rate","late_ms_max","timeout","cpu_s"}; late_ms_max (--mix) is how far
 * behind its schedule the publisher fell at worst. Exit 0 when every
 * frame was acknowledged by the broker, 1 otherwise, 2 on a usage error. */
#include <getopt.h>
#include <sys/resource.h>

#include "device_judge.h"
#include "device_window.h"
#include "tool_util.h"

#define DP_PROG "ga_devpub"
#define DP_COUNT_MAX 100000000L
#define DP_WINDOW_MAX 65535L
#define DP_DEVICES_MAX 1000000L
#define DP_TICK_NS 5000000L /* --mix: the schedule's step, 5 ms */
#define DP_CROSS_STEPS 9

static const double dp_cross_mm[DP_CROSS_STEPS] = {100, 102, 102, 105, 105, 110, 110, 120, 120};

struct devpub {
	const char *host;
	int port;
	long slow, fast;
	long count, window, seconds, cross;
	int timeout_s;
	struct tool_sync sync;
	long inflight, acked, nacked;
	bool connected, failed;
};

static int usage(void)
{
	fprintf(stderr, "usage: ga_devpub --flood --count N [--window W] | --mix --seconds S\n"
			"                 [--cross L] | --sizes; [--host H] [--port P]\n"
			"                 [--slow NS] [--fast NF] [--timeout S]\n");
	return 2;
}

static void on_connect(struct mosquitto *m, void *obj, int rc, int flags,
		       const mosquitto_property *p)
{
	struct devpub *dp = obj;
	tool_sync_set(&dp->sync, rc == 0 ? &dp->connected : &dp->failed, true);
}

static void on_publish(struct mosquitto *m, void *obj, int mid, int reason,
		       const mosquitto_property *p)
{
	struct devpub *dp = obj;
	pthread_mutex_lock(&dp->sync.lock);
	dp->inflight--;
	dp->acked++;
	if (reason >= 128)
		dp->nacked++;
	pthread_cond_broadcast(&dp->sync.cond);
	pthread_mutex_unlock(&dp->sync.lock);
}

static int64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The frame of device i at time t_ms: its steady reading, or mm for a
 * crossing crack meter (mm >= 0). Returns the payload's length, or -1. */
static int frame_format(const struct devpub *dp, long i, int64_t t_ms, double mm, char *buf,
			size_t len)
{
	char when[40], body[TOOL_PAYLOAD_MAX];
	time_t s = (time_t)(t_ms / 1000);
	struct tm tm;
	int n;

	gmtime_r(&s, &tm);
	if (strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
		return -1;
	if (i >= dp->slow)
		n = snprintf(body, sizeof(body),
			     "{\"BF%06ld\":{\"L3_YL_1\":{\"%s.%03dZ\":"
			     "{\"value\":0.05,\"totalValue\":%.2f}}}}",
			     i, when, (int)(t_ms % 1000), 100 + (double)(t_ms % 100000) / 1000);
	else if (i % 10 == 9)
		n = snprintf(body, sizeof(body),
			     "{\"BF%06ld\":{\"L1_GP_1\":{\"%s.%03dZ\":"
			     "{\"gpsTotalX\":12.5,\"gpsTotalY\":-3.25,\"gpsTotalZ\":1.5}}}}",
			     i, when, (int)(t_ms % 1000));
	else
		n = snprintf(body, sizeof(body), "{\"BF%06ld\":{\"L1_LF_1\":{\"%s.%03dZ\":%.2f}}}",
			     i, when, (int)(t_ms % 1000), mm >= 0 ? mm : 100.0);
	if (n < 0 || (size_t)n >= sizeof(body) || (size_t)n + 3 > len || n > 65535)
		return -1;
	buf[0] = 2;
	buf[1] = (char)((n >> 8) & 0xff);
	buf[2] = (char)(n & 0xff);
	memcpy(buf + 3, body, (size_t)n);
	return n + 3;
}

/* Publishes device i's frame now, waiting while W are in flight. Returns
 * false when the run's deadline passed or the publish failed. */
static bool publish(struct devpub *dp, struct mosquitto *m, long i, double mm, int64_t overall)
{
	char payload[TOOL_PAYLOAD_MAX], topic[TOOL_TOPIC_MAX];

	pthread_mutex_lock(&dp->sync.lock);
	while (dp->inflight >= dp->window) {
		struct timespec dl = tool_deadline_after(1);
		pthread_cond_timedwait(&dp->sync.cond, &dp->sync.lock, &dl);
		if (tool_now_ns() > overall) {
			pthread_mutex_unlock(&dp->sync.lock);
			return false;
		}
	}
	dp->inflight++;
	pthread_mutex_unlock(&dp->sync.lock);
	int n = frame_format(dp, i, wall_ms(), mm, payload, sizeof(payload));
	snprintf(topic, sizeof(topic), "geohazard/v1/dp/BF%06ld", i);
	int rc = n < 0 ? MOSQ_ERR_INVAL
		       : mosquitto_publish_v5(m, NULL, topic, n, payload, 1, false, NULL);
	if (rc != MOSQ_ERR_SUCCESS) {
		fprintf(stderr, "ga_devpub: publish BF%06ld: %s\n", i, mosquitto_strerror(rc));
		pthread_mutex_lock(&dp->sync.lock);
		dp->inflight--;
		pthread_mutex_unlock(&dp->sync.lock);
		return false;
	}
	return true;
}

/* Whether slow device i is a crossing crack meter of --mix. */
static bool is_cross(const struct devpub *dp, long i)
{
	return i % 10 == 0 && i / 10 < dp->cross;
}

static int run(struct devpub *dp)
{
	struct mosquitto *m = tool_mqtt_new("ga-devpub", NULL, dp);
	long sent = 0, ncross = 0, total = dp->slow + dp->fast;
	int64_t start, end, late_max = 0;
	bool ok = true;
	int status = 1;

	if (!m)
		goto out;
	mosquitto_int_option(m, MOSQ_OPT_SEND_MAXIMUM, (int)dp->window);
	mosquitto_connect_v5_callback_set(m, on_connect);
	mosquitto_publish_v5_callback_set(m, on_publish);
	if (!tool_mqtt_start(DP_PROG, m, dp->host, dp->port, 60) ||
	    !tool_sync_wait_flag(&dp->sync, &dp->connected, &dp->failed, 10)) {
		fprintf(stderr, "ga_devpub: not connected\n");
		goto out;
	}
	start = tool_now_ns();
	int64_t overall = start + (int64_t)dp->timeout_s * 1000000000;
	if (dp->count > 0) {
		for (long k = 0; k < dp->count && ok; k++)
			if ((ok = publish(dp, m, k % total, -1, overall)))
				sent++;
	} else {
		/* Slow devices from a random phase; the crossing frames at
		 * (f + 0.5) S / (9 L), device f % L, step f / L. */
		int64_t span = (int64_t)dp->seconds * 1000000000;
		long slow0 = (long)(wall_ms() % dp->slow), nslow = 0, nfast = 0;
		long ncross_all = dp->cross * DP_CROSS_STEPS;
		for (int64_t t = 0; t <= span && ok; t += DP_TICK_NS) {
			tool_sleep_ns(start + t - tool_now_ns());
			int64_t late = tool_now_ns() - (start + t);
			if (late > late_max)
				late_max = late;
			long want_slow = (long)((double)t / 1e9 * (double)dp->slow / 600.0);
			long want_fast = (long)((double)t / 1e9 * (double)dp->fast);
			long want_cross =
			    (long)(((double)t / (double)span) * (double)ncross_all + 0.5);
			for (; nslow < want_slow && ok; nslow++) {
				long i = (slow0 + nslow) % dp->slow;
				if (!is_cross(dp, i) && (ok = publish(dp, m, i, -1, overall)))
					sent++;
			}
			for (; nfast < want_fast && ok; nfast++)
				if ((ok = publish(dp, m, dp->slow + nfast % dp->fast, -1, overall)))
					sent++;
			for (; ncross < want_cross && ncross < ncross_all && ok; ncross++) {
				long i = (ncross % dp->cross) * 10;
				double mm = dp_cross_mm[ncross / dp->cross];
				if ((ok = publish(dp, m, i, mm, overall)))
					sent++;
			}
		}
	}
	pthread_mutex_lock(&dp->sync.lock);
	while (dp->acked < sent && tool_now_ns() < overall) {
		struct timespec dl = tool_deadline_after(1);
		pthread_cond_timedwait(&dp->sync.cond, &dp->sync.lock, &dl);
	}
	end = tool_now_ns();
	long acked = dp->acked, nacked = dp->nacked;
	pthread_mutex_unlock(&dp->sync.lock);
	tool_mqtt_stop(m);

	struct rusage ru;
	double cpu = 0, elapsed = (double)(end - start) / 1e9;
	if (getrusage(RUSAGE_SELF, &ru) == 0)
		cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
		      (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
	printf("{\"sent\":%ld,\"acked\":%ld,\"nacked\":%ld,\"cross\":%ld,\"elapsed_s\":%.3f,"
	       "\"rate\":%.1f,\"late_ms_max\":%.1f,\"timeout\":%s,\"cpu_s\":%.3f}\n",
	       sent, acked, nacked, ncross, elapsed, elapsed > 0 ? (double)sent / elapsed : 0,
	       (double)late_max / 1e6, ok && acked == sent ? "false" : "true", cpu);
	fflush(stdout);
	if (ok && acked == sent && nacked == 0)
		status = 0;
out:
	mosquitto_destroy(m);
	return status;
}

/* The sizes the memory accounting of docs/benchmarks.md adds up: one
 * JSON line. A window's size by what it keeps: crack meter (change_24h),
 * GNSS (rate_per_day, tangent_angle), rain gauge (sum_1h, sum_24h). */
static int sizes(void)
{
	printf("{\"device_window_head\":%zu,\"window_crack\":%zu,\"window_gnss\":%zu,"
	       "\"window_rain\":%zu,\"window_all\":%zu,\"buckets\":%d,\"slots\":%d,"
	       "\"device_judge_rule_state\":%zu,\"device\":%zu,\"device_rule\":%zu}\n",
	       sizeof(struct device_window), device_window_size(DEVICE_WINDOW_KEEP_FIRST),
	       device_window_size(DEVICE_WINDOW_KEEP_LSQ),
	       device_window_size(DEVICE_WINDOW_KEEP_SUM | DEVICE_WINDOW_KEEP_SLOTS),
	       device_window_size(DEVICE_WINDOW_KEEP_ALL), DEVICE_WINDOW_BUCKETS,
	       DEVICE_WINDOW_SLOTS, sizeof(struct device_judge_rule_state), sizeof(struct device),
	       sizeof(struct device_rule));
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"host", required_argument, NULL, 'h'},
	    {"port", required_argument, NULL, 'p'},
	    {"flood", no_argument, NULL, 'F'},
	    {"mix", no_argument, NULL, 'M'},
	    {"sizes", no_argument, NULL, 'Z'},
	    {"count", required_argument, NULL, 'n'},
	    {"window", required_argument, NULL, 'w'},
	    {"seconds", required_argument, NULL, 'S'},
	    {"cross", required_argument, NULL, 'c'},
	    {"slow", required_argument, NULL, 's'},
	    {"fast", required_argument, NULL, 'f'},
	    {"timeout", required_argument, NULL, 't'},
	    {NULL, 0, NULL, 0},
	};
	struct devpub dp = {.host = "127.0.0.1",
			    .port = 1883,
			    .slow = 100000,
			    .fast = 2000,
			    .window = 1000,
			    .timeout_s = 600};
	char mode = 0;
	long v;
	int ch, status;

	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'h':
			dp.host = optarg;
			break;
		case 'p':
			if (!tool_parse_long(optarg, 1, 65535, &v))
				return usage();
			dp.port = (int)v;
			break;
		case 'F':
		case 'M':
		case 'Z':
			if (mode)
				return usage();
			mode = (char)ch;
			break;
		case 'n':
			if (!tool_parse_long(optarg, 1, DP_COUNT_MAX, &dp.count))
				return usage();
			break;
		case 'w':
			if (!tool_parse_long(optarg, 1, DP_WINDOW_MAX, &dp.window))
				return usage();
			break;
		case 'S':
			if (!tool_parse_long(optarg, 1, 86400, &dp.seconds))
				return usage();
			break;
		case 'c':
			if (!tool_parse_long(optarg, 0, DP_DEVICES_MAX, &dp.cross))
				return usage();
			break;
		case 's':
			if (!tool_parse_long(optarg, 10, DP_DEVICES_MAX, &dp.slow))
				return usage();
			break;
		case 'f':
			if (!tool_parse_long(optarg, 0, DP_DEVICES_MAX, &dp.fast))
				return usage();
			break;
		case 't':
			if (!tool_parse_long(optarg, 1, 86400, &v))
				return usage();
			dp.timeout_s = (int)v;
			break;
		default:
			return usage();
		}
	}
	if (optind != argc || !mode || (mode == 'F' && dp.count == 0) ||
	    (mode == 'M' && (dp.seconds == 0 || dp.count != 0)) || dp.cross * 10 > dp.slow ||
	    dp.slow + dp.fast > 999999)
		return usage();
	if (mode == 'Z')
		return sizes();
	tool_sync_init(&dp.sync);
	mosquitto_lib_init();
	status = run(&dp);
	mosquitto_lib_cleanup();
	tool_sync_cleanup(&dp.sync);
	return status;
}
