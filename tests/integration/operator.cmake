# Integration tests of the operator surface: drain with a call in flight, fanout-cli output and exit
# codes, the health probe, aggregator --check-config.
fanout_integration_test(it_operator SOURCES test_it_operator.c LIBS fanout_protos)
add_dependencies(it_operator fanout-cli)
target_compile_definitions(it_operator PRIVATE FANOUT_CLI_BIN="$<TARGET_FILE:fanout-cli>")
