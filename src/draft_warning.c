/* draft_warning.c - the text of a warning (kind warning, spec §12) from
 * the reading that explains a hazard point's monitoring level: which
 * instrument, which measure, its value, the threshold passed and by how
 * much, and the series' trend. The wording is in
 * alerts/templates/warning_*.txt; this file only makes the values (the
 * instruments', measures' and units' names are the §12 vocabulary, like
 * hazard.c's). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "draft.h"
#include "draft_internal.h"
#include "draft_template.h"

#define DW_NUM_MAX 64

static const char *const dw_files[SEC_COUNT] = {
    "warning_headline.txt", "warning_situation.txt", "warning_causes.txt",
    "warning_response.txt", "warning_trend.txt",
};

/* The values the warning templates can use (alerts/templates/README.md). */
enum dw_var {
	W_ALERT,
	W_UPDATE,
	W_CANCEL,
	W_BLUE,
	W_YELLOW,
	W_ORANGE,
	W_RED,
	W_WARNING_LEVEL_ZH,
	W_PREV_WARNING_LEVEL_ZH,
	W_LEVEL_MOVE,
	W_COLOR_ZH,
	W_HAZARD_ZH,
	W_STATION,
	W_ADMIN_NAME,
	W_LOCATION,
	W_TIME,
	W_INSTRUMENT,
	W_DEVICE_CODE,
	W_CHANNEL,
	W_MEASURE,
	W_VALUE,
	W_THRESHOLD,
	W_OVER,
	W_RATE,
	W_RISING,
	W_FALLING,
	W_STEADY,
	W_CLEAR_AFTER,
	W_THREATENED_PEOPLE,
	W_THREATENED_PROPERTY,
	W_CAUSES_DEFAULT,
	W_ADVICE,
	W_SENDER,
	W_COUNT
};

static const char *const dw_vars[W_COUNT] = {
    [W_ALERT] = "alert",
    [W_UPDATE] = "update",
    [W_CANCEL] = "cancel",
    [W_BLUE] = "blue",
    [W_YELLOW] = "yellow",
    [W_ORANGE] = "orange",
    [W_RED] = "red",
    [W_WARNING_LEVEL_ZH] = "warning_level_zh",
    [W_PREV_WARNING_LEVEL_ZH] = "prev_warning_level_zh",
    [W_LEVEL_MOVE] = "level_move",
    [W_COLOR_ZH] = "color_zh",
    [W_HAZARD_ZH] = "hazard_zh",
    [W_STATION] = "station",
    [W_ADMIN_NAME] = "admin_name",
    [W_LOCATION] = "location",
    [W_TIME] = "time",
    [W_INSTRUMENT] = "instrument",
    [W_DEVICE_CODE] = "device_code",
    [W_CHANNEL] = "channel",
    [W_MEASURE] = "measure",
    [W_VALUE] = "value",
    [W_THRESHOLD] = "threshold",
    [W_OVER] = "over",
    [W_RATE] = "rate",
    [W_RISING] = "rising",
    [W_FALLING] = "falling",
    [W_STEADY] = "steady",
    [W_CLEAR_AFTER] = "clear_after",
    [W_THREATENED_PEOPLE] = "threatened_people",
    [W_THREATENED_PROPERTY] = "threatened_property",
    [W_CAUSES_DEFAULT] = "causes_default",
    [W_ADVICE] = "advice",
    [W_SENDER] = "sender",
};

/* §12's channel kinds: the instrument and the unit of its values. */
static const struct {
	const char *prefix, *instrument, *unit;
} dw_kinds[] = {
    {"L1_LF_", "裂缝计", "毫米"}, {"L1_GP_", "GNSS监测站", "毫米"}, {"L1_QJ_", "倾角计", "度"},
    {"L1_JS_", "加速度计", "mg"}, {"L1_SW_", "深部位移计", "毫米"}, {"L3_YL_", "雨量计", "毫米"},
    {"L4_NW_", "泥水位计", "米"},
};

static const struct {
	const char *metric, *measure;
} dw_measures[] = {
    {"value", "读数"},		 {"change_24h", "24小时变化量"}, {"rate_per_day", "变化速率"},
    {"sum_1h", "1小时累计雨量"}, {"sum_24h", "24小时累计雨量"},	 {"tangent_angle", "改进切线角"},
};

static const char *const dw_color_zh[LEVEL_COUNT] = {"蓝色", "黄色", "橙色", "红色"};

