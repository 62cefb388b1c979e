# Graceful degradation: the early answer ahead of the caller's deadline and the per-feature circuit breakers.
fanout_integration_test(it_degrade SOURCES test_it_degrade.c test_it_reliability.c LIBS fanout_protos)
target_compile_definitions(it_degrade PRIVATE FANOUT_SOURCE_DIR="${CMAKE_SOURCE_DIR}"
                                              FANOUT_CLI_BIN="$<TARGET_FILE:fanout-cli>")
add_dependencies(it_degrade fanout-cli)
