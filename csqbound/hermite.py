"""Hermite expansions on the gaussian domain ``x ~ N(0, I_P)`` (THEORY.md section 1).

Every ``h`` with ``E[h^2] < inf`` has the expansion ``h = sum_alpha h^(alpha) He_alpha``
in the probabilists' Hermite polynomials ``He_alpha(x) = prod_i He_{alpha_i}(x_i)``
(``He_0 = 1, He_1 = x, He_2 = x^2 - 1, He_3 = x^3 - 3x``), orthogonal with
``E[He_alpha He_beta] = alpha! delta_{alpha beta}``, so
``h^(alpha) = E[h He_alpha] / alpha!``.

* A polynomial converts exactly (:func:`polynomial_to_hermite`) through
  ``x^n = sum_j n! / (j! 2^j (n-2j)!) He_{n-2j}(x)``
  (:func:`hermite_coefficients_of_power`), coordinate by coordinate.
* Any other function is integrated by tensor Gauss–Hermite quadrature
  (:func:`gauss_hermite_coefficients`) up to a stated total degree; the
  quadrature error is estimated by a second run with half the points per
  dimension and the mass beyond that degree is reported as ``truncation``.

:func:`gaussian_spectrum` chooses the route and returns plain data;
:func:`csqbound.expansion.gaussian_expansion` wraps it in an
:class:`~csqbound.expansion.Expansion`.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import sympy

from csqbound import limits
from csqbound._polyutils import (
    DEFAULT_TOL,
    Spectrum,
    check_coefficient,
    check_tol,
    exact_simplify,
    has_float,
    polynomial_input,
)
from csqbound.errors import ExpansionError, ParameterError, shorten
from csqbound.monomial import Monomial

if TYPE_CHECKING:
    from csqbound.target import Target

__all__ = [
    "MAX_QUADRATURE_DEGREE",
    "QUADRATURE_BUDGET",
    "default_points_per_dim",
    "gauss_hermite_coefficients",
    "gaussian_spectrum",
    "hermite_coefficients_of_power",
    "polynomial_to_hermite",
]

#: Largest ``max_degree`` accepted by the quadrature
#: (:data:`csqbound.limits.MAX_QUADRATURE_DEGREE`).
MAX_QUADRATURE_DEGREE = limits.MAX_QUADRATURE_DEGREE

#: Largest number of tensor quadrature points (``points_per_dim ** P``) chosen by default
#: (:data:`csqbound.limits.QUADRATURE_BUDGET`).
QUADRATURE_BUDGET = limits.QUADRATURE_BUDGET

#: Points of the one-dimensional rule (``P = 1``); ``scipy.special.roots_hermitenorm``
#: computes them in O(n) and most of them carry a weight that underflows to 0.
_ONE_DIM_POINTS = 100_000

#: Hard ceiling on ``points_per_dim ** P`` when the caller chooses ``points_per_dim``.
_MAX_POINTS = 50_000_000


# ---------------------------------------------------------------------------
# exact conversion
# ---------------------------------------------------------------------------
def hermite_coefficients_of_power(n: int) -> dict[int, int]:
    """The expansion ``x^n = sum_k c_k He_k(x)``: ``c_{n-2j} = n! / (j! 2^j (n-2j)!)``.

    Parameters
    ----------
    n
        A degree ``>= 0``.

    Returns
    -------
    dict
        ``{k: c_k}`` for ``k = n, n-2, ...`` (all coefficients are positive integers).

    Raises
    ------
    ParameterError
        If ``n`` is negative.

    Examples
    --------
    >>> hermite_coefficients_of_power(4)  # x^4 = He4 + 6 He2 + 3
    {4: 1, 2: 6, 0: 3}
    >>> hermite_coefficients_of_power(0)
    {0: 1}
    """
    if n < 0:
        msg = f"a power must be >= 0, got {n}"
        raise ParameterError(msg)
    return {
        n - 2 * j: math.factorial(n) // (math.factorial(j) * 2**j * math.factorial(n - 2 * j))
        for j in range(n // 2 + 1)
    }


def polynomial_to_hermite(
    expr: sympy.Expr, symbols: Sequence[sympy.Symbol]
) -> dict[Monomial, sympy.Expr]:
    """Convert a polynomial exactly to the Hermite basis ``He_alpha``.

    Each monomial ``prod_i x_i^{e_i}`` becomes the product of the univariate
    expansions of :func:`hermite_coefficients_of_power`; the work is done on
    the polynomial's exponent tuples in its own coefficient domain (Python
    rationals for rational polynomials), and only the final coefficients are
    turned into sympy numbers. Algebraic coefficients (``sqrt(2)``...) stay
    exact; zero coefficients are dropped. Coordinate ``i`` is ``symbols[i - 1]``.

    Parameters
    ----------
    expr
        A polynomial in ``symbols`` with numeric (possibly irrational) coefficients.
    symbols
        The variables ``x1..xP``, in order.

    Returns
    -------
    dict
        ``{Monomial: h^(alpha)}`` (coefficients of the unnormalised ``He_alpha``).

    Raises
    ------
    ExpansionError
        If ``expr`` is not a polynomial in ``symbols``, has symbolic or
        non-real coefficients, or its conversion would exceed
        :data:`csqbound.limits.MAX_EXPANDED_TERMS` products of terms.

    Examples
    --------
    >>> x1, x2 = sympy.symbols("x1 x2", real=True)
    >>> polynomial_to_hermite(x1**3 + x1 * x2**2, (x1, x2))
    {Monomial(x1): 4, Monomial(x1*He2(x2)): 1, Monomial(He3(x1)): 1}
    >>> u = (x1 - x2) / sympy.sqrt(2)
    >>> polynomial_to_hermite(u**2 - 1, (x1, x2))  # He2 of a unit direction
    {Monomial(x1*x2): -1, Monomial(He2(x1)): 1/2, Monomial(He2(x2)): 1/2}
    """
    expr, constant, poly = polynomial_input(expr, symbols, "polynomial_to_hermite")
    if constant is not None or poly is None:
        return constant or {}
    domain, coords = poly.domain, poly.coordinates
    # x^e has e//2 + 1 Hermite terms: count the products before making them
    size = sum(math.prod(e // 2 + 1 for e in exps) for exps in poly.terms)
    if size > limits.MAX_EXPANDED_TERMS:
        msg = (
            f"the Hermite expansion would take {size:,} products of terms; the limit is "
            f"{limits.MAX_EXPANDED_TERMS:,} (MAX_EXPANDED_TERMS in csqbound.limits): use "
            "lower powers of each variable"
        )
        raise ExpansionError(msg)
    tables: dict[int, list[tuple[int, int]]] = {}
    acc: dict[tuple[tuple[int, int], ...], Any] = {}
    for exps, coef in poly.terms.items():
        factors = []
        for i, e in enumerate(exps):
            if e:
                if e not in tables:
                    tables[e] = list(hermite_coefficients_of_power(e).items())
                factors.append([((coords[i], k), c) for k, c in tables[e]])
        for combo in itertools.product(*factors):
            key = tuple(pair for pair, _ in combo if pair[1])
            value = coef * math.prod(c for _, c in combo)
            acc[key] = acc[key] + value if key in acc else value
    exact_domain = domain.is_ZZ or domain.is_QQ
    out: dict[Monomial, sympy.Expr] = {}
    for key in sorted(acc, key=lambda k: (sum(d for _, d in k), k)):  # Monomial order
        number = domain.to_sympy(acc[key])
        if not exact_domain:
            check_coefficient(number, expr)
            number = exact_simplify(number)
        if number != 0:
            out[Monomial(key)] = number
    return out


# ---------------------------------------------------------------------------
# quadrature
# ---------------------------------------------------------------------------
def default_points_per_dim(variables: int) -> int:
    """Points per dimension of the default tensor Gauss–Hermite rule.

    ``100000`` for ``P = 1`` (most carry a negligible weight and are skipped),
    otherwise the largest even ``n`` with ``n^P <= 2e6`` (1414 for ``P = 2``,
    124 for ``P = 3``, 36 for ``P = 4``). Even rules have no node at 0, where
    ``sign``-like targets jump: a node there would carry a large weight.

    Examples
    --------
    >>> [default_points_per_dim(p) for p in (1, 2, 3, 4, 5)]
    [100000, 1414, 124, 36, 18]
    """
    if variables <= 0:
        return 1
    if variables == 1:
        return _ONE_DIM_POINTS
    n = int(round(QUADRATURE_BUDGET ** (1.0 / variables))) + 2
    while n > 2 and n**variables > QUADRATURE_BUDGET:
        n -= 1
    return n - n % 2


def _rule(n: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``n``-point rule for ``N(0, 1)``: nodes, weights summing to 1; zero weights dropped."""
    from scipy.special import roots_hermitenorm  # here: scipy.special costs 0.4 s to import

    x, w = roots_hermitenorm(n)
    w = w / math.fsum(w)
    keep = w > 0
    return x[keep], w[keep]


