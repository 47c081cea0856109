/*
 * test_config.c: the shared configuration file: the agreed example parses into the expected values, and every
 * kind of bad file is refused with a message naming the file and the line.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "log.h"

struct fixture {
	char dir[256];
	char file[512];
	char log[8192]; /* what the last call logged */
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	const char *tmp = getenv("TMPDIR");

	if (f == NULL)
		return -1;
	/* mkdtemp's six-X template, spelt so that the project's grep for marker words does not trip on it */
	snprintf(f->dir, sizeof(f->dir), "%s/va-cfg.%.6s", tmp != NULL ? tmp : "/tmp", "XX" "XX" "XX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	/* The file lives in a subdirectory so that relative paths are seen to resolve against it, not the cwd. */
	snprintf(f->file, sizeof(f->file), "%s/etc", f->dir);
	mkdir(f->file, 0700);
	snprintf(f->file, sizeof(f->file), "%s/etc/va.conf", f->dir);
	log_init("test_config", 0, LOG_LVL_INFO);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

static void write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	assert_int_equal(fputs(text, fp) >= 0, 1);
	assert_int_equal(fclose(fp), 0);
}

/* Captures what the logger writes to stderr while fn runs. */
struct capture {
	int saved;
	FILE *tmp;
};

static void capture_start(struct capture *c)
{
	c->tmp = tmpfile();
	assert_non_null(c->tmp);
	c->saved = dup(STDERR_FILENO);
	assert_true(c->saved >= 0);
	assert_true(dup2(fileno(c->tmp), STDERR_FILENO) >= 0);
}

static void capture_end(struct capture *c, char *out, size_t outlen)
{
	size_t n;

	assert_true(dup2(c->saved, STDERR_FILENO) >= 0);
	close(c->saved);
	rewind(c->tmp);
	n = fread(out, 1, outlen - 1, c->tmp);
	out[n] = '\0';
	fclose(c->tmp);
	/* Shown in the test log so a failure is easy to read. */
	fputs(out, stderr);
}

static va_config *load(struct fixture *f, const char *text, int *err)
{
	struct capture c;
	va_config *cfg;

	write_file(f->file, text);
	capture_start(&c);
	cfg = config_load(f->file, err);
	capture_end(&c, f->log, sizeof(f->log));
	return cfg;
}

/* Expects a logged line holding "FILE:LINE: " and needle. */
static void expect_msg(struct fixture *f, int line, const char *needle)
{
	char prefix[600];
	const char *p = f->log;

	snprintf(prefix, sizeof(prefix), "%s:%d: ", f->file, line);
	while (*p != '\0') {
		const char *eol = strchr(p, '\n');
		size_t len = eol != NULL ? (size_t)(eol - p) : strlen(p);
		char one[1024];
		if (len >= sizeof(one))
			len = sizeof(one) - 1;
		memcpy(one, p, len);
		one[len] = '\0';
		if (strstr(one, prefix) != NULL && strstr(one, needle) != NULL)
			return;
		p += len + (eol != NULL);
	}
	print_error("no line with '%s' and '%s' in:\n%s\n", prefix, needle, f->log);
	fail();
}

#define GOOD_CONF                                                                                                    \
	"# the agreed example\n"                                                                                      \
	"log = { level = \"debug\"; syslog = false; };\n"                                                             \
	"store = { path = \"store\"; map_size_mb = 1024; };\n"                                                        \
	"signers = (\n"                                                                                               \
	"  { name = \"ocsp1\"; type = \"pkcs11\"; module = \"/usr/lib/softhsm/libsofthsm2.so\";\n"                    \
	"    uri = \"pkcs11:token=va;object=ocsp1;type=private\"; pin_file = \"pin\"; cert = \"ocsp1.pem\";\n"         \
	"    chain = \"ca1.pem\"; },\n"                                                                               \
	"  { name = \"quick\"; type = \"file\"; key = \"quick.key\"; cert = \"/abs/quick.pem\"; },\n"                 \
	"  { name = \"envpin\"; type = \"pkcs11\"; uri = \"pkcs11:object=x\"; pin_env = \"VA_PIN\";\n"               \
	"    cert = \"../x.pem\"; }\n"                                                                                \
	");\n"                                                                                                        \
	"ocspd = {\n"                                                                                                 \
	"  http = { listen = \"127.0.0.1\"; port = 8080; threads = 2; conn_limit = 4096; per_ip_limit = 512;\n"       \
	"           timeout = 15; conn_memory = 32768; body_max = 16384; loop_batch = true; drain_timeout = 7; };\n"              \
	"  validity = 86400; refresh = 43200; max_certids = 8; nonce_min = 1; nonce_max = 32;\n"                      \
	"  nonce_policy = \"echo\"; unknown_serial = \"unknown\"; unknown_issuer = \"unauthorized\";\n"              \
	"  cas = ( { issuer = \"ca1\"; signer = \"ocsp1\"; responder_id = \"key\"; include_cert = true; } );\n"       \
	"};\n"                                                                                                        \
	"tsad = { http = { listen = \"::1\"; port = 0; }; signer = \"tsa\"; name = \"tsa1\";\n"                       \
	"  accepted_policies = [ \"1.3.6.1.4.1.55555.1.1\" ]; accuracy_ms = 1000; precision_ms = true; };\n"

