# crlgen: CRL publisher. The encoder, verifier and publisher need only OpenSSL (unit-tested on their own).
CRL_CORE_SRCS := crlgen/cder.c crlgen/build.c crlgen/verify.c crlgen/publish.c

UNIT_TESTS += test_crl_build
test_crl_build_SRCS := $(CRL_CORE_SRCS)
