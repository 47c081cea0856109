# common/http.mk: HTTP wrapper, Prometheus metrics, configuration file.
COMMON_SRCS += common/http.c common/metrics.c common/config.c
UNIT_TESTS += test_config test_metrics test_http
FUZZERS += fuzz_config
