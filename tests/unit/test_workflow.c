/* test_workflow.c - drafts and their lifecycle (issue 4, spec §6, §8) on
 * a real SQLite file, with the real templates and thresholds: reports go
 * through incident_assign and workflow_incident_changed in one
 * transaction as the writer does it; officers confirm, reject, cancel. */
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

#include "audit.h"
#include "classify.h"
#include "draft.h"
#include "geo.h"
#include "incident.h"
#include "store.h"
#include "store_testutil.h"
#include "text.h"
#include "workflow.h"

#define MIN_MS (60LL * 1000)
#define LON0 118.62
#define LAT0 32.06
#define MSG_MAX 256

static struct geo *geo;
static struct draft_templates *tpl;
static struct thresholds *thr;

struct fixture {
	struct stest_fixture st; /* first: a pointer to it is one to st */
	struct incident_rules rules;
	struct workflow_ctx ctx;
	struct officer a, b; /* duty officers */
	int nrep;
	char ids[64][24];
	int64_t t; /* observed time of the next report */
	char msg[MSG_MAX];
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

static void officer(struct fixture *f, const char *name, struct officer *o)
{
	int64_t id = 0;

	assert_int_equal(store_officer_add(f->st.s, name, OFFICER_DUTY_OFFICER, NULL, NULL, 1, &id),
			 GA_OK);
	assert_int_equal(store_officer_get(f->st.s, id, o), GA_OK);
}

static int setup(void **state)
{
	struct fixture *f = stest_fixture_new(sizeof(*f), "workflow", true);
	struct tm tm = {.tm_year = 2026 - 1900, .tm_mon = 10, .tm_mday = 26, .tm_hour = 6};

	incident_rules_default(&f->rules);
	f->ctx.templates = tpl;
	f->ctx.geo = geo;
	f->ctx.publish_min_level = LEVEL_LARGE;
	f->ctx.sender = "江苏省自然资源厅";
	f->ctx.utc_offset_min = 480;
	f->ctx.confirmations_extra_large = 1;
	f->ctx.thresholds = thr;
	officer(f, "zhang", &f->a);
	officer(f, "li", &f->b);
	f->t = (int64_t)timegm(&tm) * 1000;
	*state = f;
	return 0;
}

/* A danger report of station st threatening people (and property). */
static void mk(struct fixture *f, struct report *r, const char *station, double people)
{
	memset(r, 0, sizeof(*r));
	assert_true(f->nrep < 64);
	snprintf(f->ids[f->nrep], sizeof(f->ids[0]), "r-%04d", f->nrep);
	r->report_id = f->ids[f->nrep++];
	r->station_id = station;
	r->kind = KIND_DANGER;
	r->hazard_type = HAZARD_LANDSLIDE;
	r->observed_at_ms = f->t;
	f->t += MIN_MS;
	r->observed_offset_min = 480;
	r->has_point = true;
	r->lon = LON0;
	r->lat = LAT0;
	snprintf(r->admin_code, sizeof(r->admin_code), "320111");
	snprintf(r->hazard_point_id, sizeof(r->hazard_point_id), "HP-1");
	r->place = "永宁街道青山村后山";
	r->causes = "持续强降雨";
	r->trend = "坡体仍在变形";
	r->measures = "已疏散群众";
	r->figures.value[FIG_THREATENED_PEOPLE] = people;
	r->figures.set |= 1u << FIG_THREATENED_PEOPLE;
}

static const char raw_report[] = "{\"reporter\": {\"name\": \"王五\", \"phone\": \"13800001111\"}}";

/* What the writer does with one accepted report; returns whether a draft
 * was made. */
static bool ingest(struct fixture *f, const struct report *r, struct incident *inc)
{
	int64_t now = r->observed_at_ms + 1000;
	bool made = true;

	assert_int_equal(store_begin(f->st.s), GA_OK);
	assert_int_equal(incident_assign(f->st.s, &f->rules, thr, r, now, inc), GA_OK);
	assert_int_equal(store_report_put(f->st.s, r, "geohazard/v1/reports/x", raw_report,
					  strlen(raw_report), now, inc->id, inc->level),
			 GA_OK);
	assert_int_equal(
	    workflow_incident_changed(f->st.s, &f->ctx, inc, inc->prev_level, now, &made), GA_OK);
	assert_int_equal(store_commit(f->st.s), GA_OK);
	return made;
}

static json_t *list(struct fixture *f, int state)
{
	json_t *l = NULL;

	assert_int_equal(workflow_list(f->st.s, &f->ctx, state, &l), GA_OK);
	assert_true(json_is_array(l));
	return l;
}

static size_t nlist(struct fixture *f, int state)
{
	json_t *l = list(f, state);
	size_t n = json_array_size(l);

	json_decref(l);
	return n;
}

/* The pending draft's id as workflow_get shows it; 0 when none. */
static int64_t pending_id(struct fixture *f, const char *alert_id)
{
	json_t *v = NULL, *p;
	int64_t id = 0;

	assert_int_equal(workflow_get(f->st.s, &f->ctx, &f->a, alert_id, f->t, &v), GA_OK);
	p = json_object_get(v, "pending");
	if (json_is_object(p))
		id = json_integer_value(json_object_get(p, "draft_id"));
	json_decref(v);
	return id;
}

static const char *str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	assert_non_null(s);
	return s;
}

struct audit_count {
	const char *action;
	int n;
};

