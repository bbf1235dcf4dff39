/* watchdog.c - last report time per station, silence detection. */
#include "watchdog.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "timeutil.h"

#define WATCHDOG_BUCKETS 4096
#define WATCHDOG_MAX_ENTRIES (2 * REGISTRY_MAX_STATIONS) /* unknown stations are not kept */

struct entry {
	char station_id[REGISTRY_ID_MAX];
	int64_t last_ms;
	int64_t silent_since_ms; /* 0: not silent */
	bool notified;
	struct entry *next;
};

struct watchdog {
	pthread_mutex_t mu;
	int64_t interval_ms;
	int64_t started_ms;
	int utc_offset_min;
	struct entry *bucket[WATCHDOG_BUCKETS];
	size_t nentries;
	json_t *silent; /* as of the last check */
};

static unsigned hash(const char *s)
{
	unsigned h = 2166136261u; /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h % WATCHDOG_BUCKETS;
}

/* Finds or (when make) adds the entry; NULL past the cap or no memory. */
static struct entry *lookup(struct watchdog *w, const char *id, bool make)
{
	unsigned h = hash(id);
	for (struct entry *e = w->bucket[h]; e; e = e->next)
		if (strcmp(e->station_id, id) == 0)
			return e;
	if (!make || w->nentries >= WATCHDOG_MAX_ENTRIES || strlen(id) >= REGISTRY_ID_MAX)
		return NULL;
	struct entry *e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	memcpy(e->station_id, id, strlen(id) + 1);
	e->last_ms = w->started_ms; /* grace: one interval from the start */
	e->next = w->bucket[h];
	w->bucket[h] = e;
	w->nentries++;
	return e;
}

ga_err watchdog_new(int64_t interval_ms, int utc_offset_min, int64_t now_ms, struct watchdog **out)
{
	struct watchdog *w = calloc(1, sizeof(*w));
	if (!w || !(w->silent = json_array())) {
		free(w);
		return GA_ERR_NOMEM;
	}
	pthread_mutex_init(&w->mu, NULL);
	w->interval_ms = interval_ms > 0 ? interval_ms : 1;
	w->started_ms = now_ms;
	w->utc_offset_min = utc_offset_min;
	*out = w;
	return GA_OK;
}

void watchdog_free(struct watchdog *w)
{
	if (!w)
		return;
	for (int i = 0; i < WATCHDOG_BUCKETS; i++)
		for (struct entry *e = w->bucket[i], *next; e; e = next) {
			next = e->next;
			free(e);
		}
	json_decref(w->silent);
	pthread_mutex_destroy(&w->mu);
	free(w);
}

void watchdog_seen(struct watchdog *w, const char *station_id, int64_t now_ms)
{
	if (!station_id || !station_id[0])
		return;
	pthread_mutex_lock(&w->mu);
	struct entry *e = lookup(w, station_id, true);
	if (e && now_ms > e->last_ms)
		e->last_ms = now_ms;
	pthread_mutex_unlock(&w->mu);
}

int watchdog_check(struct watchdog *w, const struct registry *reg, int64_t now_ms, watchdog_cb cb,
		   void *arg)
{
	int silent = 0;
	json_t *list = json_array();
	char since[TIME_TEXT_MAX];

	pthread_mutex_lock(&w->mu);
	size_t n = reg ? registry_count(reg) : 0;
	for (size_t i = 0; i < n; i++) {
		const struct station *st = registry_at(reg, i);
		struct entry *e = lookup(w, st->station_id, true);
		if (!e)
			continue;
		int64_t quiet = now_ms - e->last_ms;
		if (quiet > w->interval_ms) {
			silent++;
			if (!e->silent_since_ms)
				e->silent_since_ms = e->last_ms;
			if (!e->notified) {
				e->notified = true;
				if (cb)
					cb(st, quiet, false, arg);
			}
			if (list) {
				time_format_rfc3339(e->silent_since_ms, w->utc_offset_min, since,
						    sizeof(since));
				json_array_append_new(
				    list, json_pack("{s:s, s:s, s:s, s:s, s:I}", "station_id",
						    st->station_id, "name", st->name, "admin_code",
						    st->admin_code, "silent_since", since,
						    "silent_s", (json_int_t)(quiet / 1000)));
			}
		} else if (e->notified) {
			e->notified = false;
			e->silent_since_ms = 0;
			if (cb)
				cb(st, quiet, true, arg);
		} else {
			e->silent_since_ms = 0;
		}
	}
	if (list) {
		json_decref(w->silent);
		w->silent = list;
	}
	pthread_mutex_unlock(&w->mu);
	return silent;
}

json_t *watchdog_silent_json(struct watchdog *w)
{
	pthread_mutex_lock(&w->mu);
	json_t *copy = json_deep_copy(w->silent);
	pthread_mutex_unlock(&w->mu);
	return copy;
}
