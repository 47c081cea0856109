#include "index.h"

#include <openssl/objects.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "vtime.h"

#define INDEX_FIELDS 6

int index_serial_parse(const char *hex, struct store_serial *s)
{
	const char *digits;

	if (hex == NULL)
		return VA_ERR_INVAL;
	/* index.txt writes bare hex digits (OpenSSL's BN_bn2hex): the "0x" prefix and colons that the store's
	 * parser also accepts from operators are malformed here. */
	digits = hex[0] == '-' ? hex + 1 : hex;
	if (strchr(hex, ':') != NULL || (digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X')))
		return VA_ERR_INVAL;
	return store_serial_from_hex(s, hex);
}

void index_serial_format(const struct store_serial *s, char *out, size_t outlen)
{
	static const char digits[] = "0123456789ABCDEF";
	size_t o = 0;

	if (outlen == 0)
		return;
	if (s->negative && o + 1 < outlen)
		out[o++] = '-';
	if (s->len == 0) {
		if (o + 2 < outlen) {
			out[o++] = '0';
			out[o++] = '0';
		}
	}
	for (size_t i = 0; i < s->len && o + 2 < outlen; i++) {
		out[o++] = digits[s->mag[i] >> 4];
		out[o++] = digits[s->mag[i] & 15];
	}
	out[o] = '\0';
}

/* Splits buf (len bytes) into INDEX_FIELDS NUL-terminated fields the way TXT_DB does: TAB separates, backslash
 * TAB is a literal TAB. */
static int index_split(char *buf, size_t len, char **f, const char **why)
{
	size_t r = 0, w = 0;
	int n = 0;

	f[n++] = buf;
	while (r < len) {
		unsigned char c = (unsigned char)buf[r];

		if (c == '\t' && !(w > 0 && buf[w - 1] == '\\')) {
			buf[w++] = '\0';
			r++;
			if (n == INDEX_FIELDS) {
				*why = "too many fields (expected 6, TAB-separated)";
				return VA_ERR_INVAL;
			}
			f[n++] = buf + w;
			continue;
		}
		if (c == '\t') {
			/* Escaped TAB (TXT_DB): the backslash already copied becomes the TAB. */
			buf[w - 1] = '\t';
			r++;
			continue;
		}
		if (c == '\r') {
			*why = "carriage return in line (CRLF line endings?)";
			return VA_ERR_INVAL;
		}
		if (c < 0x20 || c == 0x7f) {
			*why = "control character in line";
			return VA_ERR_INVAL;
		}
		buf[w++] = buf[r++];
	}
	buf[w] = '\0';
	if (n != INDEX_FIELDS) {
		*why = "too few fields (expected 6, TAB-separated)";
		return VA_ERR_INVAL;
	}
	return VA_OK;
}

static int index_oid_ok(const char *txt)
{
	ASN1_OBJECT *o;

	if (txt[0] == '\0' || strlen(txt) >= INDEX_OID_MAX)
		return 0;
	o = OBJ_txt2obj(txt, 0);
	if (o == NULL)
		return 0;
	ASN1_OBJECT_free(o);
	return 1;
}

/* "date[,reason[,extra]]" */
static int index_parse_revocation(char *field, struct index_entry *e, const char **why)
{
	char *reason = NULL, *extra = NULL, *comma;
	int code;

	comma = strchr(field, ',');
	if (comma != NULL) {
		*comma = '\0';
		reason = comma + 1;
		comma = strchr(reason, ',');
		if (comma != NULL) {
			*comma = '\0';
			extra = comma + 1;
			if (strchr(extra, ',') != NULL) {
				*why = "revocation field has more than date,reason,extra";
				return VA_ERR_INVAL;
			}
		}
	}
	if (vtime_parse_asn1(field, strlen(field), &e->revoked_at) != VA_OK) {
		*why = "bad revocation date (want YYMMDDHHMMSSZ or YYYYMMDDHHMMSSZ)";
		return VA_ERR_INVAL;
	}
	e->reason = STORE_REASON_UNSPECIFIED;
	if (reason == NULL)
		return VA_OK;
	if (reason[0] == '\0') {
		*why = "empty revocation reason after the comma";
		return VA_ERR_INVAL;
	}
	e->has_reason = 1;
	/* The pseudo reasons `openssl ca` writes when a reason carries an argument (apps/ca.c). */
	if (strcasecmp(reason, "keyTime") == 0) {
		code = STORE_REASON_KEY_COMPROMISE;
	} else if (strcasecmp(reason, "CAkeyTime") == 0) {
		code = STORE_REASON_CA_COMPROMISE;
	} else if (strcasecmp(reason, "holdInstruction") == 0) {
		code = STORE_REASON_CERTIFICATE_HOLD;
	} else {
		code = store_reason_parse(reason);
		if (code < 0) {
			*why = "unknown revocation reason";
			return VA_ERR_INVAL;
		}
		if (code == STORE_REASON_REMOVE_FROM_CRL) {
			*why = "removeFromCRL is a delta-CRL action, not a revocation state";
			return VA_ERR_INVAL;
		}
	}
	e->reason = code;
	if ((strcasecmp(reason, "keyTime") == 0 || strcasecmp(reason, "CAkeyTime") == 0) && extra == NULL) {
		*why = "keyTime/CAkeyTime without a compromise time";
		return VA_ERR_INVAL;
	}
	if (strcasecmp(reason, "holdInstruction") == 0 && extra == NULL) {
		*why = "holdInstruction without an instruction OID";
		return VA_ERR_INVAL;
	}
	if (extra == NULL)
		return VA_OK;
	switch (code) {
	case STORE_REASON_KEY_COMPROMISE:
	case STORE_REASON_CA_COMPROMISE:
		if (vtime_parse_asn1(extra, strlen(extra), &e->invalidity) != VA_OK) {
			*why = "bad compromise time (want YYYYMMDDHHMMSSZ)";
			return VA_ERR_INVAL;
		}
		e->has_invalidity = 1;
		return VA_OK;
	case STORE_REASON_CERTIFICATE_HOLD:
		if (!index_oid_ok(extra)) {
			*why = "bad hold instruction OID";
			return VA_ERR_INVAL;
		}
		memcpy(e->hold_oid, extra, strlen(extra) + 1);
		return VA_OK;
	default:
		*why = "this revocation reason takes no argument";
		return VA_ERR_INVAL;
	}
}

int index_line_parse(char *buf, size_t len, struct index_entry *e, const char **why)
{
	char *f[INDEX_FIELDS];
	int rc;

	*why = "";
	memset(e, 0, sizeof(*e));
	if (len == 0 || buf[0] == '#')
		return INDEX_LINE_SKIP;
	if (len > INDEX_LINE_MAX) {
		*why = "line too long";
		return VA_ERR_RANGE;
	}
	if (memchr(buf, '\0', len) != NULL) {
		*why = "NUL byte in line";
		return VA_ERR_INVAL;
	}
	rc = index_split(buf, len, f, why);
	if (rc != VA_OK)
		return rc;
	if (strlen(f[0]) != 1 || (f[0][0] != 'V' && f[0][0] != 'R' && f[0][0] != 'E')) {
		*why = "bad status (want V, R or E)";
		return VA_ERR_INVAL;
	}
	e->status = f[0][0];
	if (vtime_parse_asn1(f[1], strlen(f[1]), &e->expiry) != VA_OK) {
		*why = "bad expiry date (want YYMMDDHHMMSSZ or YYYYMMDDHHMMSSZ)";
		return VA_ERR_INVAL;
	}
	if (e->status == 'R') {
		if (f[2][0] == '\0') {
			*why = "status R without a revocation date";
			return VA_ERR_INVAL;
		}
		rc = index_parse_revocation(f[2], e, why);
		if (rc != VA_OK)
			return rc;
	} else if (f[2][0] != '\0') {
		*why = "revocation field set on a V or E line";
		return VA_ERR_INVAL;
	}
	rc = index_serial_parse(f[3], &e->serial);
	if (rc == VA_ERR_RANGE) {
		*why = "serial longer than the store accepts";
		return rc;
	}
	if (rc != VA_OK) {
		*why = "bad serial (want hex digits)";
		return rc;
	}
	e->file = f[4];
	e->subject = f[5];
	return VA_OK;
}

void index_entry_to_rec(const struct index_entry *e, struct store_cert_rec *rec)
{
	memset(rec, 0, sizeof(*rec));
	rec->not_after = e->expiry;
	if (e->status != 'R') {
		rec->status = STORE_GOOD;
		return;
	}
	rec->status = e->reason == STORE_REASON_CERTIFICATE_HOLD ? STORE_HOLD : STORE_REVOKED;
	rec->reason = (uint8_t)e->reason;
	rec->revoked_at = e->revoked_at;
	rec->has_invalidity = (uint8_t)e->has_invalidity;
	rec->invalidity = e->has_invalidity ? e->invalidity : 0;
}

void index_entry_from_rec(const struct store_serial *serial, const struct store_cert_rec *rec, int64_t now,
			  struct index_entry *e)
{
	memset(e, 0, sizeof(*e));
	e->serial = *serial;
	e->expiry = rec->not_after;
	e->file = "unknown";
	e->subject = "";
	if (rec->status == STORE_GOOD) {
		e->status = rec->not_after != 0 && rec->not_after < now ? 'E' : 'V';
		return;
	}
	e->status = 'R';
	e->revoked_at = rec->revoked_at;
	e->reason = rec->status == STORE_HOLD ? STORE_REASON_CERTIFICATE_HOLD : rec->reason;
	/* RFC 5280 5.3.1: reason code unspecified SHOULD be absent; without a name `openssl ca -gencrl` leaves the
	 * reasonCode extension out. */
	e->has_reason = e->reason != STORE_REASON_UNSPECIFIED;
	e->has_invalidity = rec->has_invalidity;
	e->invalidity = rec->invalidity;
}

/* Copies s escaping TABs as TXT_DB reads them back; returns the new offset or (size_t)-1 when out is full. */
static size_t index_put_escaped(char *out, size_t outlen, size_t o, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '\t') {
			if (o + 1 >= outlen)
				return (size_t)-1;
			out[o++] = '\\';
		}
		if (o + 1 >= outlen)
			return (size_t)-1;
		out[o++] = *s;
	}
	out[o] = '\0';
	return o;
}

