r"""The leap of a support family, its greedy witness, and the cover exponent.

Definition (Abbe, Boix-Adserà, Misiakiewicz, COLT 2023; THEORY.md section 2).
For a support ``{alpha_1, ..., alpha_m}`` (multi-indices; on the boolean domain
sets ``S``) and an ordering ``pi``, step ``i`` costs the degree that
``alpha_pi(i)`` puts on coordinates not seen before::

    cost_i(pi) = sum_{k in supp(alpha_pi(i)) \ U_{i-1}} alpha_pi(i),k
    U_i        = U_{i-1} | supp(alpha_pi(i)),   U_0 = {}
    Leap       = min_pi max_i cost_i(pi)

On the boolean domain ``cost = |S \ U|``. ``Leap <= 1`` is the merged-staircase
property (MSP, Abbe et al. COLT 2022). Constant monomials cost nothing and are
ignored.

The greedy. Keep the covered set ``U``; repeatedly take a monomial of least
current cost (ties: lowest index); the leap is the largest cost taken.
:func:`greedy_order` runs it in ``O(sum_alpha |supp alpha| log m)`` with an
inverted index (coordinate -> monomials) and a heap with lazy updates: covering
a coordinate only lowers costs, so each lowering pushes a fresh heap entry and
stale ones are skipped when popped.

Why the greedy is optimal (sketch). Let ``L*`` be the leap and ``pi*`` an
ordering attaining it. Cost is antitone in ``U``: ``U <= U'`` implies
``cost(alpha | U') <= cost(alpha | U)``, so the ``L``-closure (keep adding
anything of cost ``<= L``) is monotone in ``U`` and hence confluent. Suppose
the greedy has covered ``U`` and monomials remain. Let ``alpha`` be the first
monomial of ``pi*`` the greedy has not taken yet: all its predecessors in
``pi*`` are taken, so the set ``V`` they cover lies inside ``U`` and
``cost(alpha | U) <= cost(alpha | V) <= L*``. The greedy takes a monomial of
least cost, so its step costs at most ``L*``. Hence the greedy never takes a
step above ``L*``, and its largest step is exactly ``L*``.
``proofs_checks/check_greedy.py`` confirms this exhaustively on small families.

The greedy order is the **witness**; cutting it before every step of cost
``>= 2`` gives the predicted **stages** (plateaus) of training, and each
coordinate gets the stage at which it is first covered.

The **cover** is the non-adaptive variant: the least ``k`` such that every
coordinate lies in the support of some monomial of total degree ``<= k``.

References
----------
Abbe, Boix-Adserà, Misiakiewicz. SGD learning on neural networks: leap
complexity and saddle-to-saddle dynamics. COLT 2023 (arXiv 2302.11055).

Abbe, Boix-Adserà, Misiakiewicz. The merged-staircase property. COLT 2022.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from heapq import heapify, heappop, heappush
from typing import Any

from csqbound.display import html_table, short_repr, to_dataframe
from csqbound.errors import ParameterError
from csqbound.expansion import SupportLike, as_support
from csqbound.monomial import Domain, Monomial

__all__ = ["LeapResult", "cover", "greedy_order", "leap", "leap_bruteforce", "stage_jumps"]


@dataclass(frozen=True, repr=False)
class LeapResult:
    """The leap of a support family with its greedy witness.

    Attributes
    ----------
    leap
        ``max_i cost_i`` along the witness: the leap (0 for a constant or empty support).
    order
        The greedy witness order (the constant monomial excluded).
    jumps
        ``cost_i`` of each step of ``order``.
    stages
        ``order`` cut before every step of cost ``>= 2`` (never an empty stage).
    msp
        ``leap <= 1``: the merged-staircase property.
    domain
        ``"boolean"`` or ``"gaussian"``.
    first_cover
        Coordinate -> the monomial of ``order`` that first covered it.
    stage_of
        Coordinate -> 0-based index of the stage where it was first covered.

    Examples
    --------
    >>> r = leap([{1}, {1, 2, 3}])
    >>> r.covered_sets()
    (frozenset(), frozenset({1}), frozenset({1, 2, 3}))
    >>> r.stage_jumps()
    (1, 2)
    >>> dict(r.stage_of)
    {1: 0, 2: 1, 3: 1}
    """

    leap: int
    order: tuple[Monomial, ...]
    jumps: tuple[int, ...]
    stages: tuple[tuple[Monomial, ...], ...]
    msp: bool
    domain: Domain
    first_cover: Mapping[int, Monomial] = field(hash=False)
    stage_of: Mapping[int, int] = field(hash=False)

    def covered_sets(self) -> tuple[frozenset[int], ...]:
        """``U_0 = {}, U_1, ..., U_m``: the coordinates covered after each step of ``order``.

        Examples
        --------
        >>> leap([{1, 2}, {2, 3}]).covered_sets()
        (frozenset(), frozenset({1, 2}), frozenset({1, 2, 3}))
        """
        sets = [frozenset[int]()]
        for mono in self.order:
            sets.append(sets[-1] | mono.support)
        return tuple(sets)

    def stage_jumps(self) -> tuple[int, ...]:
        """The jump of each stage: the largest cost of a step inside it.

        Examples
        --------
        >>> leap([{1}, {1, 2}, {1, 2, 3, 4}]).stage_jumps()
        (1, 2)
        """
        return stage_jumps(self.jumps)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the leap, MSP, the witness order with its jumps, stages and first cover.

        Examples
        --------
        >>> out = leap([{1}, {1, 2, 3}]).to_dict()
        >>> out["leap"], out["order"], out["jumps"], out["stages"]
        (2, ['x1', 'x1*x2*x3'], [1, 2], [['x1'], ['x1*x2*x3']])
        >>> out["first_cover"]
        {'x1': 'x1', 'x2': 'x1*x2*x3', 'x3': 'x1*x2*x3'}
        """
        return {
            "leap": self.leap,
            "msp": self.msp,
            "domain": self.domain,
            "order": [str(m) for m in self.order],
            "jumps": list(self.jumps),
            "stages": [[str(m) for m in stage] for stage in self.stages],
            "first_cover": {f"x{c}": str(m) for c, m in sorted(self.first_cover.items())},
        }

    def _steps(self) -> list[dict[str, Any]]:
        """One record per step of the witness: monomial, jump, stage, coordinates it adds."""
        covered = self.covered_sets()
        return [
            {
                "step": i + 1,
                "monomial": str(m),
                "jump": j,
                "stage": next(k for k, st in enumerate(self.stages) if m in st) + 1,
                "new_coordinates": ", ".join(f"x{c}" for c in sorted(covered[i + 1] - covered[i])),
            }
            for i, (m, j) in enumerate(zip(self.order, self.jumps, strict=True))
        ]

    def __repr__(self) -> str:
        """One line: the leap, MSP, the jumps and the witness order."""
        return short_repr(
            "LeapResult",
            leap=self.leap,
            msp=self.msp,
            domain=self.domain,
            jumps=self.jumps,
            order=", ".join(str(m) for m in self.order),
        )

    def _repr_html_(self) -> str:
        """A compact table for Jupyter: one row per step of the witness."""
        title = f"Leap {self.leap} ({'MSP' if self.msp else 'not MSP'}), {len(self.stages)} stages"
        columns = ["step", "monomial", "jump", "stage", "new_coordinates"]
        return html_table(title, columns, [[r[c] for c in columns] for r in self._steps()])

    def to_dataframe(self) -> Any:
        """One row per step of the witness: ``step``, ``monomial``, ``jump``, ``stage``
        (1-based) and the ``new_coordinates`` it covers.

        Needs pandas (``pip install 'csqbound[pandas]'``).
        """
        return to_dataframe(self._steps(), ["step", "monomial", "jump", "stage", "new_coordinates"])


