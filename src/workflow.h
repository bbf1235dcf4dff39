/* workflow.h - drafts and their lifecycle (spec §6, §8; issue 4): when an
 * incident reaches the publish level a draft alert is made; an officer
 * confirms (possibly after editing), rejects or, once published, cancels.
 * The state machine lives here and only here.
 *
 * An *alert* is identified by its alert_id, which is its incident's id
 * (spec §6 example). It has versions: each confirmed draft becomes the
 * next version (1, 2, ...) and is published. At most one draft of an
 * alert is pending at a time: a newer draft supersedes the pending one.
 *
 *   draft states:  pending ──confirm(s)──▶ published
 *                     │  └──reject──▶ rejected
 *                     └──newer draft──▶ superseded
 *   a published alert ──cancel──▶ a published cancel version
 *
 * A pending draft whose incident dropped below the publish level stays
 * pending with below_level set (shown to officers, never dropped).
 *
 * Every function runs on a struct store the caller owns (the writer's
 * connection for workflow_incident_changed, inside its transaction; the
 * HTTP server's own connection for the officer actions, each of which is
 * one transaction of its own) and writes its audit rows in the same
 * transaction. No SQL here: storage is store_alert.c. */
#ifndef GA_WORKFLOW_H
#define GA_WORKFLOW_H

#include <jansson.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "draft.h"
#include "error.h"
#include "hazard.h"
#include "officer.h"
#include "store.h"

#define ALERT_REASON_MAX 1000	/* reject/cancel reason, characters */
#define WORKFLOW_LIST_MAX 500	/* items of one workflow_list */
#define WORKFLOW_REPORTS_MAX 50 /* source reports in workflow_get, newest first */
#define WORKFLOW_REFS_MAX 32	/* references of one version: the latest earlier ones */
/* An officer's texts are counted in characters (code points), not bytes
 * (issue 10): the headline at most WORKFLOW_HEADLINE_CHARS, each other
 * section at most WORKFLOW_TEXT_CHARS (what the store's bytes hold at 4
 * bytes a character). */
#define WORKFLOW_HEADLINE_CHARS 120
#define WORKFLOW_TEXT_CHARS 2000

struct thresholds;
struct config;
struct metrics;
struct sign_key;

enum alert_state {
	ALERT_PENDING,
	ALERT_SUPERSEDED,
	ALERT_PUBLISHED,
	ALERT_REJECTED,
	ALERT_STATE_COUNT
};

/* "pending", "superseded", "published", "rejected"; -1 for others. */
const char *alert_state_name(enum alert_state s);
/* Its name for officers: "待确认", "已被取代", "已发布", "已驳回". */
const char *alert_state_zh(int s);
int alert_state_from_name(const char *s);

/* What the workflow needs from the configuration and data. Borrowed. */
struct workflow_ctx {
	const struct draft_templates *templates;
	const struct geo *geo; /* admin names for codes */
	enum level publish_min_level;
	const char *sender;
	int utc_offset_min;
	int confirmations_extra_large; /* officers needed for extra_large: 1 or 2 */
	bool exercise;		       /* drill mode: alert JSON status "exercise" */
	/* For the classification reasons in workflow_get; may be NULL. */
	const struct thresholds *thresholds;
	/* The channels a published version is delivered to (delivery.h:
	 * its rows are written in the publishing transaction); NULL: none. */
	const struct config *delivery_cfg;
	/* Where a publication's draft -> confirm latency is observed
	 * (metrics.h, draft_confirm); NULL: nowhere. */
	struct metrics *metrics;
	/* Signs the alert JSON the channels send (sign.h), so that the
	 * portal and the alerts topic get what /alerts/{id}.json serves,
	 * signature included (spec §6); NULL: unsigned. */
	const struct sign_key *signer;
	/* Several instances (spec §10, cluster.h): the delivery worker
	 * starts deliveries only while this points to true (this instance
	 * holds the duties' lease); NULL: always (SQLite, tests). */
	const atomic_bool *duty;
};

/* Why an officer's request was refused, as the API answers it (issue
 * 10): a code, a message in Chinese, the field and the limit. */
struct workflow_problem {
	char code[32];	   /* "too_long", "unknown_field", "not_string", "empty", ... */
	char path[64];	   /* "edits.headline"; "" when none */
	long limit;	   /* characters; 0 when none */
	char message[256]; /* Chinese, for officers */
};

