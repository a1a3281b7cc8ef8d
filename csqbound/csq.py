r"""The stage-wise CSQ lower bound on the hidden-coordinates class (THEORY.md section 5).

Class: ``F_d = { f o pi : pi : [P] -> [d] injective }`` — the target on unknown
coordinates. A CSQ oracle answers ``E[f o pi * phi]`` within ``tau`` for any
query with ``E[phi^2] <= 1``.

**Stage bound.** Take a covered set ``U`` (``u = |U|``) and give the learner
``pi`` on ``U`` for free. The unknown remainder is
``r = sum_{S not in U} h(S) chi_S`` (gaussian: ``alpha`` with
``supp(alpha) not in U``). For any query ``phi``, by Cauchy–Schwarz and Bessel
over the uniformly random image of ``S \ U``::

    E_pi <phi, r o pi>^2 <= ||r||^2 Gamma_U,
    Gamma_U = sum_{S not in U} 1 / C(d - u, |S \ U|)

(gaussian: ``|S \ U|`` is the number of new *coordinates* of ``alpha``, not its
degree). An adversary answering as if ``r = 0`` is caught by one query with
probability at most ``||r||^2 Gamma_U / tau^2`` (Markov), and one fixed
hypothesis is within squared error ``||r||^2 / 9`` of ``f o pi`` with
probability at most ``4 Gamma_U``. Hence a CSQ learner that reaches squared
error ``||r||^2 / 9`` with probability ``>= 1/2`` needs::

    q >= (1/2 - 4 Gamma_U) tau^2 / (||r||^2 Gamma_U)

queries; when ``1/2 - 4 Gamma_U <= 0`` the stage bound is vacuous (reported as
0, flagged). The full proof is in ``docs/theory.md``;
``proofs_checks/check_csq_inequality.py`` verifies the displayed inequality
exactly by enumerating every ``pi`` for small ``d``.

csqbound evaluates the bound at every covered set ``U_0 = {}, U_1, ...`` of a
greedy run over the CSQ oracle (:func:`csqbound.queries.oracle_leap`: from ``U``,
take a detectable set of new coordinates ``T = S \ U`` of least size), up to
the last one that leaves something unknown, and reports the maximum. When
several sets tie for least size, every tied run is explored (memoised on ``U``,
up to 2000 covered sets) and the run with the largest bound is reported: every
stage bound is valid on its own, all runs share the same largest jump, and the
result does not depend on how coordinates are labelled. On the boolean domain
without ties the covered sets are those of the leap's witness
(:meth:`csqbound.leaps.LeapResult.covered_sets`). Along that greedy the
bound grows as ``d^(jump)`` at each stage, so the overall bound grows as
``d^exponent`` with ``exponent`` the cardinality leap (new coordinates per
step): the leap on the boolean domain, possibly less than the degree-weighted
leap on the gaussian domain (``He3(x1)``: exponent 1, while online SGD is
predicted to need ``d^2`` samples) — the notes of ``csqbound csq`` say so
(:func:`csqbound.report.summary.csq_notes`).

All arithmetic is exact (``fractions.Fraction``) when ``||r||^2`` is rational;
otherwise (irrational or numeric coefficients) it is done in 50-digit
``mpmath`` and ``exact`` is ``False``. ``log10`` values come from the exact
numerator and denominator, so ``d = 10**6`` and beyond never overflow.

References
----------
Szörényi. Characterizing statistical query learning: simplified notions and
proofs. ALT 2009. Feldman. A complete characterization of statistical query
learning with applications to evolvability. JCSS 2012.

Abbe, Boix-Adserà, Misiakiewicz. SGD learning on neural networks: leap
complexity and saddle-to-saddle dynamics. COLT 2023.

Damian, Lee, Soltanolkotabi. Neural networks can learn representations with
gradient descent. COLT 2022. Damian, Nichani, Ge, Lee. Smoothing the landscape
boosts the signal for SGD. NeurIPS 2023.
"""

from __future__ import annotations

import decimal
import math
import numbers
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, TypeAlias

import mpmath
import sympy

from csqbound import limits
from csqbound._validation import as_int
from csqbound.display import html_table, short_repr, to_dataframe
from csqbound.errors import CsqboundError, ExpansionError, ParameterError, shorten
from csqbound.expansion import Expansion, TargetLike, as_expansion
from csqbound.isoleap import IsoLeapResult, iso_leap
from csqbound.monomial import Domain, Monomial, check_domain
from csqbound.parsing import exact_number
from csqbound.queries import csq_oracle, oracle_leap

