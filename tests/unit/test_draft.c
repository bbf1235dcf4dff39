/* test_draft.c - alert text composition (issue 4 Drafts): the bundled
 * templates render the spec's example exactly, figures appear only when
 * reported, 万元 formatting, update and cancel texts, caps on UTF-8
 * boundaries, load errors naming file:line, standing advice for every
 * hazard type; and the template language itself. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "draft.h"
#include "draft_template.h"
#include "timeutil.h"

#define T_PATH_MAX 1024

static const char *const t_files[] = {
    "headline.txt",	  "situation.txt",	  "causes.txt",		  "response.txt",
    "trend.txt",	  "hazards.txt",	  "warning_headline.txt", "warning_situation.txt",
    "warning_causes.txt", "warning_response.txt", "warning_trend.txt"};
#define T_NFILES (sizeof(t_files) / sizeof(t_files[0]))

static char tmpdir[64];
static struct draft_templates *tpl;

static const char *bundled_dir(char *buf, size_t len)
{
	const char *src = getenv("GA_SOURCE_DIR");

	snprintf(buf, len, "%s/alerts/templates", src ? src : GA_DATADIR);
	return buf;
}

static int setup(void **state)
{
	char dir[T_PATH_MAX], err[512];

	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/ga-draft-XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	if (draft_templates_load(bundled_dir(dir, sizeof(dir)), &tpl, err, sizeof(err)) != GA_OK) {
		fprintf(stderr, "templates: %s\n", err);
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	char path[T_PATH_MAX];

	(void)state;
	for (size_t i = 0; i < T_NFILES; i++) {
		snprintf(path, sizeof(path), "%s/%s", tmpdir, t_files[i]);
		unlink(path);
	}
	rmdir(tmpdir);
	draft_templates_free(tpl);
	return 0;
}

static void set_fig(struct incident *inc, enum figure f, double v)
{
	inc->figures.value[f] = v;
	inc->figures.set |= 1u << f;
}

/* The spec's example: 大型 landslide danger in 浦口区, registry figures. */
static void spec_incident(struct incident *inc)
{
	memset(inc, 0, sizeof(*inc));
	snprintf(inc->id, sizeof(inc->id), "JS-20261126-0003");
	inc->hazard_type = HAZARD_LANDSLIDE;
	snprintf(inc->admin_code, sizeof(inc->admin_code), "320111");
	assert_int_equal(
	    time_parse_rfc3339("2026-11-26T14:52:00+08:00", &inc->first_observed_ms, NULL), GA_OK);
	inc->level = LEVEL_LARGE;
	set_fig(inc, FIG_THREATENED_PEOPLE, 620);
	set_fig(inc, FIG_THREATENED_PROPERTY_CNY, 30000000);
}

static void spec_input(struct draft_input *in, const struct incident *inc)
{
	draft_input_init(in, inc);
	in->admin_name = "江苏省南京市浦口区";
	in->place = "浦口区永宁街道青山村后山";
	in->sender = "江苏省自然资源厅";
	in->volume_m3 = 120000;
}

static void compose(const struct draft_input *in, struct draft_text *d)
{
	assert_int_equal(draft_compose(tpl, in, d), GA_OK);
	assert_non_null(d->headline);
	assert_non_null(d->situation);
	assert_non_null(d->causes);
	assert_non_null(d->response);
	assert_non_null(d->trend);
}

/* Appends s to the NUL-terminated buf of size bytes (must fit). */
static void append(char *buf, size_t size, const char *s)
{
	size_t n = strlen(buf), sl = strlen(s);

	assert_true(n + sl < size);
	memcpy(buf + n, s, sl + 1);
}

static void assert_contains(const char *s, const char *needle)
{
	if (strstr(s, needle) == NULL)
		fail_msg("\"%s\" not in \"%s\"", needle, s);
}

static void assert_lacks(const char *s, const char *needle)
{
	if (strstr(s, needle) != NULL)
		fail_msg("\"%s\" unexpectedly in \"%s\"", needle, s);
}

