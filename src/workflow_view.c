/* workflow_view.c - what is shown of drafts and alerts: the published
 * alert JSON of spec §6 (never reporter data), the officers' list and the
 * officers' view of one alert (which does carry reporter details). */
#include "workflow.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "classify.h"
#include "text.h"
#include "timeutil.h"
#include "workflow_internal.h"

#define WORKFLOW_ALERT_SCHEMA "geohazard.alert/1"
#define WORKFLOW_INT_EXACT 9007199254740992.0 /* 2^53: doubles exact up to here */

json_t *workflow_time_json(int64_t ms, int offset_min)
{
	char buf[TIME_TEXT_MAX];

	if (ms == 0)
		return json_null();
	time_format_rfc3339(ms, offset_min, buf, sizeof(buf));
	return json_string(buf);
}

/* A number as an integer when it is one (counts, whole yuan). */
static json_t *workflow_number_json(double v)
{
	if (!isfinite(v))
		return json_null();
	if (v == floor(v) && fabs(v) < WORKFLOW_INT_EXACT)
		return json_integer((json_int_t)v);
	return json_real(v);
}

static json_t *workflow_coord_json(double v)
{
	return isfinite(v) ? json_real(v) : json_null();
}

/* The figures given; with all, every figure, null where no report gave
 * it (spec 1.1 §6: unknown is not zero). */
static json_t *workflow_figures(const struct figures *f, bool all)
{
	json_t *o = json_object();

	for (int i = 0; o != NULL && i < FIG_COUNT; i++) {
		bool given = f->set & (1u << i);
		if (!all && !given)
			continue;
		if (json_object_set_new(o, figure_name((enum figure)i),
					given ? workflow_number_json(f->value[i]) : json_null()) !=
		    0) {
			json_decref(o);
			return NULL;
		}
	}
	return o;
}

json_t *workflow_figures_json(const struct figures *f)
{
	return workflow_figures(f, false);
}

static json_t *workflow_area_json(const struct store_draft *d)
{
	return json_pack("{s:s, s:s, s:s, s:o, s:o}", "admin_code", d->admin_code, "admin_name",
			 d->admin_name, "place", d->place, "lon", workflow_coord_json(d->lon),
			 "lat", workflow_coord_json(d->lat));
}

/* A draft's level by its kind's names: a warning's are the four
 * monitoring levels (spec §12: "orange", 警戒级), a report's the
 * severity levels of §5 ("large", 大型); the colour and the response
 * level are the same rank's. */
static const char *workflow_level_name(const struct store_draft *d)
{
	return d->kind == KIND_WARNING ? warning_level_name(d->level) : level_name(d->level);
}

static const char *workflow_level_zh(const struct store_draft *d)
{
	return d->kind == KIND_WARNING ? warning_level_zh(d->level) : level_zh(d->level);
}

json_t *workflow_alert_json(const struct workflow_ctx *ctx, const struct store_draft *d)
{
	json_t *refs = json_loads(d->refs[0] ? d->refs : "[]", 0, NULL);
	json_t *o;

	if (refs == NULL || !json_is_array(refs)) {
		json_decref(refs);
		refs = json_array();
	}
	/* Members in the order of spec §6. */
	o = json_pack(
	    "{s:s, s:s, s:i, s:s, s:s, s:s, s:s, s:o, s:s, s:s, s:s, s:s, s:s, s:s,"
	    " s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:o}",
	    "schema", WORKFLOW_ALERT_SCHEMA, "alert_id", d->alert_id, "version", d->version,
	    "msg_type", d->msg_type, "status", ctx->exercise ? "exercise" : "actual", "incident_id",
	    d->alert_id, "sender", ctx->sender ? ctx->sender : "", "sent",
	    workflow_time_json(d->published_ms, ctx->utc_offset_min), "kind", kind_name(d->kind),
	    "hazard_type", hazard_type_name(d->hazard_type), "hazard_type_zh",
	    hazard_type_zh(d->hazard_type), "level", workflow_level_name(d), "level_zh",
	    workflow_level_zh(d), "response_level", level_response(d->level), "color",
	    level_color(d->level), "headline", d->headline, "situation", d->situation, "causes",
	    d->causes, "response", d->response, "trend", d->trend, "area", workflow_area_json(d),
	    /* every figure, null for what no report gave (spec 1.1 §6) */
	    "figures", workflow_figures(&d->figures, true), "observed_at",
	    workflow_time_json(d->observed_ms, ctx->utc_offset_min), "confirmed_at",
	    workflow_time_json(d->confirmed_ms, ctx->utc_offset_min), "references", refs);
	/* The one way out of every published text (pages, CAP, Atom,
	 * channels, API) and of the officers' view: no bidi control (text.h). */
	if (o != NULL && !text_json_strip_bidi(o)) {
		json_decref(o);
		o = NULL;
	}
	return o;
}

