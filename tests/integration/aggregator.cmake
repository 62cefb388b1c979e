# Integration tests of the aggregator: a real mock fleet and real aggregators on loopback.
fanout_integration_test(it_agg_unary SOURCES test_it_agg_unary.c LIBS fanout_protos)
fanout_integration_test(it_agg_async SOURCES test_it_agg_async.c LIBS fanout_protos)
fanout_integration_test(it_agg_fleet SOURCES test_it_agg_fleet.c LIBS fanout_protos)
# The tests read fleet files (mock_services/fleet-fast.json) from the source tree.
foreach(name it_agg_unary it_agg_async it_agg_fleet)
  target_compile_definitions(${name} PRIVATE FANOUT_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
endforeach()
fanout_integration_test(it_workers SOURCES test_it_workers.c ${CMAKE_SOURCE_DIR}/tests/support/testload.c
                        LIBS fanout_protos)
target_compile_definitions(it_workers PRIVATE FANOUT_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
# The W3C trace context from the caller through every feature call, in both processes' logs.
fanout_integration_test(it_trace SOURCES test_it_trace.c LIBS fanout_protos)
# Reload on SIGHUP: features added and removed under load, a broken file, changes for new requests only.
fanout_integration_test(it_reload SOURCES test_it_reload.c ${CMAKE_SOURCE_DIR}/tests/support/testload.c
                        ${CMAKE_SOURCE_DIR}/tests/support/testjwt.c LIBS fanout_protos)
target_compile_definitions(it_reload PRIVATE FANOUT_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