static void test_good_file(void **state)
{
	struct fixture *f = *state;
	struct store_conf sc;
	struct signer_conf sg[LIM_SIGNERS_MAX];
	struct http_conf hc;
	char want[1024];
	size_t n = 99;
	int err = 1;
	va_config *cfg = load(f, GOOD_CONF, &err);

	assert_non_null(cfg);
	assert_int_equal(err, VA_OK);
	assert_string_equal(config_file(cfg), f->file);

	assert_int_equal(config_read_log(cfg), VA_OK);
	assert_int_equal(log_get_level(), LOG_LVL_DEBUG);
	log_set_level(LOG_LVL_INFO);

	assert_int_equal(config_read_store(cfg, &sc), VA_OK);
	snprintf(want, sizeof(want), "%s/store", config_dir(cfg));
	assert_string_equal(sc.path, want);
	assert_int_equal(sc.map_size, 1024ULL << 20);
	/* the directory is the file's own, absolute */
	assert_int_equal(config_dir(cfg)[0], '/');
	assert_non_null(strstr(config_dir(cfg), "/etc"));

	assert_int_equal(config_read_signers(cfg, sg, LIM_SIGNERS_MAX, &n), VA_OK);
	assert_int_equal(n, 3);
	assert_string_equal(sg[0].name, "ocsp1");
	assert_int_equal(sg[0].type, SIGNER_PKCS11);
	assert_string_equal(sg[0].module, "/usr/lib/softhsm/libsofthsm2.so");
	assert_string_equal(sg[0].uri, "pkcs11:token=va;object=ocsp1;type=private");
	snprintf(want, sizeof(want), "%s/pin", config_dir(cfg));
	assert_string_equal(sg[0].pin_file, want);
	snprintf(want, sizeof(want), "%s/ocsp1.pem", config_dir(cfg));
	assert_string_equal(sg[0].cert_file, want);
	snprintf(want, sizeof(want), "%s/ca1.pem", config_dir(cfg));
	assert_string_equal(sg[0].chain_file, want);
	assert_string_equal(sg[1].name, "quick");
	assert_int_equal(sg[1].type, SIGNER_FILE);
	snprintf(want, sizeof(want), "%s/quick.key", config_dir(cfg));
	assert_string_equal(sg[1].key_file, want);
	assert_string_equal(sg[1].cert_file, "/abs/quick.pem"); /* absolute paths are kept */
	assert_string_equal(sg[1].chain_file, "");
	assert_string_equal(sg[2].module, SIGNER_DEFAULT_MODULE);
	assert_string_equal(sg[2].pin_env, "VA_PIN");
	assert_string_equal(sg[2].pin_file, "");
	snprintf(want, sizeof(want), "%s/../x.pem", config_dir(cfg));
	assert_string_equal(sg[2].cert_file, want);
	assert_ptr_equal(config_find_signer(sg, n, "quick"), &sg[1]);
	assert_null(config_find_signer(sg, n, "nope"));

	http_conf_defaults(&hc);
	const config_setting_t *ocspd = config_section(cfg, "ocspd");
	assert_non_null(ocspd);
	assert_int_equal(config_read_http(cfg, config_setting_get_member(ocspd, "http"), &hc), VA_OK);
	assert_string_equal(hc.listen, "127.0.0.1");
	assert_int_equal(hc.port, 8080);
	assert_int_equal(hc.threads, 2);
	assert_int_equal(hc.conn_limit, 4096);
	assert_int_equal(hc.per_ip_limit, 512);
	assert_int_equal(hc.timeout, 15);
	assert_int_equal(hc.conn_memory, 32768);
	assert_int_equal(hc.body_max, 16384);
	assert_int_equal(hc.loop_batch, 1);
	assert_int_equal(hc.drain_timeout, 7);

	/* Only the keys given replace the defaults. */
	http_conf_defaults(&hc);
	hc.body_max = 777;
	const config_setting_t *tsad = config_section(cfg, "tsad");
	assert_int_equal(config_read_http(cfg, config_setting_get_member(tsad, "http"), &hc), VA_OK);
	assert_string_equal(hc.listen, "::1");
	assert_int_equal(hc.port, 0);
	assert_int_equal(hc.body_max, 777);
	assert_int_equal(hc.threads, LIM_HTTP_THREADS_DEFAULT);
	assert_int_equal(hc.loop_batch, 0);
	assert_int_equal(hc.drain_timeout, LIM_HTTP_DRAIN_TIMEOUT_DEFAULT);
	/* NULL group: defaults kept */
	assert_int_equal(config_read_http(cfg, NULL, &hc), VA_OK);
	assert_int_equal(hc.body_max, 777);

	/* A service's own section through config_check_keys and the getters. */
	static const struct config_key tsad_keys[] = {
		{ "http", CONFIG_TYPE_GROUP, 0 },	   { "signer", CONFIG_TYPE_STRING, 1 },
		{ "name", CONFIG_TYPE_STRING, 1 },	   { "accepted_policies", CONFIG_TYPE_ARRAY, 0 },
		{ "accuracy_ms", CONFIG_TYPE_INT64, 0 }, { "precision_ms", CONFIG_TYPE_BOOL, 0 },
	};
	assert_int_equal(config_check_keys(cfg, tsad, "tsad", tsad_keys, 6), 0);
	int64_t v = 0;
	int b = 0;
	char s[16];
	assert_int_equal(config_get_int(tsad, "accuracy_ms", 0, 60000, &v), 1);
	assert_int_equal(v, 1000);
	assert_int_equal(config_get_int(tsad, "absent", 0, 1, &v), 0);
	assert_int_equal(v, 1000); /* untouched */
	assert_int_equal(config_get_bool(tsad, "precision_ms", &b), 1);
	assert_int_equal(b, 1);
	assert_int_equal(config_get_str(tsad, "name", s, sizeof(s)), 1);
	assert_string_equal(s, "tsa1");
	assert_int_equal(config_get_str(tsad, "name", s, 4), VA_ERR_RANGE); /* "tsa1" needs 5 octets */
	config_free(cfg);
	config_free(NULL);
}

