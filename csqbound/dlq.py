r"""Leaps of gradient queries on a given loss (DLQ), boolean domain, exact.

Differentiable learning queries (Joshi, Misiakiewicz, Srebro, NeurIPS 2024) are
the gradients ``E[d/dw l(M(x, w), y)]`` of a loss ``l`` through a model ``M``:
at a point they are ``E[l'(F(x), y) G(x)]`` with ``F = M(., w)`` the prediction
and ``G = dM/dw`` (``l'`` the derivative in the prediction). THEORY.md section 8
and ``docs/theory.md`` ("Gradient queries of a loss") state and prove what this
module computes; in short:

* **Detectable sets.** For the target ``y = f(x)`` on ``{-1,1}^P`` the system of
  sets detectable by ``l`` is::

      C_l = { S != {} : E[l'(u, y) chi_S(x)] != 0 for some u in R }

  and, with ``W_l = span{ (l'(u, v))_{v in values(f)} : u in R }``, ``S`` is in
  ``C_l`` iff the vector ``m_S = (E[chi_S 1{y = v}])_v`` is not orthogonal to
  ``W_l``. (``C_CSQ`` uses the single function ``y``, ``C_SQ`` every function of ``y``.)
* **Adaptive leap** ``Leap(C_l) = min over chains max_i |S_i \ (S_1 u ... u S_{i-1})|``
  with ``S_i`` in ``C_l``; it equals the greedy leap over the *conditional*
  detection "some predictor ``F(x_U)`` has ``E[l'(F(x_U), y) chi_T | x_U] != 0``"
  (the definition of THEORY section 8; equivalence proved in the docs), so it is
  computed by :func:`csqbound.queries.oracle_leap` on the family ``C_l``.
* **Non-adaptive** exponent ``Cover(C_l) = max_i min{|S| : i in S in C_l}``.

Which ``W_l`` each loss has (proofs in the docs):

* ``squared`` ``(yhat - y)^2 / 2``: ``W + 1 = span{1, y}`` — CSQ;
* ``quartic`` ``(yhat - y)^4 / 4``: ``W = span{1, y, y^2, y^3}`` — moments up to 3;
* ``absolute`` ``|yhat - y|``, ``huber`` (``delta = 1``) and ``logcosh``
  ``log cosh(yhat - y)``: ``W`` is every function of the (finitely many)
  values of ``y`` — SQ.

So ``Leap_SQ <= Leap_DLQ(l) <= Leap_CSQ`` for every loss, with equality on the
left for the three non-polynomial losses and on the right for the squared loss.
Example: ``x1*x2*x3 - x1*x2*x4`` has ``dlq_leap = {"squared": 3, "absolute": 2,
"huber": 2, "logcosh": 2, "quartic": 2}`` (adaptive) and covers 3, 3, 3, 3, 3
(non-adaptive): the absolute loss needs adaptivity to reach 2.

Everything is exact: the target's values on ``{-1,1}^P`` (``P <= 16``,
:data:`csqbound.limits.MAX_SQ_VARIABLES`) are rationals (moment losses) or an exact
partition of the cube (the SQ-like losses, through :func:`csqbound.queries.sq_oracle`),
and the sets come from integer Walsh–Hadamard transforms.

References
----------
Joshi, Misiakiewicz, Srebro. On the complexity of learning sparse functions
with statistical and gradient queries. NeurIPS 2024 (arXiv 2407.05622).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import sympy

from csqbound.errors import (
    CsqboundError,
    DomainError,
    ExpansionError,
    NotComputableError,
    ParameterError,
    shorten,
)
from csqbound.expansion import Expansion
from csqbound.monomial import Monomial
from csqbound.queries import CSQOracle, oracle_leap
from csqbound.target import Target

__all__ = [
    "LOSSES",
    "LOSS_NAMES",
    "DLQResult",
    "Loss",
    "check_loss",
    "dlq",
    "dlq_cover",
    "dlq_leap",
    "dlq_leaps",
    "dlq_oracle",
    "dlq_system",
    "format_dlq",
    "moment_system",
    "set_cover",
]

LossKind = Literal["moments", "all"]


def _sign(t: Any) -> int:
    return (t > 0) - (t < 0)


def _clip(t: Any, delta: Any = 1) -> Any:
    return max(-delta, min(delta, t))


@dataclass(frozen=True)
class Loss:
    """A loss ``l(yhat, y)`` through what its gradient queries can see.

    Attributes
    ----------
    name
        The registered name.
    formula
        ``l(yhat, y)`` in words.
    kind
        ``"moments"``: ``span{l'(u, .) : u}`` is the polynomials in ``y`` of
        degree ``<= degree``; ``"all"``: every function of a finitely-valued ``y``.
    degree
        For ``"moments"``: the degree in ``y`` of ``l'``.
    derivative
        ``l'(u, y) = d l / d yhat`` at ``yhat = u`` (exact on Fractions except
        ``logcosh``); the brute-force tests use it directly.

    Examples
    --------
    >>> from fractions import Fraction
    >>> LOSSES["absolute"].derivative(Fraction(1), 2)
    -1
    >>> LOSSES["huber"].derivative(Fraction(1, 2), 0)
    Fraction(1, 2)
    """

    name: str
    formula: str
    kind: LossKind
    degree: int | None
    derivative: Callable[[Any, Any], Any]


#: The losses csqbound knows, by name (see the module docstring for what each sees).
LOSSES: dict[str, Loss] = {
    "squared": Loss("squared", "(yhat - y)^2 / 2", "moments", 1, lambda u, y: u - y),
    "absolute": Loss("absolute", "|yhat - y|", "all", None, lambda u, y: _sign(u - y)),
    "huber": Loss(
        "huber",
        "Huber, delta = 1: (yhat - y)^2 / 2 if |yhat - y| <= 1, else |yhat - y| - 1/2",
        "all",
        None,
        lambda u, y: _clip(u - y),
    ),
    "logcosh": Loss(
        "logcosh", "log cosh(yhat - y)", "all", None, lambda u, y: math.tanh(float(u - y))
    ),
    "quartic": Loss("quartic", "(yhat - y)^4 / 4", "moments", 3, lambda u, y: (u - y) ** 3),
}

#: The names of :data:`LOSSES`, in the order tables show them.
LOSS_NAMES: tuple[str, ...] = tuple(LOSSES)

_ALIASES = {"l2": "squared", "square": "squared", "l1": "absolute", "log-cosh": "logcosh"}


def check_loss(name: object) -> Loss:
    """The :class:`Loss` called ``name`` (``l1``, ``l2``, ``log-cosh`` are accepted too).

    Raises
    ------
    ParameterError
        For an unknown name; the message lists the known ones.

    Examples
    --------
    >>> check_loss("l1").name
    'absolute'
    >>> check_loss("hinge")
    Traceback (most recent call last):
    ...
    csqbound.errors.ParameterError: unknown loss 'hinge': use one of squared, absolute, ...
    """
    if isinstance(name, str):
        key = name.strip().lower()
        key = _ALIASES.get(key, key)
        if key in LOSSES:
            return LOSSES[key]
    msg = f"unknown loss {shorten(name, quote=True)}: use one of {', '.join(LOSS_NAMES)}"
    raise ParameterError(msg)


# ---------------------------------------------------------------------------
# kernels on plain data
# ---------------------------------------------------------------------------
def _walsh(values: Sequence[int] | np.ndarray, p: int) -> np.ndarray:
    """``sum_j values[j] chi_S(x_j)`` for every ``S`` (bit ``i-1`` of the index: ``i`` in ``S``).

    Exact: int64 when ``2^P max|v|`` fits, Python ints otherwise.
    """
    n = 1 << p
    big = max((abs(int(v)) for v in values), default=0)
    if big * n < 2**62:
        vec = np.array(values, dtype=np.int64).reshape(n)
    else:
        vec = np.empty(n, dtype=object)
        vec[:] = [int(v) for v in values]
    h = 1
    while h < n:
        view = vec.reshape(-1, 2, h)
        upper = view[:, 1, :].copy()
        view[:, 1, :] = view[:, 0, :] - upper
        view[:, 0, :] = view[:, 0, :] + upper
        h *= 2
    return vec


def _sets_of(mask: Iterable[bool], p: int) -> tuple[frozenset[int], ...]:
    """The sets ``S != {}`` whose index is ``True``, by size then lexicographically."""
    out = [
        frozenset(i + 1 for i in range(p) if (t >> i) & 1)
        for t, hit in enumerate(mask)
        if hit and t
    ]
    return tuple(sorted(out, key=lambda s: (len(s), sorted(s))))


def moment_system(table: Sequence[int], p: int, degree: int) -> tuple[frozenset[int], ...]:
    """``{S != {} : E[y^r chi_S] != 0 for some 1 <= r <= degree}`` from integer values.

    ``table[j]`` is (a positive multiple of) ``f`` at point ``j`` of ``{-1,1}^P``
    (bit ``i - 1`` set iff ``x_i = -1``); scaling does not change the answer.

    Examples
    --------
    >>> moment_system([0, 2, -2, 0], 2, 1)  # (x1 - x2): CSQ sees {1} and {2}
    (frozenset({1}), frozenset({2}))
    >>> moment_system([0, 2, -2, 0], 2, 2)  # y^2 = 2 - 2 x1 x2 adds {1, 2}
    (frozenset({1}), frozenset({2}), frozenset({1, 2}))
    """
    hit = np.zeros(1 << p, dtype=bool)
    power = [1] * len(table)
    for _ in range(degree):
        power = [a * int(b) for a, b in zip(power, table, strict=True)]
        hit |= np.asarray(_walsh(power, p) != 0, dtype=bool)
    return _sets_of(hit, p)


def set_cover(system: Iterable[frozenset[int]]) -> int:
    """``Cover(C) = max_i min{|S| : i in S in C}`` over the coordinates ``C`` covers (0 if none).

    Examples
    --------
    >>> set_cover([frozenset({3, 4}), frozenset({1, 2, 3}), frozenset({1, 2, 4})])
    3
    """
    least: dict[int, int] = {}
    for s in system:
        for i in s:
            least[i] = min(least.get(i, len(s)), len(s))
    return max(least.values(), default=0)


# ---------------------------------------------------------------------------
# input
# ---------------------------------------------------------------------------
def _boolean(x: object) -> tuple[Target | None, Expansion]:
    """The target (when there is one) and its exact boolean expansion."""
    from csqbound.expansion import as_expansion as _expansion

    if isinstance(x, Target) and x.domain != "boolean":
        msg = "DLQ leaps are computed on the boolean domain only; got a gaussian target"
        raise DomainError(msg)
    if isinstance(x, Expansion):
        if x.domain != "boolean":
            msg = "DLQ leaps are computed on the boolean domain only; got a gaussian expansion"
            raise DomainError(msg)
        return None, x
    if isinstance(x, Target | str | sympy.Basic):
        target = Target.coerce(x, "boolean")  # type: ignore[arg-type]
        return target, _expansion(target, "boolean")
    msg = (
        f"cannot read a target from {type(x).__name__}: give an expression (text or sympy), "
        "a boolean Target or Expansion"
    )
    raise ExpansionError(msg)


def _rational_table(expansion: Expansion) -> list[int] | None:
    """``D * f`` on the cube when every Walsh coefficient is rational, else ``None``."""
    from csqbound.queries import _check_sq_input, _exact_table

    _check_sq_input(expansion)
    if not expansion.exact or not all(
        isinstance(c, sympy.Rational) for c in expansion.coefficients.values()
    ):
        return None
    return [int(v) for v in _exact_table(expansion).tolist()]


# ---------------------------------------------------------------------------
# public functions
# ---------------------------------------------------------------------------
def dlq_system(x: object, loss: str = "absolute") -> tuple[frozenset[int], ...]:
    """The system ``C_l`` of sets detectable by gradient queries of ``loss`` (boolean, exact).

    Parameters
    ----------
    x
        An expression, a boolean :class:`~csqbound.target.Target` or an exact
        boolean :class:`~csqbound.expansion.Expansion`, on ``P <= 16`` variables.
    loss
        One of :data:`LOSS_NAMES`.

    Returns
    -------
    tuple of frozenset
        The sets ``S``, by size then lexicographically.

    Raises
    ------
    ParameterError
        For an unknown loss.
    DomainError
        For a gaussian target.
    ExpansionError
        For ``P > 16``.
    NotComputableError
        When the values of the target cannot be compared exactly (see
        :func:`csqbound.queries.sq_oracle`), or a moment loss other than the
        squared one meets irrational values.

    Examples
    --------
    >>> dlq_system("x1*x2*x3 - x1*x2*x4", "squared")
    (frozenset({1, 2, 3}), frozenset({1, 2, 4}))
    >>> dlq_system("x1*x2*x3 - x1*x2*x4", "absolute")[:2]
    (frozenset({3, 4}), frozenset({1, 2, 3}))
    """
    spec = check_loss(loss)
    target, expansion = _boolean(x)
    p = expansion.variables
    if spec.kind == "moments":
        table = _rational_table(expansion)
        if table is not None:
            assert spec.degree is not None
            return moment_system(table, p, spec.degree)
        if spec.name == "squared" and expansion.exact:
            # W + 1 = span{1, y}: exactly the Walsh support, whatever the coefficients
            found = {m.support for m in expansion.support if m.powers}
            return tuple(sorted(found, key=lambda s: (len(s), sorted(s))))
        why = (
            f"the {spec.name} loss sees the moments y^r, r <= {spec.degree}, which csqbound "
            "computes exactly for rational values on the cube only"
        )
        msg = f"the DLQ leap is not computable: {why}"
        raise NotComputableError(msg, why)
    from csqbound.queries import sq_oracle

    oracle = sq_oracle(target if target is not None else expansion)
    return _sets_of(oracle.detectable_mask(frozenset()), oracle.variables)


def dlq_oracle(x: object, loss: str = "absolute") -> CSQOracle:
    """The DLQ oracle of ``loss``: ``T`` after ``U`` iff ``S \\ U = T`` for an ``S`` in ``C_l``.

    A :class:`csqbound.queries.CSQOracle` over the family :func:`dlq_system`
    (the CSQ oracle is the case of the squared loss), for :func:`csqbound.oracle_leap`.

    Examples
    --------
    >>> from csqbound.queries import oracle_leap
    >>> r = oracle_leap(dlq_oracle("x1*x2*x3 - x1*x2*x4", "absolute"))
    >>> r.leap, r.order
    (2, (frozenset({3, 4}), frozenset({1, 2})))
    """
    system = dlq_system(x, loss)
    p = max((max(s) for s in system), default=0)
    return CSQOracle(system, p)


def dlq_leap(x: object, loss: str = "absolute", *, adaptive: bool = True) -> int:
    """``Leap_DLQ(l)`` (adaptive) or ``Cover_DLQ(l)`` (non-adaptive) of a boolean target.

    See Also
    --------
    csqbound.queries.csq_leap : the CSQ leap (``dlq_leap(f, 'squared')``).
    csqbound.queries.sq_leap : the SQ leap, a lower bound for every loss.
    csqbound.leaps.leap : the coordinate leap.

    Examples
    --------
    >>> dlq_leap("x1*x2*x3 - x1*x2*x4", "squared"), dlq_leap("x1*x2*x3 - x1*x2*x4")
    (3, 2)
    >>> dlq_leap("x1*x2*x3 - x1*x2*x4", adaptive=False)
    3
    """
    system = dlq_system(x, loss)
    if not adaptive:
        return set_cover(system)
    p = max((max(s) for s in system), default=0)
    return oracle_leap(CSQOracle(system, p)).leap


@dataclass(frozen=True)
class DLQResult:
    """The DLQ exponents of one loss.

    Attributes
    ----------
    loss
        The loss name.
    leap
        ``Leap(C_l)``: the exponent of adaptive gradient queries.
    cover
        ``Cover(C_l)``: the exponent of non-adaptive ones.
    order
        The greedy witness: the detected sets ``T_1, T_2, ...``.
    system
        ``C_l`` (the sets by size, then lexicographically).
    """

    loss: str
    leap: int
    cover: int
    order: tuple[frozenset[int], ...]
    system: tuple[frozenset[int], ...]

    def monomial_stages(
        self, monomials: Iterable[object]
    ) -> tuple[tuple[tuple[Monomial, ...], int], ...]:
        """The predicted SGD stages of ``monomials`` under this loss, with their jumps.

        A monomial with support ``S`` is learnable once the witness has covered
        ``S``: it belongs to the first step ``i`` with ``S <= T_1 u ... u T_i``.
        The steps (jump ``|T_i|``) are cut into stages as the CSQ witness is
        (:func:`csqbound.leaps.stage_jumps`: a new stage before every jump ``>= 2``),
        and a stage that completes no monomial is merged into the next one, whose
        jump becomes the larger of the two (its plateau still has to be crossed).

        Parameters
        ----------
        monomials
            Boolean monomials (:class:`~csqbound.monomial.Monomial`, or coordinate
            sets), usually the target's support; their order is kept within a step.

        Returns
        -------
        tuple of (tuple of Monomial, int)
            Per stage, its monomials and its jump, in order.

        Raises
        ------
        CsqboundError
            When a monomial uses a coordinate the witness never covers (it is then
            not a monomial of this target).

        Examples
        --------
        >>> from csqbound.expansion import expand
        >>> support = expand("x1*x2*x3 - x1*x2*x4").support
        >>> def show(stages):
        ...     return [([str(m) for m in monos], jump) for monos, jump in stages]
        >>> show(dlq("x1*x2*x3 - x1*x2*x4").monomial_stages(support))
        [(['x1*x2*x3', 'x1*x2*x4'], 2)]
        >>> show(dlq("x1 + x1*x2*x3", "squared").monomial_stages([{1}, {1, 2, 3}]))
        [(['x1'], 1), (['x1*x2*x3'], 2)]
        """
        from csqbound.leaps import stage_jumps

        jumps = [len(t) for t in self.order]
        covered: list[frozenset[int]] = list(itertools.accumulate(self.order, lambda u, t: u | t))
        # the stage of step i: how many stages the cut of the first i + 1 jumps makes
        stage_of_step = [len(stage_jumps(jumps[: i + 1])) - 1 for i in range(len(jumps))]
        grouped: list[list[Monomial]] = [[] for _ in stage_jumps(jumps)]
        monos = [Monomial.coerce(m, "boolean") for m in monomials]
        steps = [self._step_of(m, covered) for m in monos]
        for k in sorted(range(len(monos)), key=lambda k: steps[k]):  # stable: input order kept
            grouped[stage_of_step[steps[k]]].append(monos[k])
        out: list[tuple[tuple[Monomial, ...], int]] = []
        carried = 0
        for group, jump in zip(grouped, stage_jumps(jumps), strict=True):
            carried = max(carried, jump)
            if group:
                out.append((tuple(group), carried))
                carried = 0
        return tuple(out)

    def _step_of(self, mono: Monomial, covered: Sequence[frozenset[int]]) -> int:
        """The first step of the witness after which ``mono``'s support is covered."""
        for i, u in enumerate(covered):
            if mono.support <= u:
                return i
        msg = (
            f"the {self.loss} witness covers {sorted(covered[-1]) if covered else []}, "
            f"not the support of {mono}: it is not a monomial of this target"
        )
        raise CsqboundError(msg)


