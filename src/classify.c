/* classify.c - severity levels of spec §5. The bounds are data
 * (alerts/thresholds.json, described in alerts/README.md): a province may
 * tighten them without a rebuild. Lower bounds are inclusive. */
#include "classify.h"
#include "file.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef GA_DATADIR
#define GA_DATADIR "."
#endif

#define THRESHOLDS_SCHEMA "geoalert.thresholds/1"
#define THRESHOLDS_MAX_BYTES 65536
#define CLASSIFY_NUM_MAX 48

/* The criteria, in the order reasons list them on a tie. */
enum criterion { CRIT_DEATHS, CRIT_LOSS, CRIT_PEOPLE, CRIT_PROPERTY, CRIT_COUNT };

static const struct {
	const char *group; /* "disaster" or "danger" */
	const char *key;
	bool count;		  /* integral in the file */
	const char *zh, *unit_zh; /* the reason's words in Chinese */
} classify_crit[CRIT_COUNT] = {
    [CRIT_DEATHS] = {"disaster", "deaths", true, "死亡人数", "人"},
    [CRIT_LOSS] = {"disaster", "direct_loss_cny", false, "直接经济损失", "元"},
    [CRIT_PEOPLE] = {"danger", "threatened_people", true, "威胁人数", "人"},
    [CRIT_PROPERTY] = {"danger", "threatened_property_cny", false, "潜在经济损失", "元"},
};

struct thresholds {
	bool count_missing_as_deaths;
	double min[CRIT_COUNT][LEVEL_COUNT]; /* lower bound of each level above small */
};

/* Reads at most THRESHOLDS_MAX_BYTES of path and parses it. */
static ga_err thresholds_read(const char *path, json_t **out, char *err, size_t errlen)
{
	char *buf = NULL;
	size_t n;
	json_error_t jerr;
	ga_err rc = file_read(path, THRESHOLDS_MAX_BYTES, &buf, &n, err, errlen);

	if (rc != GA_OK) {
		if (rc == GA_ERR_NOTFOUND)
			rc = GA_ERR_IO;
		goto out;
	}
	rc = GA_ERR_CONFIG;
	*out = json_loadb(buf, n, JSON_REJECT_DUPLICATES, &jerr);
	if (*out == NULL) {
		snprintf(err, errlen, "%s:%d:%d: %s", path, jerr.line, jerr.column, jerr.text);
		goto out;
	}
	rc = GA_OK;
out:
	free(buf);
	return rc;
}

/* Fails on any key of obj not in allowed (NULL-terminated). */
static bool thresholds_known_keys(const char *path, const char *where, json_t *obj,
				  const char *const *allowed, char *err, size_t errlen)
{
	const char *key;
	json_t *v;

	json_object_foreach(obj, key, v)
	{
		bool ok = false;
		for (const char *const *a = allowed; *a && !ok; a++)
			ok = strcmp(*a, key) == 0;
		if (!ok) {
			snprintf(err, errlen, "%s: key %s%s%s: unknown key", path, where,
				 where[0] ? "." : "", key);
			return false;
		}
	}
	return true;
}

/* Checks levels.LEVEL.GROUP.KEY for every level and criterion. */
static bool thresholds_levels(const char *path, json_t *levels, struct thresholds *t, char *err,
			      size_t errlen)
{
	static const char *const level_keys[] = {"medium", "large", "extra_large", NULL};
	static const char *const group_keys[] = {"disaster", "danger", NULL};

	if (!json_is_object(levels)) {
		snprintf(err, errlen, "%s: key levels: must be an object", path);
		return false;
	}
	if (!thresholds_known_keys(path, "levels", levels, level_keys, err, errlen))
		return false;
	for (int l = LEVEL_MEDIUM; l < LEVEL_COUNT; l++) {
		const char *ln = level_name((enum level)l);
		char where[64];
		json_t *lv = json_object_get(levels, ln);

		snprintf(where, sizeof(where), "levels.%s", ln);
		if (lv == NULL || !json_is_object(lv)) {
			snprintf(err, errlen, "%s: key %s: %s", path, where,
				 lv == NULL ? "missing" : "must be an object");
			return false;
		}
		if (!thresholds_known_keys(path, where, lv, group_keys, err, errlen))
			return false;
		for (int c = 0; c < CRIT_COUNT; c++) {
			const char *g = classify_crit[c].group, *k = classify_crit[c].key;
			json_t *grp = json_object_get(lv, g);
			json_t *v;
			double d;

			if (grp == NULL || !json_is_object(grp)) {
				snprintf(err, errlen, "%s: key %s.%s: %s", path, where, g,
					 grp == NULL ? "missing" : "must be an object");
				return false;
			}
			v = json_object_get(grp, k);
			if (v == NULL) {
				snprintf(err, errlen, "%s: key %s.%s.%s: missing", path, where, g,
					 k);
				return false;
			}
			d = json_is_number(v) ? json_number_value(v) : -1;
			if (!json_is_number(v) || !isfinite(d) || d < 0 ||
			    (classify_crit[c].count && floor(d) != d)) {
				snprintf(err, errlen, "%s: key %s.%s.%s: must be a non-negative %s",
					 path, where, g, k,
					 classify_crit[c].count ? "integer" : "number");
				return false;
			}
			t->min[c][l] = d;
			if (l > LEVEL_MEDIUM && d < t->min[c][l - 1]) {
				snprintf(err, errlen,
					 "%s: key %s.%s.%s: must not be below the %s bound", path,
					 where, g, k, level_name((enum level)(l - 1)));
				return false;
			}
		}
		/* Keys inside each group are checked for unknowns last, once
		 * the required ones are known to be there. */
		for (int gi = 0; group_keys[gi] != NULL; gi++) {
			const char *allowed[3] = {NULL, NULL, NULL};
			int na = 0;
			char gwhere[96];
			for (int c = 0; c < CRIT_COUNT; c++)
				if (strcmp(classify_crit[c].group, group_keys[gi]) == 0)
					allowed[na++] = classify_crit[c].key;
			snprintf(gwhere, sizeof(gwhere), "%s.%s", where, group_keys[gi]);
			if (!thresholds_known_keys(path, gwhere,
						   json_object_get(lv, group_keys[gi]), allowed,
						   err, errlen))
				return false;
		}
	}
	return true;
}