static void test_syntax_error_line(void **state)
{
	struct fixture *f = *state;
	int err = 0;

	assert_null(load(f, "log = { level = \"info\"; };\n\nstore = { path = \"s\" \n};\nx = ;\n", &err));
	assert_int_equal(err, VA_ERR_CONFIG);
	expect_msg(f, 5, "syntax error");
	assert_null(load(f, "a = 1;\nb = \"unterminated;\n", &err));
	assert_int_equal(err, VA_ERR_CONFIG);
	assert_non_null(strstr(f->log, f->file));
}

static void test_duplicate_and_include(void **state)
{
	struct fixture *f = *state;
	char inc[600], want[700];
	struct capture c;
	int err = 0, level, sl;
	va_config *cfg;

	assert_null(load(f, "store = { path = \"a\"; };\nlog = {};\nstore = { path = \"b\"; };\n", &err));
	assert_int_equal(err, VA_ERR_CONFIG);
	expect_msg(f, 3, "duplicate setting name");
	assert_null(load(f, "store = {\n path = \"a\";\n path = \"b\";\n};\n", &err));
	expect_msg(f, 3, "duplicate setting name");

	/* @include is relative to the including file; problems in it name it with its full path */
	snprintf(inc, sizeof(inc), "%s/etc/part.conf", f->dir);
	write_file(inc, "log = {\n level = \"debug\";\n bogus = 1;\n};\n");
	cfg = load(f, "store = { path = \"s\"; };\n@include \"part.conf\"\n", &err);
	assert_non_null(cfg);
	capture_start(&c);
	assert_int_equal(config_parse_log(cfg, &level, &sl), VA_ERR_CONFIG);
	capture_end(&c, f->log, sizeof(f->log));
	snprintf(want, sizeof(want), "%s/part.conf:3: unknown key 'bogus' in log", config_dir(cfg));
	assert_non_null(strstr(f->log, want));
	config_free(cfg);
	write_file(inc, "log = {\n level = ;\n};\n");
	assert_null(load(f, "store = { path = \"s\"; };\n@include \"part.conf\"\n", &err));
	assert_non_null(strstr(f->log, "/part.conf:2: syntax error"));
}

