# Unit tests of common/fo_reflection (its descriptor index). The health and
# reflection services themselves are tested over the wire in
# tests/integration/reflection.cmake.
fanout_unit_test(test_reflection SOURCES test_reflection.c LIBS fanout_services)
