/*
 * test_tsa_request_vectors.h: TimeStampReq vectors in tt_der_asm notation ("{...}" puts the length in front),
 * with the answer tsa_request_parse gives: what clients send, what DER forbids but d2i_TS_REQ accepted, every
 * form the DER walk refuses (badDataFormat), and well-formed requests refused on a value, in RFC order.
 * Used by test_tsa_request.c (the answers) and test_tsa_request_diff.c (the same inputs against d2i_TS_REQ).
 * The answers are those for the configuration of tv_accept_init.
 */
#ifndef VA_TEST_TSA_REQUEST_VECTORS_H
#define VA_TEST_TSA_REQUEST_VECTORS_H

#include <string.h>

#include "../../tsa/request.h"

/* The configuration the answers assume: default policy .1.1, .1.2 accepted too, SHA-256/384/512. 0 or a va_err. */
static inline int tv_accept_init(struct tsa_accept *a)
{
	memset(a, 0, sizeof(*a));
	if (tsa_accept_set_policy(a, "1.3.6.1.4.1.55555.1.1") != 0 ||
	    tsa_accept_add_policy(a, "1.3.6.1.4.1.55555.1.2") != 0 || tsa_accept_add_digest(a, "sha256") != 0 ||
	    tsa_accept_add_digest(a, "sha384") != 0 || tsa_accept_add_digest(a, "sha512") != 0)
		return VA_ERR_CONFIG;
	return 0;
}

#define TV_V1 "020101 "
#define TV_OID_SHA256 "0609608648016503040201 "
#define TV_ALG "30{" TV_OID_SHA256 "0500} "
#define TV_IMPRINT "30{" TV_ALG "04{<32>}} "
#define TV_REQ(fields) "30{" TV_V1 TV_IMPRINT fields "}"
#define TV_EXT_OK "30{06022a03 04{0500}}"  /* extnID 1.2.3, not critical */

