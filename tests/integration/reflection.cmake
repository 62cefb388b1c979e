# Integration tests of server reflection and health checking, on a real
# aggregator and a real mock service.
fanout_integration_test(test_reflection_health SOURCES test_reflection_health.c LIBS fanout_protos)