# -- the kernel ----------------------------------------------------------------
def greedy_order(supports: Sequence[Sequence[tuple[int, int]]]) -> tuple[list[int], list[int]]:
    """Greedy leap order on plain data (the pure kernel under :func:`leap`).

    Repeatedly takes a monomial of least current cost (ties: lowest index),
    where the cost of ``alpha`` after covering ``U`` is
    ``sum_{k in supp alpha \\ U} alpha_k``. Runs in
    ``O(sum_alpha |supp alpha| log m)``: an inverted index coordinate ->
    monomials, and a heap of ``(cost, index)`` entries with lazy updates (costs
    only decrease; a popped entry whose cost is out of date is skipped).

    Parameters
    ----------
    supports
        One entry per monomial: its ``(coordinate, degree)`` pairs, with distinct
        (hashable) coordinates and degrees ``>= 1`` (:attr:`Monomial.powers`).
        An empty entry is a constant (cost 0). Not validated.

    Returns
    -------
    order : list of int
        Indices into ``supports`` in the order the greedy takes them.
    costs : list of int
        The cost of each step of ``order``; the leap is ``max(costs)``.

    Examples
    --------
    >>> greedy_order([((1, 1), (2, 1), (3, 1)), ((1, 1),), ((1, 1), (2, 1))])
    ([1, 2, 0], [1, 1, 1])
    >>> greedy_order([((1, 1), (2, 1)), ((3, 2),)])
    ([0, 1], [2, 2])
    """
    m = len(supports)
    index, weights, cost = _inverted_index(supports)
    taken = bytearray(m)
    order: list[int] = [i for i in range(m) if not cost[i]]  # constants cost nothing
    for i in order:
        taken[i] = 1
    costs: list[int] = [0] * len(order)
    # One int per heap entry, cost * m + index: ordered by cost, then by index,
    # and cheaper to compare than tuples. Monomials whose cost drops to 0 never
    # enter the heap: they would be taken next anyway, lowest index first, and
    # taking them covers nothing, so they are appended as a sorted batch.
    heap = [c * m + i for i, c in enumerate(cost) if c]
    heapify(heap)
    covered: set[int] = set()
    while len(order) < m:
        c, i = divmod(heappop(heap), m)
        if taken[i] or c != cost[i]:
            continue  # stale entry: the cost has dropped since it was pushed
        taken[i] = 1
        order.append(i)
        costs.append(c)
        free: list[int] = []
        for coordinate, _ in supports[i]:
            if coordinate not in covered:
                covered.add(coordinate)
                degrees = None if weights is None else weights[coordinate]
                _lower_costs(index[coordinate], degrees, cost, taken, heap, free)
        if free:
            free.sort()
            for j in free:
                taken[j] = 1
            order.extend(free)
            costs.extend([0] * len(free))
    return order, costs


