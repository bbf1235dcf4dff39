/* test_workflow_update.c - what a 续报 (update) says (issue 10), on a real
 * SQLite file with the bundled templates and thresholds, reports going
 * through incident_assign and workflow_incident_changed as the writer
 * does it:
 *  - it says what changed since the last published version: a danger
 *    become a disaster, a figure first reported, a figure that grew, the
 *    level that rose;
 *  - it dates the event from the report that said it happened: a
 *    disaster from its earliest disaster report, not from the first
 *    danger report (the text's time and the JSON's observed_at);
 *  - a first alert and an update with no figure moved say no change. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "classify.h"
#include "draft.h"
#include "geo.h"
#include "incident.h"
#include "store.h"
#include "store_testutil.h"
#include "text_testutil.h"
#include "workflow.h"

#define MIN_MS (60LL * 1000)

static struct geo *geo;
static struct draft_templates *tpl;
static struct thresholds *thr;

struct fixture {
	struct stest_fixture st; /* first: a pointer to it is one to st */
	struct incident_rules rules;
	struct workflow_ctx ctx;
	struct officer a;
	int nrep;
	char ids[16][24];
	int64_t t0; /* 2026-11-26 14:00 +08:00 */
};

static int group_setup(void **state)
{
	char err[512] = "";

	(void)state;
	if ((geo = geo_new(NULL, err, sizeof(err))) == NULL ||
	    draft_templates_load(NULL, &tpl, err, sizeof(err)) != GA_OK ||
	    thresholds_load(NULL, &thr, err, sizeof(err)) != GA_OK) {
		fprintf(stderr, "setup: %s\n", err);
		return -1;
	}
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	geo_free(geo);
	draft_templates_free(tpl);
	thresholds_free(thr);
	return 0;
}

static int setup(void **state)
{
	struct fixture *f = stest_fixture_new(sizeof(*f), "wfupdate", true);
	struct tm tm = {.tm_year = 2026 - 1900, .tm_mon = 10, .tm_mday = 26, .tm_hour = 6};
	int64_t id = 0;

	incident_rules_default(&f->rules);
	f->ctx.templates = tpl;
	f->ctx.geo = geo;
	f->ctx.publish_min_level = LEVEL_LARGE;
	f->ctx.sender = "江苏省自然资源厅";
	f->ctx.utc_offset_min = 480;
	f->ctx.confirmations_extra_large = 1;
	f->ctx.thresholds = thr;
	assert_int_equal(
	    store_officer_add(f->st.s, "zhang", OFFICER_DUTY_OFFICER, NULL, NULL, 1, &id), GA_OK);
	assert_int_equal(store_officer_get(f->st.s, id, &f->a), GA_OK);
	f->t0 = (int64_t)timegm(&tm) * 1000;
	*state = f;
	return 0;
}

/* A report of station JS-1 observed at t0 + min minutes. */
static void mk(struct fixture *f, struct report *r, enum kind kind, int min)
{
	memset(r, 0, sizeof(*r));
	assert_true(f->nrep < 16);
	snprintf(f->ids[f->nrep], sizeof(f->ids[0]), "r-%04d", f->nrep);
	r->report_id = f->ids[f->nrep++];
	r->station_id = "JS-1";
	r->kind = kind;
	r->hazard_type = HAZARD_LANDSLIDE;
	r->observed_at_ms = f->t0 + min * MIN_MS;
	r->observed_offset_min = 480;
	r->has_point = true;
	r->lon = 118.62;
	r->lat = 32.06;
	snprintf(r->admin_code, sizeof(r->admin_code), "320111");
	snprintf(r->hazard_point_id, sizeof(r->hazard_point_id), "HP-1");
	r->place = "永宁街道青山村后山";
}

static void fig(struct report *r, enum figure i, double v)
{
	r->figures.value[i] = v;
	r->figures.set |= 1u << i;
}

/* What the writer does with one accepted report; asserts a draft was
 * made. */
