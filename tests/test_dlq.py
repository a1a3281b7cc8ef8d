"""DLQ leaps (csqbound.dlq): hand cases, laws as properties, and a brute force from the definition.

The brute force below does not use csqbound.dlq, csqbound.queries or any
Walsh transform: it enumerates the cube with Fractions, evaluates
``E[l'(u, y) chi_S]`` for a finite set of predictions ``u`` that provably spans
what every ``u`` spans (the midpoints between, and points just beside, the
breakpoints of ``l'``), and takes the minimum over all chains of detectable sets.
"""

from __future__ import annotations

import itertools
import json
import math
import subprocess
import sys
from fractions import Fraction

import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

import csqbound
from csqbound.dlq import (
    LOSS_NAMES,
    LOSSES,
    check_loss,
    dlq,
    dlq_cover,
    dlq_leap,
    dlq_leaps,
    dlq_oracle,
    dlq_system,
    set_cover,
)
from csqbound.errors import CsqboundError, DomainError, ExpansionError, ParameterError
from csqbound.parsing import parse, symbol
from csqbound.queries import csq_leap, oracle_leap, sq_leap
from csqbound.testing import strategies as cst

GAP = "x1*x2*x3 - x1*x2*x4"


# -- brute force, independent of the implementation ------------------------------------------
def cube_values(text: str) -> tuple[int, list[tuple[tuple[int, ...], Fraction]]]:
    expr = parse(text)
    p = max((int(str(s)[1:]) for s in expr.free_symbols), default=0)
    syms = [symbol(i) for i in range(1, p + 1)]
    points = []
    for x in itertools.product((1, -1), repeat=p):
        v = sympy.Rational(expr.subs(dict(zip(syms, x, strict=True))))
        points.append((x, Fraction(int(v.p), int(v.q))))
    return p, points


def predictions(values: set[Fraction]) -> list[Fraction]:
    """Points ``u`` whose derivative vectors span those of every ``u`` (breakpoints +- 1 of Huber)."""
    marks = sorted({v + s for v in values for s in (-1, 0, 1)})
    out = [marks[0] - 1, marks[-1] + 1]
    out += [(a + b) / 2 for a, b in itertools.pairwise(marks)]
    out += marks
    return out


def brute_system(text: str, loss: str) -> set[frozenset[int]]:
    p, points = cube_values(text)
    derivative = LOSSES[loss].derivative
    us = predictions({v for _, v in points})
    system = set()
    for r in range(1, p + 1):
        for S in itertools.combinations(range(1, p + 1), r):
            for u in us:
                total = sum(derivative(u, y) * math.prod(x[i - 1] for i in S) for x, y in points)
                if abs(total) > 1e-9:
                    system.add(frozenset(S))
                    break
    return system


def brute_leap(system: set[frozenset[int]]) -> int:
    """``min`` over orderings of the sets of ``max |S_i \\ U_{i-1}|`` (the set-system leap)."""
    need = frozenset().union(*system) if system else frozenset()
    best = math.inf
    for order in itertools.permutations(sorted(system, key=sorted)):
        covered: frozenset[int] = frozenset()
        worst = 0
        for s in order:
            if s - covered:
                worst = max(worst, len(s - covered))
                covered |= s
            if covered == need:
                break
        best = min(best, worst)
    return 0 if best == math.inf else int(best)


# -- hand-checked cases ----------------------------------------------------------------------
def test_the_gap_example_from_the_theory() -> None:
    values = dlq_leaps(GAP)
    assert values["dlq_leap"] == {
        "squared": 3,
        "absolute": 2,
        "huber": 2,
        "logcosh": 2,
        "quartic": 2,
    }
    assert values["dlq_cover"] == dict.fromkeys(LOSS_NAMES, 3)  # adaptivity needed for 2
    r = dlq(GAP, "absolute")
    assert [sorted(t) for t in r.order] == [[3, 4], [1, 2]]
    assert frozenset({3, 4}) in r.system and frozenset({1, 2}) not in r.system


