/* incident_index.c - the writer's in-memory index of open incidents
 * (incident_index.h).
 *
 * Entries live in one array of cap slots (calloc'd: the pages of unused
 * slots are never touched). Three chained hash tables of slot numbers
 * find them: by id, by (hazard point, type) and by (type, grid cell of
 * the first point). Chains hold slot + 1, 0 ending them. */
#include "incident_index.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "registry.h"
#include "store_incident_recent.h"

/* A station's latest value of each figure in one incident. */
struct incident_index_station {
	char id[REGISTRY_ID_MAX];
	unsigned set; /* bit i: figure i has a value */
	int64_t observed_ms[FIG_COUNT];
	double value[FIG_COUNT];
};

struct incident_index_entry {
	struct incident inc;
	/* The incident's station figures, when known: it was created while
	 * the index held it, with at most INCIDENT_INDEX_STATIONS stations. */
	bool stations_known;
	int nstations;
	struct incident_index_station stations[INCIDENT_INDEX_STATIONS];
	int64_t rowid; /* the store's rowid; -1 when not known */
	/* A report observed at inc.last_observed_ms is stored
	 * (store_incident_recent.h): only then does last_observed_ms in a
	 * window prove a report in it. */
	bool last_report;
	/* Known to have no alert draft: created while the index held it, and
	 * no draft asked about since (incident_index_draft_maybe). */
	bool no_draft;
	bool refreshing; /* during incident_index_refresh: read back just now */
	/* inc is newer than the store's row: its UPDATE is deferred to
	 * incident_index_flush (incident_index_defer). */
	bool dirty;
	int64_t cx, cy; /* grid cell of the first point (when finite) */
	int next_id;	/* by-id chain; the free list for a free slot */
	int next_hp;	/* by-hazard-point chain */
	int next_cell;	/* by-cell chain */
	bool used;
};

struct incident_index {
	int cap;
	unsigned nbuckets; /* a power of two >= cap */
	int count;
	int high;      /* slots [0, high) have been used at least once */
	int free_head; /* slot + 1 of a free slot below high, 0 when none */
	bool loaded;
	/* Ties of updated_ms are broken by created_ms DESC, id DESC
	 * (PostgreSQL: store_sql_pg.c), not by rowid DESC (SQLite). */
	bool order_created;
	int64_t horizon;     /* every open incident observed last at or after it is here */
	int64_t seq;	     /* the rowid given to the next created incident */
	struct store *store; /* where deferred updates go (incident_index_ready) */
	ga_err flush_err;    /* a flush before an eviction failed */
	int ndirty;
	struct incident_index_entry *e;
	int *by_id, *by_hp, *by_cell; /* bucket heads, slot + 1 */
	int *scratch;		      /* a near lookup's matches, cap slots */
	int64_t *lasts;		      /* eviction's work array, cap values */
};

/* a + b, saturated to the int64 range, as the store computes t +- window. */
static int64_t incident_index_add_sat(int64_t a, int64_t b)
{
	if (b > 0 && a > INT64_MAX - b)
		return INT64_MAX;
	if (b < 0 && a < INT64_MIN - b)
		return INT64_MIN;
	return a + b;
}

