"""Speed of csqbound's leap, as times and as ratios against what you would otherwise write.

Run ``python benchmarks/leap_bench.py``. Prints, does not assert:

* ``leap()`` on 10^5 random monomials over 10^3 coordinates (1 to 8
  coordinates each; boolean, and gaussian with degrees 1 to 3), from
  :class:`~csqbound.monomial.Monomial` objects and from plain sets / dicts;
  the goal is well under a second;
* the same greedy written the obvious way (every step recomputes the cost of
  every remaining monomial from scratch) against ``leap()`` on 10^4 monomials;
  the goal is a ratio of at least 100. When the obvious loop would take more
  than a minute it is timed on its first steps and extrapolated (step ``t``
  scans ``m - t`` monomials), and the table says so; the leaps are compared on a
  complete run of a smaller instance, and the first steps' orders on the big one.

Each benchmark is a function returning rows; :data:`BENCHMARKS` lists them and
:func:`main` runs them all.
"""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TypeVar

try:
    import csqbound  # noqa: F401
except ImportError:  # run from a checkout that is not installed
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from csqbound.leaps import leap  # noqa: E402
from csqbound.monomial import Monomial  # noqa: E402

__all__ = ["BENCHMARKS", "Row", "main"]

T = TypeVar("T")

SEED = 20230211
NAIVE_BUDGET_S = 60.0


@dataclass(frozen=True)
class Row:
    """One line of the table: what was timed, on what, how long, and a remark."""

    benchmark: str
    size: str
    seconds: float | None
    note: str = ""


def random_family(
    m: int, p: int, domain: str, *, seed: int = SEED, max_coords: int = 8
) -> list[dict[int, int]]:
    """``m`` distinct random monomials over ``[p]`` (1..max_coords coordinates each).

    Gaussian degrees are drawn from 1..3. Seeded, so every run times the same family.
    """
    rng = random.Random(seed)
    out: list[dict[int, int]] = []
    seen: set[frozenset[tuple[int, int]]] = set()
    while len(out) < m:
        coords = rng.sample(range(1, p + 1), rng.randint(1, max_coords))
        mono = {c: 1 if domain == "boolean" else rng.randint(1, 3) for c in coords}
        key = frozenset(mono.items())
        if key not in seen:
            seen.add(key)
            out.append(mono)
    return out


def _best_of(fn: Callable[[], T], repeat: int = 3) -> tuple[float, T]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - start)
    return min(times), value


def distinct_monomials(raw: list[dict[int, int]]) -> list[Monomial]:
    """The family as Monomials (distinct, as :func:`random_family` makes them)."""
    monos = [Monomial.from_mapping(d) for d in raw]
    assert len(set(monos)) == len(monos)
    return monos


def naive_greedy(
    supports: Sequence[tuple[tuple[int, int], ...]], max_steps: int | None = None
) -> tuple[list[int], list[int]]:
    """The obvious greedy: at every step recompute every remaining cost (ties: lowest index).

    This is the loop one writes first; :func:`csqbound.leaps.greedy_order` takes the
    same steps (same tie rule) with an inverted index and a heap.
    """
    covered: set[int] = set()
    left = list(range(len(supports)))
    order: list[int] = []
    costs: list[int] = []
    while left and (max_steps is None or len(order) < max_steps):
        best = min(left, key=lambda i: (sum(k for c, k in supports[i] if c not in covered), i))
        order.append(best)
        costs.append(sum(k for c, k in supports[best] if c not in covered))
        covered.update(c for c, _ in supports[best])
        left.remove(best)
    return order, costs


# -- benchmarks --------------------------------------------------------------------
def bench_leap_large() -> list[Row]:
    """leap() on 10^5 monomials over 10^3 coordinates, both domains."""
    rows = []
    m, p = 100_000, 1_000
    for domain in ("boolean", "gaussian"):
        raw = random_family(m, p, domain)
        monos = [Monomial.from_mapping(d) for d in raw]
        t, result = _best_of(partial(leap, monos, domain))
        rows.append(
            Row(
                f"leap() {domain}, from Monomials",
                "m=1e5, P=1e3",
                t,
                f"leap {result.leap}, {len(result.stages)} stage(s); goal < 1 s",
            )
        )
        inputs = [set(d) for d in raw] if domain == "boolean" else raw
        t, _ = _best_of(partial(leap, inputs, domain), repeat=1)
        rows.append(
            Row(
                f"leap() {domain}, from {'sets' if domain == 'boolean' else 'dicts'}",
                "m=1e5, P=1e3",
                t,
                "includes building the Monomials",
            )
        )
    return rows