int index_line_format(const struct index_entry *e, char *out, size_t outlen)
{
	char exp[VTIME_STR_MAX], rev[3 * VTIME_STR_MAX + 32] = "", serial[2 * LIM_SERIAL_MAX + 3];
	size_t o;
	int n;

	if (vtime_format_index(e->expiry, exp, sizeof(exp)) != VA_OK)
		return VA_ERR_RANGE;
	if (e->status == 'R') {
		char when[VTIME_STR_MAX], inv[VTIME_STR_MAX];

		if (vtime_format_index(e->revoked_at, when, sizeof(when)) != VA_OK)
			return VA_ERR_RANGE;
		if (e->has_invalidity && (e->reason == STORE_REASON_KEY_COMPROMISE ||
					  e->reason == STORE_REASON_CA_COMPROMISE)) {
			/* The compromise time is a GeneralizedTime in index.txt (apps/ca.c). */
			if (vtime_format_gen(e->invalidity, inv, sizeof(inv)) != VA_OK)
				return VA_ERR_RANGE;
			snprintf(rev, sizeof(rev), "%s,%s,%s", when,
				 e->reason == STORE_REASON_KEY_COMPROMISE ? "keyTime" : "CAkeyTime", inv);
		} else if (e->reason == STORE_REASON_CERTIFICATE_HOLD && e->hold_oid[0] != '\0') {
			snprintf(rev, sizeof(rev), "%s,holdInstruction,%s", when, e->hold_oid);
		} else if (e->has_reason) {
			snprintf(rev, sizeof(rev), "%s,%s", when, store_reason_name(e->reason));
		} else {
			snprintf(rev, sizeof(rev), "%s", when);
		}
	}
	index_serial_format(&e->serial, serial, sizeof(serial));
	n = snprintf(out, outlen, "%c\t%s\t%s\t%s\t", e->status, exp, rev, serial);
	if (n < 0 || (size_t)n >= outlen)
		return VA_ERR_RANGE;
	o = index_put_escaped(out, outlen, (size_t)n, e->file != NULL ? e->file : "unknown");
	if (o == (size_t)-1 || o + 2 > outlen)
		return VA_ERR_RANGE;
	out[o++] = '\t';
	o = index_put_escaped(out, outlen, o, e->subject != NULL ? e->subject : "");
	if (o == (size_t)-1 || o + 2 > outlen)
		return VA_ERR_RANGE;
	out[o++] = '\n';
	out[o] = '\0';
	return VA_OK;
}
