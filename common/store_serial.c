/*
 * store_serial.c: certificate serial numbers in canonical form, reason and status names.
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "store.h"
#include "store_impl.h"

static const struct {
	int reason;
	const char *name;
} reason_names[] = {
	/* The spellings of OpenSSL's index.txt (crypto/x509/v3_crld.c, apps/ca.c). */
	{ STORE_REASON_UNSPECIFIED, "unspecified" },
	{ STORE_REASON_KEY_COMPROMISE, "keyCompromise" },
	{ STORE_REASON_CA_COMPROMISE, "CACompromise" },
	{ STORE_REASON_AFFILIATION_CHANGED, "affiliationChanged" },
	{ STORE_REASON_SUPERSEDED, "superseded" },
	{ STORE_REASON_CESSATION, "cessationOfOperation" },
	{ STORE_REASON_CERTIFICATE_HOLD, "certificateHold" },
	{ STORE_REASON_REMOVE_FROM_CRL, "removeFromCRL" },
	{ STORE_REASON_PRIVILEGE_WITHDRAWN, "privilegeWithdrawn" },
	{ STORE_REASON_AA_COMPROMISE, "AACompromise" },
};

int store_reason_parse(const char *name)
{
	if (name == NULL)
		return -1;
	for (size_t i = 0; i < sizeof(reason_names) / sizeof(reason_names[0]); i++)
		if (strcasecmp(name, reason_names[i].name) == 0)
			return reason_names[i].reason;
	return -1;
}

const char *store_reason_name(int reason)
{
	for (size_t i = 0; i < sizeof(reason_names) / sizeof(reason_names[0]); i++)
		if (reason_names[i].reason == reason)
			return reason_names[i].name;
	return "unknown";
}

const char *store_status_name(int status)
{
	switch (status) {
	case STORE_GOOD: return "good";
	case STORE_REVOKED: return "revoked";
	case STORE_HOLD: return "hold";
	default: return "unknown";
	}
}

/* Copies a magnitude without its leading zero octets; VA_ERR_RANGE when more than LIM_SERIAL_MAX remain. */
static int serial_set_mag(struct store_serial *s, const uint8_t *mag, size_t len, int negative)
{
	while (len > 0 && mag[0] == 0) {
		mag++;
		len--;
	}
	if (len > LIM_SERIAL_MAX)
		return VA_ERR_RANGE;
	memset(s, 0, sizeof(*s));
	if (len > 0)
		memcpy(s->mag, mag, len);
	s->len = (uint8_t)len;
	s->negative = (uint8_t)(negative && len > 0);
	return 0;
}

int store_serial_from_bytes(struct store_serial *s, const uint8_t *mag, size_t len)
{
	if (s == NULL || (mag == NULL && len > 0))
		return VA_ERR_INVAL;
	return serial_set_mag(s, mag, len, 0);
}

int store_serial_from_der(struct store_serial *s, const uint8_t *content, size_t len)
{
	uint8_t tmp[LIM_SERIAL_MAX + 1];

	/* X.690 8.3.1: an INTEGER's contents are one or more octets. */
	if (s == NULL || content == NULL || len == 0)
		return VA_ERR_INVAL;
	if ((content[0] & 0x80) == 0)
		return serial_set_mag(s, content, len, 0);

	/* Negative: drop redundant sign-extension octets (0xFF followed by an octet with the top bit set), so the
	 * bound below applies to the value, not to a padded encoding. */
	while (len > 1 && content[0] == 0xFF && (content[1] & 0x80)) {
		content++;
		len--;
	}
	if (len > sizeof(tmp))
		return VA_ERR_RANGE;
	/* Magnitude = two's complement negation: invert and add one. */
	unsigned carry = 1;
	for (size_t i = len; i-- > 0;) {
		unsigned v = (uint8_t)~content[i] + carry;
		tmp[i] = (uint8_t)v;
		carry = v >> 8;
	}
	return serial_set_mag(s, tmp, len, 1);
}

