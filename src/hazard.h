/* hazard.h - the vocabulary of the contract (spec §2, §5): report kinds,
 * hazard types, severity levels and figures, with their wire names and
 * Chinese names. Pure tables; no state. */
#ifndef GA_HAZARD_H
#define GA_HAZARD_H

#include <stdbool.h>

/* Kinds of an alert: a report is a danger or a disaster (the first
 * KIND_REPORT_COUNT); a warning is drafted from monitoring devices'
 * readings (spec §12) and never comes in a report. */
enum kind { KIND_DANGER, KIND_DISASTER, KIND_WARNING, KIND_COUNT };
#define KIND_REPORT_COUNT 2

enum hazard_type {
	HAZARD_COLLAPSE,
	HAZARD_LANDSLIDE,
	HAZARD_DEBRIS_FLOW,
	HAZARD_GROUND_COLLAPSE,
	HAZARD_GROUND_FISSURE,
	HAZARD_LAND_SUBSIDENCE,
	HAZARD_COUNT
};

/* Ordered: a higher value is more severe. */
enum level { LEVEL_SMALL, LEVEL_MEDIUM, LEVEL_LARGE, LEVEL_EXTRA_LARGE, LEVEL_COUNT };

enum figure {
	FIG_DEATHS,
	FIG_MISSING,
	FIG_INJURED,
	FIG_RELOCATED_PEOPLE,
	FIG_DIRECT_LOSS_CNY,
	FIG_THREATENED_PEOPLE,
	FIG_THREATENED_PROPERTY_CNY,
	FIG_COUNT
};

/* Figures of a report or an incident: value[i] is meaningful when bit i of
 * set is on. Counts are integral (checked at validation). */
struct figures {
	double value[FIG_COUNT];
	unsigned set;
};

const char *kind_name(enum kind k);		  /* "danger" */
const char *kind_zh(enum kind k);		  /* "险情" */
const char *hazard_type_name(enum hazard_type h); /* "landslide" */
const char *hazard_type_zh(enum hazard_type h);	  /* "滑坡" */
const char *level_name(enum level l);		  /* "large" */
const char *level_zh(enum level l);		  /* "大型" */
const char *level_response(enum level l);	  /* "II" */
const char *level_color(enum level l);		  /* "orange" */
const char *figure_name(enum figure f);		  /* "direct_loss_cny" */
/* A warning's level (kind warning) is one of the four monitoring levels
 * of §12, held in enum level by rank (blue = LEVEL_SMALL ... red =
 * LEVEL_EXTRA_LARGE: the same colours, responses and CAP severities). */
const char *warning_level_name(enum level l); /* "orange" */
const char *warning_level_zh(enum level l);   /* "警戒级" */
bool figure_is_count(enum figure f);	      /* people are integers, yuan are not */

/* Name -> enum; return -1 when the name is not one of the contract's. */
int kind_from_name(const char *s);
int hazard_type_from_name(const char *s);
int level_from_name(const char *s);
int figure_from_name(const char *s);

#endif
