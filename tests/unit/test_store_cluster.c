/* test_store_cluster.c - the cluster's rows (store_cluster.c, spec §10):
 * heartbeats, claims, the claimed instance's wait and return, the duties'
 * lease. On SQLite and PostgreSQL (GA_TEST_STORE=pg, store_testutil.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
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
	*state = stest_fixture_new(sizeof(struct stest_fixture), "cluster", true);
	return 0;
}

/* One statement in a transaction of its own. */
#define TXN(s, call)                                                                               \
	do {                                                                                       \
		assert_int_equal(store_begin(s), GA_OK);                                           \
		assert_int_equal((call), GA_OK);                                                   \
		assert_int_equal(store_commit(s), GA_OK);                                          \
	} while (0)

static ga_err beat(struct store *s, const char *who, int64_t now, char *taker)
{
	ga_err e;

	assert_int_equal(store_begin(s), GA_OK);
	e = store_cluster_heartbeat(s, who, now, taker, STORE_INSTANCE_MAX);
	assert_int_equal(store_commit(s), GA_OK);
	return e;
}

/* A claimed instance writes no heartbeat and learns who claimed it; the
 * claim cannot be won while its heartbeat is fresh; once the taker forgets
 * it, it joins again. Release and forget act only on the caller's claim. */
static void test_claim_wait_and_return(void **state)
{
	struct stest_fixture *f = *state;
	struct store *s = f->s;
	char taker[STORE_INSTANCE_MAX], dead[STORE_INSTANCE_MAX];

	TXN(s, store_cluster_join(s, "a", 1000));
	TXN(s, store_cluster_join(s, "b", 1000));
	assert_int_equal(beat(s, "a", 2000, taker), GA_OK);
	assert_string_equal(taker, "");
	assert_int_equal(beat(s, "b", 9000, taker), GA_OK);

	/* a's heartbeat (2000) is not older than 2000: nobody to claim */
	TXN(s, store_cluster_claim(s, "b", 9000, 2000, dead, sizeof(dead)));
	assert_string_equal(dead, "");
	/* older than 5000: b claims a, and nobody claims it twice */
	TXN(s, store_cluster_claim(s, "b", 9000, 5000, dead, sizeof(dead)));
	assert_string_equal(dead, "a");
	TXN(s, store_cluster_claim(s, "c", 9000, 5000, dead, sizeof(dead)));
	assert_string_equal(dead, "");

	/* a comes back while b works: no heartbeat, told who */
	assert_int_equal(beat(s, "a", 9500, taker), GA_ERR_CONFLICT);
	assert_string_equal(taker, "b");
	/* b is alive (heartbeat 9000, not older than 4000): a may not take
	 * itself back */
	bool done = true;
	TXN(s, store_cluster_reclaim(s, "a", "b", 4000, &done));
	assert_false(done);
	/* someone else's release or forget changes nothing */
	TXN(s, store_cluster_release(s, "a", "c"));
	TXN(s, store_cluster_forget(s, "a", "c"));
	assert_int_equal(beat(s, "a", 9600, taker), GA_ERR_CONFLICT);

	/* b is done: a's row is gone, its heartbeat says so, it joins again */
	TXN(s, store_cluster_forget(s, "a", "b"));
	assert_int_equal(beat(s, "a", 9700, taker), GA_ERR_NOTFOUND);
	TXN(s, store_cluster_join(s, "a", 9700));
	assert_int_equal(beat(s, "a", 9800, taker), GA_OK);
}

/* A claim the taker hands back lets the instance beat again; a taker
 * silent itself loses its claim to the instance's reclaim. */
static void test_release_and_reclaim(void **state)
{
	struct stest_fixture *f = *state;
	struct store *s = f->s;
	char taker[STORE_INSTANCE_MAX], dead[STORE_INSTANCE_MAX];
	bool done = false;

	TXN(s, store_cluster_join(s, "a", 1000));
	TXN(s, store_cluster_join(s, "b", 1000));
	TXN(s, store_cluster_claim(s, "b", 9000, 5000, dead, sizeof(dead)));
	assert_string_equal(dead, "a");
	TXN(s, store_cluster_release(s, "a", "b"));
	assert_int_equal(beat(s, "a", 9100, taker), GA_OK);

	/* claimed again, and b falls silent (heartbeat 1000) */
	TXN(s, store_cluster_claim(s, "b", 20000, 15000, dead, sizeof(dead)));
	assert_string_equal(dead, "a");
	assert_int_equal(beat(s, "a", 20100, taker), GA_ERR_CONFLICT);
	TXN(s, store_cluster_reclaim(s, "a", "b", 14000, &done));
	assert_true(done);
	assert_int_equal(beat(s, "a", 20200, taker), GA_OK);
	/* b's late forget does not remove the returned a */
	TXN(s, store_cluster_forget(s, "a", "b"));
	assert_int_equal(beat(s, "a", 20300, taker), GA_OK);
}

/* The duties' lease: one holder until it expires or is handed back. */
static void test_lease(void **state)
{
	struct stest_fixture *f = *state;
	struct store *s = f->s;
	bool held = false;

	TXN(s, store_cluster_lease(s, "duties", "a", 1000, 6000, &held));
	assert_true(held);
	TXN(s, store_cluster_lease(s, "duties", "b", 2000, 7000, &held));
	assert_false(held);
	TXN(s, store_cluster_lease(s, "duties", "a", 3000, 8000, &held));
	assert_true(held);
	/* expired: b takes it */
	TXN(s, store_cluster_lease(s, "duties", "b", 8000, 13000, &held));
	assert_true(held);
	TXN(s, store_cluster_lease(s, "duties", "a", 9000, 14000, &held));
	assert_false(held);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_claim_wait_and_return, setup, stest_teardown),
	    cmocka_unit_test_setup_teardown(test_release_and_reclaim, setup, stest_teardown),
	    cmocka_unit_test_setup_teardown(test_lease, setup, stest_teardown)};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
