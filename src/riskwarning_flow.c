/* riskwarning_flow.c - intake, sign-off, rejection and cancellation of
 * risk warning products over the store, each with its audit row. */
#include "riskwarning_flow.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "riskwarning_deliver.h"
#include "store_rwversion.h"
#include "text.h"
#include "timeutil.h"

const char *riskwarning_flow_topic_issuer(const char *topic)
{
	size_t n = strlen(RISKWARNING_TOPIC_PREFIX);

	if (topic == NULL || strncmp(topic, RISKWARNING_TOPIC_PREFIX, n) != 0)
		return NULL;
	return topic + n;
}

bool riskwarning_flow_issuer_check(const char *issuers, const char *issuer,
				   struct report_errors *errs)
{
	size_t len = issuer ? strlen(issuer) : 0;
	const char *p = issuers ? issuers : "";

	while (len > 0 && *p) {
		size_t n;
		p += strspn(p, " \t,");
		n = strcspn(p, " \t,");
		if (n == len && strncmp(p, issuer, n) == 0)
			return true;
		p += n;
	}
	report_errors_add(errs, "", "unknown_issuer",
			  "issuer \"%.64s\" is not listed in [riskwarning] issuers",
			  issuer ? issuer : "");
	return false;
}

ga_err riskwarning_flow_intake(struct store *s, const struct riskwarning *w, const struct geo *g,
			       const char *source, int64_t officer_id, const void *raw,
			       size_t rawlen, int64_t now_ms)
{
	json_t *product = riskwarning_product_json(w, g), *detail = NULL;
	char *text = NULL;
	ga_err e = GA_ERR_NOMEM;

	if (product == NULL || (text = json_dumps(product, JSON_COMPACT | JSON_SORT_KEYS)) == NULL)
		goto out;
	if (w->supersedes != NULL && w->supersedes[0] != '\0') {
		struct store_riskwarning old;
		e = store_riskwarning_get(s, w->supersedes, &old);
		store_riskwarning_clear(&old);
		if (e != GA_OK) /* GA_ERR_NOTFOUND: RISKWARNING_FLOW_UNKNOWN_SUPERSEDES */
			goto out;
	}
	e = store_riskwarning_put(s, w->product_id, source, raw, rawlen, text, w->valid_from_ms,
				  w->valid_to_ms, w->supersedes, now_ms, NULL);
	if (e != GA_OK)
		goto out;
	detail =
	    json_pack("{s:s, s:i, s:i, s:i, s:i, s:i}", "source", source, "counties", w->ncounties,
		      "red", w->nlevel[RISKWARNING_RED], "orange", w->nlevel[RISKWARNING_ORANGE],
		      "yellow", w->nlevel[RISKWARNING_YELLOW], "blue", w->nlevel[RISKWARNING_BLUE]);
	if (detail == NULL) {
		e = GA_ERR_NOMEM;
		goto out;
	}
	e = audit_record_json(s, officer_id, "riskwarning.received", w->product_id, detail);
out:
	json_decref(detail);
	free(text);
	json_decref(product);
	return e;
}

ga_err riskwarning_flow_intake_mqtt(struct store *s, const struct riskwarning *w,
				    const struct geo *g, const char *topic, const void *raw,
				    size_t rawlen, int64_t now_ms)
{
	const char *issuer = riskwarning_flow_topic_issuer(topic);
	char source[STORE_RISKWARNING_SOURCE_MAX];

	snprintf(source, sizeof(source), "mqtt:%.80s", issuer ? issuer : "");
	return riskwarning_flow_intake(s, w, g, source, 0, raw, rawlen, now_ms);
}

void riskwarning_flow_supersedes_error(const struct riskwarning *w, struct report_errors *errs)
{
	report_errors_add(errs, "/supersedes", "unknown",
			  "supersedes names no product received here (\"%.64s\")", w->supersedes);
}

static void riskwarning_flow_msg(char *msg, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void riskwarning_flow_msg(char *msg, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, len, fmt, ap);
	va_end(ap);
}

/* Commits when e is GA_OK, else rolls back; returns the outcome. */
static ga_err riskwarning_flow_finish(struct store *s, ga_err e, char *msg, size_t msglen)
{
	if (e != GA_OK) {
		store_rollback(s);
		return e;
	}
	if ((e = store_commit(s)) != GA_OK)
		riskwarning_flow_msg(msg, msglen, "无法保存（%s）", ga_strerror(e));
	return e;
}

/* Applies edits (an object of rain_summary/advice) to the product JSON
 * text of w; *changed the names edited. GA_ERR_INVAL with msg for a bad
 * edit. */
