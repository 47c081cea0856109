#include "vtime.h"

#include <stdio.h>
#include <string.h>

/* Civil date <-> day count (proleptic Gregorian), so no dependence on TZ or on timegm()'s range. */
static int64_t vtime_days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void vtime_civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

static int vtime_month_days(int64_t y, int m)
{
	static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 ? 28 + leap : days[m - 1];
}

/* n decimal digits at s; -1 if any is not a digit. */
static int vtime_digits(const char *s, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

static int vtime_make(int64_t y, int mo, int d, int h, int mi, int sec, int64_t *out)
{
	if (y < 0 || mo < 1 || mo > 12 || d < 1 || d > vtime_month_days(y, mo) || h < 0 || h > 23 || mi < 0 ||
	    mi > 59 || sec < 0 || sec > 59)
		return VA_ERR_INVAL;
	*out = vtime_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec;
	return VA_OK;
}

int vtime_parse_asn1(const char *s, size_t len, int64_t *out)
{
	int64_t y;
	const char *p;

	if (s == NULL || (len != 13 && len != 15) || s[len - 1] != 'Z')
		return VA_ERR_INVAL;
	if (len == 13) {
		int yy = vtime_digits(s, 2);

		if (yy < 0)
			return VA_ERR_INVAL;
		/* RFC 5280 4.1.2.5.1: YY >= 50 is 19YY, YY < 50 is 20YY. */
		y = yy >= 50 ? 1900 + yy : 2000 + yy;
		p = s + 2;
	} else {
		int yyyy = vtime_digits(s, 4);

		if (yyyy < 0)
			return VA_ERR_INVAL;
		y = yyyy;
		p = s + 4;
	}
	return vtime_make(y, vtime_digits(p, 2), vtime_digits(p + 2, 2), vtime_digits(p + 4, 2),
			  vtime_digits(p + 6, 2), vtime_digits(p + 8, 2), out);
}

int vtime_parse_cli(const char *s, int64_t *out)
{
	size_t len;
	int y, h = 0, mi = 0, sec = 0;
	const char *tail;

	if (s == NULL)
		return VA_ERR_INVAL;
	len = strlen(s);
	if (len == 15 && strchr(s, '-') == NULL)
		return vtime_parse_asn1(s, len, out);
	/* YYYY-MM-DD[(T| )HH:MM:SS(Z|+00:00)] */
	if (len < 10 || s[4] != '-' || s[7] != '-')
		return VA_ERR_INVAL;
	y = vtime_digits(s, 4);
	if (y < 0)
		return VA_ERR_INVAL;
	if (len > 10) {
		if ((s[10] != 'T' && s[10] != ' ') || len < 19 || s[13] != ':' || s[16] != ':')
			return VA_ERR_INVAL;
		h = vtime_digits(s + 11, 2);
		mi = vtime_digits(s + 14, 2);
		sec = vtime_digits(s + 17, 2);
		tail = s + 19;
		/* Only UTC is accepted: an operator's local offset would silently shift revocation times. */
		if (strcmp(tail, "Z") != 0 && strcmp(tail, "+00:00") != 0)
			return VA_ERR_INVAL;
	}
	return vtime_make(y, vtime_digits(s + 5, 2), vtime_digits(s + 8, 2), h, mi, sec, out);
}

struct vtime_civil {
	int64_t y;
	int mo, d, h, mi, s;
};

static int vtime_split(int64_t t, struct vtime_civil *c)
{
	int64_t days = t / 86400, rem = t % 86400;

	if (rem < 0) {
		rem += 86400;
		days--;
	}
	vtime_civil_from_days(days, &c->y, &c->mo, &c->d);
	c->h = (int)(rem / 3600);
	c->mi = (int)(rem / 60 % 60);
	c->s = (int)(rem % 60);
	return c->y < 0 || c->y > 9999 ? VA_ERR_RANGE : VA_OK;
}

static int vtime_put(size_t outlen, int n)
{
	return n < 0 || (size_t)n >= outlen ? VA_ERR_INVAL : VA_OK;
}

int vtime_format_gen(int64_t t, char *out, size_t outlen)
{
	struct vtime_civil c;
	int rc = vtime_split(t, &c);

	if (rc != VA_OK)
		return rc;
	return vtime_put(outlen,
			 snprintf(out, outlen, "%04d%02d%02d%02d%02d%02dZ", (int)c.y, c.mo, c.d, c.h, c.mi, c.s));
}

int vtime_format_index(int64_t t, char *out, size_t outlen)
{
	struct vtime_civil c;
	int rc = vtime_split(t, &c);

	if (rc != VA_OK)
		return rc;
	/* RFC 5280 4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050; `openssl ca` writes the same. */
	if (c.y >= 1950 && c.y <= 2049)
		return vtime_put(outlen,
				 snprintf(out, outlen, "%02d%02d%02d%02d%02d%02dZ", (int)(c.y % 100), c.mo, c.d, c.h,
					  c.mi, c.s));
	return vtime_format_gen(t, out, outlen);
}

int vtime_format_iso(int64_t t, char *out, size_t outlen)
{
	struct vtime_civil c;
	int rc = vtime_split(t, &c);

	if (rc != VA_OK)
		return rc;
	return vtime_put(outlen, snprintf(out, outlen, "%04d-%02d-%02dT%02d:%02d:%02dZ", (int)c.y, c.mo, c.d,
					       c.h, c.mi, c.s));
}