ga_err workflow_published_json(struct store *s, const struct workflow_ctx *ctx,
			       const char *alert_id, int version, json_t **out)
{
	struct store_draft *d;
	ga_err e;

	if (s == NULL || ctx == NULL || alert_id == NULL || out == NULL)
		return GA_ERR_INVAL;
	if ((d = malloc(sizeof(*d))) == NULL)
		return GA_ERR_NOMEM;
	if ((e = store_draft_published(s, alert_id, version, d)) == GA_OK)
		e = (*out = workflow_alert_json(ctx, d)) != NULL ? GA_OK : GA_ERR_NOMEM;
	free(d);
	return e;
}

/* Ends a store walk that filled arr: hands arr out when the walk (e) and
 * its callback (cb_e) both succeeded, else frees it and returns the
 * error, the walk's first. */
static ga_err workflow_walk_done(ga_err e, ga_err cb_e, json_t *arr, json_t **out)
{
	if (e == GA_OK)
		e = cb_e;
	if (e != GA_OK) {
		json_decref(arr);
		return e;
	}
	*out = arr;
	return GA_OK;
}

struct workflow_since_walk {
	const struct workflow_ctx *ctx;
	json_t *arr;
	ga_err e;
};

static bool workflow_since_cb(const struct store_draft *d, void *arg)
{
	struct workflow_since_walk *w = arg;
	json_t *o = workflow_alert_json(w->ctx, d);

	if (o == NULL || json_array_append_new(w->arr, o) != 0) {
		w->e = GA_ERR_NOMEM;
		return false;
	}
	return true;
}

ga_err workflow_published_since(struct store *s, const struct workflow_ctx *ctx, int64_t since_ms,
				bool latest_only, int limit, json_t **out)
{
	struct workflow_since_walk w = {ctx, NULL, GA_OK};
	ga_err e;

	if (s == NULL || ctx == NULL || out == NULL || limit <= 0)
		return GA_ERR_INVAL;
	if ((w.arr = json_array()) == NULL)
		return GA_ERR_NOMEM;
	e = store_draft_published_since(s, since_ms, latest_only, limit, workflow_since_cb, &w);
	return workflow_walk_done(e, w.e, w.arr, out);
}

/* --- the officers' list -------------------------------------------- */

struct workflow_list_walk {
	struct store *s;
	const struct workflow_ctx *ctx;
	json_t *arr;
	ga_err e;
	int64_t now_ms;		 /* workflow_list_at: for waiting_s */
	struct store_draft *pub; /* workflow_list_at: scratch for the latest published */
};

/* Whether a later version of d's alert than d has been published. Only
 * published drafts have versions, so for one of them the highest version
 * tells (one integer); a pending draft is the alert's newest. */
static ga_err workflow_superseded(struct workflow_list_walk *w, const struct store_draft *d,
				  bool *out)
{
	int max = 0;
	ga_err e;

	*out = false;
	if (d->version > 0) {
		if ((e = store_draft_max_version(w->s, d->alert_id, &max)) == GA_OK)
			*out = max > d->version;
		return e;
	}
	if (workflow_state(d) == ALERT_PENDING)
		return GA_OK;
	e = store_draft_published(w->s, d->alert_id, 0, w->pub);
	if (e == GA_ERR_NOTFOUND)
		return GA_OK;
	if (e != GA_OK)
		return e;
	*out = d->version > 0 ? w->pub->version > d->version : w->pub->id > d->id;
	return GA_OK;
}

