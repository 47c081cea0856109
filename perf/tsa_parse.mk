# perf/bench_tsa_parse: tsa_request_parse in a loop, for callgrind's instruction counts.
BENCHES += bench_tsa_parse
bench_tsa_parse_SRCS := tsa/request.c
