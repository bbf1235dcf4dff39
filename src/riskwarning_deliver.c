/* riskwarning_deliver.c - risk warnings through the delivery ledger
 * (riskwarning_deliver.h). */
#include "riskwarning_deliver.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "channel.h"
#include "delivery.h"
#include "draft.h"
#include "riskwarning.h"
#include "riskwarning_page.h"
#include "store_riskwarning.h"
#include "text.h"
#include "timeutil.h"

#define RWD_SUBJECT_MAX STORE_DELIVERY_ID_MAX
#define RWD_TEXT_MAX 4096 /* bytes of the levels text and the headline (512 counties fit) */

static const char *const rwd_color[RISKWARNING_LEVEL_COUNT] = {"红色", "橙色", "黄色", "蓝色"};

const char *riskwarning_deliver_product(const char *subject)
{
	size_t n = strlen(RISKWARNING_DELIVER_PREFIX);

	if (subject == NULL || strncmp(subject, RISKWARNING_DELIVER_PREFIX, n) != 0)
		return NULL;
	return subject + n;
}

static bool rwd_subject(const char *product_id, char *out, size_t len)
{
	int n = snprintf(out, len, "%s%s", RISKWARNING_DELIVER_PREFIX, product_id);
	return n > 0 && (size_t)n < len;
}

bool riskwarning_deliver_internal(const struct config_channel *ch)
{
	const char *v = config_channel_get(ch, "internal");

	/* checked at start (channel.c): true, yes, 1 or their opposites */
	return v != NULL &&
	       (strcmp(v, "true") == 0 || strcmp(v, "yes") == 0 || strcmp(v, "1") == 0);
}

/* --- fitted county names -------------------------------------------- */

struct rwd_buf {
	char *p;
	size_t len, o;
	bool full;
};

static void rwd_put(struct rwd_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void rwd_put(struct rwd_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->full)
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->p + b->o, b->len - b->o, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= b->len - b->o) {
		b->full = true;
		b->p[b->o] = '\0';
		return;
	}
	b->o += (size_t)n;
}

/* The counties with at most k names a level (SIZE_MAX: all; 0: counts
 * only), the first levels levels; SIZE_MAX when it overflows out. */
static size_t rwd_render(const struct riskwarning_deliver_county *c, size_t n, size_t k,
			 size_t levels, char *out, size_t len)
{
	struct rwd_buf b = {out, len, 0, false};
	size_t shown = 0;

	out[0] = '\0';
	for (size_t i = 0; i < n;) {
		size_t j = i, cnt;
		int l = c[i].level;
		while (j < n && c[j].level == l)
			j++;
		cnt = j - i;
		if (shown == levels) {
			rwd_put(&b, "…");
			break;
		}
		if (shown > 0)
			rwd_put(&b, "，");
		if (k == 0) {
			rwd_put(&b, "%zu地", cnt);
		} else {
			for (size_t m = 0; m < cnt && m < k; m++)
				rwd_put(&b, "%s%s", m ? "、" : "",
					c[i + m].name ? c[i + m].name : "");
			if (cnt > k)
				rwd_put(&b, "等%zu地", cnt);
		}
		rwd_put(&b, "%s", (unsigned)l < RISKWARNING_LEVEL_COUNT ? rwd_color[l] : "");
		shown++;
		i = j;
	}
	return b.full ? SIZE_MAX : text_chars(out);
}

size_t riskwarning_deliver_names(const struct riskwarning_deliver_county *c, size_t n,
				 size_t max_chars, char *out, size_t outlen)
{
	size_t len =
	    outlen < RISKWARNING_DELIVER_NAMES_MAX ? outlen : RISKWARNING_DELIVER_NAMES_MAX;
	size_t most = 0, nlevels = 0, chars;

	if (out == NULL || outlen == 0)
		return 0;
	out[0] = '\0';
	if (n == 0 || max_chars == 0)
		return 0;
	for (size_t i = 0, run = 0; i < n; i++) {
		run = i > 0 && c[i].level == c[i - 1].level ? run + 1 : 1;
		if (run == 1)
			nlevels++;
		if (run > most)
			most = run;
	}
	for (size_t k = most; k >= 1; k--)
		if ((chars = rwd_render(c, n, k == most ? SIZE_MAX : k, SIZE_MAX, out, len)) <=
		    max_chars)
			return chars;
	for (size_t l = nlevels; l >= 1; l--)
		if ((chars = rwd_render(c, n, 0, l, out, len)) <= max_chars)
			return chars;
	/* Not even the most severe level's count fits: cut it, "…" last. */
	rwd_render(c, n, 0, 1, out, len);
	{
		size_t keep = 0, seen = 0;
		for (const char *p = out; *p; p++)
			if (((unsigned char)*p & 0xC0) != 0x80 && seen++ == max_chars - 1) {
				keep = (size_t)(p - out);
				break;
			}
		if (keep + sizeof("…") <= len) {
			memcpy(out + keep, "…", sizeof("…"));
		}
	}
	return text_chars(out);
}

