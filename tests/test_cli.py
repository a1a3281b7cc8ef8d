"""End-to-end tests of the command line: outputs, formats, and one-line errors with exit code 2."""

from __future__ import annotations

import json
import math
from fractions import Fraction

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
        {
            "monomial": "x1",
            "coefficient": "1",
            "coefficient_float": 1.0,
            "degree": 1,
            "weight": "1",
            "weight_float": 1.0,
        },
        {
            "monomial": "x1*x2*x3",
            "coefficient": "1",
            "coefficient_float": 1.0,
            "degree": 3,
            "weight": "1",
            "weight_float": 1.0,
        },
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
    code, out, err = run(
        capsys, "graph", "x1 + x1*x2*x3", "--out", str(out_file), "--format", "json"
    )
    assert code == 0, err
    assert out_file.stat().st_size > 0
    assert json.loads(out)["leap"] == 2


def test_help_lists_commands(capsys):
    code, out, _ = run(capsys, "--help")
    assert code == 0
    for command in ("expand", "leap", "graph", "csq", "zoo"):
        assert command in out


def test_csq_json_fields(capsys):
    code, out, err = run(
        capsys, "csq", "x1*x2*x3", "--d", "64", "--tau", "0.01", "--format", "json"
    )
    assert code == 0, err
    data = json.loads(out)
    for key in (
        "d",
        "tau",
        "exponent",
        "bound",
        "log10_bound",
        "stages",
        "predicted_sgd_samples_exponent",
        "predicted_sgd_time_exponent",
    ):
        assert key in data
    assert data["d"] == 64
    assert data["exponent"] == 3
    assert data["predicted_sgd_samples_exponent"] == 2
    for stage in data["stages"]:
        assert {"covered", "jump", "m", "r_norm2", "gamma", "queries"} <= set(stage)


def test_csq_huge_d_is_exact(capsys):
    code, out, _ = run(capsys, "csq", "x1*x2*x3", "--d", "1000000", "--format", "json")
    assert code == 0
    data = json.loads(out)
    gamma = Fraction(1, math.comb(10**6, 3))
    expected = (Fraction(1, 2) - 4 * gamma) * Fraction(1, 100) ** 2 / gamma
    assert Fraction(data["bound"]) == expected
    assert abs(float(data["log10_bound"]) - math.log10(expected)) < 1e-9


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["csq", "x1*x2*x3", "--d", "2"], "d"),
        (["csq", "x1*x2", "--tau", "-1"], "tau"),
        (["csq", "x1*x2", "--tau", "abc"], "tau"),
    ],
)
def test_csq_bad_parameters(capsys, argv, needle):
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert len(err.strip().splitlines()) == 1
    assert needle in err


def test_gaussian_leap_json_has_iso_leap(capsys):
    code, out, _ = run(capsys, "leap", "rotated_pair", "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert (data["leap"], data["iso_leap"], data["information_exponent"]) == (1, 2, 1)


def test_boolean_leap_json_has_query_leaps(capsys):
    code, out, _ = run(capsys, "leap", "x1*x2*x3 - x1*x2*x4", "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert (data["csq_leap"], data["sq_leap"]) == (3, 2)


@pytest.mark.parametrize(
    "argv",
    [
        ["zoo"],
        ["leap", "x1 + x1*x2*x3"],
        ["leap", "He3((x1 - x2)/sqrt(2))", "--domain", "gaussian"],
        ["expand", "sign(x1 + x2 + x3)"],
        ["expand", "relu(x1)", "--domain", "gaussian"],
        ["csq", "x1 + x1*x2*x3", "--d", "32"],
    ],
)
def test_latex_output_compiles(capsys, compile_latex, argv):
    code, out, err = run(capsys, *argv, "--format", "latex")
    assert code == 0, err
    assert "\\toprule" in out
    done = compile_latex(out)
    assert done.returncode == 0, done.stdout[-3000:]


def test_zoo_has_twenty_sourced_entries(capsys):
    code, out, _ = run(capsys, "zoo", "--format", "json")
    assert code == 0
    rows = json.loads(out)
    assert len(rows) >= 20
    assert all(r["source"] for r in rows)
    by_name = {r["name"]: r for r in rows}
    assert by_name["hermite3"]["csq_exponent"] == 1
    assert by_name["hermite3"]["sgd_samples_exponent"] == 2
    assert by_name["sq_csq_gap"]["sq_leap"] == 2


def test_leap_prints_the_leap_when_the_sq_leap_is_not_computable(capsys):
    """P = 18 is beyond the exact SQ oracle: the leap and CSQ leap are still printed, the SQ
    leap is null with a note saying why (it used to fail the whole command)."""
    import json

    from csqbound.cli import main

    expr = "+".join(f"x{i}*x{i + 1}" for i in range(1, 18))
    assert main(["leap", expr, "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["leap"], data["csq_leap"], data["sq_leap"]) == (2, 2, None)
    assert data["sq_leap_note"].startswith("not computable: ")
    assert "MAX_SQ_VARIABLES" in data["sq_leap_note"]


def test_version_is_printed_and_exits_zero(capsys) -> None:
    from csqbound import __version__
    from csqbound.cli import main

    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"csqbound {__version__}"


def test_columns_choose_what_every_table_format_shows(capsys):
    """--columns picks columns in every table format; LaTeX alone defaults to a compact set."""
    code, out, err = run(capsys, "csq", "x1*x2*x3", "--columns", "target, log10 bound")
    assert code == 0, err
    assert "target" in out
    assert "log10 bound" in out
    assert "tau" not in out
    assert "exponent" not in out
    assert "Gamma_U" not in out  # the per-stage table has none of the columns: left out
    code, latex, err = run(capsys, "csq", "x1*x2*x3", "--d", "1000000", "--format", "latex")
    assert code == 0, err
    head = latex.split(r"\midrule")[0]
    assert r"$\log_{10}$" in head
    assert "& bound &" not in head  # the exact bound: not in the compact set ...
    code, full, err = run(capsys, "csq", "x1*x2*x3", "--format", "latex", "--columns", "ALL")
    assert code == 0, err
    assert "& bound &" in full.split(r"\midrule")[0]  # ... but in all of them
    code, text, err = run(capsys, "zoo")
    assert code == 0, err
    assert "source" in text  # the text table keeps every column


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["leap", "x1*x2", "--columns", "leap,nope"], "unknown column(s) 'nope'"),
        (["leap", "x1*x2", "--columns", " , "], "--columns needs column names"),
        (["leap", "x1*x2", "--columns", "leap", "--format", "json"], "does not apply"),
    ],
)
def test_bad_columns_are_one_line_errors(capsys, argv, needle):
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    assert needle in err
