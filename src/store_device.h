/* store_device.h - monitoring devices in the store (spec §12, issue 13):
 * every point a device sent, the malformed frames kept raw (capped per
 * device per hour), each hazard point's monitoring level and every change
 * of it. Same rules as store.h: one connection per thread, writes inside
 * store_begin/store_commit (the writer's transaction).
 *
 * The statements are prepared once per connection (store_device_open):
 * points come hundreds a second. */
#ifndef GA_STORE_DEVICE_H
#define GA_STORE_DEVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "store.h"

/* The migration (appended to store_migrations in store_sql.c). Points are
 * keyed by (device, channel, field, time): a frame delivered again, or a
 * timestamp sent twice, is stored once and the first value wins (INSERT
 * ON CONFLICT DO NOTHING); what was inserted is what the judge is fed. Levels are
 * enum device_level (0 none .. 4 red). */
#define STORE_DEVICE_MIGRATION                                                                     \
	"CREATE TABLE IF NOT EXISTS device_points ("                                               \
	" device_code TEXT NOT NULL, channel TEXT NOT NULL, field TEXT NOT NULL,"                  \
	" t_ms INTEGER NOT NULL, value REAL NOT NULL, received_ms INTEGER NOT NULL,"               \
	" PRIMARY KEY (device_code, channel, field, t_ms)) WITHOUT ROWID;"                         \
	"CREATE INDEX IF NOT EXISTS device_points_by_time ON device_points (device_code, t_ms);"   \
	"CREATE TABLE IF NOT EXISTS device_malformed ("                                            \
	" id INTEGER PRIMARY KEY, device_code TEXT NOT NULL, hour INTEGER NOT NULL,"               \
	" reason TEXT NOT NULL, topic TEXT NOT NULL, raw BLOB NOT NULL,"                           \
	" raw_total INTEGER NOT NULL, received_ms INTEGER NOT NULL);"                              \
	"CREATE INDEX IF NOT EXISTS device_malformed_by_hour ON device_malformed"                  \
	" (device_code, hour);"                                                                    \
	"CREATE TABLE IF NOT EXISTS device_levels ("                                               \
	" station_id TEXT PRIMARY KEY, level INTEGER NOT NULL, t_ms INTEGER NOT NULL,"             \
	" changed_ms INTEGER NOT NULL) WITHOUT ROWID;"                                             \
	"CREATE TABLE IF NOT EXISTS device_level_changes ("                                        \
	" id INTEGER PRIMARY KEY, station_id TEXT NOT NULL, from_level INTEGER NOT NULL,"          \
	" to_level INTEGER NOT NULL, t_ms INTEGER NOT NULL, changed_ms INTEGER NOT NULL,"          \
	" detail TEXT NOT NULL);"                                                                  \
	"CREATE INDEX IF NOT EXISTS device_level_changes_by_station ON device_level_changes"       \
	" (station_id, t_ms);"

/* Malformed frames kept raw per device (the code read from the frame, ""
 * when none could be read) per hour of receipt; past it they are only
 * counted. */
#define STORE_DEVICE_MALFORMED_PER_HOUR 20

struct store_device;

/* Prepares the statements on s (borrowed: close this before s). */
ga_err store_device_open(struct store *s, struct store_device **out);
void store_device_close(struct store_device *sd);

/* Stores one point unless its key is there; *inserted says which. */
ga_err store_device_point_put(struct store_device *sd, const char *device_code, const char *channel,
			      const char *field, int64_t t_ms, double value, int64_t received_ms,
			      bool *inserted);

/* Keeps a malformed frame's first rawlen bytes (raw_total the payload's
 * length) unless STORE_DEVICE_MALFORMED_PER_HOUR of device_code's are
 * kept for that hour already; *kept says which. */
ga_err store_device_malformed_put(struct store_device *sd, const char *device_code,
				  const char *reason, const char *topic, const void *raw,
				  size_t rawlen, size_t raw_total, int64_t received_ms, bool *kept);

/* Sets a station's level (t_ms the reading that made it) and appends the
 * change (detail: a JSON object) to device_level_changes. */
ga_err store_device_level_change(struct store_device *sd, const char *station_id, int from, int to,
				 int64_t t_ms, int64_t changed_ms, const char *detail);

/* The incident a station's warnings are drafted for (spec §12; set with
 * the first draft, workflow_warning.c; table device_incidents of a later
 * migration in store_sql.c) into id (idlen bytes): GA_ERR_NOTFOUND when
 * there is none yet. */
ga_err store_device_incident_get(struct store_device *sd, const char *station_id, char *id,
				 size_t idlen);
/* Sets it (an existing incident's id). */
ga_err store_device_incident_set(struct store_device *sd, const char *station_id,
				 const char *incident_id);

/* Every stored station level; cb returns false to stop. */
typedef bool (*store_device_level_cb)(const char *station_id, int level, int64_t t_ms, void *arg);
ga_err store_device_levels(struct store_device *sd, store_device_level_cb cb, void *arg);

/* Every point of device_code at or after since_ms, oldest first. */
typedef bool (*store_device_point_cb)(const char *channel, const char *field, int64_t t_ms,
				      double value, void *arg);
ga_err store_device_points_since(struct store_device *sd, const char *device_code, int64_t since_ms,
				 store_device_point_cb cb, void *arg);

/* Where a read of device_code's points at or after since_ms must start
 * to get at most max of them, the newest: *start_ms is one past the time
 * of the (max + 1)-th newest (the points of one time go together, so a
 * few less than max may follow). GA_ERR_NOTFOUND when there are no more
 * than max (read from since_ms). Read only. */
ga_err store_device_points_start(struct store_device *sd, const char *device_code, int64_t since_ms,
				 int max, int64_t *start_ms);

/* The time of device_code's latest point (and when it was received):
 * GA_ERR_NOTFOUND when it has none. */
ga_err store_device_latest(struct store_device *sd, const char *device_code, int64_t *t_ms,
			   int64_t *received_ms);

/* Up to limit level changes of station_id whose reading is at or after
 * since_ms, oldest first (detail: the JSON stored with the change). */
typedef bool (*store_device_change_cb)(int from, int to, int64_t t_ms, int64_t changed_ms,
				       const char *detail, void *arg);
ga_err store_device_changes_since(struct store_device *sd, const char *station_id, int64_t since_ms,
				  int limit, store_device_change_cb cb, void *arg);

/* Retention ([devices] keep_days): deletes device_code's points read
 * before before_ms, the oldest, about limit of them (the points at the
 * limit-th oldest's time too: a timestamp's fields go together); deletes
 * the refused frames received before before_ms among the limit oldest.
 * *n: rows deleted. */
ga_err store_device_purge_points(struct store_device *sd, const char *device_code,
				 int64_t before_ms, int limit, int64_t *n);
ga_err store_device_purge_malformed(struct store_device *sd, int64_t before_ms, int limit,
				    int64_t *n);

/* How many points and malformed frames are stored (tests, reports). */
ga_err store_device_counts(struct store_device *sd, int64_t *points, int64_t *malformed);

#endif
