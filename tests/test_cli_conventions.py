"""CLI conventions of issue 14: tables sized to the terminal, reasons for blank cells, and a
flag on CSQ bounds below one query."""

from __future__ import annotations

import json

import pytest

from csqbound.cli import main
from csqbound.report.tables import PIPE_WIDTH, terminal_width


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(("columns", "width"), [("72", 72), (None, PIPE_WIDTH), ("x", PIPE_WIDTH)])
def test_tables_fit_the_width(capsys, monkeypatch, columns, width) -> None:
    if columns is None:
        monkeypatch.delenv("COLUMNS", raising=False)
    else:
        monkeypatch.setenv("COLUMNS", columns)
    assert terminal_width() == width  # stdout is captured: not a terminal
    code, out, _ = run(capsys, "zoo")
    assert code == 0
    lines = out.splitlines()
    assert max(len(line) for line in lines) <= width
    assert max(len(line) for line in lines) > width - 10  # the zoo is wide: it uses the room


def test_a_bound_below_one_query_is_flagged(capsys, monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")  # so that no cell wraps
    code, out, _ = run(capsys, "csq", "x1*x2", "--d", "16", "--tau", "0.1")
    assert code == 0
    assert "14/25 (< 1 query)" in out
    assert "below one query" in out
    code, out, _ = run(capsys, "csq", "x1*x2", "--d", "16", "--tau", "0.1", "-f", "json")
    data = json.loads(out)
    assert data["below_one_query"] is True
    assert data["log10_bound"] < 0
    assert any("below one query" in n for n in data["notes"])


def test_a_bound_of_many_queries_is_not_flagged(capsys) -> None:
    code, out, _ = run(capsys, "csq", "x1*x2*x3", "--d", "64", "--tau", "0.01", "-f", "json")
    assert code == 0
    data = json.loads(out)
    assert data["below_one_query"] is False
    assert not any("below one query" in n for n in data["notes"])


def test_a_blank_median_says_why(capsys, monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    argv = ["train", "x1*x2", "--d", "8", "--replicas", "2", "--samples", "20000", "-q"]
    code, out, _ = run(capsys, *argv, "--stop-loss", "none")
    assert code == 0
    assert "median samples to learn is blank" in out
    assert "--stop-loss none" in out
    code, out, _ = run(capsys, *argv)
    assert code == 0
    assert "is blank" not in out  # learned: the median is there, no note
