/*
 * test_tsa_cert.c: the start-up rule for the TSA certificate (RFC 3161 2.3: exactly one extendedKeyUsage,
 * critical, id-kp-timeStamping alone) and its validity period.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "../../tsa/tsad.h"
#include "test_tsa_util.h"

static void test_eku_rules(void **state)
{
	static const struct {
		const char *eku, *eku2;
		int ok;
		const char *why;
	} cases[] = {
		{ "critical,timeStamping", NULL, 1, NULL },
		{ "timeStamping", NULL, 0, "non-critical" },
		{ NULL, NULL, 0, "no extended key usage" },
		{ "critical,timeStamping,serverAuth", NULL, 0, "other than id-kp-timeStamping" },
		{ "critical,OCSPSigning", NULL, 0, "other than id-kp-timeStamping" },
		{ "critical,timeStamping", "critical,timeStamping", 0, "more than one" },
	};
	struct tt_pki p;
	time_t now = time(NULL);

	(void)state;
	assert_int_equal(tt_pki_init(&p, EVP_PKEY_EC, 1), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		X509 *x = tt_cert_with_eku(&p, cases[i].eku, cases[i].eku2);
		const char *why = NULL;
		int rc;

		assert_non_null(x);
		rc = tsad_cert_check(x, now, &why);
		print_message("case %zu: %s\n", i, why != NULL ? why : "ok");
		if (cases[i].ok) {
			assert_int_equal(rc, 0);
		} else {
			assert_int_equal(rc, VA_ERR_CONFIG);
			assert_non_null(why);
			assert_non_null(strstr(why, cases[i].why));
		}
		X509_free(x);
	}
	tt_pki_clear(&p);
}

static void test_validity(void **state)
{
	struct tt_pki p;
	time_t now = time(NULL);
	const char *why = NULL;

	(void)state;
	/* tt_pki certificates are valid from an hour ago for a year */
	assert_int_equal(tt_pki_init(&p, EVP_PKEY_EC, 1), 0);
	assert_int_equal(tsad_cert_check(p.cert, now, &why), 0);
	assert_int_equal(tsad_cert_check(p.cert, now - 7200, &why), VA_ERR_CONFIG);
	assert_string_equal(why, "is not valid yet");
	assert_int_equal(tsad_cert_check(p.cert, now + 86400L * 400, &why), VA_ERR_CONFIG);
	assert_string_equal(why, "has expired");
	tt_pki_clear(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_eku_rules),
		cmocka_unit_test(test_validity),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
