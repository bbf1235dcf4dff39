/* tool_util.h - what the benchmark tools (ga_loadgen, ga_draftbench)
 * share: the clock, option numbers, station registries, the report they
 * publish, an MQTT 5 client, a lock and condition the libmosquitto
 * threads signal on, and nearest-rank percentiles.
 *
 * Every C file in tests/tools is an executable of its own, so this is a header
 * of static inline functions, not a module. Messages on stderr start with
 * the tool's name, passed as prog. */
#ifndef GA_TOOL_UTIL_H
#define GA_TOOL_UTIL_H

#include <errno.h>
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

#define TOOL_ID_MAX 64		/* station_id and report_id, spec §2 */
#define TOOL_RUN_ID_MAX 40	/* leaves room for "-{i}" in a report_id */
#define TOOL_HAZARD_TYPE_MAX 32 /* with its NUL */
#define TOOL_PAYLOAD_MAX 1024
#define TOOL_TOPIC_MAX 256

/* --- time ------------------------------------------------------------- */

/* CLOCK_MONOTONIC in nanoseconds. */
static inline int64_t tool_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Sleeps ns nanoseconds (nothing when ns <= 0), through signals. */
static inline void tool_sleep_ns(int64_t ns)
{
	if (ns <= 0)
		return;
	struct timespec ts = {(time_t)(ns / 1000000000), (long)(ns % 1000000000)};
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* The deadline for pthread_cond_timedwait (CLOCK_REALTIME) s seconds on. */
static inline struct timespec tool_deadline_after(long s)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += s;
	return ts;
}

/* --- options ------------------------------------------------------------ */

/* A whole decimal number in [lo, hi] into *out; false (and *out unchanged)
 * for anything else. */
static inline bool tool_parse_long(const char *s, long lo, long hi, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

/* Whether s is a station_id or report_id of spec §2: 1..TOOL_ID_MAX of
 * [A-Za-z0-9._:-]. */
static inline bool tool_id_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > TOOL_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == ':' || c == '-'))
			return false;
	}
	return true;
}

/* A --run-id: an id of at most TOOL_RUN_ID_MAX, copied into run_id
 * (TOOL_RUN_ID_MAX + 1 bytes); false when s is not one. */
static inline bool tool_parse_run_id(const char *s, char *run_id)
{
	if (strlen(s) > TOOL_RUN_ID_MAX || !tool_id_ok(s))
		return false;
	snprintf(run_id, TOOL_RUN_ID_MAX + 1, "%s", s);
	return true;
}

/* --- the station registry ------------------------------------------------- */

struct tool_station {
	char id[TOOL_ID_MAX + 1];
	char hazard_type[TOOL_HAZARD_TYPE_MAX];
};

/* Reads the station_id and hazard_type of every feature of the registry
 * GeoJSON path (1..max features) into *out (new, free it) and *n.
 * Returns 0, or -1 with a message and nothing allocated. */
static inline int tool_stations_load(const char *prog, const char *path, size_t max,
				     struct tool_station **out, size_t *n)
{
	struct tool_station *st = NULL;
	json_error_t jerr;
	int rc = -1;
	json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		fprintf(stderr, "%s: %s:%d: %s\n", prog, path, jerr.line, jerr.text);
		return -1;
	}
	json_t *features = json_object_get(root, "features");
	size_t nf = json_array_size(features);
	if (nf == 0 || nf > max) {
		fprintf(stderr, "%s: %s: expected 1..%zu features\n", prog, path, max);
		goto out;
	}
	st = calloc(nf, sizeof(*st));
	if (!st)
		goto out;
	for (size_t i = 0; i < nf; i++) {
		json_t *props = json_object_get(json_array_get(features, i), "properties");
		const char *id = json_string_value(json_object_get(props, "station_id"));
		const char *ht = json_string_value(json_object_get(props, "hazard_type"));
		if (!id || !ht || !tool_id_ok(id) || strlen(ht) >= TOOL_HAZARD_TYPE_MAX) {
			fprintf(stderr, "%s: %s: feature %zu: bad station_id or hazard_type\n",
				prog, path, i);
			goto out;
		}
		snprintf(st[i].id, sizeof(st[i].id), "%s", id);
		snprintf(st[i].hazard_type, sizeof(st[i].hazard_type), "%s", ht);
	}
	*out = st;
	*n = nf;
	st = NULL;
	rc = 0;
out:
	free(st);
	json_decref(root);
	return rc;
}

/* --- the report ---------------------------------------------------------- */

/* Formats report "{run_id}-{i}", a danger report of station st observed
 * now (+08:00), into buf; more is the rest of its members, JSON without
 * the braces (e.g. "\"place\":\"x\""). Returns its length, or -1 when it
 * does not fit in len. */