__all__ = [
    "CLASS_LABEL",
    "MAX_RUN_DEPTH",
    "MAX_RUN_STATES",
    "WORKING_DIGITS",
    "ROTATION_LABEL",
    "CSQBound",
    "CSQStage",
    "check_dimension",
    "csq_bound",
    "gamma",
    "read_tau",
    "stage_queries",
]

#: The class the bound is about.
CLASS_LABEL = "hidden coordinates: {f∘π : π injective [P]→[d]}"

#: The label of the rotation-class reference value.
ROTATION_LABEL = (
    "literature reference (Damian, Lee, Soltanolkotabi 2022; Damian et al. 2023): CSQ bound "
    "for single-index class {f∘U}; not computed by csqbound"
)

#: Largest number of covered sets visited when exploring tied greedy runs (and, for
#: large supports, :data:`csqbound.limits.MAX_CSQ_WORK` monomials visited in all).
MAX_RUN_STATES = 2000
#: ... or runs longer than this many steps (the search recurses once per step).
MAX_RUN_DEPTH = 200

#: Working precision (decimal digits) of inexact bounds.
WORKING_DIGITS = 50

#: A value of the bound: exact, or a high-precision decimal when inexact.
Number: TypeAlias = Fraction | Any  # Any: mpmath.mpf (untyped)


