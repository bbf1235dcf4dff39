#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
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

static long long log_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void log_warnx_repeat(struct log_repeat *r, const char *fmt, ...)
{
	char msg[1024];
	long long now = log_mono_ms(), said;
	va_list ap;

	if (!atomic_exchange(&r->failing, true)) {
		atomic_store(&r->said_ms, now);
		atomic_store(&r->more, 0);
		va_start(ap, fmt);
		log_vwrite("warning", 0, fmt, ap);
		va_end(ap);
		return;
	}
	said = atomic_load(&r->said_ms);
	if (now - said < LOG_REPEAT_MS ||
	    !atomic_compare_exchange_strong(&r->said_ms, &said, now)) {
		atomic_fetch_add(&r->more, 1);
		return;
	}
	long more = atomic_exchange(&r->more, 0);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_warnx("%s (%ld more in the last %lld s)", msg, more, (now - said + 500) / 1000);
}

void log_repeat_over(struct log_repeat *r, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (!atomic_load(&r->failing) || !atomic_exchange(&r->failing, false))
		return;
	long more = atomic_exchange(&r->more, 0);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (more > 0)
		log_info("%s (after %ld more failures not shown)", msg, more);
	else
		log_info("%s", msg);
}

bool log_repeat_failing(struct log_repeat *r)
{
	return atomic_load(&r->failing);
}