static int hex_val(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int store_serial_from_hex(struct store_serial *s, const char *hex)
{
	uint8_t mag[LIM_SERIAL_MAX];
	size_t ndig = 0, sig = 0;
	int negative = 0, prev_colon = 1;
	const char *p, *start;

	if (s == NULL || hex == NULL)
		return VA_ERR_INVAL;
	if (*hex == '-') {
		negative = 1;
		hex++;
	}
	if (hex[0] == '0' && (hex[1] == 'x' || hex[1] == 'X'))
		hex += 2;
	start = hex;
	/* First pass: syntax (digits, single colons between digits) and the count of significant digits. */
	for (p = start; *p; p++) {
		if (*p == ':') {
			if (prev_colon)
				return VA_ERR_INVAL;
			prev_colon = 1;
			continue;
		}
		if (hex_val((unsigned char)*p) < 0)
			return VA_ERR_INVAL;
		prev_colon = 0;
		ndig++;
		if (sig > 0 || *p != '0')
			sig++;
	}
	if (ndig == 0 || prev_colon)
		return VA_ERR_INVAL;
	if (sig > 2 * LIM_SERIAL_MAX)
		return VA_ERR_RANGE;
	/* Second pass: the significant digits, right-aligned into whole octets. */
	size_t nbytes = (sig + 1) / 2, i = 0;
	int hi = (sig % 2) == 1; /* an odd count starts with a low nibble */
	memset(mag, 0, sizeof(mag));
	size_t seen = 0;
	for (p = start; *p; p++) {
		if (*p == ':')
			continue;
		seen++;
		if (seen <= ndig - sig)
			continue;
		int v = hex_val((unsigned char)*p);
		if (hi) {
			mag[i] |= (uint8_t)v;
			i++;
			hi = 0;
		} else {
			mag[i] = (uint8_t)(v << 4);
			hi = 1;
		}
	}
	return serial_set_mag(s, mag, nbytes, negative);
}

void store_serial_to_hex(const struct store_serial *s, char *out, size_t outlen)
{
	static const char digits[] = "0123456789ABCDEF";
	size_t need, o = 0;

	if (out == NULL || outlen == 0)
		return;
	if (s == NULL || s->len > LIM_SERIAL_MAX) {
		out[0] = '\0';
		return;
	}
	need = (s->negative ? 1 : 0) + (s->len ? 2 * (size_t)s->len : 2) + 1;
	if (outlen < need) {
		out[0] = '\0';
		return;
	}
	if (s->negative)
		out[o++] = '-';
	if (s->len == 0) {
		out[o++] = '0';
		out[o++] = '0';
	}
	for (size_t i = 0; i < s->len; i++) {
		out[o++] = digits[s->mag[i] >> 4];
		out[o++] = digits[s->mag[i] & 0xF];
	}
	out[o] = '\0';
}

size_t store_serial_key(const struct store_serial *s, uint8_t *key)
{
	/* Positive serials get the top bit so that they sort after negative ones and by length, then value. */
	key[0] = (uint8_t)(s->negative ? s->len : (0x80 | s->len));
	if (s->len)
		memcpy(key + 1, s->mag, s->len);
	return 1 + (size_t)s->len;
}

int store_serial_key_decode(const uint8_t *key, size_t len, struct store_serial *s)
{
	if (len < 1)
		return VA_ERR_STORE;
	size_t n = key[0] & 0x7F;
	int negative = (key[0] & 0x80) == 0;
	if (n > LIM_SERIAL_MAX || len < 1 + n || (negative && n == 0) || (n > 0 && key[1] == 0))
		return VA_ERR_STORE;
	memset(s, 0, sizeof(*s));
	s->len = (uint8_t)n;
	s->negative = (uint8_t)negative;
	if (n)
		memcpy(s->mag, key + 1, n);
	return (int)(1 + n);
}

size_t store_cert_key(uint32_t issuer, const struct store_serial *s, uint8_t *key)
{
	store_put_be32(key, issuer);
	return 4 + store_serial_key(s, key + 4);
}
