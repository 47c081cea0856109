#!/usr/bin/env bash
# ocsp_java.sh with the EC P-256 variant of the demo PKI: ECDSA-signed responses through Java's OCSP client.
OCSP_KEYTYPE=ec exec bash "$(dirname "$0")/ocsp_java.sh"
