r"""Which queries see what: CSQ and SQ detectability, and the leap over a query oracle.

THEORY.md section 4. After the coordinates ``U`` are known, a non-empty set ``T``
of new coordinates (``T`` disjoint from ``U``) is **detectable** by

* **correlational statistical queries (CSQ)** — queries ``E[y phi(x)]`` — iff
  some support monomial ``alpha`` has ``supp(alpha) \ U = T``: a query
  ``phi(x_U, x_T)`` that is mean-zero in every coordinate of ``T`` correlates
  with ``y`` exactly through the monomials whose new coordinates are ``T``.
  This works on both domains (the support is the support).
* **statistical queries (SQ)** — queries ``E[psi(x, y)]`` for any ``psi`` —
  on the boolean domain iff ``E[chi_T(x_T) | y, x_U]`` is not identically zero.
  For ``y = f(x)`` with ``f`` given exactly on ``{-1,1}^P`` this is decided
  exactly: group the points of the cube by ``(y, x_U)`` and check whether
  ``sum_group chi_T`` vanishes for every group, for all ``T`` at once with a
  Walsh–Hadamard transform over the coordinates outside ``U`` (integer
  arithmetic, ``O(k P 2^P)`` for ``k`` distinct values, ``P <= 16``). A group
  of odd size gives an odd, hence non-zero, sum for every ``T``.

**Monotonicity.** If ``T`` is detectable after ``U`` and ``U' ⊇ U``, then
``T \ U'`` is detectable after ``U'`` (or empty). CSQ: ``supp(alpha) \ U' =
T \ U'``. SQ: ``chi_T = chi_{T ∩ U'} chi_{T \ U'}`` with the first factor known
given ``x_{U'}``, so ``E[chi_T | y, x_{U'}] = chi_{T ∩ U'} E[chi_{T \ U'} | y, x_{U'}]``,
and it cannot vanish when its conditional expectation given the coarser
``(y, x_U)`` does not. So the greedy of THEORY section 2 — from ``U``, take a
detectable ``T`` of least ``|T|`` — is optimal for any such oracle, by the same
closure argument as for the leap: :func:`oracle_leap` computes
``Leap_Q = min over sequences of max |T_i|``. It stops when nothing more is
detectable; for both CSQ and SQ that happens exactly when ``U`` contains every
coordinate the target depends on.

Which loss gives which (Joshi, Misiakiewicz, Srebro, NeurIPS 2024): gradient
queries of the **squared loss** behave like CSQ, gradient queries of the
**ℓ1 (absolute) loss** like SQ. ``Leap_SQ <= Leap_CSQ``, and the CSQ leap is the
leap of section 2 on the boolean domain (:func:`csq_leap` equals
``csqbound.leaps.leap(x).leap``). Example: ``x1*x2*x3 - x1*x2*x4`` has
``Leap_CSQ = 3`` but ``Leap_SQ = 2`` (``y = 0`` exactly when ``x3 = x4``).

References
----------
Joshi, Misiakiewicz, Srebro. On the complexity of learning sparse functions
with statistical and gradient queries. NeurIPS 2024.

Abbe, Boix-Adserà, Misiakiewicz. SGD learning on neural networks: leap
complexity and saddle-to-saddle dynamics. COLT 2023.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Protocol, runtime_checkable

import mpmath
import numpy as np
import sympy
from sympy.core.evalf import PrecisionExhausted

from csqbound import limits
from csqbound._validation import as_int
from csqbound.errors import (
    CsqboundError,
    DomainError,
    ExpansionError,
    NotComputableError,
    shorten,
)
from csqbound.expansion import (
    Expansion,
    SupportLike,
    TargetLike,
    as_expansion,
    as_support,
    as_target,
)
from csqbound.target import Target
from csqbound.walsh import exact_values, fwht

__all__ = [
    "MAX_SQ_VARIABLES",
    "CSQOracle",
    "Oracle",
    "QUERY_LEAPS",
    "OracleLeapResult",
    "QueryLeap",
    "SQOracle",
    "csq_leap",
    "csq_oracle",
    "least_detectable",
    "oracle_leap",
    "register_query_leap",
    "sq_leap",
    "sq_oracle",
]

#: Largest ``P`` for the exact SQ oracle (it enumerates ``{-1,1}^P``;
#: :data:`csqbound.limits.MAX_SQ_VARIABLES`).
MAX_SQ_VARIABLES = limits.MAX_SQ_VARIABLES

#: Entries of the chunk of indicator tables transformed at once (bounds memory).
_CHUNK_ENTRIES = 1 << 22


@runtime_checkable
class Oracle(Protocol):
    """A detectability oracle: ``oracle(covered, candidate) -> bool``.

    ``candidate`` is a non-empty set of 1-based coordinates disjoint from
    ``covered``. An oracle may also provide ``least_detectable(covered)``
    (the least detectable set, by size then lexicographically, or ``None``),
    which :func:`oracle_leap` uses instead of searching.
    """

    def __call__(self, covered: frozenset[int], candidate: frozenset[int]) -> bool: ...


@dataclass(frozen=True)
class OracleLeapResult:
    """The leap over a query oracle with its greedy witness.

    Attributes
    ----------
    leap
        ``max |T_i|`` along the witness (0 when nothing is detectable).
    order
        The detected sets ``T_1, T_2, ...`` in greedy order.
    jumps
        ``|T_i|``.
    variables
        ``P``.

    Examples
    --------
    >>> r = oracle_leap(csq_oracle([{1}, {1, 2, 3}]))
    >>> r.leap, r.order, r.jumps
    (2, (frozenset({1}), frozenset({2, 3})), (1, 2))
    >>> r.covered_sets()
    (frozenset(), frozenset({1}), frozenset({1, 2, 3}))
    """

    leap: int
    order: tuple[frozenset[int], ...]
    jumps: tuple[int, ...]
    variables: int

    def covered_sets(self) -> tuple[frozenset[int], ...]:
        """``U_0 = {}, U_1, ..., U_s``: the coordinates known before and after each step."""
        sets = [frozenset[int]()]
        for t in self.order:
            sets.append(sets[-1] | t)
        return tuple(sets)


# ---------------------------------------------------------------------------
# the greedy over any oracle
# ---------------------------------------------------------------------------
def least_detectable(
    oracle: Callable[[frozenset[int], frozenset[int]], bool],
    covered: frozenset[int],
    variables: int,
) -> frozenset[int] | None:
    """The least detectable set after ``covered``: smallest ``|T|``, then lexicographic.

    Uses ``oracle.least_detectable`` when the oracle has it; otherwise searches
    ``T ⊆ [P] \\ covered`` by increasing size (``itertools.combinations`` yields
    each size in lexicographic order).

    Examples
    --------
    >>> least_detectable(csq_oracle([{1, 2}, {3}]), frozenset(), 3)
    frozenset({3})
    >>> least_detectable(lambda u, t: t == frozenset({2, 3}), frozenset(), 3)
    frozenset({2, 3})
    """
    fast = getattr(oracle, "least_detectable", None)
    if callable(fast):
        return fast(covered)  # type: ignore[no-any-return]
    rest = [i for i in range(1, variables + 1) if i not in covered]
    for size in range(1, len(rest) + 1):
        for combo in itertools.combinations(rest, size):
            candidate = frozenset(combo)
            if oracle(covered, candidate):
                return candidate
    return None


def oracle_leap(
    oracle: Callable[[frozenset[int], frozenset[int]], bool], variables: int | None = None
) -> OracleLeapResult:
    """The leap over a detectability oracle, by the greedy (exact for monotone oracles).

    From ``U = {}``, repeatedly take a detectable ``T`` of least size (ties:
    lexicographic on sorted coordinates) and set ``U <- U ∪ T``, until nothing
    is detectable. For an oracle monotone in ``U`` (see the module docstring)
    the largest ``|T|`` taken is ``min over sequences of max |T_i|``.

    Parameters
    ----------
    oracle
        ``oracle(covered, candidate) -> bool``, e.g. :func:`csq_oracle` or :func:`sq_oracle`.
    variables
        ``P``; defaults to ``oracle.variables``.

    Returns
    -------
    OracleLeapResult

    Raises
    ------
    ParameterError
        If ``variables`` is missing (and the oracle has none) or negative.

    See Also
    --------
    csq_oracle, sq_oracle : the two oracles csqbound provides.
    register_query_leap : add a query leap to every table.

    Examples
    --------
    >>> oracle_leap(csq_oracle("x1*x2*x3 - x1*x2*x4")).leap
    3
    >>> r = oracle_leap(sq_oracle("x1*x2*x3 - x1*x2*x4"))
    >>> r.leap, r.order
    (2, (frozenset({3, 4}), frozenset({1, 2})))
    """
    p = variables if variables is not None else getattr(oracle, "variables", None)
    p = as_int(p, "the number of variables P of oracle_leap", 0)
    covered: frozenset[int] = frozenset()
    order: list[frozenset[int]] = []
    while True:
        t = least_detectable(oracle, covered, p)
        if t is None:
            break
        if not t or t & covered:
            msg = (
                f"the oracle returned {sorted(t)} after {sorted(covered)}: not a new, non-empty set"
            )
            raise CsqboundError(msg)
        order.append(t)
        covered = covered | t
    jumps = tuple(len(t) for t in order)
    return OracleLeapResult(max(jumps, default=0), tuple(order), jumps, p)


# ---------------------------------------------------------------------------
# CSQ
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class CSQOracle:
    """CSQ detectability from a support: ``T`` after ``U`` iff some ``supp(alpha) \\ U = T``.

    Attributes
    ----------
    supports
        The distinct non-empty supports ``supp(alpha)``.
    variables
        ``P``.

    Examples
    --------
    >>> o = CSQOracle((frozenset({1}), frozenset({1, 2, 3})), 3)
    >>> o(frozenset(), frozenset({1})), o(frozenset(), frozenset({2, 3}))
    (True, False)
    >>> o(frozenset({1}), frozenset({2, 3}))
    True
    """

    supports: tuple[frozenset[int], ...]
    variables: int

    def __call__(self, covered: frozenset[int], candidate: frozenset[int]) -> bool:
        """Whether ``candidate`` is detectable after ``covered``."""
        return bool(candidate) and any(s - covered == candidate for s in self.supports)

    def least_detectable(self, covered: frozenset[int]) -> frozenset[int] | None:
        """The least detectable set after ``covered`` (size, then lexicographic), or ``None``."""
        best: tuple[int, tuple[int, ...]] | None = None
        for s in self.supports:
            t = s - covered
            if t:
                key = (len(t), tuple(sorted(t)))
                if best is None or key < best:
                    best = key
        return None if best is None else frozenset(best[1])


def csq_oracle(x: SupportLike, domain: str = "boolean") -> CSQOracle:
    """The CSQ oracle of a target or support family.

    Parameters
    ----------
    x
        An expression, a :class:`~csqbound.target.Target`, an
        :class:`~csqbound.expansion.Expansion` (its domain wins) or an iterable of
        monomials (sets of coordinates, mappings coordinate -> degree, or
        :class:`~csqbound.monomial.Monomial`).
    domain
        ``"boolean"`` or ``"gaussian"`` (only supports matter, so both work).

    Returns
    -------
    CSQOracle

    Examples
    --------
    >>> csq_oracle("x1 + x1*x2*x3").supports
    (frozenset({1}), frozenset({1, 2, 3}))
    >>> csq_oracle([{1: 3}], domain="gaussian").supports
    (frozenset({1}),)
    """
    monos, _, p = as_support(x, domain)
    seen = dict.fromkeys(mono.support for mono in monos)
    supports = tuple(sorted(seen, key=lambda s: (len(s), sorted(s))))
    return CSQOracle(supports, p)


def csq_leap(x: SupportLike, domain: str = "boolean") -> int:
    """``Leap_CSQ``: the leap over the CSQ oracle.

    On the boolean domain it equals the leap of THEORY section 2
    (``csqbound.leaps.leap(x).leap``); on the gaussian domain it counts new
    *coordinates* (the cardinality leap, the exponent of the CSQ bound on the
    hidden-coordinates class), which can be smaller than the degree-weighted leap.

    See Also
    --------
    sq_leap : the leap over statistical queries, never larger.
    csqbound.leaps.leap : equal to it on the boolean domain.
    csqbound.dlq.dlq_leap : gradient queries on a loss, between SQ and CSQ.
    csqbound.isoleap.iso_leap : the rotation-free leap on the gaussian domain.
    csqbound.csq.csq_bound : the lower bound whose exponent it is.

    Examples
    --------
    >>> csq_leap("x1*x2*x3"), csq_leap("x1 + x1*x2 + x1*x2*x3")
    (3, 1)
    >>> csq_leap("He3(x1)", domain="gaussian")
    1
    """
    return oracle_leap(csq_oracle(x, domain)).leap


# ---------------------------------------------------------------------------
# SQ (boolean, exact)
# ---------------------------------------------------------------------------
def _butterfly(a: np.ndarray, axis: int) -> np.ndarray:
    """One Walsh–Hadamard step along ``axis`` (length 2): ``(a0 + a1, a0 - a1)``."""
    a0 = np.take(a, 0, axis=axis)
    a1 = np.take(a, 1, axis=axis)
    return np.stack([a0 + a1, a0 - a1], axis=axis)


@dataclass(frozen=True, eq=False)
class SQOracle:
    """Exact SQ detectability on ``{-1,1}^P`` from a truth table with finitely many values.

    Attributes
    ----------
    labels
        ``labels[j]`` is the index of the value of ``f`` at point ``j``
        (bit ``i - 1`` of ``j`` set iff ``x_i = -1``, the convention of
        :mod:`csqbound.walsh`); equal labels mean equal values.
    variables
        ``P <= 16``.

    Examples
    --------
    >>> o = SQOracle.from_table([1, -1, -1, 1])  # x1*x2
    >>> o(frozenset(), frozenset({1})), o(frozenset(), frozenset({1, 2}))
    (False, True)
    >>> o(frozenset({1}), frozenset({2}))
    True
    """

    labels: np.ndarray
    variables: int
    _cache: dict[frozenset[int], np.ndarray] = field(
        default_factory=dict, repr=False, compare=False
    )

    @classmethod
    def from_table(cls, values: Iterable[Any]) -> SQOracle:
        """Build from the exact values on ``{-1,1}^P`` (ints, Fractions or sympy rationals).

        Raises
        ------
        ExpansionError
            If the length is not ``2^P`` with ``P <= 16``, or a value is a float.

        Examples
        --------
        >>> o = SQOracle.from_table([Fraction(1, 2), 0, 0, Fraction(-1, 2)])  # (x1 + x2)/4
        >>> o.variables, o.labels.tolist()
        (2, [0, 1, 1, 2])
        """
        if isinstance(values, np.ndarray) and values.dtype.kind in "iub":
            arr = values.astype(np.int64).reshape(-1)
            p = cls._check_length(arr.shape[0])
            _, inverse = np.unique(arr, return_inverse=True)
            return cls(inverse.astype(np.int64).reshape(-1), p)
        vals = list(values)
        p = cls._check_length(len(vals))
        keys: list[Fraction] = []
        for v in vals:
            if isinstance(v, float | np.floating):
                msg = (
                    "the exact SQ oracle needs exact values (ints, Fractions, sympy rationals); "
                    f"got the float {v!r}"
                )
                raise ExpansionError(msg)
            if isinstance(v, sympy.Basic):
                if not v.is_Rational:
                    msg = f"the exact SQ oracle needs rational values, got {v}"
                    raise ExpansionError(msg)
                keys.append(Fraction(int(v.p), int(v.q)))  # type: ignore[attr-defined]
            else:
                keys.append(Fraction(v))
        index: dict[Fraction, int] = {}
        labels = np.fromiter((index.setdefault(k, len(index)) for k in keys), dtype=np.int64)
        return cls(labels, p)

    @staticmethod
    def _check_length(n: int) -> int:
        if n < 1 or n & (n - 1):
            msg = f"a truth table has length 2^P, got {n}"
            raise ExpansionError(msg)
        p = n.bit_length() - 1
        if p > MAX_SQ_VARIABLES:
            msg = f"the exact SQ oracle supports P <= {MAX_SQ_VARIABLES} variables, got P={p}"
            raise ExpansionError(msg)
        return p

    def detectable_mask(self, covered: frozenset[int]) -> np.ndarray:
        """Boolean mask over ``t`` in ``[0, 2^P)``: is ``T_t ⊆ [P] \\ covered`` detectable.

        ``t`` encodes ``T`` by its bits (bit ``i - 1`` iff ``i`` in ``T``); entries
        with ``t`` meeting ``covered`` or ``t = 0`` are ``False``. Cached per ``covered``.

        Examples
        --------
        >>> o = sq_oracle("x1*x2*x3 - x1*x2*x4")
        >>> [t for t in range(16) if o.detectable_mask(frozenset())[t]]  # {1,2,3} {1,2,4} {3,4}
        [7, 11, 12]
        """
        key = frozenset(covered)
        if key in self._cache:
            return self._cache[key]
        p = self.variables
        n = 1 << p
        umask = sum(1 << (i - 1) for i in key if 1 <= i <= p)
        cmask = (n - 1) & ~umask
        j = np.arange(n, dtype=np.int64)
        out = np.zeros(n, dtype=bool)
        # Odd-size groups (y, x_U): every T has an odd, non-zero sum.
        groups = self.labels * n + (j & umask)
        _, counts = np.unique(groups, return_counts=True)
        if (counts % 2).any():
            sub = np.arange(n, dtype=np.int64)
            out[(sub & umask) == 0] = True
            out[0] = False
            self._cache[key] = out
            return out
        values = int(self.labels.max()) + 1 if n else 0
        # axis a of the (2,)*P reshape is bit P-1-a, i.e. coordinate P - a.
        free_axes = [p - i for i in range(1, p + 1) if (cmask >> (i - 1)) & 1]
        chunk = max(1, _CHUNK_ENTRIES // n)
        detected = np.zeros(n, dtype=bool)
        for start in range(0, values, chunk):
            ids = np.arange(start, min(values, start + chunk), dtype=np.int64)
            ind = (self.labels[None, :] == ids[:, None]).astype(np.int32)
            a = ind.reshape((len(ids),) + (2,) * p)
            for axis in free_axes:
                a = _butterfly(a, axis + 1)
            detected |= (a.reshape(len(ids), n) != 0).any(axis=0)
        hits = j[detected] & cmask
        out[hits] = True
        out[0] = False
        self._cache[key] = out
        return out

    def __call__(self, covered: frozenset[int], candidate: frozenset[int]) -> bool:
        """Whether ``candidate`` is detectable after ``covered``."""
        if not candidate or candidate & covered:
            return False
        if any(not 1 <= i <= self.variables for i in candidate):
            return False
        t = sum(1 << (i - 1) for i in candidate)
        return bool(self.detectable_mask(frozenset(covered))[t])

    def least_detectable(self, covered: frozenset[int]) -> frozenset[int] | None:
        """The least detectable set after ``covered`` (size, then lexicographic), or ``None``."""
        mask = self.detectable_mask(frozenset(covered))
        hits = np.flatnonzero(mask)
        if hits.size == 0:
            return None
        sizes = np.array([int(h).bit_count() for h in hits])
        smallest = hits[sizes == sizes.min()]
        best = min(
            tuple(i + 1 for i in range(self.variables) if (int(h) >> i) & 1) for h in smallest
        )
        return frozenset(best)


def _cube_values(ints: dict[int, int], p: int) -> np.ndarray:
    """``sum_S c_S chi_S`` on every point of ``{-1,1}^P`` for integer ``c_S`` (key: set bits).

    The Sylvester-Hadamard transform (:func:`csqbound.walsh.fwht`), exact: int64 when
    ``max |c| 2^P < 2^62`` bounds every value, Python ints otherwise.
    """
    n = 1 << p
    small = max((abs(v) for v in ints.values()), default=0) * n < 2**62
    vec = np.zeros(n, dtype=np.int64 if small else object)
    if not small:
        vec[:] = 0
    for k, v in ints.items():
        vec[k] = v
    return fwht(vec)


def _check_sq_input(expansion: Expansion) -> int:
    """The number of variables, after the domain and size checks of the exact SQ oracle."""
    if expansion.domain != "boolean":
        msg = "the SQ oracle is defined on the boolean domain only"
        raise DomainError(msg)
    p = expansion.variables
    if p > MAX_SQ_VARIABLES:
        msg = (
            f"the exact SQ oracle enumerates {{-1,1}}^P and supports P <= {MAX_SQ_VARIABLES} "
            f"(MAX_SQ_VARIABLES in csqbound.limits), got P={p}"
        )
        raise ExpansionError(msg)
    return p


def _exact_table(expansion: Expansion) -> np.ndarray:
    """``D * f`` on ``{-1,1}^P`` (``D`` the common denominator) of a rational expansion."""
    p = _check_sq_input(expansion)
    coefs: dict[int, Fraction] = {}
    for mono, c in expansion.coefficients.items():
        if not isinstance(c, sympy.Rational):
            msg = f"_exact_table needs rational Walsh coefficients, got {shorten(c)} for {mono}"
            raise ExpansionError(msg)
        coefs[sum(1 << (i - 1) for i in mono.support)] = Fraction(int(c.p), int(c.q))
    denominator = math.lcm(*(c.denominator for c in coefs.values())) if coefs else 1
    return _cube_values({k: int(c * denominator) for k, c in coefs.items()}, p)


def _not_computable(reason: str) -> NotComputableError:
    return NotComputableError(f"the SQ leap is not computable: {reason}", reason)


def _atoms(value: sympy.Expr) -> dict[sympy.Expr, Fraction]:
    """An exact real number as ``{atom: rational}``, ``value = sum rational * atom``.

    The atom ``1`` carries the rational part; other atoms are sympy's irrational terms
    (``sqrt(2)``, ``tanh(2)``, ``E*sin(1)``). Different dicts may still be equal
    numbers when atoms are dependent; :func:`_partition` decides.
    """
    if value.free_symbols or value.has(sympy.Float) or value.is_real is False:
        msg = f"the exact SQ oracle needs exact real values, got {shorten(value)}"
        raise ExpansionError(msg)
    out: dict[sympy.Expr, Fraction] = {}
    for atom, q in value.as_coefficients_dict().items():
        if not isinstance(q, sympy.Rational):  # pragma: no cover - sympy's own numbers
            why = f"the value {shorten(value)} has a non-rational factor"
            raise _not_computable(why)
        if q:
            out[atom] = Fraction(int(q.p), int(q.q))
    return out


def _provably_equal(a: sympy.Expr, b: sympy.Expr) -> bool:
    """Whether two exact numbers that agree to 40 digits are equal; raises if undecided."""
    difference = sympy.expand(a - b)
    if difference == 0 or sympy.simplify(difference) == 0 or difference.equals(0) is True:
        return True
    try:
        sympy.N(difference, 15, maxn=2000, strict=True)
    except PrecisionExhausted:
        reason = (
            f"two values of the target on the cube, {shorten(a, 40)} and {shorten(b, 40)}, "
            "agree to hundreds of digits but cannot be proved equal"
        )
        raise _not_computable(reason) from None
    return False  # certified non-zero at 15 significant digits


def _partition(values: list[dict[sympy.Expr, Fraction]]) -> list[int]:
    """Label distinct exact values (``{atom: rational}`` each): equal labels iff equal numbers.

    Values with equal dicts are equal. Others are compared at 70 digits; pairs closer
    than 1e-40 (relative) are decided symbolically by :func:`_provably_equal`.
    """
    atoms = list(dict.fromkeys(a for v in values for a in v))
    with mpmath.workdps(70):
        numeric = {a: mpmath.mpf(str(sympy.N(a, 75))) for a in atoms}
        points = [
            mpmath.fsum(
                numeric[a] * (mpmath.mpf(q.numerator) / q.denominator) for a, q in v.items()
            )
            for v in values
        ]
        order = sorted(range(len(values)), key=lambda i: points[i])
        labels = list(range(len(values)))
        for left, right in zip(order, order[1:], strict=False):
            scale = max(1, abs(points[left]), abs(points[right]))
            if abs(points[right] - points[left]) > mpmath.mpf(10) ** -40 * scale:
                continue
            exact = [
                sympy.Add(
                    *(sympy.Rational(q.numerator, q.denominator) * a for a, q in values[i].items())
                )
                for i in (left, right)
            ]
            if _provably_equal(*exact):
                labels[right] = labels[left]
    return labels


def _labels_of(keys: list[tuple[Any, ...]], values: list[dict[sympy.Expr, Fraction]]) -> np.ndarray:
    """Final labels of points from their keys (points with one key share one value)."""
    distinct: dict[tuple[Any, ...], int] = {}
    representative: list[dict[sympy.Expr, Fraction]] = []
    first = []
    for key, value in zip(keys, values, strict=True):
        if key not in distinct:
            distinct[key] = len(distinct)
            representative.append(value)
        first.append(distinct[key])
    merged = _partition(representative)
    return np.array([merged[i] for i in first], dtype=np.int64)


def _polynomial_labels(expansion: Expansion, p: int) -> np.ndarray:
    """Labels from exact (possibly irrational) Walsh coefficients, atom by atom."""
    per_atom: dict[sympy.Expr, dict[int, Fraction]] = {}
    for mono, c in expansion.coefficients.items():
        k = sum(1 << (i - 1) for i in mono.support)
        for atom, q in _atoms(sympy.sympify(c, strict=True)).items():
            per_atom.setdefault(atom, {})[k] = q
    atoms = list(per_atom)
    columns = []
    for atom in atoms:
        coefs = per_atom[atom]
        denominator = math.lcm(*(q.denominator for q in coefs.values()))
        ints = {k: int(q * denominator) for k, q in coefs.items()}
        columns.append([Fraction(int(v), denominator) for v in _cube_values(ints, p).tolist()])
    keys = list(zip(*columns, strict=True)) if columns else [()] * (1 << p)
    values = [{a: q for a, q in zip(atoms, key, strict=True) if q} for key in keys]
    return _labels_of(keys, values)  # type: ignore[arg-type]


def _pointwise_labels(target: Target, p: int) -> np.ndarray:
    """Labels from the exact value of a non-polynomial target at every point of the cube."""
    if p > limits.MAX_SQ_POINTWISE_VARIABLES:
        msg = (
            f"its values on the cube are not all rational, and evaluating all 2^{p} points "
            f"exactly is limited to P <= {limits.MAX_SQ_POINTWISE_VARIABLES} "
            "(MAX_SQ_POINTWISE_VARIABLES in csqbound.limits)"
        )
        raise _not_computable(msg)
    exact = exact_values(target.expression, target.symbols, range(1 << p))
    values = [_atoms(v) for v in exact]
    keys = [tuple([frozenset(v.items())]) for v in values]
    return _labels_of(keys, values)  # type: ignore[arg-type]


def sq_oracle(x: TargetLike) -> SQOracle:
    """The exact SQ oracle of a boolean target.

    The oracle needs which points of ``{-1,1}^P`` share a value of the target.
    Rational values come from the exact Walsh expansion (``P <= 16``); irrational
    exact coefficients (``sqrt(2)*x1*x2``) are transformed atom by atom
    (``P <= 16``); a non-polynomial target with irrational values
    (``tanh(x1 + x2)``) is evaluated exactly at every point (``P <= 12``). Values
    are told apart at 70 digits, and values closer than that must be proved
    equal by sympy, or the oracle is not computable (never guessed).

    Parameters
    ----------
    x
        An expression (text or sympy), a boolean :class:`~csqbound.target.Target`
        or a boolean :class:`~csqbound.expansion.Expansion` with exact
        coefficients, on ``P <= 16`` variables.

    Returns
    -------
    SQOracle

    Raises
    ------
    DomainError
        For a gaussian target.
    ExpansionError
        For ``P > 16``.
    NotComputableError
        When the partition of the cube by value cannot be computed exactly: a
        numeric expansion without its target, irrational values of a
        non-polynomial target on ``P > 12`` variables, or two values that cannot
        be proved equal or different. Its ``reason`` says which.

    Examples
    --------
    >>> o = sq_oracle("x1*x2*x3 - x1*x2*x4")
    >>> o(frozenset(), frozenset({3, 4})), o(frozenset(), frozenset({1, 2}))
    (True, False)
    >>> sq_oracle("tanh(x1 + x2)").labels.tolist()  # tanh(2), 0, 0, -tanh(2)
    [0, 1, 1, 2]
    """
    read = as_target(x, "boolean", require="boolean", caller="the SQ oracle")
    target = read if isinstance(read, Target) else None
    expansion = as_expansion(read)
    p = _check_sq_input(expansion)
    if expansion.exact and all(
        isinstance(c, sympy.Rational) for c in expansion.coefficients.values()
    ):
        return SQOracle.from_table(_exact_table(expansion))
    if expansion.exact:
        return SQOracle(_polynomial_labels(expansion, p), p)
    if target is None or target.expression.has(sympy.Float):
        why = (
            "the expansion is numeric (floating point); give the target itself, with exact "
            "numbers, so that its values on the cube can be compared exactly"
        )
        raise _not_computable(why)
    return SQOracle(_pointwise_labels(target, p), p)


def sq_leap(x: TargetLike) -> int:
    """``Leap_SQ`` of a boolean target (exact, ``P <= 16``); always ``<= csq_leap(x)``.

    Raises :class:`~csqbound.errors.NotComputableError` (with a ``reason``) where
    :func:`sq_oracle` cannot decide exactly which points share a value.

    See Also
    --------
    csq_leap : the leap over correlational queries.
    csqbound.dlq.dlq_leap : gradient queries on a loss.
    csqbound.leaps.leap : the coordinate leap (the CSQ leap on the boolean domain).

    Examples
    --------
    >>> sq_leap("x1*x2*x3"), sq_leap("x1*x2*x3 - x1*x2*x4")
    (3, 2)
    >>> sq_leap("tanh(x1 + x2)"), sq_leap("sqrt(2)*x1*x2"), sq_leap("sin(x1)*x2")
    (1, 2, 2)
    """
    return oracle_leap(sq_oracle(x)).leap


# ---------------------------------------------------------------------------
# the registry of query leaps
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class QueryLeap:
    """A query leap the summaries, the zoo and the report compute and print.

    Attributes
    ----------
    name
        The key of the value in every record (``"csq_leap"``).
    label
        Its short label in the "other leaps" cell (``"CSQ"``).
    domains
        The domains it is defined on; elsewhere the records hold ``None``.
    compute
        ``compute(target, expansion) -> int``; a
        :class:`~csqbound.errors.NotComputableError` or
        :class:`~csqbound.errors.ExpansionError` means "not computable here".
    """

    name: str
    label: str
    domains: tuple[str, ...]
    compute: Callable[[Target, Expansion], int]


#: The registered query leaps, in the order the tables print them. A new query type
#: is its oracle in this module plus one :func:`register_query_leap` call.
QUERY_LEAPS: dict[str, QueryLeap] = {}


def register_query_leap(
    name: str, label: str, domains: Iterable[str], compute: Callable[[Target, Expansion], int]
) -> QueryLeap:
    """Register a query leap (replacing one of the same name) and return it.

    Examples
    --------
    >>> sorted(QUERY_LEAPS)
    ['csq_leap', 'sq_leap']
    >>> QUERY_LEAPS["sq_leap"].label
    'SQ'
    """
    entry = QueryLeap(name, label, tuple(domains), compute)
    QUERY_LEAPS[name] = entry
    return entry


register_query_leap("csq_leap", "CSQ", ("boolean",), lambda target, expansion: csq_leap(expansion))
register_query_leap("sq_leap", "SQ", ("boolean",), lambda target, expansion: sq_leap(target))
