/* device_registry.c - loads and checks `[devices] file` (spec §12).
 *
 * jansson keeps no positions, so a small scanner walks the (already
 * validated) text once to find the line each device and each rule starts
 * on: an operator told "devices.json:41: levels not increasing" fixes
 * the right rule. */
#include "device_registry.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "file.h"

static const char *const device_level_names[DEVICE_LEVEL_COUNT] = {NULL, "blue", "yellow", "orange",
								   "red"};
static const char *const device_level_zhs[DEVICE_LEVEL_COUNT] = {NULL, "注意级", "警示级", "警戒级",
								 "警报级"};
static const char *const device_metric_names[DEVICE_METRIC_COUNT] = {
    "value", "change_24h", "rate_per_day", "sum_1h", "sum_24h", "tangent_angle"};

/* The channel kinds of §12 that are judged, and the fields a rule may
 * name on each ("horizontal" is derived from a GNSS channel's X and Y).
 * S1_ZT (device status) is stored, never judged. */
struct device_kind {
	const char *prefix;
	const char *fields[6];
	bool sums; /* sum_1h / sum_24h make sense: interval values */
};

static const struct device_kind device_kinds[] = {
    {"L1_LF", {"value"}, false},
    {"L1_GP", {"horizontal", "gpsTotalX", "gpsTotalY", "gpsTotalZ"}, false},
    {"L1_QJ", {"X", "Y", "Z", "angle", "AZI"}, false},
    {"L1_JS", {"gX", "gY", "gZ"}, false},
    {"L1_SW", {"dispsX", "dispsY"}, false},
    {"L3_YL", {"value", "totalValue"}, true},
    {"L4_NW", {"value"}, false},
};

const char *device_level_name(enum device_level l)
{
	return (unsigned)l < DEVICE_LEVEL_COUNT ? device_level_names[l] : NULL;
}

const char *device_level_zh(enum device_level l)
{
	return (unsigned)l < DEVICE_LEVEL_COUNT ? device_level_zhs[l] : NULL;
}

int device_level_from_name(const char *s)
{
	for (int l = DEVICE_LEVEL_BLUE; l < DEVICE_LEVEL_COUNT; l++)
		if (s != NULL && strcmp(s, device_level_names[l]) == 0)
			return l;
	return -1;
}

const char *device_metric_name(enum device_metric m)
{
	return (unsigned)m < DEVICE_METRIC_COUNT ? device_metric_names[m] : "unknown";
}

/* The registry's strings: blocks that never move, so that a device's
 * pointers into them stay valid as more are added. */
#define DEVICE_POOL_BLOCK 65536

struct device_pool {
	struct device_pool *next;
	size_t used;
	char data[DEVICE_POOL_BLOCK];
};

/* A distinct rule set: one copy, shared by every device that lists the
 * same rules (line numbers aside). */
struct device_rule_set {
	struct device_rule *rules;
	size_t n;
};

struct device_registry {
	struct device *devices; /* sorted by device_code */
	size_t n;
	struct device_pool *pool;
	struct device_rule_set *sets;
	size_t nsets;
};

/* ---- interning -------------------------------------------------------- */

/* An open-addressed table of indexes (+1; 0 is free) into the caller's
 * items, which the caller hashes and compares. Kept at most half full. */
struct intern {
	uint32_t *slot;
	size_t cap; /* a power of two, or 0 */
	size_t n;
};

static uint64_t intern_hash_bytes(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 1099511628211u; /* FNV-1a */
	return h;
}

/* The slot of the item equal to key (eq(key, index, arg)) or the free
 * slot where it would go. */
static uint32_t *intern_slot(const struct intern *t, uint64_t h,
			     bool (*eq)(const void *key, size_t i, void *arg), const void *key,
			     void *arg)
{
	for (size_t i = (size_t)h & (t->cap - 1);; i = (i + 1) & (t->cap - 1))
		if (t->slot[i] == 0 || eq(key, t->slot[i] - 1, arg))
			return &t->slot[i];
}

/* Makes room for one more item: false when out of memory. hash(i, arg)
 * rehashes item i. */
