/*
 * der.h: the project's one DER codec (ITU-T X.690, distinguished encoding rules).
 *
 * Reader: a cursor over borrowed bytes. Every TLV is checked against the bytes that remain before its content is
 * touched. Only DER is accepted (X.690 10.1): definite lengths in the fewest octets, at most 4 length octets
 * (contents up to 4 GiB - 1), and low tag numbers (one identifier octet, tags 0..30: nothing we parse uses more).
 * Pointers handed out point into the caller's buffer and live as long as it. No allocation, no global state.
 *
 * Writers:
 *  - der_put_*: write into a buffer the caller sized with der_len_size()/der_tlv_size() or the *_MAX bounds
 *    below, and return the octets written. No checks, no state: for tight loops such as millions of CRL entries.
 *  - struct der_w: a forward writer with a sticky error (checked once at the end), over a growable heap buffer
 *    (der_w_init) or over the caller's fixed buffer (der_w_init_fixed, never grows: VA_ERR_RANGE when full).
 *    der_w_begin/der_w_end wrap content whose length is learnt by writing it (the header is inserted in front);
 *    der_w_hdr writes the header of content whose length the caller computed (no copy).
 *
 * Errors: 0 or a negative va_err (err.h); malformed input is VA_ERR_INVAL. Every function may run in any thread.
 */
#ifndef VA_DER_H
#define VA_DER_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "va_limits.h"

struct store_serial;

/* Universal tags (X.690 8.1.2, X.680 8.4) and context-specific ones. */
#define DER_BOOLEAN 0x01
#define DER_INTEGER 0x02
#define DER_BIT_STRING 0x03
#define DER_OCTET_STRING 0x04
#define DER_NULL 0x05
#define DER_OID 0x06
#define DER_ENUMERATED 0x0a
#define DER_UTF8STRING 0x0c
#define DER_UTCTIME 0x17
#define DER_GENTIME 0x18
#define DER_SEQUENCE 0x30
#define DER_SET 0x31
#define DER_CTX(n) (0xa0 | (n))      /* [n] constructed (EXPLICIT, or IMPLICIT of a constructed type) */
#define DER_CTX_PRIM(n) (0x80 | (n)) /* [n] primitive (IMPLICIT of a primitive type) */

/* Longest header written or accepted: tag, 0x84 and 4 length octets. */
#define DER_HDR_MAX 6
/* Largest content length: what 4 length octets hold. */
#define DER_LEN_MAX 0xffffffffULL
/* Longest Time TLV: GeneralizedTime "YYYYMMDDHHMMSSZ". */
#define DER_TIME_MAX 17
/* Longest INTEGER TLV of a serial: a sign octet in front of LIM_SERIAL_MAX magnitude octets. */
#define DER_SERIAL_MAX (2 + LIM_SERIAL_MAX + 1)
/* Longest INTEGER TLV of a uint64_t. */
#define DER_UINT_MAX 11
/* der_hdr_parse: the octets given end inside the header. */
#define DER_NEED_MORE 1

/* In a parser of untrusted DER: any step that fails (non-zero) makes the whole input invalid, whatever the step's
 * own error was, so that a malformed request never reports anything but VA_ERR_INVAL. */
#define DER_GUARD(x)                         \
	do {                                 \
		if ((x) != 0)                \
			return VA_ERR_INVAL; \
	} while (0)

/* ---- reader ---- */

struct der_cur {
	const uint8_t *p;
	size_t len; /* octets left */
};

struct der_tlv {
	uint8_t tag;
	const uint8_t *raw; /* the whole TLV, from its tag octet */
	size_t raw_len;     /* header + content */
	const uint8_t *c;   /* content */
	size_t len;         /* content length */
};

static inline void der_init(struct der_cur *cur, const uint8_t *p, size_t len)
{
	cur->p = p;
	cur->len = len;
}

/* A cursor over the content of t. */
static inline void der_enter(const struct der_tlv *t, struct der_cur *inner)
{
	der_init(inner, t->c, t->len);
}

/* Parses the tag and length at the start of p[0..avail), for readers that stream (the content is not checked
 * against avail). Returns 0 with *tag, *len (content length) and *hdr (header size) set; DER_NEED_MORE when avail
 * ends inside the header; VA_ERR_INVAL for a high tag number, an indefinite or non-minimal length, or more than
 * 4 length octets. */
VA_MUST_CHECK int der_hdr_parse(const uint8_t *p, size_t avail, uint8_t *tag, size_t *len, size_t *hdr);
/* Takes the next TLV, which must fit in what is left, and advances. VA_ERR_INVAL otherwise (cursor unchanged). */
VA_MUST_CHECK int der_next(struct der_cur *cur, struct der_tlv *t);
/* Like der_next, and the tag must be `tag`. */
VA_MUST_CHECK int der_expect(struct der_cur *cur, uint8_t tag, struct der_tlv *t);
/* The next tag, or -1 when the cursor is empty. */
int der_peek(const struct der_cur *cur);

