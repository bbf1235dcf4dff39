/* workflow_testutil.h - the fixture test_workflow.c and
 * test_workflow_edit.c share: drafts and their lifecycle (issue 4, spec
 * §6, §8) on a real store, with the real templates and thresholds: reports go
 * through incident_assign and workflow_incident_changed in one
 * transaction as the writer does it; officers confirm, reject, cancel. */
#ifndef GA_WORKFLOW_TESTUTIL_H
#define GA_WORKFLOW_TESTUTIL_H

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

static inline int group_setup(void **state)
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

static inline int group_teardown(void **state)
{
	(void)state;
	geo_free(geo);
	draft_templates_free(tpl);
	thresholds_free(thr);
	return 0;
}

static inline void officer(struct fixture *f, const char *name, struct officer *o)
{
	int64_t id = 0;

	assert_int_equal(store_officer_add(f->st.s, name, OFFICER_DUTY_OFFICER, NULL, NULL, 1, &id),
			 GA_OK);
	assert_int_equal(store_officer_get(f->st.s, id, o), GA_OK);
}

static inline int setup(void **state)
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
static inline void mk(struct fixture *f, struct report *r, const char *station, double people)
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
static inline bool ingest(struct fixture *f, const struct report *r, struct incident *inc)
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

static inline json_t *list(struct fixture *f, int state)
{
	json_t *l = NULL;

	assert_int_equal(workflow_list(f->st.s, &f->ctx, state, &l), GA_OK);
	assert_true(json_is_array(l));
	return l;
}

static inline size_t nlist(struct fixture *f, int state)
{
	json_t *l = list(f, state);
	size_t n = json_array_size(l);

	json_decref(l);
	return n;
}

/* The pending draft's id as workflow_get shows it; 0 when none. */
static inline int64_t pending_id(struct fixture *f, const char *alert_id)
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

static inline const char *str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	assert_non_null(s);
	return s;
}

struct audit_count {
	const char *action;
	int n;
};

static inline bool audit_count_cb(const struct store_audit_row *row, void *arg)
{
	struct audit_count *c = arg;
	if (strcmp(row->action, c->action) == 0)
		c->n++;
	return true;
}

static inline int naudit(struct fixture *f, const char *action)
{
	struct audit_count c = {action, 0};
	assert_int_equal(store_audit_each(f->st.s, 1, audit_count_cb, &c), GA_OK);
	return c.n;
}

static inline void assert_audit_ok(struct fixture *f)
{
	struct audit_verify_result res;

	assert_int_equal(audit_verify(f->st.s, NULL, &res), GA_OK);
	if (!res.ok)
		fail_msg("audit: %s at %lld", res.problem, (long long)res.first_bad_seq);
}

#endif
