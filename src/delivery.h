/* delivery.h - durable delivery of published alerts to the channels
 * (issue 5 "Delivery ledger"; channel.h is what each channel does).
 *
 * Publishing a version writes one ledger row per channel in the
 * publishing transaction (delivery_enqueue), so a version that is
 * published is also due everywhere, through any crash. A worker thread
 * with a store connection of its own sends the due rows with libcurl's
 * multi interface (many at once; nothing here ever blocks ingest or the
 * HTTP server), retries with exponential backoff and jitter until the
 * channel's deadline, then marks the row failed and tells the
 * supervisors. Every attempt carries the same idempotency key
 * "{alert_id}:{version}". Rows left pending or sending by a stop or a
 * kill -9 are sent at the next start.
 *
 *   row states:  pending ──start──▶ sending ──answer──▶ delivered
 *                   ▲                  │  └─failure, before deadline─▶ pending
 *                   └──resend──── failed ◀─failure at the deadline
 *
 * A channel gets the versions of one alert in order: version N + 1 waits
 * while N to that channel is unfinished. */
#ifndef GA_DELIVERY_H
#define GA_DELIVERY_H

#include <jansson.h>
#include <stdint.h>

#include "config.h"
#include "error.h"
#include "store.h"

#define DELIVERY_POLL_MS 500	  /* the worker looks for due rows at least this often */
#define DELIVERY_BATCH 256	  /* due rows read per look */
#define DELIVERY_INFLIGHT_MAX 512 /* transfers at once, all channels */
#define DELIVERY_STOP_MS 1000	  /* at stop, transfers get this long to finish */
#define DELIVERY_GRACE_MS 5000	  /* a sending row with no answer: due again after timeout + this */
#define DELIVERY_RETRY_AFTER_MAX_S 86400 /* a longer Retry-After is taken as this */
/* deadline_ms of a delivery that never gives up (a channel's deadline
 * 0): retried until delivered; the supervisors are told once when it is
 * not done after the channel's late_after (event delivery_late). */
#define DELIVERY_NEVER INT64_MAX

struct notify;
struct workflow_ctx;
struct delivery;

/* Inside the publishing transaction on s: one pending row per channel
 * version `version` of alert_id goes to: every enabled channel (in drill
 * mode, [alerts] mode = exercise, only those with exercise = true), and
 * for an update or cancel also every channel an earlier version of the
 * alert has a row for, even one disabled since, as long as its section
 * is still in cfg. Each row's deadline is now_ms + the channel's
 * deadline. The caller calls delivery_kick after the commit. */
ga_err delivery_enqueue(struct store *s, const struct config *cfg, const char *alert_id,
			int version, const char *msg_type, int64_t now_ms);

/* The channels delivery_enqueue would give a row for version of
 * alert_id (chosen[i]: cfg->channels[i]), without writing: what the
 * officers' preview shows (issue 10). */
ga_err delivery_targets(struct store *s, const struct config *cfg, const char *alert_id,
			int version, const char *msg_type, bool chosen[CONFIG_MAX_CHANNELS]);

/* New reference: {"alert_id", "deliveries": [{channel, type, version,
 * msg_type, state, attempts, last_error, idempotency_key, created_at,
 * next_attempt_at, deadline_at, delivered_at}]} by version then channel,
 * times as RFC 3339 at utc_offset_min. GA_ERR_NOTFOUND when the alert has
 * no draft at all. */
ga_err delivery_list(struct store *s, const struct config *cfg, const char *alert_id, json_t **out);

/* The ledger rows of subject (an alert_id, or "rw:{product_id}" of a
 * risk warning, riskwarning_deliver.h) as delivery_list's "deliveries";
 * an empty array when there are none. New reference in *out. */
ga_err delivery_list_rows(struct store *s, const struct config *cfg, const char *subject,
			  json_t **out);

/* One transaction: the latest version's row of alert_id to channel, when
 * failed, is pending again with a new deadline; audit "delivery.resend"
 * by officer_id. GA_ERR_NOTFOUND (no such row: msg), GA_ERR_CONFLICT (not
 * failed: msg). *version (may be NULL) is the row's version. */
ga_err delivery_resend(struct store *s, const struct config *cfg, int64_t officer_id,
		       const char *alert_id, const char *channel, int64_t now_ms, int *version,
		       char *msg, size_t msglen);

/* delivery_resend for the rows of any ledger subject (a risk warning's
 * "rw:{product_id}"), its audit row audit_action on audit_subject; the
 * latest version below below_version (INT_MAX: any; a risk warning's
 * mqtt channel also has the row that clears its retained message at
 * RISKWARNING_DELIVER_CLEAR_VERSION, which is not a version to re-send). */
ga_err delivery_resend_subject(struct store *s, const struct config *cfg, int64_t officer_id,
			       const char *subject, const char *channel, int below_version,
			       const char *audit_action, const char *audit_subject, int64_t now_ms,
			       int *version, char *msg, size_t msglen);

/* Checks every channel section (channel_check_all). */
ga_err delivery_check_config(const struct config *cfg, char *err, size_t errlen);

/* Starts the worker: opens its own store connection on cfg's database,
 * every channel section of cfg (also disabled ones: an update follows
 * its original), makes rows an earlier run left sending due. cfg, wf,
 * notify (may be NULL) and metrics (may be NULL: it gets the
 * confirm_delivered latency per channel) are borrowed and must outlive
 * the worker. */
struct metrics;
ga_err delivery_start(const struct config *cfg, const struct workflow_ctx *wf,
		      struct notify *notify, struct metrics *metrics, struct delivery **out,
		      char *err, size_t errlen);

/* Wakes the worker now (something was enqueued or resent). Thread-safe,
 * never blocks; NULL is fine. */
void delivery_kick(struct delivery *d);

/* Stops the worker: transfers get DELIVERY_STOP_MS, what is still
 * unanswered is pending again for the next start. NULL is fine. */
void delivery_stop(struct delivery *d);

#endif
