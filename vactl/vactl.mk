# vactl, the operator's tool. index.c and vtime.c are also linked into the index parser's unit test.
VACTL_LIB_SRCS := vactl/index.c vactl/vtime.c
PROGRAMS += vactl
vactl_SRCS := vactl/main.c vactl/util.c vactl/cert.c vactl/cmd_ca.c vactl/cmd_import.c vactl/cmd_revoke.c \
	vactl/cmd_query.c vactl/cmd_admin.c vactl/confcheck.c $(VACTL_LIB_SRCS)
UNIT_TESTS += test_vactl_index
test_vactl_index_SRCS := $(VACTL_LIB_SRCS)
FUZZERS += fuzz_vactl_index
fuzz_vactl_index_SRCS := $(VACTL_LIB_SRCS)
