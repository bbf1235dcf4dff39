/* test_store_outbox.c - receipts wait in the outbox until acknowledged,
 * survive a reopen, and a rolled-back transaction leaves none behind. */
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

static char dir[] = "/tmp/ga-outbox-XXXXXX";
static char path[128];

static struct store *open_store(void)
{
	struct store_options opt = {.path = path};
	struct store *s = NULL;
	char err[512];
	assert_int_equal(store_open(&opt, &s, err, sizeof(err)), GA_OK);
	return s;
}

struct seen {
	int n;
	int64_t ids[8];
	char payload[8][64];
};

static bool collect(int64_t id, const char *topic, const char *payload, void *arg)
{
	struct seen *s = arg;
	assert_string_equal(topic, "geohazard/v1/receipts/S1");
	s->ids[s->n] = id;
	snprintf(s->payload[s->n], sizeof(s->payload[0]), "%s", payload);
	s->n++;
	return s->n < 8;
}

static void test_outbox_lifecycle(void **state)
{
	struct store *s = open_store();
	int64_t a, b, c;
	assert_int_equal(store_begin(s), GA_OK);
	assert_int_equal(store_outbox_put(s, "geohazard/v1/receipts/S1", "{\"n\":1}", 1, &a),
			 GA_OK);
	assert_int_equal(store_outbox_put(s, "geohazard/v1/receipts/S1", "{\"n\":2}", 2, &b),
			 GA_OK);
	assert_int_equal(store_commit(s), GA_OK);
	assert_true(b > a);

	/* a rolled-back receipt is not kept */
	assert_int_equal(store_begin(s), GA_OK);
	assert_int_equal(store_outbox_put(s, "geohazard/v1/receipts/S1", "{\"n\":3}", 3, &c),
			 GA_OK);
	assert_int_equal(store_rollback(s), GA_OK);

	/* acknowledged: gone; deleting twice is fine */
	assert_int_equal(store_begin(s), GA_OK);
	assert_int_equal(store_outbox_delete(s, a), GA_OK);
	assert_int_equal(store_outbox_delete(s, a), GA_OK);
	assert_int_equal(store_commit(s), GA_OK);
	store_close(s);

	/* what is left survives a reopen, in order */
	s = open_store();
	struct seen seen = {0};
	assert_int_equal(store_outbox_each(s, collect, &seen), GA_OK);
	assert_int_equal(seen.n, 1);
	assert_int_equal(seen.ids[0], b);
	assert_string_equal(seen.payload[0], "{\"n\":2}");
	store_close(s);
}

/* Acknowledgements come back as runs of ids: one statement deletes a run,
 * and nothing outside it. */
static void test_outbox_delete_range(void **state)
{
	char p2[160];
	snprintf(p2, sizeof(p2), "%s/range.db", dir);
	struct store_options opt = {.path = p2};
	struct store *s = NULL;
	char err[512];
	int64_t id[6];
	assert_int_equal(store_open(&opt, &s, err, sizeof(err)), GA_OK);
	assert_int_equal(store_begin(s), GA_OK);
	for (int i = 0; i < 6; i++) {
		char body[16];
		snprintf(body, sizeof(body), "{\"n\":%d}", i);
		assert_int_equal(store_outbox_put(s, "geohazard/v1/receipts/S1", body, i, &id[i]),
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
	if (!mkdtemp(dir))
		return 1;
	snprintf(path, sizeof(path), "%s/ga.db", dir);
	const struct CMUnitTest tests[] = {cmocka_unit_test(test_outbox_lifecycle),
					   cmocka_unit_test(test_outbox_delete_range)};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? rc : 1;
}
