# Unit tests of the mock services logic.