/* The version a pending draft becomes; a published one's own. */
static ga_err workflow_version_of(struct store *s, const struct store_draft *d, int *v)
{
	ga_err e;

	if (d->version > 0) {
		*v = d->version;
		return GA_OK;
	}
	if ((e = store_draft_max_version(s, d->alert_id, v)) != GA_OK)
		return e;
	(*v)++;
	return GA_OK;
}

static bool workflow_list_cb(const struct store_draft *d, void *arg)
{
	struct workflow_list_walk *w = arg;
	int version = 0, n = 0;
	json_t *item;

	if ((w->e = workflow_version_of(w->s, d, &version)) != GA_OK ||
	    (w->e = store_confirmation_count(w->s, d->id, &n)) != GA_OK)
		return false;
	item = json_pack(
	    "{s:s, s:I, s:i, s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:b, s:i, s:i,"
	    " s:o}",
	    "alert_id", d->alert_id, "draft_id", (json_int_t)d->id, "version", version, "state",
	    d->state, "msg_type", d->msg_type, "level", workflow_level_name(d), "level_zh",
	    workflow_level_zh(d), "incident_id", d->alert_id, "headline", d->headline, "created_at",
	    workflow_time_json(d->created_ms, w->ctx->utc_offset_min), "below_level",
	    d->below_level, "confirmations", n, "confirmations_needed", workflow_needed(w->ctx, d),
	    "escalated_at", workflow_time_json(d->escalated_ms, w->ctx->utc_offset_min));
	if (item == NULL || json_array_append_new(w->arr, item) != 0) {
		json_decref(item);
		w->e = GA_ERR_NOMEM;
		return false;
	}
	/* issue 10: how long a draft has waited, and whether a later version
	 * went out since (the console offers no 解除 on those). */
	if (w->pub != NULL) {
		bool later = false;
		bool pending = workflow_state(d) == ALERT_PENDING;
		int64_t waited = (w->now_ms - d->created_ms) / 1000;
		if ((w->e = workflow_superseded(w, d, &later)) != GA_OK)
			return false;
		if (json_object_set_new(item, "superseded", json_boolean(later)) != 0 ||
		    json_object_set_new(item, "waiting_s",
					pending ? json_integer(waited > 0 ? waited : 0)
						: json_null()) != 0) {
			w->e = GA_ERR_NOMEM;
			return false;
		}
	}
	return true;
}

ga_err workflow_list_at(struct store *s, const struct workflow_ctx *ctx, int state, int64_t now_ms,
			json_t **out)
{
	struct workflow_list_walk w = {s, ctx, NULL, GA_OK, now_ms, NULL};
	ga_err e;

	if (s == NULL || ctx == NULL || out == NULL || state >= ALERT_STATE_COUNT)
		return GA_ERR_INVAL;
	if ((w.pub = malloc(sizeof(*w.pub))) == NULL)
		return GA_ERR_NOMEM;
	if ((w.arr = json_array()) == NULL) {
		free(w.pub);
		return GA_ERR_NOMEM;
	}
	e = store_draft_list(s, state < 0 ? NULL : alert_state_name((enum alert_state)state),
			     WORKFLOW_LIST_MAX, workflow_list_cb, &w);
	free(w.pub);
	return workflow_walk_done(e, w.e, w.arr, out);
}

ga_err workflow_list(struct store *s, const struct workflow_ctx *ctx, int state, json_t **out)
{
	return workflow_list_at(s, ctx, state, time_now_ms(), out);
}

/* --- one alert, as officers see it --------------------------------- */

static bool workflow_confirmation_cb(int64_t officer_id, const char *name, int64_t at_ms, void *arg)
{
	struct workflow_list_walk *w = arg;
	json_t *c =
	    json_pack("{s:s, s:I, s:o}", "officer", name, "officer_id", (json_int_t)officer_id,
		      "at", workflow_time_json(at_ms, w->ctx->utc_offset_min));

	if (c == NULL || json_array_append_new(w->arr, c) != 0) {
		w->e = GA_ERR_NOMEM;
		return false;
	}
	return true;
}