static ga_err riskwarning_flow_edit(struct store *s, const struct store_riskwarning *w,
				    const json_t *edits, json_t *changed, char *msg, size_t msglen)
{
	json_error_t jerr;
	json_t *product = NULL;
	const char *key;
	json_t *v;
	char *text = NULL;
	ga_err e = GA_ERR_INVAL;

	if (!json_is_object(edits)) {
		riskwarning_flow_msg(msg, msglen, "edits 须是对象");
		return GA_ERR_INVAL;
	}
	if (json_object_size(edits) == 0)
		return GA_OK;
	json_object_foreach((json_t *)edits, key, v)
	{
		if (strcmp(key, "rain_summary") != 0 && strcmp(key, "advice") != 0) {
			riskwarning_flow_msg(
			    msg, msglen, "只能修改 rain_summary 和 advice，不能修改 %.40s", key);
			return GA_ERR_INVAL;
		}
		if (!json_is_string(v) || !riskwarning_text_ok(json_string_value(v))) {
			riskwarning_flow_msg(msg, msglen,
					     "%s 须是 1 至 %d 个字的文字，不含双向控制字符", key,
					     RISKWARNING_TEXT_MAX);
			return GA_ERR_INVAL;
		}
	}
	product = json_loads(w->product, 0, &jerr);
	if (product == NULL) {
		riskwarning_flow_msg(msg, msglen, "保存的产品无法读取");
		return GA_ERR_DB;
	}
	e = GA_ERR_NOMEM;
	json_object_foreach((json_t *)edits, key, v)
	{
		const char *old = json_string_value(json_object_get(product, key));
		if (old != NULL && strcmp(old, json_string_value(v)) == 0)
			continue;
		if (json_object_set(product, key, v) != 0 ||
		    json_array_append_new(changed, json_string(key)) != 0)
			goto out;
	}
	if (json_array_size(changed) == 0) {
		e = GA_OK;
		goto out;
	}
	if ((text = json_dumps(product, JSON_COMPACT | JSON_SORT_KEYS)) == NULL)
		goto out;
	e = store_riskwarning_set_product(s, w->id, text);
out:
	free(text);
	json_decref(product);
	return e;
}

/* The product old_id, when published, is replaced by new_id (its
 * update, just published): it leaves the current ones as expired with
 * the reason "superseded by {new_id}" and an audit row. Anything else
 * (unknown, pending, ended) is left as it is. */
static ga_err riskwarning_flow_supersede(struct store *s, const char *old_id, const char *new_id,
					 int64_t now_ms)
{
	struct store_riskwarning old;
	char reason[REPORT_ID_MAX + 32];
	json_t *detail = NULL;
	ga_err e = store_riskwarning_get(s, old_id, &old);

	if (e == GA_ERR_NOTFOUND)
		return GA_OK;
	if (e != GA_OK)
		return e;
	if (strcmp(old.state, "published") != 0)
		goto out;
	snprintf(reason, sizeof(reason), "superseded by %s", new_id);
	if ((e = store_riskwarning_transition(s, old.id, "published", "expired", now_ms, reason)) !=
	    GA_OK)
		goto out;
	if ((detail = json_pack("{s:s}", "by", new_id)) == NULL) {
		e = GA_ERR_NOMEM;
		goto out;
	}
	e = audit_record_json(s, 0, "riskwarning.superseded", old_id, detail);
out:
	json_decref(detail);
	store_riskwarning_clear(&old);
	return e;
}

/* The delivery rows of version of w (riskwarning_deliver.h). */
static ga_err riskwarning_flow_enqueue(struct store *s, const struct config *deliver,
				       const struct store_riskwarning *w, const char *msg_type,
				       int version, int64_t now_ms)
{
	json_error_t jerr;
	json_t *product = json_loads(w->product ? w->product : "", 0, &jerr);
	ga_err e;

	if (product == NULL)
		return GA_ERR_DB;
	e = riskwarning_deliver_enqueue(s, deliver, w->product_id, product, version, msg_type,
					strcmp(msg_type, "update") == 0 ? w->supersedes : NULL,
					now_ms);
	json_decref(product);
	return e;
}

