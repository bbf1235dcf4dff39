/* test_ingest_plan.c - which MQTT sessions a start retires and which
 * filters it drops, from what the store recorded (ingest_plan_make). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"
#include "ingest.h"
#include "ingest_internal.h"
#include "store_testutil.h"

struct fixture {
	struct stest_fixture st; /* first: a pointer to it is one to st */
	struct config cfg;
};

static int setup(void **state)
{
	struct fixture *f = stest_fixture_new(sizeof(*f), "ingest-plan", true);

	config_defaults(&f->cfg);
	snprintf(f->cfg.mqtt.client_id, sizeof(f->cfg.mqtt.client_id), "ga");
	*state = f;
	return 0;
}

static struct ingest_plan *plan(struct fixture *f, int sessions)
{
	struct ingest_plan *p = NULL;
	char err[256] = "";
	f->cfg.mqtt.sessions = sessions;
	if (ingest_plan_make(f->st.s, &f->cfg, &p, err, sizeof(err)) != GA_OK)
		fail_msg("ingest_plan_make: %s", err);
	assert_non_null(p);
	return p;
}

struct rows {
	char brokers[80][STORE_BROKER_MAX];
	char ids[80][STORE_CLIENT_ID_MAX];
	char topics[80][STORE_TOPIC_MAX];
	int n;
};

static bool collect(const char *broker, const char *client_id, const char *topic, void *arg)
{
	struct rows *r = arg;
	assert_true(r->n < 80);
	snprintf(r->brokers[r->n], sizeof(r->brokers[r->n]), "%s", broker);
	snprintf(r->ids[r->n], sizeof(r->ids[r->n]), "%s", client_id);
	snprintf(r->topics[r->n], sizeof(r->topics[r->n]), "%s", topic);
	r->n++;
	return true;
}

static void rows(struct fixture *f, struct rows *r)
{
	memset(r, 0, sizeof(*r));
	assert_int_equal(store_mqtt_session_each(f->st.s, "", collect, r), GA_OK);
}

static void test_records_and_retires(void **state)
{
	struct fixture *f = *state;
	struct rows r;

	/* A fresh database: nothing to retire; the sessions are recorded. */
	struct ingest_plan *p = plan(f, 4);
	assert_int_equal(p->nretire, 0);
	for (int i = 0; i < 4; i++)
		assert_string_equal(p->old_topic[i], "");
	ingest_plan_free(p);
	rows(f, &r);
	assert_int_equal(r.n, 4);
	assert_string_equal(r.ids[0], "ga-0");
	assert_string_equal(r.ids[3], "ga-3");
	assert_string_equal(r.brokers[0], "mqtt://127.0.0.1:1883");
	assert_string_equal(r.topics[0], "$share/geoalert/geohazard/v1/reports/+");

	/* Fewer sessions: the two beyond are retired, with their filter;
	 * their rows stay until a retiring session deletes them. */
	p = plan(f, 2);
	assert_int_equal(p->nretire, 2);
	assert_string_equal(p->retire[0].client_id, "ga-2");
	assert_string_equal(p->retire[1].client_id, "ga-3");
	assert_string_equal(p->retire[1].topic, "$share/geoalert/geohazard/v1/reports/+");
	ingest_plan_free(p);
	assert_int_equal(store_mqtt_session_delete(f->st.s, "mqtt://127.0.0.1:1883", "ga-2"),
			 GA_OK);

	/* Another share_group and client_id: the old sessions are retired,
	 * a session of this run that had another filter drops it. */
	snprintf(f->cfg.mqtt.share_group, sizeof(f->cfg.mqtt.share_group), "g2");
	p = plan(f, 2);
	assert_int_equal(p->nretire, 1);
	assert_string_equal(p->retire[0].client_id, "ga-3");
	assert_string_equal(p->old_topic[0], "$share/geoalert/geohazard/v1/reports/+");
	assert_string_equal(p->old_topic[1], "$share/geoalert/geohazard/v1/reports/+");
	ingest_plan_free(p);
	p = plan(f, 2);
	assert_string_equal(p->old_topic[0], ""); /* recorded: dropped once */
	ingest_plan_free(p);

	snprintf(f->cfg.mqtt.client_id, sizeof(f->cfg.mqtt.client_id), "gb");
	p = plan(f, 1);
	assert_int_equal(p->nretire, 3);
	assert_string_equal(p->retire[0].client_id, "ga-0");
	assert_string_equal(p->retire[1].client_id, "ga-1");
	assert_string_equal(p->retire[2].client_id, "ga-3");
	assert_string_equal(p->retire[0].topic, "$share/g2/geohazard/v1/reports/+");
	ingest_plan_free(p);
	rows(f, &r);
	assert_int_equal(r.n, 4);
	assert_string_equal(r.ids[3], "gb-0");
}

