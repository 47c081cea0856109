# Validation authority: ocspd, tsad, crlgen, vactl. Plain Makefile; every library through pkg-config.
#
#   make            build bin/ocspd bin/tsad bin/crlgen bin/vactl (and libva.a)
#   make test       install missing deps, build with -Werror, run every unit and integration test
#   make asan       the unit and integration tests under -fsanitize=address,undefined
#   make run        install missing deps, build, create the demo PKI + SoftHSM2 token, start the services
#   make bench      benchmarks against the peers; figures go to perf/RESULTS.md
#   make install    PREFIX=/usr/local DESTDIR=
#
# Each directory lists its own objects in its module.mk; this file holds the rules.

CC ?= gcc
PREFIX ?= /usr/local
DESTDIR ?=
BUILD ?= build
BIN ?= bin
WERROR ?=
SAN ?=
OPT ?= -O2

PKGS := openssl libmicrohttpd lmdb libconfig libp11
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CMOCKA_LIBS := $(shell pkg-config --libs cmocka 2>/dev/null)

WARN := -Wall -Wextra -Wformat=2 -Wshadow -Wpointer-arith -Wmissing-prototypes -Wstrict-prototypes \
	-Wvla -Wno-unused-parameter
ifeq ($(SAN),1)
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
OPT := -O1
endif
# Fuzz build (clang + libFuzzer): objects instrumented, targets linked with the fuzzer's main.
ifeq ($(SAN),fuzz)
CC := clang
SANFLAGS := -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer
FUZZ_LINK := -fsanitize=fuzzer,address,undefined
OPT := -O1
endif
CPPFLAGS += -D_GNU_SOURCE -iquote common
CFLAGS ?= $(OPT) -g
ALL_CFLAGS := -std=c17 $(WARN) $(WERROR) $(SANFLAGS) -pthread -MMD -MP $(PKG_CFLAGS) $(CFLAGS)
LDLIBS_ALL := $(PKG_LIBS) -lpthread
ALL_LDFLAGS := $(SANFLAGS) -pthread $(LDFLAGS)

# Filled by the module.mk files.
COMMON_SRCS :=
PROGRAMS :=
UNIT_TESTS :=

FUZZERS :=
BENCHES :=
TEST_TOOLS :=

# Every module owns its fragments (common/store.mk, ocsp/ocsp.mk, ...): they append to the lists above.
include $(sort $(wildcard common/*.mk vactl/*.mk ocsp/*.mk tsa/*.mk crlgen/*.mk tests/*.mk perf/*.mk))

COMMON_OBJS := $(COMMON_SRCS:%.c=$(BUILD)/%.o)
LIBVA := $(BUILD)/libva.a

# benches are built by check so they never rot.
.PHONY: benches all test check asan run bench install clean deps deps-test fuzzers fuzz-build
all: $(PROGRAMS:%=$(BIN)/%)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

$(LIBVA): $(COMMON_OBJS)
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^

# Each program P lists its objects in P_SRCS (module.mk).
define program_rule
$(BIN)/$(1): $$($(1)_SRCS:%.c=$(BUILD)/%.o) $(LIBVA)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(ALL_LDFLAGS) -o $$@ $$^ $$(LDLIBS_ALL)
endef
$(foreach p,$(PROGRAMS),$(eval $(call program_rule,$(p))))

# Each unit test T is tests/unit/T.c plus T_SRCS (extra objects), linked with libva and cmocka.
define unit_rule
$(BUILD)/tests/$(1): $(BUILD)/tests/unit/$(1).o $$($(1)_SRCS:%.c=$(BUILD)/%.o) $(LIBVA)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(ALL_LDFLAGS) -o $$@ $$^ $$(CMOCKA_LIBS) $$(LDLIBS_ALL)
endef
$(foreach t,$(UNIT_TESTS),$(eval $(call unit_rule,$(t))))

# Each fuzz target F is tests/fuzz/F.c (LLVMFuzzerTestOneInput) plus F_SRCS, built with SAN=fuzz.
define fuzz_rule
$(BUILD)/fuzz/$(1): $(BUILD)/tests/fuzz/$(1).o $$($(1)_SRCS:%.c=$(BUILD)/%.o) $(LIBVA)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(FUZZ_LINK) -o $$@ $$^ $$(LDLIBS_ALL)
endef
$(foreach f,$(FUZZERS),$(eval $(call fuzz_rule,$(f))))
fuzzers: $(FUZZERS:%=$(BUILD)/fuzz/%)
fuzz-build:
	@$(MAKE) --no-print-directory SAN=fuzz BUILD=build/fuzz fuzzers

# Each benchmark program B is perf/B.c plus B_SRCS, built into $(BUILD)/perf/B (not installed).
define bench_rule
$(BUILD)/perf/$(1): $(BUILD)/perf/$(1).o $$($(1)_SRCS:%.c=$(BUILD)/%.o) $(LIBVA)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(ALL_LDFLAGS) -o $$@ $$^ $$(LDLIBS_ALL)
endef
$(foreach b,$(BENCHES),$(eval $(call bench_rule,$(b))))
benches: $(BENCHES:%=$(BUILD)/perf/%)

deps:
	@scripts/deps.sh build
deps-test:
	@scripts/deps.sh test

# check: build and run everything with the current flags (no dependency installation).
check: all benches $(UNIT_TESTS:%=$(BUILD)/tests/%) $(TEST_TOOLS)
	@BUILD=$(BUILD) BIN=$(BIN) SAN=$(SAN) tests/run.sh $(UNIT_TESTS)

test: deps-test
	@$(MAKE) --no-print-directory WERROR=-Werror check
	@$(MAKE) --no-print-directory asan

asan:
	@$(MAKE) --no-print-directory SAN=1 WERROR=-Werror BUILD=build/asan BIN=build/asan/bin check


# Packages first (a fresh machine has no libraries to build with), then the build, then the demo.
run:
	@scripts/deps.sh run
	@$(MAKE) --no-print-directory all
	@scripts/run.sh

bench: deps-test
	@scripts/deps.sh bench
	@$(MAKE) --no-print-directory all
	@perf/run.sh

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/va/conf
	install -m 755 $(PROGRAMS:%=$(BIN)/%) $(DESTDIR)$(PREFIX)/bin/
	install -m 644 conf/*.conf $(DESTDIR)$(PREFIX)/share/va/conf/

clean:
	rm -rf build bin

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
