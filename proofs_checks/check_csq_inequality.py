r"""Exact check of the CSQ stage inequality ``E_pi <phi, r o pi>^2 <= ||r||^2 ||phi||^2 Gamma_U``.

Lemma (THEORY.md section 5). Let ``r = sum_{S not in U} h(S) chi_S`` (gaussian:
``sum_{supp alpha not in U} h(alpha) He_alpha``), let ``pi : [P] -> [d]`` be
injective, fixed on ``U`` and uniformly random on ``[P] \ U`` (into the other
``d - u`` coordinates). For every query ``phi`` on ``[d]``::

    E_pi <phi, r o pi>^2 <= ||r||^2 ||phi||^2 Gamma_U,
    Gamma_U = sum_{S not in U} 1 / C(d - u, |S \ U|)

(gaussian: ``|S \ U|`` = number of new coordinates of ``alpha``). Written without
a square root, so it is checked in exact rational arithmetic.

How it is checked. For each example target, every ``U ⊆ [P]`` that leaves a
non-zero remainder, and every ``d`` from ``P`` to ``max_d``: enumerate *every*
injection ``pi`` with ``pi(i) = i`` on ``U`` (``(d-u)! / (d-P)!`` of them), and
evaluate ``<phi, r o pi>`` exactly from the expansions:
``sum_S h(S) phi^(pi(S))`` on the boolean domain (characters are orthonormal),
``sum_alpha h(alpha) phi^(pi(alpha)) alpha!`` on the gaussian one
(``E[He_alpha He_beta] = alpha! delta``). The queries ``phi`` are

* adversarial: ``phi = r o pi_0`` for several fixed ``pi_0`` (a relabelled
  copy of ``r``; for a single monomial the inequality is then an equality);
* random: sparse combinations, with random rational coefficients, of
  characters (Hermite products) on ``[d]`` — images of the target's monomials
  under random injections mixed with arbitrary ones.

``Gamma_U`` comes from :func:`csqbound.csq.gamma` and is also recomputed inline;
``||r||^2`` is recomputed from the coefficients, not taken from the library.
The check reports the largest ratio ``E <phi, r o pi>^2 / (||r||^2 ||phi||^2 Gamma_U)``
seen (1 means the inequality is tight).

Run ``python -m proofs_checks.check_csq_inequality``.
"""

from __future__ import annotations

import itertools
import math
import random
import sys
from dataclasses import dataclass
from fractions import Fraction

from csqbound.csq import gamma
from csqbound.monomial import Domain

__all__ = ["EXAMPLES", "CheckRow", "check_csq_inequality"]

#: A target given exactly: multi-index (tuple of (coordinate, degree)) -> coefficient.
Table = dict[tuple[tuple[int, int], ...], Fraction]

#: name -> (domain, P, coefficients). Boolean monomials have degree 1 everywhere.
EXAMPLES: dict[str, tuple[Domain, int, Table]] = {
    "x1*x2*x3": ("boolean", 3, {((1, 1), (2, 1), (3, 1)): Fraction(1)}),
    "x1 + x1*x2*x3": (
        "boolean",
        3,
        {((1, 1),): Fraction(1), ((1, 1), (2, 1), (3, 1)): Fraction(1)},
    ),
    "x1*x2 + x2*x3 - x1*x3/2": (
        "boolean",
        3,
        {
            ((1, 1), (2, 1)): Fraction(1),
            ((2, 1), (3, 1)): Fraction(1),
            ((1, 1), (3, 1)): Fraction(-1, 2),
        },
    ),
    "x3 + x1*x3 + x2*x3": (
        "boolean",
        3,
        {((3, 1),): Fraction(1), ((1, 1), (3, 1)): Fraction(1), ((2, 1), (3, 1)): Fraction(1)},
    ),
    "x1*x2*x3 - x1*x2*x4": (
        "boolean",
        4,
        {((1, 1), (2, 1), (3, 1)): Fraction(1), ((1, 1), (2, 1), (4, 1)): Fraction(-1)},
    ),
    "He3(x1)": ("gaussian", 1, {((1, 3),): Fraction(1)}),
    "x1 + x1*He2(x2)": (
        "gaussian",
        2,
        {((1, 1),): Fraction(1), ((1, 1), (2, 2)): Fraction(1)},
    ),
    "He2(x1)*x2 + x1*x2 + He3(x2)/3": (
        "gaussian",
        2,
        {((1, 2), (2, 1)): Fraction(1), ((1, 1), (2, 1)): Fraction(1), ((2, 3),): Fraction(1, 3)},
    ),
    "x1*x2 + He2(x1)/2 - He2(x2)/2 + x3": (
        "gaussian",
        3,
        {
            ((1, 1), (2, 1)): Fraction(1),
            ((1, 2),): Fraction(1, 2),
            ((2, 2),): Fraction(-1, 2),
            ((3, 1),): Fraction(1),
        },
    ),
}