static bool intern_reserve(struct intern *t, uint64_t (*hash)(size_t i, void *arg), void *arg)
{
	if (2 * (t->n + 1) <= t->cap)
		return true;
	size_t cap = t->cap ? 2 * t->cap : 64;
	uint32_t *slot = calloc(cap, sizeof(*slot));
	if (slot == NULL)
		return false;
	for (size_t i = 0; i < t->cap; i++) {
		if (t->slot[i] == 0)
			continue;
		size_t k = (size_t)hash(t->slot[i] - 1, arg) & (cap - 1);
		while (slot[k] != 0)
			k = (k + 1) & (cap - 1);
		slot[k] = t->slot[i];
	}
	free(t->slot);
	t->slot = slot;
	t->cap = cap;
	return true;
}

/* A copy of s in the pool, or NULL. */
static const char *device_pool_add(struct device_pool **pool, const char *s)
{
	size_t n = strlen(s) + 1;
	struct device_pool *b = *pool;

	if (n > DEVICE_POOL_BLOCK)
		return NULL;
	if (b == NULL || DEVICE_POOL_BLOCK - b->used < n) {
		if ((b = malloc(sizeof(*b))) == NULL)
			return NULL;
		b->next = *pool;
		b->used = 0;
		*pool = b;
	}
	char *p = b->data + b->used;
	memcpy(p, s, n);
	b->used += n;
	return p;
}

static void device_pool_free(struct device_pool *b)
{
	while (b != NULL) {
		struct device_pool *next = b->next;
		free(b);
		b = next;
	}
}

/* The stations' ids, once each. */
struct station_intern {
	struct intern t;
	const char **ids;
	size_t n, cap;
};

static uint64_t station_hash(size_t i, void *arg)
{
	const struct station_intern *si = arg;
	return intern_hash_bytes(14695981039346656037u, si->ids[i], strlen(si->ids[i]));
}

static bool station_eq(const void *key, size_t i, void *arg)
{
	const struct station_intern *si = arg;
	return strcmp(key, si->ids[i]) == 0;
}

/* s from the pool, added once; NULL when out of memory. */
static const char *station_intern_add(struct station_intern *si, struct device_pool **pool,
				      const char *s)
{
	if (!intern_reserve(&si->t, station_hash, si))
		return NULL;
	uint64_t h = intern_hash_bytes(14695981039346656037u, s, strlen(s));
	uint32_t *slot = intern_slot(&si->t, h, station_eq, s, si);
	if (*slot != 0)
		return si->ids[*slot - 1];
	if (si->n == si->cap) {
		size_t cap = si->cap ? 2 * si->cap : 64;
		const char **ids = realloc(si->ids, cap * sizeof(*ids));
		if (ids == NULL)
			return NULL;
		si->ids = ids;
		si->cap = cap;
	}
	const char *p = device_pool_add(pool, s);
	if (p == NULL || si->n >= UINT32_MAX)
		return NULL;
	si->ids[si->n++] = p;
	*slot = (uint32_t)si->n;
	si->t.n++;
	return p;
}

/* The distinct rule sets. */
struct rules_key {
	const struct device_rule *rules;
	size_t n;
};

struct rules_intern {
	struct intern t;
	struct device_rule_set **sets; /* the registry's */
	size_t *nsets, cap;
};

static uint64_t rules_hash(const struct device_rule *r, size_t n)
{
	uint64_t h = intern_hash_bytes(14695981039346656037u, &n, sizeof(n));
	for (size_t i = 0; i < n; i++) {
		h = intern_hash_bytes(h, r[i].channel, strlen(r[i].channel) + 1);
		h = intern_hash_bytes(h, r[i].field, strlen(r[i].field) + 1);
		h = intern_hash_bytes(h, &r[i].metric, sizeof(r[i].metric));
		h = intern_hash_bytes(h, &r[i].v_ref_per_day, sizeof(r[i].v_ref_per_day));
		h = intern_hash_bytes(h, r[i].has, sizeof(r[i].has));
		h = intern_hash_bytes(h, r[i].threshold, sizeof(r[i].threshold));
	}
	return h;
}

