/* test_delivery.c - the delivery ledger without the network: which
 * channels a version goes to (enabled, drill mode, an update following
 * its alert to a channel disabled since, a section removed), versions
 * going out in order per channel, the row states, re-send, recovery of
 * rows left sending, and the sliding-window rate limit at its cap and one
 * past it; a risk warning's rows to an mqtt channel with the row that
 * clears its retained message at valid_to. On SQLite and PostgreSQL (GA_TEST_STORE=pg,
 * store_testutil.h). */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "delivery.h"
#include "delivery_limit.h"
#include "riskwarning_deliver.h"
#include "store_testutil.h"

/* The databases of the tests, removed by group_teardown. */
#define DBS_MAX 4
static struct stest_db dbs[DBS_MAX];
static int ndbs;

/* A store on a fresh database of its own. */
static struct store *open_store(const char *name)
{
	assert_true(ndbs < DBS_MAX);
	stest_db_make(&dbs[ndbs], name);
	return stest_open(dbs[ndbs++].path, 0);
}

static int group_teardown(void **state)
{
	(void)state;
	for (int i = 0; i < ndbs; i++)
		stest_db_remove(&dbs[i]);
	return 0;
}

static struct config_channel *add_channel(struct config *c, const char *name, bool enabled,
					  bool exercise)
{
	struct config_channel *ch = &c->channels[c->nchannels++];
	memset(ch, 0, sizeof(*ch));
	snprintf(ch->name, sizeof(ch->name), "%s", name);
	snprintf(ch->type, sizeof(ch->type), "portal");
	snprintf(ch->url, sizeof(ch->url), "http://127.0.0.1:9/");
	ch->enabled = enabled;
	ch->exercise = exercise;
	return ch;
}

struct rows {
	int n;
	struct store_delivery r[16];
};

static bool collect(const struct store_delivery *d, void *arg)
{
	struct rows *rows = arg;
	rows->r[rows->n++] = *d;
	return rows->n < 16;
}

/* The rows due at now (at most 10) into rows, replacing what it held;
 * returns how many. */
static int due(struct store *s, int64_t now, struct rows *rows)
{
	rows->n = 0;
	assert_int_equal(store_delivery_due(s, now, 10, collect, rows), GA_OK);
	return rows->n;
}

/* Marks delivery id sending, due again at retry_ms, in a transaction of
 * its own. */
static void start(struct store *s, int64_t id, int64_t retry_ms)
{
	assert_int_equal(store_begin(s), GA_OK);
	assert_int_equal(store_delivery_start(s, id, retry_ms), GA_OK);
	assert_int_equal(store_commit(s), GA_OK);
}

/* Ends an attempt of delivery id (store_delivery_finish) in a
 * transaction of its own. */
static void finish(struct store *s, int64_t id, const char *st, int64_t now, const char *error,
		   int64_t delivered)
{
	assert_int_equal(store_begin(s), GA_OK);
	assert_int_equal(store_delivery_finish(s, id, st, now, error, delivered), GA_OK);
	assert_int_equal(store_commit(s), GA_OK);
}

/* "a,b,c": the channels of version v of alert id, in name order. */
static void channels_of(struct store *s, const char *id, int v, char *out, size_t len)
{
	struct rows rows = {0};
	out[0] = '\0';
	assert_int_equal(store_delivery_each(s, id, collect, &rows), GA_OK);
	for (int i = 0; i < rows.n; i++) {
		if (rows.r[i].version != v)
			continue;
		size_t k = strlen(out);
		snprintf(out + k, len - k, "%s%s", k ? "," : "", rows.r[i].channel);
	}
}

static void enqueue(struct store *s, const struct config *c, const char *id, int v,
		    const char *type, int64_t now)
{
	assert_int_equal(store_begin(s), GA_OK);
	assert_int_equal(delivery_enqueue(s, c, id, v, type, now), GA_OK);
	assert_int_equal(store_commit(s), GA_OK);
}

