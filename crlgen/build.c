/*
 * build.c: streaming DER encoder of a signed CRL (RFC 5280 5.1).
 *
 * Why two passes: the TBSCertList starts with the length of everything in it, and revokedCertificates with the
 * length of all the entries. Holding the entries to learn that (10^6 entries: ~32 MB, and a copy) is what makes
 * `openssl ca -gencrl` slow and big. Pass 1 encodes each entry into a small stack buffer and only adds up the
 * lengths; pass 2 encodes them again and streams them to the file and the digest. A fingerprint of the bytes of
 * both passes must match, so a source that changed in between (a revocation committed between the two store
 * read transactions) is detected and the build is retried by the caller, never published inconsistent.
 *
 * The outer CertificateList header depends on the signature's length, known only after signing (ECDSA varies by
 * a few octets): room for the header of the longest possible signature is left at the start of the file and the
 * real header is written there at the end; when the real header is shorter (only when the total length sits next
 * to a length-of-length boundary) the body is moved down by the difference.
 */
#include "crl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "der.h"

/* Encoded OID contents. */
static const uint8_t OID_REASON[] = { 0x55, 0x1d, 0x15 };        /* 2.5.29.21 cRLReason */
static const uint8_t OID_INVALIDITY[] = { 0x55, 0x1d, 0x18 };    /* 2.5.29.24 invalidityDate */
static const uint8_t OID_CRL_NUMBER[] = { 0x55, 0x1d, 0x14 };    /* 2.5.29.20 cRLNumber */
static const uint8_t OID_DELTA[] = { 0x55, 0x1d, 0x1b };         /* 2.5.29.27 deltaCRLIndicator */
static const uint8_t OID_IDP[] = { 0x55, 0x1d, 0x1c };           /* 2.5.29.28 issuingDistributionPoint */
static const uint8_t OID_AKID[] = { 0x55, 0x1d, 0x23 };          /* 2.5.29.35 authorityKeyIdentifier */
static const uint8_t OID_FRESHEST[] = { 0x55, 0x1d, 0x2e };      /* 2.5.29.46 freshestCRL */

/* Extension ::= SEQUENCE { extnID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING } (RFC 5280 4.1).
 * DER leaves out a FALSE critical (X.690 11.5: default values are not encoded). */
static size_t put_ext(uint8_t *out, const uint8_t *oid, size_t oidlen, int critical, const uint8_t *val,
		      size_t vallen)
{
	size_t inner = der_tlv_size(oidlen) + (critical ? 3 : 0) + der_tlv_size(vallen);
	size_t n = der_put_hdr(out, DER_SEQUENCE, inner);

	n += der_put_tlv(out + n, DER_OID, oid, oidlen);
	if (critical) {
		out[n++] = DER_BOOLEAN;
		out[n++] = 1;
		out[n++] = 0xff;
	}
	n += der_put_tlv(out + n, DER_OCTET_STRING, val, vallen);
	return n;
}

/* Entry header, serial, time, then extensions: SEQUENCE header, reasonCode (12 octets), invalidityDate (26: 2 for
 * the SEQUENCE, 5 for the OID, 2 for the OCTET STRING, 17 for the GeneralizedTime). */
_Static_assert(2 + DER_SERIAL_MAX + DER_TIME_MAX + 2 + 12 + 26 <= CRL_ENTRY_DER_MAX, "entry buffer too small");

/* The last revocationDate encoded: revocations come in batches sharing a time. */
struct time_cache {
	int64_t t;
	size_t len; /* 0: empty */
	uint8_t der[DER_TIME_MAX];
};

/* One revokedCertificates entry (RFC 5280 5.1.2.6) into out (CRL_ENTRY_DER_MAX octets). Returns its length or
 * 0 when a time or the serial cannot be encoded. */
static size_t entry_encode(uint8_t *out, const struct crl_entry *e, struct time_cache *tc)
{
	uint8_t body[CRL_ENTRY_DER_MAX], exts[96], val[DER_TIME_MAX];
	size_t n = 0, x = 0, t;

	n = der_put_serial(body, &e->serial);
	if (n == 0)
		return 0; /* longer than LIM_SERIAL_MAX: the store refuses those, never emit an entry without one */
	if (tc->len == 0 || tc->t != e->revoked_at) {
		tc->len = der_put_time(tc->der, e->revoked_at, 0);
		tc->t = e->revoked_at;
		if (tc->len == 0)
			return 0;
	}
	memcpy(body + n, tc->der, tc->len);
	n += tc->len;
	if (e->reason >= 0) {
		/* CRLReason ::= ENUMERATED; "unspecified" is not passed in (RFC 5280 5.3.1 SHOULD). */
		val[0] = DER_ENUMERATED;
		val[1] = 1;
		val[2] = (uint8_t)e->reason;
		x += put_ext(exts + x, OID_REASON, sizeof(OID_REASON), 0, val, 3);
	}
	if (e->invalidity != 0) {
		/* RFC 5280 5.3.2: invalidityDate is a GeneralizedTime whatever the year. */
		t = der_put_time(val, e->invalidity, 1);
		if (t == 0)
			return 0;
		x += put_ext(exts + x, OID_INVALIDITY, sizeof(OID_INVALIDITY), 0, val, t);
	}
	if (x > 0)
		n += der_put_tlv(body + n, DER_SEQUENCE, exts, x);
	return der_put_tlv(out, DER_SEQUENCE, body, n);
}