/* The pending draft with what officers need to act on it. */
static ga_err workflow_pending_json(struct store *s, const struct workflow_ctx *ctx,
				    const struct store_draft *d, json_t **out)
{
	struct workflow_list_walk w = {s, ctx, json_array(), GA_OK, 0, NULL};
	json_t *o = NULL;
	int version = 0;
	ga_err e;

	if (w.arr == NULL)
		return GA_ERR_NOMEM;
	if ((e = workflow_version_of(s, d, &version)) != GA_OK)
		goto out;
	if ((e = store_confirmation_each(s, d->id, workflow_confirmation_cb, &w)) != GA_OK ||
	    (e = w.e) != GA_OK)
		goto out;
	e = GA_ERR_NOMEM;
	if ((o = workflow_alert_json(ctx, d)) == NULL)
		goto out;
	/* Not yet sent or confirmed: the alert JSON's times are null. */
	if (json_object_set_new(o, "version", json_integer(version)) != 0 ||
	    json_object_set_new(o, "draft_id", json_integer(d->id)) != 0 ||
	    json_object_set_new(o, "state", json_string(d->state)) != 0 ||
	    json_object_set_new(o, "below_level", json_boolean(d->below_level)) != 0 ||
	    json_object_set_new(o, "created_at",
				workflow_time_json(d->created_ms, ctx->utc_offset_min)) != 0 ||
	    json_object_set_new(o, "escalated_at",
				workflow_time_json(d->escalated_ms, ctx->utc_offset_min)) != 0 ||
	    json_object_set_new(o, "supersedes",
				d->supersedes ? json_integer(d->supersedes) : json_null()) != 0 ||
	    json_object_set_new(o, "confirmations_needed", json_integer(workflow_needed(ctx, d))) !=
		0 ||
	    json_object_set(o, "confirmations", w.arr) != 0)
		goto out;
	*out = o;
	o = NULL;
	e = GA_OK;
out:
	json_decref(o);
	json_decref(w.arr);
	return e;
}

static json_t *workflow_incident_json(const struct workflow_ctx *ctx, const struct incident *inc)
{
	json_t *reasons = json_array();
	struct classification c;
	json_t *o;

	json_t *reasons_zh = json_array();

	if (reasons != NULL && reasons_zh != NULL && ctx->thresholds != NULL) {
		classify_figures(ctx->thresholds, inc->has_disaster, &inc->figures, &c);
		for (int i = 0; i < c.nreasons; i++) {
			json_array_append_new(reasons, json_string(c.reasons[i]));
			json_array_append_new(reasons_zh, json_string(c.reasons_zh[i]));
		}
	}
	o = json_pack(
	    "{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:s, s:o, s:o, s:o, s:o, s:i,"
	    " s:b}",
	    /* no report: opened by monitoring devices' warnings */
	    "id", inc->id, "kind",
	    inc->nreports == 0	? "warning"
	    : inc->has_disaster ? "disaster"
				: "danger",
	    "hazard_type", hazard_type_name(inc->hazard_type), "hazard_type_zh",
	    hazard_type_zh(inc->hazard_type), "level",
	    inc->nreports == 0 ? warning_level_name(inc->level) : level_name(inc->level),
	    "level_zh", inc->nreports == 0 ? warning_level_zh(inc->level) : level_zh(inc->level),
	    "color", level_color(inc->level), "reasons", reasons, "admin_code", inc->admin_code,
	    "lon", workflow_coord_json(inc->lon), "lat", workflow_coord_json(inc->lat), "figures",
	    workflow_figures_json(&inc->figures), "first_observed_at",
	    workflow_time_json(inc->first_observed_ms, ctx->utc_offset_min), "nreports",
	    inc->nreports, "open", inc->open);
	if (o != NULL && json_object_set_new(o, "reasons_zh", reasons_zh) == 0)
		reasons_zh = NULL;
	json_decref(reasons_zh);
	return o;
}

static json_t *workflow_text_json(const char *p)
{
	return p != NULL ? json_string(p) : json_null();
}

