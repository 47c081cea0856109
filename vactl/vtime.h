/*
 * vtime.h: the time formats vactl reads and writes, all UTC, converted without the process time zone.
 *
 *   ASN.1 forms as OpenSSL's index.txt holds them: UTCTime "YYMMDDHHMMSSZ" (RFC 5280 4.1.2.5.1: YY >= 50 is
 *   19YY, else 20YY) and GeneralizedTime "YYYYMMDDHHMMSSZ" (RFC 5280 4.1.2.5.2: seconds, "Z", no fraction).
 *   ISO 8601 UTC, for the command line: "YYYY-MM-DDTHH:MM:SSZ" (also with a space for "T", "+00:00" for "Z",
 *   or a bare date "YYYY-MM-DD" meaning midnight UTC).
 * Every function is pure (no allocation, no global state). Errors: 0 or VA_ERR_INVAL.
 */
#ifndef VACTL_VTIME_H
#define VACTL_VTIME_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* Longest formatted time plus NUL ("YYYY-MM-DDTHH:MM:SSZ"). */
#define VTIME_STR_MAX 24

/* Parses exactly len bytes of UTCTime or GeneralizedTime (the length tells which) into seconds since the epoch.
 * Each field is range-checked (month 1-12, day within the month, hour < 24, minute < 60, second < 60). */
VA_MUST_CHECK int vtime_parse_asn1(const char *s, size_t len, int64_t *out);
/* A NUL-terminated command-line time: GeneralizedTime or one of the ISO 8601 forms above. */
VA_MUST_CHECK int vtime_parse_cli(const char *s, int64_t *out);
/* index.txt form: UTCTime for 1950..2049 (what `openssl ca` writes), GeneralizedTime otherwise.
 * out needs VTIME_STR_MAX bytes. VA_ERR_RANGE for years outside 0..9999. */
VA_MUST_CHECK int vtime_format_index(int64_t t, char *out, size_t outlen);
/* GeneralizedTime "YYYYMMDDHHMMSSZ". */
VA_MUST_CHECK int vtime_format_gen(int64_t t, char *out, size_t outlen);
/* ISO 8601 "YYYY-MM-DDTHH:MM:SSZ". */
VA_MUST_CHECK int vtime_format_iso(int64_t t, char *out, size_t outlen);

#endif
