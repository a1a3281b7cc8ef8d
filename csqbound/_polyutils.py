"""Shared helpers of the expansion kernels: exact numbers, polynomial input, the tolerance.

Private, like numpy's ``polynomial.polyutils`` under ``hermite_e``: :mod:`csqbound.walsh`
and :mod:`csqbound.hermite` (pure kernels) use these helpers, and
:mod:`csqbound.expansion` (the public wrappers) turns the kernels' plain
:class:`Spectrum` into an :class:`~csqbound.expansion.Expansion`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import sympy
from sympy.polys.rings import PolyRing

from csqbound._validation import as_float
from csqbound.errors import ExpansionError, shorten
from csqbound.monomial import Monomial

__all__ = [
    "DEFAULT_TOL",
    "Spectrum",
    "Terms",
    "check_coefficient",
    "check_tol",
    "exact_simplify",
    "has_float",
    "polynomial_input",
]

#: The one default relative tolerance of numeric expansions and of the numeric
#: subspace greedy: a coefficient ``c`` with ``|c| <= DEFAULT_TOL * ||h||`` counts as zero.
DEFAULT_TOL = 1e-9


class Spectrum(NamedTuple):
    """What a kernel computed: the coefficients and how they were obtained (plain data)."""

    coefficients: Mapping[Monomial, Any]
    method: str
    exact: bool = True
    tol: float | None = None
    error: float | None = None
    truncation: float | None = None
    max_degree: int | None = None


def check_tol(tol: float | None) -> float:
    """The tolerance to use: :data:`DEFAULT_TOL` for ``None``, else a finite ``tol >= 0``."""
    if tol is None:
        return DEFAULT_TOL
    return as_float(tol, "tol", strict=False)  # type: ignore[return-value]


def exact_simplify(value: sympy.Expr) -> sympy.Expr:
    """Canonical form of an exact number, with a reliable test for zero."""
    c = sympy.expand(sympy.sympify(value, strict=True))
    if c == 0 or c.is_zero:
        return sympy.Integer(0)
    if c.is_Rational or c.has(sympy.Float):
        return c
    # an algebraic expression: only a numerically tiny one needs the expensive zero test
    try:
        magnitude = abs(complex(c.evalf(60)))
    except (TypeError, ValueError):  # pragma: no cover - non-numeric, caught by the caller
        return c
    if magnitude < 1e-40 and (sympy.simplify(c) == 0 or c.equals(0)):
        return sympy.Integer(0)
    return sympy.radsimp(c) if c.has(sympy.Pow) else c


def check_coefficient(value: sympy.Expr, expr: sympy.Expr) -> None:
    """Refuse a coefficient that depends on other symbols or is not real."""
    if value.free_symbols:
        msg = (
            f"the expression {expr} has coefficient {value}, which depends on symbols other "
            "than the variables x1..xP; substitute numbers for them first"
        )
        raise ExpansionError(msg)
    if value.is_real is False:
        msg = f"the expression {expr} has a non-real coefficient {value}; targets must be real"
        raise ExpansionError(msg)


class Terms(NamedTuple):
    """A polynomial as ``{exponents: coefficient}`` in the coefficients' own domain."""

    domain: Any  # a sympy Domain (ZZ, QQ, EX, an algebraic field, ...)
    terms: dict[tuple[int, ...], Any]
    coordinates: list[int]  # the 1-based coordinate of each exponent position


def _sparse_terms(expr: sympy.Expr, gens: list[sympy.Symbol]) -> tuple[Any, dict[Any, Any]]:
    """``expr`` expanded in a sparse polynomial ring: rationals when they suffice, else EX."""
    for domain in (sympy.QQ, sympy.EX):
        ring = PolyRing(gens, domain)
        try:
            return domain, dict(ring.from_expr(expr))
        except ValueError:  # an irrational constant does not convert to QQ
            continue
    msg = f"{shorten(expr)} has coefficients sympy cannot represent"  # pragma: no cover
    raise ExpansionError(msg)  # pragma: no cover


def _poly(expr: sympy.Expr, symbols: Sequence[sympy.Symbol]) -> Terms:
    """``expr`` as a polynomial in the symbols it uses, with their 1-based coordinates.

    Only the symbols that occur are generators: ``x1000*x1`` is a polynomial in two
    variables, not in a thousand. The expansion is done in a sparse polynomial ring
    (sympy's ``Poly`` would first expand symbolically, 20 s for
    ``(x1 + ... + x20)**4``, and its dense form recurses once per variable).
    """
    present = expr.free_symbols
    used = [(i + 1, s) for i, s in enumerate(symbols) if s in present]
    if not used:  # a constant in these symbols: a polynomial in a dummy variable
        used = [(1, symbols[0])]
    gens = [s for _, s in used]
    if not expr.is_polynomial(*gens):
        msg = (
            f"{shorten(expr)} is not a polynomial in x1..x{len(symbols)}; "
            "expand it from its truth table instead (boolean_expansion does this)"
        )
        raise ExpansionError(msg)
    domain, terms = _sparse_terms(expr, gens)
    return Terms(domain, terms, [i for i, _ in used])


def polynomial_input(
    expr: object, symbols: Sequence[sympy.Symbol], caller: str
) -> tuple[sympy.Expr, dict[Monomial, sympy.Expr] | None, Terms | None]:
    """Validate a kernel's input: ``(expr, constant expansion or None, polynomial terms)``.

    Text is refused (it would be parsed by sympify, never by csqbound's safe parser);
    with no symbols the expression is a constant and its expansion is returned at once.
    """
    if isinstance(expr, str):
        msg = (
            f"{caller}() takes a sympy expression, not text; for text use "
            "csqbound.expand(text) (parsed safely, never evaluated)"
        )
        raise ExpansionError(msg)
    value = sympy.sympify(expr, strict=True)
    if not symbols:
        number = exact_simplify(value)
        check_coefficient(number, value)
        return value, ({} if number == 0 else {Monomial(()): number}), None
    return value, None, _poly(value, symbols)


def has_float(expr: sympy.Expr) -> bool:
    """Whether the expression holds a float (then its expansion is numeric)."""
    return bool(expr.has(sympy.Float))