def _normalised_hermite(x: np.ndarray, degree: int) -> np.ndarray:
    """``h_k(x) = He_k(x) / sqrt(k!)`` for ``k = 0..degree``, shape ``(degree + 1, len(x))``."""
    out = np.empty((degree + 1, x.shape[0]))
    out[0] = 1.0
    if degree >= 1:
        out[1] = x
    for k in range(1, degree):
        out[k + 1] = (x * out[k] - math.sqrt(k) * out[k - 1]) / math.sqrt(k + 1)
    return out


def _multi_indices(variables: int, max_degree: int) -> Iterator[tuple[int, ...]]:
    """All ``alpha`` in ``N^P`` with ``|alpha| <= max_degree``."""
    if variables == 0:
        yield ()
        return
    for first in range(max_degree + 1):
        for rest in _multi_indices(variables - 1, max_degree - first):
            yield (first, *rest)


def _quadrature(
    fn: Callable[[np.ndarray], Any], variables: int, max_degree: int, n: int
) -> tuple[dict[tuple[int, ...], float], float]:
    """Normalised coefficients ``E[f h_alpha]`` for ``|alpha| <= max_degree`` and ``E[f^2]``."""
    x, w = _rule(n)
    m = x.shape[0]
    grids = np.meshgrid(*([x] * variables), indexing="ij")
    points = np.stack([g.reshape(-1) for g in grids], axis=1) if variables else np.zeros((1, 0))
    weights = np.ones(1)
    for _ in range(variables):
        weights = np.multiply.outer(weights, w).reshape(-1)
    values = np.broadcast_to(
        np.asarray(fn(points), dtype=np.float64).reshape(-1), (points.shape[0],)
    )
    finite = np.isfinite(values)
    if not finite.all():
        j = int(np.argmin(finite))
        msg = (
            f"the target is {values[j]} at the quadrature point x = {points[j].tolist()}; "
            "a gaussian target must be finite (and square-integrable)"
        )
        raise ExpansionError(msg)
    norm2 = float(np.dot(weights, values * values))
    tensor = (weights * values).reshape((m,) * variables)
    hermite = _normalised_hermite(x, max_degree)
    for _ in range(variables):
        tensor = np.tensordot(tensor, hermite, axes=([0], [1]))
    return {alpha: float(tensor[alpha]) for alpha in _multi_indices(variables, max_degree)}, norm2


