# Unit tests of tools/ (child processes; the blocking calls are exercised by the integration tests).
fanout_unit_test(test_tool_proc SOURCES test_tool_proc.c LIBS fanout_tools)
