"""OpCases for the reductions rules (see tests/harness.py for the format)."""
CASES = []