def _check_max_degree(max_degree: int) -> int:
    if isinstance(max_degree, bool) or int(max_degree) != max_degree:
        msg = f"max_degree must be an integer, got {shorten(max_degree, quote=True)}"
        raise ParameterError(msg)
    degree = int(max_degree)
    if not 0 <= degree <= MAX_QUADRATURE_DEGREE:
        msg = f"max_degree must be between 0 and {MAX_QUADRATURE_DEGREE}, got {max_degree}"
        raise ParameterError(msg)
    return degree


def _monomial(alpha: tuple[int, ...]) -> Monomial:
    return Monomial(tuple((i + 1, k) for i, k in enumerate(alpha) if k))


def gauss_hermite_coefficients(
    fn: Callable[[np.ndarray], Any],
    P: int,  # noqa: N803 - THEORY.md notation
    max_degree: int,
    points_per_dim: int | None = None,
) -> tuple[dict[Monomial, float], float, float]:
    """Hermite coefficients of ``fn`` by tensor Gauss–Hermite quadrature.

    ``h^(alpha) = E[f He_alpha] / alpha!`` for every ``alpha`` with
    ``|alpha| <= max_degree``, with the ``points_per_dim``-point rule for the
    standard normal in each of the ``P`` coordinates. A second run with half
    as many points per dimension gives the error estimate.

    Parameters
    ----------
    fn
        Vectorised function: an array ``X`` of shape ``(n, P)`` to ``n`` values.
    P
        Number of variables.
    max_degree
        Largest total degree ``|alpha|`` computed (0..40).
    points_per_dim
        Points of the rule per coordinate; default :func:`default_points_per_dim`.
        Must be at least ``2 (max_degree + 1)`` so that the half-size run (about
        ``points_per_dim / 2`` points, rounded up to even) still integrates
        ``He_alpha`` itself exactly. Prefer even values (no node at 0).

    Returns
    -------
    coefficients : dict
        ``{Monomial: h^(alpha)}`` for all ``|alpha| <= max_degree`` (zeros included).
    norm2 : float
        ``E[f^2]`` from the same rule.
    error : float
        ``max_alpha |h^(alpha) - h_half^(alpha)| sqrt(alpha!)``: the largest
        change of a normalised coefficient between the two runs (an estimate,
        and a bound for the unnormalised coefficients' change too).

    Raises
    ------
    ExpansionError
        If ``P`` is too large for the point budget (give the target as a
        polynomial, or lower ``max_degree``), or ``fn`` is not finite at a node.
    ParameterError
        If ``max_degree`` is outside ``0..40`` or ``points_per_dim`` is too small
        or too large.

    References
    ----------
    Golub, Welsch. Calculation of Gauss quadrature rules. Math. Comp. 23 (1969).

    Examples
    --------
    >>> coefs, norm2, error = gauss_hermite_coefficients(
    ...     lambda X: X[:, 0] ** 2 * X[:, 1], 2, 4, points_per_dim=20
    ... )
    >>> {str(m): round(c, 12) for m, c in coefs.items() if abs(c) > 1e-12}
    {'x2': 1.0, 'He2(x1)*x2': 1.0}
    >>> round(norm2, 12), error < 1e-12
    (3.0, True)
    """
    degree = _check_max_degree(max_degree)
    n = _rule_size(P, degree, points_per_dim)
    full, norm2 = _quadrature(fn, P, degree, n)
    if P:
        half_n = n // 2 + (n // 2) % 2  # even, like the default rules
        half, _ = _quadrature(fn, P, degree, max(half_n, degree + 1))
        error = max(abs(full[a] - half[a]) for a in full)
    else:
        error = 0.0
    coefficients = {}
    for alpha, value in full.items():
        mono = _monomial(alpha)
        coefficients[mono] = value / math.sqrt(mono.factorial)
    return coefficients, norm2, float(error)


