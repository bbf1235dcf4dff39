/* device_registry.h - the monitoring-device registry, `[devices] file`
 * (spec §12): which device watches which station (hazard point), how
 * often it reports, and the threshold rules its channels are judged by.
 * Immutable once loaded; the service swaps in a new one on SIGHUP, like
 * the station registry. */
#ifndef GA_DEVICE_REGISTRY_H
#define GA_DEVICE_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "device_frame.h"
#include "error.h"
#include "registry.h"

#define DEVICE_REGISTRY_MAX_BYTES (64u << 20)
#define DEVICE_REGISTRY_MAX_DEVICES 200000
#define DEVICE_REGISTRY_MAX_RULES 32 /* per device */
#define DEVICE_INTERVAL_DEFAULT_S 600
#define DEVICE_INTERVAL_MAX_S 86400

/* The four monitoring warning levels, in rising order; NONE is "below
 * blue" (the API's null). */
enum device_level {
	DEVICE_LEVEL_NONE = 0,
	DEVICE_LEVEL_BLUE,   /* 注意级 */
	DEVICE_LEVEL_YELLOW, /* 警示级 */
	DEVICE_LEVEL_ORANGE, /* 警戒级 */
	DEVICE_LEVEL_RED,    /* 警报级 */
	DEVICE_LEVEL_COUNT
};

/* "blue".."red"; NULL for NONE. */
const char *device_level_name(enum device_level l);
/* "注意级".."警报级"; NULL for NONE. */
const char *device_level_zh(enum device_level l);
/* The level named s ("blue".."red"), or -1. */
int device_level_from_name(const char *s);

enum device_metric {
	DEVICE_METRIC_VALUE,
	DEVICE_METRIC_CHANGE_24H,
	DEVICE_METRIC_RATE_PER_DAY,
	DEVICE_METRIC_SUM_1H,
	DEVICE_METRIC_SUM_24H,
	DEVICE_METRIC_TANGENT_ANGLE,
	DEVICE_METRIC_COUNT
};

/* "value", "change_24h", ...; "unknown" past the enum. */
const char *device_metric_name(enum device_metric m);

struct device_rule {
	char channel[DEVICE_CHANNEL_MAX + 1]; /* L1_LF_1 */
	char field[DEVICE_FIELD_MAX + 1];     /* value, horizontal, gpsTotalX, ... */
	enum device_metric metric;
	double v_ref_per_day; /* tangent_angle only; > 0 */
	bool has[DEVICE_LEVEL_COUNT];
	double threshold[DEVICE_LEVEL_COUNT]; /* inclusive; rising with the level */
	int line; /* in the file, for messages: the first device's with this
		     rule set (sets are shared, below) */
};

/* A device, 40 bytes on x86-64 (issue 13: memory a channel). Its strings
 * live in the registry's string pool (a station's id once for all its
 * devices) and its rules are the registry's one copy of that rule set:
 * a fleet of 100,000 devices has a handful of distinct sets. All
 * borrowed from the registry. */
struct device {
	const char *device_code; /* 1..DEVICE_CODE_MAX characters */
	const char *station_id;	 /* < REGISTRY_ID_MAX characters */
	const struct device_rule *rules;
	int32_t interval_s;
	uint16_t n_rules; /* <= DEVICE_REGISTRY_MAX_RULES */
	int32_t line;
};

struct device_registry;

/* Loads and checks the registry at path. stations, when not NULL, is the
 * station registry every station_id must name. On error returns
 * GA_ERR_CONFIG (or GA_ERR_IO) with "FILE:LINE: problem" in err (the line
 * of the device or rule at fault) and leaves *out unchanged; on success
 * *out owns a new registry. */
ga_err device_registry_load(const char *path, const struct registry *stations,
			    struct device_registry **out, char *err, size_t errlen);
void device_registry_free(struct device_registry *r);

/* The device with this code, or NULL. Borrowed from r. O(log n). */
const struct device *device_registry_find(const struct device_registry *r, const char *code);
size_t device_registry_count(const struct device_registry *r);
/* The i-th device in device_code order (i < count). Borrowed. */
const struct device *device_registry_at(const struct device_registry *r, size_t i);

#endif