static void test_enqueue_targets(void **state)
{
	struct config *c = calloc(1, sizeof(*c));
	struct store *s = open_store("targets");
	char got[256];
	struct rows rows = {0};

	config_defaults(c);
	add_channel(c, "a", true, false);
	add_channel(c, "b", false, true);
	struct config_channel *cc = add_channel(c, "c", true, true);
	enqueue(s, c, "JS-1", 1, "alert", 1000);
	channels_of(s, "JS-1", 1, got, sizeof(got));
	assert_string_equal(got, "a,c");
	assert_int_equal(store_delivery_each(s, "JS-1", collect, &rows), GA_OK);
	assert_string_equal(rows.r[0].idem_key, "JS-1:1");
	assert_string_equal(rows.r[0].state, "pending");
	assert_int_equal(rows.r[0].next_attempt_ms, 1000);
	/* a portal's default: no deadline (spec §9: until it answers 2xx) */
	assert_true(rows.r[0].deadline_ms == DELIVERY_NEVER);

	/* a channel's own deadline */
	cc->kv[0] = (struct config_kv){"deadline", "60", 1};
	cc->nkv = 1;
	/* a and c disabled since, d new: the update still goes to a and c */
	c->channels[0].enabled = false;
	cc->enabled = false;
	add_channel(c, "d", true, false);
	enqueue(s, c, "JS-1", 2, "update", 2000);
	channels_of(s, "JS-1", 2, got, sizeof(got));
	assert_string_equal(got, "a,c,d");
	/* ... but not once a's section is gone */
	c->channels[0] = c->channels[3];
	c->nchannels = 3; /* d, b, c */
	enqueue(s, c, "JS-1", 3, "cancel", 3000);
	channels_of(s, "JS-1", 3, got, sizeof(got));
	assert_string_equal(got, "c,d");
	rows.n = 0;
	assert_int_equal(store_delivery_each(s, "JS-1", collect, &rows), GA_OK);
	for (int i = 0; i < rows.n; i++)
		if (rows.r[i].version == 3 && strcmp(rows.r[i].channel, "c") == 0)
			assert_int_equal(rows.r[i].deadline_ms, 3000 + 60000);

	/* drill mode: only the exercise channels, enabled ones */
	c->alerts.exercise = true;
	c->channels[1].enabled = true; /* b: exercise */
	enqueue(s, c, "JS-2", 1, "alert", 4000);
	channels_of(s, "JS-2", 1, got, sizeof(got));
	assert_string_equal(got, "b");

	/* a version enqueued twice is one row per channel */
	enqueue(s, c, "JS-2", 1, "alert", 4000);
	channels_of(s, "JS-2", 1, got, sizeof(got));
	assert_string_equal(got, "b");
	assert_int_equal(delivery_enqueue(s, c, "JS-2", 0, "alert", 1), GA_ERR_INVAL);
	store_close(s);
	free(c);
}

