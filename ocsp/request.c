#include "request.h"

#include <stdlib.h>
#include <string.h>

#include "der.h"

/* AlgorithmIdentifier OIDs (content octets) of the CertID hash algorithms, indexed by enum store_hash. */
static const uint8_t oid_sha1[] = { 0x2b, 0x0e, 0x03, 0x02, 0x1a };
static const uint8_t oid_sha256[] = { 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01 };
static const uint8_t oid_sha384[] = { 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02 };
static const uint8_t oid_sha512[] = { 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03 };
static const struct {
	const uint8_t *oid;
	size_t len;
} hash_oids[STORE_HASH_COUNT] = {
	{ oid_sha1, sizeof(oid_sha1) },
	{ oid_sha256, sizeof(oid_sha256) },
	{ oid_sha384, sizeof(oid_sha384) },
	{ oid_sha512, sizeof(oid_sha512) },
};
/* id-pkix-ocsp-nonce 1.3.6.1.5.5.7.48.1.2 */
static const uint8_t oid_nonce[] = { 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01, 0x02 };

/* DER INTEGER content (two's complement, big-endian) to the store's sign-and-magnitude form. */
static int serial_from_der(struct store_serial *s, const uint8_t *c, size_t len)
{
	uint8_t mag[LIM_SERIAL_MAX + 1];
	size_t skip = 0;

	if (len == 0 || len > sizeof(mag))
		return VA_ERR_RANGE;
	memset(s, 0, sizeof(*s));
	if (c[0] & 0x80) {
		unsigned carry = 1;

		/* Magnitude of a negative value: invert and add one, from the least significant octet. */
		for (size_t i = len; i-- > 0;) {
			unsigned v = (uint8_t)~c[i] + carry;

			mag[i] = (uint8_t)v;
			carry = v >> 8;
		}
		s->negative = 1;
	} else {
		memcpy(mag, c, len);
	}
	while (skip < len && mag[skip] == 0)
		skip++;
	if (len - skip > LIM_SERIAL_MAX)
		return VA_ERR_RANGE;
	s->len = (uint8_t)(len - skip);
	memcpy(s->mag, mag + skip, len - skip);
	if (s->len == 0)
		s->negative = 0;
	return 0;
}

#define GUARD(x)                              \
	do {                                  \
		if ((x) != 0)                 \
			return VA_ERR_INVAL;  \
	} while (0)

static int certid_parse(const struct ocsp_der_tlv *t, struct ocsp_certid *id)
{
	struct ocsp_der_cur c, ac;
	struct ocsp_der_tlv alg, oid, nh, kh, ser, par;

	memset(id, 0, sizeof(*id));
	id->der = t->raw;
	id->der_len = t->raw_len;
	if (t->raw_len > OCSP_CERTID_MAX)
		return VA_ERR_INVAL;
	ocsp_der_enter(t, &c);
	GUARD(ocsp_der_expect(&c, DER_SEQUENCE, &alg));
	GUARD(ocsp_der_expect(&c, DER_OCTET_STRING, &nh));
	GUARD(ocsp_der_expect(&c, DER_OCTET_STRING, &kh));
	GUARD(ocsp_der_expect(&c, DER_INTEGER, &ser));
	if (c.len != 0)
		return VA_ERR_INVAL;
	ocsp_der_enter(&alg, &ac);
	GUARD(ocsp_der_expect(&ac, DER_OID, &oid));
	/* Parameters: absent or NULL for the SHA family (RFC 5754 2); anything else is not a hash we know. */
	if (ac.len != 0) {
		GUARD(ocsp_der_expect(&ac, DER_NULL, &par));
		if (par.len != 0 || ac.len != 0)
			return VA_ERR_INVAL;
	}
	id->hash = -1;
	for (int h = 0; h < STORE_HASH_COUNT; h++)
		if (oid.len == hash_oids[h].len && memcmp(oid.c, hash_oids[h].oid, oid.len) == 0)
			id->hash = h;
	id->name_hash = nh.c;
	id->name_hash_len = nh.len;
	id->key_hash = kh.c;
	id->key_hash_len = kh.len;
	/* X.690 8.3.2: an INTEGER is encoded in the fewest octets; a non-minimal serial would make the echoed
	 * CertID differ from the one we cache under. */
	if (ser.len == 0 || (ser.len > 1 && ((ser.c[0] == 0x00 && !(ser.c[1] & 0x80)) ||
					     (ser.c[0] == 0xff && (ser.c[1] & 0x80)))))
		return VA_ERR_INVAL;
	if (serial_from_der(&id->serial, ser.c, ser.len) != 0)
		return VA_ERR_INVAL;
	return 0;
}