@dataclass(frozen=True)
class CSQStage:
    """The CSQ lower bound of one stage ``U`` of the greedy.

    Attributes
    ----------
    covered
        ``U``: the coordinates given to the learner for free.
    jump
        The number of new coordinates of the next greedy step.
    m
        ``#{alpha : supp(alpha) not in U}``: monomials of the remainder.
    r_norm2
        ``||r||^2`` (gaussian weights include ``alpha!``).
    gamma
        ``Gamma_U`` (exact).
    queries
        ``(1/2 - 4 Gamma_U) tau^2 / (||r||^2 Gamma_U)``, or 0 when vacuous.
    vacuous
        ``1/2 - 4 Gamma_U <= 0``: this stage gives no bound at this ``d``.
    log10_queries
        ``log10(queries)``; ``None`` when vacuous.
    """

    covered: frozenset[int]
    jump: int
    m: int
    r_norm2: Number
    gamma: Fraction
    queries: Number
    vacuous: bool
    log10_queries: float | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (numbers as exact strings).

        Examples
        --------
        >>> stage = csq_bound("x1 + x1*x2*x3", d=10, tau="1").stages[1]
        >>> out = stage.to_dict()
        >>> out["covered"], out["jump"], out["gamma"], out["queries"], out["accuracy"]
        ([1], 2, '1/36', '14', '1/9')
        """
        return {
            "covered": sorted(self.covered),
            "jump": self.jump,
            "m": self.m,
            "r_norm2": _show(self.r_norm2),
            "gamma": _show(self.gamma),
            "queries": _show(self.queries),
            "queries_float": _to_float(self.queries),
            "log10_queries": self.log10_queries,
            "vacuous": self.vacuous,
            "accuracy": _show(self.r_norm2 / 9),
        }


@dataclass(frozen=True, repr=False)
class CSQBound:
    """The stage-wise CSQ lower bound of a target at dimension ``d`` and tolerance ``tau``.

    Attributes
    ----------
    d, tau
        The ambient dimension and the tolerance (exact).
    domain
        ``"boolean"`` or ``"gaussian"``.
    variables
        ``P``.
    stages
        One :class:`CSQStage` per covered set of the greedy.
    bound
        The maximum of the stage bounds: any CSQ learner of the class that
        reaches squared error ``||r_U||^2 / 9`` (for the maximising stage) with
        probability ``>= 1/2`` makes at least this many queries.
    log10_bound
        ``log10(bound)``; ``None`` when every stage is vacuous.
    exponent
        The cardinality leap: the bound grows as ``d^exponent``.
    exact
        Whether ``||r||^2`` (hence the bound) is exact.
    class_label
        The class the bound is about.
    rotation_reference
        Gaussian single-index targets only: the literature CSQ bound ``d^(k/2)``
        for the rotation class, labelled as a reference; else ``None``.
    lexicographic
        The tied greedy runs were too many to explore: the stages follow the
        lexicographic run (the bound may then depend on the labelling).
    rotation_error
        Gaussian targets whose ``iso_leap`` could not be computed: why (then no
        rotation reference).
    truncation, max_degree
        Non-polynomial gaussian targets: the expansion's truncation mass and degree.

    See Also
    --------
    csqbound.analysis.analyze : the bound with the leaps and the SGD prediction.
    csqbound.report.summary.csq_notes : the sentences that explain these numbers.
    """

    d: int
    tau: Fraction
    domain: Domain
    variables: int
    stages: tuple[CSQStage, ...]
    bound: Number
    log10_bound: float | None
    exponent: int
    exact: bool
    class_label: str
    rotation_reference: dict[str, Any] | None
    lexicographic: bool = False
    rotation_error: str | None = None
    truncation: float | None = None
    max_degree: int | None = None

    @property
    def bound_ceiling(self) -> int:
        """The least integer ``>= bound``: a number of queries."""
        if isinstance(self.bound, Fraction):
            return math.ceil(self.bound)
        return int(mpmath.ceil(self.bound))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (exact numbers as strings; no prediction, no notes).

        :func:`csqbound.report.summary.csq_record` adds the SGD prediction and the
        notes for ``csqbound csq``.

        Examples
        --------
        >>> out = csq_bound("x1*x2", d=16, tau="1/10").to_dict()
        >>> out["bound"], out["bound_ceiling"], out["exponent"]
        ('14/25', '1', 2)
        >>> out["stages"][0]["gamma"]
        '1/120'
        """
        return {
            "d": self.d,
            "tau": _show(self.tau),
            "domain": self.domain,
            "variables": self.variables,
            "class": self.class_label,
            "exponent": self.exponent,
            "bound": _show(self.bound),
            "bound_ceiling": _show(Fraction(self.bound_ceiling)),
            "bound_float": _to_float(self.bound),
            "log10_bound": self.log10_bound,
            "exact": self.exact,
            "below_one_query": self.below_one_query,
            "stages": [stage.to_dict() for stage in self.stages],
            "rotation_reference": self.rotation_reference,
        }

    @property
    def below_one_query(self) -> bool:
        """Whether the bound is below one query (``log10_bound < 0``): it says nothing then.

        Examples
        --------
        >>> csq_bound("x1*x2", d=16, tau="1/10").below_one_query  # 14/25 queries
        True
        >>> csq_bound("x1*x2", d=1000, tau="1/100").below_one_query
        False
        """
        return self.log10_bound is not None and self.log10_bound < 0

    def _stage_rows(self) -> list[dict[str, Any]]:
        return [
            {
                "stage": i + 1,
                "covered": ", ".join(f"x{c}" for c in sorted(st.covered)) or "{}",
                "jump": st.jump,
                "m": st.m,
                "r_norm2": _show(st.r_norm2),
                "gamma": _show(st.gamma),
                "queries": _show(st.queries),
                "queries_float": _to_float(st.queries),
                "log10_queries": st.log10_queries,
                "vacuous": st.vacuous,
            }
            for i, st in enumerate(self.stages)
        ]

    def __repr__(self) -> str:
        """One line: ``d``, ``tau``, the exponent, the bound and its ``log10``."""
        return short_repr(
            "CSQBound",
            d=self.d if self.d.bit_length() < 64 else f"~1e{len(str(self.d)) - 1}",
            tau=_show(self.tau),
            domain=self.domain,
            exponent=self.exponent,
            bound=_show(self.bound),
            log10_bound=self.log10_bound,
            stages=len(self.stages),
        )

    def _repr_html_(self) -> str:
        """A compact table for Jupyter: one row per stage, the bound in the caption."""
        log10 = "-" if self.log10_bound is None else f"{self.log10_bound:.3g}"
        flag = " (below one query: no constraint)" if self.below_one_query else ""
        title = (
            f"CSQ lower bound at d = {self.d}, tau = {_show(self.tau)}: {_show(self.bound)} "
            f"queries (log10 {log10}){flag}, growing as d^{self.exponent}"
        )
        columns = ["stage", "covered", "jump", "m", "r_norm2", "gamma", "queries"]
        return html_table(title, columns, [[r[c] for c in columns] for r in self._stage_rows()])

    def to_dataframe(self) -> Any:
        """One row per stage: covered set, jump, ``m``, ``r_norm2``, ``gamma``, ``queries``
        (exact strings), ``queries_float``, ``log10_queries`` and ``vacuous``.

        Needs pandas (``pip install 'csqbound[pandas]'``).
        """
        rows = self._stage_rows()
        return to_dataframe(rows, list(rows[0]) if rows else ["stage"])


