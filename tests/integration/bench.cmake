# Integration tests of fanout-bench, the load generator, against a real fleet and aggregator.
fanout_integration_test(it_bench SOURCES test_it_bench.c)
add_dependencies(it_bench fanout-bench)
target_compile_definitions(it_bench PRIVATE FANOUT_BENCH_BIN="$<TARGET_FILE:fanout-bench>")