ga_err riskwarning_flow_confirm(struct store *s, const struct riskwarning_flow_cfg *cfg,
				const struct officer *o, const char *product_id,
				const json_t *edits, int64_t now_ms, bool *published, char *msg,
				size_t msglen)
{
	struct store_riskwarning w;
	json_t *changed = json_array(), *detail = NULL;
	int count = 0;
	ga_err e;

	*published = false;
	msg[0] = '\0';
	memset(&w, 0, sizeof(w));
	if (changed == NULL)
		return GA_ERR_NOMEM;
	if ((e = store_begin(s)) != GA_OK) {
		riskwarning_flow_msg(msg, msglen, "无法保存（%s）", ga_strerror(e));
		json_decref(changed);
		return e;
	}
	if ((e = store_riskwarning_get(s, product_id, &w)) != GA_OK) {
		if (e == GA_ERR_NOTFOUND)
			riskwarning_flow_msg(msg, msglen, "没有这个风险预警产品");
		goto out;
	}
	if (strcmp(w.state, "pending") != 0) {
		riskwarning_flow_msg(msg, msglen, "该产品状态为 %s，不能确认", w.state);
		e = GA_ERR_CONFLICT;
		goto out;
	}
	if (now_ms >= w.valid_to_ms) {
		riskwarning_flow_msg(msg, msglen, "该产品已过有效期，不能确认");
		e = GA_ERR_CONFLICT;
		goto out;
	}
	if (edits != NULL &&
	    (e = riskwarning_flow_edit(s, &w, edits, changed, msg, msglen)) != GA_OK)
		goto out;
	e = store_riskwarning_confirm(s, w.id, o->id, now_ms, &count);
	if (e == GA_ERR_DUPLICATE) {
		riskwarning_flow_msg(msg, msglen, "您已确认过该产品，须由另一名人员确认");
		e = GA_ERR_CONFLICT;
		goto out;
	}
	if (e != GA_OK)
		goto out;
	detail = json_pack("{s:i, s:i, s:O}", "confirmations", count, "signoff", cfg->signoff,
			   "edited", changed);
	if (detail == NULL) {
		e = GA_ERR_NOMEM;
		goto out;
	}
	if ((e = audit_record_json(s, o->id, "riskwarning.confirm", product_id, detail)) != GA_OK)
		goto out;
	if (count >= cfg->signoff) {
		e = store_riskwarning_transition(s, w.id, "pending", "published", now_ms, NULL);
		if (e == GA_OK)
			e = audit_record_json(s, o->id, "riskwarning.publish", product_id, NULL);
		if (e == GA_OK && w.supersedes[0] != '\0')
			e = riskwarning_flow_supersede(s, w.supersedes, product_id, now_ms);
		if (e == GA_OK && cfg->deliver != NULL)
			e = riskwarning_flow_enqueue(s, cfg->deliver, &w,
						     w.supersedes[0] ? "update" : "alert",
						     w.version, now_ms);
		if (e == GA_OK)
			*published = true;
	}
out:
	e = riskwarning_flow_finish(s, e, msg, msglen);
	if (e != GA_OK)
		*published = false;
	json_decref(detail);
	json_decref(changed);
	store_riskwarning_clear(&w);
	return e;
}

ga_err riskwarning_flow_end(struct store *s, const struct officer *o, const char *product_id,
			    bool cancel, const char *reason, int64_t now_ms, char *msg,
			    size_t msglen)
{
	return riskwarning_flow_end_cfg(s, NULL, o, product_id, cancel, reason, now_ms, msg,
					msglen);
}

