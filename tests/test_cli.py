"""End-to-end tests of the command line: outputs, formats, and one-line errors with exit code 2."""

from __future__ import annotations

import json

import pytest

from csqbound.cli import main


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_leap_json_has_every_field(capsys):
    code, out, err = run(capsys, "leap", "x1 + x1*x2*x3", "--format", "json")
    assert code == 0, err
    data = json.loads(out)
    for key in (
        "expression",
        "domain",
        "variables",
        "support",
        "leap",
        "msp",
        "order",
        "jumps",
        "stages",
        "cover",
    ):
        assert key in data
    assert data["leap"] == 2
    assert data["msp"] is False
    assert data["order"] == ["x1", "x1*x2*x3"]
    assert data["stages"] == [["x1"], ["x1*x2*x3"]]
    assert data["support"] == [
        {"monomial": "x1", "coefficient": "1", "degree": 1, "weight": "1"},
        {"monomial": "x1*x2*x3", "coefficient": "1", "degree": 3, "weight": "1"},
    ]


def test_leap_gaussian_prints_hermite_monomials(capsys):
    code, out, _ = run(capsys, "leap", "x1 + x1*x2**2", "--domain", "gaussian", "--format", "json")
    assert code == 0
    data = json.loads(out)
    # x1*x2**2 = x1*He2(x2) + x1 in the Hermite basis
    assert [(r["monomial"], r["coefficient"]) for r in data["support"]] == [
        ("x1", "2"),
        ("x1*He2(x2)", "1"),
    ]
    assert data["leap"] == 2
    assert data["domain"] == "gaussian"


def test_exact_algebraic_coefficients_print_exactly(capsys):
    code, out, _ = run(
        capsys, "expand", "He3((x1 - x2)/sqrt(2))", "--domain", "gaussian", "--format", "json"
    )
    assert code == 0
    data = json.loads(out)
    assert data["exact"] is True
    assert any("sqrt(2)" in r["coefficient"] for r in data["support"])


@pytest.mark.parametrize("fmt", ["table", "markdown", "latex"])
def test_every_format_renders(capsys, fmt):
    code, out, _ = run(capsys, "leap", "x1*x2 + x3", "--format", fmt)
    assert code == 0
    assert out.strip()


def test_catalog_names_are_accepted(capsys):
    code, out, _ = run(capsys, "leap", "parity3", "--format", "json")
    assert code == 0
    assert json.loads(out)["leap"] == 3
    code, _, err = run(capsys, "leap", "hermite3", "--domain", "boolean")
    assert code == 2
    assert "gaussian" in err


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["leap", "x1 + foo(x2)"], "foo"),
        (["leap", "__import__('os').system('true')"], "__import__"),
        (["leap", "x1 +"], "column"),
        (["leap", "x1", "--format", "html"], "unknown format"),
        (["leap", "x1", "--domain", "sphere"], "unknown domain"),
        (["expand", "x1**100"], "power"),
        (["graph", "x1*x2", "--out", "graph.txt"], "must end in"),
        (["nosuchcommand"], "No such command"),
    ],
)
def test_bad_input_is_one_line_exit_2(capsys, tmp_path, monkeypatch, argv, needle):
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("csqbound: error:")
    assert needle.lower() in lines[0].lower()
    assert "Traceback" not in err


def test_graph_writes_a_file(capsys, tmp_path):
    out_file = tmp_path / "g.svg"
    code, out, err = run(capsys, "graph", "x1 + x1*x2*x3", "--out", str(out_file), "--format", "json")
    assert code == 0, err
    assert out_file.stat().st_size > 0
    assert json.loads(out)["leap"] == 2


def test_help_lists_commands(capsys):
    code, out, _ = run(capsys, "--help")
    assert code == 0
    for command in ("expand", "leap", "graph", "csq", "zoo"):
        assert command in out
