/* draft.c - composing a draft alert's text from the templates of
 * alerts/templates/. The wording lives in those files; this module only
 * turns an incident into template values: Chinese names, local time,
 * figures in 人 and 万元, the place, the combined texts of the reports.
 * The values it makes are the whole vocabulary the templates may use
 * (draft_vars), so a template naming anything else fails at load. */
#include "draft.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "draft_internal.h"
#include "draft_template.h"
#include "file.h"

#ifndef GA_DATADIR
#define GA_DATADIR "."
#endif

#define DRAFT_PATH_MAX 1024
#define DRAFT_NUM_MAX 48
#define DRAFT_HAZARD_TEXT_MAX 1024 /* bytes of one value in hazards.txt */
#define DRAFT_AMOUNT_MAX 1e15	   /* figures above this are printed as this */

static const struct {
	const char *file;
	size_t cap;
} draft_sections[SEC_COUNT] = {
    [SEC_HEADLINE] = {"headline.txt", DRAFT_HEADLINE_MAX},
    [SEC_SITUATION] = {"situation.txt", DRAFT_TEXT_MAX},
    [SEC_CAUSES] = {"causes.txt", DRAFT_TEXT_MAX},
    [SEC_RESPONSE] = {"response.txt", DRAFT_TEXT_MAX},
    [SEC_TREND] = {"trend.txt", DRAFT_TEXT_MAX},
};

#define DRAFT_HAZARDS_FILE "hazards.txt"

/* The values templates can use; documented in alerts/templates/README.md. */
enum draft_var {
	V_ALERT,
	V_UPDATE,
	V_CANCEL,
	V_DANGER,
	V_DISASTER,
	V_KIND_ZH,
	V_HAZARD_ZH,
	V_LEVEL_ZH,
	V_RESPONSE_LEVEL,
	V_PREV_LEVEL_ZH,
	V_LEVEL_MOVE,
	V_ADMIN_NAME,
	V_ADMIN_CODE,
	V_PLACE,
	V_LOCATION,
	V_TIME,
	V_VOLUME,
	V_AREA,
	V_DEATHS,
	V_MISSING,
	V_INJURED,
	V_RELOCATED,
	V_DIRECT_LOSS,
	V_THREATENED_PEOPLE,
	V_THREATENED_PROPERTY,
	V_NO_CASUALTIES,
	V_CAUSES,
	V_CAUSES_DEFAULT,
	V_TREND,
	V_MEASURES,
	V_ADVICE,
	V_SENDER,
	V_INCIDENT_ID,
	V_CHANGES,
	V_COUNT
};

static const char *const draft_vars[V_COUNT] = {
    [V_ALERT] = "alert",
    [V_UPDATE] = "update",
    [V_CANCEL] = "cancel",
    [V_DANGER] = "danger",
    [V_DISASTER] = "disaster",
    [V_KIND_ZH] = "kind_zh",
    [V_HAZARD_ZH] = "hazard_zh",
    [V_LEVEL_ZH] = "level_zh",
    [V_RESPONSE_LEVEL] = "response_level",
    [V_PREV_LEVEL_ZH] = "prev_level_zh",
    [V_LEVEL_MOVE] = "level_move",
    [V_ADMIN_NAME] = "admin_name",
    [V_ADMIN_CODE] = "admin_code",
    [V_PLACE] = "place",
    [V_LOCATION] = "location",
    [V_TIME] = "time",
    [V_VOLUME] = "volume",
    [V_AREA] = "area",
    [V_DEATHS] = "deaths",
    [V_MISSING] = "missing",
    [V_INJURED] = "injured",
    [V_RELOCATED] = "relocated",
    [V_DIRECT_LOSS] = "direct_loss",
    [V_THREATENED_PEOPLE] = "threatened_people",
    [V_THREATENED_PROPERTY] = "threatened_property",
    [V_NO_CASUALTIES] = "no_casualties",
    [V_CAUSES] = "causes",
    [V_CAUSES_DEFAULT] = "causes_default",
    [V_TREND] = "trend",
    [V_MEASURES] = "measures",
    [V_ADVICE] = "advice",
    [V_SENDER] = "sender",
    [V_INCIDENT_ID] = "incident_id",
    [V_CHANGES] = "changes",
};

/* Roman numerals of the response levels (Ⅰ级响应 ...), by enum level. */
static const char *const draft_response_zh[LEVEL_COUNT] = {"Ⅳ", "Ⅲ", "Ⅱ", "Ⅰ"};