const char *draft_warning_file(int i)
{
	return i >= 0 && i < SEC_COUNT ? dw_files[i] : "";
}

int draft_warning_var_lookup(const char *name, size_t len)
{
	for (int i = 0; i < W_COUNT; i++)
		if (strlen(dw_vars[i]) == len && memcmp(dw_vars[i], name, len) == 0)
			return i;
	return -1;
}

/* v with up to two decimals, trailing zeros trimmed, then unit:
 * 10.25 -> "10.25毫米", 12.0 -> "12毫米", -0.001 -> "0毫米". */
static char *dw_number(double v, const char *unit, char *buf, size_t len)
{
	char *dot;
	size_t n;

	if (fabs(v) < 0.005)
		v = 0;
	snprintf(buf, len, "%.2f", v);
	if ((dot = strchr(buf, '.')) != NULL) {
		n = strlen(buf);
		while (n > 0 && buf[n - 1] == '0')
			buf[--n] = '\0';
		if (n > 0 && buf[n - 1] == '.')
			buf[--n] = '\0';
	}
	n = strlen(buf);
	snprintf(buf + n, len - n, "%s", unit);
	return buf;
}

/* "6小时", "90分钟", "2天", "45秒". */
static void dw_duration(int64_t s, char *buf, size_t len)
{
	if (s % 86400 == 0)
		snprintf(buf, len, "%lld天", (long long)(s / 86400));
	else if (s % 3600 == 0)
		snprintf(buf, len, "%lld小时", (long long)(s / 3600));
	else if (s % 60 == 0)
		snprintf(buf, len, "%lld分钟", (long long)(s / 60));
	else
		snprintf(buf, len, "%lld秒", (long long)s);
}

struct dw_values {
	const char *v[W_COUNT];
	char time[DW_NUM_MAX * 2], location[GEO_NAME_MAX + 512];
	char value[DW_NUM_MAX], threshold[DW_NUM_MAX], over[DW_NUM_MAX], rate[DW_NUM_MAX];
	char clear[DW_NUM_MAX], people[DW_NUM_MAX], property[DW_NUM_MAX];
};

static void dw_values_make(const struct draft_templates *t, const struct draft_warning_input *in,
			   struct dw_values *dv)
{
	static const enum dw_var level_flag[LEVEL_COUNT] = {W_BLUE, W_YELLOW, W_ORANGE, W_RED};
	const char *instrument = "监测设备", *unit = "", *measure = NULL, *vunit;
	const char *channel = in->channel ? in->channel : "";
	const char *metric = in->metric ? in->metric : "";
	const char *station = in->station_name ? in->station_name : "";

