# Integration test of client-side load balancing: three mock replicas of one feature behind one
# aggregator target (an ipv4: address list), round_robin against pick_first.
fanout_integration_test(it_lb SOURCES test_it_lb.c ${CMAKE_SOURCE_DIR}/tests/support/testload.c LIBS fanout_protos)