# ---------------------------------------------------------------------------
# number helpers
# ---------------------------------------------------------------------------
#: Exact numbers with more bits than this print as 30-digit decimals (a 300-digit
#: fraction is already unreadable, and Python refuses to print ints over 4300 digits).
_EXACT_PRINT_BITS = 1000


def _show(value: Number) -> str:
    if isinstance(value, Fraction):
        if max(abs(value.numerator), value.denominator).bit_length() > _EXACT_PRINT_BITS:
            with mpmath.workdps(WORKING_DIGITS):
                return mpmath.nstr(mpmath.mpf(value.numerator) / value.denominator, 30)
        return (
            str(value.numerator)
            if value.denominator == 1
            else f"{value.numerator}/{value.denominator}"
        )
    return mpmath.nstr(value, 30)


def _log10(value: Number) -> float | None:
    """``log10`` of a positive number, without float overflow; ``None`` for 0."""
    if value <= 0:
        return None
    if isinstance(value, Fraction):
        # math.log10 accepts Python ints of any size.
        return math.log10(value.numerator) - math.log10(value.denominator)
    return float(mpmath.log10(value))


def _to_float(value: Number) -> float | None:
    """``float(value)``, or ``None`` when it does not fit in a float."""
    try:
        out = float(value)
    except OverflowError:
        return None
    return out if math.isfinite(out) else None


def read_tau(tau: object) -> Fraction:
    """Read ``tau`` exactly: str / int / Fraction / sympy Rational / Decimal / float.

    Examples
    --------
    >>> read_tau("0.01"), read_tau(0.01)
    (Fraction(1, 100), Fraction(1, 100))
    """
    if isinstance(tau, bool):
        msg = "tau must be a number, got a boolean"
        raise ParameterError(msg)
    try:
        if isinstance(tau, str | decimal.Decimal):
            value = exact_number(str(tau), "tau")
        elif isinstance(tau, sympy.Basic):
            if not tau.is_Rational:
                value = Fraction(str(sympy.Float(tau, 30)))
            else:
                value = Fraction(int(tau.p), int(tau.q))  # type: ignore[attr-defined]
        elif isinstance(tau, numbers.Rational):
            value = Fraction(tau)  # type: ignore[arg-type]
        elif isinstance(tau, numbers.Real):
            number = float(tau)
            if not math.isfinite(number):
                msg = f"tau must be finite, got {number!r}"
                raise ParameterError(msg)
            value = Fraction(str(number))  # shortest decimal: 0.01 -> 1/100
        else:
            msg = f"tau must be a number or a string such as '0.01' or '1/100', got {tau!r}"
            raise ParameterError(msg)
    except CsqboundError as exc:  # exact_number's message says what and how
        raise ParameterError(str(exc)) from exc
    except (ValueError, ZeroDivisionError, TypeError, OverflowError) as exc:
        msg = (
            f"cannot read tau={shorten(repr(tau))} as a number ({shorten(exc)}); "
            "give e.g. '0.01' or '1/100'"
        )
        raise ParameterError(msg) from exc
    if value <= 0:
        msg = f"tau must be > 0, got {shorten(repr(tau))}"
        raise ParameterError(msg)
    if not limits.MIN_TAU <= value <= limits.MAX_TAU:
        msg = (
            f"tau={shorten(repr(tau))} is outside 1e-300..1e300 (MIN_TAU and MAX_TAU in "
            "csqbound.limits)"
        )
        raise ParameterError(msg)
    return value


def _weight(expansion: Expansion, mono: Monomial) -> tuple[Number, bool]:
    """The monomial's share of ``||f||^2``, exactly when rational."""
    c = expansion.coefficients[mono]
    if isinstance(c, float):
        w = c * c * (mono.factorial if expansion.domain == "gaussian" else 1)
        return mpmath.mpf(w), False
    value = expansion.weight(mono)
    if isinstance(value, sympy.Rational):
        return Fraction(int(value.p), int(value.q)), True
    simplified = sympy.radsimp(sympy.expand(value))
    if isinstance(simplified, sympy.Rational):
        return Fraction(int(simplified.p), int(simplified.q)), True
    return mpmath.mpf(str(sympy.N(value, WORKING_DIGITS + 10))), False


