/* classify.h - severity of dangers and disasters (spec §5) from a
 * thresholds data file (alerts/thresholds.json). */
#ifndef GA_CLASSIFY_H
#define GA_CLASSIFY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "hazard.h"

#define CLASSIFY_MAX_REASONS 8
#define CLASSIFY_REASON_MAX 160

struct thresholds;

/* Loads and validates a thresholds file. NULL path: the bundled national
 * defaults (GA_DATADIR "/alerts/thresholds.json"). On error returns
 * GA_ERR_CONFIG/GA_ERR_IO and a message naming the file and key in err. */
ga_err thresholds_load(const char *path, struct thresholds **out, char *err, size_t errlen);
void thresholds_free(struct thresholds *t);

struct classification {
	enum level level;	   /* max(disaster_level if disaster, danger_level) */
	enum level disaster_level; /* meaningful when disaster */
	enum level danger_level;
	bool disaster;
	int nreasons; /* deciding criterion first */
	char reasons[CLASSIFY_MAX_REASONS][CLASSIFY_REASON_MAX];
	/* The same reasons in Chinese for the console (issue 10), e.g.
	 * "死亡和失踪人数12人，≥10人：大型"; the CLI keeps the English. */
	char reasons_zh[CLASSIFY_MAX_REASONS][CLASSIFY_REASON_MAX];
};

/* Classifies figures. disaster: the report (or any report of the incident)
 * is a disaster, so deaths(+missing)/direct loss count too. Reasons name
 * the deciding criterion, e.g. "deaths+missing 12 >= 10: large". */
void classify_figures(const struct thresholds *t, bool disaster, const struct figures *f,
		      struct classification *out);
/* classify_figures(...).level, without writing the reasons (the writer
 * classifies every report's incident; the reasons are for people). */
enum level classify_figures_level(const struct thresholds *t, bool disaster,
				  const struct figures *f);

/* New reference: {"kind","level","level_zh","response_level","color",
 * "publish","reasons"} as `geoalert classify` prints it (spec §7). */
json_t *classify_to_json(const struct classification *c, enum kind kind,
			 enum level publish_min_level);

#endif
