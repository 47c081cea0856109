/*
 * test_store_lib.h: helpers shared by the store's unit tests (temporary directories, throw-away CA
 * certificates, serials from integers).
 */
#ifndef VA_TEST_STORE_LIB_H
#define VA_TEST_STORE_LIB_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

/* Creates a fresh directory under $TMPDIR (or /tmp) into buf; aborts the test program on failure. */
void tsl_mkdtemp(char *buf, size_t len);
/* Removes a directory tree (ignores errors). */
void tsl_rmtree(const char *path);
/* A fresh self-signed EC P-256 CA certificate with subject CN=cn, DER in *der (free() it). 0 on success. */
int tsl_make_ca(const char *cn, uint8_t **der, size_t *len);
/* Serial from an unsigned 64-bit value (canonical). */
struct store_serial tsl_serial(uint64_t v);
/* A 16-octet pseudo-random serial, deterministic in (seed, i), with a non-zero leading octet. */
struct store_serial tsl_serial_rand(uint64_t seed, uint64_t i);
/* Good record with notAfter. */
struct store_cert_rec tsl_good(int64_t not_after);
struct store_cert_rec tsl_revoked(int64_t not_after, int reason, int64_t when);

#endif
