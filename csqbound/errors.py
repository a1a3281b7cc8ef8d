"""The exceptions csqbound raises.

Every error a user can provoke with bad input is a :class:`CsqboundError`
(a ``ValueError``), so ``except ValueError`` keeps working in user code and the
CLI can turn any of them into one line on stderr with exit code 2.
"""

from __future__ import annotations

__all__ = [
    "BackendUnavailableError",
    "CsqboundError",
    "DomainError",
    "ExpansionError",
    "ParameterError",
    "ParseError",
]


class CsqboundError(ValueError):
    """Base class of every error caused by bad input or an impossible request."""


class ParseError(CsqboundError):
    """An expression could not be parsed.

    Parameters
    ----------
    message
        What was wrong and how to fix it.
    token
        The offending piece of text, when known.
    position
        0-based column of the offending token in the input, when known.
    """

    def __init__(self, message: str, token: str | None = None, position: int | None = None):
        self.token = token
        self.position = position
        super().__init__(message)


class DomainError(CsqboundError):
    """An unknown domain, or an operation that does not apply to this domain."""


class ExpansionError(CsqboundError):
    """A target cannot be expanded as asked (too many variables, not polynomial, ...)."""


class ParameterError(CsqboundError):
    """An impossible parameter: ``d < P``, a negative rate, an empty grid, ..."""


class BackendUnavailableError(CsqboundError):
    """An array backend was requested whose package (extra) is not installed."""