/* Admin-name characters after which a shorter name may start: the place
 * text often repeats the tail of the admin name ("浦口区永宁街道..."). */
static const char *const draft_admin_units[] = {"省", "市", "区", "县", "州", "盟", "旗", NULL};

static const char *const draft_msg_names[DRAFT_MSG_COUNT] = {"alert", "update", "cancel"};

enum hazard_key { HK_ADVICE, HK_CAUSES, HK_GUIDE, HK_COUNT };
static const char *const draft_hazard_keys[HK_COUNT] = {"advice", "causes", "guide"};

struct draft_templates {
	struct draft_template *section[SEC_COUNT];
	struct draft_template *warning[SEC_COUNT]; /* kind warning (draft_warning.c) */
	char *hazard_text[HAZARD_COUNT][HK_COUNT];
};

const char *draft_msg_type_name(enum draft_msg_type t)
{
	return (t >= 0 && t < DRAFT_MSG_COUNT) ? draft_msg_names[t] : "unknown";
}

int draft_msg_type_from_name(const char *s)
{
	for (int i = 0; s != NULL && i < DRAFT_MSG_COUNT; i++)
		if (strcmp(s, draft_msg_names[i]) == 0)
			return i;
	return -1;
}

static int draft_var_lookup(const char *name, size_t len)
{
	for (int i = 0; i < V_COUNT; i++)
		if (strlen(draft_vars[i]) == len && memcmp(draft_vars[i], name, len) == 0)
			return i;
	return -1;
}

void draft_templates_free(struct draft_templates *t)
{
	if (t == NULL)
		return;
	for (int i = 0; i < SEC_COUNT; i++) {
		draft_template_free(t->section[i]);
		draft_template_free(t->warning[i]);
	}
	for (int h = 0; h < HAZARD_COUNT; h++)
		for (int k = 0; k < HK_COUNT; k++)
			free(t->hazard_text[h][k]);
	free(t);
}

const char *draft_templates_advice(const struct draft_templates *t, enum hazard_type h)
{
	if (t == NULL || h < 0 || h >= HAZARD_COUNT || t->hazard_text[h][HK_ADVICE] == NULL)
		return "";
	return t->hazard_text[h][HK_ADVICE];
}

const char *draft_templates_causes(const struct draft_templates *t, enum hazard_type h)
{
	if (t == NULL || h < 0 || h >= HAZARD_COUNT || t->hazard_text[h][HK_CAUSES] == NULL)
		return "";
	return t->hazard_text[h][HK_CAUSES];
}

const struct draft_template *draft_templates_warning(const struct draft_templates *t, int i)
{
	return t != NULL && i >= 0 && i < SEC_COUNT ? t->warning[i] : NULL;
}

size_t draft_section_cap(int i)
{
	return i >= 0 && i < SEC_COUNT ? draft_sections[i].cap : DRAFT_TEXT_MAX;
}

const char *draft_templates_guide(const struct draft_templates *t, enum hazard_type h)
{
	if (t == NULL || h < 0 || h >= HAZARD_COUNT || t->hazard_text[h][HK_GUIDE] == NULL)
		return "";
	return t->hazard_text[h][HK_GUIDE];
}