static void test_headline_spec_example(void **state)
{
	struct incident inc;
	struct draft_input in;
	struct draft_text d;

	(void)state;
	spec_incident(&inc);
	spec_input(&in, &inc);
	compose(&in, &d);
	assert_string_equal(d.headline, "【大型滑坡险情】江苏省南京市浦口区永宁街道青山村后山");
	assert_contains(d.situation, "2026年11月26日14时52分，江苏省南京市浦口区永宁街道青山村后山"
				     "发现滑坡险情");
	assert_contains(d.situation, "体积约12万立方米");
	assert_contains(d.situation, "威胁620人生命财产安全，潜在经济损失3000万元");
	assert_contains(d.situation, "规模等级为大型（Ⅱ级响应）");
	assert_lacks(d.situation, "死亡");
	/* No causes/trend/measures in the reports: the defaults. */
	assert_string_equal(d.causes, "滑坡引发因素正在调查核实中。");
	assert_contains(d.trend, "请关注江苏省自然资源厅后续通报");
	assert_contains(d.response, draft_templates_advice(tpl, HAZARD_LANDSLIDE));
	draft_text_cleanup(&d);
	draft_text_cleanup(&d); /* twice is harmless */

	/* Place not repeating the county, place repeating the full name, no place. */
	in.place = "永宁街道青山村后山";
	compose(&in, &d);
	assert_string_equal(d.headline, "【大型滑坡险情】江苏省南京市浦口区永宁街道青山村后山");
	draft_text_cleanup(&d);
	in.place = "江苏省南京市浦口区永宁街道";
	compose(&in, &d);
	assert_string_equal(d.headline, "【大型滑坡险情】江苏省南京市浦口区永宁街道");
	draft_text_cleanup(&d);
	in.place = "南京市浦口区永宁街道";
	compose(&in, &d);
	assert_string_equal(d.headline, "【大型滑坡险情】江苏省南京市浦口区永宁街道");
	draft_text_cleanup(&d);
	/* "区" alone is not a county name: no merge in the middle of one. */
	in.place = "区政府西侧";
	compose(&in, &d);
	assert_string_equal(d.headline, "【大型滑坡险情】江苏省南京市浦口区区政府西侧");
	draft_text_cleanup(&d);
	in.place = NULL;
	compose(&in, &d);
	assert_string_equal(d.headline, "【大型滑坡险情】江苏省南京市浦口区");
	draft_text_cleanup(&d);
	in.admin_name = NULL;
	compose(&in, &d);
	assert_string_equal(d.headline, "【大型滑坡险情】地点待核实");
	draft_text_cleanup(&d);
}

static void test_disaster_figures(void **state)
{
	struct incident inc;
	struct draft_input in;
	struct draft_text d;

	(void)state;
	spec_incident(&inc);
	inc.figures.set = 0;
	inc.hazard_type = HAZARD_DEBRIS_FLOW;
	inc.has_disaster = true;
	inc.level = LEVEL_EXTRA_LARGE;
	set_fig(&inc, FIG_DEATHS, 3);
	set_fig(&inc, FIG_MISSING, 2);
	set_fig(&inc, FIG_DIRECT_LOSS_CNY, 12500000);
	spec_input(&in, &inc);
	assert_int_equal(in.kind, KIND_DISASTER);
	compose(&in, &d);
	assert_string_equal(d.headline, "【特大型泥石流灾情】江苏省南京市浦口区永宁街道青山村后山");
	assert_contains(d.situation, "发生泥石流地质灾害");
	assert_contains(d.situation, "造成3人死亡、2人失踪，直接经济损失1250万元");
	assert_contains(d.situation, "灾情规模等级为特大型（Ⅰ级响应）");
	assert_lacks(d.situation, "受伤");
	assert_lacks(d.situation, "威胁");
	assert_lacks(d.situation, "未造成");
	draft_text_cleanup(&d);

	/* Zero deaths are not printed as "0人死亡"; injured only. */
	inc.figures.set = 0;
	set_fig(&inc, FIG_DEATHS, 0);
	set_fig(&inc, FIG_INJURED, 4);
	compose(&in, &d);
	assert_contains(d.situation, "造成4人受伤。");
	assert_lacks(d.situation, "死亡");
	assert_lacks(d.situation, "经济损失");
	draft_text_cleanup(&d);

	/* Loss only: no dangling "造成". */
	inc.figures.set = 0;
	set_fig(&inc, FIG_DIRECT_LOSS_CNY, 1800000);
	in.volume_m3 = 0;
	compose(&in, &d);
	assert_contains(d.situation, "地质灾害，直接经济损失180万元。");
	assert_lacks(d.situation, "造成");
	draft_text_cleanup(&d);

	/* All three reported as zero: 未造成人员伤亡. */
	inc.figures.set = 0;
	set_fig(&inc, FIG_DEATHS, 0);
	set_fig(&inc, FIG_MISSING, 0);
	set_fig(&inc, FIG_INJURED, 0);
	set_fig(&inc, FIG_RELOCATED_PEOPLE, 860);
	compose(&in, &d);
	assert_contains(d.situation, "未造成人员伤亡");
	assert_contains(d.response, "已转移安置群众860人");
	draft_text_cleanup(&d);
}

