/* test_store_keys.c - the key ids the deployment signs with
 * (store_keys.c, issue 12): the first check records, a later one with
 * other ids is refused and records nothing, adopt replaces, and two
 * instances checking different ids at the same moment on an empty
 * database never both get in. On SQLite and PostgreSQL (GA_TEST_STORE=pg,
 * store_testutil.h). */
#include <pthread.h>
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

#define RACE_ROUNDS 20

static int setup(void **state)
{
	*state = stest_fixture_new(sizeof(struct stest_fixture), "keys", true);
	return 0;
}

/* keys[0] alert, keys[1] cap, with the given ids. */
static void two(struct store_key *k, const char *alert, const char *cap)
{
	memset(k, 0, 2 * sizeof(*k));
	k[0].purpose = STORE_KEY_ALERT;
	k[0].key_id = alert;
	k[1].purpose = STORE_KEY_CAP;
	k[1].key_id = cap;
}

static long long rows(struct stest_fixture *f)
{
	struct db *db = stest_raw_open(f->db.path);
	long long n = stest_raw_int(db, "SELECT count(*) FROM signing_keys");

	db_close(db);
	return n;
}

static void test_first_records_then_compares(void **state)
{
	struct stest_fixture *f = *state;
	struct store_key k[2];

	two(k, "aaaa000000000001", "cccc000000000001");
	assert_int_equal(store_keys_get(f->s, k, 2), GA_OK);
	assert_string_equal(k[0].recorded, "");
	assert_int_equal(k[0].recorded_ms, 0);

	assert_int_equal(store_keys_check(f->s, k, 2, 1000), GA_OK);
	assert_true(k[0].recorded_now && k[1].recorded_now);
	assert_string_equal(k[0].recorded, "aaaa000000000001");
	assert_string_equal(k[1].recorded, "cccc000000000001");
	assert_int_equal(k[1].recorded_ms, 1000);

	/* the same ids again: nothing new */
	assert_int_equal(store_keys_check(f->s, k, 2, 2000), GA_OK);
	assert_false(k[0].recorded_now || k[1].recorded_now);
	assert_int_equal(k[0].recorded_ms, 1000);

	/* another alert key: refused, both ids named */
	two(k, "bbbb000000000002", "cccc000000000001");
	assert_int_equal(store_keys_check(f->s, k, 2, 3000), GA_ERR_CONFLICT);
	assert_string_equal(k[0].recorded, "aaaa000000000001");
	assert_int_equal(k[0].recorded_ms, 1000);
	assert_string_equal(k[1].recorded, "cccc000000000001");
	assert_false(k[0].recorded_now || k[1].recorded_now);
	assert_int_equal(rows(f), 2);
}

/* A database that records one purpose only (a key added later): a
 * mismatch on the other rolls the new record back too. */
static void test_conflict_records_nothing(void **state)
{
	struct stest_fixture *f = *state;
	struct store_key k[2], one[1];

	memset(one, 0, sizeof(one));
	one[0].purpose = STORE_KEY_ALERT;
	one[0].key_id = "aaaa000000000001";
	assert_int_equal(store_keys_check(f->s, one, 1, 1000), GA_OK);
	assert_true(one[0].recorded_now);

	two(k, "bbbb000000000002", "cccc000000000001");
	assert_int_equal(store_keys_check(f->s, k, 2, 2000), GA_ERR_CONFLICT);
	assert_string_equal(k[1].recorded, ""); /* not recorded: rolled back */
	assert_false(k[1].recorded_now);
	assert_int_equal(rows(f), 1);
	assert_int_equal(store_keys_get(f->s, k, 2), GA_OK);
	assert_string_equal(k[0].recorded, "aaaa000000000001");
	assert_string_equal(k[1].recorded, "");

	/* the store is usable after the rollback */
	two(k, "aaaa000000000001", "cccc000000000001");
	assert_int_equal(store_keys_check(f->s, k, 2, 3000), GA_OK);
	assert_false(k[0].recorded_now);
	assert_true(k[1].recorded_now);
	assert_int_equal(rows(f), 2);
}