/* The same rules, to the bit (a threshold of -0 is written "-0"): all
 * but the line. */
static bool rules_same(const struct device_rule *a, const struct device_rule *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(a[i].channel, b[i].channel) != 0 ||
		    strcmp(a[i].field, b[i].field) != 0 || a[i].metric != b[i].metric ||
		    memcmp(&a[i].v_ref_per_day, &b[i].v_ref_per_day, sizeof(double)) != 0 ||
		    memcmp(a[i].has, b[i].has, sizeof(a[i].has)) != 0 ||
		    memcmp(a[i].threshold, b[i].threshold, sizeof(a[i].threshold)) != 0)
			return false;
	return true;
}

static uint64_t rules_hash_set(size_t i, void *arg)
{
	const struct rules_intern *ri = arg;
	return rules_hash((*ri->sets)[i].rules, (*ri->sets)[i].n);
}

static bool rules_eq(const void *key, size_t i, void *arg)
{
	const struct rules_key *k = key;
	const struct rules_intern *ri = arg;
	const struct device_rule_set *set = &(*ri->sets)[i];
	return set->n == k->n && rules_same(set->rules, k->rules, k->n);
}

/* The registry's copy of rules[0..n), added when new; NULL when out of
 * memory. */
static const struct device_rule *rules_intern_add(struct rules_intern *ri,
						  const struct device_rule *rules, size_t n)
{
	struct rules_key key = {rules, n};

	if (!intern_reserve(&ri->t, rules_hash_set, ri))
		return NULL;
	uint32_t *slot = intern_slot(&ri->t, rules_hash(rules, n), rules_eq, &key, ri);
	if (*slot != 0)
		return (*ri->sets)[*slot - 1].rules;
	if (*ri->nsets == ri->cap) {
		size_t cap = ri->cap ? 2 * ri->cap : 16;
		struct device_rule_set *sets = realloc(*ri->sets, cap * sizeof(*sets));
		if (sets == NULL)
			return NULL;
		*ri->sets = sets;
		ri->cap = cap;
	}
	struct device_rule *copy = malloc(n * sizeof(*copy));
	if (copy == NULL || *ri->nsets >= UINT32_MAX) {
		free(copy);
		return NULL;
	}
	memcpy(copy, rules, n * sizeof(*copy));
	(*ri->sets)[*ri->nsets].rules = copy;
	(*ri->sets)[*ri->nsets].n = n;
	*slot = (uint32_t)++ * ri->nsets;
	ri->t.n++;
	return copy;
}

static void device_rule_sets_free(struct device_rule_set *sets, size_t n)
{
	for (size_t i = 0; sets != NULL && i < n; i++)
		free(sets[i].rules);
	free(sets);
}

/* ---- line scanner ---------------------------------------------------- */

enum scan_role { ROLE_OTHER, ROLE_ROOT, ROLE_DEVICES, ROLE_DEVICE, ROLE_RULES };

struct scan {
	const char *p, *end;
	int line;
	int *dev_line; /* [ndev] */
	size_t ndev;
	int *rule_line;	  /* flat */
	size_t *rule_off; /* [ndev + 1] into rule_line */
};

static void scan_ws(struct scan *s)
{
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\r' || *s->p == '\n')) {
		if (*s->p == '\n')
			s->line++;
		s->p++;
	}
}

/* At a '"': skips the string; its raw bytes in *k, *klen. */
static void scan_string(struct scan *s, const char **k, size_t *klen)
{
	s->p++;
	*k = s->p;
	while (s->p < s->end && *s->p != '"') {
		if (*s->p == '\\')
			s->p++;
		s->p++;
	}
	*klen = (size_t)(s->p - *k);
	if (s->p < s->end)
		s->p++;
}

static bool scan_key_is(const char *k, size_t klen, const char *want)
{
	return klen == strlen(want) && memcmp(k, want, klen) == 0;
}

