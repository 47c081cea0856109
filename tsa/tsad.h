/*
 * tsad.h: the timestamp authority service: configuration (section tsad), start-up checks, HTTP glue, reload.
 *
 * Configuration keys of the tsad section (all validated with file and line; unknown keys are errors):
 *   http                 group, the common HTTP limits (common/config.h)
 *   signer    (required) name of an entry of the signers list; its certificate is the TSA certificate
 *   name                 store counter "tsa-serial/NAME" from which serial blocks are reserved ("tsa")
 *   policy    (required) default TSA policy OID (dotted)
 *   accepted_policies    further reqPolicy OIDs accepted (the default one always is)
 *   digests              accepted imprint algorithms (["sha256", "sha384", "sha512"]; "sha1" only if listed)
 *   accuracy_ms          declared accuracy, 0..3600000 (1000); 0 leaves accuracy out of the tokens
 *   precision_ms         genTime with milliseconds (true)
 *   tsa_name             include the TSA certificate's subject as TSTInfo.tsa (false)
 *   require_clock_sync   refuse tokens and fail /readyz while the kernel clock is unsynchronised (false)
 *   verify_tokens        verify each signature with the TSA certificate before sending it (false)
 *   serial_block         serials per durable reservation, 2..1000000 (LIM_TSA_SERIAL_BLOCK)
 *
 * At start the TSA certificate must carry exactly one extended key usage, id-kp-timeStamping, in a critical
 * extension (RFC 3161 2.3), and be within its validity period; otherwise tsad refuses to start.
 */
#ifndef VA_TSA_TSAD_H
#define VA_TSA_TSAD_H

#include <openssl/x509.h>

#include "err.h"

/* Runs tsad with the configuration file at path; check_only: validate (including the certificate) and exit.
 * Returns the process exit status. */
int tsad_run(const char *path, int check_only);

/* The RFC 3161 2.3 certificate rule and the validity period at now (seconds). 0, or VA_ERR_CONFIG with *why set
 * to a static explanation. */
VA_MUST_CHECK int tsad_cert_check(X509 *cert, time_t now, const char **why);

#endif
