/*
 * test_tsa_util.c: helpers for the tsa unit tests.
 */
#include "test_tsa_util.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/rand.h>
#include <openssl/ts.h>
#include <openssl/x509v3.h>

static EVP_PKEY *make_key(int type)
{
	if (type == EVP_PKEY_RSA)
		return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
}

static int add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (ext == NULL)
		return 0;
	ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok;
}

/* Extra OU entries of 60 characters each in the names made below: long names take the builders' heap paths. */
static int tt_extra_ous;

static X509 *make_cert(const char *cn, long serial, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key)
{
	X509 *x = X509_new();
	X509_NAME *name = X509_NAME_new();

	for (int i = 0; i < tt_extra_ous; i++) {
		char ou[61];

		memset(ou, 'a' + i % 26, 60);
		ou[60] = '\0';
		X509_NAME_add_entry_by_txt(name, "OU", MBSTRING_ASC, (const unsigned char *)ou, -1, -1, 0);
	}

	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400L * 365);
	X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)"VA test", -1, -1, 0);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_subject_name(x, name);
	X509_set_issuer_name(x, issuer != NULL ? X509_get_subject_name(issuer) : name);
	X509_NAME_free(name);
	X509_set_pubkey(x, key);
	return x;
}

int tt_pki_init_long_names(struct tt_pki *p, int key_type, int ous)
{
	int rc;

	tt_extra_ous = ous;
	rc = tt_pki_init(p, key_type, 1);
	tt_extra_ous = 0;
	return rc;
}

int tt_pki_init(struct tt_pki *p, int key_type, int eku_critical)
{
	memset(p, 0, sizeof(*p));
	p->ca_key = make_key(EVP_PKEY_EC);
	p->key = make_key(key_type);
	if (p->ca_key == NULL || p->key == NULL)
		return -1;
	p->ca = make_cert("Test Root", 1, p->ca_key, NULL, NULL);
	if (!add_ext(p->ca, p->ca, NID_basic_constraints, "critical,CA:TRUE") ||
	    !add_ext(p->ca, p->ca, NID_key_usage, "critical,keyCertSign,cRLSign") ||
	    !add_ext(p->ca, p->ca, NID_subject_key_identifier, "hash") ||
	    X509_sign(p->ca, p->ca_key, EVP_sha256()) <= 0)
		return -1;
	p->cert = make_cert("Test TSA", 2, p->key, p->ca, p->ca_key);
	if (!add_ext(p->cert, p->ca, NID_ext_key_usage, eku_critical ? "critical,timeStamping" : "timeStamping") ||
	    !add_ext(p->cert, p->ca, NID_key_usage, "critical,digitalSignature") ||
	    !add_ext(p->cert, p->ca, NID_authority_key_identifier, "keyid") ||
	    X509_sign(p->cert, p->ca_key, EVP_sha256()) <= 0)
		return -1;
	p->chain = sk_X509_new_null();
	if (p->chain == NULL || !X509_up_ref(p->ca) || !sk_X509_push(p->chain, p->ca))
		return -1;
	return 0;
}

X509 *tt_cert_with_eku(const struct tt_pki *p, const char *eku, const char *eku2)
{
	X509 *x = make_cert("Test TSA variant", 3, p->key, p->ca, p->ca_key);

	if ((eku != NULL && !add_ext(x, p->ca, NID_ext_key_usage, eku)) ||
	    (eku2 != NULL && !add_ext(x, p->ca, NID_ext_key_usage, eku2)) ||
	    X509_sign(x, p->ca_key, EVP_sha256()) <= 0) {
		X509_free(x);
		return NULL;
	}
	return x;
}

void tt_pki_clear(struct tt_pki *p)
{
	EVP_PKEY_free(p->ca_key);
	EVP_PKEY_free(p->key);
	X509_free(p->ca);
	X509_free(p->cert);
	sk_X509_pop_free(p->chain, X509_free);
	memset(p, 0, sizeof(*p));
}

int tt_sign(void *arg, const EVP_MD *md, const uint8_t *data, size_t len, uint8_t *sig, size_t *siglen)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int rc = -10;

	if (ctx != NULL && EVP_DigestSignInit(ctx, NULL, md, NULL, arg) == 1 &&
	    EVP_DigestSign(ctx, sig, siglen, data, len) == 1)
		rc = 0;
	EVP_MD_CTX_free(ctx);
	return rc;
}

int tt_sig_alg_der(EVP_PKEY *key, uint8_t *out, size_t outlen)
{
	X509_ALGOR *alg = X509_ALGOR_new();
	int sig_nid, n = -1, is_rsa = EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA;
	unsigned char *p = out;

	if (alg != NULL && OBJ_find_sigid_by_algs(&sig_nid, NID_sha256, EVP_PKEY_get_base_id(key)) &&
	    X509_ALGOR_set0(alg, OBJ_nid2obj(sig_nid), is_rsa ? V_ASN1_NULL : V_ASN1_UNDEF, NULL)) {
		n = i2d_X509_ALGOR(alg, NULL);
		if (n <= 0 || (size_t)n > outlen || i2d_X509_ALGOR(alg, &p) != n)
			n = -1;
	}
	X509_ALGOR_free(alg);
	return n;
}

