/*
 * bench_tsa_parse: a fixed TimeStampReq parsed N times, to count tsa_request_parse's instructions with callgrind
 * (not a timing benchmark):
 *
 *   valgrind --tool=callgrind --toggle-collect=tsa_request_parse build/perf/bench_tsa_parse 1000
 *
 * The request is what `openssl ts -query -sha256 -cert` sends (NULL parameters, an 8-octet nonce, certReq TRUE).
 * One parse before the loop, so that one-time initialisation is counted once among N + 1, not per request.
 * Exits non-zero if any parse fails.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tsa/request.h"

static const uint8_t query[] = {
	0x30, 0x44, 0x02, 0x01, 0x01, 0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04,
	0x02, 0x01, 0x05, 0x00, 0x04, 0x20, 0xb6, 0x29, 0x0e, 0x4c, 0xd5, 0x67, 0x51, 0xcb, 0x74, 0x08, 0x68, 0xed,
	0xd1, 0x5f, 0x40, 0x3b, 0x4b, 0x4e, 0x64, 0x61, 0xb7, 0x96, 0x88, 0x9f, 0xa6, 0x07, 0xfe, 0x63, 0xd0, 0x09,
	0x0d, 0xc3, 0x02, 0x09, 0x00, 0xfb, 0xad, 0x99, 0x2a, 0x76, 0x50, 0x09, 0x2b, 0x01, 0x01, 0xff,
};

int main(int argc, char **argv)
{
	struct tsa_accept a;
	struct tsa_request rq;
	struct tsa_reject rej;
	long n = argc > 1 ? strtol(argv[1], NULL, 10) : 1000, ok = 0;

	if (n < 1 || n > 100000000) {
		fprintf(stderr, "usage: bench_tsa_parse [N]\n");
		return 2;
	}
	memset(&a, 0, sizeof(a));
	/* tsad's demo configuration: two policies, three digests */
	if (tsa_accept_set_policy(&a, "1.3.6.1.4.1.55555.1.1") != 0 ||
	    tsa_accept_add_policy(&a, "1.3.6.1.4.1.55555.1.2") != 0 || tsa_accept_add_digest(&a, "sha256") != 0 ||
	    tsa_accept_add_digest(&a, "sha384") != 0 || tsa_accept_add_digest(&a, "sha512") != 0)
		return 1;
	ok += tsa_request_parse(&a, query, sizeof(query), &rq, &rej) == 0;
	for (long i = 0; i < n; i++)
		ok += tsa_request_parse(&a, query, sizeof(query), &rq, &rej) == 0;
	printf("%ld of %ld parses accepted\n", ok, n + 1);
	return ok == n + 1 ? 0 : 1;
}
