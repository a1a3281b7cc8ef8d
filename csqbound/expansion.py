"""Expansions of a target in the orthogonal basis of its domain.

An :class:`Expansion` is the support of a target with its coefficients:
Fourier–Walsh coefficients ``h^(S)`` on the boolean domain, Hermite
coefficients ``h^(alpha)`` (of the *unnormalised* ``He_alpha``) on the gaussian
domain (THEORY.md section 1). :func:`expand` builds one from a target; the
algorithms live in :mod:`csqbound.walsh` and :mod:`csqbound.hermite`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeAlias

import sympy

from csqbound.errors import CsqboundError, ExpansionError, shorten
from csqbound.monomial import Domain, Monomial, check_domain

if TYPE_CHECKING:
    from csqbound.target import Target

__all__ = ["Coefficient", "Expansion", "check_scale", "expand", "format_coefficient"]

#: An exact coefficient is a sympy number (rational or algebraic, e.g. ``sqrt(2)/2``);
#: a numeric one is a float.
Coefficient: TypeAlias = sympy.Expr | float


def format_coefficient(value: Coefficient) -> str:
    """Print a coefficient: exact ones as sympy strings, floats with 12 significant digits.

    Examples
    --------
    >>> format_coefficient(sympy.Rational(-1, 2))
    '-1/2'
    >>> format_coefficient(sympy.sqrt(2) / 2)
    'sqrt(2)/2'
    >>> format_coefficient(0.125)
    '0.125'
    """
    if isinstance(value, float):
        return f"{value:.12g}"
    return sympy.sstr(value)


@dataclass(frozen=True)
class Expansion:
    """The support of a target with its coefficients.

    Parameters
    ----------
    domain
        ``"boolean"`` (Walsh basis ``chi_S``) or ``"gaussian"`` (Hermite basis ``He_alpha``).
    coefficients
        Non-zero coefficients only. Exact expansions hold sympy numbers, numeric
        ones hold floats.
    variables
        ``P``: the target depends on ``x1..xP``.
    exact
        Whether every coefficient is exact (no rounding was involved).
    tol
        Numeric expansions only: a coefficient ``c`` counted as zero when
        ``|c| <= tol * ||h||`` (THEORY section 1). ``None`` when exact.
    truncation
        Gaussian quadrature only: ``||f||^2 - sum_alpha h(alpha)^2 alpha!``, the
        mass beyond ``max_degree`` (plus quadrature error).
    max_degree
        Gaussian quadrature only: the largest total degree computed.
    method
        How it was obtained: ``"multilinear"``, ``"walsh"``, ``"hermite"``,
        ``"gauss-hermite"`` or ``"monomials"`` (given directly).
    error
        Numeric expansions only: an estimate of the absolute error of each coefficient.

    Examples
    --------
    >>> e = Expansion.from_monomials([{1}, {1, 2}], domain="boolean")
    >>> e.support
    (Monomial(x1), Monomial(x1*x2))
    >>> e.norm2
    2
    """

    domain: Domain
    coefficients: Mapping[Monomial, Any]
    variables: int
    exact: bool = True
    tol: float | None = None
    truncation: float | None = None
    max_degree: int | None = None
    method: str = "monomials"
    error: float | None = None
    _order: tuple[Monomial, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        check_domain(self.domain)
        for mono in self.coefficients:
            if self.domain == "boolean" and any(k > 1 for _, k in mono.powers):
                msg = f"boolean expansions are multilinear; got monomial {mono}"
                raise CsqboundError(msg)
            if mono.powers and mono.powers[-1][0] > self.variables:
                msg = f"monomial {mono} uses a coordinate beyond variables={self.variables}"
                raise CsqboundError(msg)
        order = tuple(sorted(self.coefficients, key=lambda m: (m.degree, m.powers)))
        object.__setattr__(self, "_order", order)

    @classmethod
    def from_monomials(
        cls,
        monomials: Iterable[object],
        domain: str = "boolean",
        coefficients: Iterable[Coefficient] | None = None,
    ) -> Expansion:
        """Build an expansion from monomials (coefficient 1 each unless given).

        Each monomial is a set of 1-based coordinates (boolean) or a mapping
        coordinate -> degree (gaussian) or a :class:`Monomial`.
        """
        dom = check_domain(domain)
        monos = [Monomial.coerce(m, dom) for m in monomials]
        coefs: list[Any] = (
            [sympy.Integer(1)] * len(monos)
            if coefficients is None
            else [_coefficient(c) for c in coefficients]
        )
        if len(coefs) != len(monos):
            msg = f"{len(monos)} monomials but {len(coefs)} coefficients"
            raise CsqboundError(msg)
        table: dict[Monomial, Any] = {}
        for m, c in zip(monos, coefs, strict=True):
            table[m] = table.get(m, 0) + c
        table = {m: c for m, c in table.items() if c != 0}
        variables = max((m.powers[-1][0] for m in table if m.powers), default=0)
        exact = not any(
            isinstance(c, float) or (isinstance(c, sympy.Basic) and c.has(sympy.Float))
            for c in table.values()
        )
        return cls(dom, table, variables, exact=exact)

    @property
    def support(self) -> tuple[Monomial, ...]:
        """Monomials with a non-zero coefficient, by degree then coordinates (constant included)."""
        return self._order

    def coefficient(self, monomial: object) -> Coefficient:
        """The coefficient of ``monomial`` (0 when absent)."""
        mono = Monomial.coerce(monomial, self.domain)
        return self.coefficients.get(mono, sympy.Integer(0) if self.exact else 0.0)

    def weight(self, monomial: Monomial) -> Coefficient:
        """``c^2`` (boolean) or ``c^2 alpha!`` (gaussian): the monomial's share of ``||f||^2``."""
        c = self.coefficients.get(monomial, 0)
        w = c * c if self.domain == "boolean" else c * c * monomial.factorial
        if not self.exact:
            return float(w)
        w = sympy.expand(w)
        return w if w.is_Rational else sympy.radsimp(w)

    @property
    def norm2(self) -> Coefficient:
        """``E[f^2]`` captured by the expansion (Parseval)."""
        if self.exact:
            return sympy.expand(sum((self.weight(m) for m in self._order), sympy.Integer(0)))
        return math.fsum(float(self.weight(m)) for m in self._order)

    @property
    def variance(self) -> Coefficient:
        """``Var f = ||f||^2 - (E f)^2``."""
        const = Monomial(())
        return self.norm2 - self.weight(const) if const in self.coefficients else self.norm2

    @property
    def max_total_degree(self) -> int:
        """The largest ``|alpha|`` in the support (0 for a constant)."""
        return max((m.degree for m in self._order), default=0)

    def __len__(self) -> int:
        return len(self._order)