/* Pass state shared by both passes. */
struct pass {
	uint64_t count;
	uint64_t bytes;
	uint64_t fp;     /* fingerprint of the encoded entries */
	int bad_entry;
	struct time_cache tc;
	struct writer *w; /* pass 2 only */
};

static uint64_t fp_mix(uint64_t h, const uint8_t *p, size_t n)
{
	/* Not cryptographic: it only has to notice that a concurrent writer changed an entry between the passes. */
	uint64_t w;

	h ^= n;
	while (n >= 8) {
		memcpy(&w, p, 8);
		h = (h ^ w) * 0x100000001b3ULL;
		h ^= h >> 29;
		p += 8;
		n -= 8;
	}
	w = 0;
	memcpy(&w, p, n);
	h = (h ^ w) * 0x100000001b3ULL;
	return h ^ (h >> 29);
}

/* Buffered output that feeds the digest with the bytes written while hashing is on. */
struct writer {
	int fd;
	uint8_t *buf;
	size_t used;
	size_t hstart;
	int hashing;
	EVP_MD_CTX *md;
	uint64_t off;   /* bytes handed to write(2) so far */
	int err;
};

static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return VA_ERR_IO;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int w_flush(struct writer *w)
{
	if (w->err != 0)
		return w->err;
	if (w->hashing && w->used > w->hstart && EVP_DigestUpdate(w->md, w->buf + w->hstart, w->used - w->hstart) != 1)
		w->err = VA_ERR_CRYPTO;
	else
		w->err = write_all(w->fd, w->buf, w->used);
	w->off += w->used;
	w->used = 0;
	w->hstart = 0;
	return w->err;
}

static int w_put(struct writer *w, const uint8_t *p, size_t n)
{
	if (w->err != 0)
		return w->err;
	if (w->used + n > CRL_IO_BUF && w_flush(w) != 0)
		return w->err;
	if (n > CRL_IO_BUF)
		return w->err = VA_ERR_INVAL;
	memcpy(w->buf + w->used, p, n);
	w->used += n;
	return 0;
}

static void w_hash(struct writer *w, int on)
{
	if (!on && w->hashing && w->err == 0 && w->used > w->hstart &&
	    EVP_DigestUpdate(w->md, w->buf + w->hstart, w->used - w->hstart) != 1)
		w->err = VA_ERR_CRYPTO;
	w->hashing = on;
	w->hstart = w->used;
}

/* One callback for both passes: pass 1 (w NULL) measures and fingerprints, pass 2 also writes. */
static int pass_emit(void *ctx, const struct crl_entry *e)
{
	struct pass *ps = ctx;
	uint8_t der[CRL_ENTRY_DER_MAX];
	size_t n = entry_encode(der, e, &ps->tc);

	if (n == 0) {
		ps->bad_entry = 1;
		return VA_ERR_RANGE;
	}
	ps->count++;
	ps->bytes += n;
	ps->fp = fp_mix(ps->fp, der, n);
	return ps->w != NULL ? w_put(ps->w, der, n) : 0;
}

/* DistributionPointName fullName with one URI: [0] { [0] { [6] uri } } (RFC 5280 4.2.1.13). */
static size_t put_dpname_uri(uint8_t *out, const char *uri)
{
	size_t ul = strlen(uri);
	size_t gn = der_tlv_size(ul);
	size_t n = der_put_hdr(out, DER_CTX(0), der_tlv_size(gn));

	n += der_put_hdr(out + n, DER_CTX(0), gn);
	n += der_put_tlv(out + n, DER_CTX_PRIM(6), (const uint8_t *)uri, ul);
	return n;
}

#define EXT_BUF (4 * CRL_URI_MAX + 512)

