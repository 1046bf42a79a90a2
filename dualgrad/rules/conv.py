"""Convolution and pooling (filled in by the conv family)."""