ga_err riskwarning_flow_end_cfg(struct store *s, const struct riskwarning_flow_cfg *cfg,
				const struct officer *o, const char *product_id, bool cancel,
				const char *reason, int64_t now_ms, char *msg, size_t msglen)
{
	int version = 0;
	const char *from = cancel ? "published" : "pending",
		   *to = cancel ? "cancelled" : "rejected";
	struct store_riskwarning w;
	json_t *detail = NULL;
	size_t chars = 0;
	ga_err e;

	msg[0] = '\0';
	for (const char *p = reason ? reason : ""; *p; p++)
		if (((unsigned char)*p & 0xC0) != 0x80)
			chars++;
	if (chars == 0 || chars > RISKWARNING_REASON_MAX || text_has_bidi(reason)) {
		riskwarning_flow_msg(msg, msglen, "请填写原因（1 至 %d 个字）",
				     RISKWARNING_REASON_MAX);
		return GA_ERR_INVAL;
	}
	memset(&w, 0, sizeof(w));
	if ((e = store_begin(s)) != GA_OK) {
		riskwarning_flow_msg(msg, msglen, "无法保存（%s）", ga_strerror(e));
		return e;
	}
	if ((e = store_riskwarning_get(s, product_id, &w)) != GA_OK) {
		if (e == GA_ERR_NOTFOUND)
			riskwarning_flow_msg(msg, msglen, "没有这个风险预警产品");
		goto out;
	}
	e = store_riskwarning_transition(s, w.id, from, to, now_ms, reason);
	if (e == GA_ERR_CONFLICT) {
		riskwarning_flow_msg(msg, msglen, "该产品状态为 %s，不能%s", w.state,
				     cancel ? "解除" : "退回");
		goto out;
	}
	if (e != GA_OK)
		goto out;
	/* A cancel is the product's next version: its own CAP identifier
	 * and Idempotency-Key (store_rwversion.h). */
	if (cancel && (e = store_rwversion_bump(s, w.id, &version)) != GA_OK)
		goto out;
	if (cancel && cfg != NULL && cfg->deliver != NULL &&
	    (e = riskwarning_flow_enqueue(s, cfg->deliver, &w, "cancel", version, now_ms)) != GA_OK)
		goto out;
	if ((detail = cancel ? json_pack("{s:s, s:i}", "reason", reason, "version", version)
			     : json_pack("{s:s}", "reason", reason)) == NULL) {
		e = GA_ERR_NOMEM;
		goto out;
	}
	e = audit_record_json(s, o->id, cancel ? "riskwarning.cancel" : "riskwarning.reject",
			      product_id, detail);
out:
	e = riskwarning_flow_finish(s, e, msg, msglen);
	json_decref(detail);
	store_riskwarning_clear(&w);
	return e;
}

struct riskwarning_flow_due {
	int64_t id[RISKWARNING_EXPIRE_BATCH];
	char product_id[RISKWARNING_EXPIRE_BATCH][REPORT_ID_MAX + 1];
	char state[RISKWARNING_EXPIRE_BATCH][STORE_RISKWARNING_STATE_MAX];
	int n;
};

static void riskwarning_flow_due_cb(int64_t id, const char *product_id, const char *state,
				    void *arg)
{
	struct riskwarning_flow_due *d = arg;

	if (d->n >= RISKWARNING_EXPIRE_BATCH)
		return;
	d->id[d->n] = id;
	snprintf(d->product_id[d->n], sizeof(d->product_id[0]), "%s", product_id ? product_id : "");
	snprintf(d->state[d->n], sizeof(d->state[0]), "%s", state ? state : "");
	d->n++;
}

ga_err riskwarning_flow_expire_due(struct store *s, int64_t now_ms, int *n)
{
	struct riskwarning_flow_due *d = calloc(1, sizeof(*d));
	ga_err e;

	if (n != NULL)
		*n = 0;
	if (d == NULL)
		return GA_ERR_NOMEM;
	/* Looked at outside a transaction first: nearly every second there
	 * is nothing due, and an empty check should not take the write lock. */
	e = store_riskwarning_due(s, now_ms, RISKWARNING_EXPIRE_BATCH, riskwarning_flow_due_cb, d);
	if (e != GA_OK || d->n == 0)
		goto out;
	if ((e = store_begin(s)) != GA_OK)
		goto out;
	for (int i = 0; i < d->n && e == GA_OK; i++) {
		json_t *detail = json_pack("{s:s}", "was", d->state[i]);
		e = store_riskwarning_transition(s, d->id[i], d->state[i], "expired", now_ms,
						 "valid_to");
		if (e == GA_ERR_CONFLICT) { /* an officer acted meanwhile */
			e = GA_OK;
			json_decref(detail);
			continue;
		}
		if (e == GA_OK)
			e = detail ? audit_record_json(s, 0, "riskwarning.expire", d->product_id[i],
						       detail)
				   : GA_ERR_NOMEM;
		json_decref(detail);
		if (e == GA_OK && n != NULL)
			(*n)++;
	}
	if (e == GA_OK)
		e = store_commit(s);
	else
		store_rollback(s);
	if (e != GA_OK && n != NULL)
		*n = 0;
out:
	free(d);
	return e;
}

static json_t *riskwarning_flow_time(int64_t ms, int off)
{
	char buf[TIME_TEXT_MAX];

	if (ms == 0)
		return json_null();
	time_format_rfc3339(ms, off, buf, sizeof(buf));
	return json_string(buf);
}

struct riskwarning_flow_confirmers {
	struct store *s;
	json_t *arr;
	int off;
	bool nomem;
};

