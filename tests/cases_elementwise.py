"""OpCases for the elementwise rules (see tests/harness.py for the format)."""
CASES = []
