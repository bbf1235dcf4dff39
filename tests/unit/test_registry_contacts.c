/* test_registry_contacts.c - a station's optional contacts (spec §12, the
 * hazard point's monitors): read, at the cap and one past it, and each
 * bad contact refused with its index. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "registry.h"
#include "text_testutil.h"

static char errbuf[512];

/* Loads one station with the given contacts JSON (NULL: none). */
static ga_err load(const char *contacts, struct registry **out)
{
	char text[8192], path[64];
	ga_err rc;

	snprintf(text, sizeof(text),
		 "{\"type\":\"FeatureCollection\",\"features\":[{\"type\":\"Feature\","
		 "\"geometry\":{\"type\":\"Point\",\"coordinates\":[118.628,32.0589]},"
		 "\"properties\":{\"station_id\":\"S-1\",\"name\":\"测试站\","
		 "\"hazard_point_id\":\"HP-1\",\"hazard_type\":\"landslide\","
		 "\"admin_code\":\"320111\",\"threatened_people\":10,"
		 "\"threatened_property_cny\":1000%s%s}}]}",
		 contacts ? ",\"contacts\":" : "", contacts ? contacts : "");
	texttest_write_temp(path, sizeof(path), text);
	errbuf[0] = '\0';
	rc = registry_load(path, NULL, out, errbuf, sizeof(errbuf));
	unlink(path);
	return rc;
}

static void test_none_and_some(void **state)
{
	struct registry *r = NULL;
	const struct station *st;

	(void)state;
	assert_int_equal(load(NULL, &r), GA_OK);
	assert_int_equal(registry_find(r, "S-1")->ncontacts, 0);
	registry_free(r);
	r = NULL;
	assert_int_equal(load("[{\"name\":\"王监测\",\"phone\":\"+86 138-0000-0001\"},"
			      "{\"name\":\"李\",\"phone\":\"110\"}]",
			      &r),
			 GA_OK);
	st = registry_find(r, "S-1");
	assert_int_equal(st->ncontacts, 2);
	assert_string_equal(st->contacts[0].name, "王监测");
	assert_string_equal(st->contacts[0].phone, "+86 138-0000-0001");
	assert_string_equal(st->contacts[1].phone, "110");
	registry_free(r);
}

static void test_cap(void **state)
{
	char json[2048] = "[";
	struct registry *r = NULL;

	(void)state;
	for (int i = 0; i < REGISTRY_CONTACTS_MAX; i++)
		snprintf(json + strlen(json), sizeof(json) - strlen(json),
			 "%s{\"name\":\"n%d\",\"phone\":\"1390000000%d\"}", i ? "," : "", i, i);
	snprintf(json + strlen(json), sizeof(json) - strlen(json), "]");
	assert_int_equal(load(json, &r), GA_OK);
	assert_int_equal(registry_find(r, "S-1")->ncontacts, REGISTRY_CONTACTS_MAX);
	registry_free(r);
	r = NULL;
	/* one past */
	json[strlen(json) - 1] = '\0';
	snprintf(json + strlen(json), sizeof(json) - strlen(json),
		 ",{\"name\":\"x\",\"phone\":\"139\"}]");
	assert_int_equal(load(json, &r), GA_ERR_CONFIG);
	assert_non_null(strstr(errbuf, "contacts is not an array of at most"));
	assert_null(r);
}

static void test_bad(void **state)
{
	static const char *const cases[][2] = {
	    {"{}", "contacts is not an array"},
	    {"[\"13900000000\"]", "contacts[0]: name"},
	    {"[{\"phone\":\"139\"}]", "contacts[0]: name"},
	    {"[{\"name\":\"a\",\"phone\":\"139\"},{\"name\":\"b\"}]", "contacts[1]: phone"},
	    {"[{\"name\":\"a\",\"phone\":\"12\"}]", "contacts[0]: phone"},
	    {"[{\"name\":\"a\",\"phone\":\"139x\"}]", "contacts[0]: phone"},
	    {"[{\"name\":\"a\",\"phone\":\"+-- \"}]", "contacts[0]: phone"},
	    {"[{\"name\":\"a\",\"phone\":\"123456789012345678901\"}]", "contacts[0]: phone"},
	    {"[{\"name\":\"a\",\"phone\":139}]", "contacts[0]: phone"},
	    {"[{\"name\":\"0123456789012345678901234567890123456789012345678\","
	     "\"phone\":\"139\"}]",
	     "contacts[0]: name"},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct registry *r = NULL;
		assert_int_equal(load(cases[i][0], &r), GA_ERR_CONFIG);
		if (!strstr(errbuf, cases[i][1]))
			fail_msg("case %zu: %s: got %s", i, cases[i][0], errbuf);
		assert_null(r);
	}
	/* 20 digits and a 48-byte name: at their caps, taken */
	struct registry *r = NULL;
	assert_int_equal(load("[{\"name\":\"012345678901234567890123456789012345678901234567\","
			      "\"phone\":\"12345678901234567890\"}]",
			      &r),
			 GA_OK);
	registry_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_none_and_some),
	    cmocka_unit_test(test_cap),
	    cmocka_unit_test(test_bad),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