static void test_wan_yuan(void **state)
{
	static const struct {
		double yuan;
		const char *want;
	} cases[] = {
	    {30000000, "3000万元"},
	    {1800000, "180万元"},
	    {12345, "1.23万元"},
	    {12350, "1.24万元"},
	    {15000, "1.5万元"},
	    {10000, "1万元"},
	    {100, "0.01万元"},
	    {49, "49元"},
	    {0, "0万元"},
	    {-5, "0万元"},
	    {123456789, "12345.68万元"},
	    {99999999, "10000万元"},
	    {1e30, "100000000000万元"},
	};
	char buf[64];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_string_equal(draft_format_wan_yuan(cases[i].yuan, buf, sizeof(buf)),
				    cases[i].want);
	assert_string_equal(draft_format_quantity(120000, "立方米", buf, sizeof(buf)),
			    "12万立方米");
	assert_string_equal(draft_format_quantity(45000, "立方米", buf, sizeof(buf)),
			    "4.5万立方米");
	assert_string_equal(draft_format_quantity(9999, "平方米", buf, sizeof(buf)), "9999平方米");
	assert_string_equal(draft_format_quantity(3500.4, "平方米", buf, sizeof(buf)),
			    "3500平方米");
}

static void test_time_format(void **state)
{
	char buf[64];
	int64_t ms;

	(void)state;
	assert_int_equal(time_parse_rfc3339("2026-11-26T06:52:59Z", &ms, NULL), GA_OK);
	assert_string_equal(draft_format_time(ms, 480, buf, sizeof(buf)), "2026年11月26日14时52分");
	assert_string_equal(draft_format_time(ms, 0, buf, sizeof(buf)), "2026年11月26日6时52分");
	assert_int_equal(time_parse_rfc3339("2026-03-05T20:04:00Z", &ms, NULL), GA_OK);
	assert_string_equal(draft_format_time(ms, 480, buf, sizeof(buf)), "2026年3月6日4时4分");
	assert_string_equal(draft_format_time(ms, -330, buf, sizeof(buf)), "2026年3月5日14时34分");
	/* Before the epoch: floor, not truncation toward zero. */
	assert_string_equal(draft_format_time(-1, 0, buf, sizeof(buf)), "1969年12月31日23时59分");
}

