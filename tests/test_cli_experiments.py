"""``csqbound verify``, ``runs`` and ``report`` end to end, on tiny grids."""

from __future__ import annotations

import csv
import io
import json
import sqlite3

import pytest

from csqbound.cli import main

TINY = ["--seeds", "2", "--replicas", "2", "--samples", "20000", "--workers", "1", "-q"]

SUITE = """
[report]
title = "tiny suite"
d = [8, 16, 32]
seeds = 2
[settings]
replicas = 2
samples = 30000
[[target]]
name = "staircase2"
expression = "x1 + x1*x2"
[[target]]
name = "he2"
expression = "He2(x1)"
domain = "gaussian"
"""


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_verify_json_resume_and_plot(capsys, tmp_path):
    db = tmp_path / "runs.sqlite"
    fig = tmp_path / "scaling.png"
    argv = ["verify", "x1 + x1*x2", "--d", "8,16,32", "--db", str(db), *TINY, "--format", "json"]
    code, out, err = run(capsys, *argv, "--plot", str(fig))
    assert code == 0, err
    data = json.loads(out)
    for key in ("predicted_exponent", "slope", "ci", "verdict", "d", "samples_to_learn"):
        assert key in data
    assert data["d"] == [8, 16, 32]
    assert data["predicted_exponent"] == 1
    assert len(data["ci"]) == 2
    assert data["verdict"] in ("agree", "disagree", "inconclusive")
    assert set(data["samples_to_learn"]) == {"8", "16", "32"}
    assert all(len(per_seed) == 2 for per_seed in data["samples_to_learn"].values())
    assert data["sweep"]["done"] == 6
    assert fig.stat().st_size > 0
    # the same command again resumes everything from the store and gives the same numbers
    code, out2, _ = run(capsys, *argv)
    again = json.loads(out2)
    assert again["sweep"] == {**again["sweep"], "done": 0, "skipped": 6}
    assert again["samples_to_learn"] == data["samples_to_learn"]
    assert again["slope"] == data["slope"]
    # the table is the report's verification row: the same verdict as the JSON (the selection's,
    # not the old slope fit's), its law and d range, and the verdict's reason under the tables
    code, table, _ = run(capsys, *argv[:-2], "--format", "markdown")
    assert code == 0
    header, _, row = table.splitlines()[2:5]
    cells = dict(zip(header.strip("| ").split(" | "), row.strip("| ").split(" | "), strict=True))
    assert cells["verdict"] == data["verdict"]
    assert cells["law tested"] == data["conjecture"]
    assert cells["old slope [95% CI]"].startswith(f"{data['slope']:.2f} [")
    assert data["reason"] in table


def test_verify_table_shows_the_selection_verdict_as_the_json_does(capsys, tmp_path):
    db = tmp_path / "runs.sqlite"
    argv = ["verify", "x1", "--d", "8,16,32,64", "--db", str(db), *TINY]
    code, out, err = run(capsys, *argv, "--format", "json")
    assert code == 0, err
    data = json.loads(out)
    code, table, _ = run(capsys, *argv, "--format", "markdown")
    assert code == 0
    lines = [line for line in table.splitlines() if line.startswith("| x1 ")]
    head = [c.strip() for c in lines[0].strip("|").split("|")]
    assert head[:3] == ["x1", "d", data["verdict"]]  # the selection's verdict, not the old fit's
    assert "stage end" in table and "samples to learn vs d" not in table
    assert "verdict" not in table.split("Per-stage durations")[-1].splitlines()[2]


