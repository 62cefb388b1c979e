# Unit tests of bench/ (the load generator's histogram).
fanout_unit_test(test_bench_histogram SOURCES test_bench_histogram.c LIBS fanout_bench_hist)
