/* cmd_classify.c - `geoalert classify [-c FILE] [FILE|-]` (spec §7):
 * validates one report as the service would and prints its severity. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classify.h"
#include "cmd.h"
#include "config.h"
#include "geo.h"
#include "registry.h"
#include "report.h"
#include "timeutil.h"

#define CLASSIFY_ERR_MAX 512

static void classify_usage(void)
{
	fprintf(stderr, "usage: geoalert classify [-c FILE] [FILE|-]\n");
}

/* Reads up to REPORT_MAX_BYTES + 1 bytes, so that report_parse sees a
 * payload past the cap as such rather than a truncated one. */
static int classify_read(const char *path, char **buf, size_t *len)
{
	FILE *fp = stdin;
	size_t n = 0, r;
	int rc = -1;

	if ((*buf = malloc(REPORT_MAX_BYTES + 1)) == NULL) {
		fprintf(stderr, "geoalert classify: out of memory\n");
		return -1;
	}
	if (strcmp(path, "-") != 0 && (fp = fopen(path, "rb")) == NULL) {
		fprintf(stderr, "geoalert classify: %s: %s\n", path, strerror(errno));
		goto out;
	}
	while (n < REPORT_MAX_BYTES + 1 &&
	       (r = fread(*buf + n, 1, REPORT_MAX_BYTES + 1 - n, fp)) > 0)
		n += r;
	if (ferror(fp)) {
		fprintf(stderr, "geoalert classify: %s: read error\n", path);
		goto out;
	}
	*len = n;
	rc = 0;
out:
	if (fp != NULL && fp != stdin)
		fclose(fp);
	return rc;
}

static void classify_print(json_t *o)
{
	char *s = o ? json_dumps(o, JSON_PRESERVE_ORDER) : NULL;

	if (s == NULL) {
		fprintf(stderr, "geoalert classify: out of memory\n");
		return;
	}
	printf("%s\n", s);
	free(s);
}

int cmd_classify(int argc, char **argv)
{
	const char *cfgpath = NULL, *input = "-";
	struct config *cfg = NULL;
	struct thresholds *th = NULL;
	struct registry *reg = NULL;
	struct geo *geo = NULL;
	struct report rep;
	struct report_errors *errs = NULL;
	struct report_context ctx = {0};
	struct classification cl;
	enum level publish_min = LEVEL_LARGE;
	char err[CLASSIFY_ERR_MAX];
	char *buf = NULL;
	size_t len = 0;
	bool have_input = false;
	json_t *o = NULL;
	int status = 2;

	memset(&rep, 0, sizeof(rep));
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-c") == 0 && i + 1 < argc && cfgpath == NULL) {
			cfgpath = argv[++i];
		} else if ((argv[i][0] != '-' || strcmp(argv[i], "-") == 0) && !have_input) {
			input = argv[i];
			have_input = true;
		} else {
			classify_usage();
			goto out;
		}
	}

	/* Without -c: the defaults (national thresholds, the bundled regions
	 * and service area), so the location is judged as serve judges it;
	 * only the station is not checked (spec §7). */
	struct geo_options gopt;
	if ((cfg = calloc(1, sizeof(*cfg))) == NULL) {
		fprintf(stderr, "geoalert classify: out of memory\n");
		goto out;
	}
	config_defaults(cfg);
	if (cfgpath != NULL && config_load(cfgpath, cfg, err, sizeof(err)) != GA_OK) {
		fprintf(stderr, "geoalert classify: %s\n", err);
		goto out;
	}
	publish_min = cfg->alerts.publish_min_level;
	if (thresholds_load(cfg->alerts.thresholds[0] ? cfg->alerts.thresholds : NULL, &th, err,
			    sizeof(err)) != GA_OK) {
		fprintf(stderr, "geoalert classify: %s\n", err);
		goto out;
	}
	config_geo_options(cfg, &gopt);
	if ((geo = geo_new(&gopt, err, sizeof(err))) == NULL) {
		fprintf(stderr, "geoalert classify: %s\n", err);
		goto out;
	}
	if (cfgpath != NULL && cfg->stations.file[0] != '\0' &&
	    registry_load(cfg->stations.file, geo, &reg, err, sizeof(err)) != GA_OK) {
		fprintf(stderr, "geoalert classify: %s\n", err);
		goto out;
	}

	if (classify_read(input, &buf, &len) != 0)
		goto out;
	if ((errs = calloc(1, sizeof(*errs))) == NULL) {
		fprintf(stderr, "geoalert classify: out of memory\n");
		goto out;
	}
	ctx.registry = reg;
	ctx.stations_required = cfgpath != NULL; /* as serve would with this config */
	ctx.geo = geo;
	ctx.topic_station = NULL;
	ctx.now_ms = time_now_ms();
	switch (report_parse(&ctx, buf, len, &rep, errs)) {
	case GA_OK:
		classify_figures(th, rep.kind == KIND_DISASTER, &rep.figures, &cl);
		o = classify_to_json(&cl, rep.kind, publish_min);
		classify_print(o);
		status = o ? 0 : 2;
		break;
	case GA_ERR_INVAL:
		o = json_pack("{s:o}", "errors", report_errors_to_json(errs));
		classify_print(o);
		status = o ? 1 : 2;
		break;
	default:
		fprintf(stderr, "geoalert classify: out of memory\n");
		break;
	}
out:
	json_decref(o);
	report_cleanup(&rep);
	free(errs);
	free(buf);
	registry_free(reg);
	geo_free(geo);
	thresholds_free(th);
	free(cfg);
	return status;
}
