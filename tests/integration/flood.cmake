# Floods (issue #25): real processes under a low open-files limit and in a memory cgroup. Heavy
# and timing-bound: they hold the "flood" lock and run alone (RUN_SERIAL), never beside another
# test. 77 is a skip (with its reason on stdout).
find_package(Python3 REQUIRED COMPONENTS Interpreter)
add_test(NAME it_flood_files COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/flood_files.py
                                     ${CMAKE_BINARY_DIR})
set_tests_properties(it_flood_files PROPERTIES LABELS integration TIMEOUT 240 RUN_SERIAL TRUE RESOURCE_LOCK flood
                                               SKIP_RETURN_CODE 77)
