/* log.h - logging in the OpenBSD manner: log_warn appends strerror(errno),
 * log_warnx does not; fatal/fatalx log and exit(1).
 *
 * Lines go to stderr as "LEVEL message" (journald adds the time when run
 * under systemd). Thread-safe: each line is written with a single write. */
#ifndef GA_LOG_H
#define GA_LOG_H

#include <stdarg.h>

#define GA_PRINTF(a, b) __attribute__((format(printf, a, b)))

void log_init(int verbose);
void log_debug(const char *fmt, ...) GA_PRINTF(1, 2);
void log_info(const char *fmt, ...) GA_PRINTF(1, 2);
void log_warn(const char *fmt, ...) GA_PRINTF(1, 2);
void log_warnx(const char *fmt, ...) GA_PRINTF(1, 2);
__attribute__((noreturn)) void fatal(const char *fmt, ...) GA_PRINTF(1, 2);
__attribute__((noreturn)) void fatalx(const char *fmt, ...) GA_PRINTF(1, 2);

#endif
