/* workflow_warning.c - drafts of kind warning (spec §12, issue 13): what
 * a hazard point's monitoring level change means for its alert
 * (workflow_warning_changed, workflow.h). The confirm/publish path is
 * the reports' (workflow_action.c): only the making differs.
 *
 * Decisions:
 *  - The incident a station's warnings are drafted for is remembered
 *    (device_incidents, by the caller). It is
 *    opened without a report, from the station registry (hazard point,
 *    type, place, threatened figures); the reports' grouping never
 *    joins it (it looks for incidents with a report in the window), so
 *    reports and devices do not mix their texts in one alert.
 *  - A draft's level is the monitoring level by rank (blue = small ...
 *    red = extra_large), so the publish machinery (two officers for the
 *    highest level when configured, colours, CAP severity) applies
 *    unchanged; the alert JSON names it by the four levels (workflow_view.c).
 *  - Once an alert is cancelled, the next rise opens a new incident:
 *    a cancelled alert is never updated again. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "geo.h"
#include "log.h"
#include "workflow.h"
#include "workflow_internal.h"

/* The draft level of a device level (1 blue .. 4 red). */
static enum level ww_rank(int device_level)
{
	return (enum level)(device_level - 1);
}

static void ww_figures(const struct workflow_warning *w, struct figures *f)
{
	memset(f, 0, sizeof(*f));
	if (isfinite(w->threatened_people) && w->threatened_people >= 0) {
		f->value[FIG_THREATENED_PEOPLE] = w->threatened_people;
		f->set |= 1u << FIG_THREATENED_PEOPLE;
	}
	if (isfinite(w->threatened_property) && w->threatened_property >= 0) {
		f->value[FIG_THREATENED_PROPERTY_CNY] = w->threatened_property;
		f->set |= 1u << FIG_THREATENED_PROPERTY_CNY;
	}
}

static const char *ww_admin_name(const struct workflow_ctx *ctx, const char *code)
{
	const struct region *r = NULL;

	if (ctx->geo != NULL && code != NULL && code[0] != '\0')
		r = geo_region_by_code(ctx->geo, code);
	return r != NULL ? r->full_name : "";
}

/* Copies the composed text into d. */
static void ww_text(struct store_draft *d, const struct draft_text *t)
{
	snprintf(d->headline, sizeof(d->headline), "%s", t->headline);
	snprintf(d->situation, sizeof(d->situation), "%s", t->situation);
	snprintf(d->causes, sizeof(d->causes), "%s", t->causes);
	snprintf(d->response, sizeof(d->response), "%s", t->response);
	snprintf(d->trend, sizeof(d->trend), "%s", t->trend);
}

/* A new open incident for the station, level as the draft's. */
static ga_err ww_incident_open(struct store *s, const struct workflow_ctx *ctx,
			       const struct workflow_warning *w, int64_t now_ms,
			       struct incident *inc)
{
	memset(inc, 0, sizeof(*inc));
	inc->hazard_type = w->hazard_type;
	snprintf(inc->hazard_point_id, sizeof(inc->hazard_point_id), "%s",
		 w->hazard_point_id ? w->hazard_point_id : "");
	inc->lon = w->lon;
	inc->lat = w->lat;
	snprintf(inc->admin_code, sizeof(inc->admin_code), "%s",
		 w->admin_code ? w->admin_code : "");
	inc->first_observed_ms = w->t_ms;
	inc->last_observed_ms = w->t_ms;
	inc->created_ms = now_ms;
	inc->updated_ms = now_ms;
	inc->level = ww_rank(w->to);
	ww_figures(w, &inc->figures);
	inc->open = true;
	inc->prev_level = -1;
	return store_incident_insert(s, inc, w->incident_prefix ? w->incident_prefix : "GA",
				     ctx->utc_offset_min);
}

/* Supersedes the pending draft p (audit reason why). */
static ga_err ww_supersede(struct store *s, struct store_draft *p, const char *why, int64_t by)
{
	ga_err e;

	workflow_set_state(p, ALERT_SUPERSEDED);
	if ((e = store_draft_update(s, p)) != GA_OK)
		return e;
	return workflow_audit(s, 0, "draft.supersede", p,
			      by > 0 ? json_pack("{s:I}", "by", (json_int_t)by)
				     : json_pack("{s:s}", "reason", why));
}

/* Makes the pending draft of type for inc from w, superseding pending. */
static ga_err ww_make(struct store *s, const struct workflow_ctx *ctx,
		      const struct workflow_warning *w, const struct incident *inc,
		      enum draft_msg_type type, const struct store_draft *pub,
		      struct store_draft *pending, int64_t now_ms)
{
	struct store_draft *d = calloc(1, sizeof(*d));
	struct draft_warning_input in;
	struct draft_text text = {0};
	struct figures fig;
	ga_err e = GA_ERR_NOMEM;