def bench_naive_ratio() -> list[Row]:
    """leap() against the obvious re-scan-everything greedy on 10^4 monomials."""
    rows = []
    m, p = 10_000, 1_000
    raw = random_family(m, p, "boolean", seed=SEED + 1)
    monos = distinct_monomials(raw)
    supports = [mono.powers for mono in monos]
    t_fast, result = _best_of(lambda: leap(monos, "boolean"))
    rows.append(Row("leap() boolean", f"m={len(monos)}, P=1e3", t_fast, f"leap {result.leap}"))

    # Probe the first steps, then decide between a full run and an extrapolation.
    probe = 100
    start = time.perf_counter()
    prefix_order, _ = naive_greedy(supports, max_steps=probe)
    t_probe = time.perf_counter() - start
    work_probe = probe * m - probe * (probe - 1) / 2  # monomials scanned in the first steps
    work_total = m * (m + 1) / 2
    predicted = t_probe * work_total / work_probe
    position = {mono: i for i, mono in enumerate(monos)}
    fast_order = [position[mono] for mono in result.order[:probe]]
    same_prefix = prefix_order == fast_order
    if predicted <= NAIVE_BUDGET_S:
        start = time.perf_counter()
        naive_order, naive_costs = naive_greedy(supports)
        t_naive = time.perf_counter() - start
        same = max(naive_costs) == result.leap
        same_order = [monos[i] for i in naive_order] == list(result.order)
        note = f"complete run; same leap: {same}, same order: {same_order}"
    else:
        t_naive = predicted
        note = (
            f"EXTRAPOLATED from its first {probe} steps ({t_probe:.2f} s); "
            f"same first {probe} steps as leap(): {same_prefix}"
        )
    size = f"m={len(monos)}, P=1e3"
    rows.append(Row("obvious greedy (re-scan all)", size, t_naive, note))
    ratio = f"{t_naive / t_fast:,.0f}x (goal >= 100x)"
    rows.append(Row("  ratio obvious / leap()", size, None, ratio))

    # A complete run on a smaller instance checks the leaps agree (and the orders).
    small = distinct_monomials(random_family(1_500, 300, "gaussian", seed=SEED + 2))
    t_small_fast, small_result = _best_of(lambda: leap(small, "gaussian"))
    start = time.perf_counter()
    naive_order, naive_costs = naive_greedy([mono.powers for mono in small])
    t_small_naive = time.perf_counter() - start
    same_leap = max(naive_costs) == small_result.leap
    same_order = [small[i] for i in naive_order] == list(small_result.order)
    rows.append(
        Row(
            "obvious greedy vs leap(), gaussian",
            f"m={len(small)}, P=300",
            t_small_naive,
            f"{t_small_naive / t_small_fast:,.0f}x leap(); "
            f"same leap: {same_leap}, same order: {same_order}",
        )
    )
    return rows


def bench_expansions() -> list[Row]:
    """Walsh transform at P = 20 against the dense Hadamard product a user might write
    (at P = 12, where that product still fits), and exact expansion of (x1+...+x12)**4."""
    import numpy as np
    from scipy.linalg import hadamard

    from csqbound.expansion import expand
    from csqbound.walsh import fwht

    rng = np.random.default_rng(SEED)
    rows = []
    values = rng.standard_normal(2**20)
    t_fwht, _ = _best_of(lambda: fwht(values))
    rows.append(Row("fwht (float64)", "P=20, 2^20 values", t_fwht, "goal < 1 s"))
    small = rng.standard_normal(2**12)
    h = hadamard(2**12).astype(np.float64)
    t_dense, dense = _best_of(lambda: h @ small)
    t_fast, fast = _best_of(lambda: fwht(small))
    assert np.allclose(dense, fast)
    rows.append(Row("dense Hadamard matrix @ table", "P=12", t_dense, ""))
    rows.append(Row("  ratio dense / fwht", "P=12", None, f"{t_dense / t_fast:.0f}x"))
    text = "(" + " + ".join(f"x{i}" for i in range(1, 13)) + ")**4"
    for domain in ("boolean", "gaussian"):
        t_exp, e = _best_of(lambda domain=domain: expand(text, domain=domain), repeat=1)
        rows.append(
            Row(
                f"exact expand ({domain})",
                "(x1+...+x12)**4",
                t_exp,
                f"{len(e)} terms, goal: seconds",
            )
        )
    return rows


BENCHMARKS: list[Callable[[], list[Row]]] = [bench_leap_large, bench_naive_ratio, bench_expansions]


def _format(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} us"
    if seconds < 1:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds:.2f} s"


def main(argv: Sequence[str] | None = None) -> int:
    """Run every benchmark and print one table."""
    del argv
    header = ("benchmark", "size", "time", "note")
    rows: list[tuple[str, str, str, str]] = []
    for bench in BENCHMARKS:
        print(f"running {bench.__name__} ...", file=sys.stderr, flush=True)
        rows.extend((r.benchmark, r.size, _format(r.seconds), r.note) for r in bench())
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(3)]
    lines = [header, tuple("-" * w for w in widths) + ("-" * 4,), *rows]
    for r in lines:
        print(f"{r[0]:<{widths[0]}}  {r[1]:<{widths[1]}}  {r[2]:>{widths[2]}}  {r[3]}")
    print(f"(python {sys.version.split()[0]}; leap() times are the best of 3)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
