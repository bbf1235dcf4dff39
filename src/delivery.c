/* delivery.c - the delivery ledger's verbs outside the worker: rows
 * written when a version is published, the list officers see and the
 * re-send of a failed row. The worker is delivery_worker.c. */
#include "delivery.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "channel.h"
#include "log.h"
#include "timeutil.h"

ga_err delivery_check_config(const struct config *cfg, char *err, size_t errlen)
{
	return channel_check_all(cfg, err, errlen);
}

static const struct config_channel *delivery_channel_cfg(const struct config *cfg, const char *name)
{
	for (int i = 0; i < cfg->nchannels; i++)
		if (strcmp(cfg->channels[i].name, name) == 0)
			return &cfg->channels[i];
	return NULL;
}

/* When a delivery made at now_ms gives up: now_ms + the channel's
 * deadline, DELIVERY_NEVER for none; the default when its keys are wrong
 * (they were checked at start, so only a test's config gets here). */
static int64_t delivery_deadline_at(const struct config *cfg, const struct config_channel *ch,
				    int64_t now_ms)
{
	struct channel_limits lim;
	char err[256];

	if (channel_limits_of(cfg, ch, &lim, err, sizeof(err)) != GA_OK)
		return now_ms + 3600 * 1000;
	return lim.deadline_ms == 0 ? DELIVERY_NEVER : now_ms + lim.deadline_ms;
}

struct delivery_targets {
	const struct config *cfg;
	bool chosen[CONFIG_MAX_CHANNELS];
};

/* An earlier version went to channel: so does this one, if the section
 * is still there. */
static bool delivery_reached_cb(const char *channel, void *arg)
{
	struct delivery_targets *t = arg;

	for (int i = 0; i < t->cfg->nchannels; i++)
		if (strcmp(t->cfg->channels[i].name, channel) == 0)
			t->chosen[i] = true;
	return true;
}

ga_err delivery_targets(struct store *s, const struct config *cfg, const char *alert_id,
			int version, const char *msg_type, bool chosen[CONFIG_MAX_CHANNELS])
{
	struct delivery_targets t;
	ga_err e;

	if (s == NULL || cfg == NULL || alert_id == NULL || msg_type == NULL || version <= 0)
		return GA_ERR_INVAL;
	memset(&t, 0, sizeof(t));
	t.cfg = cfg;
	for (int i = 0; i < cfg->nchannels; i++)
		t.chosen[i] = cfg->channels[i].enabled &&
			      (!cfg->alerts.exercise || cfg->channels[i].exercise);
	if (strcmp(msg_type, "alert") != 0 &&
	    (e = store_delivery_channels(s, alert_id, version, delivery_reached_cb, &t)) != GA_OK)
		return e;
	memcpy(chosen, t.chosen, sizeof(t.chosen));
	return GA_OK;
}

ga_err delivery_enqueue(struct store *s, const struct config *cfg, const char *alert_id,
			int version, const char *msg_type, int64_t now_ms)
{
	bool chosen[CONFIG_MAX_CHANNELS];
	struct store_delivery d;
	ga_err e;

	if ((e = delivery_targets(s, cfg, alert_id, version, msg_type, chosen)) != GA_OK)
		return e;
	for (int i = 0; i < cfg->nchannels; i++) {
		if (!chosen[i])
			continue;
		memset(&d, 0, sizeof(d));
		snprintf(d.alert_id, sizeof(d.alert_id), "%s", alert_id);
		d.version = version;
		snprintf(d.msg_type, sizeof(d.msg_type), "%s", msg_type);
		snprintf(d.channel, sizeof(d.channel), "%s", cfg->channels[i].name);
		snprintf(d.idem_key, sizeof(d.idem_key), "%s:%d", alert_id, version);
		d.next_attempt_ms = now_ms;
		d.created_ms = now_ms;
		d.deadline_ms = delivery_deadline_at(cfg, &cfg->channels[i], now_ms);
		e = store_delivery_insert(s, &d);
		if (e != GA_OK && e != GA_ERR_DUPLICATE)
			return e;
	}
	return GA_OK;
}

/* --- the list ------------------------------------------------------ */

struct delivery_walk {
	const struct config *cfg;
	json_t *arr;
	ga_err e;
};

static json_t *delivery_time(int64_t ms, int offset_min)
{
	char buf[TIME_TEXT_MAX];

	if (ms <= 0 || ms == DELIVERY_NEVER)
		return json_null();
	time_format_rfc3339(ms, offset_min, buf, sizeof(buf));
	return json_string(buf);
}