/* A database from before migration 8 that took reports: every
 * {client_id}-N beyond [mqtt] sessions is tried once, then forgotten
 * like any other. */
static void test_legacy_database(void **state)
{
	struct fixture *f = *state;
	struct rows r;

	assert_int_equal(store_mqtt_session_put(f->st.s, "", "", "*", ""), GA_OK);
	struct ingest_plan *p = plan(f, 3);
	assert_int_equal(p->nretire, CONFIG_SESSIONS_MAX - 3);
	assert_string_equal(p->retire[0].client_id, "ga-10"); /* by client id */
	for (int i = 0; i < p->nretire; i++)
		assert_string_equal(p->retire[i].topic, "$share/geoalert/geohazard/v1/reports/+");
	ingest_plan_free(p);
	rows(f, &r);
	assert_int_equal(r.n, CONFIG_SESSIONS_MAX);
	for (int i = 0; i < r.n; i++)
		assert_string_not_equal(r.ids[i], "*");
}

/* Several brokers (spec §10): every session of this run on each broker,
 * recorded with the broker's url; the rows from before several brokers
 * (broker "") are the first broker's; a session left at a broker is
 * retired at that broker; one at a broker no longer in [mqtt] url is
 * left alone. */
static void test_brokers(void **state)
{
	struct fixture *f = *state;
	struct rows r;
	char msg[256];

	/* A database of one broker's time: two sessions, broker "". */
	assert_int_equal(store_mqtt_session_put(f->st.s, "", "", "ga-0", "$share/old/x/+"), GA_OK);
	assert_int_equal(store_mqtt_session_put(f->st.s, "", "", "ga-1", "$share/old/x/+"), GA_OK);
	assert_int_equal(store_mqtt_session_put(f->st.s, "", "", "ga-2", "$share/old/x/+"), GA_OK);
	assert_int_equal(store_mqtt_session_put(f->st.s, "", "mqtt://gone:1883", "ga-0", "t"),
			 GA_OK);
	assert_int_equal(config_parse_brokers("mqtt://mq1:1883 mqtt://mq2", f->cfg.mqtt.brokers,
					      &f->cfg.mqtt.nbrokers, msg, sizeof(msg)),
			 GA_OK);
	struct ingest_plan *p = plan(f, 2);
	assert_int_equal(p->nbrokers, 2);
	/* ga-2 of the old rows: on the first broker, retired there. */
	assert_int_equal(p->nretire, 1);
	assert_string_equal(p->retire[0].client_id, "ga-2");
	assert_string_equal(p->retire[0].broker, "");
	assert_int_equal(p->retire[0].bi, 0);
	/* The old filter of ga-0 and ga-1 is the first broker's to drop. */
	assert_string_equal(p->old_topic[0], "$share/old/x/+");
	assert_string_equal(p->old_topic[1], "$share/old/x/+");
	assert_string_equal(p->old_topic[2], "");
	assert_string_equal(p->old_topic[3], "");
	ingest_plan_free(p);
	rows(f, &r);
	/* "" ga-2 (to retire), gone's ga-0 (left), and two on each broker;
	 * ordered by broker, then client id. */
	assert_int_equal(r.n, 6);
	assert_string_equal(r.brokers[0], "");
	assert_string_equal(r.ids[0], "ga-2");
	assert_string_equal(r.brokers[1], "mqtt://gone:1883");
	assert_string_equal(r.brokers[2], "mqtt://mq1:1883");
	assert_string_equal(r.ids[2], "ga-0");
	assert_string_equal(r.ids[3], "ga-1");
	assert_string_equal(r.brokers[4], "mqtt://mq2:1883");
	assert_string_equal(r.ids[5], "ga-1");

	/* One session fewer: ga-1 is retired on each broker, at its own. */
	assert_int_equal(store_mqtt_session_delete(f->st.s, "", "ga-2"), GA_OK);
	p = plan(f, 1);
	assert_int_equal(p->nretire, 2);
	assert_string_equal(p->retire[0].client_id, "ga-1");
	assert_string_equal(p->retire[0].broker, "mqtt://mq1:1883");
	assert_int_equal(p->retire[0].bi, 0);
	assert_string_equal(p->retire[1].client_id, "ga-1");
	assert_string_equal(p->retire[1].broker, "mqtt://mq2:1883");
	assert_int_equal(p->retire[1].bi, 1);
	ingest_plan_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_records_and_retires, setup, stest_teardown),
	    cmocka_unit_test_setup_teardown(test_legacy_database, setup, stest_teardown),
	    cmocka_unit_test_setup_teardown(test_brokers, setup, stest_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
