/* ga_draft_examples.c - prints docs/alert-examples.md: alert texts
 * rendered by the real code path (report_parse with the example station
 * registry, classify_figures, draft_compose with alerts/templates/), so
 * the examples in docs/ are never written by hand.
 *
 *   ga_draft_examples [SOURCE_DIR] > docs/alert-examples.md
 *
 * SOURCE_DIR defaults to $GA_SOURCE_DIR, then to GA_DATADIR. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classify.h"
#include "draft.h"
#include "geo.h"
#include "registry.h"
#include "report.h"
#include "store.h"
#include "timeutil.h"

#define EX_PATH_MAX 1024
#define EX_FILE_MAX 65536
#define EX_SENDER "江苏省自然资源厅"
#define EX_NOW "2026-11-26T15:10:00+08:00"

/* A debris-flow disaster reported by two stations of one gully (inline:
 * the example registry has no such station, so these are parsed without
 * one). Both name the same cause; their measures differ. */
static const char *const ex_debris[] = {
    "{\"schema\":\"geohazard.report/1\",\"report_id\":\"r-0718-01\","
    "\"station_id\":\"JS-3207-0031\",\"kind\":\"disaster\",\"hazard_type\":\"debris_flow\","
    "\"observed_at\":\"2026-07-18T04:35:00+08:00\","
    "\"location\":{\"crs\":\"EPSG:4490\",\"coordinates\":[119.2750,34.6500]},"
    "\"place\":\"海州区云台街道大村沟沟口\","
    "\"figures\":{\"deaths\":3,\"missing\":2,\"injured\":6,\"relocated_people\":860,"
    "\"direct_loss_cny\":12500000},"
    "\"scale\":{\"volume_m3\":45000,\"area_m2\":38000},"
    "\"causes\":\"局地短时强降雨，最大小时雨量86毫米，沟道内松散物源启动。\","
    "\"trend\":\"降雨仍将持续，沟内尚有约2万立方米松散物源，存在再次发生泥石流的可能\","
    "\"measures\":\"已转移沟口下游群众，消防救援队伍正在搜救失踪人员，沟口道路实施交通管制\","
    "\"reporter\":{\"name\":\"李某\",\"phone\":\"13900000000\"}}",
    "{\"schema\":\"geohazard.report/1\",\"report_id\":\"r-0718-02\","
    "\"station_id\":\"JS-3207-0032\",\"kind\":\"disaster\",\"hazard_type\":\"debris_flow\","
    "\"observed_at\":\"2026-07-18T04:50:00+08:00\","
    "\"location\":{\"crs\":\"EPSG:4490\",\"coordinates\":[119.2760,34.6510]},"
    "\"place\":\"海州区云台街道大村沟沟口\","
    "\"causes\":\"局地短时强降雨，最大小时雨量86毫米，沟道内松散物源启动\","
    "\"measures\":\"市、区两级自然资源部门已组织专家开展现场调查\"}",
};

static char *ex_read(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	char *buf = NULL;

	if (fp == NULL || (buf = malloc(EX_FILE_MAX)) == NULL) {
		fprintf(stderr, "ga_draft_examples: cannot read %s\n", path);
		exit(1);
	}
	*len = fread(buf, 1, EX_FILE_MAX, fp);
	fclose(fp);
	return buf;
}

static void ex_parse(const struct report_context *ctx, const char *json, size_t len,
		     struct report *r)
{
	struct report_errors errs = {0};

	if (report_parse(ctx, json, len, r, &errs) != GA_OK) {
		fprintf(stderr, "ga_draft_examples: report invalid: %s %s\n",
			errs.n > 0 ? errs.e[0].path : "", errs.n > 0 ? errs.e[0].message : "");
		exit(1);
	}
}

/* Folds reports into an incident the way the store does: per figure the
 * max over stations; level from the thresholds. */
static void ex_incident(const struct thresholds *th, const struct report *r, size_t n,
			struct incident *inc)
{
	struct classification cls;

	memset(inc, 0, sizeof(*inc));
	snprintf(inc->id, sizeof(inc->id), "JS-20261126-0003");
	inc->hazard_type = r[0].hazard_type;
	snprintf(inc->admin_code, sizeof(inc->admin_code), "%s", r[0].admin_code);
	inc->first_observed_ms = r[0].observed_at_ms;
	for (size_t i = 0; i < n; i++) {
		inc->has_disaster |= r[i].kind == KIND_DISASTER;
		for (int f = 0; f < FIG_COUNT; f++) {
			if (!(r[i].figures.set & (1u << f)))
				continue;
			if (!(inc->figures.set & (1u << f)) ||
			    r[i].figures.value[f] > inc->figures.value[f])
				inc->figures.value[f] = r[i].figures.value[f];
			inc->figures.set |= 1u << f;
		}
	}
	classify_figures(th, inc->has_disaster, &inc->figures, &cls);
	inc->level = cls.level;
	inc->nreports = (int)n;
}