static void test_update_level_change(void **state)
{
	struct incident inc;
	struct draft_input in;
	struct draft_text d;

	(void)state;
	spec_incident(&inc);
	spec_input(&in, &inc);
	in.msg_type = DRAFT_MSG_UPDATE;
	in.prev_level = LEVEL_MEDIUM;
	compose(&in, &d);
	assert_string_equal(d.headline, "【大型滑坡险情续报】江苏省南京市浦口区永宁街道青山村后山");
	assert_contains(d.situation, "险情规模等级由中型升为大型");
	draft_text_cleanup(&d);

	inc.level = LEVEL_MEDIUM;
	in.prev_level = LEVEL_LARGE;
	compose(&in, &d);
	assert_contains(d.situation, "险情规模等级由大型降为中型（Ⅲ级响应）");
	draft_text_cleanup(&d);

	/* Same level, or a first alert: no change sentence. */
	in.prev_level = LEVEL_MEDIUM;
	compose(&in, &d);
	assert_lacks(d.situation, "由中型");
	assert_contains(d.situation, "规模等级为中型（Ⅲ级响应）");
	draft_text_cleanup(&d);
	in.msg_type = DRAFT_MSG_ALERT;
	in.prev_level = LEVEL_SMALL;
	compose(&in, &d);
	assert_lacks(d.situation, "升为");
	assert_lacks(d.headline, "续报");
	draft_text_cleanup(&d);
}

static void test_cancel(void **state)
{
	struct incident inc;
	struct draft_input in;
	struct draft_text d;

	(void)state;
	spec_incident(&inc);
	spec_input(&in, &inc);
	in.msg_type = DRAFT_MSG_CANCEL;
	compose(&in, &d);
	assert_string_equal(d.headline, "【解除】江苏省南京市浦口区永宁街道青山村后山大型滑坡险情");
	assert_contains(d.situation, "现解除此前发布的险情信息");
	assert_contains(d.situation, "2026年11月26日14时52分");
	assert_lacks(d.situation, "威胁");
	assert_string_equal(d.causes, "");
	assert_string_equal(d.trend, "");
	assert_true(strlen(d.response) > 0);
	draft_text_cleanup(&d);
}

static void test_texts_combined(void **state)
{
	static const char *const causes[] = {"持续强降雨。", NULL, "持续强降雨", " 工程切坡；",
					     "持续强降雨"};
	static const char *const measures[] = {"已撤离群众", "已封闭道路", "已撤离群众。"};
	static const char *const trends[] = {"", "  "};
	struct incident inc;
	struct draft_input in;
	struct draft_text d;

	(void)state;
	spec_incident(&inc);
	spec_input(&in, &inc);
	in.causes = causes, in.ncauses = 5;
	in.measures = measures, in.nmeasures = 3;
	in.trends = trends, in.ntrends = 2;
	compose(&in, &d);
	assert_string_equal(d.causes, "经初步分析，引发因素为：持续强降雨；工程切坡。");
	assert_contains(d.response, "目前，已撤离群众；已封闭道路。");
	assert_lacks(d.trend, "据研判");
	assert_string_equal(d.trend, "请关注江苏省自然资源厅后续通报。");
	draft_text_cleanup(&d);
}