static void test_order_states_resend_recover(void **state)
{
	struct config *c = calloc(1, sizeof(*c));
	struct store *s = open_store("order");
	struct rows rows = {0};
	struct store_delivery d;
	char msg[256];
	int v = 0, n = 0;

	config_defaults(c);
	add_channel(c, "p", true, false);
	enqueue(s, c, "JS-9", 1, "alert", 100);
	enqueue(s, c, "JS-9", 2, "update", 100);
	/* version 2 waits for version 1 */
	assert_int_equal(due(s, 1000, &rows), 1);
	assert_int_equal(rows.r[0].version, 1);
	int64_t id1 = rows.r[0].id;
	/* not due before its time */
	assert_int_equal(due(s, 99, &rows), 0);

	start(s, id1, 50000);
	assert_int_equal(due(s, 1000, &rows), 0); /* v1 sending (retry later), v2 still waits */
	/* a crash: recovery makes the sending row due now */
	assert_int_equal(store_delivery_recover(s, 1000, &n), GA_OK);
	assert_int_equal(n, 1);
	assert_int_equal(due(s, 1000, &rows), 1);
	assert_string_equal(rows.r[0].state, "sending");
	assert_int_equal(rows.r[0].attempts, 1);

	/* v1 failed: v2 goes on; a duty officer's re-send of v1 is not the
	 * latest version's, so it is refused while v2 is unfinished */
	finish(s, id1, "failed", 1000, "HTTP 500", 0);
	assert_int_equal(due(s, 1000, &rows), 1);
	assert_int_equal(rows.r[0].version, 2);
	assert_int_equal(delivery_resend(s, c, 0, "JS-9", "p", 2000, &v, msg, sizeof(msg)),
			 GA_ERR_CONFLICT);
	assert_non_null(strstr(msg, "待发送"));
	assert_int_equal(delivery_resend(s, c, 0, "JS-9", "q", 2000, &v, msg, sizeof(msg)),
			 GA_ERR_NOTFOUND);

	/* v2 fails at its deadline: re-sent, pending with a new deadline */
	finish(s, rows.r[0].id, "failed", 1000, "HTTP 502", 0);
	assert_int_equal(delivery_resend(s, c, 0, "JS-9", "p", 2000, &v, msg, sizeof(msg)), GA_OK);
	assert_int_equal(v, 2);
	assert_int_equal(store_delivery_latest(s, "JS-9", "p", INT_MAX, &d), GA_OK);
	assert_string_equal(d.state, "pending");
	assert_string_equal(d.last_error, "HTTP 502");
	assert_int_equal(d.next_attempt_ms, 2000);
	assert_true(d.deadline_ms == DELIVERY_NEVER); /* the portal's: none */
	assert_int_equal(delivery_resend(s, c, 0, "JS-9", "p", 2000, &v, msg, sizeof(msg)),
			 GA_ERR_CONFLICT);

	/* delivered */
	finish(s, d.id, "delivered", 3000, "", 3000);
	assert_int_equal(store_delivery_latest(s, "JS-9", "p", INT_MAX, &d), GA_OK);
	assert_int_equal(d.delivered_ms, 3000);
	assert_int_equal(due(s, 1 << 30, &rows), 0);
	store_close(s);
	free(c);
}

/* A multi-step delivery's progress (migration 6) is stored only while
 * the row is being sent, survives a retry and a restart, and a new
 * version starts from step 0. */
static void test_progress(void **state)
{
	struct config *c = calloc(1, sizeof(*c));
	struct store *s = open_store("progress");
	struct rows rows = {0};
	int n = 0;

	config_defaults(c);
	add_channel(c, "p", true, false);
	enqueue(s, c, "JS-7", 1, "alert", 100);
	assert_int_equal(due(s, 1000, &rows), 1);
	assert_int_equal(rows.r[0].step, 0);
	assert_string_equal(rows.r[0].scratch, "");
	int64_t id = rows.r[0].id;
	/* not while pending */
	assert_int_equal(store_delivery_progress(s, id, 1, "x"), GA_ERR_NOTFOUND);

	start(s, id, 50000);
	assert_int_equal(store_delivery_progress(s, id, 2, "media_id=M1"), GA_OK);
	assert_int_equal(store_delivery_progress(s, id, 3, "media_id=M1;batch=2"), GA_OK);
	/* kill -9 here: the row comes back at its step */
	assert_int_equal(store_delivery_recover(s, 1000, &n), GA_OK);
	assert_int_equal(n, 1);
	assert_int_equal(due(s, 1000, &rows), 1);
	assert_int_equal(rows.r[0].step, 3);
	assert_string_equal(rows.r[0].scratch, "media_id=M1;batch=2");
	/* a failed attempt keeps it too */
	finish(s, id, "pending", 2000, "HTTP 500", 0);
	assert_int_equal(store_delivery_progress(s, id, 9, "late"), GA_ERR_NOTFOUND);
	due(s, 2000, &rows);
	assert_int_equal(rows.r[0].step, 3);
	assert_string_equal(rows.r[0].scratch, "media_id=M1;batch=2");

	enqueue(s, c, "JS-7", 2, "update", 100);
	finish(s, id, "delivered", 3000, "", 3000);
	assert_int_equal(due(s, 3000, &rows), 1);
	assert_int_equal(rows.r[0].version, 2);
	assert_int_equal(rows.r[0].step, 0);
	store_close(s);
	free(c);
}

