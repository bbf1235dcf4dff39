/* workflow.c - making drafts: what an incident's change means for its
 * alert (workflow_incident_changed), and the helpers every workflow file
 * shares (sources, fingerprint, composing, references, audit rows).
 *
 * Decisions (issue 4):
 *  - The publish level opens an alert. Below it, an incident without a
 *    published alert gets no draft; a pending draft of it is kept and
 *    marked below_level (cleared when the incident climbs back).
 *  - Once an alert is published (and not cancelled), any change of level,
 *    kind, figures, scale or the stations' causes/trend/measures makes an
 *    update draft, even below the publish level: the public saw the
 *    alert and should hear that it was downgraded (the update says
 *    "降为…" and is marked below_level; the officer may reject it or
 *    cancel the alert instead).
 *  - "Changed" is decided by a fingerprint (SHA-256 over those fields)
 *    stored on every draft and compared with the newest draft of the
 *    alert: a report that changes nothing costs two indexed queries.
 *  - A newer draft supersedes the pending one; if the incident returns to
 *    exactly what is published, the pending update is superseded and no
 *    new draft is made. A rejected draft is not proposed again until
 *    something changes. */
#include "workflow.h"
#include "text.h"

#include <math.h>
#include <sodium.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "log.h"
#include "workflow_internal.h"

_Static_assert(STORE_HEADLINE_MAX > DRAFT_HEADLINE_MAX &&
		   STORE_HEADLINE_MAX > WORKFLOW_HEADLINE_CHARS * 4,
	       "headline cap too small");
_Static_assert(STORE_TEXT_MAX > WORKFLOW_TEXT_CHARS * 4, "text cap too small");
_Static_assert(STORE_TEXT_MAX > DRAFT_TEXT_MAX, "text cap below the composed one");
_Static_assert(STORE_REASON_MAX >= ALERT_REASON_MAX * 4 + 1, "reason cap too small");

static const char *const workflow_state_names[ALERT_STATE_COUNT] = {
    [ALERT_PENDING] = "pending",
    [ALERT_SUPERSEDED] = "superseded",
    [ALERT_PUBLISHED] = "published",
    [ALERT_REJECTED] = "rejected",
};

const char *alert_state_name(enum alert_state s)
{
	if ((unsigned)s >= ALERT_STATE_COUNT)
		return "?";
	return workflow_state_names[s];
}

const char *alert_state_zh(int s)
{
	static const char *const zh[ALERT_STATE_COUNT] = {
	    [ALERT_PENDING] = "待确认",
	    [ALERT_SUPERSEDED] = "已被取代",
	    [ALERT_PUBLISHED] = "已发布",
	    [ALERT_REJECTED] = "已驳回",
	};
	if (s < 0 || s >= ALERT_STATE_COUNT)
		return "状态未知";
	return zh[s];
}

int alert_state_from_name(const char *s)
{
	for (int i = 0; s != NULL && i < ALERT_STATE_COUNT; i++)
		if (strcmp(s, workflow_state_names[i]) == 0)
			return i;
	return -1;
}

void workflow_set_state(struct store_draft *d, enum alert_state st)
{
	snprintf(d->state, sizeof(d->state), "%s", alert_state_name(st));
}

int workflow_state(const struct store_draft *d)
{
	return alert_state_from_name(d->state);
}

void workflow_msg(char *msg, size_t msglen, const char *fmt, ...)
{
	va_list ap;

	if (msg == NULL || msglen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, msglen, fmt, ap);
	va_end(ap);
}

int workflow_needed(const struct workflow_ctx *ctx, const struct store_draft *d)
{
	if (d->level == LEVEL_EXTRA_LARGE && ctx->confirmations_extra_large > 1)
		return ctx->confirmations_extra_large;
	return 1;
}

/* --- officers' texts (issue 10) ----------------------------------- */

const struct workflow_field workflow_fields[WORKFLOW_NFIELDS] = {
    {"headline", "标题", WORKFLOW_HEADLINE_CHARS, offsetof(struct store_draft, headline)},
    {"situation", "基本情况", WORKFLOW_TEXT_CHARS, offsetof(struct store_draft, situation)},
    {"causes", "引发因素", WORKFLOW_TEXT_CHARS, offsetof(struct store_draft, causes)},
    {"response", "应急处置", WORKFLOW_TEXT_CHARS, offsetof(struct store_draft, response)},
    {"trend", "发展趋势", WORKFLOW_TEXT_CHARS, offsetof(struct store_draft, trend)},
};

