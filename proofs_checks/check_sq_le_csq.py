r"""Exhaustive check that ``Leap_SQ <= Leap_CSQ = leap`` on small boolean functions.

Lemma (THEORY.md section 4). On the boolean domain, for ``y = f(x)``:

* a set ``T`` that is CSQ-detectable after ``U`` (some ``supp S \ U = T``) is
  SQ-detectable after ``U`` (``E[chi_T | y, x_U] != 0``): with
  ``phi = chi_T`` times a function of ``x_U``, ``E[y phi] != 0`` forces
  ``E[chi_T | y, x_U] != 0`` somewhere; hence ``Leap_SQ <= Leap_CSQ``;
* ``Leap_CSQ`` equals the leap of THEORY section 2.

Checked on every function ``f = sum_S c_S chi_S`` with ``c_S in {-1, 0, 1}`` on
the 7 non-empty ``S ⊆ [3]`` (``3^7 = 2187`` functions), and on seeded random
functions on ``[4]`` with coefficients in ``{-2, ..., 2}``. For each: the SQ and
CSQ leaps of :mod:`csqbound.queries`, the leap of :func:`csqbound.leaps.leap`,
and — independently of the library's Walsh–Hadamard code — the SQ oracle
recomputed from its definition by plain loops over the cube for every
``(U, T)`` pair (``P = 3``), and the CSQ-detectable sets checked to be
SQ-detectable.

Run ``python -m proofs_checks.check_sq_le_csq``.
"""

from __future__ import annotations

import itertools
import random
import sys
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from csqbound.leaps import leap
from csqbound.queries import SQOracle, csq_oracle, oracle_leap

__all__ = ["SQRow", "check_sq_le_csq", "sq_detectable_by_definition"]


@dataclass(frozen=True)
class SQRow:
    """Counts for one space of functions.

    Attributes
    ----------
    space
        Description of the space.
    functions
        Non-constant functions checked.
    sq_gt_csq
        Functions with ``Leap_SQ > Leap_CSQ`` (must be 0).
    csq_ne_leap
        Functions with ``Leap_CSQ != leap`` (must be 0).
    oracle_mismatches
        ``(f, U, T)`` where the library's SQ oracle disagrees with the definition.
    csq_not_sq
        ``(f, U, T)`` CSQ-detectable but not SQ-detectable (must be 0).
    pairs
        How often each ``(Leap_SQ, Leap_CSQ)`` occurred.
    """

    space: str
    functions: int
    sq_gt_csq: int
    csq_ne_leap: int
    oracle_mismatches: int
    csq_not_sq: int
    pairs: Counter[tuple[int, int]] = field(default_factory=Counter)


def _subsets(p: int) -> list[frozenset[int]]:
    return [
        frozenset(c) for k in range(1, p + 1) for c in itertools.combinations(range(1, p + 1), k)
    ]


def _table(p: int, coefficients: dict[frozenset[int], int]) -> list[int]:
    """Values on the cube, point ``j`` having ``x_i = -1`` iff bit ``i-1`` of ``j`` is set."""
    out = []
    for j in range(1 << p):
        x = [-1 if (j >> i) & 1 else 1 for i in range(p)]
        value = 0
        for s, c in coefficients.items():
            chi = 1
            for i in s:
                chi *= x[i - 1]
            value += c * chi
        out.append(value)
    return out


def sq_detectable_by_definition(
    values: list[int], p: int, covered: frozenset[int], candidate: frozenset[int]
) -> bool:
    """``E[chi_T | y, x_U] != 0`` by a literal sum over each group ``(y, x_U)``.

    Examples
    --------
    >>> sq_detectable_by_definition([1, -1, -1, 1], 2, frozenset(), frozenset({1, 2}))
    True
    >>> sq_detectable_by_definition([1, -1, -1, 1], 2, frozenset(), frozenset({1}))
    False
    """
    sums: dict[tuple[int, tuple[int, ...]], int] = {}
    for j, y in enumerate(values):
        x = [-1 if (j >> i) & 1 else 1 for i in range(p)]
        key = (y, tuple(x[i - 1] for i in sorted(covered)))
        chi = 1
        for i in candidate:
            chi *= x[i - 1]
        sums[key] = sums.get(key, 0) + chi
    return any(s != 0 for s in sums.values())