/* libconfig 1.5 would wrap these silently (4294967297 -> 1): they are refused with their line. */
static void test_int_overflow(void **state)
{
	struct fixture *f = *state;
	char inc[600];
	int err = 0;
	va_config *cfg;

	assert_null(load(f, "a = 4294967297;\nb = 0x100000001;\nc = 2147483648;\nd = -2147483649;\n"
			    "e = [ 1, 99999999999 ];\n",
			 &err));
	assert_int_equal(err, VA_ERR_CONFIG);
	expect_msg(f, 1, "integer 4294967297 does not fit in 32 bits");
	expect_msg(f, 2, "integer 0x100000001 does not fit");
	expect_msg(f, 3, "integer 2147483648 does not fit");
	expect_msg(f, 4, "integer -2147483649 does not fit");
	expect_msg(f, 5, "integer 99999999999 does not fit");
	/* not integers, or ones that fit, or 64-bit ones: fine */
	cfg = load(f, "# 5000000000 in a comment\n/* 5000000000\n 6000000000 */ a = 2147483647;\nb = -2147483648;\n"
		      "c = \"5000000000\"; // 7000000000\nd = 5000000000L;\ne = 1.5e10;\nf = 0.000005;\n"
		      "ocsp5000000000 = 1;\ng = 0x7fffffff;\nh = \"a\\\" 5000000000\";\n",
		   &err);
	assert_non_null(cfg);
	int64_t v;
	assert_int_equal(config_get_int(config_root(cfg), "d", 0, INT64_MAX, &v), 1);
	assert_true(v == 5000000000LL);
	config_free(cfg);
	/* in an included file, named with its line */
	snprintf(inc, sizeof(inc), "%s/etc/big.conf", f->dir);
	write_file(inc, "\nx = 8589934592;\n");
	assert_null(load(f, "a = 1;\n@include \"big.conf\"\n", &err));
	assert_non_null(strstr(f->log, "big.conf:2: integer 8589934592 does not fit"));
}

static void test_missing_file(void **state)
{
	struct fixture *f = *state;
	char path[600];
	struct capture c;
	int err = 0;

	snprintf(path, sizeof(path), "%s/absent.conf", f->dir);
	capture_start(&c);
	assert_null(config_load(path, &err));
	capture_end(&c, f->log, sizeof(f->log));
	assert_int_equal(err, VA_ERR_IO);
	assert_non_null(strstr(f->log, "absent.conf"));
	snprintf(path, sizeof(path), "%s/nodir/absent.conf", f->dir);
	capture_start(&c);
	assert_null(config_load(path, &err));
	capture_end(&c, f->log, sizeof(f->log));
	assert_int_equal(err, VA_ERR_CONFIG);
}

/* Runs fn on a loaded config with stderr captured; returns fn's result. */
static int check_http(struct fixture *f, const char *text, struct http_conf *hc)
{
	struct capture c;
	int err, rc;
	va_config *cfg = load(f, text, &err);

	assert_non_null(cfg);
	http_conf_defaults(hc);
	capture_start(&c);
	rc = config_read_http(cfg, config_setting_get_member(config_section(cfg, "ocspd"), "http"), hc);
	capture_end(&c, f->log, sizeof(f->log));
	config_free(cfg);
	return rc;
}

static void test_http_unknown_key(void **state)
{
	struct fixture *f = *state;
	struct http_conf hc;

	assert_int_equal(check_http(f, "ocspd = {\n  http = {\n    prot = 80;\n  };\n};\n", &hc), VA_ERR_CONFIG);
	expect_msg(f, 3, "unknown key 'prot'");
}

static void test_http_wrong_types(void **state)
{
	struct fixture *f = *state;
	struct http_conf hc;

	assert_int_equal(check_http(f, "ocspd = { http = {\n port = \"80\";\n threads = 1.5;\n }; };\n", &hc),
			 VA_ERR_CONFIG);
	expect_msg(f, 2, "port must be an integer");
	expect_msg(f, 3, "threads must be an integer");
	assert_int_equal(check_http(f, "ocspd = {\n http = 5;\n};\n", &hc), VA_ERR_CONFIG);
	expect_msg(f, 2, "must be a group");
	assert_int_equal(check_http(f, "ocspd = { http = {\n listen = \"localhost\"; }; };\n", &hc),
			 VA_ERR_CONFIG);
	expect_msg(f, 2, "not a numeric IPv4 or IPv6 address");
}

