/* riskwarning_flow.h - what happens to a risk warning product once it is
 * valid (spec §11): stored as pending, confirmed by [riskwarning] signoff
 * different officers (then published), or rejected; cancelled once
 * published. Every step writes an audit row in its own transaction.
 *
 * Publication is the state change, its audit row and, when the config
 * says where, the delivery ledger's rows (riskwarning_deliver.h) in the
 * same transaction; the caller wakes the worker after the commit. */
#ifndef GA_RISKWARNING_FLOW_H
#define GA_RISKWARNING_FLOW_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "error.h"
#include "officer.h"
#include "riskwarning.h"
#include "store.h"
#include "store_riskwarning.h"

#define RISKWARNING_TOPIC_PREFIX "geohazard/v1/riskwarnings/"
#define RISKWARNING_SIGNOFF_MAX 8  /* [riskwarning] signoff at most */
#define RISKWARNING_REASON_MAX 500 /* characters of a reject/cancel reason */

struct riskwarning_flow_cfg {
	int signoff;		      /* officers who must confirm, 1..RISKWARNING_SIGNOFF_MAX */
	int utc_offset_min;	      /* times in API answers */
	const struct config *deliver; /* channels to deliver to; NULL: none (tests, reports) */
};

/* The issuer of a topic geohazard/v1/riskwarnings/{issuer_id}, or NULL
 * when topic is not a risk warning topic. Borrowed from topic. */
const char *riskwarning_flow_topic_issuer(const char *topic);

/* Whether issuer is one of issuers (space-separated ids, [riskwarning]
 * issuers); when not, an "unknown_issuer" error at "" goes to errs. */
bool riskwarning_flow_issuer_check(const char *issuers, const char *issuer,
				   struct report_errors *errs);

/* Stores a valid product as pending with an audit row
 * (riskwarning.received; officer_id 0 for MQTT), inside the caller's
 * transaction. GA_ERR_DUPLICATE when its product_id is stored already,
 * RISKWARNING_FLOW_UNKNOWN_SUPERSEDES when its supersedes names no
 * stored product (nothing written; the caller rejects it with
 * riskwarning_flow_supersedes_error). */
#define RISKWARNING_FLOW_UNKNOWN_SUPERSEDES GA_ERR_NOTFOUND
/* The rejection of a product whose supersedes names no stored product:
 * "unknown" at /supersedes. */
void riskwarning_flow_supersedes_error(const struct riskwarning *w, struct report_errors *errs);
ga_err riskwarning_flow_intake(struct store *s, const struct riskwarning *w, const struct geo *g,
			       const char *source, int64_t officer_id, const void *raw,
			       size_t rawlen, int64_t now_ms);

/* riskwarning_flow_intake of a product that came on topic (source
 * "mqtt:{issuer_id}"), for the writer thread. */
ga_err riskwarning_flow_intake_mqtt(struct store *s, const struct riskwarning *w,
				    const struct geo *g, const char *topic, const void *raw,
				    size_t rawlen, int64_t now_ms);

/* officer o confirms product_id, first applying edits (NULL, or an
 * object of rain_summary and/or advice texts). *published: this
 * confirmation was the last one needed. Errors with msg (Chinese):
 * GA_ERR_NOTFOUND; GA_ERR_CONFLICT (not pending, past its valid_to, or o
 * confirmed it already); GA_ERR_INVAL (a bad edit). */
ga_err riskwarning_flow_confirm(struct store *s, const struct riskwarning_flow_cfg *cfg,
				const struct officer *o, const char *product_id,
				const json_t *edits, int64_t now_ms, bool *published, char *msg,
				size_t msglen);

/* Rejects a pending product, or cancels a published one (cancel true),
 * with reason (1..RISKWARNING_REASON_MAX characters). A cancel is the
 * product's next version (store_rwversion.h). Errors as confirm. */
ga_err riskwarning_flow_end(struct store *s, const struct officer *o, const char *product_id,
			    bool cancel, const char *reason, int64_t now_ms, char *msg,
			    size_t msglen);
/* riskwarning_flow_end that also writes the cancel's delivery rows when
 * cfg->deliver is set (cfg may be NULL). */
ga_err riskwarning_flow_end_cfg(struct store *s, const struct riskwarning_flow_cfg *cfg,
				const struct officer *o, const char *product_id, bool cancel,
				const char *reason, int64_t now_ms, char *msg, size_t msglen);

/* Every product pending or published whose valid_to is at or before
 * now_ms becomes expired (reason "valid_to"), with an audit row
 * riskwarning.expire (the service), in one transaction; at most
 * RISKWARNING_EXPIRE_BATCH per call. Run once a second by the writer: a
 * product due while the service was down expires at the first run after
 * the start. *n (may be NULL) how many expired. */
#define RISKWARNING_EXPIRE_BATCH 100
ga_err riskwarning_flow_expire_due(struct store *s, int64_t now_ms, int *n);

/* For `geoalert report timeliness` (issue 14): every product received
 * since since_ms, oldest first: {product_id, state, issued_at,
 * received_at, confirmed_by [{name, at}], published_at, valid_from,
 * published_before_valid_from (null when not published), delivered_at
 * ({channel: time} of its first published version,
 * riskwarning_deliver_delivered_at)}. New reference; NULL on
 * a store error or out of memory. */
json_t *riskwarning_flow_timeliness(struct store *s, const struct riskwarning_flow_cfg *cfg,
				    int64_t since_ms);

/* The API's view of a row: product_id, version, state, valid_from,
 * valid_to, confirmations (officer ids with times when s is given, else
 * a count), received_at, published_at, ended_at, reason, source; with
 * full also "product". New reference; NULL when out of memory. */
json_t *riskwarning_flow_json(struct store *s, const struct riskwarning_flow_cfg *cfg,
			      const struct store_riskwarning *w, bool full);

#endif