/* crlExtensions [0] EXPLICIT Extensions (RFC 5280 5.2) into out (EXT_BUF octets); returns the [0] TLV length. */
static size_t put_crl_exts(uint8_t *out, const struct crl_params *p)
{
	uint8_t exts[EXT_BUF], val[EXT_BUF / 2], tmp[EXT_BUF / 2];
	size_t x = 0, n, t;

	/* RFC 5280 5.2.1: authorityKeyIdentifier MUST be included; keyIdentifier [0] IMPLICIT OCTET STRING. */
	if (p->akid_len > 0) {
		t = der_put_tlv(tmp, DER_CTX_PRIM(0), p->akid, p->akid_len);
		n = der_put_tlv(val, DER_SEQUENCE, tmp, t);
		x += put_ext(exts + x, OID_AKID, sizeof(OID_AKID), 0, val, n);
	}
	/* RFC 5280 5.2.3: cRLNumber MUST be included, non-critical. */
	n = der_put_uint(val, DER_INTEGER, p->number);
	x += put_ext(exts + x, OID_CRL_NUMBER, sizeof(OID_CRL_NUMBER), 0, val, n);
	if (p->is_delta) {
		/* RFC 5280 5.2.4: deltaCRLIndicator is critical and names the base CRL's number. */
		n = der_put_uint(val, DER_INTEGER, p->base_number);
		x += put_ext(exts + x, OID_DELTA, sizeof(OID_DELTA), 1, val, n);
	}
	if (p->idp_uri != NULL) {
		/* RFC 5280 5.2.5: critical; the same in the delta CRLs of this scope. */
		t = put_dpname_uri(tmp, p->idp_uri);
		n = der_put_tlv(val, DER_SEQUENCE, tmp, t);
		x += put_ext(exts + x, OID_IDP, sizeof(OID_IDP), 1, val, n);
	}
	if (p->freshest_uri != NULL && !p->is_delta) {
		/* RFC 5280 5.2.6: non-critical, and MUST NOT appear in delta CRLs. CRLDistributionPoints syntax:
		 * SEQUENCE OF DistributionPoint { [0] DistributionPointName }. */
		t = put_dpname_uri(val, p->freshest_uri);
		n = der_put_tlv(tmp, DER_SEQUENCE, val, t);
		n = der_put_tlv(val, DER_SEQUENCE, tmp, n);
		x += put_ext(exts + x, OID_FRESHEST, sizeof(OID_FRESHEST), 0, val, n);
	}
	/* [0] { SEQUENCE { exts } }: header sizes are at most DER_HDR_MAX each. */
	n = der_put_hdr(out, DER_CTX(0), der_tlv_size(x));
	n += der_put_tlv(out + n, DER_SEQUENCE, exts, x);
	return n;
}

/* Moves the body down by `gap` octets after a shorter-than-reserved outer header. */
static int shift_down(int fd, uint64_t from, uint64_t gap, uint64_t end, uint8_t *buf)
{
	uint64_t pos = from;

	while (pos < end) {
		size_t chunk = end - pos > CRL_IO_BUF ? CRL_IO_BUF : (size_t)(end - pos);
		ssize_t r = pread(fd, buf, chunk, (off_t)pos);
		if (r <= 0)
			return VA_ERR_IO;
		ssize_t w = pwrite(fd, buf, (size_t)r, (off_t)(pos - gap));
		if (w != r)
			return VA_ERR_IO;
		pos += (uint64_t)r;
	}
	if (ftruncate(fd, (off_t)(end - gap)) != 0)
		return VA_ERR_IO;
	return 0;
}

int crl_build(const struct crl_params *p, crl_source_fn src, void *src_arg, const struct crl_sign_ops *sig, int fd,
	      struct crl_result *res)
{
	struct pass p1 = { 0 }, p2 = { 0 };
	struct writer w = { .fd = fd };
	uint8_t head[256], exts[EXT_BUF], sigbuf[CRL_SIG_MAX + 1], dgst[EVP_MAX_MD_SIZE];
	uint8_t hdr[DER_HDR_MAX];
	size_t n, extlen, siglen = 0;
	unsigned dlen = 0;
	int rc;

	if (p->issuer_name_len > CRL_SMALL_MAX || p->akid_len > 64 || sig->max_sig > CRL_SIG_MAX ||
	    sig->alg_len > CRL_ALG_MAX || sig->alg_len == 0 ||
	    (p->idp_uri != NULL && strlen(p->idp_uri) > CRL_URI_MAX) ||
	    (p->freshest_uri != NULL && strlen(p->freshest_uri) > CRL_URI_MAX))
		return VA_ERR_INVAL;

	/* Pass 1: lengths only. */
	rc = src(src_arg, pass_emit, &p1);
	if (rc != 0)
		return p1.bad_entry ? VA_ERR_RANGE : rc;

