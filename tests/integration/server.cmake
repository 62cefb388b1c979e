# Integration tests of the gRPC layer's server in this process, on loopback.
fanout_integration_test(it_server_shared_loop SOURCES test_it_server_shared_loop.c LIBS fanout_protos)