def _coefficient(value: object) -> Coefficient:
    """A coefficient given by a user: numbers as they are, text through the safe parser."""
    from csqbound.parse import parse

    if isinstance(value, float):
        return value
    if isinstance(value, str):
        number = parse(value)
        if number.free_symbols:
            msg = f"a coefficient must be a number, got {shorten(value, quote=True)}"
            raise CsqboundError(msg)
        return number
    try:
        return sympy.sympify(value, strict=True)
    except sympy.SympifyError:
        msg = (
            f"cannot read {shorten(value, quote=True)} as a coefficient: give a number or a "
            "string like '1/2'"
        )
        raise CsqboundError(msg) from None


def expand(
    target: str | sympy.Expr | Target,
    domain: str = "boolean",
    *,
    max_degree: int = 8,
    tol: float | None = None,
) -> Expansion:
    """Expand a target in the basis of its domain.

    Boolean: exact multilinear reduction for polynomials, otherwise the truth
    table on ``{-1,1}^P`` and a fast Walsh–Hadamard transform (exact when the
    values are rational). Gaussian: exact Hermite conversion for polynomials,
    otherwise Gauss–Hermite quadrature up to ``max_degree`` with the truncation
    error reported.

    Parameters
    ----------
    target
        Expression text (parsed safely), a sympy expression or a :class:`~csqbound.target.Target`.
    domain
        ``"boolean"`` or ``"gaussian"``; ignored when ``target`` is a Target.
    max_degree
        Gaussian quadrature only: largest total degree computed.
    tol
        Numeric expansions only: relative threshold deciding "non-zero".

    Examples
    --------
    >>> e = expand("x1*x2 + x1**3")
    >>> {str(m): c for m, c in e.coefficients.items()}
    {'x1': 1, 'x1*x2': 1}
    >>> e = expand("x1**2", domain="gaussian")
    >>> sorted((str(m), c) for m, c in e.coefficients.items())
    [('1', 1), ('He2(x1)', 1)]
    """
    from csqbound.target import Target

    tgt = target if isinstance(target, Target) else Target.coerce(target, domain)
    match tgt.domain:
        case "boolean":
            from csqbound.walsh import boolean_expansion

            result = boolean_expansion(tgt, tol=tol)
        case "gaussian":
            from csqbound.hermite import gaussian_expansion

            result = gaussian_expansion(tgt, max_degree=max_degree, tol=tol)
        case _:  # pragma: no cover - Target validates its domain
            msg = f"unknown domain {tgt.domain!r}"
            raise CsqboundError(msg)
    check_scale(result)
    return result


