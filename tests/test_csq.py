"""Tests of the stage-wise CSQ lower bound (csqbound.csq)."""

from __future__ import annotations

import json
import math
from decimal import Decimal
from fractions import Fraction

import pytest
import sympy
from hypothesis import assume, given
from hypothesis import strategies as st

from csqbound.analysis import analyze
from csqbound.csq import CLASS_LABEL, csq_bound, gamma, stage_queries
from csqbound.errors import ParameterError
from csqbound.expansion import Expansion
from csqbound.leaps import leap
from csqbound.parsing import symbol
from csqbound.report.summary import csq_notes, csq_record
from csqbound.testing.strategies import target_from_expansion


def float_bound(sets_with_weights: list[tuple[frozenset[int], float]], d: int, tau: float) -> float:
    """Independent float recomputation: the best greedy run over every tie (boolean weights)."""

    def best(covered: frozenset[int]) -> float:
        rest = [(s, w) for s, w in sets_with_weights if not s <= covered]
        if not rest:
            return 0.0
        u = len(covered)
        g = sum(1.0 / math.comb(d - u, len(s - covered)) for s, _ in rest)
        r2 = sum(w for _, w in rest)
        here = (0.5 - 4 * g) * tau * tau / (r2 * g) if 0.5 - 4 * g > 0 else 0.0
        size = min(len(s - covered) for s, _ in rest)
        ties = {s - covered for s, _ in rest if len(s - covered) == size}
        return max(here, *(best(covered | t) for t in ties))

    return best(frozenset())


def test_parity_by_hand() -> None:
    b = csq_bound("x1*x2*x3", d=64, tau="0.01")
    g = Fraction(1, math.comb(64, 3))
    assert b.stages[0].gamma == g
    assert b.bound == (Fraction(1, 2) - 4 * g) * Fraction(1, 10**4) / g
    assert b.exponent == 3
    assert b.exact
    record = csq_record(analyze("x1*x2*x3", d=64, tau="0.01"))
    assert record["predicted_sgd_samples_exponent"] == 2
    assert record["predicted_sgd_time_exponent"] == 3
    assert b.class_label == CLASS_LABEL
    assert b.rotation_reference is None


def test_staircase_stages_follow_the_leap_witness() -> None:
    text = "x1 + x1*x2 + x1*x2*x3 + 2*x4*x5"
    b = csq_bound(text, d=50, tau="1/10")
    covered = [s.covered for s in b.stages]
    witness = list(dict.fromkeys(leap(text).covered_sets()))[:-1]
    assert covered == witness
    assert [s.jump for s in b.stages] == [1, 1, 1, 2]
    assert [s.m for s in b.stages] == [4, 3, 2, 1]
    assert [s.r_norm2 for s in b.stages] == [7, 6, 5, 4]
    assert b.exponent == leap(text).leap == 2


def test_gaussian_he3() -> None:
    b = csq_bound("He3(x1)", d=1000, tau="0.01", domain="gaussian")
    s = b.stages[0]
    assert (s.jump, s.m, s.r_norm2, s.gamma) == (1, 1, 6, Fraction(1, 1000))
    assert b.exponent == 1
    a = analyze("He3(x1)", d=1000, tau="0.01", domain="gaussian")
    assert csq_record(a)["predicted_sgd_samples_exponent"] == 2
    assert b.rotation_reference is not None
    assert b.rotation_reference["exponent"] == 1.5
    assert b.rotation_reference["value"] == pytest.approx(1000**1.5)
    assert "not computed by csqbound" in b.rotation_reference["label"]
    assert any("pays the degree" in n for n in csq_notes(a))


def test_gaussian_weights_use_new_coordinates_and_factorials() -> None:
    b = csq_bound("x1 + x1*He2(x2)", d=10, tau="1", domain="gaussian")
    first, second = b.stages
    assert first.gamma == Fraction(1, 10) + Fraction(1, math.comb(10, 2))
    assert first.r_norm2 == 1 + 2
    assert second.covered == frozenset({1})
    assert second.gamma == Fraction(1, 9)  # x1*He2(x2) has one new coordinate, degree 2
    assert second.r_norm2 == 2
    assert b.rotation_reference is None  # not single-index


