# perf/bench_store: import rate, lookup latency and bytes per certificate of the LMDB store.
#   build/perf/bench_store [-k] [-l LOOKUPS] [-d DIR] N
BENCHES += bench_store
bench_store_SRCS := tests/unit/test_store_lib.c
