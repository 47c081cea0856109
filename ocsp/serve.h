/*
 * serve.h: ocspd's HTTP glue: RFC 5019/6960 transport (POST body, GET base64 path), RFC 5019 6.2 caching headers,
 * and configuration reload (SIGHUP) that swaps the responder without dropping connections.
 */
#ifndef OCSP_SERVE_H
#define OCSP_SERVE_H

#include "err.h"

/* Runs the daemon with the configuration file path until SIGTERM/SIGINT. check_only: load and validate the
 * configuration (and, if possible, the CAs and signers), print problems, and return. Returns a process exit
 * code. */
int ocspd_run(const char *path, int check_only);

#endif
