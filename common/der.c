/*
 * der.c: DER reading and writing (X.690 8 basic rules, 10 and 11 DER restrictions).
 */
#include "der.h"

#include <stdlib.h>
#include <string.h>

#include "store.h"

/* ---- reader ---- */

int der_hdr_parse(const uint8_t *p, size_t avail, uint8_t *tag, size_t *len, size_t *hdr)
{
	size_t n, l = 0;

	if (avail < 2)
		return DER_NEED_MORE;
	/* X.690 8.1.2.4: tag number 31 announces the high-tag-number form, which nothing we read uses. */
	if ((p[0] & 0x1f) == 0x1f)
		return VA_ERR_INVAL;
	if (p[1] < 0x80) {
		*tag = p[0];
		*len = p[1];
		*hdr = 2;
		return 0;
	}
	/* X.690 10.1: DER uses the definite form (0x80 alone is indefinite), with the fewest length octets. */
	n = p[1] & 0x7f;
	if (n == 0 || n > 4)
		return VA_ERR_INVAL;
	if (avail < 2 + n)
		return DER_NEED_MORE;
	if (p[2] == 0)
		return VA_ERR_INVAL;
	for (size_t i = 0; i < n; i++)
		l = (l << 8) | p[2 + i];
	if (l < 0x80)
		return VA_ERR_INVAL;
	*tag = p[0];
	*len = l;
	*hdr = 2 + n;
	return 0;
}

int der_next(struct der_cur *cur, struct der_tlv *t)
{
	size_t len, hdr;
	uint8_t tag;

	if (der_hdr_parse(cur->p, cur->len, &tag, &len, &hdr) != 0)
		return VA_ERR_INVAL;
	/* hdr <= cur->len here, so the subtraction cannot wrap. */
	if (len > cur->len - hdr)
		return VA_ERR_INVAL;
	t->tag = tag;
	t->raw = cur->p;
	t->raw_len = hdr + len;
	t->c = cur->p + hdr;
	t->len = len;
	cur->p += hdr + len;
	cur->len -= hdr + len;
	return 0;
}

int der_expect(struct der_cur *cur, uint8_t tag, struct der_tlv *t)
{
	if (cur->len == 0 || cur->p[0] != tag)
		return VA_ERR_INVAL;
	return der_next(cur, t);
}

int der_peek(const struct der_cur *cur)
{
	return cur->len > 0 ? cur->p[0] : -1;
}

int der_int_check(const struct der_tlv *t)
{
	const uint8_t *c = t->c;

	if (t->len == 0)
		return VA_ERR_INVAL;
	/* X.690 8.3.2: the first nine bits are never all zeros or all ones. */
	if (t->len > 1 && ((c[0] == 0x00 && !(c[1] & 0x80)) || (c[0] == 0xff && (c[1] & 0x80))))
		return VA_ERR_INVAL;
	return 0;
}

int der_uint_parse(const struct der_tlv *t, uint64_t *v)
{
	const uint8_t *c = t->c;
	size_t n = t->len;
	uint64_t r = 0;

	if (der_int_check(t) != 0 || (c[0] & 0x80))
		return VA_ERR_INVAL;
	if (c[0] == 0 && n > 1) {
		c++;
		n--;
	}
	if (n > 8)
		return VA_ERR_RANGE;
	for (size_t i = 0; i < n; i++)
		r = (r << 8) | c[i];
	*v = r;
	return 0;
}

int der_bool_parse(const struct der_tlv *t, int *v)
{
	if (t->len != 1 || (t->c[0] != 0x00 && t->c[0] != 0xff))
		return VA_ERR_INVAL;
	*v = t->c[0] != 0;
	return 0;
}

int der_oid_check(const struct der_tlv *t)
{
	if (t->len == 0 || (t->c[t->len - 1] & 0x80))
		return VA_ERR_INVAL;
	/* A subidentifier starts at the first octet or after one without the continuation bit; 0x80 there would be
	 * a leading zero group. */
	for (size_t i = 0; i < t->len; i++)
		if (t->c[i] == 0x80 && (i == 0 || !(t->c[i - 1] & 0x80)))
			return VA_ERR_INVAL;
	return 0;
}

