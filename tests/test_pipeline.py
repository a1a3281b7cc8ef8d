"""The report's theory rows and table: every leap that ``leap``, ``zoo`` and ``csq`` show.

The DLQ leaps of each loss (boolean) and the generative exponent (gaussian
single-index) sit in the theory records (``report.json``) and in the table's
"other leaps" cell (text, markdown, LaTeX and JSON), the same cell as the zoo's.
"""

from __future__ import annotations

import json

import pytest

from csqbound.report.pipeline import _theory_table, theory_records
from csqbound.report.suite import parse_suite
from csqbound.report.tables import render

SUITE = """
[report]
d = [8, 16]
[[target]]
name = "gap"
expression = "x1*x2*x3 - x1*x2*x4"
[[target]]
name = "staircase"
expression = "x1 + x1*x2*x3"
[[target]]
name = "he4"
expression = "He4(x1)"
domain = "gaussian"
"""


@pytest.fixture(scope="module")
def theory() -> tuple[list[dict], object]:
    suite = parse_suite(SUITE)
    return theory_records(suite), suite


def test_theory_records_carry_the_dlq_leaps_and_the_generative_exponent(theory) -> None:
    rows, _ = theory
    gap, staircase, he4 = rows
    assert gap["dlq_leap"] == {"squared": 3, "absolute": 2, "huber": 2, "logcosh": 2, "quartic": 2}
    assert gap["dlq_cover"]["absolute"] == 3
    assert gap["csq_leap"] == 3
    assert gap["sq_leap"] == 2
    assert set(staircase["dlq_leap"].values()) == {2}
    assert he4["generative_exponent"] == 2
    assert he4["information_exponent"] == 4
    assert gap["generative_exponent"] is None  # not a gaussian target
    assert he4["dlq_leap"] is None  # no DLQ leap on gaussian data
    json.dumps(rows)  # report.json takes them as they are


@pytest.mark.parametrize("fmt", ["table", "markdown", "latex", "json"])
def test_the_theory_table_shows_them_in_every_format(
    theory, fmt: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "240")  # a text table as wide as its cells: no wrapped cell
    rows, suite = theory
    text = render(_theory_table(rows, suite), fmt)
    assert "CSQ 3, SQ 2, DLQ 2" in text  # every non-squared loss agrees: one number
    assert "CSQ 2, SQ 2, DLQ 2" in text
    assert "iso 4, IE 4, GE 2" in text
