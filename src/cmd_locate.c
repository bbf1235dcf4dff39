/* cmd_locate.c - `geoalert locate [-c FILE] --crs EPSG:n X Y` (spec §7):
 * transforms one point to CGCS2000 lon/lat and names the region it lies in.
 * Prints {"lon","lat","admin_code","admin_name"} and exits 0, or
 * {"errors":[{"path","code","message"}]} and exits 1. Usage errors go to
 * stderr with exit 2. */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "config.h"
#include "geo.h"

#define LOCATE_ERR_MAX 512

static void locate_usage(void)
{
	fprintf(stderr, "usage: geoalert locate [-c FILE] --crs EPSG:n X Y\n"
			"       X is easting or longitude, Y is northing or latitude\n");
}

static void locate_print(json_t *o)
{
	char *s = o != NULL ? json_dumps(o, JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(12)) : NULL;

	if (s == NULL) {
		fprintf(stderr, "geoalert locate: out of memory\n");
		return;
	}
	printf("%s\n", s);
	free(s);
}

static void locate_error(const char *path, const char *code, const char *message)
{
	json_t *o = json_pack("{s:[{s:s, s:s, s:s}]}", "errors", "path", path, "code", code,
			      "message", message);

	locate_print(o);
	json_decref(o);
}

/* A whole-string finite number. */
static bool locate_number(const char *s, double *v)
{
	char *end;

	errno = 0;
	*v = strtod(s, &end);
	return end != s && *end == '\0' && errno == 0 && isfinite(*v);
}

/* Rounds to 7 decimals (about 1 cm) so the JSON shows what is meaningful. */
static double locate_round(double v)
{
	return round(v * 1e7) / 1e7;
}

int cmd_locate(int argc, char **argv)
{
	const char *cfgpath = NULL, *crs = NULL, *pos[2] = {NULL, NULL};
	struct config *cfg = NULL;
	struct geo_options gopt = {0};
	struct geo *geo = NULL;
	const struct region *r;
	char err[LOCATE_ERR_MAX];
	double x, y, lon, lat;
	unsigned warn = 0;
	json_t *o = NULL;
	int npos = 0, status = 2;
	bool opts = true;
	ga_err rc;

	for (int i = 1; i < argc; i++) {
		if (opts && strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
			cfgpath = argv[++i];
		} else if (opts && strcmp(argv[i], "--crs") == 0 && i + 1 < argc) {
			crs = argv[++i];
		} else if (opts && strncmp(argv[i], "--crs=", 6) == 0) {
			crs = argv[i] + 6;
		} else if (opts && strcmp(argv[i], "--") == 0) {
			opts = false;
		} else if (opts && (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)) {
			locate_usage();
			return 0;
		} else if (npos < 2 && (!opts || argv[i][0] != '-' || locate_number(argv[i], &x))) {
			/* Negative numbers are operands, not options. */
			pos[npos++] = argv[i];
		} else {
			locate_usage();
			goto out;
		}
	}
	if (crs == NULL || npos != 2) {
		locate_usage();
		goto out;
	}
	status = 1;
	if (!locate_number(pos[0], &x) || !locate_number(pos[1], &y)) {
		locate_error("/coordinates", "type", "X and Y must be finite numbers");
		goto out;
	}
	if (cfgpath != NULL) {
		if ((cfg = calloc(1, sizeof(*cfg))) == NULL) {
			fprintf(stderr, "geoalert locate: out of memory\n");
			goto out;
		}
		if (config_load(cfgpath, cfg, err, sizeof(err)) != GA_OK) {
			fprintf(stderr, "geoalert locate: %s\n", err);
			goto out;
		}
		config_geo_options(cfg, &gopt);
	}
	if ((geo = geo_new(&gopt, err, sizeof(err))) == NULL) {
		fprintf(stderr, "geoalert locate: %s\n", err);
		goto out;
	}
	rc = geo_transform(geo, crs, x, y, &lon, &lat, &warn, err, sizeof(err));
	if (rc == GA_ERR_INVAL) {
		locate_error("/crs", "crs", err);
		goto out;
	}
	if (rc != GA_OK) {
		locate_error("/coordinates", "transform", err);
		goto out;
	}
	if (warn & GEO_WARN_BALLPARK)
		fprintf(stderr,
			"geoalert locate: warning: no datum shift from %s to CGCS2000 is "
			"known (PROJ ballpark): the position may be off by up to ~100 m\n",
			crs);
	r = geo_region_at(geo, lon, lat);
	o = json_pack("{s:f, s:f, s:o, s:o}", "lon", locate_round(lon), "lat", locate_round(lat),
		      "admin_code", r != NULL ? json_string(r->admin_code) : json_null(),
		      "admin_name", r != NULL ? json_string(r->full_name) : json_null());
	if (o == NULL) {
		fprintf(stderr, "geoalert locate: out of memory\n");
		goto out;
	}
	locate_print(o);
	status = 0;
out:
	json_decref(o);
	geo_free(geo);
	free(cfg);
	return status;
}