def _check(
    space: str,
    p: int,
    functions: list[dict[frozenset[int], int]],
    by_definition: bool,
) -> SQRow:
    row = SQRow(space, 0, 0, 0, 0, 0)
    counts = Counter[tuple[int, int]]()
    n = sq_gt = csq_ne = mism = csq_not = 0
    pairs = [
        (frozenset(u), t)
        for k in range(p)
        for u in itertools.combinations(range(1, p + 1), k)
        for t in _subsets(p)
        if not t & frozenset(u)
    ]
    for coefs in functions:
        support = {s: c for s, c in coefs.items() if c}
        if not support:
            continue
        n += 1
        values = _table(p, support)
        sq = SQOracle.from_table(np.array(values, dtype=np.int64))
        csq = csq_oracle(list(support))
        sq_value = oracle_leap(sq, p).leap
        csq_value = oracle_leap(csq, p).leap
        leap_value = leap(list(support)).leap
        counts[(sq_value, csq_value)] += 1
        sq_gt += sq_value > csq_value
        csq_ne += csq_value != leap_value
        for u, t in pairs:
            library = sq(u, t)
            if by_definition and library != sq_detectable_by_definition(values, p, u, t):
                mism += 1
            if csq(u, t) and not library:
                csq_not += 1
    del row
    return SQRow(space, n, sq_gt, csq_ne, mism, csq_not, counts)


def check_sq_le_csq(random_p4: int = 300, seed: int = 0) -> list[SQRow]:
    """Run the check on both spaces.

    Parameters
    ----------
    random_p4
        Number of random functions on ``[4]``.
    seed
        Their seed.

    Examples
    --------
    >>> rows = check_sq_le_csq(random_p4=5)
    >>> rows[0].functions, sum(r.sq_gt_csq + r.csq_ne_leap + r.oracle_mismatches for r in rows)
    (2186, 0)
    """
    sets3 = _subsets(3)
    all3 = [
        dict(zip(sets3, combo, strict=True))
        for combo in itertools.product((-1, 0, 1), repeat=len(sets3))
    ]
    rng = random.Random(seed)
    sets4 = _subsets(4)
    rand4 = []
    for _ in range(random_p4):
        chosen = rng.sample(sets4, rng.randint(1, 5))
        rand4.append({s: rng.choice((-2, -1, 1, 2)) for s in chosen})
    return [
        _check("P=3, all c_S in {-1,0,1}", 3, all3, by_definition=True),
        _check(f"P=4, {random_p4} random, c_S in {{-2..2}}", 4, rand4, by_definition=True),
    ]


def main() -> int:
    """Print the table; return 1 on any failure."""
    rows = check_sq_le_csq()
    header = ["space", "functions", "SQ>CSQ", "CSQ!=leap", "oracle!=def", "CSQ-not-SQ", "SQ<CSQ"]
    body = [
        [
            r.space,
            str(r.functions),
            str(r.sq_gt_csq),
            str(r.csq_ne_leap),
            str(r.oracle_mismatches),
            str(r.csq_not_sq),
            str(sum(c for (s, q), c in r.pairs.items() if s < q)),
        ]
        for r in rows
    ]
    widths = [max(len(x[i]) for x in [header, *body]) for i in range(len(header))]
    for line in [header, ["-" * w for w in widths], *body]:
        print(
            "  ".join(
                c.ljust(w) if i == 0 else c.rjust(w)
                for i, (c, w) in enumerate(zip(line, widths, strict=True))
            )
        )
    for r in rows:
        print(f"{r.space}: (Leap_SQ, Leap_CSQ) counts {dict(sorted(r.pairs.items()))}")
    bad = sum(r.sq_gt_csq + r.csq_ne_leap + r.oracle_mismatches + r.csq_not_sq for r in rows)
    print(
        "FAILED" if bad else "Leap_SQ <= Leap_CSQ = leap on every function; SQ oracle == definition"
    )
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
