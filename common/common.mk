COMMON_SRCS += common/err.c common/clock.c common/log.c
# common/der.c: the DER codec shared by ocspd, tsad and crlgen.
COMMON_SRCS += common/der.c
UNIT_TESTS += test_der
