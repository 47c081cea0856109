#!/usr/bin/env bash
# Installs, with apt-get, only the Debian 12 packages that are missing. Idempotent and quiet when all is there.
# Usage: scripts/deps.sh [build|run|test|bench]   (run and test imply build; bench implies test)
set -euo pipefail

want="${1:-build}"
build_pkgs=(gcc make pkg-config libssl-dev libmicrohttpd-dev liblmdb-dev libconfig-dev libcmocka-dev
            libp11-dev softhsm2 opensc openssl libengine-pkcs11-openssl)
test_pkgs=(curl gnutls-bin python3 python3-cryptography python3-rfc3161ng lmdb-utils faketime clang libclang-rt-14-dev nginx-light
           procps iproute2 wrk openjdk-17-jdk-headless osslsigncode libnss3-tools
           libp11-kit-dev)   # libp11-kit-dev: <p11-kit/pkcs11.h> for tests/tools/p11_hang.c
bench_pkgs=(linux-perf)
run_pkgs=(curl gnutls-bin)   # the commands `make run` prints use them

pkgs=("${build_pkgs[@]}")
case "$want" in
  build) ;;
  run) pkgs+=("${run_pkgs[@]}") ;;
  test) pkgs+=("${test_pkgs[@]}") ;;
  bench) pkgs+=("${test_pkgs[@]}" "${bench_pkgs[@]}") ;;
  *) echo "usage: $0 [build|run|test|bench]" >&2; exit 2 ;;
esac

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
echo "deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >/dev/null
# nginx-light must not start a server on port 80 behind our back: policy-rc.d forbids service starts.
if [ -z "$sudo" ] && [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