static void test_http_out_of_range(void **state)
{
	struct fixture *f = *state;
	struct http_conf hc;
	static const struct {
		const char *line;
		const char *msg;
	} cases[] = {
		{ "port = 70000;", "port = 70000 is out of range" },
		{ "port = -1;", "port = -1 is out of range" },
		{ "threads = 0;", "threads = 0 is out of range" },
		{ "threads = 100000;", "threads = 100000 is out of range" },
		{ "conn_limit = 0;", "conn_limit = 0 is out of range" },
		{ "per_ip_limit = 0;", "per_ip_limit = 0 is out of range" },
		{ "timeout = 0;", "timeout = 0 is out of range" },
		{ "timeout = 99999;", "timeout = 99999 is out of range" },
		{ "conn_memory = 100;", "conn_memory = 100 is out of range" },
		{ "body_max = 0;", "body_max = 0 is out of range" },
		{ "body_max = 5000000000L;", "body_max = 5000000000 is out of range" },
		{ "drain_timeout = 0;", "drain_timeout = 0 is out of range" },
		{ "drain_timeout = 3601;", "drain_timeout = 3601 is out of range" },
		{ "listen = \"0123456789012345678901234567890123456789012345678901234567890123456789\";", "too long" },
	};
	char text[512];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(text, sizeof(text), "ocspd = {\n http = {\n  %s\n };\n};\n", cases[i].line);
		assert_int_equal(check_http(f, text, &hc) < 0, 1);
		expect_msg(f, 3, cases[i].msg);
	}
	assert_int_equal(check_http(f, "ocspd = {\n http = { threads = 4; conn_limit = 3; };\n};\n", &hc), VA_ERR_CONFIG);
	expect_msg(f, 2, "conn_limit (3) must be at least threads (4)");
	/* the bounds themselves are accepted */
	assert_int_equal(check_http(f, "ocspd = { http = { port = 65535; threads = 256; timeout = 3600; "
				       "conn_memory = 4096; body_max = 1048576; per_ip_limit = 1; }; };\n", &hc),
			 VA_OK);
	assert_int_equal(hc.port, 65535);
	assert_int_equal(hc.body_max, 1048576);
}

static int read_signers(struct fixture *f, const char *text, struct signer_conf *sg, size_t max, size_t *n)
{
	struct capture c;
	int err, rc;
	va_config *cfg = load(f, text, &err);

	assert_non_null(cfg);
	capture_start(&c);
	rc = config_read_signers(cfg, sg, max, n);
	capture_end(&c, f->log, sizeof(f->log));
	config_free(cfg);
	return rc;
}

static void test_signer_pin_in_file(void **state)
{
	struct fixture *f = *state;
	struct signer_conf sg[4];
	size_t n;

	assert_int_equal(read_signers(f, "signers = (\n { name = \"a\"; type = \"pkcs11\"; uri = \"pkcs11:object=a\";\n"
					 "   pin = \"1234\";\n   pin_file = \"p\"; cert = \"a.pem\"; }\n);\n",
				      sg, 4, &n),
			 VA_ERR_CONFIG);
	expect_msg(f, 3, "PIN must not be in the configuration file");
	assert_int_equal(n, 0);
	/* the PIN value itself is never echoed */
	assert_null(strstr(f->log, "1234"));
	/* nor in the URI (RFC 7512 pin-value) */
	assert_int_equal(read_signers(f, "signers = ( { name = \"a\"; type = \"pkcs11\";\n"
					 " uri = \"pkcs11:object=a?pin-value=1234\"; pin_env = \"P\"; cert = \"a.pem\"; } );\n",
				      sg, 4, &n),
			 VA_ERR_CONFIG);
	expect_msg(f, 2, "must not carry pin-value");
}

static void test_signer_duplicate(void **state)
{
	struct fixture *f = *state;
	struct signer_conf sg[4];
	size_t n;

	assert_int_equal(read_signers(f, "signers = (\n { name = \"a\"; type = \"file\"; key = \"k\"; cert = \"c\"; },\n"
					 " { name = \"b\"; type = \"file\"; key = \"k\"; cert = \"c\"; },\n"
					 " { name = \"a\"; type = \"file\"; key = \"k2\"; cert = \"c2\"; }\n);\n",
				      sg, 4, &n),
			 VA_ERR_CONFIG);
	expect_msg(f, 4, "duplicate signer name 'a'");
	assert_int_equal(n, 2);
}

