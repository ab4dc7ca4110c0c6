"""Tools for developing Payoutkit, shared by the test suite and the benchmark (not shipped)."""
