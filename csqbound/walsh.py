"""Fourier–Walsh expansions on the boolean cube ``{-1,+1}^P`` (THEORY.md section 1).

Every ``h : {-1,1}^P -> R`` has a unique expansion ``h = sum_S h^(S) chi_S`` with
``chi_S(x) = prod_{i in S} x_i`` and ``h^(S) = E[h chi_S]``. Two routes lead to it:

* a polynomial reduces exactly by ``x_i^2 = 1`` (:func:`multilinear_reduce`);
* any other function is tabulated on ``{-1,1}^P`` (:func:`truth_table`) and
  transformed with the fast Walsh–Hadamard transform (:func:`fwht`,
  ``O(P 2^P)``) — exactly, in integer arithmetic, when its values are rational.

:func:`boolean_spectrum` chooses the route and returns plain data;
:func:`csqbound.expansion.boolean_expansion` wraps it in an
:class:`~csqbound.expansion.Expansion`.

**Index convention.** A point of ``{-1,1}^P`` and a subset ``S`` of ``[P]`` are
both stored as a ``P``-bit integer: bit ``i - 1`` of the index ``j`` is set iff
``x_i = -1`` (so index 0 is the all-ones point), and bit ``i - 1`` of ``k`` is set
iff ``i`` is in ``S``. With it, ``fwht(f)[k] = sum_j f[j] (-1)^popcount(j & k)
= 2^P h^(S_k)``: the transform is the Sylvester–Hadamard matrix
(``scipy.linalg.hadamard``), unnormalised.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import sympy

from csqbound import limits
from csqbound._polyutils import (
    Spectrum,
    check_coefficient,
    check_tol,
    exact_simplify,
    has_float,
    polynomial_input,
)
from csqbound.errors import ExpansionError
from csqbound.monomial import Monomial

if TYPE_CHECKING:
    from csqbound.target import Target

__all__ = [
    "MAX_TABLE_VARIABLES",
    "boolean_spectrum",
    "cube_points",
    "exact_values",
    "fwht",
    "multilinear_reduce",
    "truth_table",
]

#: Largest ``P`` whose truth table (``2^P`` entries) csqbound builds
#: (:data:`csqbound.limits.MAX_TABLE_VARIABLES`).
MAX_TABLE_VARIABLES = limits.MAX_TABLE_VARIABLES


#: At most this many distinct values are converted to exact rationals.
_MAX_EXACT_VALUES = 4096

#: Up to this ``P`` every point of the cube is evaluated exactly (no float collisions possible).
_EXACT_ALL_POINTS = 12

#: Rows per chunk when tabulating the target (bounds the memory of ``X``).
_CHUNK = 1 << 16


# ---------------------------------------------------------------------------
# kernels
# ---------------------------------------------------------------------------
def multilinear_reduce(
    expr: sympy.Expr, symbols: Sequence[sympy.Symbol]
) -> dict[Monomial, sympy.Expr]:
    """Reduce a polynomial on ``{-1,1}^P`` exactly by ``x_i^2 = 1``.

    Each exponent is replaced by its parity, like terms are combined exactly
    (rational or algebraic coefficients stay exact) and zero coefficients are
    dropped. Coordinate ``i`` is ``symbols[i - 1]``.

    Parameters
    ----------
    expr
        A polynomial in ``symbols`` with numeric (possibly irrational) coefficients.
    symbols
        The variables ``x1..xP``, in order.

    Returns
    -------
    dict
        ``{Monomial: coefficient}``, the Fourier–Walsh coefficients ``h^(S)``.

    Raises
    ------
    ExpansionError
        If ``expr`` is not a polynomial in ``symbols`` or has symbolic or
        non-real coefficients.

    Examples
    --------
    >>> x1, x2 = sympy.symbols("x1 x2", real=True)
    >>> multilinear_reduce(x1**2 * x2 + 3 * x1**3, (x1, x2))
    {Monomial(x1): 3, Monomial(x2): 1}
    >>> multilinear_reduce((x1 + x2) ** 2 / 2, (x1, x2))
    {Monomial(1): 1, Monomial(x1*x2): 1}
    >>> multilinear_reduce(sympy.sqrt(2) * x1 * x2**2, (x1, x2))
    {Monomial(x1): sqrt(2)}
    """
    expr, constant, poly = polynomial_input(expr, symbols, "multilinear_reduce")
    if constant is not None or poly is None:
        return constant or {}
    domain, coords = poly.domain, poly.coordinates
    acc: dict[tuple[int, ...], Any] = {}
    for exps, coef in poly.terms.items():
        key = tuple(e & 1 for e in exps)
        acc[key] = acc[key] + coef if key in acc else coef
    exact_domain = domain.is_ZZ or domain.is_QQ
    out: dict[Monomial, sympy.Expr] = {}
    for key in acc:
        value = domain.to_sympy(acc[key])
        if not exact_domain:
            check_coefficient(value, expr)
            value = exact_simplify(value)
        if value != 0:
            out[Monomial(tuple((coords[i], 1) for i, e in enumerate(key) if e))] = value
    return dict(sorted(out.items(), key=lambda item: (item[0].degree, item[0].powers)))


def fwht(values: np.ndarray) -> np.ndarray:
    """Fast Walsh–Hadamard transform (unnormalised), ``O(P 2^P)``.

    ``fwht(f)[k] = sum_j f[j] (-1)^popcount(j & k)``, the product with the
    Sylvester–Hadamard matrix: with the module's index convention,
    ``fwht(table)[k] / 2^P`` is the Walsh coefficient of the set ``S_k``.
    Applying it twice multiplies by ``2^P``.

    Parameters
    ----------
    values
        1-D array of length ``2^P`` (``P <= 24``): ``float64``, a signed integer
        dtype (exact; overflow is checked), an unsigned integer or ``bool`` dtype
        (converted to ``int64`` first) or ``object`` holding Python ints or
        Fractions (exact, slower).

    Returns
    -------
    numpy.ndarray
        A new array; the input is not modified. Its dtype is the input's, except
        that unsigned integer and ``bool`` input comes back as ``int64`` (the
        transform has negative entries).

    Raises
    ------
    ExpansionError
        If the length is not a power of two, ``P > 24``, or an integer transform
        could overflow ``int64`` (use an ``object`` array then).

    See Also
    --------
    scipy.linalg.hadamard : the same matrix, dense.
    boolean_spectrum : the transform applied to a truth table.

    Examples
    --------
    >>> fwht(np.array([1, 0, 0, 0]))
    array([1, 1, 1, 1])
    >>> fwht(np.array([1.0, 1.0, 1.0, -1.0])) / 4  # max(x1, x2) = 1/2 + x1/2 + x2/2 - x1*x2/2
    array([ 0.5,  0.5,  0.5, -0.5])
    >>> fwht(np.array([True, False])).dtype
    dtype('int64')
    """
    a = np.array(values, copy=True)
    if a.ndim != 1:
        msg = f"fwht expects a 1-D array, got shape {a.shape}"
        raise ExpansionError(msg)
    n = a.shape[0]
    if n < 1 or n & (n - 1):
        msg = f"fwht expects a length 2^P, got {n}"
        raise ExpansionError(msg)
    p = n.bit_length() - 1
    if p > MAX_TABLE_VARIABLES:
        msg = (
            f"fwht supports P <= {MAX_TABLE_VARIABLES} (2^{MAX_TABLE_VARIABLES} entries), got P={p}"
        )
        raise ExpansionError(msg)
    if np.issubdtype(a.dtype, np.signedinteger) and n > 1:
        bound = max(int(a.max()), -int(a.min())) * n
        if bound >= 2 ** (8 * a.dtype.itemsize - 1):
            msg = (
                f"an integer transform of this table could overflow {a.dtype} "
                f"(max |value| * 2^P = {bound}); pass an object array of Python ints"
            )
            raise ExpansionError(msg)
    elif np.issubdtype(a.dtype, np.unsignedinteger) or a.dtype == np.bool_:
        a = a.astype(np.int64)
        return fwht(a)
    h = 1
    while h < n:
        v = a.reshape(-1, 2, h)
        upper = v[:, 1, :].copy()
        v[:, 1, :] = v[:, 0, :] - upper
        v[:, 0, :] += upper
        h *= 2
    return a


def cube_points(variables: int, start: int = 0, stop: int | None = None) -> np.ndarray:
    """Points ``j = start..stop-1`` of ``{-1,1}^P`` in the module's index order.

    Row ``j`` has ``x_i = -1`` iff bit ``i - 1`` of ``j`` is set.

    Examples
    --------
    >>> cube_points(2)
    array([[ 1.,  1.],
           [-1.,  1.],
           [ 1., -1.],
           [-1., -1.]])
    """
    stop = (1 << variables) if stop is None else stop
    j = np.arange(start, stop, dtype=np.int64)[:, None]
    bits = (j >> np.arange(variables, dtype=np.int64)[None, :]) & 1
    return 1.0 - 2.0 * bits


def _subset_monomials(indices: np.ndarray, variables: int) -> list[Monomial]:
    """The characters ``chi_S`` of the set indices ``k`` (bit ``i - 1`` set iff ``i in S``).

    The powers tuples are joined from two precomputed halves (low and high bits),
    so a dense spectrum of ``2^P`` monomials costs one concatenation each.
    """
    low_bits = variables // 2
    low = [tuple((i + 1, 1) for i in range(low_bits) if (k >> i) & 1) for k in range(1 << low_bits)]
    high = [
        tuple((low_bits + i + 1, 1) for i in range(variables - low_bits) if (k >> i) & 1)
        for k in range(1 << (variables - low_bits))
    ]
    mask = (1 << low_bits) - 1
    return [Monomial(low[k & mask] + high[k >> low_bits]) for k in indices.tolist()]


def _point_of_index(j: int, variables: int) -> list[int]:
    return [-1 if (j >> i) & 1 else 1 for i in range(variables)]


def truth_table(target: Target) -> np.ndarray:
    """The values of the target on all of ``{-1,1}^P``, in the module's index order.

    Evaluated numerically (``float64``) in chunks through ``target.evaluate``.

    Raises
    ------
    ExpansionError
        If ``P > 24``.

    Examples
    --------
    >>> from csqbound.target import Target
    >>> truth_table(Target.from_text("max(x1, x2)", "boolean"))
    array([ 1.,  1.,  1., -1.])
    """
    p = target.variables
    if p > MAX_TABLE_VARIABLES:
        msg = (
            f"the target depends on P={p} variables; a truth table needs P <= "
            f"{MAX_TABLE_VARIABLES} (MAX_TABLE_VARIABLES in csqbound.limits). Write it as a "
            "polynomial if you can (reduced exactly)"
        )
        raise ExpansionError(msg)
    n = 1 << p
    out = np.empty(n, dtype=np.float64)
    for start in range(0, n, _CHUNK):
        stop = min(n, start + _CHUNK)
        x = cube_points(p, start, stop)
        values = np.asarray(target.evaluate(x), dtype=np.float64)
        out[start:stop] = np.broadcast_to(values.reshape(-1), (stop - start,))
    return out


# ---------------------------------------------------------------------------
# the boolean kernel (plain data; csqbound.expansion.boolean_expansion wraps it)
# ---------------------------------------------------------------------------
def _numeric_spectrum(
    coefficients: dict[Monomial, float], norm: float, tol: float, method: str, error: float
) -> Spectrum:
    kept = {m: c for m, c in coefficients.items() if abs(c) > tol * norm}
    return Spectrum(kept, method, exact=False, tol=tol, error=error)


def exact_values(
    expr: sympy.Expr, symbols: Sequence[sympy.Symbol], indices: Sequence[int]
) -> list[sympy.Expr]:
    """The exact values of ``expr`` at the points ``j`` of ``indices`` of ``{-1,1}^P``.

    Examples
    --------
    >>> x1, x2 = sympy.symbols("x1 x2", real=True)
    >>> exact_values(x1 - x2 / 2, (x1, x2), range(4))
    [1/2, -3/2, 3/2, -1/2]
    """
    one, minus_one = sympy.Integer(1), sympy.Integer(-1)
    out = []
    for j in indices:
        point = _point_of_index(int(j), len(symbols))
        subs = {s: (one if v == 1 else minus_one) for s, v in zip(symbols, point, strict=True)}
        out.append(sympy.sympify(expr.xreplace(subs), strict=True))
    return out


def _rational_table(
    target: Target, table: np.ndarray
) -> tuple[list[sympy.Rational], np.ndarray] | None:
    """Exact values of the whole table when they are all rational, else ``None``.

    Returns the distinct exact values and, for every point, the position of its
    value in that list. For ``P <= 12`` every point is evaluated exactly. For
    larger ``P`` only one representative per distinct float value is: two
    points whose exact values differ but round to the same float (values closer
    than about ``1e-16`` relative) would be merged — the residual risk of the
    exact path, which no target built from csqbound's functions is known to hit.
    """
    expr, symbols, p = target.expression, target.symbols, target.variables
    uniq, first, inverse = np.unique(table, return_index=True, return_inverse=True)
    if uniq.shape[0] > _MAX_EXACT_VALUES:
        return None
    reps = exact_values(expr, symbols, first.tolist())
    if not all(v.is_Rational for v in reps):
        return None
    _check_agreement(np.array([float(v) for v in reps]), uniq, p, first)
    if p > _EXACT_ALL_POINTS:
        return reps, inverse.reshape(-1)  # type: ignore[return-value]
    values = exact_values(expr, symbols, range(table.shape[0]))
    if not all(v.is_Rational for v in values):
        return None
    _check_agreement(np.array([float(v) for v in values]), table, p)
    distinct = list(dict.fromkeys(values))
    position = {v: i for i, v in enumerate(distinct)}
    return distinct, np.array([position[v] for v in values], dtype=np.int64)  # type: ignore[return-value]


def _check_agreement(
    exact: np.ndarray, numeric: np.ndarray, p: int, indices: np.ndarray | None = None
) -> None:
    bad = np.abs(exact - numeric) > 1e-9 * np.maximum(1.0, np.abs(exact))
    if bad.any():
        k = int(np.argmax(bad))
        j = int(indices[k]) if indices is not None else k
        msg = (
            f"the exact value {exact[k]!r} and the numeric value {numeric[k]!r} of the target "
            f"disagree at x = {_point_of_index(j, p)}; check the expression for functions "
            "evaluated differently by sympy and numpy (e.g. at a discontinuity)"
        )
        raise ExpansionError(msg)


def _walsh_from_table(target: Target, tol: float) -> Spectrum:
    p = target.variables
    table = truth_table(target)
    finite = np.isfinite(table)
    if not finite.all():
        j = int(np.argmin(finite))
        msg = (
            f"the target is {table[j]} at x = {_point_of_index(j, p)}: a boolean target must be "
            "finite on all of {-1,1}^P"
        )
        raise ExpansionError(msg)
    n = table.shape[0]
    exact = _rational_table(target, table)
    if exact is not None:
        distinct, where = exact
        denominator = math.lcm(*(int(v.q) for v in distinct))
        ints = [int(v.p) * (denominator // int(v.q)) for v in distinct]
        biggest = max(abs(v) for v in ints)
        dtype = np.int64 if biggest * n < 2**62 else object
        array = np.array(ints, dtype=dtype)[where]
        spectrum = fwht(array)
        scale = denominator * n
        support = np.flatnonzero(spectrum)
        cache: dict[int, sympy.Rational] = {}
        values = []
        for value in spectrum[support].tolist():
            if value not in cache:
                cache[value] = sympy.Rational(int(value), scale)
            values.append(cache[value])
        coefficients = dict(zip(_subset_monomials(support, p), values, strict=True))
        return Spectrum(coefficients, "walsh")
    spectrum_f = fwht(table) / n
    norm = math.sqrt(float(np.mean(table * table)))
    error = (p + 1) * float(np.finfo(np.float64).eps) * float(np.max(np.abs(table)))
    support = np.flatnonzero(np.abs(spectrum_f) > tol * norm)
    coefs = dict(zip(_subset_monomials(support, p), spectrum_f[support].tolist(), strict=True))
    return _numeric_spectrum(coefs, norm, tol, "walsh", error)


def boolean_spectrum(target: Target, tol: float | None = None) -> Spectrum:
    """The Fourier–Walsh coefficients of a target on ``{-1,1}^P``, as plain data.

    The kernel under :func:`csqbound.expansion.boolean_expansion` (which documents
    the routes and wraps the result in an :class:`~csqbound.expansion.Expansion`).

    Examples
    --------
    >>> from csqbound.target import Target
    >>> s = boolean_spectrum(Target.from_text("sign(x1 + x2 + x3)", "boolean"))
    >>> s.method, s.exact, {str(m): c for m, c in s.coefficients.items()}
    ('walsh', True, {'x1': 1/2, 'x2': 1/2, 'x3': 1/2, 'x1*x2*x3': -1/2})
    """
    tolerance = check_tol(tol)
    expr = target.expression
    if target.is_polynomial:
        coefficients = multilinear_reduce(expr, target.symbols)
        if not has_float(expr):
            return Spectrum(coefficients, "multilinear")
        floats = {m: float(c) for m, c in coefficients.items()}
        norm = math.sqrt(math.fsum(c * c for c in floats.values()))
        biggest = max((abs(c) for c in floats.values()), default=0.0)
        error = 4 * float(np.finfo(np.float64).eps) * biggest
        return _numeric_spectrum(floats, norm, tolerance, "multilinear", error)
    return _walsh_from_table(target, tolerance)