/* One "hazard.key = value" line of hazards.txt (trimmed, not a comment). */
static ga_err draft_hazard_line(struct draft_templates *t, const char *path, int line,
				const char *s, size_t len, char *err, size_t errlen)
{
	const char *eq = memchr(s, '=', len), *k = s, *ke, *v, *ve = s + len, *dot;
	int h = -1, key = -1;

	if (eq == NULL) {
		snprintf(err, errlen, "%s:%d: expected \"hazard_type.key = text\"", path, line);
		return GA_ERR_CONFIG;
	}
	ke = eq;
	while (ke > k && (ke[-1] == ' ' || ke[-1] == '\t'))
		ke--;
	v = eq + 1;
	while (v < ve && (*v == ' ' || *v == '\t'))
		v++;
	if ((dot = memchr(k, '.', (size_t)(ke - k))) != NULL) {
		for (int i = 0; i < HAZARD_COUNT; i++) {
			const char *n = hazard_type_name((enum hazard_type)i);
			if (strlen(n) == (size_t)(dot - k) && memcmp(n, k, (size_t)(dot - k)) == 0)
				h = i;
		}
		for (int i = 0; i < HK_COUNT; i++)
			if (strlen(draft_hazard_keys[i]) == (size_t)(ke - dot - 1) &&
			    memcmp(draft_hazard_keys[i], dot + 1, (size_t)(ke - dot - 1)) == 0)
				key = i;
	}
	if (h < 0 || key < 0) {
		snprintf(err, errlen,
			 "%s:%d: unknown key \"%.*s\" (want HAZARD_TYPE.advice, .causes or .guide)",
			 path, line, (int)(ke - k), k);
		return GA_ERR_CONFIG;
	}
	if (t->hazard_text[h][key] != NULL) {
		snprintf(err, errlen, "%s:%d: %.*s given twice", path, line, (int)(ke - k), k);
		return GA_ERR_CONFIG;
	}
	if (v == ve || ve - v > DRAFT_HAZARD_TEXT_MAX) {
		snprintf(err, errlen, "%s:%d: %.*s must be 1 to %d bytes", path, line,
			 (int)(ke - k), k, DRAFT_HAZARD_TEXT_MAX);
		return GA_ERR_CONFIG;
	}
	if ((t->hazard_text[h][key] = strndup(v, (size_t)(ve - v))) == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		return GA_ERR_NOMEM;
	}
	return GA_OK;
}

/* Reads hazards.txt: standing advice and default causes per hazard type. */
static ga_err draft_hazards_load(struct draft_templates *t, const char *path, char *err,
				 size_t errlen)
{
	char *buf = NULL;
	const char *p, *end;
	size_t n;
	int line = 0;
	ga_err rc = file_read(path, DRAFT_TEMPLATE_MAX_BYTES, &buf, &n, err, errlen);

	if (rc != GA_OK) {
		if (rc == GA_ERR_NOTFOUND)
			rc = GA_ERR_IO;
		goto out;
	}
	rc = GA_ERR_CONFIG;
	for (p = buf, end = buf + n; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *b = p, *e = nl ? nl : end;

		line++;
		if (memchr(b, '\0', (size_t)(e - b)) || !draft_utf8_valid(b, (size_t)(e - b))) {
			snprintf(err, errlen, "%s:%d: not valid UTF-8 text", path, line);
			goto out;
		}
		while (b < e && (*b == ' ' || *b == '\t'))
			b++;
		while (e > b && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
			e--;
		if (b < e && *b != '#' &&
		    (rc = draft_hazard_line(t, path, line, b, (size_t)(e - b), err, errlen)) !=
			GA_OK)
			goto out;
		rc = GA_ERR_CONFIG;
		p = nl ? nl + 1 : end;
	}
	for (int h = 0; h < HAZARD_COUNT; h++)
		for (int k = 0; k < HK_COUNT; k++)
			if (t->hazard_text[h][k] == NULL) {
				snprintf(err, errlen, "%s: %s.%s missing", path,
					 hazard_type_name((enum hazard_type)h),
					 draft_hazard_keys[k]);
				goto out;
			}
	rc = GA_OK;
out:
	free(buf);
	return rc;
}

ga_err draft_templates_load(const char *dir, struct draft_templates **out, char *err, size_t errlen)
{
	struct draft_templates *t = NULL;
	char path[DRAFT_PATH_MAX];
	ga_err rc = GA_ERR_NOMEM;

	if (dir == NULL || dir[0] == '\0')
		dir = GA_DATADIR "/alerts/templates";
	if ((t = calloc(1, sizeof(*t))) == NULL) {
		snprintf(err, errlen, "%s: out of memory", dir);
		goto out;
	}
	for (int i = 0; i < SEC_COUNT; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, draft_sections[i].file);
		if ((rc = draft_template_load(path, draft_var_lookup, &t->section[i], err,
					      errlen)) != GA_OK)
			goto out;
		snprintf(path, sizeof(path), "%s/%s", dir, draft_warning_file(i));
		if ((rc = draft_template_load(path, draft_warning_var_lookup, &t->warning[i], err,
					      errlen)) != GA_OK)
			goto out;
	}
	snprintf(path, sizeof(path), "%s/%s", dir, DRAFT_HAZARDS_FILE);
	if ((rc = draft_hazards_load(t, path, err, errlen)) != GA_OK)
		goto out;
	*out = t;
	t = NULL;
	rc = GA_OK;
out:
	draft_templates_free(t);
	return rc;
}