def _rule_size(P: int, degree: int, points_per_dim: int | None) -> int:  # noqa: N803
    """The points per coordinate of :func:`gauss_hermite_coefficients`' rule, checked."""
    if P < 0:
        msg = f"P must be >= 0, got {P}"
        raise ParameterError(msg)
    needed = 2 * (degree + 1)
    if points_per_dim is None:
        n = default_points_per_dim(P)
        if P and n < needed:
            msg = (
                f"a {P}-variable quadrature up to degree {degree} needs at least {needed} points "
                f"per coordinate, {needed}^{P} in all, above the budget of {QUADRATURE_BUDGET}; "
                "write the target as a polynomial (expanded exactly) or lower max_degree"
            )
            raise ExpansionError(msg)
        return n
    n = int(points_per_dim)
    if n != points_per_dim or (P and n < needed):
        msg = (
            f"points_per_dim must be an integer >= 2 (max_degree + 1) = {needed}, "
            f"got {shorten(points_per_dim, quote=True)}"
        )
        raise ParameterError(msg)
    if P and n**P > _MAX_POINTS:
        msg = f"points_per_dim^P = {n}^{P} exceeds {_MAX_POINTS} points; use fewer points"
        raise ParameterError(msg)
    return n


# ---------------------------------------------------------------------------
# the gaussian kernel (plain data; csqbound.expansion.gaussian_expansion wraps it)
# ---------------------------------------------------------------------------
def gaussian_spectrum(target: Target, max_degree: int = 8, tol: float | None = None) -> Spectrum:
    """The Hermite coefficients of a target on ``N(0, I_P)``, as plain data.

    The kernel under :func:`csqbound.expansion.gaussian_expansion` (which documents
    the routes and wraps the result in an :class:`~csqbound.expansion.Expansion`).
    ``max_degree`` is validated always and used by the quadrature only.

    Examples
    --------
    >>> from csqbound.target import Target
    >>> s = gaussian_spectrum(Target.from_text("x1**3 + x1*x2", "gaussian"))
    >>> s.method, {str(m): c for m, c in s.coefficients.items()}
    ('hermite', {'x1': 3, 'x1*x2': 1, 'He3(x1)': 1})
    """
    degree = _check_max_degree(max_degree)
    expr = target.expression
    if target.is_polynomial:
        coefficients = polynomial_to_hermite(expr, target.symbols)
        if not has_float(expr):
            return Spectrum(coefficients, "hermite")
        tolerance = check_tol(tol)
        floats = {m: float(c) for m, c in coefficients.items()}
        norm = math.sqrt(math.fsum(c * c * m.factorial for m, c in floats.items()))
        error = (
            4
            * float(np.finfo(np.float64).eps)
            * max((abs(c) * math.sqrt(m.factorial) for m, c in floats.items()), default=0.0)
        )
        kept = {
            m: c for m, c in floats.items() if abs(c) * math.sqrt(m.factorial) > tolerance * norm
        }
        return Spectrum(kept, "hermite", exact=False, tol=tolerance, error=error)

    def fn(points: np.ndarray) -> np.ndarray:
        return np.asarray(target.evaluate(points), dtype=np.float64)

    coefs, norm2, error = gauss_hermite_coefficients(fn, target.variables, degree)
    norm = math.sqrt(max(norm2, 0.0))
    if tol is None:
        tolerance = max(DEFAULT_TOL, 10 * error / norm) if norm > 0 else DEFAULT_TOL
    else:
        tolerance = check_tol(tol)
    kept = {m: c for m, c in coefs.items() if abs(c) * math.sqrt(m.factorial) > tolerance * norm}
    captured = math.fsum(c * c * m.factorial for m, c in kept.items())
    return Spectrum(
        kept,
        "gauss-hermite",
        exact=False,
        tol=tolerance,
        error=error,
        truncation=max(norm2 - captured, 0.0),
        max_degree=degree,
    )
