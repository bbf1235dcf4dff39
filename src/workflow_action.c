/* workflow_action.c - what officers do to drafts (confirm, with edits;
 * reject; cancel a published alert) and escalation. Each action is one
 * transaction of its own with its audit rows; the state checks are here
 * and nowhere else.
 *
 * Two-person rule: an extra_large draft needs confirmations_extra_large
 * different officers. Each confirmation may carry edits, the second one
 * too: the text published is the text as the last confirming officer
 * left it, and the audit shows who edited which field. */
#include "workflow.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "delivery.h"
#include "log.h"
#include "metrics.h"
#include "workflow_internal.h"

#define WORKFLOW_ESCALATE_BATCH 32 /* drafts escalated per call */

/* Applies checked edits (workflow_edits_validate) to d. A field whose
 * text an edit leaves as it is was not edited (the console may send every
 * field). rec is d's edits record: the first edit of a field stores there
 * the text the templates had composed, so the next version can tell
 * whether its facts changed (workflow.c, workflow_carry). *fields (new
 * reference, NULL when nothing changed) lists the fields edited. */
static ga_err workflow_edits_apply(const json_t *edits, struct store_draft *d, json_t *rec,
				   json_t **fields)
{
	*fields = NULL;
	if (edits == NULL || !json_is_object(edits) || json_object_size(edits) == 0)
		return GA_OK;
	for (size_t i = 0; i < WORKFLOW_NFIELDS; i++) {
		const char *name = workflow_fields[i].name;
		json_t *v = json_object_get(edits, name);
		char *dst = workflow_field_text(d, i);
		if (v == NULL || strcmp(dst, json_string_value(v)) == 0)
			continue;
		if (*fields == NULL && (*fields = json_array()) == NULL)
			return GA_ERR_NOMEM;
		if (rec != NULL && json_object_get(rec, name) == NULL &&
		    json_object_set_new(rec, name, json_string(dst)) != 0)
			return GA_ERR_NOMEM;
		snprintf(dst, workflow_field_size(i), "%s", json_string_value(v));
		if (json_array_append_new(*fields, json_string(name)) != 0)
			return GA_ERR_NOMEM;
	}
	return GA_OK;
}

/* workflow_edits_validate with its message into msg. */
static ga_err workflow_edits_check(const json_t *edits, char *msg, size_t msglen)
{
	struct workflow_problem p;
	ga_err e = workflow_edits_validate(edits, &p);

	if (e != GA_OK)
		workflow_msg(msg, msglen, "%s", p.message);
	return e;
}

/* A reason is 1..ALERT_REASON_MAX characters of UTF-8, not only blanks. */
static ga_err workflow_reason_check(const char *reason, char *msg, size_t msglen)
{
	size_t chars = 0;
	bool text = false;
	json_t *probe;

	if (reason == NULL || reason[0] == '\0') {
		workflow_msg(msg, msglen, "请填写原因");
		return GA_ERR_INVAL;
	}
	if (strlen(reason) > (size_t)ALERT_REASON_MAX * 4) {
		workflow_msg(msg, msglen, "原因超过%d个字", ALERT_REASON_MAX);
		return GA_ERR_INVAL;
	}
	/* jansson refuses invalid UTF-8. */
	if ((probe = json_string(reason)) == NULL) {
		workflow_msg(msg, msglen, "原因不是有效的 UTF-8 文字");
		return GA_ERR_INVAL;
	}
	json_decref(probe);
	for (const unsigned char *p = (const unsigned char *)reason; *p; p++) {
		if ((*p & 0xc0) != 0x80)
			chars++;
		if (*p > ' ')
			text = true;
	}
	if (!text) {
		workflow_msg(msg, msglen, "原因不能只有空白");
		return GA_ERR_INVAL;
	}
	if (chars > ALERT_REASON_MAX) {
		workflow_msg(msg, msglen, "原因超过%d个字", ALERT_REASON_MAX);
		return GA_ERR_INVAL;
	}
	return GA_OK;
}

