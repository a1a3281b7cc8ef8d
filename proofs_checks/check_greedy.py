"""Exhaustive check that the greedy leap attains the minimum over orderings.

Lemma (THEORY.md section 2). For every support family, the greedy run of
:func:`csqbound.leaps.leap` (repeatedly take a monomial of least current cost)
has largest step cost equal to ``min_pi max_i cost_i(pi)``, whatever the ties.

Checked on every family in these spaces:

* boolean, every family of non-empty subsets of ``[P]`` for ``P = 1, 2, 3``;
* boolean, every family of at most 5 non-empty subsets of ``[4]``, and of at
  most 4 non-empty subsets of ``[5]``;
* gaussian, every family of at most 4 non-zero multi-indices on ``[2]`` with
  degree ``<= 3`` per coordinate;
* gaussian, every family of at most 3 non-zero multi-indices on ``[3]`` with
  degree ``<= 2`` per coordinate.

The minimum over orderings is computed by a memoised dynamic programme over
the subsets of monomials already taken,
``best(T) = min_{i not in T} max(cost(alpha_i | U(T)), best(T + i))``, which is
the definition with the common prefixes of orderings shared; on the smaller
spaces (all but ``P = 5``) it is also compared with :func:`csqbound.leaps.leap_bruteforce`, the
literal minimum over all permutations. The greedy is run on each family as
given and reversed, so that ties are broken both ways.

Run ``python -m proofs_checks.check_greedy``.
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Iterator, Sequence
from functools import cache

from csqbound.leaps import leap, leap_bruteforce
from csqbound.monomial import Domain, Monomial

__all__ = ["SPACES", "check_greedy_optimal", "families", "leap_dp"]


def leap_dp(monomials: Sequence[Monomial]) -> int:
    """``min_pi max_i cost_i(pi)`` by a dynamic programme over taken subsets (``O(2^m m)``).

    Examples
    --------
    >>> leap_dp([Monomial.from_set({1}), Monomial.from_set({1, 2, 3})])
    2
    >>> leap_dp([])
    0
    """
    monos = [m for m in dict.fromkeys(monomials) if m.powers]
    m = len(monos)
    full = (1 << m) - 1

    @cache
    def covered(taken: int) -> frozenset[int]:
        return frozenset().union(*(monos[i].support for i in range(m) if taken >> i & 1))

    @cache
    def best(taken: int) -> int:
        if taken == full:
            return 0
        seen = covered(taken)
        return min(
            max(monos[i].cost_after(seen), best(taken | 1 << i))
            for i in range(m)
            if not taken >> i & 1
        )

    return best(0)


def _multi_indices(p: int, max_degree: int, domain: Domain) -> list[Monomial]:
    top = 1 if domain == "boolean" else max_degree
    out = []
    for degrees in itertools.product(range(top + 1), repeat=p):
        if any(degrees):
            out.append(Monomial.from_mapping(dict(enumerate(degrees, start=1))))
    return out


#: name -> (domain, P, largest degree per coordinate, largest family size or None for all,
#: whether to compare the DP with the literal brute force too)
SPACES: dict[str, tuple[Domain, int, int, int | None, bool]] = {
    "boolean P=1, all families": ("boolean", 1, 1, None, True),
    "boolean P=2, all families": ("boolean", 2, 1, None, True),
    "boolean P=3, all families": ("boolean", 3, 1, None, True),
    "boolean P=4, <= 5 sets": ("boolean", 4, 1, 5, True),
    "boolean P=5, <= 4 sets": ("boolean", 5, 1, 4, False),
    "gaussian P=2, deg <= 3, <= 4 monomials": ("gaussian", 2, 3, 4, True),
    "gaussian P=3, deg <= 2, <= 3 monomials": ("gaussian", 3, 2, 3, True),
}


def families(
    domain: Domain, p: int, max_degree: int, max_size: int | None
) -> Iterator[tuple[Monomial, ...]]:
    """Every family of distinct non-constant monomials on ``[p]`` of at most ``max_size``.

    Examples
    --------
    >>> sum(1 for _ in families("boolean", 2, 1, None))  # subsets of {x1, x2, x1*x2}
    8
    >>> sum(1 for _ in families("gaussian", 1, 2, 1))  # (), (x1,), (He2(x1),)
    3
    """
    pool = _multi_indices(p, max_degree, domain)
    top = len(pool) if max_size is None else max_size
    for size in range(top + 1):
        yield from itertools.combinations(pool, size)


def check_greedy_optimal() -> dict[str, dict[str, int]]:
    """Compare the greedy leap with the minimum over orderings on every family of :data:`SPACES`.

    Returns
    -------
    dict
        Per space: ``families`` checked, ``failures`` (greedy != minimum),
        ``bruteforce`` (families also checked against the literal permutation
        minimum), ``dp_mismatches`` (DP != permutation minimum) and
        ``leap=k`` counts of the leaps seen.

    Examples
    --------
    The full run takes seconds; ``proofs_checks/test_check_greedy.py`` runs it.
    Each space is described by its entry in :data:`SPACES`:

    >>> SPACES["boolean P=3, all families"]
    ('boolean', 3, 1, None, True)
    """
    report: dict[str, dict[str, int]] = {}
    for name, (domain, p, max_degree, max_size, brute) in SPACES.items():
        row = {"families": 0, "failures": 0, "bruteforce": 0, "dp_mismatches": 0}
        for fam in families(domain, p, max_degree, max_size):
            optimum = leap_dp(fam)
            greedy = leap(fam, domain)
            backwards = leap(fam[::-1], domain)
            row["families"] += 1
            if greedy.leap != optimum or backwards.leap != optimum:
                row["failures"] += 1
            if brute:
                row["bruteforce"] += 1
                if leap_bruteforce(fam, domain, max_monomials=len(fam)) != optimum:
                    row["dp_mismatches"] += 1
            key = f"leap={optimum}"
            row[key] = row.get(key, 0) + 1
        report[name] = row
    return report


def main() -> int:
    """Print the table; return 1 on any failure."""
    report = check_greedy_optimal()
    leaps = sorted({k for row in report.values() for k in row if k.startswith("leap=")})
    header = ["space", "families", "greedy != min", "vs permutations", "DP != perm", *leaps]
    rows = [
        [
            name,
            str(row["families"]),
            str(row["failures"]),
            str(row["bruteforce"]),
            str(row["dp_mismatches"]),
            *(str(row.get(k, 0)) for k in leaps),
        ]
        for name, row in report.items()
    ]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for r in [header, ["-" * w for w in widths], *rows]:
        print(
            "  ".join(
                c.ljust(w) if i == 0 else c.rjust(w)
                for i, (c, w) in enumerate(zip(r, widths, strict=True))
            )
        )
    bad = sum(row["failures"] + row["dp_mismatches"] for row in report.values())
    print("FAILED" if bad else "greedy leap == min over orderings on every family")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