/* --- the ledger rows ------------------------------------------------ */

struct rwd_targets {
	const struct config *cfg;
	bool chosen[CONFIG_MAX_CHANNELS];
};

static bool rwd_reached_cb(const char *channel, void *arg)
{
	struct rwd_targets *t = arg;

	for (int i = 0; i < t->cfg->nchannels; i++)
		if (strcmp(t->cfg->channels[i].name, channel) == 0)
			t->chosen[i] = true;
	return true;
}

/* Whether product has a county at a public level. */
static bool rwd_has_public(const struct config *cfg, const json_t *product)
{
	size_t i;
	json_t *v;

	json_array_foreach(json_object_get(product, "counties"), i, v)
	{
		int l = riskwarning_level_from_name(json_string_value(json_object_get(v, "level")));
		if (l >= 0 &&
		    riskwarning_level_public((enum riskwarning_level)l,
					     (enum riskwarning_level)cfg->riskwarning.publish_min))
			return true;
	}
	return false;
}

static int64_t rwd_deadline(const struct config *cfg, const struct config_channel *ch,
			    int64_t now_ms)
{
	struct channel_limits lim;
	char err[256];

	if (channel_limits_of(cfg, ch, &lim, err, sizeof(err)) != GA_OK)
		return now_ms + 3600 * 1000;
	return lim.deadline_ms == 0 ? DELIVERY_NEVER : now_ms + lim.deadline_ms;
}

static const char *rwd_str(const json_t *o, const char *key)
{
	const char *v = json_string_value(json_object_get(o, key));
	return v ? v : "";
}

/* The row that clears product_id's retained message on the mqtt
 * channel ch at the product's valid_to (riskwarning_deliver.h). Its
 * created_ms is that time too: /healthz counts a row unfinished from its
 * publication (store_stats_backlog), and this one is not due before. */
static ga_err rwd_enqueue_clear(struct store *s, const struct config *cfg,
				const struct config_channel *ch, const char *product_id,
				const json_t *product, const char *subject)
{
	struct store_delivery d;
	int64_t valid_to;
	int off;
	ga_err e;

	if (time_parse_rfc3339(rwd_str(product, "valid_to"), &valid_to, &off) != GA_OK)
		return GA_ERR_INVAL; /* validated at intake */
	memset(&d, 0, sizeof(d));
	snprintf(d.alert_id, sizeof(d.alert_id), "%s", subject);
	d.version = RISKWARNING_DELIVER_CLEAR_VERSION;
	snprintf(d.msg_type, sizeof(d.msg_type), "cancel");
	snprintf(d.channel, sizeof(d.channel), "%s", ch->name);
	snprintf(d.idem_key, sizeof(d.idem_key), "%s:clear", product_id);
	d.next_attempt_ms = valid_to;
	d.created_ms = valid_to;
	d.deadline_ms = rwd_deadline(cfg, ch, valid_to);
	e = store_delivery_insert(s, &d);
	return e == GA_ERR_DUPLICATE ? GA_OK : e; /* a cancel finds it there */
}

