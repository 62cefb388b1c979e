# Unit tests of common/fo_tls; certificates come from scripts/gen-certs.sh, run by the test.
fanout_unit_test(test_fo_tls SOURCES test_fo_tls.c LIBS fanout_tls)
target_compile_definitions(test_fo_tls PRIVATE FANOUT_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
