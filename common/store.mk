# common/store: the LMDB revocation store (store.h).
COMMON_SRCS += common/store.c common/store_serial.c common/store_codec.c common/store_issuer.c common/store_cert.c \
	common/store_revidx.c
UNIT_TESTS += test_store
test_store_SRCS := tests/unit/test_store_lib.c
UNIT_TESTS += test_store_proc
test_store_proc_SRCS := tests/unit/test_store_lib.c