static void test_limit_window(void **state)
{
	struct delivery_limit l;
	int64_t next = 0;

	/* 3 in any 1000 ms: the cap, then one past it */
	assert_int_equal(delivery_limit_init(&l, 3, 1000), GA_OK);
	assert_true(delivery_limit_take(&l, 0, &next));
	assert_true(delivery_limit_take(&l, 10, &next));
	assert_true(delivery_limit_take(&l, 20, &next));
	assert_false(delivery_limit_ok(&l, 30, &next));
	assert_false(delivery_limit_take(&l, 999, &next));
	assert_int_equal(next, 1000);
	assert_true(delivery_limit_take(&l, 1000, &next));
	assert_false(delivery_limit_take(&l, 1005, &next));
	assert_int_equal(next, 1010);
	assert_true(delivery_limit_take(&l, 1010, &next));
	assert_true(delivery_limit_take(&l, 1020, &next));
	/* never more than 3 in any window over a long run */
	int64_t sent[200];
	int ns = 0;
	for (int64_t t = 2000; t < 8000 && ns < 200; t += 7)
		if (delivery_limit_take(&l, t, NULL))
			sent[ns++] = t;
	for (int i = 3; i < ns; i++)
		assert_true(sent[i] - sent[i - 3] >= 1000);
	assert_true(ns >= 17); /* and it does let them through */
	delivery_limit_cleanup(&l);

	/* 0: no limit */
	assert_int_equal(delivery_limit_init(&l, 0, 1000), GA_OK);
	for (int i = 0; i < 1000; i++)
		assert_true(delivery_limit_take(&l, 5, NULL));
	delivery_limit_cleanup(&l);
	assert_int_equal(delivery_limit_init(&l, -1, 1000), GA_ERR_INVAL);
}

/* A risk warning on an mqtt channel: its version's row and the clearing
 * row (RISKWARNING_DELIVER_CLEAR_VERSION) due and created at valid_to,
 * held back until then and behind the versions before it; a cancel
 * finds the clearing row there; a blue-only product gets no mqtt row. */
