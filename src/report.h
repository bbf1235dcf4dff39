/* report.h - parsing and validation of a station report (spec §2) and the
 * error list that a rejected receipt carries (spec §3).
 *
 * report_parse is thread-safe (the MQTT session threads call it); the
 * registry and geo it is given are read only. */
#ifndef GA_REPORT_H
#define GA_REPORT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "geo.h"
#include "hazard.h"
#include "registry.h"

#define REPORT_MAX_BYTES 65536		  /* payload cap, checked before parsing */
#define REPORT_MAX_DEPTH 32		  /* JSON nesting cap, checked before parsing */
#define REPORT_ID_MAX 64		  /* report_id / station_id characters */
#define REPORT_PLACE_MAX 200		  /* characters (code points), not bytes */
#define REPORT_TEXT_MAX 2000		  /* causes, trend, measures: characters */
#define REPORT_FUTURE_MS (10 * 60 * 1000) /* observed_at may be this far ahead */
#define REPORT_MAX_ERRORS 32

/* Upper bounds of the figures (code "range" past them): more people than
 * live in any Chinese province, more yuan than China's yearly GDP, a
 * volume five times the largest landslide known (Saidmarreh, ~2e10 m3),
 * an area a tenth of China's. A figure past them is a station's bug or
 * an attack, and would be published as a number no one can act on. */
#define REPORT_PEOPLE_MAX 100000000.0 /* deaths ... threatened_people */
#define REPORT_CNY_MAX 1e13	      /* direct_loss_cny, threatened_property_cny */
#define REPORT_VOLUME_M3_MAX 1e11
#define REPORT_AREA_M2_MAX 1e12

/* observed_at older than this at arrival: accepted but flagged (the
 * default of [stations] max_observed_age). */
#define REPORT_MAX_AGE_MS (7LL * 86400 * 1000)

#define REPORT_SCHEMA "geohazard.report/1"

struct report_error {
	char path[128]; /* JSON Pointer, "" for the whole message */
	char code[24];	/* "syntax", "required", "type", "format", "range", ... */
	char message[256];
};

struct report_errors {
	int n;
	bool truncated; /* more than REPORT_MAX_ERRORS were found */
	struct report_error e[REPORT_MAX_ERRORS];
};

/* Appends an error; past the cap sets truncated. Path and message are cut
 * on a UTF-8 boundary when too long. */
void report_errors_add(struct report_errors *errs, const char *path, const char *code,
		       const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* New reference: a JSON array of {"path","code","message"} objects. */
json_t *report_errors_to_json(const struct report_errors *errs);

/* Warnings of a valid report besides the transform's (GEO_WARN_*, the
 * low bits of struct report's warnings); the receipt carries them. */
enum {
	/* observed_at more than the context's max_age_ms before now_ms: a
	 * station's clock or a long-delayed upload. Accepted as it is. */
	REPORT_WARN_OLD = 1u << 8,
};

struct report {
	json_t *root;	       /* owned; the const char * below are borrowed from it */
	const char *report_id; /* set whenever it could be read, even if invalid */
	const char *station_id;
	enum kind kind;
	enum hazard_type hazard_type;
	int64_t observed_at_ms;	       /* Unix time, milliseconds */
	int observed_offset_min;       /* the offset it was written with */
	bool has_location;	       /* location given in the report */
	char crs[32];		       /* as given, "EPSG:4490" when absent */
	double x, y;		       /* as given */
	double lon, lat;	       /* CGCS2000, from location or the station */
	bool has_point;		       /* lon/lat known (location given or station known) */
	char admin_code[GEO_CODE_LEN]; /* region of lon/lat; "" when not looked up */
	char admin_name[GEO_NAME_MAX];
	unsigned warnings;					     /* GEO_WARN_*, REPORT_WARN_* */
	const char *place, *causes, *trend, *measures, *incident_id; /* NULL when absent */
	struct figures figures; /* after defaults from the hazard point */
	double volume_m3, area_m2;
	bool has_volume, has_area;
	char hazard_point_id[REGISTRY_HP_MAX]; /* copied from the station; "" if none */
};

struct report_context {
	const struct registry *registry; /* NULL: see stations_required */
	/* With registry NULL: true, every station is unknown (a service
	 * without [stations] file); false, the station is not checked
	 * (classify without -c, spec §7). */
	bool stations_required;
	struct geo *geo;	   /* NULL: location transformed/checked only if geo set */
	const char *topic_station; /* last topic level; NULL: not checked */
	int64_t now_ms;		   /* for the future-time rule */
	/* observed_at older than this at now_ms: REPORT_WARN_OLD; 0:
	 * REPORT_MAX_AGE_MS; < 0: never ([stations] max_observed_age). */
	int64_t max_age_ms;
};

/* Parses and validates payload against every rule of spec §2, collecting
 * all errors (not just the first) with JSON Pointers into errs.
 * Returns GA_OK when valid (out filled, caller must report_cleanup);
 * GA_ERR_INVAL when invalid (errs filled; out->report_id set when it
 * could be read; caller must still report_cleanup); GA_ERR_NOMEM.
 * For a danger report, absent threatened_people/threatened_property_cny
 * are taken from the station's hazard point. */
ga_err report_parse(const struct report_context *ctx, const void *payload, size_t len,
		    struct report *out, struct report_errors *errs);

void report_cleanup(struct report *r);

/* The cheap checks every JSON intake shares (reports, risk warnings):
 * size past max_bytes, empty, NUL, invalid UTF-8, nesting past
 * max_depth (scanned before the recursive parser runs), then the parse
 * itself (duplicate keys rejected) and "must be an object". Problems go
 * to errs at "". Returns GA_OK with *root a new reference (an object),
 * GA_ERR_INVAL (errs filled; *root may be set and must be decref'd), or
 * GA_ERR_NOMEM. */
ga_err report_json_load(const void *payload, size_t len, size_t max_bytes, int max_depth,
			json_t **root, struct report_errors *errs);

/* Whether s is 1..REPORT_ID_MAX characters of report_id's charset
 * (A-Z a-z 0-9 . _ : -): report_id, station_id, product_id. */
bool report_id_valid(const char *s);

/* obj's string member key (path: its JSON Pointer). Returns the string
 * (borrowed), or NULL when absent (required: a "required" error recorded)
 * or not a string (a "type" error recorded). */
const char *report_string(const json_t *obj, const char *key, const char *path, bool required,
			  struct report_errors *errs);

#endif
