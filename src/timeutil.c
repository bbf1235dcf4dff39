/* timeutil.c - RFC 3339 parsing and formatting without the C library's
 * time zone machinery (timegm/localtime depend on TZ and are not
 * thread-safe everywhere): days are computed from the civil calendar with
 * Howard Hinnant's algorithms, valid for years 0000..9999. */
#include "timeutil.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#define TIME_OFFSET_MAX_MIN (23 * 60 + 59)
#define TIME_FRACTION_MAX 9 /* digits after the decimal point (ns) */

int64_t time_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t time_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Days since 1970-01-01 of a proleptic Gregorian date. */
static int64_t time_days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

void time_civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

static bool time_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int time_mdays(int y, int m)
{
	static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	return m == 2 && time_leap(y) ? 29 : days[m - 1];
}

/* Reads exactly n digits at *p; advances *p. */
static bool time_digits(const char **p, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		char c = (*p)[i];
		if (c < '0' || c > '9')
			return false;
		v = v * 10 + (c - '0');
	}
	*p += n;
	*out = v;
	return true;
}

/* "+hh:mm" / "-hh:mm" at *p; advances *p. */
static bool time_offset_at(const char **p, int *offset_min)
{
	int sign, hh, mm;
	const char *s = *p;

	if (*s == '+')
		sign = 1;
	else if (*s == '-')
		sign = -1;
	else
		return false;
	s++;
	if (!time_digits(&s, 2, &hh) || *s++ != ':' || !time_digits(&s, 2, &mm))
		return false;
	if (hh > 23 || mm > 59)
		return false;
	*offset_min = sign * (hh * 60 + mm);
	*p = s;
	return true;
}

ga_err time_parse_offset(const char *s, int *offset_min)
{
	int off;

	if (s == NULL || !time_offset_at(&s, &off) || *s != '\0')
		return GA_ERR_INVAL;
	*offset_min = off;
	return GA_OK;
}

ga_err time_parse_rfc3339(const char *s, int64_t *ms, int *offset_min)
{
	int y, mo, d, h, mi, sec, frac_ms = 0, off = 0;
	const char *p = s;

	if (s == NULL || strnlen(s, TIME_TEXT_MAX + 1) > TIME_TEXT_MAX)
		return GA_ERR_INVAL;
	if (!time_digits(&p, 4, &y) || *p++ != '-' || !time_digits(&p, 2, &mo) || *p++ != '-' ||
	    !time_digits(&p, 2, &d))
		return GA_ERR_INVAL;
	if (*p != 'T' && *p != 't')
		return GA_ERR_INVAL;
	p++;
	if (!time_digits(&p, 2, &h) || *p++ != ':' || !time_digits(&p, 2, &mi) || *p++ != ':' ||
	    !time_digits(&p, 2, &sec))
		return GA_ERR_INVAL;
	if (*p == '.') {
		int n = 0, scale = 100;
		p++;
		while (*p >= '0' && *p <= '9') {
			if (++n > TIME_FRACTION_MAX)
				return GA_ERR_INVAL;
			frac_ms += (*p - '0') * scale;
			scale /= 10;
			p++;
		}
		if (n == 0)
			return GA_ERR_INVAL;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (!time_offset_at(&p, &off)) {
		return GA_ERR_INVAL;
	}
	if (*p != '\0')
		return GA_ERR_INVAL;
	/* Leap seconds (:60) are rejected: stations' clocks are NTP-smeared
	 * and the arithmetic below has no place for them. */
	if (mo < 1 || mo > 12 || d < 1 || d > time_mdays(y, mo) || h > 23 || mi > 59 || sec > 59)
		return GA_ERR_INVAL;

	int64_t secs = time_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec;
	*ms = (secs - (int64_t)off * 60) * 1000 + frac_ms;
	if (offset_min)
		*offset_min = off;
	return GA_OK;
}

void time_format_rfc3339(int64_t ms, int offset_min, char *buf, size_t len)
{
	int64_t y, secs, days, rem;
	int m, d;
	int off = offset_min;

	if (len == 0)
		return;
	if (off < -TIME_OFFSET_MAX_MIN || off > TIME_OFFSET_MAX_MIN)
		off = 0;
	/* Floor division so times before 1970 format correctly. */
	secs = (ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000)) + (int64_t)off * 60;
	days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
	rem = secs - days * 86400;
	time_civil_from_days(days, &y, &m, &d);
	int aoff = off < 0 ? -off : off;
	snprintf(buf, len, "%04lld-%02d-%02dT%02d:%02d:%02d%c%02d:%02d", (long long)y, m, d,
		 (int)(rem / 3600), (int)(rem / 60 % 60), (int)(rem % 60), off < 0 ? '-' : '+',
		 aoff / 60, aoff % 60);
}

int64_t time_backoff_ms(int64_t initial_ms, int64_t max_ms, int failures)
{
	int64_t delay = initial_ms;

	for (int i = 1; i < failures && delay < max_ms; i++)
		delay *= 2;
	if (delay > max_ms)
		delay = max_ms;
	return delay / 2 + (int64_t)randombytes_uniform((uint32_t)(delay / 2 + 1));
}
