# Unit tests of the extra feature calls: hedge delay and latency histogram, budget, retry rules, their config.
fanout_unit_test(test_agg_hedge SOURCES test_agg_hedge.c LIBS fanout_agg_logic)
