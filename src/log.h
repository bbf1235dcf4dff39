/* log.h - logging in the OpenBSD manner: log_warn appends strerror(errno),
 * log_warnx does not; fatal/fatalx log and exit(1).
 *
 * Lines go to stderr as "LEVEL message" (journald adds the time when run
 * under systemd). Thread-safe: each line is written with a single write. */
#ifndef GA_LOG_H
#define GA_LOG_H

#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>

#define GA_PRINTF(a, b) __attribute__((format(printf, a, b)))

void log_init(int verbose);
void log_debug(const char *fmt, ...) GA_PRINTF(1, 2);
void log_info(const char *fmt, ...) GA_PRINTF(1, 2);
void log_warn(const char *fmt, ...) GA_PRINTF(1, 2);
void log_warnx(const char *fmt, ...) GA_PRINTF(1, 2);
/* A failure that repeats while its cause lasts (a poller while the
 * database is away). log_warnx_repeat says the first; the ones after it
 * are counted and said at most once per LOG_REPEAT_MS, as one line with
 * "(N more in the last S s)"; log_repeat_over says the recovery once
 * (nothing when there was no failure). Zero-initialised, one per call
 * site; threads may share one (at worst a line more). */
#define LOG_REPEAT_MS 10000
struct log_repeat {
	atomic_llong said_ms; /* monotonic, the last line said */
	atomic_long more;     /* failures since, not said */
	atomic_bool failing;
};
void log_warnx_repeat(struct log_repeat *r, const char *fmt, ...) GA_PRINTF(2, 3);
void log_repeat_over(struct log_repeat *r, const char *fmt, ...) GA_PRINTF(2, 3);
/* True between a failure and log_repeat_over. */
bool log_repeat_failing(struct log_repeat *r);
__attribute__((noreturn)) void fatal(const char *fmt, ...) GA_PRINTF(1, 2);
__attribute__((noreturn)) void fatalx(const char *fmt, ...) GA_PRINTF(1, 2);

#endif
