/* workflow_internal.h - private to workflow*.c: what making drafts
 * (workflow.c), acting on them (workflow_action.c) and showing them
 * (workflow_view.c) share. */
#ifndef GA_WORKFLOW_INTERNAL_H
#define GA_WORKFLOW_INTERNAL_H

#include <jansson.h>

#include "workflow.h"

/* The latest report of each station (newest first), as far as a draft
 * uses them: texts are strdup'd, NULL when absent. */
struct workflow_station {
	char *station_id, *causes, *trend, *measures;
};

struct workflow_sources {
	struct workflow_station st[DRAFT_MAX_TEXTS];
	size_t n;
	char place[STORE_PLACE_MAX]; /* of the newest report that has one; "" none */
	double volume_m3, area_m2;   /* max over the stations; NAN when none */
	bool nomem;
	/* Set by workflow.c before composing (0 / NULL: not known, then
	 * the incident's first observed time and no changes are written):
	 * when the event happened (a disaster: its earliest disaster
	 * report), and the version an update follows. */
	int64_t event_ms;
	const struct store_draft *prev;
};

/* Reads the incident's latest report per station into src (caller calls
 * workflow_sources_cleanup, also on error). */
ga_err workflow_sources_load(struct store *s, const char *incident_id,
			     struct workflow_sources *src);
void workflow_sources_cleanup(struct workflow_sources *src);

/* SHA-256 hex of what makes an update: level, kind, figures, scale and
 * the distinct causes, trend and measures texts of the stations' latest
 * reports (as sets: neither order nor repetition counts). */
void workflow_fingerprint(const struct incident *inc, const struct workflow_sources *src,
			  char hex[STORE_HASH_HEX]);

/* Fills what d is about from inc (alert_id, level, kind, hazard type,
 * figures, area, observed time), composes its text with the templates
 * (msg_type, prev_level for an update) and sets msg_type. State, times,
 * refs and fingerprint are the caller's. */
ga_err workflow_compose(const struct workflow_ctx *ctx, const struct incident *inc,
			const struct workflow_sources *src, enum draft_msg_type type,
			int prev_level, struct store_draft *d);

/* The JSON array text of the alert's published versions
 * ("alert_id:version"), the latest WORKFLOW_REFS_MAX of them. */
ga_err workflow_refs(struct store *s, const char *alert_id, char refs[STORE_REFS_MAX]);

/* Writes the audit row action about d (subject: its alert_id), detail
 * {draft_id, msg_type, state, version (when published)} plus the members
 * of extra (stolen; may be NULL). */
ga_err workflow_audit(struct store *s, int64_t officer_id, const char *action,
		      const struct store_draft *d, json_t *extra);

/* The five text fields an officer may edit, in the order of spec §6. */
struct workflow_field {
	const char *name; /* "headline", ... */
	const char *zh;	  /* its name for officers: "标题", ... */
	size_t chars;	  /* WORKFLOW_HEADLINE_CHARS or WORKFLOW_TEXT_CHARS */
	size_t offset;	  /* of its text in struct store_draft */
};
#define WORKFLOW_NFIELDS 5
extern const struct workflow_field workflow_fields[WORKFLOW_NFIELDS];

/* The text of field i of d (within d). */
char *workflow_field_text(struct store_draft *d, size_t i);
/* The bytes its buffer holds, NUL included. */
size_t workflow_field_size(size_t i);

/* The officers' edits record of draft_id (store_draft_edits_get),
 * parsed: *edits an object {field: the text the templates composed},
 * *carried and *changed arrays of names; new references. A record that
 * does not parse reads as empty. */
ga_err workflow_edits_load(struct store *s, int64_t draft_id, json_t **edits, json_t **carried,
			   json_t **changed);
/* Writes the record of draft_id (inside the transaction). */
ga_err workflow_edits_store(struct store *s, int64_t draft_id, const json_t *edits,
			    const json_t *carried, const json_t *changed);
/* Whether array holds the string name. */
bool workflow_names_has(const json_t *array, const char *name);

/* Sets the state of d by enum. */
void workflow_set_state(struct store_draft *d, enum alert_state st);
/* The state of d as an enum; -1 when the store holds something unknown. */
int workflow_state(const struct store_draft *d);

/* snprintf into msg when it is not NULL. */
void workflow_msg(char *msg, size_t msglen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Officers needed to publish d. */
int workflow_needed(const struct workflow_ctx *ctx, const struct store_draft *d);

/* New references (NULL on allocation failure). */
json_t *workflow_time_json(int64_t ms, int offset_min); /* null for 0 */
json_t *workflow_figures_json(const struct figures *f);
/* The published alert JSON of spec §6 for a published draft. */
json_t *workflow_alert_json(const struct workflow_ctx *ctx, const struct store_draft *d);

#endif
