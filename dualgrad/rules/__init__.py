"""The rule table, a module per family. Importing this package registers every rule."""
from . import conv, decompositions, elementwise, linalg, nn, reductions, shape, special  # noqa: F401