/* Every prefix cut of a mixed 1/2/3/4-byte string stays valid UTF-8. */
static void test_utf8_cap(void **state)
{
	const char *mixed = "a滑é坡😀b险情";
	char buf[64], big[8192];
	struct incident inc;
	struct draft_input in;
	struct draft_text d;
	const char *measures[DRAFT_MAX_TEXTS + 2];
	char *texts[DRAFT_MAX_TEXTS + 2];
	size_t n = strlen(mixed);

	(void)state;
	for (size_t cap = 0; cap <= n + 1; cap++) {
		snprintf(buf, sizeof(buf), "%s", mixed);
		assert_int_equal(draft_utf8_fit(buf, cap), cap < n);
		assert_true(strlen(buf) <= cap || cap >= n);
		assert_true(draft_utf8_valid(buf, strlen(buf)));
	}
	assert_false(draft_utf8_valid("\xe6\xbb", 2));	   /* cut character */
	assert_false(draft_utf8_valid("\xc0\xaf", 2));	   /* overlong */
	assert_false(draft_utf8_valid("\xed\xa0\x80", 3)); /* surrogate */

	/* A 200-character place: the headline is cut at 120 bytes. */
	spec_incident(&inc);
	spec_input(&in, &inc);
	big[0] = '\0';
	for (int i = 0; i < 200; i++)
		append(big, sizeof(big), i % 3 ? "村" : "é");
	in.place = big;
	compose(&in, &d);
	assert_true(strlen(d.headline) <= DRAFT_HEADLINE_MAX);
	assert_true(strlen(d.headline) >= DRAFT_HEADLINE_MAX - 3);
	assert_true(draft_utf8_valid(d.headline, strlen(d.headline)));
	assert_non_null(strstr(d.headline, "…"));
	assert_true(strlen(d.situation) <= DRAFT_TEXT_MAX);
	assert_true(draft_utf8_valid(d.situation, strlen(d.situation)));
	draft_text_cleanup(&d);

	/* More than DRAFT_MAX_TEXTS distinct 2000-character measures: the
	 * response is cut at 4000 bytes, on a character boundary. */
	big[0] = '\0';
	for (int i = 0; i < 2000; i++)
		append(big, sizeof(big), "撤");
	for (size_t i = 0; i < DRAFT_MAX_TEXTS + 2; i++) {
		texts[i] = malloc(sizeof(big) + 32);
		assert_non_null(texts[i]);
		snprintf(texts[i], sizeof(big) + 32, "%zu%s", i, big);
		measures[i] = texts[i];
	}
	in.place = "永宁街道";
	in.measures = measures;
	in.nmeasures = DRAFT_MAX_TEXTS + 2;
	compose(&in, &d);
	assert_true(strlen(d.response) <= DRAFT_TEXT_MAX);
	assert_true(strlen(d.response) > DRAFT_TEXT_MAX - 8);
	assert_true(draft_utf8_valid(d.response, strlen(d.response)));
	assert_contains(d.response, "…");
	draft_text_cleanup(&d);
	for (size_t i = 0; i < DRAFT_MAX_TEXTS + 2; i++)
		free(texts[i]);
}

static void test_advice_every_hazard(void **state)
{
	struct incident inc;
	struct draft_input in;
	struct draft_text d;

	(void)state;
	spec_incident(&inc);
	spec_input(&in, &inc);
	for (int h = 0; h < HAZARD_COUNT; h++) {
		const char *a = draft_templates_advice(tpl, (enum hazard_type)h);
		assert_true(strlen(a) > 20);
		assert_true(draft_utf8_valid(a, strlen(a)));
		for (int o = 0; o < h; o++)
			assert_string_not_equal(a,
						draft_templates_advice(tpl, (enum hazard_type)o));
		inc.hazard_type = (enum hazard_type)h;
		compose(&in, &d);
		assert_contains(d.response, a);
		assert_contains(d.headline, hazard_type_zh((enum hazard_type)h));
		draft_text_cleanup(&d);
	}
	assert_contains(draft_templates_advice(tpl, HAZARD_LANDSLIDE), "远离坡脚和陡坎");
	assert_string_equal(draft_templates_advice(tpl, HAZARD_COUNT), "");
}

/* Copies the bundled templates into tmpdir, replacing one file's text. */
static void write_set(const char *replace, const char *text)
{
	char src[T_PATH_MAX + 32], dst[T_PATH_MAX], dir[T_PATH_MAX], buf[65536 + 16];

	bundled_dir(dir, sizeof(dir));
	for (size_t i = 0; i < T_NFILES; i++) {
		FILE *in, *out;
		size_t n;

		snprintf(dst, sizeof(dst), "%s/%s", tmpdir, t_files[i]);
		unlink(dst);
		if (replace != NULL && strcmp(replace, t_files[i]) == 0 && text == NULL)
			continue; /* leave it missing */
		out = fopen(dst, "w");
		assert_non_null(out);
		if (replace != NULL && strcmp(replace, t_files[i]) == 0) {
			fputs(text, out);
		} else {
			snprintf(src, sizeof(src), "%s/%s", dir, t_files[i]);
			in = fopen(src, "r");
			assert_non_null(in);
			n = fread(buf, 1, sizeof(buf), in);
			fwrite(buf, 1, n, out);
			fclose(in);
		}
		fclose(out);
	}
}

