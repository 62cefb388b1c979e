# Hedged feature calls, retries and their budget, through a real aggregator and mock fleet.
fanout_integration_test(it_hedge SOURCES test_it_hedge.c test_it_reliability.c LIBS fanout_protos)
# For agg_hedge.h's constants: how many losing hedges teach the aggregator to hold them back.
target_include_directories(it_hedge PRIVATE ${PROJECT_SOURCE_DIR}/aggregator)
