#!/usr/bin/env bash
# make bench: runs the benchmark suites (default: all that exist) and collects figures in perf/out/results.txt.
# Usage: perf/run.sh [store|signer|ocsp|tsa|crl ...]   Env: DURATION (s per wrk run), SERVER_CPU, LOAD_CPU.
# The figures that matter are copied, as ratios against the peers of the same run, into perf/RESULTS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
suites=("$@")
[ ${#suites[@]} -gt 0 ] || suites=(store signer ocsp tsa crl)
mkdir -p perf/out
echo "# $(date -u +%FT%TZ) $(uname -m) $(nproc) cores: ${suites[*]}" >> perf/out/results.txt
for s in "${suites[@]}"; do
	if [ -x "perf/bench_$s.sh" ]; then
		echo "== $s"
		"perf/bench_$s.sh"
	else
		echo "== $s: no perf/bench_$s.sh yet, skipped"
	fi
done
