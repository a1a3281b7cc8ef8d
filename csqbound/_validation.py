"""Argument validation shared by the public functions (as hypothesis' ``internal/validation``).

Each helper checks one argument at the boundary and returns it converted, or
raises ``error`` (a :class:`~csqbound.errors.ParameterError` unless the caller
names another class, e.g. hypothesis' ``InvalidArgument`` for strategies) with a
message that names the argument, says what it must be and shows what it got.
"""

from __future__ import annotations

import math
import numbers

from csqbound.errors import ParameterError, shorten

__all__ = ["as_float", "as_int", "check_range", "is_integer"]


def is_integer(value: object) -> bool:
    """Whether ``value`` is an integer (``numbers.Integral``), booleans excluded.

    Examples
    --------
    >>> is_integer(3), is_integer(True), is_integer(3.0)
    (True, False, False)
    """
    return not isinstance(value, bool) and isinstance(value, numbers.Integral)


def as_int(
    value: object,
    name: str,
    minimum: int | None = None,
    *,
    error: type[Exception] = ParameterError,
) -> int:
    """``value`` as an ``int``, checked to be an integer ``>= minimum``.

    Examples
    --------
    >>> as_int(3, "seeds", 1)
    3
    >>> as_int(0, "seeds", 1)
    Traceback (most recent call last):
    ...
    csqbound.errors.ParameterError: seeds must be an integer >= 1, got 0
    """
    if not is_integer(value) or (minimum is not None and int(value) < minimum):  # type: ignore[call-overload]
        bound = "" if minimum is None else f" >= {minimum}"
        msg = f"{name} must be an integer{bound}, got {shorten(value, quote=True)}"
        raise error(msg)
    return int(value)  # type: ignore[call-overload]


def check_range(
    value: int,
    name: str,
    minimum: int | None = None,
    maximum: int | None = None,
    *,
    error: type[Exception] = ParameterError,
) -> int:
    """An integer checked to lie in ``[minimum, maximum]`` (either bound may be absent).

    Examples
    --------
    >>> check_range(5, "max_size", 0, 4)
    Traceback (most recent call last):
    ...
    csqbound.errors.ParameterError: max_size must be <= 4, got 5
    """
    if minimum is not None and value < minimum:
        msg = f"{name} must be >= {minimum}, got {value}"
        raise error(msg)
    if maximum is not None and value > maximum:
        msg = f"{name} must be <= {maximum}, got {value}"
        raise error(msg)
    return value


def as_float(
    value: object,
    name: str,
    *,
    positive: bool = False,
    allow_none: bool = False,
    strict: bool = True,
    error: type[Exception] = ParameterError,
) -> float | None:
    """``value`` as a finite ``float >= 0`` (``> 0`` when ``positive``), or ``None`` if allowed.

    With ``strict`` only real numbers (not booleans) are accepted; otherwise anything
    ``float()`` reads.

    Examples
    --------
    >>> as_float(0.5, "lr", positive=True)
    0.5
    >>> as_float(None, "stop_loss", allow_none=True) is None
    True
    >>> as_float(0.0, "lr", positive=True)
    Traceback (most recent call last):
    ...
    csqbound.errors.ParameterError: lr must be a finite number > 0, got 0.0
    """
    if value is None and allow_none:
        return None
    number: float | None = None
    if strict:
        if not isinstance(value, bool) and isinstance(value, numbers.Real):
            number = float(value)
    else:
        try:
            number = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            number = None
    if number is None or not math.isfinite(number) or number < 0 or (positive and number == 0):
        bound = "> 0" if positive else ">= 0"
        either = " (or None)" if allow_none else ""
        msg = f"{name} must be a finite number {bound}{either}, got {shorten(value, quote=True)}"
        raise error(msg)
    return number