	if (d == NULL)
		goto out;
	ww_figures(w, &fig);
	memset(&in, 0, sizeof(in));
	in.msg_type = type;
	/* A 解除 speaks of the published level; the others of the new one. */
	in.level = type == DRAFT_MSG_CANCEL ? pub->level : ww_rank(w->to);
	in.prev_level = pub != NULL ? (int)pub->level : -1;
	in.hazard_type = w->hazard_type;
	in.station_name = w->station_name;
	in.admin_name = ww_admin_name(ctx, w->admin_code);
	in.observed_ms = w->t_ms;
	in.utc_offset_min = ctx->utc_offset_min;
	in.device_code = w->device_code;
	in.channel = w->channel;
	in.metric = w->metric;
	in.value = w->value;
	in.threshold = w->threshold;
	in.rate_per_day = w->rate_per_day;
	in.clear_after_s = type == DRAFT_MSG_CANCEL ? w->clear_after_s : 0;
	in.figures = &fig;
	in.sender = ctx->sender;
	if ((e = draft_warning_compose(ctx->templates, &in, &text)) != GA_OK)
		goto out;
	snprintf(d->alert_id, sizeof(d->alert_id), "%s", inc->id);
	snprintf(d->msg_type, sizeof(d->msg_type), "%s", draft_msg_type_name(type));
	workflow_set_state(d, ALERT_PENDING);
	d->level = in.level;
	d->prev_level = in.prev_level;
	d->kind = KIND_WARNING;
	d->hazard_type = w->hazard_type;
	d->figures = fig;
	snprintf(d->admin_code, sizeof(d->admin_code), "%s", w->admin_code ? w->admin_code : "");
	snprintf(d->admin_name, sizeof(d->admin_name), "%s", in.admin_name);
	snprintf(d->place, sizeof(d->place), "%s", w->station_name ? w->station_name : "");
	d->lon = w->lon;
	d->lat = w->lat;
	d->observed_ms = w->t_ms;
	d->created_ms = now_ms;
	ww_text(d, &text);
	/* What the draft says, for officers reading the table. */
	snprintf(d->fingerprint, sizeof(d->fingerprint), "warning:%s:%d", draft_msg_type_name(type),
		 (int)d->level);
	if ((e = workflow_refs(s, inc->id, d->refs)) != GA_OK)
		goto out;
	if (pending != NULL) {
		/* First: the store allows one pending draft per alert. */
		workflow_set_state(pending, ALERT_SUPERSEDED);
		if ((e = store_draft_update(s, pending)) != GA_OK)
			goto out;
		d->supersedes = pending->id;
	}
	if ((e = store_draft_insert(s, d)) != GA_OK)
		goto out;
	if (pending != NULL &&
	    (e = workflow_audit(s, 0, "draft.supersede", pending,
				json_pack("{s:I}", "by", (json_int_t)d->id))) != GA_OK)
		goto out;
	e = workflow_audit(s, 0, "draft.create", d,
			   json_pack("{s:s, s:s, s:s, s:I}", "kind", "warning", "level",
				     warning_level_name(d->level), "station_id", w->station_id,
				     "supersedes", (json_int_t)d->supersedes));
	if (e == GA_OK)
		log_info("workflow: %s: warning draft %lld (%s, %s) made for %s", d->alert_id,
			 (long long)d->id, d->msg_type, warning_level_name(d->level),
			 w->station_id);
out:
	draft_text_cleanup(&text);
	free(d);
	return e;
}

