# The admin listeners and the metrics (tests/integration/it_metrics.py, Python for the parsing):
# every family moving as expected under success, each failure kind and refusal, promtool check
# metrics on live scrapes, /healthz and /readyz (503 while draining).
add_test(NAME it_metrics COMMAND python3 ${CMAKE_CURRENT_SOURCE_DIR}/it_metrics.py ${CMAKE_BINARY_DIR})
set_tests_properties(it_metrics PROPERTIES LABELS integration TIMEOUT 120)