void draft_input_init(struct draft_input *in, const struct incident *inc)
{
	memset(in, 0, sizeof(*in));
	in->incident = inc;
	in->msg_type = DRAFT_MSG_ALERT;
	in->kind = inc != NULL && inc->has_disaster ? KIND_DISASTER : KIND_DANGER;
	in->admin_code = inc != NULL ? inc->admin_code : NULL;
	in->observed_ms = inc != NULL ? inc->first_observed_ms : 0;
	in->utc_offset_min = 8 * 60;
	in->prev_level = -1;
	in->prev_kind = -1;
}

void draft_text_cleanup(struct draft_text *d)
{
	if (d == NULL)
		return;
	free(d->headline);
	free(d->situation);
	free(d->causes);
	free(d->response);
	free(d->trend);
	memset(d, 0, sizeof(*d));
}

/* Prints a non-negative amount held in hundredths: "3000", "1.2", "1.23". */
static void draft_print_hundredths(long long h, const char *unit, char *buf, size_t len)
{
	long long q = h / 100, r = h % 100;

	if (r == 0)
		snprintf(buf, len, "%lld%s", q, unit);
	else if (r % 10 == 0)
		snprintf(buf, len, "%lld.%lld%s", q, r / 10, unit);
	else
		snprintf(buf, len, "%lld.%02lld%s", q, r, unit);
}

char *draft_format_wan_yuan(double yuan, char *buf, size_t len)
{
	long long h;

	if (!isfinite(yuan) || yuan < 0)
		yuan = 0;
	if (yuan > DRAFT_AMOUNT_MAX)
		yuan = DRAFT_AMOUNT_MAX;
	h = llround(yuan / 100.0); /* hundredths of 万 */
	if (h == 0 && yuan > 0)
		snprintf(buf, len, "%lld元", llround(yuan));
	else
		draft_print_hundredths(h, "万元", buf, len);
	return buf;
}

char *draft_format_quantity(double v, const char *unit, char *buf, size_t len)
{
	char wan[DRAFT_NUM_MAX];

	if (!isfinite(v) || v < 0)
		v = 0;
	if (v > DRAFT_AMOUNT_MAX)
		v = DRAFT_AMOUNT_MAX;
	if (v < 10000) {
		snprintf(buf, len, "%lld%s", llround(v), unit);
	} else {
		snprintf(wan, sizeof(wan), "万%s", unit);
		draft_print_hundredths(llround(v / 100.0), wan, buf, len);
	}
	return buf;
}

char *draft_format_time(int64_t ms, int utc_offset_min, char *buf, size_t len)
{
	int64_t secs = ms / 1000 - (ms % 1000 < 0 ? 1 : 0);
	time_t t = (time_t)(secs + (int64_t)utc_offset_min * 60);
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL) {
		snprintf(buf, len, "时间不详");
		return buf;
	}
	snprintf(buf, len, "%d年%d月%d日%d时%d分", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
		 tm.tm_hour, tm.tm_min);
	return buf;
}

/* admin_name followed by place, without repeating the part of the admin
 * name the place starts with: ("江苏省南京市浦口区", "浦口区永宁街道") ->
 * "江苏省南京市浦口区永宁街道". */
void draft_location(const char *admin, const char *place, char *buf, size_t len)
{
	size_t alen;

	admin = admin ? admin : "";
	place = place ? place : "";
	alen = strlen(admin);
	for (size_t s = 0; s < alen && place[0] != '\0'; s++) {
		bool at_unit = s == 0;
		for (int u = 0; !at_unit && draft_admin_units[u] != NULL; u++) {
			size_t ul = strlen(draft_admin_units[u]);
			at_unit = s >= ul && memcmp(admin + s - ul, draft_admin_units[u], ul) == 0;
		}
		if (at_unit && strncmp(place, admin + s, alen - s) == 0) {
			snprintf(buf, len, "%.*s%s", (int)s, admin, place);
			draft_utf8_fit(buf, len - 1);
			return;
		}
	}
	snprintf(buf, len, "%s%s", admin, place);
	draft_utf8_fit(buf, len - 1);
}

/* Trims blanks and trailing punctuation (the templates add their own);
 * control characters become spaces. Works in place; returns s. */