def _as_float(value: Coefficient) -> float:
    """A coefficient or norm as a float (``inf`` when it overflows)."""
    try:
        return float(value)
    except OverflowError:
        return math.inf
    except TypeError:  # an exact irrational number: its size is bounded by the parser
        return float(sympy.N(value, 20))


def check_scale(expansion: Expansion) -> None:
    """Refuse an expansion whose size would break the float arithmetic downstream.

    ``E[f^2]`` must lie in ``[MIN_NORM2, MAX_NORM2]`` (or be 0) and every exact
    coefficient must have at most ``MAX_COEFFICIENT_BITS`` bits
    (:mod:`csqbound.limits`): variances, ``tau^2 / ||r||^2`` and losses are floats.

    Raises
    ------
    ExpansionError
        Saying how to rescale the target.

    Examples
    --------
    >>> check_scale(expand("x1/2"))
    >>> check_scale(expand("1e155*x1"))
    Traceback (most recent call last):
    ...
    csqbound.errors.ExpansionError: E[f^2] of the target is about 1.00E+310, above the limit ...
    """
    from csqbound import limits

    for mono, c in expansion.coefficients.items():
        if isinstance(c, sympy.Rational) and max(abs(int(c.p)), int(c.q)).bit_length() > (
            limits.MAX_COEFFICIENT_BITS
        ):
            msg = (
                f"the exact coefficient of {mono} has more than {limits.MAX_COEFFICIENT_BITS:,} "
                "bits (MAX_COEFFICIENT_BITS in csqbound.limits); use smaller numbers"
            )
            raise ExpansionError(msg)
    norm2 = expansion.norm2
    if isinstance(norm2, sympy.Rational):
        big = norm2 > sympy.Rational(limits.MAX_NORM2)
        small = 0 < norm2 < sympy.Rational(limits.MIN_NORM2)
        shown = f"about {sympy.Float(norm2, 3)}"
    else:
        value = _as_float(norm2)
        big = not value <= limits.MAX_NORM2
        small = 0 < value < limits.MIN_NORM2
        shown = f"about {value:.3g}" if math.isfinite(value) else "beyond 1e308"
    if big or small:
        bound, how = (
            ("above the limit 1e+200 (MAX_NORM2", "divide")
            if big
            else ("below the limit 1e-200 (MIN_NORM2", "multiply")
        )
        msg = (
            f"E[f^2] of the target is {shown}, {bound} in csqbound.limits): {how} it by "
            "a constant (leaps, supports and CSQ exponents do not depend on its scale)"
        )
        raise ExpansionError(msg)