static void scan_value(struct scan *s, enum scan_role role, size_t di)
{
	const char *k;
	size_t klen, idx = 0;

	scan_ws(s);
	if (s->p >= s->end)
		return;
	if (*s->p == '{') {
		s->p++;
		for (;;) {
			scan_ws(s);
			if (s->p >= s->end || *s->p == '}')
				break;
			if (*s->p == ',') {
				s->p++;
				continue;
			}
			if (*s->p != '"')
				return; /* not JSON jansson accepted: give up quietly */
			scan_string(s, &k, &klen);
			scan_ws(s);
			if (s->p < s->end && *s->p == ':')
				s->p++;
			enum scan_role child = ROLE_OTHER;
			if (role == ROLE_ROOT && scan_key_is(k, klen, "devices"))
				child = ROLE_DEVICES;
			else if (role == ROLE_DEVICE && scan_key_is(k, klen, "rules"))
				child = ROLE_RULES;
			scan_value(s, child, di);
		}
		if (s->p < s->end)
			s->p++;
	} else if (*s->p == '[') {
		s->p++;
		for (;;) {
			scan_ws(s);
			if (s->p >= s->end || *s->p == ']')
				break;
			if (*s->p == ',') {
				s->p++;
				continue;
			}
			enum scan_role child = ROLE_OTHER;
			size_t cdi = di;
			if (role == ROLE_DEVICES) {
				if (idx < s->ndev)
					s->dev_line[idx] = s->line;
				child = ROLE_DEVICE;
				cdi = idx;
			} else if (role == ROLE_RULES && di < s->ndev &&
				   idx < s->rule_off[di + 1] - s->rule_off[di]) {
				s->rule_line[s->rule_off[di] + idx] = s->line;
			}
			scan_value(s, child, cdi);
			idx++;
		}
		if (s->p < s->end)
			s->p++;
	} else if (*s->p == '"') {
		scan_string(s, &k, &klen);
	} else {
		while (s->p < s->end && !strchr(",]} \t\r\n", *s->p))
			s->p++;
	}
}

/* ---- checks ---------------------------------------------------------- */

static bool device_registry_keys_only(json_t *o, const char *const *allowed, const char **bad)
{
	const char *key;
	json_t *v;

	json_object_foreach(o, key, v)
	{
		bool ok = false;
		for (size_t i = 0; allowed[i] != NULL && !ok; i++)
			ok = strcmp(key, allowed[i]) == 0;
		if (!ok) {
			*bad = key;
			return false;
		}
	}
	return true;
}

/* The kind of a channel name PREFIX_n (n = 1, 2, ...), or NULL. */
static const struct device_kind *device_registry_kind(const char *ch)
{
	for (size_t i = 0; i < sizeof(device_kinds) / sizeof(device_kinds[0]); i++) {
		size_t n = strlen(device_kinds[i].prefix);
		if (strncmp(ch, device_kinds[i].prefix, n) == 0 && ch[n] == '_' &&
		    ch[n + 1] >= '1' && ch[n + 1] <= '9' &&
		    strspn(ch + n + 1, "0123456789") == strlen(ch + n + 1))
			return &device_kinds[i];
	}
	return NULL;
}

