# Unit tests of harness/ (scenario files, the subset rule).
fanout_unit_test(test_hs_match SOURCES test_hs_match.c LIBS fanout_harness_logic)
fanout_unit_test(test_hs_scenario SOURCES test_hs_scenario.c LIBS fanout_harness_logic)
