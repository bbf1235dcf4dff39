/* draft.h - the public text of a draft alert (spec §6; issue 4 Drafts):
 * headline, situation (险情/灾情), causes (引发因素), response (应急处置)
 * and trend (发展趋势), composed in Chinese from the templates in
 * alerts/templates/ (data, described in alerts/templates/README.md).
 *
 * The input carries only what may be published: no reporter name or
 * phone ever reaches this module. */
#ifndef GA_DRAFT_H
#define GA_DRAFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "hazard.h"
#include "store.h"

#define DRAFT_HEADLINE_MAX 120	       /* bytes of the headline, NUL not counted */
#define DRAFT_TEXT_MAX 4000	       /* bytes of each other section */
#define DRAFT_MAX_TEXTS 16	       /* causes/trend/measures texts combined */
#define DRAFT_VALUE_MAX DRAFT_TEXT_MAX /* bytes of one combined input text */

enum draft_msg_type { DRAFT_MSG_ALERT, DRAFT_MSG_UPDATE, DRAFT_MSG_CANCEL, DRAFT_MSG_COUNT };

/* "alert", "update", "cancel"; draft_msg_type_from_name returns -1 for
 * anything else. */
const char *draft_msg_type_name(enum draft_msg_type t);
int draft_msg_type_from_name(const char *s);

/* Everything a draft's text is made of. Strings are borrowed and may be
 * NULL (absent). draft_input_init fills the defaults from the incident. */
struct draft_input {
	const struct incident *incident; /* hazard type, level, figures, id */
	enum draft_msg_type msg_type;
	enum kind kind;		/* disaster when the incident has_disaster */
	const char *admin_name; /* "江苏省南京市浦口区" */
	const char *admin_code; /* "320111" */
	const char *place; /* of the most recent report: "浦口区永宁街道青山村后山" */
	/* The latest text of each station (most relevant first). Identical
	 * texts are given once; distinct ones are joined with "；". At most
	 * DRAFT_MAX_TEXTS of each are used. */
	const char *const *causes;
	size_t ncauses;
	const char *const *trends;
	size_t ntrends;
	const char *const *measures;
	size_t nmeasures;
	int64_t observed_ms; /* first observed, Unix ms */
	int utc_offset_min;  /* for printing local time, e.g. 480 */
	double volume_m3;    /* scale; <= 0 or not finite: absent */
	double area_m2;
	const char *sender; /* "江苏省自然资源厅" */
	int prev_level;	    /* update: level of the previous version; -1: unknown */
	/* update: the previous published version's figures and kind, for
	 * "what changed" (value changes); NULL / -1: unknown */
	const struct figures *prev_figures;
	int prev_kind;
};

/* Sets every field of in from inc: msg_type alert, kind disaster when
 * inc->has_disaster, admin_code, observed_ms = first observed, UTC+8,
 * no scale, no texts, prev_level and prev_kind -1, no prev_figures. inc
 * is borrowed. */
void draft_input_init(struct draft_input *in, const struct incident *inc);

/* The composed text; each string is malloc'd and never NULL (a section a
 * template leaves empty is ""). Headline <= DRAFT_HEADLINE_MAX bytes,
 * the others <= DRAFT_TEXT_MAX, cut on a UTF-8 boundary. */
struct draft_text {
	char *headline, *situation, *causes, *response, *trend;
};

/* Frees the strings and sets them to NULL; NULL or a zeroed struct is fine. */
void draft_text_cleanup(struct draft_text *d);

struct draft_templates;

/* Loads and validates the templates of dir (NULL: GA_DATADIR
 * "/alerts/templates"): headline.txt, situation.txt, causes.txt,
 * response.txt, trend.txt and hazards.txt (standing advice and default
 * causes for every hazard type). A missing file, an unknown placeholder,
 * an unclosed block, an unknown key or a hazard type without advice gives
 * GA_ERR_CONFIG (GA_ERR_IO when a file cannot be read) and "file:line:
 * what" in err; *out is then unchanged. The result is immutable and may be
 * shared by threads. */
ga_err draft_templates_load(const char *dir, struct draft_templates **out, char *err,
			    size_t errlen);
void draft_templates_free(struct draft_templates *t);

/* Standing public advice for hazard type h (without final "。"); borrowed
 * from t, never NULL once t is loaded. */
const char *draft_templates_advice(const struct draft_templates *t, enum hazard_type h);

/* Composes the text of in with t into *out (caller calls
 * draft_text_cleanup). GA_ERR_INVAL when in has no incident;
 * GA_ERR_NOMEM; on error *out is left zeroed. */
ga_err draft_compose(const struct draft_templates *t, const struct draft_input *in,
		     struct draft_text *out);

/* A warning (kind warning, spec §12): the draft a hazard point's
 * monitoring level makes, written from the reading that explains it, not
 * from reports. Strings are borrowed; NULL is absent. */
struct draft_warning_input {
	enum draft_msg_type msg_type;
	enum level level; /* by rank: blue = LEVEL_SMALL ... red = LEVEL_EXTRA_LARGE */
	int prev_level;	  /* update: the level of the version it follows; -1 */
	enum hazard_type hazard_type;
	const char *station_name; /* the hazard point: 青山村后山滑坡 */
	const char *admin_name;	  /* 江苏省南京市浦口区 */
	int64_t observed_ms;	  /* the reading's time, Unix ms */
	int utc_offset_min;
	const char *device_code;       /* SK00EA0D1307986 */
	const char *channel;	       /* L1_LF_1: its kind gives the instrument and unit */
	const char *metric;	       /* change_24h, ... (device_metric_name) */
	double value;		       /* the metric's value; not finite: absent */
	double threshold;	       /* of the level passed; not finite: absent */
	double rate_per_day;	       /* of the series (least squares, 24 h); not finite: absent */
	int64_t clear_after_s;	       /* cancel: how long it stayed below blue; <= 0 absent */
	const struct figures *figures; /* threatened people and property; may be NULL */
	const char *sender;
};

/* Composes a warning's text with the warning_*.txt templates of t into
 * *out (caller calls draft_text_cleanup). GA_ERR_INVAL for a level,
 * hazard type or message type out of range; GA_ERR_NOMEM; on error *out
 * is zeroed. Numbers are printed with up to two decimals, trailing zeros
 * trimmed, in the channel kind's unit (毫米, 米, 度, mg). */
ga_err draft_warning_compose(const struct draft_templates *t, const struct draft_warning_input *in,
			     struct draft_text *out);

/* What the public should do (防御指南) for hazard type h: items joined
 * with "；", without final "。"; borrowed from t, "" when t is NULL. */
const char *draft_templates_guide(const struct draft_templates *t, enum hazard_type h);

/* Formatting helpers the templates' values are made with (exposed for
 * tests and for other channels that print the same figures). Each
 * writes a NUL-terminated string into buf (len >= 32) and returns buf. */

/* Yuan as 万元 with up to two decimals, trailing zeros trimmed:
 * 30000000 -> "3000万元", 12345 -> "1.23万元". Amounts that round to
 * 0.00万元 are printed in 元 ("49元"). */
char *draft_format_wan_yuan(double yuan, char *buf, size_t len);

/* A quantity in unit, switching to 万+unit from 10000 on:
 * (120000, "立方米") -> "12万立方米", (3500, "平方米") -> "3500平方米". */
char *draft_format_quantity(double v, const char *unit, char *buf, size_t len);

/* ms at utc_offset_min as "2026年11月26日14时52分" (no zero padding, as
 * official notices write it). */
char *draft_format_time(int64_t ms, int utc_offset_min, char *buf, size_t len);

#endif
