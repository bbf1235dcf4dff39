/* test_riskwarning_flow.c - risk warning products over a real store
 * (riskwarning_flow.c, store_riskwarning.c): intake and duplicates, the
 * sign-off by different officers, edits, reject and cancel, the audit
 * rows, the issuer list and the reason's cap. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "store_testutil.h"

#include "riskwarning_flow.h"

#define NOW_MS INT64_C(1796635800000) /* the example's issued_at */

struct fixture {
	struct stest_fixture base;
	struct geo *geo;
	struct officer o1, o2, o3;
};

static const struct riskwarning_flow_cfg cfg2 = {.signoff = 2, .utc_offset_min = 480};

static void add_officer(struct store *s, const char *name, struct officer *o)
{
	memset(o, 0, sizeof(*o));
	snprintf(o->name, sizeof(o->name), "%s", name);
	o->role = OFFICER_SUPERVISOR;
	assert_int_equal(store_officer_add(s, name, o->role, "", "", NOW_MS, &o->id), GA_OK);
}

static int setup(void **state)
{
	struct fixture *f = stest_fixture_new(sizeof(struct fixture), "riskwarning-flow", true);
	struct geo_options opt;
	char err[512];

	memset(&opt, 0, sizeof(opt));
	opt.service_area = "32";
	f->geo = geo_new(&opt, err, sizeof(err));
	if (f->geo == NULL)
		fail_msg("geo_new: %s", err);
	add_officer(f->base.s, "a", &f->o1);
	add_officer(f->base.s, "b", &f->o2);
	add_officer(f->base.s, "c", &f->o3);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	geo_free(f->geo);
	return stest_teardown(state);
}

/* The example as product_id, parsed (valid) and stored as pending. */
static void intake(struct fixture *f, const char *product_id, ga_err want)
{
	const char *dir = getenv("GA_SOURCE_DIR");
	char path[1024];
	json_error_t jerr;
	json_t *o;
	char *text;
	struct riskwarning w;
	struct report_errors e;
	const struct riskwarning_context ctx = {.geo = f->geo, .now_ms = NOW_MS};

	snprintf(path, sizeof(path), "%s/tests/data/riskwarning.json", dir ? dir : GA_DATADIR);
	o = json_load_file(path, 0, &jerr);
	assert_non_null(o);
	json_object_set_new(o, "product_id", json_string(product_id));
	text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	assert_int_equal(riskwarning_parse(&ctx, text, strlen(text), &w, &e), GA_OK);
	assert_int_equal(store_begin(f->base.s), GA_OK);
	ga_err rc = riskwarning_flow_intake(f->base.s, &w, f->geo, "mqtt:JS-QXJ", 0, text,
					    strlen(text), NOW_MS);
	assert_int_equal(rc, want);
	assert_int_equal(rc == GA_OK ? store_commit(f->base.s) : store_rollback(f->base.s), GA_OK);
	riskwarning_cleanup(&w);
	free(text);
}

static void get(struct fixture *f, const char *id, struct store_riskwarning *w)
{
	assert_int_equal(store_riskwarning_get(f->base.s, id, w), GA_OK);
}

static long long count_audit(struct fixture *f, const char *action, const char *subject)
{
	struct db *db = stest_raw_open(f->base.db.path);
	char sql[256];
	long long n;

	snprintf(sql, sizeof(sql),
		 "SELECT count(*) FROM audit WHERE action = '%s' AND subject = '%s'", action,
		 subject);
	n = stest_raw_int(db, sql);
	db_close(db);
	return n;
}

static void test_intake_duplicate(void **state)
{
	struct fixture *f = *state;
	struct store_riskwarning w;

	intake(f, "P-1", GA_OK);
	intake(f, "P-1", GA_ERR_DUPLICATE);
	get(f, "P-1", &w);
	assert_string_equal(w.state, "pending");
	assert_string_equal(w.source, "mqtt:JS-QXJ");
	assert_int_equal(w.version, 1);
	assert_int_equal(w.confirmations, 0);
	assert_non_null(strstr(w.product, "\"counties\""));
	assert_non_null(strstr(w.product, "江宁区"));
	store_riskwarning_clear(&w);
	assert_int_equal(count_audit(f, "riskwarning.received", "P-1"), 1);
	assert_int_equal(store_riskwarning_get(f->base.s, "P-none", &w), GA_ERR_NOTFOUND);
}

