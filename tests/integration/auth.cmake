# Integration tests of token authentication: keys and tokens from tests/support/auth_fixture.py
# (PyJWT), a mock pair, aggregators with auth, and fanout-cli --token for the stream.
fanout_integration_test(it_auth SOURCES test_it_auth.c ${CMAKE_SOURCE_DIR}/tests/support/testjwt.c
                        LIBS fanout_protos)
add_dependencies(it_auth fanout-cli)
target_compile_definitions(it_auth PRIVATE FANOUT_SOURCE_DIR="${CMAKE_SOURCE_DIR}"
                                           FANOUT_CLI_BIN="$<TARGET_FILE:fanout-cli>")