def dlq(x: object, loss: str = "absolute") -> DLQResult:
    """Adaptive and non-adaptive DLQ exponents of ``loss``, with the witness.

    Examples
    --------
    >>> r = dlq("x1*x2*x3 - x1*x2*x4", "huber")
    >>> r.leap, r.cover, [sorted(t) for t in r.order]
    (2, 3, [[3, 4], [1, 2]])
    """
    spec = check_loss(loss)
    system = dlq_system(x, spec.name)
    p = max((max(s) for s in system), default=0)
    walk = oracle_leap(CSQOracle(system, p))
    return DLQResult(spec.name, walk.leap, set_cover(system), walk.order, system)


def dlq_cover(x: object, loss: str = "absolute") -> int:
    """``Cover(C_l)``, the non-adaptive DLQ exponent (``dlq_leap(..., adaptive=False)``).

    Examples
    --------
    >>> dlq_cover("x1*x2*x3 - x1*x2*x4", "squared")
    3
    """
    return dlq_leap(x, loss, adaptive=False)


def dlq_leaps(x: object, losses: Iterable[str] | None = None) -> dict[str, Any]:
    """``{"dlq_leap": {loss: leap}, "dlq_cover": {loss: cover}}`` for the summaries.

    The SQ-like losses share one computation of ``C_SQ``. A loss whose system
    cannot be computed for this input gets ``None`` and a line in ``"dlq_note"``.

    Examples
    --------
    >>> dlq_leaps("x1*x2*x3 - x1*x2*x4")["dlq_leap"]
    {'squared': 3, 'absolute': 2, 'huber': 2, 'logcosh': 2, 'quartic': 2}
    >>> dlq_leaps("x1*x2", ["l1"])
    {'dlq_leap': {'absolute': 2}, 'dlq_cover': {'absolute': 2}}
    """
    names = list(LOSS_NAMES) if losses is None else [check_loss(n).name for n in losses]
    target, expansion = _boolean(x)
    source: object = target if target is not None else expansion
    leaps: dict[str, int | None] = {}
    covers: dict[str, int | None] = {}
    notes: list[str] = []
    shared: dict[str, tuple[frozenset[int], ...]] = {}
    for name in dict.fromkeys(names):
        kind = LOSSES[name].kind
        try:
            if kind == "all" and "all" in shared:
                system = shared["all"]
            else:
                system = dlq_system(source, name)
                if kind == "all":
                    shared["all"] = system
        except NotComputableError as exc:
            leaps[name] = covers[name] = None
            notes.append(f"{name}: not computable: {exc.reason}")
            continue
        p = max((max(s) for s in system), default=0)
        leaps[name] = oracle_leap(CSQOracle(system, p)).leap
        covers[name] = set_cover(system)
    out: dict[str, Any] = {"dlq_leap": leaps, "dlq_cover": covers}
    if notes:
        out["dlq_note"] = "; ".join(notes)
    return out


def format_dlq(values: dict[str, Any] | None) -> str:
    """A short table cell for ``{loss: leap}``: ``squared 3, absolute 2, ...``.

    Examples
    --------
    >>> format_dlq({"squared": 3, "absolute": 2})
    'squared 3, absolute 2'
    """
    if not values:
        return "-"
    return ", ".join(f"{k} {'n/c' if v is None else v}" for k, v in values.items())
