#include "vtime.h"

#include <string.h>

#include "der.h"

/* The calendar arithmetic is der.c's (der_time_parse, der_put_time): vactl only maps its text forms onto the
 * DER Time contents, so that index.txt and the CRLs and responses built from it cannot disagree on a date. */

int vtime_parse_asn1(const char *s, size_t len, int64_t *out)
{
	struct der_tlv t;

	if (s == NULL || (len != 13 && len != 15))
		return VA_ERR_INVAL;
	memset(&t, 0, sizeof(t));
	t.tag = len == 13 ? DER_UTCTIME : DER_GENTIME;
	t.c = (const uint8_t *)s;
	t.len = len;
	return der_time_parse(&t, out) == VA_OK ? VA_OK : VA_ERR_INVAL;
}

int vtime_parse_cli(const char *s, int64_t *out)
{
	size_t len;
	char gen[16];

	if (s == NULL)
		return VA_ERR_INVAL;
	len = strlen(s);
	if (len == 15 && strchr(s, '-') == NULL)
		return vtime_parse_asn1(s, len, out);
	/* YYYY-MM-DD[(T| )HH:MM:SS(Z|+00:00)], rewritten as GeneralizedTime: der_time_parse checks every digit. */
	if (len < 10 || s[4] != '-' || s[7] != '-')
		return VA_ERR_INVAL;
	memcpy(gen, s, 4);
	memcpy(gen + 4, s + 5, 2);
	memcpy(gen + 6, s + 8, 2);
	memcpy(gen + 8, "000000Z", 8);
	if (len > 10) {
		if ((s[10] != 'T' && s[10] != ' ') || len < 19 || s[13] != ':' || s[16] != ':')
			return VA_ERR_INVAL;
		/* Only UTC is accepted: an operator's local offset would silently shift revocation times. */
		if (strcmp(s + 19, "Z") != 0 && strcmp(s + 19, "+00:00") != 0)
			return VA_ERR_INVAL;
		memcpy(gen + 8, s + 11, 2);
		memcpy(gen + 10, s + 14, 2);
		memcpy(gen + 12, s + 17, 2);
	}
	return vtime_parse_asn1(gen, 15, out);
}

/* The DER Time of t (GeneralizedTime with force_gen) as a C string; VA_ERR_RANGE outside years 0..9999. */
static int vtime_put_der(int64_t t, int force_gen, char *out, size_t outlen)
{
	uint8_t tlv[DER_TIME_MAX];
	size_t n = der_put_time(tlv, t, force_gen);

	if (n == 0)
		return VA_ERR_RANGE;
	if (out == NULL || (size_t)tlv[1] >= outlen)
		return VA_ERR_INVAL;
	memcpy(out, tlv + 2, tlv[1]);
	out[tlv[1]] = '\0';
	return VA_OK;
}

int vtime_format_gen(int64_t t, char *out, size_t outlen)
{
	return vtime_put_der(t, 1, out, outlen);
}

int vtime_format_index(int64_t t, char *out, size_t outlen)
{
	/* RFC 5280 4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050; `openssl ca` writes the same. */
	return vtime_put_der(t, 0, out, outlen);
}

int vtime_format_iso(int64_t t, char *out, size_t outlen)
{
	char g[VTIME_STR_MAX];
	int rc = vtime_format_gen(t, g, sizeof(g));

	if (rc != VA_OK)
		return rc;
	/* "YYYYMMDDHHMMSSZ" to "YYYY-MM-DDTHH:MM:SSZ" */
	if (out == NULL || outlen <= 20)
		return VA_ERR_INVAL;
	memcpy(out, g, 4);
	out[4] = '-';
	memcpy(out + 5, g + 4, 2);
	out[7] = '-';
	memcpy(out + 8, g + 6, 2);
	out[10] = 'T';
	memcpy(out + 11, g + 8, 2);
	out[13] = ':';
	memcpy(out + 14, g + 10, 2);
	out[16] = ':';
	memcpy(out + 17, g + 12, 2);
	memcpy(out + 19, "Z", 2);
	return VA_OK;
}
