"""OpCases for the nn rules (see tests/harness.py for the format)."""
CASES = []
