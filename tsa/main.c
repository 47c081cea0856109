/* tsad: the RFC 3161 / RFC 5816 timestamp authority. */
#include <stdio.h>
#include <unistd.h>

#include "log.h"
#include "tsad.h"

static void usage(void)
{
	fprintf(stderr, "usage: tsad [-n] -c FILE\n"
			"  -c FILE  configuration file (sections log, store, signers, tsad)\n"
			"  -n       check the configuration (and the TSA certificate) and exit\n");
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
	log_init("tsad", 0, LOG_LVL_INFO);
	return tsad_run(path, check);
}
