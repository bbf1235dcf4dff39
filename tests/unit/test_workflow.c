/* test_workflow.c - drafts and their lifecycle (issue 4, spec §6, §8) on
 * a real store (SQLite, and PostgreSQL as unit.test_workflow.pg), with
 * the real templates and thresholds: a draft appears at the level, is
 * confirmed (two people for 特大型), rejected, cancelled, conflicts, marks
 * below the level, escalations. Officers' edits and previews are in
 * test_workflow_edit.c; the fixture in workflow_testutil.h. */
/* first: it includes cmocka and store_testutil.h in their order */
#include "workflow_testutil.h"

#include "store_testutil.h"

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
	    cmocka_unit_test_setup_teardown(test_below_level_marks, setup, stest_teardown),
	    cmocka_unit_test_setup_teardown(test_escalation, setup, stest_teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
