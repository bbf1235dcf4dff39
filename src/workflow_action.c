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

static const struct {
	const char *name;
	size_t cap; /* bytes, without the NUL */
	size_t offset;
} workflow_edit_fields[] = {
    {"headline", DRAFT_HEADLINE_MAX, offsetof(struct store_draft, headline)},
    {"situation", DRAFT_TEXT_MAX, offsetof(struct store_draft, situation)},
    {"causes", DRAFT_TEXT_MAX, offsetof(struct store_draft, causes)},
    {"response", DRAFT_TEXT_MAX, offsetof(struct store_draft, response)},
    {"trend", DRAFT_TEXT_MAX, offsetof(struct store_draft, trend)},
};
#define WORKFLOW_NEDIT (sizeof(workflow_edit_fields) / sizeof(workflow_edit_fields[0]))

/* Checks edits (NULL or JSON null: none): an object of known fields with
 * strings within their caps, a headline not empty. */
static ga_err workflow_edits_check(const json_t *edits, char *msg, size_t msglen)
{
	const char *key;
	json_t *v;

	if (edits == NULL || json_is_null(edits))
		return GA_OK;
	if (!json_is_object(edits)) {
		workflow_msg(msg, msglen, "edits must be an object");
		return GA_ERR_INVAL;
	}
	json_object_foreach((json_t *)edits, key, v)
	{
		size_t i;
		for (i = 0; i < WORKFLOW_NEDIT; i++)
			if (strcmp(key, workflow_edit_fields[i].name) == 0)
				break;
		if (i == WORKFLOW_NEDIT) {
			workflow_msg(msg, msglen, "edits: unknown field %.64s", key);
			return GA_ERR_INVAL;
		}
		if (!json_is_string(v)) {
			workflow_msg(msg, msglen, "edits: %s must be a string", key);
			return GA_ERR_INVAL;
		}
		/* jansson strings are valid UTF-8; a NUL inside would cut it. */
		if (strlen(json_string_value(v)) != json_string_length(v)) {
			workflow_msg(msg, msglen, "edits: %s contains a NUL character", key);
			return GA_ERR_INVAL;
		}
		if (json_string_length(v) > workflow_edit_fields[i].cap) {
			workflow_msg(msg, msglen, "edits: %s is longer than %zu bytes", key,
				     workflow_edit_fields[i].cap);
			return GA_ERR_INVAL;
		}
		if (i == 0 && json_string_length(v) == 0) {
			workflow_msg(msg, msglen, "edits: headline must not be empty");
			return GA_ERR_INVAL;
		}
	}
	return GA_OK;
}

/* Applies checked edits to d; *fields (new reference) lists the names. */
static ga_err workflow_edits_apply(const json_t *edits, struct store_draft *d, json_t **fields)
{
	*fields = NULL;
	if (edits == NULL || !json_is_object(edits) || json_object_size(edits) == 0)
		return GA_OK;
	if ((*fields = json_array()) == NULL)
		return GA_ERR_NOMEM;
	for (size_t i = 0; i < WORKFLOW_NEDIT; i++) {
		json_t *v = json_object_get(edits, workflow_edit_fields[i].name);
		char *dst = (char *)d + workflow_edit_fields[i].offset;
		if (v == NULL)
			continue;
		memcpy(dst, json_string_value(v), json_string_length(v) + 1);
		if (json_array_append_new(*fields, json_string(workflow_edit_fields[i].name)) != 0)
			return GA_ERR_NOMEM;
	}
	return GA_OK;
}