static bool audit_count_cb(const struct store_audit_row *row, void *arg)
{
	struct audit_count *c = arg;
	if (strcmp(row->action, c->action) == 0)
		c->n++;
	return true;
}

static int naudit(struct fixture *f, const char *action)
{
	struct audit_count c = {action, 0};
	assert_int_equal(store_audit_each(f->st.s, 1, audit_count_cb, &c), GA_OK);
	return c.n;
}

static void assert_audit_ok(struct fixture *f)
{
	struct audit_verify_result res;

	assert_int_equal(audit_verify(f->st.s, NULL, &res), GA_OK);
	if (!res.ok)
		fail_msg("audit: %s at %lld", res.problem, (long long)res.first_bad_seq);
}

static void test_below_level_no_draft(void **state)
{
	struct fixture *f = *state;
	struct report r;
	struct incident inc;
	json_t *v = NULL;

	mk(f, &r, "S1", 100); /* medium */
	assert_false(ingest(f, &r, &inc));
	assert_int_equal(inc.level, LEVEL_MEDIUM);
	assert_int_equal(nlist(f, -1), 0);
	assert_int_equal(workflow_get(f->st.s, &f->ctx, &f->a, inc.id, f->t, &v), GA_ERR_NOTFOUND);
	assert_int_equal(workflow_published_json(f->st.s, &f->ctx, inc.id, 0, &v), GA_ERR_NOTFOUND);
	assert_int_equal(naudit(f, "draft.create"), 0);
}

/* The whole life of an alert: draft, superseded, published, update,
 * rejected, cancelled. */
static void test_lifecycle(void **state)
{
	struct fixture *f = *state;
	struct report r;
	struct incident inc;
	json_t *l, *item, *v = NULL;
	bool published = false;
	int64_t first, second;
	char ref[64];

	mk(f, &r, "S1", 600); /* large */
	assert_true(ingest(f, &r, &inc));
	l = list(f, ALERT_PENDING);
	assert_int_equal(json_array_size(l), 1);
	item = json_array_get(l, 0);
	assert_string_equal(str(item, "alert_id"), inc.id);
	assert_string_equal(str(item, "state"), "pending");
	assert_string_equal(str(item, "level"), "large");
	assert_string_equal(str(item, "msg_type"), "alert");
	assert_int_equal(json_integer_value(json_object_get(item, "version")), 1);
	assert_non_null(strstr(str(item, "headline"), "【大型滑坡险情】"));
	assert_non_null(strstr(str(item, "headline"), "江苏省南京市浦口区"));
	first = json_integer_value(json_object_get(item, "draft_id"));
	json_decref(l);

	/* More people threatened: a new draft replaces the pending one. */
	mk(f, &r, "S1", 700);
	assert_true(ingest(f, &r, &inc));
	assert_int_equal(nlist(f, ALERT_PENDING), 1);
	assert_int_equal(nlist(f, ALERT_SUPERSEDED), 1);
	second = pending_id(f, inc.id);
	assert_true(second > first);
	/* The same again from another report: nothing new. */
	mk(f, &r, "S1", 700);
	assert_false(ingest(f, &r, &inc));
	assert_int_equal(pending_id(f, inc.id), second);
	/* Another station saying the same with a smaller figure: no change. */
	mk(f, &r, "S3", 500);
	assert_false(ingest(f, &r, &inc));
	assert_int_equal(pending_id(f, inc.id), second);
	assert_int_equal(nlist(f, -1), 2);

	/* Confirming the superseded draft is a conflict; the shown one publishes. */
	assert_int_equal(workflow_confirm_draft(f->st.s, &f->ctx, &f->a, inc.id, first, NULL, f->t,
						&published, f->msg, sizeof(f->msg)),
			 GA_ERR_CONFLICT);
	assert_false(published);
	assert_int_equal(workflow_confirm_draft(f->st.s, &f->ctx, &f->a, inc.id, second, NULL, f->t,
						&published, f->msg, sizeof(f->msg)),
			 GA_OK);
	assert_true(published);
	assert_int_equal(workflow_confirm(f->st.s, &f->ctx, &f->b, inc.id, NULL, f->t, &published,
					  f->msg, sizeof(f->msg)),
			 GA_ERR_CONFLICT);
	assert_int_equal(nlist(f, ALERT_PUBLISHED), 1);

	assert_int_equal(workflow_published_json(f->st.s, &f->ctx, inc.id, 0, &v), GA_OK);
	assert_int_equal(json_integer_value(json_object_get(v, "version")), 1);
	assert_string_equal(str(v, "msg_type"), "alert");
	assert_int_equal(
	    json_integer_value(json_object_get(json_object_get(v, "figures"), "threatened_people")),
	    700);
	json_decref(v);

	/* After publishing, a change makes an update referring to v1. */
	mk(f, &r, "S2", 800);
	r.causes = "工程切坡";
	assert_true(ingest(f, &r, &inc));
	assert_int_equal(workflow_get(f->st.s, &f->ctx, &f->a, inc.id, f->t, &v), GA_OK);
	item = json_object_get(v, "pending");
	assert_string_equal(str(item, "msg_type"), "update");
	assert_int_equal(json_integer_value(json_object_get(item, "version")), 2);
	snprintf(ref, sizeof(ref), "%s:1", inc.id);
	assert_int_equal(json_array_size(json_object_get(item, "references")), 1);
	assert_string_equal(
	    json_string_value(json_array_get(json_object_get(item, "references"), 0)), ref);
	assert_non_null(strstr(str(item, "causes"), "工程切坡"));
	assert_non_null(strstr(str(item, "headline"), "续报"));
	assert_int_equal(json_array_size(json_object_get(v, "published")), 1);
	json_decref(v);

	/* Reject needs a reason. */
	assert_int_equal(
	    workflow_reject(f->st.s, &f->ctx, &f->a, inc.id, NULL, f->t, f->msg, sizeof(f->msg)),
	    GA_ERR_INVAL);
	assert_non_null(strstr(f->msg, "原因"));
	assert_int_equal(
	    workflow_reject(f->st.s, &f->ctx, &f->a, inc.id, " \t", f->t, f->msg, sizeof(f->msg)),
	    GA_ERR_INVAL);
	assert_int_equal(workflow_reject(f->st.s, &f->ctx, &f->a, inc.id, "核实后无新情况", f->t,
					 f->msg, sizeof(f->msg)),
			 GA_OK);
	assert_int_equal(nlist(f, ALERT_REJECTED), 1);
	assert_int_equal(
	    workflow_reject(f->st.s, &f->ctx, &f->a, inc.id, "again", f->t, f->msg, sizeof(f->msg)),
	    GA_ERR_CONFLICT);
	assert_int_equal(workflow_confirm(f->st.s, &f->ctx, &f->a, inc.id, NULL, f->t, &published,
					  f->msg, sizeof(f->msg)),
			 GA_ERR_CONFLICT);
	/* The rejected content is not proposed again. */
	mk(f, &r, "S2", 800);
	r.causes = "工程切坡";
	assert_false(ingest(f, &r, &inc));

	/* Cancel: a published cancel version; then nothing left to cancel. */
	assert_int_equal(workflow_cancel(f->st.s, &f->ctx, &f->b, inc.id, "险情已排除", f->t,
					 f->msg, sizeof(f->msg)),
			 GA_OK);
	assert_int_equal(workflow_published_json(f->st.s, &f->ctx, inc.id, 0, &v), GA_OK);
	assert_int_equal(json_integer_value(json_object_get(v, "version")), 2);
	assert_string_equal(str(v, "msg_type"), "cancel");
	assert_non_null(strstr(str(v, "headline"), "【解除】"));
	assert_string_equal(json_string_value(json_array_get(json_object_get(v, "references"), 0)),
			    ref);
	json_decref(v);
	assert_int_equal(workflow_published_json(f->st.s, &f->ctx, inc.id, 1, &v), GA_OK);
	assert_string_equal(str(v, "msg_type"), "alert");
	json_decref(v);
	assert_int_equal(
	    workflow_cancel(f->st.s, &f->ctx, &f->b, inc.id, "again", f->t, f->msg, sizeof(f->msg)),
	    GA_ERR_CONFLICT);

	assert_int_equal(naudit(f, "draft.create"), 3);
	assert_int_equal(naudit(f, "draft.supersede"), 1);
	assert_int_equal(naudit(f, "draft.confirm"), 1);
	assert_int_equal(naudit(f, "draft.publish"), 1);
	assert_int_equal(naudit(f, "draft.reject"), 1);
	assert_int_equal(naudit(f, "alert.cancel"), 1);
	assert_true(naudit(f, "draft.view") >= 2);
	assert_audit_ok(f);
}

