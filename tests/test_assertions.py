"""Tests of csqbound.testing's assertions: they pass on true claims, fail with AssertionError
on false ones, and the failure message shows the witness."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings

import csqbound
import csqbound.testing
from csqbound.errors import ParameterError
from csqbound.monomial import Monomial
from csqbound.testing import (
    assert_csq_exponent,
    assert_iso_leap,
    assert_leap,
    assert_learns_in_order,
)
from csqbound.testing import strategies as cst


def test_package_exports() -> None:
    public = {n for n in vars(csqbound.testing) if not n.startswith("_")}
    public -= {"annotations", "assertions", "strategies", "profiles"}
    assert set(csqbound.testing.__all__) == public
    assert set(csqbound.testing.__all__) == set(csqbound.testing.assertions.__all__)


# -- assert_leap ---------------------------------------------------------------------------
def test_assert_leap_passes_and_returns_the_result() -> None:
    r = assert_leap("x1 + x1*x2*x3", 2)
    assert r.leap == 2
    assert r.stages == ((Monomial.from_set({1}),), (Monomial.from_set({1, 2, 3}),))
    assert assert_leap([{1: 1}, {1: 1, 2: 2}], 2, domain="gaussian").jumps == (1, 2)
    assert assert_leap("x1*x2", 2, domain="gaussian").leap == 2


def test_assert_leap_failure_shows_the_witness() -> None:
    with pytest.raises(AssertionError) as info:
        assert_leap("x1 + x1*x2*x3 + x4*x5", 1)
    text = str(info.value)
    lines = text.splitlines()
    assert lines[0] == "leap of x1 + x1*x2*x3 + x4*x5 (boolean) is 2, expected 1"
    assert "witness order (greedy), cost of each step:" in text
    # every step of the witness with its cost and the coordinates covered after it
    assert any(line.split()[:3] == ["1", "x1", "1"] for line in lines)
    assert any(line.split()[1:4] == ["x1*x2*x3", "2", "{1,"] for line in lines)
    assert "jumps: (1, 2, 2)" in text
    assert "stages (cut before each step of cost >= 2): [x1] | [x4*x5] | [x1*x2*x3]" in text


def test_assert_leap_names_families_readably() -> None:
    with pytest.raises(AssertionError, match=r"leap of \{He2\(x1\), x1\*He3\(x2\)\} \(gaussian\)"):
        assert_leap([{1: 2}, {1: 1, 2: 3}], 2, domain="gaussian")


@pytest.mark.parametrize("bad", [-1, 1.5, "2", True])
def test_assert_leap_rejects_bad_levels(bad) -> None:
    with pytest.raises(ParameterError, match="L must be an integer"):
        assert_leap("x1*x2", bad)


@given(cst.targets_with_leap(2, max_variables=5))
def test_assert_leap_agrees_with_the_strategy(f) -> None:
    assert assert_leap(f, 2).leap == 2
    for wrong in (1, 3):
        with pytest.raises(AssertionError, match=f"is 2, expected {wrong}"):
            assert_leap(f, wrong)


# -- assert_iso_leap ---------------------------------------------------------------------------
def test_assert_iso_leap_passes_and_fails_with_the_chain() -> None:
    r = assert_iso_leap("x1 + (He2(x1) - He2(x2))/2", 2)
    assert r.jumps == (1, 2)
    with pytest.raises(AssertionError) as info:
        assert_iso_leap("x1*x2 + (x1 + x2)/sqrt(2)", 1)
    text = str(info.value)
    assert text.splitlines()[0] == "iso_leap of x1*x2 + (x1 + x2)/sqrt(2) is 2, expected 1"
    assert "witness chain" in text
    rows = [line.split() for line in text.splitlines() if line.startswith("  ")]
    assert rows[0] == ["step", "jump", "dim", "V", "new", "directions"]
    assert rows[1] == ["1", "1", "1", "(1,", "1)"]
    assert rows[2][:3] == ["2", "2", "2"]
    assert "jumps: (1, 2); information exponent 1" in text


def test_assert_iso_leap_numeric_target_says_so() -> None:
    with pytest.raises(AssertionError, match="numeric"):
        assert_iso_leap("relu(x1)", 2)


@settings(max_examples=15)
@given(cst.rotated(cst.gaussian_polynomials(max_variables=2, max_degree=3, max_terms=3)))
def test_assert_iso_leap_on_rotated_targets(g) -> None:
    level = csqbound.iso_leap(g).iso_leap
    assert_iso_leap(g, level)
    with pytest.raises(AssertionError, match="witness chain"):
        assert_iso_leap(g, level + 1)


# -- assert_csq_exponent ---------------------------------------------------------------------------
def test_assert_csq_exponent_passes_and_fails_with_the_stage_table() -> None:
    assert assert_csq_exponent("x1*x2*x3", 3).exponent == 3
    assert assert_csq_exponent("He3(x1)", 1, domain="gaussian").exponent == 1
    target = csqbound.Target.from_text("He3(x1)", "gaussian")
    assert assert_csq_exponent(target, 1).domain == "gaussian"  # the Target's domain wins
    with pytest.raises(AssertionError) as info:
        assert_csq_exponent("x1 + x1*x2*x3", 3, d=100, tau="1/10")
    text = str(info.value)
    first = text.splitlines()[0]
    assert first.startswith("CSQ exponent of x1 + x1*x2*x3 (boolean, ")
    assert first.endswith(") is 2, expected 3")
    assert "stages of the bound at d=100, tau=1/10" in text
    rows = [line.split() for line in text.splitlines() if line.startswith("  ")]
    assert rows[0] == ["covered", "U", "jump", "m", "|r|^2", "Gamma_U", "queries", "log10", "q"]
    bound = csqbound.csq_bound("x1 + x1*x2*x3", d=100, tau="1/10")
    assert rows[1][:5] == ["{}", "1", "2", "2", str(bound.stages[0].gamma)]
    assert rows[2][:5] == ["{1}", "2", "1", "1", str(bound.stages[1].gamma)]


def test_assert_csq_exponent_defaults_d_to_at_least_p() -> None:
    many = " + ".join(f"x{i}" for i in range(1, 71))
    assert assert_csq_exponent(many, 1).d == 70


def test_assert_csq_exponent_reports_vacuous_stages() -> None:
    with pytest.raises(AssertionError, match="vacuous"):
        assert_csq_exponent("x1*x2", 1, d=3)


# -- assert_learns_in_order -------------------------------------------------------------------
@pytest.fixture(scope="module")
def run():
    return csqbound.train("x1 + x1*x2*x3", d=12, replicas=4, samples=20_000, seed=0)


def test_assert_learns_in_order_passes_on_the_predicted_stages(run) -> None:
    check = assert_learns_in_order(run)
    assert check.respected
    assert check.complete
    assert check.stages == (("x1",), ("x1*x2*x3",))
    # the stages of the leap's witness, given explicitly, in any accepted spelling
    assert assert_learns_in_order(run, csqbound.leap("x1 + x1*x2*x3").stages).respected
    assert assert_learns_in_order(run, ["x1", ["x3*x2*x1"]]).respected


def test_assert_learns_in_order_failure_shows_times_and_violations(run) -> None:
    times = {"x1": (9000, 9000, None, 8000), "x1*x2*x3": (2000, 3000, 2500, 2600)}
    late = dataclasses.replace(run, learning_times=times)
    with pytest.raises(AssertionError) as info:
        assert_learns_in_order(late)
    lines = str(info.value).splitlines()
    assert lines[0] == (
        "run on x1 + x1*x2*x3 (boolean, d=12, 4 replicas) did not learn in the stage order "
        "[x1] | [x1*x2*x3]"
    )
    rows = [line.split(maxsplit=3) for line in lines if line.startswith("  ")]
    assert rows[1] == ["1", "x1", "9000", "9000, 9000, -, 8000"]
    assert rows[2] == ["2", "x1*x2*x3", "2550", "2000, 3000, 2500, 2600"]
    assert lines[-1] == "  x1 (stage 1) at 9000 after x1*x2*x3 (stage 2) at 2550"


def test_assert_learns_in_order_requires_completeness(run) -> None:
    times = {"x1": (100, 200, 300, 400), "x1*x2*x3": (None, None, None, 5000)}
    unfinished = dataclasses.replace(run, learning_times=times)
    with pytest.raises(AssertionError, match="not learned by more than half the replicas: x1\\*x2\\*x3"):
        assert_learns_in_order(unfinished)
    check = assert_learns_in_order(unfinished, require_complete=False)
    assert check.respected
    assert not check.complete


def test_assert_learns_in_order_wrong_claim_fails(run) -> None:
    with pytest.raises(AssertionError, match=r"x1\*x2\*x3 \(stage 1\) at \d+ after x1 \(stage 2\)"):
        assert_learns_in_order(run, [["x1*x2*x3"], ["x1"]])


def test_assert_learns_in_order_rejects_unknown_monomials(run) -> None:
    with pytest.raises(ParameterError, match="tracked: x1, x1\\*x2\\*x3"):
        assert_learns_in_order(run, ["x4"])
    with pytest.raises(ParameterError, match="sequence of stages"):
        assert_learns_in_order(run, "x1")
    empty = dataclasses.replace(run, predicted_stages=())
    with pytest.raises(ParameterError, match="pass stages="):
        assert_learns_in_order(empty)
