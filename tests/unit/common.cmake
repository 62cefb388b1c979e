# Unit tests of common/.
fanout_unit_test(test_fo_util SOURCES test_fo_util.c LIBS fanout_util)
fanout_unit_test(test_fo_parse SOURCES test_fo_parse.c LIBS fanout_util)
fanout_unit_test(test_fo_json SOURCES test_fo_json.c LIBS fanout_util)
fanout_unit_test(test_runner SOURCES test_runner.c LIBS fanout_runner)
fanout_unit_test(test_fo_arena SOURCES test_fo_arena.c LIBS fanout_util fanout_protos)
fanout_unit_test(test_fo_log SOURCES test_fo_log.c LIBS fanout_util)
fanout_unit_test(test_fo_cpus SOURCES test_fo_cpus.c LIBS fanout_util)
fanout_unit_test(test_fo_limits SOURCES test_fo_limits.c LIBS fanout_util)
# The accept4 and close in front of gRPC's listener: the connection cap and EMFILE (issue #25).
fanout_unit_test(test_fo_server_accept SOURCES test_fo_server_accept.c LIBS fanout_rpc)
fanout_unit_test(test_fo_loop SOURCES test_fo_loop.c LIBS fanout_rpc)
fanout_unit_test(test_fo_http SOURCES test_fo_http.c LIBS fanout_http)
fanout_unit_test(test_fo_trace SOURCES test_fo_trace.c LIBS fanout_util)
