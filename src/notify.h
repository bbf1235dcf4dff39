/* notify.h - telling people that something needs them: a draft appeared
 * or a station fell silent (duty officers), a draft waits too long or a
 * delivery failed (supervisors). Each audience is a webhook (JSON POST,
 * with "Idempotency-Key: notice:{id}").
 *
 * notify_send never blocks: it queues (capped) and a thread of its own
 * stores the notice in the notices table at once, then sends it with
 * libcurl's multi interface, retrying with backoff (1 s doubling to
 * 30 s, jittered) until the webhook answers 2xx or NOTIFY_DEADLINE_MS
 * passes, across restarts. */
#ifndef GA_NOTIFY_H
#define GA_NOTIFY_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "error.h"

#define NOTIFY_QUEUE_MAX 1024 /* past it, notices are dropped (and logged) */
#define NOTIFY_BODY_MAX 8192
#define NOTIFY_DEADLINE_MS (24LL * 3600 * 1000) /* a notice is tried this long */

enum notify_audience { NOTIFY_OFFICERS, NOTIFY_SUPERVISORS };

struct notify;
struct store_options;

/* urls may be "" (that audience is not notified). Opens a store
 * connection of its own with sopt (the database must be migrated); on
 * error err says why. */
ga_err notify_new(const char *officers_url, const char *supervisors_url,
		  const struct store_options *sopt, const atomic_bool *duty, struct notify **out,
		  char *err, size_t errlen);
/* Queues a JSON object {"event", "alert_id", "headline", "level", "url"}.
 * Returns false when the audience has no URL or the queue is full. */
bool notify_send(struct notify *n, enum notify_audience to, const char *event, const char *alert_id,
		 const char *headline, const char *level, const char *url);
/* Reads the due notices now instead of at the next poll (within a
 * second): for a caller that committed notices to the table itself, in
 * its own transaction (the monitoring level changes), so they go out as
 * soon as they are durable. Never blocks; NULL is fine. */
void notify_wake(struct notify *n);
/* Stores what is queued, waits up to a second for the webhooks
 * answering, then stops; what is unanswered stays pending for the next
 * run. NULL is fine. */
void notify_free(struct notify *n);

#endif
