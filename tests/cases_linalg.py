"""OpCases for the linalg rules (see tests/harness.py for the format)."""
CASES = []