/* Finds the pending draft of alert_id into d, inside the transaction.
 * GA_ERR_NOTFOUND (no such alert) or GA_ERR_CONFLICT (nothing pending,
 * or not draft_id) with msg. */
static ga_err workflow_find_pending(struct store *s, const char *alert_id, int64_t draft_id,
				    struct store_draft *d, char *msg, size_t msglen)
{
	ga_err e = store_draft_pending(s, alert_id, d);

	if (e == GA_ERR_NOTFOUND) {
		e = store_draft_latest(s, alert_id, d);
		if (e == GA_ERR_NOTFOUND) {
			workflow_msg(msg, msglen, "没有预警 %s", alert_id);
			return GA_ERR_NOTFOUND;
		}
		if (e != GA_OK)
			return e;
		workflow_msg(msg, msglen, "预警 %s 没有待确认的草稿（最新草稿 %lld %s）", alert_id,
			     (long long)d->id, alert_state_zh(workflow_state(d)));
		return GA_ERR_CONFLICT;
	}
	if (e != GA_OK)
		return e;
	if (draft_id > 0 && d->id != draft_id) {
		workflow_msg(msg, msglen,
			     "预警 %s 的草稿 %lld 已不是待确认状态（现在待确认的是草稿 %lld），"
			     "请查看新草稿后再操作",
			     alert_id, (long long)draft_id, (long long)d->id);
		return GA_ERR_CONFLICT;
	}
	return GA_OK;
}

/* Ends the transaction: commit when e is GA_OK, else roll back. */
static ga_err workflow_end(struct store *s, ga_err e, char *msg, size_t msglen)
{
	if (e != GA_OK) {
		store_rollback(s);
		return e;
	}
	if ((e = store_commit(s)) != GA_OK)
		workflow_msg(msg, msglen, "无法保存（%s）", ga_strerror(e));
	return e;
}

/* Begins the transaction of an action on the pending draft of alert_id
 * (draft_id when > 0) and reads it into *out, a malloc'd draft the caller
 * frees. On error nothing is left open or allocated; msg says why as
 * workflow_find_pending does. */
static ga_err workflow_begin_pending(struct store *s, const char *alert_id, int64_t draft_id,
				     struct store_draft **out, char *msg, size_t msglen)
{
	struct store_draft *d;
	ga_err e;

	if ((d = malloc(sizeof(*d))) == NULL)
		return GA_ERR_NOMEM;
	if ((e = store_begin(s)) != GA_OK) {
		free(d);
		return e;
	}
	if ((e = workflow_find_pending(s, alert_id, draft_id, d, msg, msglen)) != GA_OK) {
		store_rollback(s);
		free(d);
		return e;
	}
	*out = d;
	return GA_OK;
}

/* Makes d the alert's next published version. */
static ga_err workflow_publish(struct store *s, struct store_draft *d, int64_t now_ms)
{
	int v = 0;
	ga_err e;

	if ((e = store_draft_max_version(s, d->alert_id, &v)) != GA_OK)
		return e;
	if ((e = workflow_refs(s, d->alert_id, d->refs)) != GA_OK)
		return e;
	d->version = v + 1;
	workflow_set_state(d, ALERT_PUBLISHED);
	d->confirmed_ms = now_ms;
	d->published_ms = now_ms;
	return GA_OK;
}