@dataclass(frozen=True)
class CheckRow:
    """What was checked for one example.

    Attributes
    ----------
    name, domain
        The example.
    cases
        ``(U, d, phi)`` triples checked.
    injections
        Injections ``pi`` enumerated in total.
    failures
        Triples where the inequality failed.
    max_ratio
        Largest ``E <phi, r o pi>^2 / (||r||^2 ||phi||^2 Gamma_U)`` (exact).
    gamma_mismatches
        ``csqbound.csq.gamma`` disagreeing with the inline formula.
    """

    name: str
    domain: Domain
    cases: int
    injections: int
    failures: int
    max_ratio: Fraction
    gamma_mismatches: int


def _factorial(alpha: tuple[tuple[int, int], ...]) -> int:
    return math.prod(math.factorial(k) for _, k in alpha)


def _image(alpha: tuple[tuple[int, int], ...], pi: dict[int, int]) -> tuple[tuple[int, int], ...]:
    return tuple(sorted((pi[c], k) for c, k in alpha))


def _random_query(
    rng: random.Random,
    table: Table,
    domain: Domain,
    p: int,
    d: int,
    fixed: dict[int, int],
    others: list[int],
) -> Table:
    """A sparse random query: images of target monomials under random injections, plus noise."""
    phi: Table = {}
    for _ in range(rng.randint(2, 6)):
        if rng.random() < 0.7:
            alpha = rng.choice(list(table))
            image = rng.sample(others, p - len(fixed))
            pi = dict(fixed)
            pi.update(zip([i for i in range(1, p + 1) if i not in fixed], image, strict=True))
            beta = _image(alpha, pi)
        else:
            coords = rng.sample(range(1, d + 1), rng.randint(1, min(d, 3)))
            beta = tuple(
                sorted((c, 1 if domain == "boolean" else rng.randint(1, 3)) for c in coords)
            )
        phi[beta] = Fraction(rng.randint(-4, 4), rng.randint(1, 3))
    return {b: c for b, c in phi.items() if c}