	/* The fixed parts: version v2 (RFC 5280 5.1.2.1: MUST be v2 when extensions are used), signature, issuer,
	 * thisUpdate, nextUpdate. */
	uint8_t times[2 * DER_TIME_MAX];
	size_t tl = der_put_time(times, p->this_update, 0);
	size_t nl = tl == 0 ? 0 : der_put_time(times + tl, p->next_update, 0);
	if (tl == 0 || nl == 0)
		return VA_ERR_RANGE;
	extlen = put_crl_exts(exts, p);
	uint64_t revoked_tlv = p1.count > 0 ? 1 + der_len_size(p1.bytes) + p1.bytes : 0;
	uint64_t tbs_content = 3 + sig->alg_len + p->issuer_name_len + tl + nl + revoked_tlv + extlen;
	uint64_t tbs_tlv = 1 + der_len_size(tbs_content) + tbs_content;
	uint64_t body_max = tbs_tlv + sig->alg_len + der_tlv_size(1 + sig->max_sig);
	if (body_max > 0xffffffffULL - DER_HDR_MAX)
		return VA_ERR_RANGE;
	size_t reserved = 1 + der_len_size(body_max);

	w.buf = malloc(CRL_IO_BUF);
	w.md = EVP_MD_CTX_new();
	if (w.buf == NULL || w.md == NULL) {
		rc = VA_ERR_NOMEM;
		goto out;
	}
	if (EVP_DigestInit_ex(w.md, sig->md, NULL) != 1) {
		rc = VA_ERR_CRYPTO;
		goto out;
	}
	memset(head, 0, reserved);
	if ((rc = w_put(&w, head, reserved)) != 0)
		goto out;

	/* Pass 2: TBS bytes into the file and the digest. */
	w_hash(&w, 1);
	n = der_put_hdr(head, DER_SEQUENCE, tbs_content);
	head[n++] = DER_INTEGER;
	head[n++] = 1;
	head[n++] = 1; /* v2 */
	if ((rc = w_put(&w, head, n)) != 0 || (rc = w_put(&w, sig->alg, sig->alg_len)) != 0 ||
	    (rc = w_put(&w, p->issuer_name, p->issuer_name_len)) != 0 || (rc = w_put(&w, times, tl + nl)) != 0)
		goto out;
	if (p1.count > 0) {
		n = der_put_hdr(head, DER_SEQUENCE, p1.bytes);
		if ((rc = w_put(&w, head, n)) != 0)
			goto out;
	}
	p2.w = &w;
	rc = src(src_arg, pass_emit, &p2);
	if (rc != 0) {
		rc = p2.bad_entry ? VA_ERR_RANGE : rc;
		goto out;
	}
	if (p2.count != p1.count || p2.bytes != p1.bytes || p2.fp != p1.fp) {
		rc = VA_ERR_CONFLICT;
		goto out;
	}
	if ((rc = w_put(&w, exts, extlen)) != 0)
		goto out;
	w_hash(&w, 0);
	if (w.err != 0) {
		rc = w.err;
		goto out;
	}
	if (EVP_DigestFinal_ex(w.md, dgst, &dlen) != 1) {
		rc = VA_ERR_CRYPTO;
		goto out;
	}
	/* RFC 5280 5.1.1.3: the signature is computed over the DER-encoded tbsCertList. */
	if ((rc = sig->sign(sig->arg, dgst, dlen, sigbuf + 1, &siglen)) != 0)
		goto out;
	if (siglen == 0 || siglen > sig->max_sig) {
		rc = VA_ERR_SIGNER;
		goto out;
	}
	sigbuf[0] = 0; /* BIT STRING: no unused bits */
	n = der_put_hdr(head, DER_BIT_STRING, siglen + 1);
	if ((rc = w_put(&w, sig->alg, sig->alg_len)) != 0 || (rc = w_put(&w, head, n)) != 0 ||
	    (rc = w_put(&w, sigbuf, siglen + 1)) != 0 || (rc = w_flush(&w)) != 0)
		goto out;

	uint64_t body = tbs_tlv + sig->alg_len + der_tlv_size(siglen + 1);
	size_t h = der_put_hdr(hdr, DER_SEQUENCE, body);
	if (w.off != reserved + body) {
		rc = VA_ERR_INVAL; /* an internal length computation is off: never publish that */
		goto out;
	}
	if (h < reserved && (rc = shift_down(fd, reserved, reserved - h, w.off, w.buf)) != 0)
		goto out;
	if (pwrite(fd, hdr, h, 0) != (ssize_t)h) {
		rc = VA_ERR_IO;
		goto out;
	}
	if (res != NULL) {
		res->entries = p1.count;
		res->tbs_len = tbs_tlv;
		res->file_len = h + body;
	}
	rc = 0;
out:
	EVP_MD_CTX_free(w.md);
	free(w.buf);
	return rc;
}