static inline int tool_report_format(const char *run_id, long i, const struct tool_station *st,
				     const char *more, char *buf, size_t len)
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
			 "\"observed_at\":\"%s\",%s}",
			 run_id, i, st->id, st->hazard_type, when, more);
	if (n < 0 || (size_t)n >= len)
		return -1;
	return n;
}

/* --- threads: one lock, one condition ------------------------------------- */

/* What the libmosquitto threads and the main thread share: every change
 * under lock, followed by a broadcast on cond. */
struct tool_sync {
	pthread_mutex_t lock;
	pthread_cond_t cond;
};

static inline void tool_sync_init(struct tool_sync *y)
{
	pthread_mutex_init(&y->lock, NULL);
	pthread_cond_init(&y->cond, NULL);
}

static inline void tool_sync_cleanup(struct tool_sync *y)
{
	pthread_cond_destroy(&y->cond);
	pthread_mutex_destroy(&y->lock);
}

/* Sets *flag under the lock and wakes the waiters. */
static inline void tool_sync_set(struct tool_sync *y, bool *flag, bool value)
{
	pthread_mutex_lock(&y->lock);
	*flag = value;
	pthread_cond_broadcast(&y->cond);
	pthread_mutex_unlock(&y->lock);
}

/* Waits until pred(arg) holds or timeout_s passes; returns pred(arg).
 * The caller holds the lock. */
static inline bool tool_sync_wait(struct tool_sync *y, bool (*pred)(const void *), const void *arg,
				  long timeout_s)
{
	struct timespec dl = tool_deadline_after(timeout_s);
	while (!pred(arg))
		if (pthread_cond_timedwait(&y->cond, &y->lock, &dl) == ETIMEDOUT)
			break;
	return pred(arg);
}

/* Takes the lock and waits until *flag or *fail is set or timeout_s
 * passes; returns *flag. */
static inline bool tool_sync_wait_flag(struct tool_sync *y, const bool *flag, const bool *fail,
				       long timeout_s)
{
	struct timespec dl = tool_deadline_after(timeout_s);
	pthread_mutex_lock(&y->lock);
	while (!*flag && !*fail)
		if (pthread_cond_timedwait(&y->cond, &y->lock, &dl) == ETIMEDOUT)
			break;
	bool ok = *flag;
	pthread_mutex_unlock(&y->lock);
	return ok;
}

/* --- MQTT ------------------------------------------------------------- */

/* A new MQTT 5 client "{prefix}-{role}-{pid}" ("{prefix}-{pid}" when role
 * is NULL) with obj as its callbacks' obj and no Nagle delay on our side:
 * latency is measured per message. NULL on failure. */
static inline struct mosquitto *tool_mqtt_new(const char *prefix, const char *role, void *obj)
{
	char id[64];
	if (role)
		snprintf(id, sizeof(id), "%s-%s-%ld", prefix, role, (long)getpid());
	else
		snprintf(id, sizeof(id), "%s-%ld", prefix, (long)getpid());
	struct mosquitto *m = mosquitto_new(id, true, obj);
	if (!m)
		return NULL;
	mosquitto_int_option(m, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
	mosquitto_int_option(m, MOSQ_OPT_TCP_NODELAY, 1);
	return m;
}

/* Connects m to host:port and starts its network thread; false, with a
 * message, when either fails. */
static inline bool tool_mqtt_start(const char *prog, struct mosquitto *m, const char *host,
				   int port, int keepalive)
{
	if (mosquitto_connect_bind_v5(m, host, port, keepalive, NULL, NULL) != MOSQ_ERR_SUCCESS ||
	    mosquitto_loop_start(m) != MOSQ_ERR_SUCCESS) {
		fprintf(stderr, "%s: cannot connect to %s:%d\n", prog, host, port);
		return false;
	}
	return true;
}

/* Disconnects m and stops its network thread; nothing for NULL. */
static inline void tool_mqtt_stop(struct mosquitto *m)
{
	if (!m)
		return;
	mosquitto_disconnect_v5(m, 0, NULL);
	mosquitto_loop_stop(m, false);
}

/* Whether a SUBACK for one filter granted it. */
static inline bool tool_suback_ok(int n, const int *qos)
{
	return n == 1 && qos[0] < 128;
}

/* --- statistics -------------------------------------------------------- */

static inline int tool_cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

static inline void tool_sort_i64(int64_t *v, size_t n)
{
	qsort(v, n, sizeof(*v), tool_cmp_i64);
}

/* Nearest-rank percentile p of n sorted nanosecond values, in
 * milliseconds; 0 when n is 0. */
static inline double tool_pct_ms(const int64_t *v, size_t n, double p)
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

/* The largest of n sorted nanosecond values, in milliseconds; 0 when n is
 * 0. */
static inline double tool_max_ms(const int64_t *v, size_t n)
{
	return n ? (double)v[n - 1] / 1e6 : 0.0;
}

#endif