ga_err thresholds_load(const char *path, struct thresholds **out, char *err, size_t errlen)
{
	static const char *const top_keys[] = {"schema", "description", "count_missing_as_deaths",
					       "levels", NULL};
	struct thresholds *t = NULL;
	json_t *root = NULL, *v;
	ga_err rc;

	if (path == NULL || path[0] == '\0')
		path = GA_DATADIR "/alerts/thresholds.json";
	if ((rc = thresholds_read(path, &root, err, errlen)) != GA_OK)
		goto out;
	rc = GA_ERR_CONFIG;
	if (!json_is_object(root)) {
		snprintf(err, errlen, "%s: must be a JSON object", path);
		goto out;
	}
	if (!thresholds_known_keys(path, "", root, top_keys, err, errlen))
		goto out;
	v = json_object_get(root, "schema");
	if (!json_is_string(v) || strcmp(json_string_value(v), THRESHOLDS_SCHEMA) != 0) {
		snprintf(err, errlen, "%s: key schema: must be \"%s\"", path, THRESHOLDS_SCHEMA);
		goto out;
	}
	if ((t = calloc(1, sizeof(*t))) == NULL) {
		rc = GA_ERR_NOMEM;
		snprintf(err, errlen, "%s: out of memory", path);
		goto out;
	}
	v = json_object_get(root, "count_missing_as_deaths");
	if (!json_is_boolean(v)) {
		snprintf(err, errlen, "%s: key count_missing_as_deaths: %s", path,
			 v == NULL ? "missing" : "must be true or false");
		goto out;
	}
	t->count_missing_as_deaths = json_is_true(v);
	v = json_object_get(root, "levels");
	if (v == NULL) {
		snprintf(err, errlen, "%s: key levels: missing", path);
		goto out;
	}
	if (!thresholds_levels(path, v, t, err, errlen))
		goto out;
	*out = t;
	t = NULL;
	rc = GA_OK;
out:
	free(t);
	json_decref(root);
	return rc;
}

void thresholds_free(struct thresholds *t)
{
	free(t);
}

/* Integers print without a fraction (10000000, not 1e+07 or 10000000.0). */
static void classify_num(double v, char *buf, size_t len)
{
	if (floor(v) == v && fabs(v) < 1e15) {
		snprintf(buf, len, "%.0f", v);
	} else if (fabs(v) >= 1e15) {
		snprintf(buf, len, "%.6g", v);
	} else {
		size_t n;
		snprintf(buf, len, "%.2f", v);
		n = strlen(buf);
		while (n > 0 && buf[n - 1] == '0')
			buf[--n] = '\0';
		if (n > 0 && buf[n - 1] == '.')
			buf[--n] = '\0';
	}
}

static enum level classify_level(const struct thresholds *t, int c, double v)
{
	enum level l = LEVEL_SMALL;

	for (int i = LEVEL_MEDIUM; i < LEVEL_COUNT; i++)
		if (v >= t->min[c][i])
			l = (enum level)i;
	return l;
}

struct classify_eval {
	int crit;
	enum level level;
	double value;
};

static void classify_add(struct classify_eval *ev, int *n, int crit, double value)
{
	ev[*n].crit = crit;
	ev[*n].value = value;
	ev[*n].level = LEVEL_SMALL;
	(*n)++;
}

/* The criteria the figures give, each with its level (ev, *n of them), and
 * the levels (danger, disaster, overall) they make. */
static void classify_levels(const struct thresholds *t, bool disaster, const struct figures *f,
			    struct classify_eval *ev, int *n, struct classification *out)
{
	bool cm = t->count_missing_as_deaths;
	bool has[FIG_COUNT];