/* Extensions ::= SEQUENCE SIZE (1..MAX) OF Extension (RFC 5280 4.1). Only the nonce is understood. */
static int extensions_parse(const struct ocsp_der_tlv *t, const struct ocsp_parse_limits *lim,
			    struct ocsp_request *req, int request_level)
{
	struct ocsp_der_cur c, ec;
	struct ocsp_der_tlv ext, oid, crit, val;

	ocsp_der_enter(t, &c);
	if (c.len == 0)
		return VA_ERR_INVAL;
	while (c.len) {
		int critical = 0;

		GUARD(ocsp_der_expect(&c, DER_SEQUENCE, &ext));
		ocsp_der_enter(&ext, &ec);
		GUARD(ocsp_der_expect(&ec, DER_OID, &oid));
		if (ocsp_der_peek(&ec) == DER_BOOLEAN) {
			GUARD(ocsp_der_next(&ec, &crit));
			if (crit.len != 1 || (crit.c[0] != 0x00 && crit.c[0] != 0xff))
				return VA_ERR_INVAL;
			critical = crit.c[0] != 0;
		}
		GUARD(ocsp_der_expect(&ec, DER_OCTET_STRING, &val));
		if (ec.len != 0)
			return VA_ERR_INVAL;
		if (request_level && oid.len == sizeof(oid_nonce) && memcmp(oid.c, oid_nonce, oid.len) == 0) {
			struct ocsp_der_cur nc;
			struct ocsp_der_tlv n;
			size_t nlen = val.len;

			/* RFC 5280 4.2: an extension appears at most once. */
			if (req->has_nonce)
				return VA_ERR_INVAL;
			/* RFC 8954 2.1: the value is an OCTET STRING of 1..32 octets (up to 128 accepted). Older clients put
			 * the raw bytes in extnValue: count those as the nonce. */
			ocsp_der_init(&nc, val.c, val.len);
			if (ocsp_der_peek(&nc) == DER_OCTET_STRING && ocsp_der_next(&nc, &n) == 0 && nc.len == 0)
				nlen = n.len;
			if (nlen < lim->nonce_min || nlen > lim->nonce_max)
				return VA_ERR_INVAL;
			req->has_nonce = 1;
			req->nonce_ext = val.c;
			req->nonce_ext_len = val.len;
			req->nonce_len = nlen;
			continue;
		}
		/* RFC 6960 4.4 / RFC 5280 4.2: an unrecognised critical extension must not be ignored. */
		if (critical)
			return VA_ERR_INVAL;
	}
	return 0;
}

int ocsp_request_parse(const uint8_t *der, size_t len, const struct ocsp_parse_limits *lim,
		       struct ocsp_request *req)
{
	struct ocsp_der_cur top, rc, tc, lc, qc;
	struct ocsp_der_tlv ocspreq, tbs, t, list, one, cid;

	req->ncertids = 0;
	req->has_nonce = 0;
	req->nonce_ext = NULL;
	req->nonce_ext_len = req->nonce_len = 0;