static char *draft_text_normalize(char *s)
{
	static const char *const trail[] = {"。", "；", "，", "！", "、", ";",	",", ".",
					    "!",  " ",	"\t", "\n", "\r", "　", NULL};
	size_t n, b = 0;
	bool cut = true;

	for (char *p = s; *p; p++)
		if ((unsigned char)*p < 0x20)
			*p = ' ';
	while (s[b] == ' ')
		b++;
	memmove(s, s + b, strlen(s + b) + 1);
	n = strlen(s);
	while (cut) {
		cut = false;
		for (int i = 0; trail[i] != NULL && !cut; i++) {
			size_t tl = strlen(trail[i]);
			if (n >= tl && memcmp(s + n - tl, trail[i], tl) == 0) {
				n -= tl;
				s[n] = '\0';
				cut = true;
			}
		}
	}
	return s;
}

/* Joins the distinct non-empty texts with "；" into a new string (NULL
 * when there is none or on allocation failure, *nomem tells which). */
static char *draft_combine(const char *const *texts, size_t n, bool *nomem)
{
	char *out = NULL, *one = NULL;
	size_t len = 0;

	if (n > DRAFT_MAX_TEXTS)
		n = DRAFT_MAX_TEXTS;
	for (size_t i = 0; i < n && texts != NULL; i++) {
		char *np;
		size_t ol;
		bool dup = false;

		if (texts[i] == NULL)
			continue;
		if ((one = strndup(texts[i], DRAFT_VALUE_MAX + 8)) == NULL)
			goto nomem;
		draft_utf8_fit(one, DRAFT_VALUE_MAX);
		draft_text_normalize(one);
		ol = strlen(one);
		for (size_t j = 0; j < i && !dup; j++) {
			char *prev;
			if (texts[j] == NULL)
				continue;
			if ((prev = strndup(texts[j], DRAFT_VALUE_MAX + 8)) == NULL)
				goto nomem;
			draft_utf8_fit(prev, DRAFT_VALUE_MAX);
			dup = strcmp(draft_text_normalize(prev), one) == 0;
			free(prev);
		}
		/* A text that does not fit whole is left out, not cut. */
		if (ol == 0 || dup || len + ol + (len > 0 ? 3 : 0) > DRAFT_VALUE_MAX) {
			free(one);
			one = NULL;
			continue;
		}
		if ((np = realloc(out, len + ol + 4)) == NULL)
			goto nomem;
		out = np;
		if (len > 0) {
			memcpy(out + len, "；", 3);
			len += 3;
		}
		memcpy(out + len, one, ol + 1);
		len += ol;
		free(one);
		one = NULL;
	}
	return out;
nomem:
	*nomem = true;
	free(one);
	free(out);
	return NULL;
}

#define DRAFT_CHANGES_MAX 1024 /* bytes of the "changes" value */

/* Storage behind the values of one composition. */
struct draft_values {
	char changes[DRAFT_CHANGES_MAX];
	const char *v[V_COUNT];
	char time[DRAFT_NUM_MAX * 2];
	char location[GEO_NAME_MAX + DRAFT_HEADLINE_MAX * 8];
	char volume[DRAFT_NUM_MAX], area[DRAFT_NUM_MAX];
	char fig[FIG_COUNT][DRAFT_NUM_MAX];
	char *causes, *trend, *measures; /* owned */
};

static bool draft_figure(const struct figures *f, enum figure i)
{
	return (f->set & (1u << i)) && isfinite(f->value[i]) && f->value[i] > 0;
}

static void draft_count(double v, char *buf, size_t len)
{
	if (v > DRAFT_AMOUNT_MAX)
		v = DRAFT_AMOUNT_MAX;
	snprintf(buf, len, "%lld", llround(v));
}