static bool device_registry_rule(json_t *o, struct device_rule *r, char *why, size_t whylen)
{
	static const char *const keys[] = {
	    "channel", "field", "metric", "v_ref_per_day", "blue", "yellow", "orange", "red", NULL};
	const char *bad = NULL, *s;
	const struct device_kind *kind;
	json_t *v;
	int m;

	if (!json_is_object(o)) {
		snprintf(why, whylen, "a rule is not an object");
		return false;
	}
	if (!device_registry_keys_only(o, keys, &bad)) {
		snprintf(why, whylen, "unknown key \"%.40s\" in a rule", bad);
		return false;
	}
	s = json_string_value(json_object_get(o, "channel"));
	if (s == NULL || strlen(s) > DEVICE_CHANNEL_MAX) {
		snprintf(why, whylen, "rule channel is not a channel name");
		return false;
	}
	snprintf(r->channel, sizeof(r->channel), "%s", s);
	if (strncmp(s, "S1_ZT_", 6) == 0) {
		snprintf(why, whylen, "channel %s: device status is stored, not judged",
			 r->channel);
		return false;
	}
	if ((kind = device_registry_kind(s)) == NULL) {
		snprintf(why, whylen,
			 "channel %s: unknown channel kind (L1_LF, L1_GP, L1_QJ, L1_JS, L1_SW, "
			 "L3_YL, L4_NW, then _n)",
			 r->channel);
		return false;
	}
	s = json_string_value(json_object_get(o, "field"));
	if (s == NULL)
		s = "value"; /* a scalar channel's field */
	bool field_ok = false;
	for (size_t i = 0; i < 6 && kind->fields[i] != NULL; i++)
		field_ok = field_ok || strcmp(s, kind->fields[i]) == 0;
	if (!field_ok || strlen(s) > DEVICE_FIELD_MAX) {
		snprintf(why, whylen, "channel %s: unknown field \"%.40s\" for %s", r->channel, s,
			 kind->prefix);
		return false;
	}
	snprintf(r->field, sizeof(r->field), "%s", s);
	s = json_string_value(json_object_get(o, "metric"));
	for (m = 0; s != NULL && m < DEVICE_METRIC_COUNT; m++)
		if (strcmp(s, device_metric_names[m]) == 0)
			break;
	if (s == NULL || m == DEVICE_METRIC_COUNT) {
		snprintf(why, whylen, "channel %s: unknown metric \"%.40s\"", r->channel,
			 s ? s : "(none)");
		return false;
	}
	r->metric = (enum device_metric)m;
	if ((r->metric == DEVICE_METRIC_SUM_1H || r->metric == DEVICE_METRIC_SUM_24H) &&
	    !kind->sums) {
		snprintf(why, whylen, "channel %s: %s sums interval values; only L3_YL has them",
			 r->channel, device_metric_names[m]);
		return false;
	}
	v = json_object_get(o, "v_ref_per_day");
	if (r->metric == DEVICE_METRIC_TANGENT_ANGLE) {
		if (!json_is_number(v) || !(json_number_value(v) > 0) ||
		    !isfinite(json_number_value(v))) {
			snprintf(why, whylen,
				 "channel %s: tangent_angle needs v_ref_per_day, a number > 0",
				 r->channel);
			return false;
		}
		r->v_ref_per_day = json_number_value(v);
	} else if (v != NULL) {
		snprintf(why, whylen, "channel %s: v_ref_per_day is for tangent_angle only",
			 r->channel);
		return false;
	}
	int last = DEVICE_LEVEL_NONE, nlev = 0;
	for (int l = DEVICE_LEVEL_BLUE; l < DEVICE_LEVEL_COUNT; l++) {
		v = json_object_get(o, device_level_names[l]);
		if (v == NULL)
			continue;
		if (!json_is_number(v) || !isfinite(json_number_value(v))) {
			snprintf(why, whylen, "channel %s: %s is not a number", r->channel,
				 device_level_names[l]);
			return false;
		}
		r->has[l] = true;
		r->threshold[l] = json_number_value(v);
		if (last != DEVICE_LEVEL_NONE && !(r->threshold[l] > r->threshold[last])) {
			snprintf(why, whylen,
				 "channel %s %s: levels not increasing: %s %g is not above %s %g",
				 r->channel, device_metric_names[m], device_level_names[l],
				 r->threshold[l], device_level_names[last], r->threshold[last]);
			return false;
		}
		last = l;
		nlev++;
	}
	if (nlev == 0) {
		snprintf(why, whylen, "channel %s %s: rule without levels (blue/yellow/orange/red)",
			 r->channel, device_metric_names[m]);
		return false;
	}
	return true;
}

static int device_cmp(const void *a, const void *b)
{
	const struct device *x = a, *y = b;
	return strcmp(x->device_code, y->device_code);
}

static int device_code_cmp(const void *key, const void *b)
{
	return strcmp(key, ((const struct device *)b)->device_code);
}

