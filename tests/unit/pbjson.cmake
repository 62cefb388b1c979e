# Unit tests of common/fo_pbjson: the proto3 JSON mapping.
fanout_unit_test(test_pbjson SOURCES test_pbjson.c LIBS fanout_pbjson fanout_protos)
