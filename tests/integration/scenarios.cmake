# The scenario files of tests/scenarios/, one ctest test each, run by fanout-harness against real
# mock_services and aggregator processes, whose paths it is given.
file(GLOB FANOUT_SCENARIOS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/scenarios/*.json)
foreach(scenario ${FANOUT_SCENARIOS})
  get_filename_component(scenario_name ${scenario} NAME_WE)
  add_test(NAME scenario_${scenario_name}
           COMMAND fanout-harness --mock-services $<TARGET_FILE:mock_services> --aggregator $<TARGET_FILE:aggregator>
                   ${scenario})
  set_tests_properties(scenario_${scenario_name} PROPERTIES LABELS integration TIMEOUT 120)
endforeach()