ga_err device_registry_load(const char *path, const struct registry *stations,
			    struct device_registry **out, char *err, size_t errlen)
{
	static const char *const dkeys[] = {"device_code", "station_id", "interval_s", "rules",
					    NULL};
	char *buf = NULL, why[384], rwhy[256];
	size_t len = 0, nd = 0, i;
	json_t *doc = NULL, *devs;
	json_error_t jerr;
	struct device *d = NULL;
	struct device_registry *r = NULL;
	struct device_pool *pool = NULL;
	struct device_rule_set *sets = NULL;
	size_t nsets = 0;
	struct station_intern si = {0};
	struct rules_intern ri = {.sets = &sets, .nsets = &nsets};
	struct device_rule *tmp = NULL; /* a device's rules while checked */
	struct scan sc = {0};
	const char *bad = NULL;
	int line = 0;
	ga_err rc;

	if ((rc = file_read(path, DEVICE_REGISTRY_MAX_BYTES, &buf, &len, err, errlen)) != GA_OK)
		goto out;
	rc = GA_ERR_CONFIG;
	if ((doc = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr)) == NULL) {
		snprintf(err, errlen, "%s:%d: %s", path, jerr.line, jerr.text);
		goto out;
	}
	devs = json_object_get(doc, "devices");
	if (!json_is_object(doc) || !json_is_array(devs) || json_object_size(doc) != 1) {
		snprintf(err, errlen, "%s:1: not {\"devices\": [...]}", path);
		goto out;
	}
	nd = json_array_size(devs);
	if (nd > DEVICE_REGISTRY_MAX_DEVICES) {
		snprintf(err, errlen, "%s:1: %zu devices, more than %d", path, nd,
			 DEVICE_REGISTRY_MAX_DEVICES);
		goto out;
	}
	/* positions first, so that every message below can carry one */
	sc.p = buf;
	sc.end = buf + len;
	sc.line = 1;
	sc.ndev = nd;
	sc.dev_line = calloc(nd + 1, sizeof(*sc.dev_line));
	sc.rule_off = calloc(nd + 1, sizeof(*sc.rule_off));
	if (sc.dev_line == NULL || sc.rule_off == NULL)
		goto nomem;
	for (i = 0; i < nd; i++) {
		size_t nr = json_array_size(json_object_get(json_array_get(devs, i), "rules"));
		sc.rule_off[i + 1] = sc.rule_off[i] + (nr <= DEVICE_REGISTRY_MAX_RULES ? nr : 0);
	}
	sc.rule_line = calloc(sc.rule_off[nd] + 1, sizeof(*sc.rule_line));
	if (sc.rule_line == NULL)
		goto nomem;
	scan_value(&sc, ROLE_ROOT, 0);

	if ((d = calloc(nd + 1, sizeof(*d))) == NULL ||
	    (tmp = calloc(DEVICE_REGISTRY_MAX_RULES, sizeof(*tmp))) == NULL)
		goto nomem;
	for (i = 0; i < nd; i++) {
		json_t *o = json_array_get(devs, i), *v, *rules;
		struct device *x = &d[i];
		const char *s;

		x->line = line = sc.dev_line[i];
		if (!json_is_object(o)) {
			snprintf(why, sizeof(why), "device %zu is not an object", i);
			goto bad;
		}
		if (!device_registry_keys_only(o, dkeys, &bad)) {
			snprintf(why, sizeof(why), "device %zu: unknown key \"%.40s\"", i, bad);
			goto bad;
		}
		s = json_string_value(json_object_get(o, "device_code"));
		if (s == NULL || strlen(s) == 0 || strlen(s) > DEVICE_CODE_MAX ||
		    strspn(s,
			   "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-.") !=
			strlen(s)) {
			snprintf(
			    why, sizeof(why),
			    "device %zu: device_code is not 1-%d characters of A-Z a-z 0-9 _ - .",
			    i, DEVICE_CODE_MAX);
			goto bad;
		}
		if ((x->device_code = device_pool_add(&pool, s)) == NULL)
			goto nomem;
		s = json_string_value(json_object_get(o, "station_id"));
		if (s == NULL || strlen(s) == 0 || strlen(s) >= REGISTRY_ID_MAX) {
			snprintf(why, sizeof(why), "device %s: station_id is not a station id",
				 x->device_code);
			goto bad;
		}
		if (stations != NULL && registry_find(stations, s) == NULL) {
			snprintf(why, sizeof(why), "device %s: unknown station %s", x->device_code,
				 s);
			goto bad;
		}
		if ((x->station_id = station_intern_add(&si, &pool, s)) == NULL)
			goto nomem;
		x->interval_s = DEVICE_INTERVAL_DEFAULT_S;
		v = json_object_get(o, "interval_s");
		if (v != NULL) {
			if (!json_is_integer(v) || json_integer_value(v) < 1 ||
			    json_integer_value(v) > DEVICE_INTERVAL_MAX_S) {
				snprintf(why, sizeof(why),
					 "device %s: interval_s is not an integer 1-%d",
					 x->device_code, DEVICE_INTERVAL_MAX_S);
				goto bad;
			}
			x->interval_s = (int)json_integer_value(v);
		}
		rules = json_object_get(o, "rules");
		if (rules == NULL)
			continue; /* stored, not judged */
		if (!json_is_array(rules) || json_array_size(rules) > DEVICE_REGISTRY_MAX_RULES) {
			snprintf(why, sizeof(why), "device %s: rules is not an array of at most %d",
				 x->device_code, DEVICE_REGISTRY_MAX_RULES);
			goto bad;
		}
		size_t nr = json_array_size(rules);
		memset(tmp, 0, nr * sizeof(*tmp));
		for (size_t j = 0; j < nr; j++) {
			tmp[j].line = sc.rule_line[sc.rule_off[i] + j];
			if (!device_registry_rule(json_array_get(rules, j), &tmp[j], rwhy,
						  sizeof(rwhy))) {
				snprintf(why, sizeof(why), "device %s: %s", x->device_code, rwhy);
				line = tmp[j].line ? tmp[j].line : line;
				goto bad;
			}
		}
		x->n_rules = (uint16_t)nr;
		if (nr > 0 && (x->rules = rules_intern_add(&ri, tmp, nr)) == NULL)
			goto nomem;
	}
	qsort(d, nd, sizeof(*d), device_cmp);
	for (i = 1; i < nd; i++) {
		if (strcmp(d[i - 1].device_code, d[i].device_code) == 0) {
			const struct device *a = &d[i - 1], *b = &d[i];
			if (a->line > b->line) {
				const struct device *t = a;
				a = b;
				b = t;
			}
			line = b->line;
			snprintf(why, sizeof(why), "device %s listed twice (first at line %d)",
				 b->device_code, a->line);
			goto bad;
		}
	}
	if ((r = calloc(1, sizeof(*r))) == NULL)
		goto nomem;
	r->devices = d;
	r->n = nd;
	r->pool = pool;
	r->sets = sets;
	r->nsets = nsets;
	d = NULL;
	pool = NULL;
	sets = NULL;
	*out = r;
	rc = GA_OK;
	goto out;