	ocsp_der_init(&top, der, len);
	GUARD(ocsp_der_expect(&top, DER_SEQUENCE, &ocspreq));
	if (top.len != 0)
		return VA_ERR_INVAL;
	ocsp_der_enter(&ocspreq, &rc);
	GUARD(ocsp_der_expect(&rc, DER_SEQUENCE, &tbs));
	/* optionalSignature [0] EXPLICIT Signature: we do not require signed requests (RFC 6960 4.1.2) and ignore it,
	 * but it must be well-formed DER. */
	if (rc.len != 0) {
		GUARD(ocsp_der_expect(&rc, DER_CTX(0), &t));
		if (rc.len != 0)
			return VA_ERR_INVAL;
	}
	ocsp_der_enter(&tbs, &tc);
	/* version [0] EXPLICIT Version DEFAULT v1: only v1 (0) exists. */
	if (ocsp_der_peek(&tc) == DER_CTX(0)) {
		struct ocsp_der_cur vc;
		struct ocsp_der_tlv v;

		GUARD(ocsp_der_next(&tc, &t));
		ocsp_der_enter(&t, &vc);
		GUARD(ocsp_der_expect(&vc, DER_INTEGER, &v));
		if (vc.len != 0 || v.len != 1 || v.c[0] != 0)
			return VA_ERR_INVAL;
	}
	/* requestorName [1] EXPLICIT GeneralName OPTIONAL: informational only. */
	if (ocsp_der_peek(&tc) == DER_CTX(1))
		GUARD(ocsp_der_next(&tc, &t));
	GUARD(ocsp_der_expect(&tc, DER_SEQUENCE, &list));
	if (ocsp_der_peek(&tc) == DER_CTX(2)) {
		struct ocsp_der_cur xc;
		struct ocsp_der_tlv exts;

		GUARD(ocsp_der_next(&tc, &t));
		ocsp_der_enter(&t, &xc);
		GUARD(ocsp_der_expect(&xc, DER_SEQUENCE, &exts));
		if (xc.len != 0)
			return VA_ERR_INVAL;
		GUARD(extensions_parse(&exts, lim, req, 1));
	}
	if (tc.len != 0)
		return VA_ERR_INVAL;

	ocsp_der_enter(&list, &lc);
	while (lc.len) {
		struct ocsp_certid *id;

		if (req->ncertids >= lim->max_certids || req->ncertids >= LIM_OCSP_CERTIDS_MAX)
			return VA_ERR_INVAL;
		GUARD(ocsp_der_expect(&lc, DER_SEQUENCE, &one));
		ocsp_der_enter(&one, &qc);
		GUARD(ocsp_der_expect(&qc, DER_SEQUENCE, &cid));
		id = &req->certids[req->ncertids];
		GUARD(certid_parse(&cid, id));
		/* singleRequestExtensions [0] EXPLICIT: none is defined that we act on; critical ones are refused. */
		if (ocsp_der_peek(&qc) == DER_CTX(0)) {
			struct ocsp_der_cur xc;
			struct ocsp_der_tlv exts;

			GUARD(ocsp_der_next(&qc, &t));
			ocsp_der_enter(&t, &xc);
			GUARD(ocsp_der_expect(&xc, DER_SEQUENCE, &exts));
			if (xc.len != 0)
				return VA_ERR_INVAL;
			GUARD(extensions_parse(&exts, lim, req, 0));
		}
		if (qc.len != 0)
			return VA_ERR_INVAL;
		req->ncertids++;
	}
	/* requestList SEQUENCE OF Request: at least one (RFC 6960 4.1.1). */
	if (req->ncertids == 0)
		return VA_ERR_INVAL;
	return 0;
}

static int b64_value(unsigned char ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 26;
	if (ch >= '0' && ch <= '9')
		return ch - '0' + 52;
	if (ch == '+' || ch == '-')
		return 62;
	if (ch == '/' || ch == '_')
		return 63;
	return -1;
}

