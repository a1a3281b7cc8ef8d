r"""Exact checks: ``iso_leap`` is rotation invariant and is the coordinate leap in an adapted basis.

Lemma (THEORY.md section 3).

1. **Invariance.** For every orthogonal ``Q``, ``iso_leap(f o Q)`` has the same
   jumps and dimensions as ``iso_leap(f)``, and its witness chain is
   ``Q^T V_1 < Q^T V_2 < ...`` (``f o Q`` depends on ``x`` through ``Q x``).
2. **Adapted basis.** Let ``W`` be an orthonormal basis adapted to the chain
   (an orthonormal basis of ``V_1``, then of ``V_2`` inside ``V_1^perp``, ...,
   then of ``V_last^perp``). The coordinate leap (gaussian, degree-weighted,
   :func:`csqbound.leaps.leap`) of ``y -> f(W y)`` equals ``iso_leap(f)``.

How it is checked. Random *exact* rotations come from the Cayley transform
``Q = (I - A)(I + A)^{-1}`` of random rational skew-symmetric ``A`` (``I + A``
is always invertible, ``Q`` is rational and orthogonal; checked exactly).
``f o Q`` is expanded exactly by sympy and handed to :func:`csqbound.isoleap.iso_leap`
as an expression, so its Hermite expansion is recomputed from scratch. The
chains are compared as subspaces by exact ranks. The adapted basis is made by
exact Gram–Schmidt (radicals allowed) and ``f(W y)`` is expanded exactly.

Run ``python -m proofs_checks.check_iso_rotation``.
"""

from __future__ import annotations

import random
import sys
from dataclasses import dataclass

import sympy

from csqbound.expansion import expand
from csqbound.isoleap import iso_leap
from csqbound.leaps import leap
from csqbound.parsing import parse, symbol
from csqbound.rotations import cayley_rotation

__all__ = ["TARGETS", "IsoRow", "cayley", "check_iso_rotation"]

#: Polynomial targets (P <= 3), the examples of THEORY sections 3 and 7 among them.
TARGETS: tuple[str, ...] = (
    "x1*x2 + (x1 + x2)/sqrt(2)",
    "x1 + (He2(x1) - He2(x2))/2",
    "He3(x1)",
    "x1 + x1*x2",
    "x1 + x1*He2(x2)",
    "x1*x2*x3",
    "x1 + x1*x2 + x1*x2*x3",
    "He2(x1) + x1*x2*x3",
    "x1*x2 + He4(x3)",
    "He3((x1 + x2)/sqrt(2))",
)


@dataclass(frozen=True)
class IsoRow:
    """The checks of one target.

    Attributes
    ----------
    target
        The expression.
    iso_leap, jumps, coordinate_leap
        ``iso_leap(f)``, its jumps, and the coordinate leap of ``f`` in the standard basis.
    rotations
        Random rotations tried.
    invariance_failures
        Rotations where the jumps, dimensions or chain differed.
    adapted_leap
        The coordinate leap of ``f`` in an adapted orthonormal basis.
    adapted_failure
        Whether ``adapted_leap != iso_leap``.
    """

    target: str
    iso_leap: int
    jumps: tuple[int, ...]
    coordinate_leap: int
    rotations: int
    invariance_failures: int
    adapted_leap: int
    adapted_failure: bool


def cayley(p: int, rng: random.Random) -> sympy.Matrix:
    """A random rational rotation: the Cayley transform of a skew matrix of small rationals.

    Examples
    --------
    >>> q = cayley(3, random.Random(1))
    >>> q.T * q == sympy.eye(3)
    True
    """
    a = sympy.zeros(p, p)
    for i in range(p):
        for j in range(i + 1, p):
            value = sympy.Rational(rng.randint(-3, 3), rng.randint(1, 3))
            a[i, j] = value
            a[j, i] = -value
    return sympy.Matrix(cayley_rotation(a))


def _compose(expr: sympy.Expr, m: sympy.Matrix, p: int) -> sympy.Expr:
    """``x -> f(M x)`` as an expanded sympy expression."""
    xs = [symbol(i) for i in range(1, p + 1)]
    sub = {xs[i]: sum(m[i, j] * xs[j] for j in range(p)) for i in range(p)}
    return sympy.expand(expr.xreplace(sub))