ga_err workflow_warning_changed(struct store *s, const struct workflow_ctx *ctx,
				const struct workflow_warning *w, char *incident_id, int64_t now_ms,
				bool *made)
{
	struct store_draft *pub = NULL, *pending = NULL;
	struct incident inc;
	bool has_inc = false, has_pub = false, has_pending = false, active;
	int base = -1;
	ga_err e = GA_ERR_INVAL;

	if (made != NULL)
		*made = false;
	if (s == NULL || ctx == NULL || ctx->templates == NULL || w == NULL ||
	    incident_id == NULL || w->to < 0 || w->to > LEVEL_COUNT ||
	    (unsigned)w->hazard_type >= HAZARD_COUNT)
		return GA_ERR_INVAL;
	if (w->to != 0 && w->to < w->draft_min)
		return GA_OK; /* below the draft level: the notice says it */
	e = GA_ERR_NOMEM;
	if ((pub = malloc(sizeof(*pub))) == NULL || (pending = malloc(sizeof(*pending))) == NULL)
		goto out;
	if (incident_id[0] != '\0') {
		e = store_incident_get(s, incident_id, &inc);
		if (e != GA_OK && e != GA_ERR_NOTFOUND)
			goto out;
		has_inc = e == GA_OK && inc.open;
	}
	if (has_inc) {
		e = store_draft_published(s, inc.id, 0, pub);
		if (e != GA_OK && e != GA_ERR_NOTFOUND)
			goto out;
		has_pub = e == GA_OK;
		e = store_draft_pending(s, inc.id, pending);
		if (e != GA_OK && e != GA_ERR_NOTFOUND)
			goto out;
		has_pending = e == GA_OK;
	}
	active = has_pub && draft_msg_type_from_name(pub->msg_type) != DRAFT_MSG_CANCEL;
	e = GA_OK;

	if (w->to == 0) {
		if (!has_inc)
			goto out;
		if (active) {
			if (has_pending &&
			    draft_msg_type_from_name(pending->msg_type) == DRAFT_MSG_CANCEL)
				goto out; /* proposed already */
			if ((e = ww_make(s, ctx, w, &inc, DRAFT_MSG_CANCEL, pub,
					 has_pending ? pending : NULL, now_ms)) == GA_OK &&
			    made != NULL)
				*made = true;
		} else if (has_pending) {
			/* Never published: nothing to lift, nothing to confirm. */
			e = ww_supersede(s, pending, "monitoring level cleared", 0);
		}
		goto out;
	}

	if (has_inc && has_pub && !active) {
		/* Cancelled: this rise is a new event with a new alert. */
		inc.open = false;
		if ((e = store_incident_update(s, &inc)) != GA_OK)
			goto out;
		has_inc = has_pending = has_pub = false;
	}
	if (!has_inc) {
		if ((e = ww_incident_open(s, ctx, w, now_ms, &inc)) != GA_OK)
			goto out;
		snprintf(incident_id, INCIDENT_ID_MAX, "%s", inc.id);
	}
	if (has_pending && draft_msg_type_from_name(pending->msg_type) == DRAFT_MSG_CANCEL) {
		/* Up again at the draft level: the proposed 解除 is wrong now. */
		if ((e = ww_supersede(s, pending, "monitoring level rose again", 0)) != GA_OK)
			goto out;
		has_pending = false;
	}
	if (has_pending)
		base = (int)pending->level;
	else if (active)
		base = (int)pub->level;
	if ((int)ww_rank(w->to) <= base)
		goto out; /* not higher than what officers have or the public saw */
	if ((e = ww_make(s, ctx, w, &inc, active ? DRAFT_MSG_UPDATE : DRAFT_MSG_ALERT,
			 active ? pub : NULL, has_pending ? pending : NULL, now_ms)) != GA_OK)
		goto out;
	if (made != NULL)
		*made = true;
	/* The incident follows its warnings' level and reading time. */
	if ((int)inc.level < (int)ww_rank(w->to) || inc.last_observed_ms < w->t_ms) {
		if ((int)inc.level < (int)ww_rank(w->to))
			inc.level = ww_rank(w->to);
		if (inc.last_observed_ms < w->t_ms)
			inc.last_observed_ms = w->t_ms;
		inc.updated_ms = now_ms;
		e = store_incident_update(s, &inc);
	}
out:
	free(pub);
	free(pending);
	return e;
}

ga_err workflow_warning_cancel_text(const struct workflow_ctx *ctx, const struct store_draft *pub,
				    struct store_draft *c)
{
	struct draft_warning_input in;
	struct draft_text text = {0};
	ga_err e;

	memset(&in, 0, sizeof(in));
	in.msg_type = DRAFT_MSG_CANCEL;
	in.level = pub->level;
	in.prev_level = (int)pub->level;
	in.hazard_type = pub->hazard_type;
	in.station_name = pub->place;
	in.admin_name = pub->admin_name;
	in.observed_ms = pub->observed_ms;
	in.utc_offset_min = ctx->utc_offset_min;
	in.value = NAN;
	in.threshold = NAN;
	in.rate_per_day = NAN;
	in.figures = &pub->figures;
	in.sender = ctx->sender;
	if ((e = draft_warning_compose(ctx->templates, &in, &text)) != GA_OK)
		return e;
	snprintf(c->alert_id, sizeof(c->alert_id), "%s", pub->alert_id);
	snprintf(c->msg_type, sizeof(c->msg_type), "%s", draft_msg_type_name(DRAFT_MSG_CANCEL));
	c->level = pub->level;
	c->prev_level = (int)pub->level;
	c->kind = KIND_WARNING;
	c->hazard_type = pub->hazard_type;
	c->figures = pub->figures;
	snprintf(c->admin_code, sizeof(c->admin_code), "%s", pub->admin_code);
	snprintf(c->admin_name, sizeof(c->admin_name), "%s", pub->admin_name);
	snprintf(c->place, sizeof(c->place), "%s", pub->place);
	c->lon = pub->lon;
	c->lat = pub->lat;
	c->observed_ms = pub->observed_ms;
	ww_text(c, &text);
	draft_text_cleanup(&text);
	return GA_OK;
}
