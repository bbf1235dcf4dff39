#include "hazard.h"

#include <string.h>

static const char *const kind_names[KIND_COUNT] = {"danger", "disaster", "warning"};
static const char *const kind_zhs[KIND_COUNT] = {"险情", "灾情", "监测预警"};
static const char *const hazard_names[HAZARD_COUNT] = {
    "collapse", "landslide", "debris_flow", "ground_collapse", "ground_fissure", "land_subsidence"};
static const char *const hazard_zhs[HAZARD_COUNT] = {"崩塌",	 "滑坡",   "泥石流",
						     "地面塌陷", "地裂缝", "地面沉降"};
static const char *const level_names[LEVEL_COUNT] = {"small", "medium", "large", "extra_large"};
static const char *const level_zhs[LEVEL_COUNT] = {"小型", "中型", "大型", "特大型"};
static const char *const level_responses[LEVEL_COUNT] = {"IV", "III", "II", "I"};
static const char *const level_colors[LEVEL_COUNT] = {"blue", "yellow", "orange", "red"};
static const char *const warning_level_zhs[LEVEL_COUNT] = {"注意级", "警示级", "警戒级", "警报级"};
static const char *const figure_names[FIG_COUNT] = {"deaths",
						    "missing",
						    "injured",
						    "relocated_people",
						    "direct_loss_cny",
						    "threatened_people",
						    "threatened_property_cny"};

static const char *pick(const char *const *t, int n, int i)
{
	return (i >= 0 && i < n) ? t[i] : "unknown";
}

static int find(const char *const *t, int n, const char *s)
{
	if (!s)
		return -1;
	for (int i = 0; i < n; i++)
		if (strcmp(t[i], s) == 0)
			return i;
	return -1;
}

const char *kind_name(enum kind k)
{
	return pick(kind_names, KIND_COUNT, (int)k);
}
const char *kind_zh(enum kind k)
{
	return pick(kind_zhs, KIND_COUNT, (int)k);
}
const char *hazard_type_name(enum hazard_type h)
{
	return pick(hazard_names, HAZARD_COUNT, (int)h);
}
const char *hazard_type_zh(enum hazard_type h)
{
	return pick(hazard_zhs, HAZARD_COUNT, (int)h);
}
const char *level_name(enum level l)
{
	return pick(level_names, LEVEL_COUNT, (int)l);
}
const char *level_zh(enum level l)
{
	return pick(level_zhs, LEVEL_COUNT, (int)l);
}
const char *level_response(enum level l)
{
	return pick(level_responses, LEVEL_COUNT, (int)l);
}
const char *level_color(enum level l)
{
	return pick(level_colors, LEVEL_COUNT, (int)l);
}
const char *figure_name(enum figure f)
{
	return pick(figure_names, FIG_COUNT, (int)f);
}
const char *warning_level_name(enum level l)
{
	return pick(level_colors, LEVEL_COUNT, (int)l);
}
const char *warning_level_zh(enum level l)
{
	return pick(warning_level_zhs, LEVEL_COUNT, (int)l);
}
bool figure_is_count(enum figure f)
{
	return f != FIG_DIRECT_LOSS_CNY && f != FIG_THREATENED_PROPERTY_CNY;
}
int kind_from_name(const char *s)
{
	return find(kind_names, KIND_COUNT, s);
}
int hazard_type_from_name(const char *s)
{
	return find(hazard_names, HAZARD_COUNT, s);
}
int level_from_name(const char *s)
{
	return find(level_names, LEVEL_COUNT, s);
}
int figure_from_name(const char *s)
{
	return find(figure_names, FIG_COUNT, s);
}