static void draft_values_figures(struct draft_values *dv, const struct figures *f)
{
	static const struct {
		enum figure fig;
		enum draft_var var;
	} map[] = {
	    {FIG_DEATHS, V_DEATHS},
	    {FIG_MISSING, V_MISSING},
	    {FIG_INJURED, V_INJURED},
	    {FIG_RELOCATED_PEOPLE, V_RELOCATED},
	    {FIG_DIRECT_LOSS_CNY, V_DIRECT_LOSS},
	    {FIG_THREATENED_PEOPLE, V_THREATENED_PEOPLE},
	    {FIG_THREATENED_PROPERTY_CNY, V_THREATENED_PROPERTY},
	};
	unsigned people = (1u << FIG_DEATHS) | (1u << FIG_MISSING) | (1u << FIG_INJURED);

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		enum figure fi = map[i].fig;
		if (!draft_figure(f, fi))
			continue;
		if (figure_is_count(fi))
			draft_count(f->value[fi], dv->fig[fi], sizeof(dv->fig[fi]));
		else
			draft_format_wan_yuan(f->value[fi], dv->fig[fi], sizeof(dv->fig[fi]));
		dv->v[map[i].var] = dv->fig[fi];
	}
	/* "未造成人员伤亡" only when all three were reported, all zero. */
	if ((f->set & people) == people && !draft_figure(f, FIG_DEATHS) &&
	    !draft_figure(f, FIG_MISSING) && !draft_figure(f, FIG_INJURED))
		dv->v[V_NO_CASUALTIES] = "1";
}

/* A figure as the texts print it: "28人", "1800万元". */
static void draft_figure_text(enum figure i, double v, char *buf, size_t len)
{
	char n[24]; /* "%lld" of at most DRAFT_AMOUNT_MAX */

	if (figure_is_count(i)) {
		draft_count(v, n, sizeof(n));
		snprintf(buf, len, "%s人", n);
	} else {
		draft_format_wan_yuan(v, buf, len);
	}
}

/* "What changed" of an update against the previous version: each figure
 * whose value moved ("死亡人数由25人增至28人") or that no earlier report
 * gave ("失踪人数首次报告为3人"), and a danger become a disaster; joined
 * with "，", into dv->changes (empty: nothing to say). The level's move
 * is the template's own (level_move). */
static void draft_changes(struct draft_values *dv, const struct draft_input *in)
{
	static const char *const names[FIG_COUNT] = {
	    [FIG_DEATHS] = "死亡人数",
	    [FIG_MISSING] = "失踪人数",
	    [FIG_INJURED] = "受伤人数",
	    [FIG_RELOCATED_PEOPLE] = "转移安置人数",
	    [FIG_DIRECT_LOSS_CNY] = "直接经济损失",
	    [FIG_THREATENED_PEOPLE] = "威胁人数",
	    [FIG_THREATENED_PROPERTY_CNY] = "潜在经济损失",
	};
	const struct figures *now = &in->incident->figures, *was = in->prev_figures;
	char a[DRAFT_NUM_MAX], b[DRAFT_NUM_MAX], one[DRAFT_NUM_MAX * 3];
	size_t n = 0;

	dv->changes[0] = '\0';
	if (in->msg_type != DRAFT_MSG_UPDATE)
		return;
	if (in->prev_kind == KIND_DANGER && in->kind == KIND_DISASTER)
		n += (size_t)snprintf(dv->changes, sizeof(dv->changes), "险情已发展为灾情");
	for (int i = 0; was != NULL && i < FIG_COUNT; i++) {
		bool had = (was->set & (1u << i)) && isfinite(was->value[i]);
		bool has = (now->set & (1u << i)) && isfinite(now->value[i]);
		if (!has || (had && was->value[i] == now->value[i]) || names[i] == NULL)
			continue;
		draft_figure_text((enum figure)i, now->value[i], b, sizeof(b));
		if (had) {
			draft_figure_text((enum figure)i, was->value[i], a, sizeof(a));
			if (strcmp(a, b) == 0)
				continue; /* a change the text cannot show */
			snprintf(one, sizeof(one), "%s由%s%s%s", names[i], a,
				 now->value[i] > was->value[i] ? "增至" : "减至", b);
		} else {
			snprintf(one, sizeof(one), "%s首次报告为%s", names[i], b);
		}
		if (n + strlen(one) + 4 >= sizeof(dv->changes))
			break; /* cannot happen with these names; never cut */
		n += (size_t)snprintf(dv->changes + n, sizeof(dv->changes) - n, "%s%s",
				      n > 0 ? "，" : "", one);
	}
	if (n > 0)
		dv->v[V_CHANGES] = dv->changes;
}

static ga_err draft_values_make(const struct draft_templates *t, const struct draft_input *in,
				struct draft_values *dv)
{
	const struct incident *inc = in->incident;
	enum level lv = inc->level;
	enum hazard_type h = inc->hazard_type;
	bool nomem = false;