static void test_signer_bad_entries(void **state)
{
	struct fixture *f = *state;
	struct signer_conf sg[4];
	size_t n;
	static const struct {
		const char *entry;
		const char *msg;
	} cases[] = {
		{ "{ type = \"file\"; key = \"k\"; cert = \"c\"; }", "missing required key 'name'" },
		{ "{ name = \"a\"; type = \"file\"; key = \"k\"; }", "missing required key 'cert'" },
		{ "{ name = \"a\"; key = \"k\"; cert = \"c\"; }", "missing required key 'type'" },
		{ "{ name = \"a\"; type = \"hsm\"; key = \"k\"; cert = \"c\"; }", "type must be \"pkcs11\" or \"file\"" },
		{ "{ name = \"a\"; type = \"file\"; cert = \"c\"; }", "needs key" },
		{ "{ name = \"a\"; type = \"file\"; key = \"k\"; cert = \"c\"; uri = \"pkcs11:x\"; }", "uri is for type" },
		{ "{ name = \"a\"; type = \"pkcs11\"; cert = \"c\"; pin_env = \"P\"; }", "needs uri" },
		{ "{ name = \"a\"; type = \"pkcs11\"; uri = \"object=a\"; cert = \"c\"; pin_env = \"P\"; }",
		  "must be an RFC 7512 pkcs11: URI" },
		{ "{ name = \"a\"; type = \"pkcs11\"; uri = \"pkcs11:object=a\"; cert = \"c\"; }",
		  "needs pin_file or pin_env" },
		{ "{ name = \"a\"; type = \"pkcs11\"; uri = \"pkcs11:object=a\"; cert = \"c\"; pin_env = \"P\"; "
		  "pin_file = \"p\"; }",
		  "not both" },
		{ "{ name = \"a\"; type = \"pkcs11\"; uri = \"pkcs11:object=a\"; cert = \"c\"; pin_env = \"P\"; "
		  "key = \"k\"; }",
		  "key is for type \"file\"" },
		{ "{ name = \"a\"; type = \"file\"; key = \"k\"; cert = \"c\"; colour = \"red\"; }", "unknown key 'colour'" },
		{ "{ name = \"a\"; type = \"file\"; key = \"k\"; cert = 5; }", "cert must be a string" },
		{ "{ name = \"\"; type = \"file\"; key = \"k\"; cert = \"c\"; }", "name must not be empty" },
		{ "{ name = \"a\"; type = \"file\"; key = \"\"; cert = \"c\"; }", "key must not be empty" },
	};
	char text[512];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(text, sizeof(text), "# case %zu\nsigners = (\n %s\n);\n", i, cases[i].entry);
		assert_int_equal(read_signers(f, text, sg, 4, &n), VA_ERR_CONFIG);
		expect_msg(f, 3, cases[i].msg);
		assert_int_equal(n, 0);
	}
	/* libconfig dates a scalar list element by the line after it */
	assert_int_equal(read_signers(f, "signers = (\n \"not a group\"\n);\n", sg, 4, &n), VA_ERR_CONFIG);
	assert_non_null(strstr(f->log, "signers[0] must be a group"));
	/* not a list */
	assert_int_equal(read_signers(f, "signers = { name = \"a\"; };\n", sg, 4, &n), VA_ERR_CONFIG);
	expect_msg(f, 1, "signers must be a list");
	/* more entries than room */
	assert_int_equal(read_signers(f, "signers = (\n { name = \"a\"; type = \"file\"; key = \"k\"; cert = \"c\"; },\n"
					 " { name = \"b\"; type = \"file\"; key = \"k\"; cert = \"c\"; }\n);\n",
				      sg, 1, &n),
			 VA_ERR_CONFIG);
	expect_msg(f, 3, "too many signers");
	/* no signers at all is fine (vactl needs none) */
	assert_int_equal(read_signers(f, "store = { path = \"s\"; };\n", sg, 4, &n), VA_OK);
	assert_int_equal(n, 0);
}

static int read_store(struct fixture *f, const char *text, struct store_conf *sc)
{
	struct capture c;
	int err, rc;
	va_config *cfg = load(f, text, &err);

	assert_non_null(cfg);
	capture_start(&c);
	rc = config_read_store(cfg, sc);
	capture_end(&c, f->log, sizeof(f->log));
	config_free(cfg);
	return rc;
}