def _inverted_index(
    supports: Sequence[Sequence[tuple[int, int]]],
) -> tuple[defaultdict[int, list[int]], defaultdict[int, list[int]] | None, list[int]]:
    """``(coordinate -> monomials, coordinate -> their degrees or None, total degrees)``.

    The index holds plain ints (much cheaper to build than ``(index, degree)`` pairs);
    the parallel index of degrees is built only when some degree exceeds 1 (else ``None``).
    """
    index: defaultdict[int, list[int]] = defaultdict(list)
    cost = [0] * len(supports)
    unit = True
    for i, powers in enumerate(supports):
        total = 0
        for coordinate, degree in powers:
            total += degree
            index[coordinate].append(i)
        cost[i] = total
        if total != len(powers):
            unit = False
    if unit:
        return index, None, cost
    weights: defaultdict[int, list[int]] = defaultdict(list)
    for powers in supports:
        for coordinate, degree in powers:
            weights[coordinate].append(degree)
    return index, weights, cost


def _lower_costs(
    members: list[int],
    degrees: list[int] | None,
    cost: list[int],
    taken: bytearray,
    heap: list[int],
    free: list[int],
) -> None:
    """A coordinate is newly covered: lower the cost of its untaken ``members`` (in place).

    ``degrees`` are the members' degrees in it (``None``: all 1, the boolean case). A cost
    still positive is pushed on ``heap`` (as ``cost * m + j``); one that reaches 0 goes to
    ``free``.
    """
    m = len(cost)
    if degrees is None:
        for j in members:
            if not taken[j]:
                cj = cost[j] - 1
                cost[j] = cj
                if cj:
                    heappush(heap, cj * m + j)
                else:
                    free.append(j)
        return
    for j, degree in zip(members, degrees, strict=True):
        if not taken[j]:
            cj = cost[j] - degree
            cost[j] = cj
            if cj:
                heappush(heap, cj * m + j)
            else:
                free.append(j)


