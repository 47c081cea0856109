# ocsp/ocsp.mk: ocspd, the OCSP responder (RFC 6960, RFC 5019, RFC 8954), its unit tests and fuzz target.
OCSP_PROTO_SRCS := ocsp/request.c ocsp/response.c ocsp/ca.c ocsp/cache.c
OCSP_SRCS := $(OCSP_PROTO_SRCS) ocsp/conf.c ocsp/responder.c ocsp/serve.c

# ocspd links the store: registered once common/store.mk provides it.
ifneq ($(filter common/store.c,$(COMMON_SRCS)),)
PROGRAMS += ocspd
ocspd_SRCS := ocsp/main.c $(OCSP_SRCS)
endif

UNIT_TESTS += test_ocsp_request test_ocsp_response test_ocsp_cache test_ocsp_responder
test_ocsp_request_SRCS := ocsp/request.c
test_ocsp_response_SRCS := ocsp/request.c ocsp/response.c ocsp/ca.c
test_ocsp_cache_SRCS := ocsp/cache.c
test_ocsp_responder_SRCS := $(OCSP_SRCS)

FUZZERS += fuzz_ocsp_request
fuzz_ocsp_request_SRCS := ocsp/request.c
