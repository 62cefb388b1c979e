# Unit tests of token authentication; keys and tokens come from tests/support/auth_fixture.py
# (PyJWT, Debian's python3-jwt), run by the tests.
fanout_unit_test(test_agg_jwt SOURCES test_agg_jwt.c LIBS fanout_agg_logic)
target_compile_definitions(test_agg_jwt PRIVATE FANOUT_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
fanout_unit_test(test_agg_auth_config SOURCES test_agg_auth_config.c LIBS fanout_agg_logic)
