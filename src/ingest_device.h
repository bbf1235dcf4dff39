/* ingest_device.h - monitoring devices' data frames (spec §12) on the
 * report path: read by the sessions (ingest.c) from `$dp` and
 * `geohazard/v1/dp/{code}`, committed by the writer in the same group
 * transactions as reports (ingest_commit.c) and acknowledged after that
 * commit, like reports. A frame acknowledged is a frame stored.
 *
 * Session side (any session thread): ingest_device_topic,
 * ingest_device_subscribe, ingest_device_parse, ingest_device_count.
 * Writer side (the writer thread only): struct ingest_device, which owns
 * the judge (device_judge.h): inside the transaction it stores the
 * points (INSERT OR IGNORE), feeds the judge the points actually
 * inserted, and stores, audits and queues the notice of every level
 * change, so a kill -9 before the commit replays the frame and judges it
 * once, and one after the commit finds the points stored and judges
 * nothing again. */
#ifndef GA_INGEST_DEVICE_H
#define GA_INGEST_DEVICE_H

#include <mosquitto.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "device_frame.h"
#include "error.h"

#define INGEST_DEVICE_TOPIC_DP "$dp"
#define INGEST_DEVICE_TOPIC_PREFIX "geohazard/v1/dp/"
/* A device is offline once silent for this many interval_s. */
#define INGEST_DEVICE_OFFLINE_INTERVALS 3

struct service;
struct store;
struct ingest_writer_item;

/* One frame between its arrival and its commit. */
struct ingest_device_frame {
	struct device_frame f;
	enum device_frame_reason reason; /* DEVICE_FRAME_OK, _IGNORED, or why refused */
	/* out, set by the writer */
	int inserted;  /* points stored now (the others were there) */
	int nchanges;  /* level changes the frame made */
	bool kept_raw; /* a refused frame kept raw (under the hourly cap) */
};

/* Is topic one of the frames' topics? *device is the code the topic
 * names, NULL for `$dp`. */
bool ingest_device_topic(const char *topic, const char **device);

/* Subscribes session index to the frames' topics when [devices] file is
 * set: every session to the shared `geohazard/v1/dp/+`; session 0 alone
 * to `$dp`, unshared (mosquitto 2.0 delivers nothing to a
 * `$share/{group}/$dp` filter: a topic starting with `$` is not matched
 * by shared subscriptions; tried against 2.0.11). */
void ingest_device_subscribe(struct mosquitto *mosq, struct service *svc, int index,
			     const char *client_id);

/* Parses one payload (len bytes) received at now_ms on a topic naming
 * topic_device (NULL for `$dp`) into out (its earlier contents cleaned
 * up), and looks the device up in the registry (under svc->lock):
 * out->reason says the outcome. GA_ERR_NOMEM only; every fault of the
 * frame is a reason. */
ga_err ingest_device_parse(struct service *svc, const char *topic_device, const void *payload,
			   size_t len, int64_t now_ms, struct ingest_device_frame *out);

/* Frees what df owns (not df). */
void ingest_device_frame_cleanup(struct ingest_device_frame *df);

/* After the commit: /metrics counts the frame by outcome and reason. */
void ingest_device_count(struct service *svc, const struct ingest_device_frame *df);

/* --- writer side ----------------------------------------------------- */

struct ingest_device;

/* The writer's device state for svc: the registry's judge rebuilt from
 * store s (the writer's connection; borrowed), windows from the points of
 * each device's last 25 h, levels as stored. NULL in *out when [devices]
 * file is not set. Called before the writer thread starts. */
ga_err ingest_device_new(struct service *svc, struct store *s, struct ingest_device **out);
void ingest_device_free(struct ingest_device *d);

/* Commits one frame's item inside the writer's open transaction: points
 * stored and judged, level changes stored, audited and noticed; a
 * refused frame kept raw under its cap. Only storage failures are
 * returned. */
ga_err ingest_device_commit(struct ingest_device *d, struct ingest_writer_item *it);

/* The transaction the frames went into was committed (ok) or not: when
 * not, the judge has seen points the store has not, and is rebuilt from
 * the store before the next frame. */
void ingest_device_txn_end(struct ingest_device *d, bool ok);

/* About once a second, in the writer thread: devices silent for
 * INGEST_DEVICE_OFFLINE_INTERVALS × interval_s are reported offline
 * (notice, /metrics, log), once, and back online when a frame comes. */
void ingest_device_tick(struct ingest_device *d, int64_t now_ms);

#endif