ga_err riskwarning_deliver_enqueue(struct store *s, const struct config *cfg,
				   const char *product_id, const json_t *product, int version,
				   const char *msg_type, const char *supersedes, int64_t now_ms)
{
	struct rwd_targets t;
	struct store_delivery d;
	char subject[RWD_SUBJECT_MAX], old[RWD_SUBJECT_MAX] = "";
	bool pub = rwd_has_public(cfg, product);
	ga_err e;

	if (s == NULL || cfg == NULL || product_id == NULL || msg_type == NULL || version <= 0 ||
	    !rwd_subject(product_id, subject, sizeof(subject)))
		return GA_ERR_INVAL;
	memset(&t, 0, sizeof(t));
	t.cfg = cfg;
	for (int i = 0; i < cfg->nchannels; i++)
		t.chosen[i] = cfg->channels[i].enabled &&
			      (!cfg->alerts.exercise || cfg->channels[i].exercise);
	/* a cancel follows the versions before it, an update the product it
	 * replaces, even to a channel disabled since */
	if (strcmp(msg_type, "cancel") == 0 &&
	    (e = store_delivery_channels(s, subject, version, rwd_reached_cb, &t)) != GA_OK)
		return e;
	bool has_old = supersedes != NULL && supersedes[0] != '\0' &&
		       rwd_subject(supersedes, old, sizeof(old));
	if (has_old && (e = store_delivery_channels(s, old, INT_MAX, rwd_reached_cb, &t)) != GA_OK)
		return e;
	/* An update: the product it replaces is no longer in force, so its
	 * retained message on the mqtt channels goes now, not at its own
	 * valid_to (a new subscriber would get both). */
	for (int i = 0; has_old && i < cfg->nchannels; i++)
		if (strcmp(cfg->channels[i].type, "mqtt") == 0 &&
		    (e = store_delivery_bring_forward(s, old, RISKWARNING_DELIVER_CLEAR_VERSION,
						      cfg->channels[i].name, now_ms, NULL)) !=
			GA_OK)
			return e;
	for (int i = 0; i < cfg->nchannels; i++) {
		const struct config_channel *ch = &cfg->channels[i];
		if (!t.chosen[i] || (!pub && !riskwarning_deliver_internal(ch)))
			continue;
		if (strcmp(ch->type, "mqtt") == 0 &&
		    (e = rwd_enqueue_clear(s, cfg, ch, product_id, product, subject)) != GA_OK)
			return e;
		memset(&d, 0, sizeof(d));
		snprintf(d.alert_id, sizeof(d.alert_id), "%s", subject);
		d.version = version;
		snprintf(d.msg_type, sizeof(d.msg_type), "%s", msg_type);
		snprintf(d.channel, sizeof(d.channel), "%s", ch->name);
		snprintf(d.idem_key, sizeof(d.idem_key), "%s:%d", product_id, version);
		d.next_attempt_ms = now_ms;
		d.created_ms = now_ms;
		d.deadline_ms = rwd_deadline(cfg, ch, now_ms);
		e = store_delivery_insert(s, &d);
		if (e != GA_OK && e != GA_ERR_DUPLICATE)
			return e;
	}
	return GA_OK;
}

/* --- what a channel gets -------------------------------------------- */

/* "7日20时"-style local time of an RFC 3339 text, or the text itself. */
static void rwd_time(const char *rfc, char *out, size_t len)
{
	int64_t ms;
	int off;

	if (time_parse_rfc3339(rfc, &ms, &off) == GA_OK)
		draft_format_time(ms, off, out, len);
	else
		snprintf(out, len, "%s", rfc);
}

