/* riskwarning_deliver.h - a published risk warning (spec §11) through
 * the delivery ledger and worker of the alerts (delivery.h): one ledger
 * row per version and channel, written in the transaction that publishes
 * or cancels the product, sent by the same worker with the same retries,
 * rate limits and crash recovery.
 *
 * A product's rows are those of the subject "rw:{product_id}" (an alert
 * id never starts so), with the idempotency key "{product_id}:{version}"
 * (spec §11). What each channel gets (docs/riskwarnings.md, "Delivery"):
 *   - portal: the public JSON (geohazard.riskwarning.public/1, as
 *     /warnings/{id}.json serves it, signed), counties at a public level
 *     only;
 *   - the text types: a message shaped like the alert JSON their
 *     templates read (headline, situation = period and rain summary,
 *     response = advice, level_zh, sender, sent) with the flag
 *     "riskwarning" and "levels", the counties by level; blue (四级)
 *     counties only for a channel with internal = true;
 *   - sms: the same message; the channel sends each recipient file's
 *     numbers a text naming that file's counties at their levels
 *     (channel_sms.c), only for counties at a public level;
 *   - mqtt: the portal's JSON, retained on
 *     geohazard/v1/warnings/{product_id} (channel_mqtt.c), and at
 *     valid_to a zero-length retained message clearing it
 *     (RISKWARNING_DELIVER_CLEAR_VERSION).
 * A product with no county at a public level goes to internal channels
 * only. */
#ifndef GA_RISKWARNING_DELIVER_H
#define GA_RISKWARNING_DELIVER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "error.h"
#include "store.h"

#define RISKWARNING_DELIVER_PREFIX "rw:"
#define RISKWARNING_DELIVER_SCHEMA "geohazard.riskwarning.message/1"
#define RISKWARNING_DELIVER_NAMES_MAX 2048 /* bytes of one fitted list of county names */
/* The ledger version of the row that clears a product's retained MQTT
 * message at its valid_to (msg_type "cancel", the ledger's CHECK has no
 * other word for it): past every real version (a product has at most
 * two, published and cancelled), so it goes out after them (versions go
 * out in order, store_delivery_due) and is never taken for one. */
#define RISKWARNING_DELIVER_CLEAR_VERSION 1000000

/* The product_id of a ledger subject (borrowed from it), or NULL when
 * subject is an alert's. */
const char *riskwarning_deliver_product(const char *subject);

/* Whether ch is an internal channel (internal = true: the officers' own
 * WeCom, DingTalk, Feishu groups or mailing lists), which also gets the
 * blue counties. */
bool riskwarning_deliver_internal(const struct config_channel *ch);

/* Inside the transaction that publishes version of product_id (msg_type
 * "alert", "update" when it supersedes another product, "cancel"): a
 * pending row per channel it goes to: every enabled channel (in drill
 * mode only those with exercise = true); when no county of product (the
 * stored JSON with "counties") is at a public level, only internal ones
 * (never mqtt). An mqtt channel also gets the row that clears the
 * retained message (RISKWARNING_DELIVER_CLEAR_VERSION, idempotency key
 * "{product_id}:clear"), due and counted as published at the product's
 * valid_to; an update or cancel finds it there. A cancel also goes wherever an earlier version of
 * the product went, an update wherever the product it supersedes went (as long as the section is
 * still in cfg). */
ga_err riskwarning_deliver_enqueue(struct store *s, const struct config *cfg,
				   const char *product_id, const json_t *product, int version,
				   const char *msg_type, const char *supersedes, int64_t now_ms);

/* What the worker sends to channel (a section name of cfg) for the row
 * (product_id, version, msg_type): see the top. New reference in *out;
 * GA_ERR_NOTFOUND when the product is gone; GA_ERR_CONFLICT when its
 * valid_to is at or before now_ms or it is expired (also superseded by
 * an update): a warning no longer in force is not sent late. The clear
 * row (RISKWARNING_DELIVER_CLEAR_VERSION, mqtt only) gets
 * {"product_id": ...}, whatever the product's state: channel_mqtt.c
 * publishes a zero-length retained message for it (the worker fails the row with
 * "expired"; docs/riskwarnings.md, "Delivery"). */
ga_err riskwarning_deliver_message(struct store *s, const struct config *cfg,
				   const char *product_id, int version, const char *msg_type,
				   const char *channel, int64_t now_ms, json_t **out);

/* The product's ledger rows as the alerts' delivery list has them
 * (delivery_list_rows). New reference in *out. */
ga_err riskwarning_deliver_list(struct store *s, const struct config *cfg, const char *product_id,
				json_t **out);

/* A failed delivery of product_id to channel (its latest version's
 * row) pending again with a new deadline, as delivery_resend does for an
 * alert: one transaction with the audit row "riskwarning.resend"
 * (subject the product_id, detail channel, version, attempts). The row
 * keeps its idempotency key. GA_ERR_NOTFOUND (no such product, or no row
 * to that channel: msg), GA_ERR_CONFLICT (not failed, or the product's
 * valid_to has passed or it was superseded: msg). *version
 * (may be NULL) is the row's version. The caller wakes the worker
 * (delivery_kick) after it returns GA_OK. */
ga_err riskwarning_deliver_resend(struct store *s, const struct config *cfg, int64_t officer_id,
				  const char *product_id, const char *channel, int64_t now_ms,
				  int *version, char *msg, size_t msglen);

/* {channel: delivered_at} of the product's first publication (its
 * lowest version that is not a cancel), times as RFC 3339 at
 * offset_min; {} when nothing was delivered. New reference; NULL on a
 * store error or out of memory. */
json_t *riskwarning_deliver_delivered_at(struct store *s, const char *product_id, int offset_min);

/* One county of a text: its name and level (enum riskwarning_level). */
struct riskwarning_deliver_county {
	const char *name;
	int level;
};

/* Names the n counties c (most severe first) at their levels in at most
 * max_chars characters (text_chars), for a text with a length limit (an
 * SMS parameter): "江宁区红色，浦口区、六合区橙色" when all fit; else
 * each level's first k names then "等N地" (its count), for the largest k
 * that fits ("江宁区等3地红色，浦口区等2地橙色"); else the most severe
 * levels that fit, each as "N地红色", ending in "…". Into out (outlen
 * bytes, at most RISKWARNING_DELIVER_NAMES_MAX are used); returns the
 * characters written. */
size_t riskwarning_deliver_names(const struct riskwarning_deliver_county *c, size_t n,
				 size_t max_chars, char *out, size_t outlen);

#endif
