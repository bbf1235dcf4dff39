/* watchdog.h - silent stations. A registered station that has sent
 * nothing for longer than its expected interval is a blind spot: duty
 * officers are told once, the console and /metrics show it, and the
 * notice clears when the station reports again.
 *
 * After a start every station has one interval of grace (the time of its
 * last report before the start is not consulted). Thread-safe. */
#ifndef GA_WATCHDOG_H
#define GA_WATCHDOG_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "registry.h"

struct watchdog;

/* interval_ms: how long a station may be silent (> 0); times in the JSON
 * are written at utc_offset_min. */
ga_err watchdog_new(int64_t interval_ms, int utc_offset_min, int64_t now_ms, struct watchdog **out);
void watchdog_free(struct watchdog *w);

/* A message arrived on the station's report topic (whatever its fate). */
void watchdog_seen(struct watchdog *w, const char *station_id, int64_t now_ms);

/* Called by watchdog_check for each change: silent (back false) or
 * reporting again (back true). */
typedef void (*watchdog_cb)(const struct station *st, int64_t silent_ms, bool back, void *arg);

/* Walks the registry (borrowed; hold the service lock): calls cb for each
 * station that fell silent or came back since the last check. Returns how
 * many are silent now. */
int watchdog_check(struct watchdog *w, const struct registry *reg, int64_t now_ms, watchdog_cb cb,
		   void *arg);

/* New reference: [{"station_id","name","admin_code","silent_since","silent_s"}]
 * of the stations silent at the last check. */
json_t *watchdog_silent_json(struct watchdog *w);

#endif
