/* test_draft_warning.c - the text of a warning (kind warning, spec §12)
 * from hand-made readings, with the bundled warning_*.txt templates:
 * instrument, measure, value, the threshold passed and by how much, the
 * trend from the series' rate, the level's wording; the update's level
 * move; the 解除; units of the other instruments; refusals. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "draft.h"

static struct draft_templates *tpl;

static int setup(void **state)
{
	char dir[1024], err[512];
	const char *src = getenv("GA_SOURCE_DIR");

	(void)state;
	snprintf(dir, sizeof(dir), "%s/alerts/templates", src ? src : GA_DATADIR);
	if (draft_templates_load(dir, &tpl, err, sizeof(err)) != GA_OK) {
		fprintf(stderr, "templates: %s\n", err);
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	draft_templates_free(tpl);
	return 0;
}

static struct figures fig;

/* The crack meter of issue 13 at orange: 24 h change 10.25 mm against
 * the orange threshold 10 mm, the series rising 12.3456 mm a day. */
static void crack_meter(struct draft_warning_input *in)
{
	memset(in, 0, sizeof(*in));
	memset(&fig, 0, sizeof(fig));
	fig.value[FIG_THREATENED_PEOPLE] = 620;
	fig.value[FIG_THREATENED_PROPERTY_CNY] = 30000000;
	fig.set = (1u << FIG_THREATENED_PEOPLE) | (1u << FIG_THREATENED_PROPERTY_CNY);
	in->msg_type = DRAFT_MSG_ALERT;
	in->level = LEVEL_LARGE; /* orange by rank */
	in->prev_level = -1;
	in->hazard_type = HAZARD_LANDSLIDE;
	in->station_name = "青山村后山滑坡";
	in->admin_name = "江苏省南京市浦口区";
	in->observed_ms = 1796617800000LL; /* 2026-12-07T04:30:00Z */
	in->utc_offset_min = 480;
	in->device_code = "SK00EA0D1307986";
	in->channel = "L1_LF_1";
	in->metric = "change_24h";
	in->value = 10.25;
	in->threshold = 10;
	in->rate_per_day = 12.3456;
	in->clear_after_s = 6 * 3600;
	in->figures = &fig;
	in->sender = "江苏省自然资源厅";
}

static void test_alert_from_readings(void **state)
{
	struct draft_warning_input in;
	struct draft_text t;

	(void)state;
	crack_meter(&in);
	assert_int_equal(draft_warning_compose(tpl, &in, &t), GA_OK);
	assert_string_equal(t.headline, "【滑坡监测预警·警戒级】江苏省南京市浦口区青山村后山滑坡");
	assert_string_equal(t.situation,
			    "2026年12月7日12时30分，江苏省南京市浦口区青山村后山滑坡裂缝计"
			    "（设备SK00EA0D1307986，通道L1_LF_1）监测到24小时变化量达10.25毫米，"
			    "已超过警戒级阈值10毫米（超出0.25毫米），监测预警等级为警戒级（橙色）。"
			    "该隐患点威胁620人生命财产安全，潜在经济损失3000万元。");
	assert_string_equal(t.trend, "近24小时裂缝计读数的变化速率约12.35毫米/天，仍在增大，"
				     "变形有加剧趋势。请关注江苏省自然资源厅后续通报。");
	/* orange's wording, then the hazard type's standing advice */
	assert_non_null(strstr(t.response, "请做好受威胁群众撤离准备"));
	assert_null(strstr(t.response, "请立即组织"));
	assert_non_null(strstr(t.response, "。请周边群众"));
	assert_string_equal(t.causes + strlen(t.causes) - strlen("。"), "。");
	assert_true(strlen(t.causes) > strlen("。"));
	draft_text_cleanup(&t);
}

static void test_update_level_move(void **state)
{
	struct draft_warning_input in;
	struct draft_text t;

	(void)state;
	crack_meter(&in);
	in.msg_type = DRAFT_MSG_UPDATE;
	in.level = LEVEL_EXTRA_LARGE;
	in.prev_level = LEVEL_LARGE;
	in.value = 20;
	in.threshold = 20; /* exactly at it: passed, nothing "超出" */
	assert_int_equal(draft_warning_compose(tpl, &in, &t), GA_OK);
	assert_string_equal(t.headline,
			    "【滑坡监测预警·警报级续报】江苏省南京市浦口区青山村后山滑坡");
	assert_non_null(strstr(t.situation, "监测预警等级由警戒级升为警报级。"));
	assert_non_null(strstr(t.situation, "达20毫米，已超过警报级阈值20毫米，"));
	assert_null(strstr(t.situation, "超出"));
	assert_non_null(strstr(t.situation, "（红色）"));
	assert_non_null(strstr(t.response, "请立即组织受威胁群众撤离"));
	draft_text_cleanup(&t);
}