static const struct {
	const char *name;
	const char *der;
	int failure;  /* TSA_FAIL_NONE: granted */
	int cert_req; /* when granted */
} tsa_req_vectors[] = {
	/* what clients send */
	{ "minimal request", TV_REQ(""), TSA_FAIL_NONE, 0 },
	{ "parameters absent (python3-rfc3161ng)", "30{" TV_V1 "30{30{" TV_OID_SHA256 "} 04{<32>}}}", TSA_FAIL_NONE,
	  0 },
	{ "openssl ts -query -cert", TV_REQ("0209 00fbad992a7650092b 0101ff"), TSA_FAIL_NONE, 1 },
	{ "every optional field", TV_REQ("06{2b06010401 83b203 0101} 020108 0101ff a0{" TV_EXT_OK "}"),
	  TSA_FAIL_NONE, 1 },
	/* what DER forbids but d2i_TS_REQ accepted, and a client could send */
	{ "certReq explicit FALSE", TV_REQ("010100"), TSA_FAIL_NONE, 0 },
	{ "certReq 0x01 is TRUE", TV_REQ("010101"), TSA_FAIL_NONE, 1 },
	{ "critical explicit FALSE", TV_REQ("a0{30{06022a03 010100 04{0500}}}"), TSA_FAIL_NONE, 0 },
	{ "empty extensions", TV_REQ("a0{}"), TSA_FAIL_NONE, 0 },
	{ "negative nonce", TV_REQ("02028001"), TSA_FAIL_NONE, 0 },
	{ "nonce zero", TV_REQ("020100"), TSA_FAIL_NONE, 0 },
	{ "nonce of 64 octets after a sign octet", TV_REQ("02{00 <64:80>}"), TSA_FAIL_NONE, 0 },
	{ "negative nonce of 64 octets", TV_REQ("02{ff <63:00> 01}"), TSA_FAIL_NONE, 0 },

	/* not DER: badDataFormat */
	{ "non-minimal length", TV_REQ("02810108"), TSA_FAIL_BAD_DATA_FORMAT, 0 },
	{ "length with a leading zero octet", "30 82 00{" TV_V1 TV_IMPRINT "}", TSA_FAIL_BAD_DATA_FORMAT, 0 },
	{ "indefinite length", "3080 " TV_V1 TV_IMPRINT "0000", TSA_FAIL_BAD_DATA_FORMAT, 0 },
	{ "constructed hashedMessage", "30{" TV_V1 "30{" TV_ALG "24{04{<16>} 04{<16>}}}}", TSA_FAIL_BAD_DATA_FORMAT,
	  0 },
	{ "constructed extnValue", TV_REQ("a0{30{06022a03 24{04{0500}}}}"), TSA_FAIL_BAD_DATA_FORMAT, 0 },
	{ "[0] in the high-tag-number form", TV_REQ("bf00{" TV_EXT_OK "}"), TSA_FAIL_BAD_DATA_FORMAT, 0 },
	{ "non-minimal version", "30{02020001 " TV_IMPRINT "}", TSA_FAIL_BAD_DATA_FORMAT, 0 },
	{ "empty version", "30{0200 " TV_IMPRINT "}", TSA_FAIL_BAD_DATA_FORMAT, 0 },
	{ "non-minimal nonce", TV_REQ("02020008"), TSA_FAIL_BAD_DATA_FORMAT, 0 },
	{ "non-minimal negative nonce", TV_REQ("0202ff80"), TSA_FAIL_BAD_DATA_FORMAT, 0 },
	{ "empty nonce", TV_REQ("0200"), TSA_FAIL_BAD_DATA_FORMAT, 0 },
	{ "hash OID with a leading 0x80", "30{" TV_V1 "30{30{0603 2a8001 0500} 04{<32>}}}", TSA_FAIL_BAD_DATA_FORMAT,
	  0 },
	{ "hash OID cut in a subidentifier", "30{" TV_V1 "30{30{0602 2a86 0500} 04{<32>}}}", TSA_FAIL_BAD_DATA_FORMAT,
	  0 },
	{ "empty hash OID", "30{" TV_V1 "30{30{0600 0500} 04{<32>}}}", TSA_FAIL_BAD_DATA_FORMAT, 0 },
	{ "empty policy OID", TV_REQ("0600"), TSA_FAIL_BAD_DATA_FORMAT, 0 },
	{ "policy OID with a leading 0x80", TV_REQ("0603 2a8001"), TSA_FAIL_BAD_DATA_FORMAT, 0 },
	{ "empty extnID", TV_REQ("a0{30{0600 04{0500}}}"), TSA_FAIL_BAD_DATA_FORMAT, 0 },
	{ "certReq of two octets", TV_REQ("0102ffff"), TSA_FAIL_BAD_DATA_FORMAT, 0 },
	{ "empty certReq", TV_REQ("0100"), TSA_FAIL_BAD_DATA_FORMAT, 0 },
	{ "critical of two octets", TV_REQ("a0{30{06022a03 0102ffff 04{0500}}}"), TSA_FAIL_BAD_DATA_FORMAT, 0 },
	{ "NULL parameters with content", "30{" TV_V1 "30{30{" TV_OID_SHA256 "050100} 04{<32>}}}",
	  TSA_FAIL_BAD_DATA_FORMAT, 0 },
	{ "two parameters", "30{" TV_V1 "30{30{" TV_OID_SHA256 "0500 0500} 04{<32>}}}", TSA_FAIL_BAD_DATA_FORMAT, 0 },
	{ "AlgorithmIdentifier without OID", "30{" TV_V1 "30{30{0500} 04{<32>}}}", TSA_FAIL_BAD_DATA_FORMAT, 0 },
	{ "element after hashedMessage", "30{" TV_V1 "30{" TV_ALG "04{<32>} 0500}}", TSA_FAIL_BAD_DATA_FORMAT, 0 },
	{ "hashedMessage a BIT STRING", "30{" TV_V1 "30{" TV_ALG "03{00 <32>}}}", TSA_FAIL_BAD_DATA_FORMAT, 0 },
	{ "hashedMessage missing", "30{" TV_V1 "30{" TV_ALG "}}", TSA_FAIL_BAD_DATA_FORMAT, 0 },
	{ "messageImprint missing", "30{" TV_V1 "}", TSA_FAIL_BAD_DATA_FORMAT, 0 },
	{ "version missing", "30{" TV_IMPRINT "}", TSA_FAIL_BAD_DATA_FORMAT, 0 },
	{ "empty TimeStampReq", "3000", TSA_FAIL_BAD_DATA_FORMAT, 0 },
	{ "a SET, not a SEQUENCE", "31{" TV_V1 TV_IMPRINT "}", TSA_FAIL_BAD_DATA_FORMAT, 0 },
	{ "extension a SET", TV_REQ("a0{31{06022a03 04{0500}}}"), TSA_FAIL_BAD_DATA_FORMAT, 0 },
	{ "extension without extnValue", TV_REQ("a0{30{06022a03}}"), TSA_FAIL_BAD_DATA_FORMAT, 0 },
	{ "extension with a trailing element", TV_REQ("a0{30{06022a03 04{0500} 0500}}"), TSA_FAIL_BAD_DATA_FORMAT, 0 },
	{ "extensions [0] primitive", TV_REQ("80{" TV_EXT_OK "}"), TSA_FAIL_BAD_DATA_FORMAT, 0 },
	{ "extensions [1]", TV_REQ("a1{" TV_EXT_OK "}"), TSA_FAIL_BAD_DATA_FORMAT, 0 },
	{ "certReq before nonce", TV_REQ("0101ff 020108"), TSA_FAIL_BAD_DATA_FORMAT, 0 },
	{ "nonce before policy", TV_REQ("020108 06022a03"), TSA_FAIL_BAD_DATA_FORMAT, 0 },
	{ "two nonces", TV_REQ("020108 020109"), TSA_FAIL_BAD_DATA_FORMAT, 0 },
	{ "two extension lists", TV_REQ("a0{" TV_EXT_OK "} a0{" TV_EXT_OK "}"), TSA_FAIL_BAD_DATA_FORMAT, 0 },
	{ "unknown field at the end", TV_REQ("0500"), TSA_FAIL_BAD_DATA_FORMAT, 0 },
	{ "end-of-contents inside a definite length", TV_REQ("0000"), TSA_FAIL_BAD_DATA_FORMAT, 0 },
	{ "octet after the request", TV_REQ("") "00", TSA_FAIL_BAD_DATA_FORMAT, 0 },

	/* well-formed, not acceptable: the first failing rule in RFC order wins */
	{ "version 2", "30{020102 " TV_IMPRINT "}", TSA_FAIL_BAD_REQUEST, 0 },
	{ "version -1", "30{0201ff " TV_IMPRINT "}", TSA_FAIL_BAD_REQUEST, 0 },
	{ "version 257", "30{02020101 " TV_IMPRINT "}", TSA_FAIL_BAD_REQUEST, 0 },
	{ "INTEGER parameters", "30{" TV_V1 "30{30{" TV_OID_SHA256 "020105} 04{<32>}}}", TSA_FAIL_BAD_ALG, 0 },
	{ "SEQUENCE parameters", "30{" TV_V1 "30{30{" TV_OID_SHA256 "3000} 04{<32>}}}", TSA_FAIL_BAD_ALG, 0 },
	/* d2i_TS_REQ decoded parameters by type and answered badDataFormat for this one */
	{ "INTEGER parameters, not minimal", "30{" TV_V1 "30{30{" TV_OID_SHA256 "02020005} 04{<32>}}}",
	  TSA_FAIL_BAD_ALG, 0 },
	{ "sha256 OID with one more arc", "30{" TV_V1 "30{30{060a608648016503040201 01 0500} 04{<32>}}}",
	  TSA_FAIL_BAD_ALG, 0 },
	{ "sha256 OID one arc short", "30{" TV_V1 "30{30{06086086480165030402 0500} 04{<32>}}}", TSA_FAIL_BAD_ALG, 0 },
	{ "nonce magnitude of 65 octets", TV_REQ("02{<65>}"), TSA_FAIL_BAD_REQUEST, 0 },
	{ "negative nonce magnitude of 65 octets", TV_REQ("02{ff <64:00>}"), TSA_FAIL_BAD_REQUEST, 0 },
	{ "critical 0x01 is TRUE", TV_REQ("a0{30{06022a03 010101 04{0500}}}"), TSA_FAIL_UNACCEPTED_EXTENSION, 0 },
	{ "one critical among others", TV_REQ("a0{" TV_EXT_OK " 30{06022a04 0101ff 04{}} " TV_EXT_OK "}"),
	  TSA_FAIL_UNACCEPTED_EXTENSION, 0 },
	{ "version before algorithm", "30{020102 30{30{06022a03} 04{<32>}}}", TSA_FAIL_BAD_REQUEST, 0 },
	{ "algorithm before policy", "30{" TV_V1 "30{30{06022a03} 04{<32>}} 06022a03}", TSA_FAIL_BAD_ALG, 0 },
	{ "policy before nonce", TV_REQ("06022a03 02{<65>}"), TSA_FAIL_UNACCEPTED_POLICY, 0 },
	{ "nonce before extensions", TV_REQ("02{<65>} a0{30{06022a03 0101ff 04{}}}"), TSA_FAIL_BAD_REQUEST, 0 },
	{ "format before everything", "30{020102 30{30{06022a03} 04{<32>}} a0{30{}}}", TSA_FAIL_BAD_DATA_FORMAT, 0 },
};

#endif