	for (int i = 0; i < FIG_COUNT; i++)
		has[i] = (f->set & (1u << i)) != 0;
	*n = 0;
	out->disaster = disaster;
	out->disaster_level = LEVEL_SMALL;
	out->danger_level = LEVEL_SMALL;
	if (disaster && (has[FIG_DEATHS] || (cm && has[FIG_MISSING]))) {
		double d = (has[FIG_DEATHS] ? f->value[FIG_DEATHS] : 0) +
			   (cm && has[FIG_MISSING] ? f->value[FIG_MISSING] : 0);
		classify_add(ev, n, CRIT_DEATHS, d);
	}
	if (disaster && has[FIG_DIRECT_LOSS_CNY])
		classify_add(ev, n, CRIT_LOSS, f->value[FIG_DIRECT_LOSS_CNY]);
	if (has[FIG_THREATENED_PEOPLE])
		classify_add(ev, n, CRIT_PEOPLE, f->value[FIG_THREATENED_PEOPLE]);
	if (has[FIG_THREATENED_PROPERTY_CNY])
		classify_add(ev, n, CRIT_PROPERTY, f->value[FIG_THREATENED_PROPERTY_CNY]);

	for (int i = 0; i < *n; i++) {
		ev[i].level = classify_level(t, ev[i].crit, ev[i].value);
		if (ev[i].crit == CRIT_DEATHS || ev[i].crit == CRIT_LOSS) {
			if (ev[i].level > out->disaster_level)
				out->disaster_level = ev[i].level;
		} else if (ev[i].level > out->danger_level) {
			out->danger_level = ev[i].level;
		}
	}
	out->level = out->danger_level;
	if (disaster && out->disaster_level > out->level)
		out->level = out->disaster_level;
}

enum level classify_figures_level(const struct thresholds *t, bool disaster,
				  const struct figures *f)
{
	struct classify_eval ev[CRIT_COUNT];
	/* Only the level members are written: the reasons stay untouched. */
	struct classification levels;
	int n;

	classify_levels(t, disaster, f, ev, &n, &levels);
	return levels.level;
}

void classify_figures(const struct thresholds *t, bool disaster, const struct figures *f,
		      struct classification *out)
{
	struct classify_eval ev[CRIT_COUNT];
	int n = 0;
	bool cm = t->count_missing_as_deaths;

	memset(out, 0, sizeof(*out));
	classify_levels(t, disaster, f, ev, &n, out);

	/* Deciding criterion first: stable sort by level, highest first. */
	for (int i = 1; i < n; i++) {
		for (int j = i; j > 0 && ev[j].level > ev[j - 1].level; j--) {
			struct classify_eval tmp = ev[j];
			ev[j] = ev[j - 1];
			ev[j - 1] = tmp;
		}
	}
	for (int i = 0; i < n && out->nreasons < CLASSIFY_MAX_REASONS; i++) {
		char v[CLASSIFY_NUM_MAX], b[CLASSIFY_NUM_MAX];
		const char *label = classify_crit[ev[i].crit].key;
		enum level l = ev[i].level;

		if (ev[i].crit == CRIT_DEATHS && cm)
			label = "deaths+missing";
		classify_num(ev[i].value, v, sizeof(v));
		classify_num(t->min[ev[i].crit][l == LEVEL_SMALL ? LEVEL_MEDIUM : l], b, sizeof(b));
		snprintf(out->reasons_zh[out->nreasons], CLASSIFY_REASON_MAX, "%s%s%s，%s%s%s：%s",
			 ev[i].crit == CRIT_DEATHS && cm ? "死亡和失踪人数"
							 : classify_crit[ev[i].crit].zh,
			 v, classify_crit[ev[i].crit].unit_zh, l == LEVEL_SMALL ? "<" : "≥", b,
			 classify_crit[ev[i].crit].unit_zh, level_zh(l));
		snprintf(out->reasons[out->nreasons++], CLASSIFY_REASON_MAX, "%s %s %s %s: %s",
			 label, v, l == LEVEL_SMALL ? "<" : ">=", b, level_name(l));
	}
	if (out->nreasons == 0) {
		snprintf(out->reasons_zh[out->nreasons], CLASSIFY_REASON_MAX, "未报告分级数字：%s",
			 level_zh(LEVEL_SMALL));
		snprintf(out->reasons[out->nreasons++], CLASSIFY_REASON_MAX, "no figures: %s",
			 level_name(LEVEL_SMALL));
	}
}

json_t *classify_to_json(const struct classification *c, enum kind kind,
			 enum level publish_min_level)
{
	json_t *reasons = json_array();
	json_t *o = NULL;

	if (reasons == NULL)
		return NULL;
	for (int i = 0; i < c->nreasons; i++) {
		if (json_array_append_new(reasons, json_string(c->reasons[i])) != 0) {
			json_decref(reasons);
			return NULL;
		}
	}
	/* json_pack keeps the insertion order, which `classify` prints. */
	o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:b, s:o}", "kind", kind_name(kind), "level",
		      level_name(c->level), "level_zh", level_zh(c->level), "response_level",
		      level_response(c->level), "color", level_color(c->level), "publish",
		      c->level >= publish_min_level, "reasons", reasons);
	return o;
}
