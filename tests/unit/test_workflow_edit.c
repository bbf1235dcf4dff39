/* test_workflow_edit.c - what officers write into drafts (issue 10):
 * edits at a confirmation, carried into the next version with the facts
 * that changed under them, previews of confirm and cancel, the reason's
 * cap. On a real store (unit.test_workflow_edit.pg on PostgreSQL); the
 * fixture in workflow_testutil.h. */
/* first: it includes cmocka and store_testutil.h in their order */
#include "workflow_testutil.h"

#include "store_testutil.h"

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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_edits, setup, stest_teardown),
	    cmocka_unit_test_setup_teardown(test_carry, setup, stest_teardown),
	    cmocka_unit_test_setup_teardown(test_preview, setup, stest_teardown),
	    cmocka_unit_test_setup_teardown(test_cancel_edits, setup, stest_teardown),
	    cmocka_unit_test_setup_teardown(test_reason_cap, setup, stest_teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