static int hex_value(unsigned char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

int ocsp_get_decode(const char *path, size_t pathlen, uint8_t *out, size_t outcap, size_t *outlen)
{
	uint32_t acc = 0;
	size_t i = 0, o = 0, nbits = 0, pad = 0, nchars = 0;

	/* RFC 5019 5: the request follows the responder URL's path; a client (or a proxy) may add a slash. DER of
	 * an OCSPRequest begins 0x30, base64 'M', so leading slashes are never data. */
	while (i < pathlen && path[i] == '/')
		i++;
	for (; i < pathlen; i++) {
		unsigned char ch = (unsigned char)path[i];
		int v;

		if (ch == '%') {
			int hi, lo;

			if (pathlen - i < 3)
				return VA_ERR_INVAL;
			hi = hex_value((unsigned char)path[i + 1]);
			lo = hex_value((unsigned char)path[i + 2]);
			if (hi < 0 || lo < 0)
				return VA_ERR_INVAL;
			ch = (unsigned char)(hi << 4 | lo);
			i += 2;
		}
		if (ch == '=') {
			pad++;
			continue;
		}
		/* No data after padding. */
		if (pad)
			return VA_ERR_INVAL;
		v = b64_value(ch);
		if (v < 0)
			return VA_ERR_INVAL;
		nchars++;
		acc = (acc << 6) | (uint32_t)v;
		nbits += 6;
		if (nbits >= 8) {
			nbits -= 8;
			if (o >= outcap)
				return VA_ERR_RANGE;
			out[o++] = (uint8_t)(acc >> nbits);
			acc &= (1u << nbits) - 1;
		}
	}
	/* A lone trailing character carries no full octet; more than two pads cannot happen. */
	if (nchars % 4 == 1 || pad > 2 || (pad && (nchars + pad) % 4 != 0) || o == 0)
		return VA_ERR_INVAL;
	*outlen = o;
	return 0;
}

int ocsp_get_request(const char *path, size_t pathlen, uint8_t *out, size_t outcap, size_t *outlen)
{
	size_t off = 0;

	/* A handful of prefix segments at most: a longer path is not an OCSP responder URL. */
	for (int tries = 0; tries < 8 && off < pathlen; tries++) {
		struct ocsp_der_cur cur;
		struct ocsp_der_tlv t;
		size_t len = 0;

		if (ocsp_get_decode(path + off, pathlen - off, out, outcap, &len) == 0) {
			ocsp_der_init(&cur, out, len);
			if (ocsp_der_expect(&cur, DER_SEQUENCE, &t) == 0 && cur.len == 0) {
				*outlen = len;
				return 0;
			}
		}
		/* Next segment: skip this run of slashes' successors up to the next '/'. */
		while (off < pathlen && path[off] == '/')
			off++;
		while (off < pathlen && path[off] != '/')
			off++;
	}
	return VA_ERR_INVAL;
}

int ocsp_certid_build(int hash, int null_params, const uint8_t *name_hash, const uint8_t *key_hash,
		      const struct store_serial *serial, uint8_t *out, size_t outcap)
{
	static const size_t lens[STORE_HASH_COUNT] = { 20, 32, 48, 64 };
	struct ocsp_der_w w;
	uint8_t ser[LIM_SERIAL_MAX + 1];
	size_t slen = 0, m, ma, len;
	uint8_t *der = NULL;
	int rc;

	if (hash < 0 || hash >= STORE_HASH_COUNT || serial->len > LIM_SERIAL_MAX)
		return VA_ERR_INVAL;
	/* Minimal two's-complement INTEGER content (X.690 8.3.2). */
	if (serial->len == 0) {
		ser[slen++] = 0;
	} else if (!serial->negative) {
		if (serial->mag[0] & 0x80)
			ser[slen++] = 0;
		memcpy(ser + slen, serial->mag, serial->len);
		slen += serial->len;
	} else {
		unsigned carry = 1;

		ser[0] = 0;
		memcpy(ser + 1, serial->mag, serial->len);
		for (size_t i = serial->len + 1; i-- > 0;) {
			unsigned v = (uint8_t)~ser[i] + carry;

			ser[i] = (uint8_t)v;
			carry = v >> 8;
		}
		slen = serial->len + 1;
		/* Drop redundant leading 0xff octets. */
		size_t skip = 0;
		while (slen - skip > 1 && ser[skip] == 0xff && (ser[skip + 1] & 0x80))
			skip++;
		memmove(ser, ser + skip, slen - skip);
		slen -= skip;
	}
	ocsp_der_w_init(&w);
	m = ocsp_der_w_begin(&w);
	ma = ocsp_der_w_begin(&w);
	ocsp_der_w_tlv(&w, DER_OID, hash_oids[hash].oid, hash_oids[hash].len);
	if (null_params)
		ocsp_der_w_tlv(&w, DER_NULL, NULL, 0);
	ocsp_der_w_end(&w, DER_SEQUENCE, ma);
	ocsp_der_w_tlv(&w, DER_OCTET_STRING, name_hash, lens[hash]);
	ocsp_der_w_tlv(&w, DER_OCTET_STRING, key_hash, lens[hash]);
	ocsp_der_w_tlv(&w, DER_INTEGER, ser, slen);
	ocsp_der_w_end(&w, DER_SEQUENCE, m);
	rc = ocsp_der_w_take(&w, &der, &len);
	if (rc != 0)
		return rc;
	if (len > outcap) {
		free(der);
		return VA_ERR_RANGE;
	}
	memcpy(out, der, len);
	free(der);
	return (int)len;
}