/* reporter {name, phone} of a raw report: only strings are passed on. */
static json_t *workflow_reporter_json(const void *raw, size_t rawlen)
{
	json_t *root, *rep, *out = NULL;

	if (raw == NULL || rawlen == 0 || rawlen > REPORT_MAX_BYTES)
		return json_null();
	if ((root = json_loadb(raw, rawlen, JSON_REJECT_DUPLICATES, NULL)) == NULL)
		return json_null();
	rep = json_object_get(root, "reporter");
	if (json_is_object(rep)) {
		json_t *name = json_object_get(rep, "name"), *phone = json_object_get(rep, "phone");
		out = json_pack("{s:o, s:o}", "name",
				json_is_string(name) ? json_copy(name) : json_null(), "phone",
				json_is_string(phone) ? json_copy(phone) : json_null());
	}
	json_decref(root);
	return out != NULL ? out : json_null();
}

static bool workflow_report_cb(const struct store_report_row *r, void *arg)
{
	struct workflow_list_walk *w = arg;
	json_t *o = json_pack(
	    "{s:s, s:s, s:o, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "station_id",
	    r->station_id, "report_id", r->report_id, "observed_at",
	    workflow_time_json(r->observed_ms, r->observed_offset_min), "kind", kind_name(r->kind),
	    "figures", workflow_figures_json(&r->figures), "place", workflow_text_json(r->place),
	    "causes", workflow_text_json(r->causes), "measures", workflow_text_json(r->measures),
	    "trend", workflow_text_json(r->trend), "volume_m3", workflow_number_json(r->volume_m3),
	    "area_m2", workflow_number_json(r->area_m2), "reporter",
	    workflow_reporter_json(r->raw, r->rawlen), "received_at",
	    workflow_time_json(r->received_ms, w->ctx->utc_offset_min));

	if (o == NULL || json_array_append_new(w->arr, o) != 0) {
		w->e = GA_ERR_NOMEM;
		return false;
	}
	return true;
}

static bool workflow_published_cb(const struct store_draft *d, void *arg)
{
	struct workflow_list_walk *w = arg;
	json_t *o = workflow_alert_json(w->ctx, d);

	if (o != NULL && d->cancel_reason[0] != '\0')
		json_object_set_new(o, "cancel_reason", json_string(d->cancel_reason));
	if (o == NULL || json_array_append_new(w->arr, o) != 0) {
		w->e = GA_ERR_NOMEM;
		return false;
	}
	return true;
}

/* Adds to the view o what officers need to see of their edits (issue
 * 10) about the pending draft d (NULL: none): carried_edits and
 * changed_facts (workflow.c, workflow_carry) and diff, each text field
 * differing from the latest published version as {published, draft}
 * ({} when nothing is published). */
static ga_err workflow_edits_view(struct store *s, struct store_draft *d, json_t *o)
{
	json_t *rec = NULL, *carried = NULL, *changed = NULL, *diff = json_object();
	struct store_draft *pub = NULL;
	ga_err e = GA_ERR_NOMEM;

	if (diff == NULL)
		goto out;
	if (d == NULL) {
		carried = json_array();
		changed = json_array();
	} else if ((e = workflow_edits_load(s, d->id, &rec, &carried, &changed)) != GA_OK) {
		goto out;
	}
	e = GA_ERR_NOMEM;
	if (carried == NULL || changed == NULL || (pub = malloc(sizeof(*pub))) == NULL)
		goto out;
	e = d != NULL ? store_draft_published(s, d->alert_id, 0, pub) : GA_ERR_NOTFOUND;
	if (e != GA_OK && e != GA_ERR_NOTFOUND)
		goto out;
	for (size_t i = 0; e == GA_OK && i < WORKFLOW_NFIELDS; i++) {
		const char *was = workflow_field_text(pub, i), *now = workflow_field_text(d, i);
		if (strcmp(was, now) != 0 &&
		    json_object_set_new(diff, workflow_fields[i].name,
					json_pack("{s:s, s:s}", "published", was, "draft", now)) !=
			0)
			e = GA_ERR_NOMEM;
	}
	if (e != GA_OK && e != GA_ERR_NOTFOUND)
		goto out;
	e = GA_ERR_NOMEM;
	if (json_object_set(o, "carried_edits", carried) != 0 ||
	    json_object_set(o, "changed_facts", changed) != 0 ||
	    json_object_set(o, "diff", diff) != 0)
		goto out;
	e = GA_OK;
out:
	free(pub);
	json_decref(rec);
	json_decref(carried);
	json_decref(changed);
	json_decref(diff);
	return e;
}

