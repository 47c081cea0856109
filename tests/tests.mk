# Unit tests: tests/unit/NAME.c, one cmocka program each. Add NAME to UNIT_TESTS (and NAME_SRCS for extra objects).
UNIT_TESTS += test_err
