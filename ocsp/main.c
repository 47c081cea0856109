/* ocspd: the OCSP responder (RFC 6960, RFC 5019, RFC 8954). */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "log.h"
#include "serve.h"

static void usage(void)
{
	fprintf(stderr, "usage: ocspd [-n] -c FILE\n"
			"  -c FILE  configuration file (sections log, store, signers, ocspd)\n"
			"  -n       check the configuration and exit\n");
}

int main(int argc, char **argv)
{
	const char *path = NULL;
	int check = 0, ch;

	while ((ch = getopt(argc, argv, "c:nh")) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'n':
			check = 1;
			break;
		default:
			usage();
			return ch == 'h' ? 0 : 2;
		}
	}
	if (path == NULL || optind != argc) {
		usage();
		return 2;
	}
	log_init("ocspd", 0, LOG_LVL_INFO);
	return ocspd_run(path, check);
}