/* INTEGER content is one or more octets in the fewest octets (X.690 8.3.1, 8.3.2). 0 or VA_ERR_INVAL. */
VA_MUST_CHECK int der_int_check(const struct der_tlv *t);
/* A minimal non-negative INTEGER content to a uint64_t: VA_ERR_INVAL if malformed or negative, VA_ERR_RANGE over
 * 64 bits. */
VA_MUST_CHECK int der_uint_parse(const struct der_tlv *t, uint64_t *v);
/* BOOLEAN content: one octet, 0x00 (FALSE) or 0xFF (TRUE) (X.690 11.1). */
VA_MUST_CHECK int der_bool_parse(const struct der_tlv *t, int *v);
/* OBJECT IDENTIFIER content: at least one subidentifier, each in the fewest octets (no leading 0x80), the last
 * octet ending one (X.690 8.19.2). */
VA_MUST_CHECK int der_oid_check(const struct der_tlv *t);
/* 1 if the content of t is the encoded OID content want[0..wantlen). */
int der_oid_eq(const struct der_tlv *t, const uint8_t *want, size_t wantlen);
/* Extension ::= SEQUENCE { extnID OBJECT IDENTIFIER, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING }
 * (RFC 5280 4.1): takes the next one from cur. crit is the BOOLEAN's TLV (crit->raw NULL when absent): what a
 * critical flag may hold differs between protocols, so the caller judges it. The OID's content is not checked. */
VA_MUST_CHECK int der_ext_next(struct der_cur *cur, struct der_tlv *oid, struct der_tlv *crit,
			       struct der_tlv *value);
/* UTCTime or GeneralizedTime (by t->tag) to seconds since the epoch; only the forms RFC 5280 4.1.2.5 allows
 * ("YYMMDDHHMMSSZ", YY < 50 meaning 20YY; "YYYYMMDDHHMMSSZ") and real dates. */
VA_MUST_CHECK int der_time_parse(const struct der_tlv *t, int64_t *out);

/* ---- fixed-buffer writers ---- */

/* Octets of the length field for a content of len octets. */
size_t der_len_size(size_t len);
/* Octets of a whole TLV (one tag octet) with len octets of content. */
size_t der_tlv_size(size_t len);
/* Writes tag and length; returns the header's size (at most DER_HDR_MAX for len <= DER_LEN_MAX). */
size_t der_put_hdr(uint8_t *out, uint8_t tag, size_t len);
/* Writes a whole TLV. content may overlap out (it is moved, not copied). */
size_t der_put_tlv(uint8_t *out, uint8_t tag, const uint8_t *content, size_t len);
/* Writes v as a non-negative INTEGER under `tag` (DER_INTEGER, or an IMPLICIT tag): at most DER_UINT_MAX. */
size_t der_put_uint(uint8_t *out, uint8_t tag, uint64_t v);
/* Writes a store serial as an INTEGER (two's complement for negative serials): at most DER_SERIAL_MAX; 0 if
 * s->len is over LIM_SERIAL_MAX. */
size_t der_put_serial(uint8_t *out, const struct store_serial *s);
/* Writes a Time per RFC 5280 4.1.2.5 / 5.1.2.4: UTCTime for 1950..2049, else GeneralizedTime; with force_gen a
 * GeneralizedTime always (RFC 5280 5.3.2, RFC 6960, RFC 3161). At most DER_TIME_MAX; 0 outside years 0..9999. */
size_t der_put_time(uint8_t *out, int64_t t, int force_gen);

/* ---- checked writer ---- */

struct der_w {
	uint8_t *buf; /* heap writers own it: free with der_w_free or take with der_w_take */
	size_t len, cap;
	int err;      /* first error (sticky): every later call does nothing */
	int fixed;    /* buf belongs to the caller and never grows */
};

void der_w_init(struct der_w *w);
void der_w_init_fixed(struct der_w *w, uint8_t *buf, size_t cap);
/* Frees a heap writer's buffer (a fixed one is left to its owner); accepts NULL. */
void der_w_free(struct der_w *w);
void der_w_raw(struct der_w *w, const void *p, size_t len);
/* A header for len octets of content that the caller writes next. */
void der_w_hdr(struct der_w *w, uint8_t tag, size_t len);
void der_w_tlv(struct der_w *w, uint8_t tag, const void *c, size_t len);
/* Starts content of unknown length: returns a mark for der_w_end, which puts tag and length in front of
 * everything written since (moving it). */
size_t der_w_begin(const struct der_w *w);
void der_w_end(struct der_w *w, uint8_t tag, size_t mark);
/* A non-negative INTEGER under tag; a GeneralizedTime (VA_ERR_RANGE outside years 0..9999). */
void der_w_uint(struct der_w *w, uint8_t tag, uint64_t v);
void der_w_gentime(struct der_w *w, int64_t t);
/* Hands a heap writer's buffer to the caller (free()), or returns the sticky error and frees it. */
VA_MUST_CHECK int der_w_take(struct der_w *w, uint8_t **out, size_t *len);

#endif