static void expect_load_error(const char *file, const char *text, const char *want)
{
	struct draft_templates *t = NULL;
	char err[512] = "";

	write_set(file, text);
	assert_int_not_equal(draft_templates_load(tmpdir, &t, err, sizeof(err)), GA_OK);
	assert_null(t);
	if (strstr(err, want) == NULL)
		fail_msg("error \"%s\" does not contain \"%s\"", err, want);
}

static void test_load_errors(void **state)
{
	struct draft_templates *t = NULL;
	char err[512], *huge;

	(void)state;
	/* The copy itself loads. */
	write_set(NULL, NULL);
	assert_int_equal(draft_templates_load(tmpdir, &t, err, sizeof(err)), GA_OK);
	draft_templates_free(t);
	draft_templates_free(NULL);

	expect_load_error("trend.txt", NULL, "trend.txt: No such file");
	expect_load_error("hazards.txt", NULL, "hazards.txt: No such file");
	expect_load_error("headline.txt", "# c\n【{level_zh}】\n  {location}{foo}\n",
			  "headline.txt:3: unknown placeholder {foo}");
	expect_load_error("situation.txt", "{?deaths|nobody}x{/}\n",
			  "situation.txt:1: unknown placeholder {nobody}");
	expect_load_error("causes.txt", "a\n{?causes}\nb\n",
			  "causes.txt:2: {?causes} is never closed");
	expect_load_error("causes.txt", "{/}\n", "causes.txt:1: {/} closes no block");
	expect_load_error("causes.txt", "{?causes}{/trend}\n",
			  "causes.txt:1: {/trend} does not close {?causes} opened at line 1");
	expect_load_error("response.txt", "x{advice\n", "response.txt:1: unterminated placeholder");
	expect_load_error("response.txt", "x{|}\n", "response.txt:1: {|} outside a {join} block");
	expect_load_error("response.txt", "{Advice}\n", "response.txt:1: bad placeholder name");
	expect_load_error("trend.txt", "ok\n\xe6\xbb\n", "trend.txt:2: not valid UTF-8");
	expect_load_error("hazards.txt", "# x\nlandslide.advise = a\n",
			  "hazards.txt:2: unknown key \"landslide.advise\"");
	expect_load_error("hazards.txt", "landslide.advice = a\nlandslide.advice = b\n",
			  "hazards.txt:2: landslide.advice given twice");
	expect_load_error("hazards.txt", "landslide.advice = a\n",
			  "hazards.txt: collapse.advice missing");

	/* Size cap: 64 KiB passes, one byte more does not. */
	huge = malloc(DRAFT_TEMPLATE_MAX_BYTES + 2);
	assert_non_null(huge);
	memset(huge, 'a', DRAFT_TEMPLATE_MAX_BYTES);
	huge[DRAFT_TEMPLATE_MAX_BYTES] = '\0';
	write_set("trend.txt", huge);
	assert_int_equal(draft_templates_load(tmpdir, &t, err, sizeof(err)), GA_OK);
	draft_templates_free(t);
	huge[DRAFT_TEMPLATE_MAX_BYTES] = 'a';
	huge[DRAFT_TEMPLATE_MAX_BYTES + 1] = '\0';
	expect_load_error("trend.txt", huge, "trend.txt: larger than 65536 bytes");
	free(huge);
}

/* The template language on its own, with a three-value vocabulary. */
static int lang_lookup(const char *name, size_t len)
{
	static const char *const names[] = {"a", "b", "c"};

	for (int i = 0; i < 3; i++)
		if (strlen(names[i]) == len && memcmp(names[i], name, len) == 0)
			return i;
	return -1;
}

static void render(const char *text, const char *a, const char *b, const char *c, const char *want)
{
	struct draft_template *t = NULL;
	const char *vals[3] = {a, b, c};
	char err[256], *out = NULL;

	assert_int_equal(
	    draft_template_compile("t.txt", text, strlen(text), lang_lookup, &t, err, sizeof(err)),
	    GA_OK);
	assert_int_equal(draft_template_render(t, vals, 100, &out, NULL), GA_OK);
	assert_string_equal(out, want);
	free(out);
	draft_template_free(t);
}