def test_runs_lists_the_store_in_every_format(capsys, tmp_path):
    db = tmp_path / "runs.sqlite"
    assert run(capsys, "verify", "x1*x2", "--d", "8,16", "--db", str(db), *TINY)[0] == 0
    code, out, _ = run(capsys, "runs", "--db", str(db), "--format", "json")
    assert code == 0
    stored = json.loads(out)
    assert len(stored) == 4
    assert {r["d"] for r in stored} == {8, 16}
    code, out, _ = run(capsys, "runs", "--db", str(db), "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == 4
    assert rows[0]["target"] == "x1*x2"
    code, out, _ = run(capsys, "runs", "--db", str(db))
    assert "4 runs" in out


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["verify", "x1*x2*x3", "--d", "2,4"], "smaller than"),
        (["verify", "x1*x2", "--d", ""], "at least one dimension"),
        (["verify", "x1*x2", "--d", "8,x"], "comma-separated"),
        (["verify", "x1*x2", "--d", "8,16", "--samples", "0"], "samples"),
        (["verify", "x1*x2", "--d", "8,16", "--dask", "nonsense"], "dask"),
        (["runs", "--db", "does-not-exist.sqlite"], "no results store"),
        (["runs", "--format", "xml"], "unknown format"),
        (["report", "missing.toml"], "no such suite file"),
    ],
)
def test_bad_input_one_line_exit_2(capsys, tmp_path, monkeypatch, argv, needle):
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, *argv)
    assert code == 2, err
    assert out == ""
    assert len(err.strip().splitlines()) == 1, err
    assert needle in err


def test_foreign_store_is_a_clear_error(capsys, tmp_path):
    foreign = tmp_path / "other.sqlite"
    with sqlite3.connect(foreign) as conn:
        conn.execute("CREATE TABLE t (x)")
    code, _, err = run(capsys, "runs", "--db", str(foreign))
    assert code == 2
    assert len(err.strip().splitlines()) == 1
    text = tmp_path / "notes.sqlite"
    text.write_text("not a database")
    code, _, err = run(capsys, "verify", "x1", "--d", "8,16", "--db", str(text), *TINY)
    assert code == 2
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("garbage = = toml", "not valid TOML"),
        ("[report]\nd = [8, 16]\nwhat = 1\n[[target]]\nexpression = 'x1'", "what"),
        ("[report]\nd = [2, 4]\n[[target]]\nexpression = 'x1*x2*x3'", "smaller than"),
        ("[report]\nd = []\n[[target]]\nexpression = 'x1'", "non-empty"),
    ],
)
def test_report_bad_suite_files(capsys, tmp_path, text, needle):
    suite = tmp_path / "suite.toml"
    suite.write_text(text)
    code, out, err = run(capsys, "report", str(suite), "--out", str(tmp_path / "out"), "-q")
    assert code == 2
    assert len(err.strip().splitlines()) == 1, err
    assert needle in err


@pytest.mark.slow
def test_report_writes_everything_and_resumes(capsys, tmp_path):
    suite = tmp_path / "suite.toml"
    suite.write_text(SUITE)
    out_dir = tmp_path / "rep"
    code, out, err = run(
        capsys, "report", str(suite), "--out", str(out_dir), "--workers", "1", "-q"
    )
    assert code == 0, err
    for name in ("report.tex", "report.json", "runs.sqlite"):
        assert (out_dir / name).is_file()
    for table in ("theory", "verification", "stages"):
        text = (out_dir / "tables" / f"{table}.tex").read_text()
        assert "\\toprule" in text
    for slug in ("01_staircase2", "02_he2"):
        for kind in ("scaling", "run"):
            for ext in ("pdf", "png"):
                assert (out_dir / "figures" / f"{kind}_{slug}.{ext}").stat().st_size > 0
    data = json.loads((out_dir / "report.json").read_text())
    assert [t["name"] for t in data["targets"]] == ["staircase2", "he2"]
    assert data["sweep"]["done"] == 12
    he2 = data["targets"][1]
    assert he2["theory"]["iso_leap"] == 2
    assert he2["verification"]["predicted_exponent"] == 1
    assert "staircase2" in out
    import shutil

    if shutil.which("pdflatex"):
        assert (out_dir / "report.pdf").stat().st_size > 0, out
    # rerun: everything comes from the store
    code, out, err = run(capsys, "report", str(suite), "--out", str(out_dir), "--no-pdf", "-q")
    assert code == 0, err
    assert "0 runs now, 12 reused" in out


WEIRD = r"""
[report]
d = [4, 6, 8]
seeds = 1
[settings]
replicas = 2
samples = 20000
[[target]]
name = "α β"
expression = "x1 + x1*x2"
[[target]]
name = "γ"
expression = "x1*x2"
[[target]]
name = 'a $\foo$ b 50%_#&'
expression = "x1"
"""


