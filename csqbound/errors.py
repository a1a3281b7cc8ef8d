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
    "NotComputableError",
    "ParameterError",
    "ParseError",
    "shorten",
]

#: Most characters of user text quoted in one error message.
SHOWN_CHARACTERS = 60


def shorten(
    text: object, limit: int = SHOWN_CHARACTERS, around: int | None = None, quote: bool = False
) -> str:
    """User text as it may appear in a one-line error: printable, at most ``limit`` characters.

    Control characters and other unprintable ones are written as escapes
    (``repr`` style), and long text is cut to about ``limit`` characters, centred
    on the 0-based offset ``around`` when given, with ``...`` marking the cuts.

    Parameters
    ----------
    text
        Anything; it is converted with ``str`` (``repr`` with ``quote``). An int
        too large for Python to print is described instead.
    limit
        Largest number of characters kept (before the escapes and the dots).
    around
        Offset in ``text`` that must stay visible (the column of an error).
    quote
        Use ``repr`` (quotes around strings).

    Returns
    -------
    str

    Examples
    --------
    >>> shorten("x" * 100, limit=10)
    'xxxxxxxxxx...'
    >>> shorten("a" * 50 + "#" + "b" * 50, limit=10, around=50)
    '...aaaaa#bbbb...'
    >>> shorten(10**5000, quote=True)
    '<a int too large to print>'
    >>> print(shorten("x1" + chr(27) + "[31m"))
    x1\\x1b[31m
    """
    try:
        value = repr(text) if quote else str(text)
    except ValueError:  # an int beyond sys.get_int_max_str_digits()
        value = f"<a {type(text).__name__} too large to print>"
    if len(value) > limit:
        start = 0 if around is None else max(0, min(around - limit // 2, len(value) - limit))
        head = "..." if start > 0 else ""
        tail = "..." if start + limit < len(value) else ""
        value = head + value[start : start + limit] + tail
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in value)


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


class NotComputableError(ExpansionError):
    """A well-defined quantity that csqbound cannot compute exactly for this input.

    Raised instead of returning a possibly wrong number, e.g. by the exact SQ
    oracle when two values of the target on the cube agree to many digits but
    cannot be proved equal. ``reason`` says why, for callers that report the
    quantity as "not computable" and go on.
    """

    def __init__(self, message: str, reason: str | None = None):
        self.reason = reason if reason is not None else message
        super().__init__(message)


class ParameterError(CsqboundError):
    """An impossible parameter: ``d < P``, a negative rate, an empty grid, ..."""


class BackendUnavailableError(CsqboundError):
    """An array backend was requested whose package (extra) is not installed."""