/* Checks edits (NULL or JSON null: none) as confirm, preview and cancel
 * do: an object of the five text fields, strings without NUL, within
 * WORKFLOW_HEADLINE_CHARS / WORKFLOW_TEXT_CHARS characters, a headline
 * not empty. GA_OK, or GA_ERR_INVAL with p filled (p may be NULL). */
ga_err workflow_edits_validate(const json_t *edits, struct workflow_problem *p);

/* Inside the writer's transaction, after a report changed inc (prev_level
 * is its level before, -1 when new). Makes a draft when the incident is
 * at or above the publish level and either has no alert yet (msg_type
 * alert) or its published version differs in level, figures, causes,
 * measures or trend (msg_type update); supersedes a pending draft it
 * replaces; marks a pending draft below_level when the incident fell
 * below the level. Writes "draft.create" / "draft.supersede" audit rows.
 * *made is set when a draft was made (for notifying officers). */
ga_err workflow_incident_changed(struct store *s, const struct workflow_ctx *ctx,
				 const struct incident *inc, int prev_level, int64_t now_ms,
				 bool *made);

/* A hazard point's monitoring level changed (spec §12; device levels
 * 0 = below blue .. 4 = red, device_registry.h), with the reading that
 * explains it. Borrowed strings. */
struct workflow_warning {
	const char *station_id;
	const char *station_name;
	const char *hazard_point_id;
	enum hazard_type hazard_type;
	const char *admin_code;
	double lon, lat;			       /* NAN: unknown */
	double threatened_people, threatened_property; /* NAN: unknown */
	int from, to;				       /* device levels */
	int draft_min;				       /* [devices] draft_min_level, 1..4 */
	int64_t t_ms;				       /* the reading's time */
	const char *device_code, *channel, *metric;
	double value, threshold, rate_per_day; /* NAN: unknown */
	int64_t clear_after_s;		       /* [devices] clear_after */
	const char *incident_prefix;	       /* [alerts] incident_prefix */
};

/* Inside the writer's transaction, with the level change it follows
 * (ingest_device.c), so a level change is never stored without its
 * draft nor drafted twice. incident_id (INCIDENT_ID_MAX bytes, in and
 * out) is the incident the station's warnings are drafted for, "" for
 * none; the caller stores what it comes back as.
 *  - to >= draft_min: a warning draft (kind warning) for the incident,
 *    opened without a report when there is none or its alert was
 *    cancelled: msg_type alert, or update once a version is published;
 *    only when to is above the level already pending or published (a
 *    higher level makes an update; the same again makes nothing).
 *  - to = 0 (below blue, held for clear_after by the judge): a 解除
 *    (msg_type cancel) draft when a version is published and not
 *    cancelled; a pending draft never published is superseded instead.
 *  - anything else: nothing (the level notice says it).
 * A new draft supersedes the pending one. Audit rows as
 * workflow_incident_changed's. *made when a draft was made. */
ga_err workflow_warning_changed(struct store *s, const struct workflow_ctx *ctx,
				const struct workflow_warning *w, char *incident_id, int64_t now_ms,
				bool *made);

/* The 解除 text of a published warning pub into c (an officer's cancel
 * of a kind-warning alert speaks of the warning, not of a report). */
ga_err workflow_warning_cancel_text(const struct workflow_ctx *ctx, const struct store_draft *pub,
				    struct store_draft *c);

/* Officer actions, each one transaction. Results:
 * GA_OK; GA_ERR_NOTFOUND (no such alert: 404); GA_ERR_CONFLICT (nothing
 * pending to confirm/reject, already confirmed by this officer, nothing
 * published to cancel: 409); GA_ERR_INVAL (unknown edit field, bad
 * reason: 400, with msg). confirm with edits (a JSON object with any of
 * headline, situation, causes, response, trend; strings, capped) applies
 * them first. For extra_large with confirmations_extra_large = 2 the
 * first confirmation leaves the draft pending (*published false); a
 * second, different officer publishes it. */
ga_err workflow_confirm(struct store *s, const struct workflow_ctx *ctx, const struct officer *o,
			const char *alert_id, const json_t *edits, int64_t now_ms, bool *published,
			char *msg, size_t msglen);
ga_err workflow_reject(struct store *s, const struct workflow_ctx *ctx, const struct officer *o,
		       const char *alert_id, const char *reason, int64_t now_ms, char *msg,
		       size_t msglen);
