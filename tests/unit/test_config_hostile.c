/* test_config_hostile.c - config text is published text too (the sender
 * heads every page, the Atom author, the e-mail From; channel names):
 * a value with a bidirectional control of either set (src/text.h) is
 * refused at load, naming file and line; the same value without it
 * loads. */
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

static char dir[] = "/tmp/ga-config-hostile-XXXXXX";

/* Loads text; returns the error message ("" when it loaded). */
static const char *load(const char *text)
{
	static char err[1024], path[512];
	static struct config c;

	snprintf(path, sizeof(path), "%s/t.ini", dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	err[0] = '\0';
	config_defaults(&c);
	if (config_load(path, &c, err, sizeof(err)) == GA_OK)
		assert_string_equal(err, "");
	return err;
}

#define BASE                                                                                       \
	"[mqtt]\nurl = mqtt://127.0.0.1:1883\nclient_id = geoalert\n"                              \
	"[store]\npath = var/geoalert.db\n"                                                        \
	"[http]\nlisten = 127.0.0.1:8080\npublic_base_url = http://127.0.0.1:8080\n"

static void test_bidi_refused_with_line(void **state)
{
	/* U+202E, U+2067, U+200F: one of each kind */
	static const char *const controls[] = {"\xe2\x80\xae", "\xe2\x81\xa7", "\xe2\x80\x8f"};
	char text[1024];
	const char *err;

	assert_string_equal(load(BASE "[alerts]\nsender = 江苏省自然资源厅\n"), "");
	for (size_t i = 0; i < 3; i++) {
		snprintf(text, sizeof(text), BASE "[alerts]\nsender = 江苏省%s自然资源厅\n",
			 controls[i]);
		err = load(text);
		assert_non_null(strstr(err, "t.ini:10:"));
		assert_non_null(strstr(err, "[alerts] sender"));
		assert_non_null(strstr(err, "bidirectional"));
	}
	snprintf(
	    text, sizeof(text),
	    BASE
	    "[channel.mail]\ntype = email\nurl = smtp://127.0.0.1:25\nfrom_name = 地灾%s预警\n",
	    controls[0]);
	err = load(text);
	assert_non_null(strstr(err, "t.ini:12:"));
	assert_non_null(strstr(err, "from_name"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_bidi_refused_with_line),
	};
	if (mkdtemp(dir) == NULL)
		return 1;
	int r = cmocka_run_group_tests(tests, NULL, NULL);
	char path[600];
	snprintf(path, sizeof(path), "%s/t.ini", dir);
	unlink(path);
	rmdir(dir);
	return r;
}