# ---------------------------------------------------------------------------
# pure kernels
# ---------------------------------------------------------------------------
def gamma(new_sizes: list[int], d: int, u: int) -> Fraction:
    """``Gamma_U = sum_S 1 / C(d - u, |S \\ U|)`` from the sizes ``|S \\ U|`` (all ``>= 1``).

    Examples
    --------
    >>> gamma([2], d=4, u=0)
    Fraction(1, 6)
    >>> gamma([1, 2], d=5, u=1)
    Fraction(5, 12)
    """
    n = d - u
    total = Fraction(0)
    for s, count in Counter(new_sizes).items():
        if s < 1 or s > n:
            msg = f"a new-coordinate count must be in 1..d-u={n}, got {s}"
            raise ParameterError(msg)
        total += Fraction(count, math.comb(n, s))
    return total


def stage_queries(r_norm2: Number, gamma_u: Fraction, tau: Fraction) -> tuple[Number, bool]:
    """``(1/2 - 4 Gamma) tau^2 / (||r||^2 Gamma)`` and whether it is vacuous (then 0).

    Examples
    --------
    >>> stage_queries(Fraction(1), Fraction(1, 16), Fraction(1, 10))
    (Fraction(1, 25), False)
    >>> stage_queries(Fraction(1), Fraction(1, 8), Fraction(1, 10))
    (Fraction(0, 1), True)
    """
    slack = Fraction(1, 2) - 4 * gamma_u
    if slack <= 0:
        zero: Number = Fraction(0) if isinstance(r_norm2, Fraction) else mpmath.mpf(0)
        return zero, True
    if isinstance(r_norm2, Fraction):
        return slack * tau * tau / (r_norm2 * gamma_u), False
    with mpmath.workdps(WORKING_DIGITS):
        num = mpmath.mpf(slack.numerator) / slack.denominator
        t = mpmath.mpf(tau.numerator) / tau.denominator
        g = mpmath.mpf(gamma_u.numerator) / gamma_u.denominator
        return num * t * t / (r_norm2 * g), False


class _TooManyTies(Exception):
    """Raised when exploring the tied greedy runs would visit too many covered sets."""


