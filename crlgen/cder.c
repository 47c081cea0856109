/*
 * cder.c: DER writing and bounded reading for crlgen (X.690 10: DER restrictions).
 */
#include "cder.h"

#include <string.h>

size_t cder_len_size(size_t len)
{
	size_t n = 1;

	if (len < 0x80)
		return 1;
	while (len > 0) {
		n++;
		len >>= 8;
	}
	return n;
}

size_t cder_tlv_size(size_t len)
{
	return 1 + cder_len_size(len) + len;
}

size_t cder_put_hdr(uint8_t *out, uint8_t tag, size_t len)
{
	size_t n = cder_len_size(len);

	out[0] = tag;
	if (n == 1) {
		out[1] = (uint8_t)len;
		return 2;
	}
	out[1] = (uint8_t)(0x80 | (n - 1));
	for (size_t i = n - 1; i >= 1; i--) {
		out[1 + i] = (uint8_t)(len & 0xff);
		len >>= 8;
	}
	return 1 + n;
}

size_t cder_put_tlv(uint8_t *out, uint8_t tag, const uint8_t *content, size_t len)
{
	size_t h = cder_put_hdr(out, tag, len);

	if (len > 0)
		memmove(out + h, content, len);
	return h + len;
}

size_t cder_put_u64(uint8_t *out, uint64_t v)
{
	uint8_t tmp[9];
	size_t n = 0;

	do {
		tmp[8 - n] = (uint8_t)(v & 0xff);
		v >>= 8;
		n++;
	} while (v > 0);
	/* X.690 8.3.2: a positive value whose top bit is set needs a leading zero octet. */
	if (tmp[9 - n] & 0x80) {
		tmp[8 - n] = 0;
		n++;
	}
	return cder_put_tlv(out, DER_INTEGER, tmp + 9 - n, n);
}

size_t cder_put_serial(uint8_t *out, const struct store_serial *s)
{
	uint8_t c[LIM_SERIAL_MAX + 1];
	size_t n = s->len;

	if (n == 0) {
		c[0] = 0;
		return cder_put_tlv(out, DER_INTEGER, c, 1);
	}
	if (!s->negative) {
		c[0] = 0;
		memcpy(c + 1, s->mag, n);
		/* Keep the zero octet only when the magnitude's top bit would read as a sign. */
		if (s->mag[0] & 0x80)
			return cder_put_tlv(out, DER_INTEGER, c, n + 1);
		return cder_put_tlv(out, DER_INTEGER, c + 1, n);
	}
	/* Two's complement of the magnitude over n + 1 octets, then drop redundant 0xff sign octets. */
	unsigned carry = 1;
	for (size_t i = n; i >= 1; i--) {
		unsigned v = (unsigned)(uint8_t)~s->mag[i - 1] + carry;
		c[i] = (uint8_t)v;
		carry = v >> 8;
	}
	c[0] = (uint8_t)(0xff + carry);
	size_t off = 0;
	while (off < n && c[off] == 0xff && (c[off + 1] & 0x80))
		off++;
	return cder_put_tlv(out, DER_INTEGER, c + off, n + 1 - off);
}

static void put_digits(uint8_t *p, unsigned v, int n)
{
	for (int i = n - 1; i >= 0; i--) {
		p[i] = (uint8_t)('0' + v % 10);
		v /= 10;
	}
}

/* Days since 1970-01-01 of a proleptic Gregorian date, and back (the classic era-based algorithms): gmtime_r
 * and timegm take a lock and consult the time zone, which is most of the cost of a 10^6-entry CRL. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

size_t cder_put_time(uint8_t *out, int64_t t, int force_gen)
{
	int64_t days = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
	int64_t secs = t - days * 86400, year;
	unsigned mon, mday;
	uint8_t *p;

	if (t < -62167219200LL || t > 253402300799LL)
		return 0; /* outside years 0..9999 */
	civil_from_days(days, &year, &mon, &mday);
	if (!force_gen && year >= 1950 && year <= 2049) {
		out[0] = DER_UTCTIME;
		out[1] = 13;
		p = out + 2;
		put_digits(p, (unsigned)(year % 100), 2);
		p += 2;
	} else {
		out[0] = DER_GENTIME;
		out[1] = 15;
		p = out + 2;
		put_digits(p, (unsigned)year, 4);
		p += 4;
	}
	put_digits(p, mon, 2);
	put_digits(p + 2, mday, 2);
	put_digits(p + 4, (unsigned)(secs / 3600), 2);
	put_digits(p + 6, (unsigned)(secs / 60 % 60), 2);
	put_digits(p + 8, (unsigned)(secs % 60), 2);
	p[10] = 'Z';
	return (size_t)(p + 11 - out);
}