static void riskwarning_flow_confirmer(int64_t officer_id, int64_t at_ms, void *arg)
{
	struct riskwarning_flow_confirmers *c = arg;
	struct officer o;
	json_t *e;

	memset(&o, 0, sizeof(o));
	if (store_officer_get(c->s, officer_id, &o) != GA_OK)
		o.name[0] = '\0';
	e = json_pack("{s:I, s:s, s:o}", "officer_id", (json_int_t)officer_id, "name", o.name, "at",
		      riskwarning_flow_time(at_ms, c->off));
	if (e == NULL || json_array_append_new(c->arr, e) != 0)
		c->nomem = true;
}

json_t *riskwarning_flow_json(struct store *s, const struct riskwarning_flow_cfg *cfg,
			      const struct store_riskwarning *w, bool full)
{
	int off = cfg->utc_offset_min;
	json_t *o = json_pack(
	    "{s:s, s:i, s:s, s:o, s:o, s:i, s:i, s:o, s:o, s:o, s:s, s:s, s:s*}", "product_id",
	    w->product_id, "version", w->version, "state", w->state, "valid_from",
	    riskwarning_flow_time(w->valid_from_ms, off), "valid_to",
	    riskwarning_flow_time(w->valid_to_ms, off), "confirmations", w->confirmations,
	    "signoff", cfg->signoff, "received_at", riskwarning_flow_time(w->received_ms, off),
	    "published_at", riskwarning_flow_time(w->published_ms, off), "ended_at",
	    riskwarning_flow_time(w->ended_ms, off), "reason", w->reason, "source", w->source,
	    "supersedes", w->supersedes[0] ? w->supersedes : NULL);
	json_error_t jerr;

	if (o == NULL || !full)
		return o;
	json_t *product = json_loads(w->product, 0, &jerr);
	struct riskwarning_flow_confirmers c = {.s = s, .arr = json_array(), .off = off};
	if (product == NULL || c.arr == NULL ||
	    store_riskwarning_confirmations(s, w->id, riskwarning_flow_confirmer, &c) != GA_OK ||
	    c.nomem || json_object_set(o, "product", product) != 0 ||
	    json_object_set(o, "confirmed_by", c.arr) != 0) {
		json_decref(o);
		o = NULL;
	}
	json_decref(product);
	json_decref(c.arr);
	return o;
}

struct riskwarning_flow_tl {
	struct store *s;
	const struct riskwarning_flow_cfg *cfg;
	int64_t since_ms;
	json_t *list;
	bool failed;
};

static bool riskwarning_flow_tl_cb(const struct store_riskwarning *w, void *arg)
{
	struct riskwarning_flow_tl *t = arg;
	json_t *full, *o, *by, *c;
	json_error_t jerr;
	json_t *product;
	size_t i;

	if (w->received_ms < t->since_ms)
		return true;
	full = riskwarning_flow_json(t->s, t->cfg, w, true);
	product = json_loads(w->product, 0, &jerr);
	by = json_array();
	if (full == NULL || product == NULL || by == NULL)
		goto fail;
	json_array_foreach(json_object_get(full, "confirmed_by"), i, c)
	{
		if (json_array_append_new(by, json_pack("{s:O, s:O}", "name",
							json_object_get(c, "name"), "at",
							json_object_get(c, "at"))) != 0)
			goto fail;
	}
	o = json_pack(
	    "{s:s, s:s, s:O, s:O, s:O, s:O, s:O, s:o, s:o}", "product_id", w->product_id, "state",
	    w->state, "issued_at", json_object_get(product, "issued_at"), "received_at",
	    json_object_get(full, "received_at"), "confirmed_by", by, "published_at",
	    json_object_get(full, "published_at"), "valid_from",
	    json_object_get(full, "valid_from"), "published_before_valid_from",
	    w->published_ms ? json_boolean(w->published_ms < w->valid_from_ms) : json_null(),
	    "delivered_at",
	    riskwarning_deliver_delivered_at(t->s, w->product_id, t->cfg->utc_offset_min));
	/* newest first from the store: prepend for oldest first */
	if (o == NULL || json_array_insert_new(t->list, 0, o) != 0)
		goto fail;
	json_decref(by);
	json_decref(product);
	json_decref(full);
	return true;
fail:
	json_decref(by);
	json_decref(product);
	json_decref(full);
	t->failed = true;
	return false;
}

json_t *riskwarning_flow_timeliness(struct store *s, const struct riskwarning_flow_cfg *cfg,
				    int64_t since_ms)
{
	struct riskwarning_flow_tl t = {s, cfg, since_ms, json_array(), false};

	if (t.list == NULL)
		return NULL;
	if (store_riskwarning_list(s, NULL, 0, riskwarning_flow_tl_cb, &t) != GA_OK || t.failed) {
		json_decref(t.list);
		return NULL;
	}
	return t.list;
}