int der_oid_eq(const struct der_tlv *t, const uint8_t *want, size_t wantlen)
{
	return t->len == wantlen && memcmp(t->c, want, wantlen) == 0;
}

int der_ext_next(struct der_cur *cur, struct der_tlv *oid, struct der_tlv *crit, struct der_tlv *value)
{
	struct der_cur e;
	struct der_tlv ext;

	memset(crit, 0, sizeof(*crit));
	if (der_expect(cur, DER_SEQUENCE, &ext) != 0)
		return VA_ERR_INVAL;
	der_enter(&ext, &e);
	if (der_expect(&e, DER_OID, oid) != 0)
		return VA_ERR_INVAL;
	if (der_peek(&e) == DER_BOOLEAN && der_next(&e, crit) != 0)
		return VA_ERR_INVAL;
	if (der_expect(&e, DER_OCTET_STRING, value) != 0 || e.len != 0)
		return VA_ERR_INVAL;
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

int der_time_parse(const struct der_tlv *t, int64_t *out)
{
	static const unsigned mdays[12] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	const uint8_t *p = t->c;
	int year, mon, day, hh, mm, ss;

	if (t->tag == DER_UTCTIME) {
		/* RFC 5280 4.1.2.5.1: YYMMDDHHMMSSZ, YY >= 50 means 19YY. */
		if (t->len != 13 || p[12] != 'Z' || digits(p, 2, &year) != 0)
			return VA_ERR_INVAL;
		year += year >= 50 ? 1900 : 2000;
		p += 2;
	} else if (t->tag == DER_GENTIME) {
		/* RFC 5280 4.1.2.5.2: YYYYMMDDHHMMSSZ, no fractional seconds. */
		if (t->len != 15 || p[14] != 'Z' || digits(p, 4, &year) != 0)
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
	*out = days_from_civil(year, (unsigned)mon, (unsigned)day) * 86400 + hh * 3600 + mm * 60 + ss;
	return 0;
}

/* ---- fixed-buffer writers ---- */

size_t der_len_size(size_t len)
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

size_t der_tlv_size(size_t len)
{
	return 1 + der_len_size(len) + len;
}

size_t der_put_hdr(uint8_t *out, uint8_t tag, size_t len)
{
	size_t n = der_len_size(len);

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

size_t der_put_tlv(uint8_t *out, uint8_t tag, const uint8_t *content, size_t len)
{
	size_t h = der_put_hdr(out, tag, len);

	if (len > 0)
		memmove(out + h, content, len);
	return h + len;
}

size_t der_put_uint(uint8_t *out, uint8_t tag, uint64_t v)
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
	return der_put_tlv(out, tag, tmp + 9 - n, n);
}

size_t der_put_serial(uint8_t *out, const struct store_serial *s)
{
	uint8_t c[LIM_SERIAL_MAX + 1];
	size_t n = s->len, off = 0;
	unsigned carry = 1;

	if (n > LIM_SERIAL_MAX)
		return 0;
	if (n == 0) {
		c[0] = 0;
		return der_put_tlv(out, DER_INTEGER, c, 1);
	}
	if (!s->negative) {
		c[0] = 0;
		memcpy(c + 1, s->mag, n);
		/* Keep the zero octet only when the magnitude's top bit would read as a sign. */
		if (s->mag[0] & 0x80)
			return der_put_tlv(out, DER_INTEGER, c, n + 1);
		return der_put_tlv(out, DER_INTEGER, c + 1, n);
	}
	/* Two's complement of the magnitude over n + 1 octets, then drop redundant 0xff sign octets. */
	for (size_t i = n; i >= 1; i--) {
		unsigned v = (unsigned)(uint8_t)~s->mag[i - 1] + carry;
		c[i] = (uint8_t)v;
		carry = v >> 8;
	}
	c[0] = (uint8_t)(0xff + carry);
	while (off < n && c[off] == 0xff && (c[off + 1] & 0x80))
		off++;
	return der_put_tlv(out, DER_INTEGER, c + off, n + 1 - off);
}

static void put_digits(uint8_t *p, unsigned v, int n)
{
	for (int i = n - 1; i >= 0; i--) {
		p[i] = (uint8_t)('0' + v % 10);
		v /= 10;
	}
}

size_t der_put_time(uint8_t *out, int64_t t, int force_gen)
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

/* ---- checked writer ---- */

void der_w_init(struct der_w *w)
{
	memset(w, 0, sizeof(*w));
}

void der_w_init_fixed(struct der_w *w, uint8_t *buf, size_t cap)
{
	memset(w, 0, sizeof(*w));
	w->buf = buf;
	w->cap = cap;
	w->fixed = 1;
	if (buf == NULL)
		w->err = VA_ERR_INVAL;
}

void der_w_free(struct der_w *w)
{
	if (w == NULL)
		return;
	if (!w->fixed)
		free(w->buf);
	memset(w, 0, sizeof(*w));
}

static void w_fail(struct der_w *w, int err)
{
	if (w->err == 0)
		w->err = err;
}

/* Room for `more` octets after w->len; 0, or -1 with the error recorded. */
static int w_reserve(struct der_w *w, size_t more)
{
	size_t ncap;
	uint8_t *nb;

	if (w->err)
		return -1;
	/* Bounded well below SIZE_MAX so that the doubling below cannot wrap. */
	if (more > SIZE_MAX / 4 - w->len) {
		w_fail(w, VA_ERR_RANGE);
		return -1;
	}
	if (w->len + more <= w->cap)
		return 0;
	if (w->fixed) {
		w_fail(w, VA_ERR_RANGE);
		return -1;
	}
	ncap = w->cap ? w->cap : 512;
	while (ncap < w->len + more)
		ncap *= 2;
	nb = realloc(w->buf, ncap);
	if (nb == NULL) {
		w_fail(w, VA_ERR_NOMEM);
		return -1;
	}
	w->buf = nb;
	w->cap = ncap;
	return 0;
}

void der_w_raw(struct der_w *w, const void *p, size_t len)
{
	if (len == 0 || w_reserve(w, len) != 0)
		return;
	memcpy(w->buf + w->len, p, len);
	w->len += len;
}

void der_w_hdr(struct der_w *w, uint8_t tag, size_t len)
{
	uint8_t hdr[DER_HDR_MAX];

	if (len > DER_LEN_MAX) {
		w_fail(w, VA_ERR_RANGE);
		return;
	}
	/* Through a copy: reserving DER_HDR_MAX in place could refuse the last octets of an exact fixed buffer. */
	der_w_raw(w, hdr, der_put_hdr(hdr, tag, len));
}

void der_w_tlv(struct der_w *w, uint8_t tag, const void *c, size_t len)
{
	der_w_hdr(w, tag, len);
	der_w_raw(w, c, len);
}

size_t der_w_begin(const struct der_w *w)
{
	return w->len;
}

void der_w_end(struct der_w *w, uint8_t tag, size_t mark)
{
	uint8_t hdr[DER_HDR_MAX];
	size_t n, clen;

	if (w->err)
		return;
	if (mark > w->len || w->len - mark > DER_LEN_MAX) {
		w_fail(w, VA_ERR_RANGE);
		return;
	}
	clen = w->len - mark;
	n = der_put_hdr(hdr, tag, clen);
	if (w_reserve(w, n) != 0)
		return;
	memmove(w->buf + mark + n, w->buf + mark, clen);
	memcpy(w->buf + mark, hdr, n);
	w->len += n;
}

void der_w_uint(struct der_w *w, uint8_t tag, uint64_t v)
{
	uint8_t tmp[DER_UINT_MAX];

	der_w_raw(w, tmp, der_put_uint(tmp, tag, v));
}

void der_w_gentime(struct der_w *w, int64_t t)
{
	uint8_t tmp[DER_TIME_MAX];
	size_t n = der_put_time(tmp, t, 1);

	if (n == 0) {
		w_fail(w, VA_ERR_RANGE);
		return;
	}
	der_w_raw(w, tmp, n);
}

int der_w_take(struct der_w *w, uint8_t **out, size_t *len)
{
	int rc = w->fixed ? VA_ERR_INVAL : w->err;

	if (rc != 0) {
		der_w_free(w);
		return rc;
	}
	*out = w->buf;
	*len = w->len;
	w->buf = NULL;
	w->len = w->cap = 0;
	return 0;
}