int tt_make_request(const EVP_MD *md, uint64_t nonce, int cert_req, const char *policy, uint8_t **der,
		    size_t *len)
{
	TS_REQ *req = TS_REQ_new();
	TS_MSG_IMPRINT *mi = TS_MSG_IMPRINT_new();
	X509_ALGOR *alg = X509_ALGOR_new();
	unsigned char hash[EVP_MAX_MD_SIZE];
	int n, rc = -1;

	RAND_bytes(hash, sizeof(hash));
	X509_ALGOR_set_md(alg, md);
	TS_MSG_IMPRINT_set_algo(mi, alg);
	TS_MSG_IMPRINT_set_msg(mi, hash, EVP_MD_get_size(md));
	TS_REQ_set_version(req, 1);
	TS_REQ_set_msg_imprint(req, mi);
	if (nonce != 0) {
		ASN1_INTEGER *ai = ASN1_INTEGER_new();

		ASN1_INTEGER_set_uint64(ai, nonce);
		TS_REQ_set_nonce(req, ai);
		ASN1_INTEGER_free(ai);
	}
	if (policy != NULL) {
		ASN1_OBJECT *o = OBJ_txt2obj(policy, 1);

		TS_REQ_set_policy_id(req, o);
		ASN1_OBJECT_free(o);
	}
	TS_REQ_set_cert_req(req, cert_req);
	*der = NULL;
	n = i2d_TS_REQ(req, der);
	if (n > 0) {
		*len = (size_t)n;
		rc = 0;
	}
	X509_ALGOR_free(alg);
	TS_MSG_IMPRINT_free(mi);
	TS_REQ_free(req);
	return rc;
}

int tt_verify(const struct tt_pki *p, const uint8_t *req, size_t req_len, const uint8_t *resp, size_t resp_len)
{
	const unsigned char *q = req, *r = resp;
	TS_REQ *treq = d2i_TS_REQ(NULL, &q, (long)req_len);
	TS_RESP *tresp = d2i_TS_RESP(NULL, &r, (long)resp_len);
	TS_VERIFY_CTX *ctx = NULL;
	X509_STORE *store = X509_STORE_new();
	STACK_OF(X509) *untrusted = sk_X509_new_null();
	int ok = 0;

	if (treq == NULL || tresp == NULL || store == NULL || untrusted == NULL)
		goto out;
	ctx = TS_REQ_to_TS_VERIFY_CTX(treq, NULL);
	if (ctx == NULL)
		goto out;
	X509_STORE_add_cert(store, p->ca);
	X509_up_ref(p->cert);
	sk_X509_push(untrusted, p->cert);
	TS_VERIFY_CTX_set_store(ctx, store);
	store = NULL;
	TS_VERIFY_CTS_set_certs(ctx, untrusted);
	untrusted = NULL;
	TS_VERIFY_CTX_add_flags(ctx, TS_VFY_SIGNER | TS_VFY_SIGNATURE);
	ok = TS_RESP_verify_response(ctx, tresp) == 1;
out:
	if (!ok)
		ERR_print_errors_fp(stderr);
	TS_VERIFY_CTX_free(ctx);
	X509_STORE_free(store);
	sk_X509_pop_free(untrusted, X509_free);
	TS_RESP_free(tresp);
	TS_REQ_free(treq);
	return ok;
}

/* One level of tt_der_asm: up to the matching '}' (depth > 0) or the end of the text. */
static int asm_level(const char **s, int depth, uint8_t *out, size_t cap, size_t *len)
{
	size_t n = 0;

	for (;;) {
		char c = **s;

		if (c == '\0' || c == '}') {
			if ((c == '}') != (depth > 0))
				return -1;
			if (c == '}')
				(*s)++;
			*len = n;
			return 0;
		}
		(*s)++;
		if (c == ' ' || c == '\n' || c == '\t') {
			continue;
		} else if (c == '{') {
			uint8_t *inner = malloc(16384), hdr[8];
			size_t ilen = 0, h = 0;
			int rc = inner == NULL ? -1 : asm_level(s, depth + 1, inner, 16384, &ilen);

			/* the definite length in the fewest octets (X.690 10.1) */
			if (rc == 0 && ilen < 0x80) {
				hdr[h++] = (uint8_t)ilen;
			} else if (rc == 0) {
				size_t nb = ilen > 0xffff ? 3 : ilen > 0xff ? 2 : 1;

				hdr[h++] = (uint8_t)(0x80 | nb);
				while (nb-- > 0)
					hdr[h++] = (uint8_t)(ilen >> (8 * nb));
			}
			if (rc != 0 || n + h + ilen > cap) {
				free(inner);
				return -1;
			}
			memcpy(out + n, hdr, h);
			memcpy(out + n + h, inner, ilen);
			n += h + ilen;
			free(inner);
		} else if (c == '<') {
			char *end;
			unsigned long count = strtoul(*s, &end, 10), fill = 0x11;

			if (*end == ':')
				fill = strtoul(end + 1, &end, 16);
			if (*end != '>' || n + count > cap)
				return -1;
			memset(out + n, (int)fill, count);
			n += count;
			*s = end + 1;
		} else {
			char hex[3] = { c, **s, '\0' };
			char *end;
			unsigned long v = strtoul(hex, &end, 16);

			if (end != hex + 2 || n >= cap)
				return -1;
			out[n++] = (uint8_t)v;
			(*s)++;
		}
	}
}

int tt_der_asm(const char *spec, uint8_t *out, size_t cap)
{
	size_t len = 0;

	if (asm_level(&spec, 0, out, cap, &len) != 0)
		return -1;
	return (int)len;
}