static void ex_print(const struct draft_text *d, const char *title)
{
	printf("### %s\n\n", title);
	printf("| 部分 | 文本 |\n|---|---|\n");
	printf("| headline 标题 | %s |\n", d->headline);
	printf("| situation 险情/灾情 | %s |\n", d->situation);
	printf("| causes 引发因素 | %s |\n", d->causes);
	printf("| response 应急处置 | %s |\n", d->response);
	printf("| trend 发展趋势 | %s |\n\n", d->trend);
}

static void ex_compose(const struct draft_templates *t, const struct draft_input *in,
		       const char *title)
{
	struct draft_text d;

	if (draft_compose(t, in, &d) != GA_OK) {
		fprintf(stderr, "ga_draft_examples: draft_compose failed\n");
		exit(1);
	}
	ex_print(&d, title);
	draft_text_cleanup(&d);
}

static void ex_warning(const struct draft_templates *t, const struct draft_warning_input *in,
		       const char *title)
{
	struct draft_text d;

	if (draft_warning_compose(t, in, &d) != GA_OK) {
		fprintf(stderr, "ga_draft_examples: draft_warning_compose failed\n");
		exit(1);
	}
	ex_print(&d, title);
	draft_text_cleanup(&d);
}

/* Fills in from reports r[0..n) (r[n-1] the most recent). */
static void ex_input(struct draft_input *in, const struct incident *inc, const struct report *r,
		     size_t n, const char **causes, const char **trends, const char **measures)
{
	draft_input_init(in, inc);
	in->admin_name = r[n - 1].admin_name;
	in->place = r[n - 1].place;
	for (size_t i = 0; i < n; i++) {
		causes[i] = r[i].causes;
		trends[i] = r[i].trend;
		measures[i] = r[i].measures;
		if (r[i].has_volume && r[i].volume_m3 > in->volume_m3)
			in->volume_m3 = r[i].volume_m3;
		if (r[i].has_area && r[i].area_m2 > in->area_m2)
			in->area_m2 = r[i].area_m2;
	}
	in->causes = causes, in->ncauses = n;
	in->trends = trends, in->ntrends = n;
	in->measures = measures, in->nmeasures = n;
	in->utc_offset_min = r[0].observed_offset_min;
	in->sender = EX_SENDER;
}

