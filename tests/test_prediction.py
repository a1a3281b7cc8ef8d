"""Tests of the SGD predictions (csqbound.prediction)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from csqbound.errors import ParameterError
from csqbound.expansion import expand
from csqbound.leaps import leap
from csqbound.prediction import predict, stage_scale, stage_scale_label


@pytest.mark.parametrize(
    ("text", "domain", "value", "samples", "time", "samples_label", "time_label"),
    [
        ("x1 + x1*x2 + x1*x2*x3", "boolean", 1, 1, 2, "d", "d^2"),
        ("x1*x2", "boolean", 2, 1, 2, "d log d", "d^2 log d"),
        ("x1 + x1*x2*x3", "boolean", 2, 1, 2, "d log d", "d^2 log d"),
        ("x1*x2*x3", "boolean", 3, 2, 3, "d^2", "d^3"),
        ("He3(x1)", "gaussian", 3, 2, 3, "d^2", "d^3"),
        ("x1 + x1*x2", "gaussian", 1, 1, 2, "d", "d^2"),
        ("x1 + x1*He2(x2)", "gaussian", 2, 1, 2, "d log d", "d^2 log d"),
        ("x1*x2 + (x1 + x2)/sqrt(2)", "gaussian", 2, 1, 2, "d log d", "d^2 log d"),
        ("x1*x2*x3*x4", "boolean", 4, 3, 4, "d^3", "d^4"),
    ],
)
def test_hand_cases(
    text: str,
    domain: str,
    value: int,
    samples: int,
    time: int,
    samples_label: str,
    time_label: str,
) -> None:
    p = predict(text, domain)
    assert p.leap == value
    assert p.leap_kind == ("leap" if domain == "boolean" else "iso_leap")
    assert (p.samples_exponent, p.time_exponent) == (samples, time)
    assert (p.samples_label, p.time_label) == (samples_label, time_label)


def test_gaussian_uses_iso_leap_not_coordinate_leap() -> None:
    text = "x1*x2 + (x1 + x2)/sqrt(2)"
    assert leap(expand(text, "gaussian")).leap == 1
    assert predict(text, "gaussian").leap == 2


def test_stage_scales() -> None:
    assert stage_scale(1)(50) == 50.0
    assert stage_scale(2)(50) == pytest.approx(50 * math.log(50))
    assert stage_scale(4)(10) == pytest.approx(1000.0)
    arr = stage_scale(3)(np.array([2.0, 4.0]))
    assert isinstance(arr, np.ndarray)
    np.testing.assert_allclose(arr, [4.0, 16.0])
    assert [stage_scale_label(j) for j in (0, 1, 2, 3, 5)] == ["d", "d", "d log d", "d^2", "d^4"]
    with pytest.raises(ParameterError):
        stage_scale(2)(0)


def test_stages_of_a_staircase_with_plateau() -> None:
    p = predict("x1 + x1*x2*x3 + x1*x2*x3*x4*x5*x6")
    assert p.stage_jumps == (1, 2, 3)
    assert p.stage_labels == ("d", "d log d", "d^2")
    assert len(p.stage_scales) == 3
    values = p.stage_samples(100)
    assert values[0] == 100.0
    assert values[1] == pytest.approx(100 * math.log(100))
    assert values[2] == 10000.0
    assert p.samples(100) == max(values)
    assert p.time(100) == pytest.approx(100 * p.samples(100))


def test_gaussian_stages() -> None:
    p = predict("x1 + x1*He2(x2) + He4(x3)", "gaussian")
    assert p.stage_jumps == (1, 2, 4)
    assert p.samples_label == "d^3"


def test_to_dict_is_json_ready() -> None:
    out = predict("x1 + x1*x2*x3").to_dict()
    assert json.loads(json.dumps(out)) == out
    assert out["stages"] == [
        {"jump": 1, "samples_label": "d"},
        {"jump": 2, "samples_label": "d log d"},
    ]


def test_constant_target() -> None:
    with pytest.raises(ParameterError):
        predict("7")


families = st.lists(
    st.frozensets(st.integers(1, 6), min_size=1, max_size=4), min_size=1, max_size=6
)


@given(families)
def test_matches_leap(sets: list[frozenset[int]]) -> None:
    p = predict(sets)
    r = leap(sets)
    assert p.leap == r.leap
    assert p.samples_exponent == max(r.leap - 1, 1)
    assert p.time_exponent == max(r.leap, 2)
    assert p.stage_jumps == r.stage_jumps()
    # the slowest stage sets the overall curve
    assert p.samples(1000.0) == pytest.approx(max(p.stage_samples(1000.0)))


def test_bad_dimensions_are_parameter_errors():
    p = predict("x1")
    for bad in ("a", float("nan"), 0, -3, None):
        with pytest.raises(ParameterError):
            p.samples(bad)