static void test_cancel(void **state)
{
	struct draft_warning_input in;
	struct draft_text t;

	(void)state;
	crack_meter(&in);
	in.msg_type = DRAFT_MSG_CANCEL;
	in.value = NAN;
	in.threshold = NAN;
	assert_int_equal(draft_warning_compose(tpl, &in, &t), GA_OK);
	assert_string_equal(t.headline, "【解除·滑坡监测预警】江苏省南京市浦口区青山村后山滑坡");
	assert_string_equal(t.situation,
			    "截至2026年12月7日12时30分，江苏省南京市浦口区青山村后山滑坡的监测数据"
			    "持续低于注意级阈值已满6小时，经研判，解除此前发布的滑坡监测预警。");
	assert_string_equal(t.causes, "");
	assert_string_equal(t.trend, "");
	assert_non_null(strstr(t.response, "继续注意观察"));
	draft_text_cleanup(&t);
	/* clear_after as it reads: 90 minutes */
	in.clear_after_s = 5400;
	assert_int_equal(draft_warning_compose(tpl, &in, &t), GA_OK);
	assert_non_null(strstr(t.situation, "已满90分钟，"));
	draft_text_cleanup(&t);
	/* a name that starts with the county is not said twice */
	in.station_name = "浦口区永宁街道青山村后山滑坡";
	assert_int_equal(draft_warning_compose(tpl, &in, &t), GA_OK);
	assert_string_equal(t.headline,
			    "【解除·滑坡监测预警】江苏省南京市浦口区永宁街道青山村后山滑坡");
	draft_text_cleanup(&t);
}

static void test_trend_and_units(void **state)
{
	struct draft_warning_input in;
	struct draft_text t;

	(void)state;
	/* falling, steady (prints as 0), unknown */
	crack_meter(&in);
	in.rate_per_day = -3.5;
	assert_int_equal(draft_warning_compose(tpl, &in, &t), GA_OK);
	assert_non_null(strstr(t.trend, "约-3.5毫米/天，呈减小趋势。"));
	draft_text_cleanup(&t);
	in.rate_per_day = 0.004;
	assert_int_equal(draft_warning_compose(tpl, &in, &t), GA_OK);
	assert_non_null(strstr(t.trend, "约0毫米/天，基本平稳。"));
	draft_text_cleanup(&t);
	in.rate_per_day = NAN;
	assert_int_equal(draft_warning_compose(tpl, &in, &t), GA_OK);
	assert_string_equal(t.trend, "请关注江苏省自然资源厅后续通报。");
	draft_text_cleanup(&t);

	/* a rain gauge's 24 h sum, yellow */
	crack_meter(&in);
	in.channel = "L3_YL_1";
	in.metric = "sum_24h";
	in.level = LEVEL_MEDIUM;
	in.value = 52.5;
	in.threshold = 50;
	in.figures = NULL;
	assert_int_equal(draft_warning_compose(tpl, &in, &t), GA_OK);
	assert_non_null(strstr(t.situation, "雨量计（设备SK00EA0D1307986，通道L3_YL_1）监测到"
					    "24小时累计雨量达52.5毫米，已超过警示级阈值50毫米"
					    "（超出2.5毫米），监测预警等级为警示级（黄色）。"));
	assert_null(strstr(t.situation, "威胁"));
	assert_non_null(strstr(t.response, "请加强巡查和监测"));
	draft_text_cleanup(&t);

	/* GNSS: a rate per day and the tangent angle in degrees */
	in.channel = "L1_GP_1";
	in.metric = "rate_per_day";
	in.value = 31;
	in.threshold = 30;
	assert_int_equal(draft_warning_compose(tpl, &in, &t), GA_OK);
	assert_non_null(strstr(t.situation, "GNSS监测站"));
	assert_non_null(strstr(t.situation, "变化速率达31毫米/天，已超过警示级阈值30毫米/天"));
	draft_text_cleanup(&t);
	in.metric = "tangent_angle";
	in.value = 85.126;
	in.threshold = 85;
	assert_int_equal(draft_warning_compose(tpl, &in, &t), GA_OK);
	assert_non_null(
	    strstr(t.situation, "改进切线角达85.13度，已超过警示级阈值85度（超出0.13度）"));
	draft_text_cleanup(&t);
}

static void test_refusals(void **state)
{
	struct draft_warning_input in;
	struct draft_text t;

	(void)state;
	crack_meter(&in);
	in.level = LEVEL_COUNT;
	assert_int_equal(draft_warning_compose(tpl, &in, &t), GA_ERR_INVAL);
	assert_null(t.headline);
	crack_meter(&in);
	in.msg_type = DRAFT_MSG_COUNT;
	assert_int_equal(draft_warning_compose(tpl, &in, &t), GA_ERR_INVAL);
	crack_meter(&in);
	in.hazard_type = HAZARD_COUNT;
	assert_int_equal(draft_warning_compose(tpl, &in, &t), GA_ERR_INVAL);
	assert_int_equal(draft_warning_compose(NULL, &in, &t), GA_ERR_INVAL);
	/* the kinds' names: a report can never be a warning */
	assert_string_equal(kind_name(KIND_WARNING), "warning");
	assert_int_equal(kind_from_name("warning"), KIND_WARNING);
	assert_true(KIND_WARNING >= KIND_REPORT_COUNT);
	assert_string_equal(warning_level_name(LEVEL_LARGE), "orange");
	assert_string_equal(warning_level_zh(LEVEL_EXTRA_LARGE), "警报级");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_alert_from_readings),
	    cmocka_unit_test(test_update_level_move),
	    cmocka_unit_test(test_cancel),
	    cmocka_unit_test(test_trend_and_units),
	    cmocka_unit_test(test_refusals),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
