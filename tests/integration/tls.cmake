# Integration tests of TLS and mutual TLS: mock service, aggregator and fanout-cli. The CLI is used
# when it has been built and skipped (with a message) otherwise, so no dependency on it here.
fanout_integration_test(it_tls SOURCES test_it_tls.c)
target_compile_definitions(it_tls PRIVATE FANOUT_SOURCE_DIR="${CMAKE_SOURCE_DIR}"
                                          FANOUT_CLI_BIN="$<TARGET_FILE:fanout-cli>")
