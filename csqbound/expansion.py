"""Expansions of a target in the orthogonal basis of its domain.

An :class:`Expansion` is the support of a target with its coefficients:
Fourier–Walsh coefficients ``h^(S)`` on the boolean domain, Hermite
coefficients ``h^(alpha)`` (of the *unnormalised* ``He_alpha``) on the gaussian
domain (THEORY.md section 1). :func:`expand` builds one from a target; the
kernels live in :mod:`csqbound.walsh` and :mod:`csqbound.hermite` and return
plain data, which :func:`boolean_expansion` and :func:`gaussian_expansion` wrap.

:func:`as_expansion` and :func:`as_support` are the one gate through which every
analysis (leaps, query leaps, CSQ bounds, predictions, ``iso_leap``) reads a
:data:`TargetLike` input.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeAlias

import sympy

from csqbound import limits
from csqbound._polyutils import Spectrum
from csqbound.display import html_table, short_repr, to_dataframe
from csqbound.errors import CsqboundError, DomainError, ExpansionError, shorten
from csqbound.hermite import gaussian_spectrum
from csqbound.monomial import Domain, Monomial, check_domain
from csqbound.parsing import parse
from csqbound.target import Target
from csqbound.walsh import boolean_spectrum

__all__ = [
    "Coefficient",
    "Expansion",
    "SupportLike",
    "TargetLike",
    "as_expansion",
    "as_support",
    "as_target",
    "boolean_expansion",
    "check_scale",
    "expand",
    "format_coefficient",
    "gaussian_expansion",
]

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


@dataclass(frozen=True, repr=False)
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

    def _number(self, value: Coefficient) -> str | float:
        """An exact number as its string (``"1/3"``, ``"sqrt(2)/2"``), a numeric one as float."""
        return format_coefficient(value) if self.exact else float(value)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: how the expansion was obtained, ``norm2``, and one record per monomial.

        Exact numbers are strings (``"1/3"``, ``"sqrt(2)/2"``), numeric ones floats;
        ``--format json`` adds a ``_float`` twin to each (docs/cli.md).

        Examples
        --------
        >>> e = Expansion.from_monomials([{1}, {1, 2}], coefficients=[sympy.Rational(1, 2), 1])
        >>> e.to_dict()["support"][0]
        {'monomial': 'x1', 'coefficient': '1/2', 'degree': 1, 'weight': '1/4'}
        """
        support = [
            {
                "monomial": str(m),
                "coefficient": self._number(self.coefficients[m]),
                "degree": m.degree,
                "weight": self._number(self.weight(m)),
            }
            for m in self._order
        ]
        return {
            "domain": self.domain,
            "variables": self.variables,
            "exact": self.exact,
            "method": self.method,
            "tol": self.tol,
            "coefficient_error": self.error,
            "truncation": self.truncation,
            "max_degree": self.max_degree,
            "norm2": self._number(self.norm2),
            "support": support,
        }

    def __repr__(self) -> str:
        """One line: domain, size, exactness, ``norm2`` and the start of the support."""
        return short_repr(
            "Expansion",
            domain=self.domain,
            variables=self.variables,
            terms=len(self._order),
            exact=self.exact,
            norm2=str(self._number(self.norm2)),
            support=", ".join(str(m) for m in self._order),
        )

    def _repr_html_(self) -> str:
        """A compact table for Jupyter: one row per monomial (the first 20)."""
        how = "exact" if self.exact else f"numeric ({self.method})"
        title = (
            f"Expansion on the {self.domain} domain, {how}: {len(self._order)} monomials, "
            f"E f^2 = {self._number(self.norm2)}"
        )
        rows = [
            (r["monomial"], r["coefficient"], r["degree"], r["weight"])
            for r in self.to_dict()["support"]
        ]
        return html_table(title, ["monomial", "coefficient", "degree", "weight"], rows)

    def to_dataframe(self) -> Any:
        """One row per monomial: ``monomial``, ``degree``, ``coefficient`` and ``weight``
        as printed (exact strings) and as floats (``coefficient_float``, ``weight_float``).

        Needs pandas (``pip install 'csqbound[pandas]'``).
        """
        records = [
            {
                "monomial": str(m),
                "degree": m.degree,
                "coefficient": str(self._number(self.coefficients[m])),
                "coefficient_float": _as_float(self.coefficients[m]),
                "weight": str(self._number(self.weight(m))),
                "weight_float": _as_float(self.weight(m)),
            }
            for m in self._order
        ]
        columns = ["monomial", "degree", "coefficient", "coefficient_float", "weight",
                   "weight_float"]  # fmt: skip
        return to_dataframe(records, columns)