static void ingest(struct fixture *f, const struct report *r, struct incident *inc)
{
	int64_t now = r->observed_at_ms + 1000;
	bool made = false;

	assert_int_equal(store_begin(f->st.s), GA_OK);
	assert_int_equal(incident_assign(f->st.s, &f->rules, thr, r, now, inc), GA_OK);
	assert_int_equal(store_report_put(f->st.s, r, "geohazard/v1/reports/JS-1", "{}", 2, now,
					  inc->id, inc->level),
			 GA_OK);
	assert_int_equal(
	    workflow_incident_changed(f->st.s, &f->ctx, inc, inc->prev_level, now, &made), GA_OK);
	assert_int_equal(store_commit(f->st.s), GA_OK);
	assert_true(made);
}

/* The pending draft's situation and observed_at (new JSON), confirmed. */
static json_t *confirm(struct fixture *f, const char *alert_id, int64_t now)
{
	json_t *v = NULL, *p;
	bool published = false;
	char msg[256];

	assert_int_equal(workflow_get(f->st.s, &f->ctx, &f->a, alert_id, now, &v), GA_OK);
	p = json_incref(json_object_get(v, "pending"));
	json_decref(v);
	assert_true(json_is_object(p));
	assert_int_equal(workflow_confirm(f->st.s, &f->ctx, &f->a, alert_id, NULL, now, &published,
					  msg, sizeof(msg)),
			 GA_OK);
	assert_true(published);
	return p;
}

static const char *str(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	assert_non_null(s);
	return s;
}

static void test_update_says_what_changed(void **state)
{
	struct fixture *f = *state;
	struct incident inc;
	struct report r;
	json_t *p;

	/* 14:00 a large danger (620 threatened): version 1 */
	mk(f, &r, KIND_DANGER, 0);
	fig(&r, FIG_THREATENED_PEOPLE, 620);
	ingest(f, &r, &inc);
	p = confirm(f, inc.id, f->t0 + 5 * MIN_MS);
	assert_text_has(str(p, "situation"), "2026年11月26日14时0分");
	assert_text_lacks(str(p, "situation"), "与上次发布相比");
	assert_string_equal(str(p, "observed_at"), "2026-11-26T14:00:00+08:00");
	json_decref(p);

	/* 14:30 it happened: a disaster, 25 dead (large): version 2 says so
	 * and dates the event 14:30, not 14:00 */
	mk(f, &r, KIND_DISASTER, 30);
	fig(&r, FIG_DEATHS, 25);
	ingest(f, &r, &inc);
	assert_int_equal(inc.level, LEVEL_LARGE);
	p = confirm(f, inc.id, f->t0 + 40 * MIN_MS);
	assert_string_equal(str(p, "msg_type"), "update");
	assert_text_has(str(p, "situation"),
			"与上次发布相比，险情已发展为灾情，死亡人数首次报告为25人。",
			"2026年11月26日14时30分");
	assert_text_lacks(str(p, "situation"), "14时0分", "规模等级由");
	assert_string_equal(str(p, "observed_at"), "2026-11-26T14:30:00+08:00");
	json_decref(p);

	/* 15:00 28 dead and 3 missing (31: extra_large): version 3; still
	 * dated from the earliest disaster report */
	mk(f, &r, KIND_DISASTER, 60);
	fig(&r, FIG_DEATHS, 28);
	fig(&r, FIG_MISSING, 3);
	ingest(f, &r, &inc);
	assert_int_equal(inc.level, LEVEL_EXTRA_LARGE);
	p = confirm(f, inc.id, f->t0 + 70 * MIN_MS);
	assert_text_has(str(p, "situation"), "规模等级由大型升为特大型（Ⅰ级响应）",
			"与上次发布相比，死亡人数由25人增至28人，失踪人数首次报告为3人。",
			"2026年11月26日14时30分");
	assert_text_lacks(str(p, "situation"), "险情已发展为灾情", "威胁人数由");
	assert_string_equal(str(p, "observed_at"), "2026-11-26T14:30:00+08:00");
	json_decref(p);

	/* 15:10 a new measure only: an update, but no figure moved */
	mk(f, &r, KIND_DISASTER, 70);
	fig(&r, FIG_DEATHS, 28);
	fig(&r, FIG_MISSING, 3);
	r.measures = "搜救工作持续进行";
	ingest(f, &r, &inc);
	p = confirm(f, inc.id, f->t0 + 80 * MIN_MS);
	assert_text_lacks(str(p, "situation"), "与上次发布相比", "规模等级由");
	json_decref(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_update_says_what_changed, setup, stest_teardown),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