def test_rotation_reference_for_single_index_in_two_variables() -> None:
    b = csq_bound("He4((x1 + x2)/sqrt(2))", d=100, tau="0.1", domain="gaussian")
    assert b.rotation_reference is not None
    assert b.rotation_reference["information_exponent"] == 4


def test_vacuous_stage_is_flagged() -> None:
    b = csq_bound("x1*x2", d=4, tau="0.1")
    (s,) = b.stages
    assert s.vacuous
    assert s.queries == 0
    assert s.log10_queries is None
    assert b.log10_bound is None
    assert any("vacuous" in n for n in csq_notes(analyze("x1*x2", d=4, tau="0.1")))


def test_irrational_norm_is_inexact() -> None:
    b = csq_bound((1 + sympy.sqrt(2)) * symbol(1) * symbol(2), d=100, tau="0.01")
    assert not b.exact
    expected = (0.5 - 4 / 4950) * 1e-4 / ((1 + math.sqrt(2)) ** 2 / 4950)
    assert float(b.bound) == pytest.approx(expected, rel=1e-12)
    json.dumps(b.to_dict())


def test_numeric_gaussian_target_notes_truncation() -> None:
    b = csq_bound("relu(x1)", d=100, tau="0.01", domain="gaussian")
    assert not b.exact
    a = analyze("relu(x1)", d=100, tau="0.01", domain="gaussian")
    assert any("truncated" in n for n in csq_notes(a))


@pytest.mark.parametrize("tau", ["0.01", "1/100", 0.01, Fraction(1, 100), Decimal("0.01")])
def test_tau_forms(tau: object) -> None:
    assert csq_bound("x1*x2", d=20, tau=tau).tau == Fraction(1, 100)


def test_errors() -> None:
    with pytest.raises(ParameterError):
        csq_bound("x1*x2*x3", d=2, tau="0.1")
    with pytest.raises(ParameterError):
        csq_bound("x1", d=10, tau=0)
    with pytest.raises(ParameterError):
        csq_bound("x1", d=10, tau="-1/2")
    with pytest.raises(ParameterError):
        csq_bound("x1", d=10, tau="abc")
    with pytest.raises(ParameterError):
        csq_bound("x1", d=10, tau=float("nan"))
    with pytest.raises(ParameterError):
        csq_bound("5", d=10, tau="0.1")
    with pytest.raises(ParameterError):
        csq_bound("x1", d=10.5, tau="0.1")  # type: ignore[arg-type]
    with pytest.raises(ParameterError):
        gamma([3], d=4, u=2)


def test_to_dict_is_json_ready() -> None:
    out = csq_record(analyze("x1 + x1*x2*x3", d=64, tau="0.01"))
    text = json.dumps(out)
    assert json.loads(text) == out
    for key in (
        "d",
        "tau",
        "exponent",
        "bound",
        "bound_float",
        "log10_bound",
        "stages",
        "predicted_sgd_samples_exponent",
        "predicted_sgd_time_exponent",
        "domain",
        "class",
        "notes",
        "rotation_reference",
    ):
        assert key in out
    assert out["tau"] == "1/100"
    stage = out["stages"][1]
    assert stage["covered"] == [1]
    for key in ("jump", "m", "r_norm2", "gamma", "queries", "log10_queries"):
        assert key in stage
    assert Fraction(out["bound"]) == max(Fraction(s["queries"]) for s in out["stages"])


def test_huge_d() -> None:
    b = csq_bound("x1*x2*x3*x4 + x1", d=10**6, tau="0.001")
    assert b.exponent == 3
    assert b.log10_bound == pytest.approx(math.log10(float(b.bound)), rel=1e-12)
    b = csq_bound("x1*x2*x3*x4*x5*x6*x7*x8", d=10**40, tau="0.001")
    # C(d, 8) / 2 * tau^2 ~ d^8 / 8! / 2 * 1e-6
    expected = 8 * 40 - math.log10(math.factorial(8)) - math.log10(2) - 6
    assert b.log10_bound == pytest.approx(expected, abs=1e-6)
    assert b.bound_ceiling > 10**300
    assert b.to_dict()["bound_float"] is None or b.to_dict()["bound_float"] > 0