/* The text channels' message made of pub (riskwarning_page_json). */
static json_t *rwd_text_message(const struct config *cfg, const json_t *pub, const char *msg_type)
{
	const json_t *levels = json_object_get(pub, "levels");
	json_t *counties = json_array(), *issuers = json_object_get(pub, "issuers"), *lv, *cv;
	char *text = malloc(RWD_TEXT_MAX), *head = malloc(RWD_TEXT_MAX), *sit = NULL;
	char from[64], to[64], sender[512] = "";
	struct rwd_buf lt = {text, RWD_TEXT_MAX, 0, false}, hd = {head, RWD_TEXT_MAX, 0, false};
	struct rwd_buf sb = {sender, sizeof(sender), 0, false};
	const char *top = "", *top_name = "";
	size_t i, k, total = 0;
	json_t *out = NULL;

	if (counties == NULL || text == NULL || head == NULL)
		goto done;
	text[0] = head[0] = '\0';
	json_array_foreach(issuers, i, cv)
	    rwd_put(&sb, "%s%s", i ? "、" : "", json_string_value(cv) ? json_string_value(cv) : "");
	rwd_put(&hd, "地质灾害气象风险预警");
	json_array_foreach(levels, i, lv)
	{
		int l = riskwarning_level_from_name(rwd_str(lv, "level"));
		const json_t *list = json_object_get(lv, "counties");
		if (l < 0)
			continue;
		if (total == 0) {
			top = rwd_str(lv, "level_zh");
			top_name = rwd_str(lv, "level");
		}
		rwd_put(&lt, "%s%s（%s）：", i ? "；" : "", rwd_str(lv, "level_zh"),
			rwd_str(lv, "meaning"));
		rwd_put(&hd, "%s%s%zu个", i ? "、" : "：", rwd_color[l], json_array_size(list));
		json_array_foreach(list, k, cv)
		{
			rwd_put(&lt, "%s%s", k ? "、" : "", rwd_str(cv, "name"));
			if (json_array_append_new(counties,
						  json_pack("{s:s, s:s, s:s}", "admin_code",
							    rwd_str(cv, "admin_code"), "name",
							    rwd_str(cv, "name"), "level",
							    rwd_str(lv, "level"))) != 0)
				goto done;
			total++;
		}
	}
	if (total > 0)
		rwd_put(&hd, "县（市、区）");
	if (lt.full || hd.full)
		goto done; /* cannot happen: 512 counties fit */
	rwd_time(rwd_str(pub, "valid_from"), from, sizeof(from));
	rwd_time(rwd_str(pub, "valid_to"), to, sizeof(to));
	size_t sl = strlen(rwd_str(pub, "rain_summary")) + 256;
	if ((sit = malloc(sl)) == NULL)
		goto done;
	snprintf(sit, sl, "预警时段：%s至%s。%s", from, to, rwd_str(pub, "rain_summary"));
	out = json_pack("{s:s, s:b, s:s, s:s, s:i, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s,"
			" s:s, s:s, s:s, s:{s:s, s:s}, s:O}",
			"schema", RISKWARNING_DELIVER_SCHEMA, "riskwarning", 1, "alert_id",
			rwd_str(pub, "product_id"), "product_id", rwd_str(pub, "product_id"),
			"version", (int)json_integer_value(json_object_get(pub, "version")),
			"msg_type", msg_type, "status",
			cfg->alerts.exercise ? "exercise" : "actual", "headline", head, "situation",
			sit, "response", rwd_str(pub, "advice"), "level_zh", top, "color", top_name,
			"levels", text, "sender", sender[0] ? sender : cfg->alerts.sender, "sent",
			rwd_str(pub, "published_at"), "valid_from", rwd_str(pub, "valid_from"),
			"valid_to", rwd_str(pub, "valid_to"), "area", "admin_name", text,
			"admin_code", "", "counties", counties);
done:
	free(sit);
	free(text);
	free(head);
	json_decref(counties);
	return out;
}

