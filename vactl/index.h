/*
 * index.h: OpenSSL `ca` database (index.txt) lines, parsed and written.
 *
 * A line has six TAB-separated fields (OpenSSL's TXT_DB; a TAB preceded by a backslash is part of the field):
 *   status      "V" valid, "R" revoked, "E" expired
 *   expiry      UTCTime YYMMDDHHMMSSZ or GeneralizedTime YYYYMMDDHHMMSSZ
 *   revocation  empty unless status is R: "date[,reason[,extra]]" where date is UTCTime or GeneralizedTime and
 *               reason is one of OpenSSL's names (unspecified, keyCompromise, CACompromise, affiliationChanged,
 *               superseded, cessationOfOperation, certificateHold, privilegeWithdrawn, AACompromise) or one of
 *               the forms `openssl ca` writes for an argument: keyTime,TIME (keyCompromise with its compromise
 *               time), CAkeyTime,TIME (CACompromise likewise), holdInstruction,OID (certificateHold with its hold
 *               instruction). keyCompromise,TIME / CACompromise,TIME / certificateHold,OID are accepted too.
 *               The compromise time is the invalidity date of the entry (RFC 5280 5.3.2), as `openssl ca
 *               -gencrl` puts it into the CRL. removeFromCRL is refused: it is a delta-CRL action, not a state.
 *   serial      hex (either case; leading zeros allowed; an optional "-" for the non-conforming negative ones)
 *   filename    usually "unknown"
 *   subject     the subject DN in OpenSSL's one-line form
 * Lines starting with "#" and empty lines are skipped (TXT_DB skips comments too).
 *
 * Nothing here allocates or keeps state: parsing works in place on the caller's buffer.
 */
#ifndef VACTL_INDEX_H
#define VACTL_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "store.h"

/* Longest index.txt line accepted (subjects of real certificates stay far below). */
#define INDEX_LINE_MAX 16384
/* Longest hold-instruction OID text. */
#define INDEX_OID_MAX 64

struct index_entry {
	char status;                 /* 'V', 'R' or 'E' */
	int64_t expiry;              /* notAfter, seconds since the epoch */
	struct store_serial serial;
	/* Revocation (status 'R' only). */
	int64_t revoked_at;
	int reason;                  /* enum store_reason; unspecified when the field names none */
	int has_reason;              /* the field named a reason */
	int has_invalidity;
	int64_t invalidity;          /* compromise time (keyTime/CAkeyTime) */
	char hold_oid[INDEX_OID_MAX]; /* hold instruction, "" when none */
	/* Point into the parsed line buffer; valid as long as it is. */
	const char *file;
	const char *subject;
};

enum { INDEX_LINE_SKIP = 1 };

/* Parses one line of len bytes (without its newline) in place: buf must have len + 1 writable bytes (fields are
 * NUL-terminated and escaped TABs unescaped inside it). Returns 0 with *e filled, INDEX_LINE_SKIP for a comment
 * or an empty line, or VA_ERR_INVAL / VA_ERR_RANGE with *why set to a static English reason. */
VA_MUST_CHECK int index_line_parse(char *buf, size_t len, struct index_entry *e, const char **why);

/* The store record an entry stands for: V/E -> good, R with certificateHold -> hold, other R -> revoked. */
void index_entry_to_rec(const struct index_entry *e, struct store_cert_rec *rec);
/* The entry for a store record: status E for a good certificate whose notAfter is before now; a hold is written
 * "date,certificateHold"; reason unspecified is written as a bare date (RFC 5280 5.3.1); an invalidity date is kept as keyTime/CAkeyTime (the only forms OpenSSL can read back)
 * and dropped for other reasons. The store keeps no file name or subject: file is set to "unknown" and subject to
 * "" (static strings); callers may point them elsewhere before formatting. */
void index_entry_from_rec(const struct store_serial *serial, const struct store_cert_rec *rec, int64_t now,
			  struct index_entry *e);
/* Writes e as one line with its newline into out; VA_ERR_RANGE if it does not fit or a time is out of range. */
VA_MUST_CHECK int index_line_format(const struct index_entry *e, char *out, size_t outlen);


/* Serial hex as in index.txt (see above); VA_ERR_INVAL or VA_ERR_RANGE (longer than LIM_SERIAL_MAX octets). */
VA_MUST_CHECK int index_serial_parse(const char *hex, struct store_serial *s);
/* Uppercase, an even number of digits, "00" for zero: what `openssl ca` writes. out needs
 * 2 * LIM_SERIAL_MAX + 3 bytes. */
void index_serial_format(const struct store_serial *s, char *out, size_t outlen);

#endif
