# common/signer: PKCS#11 (libp11) and PEM-file signing keys.
COMMON_SRCS += common/signer.c common/signer_p11.c
UNIT_TESTS += test_signer
FUZZERS += fuzz_p11_uri
