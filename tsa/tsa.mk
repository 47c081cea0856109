# tsad: RFC 3161 / RFC 5816 timestamp authority.
TSA_CORE_SRCS := tsa/request.c tsa/token.c tsa/serial.c tsa/tsaclock.c

UNIT_TESTS += test_tsa_request test_tsa_token test_tsa_serial test_tsa_clock
test_tsa_request_SRCS := $(TSA_CORE_SRCS)
test_tsa_token_SRCS := $(TSA_CORE_SRCS) tests/unit/test_tsa_util.c
test_tsa_serial_SRCS := $(TSA_CORE_SRCS)
test_tsa_clock_SRCS := $(TSA_CORE_SRCS)

FUZZERS += fuzz_tsa_request
fuzz_tsa_request_SRCS := $(TSA_CORE_SRCS) tests/unit/test_tsa_util.c