ga_err workflow_confirm_draft(struct store *s, const struct workflow_ctx *ctx,
			      const struct officer *o, const char *alert_id, int64_t draft_id,
			      const json_t *edits, int64_t now_ms, bool *published, char *msg,
			      size_t msglen)
{
	struct store_draft *d = NULL;
	json_t *fields = NULL, *rec = NULL, *carried = NULL, *changed = NULL;
	int n = 0, needed = 1;
	bool publish = false;
	ga_err e;

	if (published != NULL)
		*published = false;
	if (s == NULL || ctx == NULL || o == NULL || o->id <= 0 || alert_id == NULL) {
		workflow_msg(msg, msglen, "参数错误");
		return GA_ERR_INVAL;
	}
	if ((e = workflow_edits_check(edits, msg, msglen)) != GA_OK)
		return e;
	if ((e = workflow_begin_pending(s, alert_id, draft_id, &d, msg, msglen)) != GA_OK)
		return e;
	e = store_confirmation_add(s, d->id, o->id, now_ms);
	if (e == GA_ERR_DUPLICATE) {
		workflow_msg(msg, msglen, "草稿 %lld 已由 %s 确认，还需另一名值班人员确认",
			     (long long)d->id, o->name);
		e = GA_ERR_CONFLICT;
		goto out;
	}
	if (e != GA_OK)
		goto out;
	if ((e = workflow_edits_load(s, d->id, &rec, &carried, &changed)) != GA_OK)
		goto out;
	if ((e = workflow_edits_apply(edits, d, rec, &fields)) != GA_OK)
		goto out;
	if (fields != NULL) {
		if ((e = workflow_edits_store(s, d->id, rec, carried, changed)) != GA_OK)
			goto out;
		e = workflow_audit(s, o->id, "draft.edit", d, json_pack("{s:O}", "fields", fields));
		if (e != GA_OK)
			goto out;
	}
	if ((e = store_confirmation_count(s, d->id, &n)) != GA_OK)
		goto out;
	needed = workflow_needed(ctx, d);
	if ((e = workflow_audit(s, o->id, "draft.confirm", d,
				json_pack("{s:i, s:i}", "confirmations", n, "needed", needed))) !=
	    GA_OK)
		goto out;
	if ((publish = n >= needed)) {
		if ((e = workflow_publish(s, d, now_ms)) != GA_OK)
			goto out;
		if ((e = workflow_audit(s, o->id, "draft.publish", d,
					json_pack("{s:s}", "from", "pending"))) != GA_OK)
			goto out;
	}
	if ((e = store_draft_update(s, d)) != GA_OK)
		goto out;
	if (publish && ctx->delivery_cfg != NULL &&
	    (e = delivery_enqueue(s, ctx->delivery_cfg, d->alert_id, d->version, d->msg_type,
				  now_ms)) != GA_OK)
		goto out;
	e = GA_OK;
out:
	e = workflow_end(s, e, msg, msglen);
	if (e == GA_OK && publish && published != NULL)
		*published = true;
	if (e == GA_OK && publish) {
		log_info("workflow: %s: version %d published (%s)", d->alert_id, d->version,
			 d->msg_type);
		/* From the draft's making to its publication: the officers'
		 * time (both of them, for a two-person draft). */
		if (ctx->metrics != NULL)
			metrics_observe_ms(&ctx->metrics->draft_confirm, NULL,
					   (double)(now_ms - d->created_ms));
	}
	json_decref(fields);
	json_decref(rec);
	json_decref(carried);
	json_decref(changed);
	free(d);
	return e;
}

ga_err workflow_confirm(struct store *s, const struct workflow_ctx *ctx, const struct officer *o,
			const char *alert_id, const json_t *edits, int64_t now_ms, bool *published,
			char *msg, size_t msglen)
{
	return workflow_confirm_draft(s, ctx, o, alert_id, 0, edits, now_ms, published, msg,
				      msglen);
}

ga_err workflow_reject_draft(struct store *s, const struct workflow_ctx *ctx,
			     const struct officer *o, const char *alert_id, int64_t draft_id,
			     const char *reason, int64_t now_ms, char *msg, size_t msglen)
{
	struct store_draft *d = NULL;
	ga_err e;

	if (s == NULL || ctx == NULL || o == NULL || o->id <= 0 || alert_id == NULL) {
		workflow_msg(msg, msglen, "参数错误");
		return GA_ERR_INVAL;
	}
	if ((e = workflow_reason_check(reason, msg, msglen)) != GA_OK)
		return e;
	if ((e = workflow_begin_pending(s, alert_id, draft_id, &d, msg, msglen)) != GA_OK)
		return e;
	workflow_set_state(d, ALERT_REJECTED);
	snprintf(d->reject_reason, sizeof(d->reject_reason), "%s", reason);
	if ((e = store_draft_update(s, d)) != GA_OK)
		goto out;
	e = workflow_audit(s, o->id, "draft.reject", d,
			   json_pack("{s:s, s:s}", "from", "pending", "reason", reason));
out:
	e = workflow_end(s, e, msg, msglen);
	free(d);
	(void)now_ms;
	return e;
}