/* Every member of spec §6, in order, and nothing of the reporter. */
static void test_alert_json(void **state)
{
	static const char *const keys[] = {
	    "schema",	      "alert_id",  "version",	  "msg_type",	    "status",
	    "incident_id",    "sender",	   "sent",	  "kind",	    "hazard_type",
	    "hazard_type_zh", "level",	   "level_zh",	  "response_level", "color",
	    "headline",	      "situation", "causes",	  "response",	    "trend",
	    "area",	      "figures",   "observed_at", "confirmed_at",   "references"};
	struct fixture *f = *state;
	struct report r;
	struct incident inc;
	json_t *v = NULL, *area;
	const char *key;
	json_t *val;
	size_t i = 0;
	bool published;
	char *text;

	mk(f, &r, "S1", 620);
	r.figures.value[FIG_THREATENED_PROPERTY_CNY] = 30000000;
	r.figures.set |= 1u << FIG_THREATENED_PROPERTY_CNY;
	assert_true(ingest(f, &r, &inc));
	assert_int_equal(workflow_confirm(f->st.s, &f->ctx, &f->a, inc.id, NULL, f->t + 5 * MIN_MS,
					  &published, f->msg, sizeof(f->msg)),
			 GA_OK);
	assert_int_equal(workflow_published_json(f->st.s, &f->ctx, inc.id, 1, &v), GA_OK);
	json_object_foreach(v, key, val)
	{
		assert_true(i < sizeof(keys) / sizeof(keys[0]));
		assert_string_equal(key, keys[i]);
		i++;
	}
	assert_int_equal(i, sizeof(keys) / sizeof(keys[0]));
	assert_string_equal(str(v, "schema"), "geohazard.alert/1");
	assert_string_equal(str(v, "status"), "actual");
	assert_string_equal(str(v, "incident_id"), inc.id);
	assert_string_equal(str(v, "sender"), "江苏省自然资源厅");
	assert_string_equal(str(v, "kind"), "danger");
	assert_string_equal(str(v, "hazard_type_zh"), "滑坡");
	assert_string_equal(str(v, "level_zh"), "大型");
	assert_string_equal(str(v, "response_level"), "II");
	assert_string_equal(str(v, "color"), "orange");
	assert_string_equal(str(v, "observed_at"), "2026-11-26T14:00:00+08:00");
	assert_non_null(strstr(str(v, "sent"), "+08:00"));
	assert_string_equal(str(v, "sent"), str(v, "confirmed_at"));
	area = json_object_get(v, "area");
	assert_string_equal(str(area, "admin_code"), "320111");
	assert_string_equal(str(area, "admin_name"), "江苏省南京市浦口区");
	assert_string_equal(str(area, "place"), "永宁街道青山村后山");
	assert_true(json_real_value(json_object_get(area, "lon")) == LON0);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(v, "figures"),
							    "threatened_property_cny")),
			 30000000);
	/* every figure is there, null for what no report gave (spec 1.1 §6) */
	assert_int_equal(json_object_size(json_object_get(v, "figures")), FIG_COUNT);
	assert_true(json_is_null(json_object_get(json_object_get(v, "figures"), "deaths")));
	assert_int_equal(json_array_size(json_object_get(v, "references")), 0);
	text = json_dumps(v, 0);
	assert_non_null(text);
	assert_null(strstr(text, "13800001111"));
	assert_null(strstr(text, "王五"));
	assert_null(strstr(text, "reporter"));
	free(text);
	json_decref(v);

	/* The officers' view does show the reporter, and why the level. */
	assert_int_equal(workflow_get(f->st.s, &f->ctx, &f->a, inc.id, f->t, &v), GA_OK);
	val = json_array_get(json_object_get(v, "reports"), 0);
	assert_string_equal(str(json_object_get(val, "reporter"), "phone"), "13800001111");
	assert_string_equal(str(val, "station_id"), "S1");
	assert_true(json_array_size(json_object_get(json_object_get(v, "incident"), "reasons")) >
		    0);
	assert_true(json_is_null(json_object_get(v, "pending")));
	json_decref(v);
}

