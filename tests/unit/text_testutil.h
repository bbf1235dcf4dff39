/* text_testutil.h - text in the unit tests: assertions that rendered text
 * (pages, feeds, metrics) holds, or lacks, each of a list of strings (a
 * failure names the string and the caller's line), and text written to a
 * temp file of its own. */
#ifndef GA_TEXT_TESTUTIL_H
#define GA_TEXT_TESTUTIL_H

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

/* Fails unless text holds each of the strings after it. */
#define assert_text_has(text, ...)                                                                 \
	texttest_check((text), true, __FILE__, __LINE__, __VA_ARGS__, (const char *)NULL)
/* Fails if text holds any of the strings after it. */
#define assert_text_lacks(text, ...)                                                               \
	texttest_check((text), false, __FILE__, __LINE__, __VA_ARGS__, (const char *)NULL)

/* Checks text for each string of the NULL-ended list that follows line:
 * present when want is true, absent otherwise (a NULL text holds none). */
static inline void texttest_check(const char *text, bool want, const char *file, int line, ...)
{
	va_list ap;
	const char *s;

	va_start(ap, line);
	while ((s = va_arg(ap, const char *)) != NULL) {
		bool found = text != NULL && strstr(text, s) != NULL;
		if (found != want) {
			va_end(ap);
			print_error("\"%s\" %s the text\n", s, want ? "not in" : "in");
			_fail(file, line);
		}
	}
	va_end(ap);
}

/* Writes text to a new file /tmp/ga-unit-XXXXXX and puts its name in path
 * (len bytes); the caller unlinks it. */
static inline void texttest_write_temp(char *path, size_t len, const char *text)
{
	int fd;

	snprintf(path, len, "/tmp/ga-unit-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

#endif
