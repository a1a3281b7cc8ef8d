"""Every JSON document: a schema version, and exact fields paired with their floats."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from fractions import Fraction
from typing import Any

import pytest

from csqbound.cli import main
from csqbound.report.schema import (
    EXACT_FIELDS,
    FLOAT_SUFFIX,
    SCHEMA_VERSION,
    exact_float,
    json_ready,
)
from csqbound.report.tables import to_json


def _objects(data: Any) -> Iterator[dict[str, Any]]:
    if isinstance(data, dict):
        yield data
        for v in data.values():
            yield from _objects(v)
    elif isinstance(data, list):
        for v in data:
            yield from _objects(v)


def _exact_pairs(data: Any) -> list[tuple[str, Any, Any]]:
    """(name, exact, float) of every exact field; fails when a twin is missing."""
    pairs = []
    for obj in _objects(data):
        for name in EXACT_FIELDS & set(obj):
            assert name + FLOAT_SUFFIX in obj, f"{name} has no {name}{FLOAT_SUFFIX} in {obj}"
            pairs.append((name, obj[name], obj[name + FLOAT_SUFFIX]))
    return pairs


def _consistent(exact: Any, number: Any) -> None:
    assert exact is None or isinstance(exact, str), exact
    assert number is None or isinstance(number, float), number
    if exact is None:
        assert number is None
        return
    try:
        expected: float | None = float(Fraction(exact))
    except ValueError:  # algebraic, e.g. sqrt(2)/2
        expected = exact_float(exact)
    except OverflowError:
        expected = None
    assert number == expected, (exact, number)


COMMANDS = [
    ("expand", "x1 + x1*x2*x3/3"),
    ("expand", "He3((x1 - x2)/sqrt(2))", "-D", "gaussian"),
    ("expand", "relu(x1)", "-D", "gaussian", "--max-degree", "4"),
    ("leap", "x1 + x1*x2*x3"),
    ("leap", "x1 + x1*He2(x2)", "-D", "gaussian"),
    ("csq", "x1*x2*x3", "--d", "64", "--tau", "0.01"),
    ("csq", "x1*x2*x3*x4*x5", "--d", "1" + "0" * 400, "--tau", "1e-300"),
    ("csq", "He3(x1)", "-D", "gaussian", "--d", "1000000"),
]


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: " ".join(a))
def test_every_exact_field_has_a_consistent_float(capsys, args: tuple[str, ...]) -> None:
    assert main([*args, "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["schema_version"] == SCHEMA_VERSION
    assert next(iter(data)) == "schema_version"
    pairs = _exact_pairs(data)
    assert pairs, "no exact field in the document"
    for _, exact, number in pairs:
        _consistent(exact, number)


def test_numeric_fields_are_strings_too(capsys) -> None:
    # a numeric (quadrature) expansion: the value is still a string, its float beside it
    assert main(["expand", "relu(x1)", "-D", "gaussian", "--max-degree", "2", "-f", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["exact"] is False
    first = data["support"][0]
    assert isinstance(first["coefficient"], str)
    assert float(first["coefficient"]) == first["coefficient_float"]
    assert math.isclose(first["coefficient_float"], 1 / math.sqrt(2 * math.pi), rel_tol=1e-4)


def test_a_bound_beyond_float_range_has_a_null_float(capsys) -> None:
    assert (
        main(["csq", "x1*x2*x3*x4*x5", "--d", "1" + "0" * 400, "--tau", "1e-300", "-f", "json"])
        == 0
    )
    data = json.loads(capsys.readouterr().out)
    assert data["bound_float"] is None
    assert Fraction(data["bound"]) > 10**900


def test_zoo_records_pair_their_exact_fields(capsys) -> None:
    from csqbound.report.summary import zoo_records

    doc = json.loads(to_json(zoo_records(d=64)[:3]))
    assert isinstance(doc, list)  # a top-level list carries no schema version
    for _, exact, number in _exact_pairs(doc):
        _consistent(exact, number)


def test_report_theory_rows_pair_tau_and_the_bound() -> None:
    from csqbound.report.pipeline import theory_records
    from csqbound.report.suite import parse_suite

    suite = parse_suite('[report]\nd = [8, 16]\n[[target]]\nexpression = "x1*x2*x3"')
    doc = json.loads(to_json({"theory": theory_records(suite)}))
    row = doc["theory"][0]
    assert doc["schema_version"] == SCHEMA_VERSION
    assert row["tau_float"] == float(Fraction(row["tau"]))
    assert row["csq_bound_float"] == float(Fraction(row["csq_bound"]))


def test_json_ready_pairs_each_kind_of_value() -> None:
    doc = json_ready(
        {"weight": Fraction(1, 3), "gamma": 2, "norm2": None, "bound": float("inf"), "d": 3}
    )
    assert doc == {
        "schema_version": SCHEMA_VERSION,
        "weight": "1/3",
        "weight_float": 1 / 3,
        "gamma": "2",
        "gamma_float": 2.0,
        "norm2": None,
        "norm2_float": None,
        "bound": "inf",
        "bound_float": None,
        "d": 3,
    }
    # a float the record computed itself is kept, not recomputed
    assert json_ready({"bound": "1/3", "bound_float": 0.5})["bound_float"] == 0.5


def test_the_consistency_check_can_fail() -> None:
    with pytest.raises(AssertionError):
        _consistent("1/3", 0.3)
    with pytest.raises(AssertionError):
        _exact_pairs({"coefficient": "1"})
