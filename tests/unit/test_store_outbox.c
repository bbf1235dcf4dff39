/* test_store_outbox.c - receipts wait in the outbox until acknowledged,
 * survive a reopen, and a rolled-back transaction leaves none behind. On
 * SQLite and PostgreSQL (GA_TEST_STORE=pg, store_testutil.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "store.h"
#include "store_testutil.h"

static int setup(void **state)
{
	*state = stest_fixture_new(sizeof(struct stest_fixture), "outbox", false);
	return 0;
}

struct seen {
	int n;
	int64_t ids[8];
	char payload[8][64];
	char broker[8][64];
};

static bool collect(int64_t id, const char *broker, const char *topic, const char *payload,
		    void *arg)
{
	struct seen *s = arg;
	assert_string_equal(topic, "geohazard/v1/receipts/S1");
	s->ids[s->n] = id;
	snprintf(s->broker[s->n], sizeof(s->broker[0]), "%s", broker);
	snprintf(s->payload[s->n], sizeof(s->payload[0]), "%s", payload);
	s->n++;
	return s->n < 8;
}

static void test_outbox_lifecycle(void **state)
{
	struct stest_fixture *f = *state;
	struct store *s = stest_open(f->db.path, 0);
	int64_t a, b, c;
	assert_int_equal(store_begin(s), GA_OK);
	assert_int_equal(
	    store_outbox_put(s, "mqtt://mq1:1883", "geohazard/v1/receipts/S1", "{\"n\":1}", 1, &a),
	    GA_OK);
	assert_int_equal(
	    store_outbox_put(s, "mqtt://mq2:1883", "geohazard/v1/receipts/S1", "{\"n\":2}", 2, &b),
	    GA_OK);
	assert_int_equal(store_commit(s), GA_OK);
	assert_true(b > a);

	/* a rolled-back receipt is not kept */
	assert_int_equal(store_begin(s), GA_OK);
	assert_int_equal(
	    store_outbox_put(s, "mqtt://mq1:1883", "geohazard/v1/receipts/S1", "{\"n\":3}", 3, &c),
	    GA_OK);
	assert_int_equal(store_rollback(s), GA_OK);

	/* acknowledged: gone; deleting twice is fine */
	assert_int_equal(store_begin(s), GA_OK);
	assert_int_equal(store_outbox_delete(s, a), GA_OK);
	assert_int_equal(store_outbox_delete(s, a), GA_OK);
	assert_int_equal(store_commit(s), GA_OK);
	store_close(s);

	/* what is left survives a reopen, in order */
	s = stest_open(f->db.path, 0);
	struct seen seen = {0};
	assert_int_equal(store_outbox_each(s, collect, &seen), GA_OK);
	assert_int_equal(seen.n, 1);
	assert_int_equal(seen.ids[0], b);
	assert_string_equal(seen.payload[0], "{\"n\":2}");
	/* the broker its report came in on: the receipt goes there again */
	assert_string_equal(seen.broker[0], "mqtt://mq2:1883");
	store_close(s);
}

/* Acknowledgements come back as runs of ids: one statement deletes a run,
 * and nothing outside it. */
static void test_outbox_delete_range(void **state)
{
	struct stest_fixture *f = *state;
	struct store *s = stest_open(f->db.path, 0);
	int64_t id[6];
	assert_int_equal(store_begin(s), GA_OK);
	for (int i = 0; i < 6; i++) {
		char body[16];
		snprintf(body, sizeof(body), "{\"n\":%d}", i);
		assert_int_equal(store_outbox_put(s, "mqtt://mq1:1883", "geohazard/v1/receipts/S1",
						  body, i, &id[i]),
				 GA_OK);
		if (i > 0)
			assert_int_equal(id[i], id[i - 1] + 1);
	}
	assert_int_equal(store_commit(s), GA_OK);

	assert_int_equal(store_begin(s), GA_OK);
	assert_int_equal(store_outbox_delete_range(s, id[1], id[3]), GA_OK);
	assert_int_equal(store_outbox_delete_range(s, id[5], id[5]), GA_OK);
	/* a run already gone, and a reversed one */
	assert_int_equal(store_outbox_delete_range(s, id[1], id[2]), GA_OK);
	assert_int_equal(store_outbox_delete_range(s, id[4], id[0]), GA_ERR_INVAL);
	assert_int_equal(store_commit(s), GA_OK);

	struct seen seen = {0};
	assert_int_equal(store_outbox_each(s, collect, &seen), GA_OK);
	assert_int_equal(seen.n, 2);
	assert_int_equal(seen.ids[0], id[0]);
	assert_int_equal(seen.ids[1], id[4]);
	assert_string_equal(seen.payload[1], "{\"n\":4}");
	store_close(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_outbox_lifecycle, setup, stest_teardown),
	    cmocka_unit_test_setup_teardown(test_outbox_delete_range, setup, stest_teardown)};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
