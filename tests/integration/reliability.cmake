# Reliability and hostile-input tests: a faulty fleet under load, features
# killed and restarted under load, hostile clients and hostile backends.
# Every name starts with "it_reliability" so that `ctest -R it_reliability`
# runs them all.
set(IT_REL_SHARED test_it_reliability.c)
fanout_integration_test(it_reliability_load SOURCES test_it_reliability_load.c ${IT_REL_SHARED}
                        ${CMAKE_SOURCE_DIR}/tests/support/testload.c LIBS fanout_protos)
# 30,000 requests under ASan on a shared machine (about 100 s): room beyond the default 300 s.
set_tests_properties(it_reliability_load PROPERTIES TIMEOUT 900)
fanout_integration_test(it_reliability_crash SOURCES test_it_reliability_crash.c ${IT_REL_SHARED}
                        ${CMAKE_SOURCE_DIR}/tests/support/testload.c LIBS fanout_protos)
fanout_integration_test(it_reliability_backends SOURCES test_it_reliability_backends.c ${IT_REL_SHARED}
                        LIBS fanout_protos)
fanout_integration_test(it_reliability_clients SOURCES test_it_reliability_clients.c ${IT_REL_SHARED}
                        ${CMAKE_SOURCE_DIR}/tests/support/testraw.c LIBS fanout_protos)