def test_stage_queries_kernel() -> None:
    assert stage_queries(Fraction(2), Fraction(1, 100), Fraction(1)) == (
        (Fraction(1, 2) - Fraction(4, 100)) / (2 * Fraction(1, 100)),
        False,
    )


# ---------------------------------------------------------------------------
# properties
# ---------------------------------------------------------------------------
families = st.integers(1, 4).flatmap(
    lambda p: st.lists(
        st.tuples(
            st.frozensets(st.integers(1, p), min_size=1, max_size=p),
            st.integers(1, 3),
        ),
        min_size=1,
        max_size=4,
        unique_by=lambda t: t[0],
    )
)


def _expansion(fam: list[tuple[frozenset[int], int]]) -> Expansion:
    return Expansion.from_monomials([s for s, _ in fam], "boolean", [c for _, c in fam])


@given(families, st.integers(40, 400), st.integers(1, 100))
def test_agrees_with_float_recomputation(
    fam: list[tuple[frozenset[int], int]], d: int, tau_percent: int
) -> None:
    tau = tau_percent / 100
    b = csq_bound(_expansion(fam), d=d, tau=str(tau))
    expected = float_bound([(s, float(c * c)) for s, c in fam], d, tau)
    assert float(b.bound) == pytest.approx(expected, rel=1e-9)
    if b.bound > 0:
        assert b.log10_bound == pytest.approx(math.log10(float(b.bound)), rel=1e-9, abs=1e-12)


@given(families, st.integers(30, 300), st.integers(1, 50))
def test_monotone_in_d_and_tau(fam: list[tuple[frozenset[int], int]], d: int, step: int) -> None:
    e = _expansion(fam)
    small = csq_bound(e, d=d, tau="0.1")
    assume(not any(s.vacuous for s in small.stages))
    bigger = csq_bound(e, d=d + step, tau="0.1")
    assert bigger.bound >= small.bound
    for s, t in zip(small.stages, bigger.stages, strict=True):
        assert t.queries >= s.queries
    assert csq_bound(e, d=d, tau="0.2").bound >= small.bound


@given(families, st.data())
def test_invariant_under_relabelling(
    fam: list[tuple[frozenset[int], int]], more: st.DataObject
) -> None:
    p = max(max(s) for s, _ in fam)
    perm = more.draw(st.permutations(list(range(1, p + 1))))
    moved = [(frozenset(perm[i - 1] for i in s), c) for s, c in fam]
    a = csq_bound(_expansion(fam), d=60, tau="0.05")
    b = csq_bound(_expansion(moved), d=60, tau="0.05")
    assert a.bound == b.bound
    assert a.exponent == b.exponent


@given(families)
def test_exponent_is_the_leap_and_growth_rate(fam: list[tuple[frozenset[int], int]]) -> None:
    e = _expansion(fam)
    b1 = csq_bound(e, d=10**6, tau="0.1")
    b2 = csq_bound(e, d=10**7, tau="0.1")
    assert b1.exponent == leap(e).leap
    assert b1.log10_bound is not None
    assert b2.log10_bound is not None
    assert b2.log10_bound - b1.log10_bound == pytest.approx(b1.exponent, abs=0.01)


def test_review_edge_cases_are_clean():
    import decimal

    from csqbound.cli import main
    from csqbound.expansion import Expansion

    # every stage vacuous: the table renders (the CLI used to crash on a None log10)
    assert main(["csq", "x1*x2*x3", "--d", "3"]) == 0
    # astronomically large d: the rotation reference has a log10, no float overflow
    ref = csq_bound("He3(x1)", d=10**400, tau="0.01", domain="gaussian").rotation_reference
    assert ref is not None
    assert ref["log10_value"] == pytest.approx(600.0)
    assert ref["value"] is None
    with pytest.raises(ParameterError):
        csq_bound("x1", 5, decimal.Decimal("Infinity"))
    # a run of 1200 steps: no RecursionError, the lexicographic run is used and said so
    b = csq_bound(Expansion.from_monomials([{i} for i in range(1, 1201)]), 2000, "0.1")
    assert len(b.stages) == 1200
    assert b.lexicographic
    chain = target_from_expansion(Expansion.from_monomials([{i} for i in range(1, 251)]))
    a = analyze(chain, d=2000, tau="0.1")
    assert any("lexicographic" in n for n in csq_notes(a))
