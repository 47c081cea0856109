COMMON_SRCS += common/err.c common/clock.c common/log.c
# shutdown.c: signals, the main thread's loop and the bounded end of the daemons.
COMMON_SRCS += common/shutdown.c
UNIT_TESTS += test_shutdown
# common/der.c: the DER codec shared by ocspd, tsad and crlgen.
COMMON_SRCS += common/der.c
UNIT_TESTS += test_der
