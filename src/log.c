#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Set once by log_init before any thread starts; read-only afterwards. */
static int log_verbose;

void log_init(int verbose)
{
	log_verbose = verbose;
}

static void log_vwrite(const char *level, int errnum, const char *fmt, va_list ap)
{
	char line[2048];
	int n = snprintf(line, sizeof(line), "%s ", level);
	if (n < 0)
		return;
	int m = vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	if (m < 0)
		return;
	size_t len = strlen(line);
	if (errnum && len < sizeof(line) - 1) {
		snprintf(line + len, sizeof(line) - len, ": %s", strerror(errnum));
		len = strlen(line);
	}
	if (len > sizeof(line) - 2)
		len = sizeof(line) - 2;
	line[len++] = '\n';
	/* One write per line so lines of different threads do not mix. */
	ssize_t w = write(STDERR_FILENO, line, len);
	(void)w;
}

#define LOG_BODY(level, errnum)                                                                    \
	va_list ap;                                                                                \
	va_start(ap, fmt);                                                                         \
	log_vwrite(level, errnum, fmt, ap);                                                        \
	va_end(ap)

void log_debug(const char *fmt, ...)
{
	if (!log_verbose)
		return;
	LOG_BODY("debug", 0);
}

void log_info(const char *fmt, ...)
{
	LOG_BODY("info", 0);
}

void log_warn(const char *fmt, ...)
{
	int e = errno;
	LOG_BODY("warning", e);
}

void log_warnx(const char *fmt, ...)
{
	LOG_BODY("warning", 0);
}

void fatal(const char *fmt, ...)
{
	int e = errno;
	LOG_BODY("fatal", e);
	exit(1);
}

void fatalx(const char *fmt, ...)
{
	LOG_BODY("fatal", 0);
	exit(1);
}