	memset(dv, 0, sizeof(*dv));
	dv->v[in->msg_type == DRAFT_MSG_UPDATE	 ? W_UPDATE
	      : in->msg_type == DRAFT_MSG_CANCEL ? W_CANCEL
						 : W_ALERT] = "1";
	dv->v[level_flag[in->level]] = "1";
	dv->v[W_WARNING_LEVEL_ZH] = warning_level_zh(in->level);
	dv->v[W_COLOR_ZH] = dw_color_zh[in->level];
	if (in->prev_level >= 0 && in->prev_level < LEVEL_COUNT) {
		dv->v[W_PREV_WARNING_LEVEL_ZH] = warning_level_zh((enum level)in->prev_level);
		if (in->msg_type == DRAFT_MSG_UPDATE && (int)in->level != in->prev_level)
			dv->v[W_LEVEL_MOVE] = (int)in->level > in->prev_level ? "升为" : "降为";
	}
	dv->v[W_HAZARD_ZH] = hazard_type_zh(in->hazard_type);
	dv->v[W_STATION] = station;
	dv->v[W_ADMIN_NAME] = in->admin_name;
	draft_location(in->admin_name, station, dv->location, sizeof(dv->location));
	dv->v[W_LOCATION] = dv->location;
	dv->v[W_TIME] =
	    draft_format_time(in->observed_ms, in->utc_offset_min, dv->time, sizeof(dv->time));
	for (size_t i = 0; i < sizeof(dw_kinds) / sizeof(dw_kinds[0]); i++)
		if (strncmp(channel, dw_kinds[i].prefix, strlen(dw_kinds[i].prefix)) == 0) {
			instrument = dw_kinds[i].instrument;
			unit = dw_kinds[i].unit;
		}
	for (size_t i = 0; i < sizeof(dw_measures) / sizeof(dw_measures[0]); i++)
		if (strcmp(metric, dw_measures[i].metric) == 0)
			measure = dw_measures[i].measure;
	dv->v[W_INSTRUMENT] = instrument;
	dv->v[W_DEVICE_CODE] = in->device_code;
	dv->v[W_CHANNEL] = in->channel;
	dv->v[W_MEASURE] = measure;
	/* The measure's unit: degrees for the angle, per day for a rate. */
	char rate_unit[DW_NUM_MAX];
	snprintf(rate_unit, sizeof(rate_unit), "%s/天", unit);
	vunit = strcmp(metric, "tangent_angle") == 0  ? "度"
		: strcmp(metric, "rate_per_day") == 0 ? rate_unit
						      : unit;
	if (isfinite(in->value))
		dv->v[W_VALUE] = dw_number(in->value, vunit, dv->value, sizeof(dv->value));
	if (isfinite(in->threshold)) {
		dv->v[W_THRESHOLD] =
		    dw_number(in->threshold, vunit, dv->threshold, sizeof(dv->threshold));
		/* "超出" only when something is over (inclusive thresholds). */
		if (isfinite(in->value) && in->value - in->threshold >= 0.005)
			dv->v[W_OVER] =
			    dw_number(in->value - in->threshold, vunit, dv->over, sizeof(dv->over));
	}
	if (isfinite(in->rate_per_day)) {
		dv->v[W_RATE] = dw_number(in->rate_per_day, rate_unit, dv->rate, sizeof(dv->rate));
		/* As printed: a rate that prints as 0 (dw_number) is steady. */
		if (fabs(in->rate_per_day) < 0.005)
			dv->v[W_STEADY] = "1";
		else
			dv->v[in->rate_per_day > 0 ? W_RISING : W_FALLING] = "1";
	}
	if (in->clear_after_s > 0) {
		dw_duration(in->clear_after_s, dv->clear, sizeof(dv->clear));
		dv->v[W_CLEAR_AFTER] = dv->clear;
	}
	if (in->figures != NULL) {
		const struct figures *f = in->figures;
		if ((f->set & (1u << FIG_THREATENED_PEOPLE)) &&
		    isfinite(f->value[FIG_THREATENED_PEOPLE]) &&
		    f->value[FIG_THREATENED_PEOPLE] > 0) {
			snprintf(dv->people, sizeof(dv->people), "%lld",
				 llround(fmin(f->value[FIG_THREATENED_PEOPLE], 1e15)));
			dv->v[W_THREATENED_PEOPLE] = dv->people;
		}
		if ((f->set & (1u << FIG_THREATENED_PROPERTY_CNY)) &&
		    isfinite(f->value[FIG_THREATENED_PROPERTY_CNY]) &&
		    f->value[FIG_THREATENED_PROPERTY_CNY] > 0)
			dv->v[W_THREATENED_PROPERTY] =
			    draft_format_wan_yuan(f->value[FIG_THREATENED_PROPERTY_CNY],
						  dv->property, sizeof(dv->property));
	}
	dv->v[W_CAUSES_DEFAULT] = draft_templates_causes(t, in->hazard_type);
	dv->v[W_ADVICE] = draft_templates_advice(t, in->hazard_type);
	dv->v[W_SENDER] = in->sender;
}

ga_err draft_warning_compose(const struct draft_templates *t, const struct draft_warning_input *in,
			     struct draft_text *out)
{
	struct dw_values *dv = NULL;
	struct draft_text d = {0};
	char **dst[SEC_COUNT] = {&d.headline, &d.situation, &d.causes, &d.response, &d.trend};
	ga_err rc = GA_ERR_INVAL;

	memset(out, 0, sizeof(*out));
	if (t == NULL || in == NULL || in->msg_type < 0 || in->msg_type >= DRAFT_MSG_COUNT ||
	    in->level < 0 || in->level >= LEVEL_COUNT || in->hazard_type < 0 ||
	    in->hazard_type >= HAZARD_COUNT)
		goto out;
	rc = GA_ERR_NOMEM;
	if ((dv = malloc(sizeof(*dv))) == NULL)
		goto out;
	dw_values_make(t, in, dv);
	for (int i = 0; i < SEC_COUNT; i++)
		if ((rc = draft_template_render(draft_templates_warning(t, i), dv->v,
						draft_section_cap(i), dst[i], NULL)) != GA_OK)
			goto out;
	*out = d;
	memset(&d, 0, sizeof(d));
	rc = GA_OK;
out:
	free(dv);
	draft_text_cleanup(&d);
	return rc;
}