def _stage_starts(jumps: Sequence[int]) -> list[bool]:
    """Where a stage starts: at the first step and before every step of cost ``>= 2``."""
    return [j >= 2 or i == 0 for i, j in enumerate(jumps)]


def stage_jumps(jumps: Sequence[int]) -> tuple[int, ...]:
    """The stage cut of a sequence of jumps: cut before every jump ``>= 2``; max per stage.

    The one cut behind :attr:`LeapResult.stages` and the predicted stages of
    :func:`csqbound.prediction.predict` (also for the jumps of ``iso_leap``).

    Examples
    --------
    >>> stage_jumps([1, 1, 2, 1, 3])
    (1, 2, 3)
    >>> stage_jumps([])
    ()
    """
    out: list[int] = []
    for jump, new_stage in zip(jumps, _stage_starts(jumps), strict=True):
        if new_stage:
            out.append(jump)
        else:
            out[-1] = max(out[-1], jump)
    return tuple(out)


def _family(x: SupportLike, domain: str) -> tuple[tuple[Monomial, ...], Domain]:
    """The non-constant support of ``x`` through the gate :func:`csqbound.expansion.as_support`."""
    monos, dom, _ = as_support(x, domain)
    return monos, dom


# -- public functions -------------------------------------------------------------
def leap(x: SupportLike, domain: str = "boolean") -> LeapResult:
    """The leap of a target or support family, with its greedy witness.

    Parameters
    ----------
    x
        An expression (text or sympy, expanded with :func:`csqbound.expand`), an
        :class:`~csqbound.expansion.Expansion` (its domain wins), or an iterable of
        monomials: :class:`~csqbound.monomial.Monomial`, sets of 1-based coordinates
        (boolean) or mappings coordinate -> degree (gaussian). Constants and
        duplicates are ignored.
    domain
        ``"boolean"`` (cost ``|S \\ U|``) or ``"gaussian"`` (cost weighted by degree).

    Returns
    -------
    LeapResult
        The leap, the witness order, its jumps and stages. Ties between monomials
        of equal cost go to the one given first (an Expansion lists its support by
        degree, then coordinates), so the witness is deterministic.

    Raises
    ------
    DomainError
        Unknown domain, or a boolean monomial with a degree above 1.
    CsqboundError
        A monomial that cannot be read (non-integer or non-positive coordinates).

    See Also
    --------
    leap_bruteforce : the same by its definition (a reference for tests).
    cover : the non-adaptive exponent, always ``>= leap``.
    csqbound.queries.csq_leap : the leap over the CSQ oracle.
    csqbound.isoleap.iso_leap : the rotation-free leap of gaussian targets.
    csqbound.queries.sq_leap : the leap over statistical queries, never larger.
    csqbound.dlq.dlq_leap : the leap of gradient queries on a loss.
    csqbound.csq.csq_bound : the CSQ lower bound the leap's stages give.

    Examples
    --------
    The staircase has the merged-staircase property (THEORY section 7):

    >>> r = leap([{1}, {1, 2}, {1, 2, 3}])
    >>> r.leap, r.msp, r.jumps
    (1, True, (1, 1, 1))
    >>> leap([{1, 2}]).leap
    2
    >>> r = leap([{1}, {1, 2, 3}])
    >>> r.leap, r.stages
    (2, ((Monomial(x1),), (Monomial(x1*x2*x3),)))

    Gaussian monomials are mappings coordinate -> degree:

    >>> leap([{1: 3}], domain="gaussian").leap
    3
    >>> leap([{1: 1}, {1: 1, 2: 2}], domain="gaussian").jumps
    (1, 2)
    """
    monos, dom = _family(x, domain)
    order_idx, costs = greedy_order([mono.powers for mono in monos])
    order = tuple(monos[i] for i in order_idx)
    stages, first_cover, stage_of = _cut_stages(order, costs)
    value = max(costs, default=0)
    return LeapResult(
        leap=value,
        order=order,
        jumps=tuple(costs),
        stages=stages,
        msp=value <= 1,
        domain=dom,
        first_cover=first_cover,
        stage_of=stage_of,
    )