static void test_riskwarning_mqtt_clear(void **state)
{
	struct config *c = calloc(1, sizeof(*c));
	struct store *s = open_store("rwmqtt");
	/* 2026-12-08T00:00:00Z */
	const int64_t now = 1796688000000, valid_to = now + 3600 * 1000;
	json_t *red = json_pack("{s:s, s:[{s:s, s:s}]}", "valid_to", "2026-12-08T09:00:00+08:00",
				"counties", "admin_code", "320115", "level", "red");
	json_t *blue = json_pack("{s:s, s:[{s:s, s:s}]}", "valid_to", "2026-12-08T09:00:00+08:00",
				 "counties", "admin_code", "321181", "level", "blue");
	struct rows rows = {0};
	json_t *msg = NULL;
	char got[256];

	(void)state;
	assert_non_null(red);
	assert_non_null(blue);
	config_defaults(c);
	add_channel(c, "p", true, false);
	snprintf(add_channel(c, "m", true, false)->type, sizeof(c->channels[0].type), "mqtt");
	assert_int_equal(store_begin(s), GA_OK);
	assert_int_equal(riskwarning_deliver_enqueue(s, c, "RW-1", red, 1, "alert", NULL, now),
			 GA_OK);
	assert_int_equal(riskwarning_deliver_enqueue(s, c, "RW-B", blue, 1, "alert", NULL, now),
			 GA_OK);
	assert_int_equal(store_commit(s), GA_OK);
	channels_of(s, "rw:RW-1", 1, got, sizeof(got));
	assert_string_equal(got, "m,p");
	channels_of(s, "rw:RW-1", RISKWARNING_DELIVER_CLEAR_VERSION, got, sizeof(got));
	assert_string_equal(got, "m");
	channels_of(s, "rw:RW-B", RISKWARNING_DELIVER_CLEAR_VERSION, got, sizeof(got));
	assert_string_equal(got, "");
	assert_int_equal(store_delivery_each(s, "rw:RW-1", collect, &rows), GA_OK);
	assert_int_equal(rows.n, 3);
	const struct store_delivery *clr = &rows.r[2]; /* by version */
	assert_int_equal(clr->version, RISKWARNING_DELIVER_CLEAR_VERSION);
	assert_string_equal(clr->msg_type, "cancel");
	assert_string_equal(clr->idem_key, "RW-1:clear");
	assert_true(clr->next_attempt_ms == valid_to && clr->created_ms == valid_to);
	int64_t clear_id = clr->id, m1_id = rows.r[0].id;
	assert_string_equal(rows.r[0].channel, "m");

	/* version 1 to m failed: a re-send finds it, not the clearing row
	 * above it (which is no version to send again) */
	start(s, m1_id, now + 1000);
	finish(s, m1_id, "failed", now + 500, "broker gone", 0);
	int v = 0;
	char why[256];
	assert_int_equal(
	    delivery_resend_subject(s, c, 0, "rw:RW-1", "m", RISKWARNING_DELIVER_CLEAR_VERSION,
				    "riskwarning.resend", "RW-1", now + 600, &v, why, sizeof(why)),
	    GA_OK);
	assert_int_equal(v, 1);
	struct store_delivery again;
	assert_int_equal(
	    store_delivery_latest(s, "rw:RW-1", "m", RISKWARNING_DELIVER_CLEAR_VERSION, &again),
	    GA_OK);
	assert_true(again.id == m1_id);
	assert_string_equal(again.state, "pending");
	assert_int_equal(store_delivery_latest(s, "rw:RW-1", "m", INT_MAX, &again), GA_OK);
	assert_true(again.id == clear_id);
	assert_string_equal(again.state, "pending");

	/* a cancel: its own row, the clearing row left as it is */
	assert_int_equal(store_begin(s), GA_OK);
	assert_int_equal(
	    riskwarning_deliver_enqueue(s, c, "RW-1", red, 2, "cancel", NULL, now + 1000), GA_OK);
	assert_int_equal(store_commit(s), GA_OK);
	channels_of(s, "rw:RW-1", RISKWARNING_DELIVER_CLEAR_VERSION, got, sizeof(got));
	assert_string_equal(got, "m");

	/* before valid_to: never due; at it: only once m's versions are done */
	due(s, valid_to - 1, &rows);
	for (int i = 0; i < rows.n; i++)
		assert_int_not_equal(rows.r[i].id, clear_id);
	due(s, valid_to, &rows);
	for (int i = 0; i < rows.n; i++)
		assert_int_not_equal(rows.r[i].id, clear_id);
	start(s, m1_id, valid_to + 1000);
	finish(s, m1_id, "delivered", valid_to, "", valid_to);
	due(s, valid_to, &rows);
	for (int i = 0; i < rows.n; i++)
		if (rows.r[i].version == 2 && strcmp(rows.r[i].channel, "m") == 0) {
			start(s, rows.r[i].id, valid_to + 1000);
			finish(s, rows.r[i].id, "delivered", valid_to, "", valid_to);
		}
	bool found = false;
	due(s, valid_to, &rows);
	for (int i = 0; i < rows.n; i++)
		found = found || rows.r[i].id == clear_id;
	assert_true(found);

	/* what the worker sends for it: past valid_to, mqtt only */
	assert_int_equal(riskwarning_deliver_message(s, c, "RW-1",
						     RISKWARNING_DELIVER_CLEAR_VERSION, "cancel",
						     "m", valid_to + 5000, &msg),
			 GA_OK);
	assert_string_equal(json_string_value(json_object_get(msg, "product_id")), "RW-1");
	json_decref(msg);
	msg = NULL;
	assert_int_equal(riskwarning_deliver_message(s, c, "RW-1",
						     RISKWARNING_DELIVER_CLEAR_VERSION, "cancel",
						     "p", valid_to + 5000, &msg),
			 GA_ERR_INVAL);
	assert_null(msg);

	json_decref(red);
	json_decref(blue);
	store_close(s);
	free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_enqueue_targets),
	    cmocka_unit_test(test_order_states_resend_recover),
	    cmocka_unit_test(test_progress),
	    cmocka_unit_test(test_limit_window),
	    cmocka_unit_test(test_riskwarning_mqtt_clear),
	};
	return cmocka_run_group_tests(tests, NULL, group_teardown);
}
