"""OpCases for the shape rules (see tests/harness.py for the format)."""
CASES = []
