COMMON_SRCS += common/err.c common/clock.c common/log.c