int main(int argc, char **argv)
{
	const char *src = argc > 1 ? argv[1] : getenv("GA_SOURCE_DIR");
	char path[EX_PATH_MAX], err[512];
	struct geo *geo;
	struct registry *reg = NULL;
	struct thresholds *th = NULL;
	struct draft_templates *tpl = NULL;
	struct report_context ctx = {0};
	struct report danger[1], debris[2];
	struct incident inc;
	struct draft_input in;
	const char *causes[2], *trends[2], *measures[2];
	char *json;
	size_t len;

	if (src == NULL)
		src = GA_DATADIR;
	if ((geo = geo_new(NULL, err, sizeof(err))) == NULL) {
		fprintf(stderr, "ga_draft_examples: %s\n", err);
		return 1;
	}
	snprintf(path, sizeof(path), "%s/geo/stations.example.geojson", src);
	if (registry_load(path, geo, &reg, err, sizeof(err)) != GA_OK ||
	    thresholds_load(NULL, &th, err, sizeof(err)) != GA_OK) {
		fprintf(stderr, "ga_draft_examples: %s\n", err);
		return 1;
	}
	snprintf(path, sizeof(path), "%s/alerts/templates", src);
	if (draft_templates_load(path, &tpl, err, sizeof(err)) != GA_OK) {
		fprintf(stderr, "ga_draft_examples: %s\n", err);
		return 1;
	}
	if (time_parse_rfc3339(EX_NOW, &ctx.now_ms, NULL) != GA_OK)
		return 1;
	ctx.geo = geo;

	printf("# Alert text examples\n\n");
	printf("Generated by `tests/tools/ga_draft_examples` (`build/tests/ga_draft_examples "
	       ". > docs/alert-examples.md`)\nfrom the templates in `alerts/templates/`; "
	       "do not edit by hand. Reporter names and phones in the\ninput reports never "
	       "reach the text.\n\n");

	/* 1. The spec's large landslide danger: tests/data report + registry figures. */
	snprintf(path, sizeof(path), "%s/tests/data/report-danger-registry.json", src);
	json = ex_read(path, &len);
	ctx.registry = reg;
	ex_parse(&ctx, json, len, &danger[0]);
	free(json);
	ex_incident(th, danger, 1, &inc);
	ex_input(&in, &inc, danger, 1, causes, trends, measures);
	printf("## 1. 大型滑坡险情（danger, large）\n\n");
	printf("Input: `tests/data/report-danger-registry.json` (station JS-3201-0007; "
	       "threatened people and\nproperty from its hazard point in "
	       "`geo/stations.example.geojson`: 620 people, 30000000 yuan).\n\n");
	ex_compose(tpl, &in, "alert");
	in.msg_type = DRAFT_MSG_UPDATE;
	in.prev_level = LEVEL_MEDIUM;
	ex_compose(tpl, &in, "update (previous version 中型)");
	in.msg_type = DRAFT_MSG_CANCEL;
	ex_compose(tpl, &in, "cancel");

	/* 2. An extra-large debris-flow disaster from two stations. */
	ctx.registry = NULL;
	for (size_t i = 0; i < 2; i++)
		ex_parse(&ctx, ex_debris[i], strlen(ex_debris[i]), &debris[i]);
	ex_incident(th, debris, 2, &inc);
	ex_input(&in, &inc, debris, 2, causes, trends, measures);
	printf("## 2. 特大型泥石流灾情（disaster, extra_large）\n\n");
	printf("Input: two disaster reports of one gully (in `tests/tools/ga_draft_examples.c`): "
	       "3 dead, 2 missing,\n6 injured, 860 relocated, direct loss 12500000 yuan; the "
	       "same cause from both (given once),\ndifferent measures (joined with “；”).\n\n");
	ex_compose(tpl, &in, "alert");
	/* its update after a version that had 1 dead and no injured figure */
	struct figures before = inc.figures;
	before.value[FIG_DEATHS] = 1;
	before.set &= ~(1u << FIG_INJURED);
	in.msg_type = DRAFT_MSG_UPDATE;
	in.prev_level = LEVEL_EXTRA_LARGE;
	in.prev_kind = KIND_DISASTER;
	in.prev_figures = &before;
	ex_compose(tpl, &in, "update (previous version: 1 dead, injured not yet reported)");

	/* 3. A warning (kind warning, spec §12) from the crack meter of issue 13. */
	struct figures hp = {0};
	struct draft_warning_input w = {
	    .msg_type = DRAFT_MSG_ALERT,
	    .level = LEVEL_LARGE, /* orange by rank */
	    .prev_level = -1,
	    .hazard_type = HAZARD_LANDSLIDE,
	    .station_name = "浦口区永宁街道青山村后山滑坡",
	    .admin_name = "江苏省南京市浦口区",
	    .observed_ms = 1796617800000LL, /* 2026-12-07T04:30:00Z */
	    .utc_offset_min = 480,
	    .device_code = "SK00EA0D1307986",
	    .channel = "L1_LF_1",
	    .metric = "change_24h",
	    .value = 10.25,
	    .threshold = 10,
	    .rate_per_day = 12.0,
	    .clear_after_s = 6 * 3600,
	    .figures = &hp,
	    .sender = "江苏省自然资源厅",
	};
	hp.value[FIG_THREATENED_PEOPLE] = 620;
	hp.value[FIG_THREATENED_PROPERTY_CNY] = 30000000;
	hp.set = (1u << FIG_THREATENED_PEOPLE) | (1u << FIG_THREATENED_PROPERTY_CNY);
	printf("## 3. 滑坡监测预警（warning, orange 警戒级）\n\n");
	printf("Input: the crack meter of issue 13 (docs/devices.md, \"Drafts\"): 24 h change "
	       "10.25 mm past the\norange threshold 10 mm, the series rising 12 mm a day; "
	       "threatened figures from the\nstation registry. Templates "
	       "`alerts/templates/warning_*.txt`.\n\n");
	ex_warning(tpl, &w, "alert");
	w.msg_type = DRAFT_MSG_UPDATE;
	w.level = LEVEL_EXTRA_LARGE;
	w.prev_level = LEVEL_LARGE;
	w.value = 20.25;
	w.threshold = 20;
	ex_warning(tpl, &w, "update (red 警报级 after a published orange)");
	w.msg_type = DRAFT_MSG_CANCEL;
	w.value = NAN;
	w.threshold = NAN;
	ex_warning(tpl, &w, "cancel (below blue for clear_after 6h)");

	report_cleanup(&danger[0]);
	report_cleanup(&debris[0]);
	report_cleanup(&debris[1]);
	draft_templates_free(tpl);
	thresholds_free(th);
	registry_free(reg);
	geo_free(geo);
	return 0;
}
