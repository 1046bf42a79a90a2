"""Neural-network functions: activations, softmax, losses, normalisation, dropout."""
__all__ = []