	memset(dv, 0, sizeof(*dv));
	if (lv < 0 || lv >= LEVEL_COUNT || h < 0 || h >= HAZARD_COUNT)
		return GA_ERR_INVAL;
	dv->v[in->msg_type == DRAFT_MSG_UPDATE	 ? V_UPDATE
	      : in->msg_type == DRAFT_MSG_CANCEL ? V_CANCEL
						 : V_ALERT] = "1";
	dv->v[in->kind == KIND_DISASTER ? V_DISASTER : V_DANGER] = "1";
	dv->v[V_KIND_ZH] = kind_zh(in->kind == KIND_DISASTER ? KIND_DISASTER : KIND_DANGER);
	dv->v[V_HAZARD_ZH] = hazard_type_zh(h);
	dv->v[V_LEVEL_ZH] = level_zh(lv);
	dv->v[V_RESPONSE_LEVEL] = draft_response_zh[lv];
	if (in->prev_level >= 0 && in->prev_level < LEVEL_COUNT) {
		dv->v[V_PREV_LEVEL_ZH] = level_zh((enum level)in->prev_level);
		if (in->msg_type == DRAFT_MSG_UPDATE && (int)lv != in->prev_level)
			dv->v[V_LEVEL_MOVE] = (int)lv > in->prev_level ? "升为" : "降为";
	}
	dv->v[V_ADMIN_NAME] = in->admin_name;
	dv->v[V_ADMIN_CODE] = in->admin_code ? in->admin_code : inc->admin_code;
	dv->v[V_PLACE] = in->place;
	draft_location(in->admin_name, in->place, dv->location, sizeof(dv->location));
	dv->v[V_LOCATION] = dv->location;
	dv->v[V_TIME] =
	    draft_format_time(in->observed_ms, in->utc_offset_min, dv->time, sizeof(dv->time));
	if (isfinite(in->volume_m3) && in->volume_m3 > 0)
		dv->v[V_VOLUME] =
		    draft_format_quantity(in->volume_m3, "立方米", dv->volume, sizeof(dv->volume));
	if (isfinite(in->area_m2) && in->area_m2 > 0)
		dv->v[V_AREA] =
		    draft_format_quantity(in->area_m2, "平方米", dv->area, sizeof(dv->area));
	draft_values_figures(dv, &inc->figures);
	draft_changes(dv, in);
	dv->causes = draft_combine(in->causes, in->ncauses, &nomem);
	dv->trend = draft_combine(in->trends, in->ntrends, &nomem);
	dv->measures = draft_combine(in->measures, in->nmeasures, &nomem);
	if (nomem)
		return GA_ERR_NOMEM;
	dv->v[V_CAUSES] = dv->causes;
	dv->v[V_TREND] = dv->trend;
	dv->v[V_MEASURES] = dv->measures;
	dv->v[V_CAUSES_DEFAULT] = t->hazard_text[h][HK_CAUSES];
	dv->v[V_ADVICE] = t->hazard_text[h][HK_ADVICE];
	dv->v[V_SENDER] = in->sender;
	dv->v[V_INCIDENT_ID] = inc->id;
	return GA_OK;
}

static void draft_values_cleanup(struct draft_values *dv)
{
	free(dv->causes);
	free(dv->trend);
	free(dv->measures);
}

ga_err draft_compose(const struct draft_templates *t, const struct draft_input *in,
		     struct draft_text *out)
{
	struct draft_values *dv = NULL;
	struct draft_text d = {0};
	char **dst[SEC_COUNT] = {&d.headline, &d.situation, &d.causes, &d.response, &d.trend};
	ga_err rc = GA_ERR_INVAL;

	memset(out, 0, sizeof(*out));
	if (t == NULL || in == NULL || in->incident == NULL || in->msg_type < 0 ||
	    in->msg_type >= DRAFT_MSG_COUNT)
		goto out;
	rc = GA_ERR_NOMEM;
	if ((dv = malloc(sizeof(*dv))) == NULL)
		goto out;
	if ((rc = draft_values_make(t, in, dv)) != GA_OK)
		goto out;
	for (int i = 0; i < SEC_COUNT; i++)
		if ((rc = draft_template_render(t->section[i], dv->v, draft_sections[i].cap, dst[i],
						NULL)) != GA_OK)
			goto out;
	*out = d;
	memset(&d, 0, sizeof(d));
	rc = GA_OK;
out:
	if (dv != NULL)
		draft_values_cleanup(dv);
	free(dv);
	draft_text_cleanup(&d);
	return rc;
}