ga_err workflow_reject(struct store *s, const struct workflow_ctx *ctx, const struct officer *o,
		       const char *alert_id, const char *reason, int64_t now_ms, char *msg,
		       size_t msglen)
{
	return workflow_reject_draft(s, ctx, o, alert_id, 0, reason, now_ms, msg, msglen);
}

/* Composes the cancel text of the published version pub into c. */
static ga_err workflow_cancel_text(struct store *s, const struct workflow_ctx *ctx,
				   const struct store_draft *pub, struct store_draft *c)
{
	struct workflow_sources src;
	struct incident inc;
	ga_err e;

	memset(&src, 0, sizeof(src));
	if (pub->kind == KIND_WARNING) /* of a warning, not of a report */
		return workflow_warning_cancel_text(ctx, pub, c);
	if ((e = store_incident_get(s, pub->alert_id, &inc)) != GA_OK)
		return e;
	/* The cancel speaks of the alert as it was published. */
	inc.level = pub->level;
	inc.has_disaster = pub->kind == KIND_DISASTER;
	inc.figures = pub->figures;
	src.volume_m3 = NAN;
	src.area_m2 = NAN;
	snprintf(src.place, sizeof(src.place), "%s", pub->place);
	if ((e = workflow_compose(ctx, &inc, &src, DRAFT_MSG_CANCEL, (int)pub->level, c)) != GA_OK)
		return e;
	/* What it is about stays the published version's. */
	snprintf(c->admin_name, sizeof(c->admin_name), "%s", pub->admin_name);
	c->lon = pub->lon;
	c->lat = pub->lat;
	c->observed_ms = pub->observed_ms;
	return GA_OK;
}

/* Reads the latest published version of alert_id into pub and composes
 * the cancel of it into c, edits applied (c is not stored; its version,
 * times and references are those it would be published with at now_ms).
 * GA_ERR_NOTFOUND / GA_ERR_CONFLICT (not published, already cancelled)
 * with msg. */
static ga_err workflow_cancel_make(struct store *s, const struct workflow_ctx *ctx,
				   const char *alert_id, const json_t *edits, int64_t now_ms,
				   struct store_draft *pub, struct store_draft *c, char *msg,
				   size_t msglen)
{
	json_t *fields = NULL;
	ga_err e = store_draft_published(s, alert_id, 0, pub);

	if (e == GA_ERR_NOTFOUND) {
		if ((e = store_draft_latest(s, alert_id, pub)) == GA_ERR_NOTFOUND) {
			workflow_msg(msg, msglen, "没有预警 %s", alert_id);
		} else if (e == GA_OK) {
			workflow_msg(msg, msglen, "预警 %s 尚未发布", alert_id);
			e = GA_ERR_CONFLICT;
		}
		return e;
	}
	if (e != GA_OK)
		return e;
	if (draft_msg_type_from_name(pub->msg_type) == DRAFT_MSG_CANCEL) {
		workflow_msg(msg, msglen, "预警 %s 已解除（第%d版）", alert_id, pub->version);
		return GA_ERR_CONFLICT;
	}
	memset(c, 0, sizeof(*c));
	if ((e = workflow_cancel_text(s, ctx, pub, c)) != GA_OK)
		return e;
	if ((e = workflow_edits_apply(edits, c, NULL, &fields)) != GA_OK)
		return e;
	json_decref(fields);
	c->created_ms = now_ms;
	snprintf(c->fingerprint, sizeof(c->fingerprint), "%s", pub->fingerprint);
	return workflow_publish(s, c, now_ms);
}

