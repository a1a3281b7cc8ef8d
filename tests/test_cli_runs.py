"""``csqbound runs``: settings that tell rows apart, targets matched after parsing, CSV columns,
and where it finds a store when no --db is given."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import pytest

from csqbound.cli import main
from csqbound.errors import ParseError
from csqbound.experiments.store import same_target

TINY = ["--seeds", "2", "--replicas", "2", "--samples", "20000", "--workers", "1", "-q"]


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def two_sweeps(tmp_path_factory) -> Path:
    """A store with x1*x2 at the default lr (d = 8, 16) and at lr 0.3 (d = 8)."""
    db = tmp_path_factory.mktemp("runs") / "sweep.sqlite"
    assert main(["verify", "x1*x2", "--d", "8,16", "--db", str(db), *TINY]) == 0
    assert main(["verify", "x1*x2", "--d", "8", "--lr", "0.3", "--db", str(db), *TINY]) == 0
    return db


def test_same_target_compares_parsed_expressions() -> None:
    assert same_target("x1 * x2 * x3", "x1*x2*x3")
    assert same_target("x2*x1 + x3", "x3 + x1*x2")
    assert not same_target("x1*x2", "x1*x3")
    assert not same_target("x1*x2", "not an expression (")  # a stored text that does not parse
    with pytest.raises(ParseError):
        same_target("x1*(", "x1")


def test_target_is_matched_after_parsing(capsys, two_sweeps: Path) -> None:
    code, out, _ = run(capsys, "runs", "--db", str(two_sweeps), "--target", "x2 * x1", "-f", "json")
    assert code == 0
    assert len(json.loads(out)) == 6
    code, out, _ = run(capsys, "runs", "--db", str(two_sweeps), "--target", "parity2", "-f", "json")
    assert len(json.loads(out)) == 6  # a catalog name stands for its expression, x1*x2
    code, out, _ = run(
        capsys, "runs", "--db", str(two_sweeps), "--target", "sqrt(x1)", "-f", "json"
    )
    assert code == 0  # parsed, not evaluated on a domain: no NaN error, just no match
    assert json.loads(out) == []
    code, out, err = run(capsys, "runs", "--db", str(two_sweeps), "--target", "x1*x3")
    assert code == 0
    assert "0 runs" in out
    assert "No run of the 6" in out
    assert "no runs in" in err


def test_a_target_that_does_not_parse_is_exit_2(capsys, two_sweeps: Path) -> None:
    code, out, err = run(capsys, "runs", "--db", str(two_sweeps), "--target", "x1*(")
    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1


def test_table_shows_the_settings_that_differ(capsys, two_sweeps: Path) -> None:
    code, out, _ = run(capsys, "runs", "--db", str(two_sweeps))
    assert code == 0
    header = next(line for line in out.splitlines() if "target" in line and "seed" in line)
    cells = [c.strip() for c in header.strip("┃|").replace("┃", "|").split("|")]
    assert "lr" in cells
    assert "width" not in cells  # the same for every run: in the note instead
    assert "Settings shared by every run shown" in out
    assert "width=64" in out
    assert "0.3" in out
    assert "default" in out


def test_table_without_differences_has_no_setting_column(capsys, two_sweeps, tmp_path) -> None:
    import sqlite3

    one = tmp_path / "one.sqlite"
    shutil.copy(two_sweeps, one)
    with sqlite3.connect(one) as conn:  # keep the default-lr sweep only
        conn.execute("""DELETE FROM runs WHERE settings LIKE '%"lr":0.3%'""")
    code, out, _ = run(capsys, "runs", "--db", str(one))
    assert code == 0
    assert "4 runs" in out
    header = next(line for line in out.splitlines() if "target" in line and "seed" in line)
    assert " lr " not in header
    assert "lr=default" in out
    assert "Settings that differ" not in out


def test_csv_has_one_column_per_status_and_every_setting(capsys, two_sweeps: Path) -> None:
    code, out, _ = run(capsys, "runs", "--db", str(two_sweeps), "-f", "csv")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == 6
    first = rows[0]
    assert "status" not in first
    assert {"ok", "diverged", "budget_exhausted", "error"} <= set(first)
    assert {"samples", "lr", "loss", "step_rule", "width", "batch", "replicas"} <= set(first)
    for r in rows:
        counts = [int(r[s]) for s in ("ok", "diverged", "budget_exhausted", "error")]
        assert sum(counts) == int(r["replicas"]) == 2
        assert ":" not in "".join(r.values())


def test_runs_finds_the_default_report_store(capsys, tmp_path, monkeypatch, two_sweeps) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "runs")
    assert code == 2
    assert "csqbound-report/runs.sqlite" in err
    assert "--db" in err
    (tmp_path / "csqbound-report").mkdir()
    shutil.copy(two_sweeps, tmp_path / "csqbound-report" / "runs.sqlite")
    code, out, err = run(capsys, "runs")
    assert code == 0, err
    assert "6 runs in csqbound-report/runs.sqlite" in out


def test_an_empty_store_says_so(capsys, tmp_path) -> None:
    from csqbound.experiments.store import Store

    db = tmp_path / "empty.sqlite"
    with Store(db):
        pass
    code, out, err = run(capsys, "runs", "--db", str(db))
    assert code == 0
    assert "holds no runs" in out
    assert "no runs in" in err


def test_a_failed_run_has_a_blank_median_with_a_reason(capsys, tmp_path, monkeypatch) -> None:
    from dataclasses import dataclass, field
    from typing import Any

    from csqbound.experiments.store import Store

    @dataclass(frozen=True)
    class Spec:
        key: str = "failed-run-key"
        target: str = "x1*x2"
        domain: str = "boolean"
        d: int = 8
        seed: int = 0
        settings: dict[str, Any] = field(default_factory=lambda: {"replicas": 2})
        code_version: str = "0"

    db = tmp_path / "failed.sqlite"
    with Store(db) as store:
        store.put_error(Spec(), "MemoryError")
    monkeypatch.setenv("COLUMNS", "200")
    code, out, _ = run(capsys, "runs", "--db", str(db))
    assert code == 0
    assert "error: 2" in out
    assert "samples_to_learn is blank for a run whose replicas all diverged or that failed" in out
    code, out, _ = run(capsys, "runs", "--db", str(db), "-f", "csv")
    (row,) = csv.DictReader(io.StringIO(out))
    assert (row["error"], row["ok"], row["samples_to_learn"]) == ("2", "0", "")
