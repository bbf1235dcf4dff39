/* riskwarning.h - parsing and validation of a regional risk warning
 * product, 地质灾害气象风险预警 (spec §11): which counties face which level
 * of risk of rain-induced geological hazards over a period.
 *
 * Problems are reported like a report's (struct report_errors, JSON
 * Pointers, the receipt's error form), so a forecasting system learns
 * everything wrong with a product from one receipt or one 400.
 *
 * riskwarning_parse is thread-safe; the geo it is given is read only. */
#ifndef GA_RISKWARNING_H
#define GA_RISKWARNING_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "geo.h"
#include "report.h"

#define RISKWARNING_SCHEMA "geohazard.riskwarning/1"

/* Caps. A product names at most every county of a province (Sichuan,
 * the largest, has 183) once per level; the byte cap leaves room for
 * that written as 6-digit codes plus two texts at their cap in 3-byte
 * characters, and is checked before the parser runs, as is the depth
 * (a product needs 4: root, areas, an area, its codes). */
#define RISKWARNING_MAX_BYTES 65536
#define RISKWARNING_MAX_DEPTH 8
#define RISKWARNING_MAX_AREAS 16		       /* entries of /areas */
#define RISKWARNING_MAX_CODES 512		       /* admin codes over all areas, as written */
#define RISKWARNING_MAX_COUNTIES 512		       /* counties after city codes are expanded */
#define RISKWARNING_MAX_ISSUERS 8		       /* entries of /issuers */
#define RISKWARNING_ISSUER_MAX 64		       /* characters of one issuer's name */
#define RISKWARNING_TEXT_MAX 2000		       /* rain_summary, advice: characters */
#define RISKWARNING_MAX_PERIOD_MS (72LL * 3600 * 1000) /* valid_to - valid_from */
#define RISKWARNING_FUTURE_MS (10 * 60 * 1000)	       /* issued_at may be this far ahead */

/* Most severe first: a level is public when it is at or before the
 * configured [riskwarning] publish_min_level. */
enum riskwarning_level {
	RISKWARNING_RED = 0,
	RISKWARNING_ORANGE,
	RISKWARNING_YELLOW,
	RISKWARNING_BLUE,
	RISKWARNING_LEVEL_COUNT
};

/* "red" ...; NULL out of range. */
const char *riskwarning_level_name(enum riskwarning_level l);
/* "一级（红色）" ...; NULL out of range. */
const char *riskwarning_level_zh(enum riskwarning_level l);
/* "风险很高" ...; NULL out of range. */
const char *riskwarning_level_meaning(enum riskwarning_level l);
/* CAP <severity>: "Extreme", "Severe", "Moderate", "Minor"; NULL out of range. */
const char *riskwarning_level_cap_severity(enum riskwarning_level l);
/* The level of name, or -1. */
int riskwarning_level_from_name(const char *name);
/* Whether l is public when min is [riskwarning] publish_min_level. */
bool riskwarning_level_public(enum riskwarning_level l, enum riskwarning_level min);

/* Whether s is a valid rain_summary/advice text: 1..RISKWARNING_TEXT_MAX
 * characters without a bidirectional embedding, override or isolate
 * (an officer's edit is held to the product's rule). */
bool riskwarning_text_ok(const char *s);

struct riskwarning;

/* The product as stored and served: w's JSON with "counties" added,
 * [{"admin_code", "name", "city", "level"}] in w's order (names from g;
 * "" without g). New reference; NULL when out of memory. */
json_t *riskwarning_product_json(const struct riskwarning *w, const struct geo *g);

struct riskwarning_county {
	char admin_code[GEO_CODE_LEN];
	enum riskwarning_level level;
};

struct riskwarning {
	json_t *root;		/* owned; the const char * below are borrowed from it */
	const char *product_id; /* set whenever it could be read, even if invalid */
	const char *supersedes; /* NULL when absent or null */
	const char *rain_summary, *advice;
	int64_t issued_at_ms, valid_from_ms, valid_to_ms;
	int issued_offset_min, valid_from_offset_min, valid_to_offset_min;
	/* Every county once, sorted by level (most severe first) then code;
	 * a city code is expanded to the counties of the regions file under
	 * it inside the service area. */
	struct riskwarning_county counties[RISKWARNING_MAX_COUNTIES];
	int ncounties;
	int nlevel[RISKWARNING_LEVEL_COUNT]; /* counties per level */
};

struct riskwarning_context {
	/* The regions and the service area. NULL: codes are checked for
	 * their form only and a city code expands to nothing (tests, fuzz). */
	const struct geo *geo;
	/* Now, for issued_at in the future and a product already past its
	 * valid_to; 0: those two rules are not checked. */
	int64_t now_ms;
};

/* Parses and validates payload against every rule of spec §11, collecting
 * every problem with its JSON Pointer into errs.
 * Returns GA_OK when valid (out filled, caller must riskwarning_cleanup);
 * GA_ERR_INVAL when invalid (errs filled; out->product_id set when it
 * could be read; caller must still riskwarning_cleanup); GA_ERR_NOMEM. */
ga_err riskwarning_parse(const struct riskwarning_context *ctx, const void *payload, size_t len,
			 struct riskwarning *out, struct report_errors *errs);

void riskwarning_cleanup(struct riskwarning *w);

#endif