def _coefficient(value: object) -> Coefficient:
    """A coefficient given by a user: numbers as they are, text through the safe parser."""
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

    See Also
    --------
    as_expansion : the same for any :data:`TargetLike`, an Expansion passing through.
    boolean_expansion, gaussian_expansion : the two routes, on a Target.

    Examples
    --------
    >>> e = expand("x1*x2 + x1**3")
    >>> {str(m): c for m, c in e.coefficients.items()}
    {'x1': 1, 'x1*x2': 1}
    >>> e = expand("x1**2", domain="gaussian")
    >>> sorted((str(m), c) for m, c in e.coefficients.items())
    [('1', 1), ('He2(x1)', 1)]
    """
    tgt = target if isinstance(target, Target) else Target.coerce(target, domain)
    match tgt.domain:
        case "boolean":
            result = boolean_expansion(tgt, tol=tol)
        case "gaussian":
            result = gaussian_expansion(tgt, max_degree=max_degree, tol=tol)
        case _:  # pragma: no cover - Target validates its domain
            msg = f"unknown domain {tgt.domain!r}"
            raise CsqboundError(msg)
    check_scale(result)
    return result


def _expansion(domain: Domain, target: Target, spectrum: Spectrum) -> Expansion:
    return Expansion(
        domain,
        spectrum.coefficients,
        target.variables,
        exact=spectrum.exact,
        tol=spectrum.tol,
        truncation=spectrum.truncation,
        max_degree=spectrum.max_degree,
        method=spectrum.method,
        error=spectrum.error,
    )


def boolean_expansion(target: Target, tol: float | None = None) -> Expansion:
    """The Fourier–Walsh expansion of a target on the boolean domain.

    Polynomials are reduced exactly by ``x_i^2 = 1`` (method ``"multilinear"``).
    Anything else is tabulated on ``{-1,1}^P`` (``P <= 24``) and transformed by
    :func:`csqbound.walsh.fwht` (method ``"walsh"``): exactly, with rational
    coefficients, when every value of the target is rational (checked with sympy
    on every point for ``P <= 12``, on one point per distinct value above that);
    otherwise in floating point, where a coefficient ``c`` with
    ``|c| <= tol * ||h||`` counts as zero and ``error`` estimates the rounding
    error of each coefficient. Polynomials with float coefficients are numeric in
    the same way.

    Parameters
    ----------
    target
        A :class:`~csqbound.target.Target` (its ``domain`` is not checked here).
    tol
        Relative threshold for numeric expansions; default ``1e-9``. Ignored
        when the expansion is exact.

    Returns
    -------
    Expansion

    Raises
    ------
    ExpansionError
        If a non-polynomial target has ``P > 24`` variables or is not finite on
        the cube.
    ParameterError
        If ``tol`` is negative or not finite.

    See Also
    --------
    csqbound.walsh.boolean_spectrum : the kernel, returning plain data.
    expand : either domain, from text, sympy or a Target.

    References
    ----------
    O'Donnell, *Analysis of Boolean Functions*, Cambridge University Press 2014, ch. 1.

    Examples
    --------
    >>> e = boolean_expansion(Target.from_text("x1**3 * x2 + x1**2", "boolean"))
    >>> e.method, {str(m): c for m, c in e.coefficients.items()}
    ('multilinear', {'1': 1, 'x1*x2': 1})
    >>> e = boolean_expansion(Target.from_text("sign(x1 + x2 + x3)", "boolean"))
    >>> e.method, e.exact, {str(m): c for m, c in e.coefficients.items()}
    ('walsh', True, {'x1': 1/2, 'x2': 1/2, 'x3': 1/2, 'x1*x2*x3': -1/2})
    """
    return _expansion("boolean", target, boolean_spectrum(target, tol))


def gaussian_expansion(target: Target, max_degree: int = 8, tol: float | None = None) -> Expansion:
    """The Hermite expansion of a target on the gaussian domain.

    Polynomials convert exactly (method ``"hermite"``; ``max_degree`` is still
    checked to lie in ``0..40`` but does not limit the result). Anything else is
    integrated by :func:`csqbound.hermite.gauss_hermite_coefficients` for every
    ``|alpha| <= max_degree`` (method ``"gauss-hermite"``): a coefficient counts
    as non-zero when ``|c| sqrt(alpha!) > tol ||f||``, with ``tol`` defaulting to
    ``max(1e-9, 10 error / ||f||)``; the tolerance used, the error estimate and
    ``truncation = ||f||^2 - sum_alpha c_alpha^2 alpha!`` (over the coefficients
    kept, all from the same quadrature, clipped at 0) are recorded. Polynomials
    with float coefficients are converted exactly, then recorded as numeric.

    Parameters
    ----------
    target
        A :class:`~csqbound.target.Target` (its ``domain`` is not checked here).
    max_degree
        Largest total degree of the quadrature, ``0..40`` (checked for every target).
    tol
        Relative threshold for numeric expansions (see above).

    Returns
    -------
    Expansion

    Raises
    ------
    ParameterError
        If ``max_degree`` is outside ``0..40`` (polynomials included) or ``tol`` is
        negative.
    ExpansionError
        If a non-polynomial target has too many variables for the quadrature
        or is not finite at a quadrature node.

    See Also
    --------
    csqbound.hermite.gaussian_spectrum : the kernel, returning plain data.
    csqbound.hermite.polynomial_to_hermite : the exact conversion of a polynomial.
    expand : either domain, from text, sympy or a Target.

    Examples
    --------
    >>> e = gaussian_expansion(Target.from_text("x1**3 + x1*x2", "gaussian"))
    >>> e.method, {str(m): c for m, c in e.coefficients.items()}
    ('hermite', {'x1': 3, 'x1*x2': 1, 'He3(x1)': 1})
    >>> e = gaussian_expansion(Target.from_text("relu(x1)", "gaussian"), max_degree=4)
    >>> e.method, e.exact, {str(m): round(c, 4) for m, c in e.coefficients.items()}
    ('gauss-hermite', False, {'1': 0.3989, 'x1': 0.5, 'He2(x1)': 0.1995, 'He4(x1)': -0.0166})
    >>> 0 < e.truncation < 0.01
    True
    """
    return _expansion("gaussian", target, gaussian_spectrum(target, max_degree=max_degree, tol=tol))


# ---------------------------------------------------------------------------
# the gate: every analysis reads its input here
# ---------------------------------------------------------------------------
#: What the analyses accept as a target: text (parsed safely), a sympy expression,
#: a :class:`~csqbound.target.Target` or an :class:`Expansion` (their domain wins).
TargetLike: TypeAlias = str | sympy.Basic | Target | Expansion

#: A target, or a support family: monomials, sets of coordinates, mappings coordinate -> degree.
SupportLike: TypeAlias = TargetLike | Monomial | Iterable[object]


def _wrong_domain(caller: str, required: Domain, got: Domain, kind: str, hint: str) -> DomainError:
    msg = f"{caller} is defined on the {required} domain only; got a {got} {kind}{hint}"
    return DomainError(msg)


def as_target(
    x: object,
    domain: str = "boolean",
    *,
    require: Domain | None = None,
    caller: str = "csqbound",
    hint: str = "",
) -> Target | Expansion:
    """Read a :data:`TargetLike`: text and sympy become a :class:`Target` on ``domain``.

    A Target or an Expansion passes through (its domain wins). With ``require``,
    text is read on that domain and a Target or Expansion on another one is refused.

    Raises
    ------
    DomainError
        A Target or Expansion on a domain other than ``require``.
    CsqboundError
        Anything that is not a :data:`TargetLike` (the message starts "cannot read").

    Examples
    --------
    >>> as_target("x1*x2", "gaussian").domain
    'gaussian'
    >>> as_target(Target.from_text("x1", "boolean"), require="gaussian", caller="iso_leap")
    Traceback (most recent call last):
    ...
    csqbound.errors.DomainError: iso_leap is defined on the gaussian domain only; got a boolean ...
    """
    dom = check_domain(require or domain)
    if isinstance(x, Target | Expansion):
        if require is not None and x.domain != require:
            kind = "target" if isinstance(x, Target) else "expansion"
            raise _wrong_domain(caller, require, x.domain, kind, hint)
        return x
    if isinstance(x, str | sympy.Basic):
        return Target.coerce(x, dom)  # type: ignore[arg-type]
    kind = "" if require is None else f"{require} "
    msg = (
        f"cannot read a target from {type(x).__name__}: {caller} needs an expression "
        f"(text or sympy), a {kind}Target or a {kind}Expansion"
    )
    raise CsqboundError(msg)


def as_expansion(
    x: object,
    domain: str = "boolean",
    *,
    max_degree: int = 8,
    tol: float | None = None,
    require: Domain | None = None,
    caller: str = "csqbound",
    hint: str = "",
) -> Expansion:
    """The expansion of a :data:`TargetLike`: an Expansion as it is, anything else expanded.

    Parameters
    ----------
    x
        Text (parsed safely), a sympy expression, a Target or an Expansion.
    domain
        The domain of text and sympy input; a Target's or Expansion's own domain wins.
    max_degree, tol
        As for :func:`expand`.
    require, caller, hint
        As for :func:`as_target`.

    See Also
    --------
    as_support : also accepts monomial families.
    expand : the expansion itself.

    Examples
    --------
    >>> e = as_expansion("x1 + x1*x2")
    >>> as_expansion(e) is e, e.domain
    (True, 'boolean')
    """
    read = as_target(x, domain, require=require, caller=caller, hint=hint)
    if isinstance(read, Expansion):
        return read
    return expand(read, max_degree=max_degree, tol=tol)


def as_support(x: object, domain: str = "boolean") -> tuple[tuple[Monomial, ...], Domain, int]:
    """The non-constant support of a :data:`SupportLike`, its domain and ``P``.

    Targets are expanded (:func:`as_expansion`); a family of monomials
    (:class:`~csqbound.monomial.Monomial`, sets of 1-based coordinates on the boolean
    domain, mappings coordinate -> degree on the gaussian one) is read as it is.
    Constants and duplicates are dropped; the order is the input's (an Expansion
    lists its support by degree, then coordinates). ``P`` is the expansion's
    ``variables``, or the largest coordinate of a family.

    Raises
    ------
    DomainError
        Unknown domain, or a boolean monomial with a degree above 1.
    CsqboundError
        Input that is neither a target nor a family of readable monomials.

    See Also
    --------
    as_expansion : targets only, with their coefficients.

    Examples
    --------
    >>> as_support([{1}, {1, 2}, set(), {1}])
    ((Monomial(x1), Monomial(x1*x2)), 'boolean', 2)
    >>> as_support("He2(x1) + x2", "gaussian")
    ((Monomial(x2), Monomial(He2(x1))), 'gaussian', 2)
    """
    dom = check_domain(domain)
    if isinstance(x, str | sympy.Basic | Target | Expansion):
        expansion = as_expansion(x, dom)
        monos = tuple(mono for mono in expansion.support if mono.powers)
        return monos, expansion.domain, expansion.variables
    if not isinstance(x, Monomial | Iterable):
        msg = (
            f"cannot read a support from {type(x).__name__} {shorten(x, quote=True)}: give "
            "an expression, "
            "a Target, an Expansion, or an iterable of monomials (sets of coordinates "
            "or mappings coordinate -> degree)"
        )
        raise CsqboundError(msg)
    items: Iterable[object] = (x,) if isinstance(x, Monomial) else x
    seen: dict[Monomial, None] = {}
    for item in items:
        mono = _monomial(item, dom)
        if mono.powers:
            seen[mono] = None
    family = tuple(seen)
    return family, dom, max((m.powers[-1][0] for m in family), default=0)


def _monomial(item: object, domain: Domain) -> Monomial:
    """One monomial of a family, with a message that says what a monomial is."""
    if type(item) is Monomial:
        if domain == "boolean" and len(item.powers) != sum(k for _, k in item.powers):
            return Monomial.coerce(item, domain)  # raises the DomainError
        return item
    try:
        return Monomial.coerce(item, domain)
    except CsqboundError:
        raise
    except (TypeError, ValueError) as exc:
        msg = (
            f"cannot read {shorten(item, quote=True)} as a monomial ({shorten(exc)}): "
            "coordinates must be "
            "1-based integers and degrees non-negative integers"
        )
        raise CsqboundError(msg) from exc


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
