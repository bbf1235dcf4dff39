/* timeutil.h - RFC 3339 times and the service's clock. */
#ifndef GA_TIMEUTIL_H
#define GA_TIMEUTIL_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define TIME_TEXT_MAX 40

/* Milliseconds since the Unix epoch, wall clock. */
int64_t time_now_ms(void);
/* Monotonic milliseconds, for intervals. */
int64_t time_mono_ms(void);
/* The wait before trying again after the failures-th failure in a row
 * (1 the first): initial_ms doubled each time, capped at max_ms, then a
 * random point in its upper half, so that many retries spread out. */
int64_t time_backoff_ms(int64_t initial_ms, int64_t max_ms, int failures);

/* Parses RFC 3339 with an explicit offset ("Z" or "±hh:mm"), seconds
 * required, fraction optional: "2026-11-26T14:52:00+08:00".
 * Rejects missing offsets, out-of-range fields (month 13, Feb 30, hour 24).
 * Returns GA_OK or GA_ERR_INVAL. offset_min may be NULL. */
ga_err time_parse_rfc3339(const char *s, int64_t *ms, int *offset_min);

/* Writes ms as "2026-11-26T15:04:05+08:00" in the given offset (minutes
 * east of UTC; never "Z": CAP's schema rejects it). buf >= TIME_TEXT_MAX. */
void time_format_rfc3339(int64_t ms, int offset_min, char *buf, size_t len);

/* The civil date (proleptic Gregorian) of a day number counted from
 * 1970-01-01 (negative before): H. Hinnant's days-to-civil algorithm,
 * exact for any day a millisecond time can give. */
void time_civil_from_days(int64_t days, int64_t *y, int *m, int *d);

/* Parses "+08:00" / "-05:30" into minutes. GA_OK or GA_ERR_INVAL. */
ga_err time_parse_offset(const char *s, int *offset_min);

#endif
