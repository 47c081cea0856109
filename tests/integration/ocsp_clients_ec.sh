#!/usr/bin/env bash
# ocsp_clients.sh with the EC P-256 variant of the demo PKI: ECDSA-signed responses through the same clients.
OCSP_KEYTYPE=ec exec bash "$(dirname "$0")/ocsp_clients.sh"
