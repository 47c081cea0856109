#include "der.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int ocsp_der_next(struct ocsp_der_cur *cur, struct ocsp_der_tlv *t)
{
	const uint8_t *p = cur->p;
	size_t left = cur->len, len, hdr;

	if (left < 2)
		return VA_ERR_INVAL;
	/* X.690 8.1.2.4: tag number 31 announces the high-tag-number form, which OCSP never uses. */
	if ((p[0] & 0x1f) == 0x1f)
		return VA_ERR_INVAL;
	if (p[1] < 0x80) {
		len = p[1];
		hdr = 2;
	} else {
		size_t n = p[1] & 0x7f;

		/* X.690 10.1: DER uses the definite form with the minimum number of length octets. */
		if (n == 0 || n > 4 || left < 2 + n)
			return VA_ERR_INVAL;
		if (p[2] == 0)
			return VA_ERR_INVAL;
		len = 0;
		for (size_t i = 0; i < n; i++)
			len = (len << 8) | p[2 + i];
		if (len < 0x80)
			return VA_ERR_INVAL;
		hdr = 2 + n;
	}
	if (len > left - hdr)
		return VA_ERR_INVAL;
	t->tag = p[0];
	t->raw = p;
	t->raw_len = hdr + len;
	t->c = p + hdr;
	t->len = len;
	cur->p += hdr + len;
	cur->len -= hdr + len;
	return 0;
}

int ocsp_der_expect(struct ocsp_der_cur *cur, uint8_t tag, struct ocsp_der_tlv *t)
{
	if (cur->len == 0 || cur->p[0] != tag)
		return VA_ERR_INVAL;
	return ocsp_der_next(cur, t);
}

int ocsp_der_peek(const struct ocsp_der_cur *cur)
{
	return cur->len ? cur->p[0] : -1;
}

void ocsp_der_w_init(struct ocsp_der_w *w)
{
	memset(w, 0, sizeof(*w));
}

void ocsp_der_w_free(struct ocsp_der_w *w)
{
	if (w == NULL)
		return;
	free(w->buf);
	memset(w, 0, sizeof(*w));
}

static int der_w_reserve(struct ocsp_der_w *w, size_t more)
{
	size_t ncap;
	uint8_t *nb;

	if (w->err)
		return -1;
	if (more > SIZE_MAX / 4 - w->len) {
		w->err = VA_ERR_RANGE;
		return -1;
	}
	if (w->len + more <= w->cap)
		return 0;
	ncap = w->cap ? w->cap : 512;
	while (ncap < w->len + more)
		ncap *= 2;
	nb = realloc(w->buf, ncap);
	if (nb == NULL) {
		w->err = VA_ERR_NOMEM;
		return -1;
	}
	w->buf = nb;
	w->cap = ncap;
	return 0;
}

void ocsp_der_w_raw(struct ocsp_der_w *w, const void *p, size_t len)
{
	if (len == 0 || der_w_reserve(w, len) < 0)
		return;
	memcpy(w->buf + w->len, p, len);
	w->len += len;
}

static size_t der_len_hdr(uint8_t tag, size_t len, uint8_t hdr[6])
{
	size_t n = 0;

	hdr[n++] = tag;
	if (len < 0x80) {
		hdr[n++] = (uint8_t)len;
	} else if (len <= 0xff) {
		hdr[n++] = 0x81;
		hdr[n++] = (uint8_t)len;
	} else if (len <= 0xffff) {
		hdr[n++] = 0x82;
		hdr[n++] = (uint8_t)(len >> 8);
		hdr[n++] = (uint8_t)len;
	} else {
		hdr[n++] = 0x83;
		hdr[n++] = (uint8_t)(len >> 16);
		hdr[n++] = (uint8_t)(len >> 8);
		hdr[n++] = (uint8_t)len;
	}
	return n;
}

void ocsp_der_w_tlv(struct ocsp_der_w *w, uint8_t tag, const void *c, size_t len)
{
	uint8_t hdr[6];
	size_t n;

	if (len > 0xffffff) {
		w->err = w->err ? w->err : VA_ERR_RANGE;
		return;
	}
	n = der_len_hdr(tag, len, hdr);
	ocsp_der_w_raw(w, hdr, n);
	ocsp_der_w_raw(w, c, len);
}

size_t ocsp_der_w_begin(struct ocsp_der_w *w)
{
	return w->len;
}

void ocsp_der_w_end(struct ocsp_der_w *w, uint8_t tag, size_t mark)
{
	uint8_t hdr[6];
	size_t n, clen;

	if (w->err)
		return;
	if (mark > w->len || w->len - mark > 0xffffff) {
		w->err = VA_ERR_RANGE;
		return;
	}
	clen = w->len - mark;
	n = der_len_hdr(tag, clen, hdr);
	if (der_w_reserve(w, n) < 0)
		return;
	memmove(w->buf + mark + n, w->buf + mark, clen);
	memcpy(w->buf + mark, hdr, n);
	w->len += n;
}

void ocsp_der_w_time(struct ocsp_der_w *w, int64_t t)
{
	struct tm tm;
	time_t tt = (time_t)t;
	char s[32];
	int n;

	if (gmtime_r(&tt, &tm) == NULL || tm.tm_year + 1900 > 9999 || tm.tm_year + 1900 < 0) {
		w->err = w->err ? w->err : VA_ERR_RANGE;
		return;
	}
	n = snprintf(s, sizeof(s), "%04d%02d%02d%02d%02d%02dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
		     tm.tm_hour, tm.tm_min, tm.tm_sec);
	if (n != 15) {
		w->err = w->err ? w->err : VA_ERR_RANGE;
		return;
	}
	ocsp_der_w_tlv(w, DER_GENERALIZEDTIME, s, 15);
}

int ocsp_der_w_take(struct ocsp_der_w *w, uint8_t **out, size_t *len)
{
	int rc = w->err;

	if (rc) {
		ocsp_der_w_free(w);
		return rc;
	}
	*out = w->buf;
	*len = w->len;
	w->buf = NULL;
	w->len = w->cap = 0;
	return 0;
}
