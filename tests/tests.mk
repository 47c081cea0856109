# Unit tests: tests/unit/NAME.c, one cmocka program each. Add NAME to UNIT_TESTS (and NAME_SRCS for extra objects).
UNIT_TESTS += test_err

# Test tools: shared objects the integration tests load (never linked into bin/, never installed).
# libp11hang.so: a PKCS#11 module over SoftHSM2 whose C_Sign hangs on demand (tests/tools/p11_hang.c).
TEST_TOOLS += $(BUILD)/tests/libp11hang.so
$(BUILD)/tests/libp11hang.so: tests/tools/p11_hang.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) $(shell pkg-config --cflags p11-kit-1) -fPIC -shared -o $@ $< $(ALL_LDFLAGS) -ldl