def _cut_stages(
    order: tuple[Monomial, ...], costs: Sequence[int]
) -> tuple[tuple[tuple[Monomial, ...], ...], dict[int, Monomial], dict[int, int]]:
    """The witness cut into stages, and per coordinate the monomial and stage that cover it."""
    stages: list[tuple[Monomial, ...]] = []
    first_cover: dict[int, Monomial] = {}
    stage_of: dict[int, int] = {}
    for mono, cost, new_stage in zip(order, costs, _stage_starts(costs), strict=True):
        if new_stage:
            stages.append(())
        stages[-1] += (mono,)
        if cost:  # a step of cost 0 covers nothing new
            for coordinate, _ in mono.powers:
                if coordinate not in first_cover:
                    first_cover[coordinate] = mono
                    stage_of[coordinate] = len(stages) - 1
    return tuple(stages), first_cover, stage_of


def leap_bruteforce(x: SupportLike, domain: str = "boolean", *, max_monomials: int = 8) -> int:
    """The leap by its definition: ``min`` over all orderings of the largest step cost.

    A reference for tests; it costs ``m! * m`` steps for ``m`` monomials.

    Parameters
    ----------
    x, domain
        As for :func:`leap`.
    max_monomials
        Refuse families with more (non-constant, distinct) monomials than this.

    Returns
    -------
    int
        ``min_pi max_i cost_i(pi)``; 0 for a constant or empty support.

    Raises
    ------
    ParameterError
        More than ``max_monomials`` monomials.

    See Also
    --------
    leap : the greedy, exact and fast.

    Examples
    --------
    >>> leap_bruteforce([{1}, {1, 2, 3}])
    2
    >>> leap_bruteforce([{1: 1}, {1: 1, 2: 1}], domain="gaussian")
    1
    """
    monos, _ = _family(x, domain)
    if len(monos) > max_monomials:
        msg = (
            f"{len(monos)} monomials is too many for the brute force "
            f"(max_monomials={max_monomials}); use leap() instead"
        )
        raise ParameterError(msg)
    if not monos:
        return 0
    best: int | None = None
    for perm in itertools.permutations(monos):
        covered: set[int] = set()
        worst = 0
        for mono in perm:
            worst = max(worst, mono.cost_after(covered))
            covered.update(mono.support)
        if best is None or worst < best:
            best = worst
    assert best is not None
    return best


def cover(x: SupportLike, domain: str = "boolean") -> int:
    """The cover: least ``k`` such that every coordinate is in some monomial of degree ``<= k``.

    Equals the largest, over coordinates ``i`` of the support, of the least total
    degree of a monomial containing ``i`` (THEORY section 2). Always ``>= leap``.

    Parameters
    ----------
    x, domain
        As for :func:`leap`.

    Returns
    -------
    int
        The cover; 0 for a constant or empty support.

    See Also
    --------
    leap : the adaptive exponent.

    Examples
    --------
    >>> cover([{1}, {1, 2}, {1, 2, 3}])
    3
    >>> cover([{1}, {2}, {1, 2}])
    1
    >>> cover([{1: 1}, {1: 1, 2: 2}], domain="gaussian")
    3
    """
    monos, _ = _family(x, domain)
    least: dict[int, int] = {}
    for mono in monos:
        degree = mono.degree
        for coordinate, _ in mono.powers:
            if degree < least.get(coordinate, degree + 1):
                least[coordinate] = degree
    return max(least.values(), default=0)