/* Builds the view of alert_id inside the open transaction. */
static ga_err workflow_get_json(struct store *s, const struct workflow_ctx *ctx,
				const char *alert_id, struct store_draft *d, bool *has_pending,
				json_t **out)
{
	struct workflow_list_walk pubw = {s, ctx, NULL, GA_OK, 0, NULL},
				  repw = {s, ctx, NULL, GA_OK, 0, NULL};
	json_t *o = NULL, *pending = NULL;
	struct incident inc;
	ga_err e;

	*has_pending = false;
	if ((e = store_draft_latest(s, alert_id, d)) != GA_OK)
		return e;
	if ((e = store_incident_get(s, alert_id, &inc)) != GA_OK)
		return e == GA_ERR_NOTFOUND ? GA_ERR_DB : e; /* a draft without incident */
	if (workflow_state(d) == ALERT_PENDING) {
		*has_pending = true;
		if ((e = workflow_pending_json(s, ctx, d, &pending)) != GA_OK)
			return e;
	}
	e = GA_ERR_NOMEM;
	if ((pubw.arr = json_array()) == NULL || (repw.arr = json_array()) == NULL)
		goto out;
	if ((e = store_draft_each_published(s, alert_id, workflow_published_cb, &pubw)) != GA_OK ||
	    (e = pubw.e) != GA_OK)
		goto out;
	if ((e = store_incident_reports(s, alert_id, WORKFLOW_REPORTS_MAX, workflow_report_cb,
					&repw)) != GA_OK ||
	    (e = repw.e) != GA_OK)
		goto out;
	o = json_pack("{s:s, s:o, s:O, s:O, s:O}", "alert_id", alert_id, "incident",
		      workflow_incident_json(ctx, &inc), "pending", pending ? pending : json_null(),
		      "published", pubw.arr, "reports", repw.arr);
	e = o != NULL ? GA_OK : GA_ERR_NOMEM;
	if (e == GA_OK)
		e = workflow_edits_view(s, *has_pending ? d : NULL, o);
	if (e == GA_OK &&
	    json_object_set(o, "reasons_zh",
			    json_object_get(json_object_get(o, "incident"), "reasons_zh")) != 0)
		e = GA_ERR_NOMEM;
	if (e != GA_OK) {
		json_decref(o);
		o = NULL;
	}
	*out = o;
out:
	json_decref(pending);
	json_decref(pubw.arr);
	json_decref(repw.arr);
	return e;
}

ga_err workflow_get(struct store *s, const struct workflow_ctx *ctx, const struct officer *o,
		    const char *alert_id, int64_t now_ms, json_t **out)
{
	struct store_draft *d = NULL;
	json_t *view = NULL;
	bool has_pending = false;
	ga_err e;

	(void)now_ms;
	if (s == NULL || ctx == NULL || o == NULL || alert_id == NULL || out == NULL)
		return GA_ERR_INVAL;
	if ((d = malloc(sizeof(*d))) == NULL)
		return GA_ERR_NOMEM;
	if ((e = store_begin(s)) != GA_OK)
		goto done;
	if ((e = workflow_get_json(s, ctx, alert_id, d, &has_pending, &view)) != GA_OK)
		goto out;
	/* d is the newest draft: the pending one when there is one. */
	e = workflow_audit(s, o->id, "draft.view", d, json_pack("{s:b}", "pending", has_pending));
out:
	if (e != GA_OK)
		store_rollback(s);
	else
		e = store_commit(s);
	if (e == GA_OK) {
		*out = view;
		view = NULL;
	}
done:
	json_decref(view);
	free(d);
	return e;
}
