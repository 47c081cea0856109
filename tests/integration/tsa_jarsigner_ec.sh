#!/usr/bin/env bash
# tsa_jarsigner.sh with the EC P-256 variant of the demo PKI: ECDSA-signed tokens verified by jarsigner.
TSA_KEYTYPE=ec exec bash "$(dirname "$0")/tsa_jarsigner.sh"
