"""OpCases for the conv rules (see tests/harness.py for the format)."""
CASES = []