def _span(vectors: list[list[sympy.Expr]], p: int) -> sympy.Matrix:
    return sympy.Matrix(p, len(vectors), lambda i, j: vectors[j][i])


def _same_subspace(a: sympy.Matrix, b: sympy.Matrix) -> bool:
    ra, rb = a.rank(), b.rank()
    return bool(ra == rb and a.row_join(b).rank() == ra)


def _adapted_basis(chain: tuple[tuple[tuple[sympy.Expr, ...], ...], ...], p: int) -> sympy.Matrix:
    """Orthonormal columns: Gram–Schmidt of the chain's vectors in order, then of ``e_1..e_P``."""
    vectors = [sympy.Matrix(v) for v in (chain[-1] if chain else ())]
    vectors += [sympy.eye(p)[:, i] for i in range(p)]
    basis: list[sympy.Matrix] = []
    for v in vectors:
        w = v
        for b in basis:
            w = w - (b.dot(v)) * b
        w = sympy.simplify(w)
        n2 = sympy.nsimplify(sympy.simplify(w.dot(w)))
        if n2 == 0:
            continue
        basis.append(sympy.simplify(w / sympy.sqrt(n2)))
        if len(basis) == p:
            break
    return sympy.Matrix.hstack(*basis)


def check_target(text: str, rotations: int, rng: random.Random) -> IsoRow:
    """Run both checks on one target."""
    expr = parse(text)
    p = max((int(s.name[1:]) for s in expr.free_symbols), default=0)
    base = iso_leap(expr)
    failures = 0
    for _ in range(rotations):
        q = cayley(p, rng)
        if q.T * q != sympy.eye(p):  # pragma: no cover - the Cayley transform is orthogonal
            failures += 1
            continue
        rotated = iso_leap(_compose(expr, q, p))
        ok = rotated.jumps == base.jumps and rotated.dims == base.dims
        if ok:
            for mine, theirs in zip(base.subspaces, rotated.subspaces, strict=True):
                expected = q.T * _span([list(v) for v in mine], p)
                if not _same_subspace(expected, _span([list(v) for v in theirs], p)):
                    ok = False
        failures += 0 if ok else 1
    w = _adapted_basis(base.subspaces, p)
    adapted = leap(expand(_compose(expr, w, p), "gaussian"), "gaussian").leap
    coordinate = leap(expand(expr, "gaussian"), "gaussian").leap
    return IsoRow(
        target=text,
        iso_leap=base.iso_leap,
        jumps=base.jumps,
        coordinate_leap=coordinate,
        rotations=rotations,
        invariance_failures=failures,
        adapted_leap=adapted,
        adapted_failure=adapted != base.iso_leap,
    )


def check_iso_rotation(rotations: int = 3, seed: int = 0) -> list[IsoRow]:
    """Both checks on every target of :data:`TARGETS`.

    Examples
    --------
    >>> rows = check_iso_rotation(rotations=1)
    >>> sum(r.invariance_failures for r in rows), sum(r.adapted_failure for r in rows)
    (0, 0)
    >>> [(r.coordinate_leap, r.iso_leap) for r in rows][:1]  # THEORY section 3
    [(1, 2)]
    """
    rng = random.Random(seed)
    return [check_target(text, rotations, rng) for text in TARGETS]


def main() -> int:
    """Print the table; return 1 on any failure."""
    rows = check_iso_rotation()
    header = ["target", "iso_leap", "jumps", "coord leap", "adapted leap", "rotations", "failures"]
    body = [
        [
            r.target,
            str(r.iso_leap),
            ",".join(map(str, r.jumps)),
            str(r.coordinate_leap),
            str(r.adapted_leap),
            str(r.rotations),
            str(r.invariance_failures + int(r.adapted_failure)),
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
    bad = sum(r.invariance_failures + int(r.adapted_failure) for r in rows)
    print(
        "FAILED"
        if bad
        else "iso_leap(f o Q) = iso_leap(f), chain Q^T V; adapted-basis coordinate leap = iso_leap"
    )
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
