/* test_riskwarning_deliver.c - the fitted county names of a risk
 * warning's SMS (riskwarning_deliver_names): all names when they fit,
 * at the limit and one past it; fewer names a level with "等N地"; counts
 * only; the most severe levels only; a limit too small for anything; and
 * the ledger subject of a product. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "riskwarning.h"
#include "riskwarning_deliver.h"
#include "text.h"

static const struct riskwarning_deliver_county example[] = {
    {"江宁区", RISKWARNING_RED},    {"浦口区", RISKWARNING_ORANGE}, {"溧水区", RISKWARNING_ORANGE},
    {"江阴市", RISKWARNING_YELLOW}, {"宜兴市", RISKWARNING_YELLOW},
};
#define NEX (sizeof(example) / sizeof(example[0]))
#define FULL "江宁区红色，浦口区、溧水区橙色，江阴市、宜兴市黄色"

static size_t names(const struct riskwarning_deliver_county *c, size_t n, size_t max, char *out,
		    size_t len)
{
	size_t got = riskwarning_deliver_names(c, n, max, out, len);
	assert_int_equal(got, text_chars(out));
	assert_true(got <= max);
	return got;
}

static void test_all_fit(void **state)
{
	char out[RISKWARNING_DELIVER_NAMES_MAX];
	size_t full = text_chars(FULL);

	(void)state;
	/* at the limit: everything */
	assert_int_equal(names(example, NEX, full, out, sizeof(out)), full);
	assert_string_equal(out, FULL);
	assert_int_equal(names(example, NEX, 500, out, sizeof(out)), full);
	assert_string_equal(out, FULL);
	/* one county */
	assert_int_equal(names(example, 1, 35, out, sizeof(out)), 5);
	assert_string_equal(out, "江宁区红色");
	/* nothing */
	assert_int_equal(names(example, 0, 35, out, sizeof(out)), 0);
	assert_string_equal(out, "");
}

static void test_fewer_names(void **state)
{
	char out[RISKWARNING_DELIVER_NAMES_MAX];
	size_t full = text_chars(FULL);

	(void)state;
	/* one past the limit: one name a level, the count of the rest */
	names(example, NEX, full - 1, out, sizeof(out));
	assert_string_equal(out, "江宁区红色，浦口区等2地橙色，江阴市等2地黄色");
	/* counts only */
	names(example, NEX, 20, out, sizeof(out));
	assert_string_equal(out, "1地红色，2地橙色，2地黄色");
	/* the most severe levels, "…" for the rest */
	names(example, NEX, 12, out, sizeof(out));
	assert_string_equal(out, "1地红色，2地橙色…");
	names(example, NEX, 6, out, sizeof(out));
	assert_string_equal(out, "1地红色…");
	/* not even that: cut, "…" last */
	names(example, NEX, 4, out, sizeof(out));
	assert_string_equal(out, "1地红…");
	names(example, NEX, 1, out, sizeof(out));
	assert_string_equal(out, "…");
	assert_int_equal(riskwarning_deliver_names(example, NEX, 0, out, sizeof(out)), 0);
	assert_string_equal(out, "");
}

/* 95 counties of one level into an SMS parameter of 35 characters. */
static void test_many(void **state)
{
	struct riskwarning_deliver_county c[512];
	char out[RISKWARNING_DELIVER_NAMES_MAX], small[64];

	(void)state;
	for (size_t i = 0; i < 512; i++) {
		c[i].name = "新北区";
		c[i].level = i < 95 ? RISKWARNING_RED : RISKWARNING_BLUE;
	}
	names(c, 95, 35, out, sizeof(out));
	assert_true(strstr(out, "等95地红色") != NULL);
	assert_true(text_chars(out) <= 35);
	/* 512 names overflow the buffer: the full list is never a cut one */
	names(c, 512, 4000, out, sizeof(out));
	assert_true(strstr(out, "等417地蓝色") != NULL);
	/* a small buffer is never overrun */
	riskwarning_deliver_names(c, 512, 4000, small, sizeof(small));
	assert_true(strlen(small) < sizeof(small));
}

static void test_subject(void **state)
{
	(void)state;
	assert_string_equal(riskwarning_deliver_product("rw:JS-FX-20261207-01"),
			    "JS-FX-20261207-01");
	assert_null(riskwarning_deliver_product("JS-20261126-0003"));
	assert_null(riskwarning_deliver_product(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_all_fit),
	    cmocka_unit_test(test_fewer_names),
	    cmocka_unit_test(test_many),
	    cmocka_unit_test(test_subject),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
