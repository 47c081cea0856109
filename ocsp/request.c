#include "request.h"

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

static int certid_parse(const struct der_tlv *t, struct ocsp_certid *id)
{
	struct der_cur c, ac;
	struct der_tlv alg, oid, nh, kh, ser, par;

	memset(id, 0, sizeof(*id));
	id->der = t->raw;
	id->der_len = t->raw_len;
	if (t->raw_len > OCSP_CERTID_MAX)
		return VA_ERR_INVAL;
	der_enter(t, &c);
	DER_GUARD(der_expect(&c, DER_SEQUENCE, &alg));
	DER_GUARD(der_expect(&c, DER_OCTET_STRING, &nh));
	DER_GUARD(der_expect(&c, DER_OCTET_STRING, &kh));
	DER_GUARD(der_expect(&c, DER_INTEGER, &ser));
	if (c.len != 0)
		return VA_ERR_INVAL;
	der_enter(&alg, &ac);
	DER_GUARD(der_expect(&ac, DER_OID, &oid));
	/* Parameters: absent or NULL for the SHA family (RFC 5754 2); anything else is not a hash we know. */
	if (ac.len != 0) {
		DER_GUARD(der_expect(&ac, DER_NULL, &par));
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
	DER_GUARD(der_int_check(&ser));
	if (store_serial_from_der(&id->serial, ser.c, ser.len) != 0)
		return VA_ERR_INVAL;
	return 0;
}

/* Extensions ::= SEQUENCE SIZE (1..MAX) OF Extension (RFC 5280 4.1). Only the nonce is understood. */
static int extensions_parse(const struct der_tlv *t, const struct ocsp_parse_limits *lim,
			    struct ocsp_request *req, int request_level)
{
	struct der_cur c;
	struct der_tlv oid, crit, val;

	der_enter(t, &c);
	if (c.len == 0)
		return VA_ERR_INVAL;
	while (c.len) {
		int critical = 0;

		DER_GUARD(der_ext_next(&c, &oid, &crit, &val));
		if (crit.raw != NULL)
			DER_GUARD(der_bool_parse(&crit, &critical));
		if (request_level && oid.len == sizeof(oid_nonce) && memcmp(oid.c, oid_nonce, oid.len) == 0) {
			struct der_cur nc;
			struct der_tlv n;
			size_t nlen = val.len;

			/* RFC 5280 4.2: an extension appears at most once. */
			if (req->has_nonce)
				return VA_ERR_INVAL;
			/* RFC 8954 2.1: the value is an OCTET STRING of 1..32 octets (up to 128 accepted). Older clients put
			 * the raw bytes in extnValue: count those as the nonce. */
			der_init(&nc, val.c, val.len);
			if (der_peek(&nc) == DER_OCTET_STRING && der_next(&nc, &n) == 0 && nc.len == 0)
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
	struct der_cur top, rc, tc, lc, qc;
	struct der_tlv ocspreq, tbs, t, list, one, cid;

	req->ncertids = 0;
	req->has_nonce = 0;
	req->nonce_ext = NULL;
	req->nonce_ext_len = req->nonce_len = 0;

	der_init(&top, der, len);
	DER_GUARD(der_expect(&top, DER_SEQUENCE, &ocspreq));
	if (top.len != 0)
		return VA_ERR_INVAL;
	der_enter(&ocspreq, &rc);
	DER_GUARD(der_expect(&rc, DER_SEQUENCE, &tbs));
	/* optionalSignature [0] EXPLICIT Signature: we do not require signed requests (RFC 6960 4.1.2) and ignore it,
	 * but it must be well-formed DER. */
	if (rc.len != 0) {
		DER_GUARD(der_expect(&rc, DER_CTX(0), &t));
		if (rc.len != 0)
			return VA_ERR_INVAL;
	}
	der_enter(&tbs, &tc);
	/* version [0] EXPLICIT Version DEFAULT v1: only v1 (0) exists. */
	if (der_peek(&tc) == DER_CTX(0)) {
		struct der_cur vc;
		struct der_tlv v;

		DER_GUARD(der_next(&tc, &t));
		der_enter(&t, &vc);
		DER_GUARD(der_expect(&vc, DER_INTEGER, &v));
		if (vc.len != 0 || v.len != 1 || v.c[0] != 0)
			return VA_ERR_INVAL;
	}
	/* requestorName [1] EXPLICIT GeneralName OPTIONAL: informational only. */
	if (der_peek(&tc) == DER_CTX(1))
		DER_GUARD(der_next(&tc, &t));
	DER_GUARD(der_expect(&tc, DER_SEQUENCE, &list));
	if (der_peek(&tc) == DER_CTX(2)) {
		struct der_cur xc;
		struct der_tlv exts;

		DER_GUARD(der_next(&tc, &t));
		der_enter(&t, &xc);
		DER_GUARD(der_expect(&xc, DER_SEQUENCE, &exts));
		if (xc.len != 0)
			return VA_ERR_INVAL;
		DER_GUARD(extensions_parse(&exts, lim, req, 1));
	}
	if (tc.len != 0)
		return VA_ERR_INVAL;

	der_enter(&list, &lc);
	while (lc.len) {
		struct ocsp_certid *id;

		if (req->ncertids >= lim->max_certids || req->ncertids >= LIM_OCSP_CERTIDS_MAX)
			return VA_ERR_INVAL;
		DER_GUARD(der_expect(&lc, DER_SEQUENCE, &one));
		der_enter(&one, &qc);
		DER_GUARD(der_expect(&qc, DER_SEQUENCE, &cid));
		id = &req->certids[req->ncertids];
		DER_GUARD(certid_parse(&cid, id));
		/* singleRequestExtensions [0] EXPLICIT: none is defined that we act on; critical ones are refused. */
		if (der_peek(&qc) == DER_CTX(0)) {
			struct der_cur xc;
			struct der_tlv exts;

			DER_GUARD(der_next(&qc, &t));
			der_enter(&t, &xc);
			DER_GUARD(der_expect(&xc, DER_SEQUENCE, &exts));
			if (xc.len != 0)
				return VA_ERR_INVAL;
			DER_GUARD(extensions_parse(&exts, lim, req, 0));
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
		struct der_cur cur;
		struct der_tlv t;
		size_t len = 0;

		if (ocsp_get_decode(path + off, pathlen - off, out, outcap, &len) == 0) {
			der_init(&cur, out, len);
			if (der_expect(&cur, DER_SEQUENCE, &t) == 0 && cur.len == 0) {
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
	struct der_w w;
	uint8_t ser[DER_SERIAL_MAX];
	size_t slen, m, ma;

	if (hash < 0 || hash >= STORE_HASH_COUNT || serial->len > LIM_SERIAL_MAX)
		return VA_ERR_INVAL;
	slen = der_put_serial(ser, serial);
	/* Straight into out: a CertID that does not fit is VA_ERR_RANGE. */
	der_w_init_fixed(&w, out, outcap);
	m = der_w_begin(&w);
	ma = der_w_begin(&w);
	der_w_tlv(&w, DER_OID, hash_oids[hash].oid, hash_oids[hash].len);
	if (null_params)
		der_w_tlv(&w, DER_NULL, NULL, 0);
	der_w_end(&w, DER_SEQUENCE, ma);
	der_w_tlv(&w, DER_OCTET_STRING, name_hash, lens[hash]);
	der_w_tlv(&w, DER_OCTET_STRING, key_hash, lens[hash]);
	der_w_raw(&w, ser, slen);
	der_w_end(&w, DER_SEQUENCE, m);
	return w.err != 0 ? w.err : (int)w.len;
}
