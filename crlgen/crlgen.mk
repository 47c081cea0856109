# crlgen: CRL publisher. The encoder, verifier and publisher need only OpenSSL (unit-tested on their own).
CRL_CORE_SRCS := crlgen/build.c crlgen/verify.c crlgen/publish.c
CRL_DAEMON_SRCS := crlgen/conf.c crlgen/sign.c crlgen/delta.c crlgen/gen.c crlgen/serve.c

PROGRAMS += crlgen
crlgen_SRCS := crlgen/main.c $(CRL_CORE_SRCS) $(CRL_DAEMON_SRCS)

UNIT_TESTS += test_crl_build
test_crl_build_SRCS := $(CRL_CORE_SRCS)

UNIT_TESTS += test_crl_gen
test_crl_gen_SRCS := $(CRL_CORE_SRCS) $(CRL_DAEMON_SRCS)

FUZZERS += fuzz_crl_verify
fuzz_crl_verify_SRCS := $(CRL_CORE_SRCS)