static void test_signoff(void **state)
{
	struct fixture *f = *state;
	struct store_riskwarning w;
	char msg[256];
	bool published;
	json_t *edits;

	intake(f, "P-2", GA_OK);
	assert_int_equal(riskwarning_flow_confirm(f->base.s, &cfg2, &f->o1, "P-2", NULL, NOW_MS,
						  &published, msg, sizeof(msg)),
			 GA_OK);
	assert_false(published);
	/* The same officer again: refused, nothing counted. */
	assert_int_equal(riskwarning_flow_confirm(f->base.s, &cfg2, &f->o1, "P-2", NULL, NOW_MS,
						  &published, msg, sizeof(msg)),
			 GA_ERR_CONFLICT);
	assert_true(msg[0] != '\0');
	/* A bad edit: refused, nothing counted or changed. */
	edits = json_pack("{s:s}", "areas", "x");
	assert_int_equal(riskwarning_flow_confirm(f->base.s, &cfg2, &f->o2, "P-2", edits, NOW_MS,
						  &published, msg, sizeof(msg)),
			 GA_ERR_INVAL);
	json_decref(edits);
	edits = json_pack("{s:s}", "advice", "");
	assert_int_equal(riskwarning_flow_confirm(f->base.s, &cfg2, &f->o2, "P-2", edits, NOW_MS,
						  &published, msg, sizeof(msg)),
			 GA_ERR_INVAL);
	json_decref(edits);
	get(f, "P-2", &w);
	assert_int_equal(w.confirmations, 1);
	store_riskwarning_clear(&w);

	edits = json_pack("{s:s}", "advice", "立即撤离。");
	assert_int_equal(riskwarning_flow_confirm(f->base.s, &cfg2, &f->o2, "P-2", edits, NOW_MS,
						  &published, msg, sizeof(msg)),
			 GA_OK);
	json_decref(edits);
	assert_true(published);
	get(f, "P-2", &w);
	assert_string_equal(w.state, "published");
	assert_int_equal(w.published_ms, NOW_MS);
	assert_int_equal(w.confirmations, 2);
	assert_non_null(strstr(w.product, "立即撤离。"));
	store_riskwarning_clear(&w);
	/* Published: a third confirmation and a reject are conflicts. */
	assert_int_equal(riskwarning_flow_confirm(f->base.s, &cfg2, &f->o3, "P-2", NULL, NOW_MS,
						  &published, msg, sizeof(msg)),
			 GA_ERR_CONFLICT);
	assert_int_equal(
	    riskwarning_flow_end(f->base.s, &f->o3, "P-2", false, "no", NOW_MS, msg, sizeof(msg)),
	    GA_ERR_CONFLICT);
	assert_int_equal(
	    riskwarning_flow_end(f->base.s, &f->o3, "P-2", true, "雨停", NOW_MS, msg, sizeof(msg)),
	    GA_OK);
	get(f, "P-2", &w);
	assert_string_equal(w.state, "cancelled");
	assert_string_equal(w.reason, "雨停");
	store_riskwarning_clear(&w);
	assert_int_equal(count_audit(f, "riskwarning.confirm", "P-2"), 2);
	assert_int_equal(count_audit(f, "riskwarning.publish", "P-2"), 1);
	assert_int_equal(count_audit(f, "riskwarning.cancel", "P-2"), 1);
}

static void test_reject_and_expired(void **state)
{
	struct fixture *f = *state;
	struct store_riskwarning w;
	char msg[256], reason[RISKWARNING_REASON_MAX * 3 + 4] = "";
	bool published;

	intake(f, "P-3", GA_OK);
	/* valid_to of the example: 2026-12-08T20:00:00+08:00. */
	int64_t valid_to = NOW_MS + (int64_t)(26 * 60 + 30) * 60 * 1000;
	assert_int_equal(riskwarning_flow_confirm(f->base.s, &cfg2, &f->o1, "P-3", NULL, valid_to,
						  &published, msg, sizeof(msg)),
			 GA_ERR_CONFLICT);
	assert_int_equal(riskwarning_flow_confirm(f->base.s, &cfg2, &f->o1, "P-3", NULL,
						  valid_to - 1, &published, msg, sizeof(msg)),
			 GA_OK);
	/* The reason: empty, at the cap, one past. */
	assert_int_equal(
	    riskwarning_flow_end(f->base.s, &f->o1, "P-3", false, "", NOW_MS, msg, sizeof(msg)),
	    GA_ERR_INVAL);
	for (int i = 0; i < RISKWARNING_REASON_MAX + 1; i++)
		strcat(reason, "误");
	assert_int_equal(
	    riskwarning_flow_end(f->base.s, &f->o1, "P-3", false, reason, NOW_MS, msg, sizeof(msg)),
	    GA_ERR_INVAL);
	reason[strlen(reason) - 3] = '\0';
	assert_int_equal(
	    riskwarning_flow_end(f->base.s, &f->o1, "P-3", true, reason, NOW_MS, msg, sizeof(msg)),
	    GA_ERR_CONFLICT); /* pending: cannot be cancelled */
	assert_int_equal(
	    riskwarning_flow_end(f->base.s, &f->o1, "P-3", false, reason, NOW_MS, msg, sizeof(msg)),
	    GA_OK);
	get(f, "P-3", &w);
	assert_string_equal(w.state, "rejected");
	store_riskwarning_clear(&w);
	assert_int_equal(
	    riskwarning_flow_end(f->base.s, &f->o1, "P-none", false, "x", NOW_MS, msg, sizeof(msg)),
	    GA_ERR_NOTFOUND);
}

