/*
 * der.h: a small bounds-checked DER reader and writer for the OCSP hot path (no OpenSSL objects, no allocation
 * when reading).
 *
 * Reader: a cursor over borrowed bytes; every TLV is checked against the bytes that remain before its content is
 * touched. Only DER is accepted (X.690 10.1: definite, minimal lengths; low tag numbers only, which is all OCSP
 * uses). Pointers returned point into the caller's buffer and live as long as it.
 * Writer: a growable heap buffer; errors are sticky (checked once at the end).
 */
#ifndef OCSP_DER_H
#define OCSP_DER_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* Universal and context tags used by OCSP. */
#define DER_BOOLEAN 0x01
#define DER_INTEGER 0x02
#define DER_BIT_STRING 0x03
#define DER_OCTET_STRING 0x04
#define DER_NULL 0x05
#define DER_OID 0x06
#define DER_ENUMERATED 0x0a
#define DER_GENERALIZEDTIME 0x18
#define DER_SEQUENCE 0x30
#define DER_CTX(n) (0xa0 | (n))      /* [n] constructed (EXPLICIT, or IMPLICIT of a constructed type) */
#define DER_CTX_PRIM(n) (0x80 | (n)) /* [n] primitive (IMPLICIT NULL, ...) */

struct ocsp_der_cur {
	const uint8_t *p;
	size_t len; /* bytes left */
};

struct ocsp_der_tlv {
	uint8_t tag;
	const uint8_t *raw; /* start of the whole TLV (tag octet) */
	size_t raw_len;     /* header + content */
	const uint8_t *c;   /* content */
	size_t len;         /* content length */
};

static inline void ocsp_der_init(struct ocsp_der_cur *cur, const uint8_t *p, size_t len)
{
	cur->p = p;
	cur->len = len;
}

/* Reads the next TLV and advances. VA_ERR_INVAL on truncation, an indefinite or non-minimal length, or a
 * high-tag-number form. */
VA_MUST_CHECK int ocsp_der_next(struct ocsp_der_cur *cur, struct ocsp_der_tlv *t);
/* Like ocsp_der_next but also requires the tag to be `tag`. */
VA_MUST_CHECK int ocsp_der_expect(struct ocsp_der_cur *cur, uint8_t tag, struct ocsp_der_tlv *t);
/* Peeks at the next tag: returns it, or -1 when the cursor is empty. */
int ocsp_der_peek(const struct ocsp_der_cur *cur);
/* Opens the content of t as a new cursor. */
static inline void ocsp_der_enter(const struct ocsp_der_tlv *t, struct ocsp_der_cur *inner)
{
	ocsp_der_init(inner, t->c, t->len);
}

struct ocsp_der_w {
	uint8_t *buf; /* owned; free with ocsp_der_w_free or take with ocsp_der_w_take */
	size_t len, cap;
	int err;      /* first error (sticky) */
};

void ocsp_der_w_init(struct ocsp_der_w *w);
void ocsp_der_w_free(struct ocsp_der_w *w);
/* Appends raw bytes. */
void ocsp_der_w_raw(struct ocsp_der_w *w, const void *p, size_t len);
/* Appends a whole TLV with the given content. */
void ocsp_der_w_tlv(struct ocsp_der_w *w, uint8_t tag, const void *c, size_t len);
/* Starts a constructed value: returns a mark to pass to ocsp_der_w_end, which prepends tag and length to
 * everything written since. */
size_t ocsp_der_w_begin(struct ocsp_der_w *w);
void ocsp_der_w_end(struct ocsp_der_w *w, uint8_t tag, size_t mark);
/* GeneralizedTime "YYYYMMDDHHMMSSZ" (RFC 5280 4.1.2.5.2: no fractions, Z). */
void ocsp_der_w_time(struct ocsp_der_w *w, int64_t t);
/* Hands the buffer to the caller (free with free()); returns the error if any (then nothing is handed out). */
VA_MUST_CHECK int ocsp_der_w_take(struct ocsp_der_w *w, uint8_t **out, size_t *len);

#endif
