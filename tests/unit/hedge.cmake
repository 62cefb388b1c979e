# Unit tests of the extra feature calls: hedge delay and latency histogram, budget, retry rules, their config.
fanout_unit_test(test_agg_hedge SOURCES test_agg_hedge.c ${CMAKE_SOURCE_DIR}/tests/support/testconfig.c LIBS fanout_agg_logic)
target_include_directories(test_agg_hedge PRIVATE ${CMAKE_SOURCE_DIR}/tests/support)
