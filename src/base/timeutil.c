/*
 * The clock every deadline reads, and conversion to and from RFC 3339.  Calendar
 * arithmetic is done here (days from civil) so no time zone or locale can interfere.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/timeutil.h"
#include "vigil-config.h"
#include "base/banned.h"

static clock_source_fn source;
static void *source_data;

int64_t clock_now_ns(void)
{
	struct timespec ts;

	if (source)
		return source(source_data);
#if VIGIL_TEST_CLOCK
	{
		/* builds configured with -Dtest-clock=true only: tests move time */
		const char *now = getenv("VIGIL_TEST_NOW");
		int64_t ns;

		if (now && time_parse_rfc3339(now, &ns) == 0)
			return ns;
	}
#endif
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void clock_set_source(clock_source_fn fn, void *userdata)
{
	source = fn;
	source_data = userdata;
}

int64_t clock_monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Days since 1970-01-01 of a proleptic Gregorian date. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	int64_t era;
	unsigned doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

int time_format_rfc3339(int64_t ns, char *out, size_t size)
{
	int64_t secs = ns / 1000000000, frac = ns % 1000000000, days, y;
	unsigned mo, d, rem;
	int n;

	if (frac < 0) {
		frac += 1000000000;
		secs--;
	}
	days = secs / 86400;
	if (secs % 86400 < 0)
		days--;
	rem = (unsigned)(secs - days * 86400);
	civil_from_days(days, &y, &mo, &d);
	if (y < 0 || y > 9999)
		return -EINVAL;
	n = snprintf(out, size, "%04lld-%02u-%02uT%02u:%02u:%02u.%06lldZ", (long long)y, mo, d,
		     rem / 3600, rem / 60 % 60, rem % 60, (long long)(frac / 1000));
	return n < 0 || (size_t)n >= size ? -EINVAL : 0;
}

static int digits(const char **p, unsigned n, unsigned *ret)
{
	unsigned v = 0;

	for (unsigned i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return -EINVAL;
		v = v * 10 + (unsigned)((*p)[i] - '0');
	}
	*p += n;
	*ret = v;
	return 0;
}

int time_parse_rfc3339(const char *s, int64_t *ret_ns)
{
	unsigned y, mo, d, h, mi, se, oh = 0, om = 0;
	int64_t frac = 0, scale = 100000000, total;
	static const unsigned mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int sign = 0;

	if (digits(&s, 4, &y) || *s++ != '-' || digits(&s, 2, &mo) || *s++ != '-' ||
	    digits(&s, 2, &d))
		return -EINVAL;
	if (*s != 'T' && *s != 't' && *s != ' ')
		return -EINVAL;
	s++;
	if (digits(&s, 2, &h) || *s++ != ':' || digits(&s, 2, &mi) || *s++ != ':' ||
	    digits(&s, 2, &se))
		return -EINVAL;
	if (*s == '.') {
		s++;
		if (!isdigit((unsigned char)*s))
			return -EINVAL;
		while (isdigit((unsigned char)*s)) {
			frac += (*s - '0') * scale;
			scale /= 10;
			s++;
		}
	}
	if (*s == 'Z' || *s == 'z') {
		s++;
	} else if (*s == '+' || *s == '-') {
		sign = *s == '+' ? 1 : -1;
		s++;
		if (digits(&s, 2, &oh) || *s++ != ':' || digits(&s, 2, &om) || oh > 23 || om > 59)
			return -EINVAL;
	} else {
		return -EINVAL;
	}
	if (*s != '\0' || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 ||
	    se > 60)
		return -EINVAL;
	if (mo == 2 && d == 29 && !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)))
		return -EINVAL;
	total = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se;
	total -= sign * (int64_t)(oh * 3600 + om * 60);
	*ret_ns = total * 1000000000 + frac;
	return 0;
}