ga_err workflow_cancel_edited(struct store *s, const struct workflow_ctx *ctx,
			      const struct officer *o, const char *alert_id, const char *reason,
			      const json_t *edits, int64_t now_ms, char *msg, size_t msglen)
{
	struct store_draft *pub = NULL, *c = NULL;
	int cancels = 0;
	ga_err e;

	if (s == NULL || ctx == NULL || ctx->templates == NULL || o == NULL || o->id <= 0 ||
	    alert_id == NULL) {
		workflow_msg(msg, msglen, "参数错误");
		return GA_ERR_INVAL;
	}
	if ((e = workflow_reason_check(reason, msg, msglen)) != GA_OK ||
	    (e = workflow_edits_check(edits, msg, msglen)) != GA_OK)
		return e;
	if ((pub = malloc(sizeof(*pub))) == NULL || (c = calloc(1, sizeof(*c))) == NULL) {
		free(pub);
		return GA_ERR_NOMEM;
	}
	if ((e = store_begin(s)) != GA_OK)
		goto done;
	if ((e = workflow_cancel_make(s, ctx, alert_id, edits, now_ms, pub, c, msg, msglen)) !=
	    GA_OK)
		goto out;
	cancels = pub->version;
	/* A pending draft of a cancelled alert has nothing left to say. */
	if ((e = store_draft_pending(s, alert_id, pub)) == GA_OK) {
		workflow_set_state(pub, ALERT_SUPERSEDED);
		if ((e = store_draft_update(s, pub)) != GA_OK)
			goto out;
		if ((e = workflow_audit(s, o->id, "draft.supersede", pub,
					json_pack("{s:s}", "reason", "alert cancelled"))) != GA_OK)
			goto out;
	} else if (e != GA_ERR_NOTFOUND) {
		goto out;
	}
	snprintf(c->cancel_reason, sizeof(c->cancel_reason), "%s", reason);
	if ((e = store_draft_insert(s, c)) != GA_OK)
		goto out;
	if ((e = store_confirmation_add(s, c->id, o->id, now_ms)) != GA_OK)
		goto out;
	if (ctx->delivery_cfg != NULL &&
	    (e = delivery_enqueue(s, ctx->delivery_cfg, c->alert_id, c->version, c->msg_type,
				  now_ms)) != GA_OK)
		goto out;
	e = workflow_audit(s, o->id, "alert.cancel", c,
			   json_pack("{s:i, s:s, s:b}", "cancels", cancels, "reason", reason,
				     "edited", edits != NULL && json_object_size(edits) > 0));
out:
	e = workflow_end(s, e, msg, msglen);
	if (e == GA_OK)
		log_info("workflow: %s: cancelled (version %d)", c->alert_id, c->version);
done:
	free(pub);
	free(c);
	return e;
}

ga_err workflow_cancel(struct store *s, const struct workflow_ctx *ctx, const struct officer *o,
		       const char *alert_id, const char *reason, int64_t now_ms, char *msg,
		       size_t msglen)
{
	return workflow_cancel_edited(s, ctx, o, alert_id, reason, NULL, now_ms, msg, msglen);
}

ga_err workflow_cancel_preview(struct store *s, const struct workflow_ctx *ctx,
			       const char *alert_id, const json_t *edits, int64_t now_ms,
			       json_t **out, char *msg, size_t msglen)
{
	struct store_draft *pub = NULL, *c = NULL;
	ga_err e;

	if (s == NULL || ctx == NULL || ctx->templates == NULL || alert_id == NULL || out == NULL) {
		workflow_msg(msg, msglen, "参数错误");
		return GA_ERR_INVAL;
	}
	if ((e = workflow_edits_check(edits, msg, msglen)) != GA_OK)
		return e;
	if ((pub = malloc(sizeof(*pub))) == NULL || (c = calloc(1, sizeof(*c))) == NULL) {
		free(pub);
		return GA_ERR_NOMEM;
	}
	e = workflow_cancel_make(s, ctx, alert_id, edits, now_ms, pub, c, msg, msglen);
	if (e == GA_OK)
		e = (*out = workflow_alert_json(ctx, c)) != NULL ? GA_OK : GA_ERR_NOMEM;
	free(pub);
	free(c);
	return e;
}