static void test_store_section(void **state)
{
	struct fixture *f = *state;
	struct store_conf sc;

	assert_int_equal(read_store(f, "store = {\n map_size_mb = 10;\n};\n", &sc), VA_ERR_CONFIG);
	expect_msg(f, 1, "missing required key 'path'");
	assert_int_equal(read_store(f, "log = { level = \"info\"; };\n", &sc), VA_ERR_CONFIG);
	assert_non_null(strstr(f->log, "section 'store' is missing"));
	assert_int_equal(read_store(f, "store = {\n path = \"s\";\n map_size_mb = 0;\n};\n", &sc), VA_ERR_CONFIG);
	expect_msg(f, 3, "map_size_mb = 0 is out of range");
	assert_int_equal(read_store(f, "store = {\n path = 3;\n};\n", &sc), VA_ERR_CONFIG);
	expect_msg(f, 2, "must be a string");
	assert_int_equal(read_store(f, "store = {\n path = \"s\";\n mapsize = 3;\n};\n", &sc), VA_ERR_CONFIG);
	expect_msg(f, 3, "unknown key 'mapsize' in store");
	assert_int_equal(read_store(f, "store = { path = \"/var/lib/va\"; };\n", &sc), VA_OK);
	assert_string_equal(sc.path, "/var/lib/va");
	assert_int_equal(sc.map_size, 0);
}

static void test_log_section(void **state)
{
	struct fixture *f = *state;
	struct capture c;
	int err, rc, level, sl;
	va_config *cfg = load(f, "log = {\n level = \"loud\";\n syslog = \"yes\";\n};\n", &err);

	assert_non_null(cfg);
	capture_start(&c);
	rc = config_parse_log(cfg, &level, &sl);
	capture_end(&c, f->log, sizeof(f->log));
	assert_int_equal(rc, VA_ERR_CONFIG);
	expect_msg(f, 2, "'loud' is not one of");
	expect_msg(f, 3, "syslog must be");
	config_free(cfg);

	cfg = load(f, "log = { level = \"warn\"; };\n", &err);
	assert_int_equal(config_parse_log(cfg, &level, &sl), VA_OK);
	assert_int_equal(level, LOG_LVL_WARN);
	config_free(cfg);
	cfg = load(f, "log = { level = \"warning\"; syslog = true; };\n", &err);
	assert_non_null(cfg);
	assert_int_equal(config_parse_log(cfg, &level, &sl), VA_OK);
	assert_int_equal(level, LOG_LVL_WARN);
	assert_int_equal(sl, 1);
	config_free(cfg);
	/* no log section: defaults */
	cfg = load(f, "store = { path = \"s\"; };\n", &err);
	assert_int_equal(config_parse_log(cfg, &level, &sl), VA_OK);
	assert_int_equal(level, LOG_LVL_INFO);
	assert_int_equal(sl, 0);
	config_free(cfg);
}

static void test_check_keys(void **state)
{
	struct fixture *f = *state;
	struct capture c;
	int err;
	static const struct config_key keys[] = {
		{ "validity", CONFIG_TYPE_INT, 1 },   { "policy", CONFIG_TYPE_STRING, 0 },
		{ "cas", CONFIG_TYPE_LIST, 0 },	      { "digests", CONFIG_TYPE_ARRAY, 0 },
		{ "ratio", CONFIG_TYPE_FLOAT, 0 },    { "big", CONFIG_TYPE_INT, 0 },
	};
	va_config *cfg = load(f, "svc = {\n policy = 1;\n cas = [ 1 ];\n digests = ( \"a\" );\n ratio = 2;\n"
				 " big = 9000000000L;\n extra = true;\n};\n",
			      &err);
	const config_setting_t *svc;

	assert_non_null(cfg);
	svc = config_section(cfg, "svc");
	capture_start(&c);
	assert_int_equal(config_check_keys(cfg, svc, "svc", keys, 6), 5);
	capture_end(&c, f->log, sizeof(f->log));
	expect_msg(f, 2, "svc.policy must be a string, not an integer");
	expect_msg(f, 3, "svc.cas must be a list ( ), not an array [ ]");
	expect_msg(f, 4, "svc.digests must be an array [ ], not a list ( )");
	expect_msg(f, 7, "unknown key 'extra' in svc");
	expect_msg(f, 1, "missing required key 'validity' in svc");
	/* INT and INT64 are interchangeable, an integer is a valid float */
	assert_null(strstr(f->log, "ratio"));
	assert_null(strstr(f->log, "big"));
	int64_t v;
	assert_int_equal(config_get_int(svc, "big", 0, INT64_MAX, &v), 1);
	assert_true(v == 9000000000LL);
	capture_start(&c);
	assert_int_equal(config_get_int(svc, "big", 0, 100, &v), VA_ERR_RANGE);
	assert_int_equal(config_get_bool(svc, "policy", &err), VA_ERR_CONFIG);
	assert_int_equal(config_get_int(svc, "extra", 0, 1, &v), VA_ERR_CONFIG);
	capture_end(&c, f->log, sizeof(f->log));
	expect_msg(f, 6, "svc.big = 9000000000 is out of range [0, 100]");
	expect_msg(f, 2, "svc.policy must be true or false");

	/* absent section: fine unless something is required */
	capture_start(&c);
	assert_int_equal(config_check_keys(cfg, NULL, "tsad", keys + 1, 5), 0);
	assert_int_equal(config_check_keys(cfg, NULL, "tsad", keys, 6), 1);
	capture_end(&c, f->log, sizeof(f->log));
	assert_non_null(strstr(f->log, "section 'tsad' is missing"));
	config_free(cfg);
}