char *workflow_field_text(struct store_draft *d, size_t i)
{
	return (char *)d + workflow_fields[i].offset;
}

size_t workflow_field_size(size_t i)
{
	return i == 0 ? STORE_HEADLINE_MAX : STORE_TEXT_MAX;
}

static ga_err workflow_problem(struct workflow_problem *p, const char *code, const char *path,
			       long limit, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static ga_err workflow_problem(struct workflow_problem *p, const char *code, const char *path,
			       long limit, const char *fmt, ...)
{
	va_list ap;

	if (p != NULL) {
		snprintf(p->code, sizeof(p->code), "%s", code);
		snprintf(p->path, sizeof(p->path), "%s", path);
		p->limit = limit;
		va_start(ap, fmt);
		vsnprintf(p->message, sizeof(p->message), fmt, ap);
		va_end(ap);
	}
	return GA_ERR_INVAL;
}

ga_err workflow_edits_validate(const json_t *edits, struct workflow_problem *p)
{
	const char *key;
	json_t *v;

	if (edits == NULL || json_is_null(edits))
		return GA_OK;
	if (!json_is_object(edits))
		return workflow_problem(p, "bad_type", "edits", 0, "修改内容（edits）必须是对象");
	json_object_foreach((json_t *)edits, key, v)
	{
		char path[64];
		size_t i;

		snprintf(path, sizeof(path), "edits.%.40s", key);
		for (i = 0; i < WORKFLOW_NFIELDS; i++)
			if (strcmp(key, workflow_fields[i].name) == 0)
				break;
		if (i == WORKFLOW_NFIELDS)
			return workflow_problem(p, "unknown_field", path, 0, "未知的字段：%.40s",
						key);
		if (!json_is_string(v))
			return workflow_problem(p, "not_string", path, 0, "%s必须是文字",
						workflow_fields[i].zh);
		/* jansson strings are valid UTF-8; a NUL inside would cut it. */
		if (strlen(json_string_value(v)) != json_string_length(v))
			return workflow_problem(p, "nul_character", path, 0, "%s含有空字符",
						workflow_fields[i].zh);
		if (text_chars(json_string_value(v)) > workflow_fields[i].chars)
			return workflow_problem(p, "too_long", path, (long)workflow_fields[i].chars,
						"%s超过%zu个字", workflow_fields[i].zh,
						workflow_fields[i].chars);
		if (i == 0 && json_string_length(v) == 0)
			return workflow_problem(p, "empty", path, 0, "标题不能为空");
	}
	return GA_OK;
}

bool workflow_names_has(const json_t *array, const char *name)
{
	size_t i;
	json_t *v;

	json_array_foreach(array, i, v) if (json_is_string(v) &&
					    strcmp(json_string_value(v), name) == 0) return true;
	return false;
}

/* text as JSON of the type want, else a new empty one of that type. */
static json_t *workflow_parse(const char *text, bool object)
{
	json_t *j = text ? json_loads(text, 0, NULL) : NULL;

	if (j != NULL && (object ? json_is_object(j) : json_is_array(j)))
		return j;
	json_decref(j);
	return object ? json_object() : json_array();
}

ga_err workflow_edits_load(struct store *s, int64_t draft_id, json_t **edits, json_t **carried,
			   json_t **changed)
{
	char *te = NULL, *tc = NULL, *tch = NULL;
	ga_err e;

	*edits = *carried = *changed = NULL;
	if ((e = store_draft_edits_get(s, draft_id, &te, &tc, &tch)) != GA_OK)
		return e;
	*edits = workflow_parse(te, true);
	*carried = workflow_parse(tc, false);
	*changed = workflow_parse(tch, false);
	free(te);
	free(tc);
	free(tch);
	if (*edits && *carried && *changed)
		return GA_OK;
	json_decref(*edits);
	json_decref(*carried);
	json_decref(*changed);
	*edits = *carried = *changed = NULL;
	return GA_ERR_NOMEM;
}

ga_err workflow_edits_store(struct store *s, int64_t draft_id, const json_t *edits,
			    const json_t *carried, const json_t *changed)
{
	char *te = json_dumps(edits, JSON_COMPACT | JSON_PRESERVE_ORDER);
	char *tc = json_dumps(carried, JSON_COMPACT);
	char *tch = json_dumps(changed, JSON_COMPACT);
	ga_err e = GA_ERR_NOMEM;

	if (te && tc && tch)
		e = store_draft_edits_put(s, draft_id, te, tc, tch);
	free(te);
	free(tc);
	free(tch);
	return e;
}

/* --- sources ------------------------------------------------------- */

static char *workflow_dup(const char *p, bool *nomem)
{
	char *q;

	if (p == NULL)
		return NULL;
	if ((q = strdup(p)) == NULL)
		*nomem = true;
	return q;
}

static bool workflow_source_cb(const struct store_report_row *r, void *arg)
{
	struct workflow_sources *src = arg;
	struct workflow_station *st;

	if (src->n >= DRAFT_MAX_TEXTS)
		return false;
	st = &src->st[src->n++];
	st->station_id = workflow_dup(r->station_id, &src->nomem);
	st->causes = workflow_dup(r->causes, &src->nomem);
	st->trend = workflow_dup(r->trend, &src->nomem);
	st->measures = workflow_dup(r->measures, &src->nomem);
	if (src->place[0] == '\0' && r->place != NULL)
		snprintf(src->place, sizeof(src->place), "%s", r->place);
	if (isfinite(r->volume_m3) && !(r->volume_m3 <= src->volume_m3))
		src->volume_m3 = r->volume_m3;
	if (isfinite(r->area_m2) && !(r->area_m2 <= src->area_m2))
		src->area_m2 = r->area_m2;
	return !src->nomem;
}

ga_err workflow_sources_load(struct store *s, const char *incident_id, struct workflow_sources *src)
{
	ga_err e;

	memset(src, 0, sizeof(*src));
	src->volume_m3 = NAN;
	src->area_m2 = NAN;
	e = store_incident_reports_latest(s, incident_id, DRAFT_MAX_TEXTS, workflow_source_cb, src);
	if (e == GA_OK && src->nomem)
		e = GA_ERR_NOMEM;
	return e;
}

void workflow_sources_cleanup(struct workflow_sources *src)
{
	for (size_t i = 0; i < src->n; i++) {
		free(src->st[i].station_id);
		free(src->st[i].causes);
		free(src->st[i].trend);
		free(src->st[i].measures);
	}
	memset(src, 0, sizeof(*src));
}

/* --- fingerprint --------------------------------------------------- */

/* A field as a netstring, "LEN:BYTES,", so that fields cannot run into
 * each other; NULL as "-,". */
static void workflow_hash_field(crypto_hash_sha256_state *h, const char *p)
{
	char len[24];

	if (p == NULL) {
		crypto_hash_sha256_update(h, (const unsigned char *)"-,", 2);
		return;
	}
	snprintf(len, sizeof(len), "%zu:", strlen(p));
	crypto_hash_sha256_update(h, (const unsigned char *)len, strlen(len));
	crypto_hash_sha256_update(h, (const unsigned char *)p, strlen(p));
	crypto_hash_sha256_update(h, (const unsigned char *)",", 1);
}

static void workflow_hash_number(crypto_hash_sha256_state *h, bool set, double v)
{
	char buf[40];

	if (!set || !isfinite(v))
		workflow_hash_field(h, NULL);
	else {
		snprintf(buf, sizeof(buf), "%.17g", v);
		workflow_hash_field(h, buf);
	}
}

static int workflow_text_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The distinct texts of one kind (causes, trend or measures), sorted: the
 * same text from two stations, or in another order, is no change. */
static void workflow_hash_texts(crypto_hash_sha256_state *h, const struct workflow_sources *src,
				size_t offset)
{
	const char *t[DRAFT_MAX_TEXTS];
	size_t n = 0;

	for (size_t i = 0; i < src->n; i++) {
		const char *p = *(char *const *)((const char *)&src->st[i] + offset);
		if (p != NULL)
			t[n++] = p;
	}
	qsort(t, n, sizeof(t[0]), workflow_text_cmp);
	workflow_hash_field(h, "texts");
	for (size_t i = 0; i < n; i++)
		if (i == 0 || strcmp(t[i], t[i - 1]) != 0)
			workflow_hash_field(h, t[i]);
}

void workflow_fingerprint(const struct incident *inc, const struct workflow_sources *src,
			  char hex[STORE_HASH_HEX])
{
	unsigned char md[crypto_hash_sha256_BYTES];
	crypto_hash_sha256_state h;
	char buf[32];

	crypto_hash_sha256_init(&h);
	workflow_hash_field(&h, "geoalert.draft/1");
	snprintf(buf, sizeof(buf), "%d", (int)inc->level);
	workflow_hash_field(&h, buf);
	workflow_hash_field(&h, inc->has_disaster ? "disaster" : "danger");
	for (int i = 0; i < FIG_COUNT; i++)
		workflow_hash_number(&h, (inc->figures.set & (1u << i)) != 0,
				     inc->figures.value[i]);
	workflow_hash_number(&h, true, src->volume_m3);
	workflow_hash_number(&h, true, src->area_m2);
	workflow_hash_texts(&h, src, offsetof(struct workflow_station, causes));
	workflow_hash_texts(&h, src, offsetof(struct workflow_station, trend));
	workflow_hash_texts(&h, src, offsetof(struct workflow_station, measures));
	crypto_hash_sha256_final(&h, md);
	sodium_bin2hex(hex, STORE_HASH_HEX, md, sizeof(md));
}

/* --- composing ----------------------------------------------------- */

ga_err workflow_compose(const struct workflow_ctx *ctx, const struct incident *inc,
			const struct workflow_sources *src, enum draft_msg_type type,
			int prev_level, struct store_draft *d)
{
	const char *causes[DRAFT_MAX_TEXTS], *trends[DRAFT_MAX_TEXTS], *measures[DRAFT_MAX_TEXTS];
	const struct region *region = NULL;
	struct draft_text text = {0};
	struct draft_input in;
	ga_err e;

	if (ctx->geo != NULL && inc->admin_code[0] != '\0')
		region = geo_region_by_code(ctx->geo, inc->admin_code);
	draft_input_init(&in, inc);
	in.msg_type = type;
	in.admin_name = region != NULL ? region->full_name : NULL;
	in.place = src->place[0] != '\0' ? src->place : NULL;
	for (size_t i = 0; i < src->n; i++) {
		causes[i] = src->st[i].causes;
		trends[i] = src->st[i].trend;
		measures[i] = src->st[i].measures;
	}
	in.causes = causes;
	in.ncauses = src->n;
	in.trends = trends;
	in.ntrends = src->n;
	in.measures = measures;
	in.nmeasures = src->n;
	in.utc_offset_min = ctx->utc_offset_min;
	in.volume_m3 = src->volume_m3;
	in.area_m2 = src->area_m2;
	in.sender = ctx->sender;
	in.prev_level = prev_level;
	if (src->event_ms != 0)
		in.observed_ms = src->event_ms;
	if (src->prev != NULL && type == DRAFT_MSG_UPDATE) {
		in.prev_figures = &src->prev->figures;
		in.prev_kind = (int)src->prev->kind;
	}
	if ((e = draft_compose(ctx->templates, &in, &text)) != GA_OK)
		goto out;

	snprintf(d->alert_id, sizeof(d->alert_id), "%s", inc->id);
	snprintf(d->msg_type, sizeof(d->msg_type), "%s", draft_msg_type_name(type));
	d->level = inc->level;
	d->prev_level = prev_level;
	d->kind = in.kind;
	d->hazard_type = inc->hazard_type;
	d->figures = inc->figures;
	snprintf(d->admin_code, sizeof(d->admin_code), "%s", inc->admin_code);
	snprintf(d->admin_name, sizeof(d->admin_name), "%s", in.admin_name ? in.admin_name : "");
	snprintf(d->place, sizeof(d->place), "%s", src->place);
	d->lon = inc->lon;
	d->lat = inc->lat;
	d->observed_ms = in.observed_ms;
	snprintf(d->headline, sizeof(d->headline), "%s", text.headline);
	snprintf(d->situation, sizeof(d->situation), "%s", text.situation);
	snprintf(d->causes, sizeof(d->causes), "%s", text.causes);
	snprintf(d->response, sizeof(d->response), "%s", text.response);
	snprintf(d->trend, sizeof(d->trend), "%s", text.trend);
out:
	draft_text_cleanup(&text);
	return e;
}

/* Reports read to date a disaster (newest first; an incident with more
 * reports than this dates it from the earliest disaster among these). */
#define WORKFLOW_EVENT_REPORTS_MAX 1000

static bool workflow_event_cb(const struct store_report_row *r, void *arg)
{
	int64_t *first = arg;

	if (r->kind == KIND_DISASTER && (*first == 0 || r->observed_ms < *first))
		*first = r->observed_ms;
	return true;
}

/* When the event of inc happened, into src->event_ms: for a disaster the
 * observed time of its earliest disaster report (the report that said it
 * happened), not the first danger report's; for a danger its first
 * observed time. */
static ga_err workflow_event_time(struct store *s, const struct incident *inc,
				  struct workflow_sources *src)
{
	int64_t first = 0;
	ga_err e;

	src->event_ms = inc->first_observed_ms;
	if (!inc->has_disaster)
		return GA_OK;
	e = store_incident_reports(s, inc->id, WORKFLOW_EVENT_REPORTS_MAX, workflow_event_cb,
				   &first);
	if (e == GA_OK && first != 0)
		src->event_ms = first;
	return e;
}

/* --- references and audit ------------------------------------------ */

struct workflow_refs_walk {
	json_t *arr;
	bool nomem;
};

static bool workflow_refs_cb(const struct store_draft *d, void *arg)
{
	struct workflow_refs_walk *w = arg;
	char ref[INCIDENT_ID_MAX + 16];

	snprintf(ref, sizeof(ref), "%s:%d", d->alert_id, d->version);
	if (json_array_append_new(w->arr, json_string(ref)) != 0)
		w->nomem = true;
	return !w->nomem;
}

ga_err workflow_refs(struct store *s, const char *alert_id, char refs[STORE_REFS_MAX])
{
	struct workflow_refs_walk w = {json_array(), false};
	char *text = NULL;
	ga_err e;

	if (w.arr == NULL)
		return GA_ERR_NOMEM;
	if ((e = store_draft_each_published(s, alert_id, workflow_refs_cb, &w)) != GA_OK)
		goto out;
	e = GA_ERR_NOMEM;
	if (w.nomem)
		goto out;
	/* The latest WORKFLOW_REFS_MAX, and fewer if they do not fit. */
	while (json_array_size(w.arr) > WORKFLOW_REFS_MAX)
		json_array_remove(w.arr, 0);
	for (;;) {
		free(text);
		if ((text = json_dumps(w.arr, JSON_COMPACT)) == NULL)
			goto out;
		if (strlen(text) < STORE_REFS_MAX)
			break;
		json_array_remove(w.arr, 0);
	}
	snprintf(refs, STORE_REFS_MAX, "%s", text);
	e = GA_OK;
out:
	free(text);
	json_decref(w.arr);
	return e;
}

ga_err workflow_audit(struct store *s, int64_t officer_id, const char *action,
		      const struct store_draft *d, json_t *extra)
{
	json_t *o = json_pack("{s:I, s:s, s:s}", "draft_id", (json_int_t)d->id, "msg_type",
			      d->msg_type, "state", d->state);
	ga_err e = GA_ERR_NOMEM;

	if (o == NULL)
		goto out;
	if (d->version > 0 && json_object_set_new(o, "version", json_integer(d->version)) != 0)
		goto out;
	if (extra != NULL && json_object_update(o, extra) != 0)
		goto out;
	e = audit_record_json(s, officer_id, action, d->alert_id, o);
out:
	json_decref(extra);
	json_decref(o);
	return e;
}

/* --- making drafts ------------------------------------------------- */

/* Sets or clears below_level on the pending draft d. */
static ga_err workflow_mark_below(struct store *s, struct store_draft *d, bool below)
{
	ga_err e;

	if (d->below_level == below)
		return GA_OK;
	d->below_level = below;
	if ((e = store_draft_update(s, d)) != GA_OK)
		return e;
	return workflow_audit(s, 0, "draft.below_level", d,
			      json_pack("{s:b}", "below_level", below));
}

/* Carries the officers' texts of from (the pending draft being
 * superseded, else the published version an update follows) into d,
 * freshly composed (issue 10). A field is "changed" when its source facts
 * changed since from: the templates, given the new facts but from's own
 * message type, compose something else than they did for from (so a
 * change of wording between an alert and its update is no change of
 * facts); a field from marked changed stays so. The record of d
 * (*edits: the texts the templates composed for d, for the carried
 * fields; *carried; *changed) is the caller's to store once d has its
 * id. */
static ga_err workflow_carry(struct store *s, const struct workflow_ctx *ctx,
			     const struct incident *inc, const struct workflow_sources *src,
			     const struct store_draft *from, bool from_pending,
			     struct store_draft *d, json_t **edits, json_t **carried,
			     json_t **changed)
{
	json_t *fe = NULL, *fc = NULL, *fch = NULL;
	struct store_draft *again = NULL;
	int type;
	ga_err e;

	*edits = json_object();
	*carried = json_array();
	*changed = json_array();
	if (*edits == NULL || *carried == NULL || *changed == NULL)
		return GA_ERR_NOMEM;
	if (from == NULL)
		return GA_OK;
	if ((e = workflow_edits_load(s, from->id, &fe, &fc, &fch)) != GA_OK)
		goto out;
	if (json_object_size(fe) == 0)
		goto out;
	type = draft_msg_type_from_name(from->msg_type);
	e = GA_ERR_NOMEM;
	if (type < 0 || (again = calloc(1, sizeof(*again))) == NULL)
		goto out;
	if ((e = workflow_compose(ctx, inc, src, (enum draft_msg_type)type, from->prev_level,
				  again)) != GA_OK)
		goto out;
	for (size_t i = 0; i < WORKFLOW_NFIELDS; i++) {
		const char *name = workflow_fields[i].name;
		json_t *then = json_object_get(fe, name);
		char *dst = workflow_field_text(d, i);
		bool moved;

		if (!json_is_string(then))
			continue;
		moved = strcmp(workflow_field_text(again, i), json_string_value(then)) != 0 ||
			(from_pending && workflow_names_has(fch, name));
		e = GA_ERR_NOMEM;
		if (json_object_set_new(*edits, name, json_string(dst)) != 0 ||
		    json_array_append_new(*carried, json_string(name)) != 0 ||
		    (moved && json_array_append_new(*changed, json_string(name)) != 0))
			goto out;
		/* The officer's text, as from had it (it fits: same caps). */
		snprintf(dst, workflow_field_size(i), "%s",
			 workflow_field_text((struct store_draft *)from, i));
	}
	e = GA_OK;
out:
	free(again);
	json_decref(fe);
	json_decref(fc);
	json_decref(fch);
	return e;
}

/* Makes the new pending draft of inc, superseding old when it is
 * pending. */
static ga_err workflow_make(struct store *s, const struct workflow_ctx *ctx,
			    const struct incident *inc, struct workflow_sources *src,
			    const char *fp, struct store_draft *old, const struct store_draft *pub,
			    int64_t now_ms)
{
	struct store_draft *d = calloc(1, sizeof(*d));
	bool supersede = old != NULL && workflow_state(old) == ALERT_PENDING;
	json_t *edits = NULL, *carried = NULL, *changed = NULL;
	ga_err e = GA_ERR_NOMEM;

	if (d == NULL)
		goto out;
	/* An update says what changed since pub, and dates the event. */
	src->prev = pub;
	if ((e = workflow_event_time(s, inc, src)) != GA_OK)
		goto out;
	if ((e = workflow_compose(ctx, inc, src, pub ? DRAFT_MSG_UPDATE : DRAFT_MSG_ALERT,
				  pub ? (int)pub->level : -1, d)) != GA_OK)
		goto out;
	if ((e = workflow_carry(s, ctx, inc, src, supersede ? old : pub, supersede, d, &edits,
				&carried, &changed)) != GA_OK)
		goto out;
	workflow_set_state(d, ALERT_PENDING);
	d->below_level = inc->level < ctx->publish_min_level;
	d->created_ms = now_ms;
	snprintf(d->fingerprint, sizeof(d->fingerprint), "%s", fp);
	if ((e = workflow_refs(s, inc->id, d->refs)) != GA_OK)
		goto out;
	if (supersede) {
		/* First: the store allows one pending draft per alert. */
		workflow_set_state(old, ALERT_SUPERSEDED);
		if ((e = store_draft_update(s, old)) != GA_OK)
			goto out;
		d->supersedes = old->id;
	}
	if ((e = store_draft_insert(s, d)) != GA_OK)
		goto out;
	if (json_array_size(carried) > 0 &&
	    (e = workflow_edits_store(s, d->id, edits, carried, changed)) != GA_OK)
		goto out;
	if (supersede && (e = workflow_audit(s, 0, "draft.supersede", old,
					     json_pack("{s:I}", "by", (json_int_t)d->id))) != GA_OK)
		goto out;
	e = workflow_audit(s, 0, "draft.create", d,
			   json_pack("{s:s, s:b, s:I, s:O, s:O}", "level", level_name(d->level),
				     "below_level", d->below_level, "supersedes",
				     (json_int_t)d->supersedes, "carried", carried, "changed",
				     changed));
	if (e == GA_OK)
		log_info("workflow: %s: draft %lld (%s, %s) made", d->alert_id, (long long)d->id,
			 d->msg_type, level_name(d->level));
out:
	json_decref(edits);
	json_decref(carried);
	json_decref(changed);
	free(d);
	return e;
}

ga_err workflow_incident_changed(struct store *s, const struct workflow_ctx *ctx,
				 const struct incident *inc, int prev_level, int64_t now_ms,
				 bool *made)
{
	struct store_draft *latest = NULL, *pub = NULL;
	struct workflow_sources src;
	char fp[STORE_HASH_HEX];
	bool has_latest, pending, active, below;
	ga_err e;

	(void)prev_level; /* the fingerprint tells more than the level alone */
	memset(&src, 0, sizeof(src));
	if (made != NULL)
		*made = false;
	if (s == NULL || ctx == NULL || ctx->templates == NULL || inc == NULL)
		return GA_ERR_INVAL;
	below = inc->level < ctx->publish_min_level;
	e = GA_ERR_NOMEM;
	if ((latest = malloc(sizeof(*latest))) == NULL || (pub = malloc(sizeof(*pub))) == NULL)
		goto out;

	/* 1st query: the newest draft of this alert. */
	e = store_draft_latest(s, inc->id, latest);
	if (e != GA_OK && e != GA_ERR_NOTFOUND)
		goto out;
	has_latest = e == GA_OK;
	e = GA_OK;
	if (!has_latest && below)
		goto out; /* no alert and none due */
	pending = has_latest && workflow_state(latest) == ALERT_PENDING;

	/* 2nd query: each station's latest report; nothing changed, done. */
	if ((e = workflow_sources_load(s, inc->id, &src)) != GA_OK)
		goto out;
	workflow_fingerprint(inc, &src, fp);
	if (has_latest && strcmp(fp, latest->fingerprint) == 0) {
		if (pending)
			e = workflow_mark_below(s, latest, below);
		goto out;
	}

	e = store_draft_published(s, inc->id, 0, pub);
	if (e != GA_OK && e != GA_ERR_NOTFOUND)
		goto out;
	active = e == GA_OK && draft_msg_type_from_name(pub->msg_type) != DRAFT_MSG_CANCEL;
	e = GA_OK;
	if (below && !active) {
		/* Not published (or cancelled): keep a pending draft, marked. */
		if (pending)
			e = workflow_mark_below(s, latest, true);
		goto out;
	}
	if (active && strcmp(fp, pub->fingerprint) == 0) {
		/* Back to what is published: the pending update says nothing. */
		if (pending) {
			workflow_set_state(latest, ALERT_SUPERSEDED);
			if ((e = store_draft_update(s, latest)) != GA_OK)
				goto out;
			e = workflow_audit(
			    s, 0, "draft.supersede", latest,
			    json_pack("{s:s}", "reason", "unchanged from published"));
		}
		goto out;
	}
	if ((e = workflow_make(s, ctx, inc, &src, fp, has_latest ? latest : NULL,
			       active ? pub : NULL, now_ms)) != GA_OK)
		goto out;
	if (made != NULL)
		*made = true;
out:
	workflow_sources_cleanup(&src);
	free(latest);
	free(pub);
	return e;
}
