/* http_monitoring_series.h - what GET /api/v1/monitoring/{station_id}
 * (spec §12) draws for one device: each channel field's stored points of
 * the window (`series`), and each rule's metric replayed over them
 * (`judged`: the line its thresholds are drawn against: a crack meter's
 * change_24h, not its cumulative reading). Each line is cut to at most
 * HTTP_MON_SERIES_POINTS points server-side, so a device at one frame a
 * second (加密采集) costs the console what one at ten minutes does.
 *
 * The metric is replayed through a device_window fed with the stored
 * points in time order, from 25 h before the window (the window's reach)
 * on: what the judge computed for points that came in order. */
#ifndef GA_HTTP_MONITORING_SERIES_H
#define GA_HTTP_MONITORING_SERIES_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "device_registry.h"
#include "error.h"
#include "store_device.h"

/* Points of one drawn line at most: up to it, every point; past it the
 * lowest and the highest point of each of HTTP_MON_BUCKETS equal slices
 * of the window, in time order, and the latest point (a peak is never
 * smoothed away, the latest reading is always there). */
#define HTTP_MON_SERIES_POINTS 600
#define HTTP_MON_BUCKETS ((HTTP_MON_SERIES_POINTS - 1) / 2)
/* Stored points read per device: the detail is built on the HTTP thread
 * and a point read costs about 6 µs (100,000 in 0.6 s, RelWithDebInfo,
 * SQLite), so about 0.3 s at most per device. That is 72 h + the 25 h
 * warm-up at one point every 7 s on one field, or at one a minute on 8
 * fields; past it the newest are read and the lines start later
 * ("truncated"; at one frame a second, the last 14 h). */
#define HTTP_MON_ROWS_MAX 50000
/* Channel fields drawn per device; past it the rest are left out
 * ("truncated"). */
#define HTTP_MON_LINES_MAX 64

struct http_mon_window {
	int64_t since_ms, now_ms; /* the window drawn, since_ms < now_ms */
	int utc_offset_min;	  /* of the times written */
};

/* Appends dev's lines over win to series and its rules' to judged (both
 * arrays, borrowed); sets *truncated when a cap left points out. GA_OK,
 * GA_ERR_NOMEM, or the store's error. */
ga_err http_mon_device_series(struct store_device *sd, const struct device *dev,
			      const struct http_mon_window *win, json_t *series, json_t *judged,
			      bool *truncated);

/* {"blue": 2, ...}: the levels rule has (a new reference, NULL on ENOMEM). */
json_t *http_mon_thresholds(const struct device_rule *rule);

#endif
