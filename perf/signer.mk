# perf/bench_signer: the signer's raw signing rate.
BENCHES += bench_signer