static bool list_cb(const struct store_riskwarning *w, void *arg)
{
	(*(int *)arg)++;
	return true;
}

static void test_list(void **state)
{
	struct fixture *f = *state;
	int n = 0;

	intake(f, "P-4", GA_OK);
	intake(f, "P-5", GA_OK);
	assert_int_equal(store_riskwarning_list(f->base.s, "pending", 0, list_cb, &n), GA_OK);
	assert_int_equal(n, 2);
	n = 0;
	assert_int_equal(store_riskwarning_list(f->base.s, NULL, 1, list_cb, &n), GA_OK);
	assert_int_equal(n, 1);
	n = 0;
	assert_int_equal(store_riskwarning_list(f->base.s, "expired", 0, list_cb, &n), GA_OK);
	assert_int_equal(n, 0);
}

/* At valid_to (not before) pending and published products expire, once,
 * each with an audit row; a confirmation after is refused. */
static void test_expire(void **state)
{
	struct fixture *f = *state;
	int64_t valid_to = NOW_MS + (int64_t)(26 * 60 + 30) * 60 * 1000;
	struct store_riskwarning w;
	char msg[256];
	bool published;
	int n = -1;

	intake(f, "P-7", GA_OK); /* stays pending */
	intake(f, "P-8", GA_OK); /* published */
	assert_int_equal(riskwarning_flow_confirm(f->base.s, &cfg2, &f->o1, "P-8", NULL, NOW_MS,
						  &published, msg, sizeof(msg)),
			 GA_OK);
	assert_int_equal(riskwarning_flow_confirm(f->base.s, &cfg2, &f->o2, "P-8", NULL, NOW_MS,
						  &published, msg, sizeof(msg)),
			 GA_OK);
	assert_true(published);
	assert_int_equal(riskwarning_flow_expire_due(f->base.s, valid_to - 1, &n), GA_OK);
	assert_int_equal(n, 0);
	assert_int_equal(riskwarning_flow_expire_due(f->base.s, valid_to, &n), GA_OK);
	assert_int_equal(n, 2);
	get(f, "P-7", &w);
	assert_string_equal(w.state, "expired");
	assert_int_equal(w.ended_ms, valid_to);
	store_riskwarning_clear(&w);
	get(f, "P-8", &w);
	assert_string_equal(w.state, "expired");
	assert_int_equal(w.published_ms, NOW_MS);
	store_riskwarning_clear(&w);
	assert_int_equal(riskwarning_flow_expire_due(f->base.s, valid_to + 1000, &n), GA_OK);
	assert_int_equal(n, 0);
	assert_int_equal(count_audit(f, "riskwarning.expire", "P-7"), 1);
	assert_int_equal(count_audit(f, "riskwarning.expire", "P-8"), 1);
	assert_int_equal(riskwarning_flow_confirm(f->base.s, &cfg2, &f->o3, "P-7", NULL, NOW_MS,
						  &published, msg, sizeof(msg)),
			 GA_ERR_CONFLICT);
	/* A cancelled one is left alone. */
	intake(f, "P-9", GA_OK);
	assert_int_equal(
	    riskwarning_flow_end(f->base.s, &f->o1, "P-9", false, "x", NOW_MS, msg, sizeof(msg)),
	    GA_OK);
	assert_int_equal(riskwarning_flow_expire_due(f->base.s, valid_to, &n), GA_OK);
	assert_int_equal(n, 0);
}

static void test_issuers(void **state)
{
	struct report_errors e;

	memset(&e, 0, sizeof(e));
	assert_true(riskwarning_flow_issuer_check("JS-ZRZYT JS-QXJ", "JS-QXJ", &e));
	assert_true(riskwarning_flow_issuer_check("JS-ZRZYT,JS-QXJ", "JS-ZRZYT", &e));
	assert_int_equal(e.n, 0);
	assert_false(riskwarning_flow_issuer_check("JS-ZRZYT JS-QXJ", "JS-QX", &e));
	assert_false(riskwarning_flow_issuer_check("JS-ZRZYT JS-QXJ", "", &e));
	assert_false(riskwarning_flow_issuer_check("", "JS-QXJ", &e));
	assert_int_equal(e.n, 3);
	assert_string_equal(e.e[0].code, "unknown_issuer");
	assert_string_equal(riskwarning_flow_topic_issuer("geohazard/v1/riskwarnings/JS-QXJ"),
			    "JS-QXJ");
	assert_null(riskwarning_flow_topic_issuer("geohazard/v1/reports/JS-QXJ"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_intake_duplicate, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_signoff, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reject_and_expired, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_list, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_expire, setup, teardown),
	    cmocka_unit_test(test_issuers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