def test_squared_loss_system_is_the_walsh_support() -> None:
    assert set(dlq_system("x1 + x1*x2*x3 - 2*x4", "squared")) == {
        frozenset({1}),
        frozenset({1, 2, 3}),
        frozenset({4}),
    }


def test_irrational_coefficients_squared_still_csq() -> None:
    assert dlq_leap("sqrt(2)*x1*x2 + x3", "squared") == csq_leap("sqrt(2)*x1*x2 + x3") == 2
    assert dlq_leap("sqrt(2)*x1*x2 + x3", "absolute") == sq_leap("sqrt(2)*x1*x2 + x3")


def test_non_adaptive_differs_where_it_should() -> None:
    f = "x1*x2*(x3 - x4)*(x5 - x6)"
    assert dlq_leap(f, "absolute") == 2
    assert dlq_cover(f, "absolute") == dlq_leap(f, "absolute", adaptive=False) == 4
    assert dlq_leap(f, "squared") == 4


def test_oracle_is_registered_beside_csq_and_sq() -> None:
    assert oracle_leap(dlq_oracle(GAP, "squared")).leap == 3
    assert oracle_leap(dlq_oracle(GAP, "l1")).leap == 2


def test_set_cover() -> None:
    assert set_cover([]) == 0
    assert set_cover([frozenset({1}), frozenset({1, 2, 3})]) == 3


def test_bad_input() -> None:
    with pytest.raises(ParameterError, match="unknown loss 'hinge'"):
        dlq_leap("x1", "hinge")
    with pytest.raises(ParameterError):
        check_loss(3)
    with pytest.raises(DomainError):
        dlq_leap(csqbound.Target.from_text("x1", "gaussian"))
    with pytest.raises(ExpansionError, match="P <= 16"):
        dlq_leap("*".join(f"x{i}" for i in range(1, 18)))
    with pytest.raises(CsqboundError):
        dlq_leap(3.5)  # type: ignore[arg-type]


def test_quartic_needs_rational_values() -> None:
    out = dlq_leaps("sqrt(2)*x1*x2 + x3")
    assert out["dlq_leap"]["quartic"] is None
    assert "quartic" in out["dlq_note"]
    assert out["dlq_leap"]["absolute"] == sq_leap("sqrt(2)*x1*x2 + x3") == 2


# -- against the brute force -----------------------------------------------------------------
SMALL = [
    GAP,
    "x1*x2",
    "x1 + x1*x2*x3",
    "x1*(x2 - x3)",
    "x1*x2 + 2*x3",
    "max(x1, x2) + x3*x4",
    "sign(x1 + x2 + x3)",
    "x1*x2*x3 + x1",
    "(x1 - x2)*(x3 - x4)",
]


@pytest.mark.parametrize("text", SMALL)
@pytest.mark.parametrize("loss", ["squared", "absolute", "huber", "quartic"])
def test_system_and_leap_agree_with_brute_force(text: str, loss: str) -> None:
    system = brute_system(text, loss)
    assert set(dlq_system(text, loss)) == system
    assert dlq_leap(text, loss) == brute_leap(system)


@pytest.mark.parametrize("text", SMALL[:5])
def test_logcosh_agrees_with_brute_force(text: str) -> None:
    assert set(dlq_system(text, "logcosh")) == brute_system(text, "logcosh")


def _stages(text: str, loss: str) -> list[tuple[list[str], int]]:
    from csqbound.expansion import expand

    stages = dlq(text, loss).monomial_stages(expand(text).support)
    return [([str(m) for m in monos], jump) for monos, jump in stages]


