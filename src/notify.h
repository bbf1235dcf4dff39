/* notify.h - telling people that something needs them: a draft appeared
 * (duty officers), a draft waits too long (supervisors). Each audience is
 * a webhook (JSON POST) here; the publish channels come later.
 *
 * notify_send never blocks: it queues (capped) and a thread of its own
 * delivers with libcurl's multi interface, retrying a few times. */
#ifndef GA_NOTIFY_H
#define GA_NOTIFY_H

#include <stdbool.h>

#include "error.h"

#define NOTIFY_QUEUE_MAX 1024 /* past it, notices are dropped (and logged) */
#define NOTIFY_BODY_MAX 8192
#define NOTIFY_TRIES 4

enum notify_audience { NOTIFY_OFFICERS, NOTIFY_SUPERVISORS };

struct notify;

/* urls may be "" (that audience is not notified). */
ga_err notify_new(const char *officers_url, const char *supervisors_url, struct notify **out);
/* Queues a JSON object {"event", "alert_id", "headline", "level", "url"}.
 * Returns false when the audience has no URL or the queue is full. */
bool notify_send(struct notify *n, enum notify_audience to, const char *event, const char *alert_id,
		 const char *headline, const char *level, const char *url);
/* Tries what is queued for up to a second, then stops. NULL is fine. */
void notify_free(struct notify *n);

#endif
