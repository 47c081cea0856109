#!/usr/bin/env bash
# ocsp_nss.sh with the EC P-256 variant of the demo PKI: ECDSA-signed responses through NSS.
OCSP_KEYTYPE=ec exec bash "$(dirname "$0")/ocsp_nss.sh"
