/* The [riskwarning] section (issue 14): defaults, the keys, and the
 * values refused with a message naming the key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "riskwarning.h"

static char dir[] = "/tmp/ga-config-rw-XXXXXX";

/* Loads text; returns the error message ("" when it loaded). */
static const char *load(const char *text, struct config *c)
{
	static char err[1024];
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/t.ini", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	err[0] = '\0';
	if (config_load(path, c, err, sizeof(err)) == GA_OK)
		assert_string_equal(err, "");
	else
		assert_true(err[0] != '\0');
	return err;
}

static void test_defaults(void **state)
{
	struct config c;

	assert_string_equal(load("[store]\npath = x.db\n", &c), "");
	assert_string_equal(c.riskwarning.issuers, "");
	assert_int_equal(c.riskwarning.signoff, 2);
	assert_int_equal(c.riskwarning.publish_min, RISKWARNING_YELLOW);
}

static void test_keys(void **state)
{
	struct config c;

	assert_string_equal(load("[riskwarning]\nissuers = JS-QXJ  JS-ZRZYT\nsignoff = 1\n"
				 "publish_min_level = orange\n",
				 &c),
			    "");
	assert_string_equal(c.riskwarning.issuers, "JS-QXJ  JS-ZRZYT");
	assert_int_equal(c.riskwarning.signoff, 1);
	assert_int_equal(c.riskwarning.publish_min, RISKWARNING_ORANGE);
	assert_string_equal(load("[riskwarning]\nsignoff = 8\n", &c), "");
}

static void test_bad(void **state)
{
	struct config c;

	assert_non_null(
	    strstr(load("[riskwarning]\npublish_min_level = green\n", &c), "publish_min_level"));
	assert_non_null(strstr(load("[riskwarning]\nissuers = JS-QXJ bad/id\n", &c), "issuers"));
	assert_non_null(strstr(load("[riskwarning]\nsignoff = 0\n", &c), "signoff"));
	assert_non_null(strstr(load("[riskwarning]\nsignoff = 9\n", &c), "signoff"));
	/* An id at REPORT_ID_MAX characters, and one past. */
	char text[256], id[REPORT_ID_MAX + 2];
	memset(id, 'a', REPORT_ID_MAX);
	id[REPORT_ID_MAX] = '\0';
	snprintf(text, sizeof(text), "[riskwarning]\nissuers = x %s y\n", id);
	assert_string_equal(load(text, &c), "");
	id[REPORT_ID_MAX] = 'a'; /* one past the cap */
	id[REPORT_ID_MAX + 1] = '\0';
	snprintf(text, sizeof(text), "[riskwarning]\nissuers = x %s y\n", id);
	assert_non_null(strstr(load(text, &c), "issuers"));
}

static int setup(void **state)
{
	assert_non_null(mkdtemp(dir));
	return 0;
}

static int teardown(void **state)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/t.ini", dir);
	unlink(path);
	rmdir(dir);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_keys),
	    cmocka_unit_test(test_bad),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
