"""The release number, in a module of its own so that code inside the package (the
store's run keys) reads it without importing the :mod:`csqbound` facade."""

__version__ = "0.1.0"
