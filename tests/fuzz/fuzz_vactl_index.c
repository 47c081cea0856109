/* Fuzz target for vactl's index.txt line parser: every input line is parsed; an accepted line must be written
 * back by index_line_format and parse again to the same entry (the parser and the writer agree). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../vactl/index.h"
#include "../../vactl/vtime.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char fz_line[INDEX_LINE_MAX + 2];
static char fz_out[INDEX_LINE_MAX * 2 + 64];
static char fz_again[INDEX_LINE_MAX * 2 + 64];

static void fz_one(const uint8_t *p, size_t len)
{
	struct index_entry e, e2;
	const char *why;
	char tail[64];
	int64_t t;
	size_t outlen;

	if (len > INDEX_LINE_MAX + 1)
		len = INDEX_LINE_MAX + 1;
	memcpy(fz_line, p, len);
	if (index_line_parse(fz_line, len, &e, &why) != VA_OK) {
		/* Also the command-line time parser, on the same bytes. */
		if (len < sizeof(tail)) {
			memcpy(tail, p, len);
			tail[len] = '\0';
			if (vtime_parse_cli(tail, &t) == VA_OK && vtime_format_iso(t, tail, sizeof(tail)) != VA_OK)
				abort();
		}
		return;
	}
	if (index_line_format(&e, fz_out, sizeof(fz_out)) != VA_OK)
		return; /* a valid time outside what the writer can express */
	outlen = strlen(fz_out);
	if (outlen == 0 || fz_out[outlen - 1] != '\n')
		abort();
	memcpy(fz_again, fz_out, outlen + 1);
	if (index_line_parse(fz_again, outlen - 1, &e2, &why) != VA_OK)
		abort();
	if (e2.status != e.status || e2.expiry != e.expiry || memcmp(&e2.serial, &e.serial, sizeof(e.serial)) != 0 ||
	    e2.revoked_at != e.revoked_at || e2.reason != e.reason || e2.has_invalidity != e.has_invalidity ||
	    (e.has_invalidity && e2.invalidity != e.invalidity) || strcmp(e2.subject, e.subject) != 0 ||
	    strcmp(e2.file, e.file) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p = data, *end = data + size;

	while (p < end) {
		const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = (size_t)((nl != NULL ? nl : end) - p);

		fz_one(p, len);
		p = nl != NULL ? nl + 1 : end;
	}
	return 0;
}