static void test_conflicts(void **state)
{
	struct fixture *f = *state;
	struct report r;
	struct incident inc;
	bool published;
	json_t *v = NULL;

	assert_int_equal(workflow_confirm(f->st.s, &f->ctx, &f->a, "JS-20990101-0001", NULL, f->t,
					  &published, f->msg, sizeof(f->msg)),
			 GA_ERR_NOTFOUND);
	assert_int_equal(workflow_cancel(f->st.s, &f->ctx, &f->a, "JS-20990101-0001", "x", f->t,
					 f->msg, sizeof(f->msg)),
			 GA_ERR_NOTFOUND);
	assert_int_equal(workflow_get(f->st.s, &f->ctx, &f->a, "JS-20990101-0001", f->t, &v),
			 GA_ERR_NOTFOUND);
	mk(f, &r, "S1", 600);
	assert_true(ingest(f, &r, &inc));
	/* Nothing published yet: nothing to cancel. */
	assert_int_equal(
	    workflow_cancel(f->st.s, &f->ctx, &f->a, inc.id, "误报", f->t, f->msg, sizeof(f->msg)),
	    GA_ERR_CONFLICT);
	assert_non_null(strstr(f->msg, "尚未发布"));
	assert_int_equal(nlist(f, ALERT_PENDING), 1);
}

static void test_two_person_rule(void **state)
{
	struct fixture *f = *state;
	struct report r;
	struct incident inc;
	bool published = true;
	json_t *edits, *v = NULL;

	f->ctx.confirmations_extra_large = 2;
	mk(f, &r, "S1", 1200); /* extra_large */
	assert_true(ingest(f, &r, &inc));
	assert_int_equal(inc.level, LEVEL_EXTRA_LARGE);
	assert_int_equal(workflow_confirm(f->st.s, &f->ctx, &f->a, inc.id, NULL, f->t, &published,
					  f->msg, sizeof(f->msg)),
			 GA_OK);
	assert_false(published);
	assert_int_equal(nlist(f, ALERT_PENDING), 1);
	/* The same officer again does not count. */
	assert_int_equal(workflow_confirm(f->st.s, &f->ctx, &f->a, inc.id, NULL, f->t, &published,
					  f->msg, sizeof(f->msg)),
			 GA_ERR_CONFLICT);
	assert_non_null(strstr(f->msg, "另一名值班人员"));
	assert_false(published);
	assert_int_equal(workflow_get(f->st.s, &f->ctx, &f->a, inc.id, f->t, &v), GA_OK);
	assert_int_equal(
	    json_array_size(json_object_get(json_object_get(v, "pending"), "confirmations")), 1);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(v, "pending"),
							    "confirmations_needed")),
			 2);
	json_decref(v);
	/* A second officer, editing the headline, publishes it. */
	edits = json_pack("{s:s}", "headline", "【特大型滑坡险情】浦口区青山村");
	assert_int_equal(workflow_confirm(f->st.s, &f->ctx, &f->b, inc.id, edits, f->t, &published,
					  f->msg, sizeof(f->msg)),
			 GA_OK);
	json_decref(edits);
	assert_true(published);
	assert_int_equal(workflow_published_json(f->st.s, &f->ctx, inc.id, 0, &v), GA_OK);
	assert_string_equal(str(v, "headline"), "【特大型滑坡险情】浦口区青山村");
	assert_string_equal(str(v, "level"), "extra_large");
	json_decref(v);
	assert_int_equal(naudit(f, "draft.edit"), 1);
	assert_int_equal(naudit(f, "draft.confirm"), 2);
	assert_audit_ok(f);
}