/* As workflow_confirm / workflow_reject, but only when the pending draft
 * is draft_id, the one the officer was shown (workflow_get's
 * pending.draft_id): a draft superseded, rejected or published since is
 * GA_ERR_CONFLICT, so nobody confirms text they have not seen. draft_id
 * <= 0: whatever draft is pending (what workflow_confirm does). */
ga_err workflow_confirm_draft(struct store *s, const struct workflow_ctx *ctx,
			      const struct officer *o, const char *alert_id, int64_t draft_id,
			      const json_t *edits, int64_t now_ms, bool *published, char *msg,
			      size_t msglen);
ga_err workflow_reject_draft(struct store *s, const struct workflow_ctx *ctx,
			     const struct officer *o, const char *alert_id, int64_t draft_id,
			     const char *reason, int64_t now_ms, char *msg, size_t msglen);
ga_err workflow_cancel(struct store *s, const struct workflow_ctx *ctx, const struct officer *o,
		       const char *alert_id, const char *reason, int64_t now_ms, char *msg,
		       size_t msglen);

/* As workflow_cancel, publishing the 解除 with edits (as confirm's,
 * checked alike; NULL: the composed text) applied. */
ga_err workflow_cancel_edited(struct store *s, const struct workflow_ctx *ctx,
			      const struct officer *o, const char *alert_id, const char *reason,
			      const json_t *edits, int64_t now_ms, char *msg, size_t msglen);

/* Previews (issue 10), reading only: *out (new reference) is the alert
 * JSON (spec §6) that would be published at now_ms by confirming the
 * pending draft of alert_id (draft_id when > 0) with edits
 * (workflow_preview), or by cancelling the alert with edits
 * (workflow_cancel_preview): its version, sent, confirmed_at and
 * references included. Errors as the actions' (NOTFOUND, CONFLICT,
 * INVAL with msg). */
ga_err workflow_preview(struct store *s, const struct workflow_ctx *ctx, const char *alert_id,
			int64_t draft_id, const json_t *edits, int64_t now_ms, json_t **out,
			char *msg, size_t msglen);
ga_err workflow_cancel_preview(struct store *s, const struct workflow_ctx *ctx,
			       const char *alert_id, const json_t *edits, int64_t now_ms,
			       json_t **out, char *msg, size_t msglen);

/* New reference: the list of spec §8, items {alert_id, version, state,
 * level, incident_id, headline, created_at, below_level, confirmations},
 * pending first then newest first; state < 0: all. */
ga_err workflow_list(struct store *s, const struct workflow_ctx *ctx, int state, json_t **out);
/* As workflow_list, each item also with waiting_s (seconds a pending
 * draft has waited at now_ms; null for others) and superseded (a later
 * version of the alert has been published since) (issue 10). */
ga_err workflow_list_at(struct store *s, const struct workflow_ctx *ctx, int state, int64_t now_ms,
			json_t **out);

/* New reference: everything an officer sees of one alert: the pending
 * draft (if any) and the published versions as alert JSON (spec §6), the
 * incident with its classification reasons, and its source reports
 * including reporter details (officers only). Writes a "draft.view"
 * audit row for o. GA_ERR_NOTFOUND when unknown. */
ga_err workflow_get(struct store *s, const struct workflow_ctx *ctx, const struct officer *o,
		    const char *alert_id, int64_t now_ms, json_t **out);

/* New reference: the published alert JSON of spec §6 for one version
 * (version <= 0: the latest). Never carries reporter data. */
ga_err workflow_published_json(struct store *s, const struct workflow_ctx *ctx,
			       const char *alert_id, int version, json_t **out);

/* New reference: an array of published alert JSON (spec §6), newest
 * first, of up to limit versions published at or after since_ms; with
 * latest_only, each alert's latest published version only (the public
 * front page), else every version (the feed). */
ga_err workflow_published_since(struct store *s, const struct workflow_ctx *ctx, int64_t since_ms,
				bool latest_only, int limit, json_t **out);

/* Pending drafts older than after_ms not yet escalated: calls cb for each
 * and marks them escalated (audit "draft.escalate"). */
typedef void (*workflow_escalate_cb)(const char *alert_id, const char *headline, void *arg);
ga_err workflow_escalate_due(struct store *s, int64_t now_ms, int64_t after_ms,
			     workflow_escalate_cb cb, void *arg);

#endif