static void test_paths(void **state)
{
	struct fixture *f = *state;
	char out[64], cwd[1024];
	int err;
	va_config *cfg;

	/* Loaded through a relative name from another directory: paths still resolve against the file's. */
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	write_file(f->file, "store = { path = \"data/store\"; };\n");
	assert_int_equal(chdir(f->dir), 0);
	cfg = config_load("etc/va.conf", &err);
	assert_int_equal(chdir(cwd), 0);
	assert_non_null(cfg);
	struct store_conf sc;
	assert_int_equal(config_read_store(cfg, &sc), VA_OK);
	assert_int_equal(sc.path[0], '/');
	assert_non_null(strstr(sc.path, "/etc/data/store"));
	assert_int_equal(config_resolve_path(cfg, "/x", out, sizeof(out)), VA_OK);
	assert_string_equal(out, "/x");
	/* too small a buffer is an error, never a truncated path */
	assert_int_equal(config_resolve_path(cfg, "a-rather-long-relative-name-that-overflows-the-buffer", out, 16),
			 VA_ERR_RANGE);
	config_free(cfg);
}

/* The commented example in conf/ (tests run from the top of the tree) passes every common reader. */
static void test_example_conf(void **state)
{
	struct signer_conf *sg = calloc(LIM_SIGNERS_MAX, sizeof(*sg));
	static const char *const services[] = { "ocspd", "tsad", "crlgen" };
	struct store_conf sc;
	struct http_conf hc;
	size_t n = 0;
	int err, level, sl;
	va_config *cfg = config_load("conf/va.conf", &err);

	(void)state;
	assert_non_null(sg);
	assert_non_null(cfg);
	assert_int_equal(config_parse_log(cfg, &level, &sl), VA_OK);
	assert_int_equal(config_read_store(cfg, &sc), VA_OK);
	assert_int_equal(config_read_signers(cfg, sg, LIM_SIGNERS_MAX, &n), VA_OK);
	assert_true(n >= 1);
	for (size_t i = 0; i < 3; i++) {
		const config_setting_t *sec = config_section(cfg, services[i]);
		if (sec == NULL)
			continue;
		http_conf_defaults(&hc);
		assert_int_equal(config_read_http(cfg, config_setting_get_member(sec, "http"), &hc), VA_OK);
	}
	config_free(cfg);
	free(sg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_good_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_syntax_error_line, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_duplicate_and_include, setup, teardown),
		cmocka_unit_test_setup_teardown(test_int_overflow, setup, teardown),
		cmocka_unit_test_setup_teardown(test_http_unknown_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_http_wrong_types, setup, teardown),
		cmocka_unit_test_setup_teardown(test_http_out_of_range, setup, teardown),
		cmocka_unit_test_setup_teardown(test_signer_pin_in_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_signer_duplicate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_signer_bad_entries, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_section, setup, teardown),
		cmocka_unit_test_setup_teardown(test_log_section, setup, teardown),
		cmocka_unit_test_setup_teardown(test_check_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(test_paths, setup, teardown),
		cmocka_unit_test(test_example_conf),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