ga_err workflow_preview(struct store *s, const struct workflow_ctx *ctx, const char *alert_id,
			int64_t draft_id, const json_t *edits, int64_t now_ms, json_t **out,
			char *msg, size_t msglen)
{
	struct store_draft *d = NULL;
	json_t *fields = NULL;
	ga_err e;

	if (s == NULL || ctx == NULL || alert_id == NULL || out == NULL) {
		workflow_msg(msg, msglen, "参数错误");
		return GA_ERR_INVAL;
	}
	if ((e = workflow_edits_check(edits, msg, msglen)) != GA_OK)
		return e;
	if ((d = malloc(sizeof(*d))) == NULL)
		return GA_ERR_NOMEM;
	if ((e = workflow_find_pending(s, alert_id, draft_id, d, msg, msglen)) != GA_OK)
		goto out;
	if ((e = workflow_edits_apply(edits, d, NULL, &fields)) != GA_OK)
		goto out;
	if ((e = workflow_publish(s, d, now_ms)) != GA_OK)
		goto out;
	e = (*out = workflow_alert_json(ctx, d)) != NULL ? GA_OK : GA_ERR_NOMEM;
out:
	json_decref(fields);
	free(d);
	return e;
}

/* --- escalation ---------------------------------------------------- */

struct workflow_due {
	int64_t id[WORKFLOW_ESCALATE_BATCH];
	size_t n;
};

static bool workflow_due_cb(const struct store_draft *d, void *arg)
{
	struct workflow_due *due = arg;

	due->id[due->n++] = d->id;
	return due->n < WORKFLOW_ESCALATE_BATCH;
}

ga_err workflow_escalate_due(struct store *s, int64_t now_ms, int64_t after_ms,
			     workflow_escalate_cb cb, void *arg)
{
	struct workflow_due due = {{0}, 0};
	struct store_draft *d = NULL;
	struct {
		char alert_id[INCIDENT_ID_MAX];
		char headline[STORE_HEADLINE_MAX];
	} *told = NULL;
	ga_err e;

	if (s == NULL || after_ms < 0)
		return GA_ERR_INVAL;
	if ((d = malloc(sizeof(*d))) == NULL ||
	    (told = calloc(WORKFLOW_ESCALATE_BATCH, sizeof(*told))) == NULL) {
		free(d);
		return GA_ERR_NOMEM;
	}
	if ((e = store_begin(s)) != GA_OK)
		goto done;
	if ((e = store_draft_due(s, now_ms - after_ms, WORKFLOW_ESCALATE_BATCH, workflow_due_cb,
				 &due)) != GA_OK)
		goto out;
	for (size_t i = 0; i < due.n; i++) {
		if ((e = store_draft_get(s, due.id[i], d)) != GA_OK)
			goto out;
		d->escalated_ms = now_ms;
		if ((e = store_draft_update(s, d)) != GA_OK)
			goto out;
		if ((e = workflow_audit(s, 0, "draft.escalate", d,
					json_pack("{s:I}", "pending_ms",
						  (json_int_t)(now_ms - d->created_ms)))) != GA_OK)
			goto out;
		snprintf(told[i].alert_id, sizeof(told[i].alert_id), "%s", d->alert_id);
		snprintf(told[i].headline, sizeof(told[i].headline), "%s", d->headline);
	}
out:
	e = workflow_end(s, e, NULL, 0);
	/* Told only once the marks are stored: a failed commit tells nobody
	 * and the next call tries again. */
	for (size_t i = 0; e == GA_OK && cb != NULL && i < due.n; i++)
		cb(told[i].alert_id, told[i].headline, arg);
done:
	free(d);
	free(told);
	return e;
}
