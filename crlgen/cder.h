/*
 * cder.h: the small DER toolkit crlgen needs (X.690 DER, definite lengths only).
 *
 * Writers put bytes into a caller-supplied buffer that the caller sized from the *_size() functions or a fixed
 * bound stated here; they return the number of octets written. Readers work on a bounded cursor and never read
 * past its end; they return 0 or a negative va_err (VA_ERR_INVAL for malformed input).
 * No allocation, no global state: safe from any thread.
 */
#ifndef CRL_CDER_H
#define CRL_CDER_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "store.h"

#define DER_BOOLEAN 0x01
#define DER_INTEGER 0x02
#define DER_BIT_STRING 0x03
#define DER_OCTET_STRING 0x04
#define DER_NULL 0x05
#define DER_OID 0x06
#define DER_ENUMERATED 0x0a
#define DER_UTCTIME 0x17
#define DER_GENTIME 0x18
#define DER_SEQUENCE 0x30
#define DER_SET 0x31
#define DER_CTX0_CONS 0xa0 /* [0] constructed */
#define DER_CTX0_PRIM 0x80 /* [0] primitive */
#define DER_CTX6_PRIM 0x86 /* [6] primitive: GeneralName uniformResourceIdentifier */

/* Longest header we write or accept: tag + 0x84 + 4 length octets (lengths up to 4 GiB - 1). */
#define DER_HDR_MAX 6
/* Longest Time TLV: GeneralizedTime "YYYYMMDDHHMMSSZ". */
#define DER_TIME_MAX 17
/* Longest INTEGER TLV for a serial: a sign octet in front of LIM_SERIAL_MAX magnitude octets. */
#define DER_SERIAL_MAX (2 + LIM_SERIAL_MAX + 1)
/* Longest INTEGER TLV of a uint64_t. */
#define DER_U64_MAX 11

/* Octets of the length field for a content of len octets. */
size_t cder_len_size(size_t len);
/* Octets of a whole TLV with one tag octet. */
size_t cder_tlv_size(size_t len);
/* Writes tag and length; returns the header's size. */
size_t cder_put_hdr(uint8_t *out, uint8_t tag, size_t len);
/* Writes a whole TLV (content may overlap out only if it starts after the header, i.e. never; copy is memmove). */
size_t cder_put_tlv(uint8_t *out, uint8_t tag, const uint8_t *content, size_t len);
/* Writes an INTEGER of v (non-negative). */
size_t cder_put_u64(uint8_t *out, uint64_t v);
/* Writes an INTEGER from a store serial (two's complement for negative serials). */
size_t cder_put_serial(uint8_t *out, const struct store_serial *s);
/* Writes a Time per RFC 5280 4.1.2.5 / 5.1.2.4: UTCTime for 1950..2049, else GeneralizedTime; with
 * force_gen a GeneralizedTime always (invalidityDate, RFC 5280 5.3.2). Returns 0 if the year is outside
 * 0..9999. */
size_t cder_put_time(uint8_t *out, int64_t t, int force_gen);

/* Bounded read cursor. */
struct cder_cur {
	const uint8_t *p;
	size_t len;
};

/* Parses a tag and definite length at the start of p[0..avail): VA_ERR_INVAL if malformed (indefinite length,
 * non-minimal length, high tag number, length over 4 octets), 1 if avail is too short to tell, else 0 with
 * *tag, *len (content length) and *hdr (header size) set. The content itself is not checked against avail. */
int cder_hdr_parse(const uint8_t *p, size_t avail, uint8_t *tag, size_t *len, size_t *hdr);
/* Takes the next TLV, which must have tag `tag` and fit in c; content in *out; advances c. */
VA_MUST_CHECK int cder_get(struct cder_cur *c, uint8_t tag, struct cder_cur *out);
/* Takes the next TLV whatever its tag; *whole covers header and content. */
VA_MUST_CHECK int cder_get_any(struct cder_cur *c, uint8_t *tag, struct cder_cur *content, struct cder_cur *whole);
/* Tag of the next TLV, or -1 when c is empty. */
int cder_peek(const struct cder_cur *c);
/* INTEGER content to uint64_t: non-negative, minimal, at most 8 magnitude octets. */
VA_MUST_CHECK int cder_u64_parse(const struct cder_cur *content, uint64_t *v);
/* UTCTime or GeneralizedTime content (tag given) to seconds since the epoch; only the forms RFC 5280 allows
 * ("YYMMDDHHMMSSZ", "YYYYMMDDHHMMSSZ"). */
VA_MUST_CHECK int cder_time_parse(uint8_t tag, const struct cder_cur *content, int64_t *t);
/* 1 if the OID content equals the given encoded OID content. */
int cder_oid_eq(const struct cder_cur *oid, const uint8_t *want, size_t wantlen);

#endif
