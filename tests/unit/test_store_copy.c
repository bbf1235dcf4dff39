/* test_store_copy.c - the order `geoalert store copy` fills tables in
 * (store_copy_order): every table after those its foreign keys name,
 * otherwise the given order; self-references ignored; a cycle refused
 * naming a table in it; the table cap and one past it. The copy itself
 * runs against PostgreSQL in tests/integration/test_store_copy.py. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "store_copy.h"

#define N STORE_COPY_TABLES_MAX

static unsigned char refs[(N + 1) * (N + 1)];

/* i references j, in a matrix of n tables. */
static void ref(size_t n, size_t i, size_t j)
{
	refs[i * n + j] = 1;
}

/* position of table t in order */
static size_t pos(const size_t *order, size_t n, size_t t)
{
	for (size_t k = 0; k < n; k++)
		if (order[k] == t)
			return k;
	fail_msg("table %zu missing from the order", t);
	return n;
}

static void test_no_references_keeps_order(void **state)
{
	size_t order[4];

	(void)state;
	memset(refs, 0, sizeof(refs));
	assert_int_equal(store_copy_order(4, refs, order, NULL), GA_OK);
	for (size_t k = 0; k < 4; k++)
		assert_int_equal(order[k], k);
	assert_int_equal(store_copy_order(0, refs, order, NULL), GA_OK);
}

/* As geoalert's schema, listed backwards: confirmations -> drafts ->
 * incidents, confirmations -> officers, drafts -> drafts (supersedes). */
static void test_referenced_tables_first(void **state)
{
	enum { CONFIRM, DRAFTS, OFFICERS, INCIDENTS, OTHER, COUNT };
	size_t order[COUNT];

	(void)state;
	memset(refs, 0, sizeof(refs));
	ref(COUNT, CONFIRM, DRAFTS);
	ref(COUNT, CONFIRM, OFFICERS);
	ref(COUNT, DRAFTS, INCIDENTS);
	ref(COUNT, DRAFTS, DRAFTS);
	assert_int_equal(store_copy_order(COUNT, refs, order, NULL), GA_OK);
	assert_true(pos(order, COUNT, INCIDENTS) < pos(order, COUNT, DRAFTS));
	assert_true(pos(order, COUNT, DRAFTS) < pos(order, COUNT, CONFIRM));
	assert_true(pos(order, COUNT, OFFICERS) < pos(order, COUNT, CONFIRM));
	/* the lowest ready index each round */
	size_t want[COUNT] = {OFFICERS, INCIDENTS, DRAFTS, CONFIRM, OTHER};
	assert_memory_equal(order, want, sizeof(want));
}

static void test_cycle_refused(void **state)
{
	size_t order[3], cycle = 99;

	(void)state;
	memset(refs, 0, sizeof(refs));
	ref(3, 1, 2);
	ref(3, 2, 1);
	assert_int_equal(store_copy_order(3, refs, order, &cycle), GA_ERR_INVAL);
	assert_true(cycle == 1 || cycle == 2);
}

/* A chain of STORE_COPY_TABLES_MAX tables, each naming the next: the
 * order is the chain backwards. One past the cap is refused. */
static void test_cap(void **state)
{
	static size_t order[N + 1];

	(void)state;
	memset(refs, 0, sizeof(refs));
	for (size_t i = 0; i + 1 < N; i++)
		ref(N, i, i + 1);
	assert_int_equal(store_copy_order(N, refs, order, NULL), GA_OK);
	for (size_t k = 0; k < N; k++)
		assert_int_equal(order[k], N - 1 - k);
	memset(refs, 0, sizeof(refs));
	assert_int_equal(store_copy_order(N + 1, refs, order, NULL), GA_ERR_INVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_no_references_keeps_order),
	    cmocka_unit_test(test_referenced_tables_first),
	    cmocka_unit_test(test_cycle_refused),
	    cmocka_unit_test(test_cap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
