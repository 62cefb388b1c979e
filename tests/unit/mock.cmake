# Unit tests of the mock services logic. Every name contains "mock" so that
# `ctest -R mock` runs them all.
fanout_unit_test(test_mock_data SOURCES test_mock_data.c LIBS fanout_mock_logic)
fanout_unit_test(test_mock_fault SOURCES test_mock_fault.c LIBS fanout_mock_logic)
fanout_unit_test(test_mock_profile SOURCES test_mock_profile.c LIBS fanout_mock_logic)
fanout_unit_test(test_mock_fleet_config SOURCES test_fleet_config.c LIBS fanout_mock_logic)
# The shipped fleet files are tested where they live.
target_compile_definitions(test_mock_fleet_config
                           PRIVATE MOCK_FLEET_DIR="${CMAKE_SOURCE_DIR}/mock_services")