static void test_adopt_replaces(void **state)
{
	struct stest_fixture *f = *state;
	struct store_key k[2];

	two(k, "aaaa000000000001", "cccc000000000001");
	assert_int_equal(store_keys_adopt(f->s, k, 2, 1000), GA_OK); /* nothing before */
	assert_string_equal(k[0].recorded, "");
	two(k, "bbbb000000000002", "cccc000000000001");
	assert_int_equal(store_keys_adopt(f->s, k, 2, 5000), GA_OK);
	assert_true(k[0].recorded_now);
	assert_string_equal(k[0].recorded, "aaaa000000000001"); /* what it was */
	assert_int_equal(store_keys_check(f->s, k, 2, 6000), GA_OK);
	assert_string_equal(k[0].recorded, "bbbb000000000002");
	assert_int_equal(k[0].recorded_ms, 5000);
	assert_int_equal(k[1].recorded_ms, 1000); /* unchanged: kept */
	/* the old id is refused now */
	two(k, "aaaa000000000001", "cccc000000000001");
	assert_int_equal(store_keys_check(f->s, k, 2, 7000), GA_ERR_CONFLICT);
}

static void test_bad_ids_refused(void **state)
{
	struct stest_fixture *f = *state;
	char longid[STORE_KEY_ID_MAX + 1];
	struct store_key k[2];

	memset(longid, 'a', sizeof(longid) - 1);
	longid[sizeof(longid) - 1] = '\0';
	two(k, "", "cccc000000000001");
	assert_int_equal(store_keys_check(f->s, k, 2, 1000), GA_ERR_INVAL);
	two(k, longid, "cccc000000000001");
	assert_int_equal(store_keys_check(f->s, k, 2, 1000), GA_ERR_INVAL);
	assert_int_equal(store_keys_adopt(f->s, k, 2, 1000), GA_ERR_INVAL);
	/* at the cap: fits */
	longid[STORE_KEY_ID_MAX - 1] = '\0';
	two(k, longid, "cccc000000000001");
	assert_int_equal(store_keys_check(f->s, k, 2, 1000), GA_OK);
	assert_string_equal(k[0].recorded, longid);
	assert_int_equal(rows(f), 2);
}

struct racer {
	const char *path;
	const char *id;
	pthread_barrier_t *go;
	ga_err e;
	char recorded[STORE_KEY_ID_MAX];
};

static void *race(void *arg)
{
	struct racer *r = arg;
	struct store_options opt = stest_options(r->path, 0);
	struct store *s = NULL;
	char err[256];
	struct store_key k[2];

	r->e = GA_ERR_DB;
	if (store_open(&opt, &s, err, sizeof(err)) != GA_OK)
		return NULL;
	two(k, r->id, "cccc000000000001");
	pthread_barrier_wait(r->go);
	r->e = store_keys_check(s, k, 2, 1000);
	snprintf(r->recorded, sizeof(r->recorded), "%s", k[0].recorded);
	store_close(s);
	return NULL;
}

/* Two instances starting at once on an empty database with different
 * alert keys: exactly one records, the other is refused and sees the
 * winner's id, every round. */
static void test_two_at_once(void **state)
{
	struct stest_fixture *f = *state;
	struct db *raw = stest_raw_open(f->db.path);
	pthread_barrier_t go;

	for (int round = 0; round < RACE_ROUNDS; round++) {
		struct racer r[2] = {{.path = f->db.path, .id = "aaaa00000000000a", .go = &go},
				     {.path = f->db.path, .id = "bbbb00000000000b", .go = &go}};
		pthread_t t[2];

		stest_raw_exec(raw, "DELETE FROM signing_keys");
		assert_int_equal(pthread_barrier_init(&go, NULL, 2), 0);
		for (int i = 0; i < 2; i++)
			assert_int_equal(pthread_create(&t[i], NULL, race, &r[i]), 0);
		for (int i = 0; i < 2; i++)
			pthread_join(t[i], NULL);
		pthread_barrier_destroy(&go);
		int won = (r[0].e == GA_OK) + (r[1].e == GA_OK);
		if (won != 1 || (r[0].e != GA_OK && r[0].e != GA_ERR_CONFLICT) ||
		    (r[1].e != GA_OK && r[1].e != GA_ERR_CONFLICT))
			fail_msg("round %d: %d and %d", round, (int)r[0].e, (int)r[1].e);
		const char *winner = r[0].e == GA_OK ? r[0].id : r[1].id;
		assert_string_equal(r[0].recorded, winner);
		assert_string_equal(r[1].recorded, winner);
		assert_int_equal(stest_raw_int(raw, "SELECT count(*) FROM signing_keys"), 2);
	}
	db_close(raw);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_first_records_then_compares, setup,
					    stest_teardown),
	    cmocka_unit_test_setup_teardown(test_conflict_records_nothing, setup, stest_teardown),
	    cmocka_unit_test_setup_teardown(test_adopt_replaces, setup, stest_teardown),
	    cmocka_unit_test_setup_teardown(test_bad_ids_refused, setup, stest_teardown),
	    cmocka_unit_test_setup_teardown(test_two_at_once, setup, stest_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
