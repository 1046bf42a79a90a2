"""Convolution and pooling (NCHW activations, OIHW weights)."""
__all__ = []