static ga_err confirm_edits(struct fixture *f, const char *alert_id, json_t *edits)
{
	bool published;
	ga_err e = workflow_confirm(f->st.s, &f->ctx, &f->a, alert_id, edits, f->t, &published,
				    f->msg, sizeof(f->msg));
	json_decref(edits);
	return e;
}

/* n copies of the 3-byte character 字 into buf. */
static char *zi(char *buf, size_t n)
{
	for (size_t i = 0; i < n; i++)
		memcpy(buf + 3 * i, "字", 3);
	buf[3 * n] = '\0';
	return buf;
}

/* Keeps j to be freed at the test's end (the actions borrow edits). */
static json_t *keep(struct fixture *f, json_t *j)
{
	static json_t *kept[16];
	static size_t n;

	(void)f;
	if (j == NULL) { /* free them all */
		while (n > 0)
			json_decref(kept[--n]);
		return NULL;
	}
	assert_true(n < 16);
	kept[n++] = j;
	return j;
}

static void test_edits(void **state)
{
	struct fixture *f = *state;
	struct report r;
	struct incident inc;
	struct workflow_problem p;
	char big[WORKFLOW_TEXT_CHARS * 3 + 8];
	json_t *v = NULL, *ed;

	mk(f, &r, "S1", 600);
	assert_true(ingest(f, &r, &inc));
	assert_int_equal(confirm_edits(f, inc.id, json_pack("{s:s}", "title", "x")), GA_ERR_INVAL);
	assert_non_null(strstr(f->msg, "未知的字段：title"));
	assert_int_equal(confirm_edits(f, inc.id, json_pack("{s:i}", "causes", 3)), GA_ERR_INVAL);
	assert_non_null(strstr(f->msg, "引发因素"));
	assert_int_equal(confirm_edits(f, inc.id, json_pack("[s]", "x")), GA_ERR_INVAL);
	assert_int_equal(confirm_edits(f, inc.id, json_pack("{s:s}", "headline", "")),
			 GA_ERR_INVAL);
	/* Caps count characters (issue 10): one past each is refused, with
	 * the field and the limit, not cut. */
	ed = json_pack("{s:s}", "headline", zi(big, WORKFLOW_HEADLINE_CHARS + 1));
	assert_int_equal(workflow_edits_validate(ed, &p), GA_ERR_INVAL);
	assert_string_equal(p.code, "too_long");
	assert_string_equal(p.path, "edits.headline");
	assert_int_equal(p.limit, WORKFLOW_HEADLINE_CHARS);
	assert_string_equal(p.message, "标题超过120个字");
	json_decref(ed);
	assert_int_equal(confirm_edits(f, inc.id, json_pack("{s:s}", "headline", big)),
			 GA_ERR_INVAL);
	assert_string_equal(f->msg, "标题超过120个字");
	assert_int_equal(
	    confirm_edits(f, inc.id, json_pack("{s:s}", "trend", zi(big, WORKFLOW_TEXT_CHARS + 1))),
	    GA_ERR_INVAL);
	assert_string_equal(f->msg, "发展趋势超过2000个字");
	assert_int_equal(nlist(f, ALERT_PENDING), 1); /* nothing happened */
	assert_int_equal(naudit(f, "draft.confirm"), 0);
	/* At the caps it is taken whole: 1000 and 120 characters of 3 bytes. */
	{
		char head[WORKFLOW_HEADLINE_CHARS * 3 + 1];
		assert_int_equal(
		    confirm_edits(f, inc.id,
				  json_pack("{s:s, s:s}", "trend", zi(big, WORKFLOW_TEXT_CHARS),
					    "headline", zi(head, WORKFLOW_HEADLINE_CHARS))),
		    GA_OK);
	}
	assert_int_equal(workflow_published_json(f->st.s, &f->ctx, inc.id, 0, &v), GA_OK);
	assert_int_equal(text_chars(str(v, "trend")), WORKFLOW_TEXT_CHARS);
	assert_int_equal(text_chars(str(v, "headline")), WORKFLOW_HEADLINE_CHARS);
	assert_int_equal(strlen(str(v, "headline")), WORKFLOW_HEADLINE_CHARS * 3);
	json_decref(v);
}

static json_t *names(const json_t *view, const char *key)
{
	json_t *a = json_object_get(view, key);
	assert_true(json_is_array(a));
	return a;
}

static bool has_name(const json_t *a, const char *name)
{
	size_t i;
	json_t *v;

	json_array_foreach(a, i, v) if (strcmp(json_string_value(v), name) == 0) return true;
	return false;
}

/* issue 10: an officer's edits to version 1 are carried into the draft of
 * version 2, the fields whose facts changed marked, the difference from
 * the published version shown. */