def test_monomial_stages_follow_the_loss_witness() -> None:
    # absolute: {3,4} first (no monomial yet, merged forward), then {1,2}: one stage of jump 2
    assert _stages(GAP, "absolute") == [(["x1*x2*x3", "x1*x2*x4"], 2)]
    assert _stages(GAP, "squared") == [(["x1*x2*x3", "x1*x2*x4"], 3)]
    assert _stages("x5 + x5*x6 + " + GAP, "huber") == [
        (["x5", "x5*x6"], 1),
        (["x1*x2*x3", "x1*x2*x4"], 2),
    ]
    assert _stages("x1 + x1*x2*x3", "absolute") == [(["x1"], 1), (["x1*x2*x3"], 2)]


def test_monomial_stages_refuse_a_foreign_monomial() -> None:
    with pytest.raises(CsqboundError, match="not a monomial of this target"):
        dlq(GAP, "absolute").monomial_stages([{5}])


# -- laws ------------------------------------------------------------------------------------
BOOLEAN = cst.boolean_targets(max_variables=5, max_terms=4, max_degree=3, max_coefficient=2)


@settings(max_examples=40, deadline=None)
@given(BOOLEAN)
def test_squared_is_csq(f: csqbound.Target) -> None:
    assert dlq_leap(f, "squared") == csq_leap(f)
    assert dlq_cover(f, "squared") == csqbound.cover(f)


@settings(max_examples=40, deadline=None)
@given(BOOLEAN)
def test_sq_le_dlq_le_csq_for_every_loss(f: csqbound.Target) -> None:
    sq, csq = sq_leap(f), csq_leap(f)
    values = dlq_leaps(f)
    for loss in LOSS_NAMES:
        assert sq <= values["dlq_leap"][loss] <= csq
        assert values["dlq_leap"][loss] <= values["dlq_cover"][loss]
    for loss in ("absolute", "huber", "logcosh"):
        assert values["dlq_leap"][loss] == sq


@settings(max_examples=25, deadline=None)
@given(BOOLEAN)
def test_set_system_leap_equals_conditional_sq_leap(f: csqbound.Target) -> None:
    # Leap(C_SQ) over the unconditioned system = the conditional SQ oracle of queries.py
    assert dlq_leap(f, "absolute") == sq_leap(f)


@settings(max_examples=25, deadline=None)
@given(
    st.integers(0, 4).flatmap(
        lambda g: st.tuples(st.just(g), cst.targets_with_sq_csq_gap(g, max_variables=10))
    )
)
def test_gap_strategy(drawn: tuple[int, csqbound.Target]) -> None:
    gap, f = drawn
    assert csq_leap(f) - sq_leap(f) == gap
    assert csq_leap(f) - dlq_leap(f, "huber") == gap


def test_cli_json_shows_dlq() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "csqbound", "leap", GAP, "--format", "json"],
        capture_output=True,
        text=True,
        check=True,
    )
    data = json.loads(out.stdout)
    assert data["dlq_leap"]["squared"] == 3
    assert data["dlq_leap"]["absolute"] == 2


def test_cli_bad_loss_is_one_line_exit_2() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "csqbound", "leap", "x1", "--loss", "hinge"],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1 and "unknown loss" in out.stderr


@settings(max_examples=30, deadline=None)
@given(BOOLEAN, st.sampled_from(LOSS_NAMES))
def test_monomial_stages_partition_the_support_and_reach_the_leap(
    f: csqbound.Target, loss: str
) -> None:
    from csqbound.expansion import expand

    support = [m for m in expand(f).support if m.powers]
    result = dlq(f, loss)
    stages = result.monomial_stages(support)
    placed = [m for monos, _ in stages for m in monos]
    assert sorted(map(str, placed)) == sorted(map(str, support))
    assert max((jump for _, jump in stages), default=0) == result.leap
    covered: frozenset[int] = frozenset()
    for monos, jump in stages:  # each stage completes a monomial with a new coordinate
        new = frozenset().union(*(m.support for m in monos)) - covered
        assert new, "a stage repeats covered monomials"
        assert 1 <= jump <= result.leap
        covered |= new
