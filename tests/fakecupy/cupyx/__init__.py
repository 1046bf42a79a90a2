"""cupyx of the NumPy stand-in for CuPy (tests only)."""