static void test_carry(void **state)
{
	struct fixture *f = *state;
	struct report r;
	struct incident inc;
	json_t *v = NULL, *pend, *diff;
	bool published = false;

	mk(f, &r, "S1", 600);
	assert_true(ingest(f, &r, &inc));
	assert_int_equal(
	    confirm_edits(f, inc.id,
			  json_pack("{s:s, s:s, s:s}", "headline", "值班员改的标题", "causes",
				    "值班员写的引发因素。", "trend", "值班员写的趋势。")),
	    GA_OK);
	/* More people threatened: the figures change, the causes do not. */
	mk(f, &r, "S1", 700);
	assert_true(ingest(f, &r, &inc));
	assert_int_equal(workflow_get(f->st.s, &f->ctx, &f->a, inc.id, f->t, &v), GA_OK);
	pend = json_object_get(v, "pending");
	assert_string_equal(str(pend, "headline"), "值班员改的标题");
	assert_string_equal(str(pend, "causes"), "值班员写的引发因素。");
	assert_string_equal(str(pend, "msg_type"), "update");
	assert_int_equal(json_array_size(names(v, "carried_edits")), 3);
	assert_true(has_name(names(v, "carried_edits"), "headline"));
	assert_true(has_name(names(v, "carried_edits"), "causes"));
	assert_true(has_name(names(v, "carried_edits"), "trend"));
	/* Same level, place, causes and trend: no carried field is stale. */
	assert_int_equal(json_array_size(names(v, "changed_facts")), 0);
	/* The situation (its figures) differs from the published version;
	 * the carried texts do not. */
	diff = json_object_get(v, "diff");
	assert_non_null(json_object_get(diff, "situation"));
	assert_null(json_object_get(diff, "headline"));
	assert_null(json_object_get(diff, "causes"));
	assert_non_null(strstr(str(json_object_get(diff, "situation"), "draft"), "700"));
	assert_non_null(strstr(str(json_object_get(diff, "situation"), "published"), "600"));
	json_decref(v);

	/* The causes change: the pending update is replaced, the edits still
	 * carried (from the superseded draft), causes now marked. */
	mk(f, &r, "S1", 700);
	r.causes = "工程切坡";
	assert_true(ingest(f, &r, &inc));
	assert_int_equal(workflow_get(f->st.s, &f->ctx, &f->a, inc.id, f->t, &v), GA_OK);
	pend = json_object_get(v, "pending");
	assert_string_equal(str(pend, "causes"), "值班员写的引发因素。");
	assert_int_equal(json_array_size(names(v, "carried_edits")), 3);
	assert_int_equal(json_array_size(names(v, "changed_facts")), 1);
	assert_true(has_name(names(v, "changed_facts"), "causes"));
	json_decref(v);

	/* Confirmed (sending every field, one changed): version 2 carries the
	 * officer's texts; a version 3 carries them on. An unchanged field sent
	 * back is no edit. */
	assert_int_equal(confirm_edits(f, inc.id,
				       json_pack("{s:s, s:s}", "headline", "值班员改的标题",
						 "trend", "第二版的趋势。")),
			 GA_OK);
	assert_int_equal(workflow_published_json(f->st.s, &f->ctx, inc.id, 2, &v), GA_OK);
	assert_string_equal(str(v, "headline"), "值班员改的标题");
	assert_string_equal(str(v, "trend"), "第二版的趋势。");
	json_decref(v);
	mk(f, &r, "S1", 800);
	r.causes = "工程切坡";
	assert_true(ingest(f, &r, &inc));
	assert_int_equal(workflow_get(f->st.s, &f->ctx, &f->a, inc.id, f->t, &v), GA_OK);
	pend = json_object_get(v, "pending");
	assert_string_equal(str(pend, "headline"), "值班员改的标题");
	assert_string_equal(str(pend, "trend"), "第二版的趋势。");
	assert_int_equal(json_array_size(names(v, "changed_facts")), 0);
	assert_int_equal(json_object_size(json_object_get(v, "diff")), 1); /* situation */
	json_decref(v);
	(void)published;
	assert_audit_ok(f);
}

/* issue 10: the preview is what confirming would publish, and writes
 * nothing; the list says how long a draft waited and what is superseded. */
static void test_preview(void **state)
{
	struct fixture *f = *state;
	struct report r;
	struct incident inc;
	json_t *a = NULL, *l, *item;
	int64_t made_at;

	mk(f, &r, "S1", 600);
	made_at = r.observed_at_ms + 1000;
	assert_true(ingest(f, &r, &inc));
	assert_int_equal(workflow_preview(f->st.s, &f->ctx, inc.id, 0,
					  keep(f, json_pack("{s:s}", "headline", "预览标题")), f->t,
					  &a, f->msg, sizeof(f->msg)),
			 GA_OK);
	assert_string_equal(str(a, "headline"), "预览标题");
	assert_int_equal(json_integer_value(json_object_get(a, "version")), 1);
	assert_false(json_is_null(json_object_get(a, "sent")));
	json_decref(a);
	assert_int_equal(workflow_preview(f->st.s, &f->ctx, inc.id, 0,
					  keep(f, json_pack("{s:s}", "headline", "")), f->t, &a,
					  f->msg, sizeof(f->msg)),
			 GA_ERR_INVAL);
	assert_int_equal(
	    workflow_preview(f->st.s, &f->ctx, inc.id, 999, NULL, f->t, &a, f->msg, sizeof(f->msg)),
	    GA_ERR_CONFLICT);
	assert_int_equal(nlist(f, ALERT_PENDING), 1);
	assert_int_equal(naudit(f, "draft.confirm"), 0);
	assert_int_equal(workflow_list_at(f->st.s, &f->ctx, -1, made_at + 90 * 1000, &l), GA_OK);
	item = json_array_get(l, 0);
	assert_int_equal(json_integer_value(json_object_get(item, "waiting_s")), 90);
	assert_false(json_boolean_value(json_object_get(item, "superseded")));
	json_decref(l);

	/* Version 1, then 2: 1 is superseded, 2 not, neither waits. */
	assert_int_equal(confirm_edits(f, inc.id, NULL), GA_OK);
	mk(f, &r, "S1", 700);
	assert_true(ingest(f, &r, &inc));
	assert_int_equal(confirm_edits(f, inc.id, NULL), GA_OK);
	l = list(f, ALERT_PUBLISHED);
	assert_int_equal(json_array_size(l), 2);
	item = json_array_get(l, 0);
	assert_int_equal(json_integer_value(json_object_get(item, "version")), 2);
	assert_false(json_boolean_value(json_object_get(item, "superseded")));
	assert_true(json_is_null(json_object_get(item, "waiting_s")));
	item = json_array_get(l, 1);
	assert_int_equal(json_integer_value(json_object_get(item, "version")), 1);
	assert_true(json_boolean_value(json_object_get(item, "superseded")));
	json_decref(l);
	keep(f, NULL);
}

