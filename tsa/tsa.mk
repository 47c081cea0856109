# tsad: RFC 3161 / RFC 5816 timestamp authority.
TSA_CORE_SRCS := tsa/request.c tsa/token.c tsa/serial.c tsa/tsaclock.c

UNIT_TESTS += test_tsa_request test_tsa_token test_tsa_serial test_tsa_clock
test_tsa_request_SRCS := $(TSA_CORE_SRCS) tests/unit/test_tsa_util.c
test_tsa_token_SRCS := $(TSA_CORE_SRCS) tests/unit/test_tsa_util.c
test_tsa_serial_SRCS := $(TSA_CORE_SRCS)
test_tsa_clock_SRCS := $(TSA_CORE_SRCS)

FUZZERS += fuzz_tsa_request
fuzz_tsa_request_SRCS := $(TSA_CORE_SRCS) tests/unit/test_tsa_util.c

# tsad links the store, signer, config and http layers: registered once they are in the build.
ifeq ($(words $(filter common/store.c common/signer.c common/http.c common/config.c,$(COMMON_SRCS))),4)
PROGRAMS += tsad
tsad_SRCS := tsa/main.c tsa/tsad.c $(TSA_CORE_SRCS)
UNIT_TESTS += test_tsa_cert
test_tsa_cert_SRCS := tsa/tsad.c $(TSA_CORE_SRCS) tests/unit/test_tsa_util.c
endif

UNIT_TESTS += test_tsa_request_diff
test_tsa_request_diff_SRCS := $(TSA_CORE_SRCS) tests/unit/test_tsa_util.c