ga_err riskwarning_deliver_message(struct store *s, const struct config *cfg,
				   const char *product_id, int version, const char *msg_type,
				   const char *channel, int64_t now_ms, json_t **out)
{
	const struct config_channel *ch = NULL;
	struct store_riskwarning w;
	char published[TIME_TEXT_MAX];
	json_error_t jerr;
	json_t *product = NULL, *pub = NULL;
	bool cancel = strcmp(msg_type, "cancel") == 0;
	ga_err e;

	*out = NULL;
	for (int i = 0; i < cfg->nchannels; i++)
		if (strcmp(cfg->channels[i].name, channel) == 0)
			ch = &cfg->channels[i];
	if (ch == NULL)
		return GA_ERR_NOTFOUND;
	if (version == RISKWARNING_DELIVER_CLEAR_VERSION) {
		/* due at valid_to, or later after an outage: nothing to load */
		if (strcmp(ch->type, "mqtt") != 0)
			return GA_ERR_INVAL;
		*out = json_pack("{s:s}", "product_id", product_id);
		return *out ? GA_OK : GA_ERR_NOMEM;
	}
	if ((e = store_riskwarning_get(s, product_id, &w)) != GA_OK)
		return e;
	/* Over (its valid_to came, or an update superseded it: state
	 * expired): a warning no longer in force is not sent. */
	e = GA_ERR_CONFLICT;
	if (now_ms >= w.valid_to_ms || strcmp(w.state, "expired") == 0)
		goto out;
	e = GA_ERR_NOMEM;
	if ((product = json_loads(w.product, 0, &jerr)) == NULL)
		goto out;
	time_format_rfc3339(w.published_ms, cfg->alerts.utc_offset_min, published,
			    sizeof(published));
	/* The version's own state, whatever the product became since: what
	 * the portal gets for a version is the same on every attempt. */
	pub = riskwarning_page_json(product, version, cancel ? "cancelled" : "published", published,
				    riskwarning_deliver_internal(ch)
					? RISKWARNING_BLUE
					: (enum riskwarning_level)cfg->riskwarning.publish_min);
	if (pub == NULL)
		goto out;
	/* portal and mqtt (retained on geohazard/v1/warnings/{product_id},
	 * channel_mqtt.c) get the public JSON itself */
	if (strcmp(ch->type, "portal") == 0 || strcmp(ch->type, "mqtt") == 0) {
		*out = pub;
		pub = NULL;
	} else if ((*out = rwd_text_message(cfg, pub, msg_type)) == NULL) {
		goto out;
	}
	e = GA_OK;
out:
	json_decref(pub);
	json_decref(product);
	store_riskwarning_clear(&w);
	return e;
}

ga_err riskwarning_deliver_list(struct store *s, const struct config *cfg, const char *product_id,
				json_t **out)
{
	char subject[RWD_SUBJECT_MAX];

	if (!rwd_subject(product_id, subject, sizeof(subject)))
		return GA_ERR_INVAL;
	return delivery_list_rows(s, cfg, subject, out);
}

ga_err riskwarning_deliver_resend(struct store *s, const struct config *cfg, int64_t officer_id,
				  const char *product_id, const char *channel, int64_t now_ms,
				  int *version, char *msg, size_t msglen)
{
	char subject[RWD_SUBJECT_MAX];
	struct store_riskwarning row;
	ga_err e;

	if (!rwd_subject(product_id, subject, sizeof(subject)))
		return GA_ERR_INVAL;
	if ((e = store_riskwarning_get(s, product_id, &row)) != GA_OK) {
		if (e == GA_ERR_NOTFOUND)
			snprintf(msg, msglen, "没有风险预警产品 %s", product_id);
		return e;
	}
	if (now_ms >= row.valid_to_ms || strcmp(row.state, "expired") == 0) {
		snprintf(msg, msglen, "风险预警 %s 已过有效期或已被更新取代，不再发送", product_id);
		store_riskwarning_clear(&row);
		return GA_ERR_CONFLICT;
	}
	store_riskwarning_clear(&row);
	return delivery_resend_subject(s, cfg, officer_id, subject, channel,
				       RISKWARNING_DELIVER_CLEAR_VERSION, "riskwarning.resend",
				       product_id, now_ms, version, msg, msglen);
}

struct rwd_delivered {
	json_t *o;
	int first, offset_min;
	bool nomem;
};

static bool rwd_delivered_cb(const struct store_delivery *d, void *arg)
{
	struct rwd_delivered *r = arg;
	char at[TIME_TEXT_MAX];

	if (strcmp(d->msg_type, "cancel") == 0)
		return true;
	if (r->first == 0)
		r->first = d->version; /* rows come by version */
	if (d->version != r->first || d->delivered_ms <= 0)
		return true;
	time_format_rfc3339(d->delivered_ms, r->offset_min, at, sizeof(at));
	if (json_object_set_new(r->o, d->channel, json_string(at)) != 0)
		r->nomem = true;
	return !r->nomem;
}

json_t *riskwarning_deliver_delivered_at(struct store *s, const char *product_id, int offset_min)
{
	struct rwd_delivered r = {json_object(), 0, offset_min, false};
	char subject[RWD_SUBJECT_MAX];

	if (r.o == NULL || !rwd_subject(product_id, subject, sizeof(subject)) ||
	    store_delivery_each(s, subject, rwd_delivered_cb, &r) != GA_OK || r.nomem) {
		json_decref(r.o);
		return NULL;
	}
	return r.o;
}
