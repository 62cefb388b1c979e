# Unit tests of the aggregator logic.
fanout_unit_test(test_agg_config SOURCES test_agg_config.c LIBS fanout_agg_logic)
fanout_unit_test(test_agg_validate SOURCES test_agg_validate.c LIBS fanout_agg_logic)
fanout_unit_test(test_agg_reduce SOURCES test_agg_reduce.c LIBS fanout_agg_logic)
fanout_unit_test(test_agg_reply SOURCES test_agg_reply.c LIBS fanout_agg_logic)
fanout_unit_test(test_agg_breaker SOURCES test_agg_breaker.c LIBS fanout_agg_logic)
fanout_unit_test(test_agg_deadline SOURCES test_agg_deadline.c LIBS fanout_agg_logic)
fanout_unit_test(test_agg_http SOURCES test_agg_http.c LIBS fanout_agg_logic)