nomem:
	snprintf(err, errlen, "%s: out of memory", path);
	rc = GA_ERR_NOMEM;
	goto out;
bad:
	snprintf(err, errlen, "%s:%d: %s", path, line, why);
	rc = GA_ERR_CONFIG;
out:
	free(d);
	free(tmp);
	device_pool_free(pool);
	device_rule_sets_free(sets, nsets);
	free(si.t.slot);
	free(si.ids);
	free(ri.t.slot);
	free(sc.dev_line);
	free(sc.rule_off);
	free(sc.rule_line);
	json_decref(doc);
	free(buf);
	return rc;
}

void device_registry_free(struct device_registry *r)
{
	if (r == NULL)
		return;
	free(r->devices);
	device_pool_free(r->pool);
	device_rule_sets_free(r->sets, r->nsets);
	free(r);
}

const struct device *device_registry_find(const struct device_registry *r, const char *code)
{
	if (r == NULL || code == NULL)
		return NULL;
	return bsearch(code, r->devices, r->n, sizeof(*r->devices), device_code_cmp);
}

size_t device_registry_count(const struct device_registry *r)
{
	return r ? r->n : 0;
}

const struct device *device_registry_at(const struct device_registry *r, size_t i)
{
	return r != NULL && i < r->n ? &r->devices[i] : NULL;
}
