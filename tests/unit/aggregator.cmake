# Unit tests of the aggregator logic.