static bool delivery_list_cb(const struct store_delivery *d, void *arg)
{
	struct delivery_walk *w = arg;
	const struct config_channel *ch = delivery_channel_cfg(w->cfg, d->channel);
	int off = w->cfg->alerts.utc_offset_min;
	bool open = strcmp(d->state, "pending") == 0 || strcmp(d->state, "sending") == 0;
	json_t *o = json_pack(
	    "{s:s, s:o, s:i, s:s, s:s, s:i, s:s, s:s, s:o, s:o, s:o, s:o}", "channel", d->channel,
	    "type", ch ? json_string(ch->type) : json_null(), "version", d->version, "msg_type",
	    d->msg_type, "state", d->state, "attempts", d->attempts, "last_error", d->last_error,
	    "idempotency_key", d->idem_key, "created_at", delivery_time(d->created_ms, off),
	    "next_attempt_at", open ? delivery_time(d->next_attempt_ms, off) : json_null(),
	    "deadline_at", delivery_time(d->deadline_ms, off), "delivered_at",
	    delivery_time(d->delivered_ms, off));

	if (o == NULL || json_array_append_new(w->arr, o) != 0) {
		w->e = GA_ERR_NOMEM;
		return false;
	}
	return true;
}

ga_err delivery_list(struct store *s, const struct config *cfg, const char *alert_id, json_t **out)
{
	struct delivery_walk w = {cfg, json_array(), GA_OK};
	struct store_draft *d = malloc(sizeof(*d));
	ga_err e = GA_ERR_NOMEM;

	if (d == NULL || w.arr == NULL)
		goto out;
	if ((e = store_draft_latest(s, alert_id, d)) != GA_OK)
		goto out;
	if ((e = store_delivery_each(s, alert_id, delivery_list_cb, &w)) != GA_OK ||
	    (e = w.e) != GA_OK)
		goto out;
	e = (*out = json_pack("{s:s, s:O}", "alert_id", alert_id, "deliveries", w.arr)) != NULL
		? GA_OK
		: GA_ERR_NOMEM;
out:
	json_decref(w.arr);
	free(d);
	return e;
}

ga_err delivery_list_rows(struct store *s, const struct config *cfg, const char *subject,
			  json_t **out)
{
	struct delivery_walk w = {cfg, json_array(), GA_OK};
	ga_err e;

	if (w.arr == NULL)
		return GA_ERR_NOMEM;
	if ((e = store_delivery_each(s, subject, delivery_list_cb, &w)) != GA_OK ||
	    (e = w.e) != GA_OK) {
		json_decref(w.arr);
		return e;
	}
	*out = w.arr;
	return GA_OK;
}

/* --- re-send ------------------------------------------------------- */

ga_err delivery_resend(struct store *s, const struct config *cfg, int64_t officer_id,
		       const char *alert_id, const char *channel, int64_t now_ms, int *version,
		       char *msg, size_t msglen)
{
	return delivery_resend_subject(s, cfg, officer_id, alert_id, channel, INT_MAX,
				       "delivery.resend", alert_id, now_ms, version, msg, msglen);
}

ga_err delivery_resend_subject(struct store *s, const struct config *cfg, int64_t officer_id,
			       const char *subject, const char *channel, int below_version,
			       const char *audit_action, const char *audit_subject, int64_t now_ms,
			       int *version, char *msg, size_t msglen)
{
	const struct config_channel *ch = delivery_channel_cfg(cfg, channel);
	struct store_delivery d;
	char *detail;
	json_t *jd;
	ga_err e;

	if ((e = store_begin(s)) != GA_OK)
		return e;
	e = store_delivery_latest(s, subject, channel, below_version, &d);
	if (e == GA_ERR_NOTFOUND) {
		snprintf(msg, msglen, "预警 %s 没有发往渠道 %s 的记录", audit_subject, channel);
		goto out;
	}
	if (e != GA_OK)
		goto out;
	if (strcmp(d.state, "failed") != 0) {
		snprintf(msg, msglen, "第%d版发往 %s 的状态是%s，不是发送失败，无需重发", d.version,
			 channel,
			 strcmp(d.state, "delivered") == 0 ? "已送达"
			 : strcmp(d.state, "sending") == 0 ? "发送中"
							   : "待发送");
		e = GA_ERR_CONFLICT;
		goto out;
	}
	if (ch == NULL) {
		snprintf(msg, msglen, "渠道 %s 已不在配置中", channel);
		e = GA_ERR_CONFLICT;
		goto out;
	}
	if ((e = store_delivery_resend(s, d.id, now_ms, delivery_deadline_at(cfg, ch, now_ms))) !=
	    GA_OK)
		goto out;
	jd = json_pack("{s:s, s:i, s:i}", "channel", channel, "version", d.version, "attempts",
		       d.attempts);
	detail = jd ? json_dumps(jd, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(jd);
	e = detail ? store_audit_append(s, now_ms, officer_id, audit_action, audit_subject, detail,
					NULL)
		   : GA_ERR_NOMEM;
	free(detail);
out:
	if (e != GA_OK) {
		store_rollback(s);
		return e;
	}
	if ((e = store_commit(s)) != GA_OK) {
		snprintf(msg, msglen, "无法保存（%s）", ga_strerror(e));
		return e;
	}
	if (version != NULL)
		*version = d.version;
	log_info("delivery: %s version %d to %s: re-sent by officer %lld", subject, d.version,
		 channel, (long long)officer_id);
	return GA_OK;
}