@pytest.mark.slow  # a whole report (three targets, figures): the slow step of .ci/run
def test_report_with_vacuous_bounds_and_awkward_names(capsys, tmp_path):
    """Review findings: vacuous CSQ bounds crashed the theory table after the sweep; names that
    clean to the same slug shared figures; a $ in a name broke matplotlib's title."""
    suite = tmp_path / "weird.toml"
    suite.write_text(WEIRD, encoding="utf-8")
    out_dir = tmp_path / "rep"
    code, out, err = run(
        capsys, "report", str(suite), "--out", str(out_dir), "--workers", "1", "--no-pdf", "-q"
    )
    assert code == 0, err
    figures = sorted(p.name for p in (out_dir / "figures").glob("scaling_*.png"))
    assert len(figures) == 3  # one per target, no collisions
    tex = (out_dir / "report.tex").read_text(encoding="utf-8")
    for name in figures:
        assert name.replace(".png", ".pdf") in tex
    assert not (out_dir / "report.pdf").exists()


def test_bad_paths_and_constant_targets_fail_before_any_work(capsys, tmp_path):
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    suite = tmp_path / "s.toml"
    suite.write_text(SUITE)
    cases = [
        (["report", str(suite), "--out", str(a_file), "-q"], "cannot write the report"),
        (["verify", "x1", "--d", "8,16", "--plot", str(tmp_path / "no" / "f.png")], "folder"),
        (["verify", "x1**2", "--d", "4,8", "--db", str(tmp_path / "c.sqlite")], "constant"),
    ]
    empty = tmp_path / "empty.sqlite"
    empty.write_bytes(b"")
    cases.append((["runs", "--db", str(empty)], "empty file"))
    for argv, needle in cases:
        code, out, err = run(capsys, *argv)
        assert code == 2, (argv, err)
        assert needle in err, (argv, err)
        assert len(err.strip().splitlines()) == 1
    assert empty.stat().st_size == 0  # listing never turns a file into a store
    assert not (tmp_path / "c.sqlite").exists() or (tmp_path / "c.sqlite").stat().st_size == 0


def test_verify_tests_the_leap_and_rejects_a_wrong_conjecture(capsys, tmp_path):
    """The same machinery judges the prediction (d log d for x1*x2) and a user's d^3: the
    first agrees, the second is rejected; thin data (two d values) are inconclusive."""
    db = tmp_path / "runs.sqlite"
    base = ["verify", "x1*x2", "--d", "8,16,32,64", "--db", str(db), "--seeds", "4",
            "--replicas", "2", "--samples", "30000", "--workers", "1", "-q", "--format", "json"]  # fmt: skip
    code, out, err = run(capsys, *base)
    assert code == 0, err
    data = json.loads(out)
    assert (data["predicted_exponent"], data["log_power"], data["conjecture"]) == (1, 1, "d log d")
    assert data["observable"] == "stage_end"
    assert data["verdict"] == "agree", data["reason"]
    assert set(data["side"]) == {"loss_0.2", "loss_0.05"}
    code, out, err = run(capsys, *base, "--exponent", "3", "--log-power", "0")
    assert code == 0, err
    wrong = json.loads(out)
    assert (wrong["predicted_exponent"], wrong["conjecture_source"]) == (3, "user")
    assert wrong["verdict"] == "disagree", wrong["reason"]
    assert wrong["sweep"]["skipped"] == 16  # the same runs, judged again
    thin = base.copy()
    thin[3] = "16,32"
    code, out, err = run(capsys, *thin)
    assert code == 0, err
    assert json.loads(out)["verdict"] == "inconclusive"


def test_verify_refuses_a_bad_exponent(capsys, tmp_path):
    code, _, err = run(capsys, "verify", "x1", "--d", "8,16", "--exponent", "-1",
                       "--db", str(tmp_path / "s.sqlite"))  # fmt: skip
    assert code == 2
    assert "exponent must be a positive number" in err