static void test_language(void **state)
{
	struct draft_template *t = NULL;
	const char *vals[3] = {"甲", NULL, ""};
	char err[256], *out, deep[512] = "";
	bool cut;
	int depth;

	(void)state;
	render("{a}-{b}-{c}", "1", NULL, "3", "1--3");
	render("# comment\n  x{a}  \n\t  y\r\n", "1", NULL, NULL, "x1y");
	render("{?a}A{/}{!a}not A{/a}", NULL, NULL, NULL, "not A");
	render("{?b|c}some{/b|c}{!b|c}none{/}", NULL, NULL, "z", "some");
	render("{?a}{?b}ab{/b}{!b}a{/b}{/a}", "1", "", NULL, "a");
	render("[{join 、}{?a}A{a}{/}{|}{b}{|}{?c}C{c}{/}{/join}]", "1", NULL, "3", "[A1、C3]");
	render("[{join 、}{a}{|}{b}{/join}]", NULL, NULL, NULL, "[]");
	render("{join ,}{join +}{a}{|}{b}{/}{|}{c}{/}", "1", "2", "3", "1+2,3");
	render("{{a}} {br}x", NULL, NULL, NULL, "{a}} \nx");
	render("", "1", NULL, NULL, "");
	/* Values are never parsed again: braces in them stay text. */
	render("{a}", "{b}", "x", NULL, "{b}");

	/* Output cap: cut on a boundary, with "…". */
	assert_int_equal(draft_template_compile("t.txt", "{a}{a}{a}{a}{a}", 15, lang_lookup, &t,
						err, sizeof(err)),
			 GA_OK);
	assert_int_equal(draft_template_render(t, vals, 10, &out, &cut), GA_OK);
	assert_true(cut);
	assert_string_equal(out, "甲甲…");
	free(out);
	assert_int_equal(draft_template_render(t, vals, 15, &out, &cut), GA_OK);
	assert_false(cut);
	assert_string_equal(out, "甲甲甲甲甲");
	free(out);
	draft_template_free(t);

	/* Nesting cap. */
	for (depth = 0; depth < DRAFT_TEMPLATE_MAX_DEPTH + 1; depth++)
		append(deep, sizeof(deep), "{?a}");
	assert_int_equal(
	    draft_template_compile("d.txt", deep, strlen(deep), lang_lookup, &t, err, sizeof(err)),
	    GA_ERR_CONFIG);
	assert_non_null(strstr(err, "d.txt:1: blocks nested deeper than 16"));
	assert_int_equal(
	    draft_template_compile("j.txt", "{join }", 7, lang_lookup, &t, err, sizeof(err)),
	    GA_ERR_CONFIG);
	assert_int_equal(
	    draft_template_compile("n.txt", "a\0b", 3, lang_lookup, &t, err, sizeof(err)),
	    GA_ERR_CONFIG);
}

static void test_msg_type_and_inval(void **state)
{
	struct draft_input in;
	struct draft_text d;

	(void)state;
	assert_string_equal(draft_msg_type_name(DRAFT_MSG_CANCEL), "cancel");
	assert_int_equal(draft_msg_type_from_name("update"), DRAFT_MSG_UPDATE);
	assert_int_equal(draft_msg_type_from_name("Update"), -1);
	assert_int_equal(draft_msg_type_from_name(NULL), -1);
	draft_input_init(&in, NULL);
	assert_int_equal(draft_compose(tpl, &in, &d), GA_ERR_INVAL);
	assert_null(d.headline);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_headline_spec_example),
	    cmocka_unit_test(test_disaster_figures),
	    cmocka_unit_test(test_wan_yuan),
	    cmocka_unit_test(test_time_format),
	    cmocka_unit_test(test_update_level_change),
	    cmocka_unit_test(test_cancel),
	    cmocka_unit_test(test_texts_combined),
	    cmocka_unit_test(test_utf8_cap),
	    cmocka_unit_test(test_advice_every_hazard),
	    cmocka_unit_test(test_load_errors),
	    cmocka_unit_test(test_language),
	    cmocka_unit_test(test_msg_type_and_inval),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
