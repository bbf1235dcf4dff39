/* device_judge.h - turns device readings into each hazard point's
 * monitoring level (spec §12): every rule of every device at a station
 * gives a level (the highest whose inclusive threshold its metric
 * reaches); the station's observed level is the highest of them; the
 * level it holds rises after confirm_points consecutive judged points at
 * or above a higher level, and falls only after clear_after below it.
 *
 * A "judged point" is one timestamp of one device that updated at least
 * one judged series; a frame with several timestamps (type 2) is judged
 * timestamp by timestamp, oldest first. Time is the readings' time (the
 * latest seen at the station), not the wall clock: replaying a stored
 * series gives the same levels.
 *
 * Not thread-safe; one owner feeds it. It borrows the registry, which
 * must outlive it (a reloaded registry means a new judge). */
#ifndef GA_DEVICE_JUDGE_H
#define GA_DEVICE_JUDGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "device_frame.h"
#include "device_registry.h"
#include "device_window.h"
#include "error.h"

struct device_judge_options {
	int confirm_points;	/* >= 1; [devices] confirm_points */
	int64_t clear_after_ms; /* >= 0; [devices] clear_after */
};

/* A level change at a station, with the reading that explains it: the
 * rule now at the highest level (rising, or falling to a level above
 * NONE), or the rule that was highest before (falling to NONE). */
struct device_judge_change {
	char station_id[REGISTRY_ID_MAX];
	enum device_level from, to;
	int64_t t_ms; /* the time of the point that made it */
	char device_code[DEVICE_CODE_MAX + 1];
	char channel[DEVICE_CHANNEL_MAX + 1];
	char field[DEVICE_FIELD_MAX + 1];
	enum device_metric metric;
	double metric_value;
	enum device_level rule_level; /* that rule's level now */
	double threshold;	      /* its threshold for rule_level; NAN when NONE */
};

/* The metric values of one rule, as last judged. */
struct device_judge_rule_state {
	enum device_level level;
	int have; /* 0: no value yet (too few points) */
	double value;
};

struct device_judge;

/* Rule's metric over w (the window of the series it reads) into *value
 * (0 when there is none yet) and the level it gives into *level; true
 * when the window has the metric. What the judge judges; the monitoring
 * charts replay it over stored points (http_monitoring_series.c). */
bool device_judge_metric(const struct device_rule *rule, const struct device_window *w,
			 double *value, enum device_level *level);

/* "horizontal" replayed from the store's rows (one field a row, in time
 * order): the gpsTotalX and gpsTotalY of one time paired into √(X² + Y²),
 * as the judge pairs them in a frame. Starts zeroed but for t_ms =
 * INT64_MIN (DEVICE_HORIZONTAL_INIT). */
struct device_horizontal {
	int64_t t_ms; /* the time of the X or Y waiting for its pair */
	double x, y;
	bool hx, hy;
};
#define DEVICE_HORIZONTAL_INIT                                                                     \
	{                                                                                          \
		.t_ms = INT64_MIN                                                                  \
	}

/* Folds the row (field, t_ms, value) in: true with *out when it completes
 * the pair of its time; false for the first of a pair or another field. */
bool device_horizontal_add(struct device_horizontal *h, const char *field, int64_t t_ms,
			   double value, double *out);

/* What a window must keep (DEVICE_WINDOW_KEEP_*) for metric m. */
unsigned device_judge_keep(enum device_metric m);

/* A judge for every device of reg (borrowed), all stations at NONE. */
ga_err device_judge_new(const struct device_registry *reg, const struct device_judge_options *opt,
			struct device_judge **out);
void device_judge_free(struct device_judge *j);

/* Judges the points of one frame of device code (points on fields no
 * rule names are ignored; "horizontal" is √(X²+Y²) of gpsTotalX and
 * gpsTotalY at the same time). Writes the level changes into changes
 * (at most cap; a frame makes at most one per timestamp) and their
 * number into *nchanges. GA_ERR_NOTFOUND when code is not in the
 * registry (nothing changes); GA_ERR_NOMEM. */
ga_err device_judge_feed(struct device_judge *j, const char *code, const struct device_point *pts,
			 size_t n, struct device_judge_change *changes, size_t cap,
			 size_t *nchanges);

/* The level a station holds (NONE also for a station with no device). */
enum device_level device_judge_level(const struct device_judge *j, const char *station_id);

/* Sets the level a station holds, as stored before a restart; the
 * hysteresis counters start afresh. GA_ERR_NOTFOUND for a station with
 * no device. */
ga_err device_judge_set_level(struct device_judge *j, const char *station_id,
			      enum device_level level);

/* The window of a device's series (channel, field), or NULL. Borrowed. */
const struct device_window *device_judge_window(const struct device_judge *j, const char *code,
						const char *channel, const char *field);

/* Rule i of device code as last judged, or NULL. Borrowed. */
const struct device_judge_rule_state *device_judge_rule(const struct device_judge *j,
							const char *code, size_t i);

#endif
