# Integration tests of the mock services: real mock_services processes on
# loopback, called through the project's own client layer. Every name starts
# with "it_mock" so that `ctest -R it_mock` runs them all.
set(IT_MOCK_SHARED test_it_mock.c)
fanout_integration_test(it_mock_service SOURCES test_it_mock_service.c ${IT_MOCK_SHARED}
                        LIBS fanout_mock_logic)
fanout_integration_test(it_mock_fault SOURCES test_it_mock_fault.c ${IT_MOCK_SHARED} LIBS fanout_mock_logic)
fanout_integration_test(it_mock_fleet SOURCES test_it_mock_fleet.c ${IT_MOCK_SHARED} LIBS fanout_mock_logic)
# The fleet tests run the shipped fleet file from the source tree.
target_compile_definitions(it_mock_fleet PRIVATE FANOUT_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
# The fleet in one process (--one-process): its own name, so `ctest -R it_mock_fleet` runs both layouts.
fanout_integration_test(it_mock_fleet_one_process SOURCES test_it_mock_fleet_one_process.c ${IT_MOCK_SHARED}
                        LIBS fanout_mock_logic)