def check_example(
    name: str,
    domain: Domain,
    p: int,
    table: Table,
    max_d: int,
    seed: int,
    random_queries: int,
    gamma_scale: Fraction = Fraction(1),
) -> CheckRow:
    """Check the inequality for one target, every ``U`` and every ``d`` in ``P..max_d``.

    ``gamma_scale`` multiplies ``Gamma_U`` (1 for the lemma; a smaller value must
    produce failures, which shows the check can fail).
    """
    rng = random.Random(seed)
    cases = injections = failures = mismatches = 0
    worst = Fraction(0)

    def norm2(t: Table) -> Fraction:
        return sum(
            (c * c * (_factorial(a) if domain == "gaussian" else 1) for a, c in t.items()),
            Fraction(0),
        )

    for u_size in range(p):
        for u in itertools.combinations(range(1, p + 1), u_size):
            covered = set(u)
            rest = {a: c for a, c in table.items() if not {k for k, _ in a} <= covered}
            if not rest:
                continue
            r2 = norm2(rest)
            new_counts = [len({k for k, _ in a} - covered) for a in rest]
            fixed = {i: i for i in covered}
            free = [i for i in range(1, p + 1) if i not in covered]
            for d in range(p, max_d + 1):
                g = gamma(new_counts, d, len(covered))
                inline = sum(
                    (Fraction(1, math.comb(d - len(covered), s)) for s in new_counts), Fraction(0)
                )
                if g != inline:
                    mismatches += 1
                bound_gamma = g * gamma_scale
                others = [c for c in range(1, d + 1) if c not in covered]
                maps = []
                for image in itertools.permutations(others, len(free)):
                    pi = dict(fixed)
                    pi.update(zip(free, image, strict=True))
                    maps.append(pi)
                queries: list[Table] = []
                for pi0 in rng.sample(maps, min(3, len(maps))):
                    queries.append({_image(a, pi0): c for a, c in rest.items()})
                for _ in range(random_queries):
                    queries.append(_random_query(rng, rest, domain, p, d, fixed, others))
                for phi in queries:
                    if not phi:
                        continue
                    total = Fraction(0)
                    for pi in maps:
                        inner = Fraction(0)
                        for a, c in rest.items():
                            coef = phi.get(_image(a, pi))
                            if coef is not None:
                                inner += c * coef * (_factorial(a) if domain == "gaussian" else 1)
                        total += inner * inner
                    mean = total / len(maps)
                    bound = r2 * norm2(phi) * bound_gamma
                    cases += 1
                    injections += len(maps)
                    if mean > bound:
                        failures += 1
                    ratio = mean / (r2 * norm2(phi) * g)
                    worst = max(worst, ratio)
    return CheckRow(name, domain, cases, injections, failures, worst, mismatches)


def check_csq_inequality(
    max_d: int = 7, seed: int = 0, random_queries: int = 3, gamma_scale: Fraction = Fraction(1)
) -> list[CheckRow]:
    """Check the inequality exactly on every example of :data:`EXAMPLES`.

    Parameters
    ----------
    max_d
        Largest ambient dimension (``<= 8`` keeps the enumeration small).
    seed
        Seed of the random queries.
    random_queries
        Random queries per ``(U, d)`` (plus 3 adversarial ones).
    gamma_scale
        Factor applied to ``Gamma_U`` (1 checks the lemma).

    Returns
    -------
    list of CheckRow

    Examples
    --------
    >>> rows = check_csq_inequality(max_d=4, random_queries=1)
    >>> sum(r.failures for r in rows), max(r.max_ratio for r in rows)
    (0, Fraction(1, 1))
    """
    return [
        check_example(name, domain, p, table, max_d, seed + i, random_queries, gamma_scale)
        for i, (name, (domain, p, table)) in enumerate(EXAMPLES.items())
    ]


def main() -> int:
    """Print the table; return 1 on any failure."""
    rows = check_csq_inequality(max_d=8)
    header = ["example", "domain", "(U,d,phi)", "injections", "failures", "max ratio", "Gamma !="]
    body = [
        [
            r.name,
            r.domain,
            str(r.cases),
            str(r.injections),
            str(r.failures),
            f"{float(r.max_ratio):.4f}",
            str(r.gamma_mismatches),
        ]
        for r in rows
    ]
    widths = [max(len(x[i]) for x in [header, *body]) for i in range(len(header))]
    for line in [header, ["-" * w for w in widths], *body]:
        print(
            "  ".join(
                c.ljust(w) if i < 2 else c.rjust(w)
                for i, (c, w) in enumerate(zip(line, widths, strict=True))
            )
        )
    bad = sum(r.failures + r.gamma_mismatches for r in rows)
    print(
        "FAILED" if bad else "E<phi, r o pi>^2 <= ||r||^2 ||phi||^2 Gamma_U in every case (exact)"
    )
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
