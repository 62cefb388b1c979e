# Floods (issue #25): real processes under a low open-files limit and in a memory cgroup. Heavy
# and timing-bound: they hold the "flood" lock and run alone (RUN_SERIAL), never beside another
# test. 77 is a skip (with its reason on stdout).
# Debian's python3, as the metrics tests use (no find_package: the image's build stage has none).
add_test(NAME it_flood_files COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/flood_files.py
                                     ${CMAKE_BINARY_DIR})
set_tests_properties(it_flood_files PROPERTIES LABELS integration TIMEOUT 240 RUN_SERIAL TRUE RESOURCE_LOCK flood
                                               SKIP_RETURN_CODE 77)
# The memory flood (scripts/bench-flood.sh --check): h2load against an aggregator in a 256 MiB
# memory cgroup (cgroup v1 or v2; as root). Skipped where no cgroup can be made and in a sanitized
# build, whose RSS says nothing: scripts/test.sh runs it on the Release build-bench too.
add_test(NAME it_flood_memory COMMAND ${CMAKE_SOURCE_DIR}/scripts/bench-flood.sh --check --cgroup 256 --requests 50000
                                      --bin ${CMAKE_BINARY_DIR})
set_tests_properties(it_flood_memory PROPERTIES LABELS integration TIMEOUT 240 RUN_SERIAL TRUE RESOURCE_LOCK flood
                                                SKIP_RETURN_CODE 77)