/* A reason is 1..ALERT_REASON_MAX characters of UTF-8, not only blanks. */
static ga_err workflow_reason_check(const char *reason, char *msg, size_t msglen)
{
	size_t chars = 0;
	bool text = false;
	json_t *probe;

	if (reason == NULL || reason[0] == '\0') {
		workflow_msg(msg, msglen, "reason is required");
		return GA_ERR_INVAL;
	}
	if (strlen(reason) > (size_t)ALERT_REASON_MAX * 4) {
		workflow_msg(msg, msglen, "reason is longer than %d characters", ALERT_REASON_MAX);
		return GA_ERR_INVAL;
	}
	/* jansson refuses invalid UTF-8. */
	if ((probe = json_string(reason)) == NULL) {
		workflow_msg(msg, msglen, "reason is not valid UTF-8");
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
		workflow_msg(msg, msglen, "reason is blank");
		return GA_ERR_INVAL;
	}
	if (chars > ALERT_REASON_MAX) {
		workflow_msg(msg, msglen, "reason is longer than %d characters", ALERT_REASON_MAX);
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
			workflow_msg(msg, msglen, "no alert %s", alert_id);
			return GA_ERR_NOTFOUND;
		}
		if (e != GA_OK)
			return e;
		workflow_msg(msg, msglen, "alert %s has no pending draft (latest draft %lld is %s)",
			     alert_id, (long long)d->id, d->state);
		return GA_ERR_CONFLICT;
	}
	if (e != GA_OK)
		return e;
	if (draft_id > 0 && d->id != draft_id) {
		workflow_msg(msg, msglen,
			     "draft %lld of alert %s is no longer pending (draft %lld is)",
			     (long long)draft_id, alert_id, (long long)d->id);
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
		workflow_msg(msg, msglen, "could not store: %s", ga_strerror(e));
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
	json_t *fields = NULL;
	int n = 0, needed = 1;
	bool publish = false;
	ga_err e;

	if (published != NULL)
		*published = false;
	if (s == NULL || ctx == NULL || o == NULL || o->id <= 0 || alert_id == NULL) {
		workflow_msg(msg, msglen, "bad arguments");
		return GA_ERR_INVAL;
	}
	if ((e = workflow_edits_check(edits, msg, msglen)) != GA_OK)
		return e;
	if ((e = workflow_begin_pending(s, alert_id, draft_id, &d, msg, msglen)) != GA_OK)
		return e;
	e = store_confirmation_add(s, d->id, o->id, now_ms);
	if (e == GA_ERR_DUPLICATE) {
		workflow_msg(msg, msglen,
			     "draft %lld: already confirmed by %s; another officer"
			     " must confirm it",
			     (long long)d->id, o->name);
		e = GA_ERR_CONFLICT;
		goto out;
	}
	if (e != GA_OK)
		goto out;
	if ((e = workflow_edits_apply(edits, d, &fields)) != GA_OK)
		goto out;
	if (fields != NULL) {
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
		workflow_msg(msg, msglen, "bad arguments");
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

ga_err workflow_cancel(struct store *s, const struct workflow_ctx *ctx, const struct officer *o,
		       const char *alert_id, const char *reason, int64_t now_ms, char *msg,
		       size_t msglen)
{
	struct store_draft *pub = NULL, *c = NULL;
	ga_err e;

	if (s == NULL || ctx == NULL || ctx->templates == NULL || o == NULL || o->id <= 0 ||
	    alert_id == NULL) {
		workflow_msg(msg, msglen, "bad arguments");
		return GA_ERR_INVAL;
	}
	if ((e = workflow_reason_check(reason, msg, msglen)) != GA_OK)
		return e;
	if ((pub = malloc(sizeof(*pub))) == NULL || (c = calloc(1, sizeof(*c))) == NULL) {
		free(pub);
		return GA_ERR_NOMEM;
	}
	if ((e = store_begin(s)) != GA_OK)
		goto done;
	e = store_draft_published(s, alert_id, 0, pub);
	if (e == GA_ERR_NOTFOUND) {
		if ((e = store_draft_latest(s, alert_id, pub)) == GA_ERR_NOTFOUND) {
			workflow_msg(msg, msglen, "no alert %s", alert_id);
		} else if (e == GA_OK) {
			workflow_msg(msg, msglen, "alert %s is not published", alert_id);
			e = GA_ERR_CONFLICT;
		}
		goto out;
	}
	if (e != GA_OK)
		goto out;
	if (draft_msg_type_from_name(pub->msg_type) == DRAFT_MSG_CANCEL) {
		workflow_msg(msg, msglen, "alert %s is already cancelled (version %d)", alert_id,
			     pub->version);
		e = GA_ERR_CONFLICT;
		goto out;
	}
	/* A pending draft of a cancelled alert has nothing left to say. */
	if ((e = store_draft_pending(s, alert_id, c)) == GA_OK) {
		workflow_set_state(c, ALERT_SUPERSEDED);
		if ((e = store_draft_update(s, c)) != GA_OK)
			goto out;
		if ((e = workflow_audit(s, o->id, "draft.supersede", c,
					json_pack("{s:s}", "reason", "alert cancelled"))) != GA_OK)
			goto out;
	} else if (e != GA_ERR_NOTFOUND) {
		goto out;
	}
	memset(c, 0, sizeof(*c));
	if ((e = workflow_cancel_text(s, ctx, pub, c)) != GA_OK)
		goto out;
	c->created_ms = now_ms;
	snprintf(c->cancel_reason, sizeof(c->cancel_reason), "%s", reason);
	snprintf(c->fingerprint, sizeof(c->fingerprint), "%s", pub->fingerprint);
	if ((e = workflow_publish(s, c, now_ms)) != GA_OK)
		goto out;
	if ((e = store_draft_insert(s, c)) != GA_OK)
		goto out;
	if ((e = store_confirmation_add(s, c->id, o->id, now_ms)) != GA_OK)
		goto out;
	if (ctx->delivery_cfg != NULL &&
	    (e = delivery_enqueue(s, ctx->delivery_cfg, c->alert_id, c->version, c->msg_type,
				  now_ms)) != GA_OK)
		goto out;
	e = workflow_audit(s, o->id, "alert.cancel", c,
			   json_pack("{s:i, s:s}", "cancels", pub->version, "reason", reason));
out:
	e = workflow_end(s, e, msg, msglen);
	if (e == GA_OK)
		log_info("workflow: %s: cancelled (version %d)", c->alert_id, c->version);
done:
	free(pub);
	free(c);
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