/* issue 10: the supervisor sees the exact 解除 text first, and what they
 * publish is that text, edited or not. */
static void test_cancel_edits(void **state)
{
	struct fixture *f = *state;
	struct report r;
	struct incident inc;
	json_t *a = NULL, *v = NULL;

	mk(f, &r, "S1", 600);
	assert_true(ingest(f, &r, &inc));
	assert_int_equal(workflow_cancel_preview(f->st.s, &f->ctx, inc.id, NULL, f->t, &a, f->msg,
						 sizeof(f->msg)),
			 GA_ERR_CONFLICT);
	assert_int_equal(confirm_edits(f, inc.id, NULL), GA_OK);
	assert_int_equal(workflow_cancel_preview(f->st.s, &f->ctx, inc.id, NULL, f->t, &a, f->msg,
						 sizeof(f->msg)),
			 GA_OK);
	assert_string_equal(str(a, "msg_type"), "cancel");
	assert_int_equal(json_integer_value(json_object_get(a, "version")), 2);
	assert_non_null(strstr(str(a, "headline"), "【解除】"));
	assert_int_equal(workflow_cancel_edited(f->st.s, &f->ctx, &f->a, inc.id, "险情已排除", NULL,
						f->t, f->msg, sizeof(f->msg)) == GA_OK,
			 true);
	assert_int_equal(workflow_published_json(f->st.s, &f->ctx, inc.id, 0, &v), GA_OK);
	/* The text previewed is the text published. */
	assert_string_equal(str(v, "headline"), str(a, "headline"));
	assert_string_equal(str(v, "situation"), str(a, "situation"));
	assert_string_equal(str(v, "response"), str(a, "response"));
	json_decref(v);
	json_decref(a);

	/* Another alert, cancelled with the supervisor's own text. */
	mk(f, &r, "S2", 600);
	r.lon += 1.0; /* far away: another incident */
	snprintf(r.hazard_point_id, sizeof(r.hazard_point_id), "HP-2");
	assert_true(ingest(f, &r, &inc));
	assert_int_equal(confirm_edits(f, inc.id, NULL), GA_OK);
	assert_int_equal(workflow_cancel_edited(f->st.s, &f->ctx, &f->a, inc.id, "误报",
						keep(f, json_pack("{s:i}", "headline", 1)), f->t,
						f->msg, sizeof(f->msg)),
			 GA_ERR_INVAL);
	assert_int_equal(workflow_cancel_edited(
			     f->st.s, &f->ctx, &f->a, inc.id, "误报",
			     keep(f, json_pack("{s:s, s:s}", "headline", "【解除】主管写的标题",
					       "situation", "主管写的情况。")),
			     f->t, f->msg, sizeof(f->msg)),
			 GA_OK);
	assert_int_equal(workflow_published_json(f->st.s, &f->ctx, inc.id, 0, &v), GA_OK);
	assert_string_equal(str(v, "msg_type"), "cancel");
	assert_string_equal(str(v, "headline"), "【解除】主管写的标题");
	assert_string_equal(str(v, "situation"), "主管写的情况。");
	json_decref(v);
	keep(f, NULL);
	assert_audit_ok(f);
}

static void test_reason_cap(void **state)
{
	struct fixture *f = *state;
	struct report r;
	struct incident inc;
	char reason[ALERT_REASON_MAX * 3 + 8];

	mk(f, &r, "S1", 600);
	assert_true(ingest(f, &r, &inc));
	for (int i = 0; i <= ALERT_REASON_MAX; i++)
		memcpy(reason + 3 * i, "误", 3); /* 3 bytes each */
	reason[3 * (ALERT_REASON_MAX + 1)] = '\0';
	assert_int_equal(
	    workflow_reject(f->st.s, &f->ctx, &f->a, inc.id, reason, f->t, f->msg, sizeof(f->msg)),
	    GA_ERR_INVAL);
	reason[ALERT_REASON_MAX * 3] = '\0';
	assert_int_equal(workflow_reject(f->st.s, &f->ctx, &f->a, inc.id, "\xff\xfe", f->t, f->msg,
					 sizeof(f->msg)),
			 GA_ERR_INVAL);
	assert_int_equal(
	    workflow_reject(f->st.s, &f->ctx, &f->a, inc.id, reason, f->t, f->msg, sizeof(f->msg)),
	    GA_OK);
}

