# Unit tests of token authentication; keys and tokens come from tests/support/auth_fixture.py
# (PyJWT, Debian's python3-jwt), run by the tests.
fanout_unit_test(test_agg_jwt SOURCES test_agg_jwt.c ${CMAKE_SOURCE_DIR}/tests/support/testjwt.c
                 LIBS fanout_agg_logic)
target_include_directories(test_agg_jwt PRIVATE ${CMAKE_SOURCE_DIR}/tests/support)
target_compile_definitions(test_agg_jwt PRIVATE FANOUT_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
fanout_unit_test(test_agg_auth_config SOURCES test_agg_auth_config.c LIBS fanout_agg_logic)
