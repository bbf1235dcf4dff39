/* test_strbuf.c - the capped growable string (strbuf.h): writes append
 * and stay NUL-terminated across growth, the cap at its last byte and one
 * past it, a failure sticks and drops later writes, an empty first write
 * still allocates. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "strbuf.h"

static void test_append_and_grow(void **state)
{
	struct strbuf b = STRBUF_INIT(10000);
	char chunk[100];

	(void)state;
	memset(chunk, 'x', sizeof(chunk));
	strbuf_puts(&b, "<a>");
	for (int i = 0; i < 50; i++) /* 5000 bytes: past the first allocation */
		strbuf_put(&b, chunk, sizeof(chunk));
	strbuf_puts(&b, "</a>");
	assert_int_equal(b.err, GA_OK);
	assert_int_equal(b.n, 3 + 5000 + 4);
	assert_int_equal(strlen(b.p), b.n);
	assert_memory_equal(b.p, "<a>xx", 5);
	assert_string_equal(b.p + b.n - 5, "x</a>");
	assert_true(b.size > b.n);
	free(b.p);
}

static void test_cap(void **state)
{
	struct strbuf b = STRBUF_INIT(8);

	(void)state;
	strbuf_puts(&b, "12345");
	strbuf_puts(&b, "678"); /* exactly the cap */
	assert_int_equal(b.err, GA_OK);
	assert_string_equal(b.p, "12345678");
	strbuf_puts(&b, ""); /* nothing more: still fits */
	assert_int_equal(b.err, GA_OK);
	strbuf_puts(&b, "9"); /* one past */
	assert_int_equal(b.err, GA_ERR_TOOBIG);
	assert_string_equal(b.p, "12345678");
	free(b.p);
}

static void test_failure_sticks(void **state)
{
	struct strbuf b = STRBUF_INIT(4);

	(void)state;
	strbuf_puts(&b, "too long");
	assert_int_equal(b.err, GA_ERR_TOOBIG);
	assert_null(b.p); /* nothing was written */
	strbuf_puts(&b, "ok");
	assert_null(b.p);
	assert_int_equal(b.n, 0);
	assert_int_equal(b.err, GA_ERR_TOOBIG);
}

static void test_empty_write_allocates(void **state)
{
	struct strbuf b = STRBUF_INIT(4);

	(void)state;
	strbuf_put(&b, "", 0);
	assert_int_equal(b.err, GA_OK);
	assert_non_null(b.p);
	assert_string_equal(b.p, "");
	free(b.p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_append_and_grow),
	    cmocka_unit_test(test_cap),
	    cmocka_unit_test(test_failure_sticks),
	    cmocka_unit_test(test_empty_write_allocates),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
