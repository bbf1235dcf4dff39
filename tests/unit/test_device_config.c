/* test_device_config.c - the [devices] keys of config.c (spec §12):
 * defaults, and each bound at the bound and one past it. Kept apart from
 * test_config.c so that the keys' tests travel with the devices work. */
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

static char dir[] = "/tmp/ga-devconf-XXXXXX";

/* Loads text; returns the error message ("" when it loaded). */
static const char *load(const char *text, struct config *c)
{
	static char err[1024], path[512];
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

	(void)state;
	config_defaults(&c);
	assert_string_equal(c.devices.file, "");
	assert_int_equal(c.devices.confirm_points, 2);
	assert_int_equal(c.devices.clear_after_s, 6 * 3600);
}

static void test_bounds(void **state)
{
	struct config c;
	const char *err;

	(void)state;
	err = load("[devices]\nfile = /x/devices.json\nconfirm_points = 1\nclear_after = 0\n", &c);
	assert_string_equal(err, "");
	assert_string_equal(c.devices.file, "/x/devices.json");
	assert_int_equal(c.devices.confirm_points, 1);
	assert_int_equal(c.devices.clear_after_s, 0);
	err = load("[devices]\nconfirm_points = 100\nclear_after = 30d\n", &c);
	assert_string_equal(err, "");
	assert_int_equal(c.devices.confirm_points, 100);
	assert_int_equal(c.devices.clear_after_s, 30 * 86400);
	err = load("[devices]\nclear_after = 90m\n", &c);
	assert_string_equal(err, "");
	assert_int_equal(c.devices.clear_after_s, 5400);
	err = load("[devices]\nconfirm_points = 0\n", &c);
	assert_non_null(strstr(err, ":2:"));
	err = load("[devices]\nconfirm_points = 101\n", &c);
	assert_non_null(strstr(err, ":2:"));
	err = load("[devices]\n\nclear_after = 2592001\n", &c);
	assert_non_null(strstr(err, ":3:"));
	err = load("[devices]\nclear_after = -1\n", &c);
	assert_non_null(strstr(err, ":2:"));
	err = load("[devices]\ndraft_level = red\n", &c);
	assert_non_null(strstr(err, ":2:"));
}

int main(void)
{
	if (!mkdtemp(dir))
		return 1;
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_bounds),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		return 1;
	return rc;
}