int cder_hdr_parse(const uint8_t *p, size_t avail, uint8_t *tag, size_t *len, size_t *hdr)
{
	if (avail < 2)
		return 1;
	if ((p[0] & 0x1f) == 0x1f)
		return VA_ERR_INVAL; /* high tag numbers never occur in a CRL */
	*tag = p[0];
	if (p[1] < 0x80) {
		*len = p[1];
		*hdr = 2;
		return 0;
	}
	size_t n = p[1] & 0x7f;
	if (n == 0 || n > 4)
		return VA_ERR_INVAL; /* X.690 10.1: definite form only; we cap at 4 GiB */
	if (avail < 2 + n)
		return 1;
	if (p[2] == 0)
		return VA_ERR_INVAL; /* X.690 10.1: minimal number of octets */
	size_t l = 0;
	for (size_t i = 0; i < n; i++)
		l = (l << 8) | p[2 + i];
	if (l < 0x80)
		return VA_ERR_INVAL;
	*len = l;
	*hdr = 2 + n;
	return 0;
}

int cder_get_any(struct cder_cur *c, uint8_t *tag, struct cder_cur *content, struct cder_cur *whole)
{
	size_t len, hdr;
	int rc = cder_hdr_parse(c->p, c->len, tag, &len, &hdr);

	if (rc != 0)
		return VA_ERR_INVAL;
	if (len > c->len - hdr)
		return VA_ERR_INVAL;
	if (content != NULL) {
		content->p = c->p + hdr;
		content->len = len;
	}
	if (whole != NULL) {
		whole->p = c->p;
		whole->len = hdr + len;
	}
	c->p += hdr + len;
	c->len -= hdr + len;
	return 0;
}

int cder_get(struct cder_cur *c, uint8_t tag, struct cder_cur *out)
{
	struct cder_cur save = *c;
	uint8_t t;
	int rc = cder_get_any(c, &t, out, NULL);

	if (rc != 0)
		return rc;
	if (t != tag) {
		*c = save;
		return VA_ERR_INVAL;
	}
	return 0;
}

int cder_peek(const struct cder_cur *c)
{
	return c->len > 0 ? c->p[0] : -1;
}

int cder_u64_parse(const struct cder_cur *content, uint64_t *v)
{
	const uint8_t *p = content->p;
	size_t n = content->len;

	if (n == 0 || (p[0] & 0x80))
		return VA_ERR_INVAL;
	if (n > 1 && p[0] == 0 && !(p[1] & 0x80))
		return VA_ERR_INVAL; /* X.690 8.3.2: minimal encoding */
	if (p[0] == 0) {
		p++;
		n--;
	}
	if (n > 8)
		return VA_ERR_RANGE;
	uint64_t r = 0;
	for (size_t i = 0; i < n; i++)
		r = (r << 8) | p[i];
	*v = r;
	return 0;
}

static int digits(const uint8_t *p, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	*out = v;
	return 0;
}

int cder_time_parse(uint8_t tag, const struct cder_cur *content, int64_t *t)
{
	static const unsigned mdays[12] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	const uint8_t *p = content->p;
	int year, mon, day, hh, mm, ss;

	if (tag == DER_UTCTIME) {
		/* RFC 5280 4.1.2.5.1: YYMMDDHHMMSSZ, YY >= 50 means 19YY. */
		if (content->len != 13 || p[12] != 'Z' || digits(p, 2, &year) != 0)
			return VA_ERR_INVAL;
		year += year >= 50 ? 1900 : 2000;
		p += 2;
	} else if (tag == DER_GENTIME) {
		/* RFC 5280 4.1.2.5.2: YYYYMMDDHHMMSSZ, no fractional seconds. */
		if (content->len != 15 || p[14] != 'Z' || digits(p, 4, &year) != 0)
			return VA_ERR_INVAL;
		p += 4;
	} else {
		return VA_ERR_INVAL;
	}
	if (digits(p, 2, &mon) != 0 || digits(p + 2, 2, &day) != 0 || digits(p + 4, 2, &hh) != 0 ||
	    digits(p + 6, 2, &mm) != 0 || digits(p + 8, 2, &ss) != 0)
		return VA_ERR_INVAL;
	if (mon < 1 || mon > 12 || day < 1 || (unsigned)day > mdays[mon - 1] || hh > 23 || mm > 59 || ss > 59)
		return VA_ERR_INVAL;
	int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
	if (mon == 2 && day == 29 && !leap)
		return VA_ERR_INVAL;
	*t = days_from_civil(year, (unsigned)mon, (unsigned)day) * 86400 + hh * 3600 + mm * 60 + ss;
	return 0;
}

int cder_oid_eq(const struct cder_cur *oid, const uint8_t *want, size_t wantlen)
{
	return oid->len == wantlen && memcmp(oid->p, want, wantlen) == 0;
}