static uint64_t incident_index_mix(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

static uint64_t incident_index_str_hash(const char *s, uint64_t seed)
{
	uint64_t h = 1469598103934665603ULL ^ seed;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return incident_index_mix(h);
}

static unsigned incident_index_id_bucket(const struct incident_index *x, const char *id)
{
	return (unsigned)(incident_index_str_hash(id, 0) & (x->nbuckets - 1));
}

static unsigned incident_index_hp_bucket(const struct incident_index *x, const char *hp,
					 enum hazard_type type)
{
	return (unsigned)(incident_index_str_hash(hp, (uint64_t)type + 1) & (x->nbuckets - 1));
}

static unsigned incident_index_cell_bucket(const struct incident_index *x, enum hazard_type type,
					   int64_t cx, int64_t cy)
{
	uint64_t h = incident_index_mix((uint64_t)cx * 0x9e3779b97f4a7c15ULL ^ (uint64_t)cy) ^
		     (uint64_t)type;
	return (unsigned)(incident_index_mix(h) & (x->nbuckets - 1));
}

static int64_t incident_index_cell(double deg)
{
	return (int64_t)floor(deg / INCIDENT_INDEX_CELL_DEG);
}

static bool incident_index_has_point(const struct incident *inc)
{
	return isfinite(inc->lon) && isfinite(inc->lat);
}

ga_err incident_index_new(int cap, struct incident_index **out)
{
	struct incident_index *x = NULL;
	ga_err result = GA_ERR_NOMEM;

	*out = NULL;
	if (cap == 0)
		cap = INCIDENT_INDEX_CAP;
	if (cap < 1 || cap > INCIDENT_INDEX_CAP)
		return GA_ERR_INVAL;
	if (!(x = calloc(1, sizeof(*x))))
		goto out;
	x->cap = cap;
	x->nbuckets = 1;
	while (x->nbuckets < (unsigned)cap)
		x->nbuckets <<= 1;
	x->e = calloc((size_t)cap, sizeof(*x->e));
	x->by_id = calloc(x->nbuckets, sizeof(*x->by_id));
	x->by_hp = calloc(x->nbuckets, sizeof(*x->by_hp));
	x->by_cell = calloc(x->nbuckets, sizeof(*x->by_cell));
	x->scratch = calloc((size_t)cap, sizeof(*x->scratch));
	x->lasts = calloc((size_t)cap, sizeof(*x->lasts));
	if (!x->e || !x->by_id || !x->by_hp || !x->by_cell || !x->scratch || !x->lasts)
		goto out;
	*out = x;
	x = NULL;
	result = GA_OK;
out:
	incident_index_free(x);
	return result;
}

void incident_index_free(struct incident_index *x)
{
	if (!x)
		return;
	free(x->e);
	free(x->by_id);
	free(x->by_hp);
	free(x->by_cell);
	free(x->scratch);
	free(x->lasts);
	free(x);
}

/* Empties the index (unloaded). Only the slots and buckets in use are
 * cleared: pages never used stay untouched. */
static void incident_index_clear(struct incident_index *x)
{
	for (int i = 0; i < x->high; i++) {
		struct incident_index_entry *e = &x->e[i];
		if (!e->used)
			continue;
		x->by_id[incident_index_id_bucket(x, e->inc.id)] = 0;
		if (e->inc.hazard_point_id[0] != '\0')
			x->by_hp[incident_index_hp_bucket(x, e->inc.hazard_point_id,
							  e->inc.hazard_type)] = 0;
		if (incident_index_has_point(&e->inc))
			x->by_cell[incident_index_cell_bucket(x, e->inc.hazard_type, e->cx,
							      e->cy)] = 0;
	}
	memset(x->e, 0, (size_t)x->high * sizeof(*x->e));
	x->high = 0;
	x->free_head = 0;
	x->count = 0;
	x->seq = 0;
	x->horizon = INT64_MAX;
	x->loaded = false;
	x->ndirty = 0; /* only ever on a rolled-back transaction's behalf */
}

void incident_index_discard(struct incident_index *x)
{
	if (x && (x->loaded || x->high > 0))
		incident_index_clear(x);
}

static int incident_index_find_id(const struct incident_index *x, const char *id)
{
	for (int s = x->by_id[incident_index_id_bucket(x, id)]; s; s = x->e[s - 1].next_id)
		if (strcmp(x->e[s - 1].inc.id, id) == 0)
			return s - 1;
	return -1;
}

/* Unlinks slot from the chain starting at *head whose links are at
 * offset off of each entry. */
static void incident_index_unlink(struct incident_index *x, int *head, size_t off, int slot)
{
	int *link = head;

	while (*link) {
		int *next = (int *)((char *)&x->e[*link - 1] + off);
		if (*link - 1 == slot) {
			*link = *next;
			*next = 0;
			return;
		}
		link = next;
	}
}

static void incident_index_remove(struct incident_index *x, int slot)
{
	struct incident_index_entry *e = &x->e[slot];

	if (e->dirty) /* only after a failed flush: the group fails */
		x->ndirty--;

	incident_index_unlink(x, &x->by_id[incident_index_id_bucket(x, e->inc.id)],
			      offsetof(struct incident_index_entry, next_id), slot);
	if (e->inc.hazard_point_id[0] != '\0')
		incident_index_unlink(x,
				      &x->by_hp[incident_index_hp_bucket(x, e->inc.hazard_point_id,
									 e->inc.hazard_type)],
				      offsetof(struct incident_index_entry, next_hp), slot);
	if (incident_index_has_point(&e->inc))
		incident_index_unlink(
		    x, &x->by_cell[incident_index_cell_bucket(x, e->inc.hazard_type, e->cx, e->cy)],
		    offsetof(struct incident_index_entry, next_cell), slot);
	memset(e, 0, sizeof(*e));
	e->next_id = x->free_head;
	x->free_head = slot + 1;
	x->count--;
}

/* Adds inc in a free slot; the caller made sure there is one. */
static struct incident_index_entry *incident_index_link(struct incident_index *x,
							const struct incident *inc, int64_t rowid)
{
	int slot;

	if (x->free_head) {
		slot = x->free_head - 1;
		x->free_head = x->e[slot].next_id;
	} else {
		slot = x->high++;
	}
	struct incident_index_entry *e = &x->e[slot];
	memset(e, 0, sizeof(*e));
	e->inc = *inc;
	e->rowid = rowid;
	e->used = true;
	unsigned b = incident_index_id_bucket(x, inc->id);
	e->next_id = x->by_id[b];
	x->by_id[b] = slot + 1;
	if (inc->hazard_point_id[0] != '\0') {
		b = incident_index_hp_bucket(x, inc->hazard_point_id, inc->hazard_type);
		e->next_hp = x->by_hp[b];
		x->by_hp[b] = slot + 1;
	}
	if (incident_index_has_point(inc)) {
		e->cx = incident_index_cell(inc->lon);
		e->cy = incident_index_cell(inc->lat);
		b = incident_index_cell_bucket(x, inc->hazard_type, e->cx, e->cy);
		e->next_cell = x->by_cell[b];
		x->by_cell[b] = slot + 1;
	}
	x->count++;
	return e;
}

static int incident_index_cmp_i64(const void *a, const void *b)
{
	int64_t p = *(const int64_t *)a, q = *(const int64_t *)b;
	return (p > q) - (p < q);
}

ga_err incident_index_flush(struct incident_index *x, struct store *s)
{
	ga_err e = GA_OK;

	if (!x)
		return GA_OK;
	for (int i = 0; i < x->high && x->ndirty > 0 && e == GA_OK; i++) {
		struct incident_index_entry *en = &x->e[i];
		if (!en->used || !en->dirty)
			continue;
		if ((e = store_incident_update(s, &en->inc)) != GA_OK)
			break;
		en->dirty = false;
		x->ndirty--;
	}
	if (e == GA_OK && x->flush_err != GA_OK)
		e = x->flush_err;
	x->flush_err = GA_OK;
	return e;
}

bool incident_index_defer(struct incident_index *x, const struct incident *inc, bool report_at_last)
{
	if (!x || !x->loaded || !inc->open)
		return false;
	int slot = incident_index_find_id(x, inc->id);
	if (slot < 0)
		return false;
	struct incident_index_entry *e = &x->e[slot];
	if (e->inc.hazard_type != inc->hazard_type ||
	    strcmp(e->inc.hazard_point_id, inc->hazard_point_id) != 0 ||
	    memcmp(&e->inc.lon, &inc->lon, sizeof(inc->lon)) != 0 ||
	    memcmp(&e->inc.lat, &inc->lat, sizeof(inc->lat)) != 0)
		return false; /* re-linked by incident_index_put, written through */
	e->inc = *inc;
	e->last_report = report_at_last || e->last_report;
	if (!e->dirty)
		x->ndirty++;
	e->dirty = true;
	return true;
}

/* Full: evicts the eighth (at least) observed longest ago and moves the
 * horizon past them. Deferred updates are written first: an evicted
 * entry's would be lost. */
static void incident_index_evict(struct incident_index *x)
{
	int n = 0, k = x->cap / 8 > 0 ? x->cap / 8 : 1;

	if (x->ndirty > 0 && x->flush_err == GA_OK) {
		ga_err e = incident_index_flush(x, x->store);
		if (e != GA_OK)
			x->flush_err = e;
	}

	for (int i = 0; i < x->high; i++)
		if (x->e[i].used)
			x->lasts[n++] = x->e[i].inc.last_observed_ms;
	if (n == 0)
		return;
	qsort(x->lasts, (size_t)n, sizeof(*x->lasts), incident_index_cmp_i64);
	int64_t threshold = x->lasts[(k < n ? k : n) - 1];
	int64_t h = incident_index_add_sat(threshold, 1);
	if (h > x->horizon)
		x->horizon = h;
	for (int i = 0; i < x->high; i++)
		if (x->e[i].used && x->e[i].inc.last_observed_ms < x->horizon)
			incident_index_remove(x, i);
	log_debug("incident index: full (%d): evicted up to last observed %lld", x->cap,
		  (long long)threshold);
}

struct incident_index_load {
	struct incident_index *x;
	int n;
	bool more; /* a row past the cap was read */
	int64_t more_last;
};

static bool incident_index_load_cb(const struct incident *inc,
				   const struct store_incident_recent *row, void *arg)
{
	struct incident_index_load *l = arg;

	if (l->n == l->x->cap) {
		l->more = true;
		l->more_last = inc->last_observed_ms;
		return false;
	}
	struct incident_index_entry *e = incident_index_link(l->x, inc, row->rowid);
	e->last_report = row->last_is_report;
	e->no_draft = !row->has_draft;
	if (row->rowid > l->x->seq)
		l->x->seq = row->rowid;
	l->n++;
	return true;
}

ga_err incident_index_ready(struct incident_index *x, struct store *s, int64_t now_ms)
{
	struct incident_index_load l = {.x = x};
	int64_t since = incident_index_add_sat(now_ms, -INCIDENT_INDEX_LOAD_SPAN_MS);
	ga_err e;

	if (x->loaded)
		return GA_OK;
	incident_index_clear(x);
	x->order_created = store_shared(s);
	x->store = s;
	e = store_incident_recent_each(s, since, x->cap + 1, incident_index_load_cb, &l);
	if (e != GA_OK) {
		incident_index_clear(x);
		return e;
	}
	x->horizon = since;
	if (l.more) {
		/* Incidents observed last at more_last may be left out: the
		 * index is complete only after it. */
		int64_t h = incident_index_add_sat(l.more_last, 1);
		if (h > x->horizon)
			x->horizon = h;
		for (int i = 0; i < x->high; i++)
			if (x->e[i].used && x->e[i].inc.last_observed_ms < x->horizon)
				incident_index_remove(x, i);
	}
	x->loaded = true;
	log_debug("incident index: loaded %d open incidents", x->count);
	return GA_OK;
}

/* What incident_index_refresh's first statement read. */
struct incident_index_changed {
	struct incident_index *x;
	int n; /* incidents changed */
};

/* One incident another writer changed, as the store has it now: its
 * entry replaced (or it is added, or removed when closed); its station
 * figures are read next (incident_index_refresh_fig_cb). */
static bool incident_index_refresh_cb(const struct incident *inc,
				      const struct store_incident_recent *row, void *arg)
{
	struct incident_index_changed *c = arg;
	struct incident_index *x = c->x;

	c->n++;
	if (!x->loaded)
		return false; /* the generation alone: the next load reads it whole */
	int slot = incident_index_find_id(x, inc->id);
	int64_t rowid = row->rowid;

	if (slot >= 0) {
		if (rowid < 0)
			rowid = x->e[slot].rowid;
		incident_index_remove(x, slot);
	}
	if (rowid > x->seq)
		x->seq = rowid; /* the next incident created is made after it */
	if (!inc->open || inc->last_observed_ms < x->horizon)
		return true;
	if (x->count == x->cap) {
		incident_index_evict(x);
		if (inc->last_observed_ms < x->horizon)
			return true;
	}
	struct incident_index_entry *e = incident_index_link(x, inc, rowid);
	e->last_report = row->last_is_report;
	e->no_draft = !row->has_draft;
	/* Its station figures follow (incident_index_refresh_fig_cb). */
	e->stations_known = true;
	e->refreshing = true;
	return true;
}

/* A station figure of an incident refreshed just before. */
static bool incident_index_refresh_fig_cb(const char *incident_id, const char *station_id,
					  enum figure f, int64_t observed_ms, double value,
					  void *arg)
{
	struct incident_index *x = arg;
	int slot = incident_index_find_id(x, incident_id);

	if (slot < 0 || !x->e[slot].refreshing || !x->e[slot].stations_known)
		return true;
	struct incident_index_entry *e = &x->e[slot];
	struct incident_index_station *st = NULL;
	for (int i = 0; i < e->nstations && !st; i++)
		if (strcmp(e->stations[i].id, station_id) == 0)
			st = &e->stations[i];
	if (!st) {
		if (e->nstations == INCIDENT_INDEX_STATIONS ||
		    strlen(station_id) >= sizeof(st->id)) {
			e->stations_known = false; /* the store folds them */
			e->nstations = 0;
			return true;
		}
		st = &e->stations[e->nstations++];
		memset(st, 0, sizeof(*st));
		memcpy(st->id, station_id, strlen(station_id) + 1);
	}
	st->set |= 1u << f;
	st->observed_ms[f] = observed_ms;
	st->value[f] = value;
	return true;
}

ga_err incident_index_refresh(struct incident_index *x, struct store *s, int64_t since_gen,
			      int64_t *gen)
{
	struct incident_index_changed c = {.x = x};
	ga_err e;

	if (!x || !gen)
		return GA_ERR_INVAL;
	/* The generation and the incidents changed in one statement; their
	 * station figures only when some did (a second one). */
	if ((e = store_incident_changed_each(s, since_gen, gen, incident_index_refresh_cb, &c)) !=
		GA_OK ||
	    (c.n > 0 && x->loaded &&
	     (e = store_incident_figures_changed_each(
		  s, since_gen, *gen, incident_index_refresh_fig_cb, x)) != GA_OK)) {
		incident_index_clear(x);
		return e;
	}
	for (int i = 0; c.n > 0 && i < x->high; i++)
		x->e[i].refreshing = false;
	return GA_OK;
}

void incident_index_put(struct incident_index *x, const struct incident *inc, bool created,
			bool report_at_last)
{
	if (!x || !x->loaded)
		return; /* the next load reads it from the store */
	int slot = incident_index_find_id(x, inc->id);
	if (slot >= 0) {
		struct incident_index_entry *e = &x->e[slot];
		int64_t rowid = e->rowid;
		/* Type, hazard point and first point never change (the
		 * store's update leaves them); were they to, re-link. */
		bool same = e->inc.hazard_type == inc->hazard_type &&
			    strcmp(e->inc.hazard_point_id, inc->hazard_point_id) == 0 &&
			    memcmp(&e->inc.lon, &inc->lon, sizeof(inc->lon)) == 0 &&
			    memcmp(&e->inc.lat, &inc->lat, sizeof(inc->lat)) == 0;
		/* A report older than the last leaves last_observed_ms as
		 * it was, and what the index knew of it. */
		bool last_report = report_at_last || e->last_report;
		if (e->dirty) { /* written through just now */
			e->dirty = false;
			x->ndirty--;
		}
		if (inc->open && same) {
			e->inc = *inc; /* the station figures stay */
			e->last_report = last_report;
			return;
		}
		incident_index_remove(x, slot);
		if (!inc->open)
			return;
		incident_index_link(x, inc, rowid)->last_report = last_report;
		return;
	}
	if (!inc->open || inc->last_observed_ms < x->horizon)
		return;
	if (x->count == x->cap) {
		incident_index_evict(x);
		if (inc->last_observed_ms < x->horizon)
			return;
	}
	struct incident_index_entry *e = incident_index_link(x, inc, created ? ++x->seq : -1);
	/* A new incident has no station figures yet: the index sees them all. */
	e->stations_known = created;
	e->last_report = created || report_at_last;
	e->no_draft = created; /* a new id: no draft names it */
}

bool incident_index_fold_figures(struct incident_index *x, const char *incident_id,
				 const char *station_id, int64_t observed_ms,
				 const struct figures *f, struct figures *out)
{
	if (!x || !x->loaded || !incident_id || !station_id)
		return false;
	int slot = incident_index_find_id(x, incident_id);
	if (slot < 0)
		return false;
	struct incident_index_entry *e = &x->e[slot];
	if (!e->stations_known)
		return false;
	/* The figures given, as the store's upsert takes them: set and
	 * finite. None: nothing changes (the store writes no row). */
	unsigned given = 0;
	for (int i = 0; f && i < FIG_COUNT; i++)
		if ((f->set & (1u << i)) && isfinite(f->value[i]))
			given |= 1u << i;
	struct incident_index_station *st = NULL;
	for (int i = 0; i < e->nstations && !st; i++)
		if (strcmp(e->stations[i].id, station_id) == 0)
			st = &e->stations[i];
	if (!st && given) {
		if (e->nstations == INCIDENT_INDEX_STATIONS ||
		    strlen(station_id) >= sizeof(st->id)) {
			/* From now on the store folds this incident's figures. */
			e->stations_known = false;
			e->nstations = 0;
			return false;
		}
		st = &e->stations[e->nstations++];
		memset(st, 0, sizeof(*st));
		memcpy(st->id, station_id, strlen(station_id) + 1);
	}
	for (int i = 0; i < FIG_COUNT; i++) {
		if (!(given & (1u << i)))
			continue;
		/* ON CONFLICT ... WHERE excluded.observed_ms >= observed_ms */
		if (!(st->set & (1u << i)) || observed_ms >= st->observed_ms[i]) {
			st->set |= 1u << i;
			st->observed_ms[i] = observed_ms;
			st->value[i] = f->value[i];
		}
	}
	/* SELECT figure, max(value) ... GROUP BY figure */
	struct figures agg;
	memset(&agg, 0, sizeof(agg));
	for (int k = 0; k < e->nstations; k++) {
		const struct incident_index_station *s = &e->stations[k];
		for (int i = 0; i < FIG_COUNT; i++) {
			if (!(s->set & (1u << i)))
				continue;
			if (!(agg.set & (1u << i)) || s->value[i] > agg.value[i])
				agg.value[i] = s->value[i];
			agg.set |= 1u << i;
		}
	}
	*out = agg;
	return true;
}

/* Whether entry e has a report observed within [lo, hi], as the store's
 * lookups test it (the span, then EXISTS a report in the window): 1 yes,
 * 0 no, -1 not sure (the store must say). */
static int incident_index_in_window(const struct incident_index_entry *e, int64_t lo, int64_t hi)
{
	const struct incident *inc = &e->inc;

	if (inc->last_observed_ms < lo || inc->first_observed_ms > hi)
		return 0;
	if (inc->nreports == 0)
		return 0; /* opened by a device, joined by no report: none exists */
	if (!e->last_report || inc->last_observed_ms > hi)
		return -1; /* is a report in the window? */
	return 1;
}

bool incident_index_no_draft(const struct incident_index *x, const char *incident_id)
{
	if (!x || !x->loaded || !incident_id)
		return false;
	int slot = incident_index_find_id(x, incident_id);
	return slot >= 0 && x->e[slot].no_draft;
}

void incident_index_draft_maybe(struct incident_index *x, const char *incident_id)
{
	if (!x || !x->loaded || !incident_id)
		return;
	int slot = incident_index_find_id(x, incident_id);
	if (slot >= 0)
		x->e[slot].no_draft = false;
}

enum incident_index_answer incident_index_by_hazard_point(const struct incident_index *x,
							  const char *hazard_point_id,
							  enum hazard_type type, int64_t t_ms,
							  int64_t window_ms, struct incident *out)
{
	const struct incident_index_entry *best = NULL;

	if (!x || !x->loaded || !hazard_point_id || hazard_point_id[0] == '\0' ||
	    (unsigned)type >= HAZARD_COUNT || window_ms < 0)
		return INCIDENT_INDEX_UNSURE;
	int64_t lo = incident_index_add_sat(t_ms, -window_ms);
	int64_t hi = incident_index_add_sat(t_ms, window_ms);
	if (lo < x->horizon)
		return INCIDENT_INDEX_UNSURE;
	for (int s = x->by_hp[incident_index_hp_bucket(x, hazard_point_id, type)]; s;
	     s = x->e[s - 1].next_hp) {
		const struct incident_index_entry *e = &x->e[s - 1];
		const struct incident *inc = &e->inc;
		if (inc->hazard_type != type || !inc->open ||
		    strcmp(inc->hazard_point_id, hazard_point_id) != 0)
			continue;
		int m = incident_index_in_window(e, lo, hi);
		if (m == 0)
			continue;
		if (m < 0)
			return INCIDENT_INDEX_UNSURE;
		/* ORDER BY updated_ms DESC, rowid DESC (SQLite); updated_ms
		 * DESC, created_ms DESC, id DESC (PostgreSQL: a tie of both
		 * times is left to the store, whose collation orders ids). */
		if (best == NULL || inc->updated_ms > best->inc.updated_ms) {
			best = e;
		} else if (inc->updated_ms == best->inc.updated_ms && x->order_created) {
			if (inc->created_ms == best->inc.created_ms)
				return INCIDENT_INDEX_UNSURE;
			if (inc->created_ms > best->inc.created_ms)
				best = e;
		} else if (inc->updated_ms == best->inc.updated_ms) {
			if (e->rowid < 0 || best->rowid < 0)
				return INCIDENT_INDEX_UNSURE;
			if (e->rowid > best->rowid)
				best = e;
		}
	}
	if (best == NULL)
		return INCIDENT_INDEX_NONE;
	*out = best->inc;
	return INCIDENT_INDEX_FOUND;
}

/* Whether entry slot matches a near lookup: 1 yes, 0 no, -1 unsure. */
static int incident_index_near_match(const struct incident_index_entry *e, enum hazard_type type,
				     int64_t lo, int64_t hi, double min_lon, double max_lon,
				     double min_lat, double max_lat)
{
	const struct incident *inc = &e->inc;

	if (!e->used || inc->hazard_type != type || !inc->open || !incident_index_has_point(inc))
		return 0;
	if (!(inc->lon >= min_lon && inc->lon <= max_lon && inc->lat >= min_lat &&
	      inc->lat <= max_lat))
		return 0;
	return incident_index_in_window(e, lo, hi);
}

static int incident_index_cmp_id(const void *a, const void *b, void *arg)
{
	const struct incident_index *x = arg;
	return strcmp(x->e[*(const int *)a].inc.id, x->e[*(const int *)b].inc.id);
}

/* Sorts n slots of scratch by id (insertion sort: a near lookup matches
 * a handful; qsort_r is not C11). */
static void incident_index_sort_ids(struct incident_index *x, int n)
{
	for (int i = 1; i < n; i++) {
		int v = x->scratch[i], j = i;
		while (j > 0 && incident_index_cmp_id(&x->scratch[j - 1], &v, x) > 0) {
			x->scratch[j] = x->scratch[j - 1];
			j--;
		}
		x->scratch[j] = v;
	}
}

enum incident_index_answer incident_index_near(struct incident_index *x, enum hazard_type type,
					       int64_t t_ms, int64_t window_ms, double min_lon,
					       double max_lon, double min_lat, double max_lat,
					       store_incident_cb cb, void *arg)
{
	int n = 0;

	if (!x || !x->loaded || (unsigned)type >= HAZARD_COUNT || window_ms < 0 || cb == NULL)
		return INCIDENT_INDEX_UNSURE;
	int64_t lo = incident_index_add_sat(t_ms, -window_ms);
	int64_t hi = incident_index_add_sat(t_ms, window_ms);
	if (lo < x->horizon)
		return INCIDENT_INDEX_UNSURE;
	if (!(min_lon <= max_lon && min_lat <= max_lat))
		return INCIDENT_INDEX_NONE; /* an empty box (or NaN bounds): BETWEEN is false */

	bool scan =
	    !isfinite(min_lon) || !isfinite(max_lon) || !isfinite(min_lat) || !isfinite(max_lat);
	int64_t cx0 = 0, cx1 = -1, cy0 = 0, cy1 = -1;
	if (!scan) {
		double w = floor(max_lon / INCIDENT_INDEX_CELL_DEG) -
			   floor(min_lon / INCIDENT_INDEX_CELL_DEG) + 1;
		double h = floor(max_lat / INCIDENT_INDEX_CELL_DEG) -
			   floor(min_lat / INCIDENT_INDEX_CELL_DEG) + 1;
		scan = w * h > INCIDENT_INDEX_CELLS_MAX;
		if (!scan) {
			cx0 = incident_index_cell(min_lon);
			cx1 = incident_index_cell(max_lon);
			cy0 = incident_index_cell(min_lat);
			cy1 = incident_index_cell(max_lat);
		}
	}
	if (scan) {
		for (int i = 0; i < x->high; i++) {
			int m = incident_index_near_match(&x->e[i], type, lo, hi, min_lon, max_lon,
							  min_lat, max_lat);
			if (m < 0)
				return INCIDENT_INDEX_UNSURE;
			if (m > 0)
				x->scratch[n++] = i;
		}
	} else {
		for (int64_t cy = cy0; cy <= cy1; cy++) {
			for (int64_t cx = cx0; cx <= cx1; cx++) {
				for (int s =
					 x->by_cell[incident_index_cell_bucket(x, type, cx, cy)];
				     s; s = x->e[s - 1].next_cell) {
					const struct incident_index_entry *e = &x->e[s - 1];
					/* A bucket may hold other cells: each entry
					 * is counted in its own cell only. */
					if (e->cx != cx || e->cy != cy)
						continue;
					int m = incident_index_near_match(
					    e, type, lo, hi, min_lon, max_lon, min_lat, max_lat);
					if (m < 0)
						return INCIDENT_INDEX_UNSURE;
					if (m > 0)
						x->scratch[n++] = s - 1;
				}
			}
		}
	}
	if (n == 0)
		return INCIDENT_INDEX_NONE;
	incident_index_sort_ids(x, n);
	for (int i = 0; i < n; i++)
		if (!cb(&x->e[x->scratch[i]].inc, arg))
			break;
	return INCIDENT_INDEX_FOUND;
}

int incident_index_count(const struct incident_index *x)
{
	return x ? x->count : 0;
}

bool incident_index_loaded(const struct incident_index *x)
{
	return x && x->loaded;
}

int64_t incident_index_horizon(const struct incident_index *x)
{
	return x ? x->horizon : INT64_MAX;
}