def _best_run(
    supports: list[frozenset[int]],
    make_stage: Callable[[frozenset[int]], CSQStage],
    cost: int,
) -> list[CSQStage]:
    """The greedy run over the CSQ oracle with the largest bound, over every tie.

    From ``U``, the greedy may take any detectable set ``T = S \\ U`` of least
    size; every such choice is explored (memoised on ``U``) and the run whose
    largest stage bound is greatest is returned (ties: lexicographic ``T``).
    Every run has the same largest jump (the cardinality leap), and every stage
    bound is valid on its own, so this only picks the strongest witness and
    makes the result independent of how coordinates are labelled. Each covered
    set costs ``cost`` (monomials visited); past :data:`MAX_RUN_STATES` sets or
    :data:`csqbound.limits.MAX_CSQ_WORK` in all, ``_TooManyTies`` is raised.
    """
    memo: dict[frozenset[int], tuple[Number | None, list[CSQStage]]] = {}
    budget = max(1, limits.MAX_CSQ_WORK // max(cost, 1))

    def best(covered: frozenset[int], depth: int = 0) -> tuple[Number | None, list[CSQStage]]:
        if covered in memo:
            return memo[covered]
        if len(memo) >= min(MAX_RUN_STATES, budget) or depth >= MAX_RUN_DEPTH:
            raise _TooManyTies
        new = [s - covered for s in supports if not s <= covered]
        if not new:
            memo[covered] = (None, [])
            return memo[covered]
        stage = make_stage(covered)
        options = sorted({tuple(sorted(t)) for t in new if len(t) == stage.jump})
        chosen: tuple[Number | None, list[CSQStage]] | None = None
        for option in options:
            value, path = best(covered | frozenset(option), depth + 1)
            if chosen is None or (value is not None and (chosen[0] is None or value > chosen[0])):
                chosen = (value, path)
        assert chosen is not None
        tail_value = chosen[0]
        value = stage.queries if tail_value is None or stage.queries > tail_value else tail_value
        memo[covered] = (value, [stage, *chosen[1]])
        return memo[covered]

    return best(frozenset())[1]


# ---------------------------------------------------------------------------
# the public function
# ---------------------------------------------------------------------------
def _rotation_reference(
    expansion: Expansion, d: int, iso: IsoLeapResult | None
) -> tuple[dict[str, Any] | None, str | None]:
    """The rotation-class reference of a single-index target, or ``None`` and why not."""
    if iso is None:
        try:
            iso = iso_leap(expansion)
        except ExpansionError as exc:
            return None, str(exc)
    if not iso.single_index:
        return None, None
    k = iso.information_exponent
    log10_value = (k / 2) * math.log10(d)  # math.log10 takes ints of any size
    reference: dict[str, Any] = {
        "information_exponent": k,
        "exponent": k / 2,
        "value": 10.0**log10_value if log10_value < 300 else None,
        "log10_value": log10_value,
        "label": ROTATION_LABEL,
    }
    from csqbound.generative import sq_reference

    reference.update(sq_reference(expansion, iso, d))
    return reference, None


def check_dimension(d: object) -> int:
    """The ambient dimension ``d`` as an int, checked to lie in ``1..MAX_DIMENSION``.

    Raises
    ------
    ParameterError
        For a non-integer, ``d < 1`` or ``d > 10^1000``
        (:data:`csqbound.limits.MAX_DIMENSION`).

    Examples
    --------
    >>> check_dimension(64)
    64
    >>> check_dimension(-1)
    Traceback (most recent call last):
    ...
    csqbound.errors.ParameterError: d must be between 1 and 10^1000 ...
    """
    value = as_int(d, "d")
    if not 1 <= value <= limits.MAX_DIMENSION:
        shown = str(value) if value.bit_length() < 300 else f"a {value.bit_length():,}-bit integer"
        msg = f"d must be between 1 and 10^1000 (MAX_DIMENSION in csqbound.limits), got {shown}"
        raise ParameterError(msg)
    return value


def _stage_maker(
    monos: Sequence[Monomial], weights: Sequence[Number], exact: bool, d: int, tau: Fraction
) -> Callable[[frozenset[int]], CSQStage]:
    """The stage bound of every covered set ``U`` (THEORY section 5) for this support.

    The supports are computed once, and exact weights are put on one common
    denominator, so a stage costs one pass of integer additions over the support.
    """
    supports = [m.support for m in monos]
    denominator = math.lcm(*(w.denominator for w in weights)) if exact else 1
    scaled = [w.numerator * (denominator // w.denominator) for w in weights] if exact else []

    def make_stage(covered: frozenset[int]) -> CSQStage:
        rest = [i for i, s in enumerate(supports) if not s <= covered]
        sizes = [len(supports[i] - covered) for i in rest]
        g = gamma(sizes, d, len(covered))
        if exact:
            r2: Number = Fraction(sum(scaled[i] for i in rest), denominator)
        else:
            with mpmath.workdps(WORKING_DIGITS):
                r2 = mpmath.fsum(
                    mpmath.mpf(w.numerator) / w.denominator if isinstance(w, Fraction) else w
                    for w in (weights[i] for i in rest)
                )
        if r2 <= 0:  # pragma: no cover - non-zero coefficients have positive weight
            msg = "internal error: the remainder has zero norm"
            raise CsqboundError(msg)
        q, vacuous = stage_queries(r2, g, tau)
        return CSQStage(
            covered=covered,
            jump=min(sizes),
            m=len(rest),
            r_norm2=r2,
            gamma=g,
            queries=q,
            vacuous=vacuous,
            log10_queries=None if vacuous else _log10(q),
        )

    return make_stage


def _stages(
    expansion: Expansion, monos: Sequence[Monomial], make_stage: Callable[..., CSQStage]
) -> tuple[list[CSQStage], bool]:
    """The stages of the strongest tied greedy run, or of the lexicographic one (``True``)."""
    supports = sorted({m.support for m in monos}, key=lambda s: (len(s), sorted(s)))
    try:
        return _best_run(supports, make_stage, len(monos)), False
    except _TooManyTies:
        greedy = oracle_leap(csq_oracle(expansion))
        return [make_stage(u) for u in greedy.covered_sets()[:-1]], True


def _monomials(expansion: Expansion, d: int) -> list[Monomial]:
    """The non-constant support, after checking there is one and that ``d >= P``."""
    monos = [m for m in expansion.support if m.powers]
    if not monos:
        msg = "the target is constant: there is nothing to learn, so no CSQ bound"
        raise ParameterError(msg)
    p = expansion.variables
    if d < p:
        msg = f"d={d} is smaller than the number of variables P={p}: give d >= {p}"
        raise ParameterError(msg)
    return monos


def csq_bound(
    x: TargetLike,
    d: int,
    tau: object,
    domain: str = "boolean",
    *,
    iso: IsoLeapResult | None = None,
) -> CSQBound:
    """The stage-wise CSQ lower bound of THEORY section 5 at dimension ``d`` and tolerance ``tau``.

    Parameters
    ----------
    x
        An expression (text or sympy), a :class:`~csqbound.target.Target` or an
        :class:`~csqbound.expansion.Expansion` (their domain wins).
    d
        The ambient dimension, ``P <= d <= 10^1000``.
    tau
        The oracle tolerance, ``1e-300 <= tau <= 1e300``: a string (``"0.01"``,
        ``"1/100"``), an int, a ``Fraction``, a sympy rational or a ``Decimal`` is
        read exactly; a float is read as its shortest decimal representation
        (``Fraction(str(tau))``, so ``0.01`` is exactly ``1/100``).
    domain
        ``"boolean"`` or ``"gaussian"``.
    iso
        Gaussian targets: their :func:`csqbound.iso_leap`, when already computed
        (for the rotation-class reference); computed here otherwise.

    Returns
    -------
    CSQBound

    Raises
    ------
    ParameterError
        If ``d < P`` or beyond the limits, ``tau`` is unreadable or outside
        them (:mod:`csqbound.limits`), or the target is constant.

    Examples
    --------
    >>> b = csq_bound("x1*x2*x3", d=64, tau="0.01")
    >>> b.exponent, b.bound
    (3, Fraction(5207, 2500))
    >>> s = b.stages[0]
    >>> sorted(s.covered), s.jump, s.m, s.r_norm2, s.gamma
    ([], 3, 1, Fraction(1, 1), Fraction(1, 41664))
    >>> b = csq_bound("x1 + x1*x2*x3", d=100, tau=0.01)
    >>> [(sorted(s.covered), s.jump) for s in b.stages]
    [([], 1), ([1], 2)]
    >>> b = csq_bound("He3(x1)", d=1000, tau="0.01", domain="gaussian")
    >>> b.exponent, b.rotation_reference["exponent"]
    (1, 1.5)

    See Also
    --------
    csqbound.analysis.analyze : with the leaps, the SGD prediction and the notes' inputs.
    csqbound.queries.csq_leap : the cardinality leap, the bound's exponent.
    csqbound.leaps.leap : the witness whose stages the bound follows.
    csqbound.prediction.predict : the SGD exponent beside the query lower bound.
    """
    dom = check_domain(domain)
    d = check_dimension(d)
    t = read_tau(tau)
    return _csq_of(as_expansion(x, dom), d, t, iso)


def _csq_of(expansion: Expansion, d: int, t: Fraction, iso: IsoLeapResult | None) -> CSQBound:
    """The bound of :func:`csq_bound` on validated input (the kernel under the wrapper)."""
    dom = expansion.domain
    monos = _monomials(expansion, d)
    weighed = [_weight(expansion, m) for m in monos]
    exact = expansion.exact and all(ok for _, ok in weighed)
    stages, lexicographic = _stages(
        expansion, monos, _stage_maker(monos, [w for w, _ in weighed], exact, d, t)
    )
    bound = max((s.queries for s in stages), default=Fraction(0))
    rotation, why = _rotation_reference(expansion, d, iso) if dom == "gaussian" else (None, None)
    truncated = expansion.max_degree is not None and expansion.truncation is not None
    return CSQBound(
        d=d,
        tau=t,
        domain=dom,
        variables=expansion.variables,
        stages=tuple(stages),
        bound=bound,
        log10_bound=_log10(bound),
        exponent=max(s.jump for s in stages),
        exact=exact,
        class_label=CLASS_LABEL,
        rotation_reference=rotation,
        lexicographic=lexicographic,
        rotation_error=why,
        truncation=expansion.truncation if truncated else None,
        max_degree=expansion.max_degree if truncated else None,
    )
