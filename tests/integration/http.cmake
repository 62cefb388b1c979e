# The HTTP/JSON face from curl and node's fetch, against a real fleet and aggregators.
add_test(NAME it_http COMMAND ${CMAKE_SOURCE_DIR}/tests/http/http-test.sh ${CMAKE_BINARY_DIR})
set_tests_properties(it_http PROPERTIES LABELS integration TIMEOUT 300)
add_test(NAME it_http_hostile COMMAND ${CMAKE_SOURCE_DIR}/tests/http/http-hostile.sh ${CMAKE_BINARY_DIR})
set_tests_properties(it_http_hostile PROPERTIES LABELS integration TIMEOUT 300)