static bool pending_below(struct fixture *f)
{
	json_t *l = list(f, ALERT_PENDING);
	bool below;

	assert_int_equal(json_array_size(l), 1);
	below = json_is_true(json_object_get(json_array_get(l, 0), "below_level"));
	json_decref(l);
	return below;
}

static void test_below_level_marks(void **state)
{
	struct fixture *f = *state;
	struct report r;
	struct incident inc;
	bool published;
	json_t *v = NULL;

	mk(f, &r, "S1", 600);
	assert_true(ingest(f, &r, &inc));
	assert_false(pending_below(f));
	/* The station now reports fewer people: small. Kept, marked. */
	mk(f, &r, "S1", 50);
	assert_false(ingest(f, &r, &inc));
	assert_int_equal(inc.level, LEVEL_SMALL);
	assert_true(pending_below(f));
	assert_int_equal(naudit(f, "draft.below_level"), 1);
	mk(f, &r, "S1", 40);
	assert_false(ingest(f, &r, &inc));
	assert_int_equal(naudit(f, "draft.below_level"), 1);
	/* Back up: a fresh draft, not marked. */
	mk(f, &r, "S1", 650);
	assert_true(ingest(f, &r, &inc));
	assert_false(pending_below(f));

	/* Published, then below: an update showing the lower level, marked. */
	assert_int_equal(workflow_confirm(f->st.s, &f->ctx, &f->a, inc.id, NULL, f->t, &published,
					  f->msg, sizeof(f->msg)),
			 GA_OK);
	mk(f, &r, "S1", 150);
	assert_true(ingest(f, &r, &inc));
	assert_true(pending_below(f));
	assert_int_equal(workflow_get(f->st.s, &f->ctx, &f->a, inc.id, f->t, &v), GA_OK);
	assert_string_equal(str(json_object_get(v, "pending"), "msg_type"), "update");
	assert_string_equal(str(json_object_get(v, "pending"), "level"), "medium");
	assert_non_null(strstr(str(json_object_get(v, "pending"), "situation"), "降为"));
	json_decref(v);
	/* Back to exactly what is published: the update is withdrawn. */
	mk(f, &r, "S1", 650);
	assert_false(ingest(f, &r, &inc));
	assert_int_equal(nlist(f, ALERT_PENDING), 0);
	assert_audit_ok(f);
}

struct esc {
	int n;
	char alert_id[INCIDENT_ID_MAX];
	char headline[STORE_HEADLINE_MAX];
};

static void esc_cb(const char *alert_id, const char *headline, void *arg)
{
	struct esc *e = arg;

	e->n++;
	snprintf(e->alert_id, sizeof(e->alert_id), "%s", alert_id);
	snprintf(e->headline, sizeof(e->headline), "%s", headline);
}

static void test_escalation(void **state)
{
	struct fixture *f = *state;
	struct report r;
	struct incident inc;
	struct esc e = {0};
	int64_t made_at;
	json_t *l;

	mk(f, &r, "S1", 600);
	made_at = r.observed_at_ms + 1000;
	assert_true(ingest(f, &r, &inc));
	assert_int_equal(
	    workflow_escalate_due(f->st.s, made_at + 10 * MIN_MS - 1, 10 * MIN_MS, esc_cb, &e),
	    GA_OK);
	assert_int_equal(e.n, 0);
	assert_int_equal(
	    workflow_escalate_due(f->st.s, made_at + 10 * MIN_MS, 10 * MIN_MS, esc_cb, &e), GA_OK);
	assert_int_equal(e.n, 1);
	assert_string_equal(e.alert_id, inc.id);
	assert_non_null(strstr(e.headline, "大型滑坡险情"));
	/* Once only. */
	assert_int_equal(
	    workflow_escalate_due(f->st.s, made_at + 60 * MIN_MS, 10 * MIN_MS, esc_cb, &e), GA_OK);
	assert_int_equal(e.n, 1);
	assert_int_equal(naudit(f, "draft.escalate"), 1);
	l = list(f, ALERT_PENDING);
	assert_false(json_is_null(json_object_get(json_array_get(l, 0), "escalated_at")));
	json_decref(l);
	assert_audit_ok(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_below_level_no_draft, setup, stest_teardown),
	    cmocka_unit_test_setup_teardown(test_lifecycle, setup, stest_teardown),
	    cmocka_unit_test_setup_teardown(test_alert_json, setup, stest_teardown),
	    cmocka_unit_test_setup_teardown(test_conflicts, setup, stest_teardown),
	    cmocka_unit_test_setup_teardown(test_two_person_rule, setup, stest_teardown),
	    cmocka_unit_test_setup_teardown(test_edits, setup, stest_teardown),
	    cmocka_unit_test_setup_teardown(test_carry, setup, stest_teardown),
	    cmocka_unit_test_setup_teardown(test_preview, setup, stest_teardown),
	    cmocka_unit_test_setup_teardown(test_cancel_edits, setup, stest_teardown),
	    cmocka_unit_test_setup_teardown(test_reason_cap, setup, stest_teardown),
	    cmocka_unit_test_setup_teardown(test_below_level_marks, setup, stest_teardown),
	    cmocka_unit_test_setup_teardown(test_escalation, setup, stest_teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
