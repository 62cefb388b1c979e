# The admin listeners and the metrics (tests/integration/it_metrics.py, Python for the parsing):
# every family moving as expected under success, each failure kind and refusal, promtool check
# metrics on live scrapes, /healthz and /readyz (503 while draining).
add_test(NAME it_metrics COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/it_metrics.py ${CMAKE_BINARY_DIR})
set_tests_properties(it_metrics PROPERTIES LABELS integration TIMEOUT 120)

# deploy/prometheus with Debian's promtool: the scrape config and the alert rules check, and the
# rules' unit tests (alerts_test.yml) pass.
add_test(NAME deploy_prometheus_rules
         COMMAND sh -c "promtool check config prometheus.yml && promtool check rules alerts.yml && promtool test rules alerts_test.yml"
         WORKING_DIRECTORY ${CMAKE_SOURCE_DIR}/deploy/prometheus)
set_tests_properties(deploy_prometheus_rules PROPERTIES LABELS integration TIMEOUT 60)

# A real prometheus server scraping a running aggregator and the mocks (it_prometheus.py): its
# HTTP API finds the per-feature call counters equal to the calls made and to the mocks' counts.
add_test(NAME it_prometheus COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/it_prometheus.py ${CMAKE_BINARY_DIR})
set_tests_properties(it_prometheus PROPERTIES LABELS integration TIMEOUT 120)
