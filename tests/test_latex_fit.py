"""Every ``--format latex`` output and every report table drops into a plain ``article``.

Each output is ``\\input`` into ``\\documentclass{article}`` with only ``booktabs``
(csqbound's tables need nothing else: numbers are right-aligned ``r`` columns, math
is kernel LaTeX), compiled with pdflatex, and the log must have no overfull
``\\hbox``: the table fits ``\\textwidth``. Without pdflatex these tests skip, saying
why (``.ci/run`` installs it).
"""

from __future__ import annotations

import contextlib
import io
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from csqbound.cli import main

NO_PDFLATEX = "pdflatex is not installed (.ci/run installs texlive-latex-recommended)"

#: One entry per ``--format latex`` output: every command that has the format, and the
#: cases that stress it (a numeric gaussian expansion, a leap that cannot be computed, the
#: notes of a CSQ bound, the whole catalog, a training run, a verification sweep).
COMMANDS: dict[str, list[str]] = {
    "expand": ["expand", "sign(x1 + x2 + x3)"],
    "expand_gaussian": ["expand", "He3((x1 - x2)/sqrt(2))", "--domain", "gaussian"],
    "expand_numeric": ["expand", "relu((x1 + x2)/sqrt(2))", "--domain", "gaussian"],
    "leap": ["leap", "x1 + x1*x2*x3"],
    "leap_gaussian": ["leap", "x1*x2 + (x1 + x2)/sqrt(2)", "--domain", "gaussian"],
    "leap_not_computable": ["leap", "(x1 + x2)**64", "--domain", "gaussian"],
    "csq": ["csq", "x1*x2*x3", "--d", "1000000", "--tau", "0.01"],
    "csq_gaussian": ["csq", "x1*x2 + (x1 + x2)/sqrt(2)", "--domain", "gaussian"],
    "zoo": ["zoo"],
    "graph": ["graph", "x1 + x1*x2 + x1*x2*x3", "--out", "{tmp}/graph.png"],
    "train": ["train", "x1 + x1*x2*x3", "--d", "12", "--samples", "5000", "--replicas", "2",
              "-q"],
    "verify": ["verify", "x1 + x1*x2", "--d", "4,6,8", "--seeds", "1", "--replicas", "2",
               "--samples", "5000", "--workers", "1", "-q", "--db", "{tmp}/verify.sqlite"],
}  # fmt: skip

#: A report small enough for the fast suite whose four tables all have rows: a two-stage
#: target (the stages table), a calibration case with its source (the calibration table).
SUITE = """
[report]
title = "fit check"
d = [4, 6, 8]
seeds = 1
[settings]
replicas = 2
samples = 5000
[[target]]
name = "staircase_leap2"
expression = "x1 + x1*x2*x3"
[[target]]
name = "hermite2"
expression = "He2(x1)"
domain = "gaussian"
known = "d log d (information exponent 2; Ben Arous et al. 2021)"
"""
REPORT_TABLES = ("theory", "calibration", "verification", "stages")


def _latex_outputs(tmp: Path) -> dict[str, str]:
    """Run every command in-process (``main``), stdout captured; then a tiny report."""
    outputs = {}
    for name, argv in COMMANDS.items():
        args = [a.replace("{tmp}", str(tmp)) for a in argv]
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main([*args, "--format", "latex"])
        assert code == 0, (name, err.getvalue())
        outputs[name] = out.getvalue()
    suite = tmp / "suite.toml"
    suite.write_text(SUITE)
    with contextlib.redirect_stdout(io.StringIO()):
        code = main(["report", str(suite), "--out", str(tmp / "report"), "--workers", "1",
                     "--no-pdf", "-q"])  # fmt: skip
    assert code == 0
    for table in REPORT_TABLES:
        outputs[f"report_{table}"] = (tmp / "report" / "tables" / f"{table}.tex").read_text()
    outputs["report_inputs"] = (tmp / "report" / "report.tex").read_text()
    outputs["report_folder"] = str(tmp / "report")
    return outputs


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return _latex_outputs(tmp_path_factory.mktemp("latex"))


def compile_in_article(body: str, folder: Path) -> tuple[int, str]:
    """``\\input`` ``body`` into a plain article with booktabs; the exit code and the log."""
    if shutil.which("pdflatex") is None:
        pytest.skip(NO_PDFLATEX)
    (folder / "table.tex").write_text(body, encoding="utf-8")
    (folder / "doc.tex").write_text(
        "\\documentclass{article}\n\\usepackage{booktabs}\n\\begin{document}\n"
        "\\input{table}\n\\end{document}\n"
    )
    done = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "doc.tex"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    log = (folder / "doc.log").read_text(errors="replace")
    return done.returncode, log


def overfull(log: str) -> list[str]:
    """The overfull ``\\hbox`` lines of a pdflatex log (``Overfull \\hbox (12.3pt too wide)``)."""
    return re.findall(r"Overfull \\hbox \([\d.]+pt too wide\)[^\n]*", log)


@pytest.mark.parametrize("name", [*COMMANDS, *(f"report_{t}" for t in REPORT_TABLES)])
def test_latex_output_fits_a_plain_article(name, outputs, tmp_path):
    code, log = compile_in_article(outputs[name], tmp_path)
    assert code == 0, log[-3000:]
    assert overfull(log) == [], (name, outputs[name])


def test_overfull_boxes_are_detected(tmp_path):
    """The check itself: a table that cannot fit is reported (so a pass means something)."""
    wide = "\\begin{tabular}{l}" + "x" * 400 + "\\end{tabular}"
    code, log = compile_in_article(wide, tmp_path)
    assert code == 0
    assert overfull(log)


def test_latex_tables_are_paper_ready(outputs):
    """Math cells, right-aligned numbers, words for booleans, notes as paragraphs."""
    leap = outputs["leap"]
    assert "$x_{1} + x_{1}x_{2}x_{3}$" in leap
    assert "False" not in leap
    assert "True" not in leap
    assert re.search(r"\\begin\{tabular\}\{l+r", leap)  # numbers right-aligned
    csq = outputs["csq"]
    assert r"$\tau$" in csq
    assert r"$\Gamma_U$" in csq
    assert "$1/100$" in csq
    assert r"\times10^{" in csq  # the exact bound, too long for a cell, in scientific form
    assert r"\textasciicircum" not in csq
    assert r"$d^{3}$" in csq.split(r"\end{tabular}")[-1]  # the note, a paragraph under it
    assert "{l}" not in csq  # no sentence in a one-column table
    theory = outputs["report_theory"]
    assert r"$d\log d$" in theory
    assert r"$\mathrm{He}_{2}(x_{1})$" in theory
    zoo = outputs["zoo"]
    assert "source" not in zoo.split(r"\midrule")[0]  # the compact default set


def test_report_inputs_the_tables_it_writes(outputs):
    inputs = re.findall(r"\\input\{([^}]*)\}", outputs["report_inputs"])
    assert inputs == [f"tables/{t}.tex" for t in REPORT_TABLES]


def test_report_compiles_with_its_figures_at_their_drawn_size(outputs):
    """The report's figures go in unscaled (their 8-9 pt text stays 8-9 pt) and fit the page."""
    graphics = re.findall(r"\\includegraphics(\[[^]]*\])?\{([^}]*)\}", outputs["report_inputs"])
    assert len(graphics) == 4  # two targets, a scaling and a run figure each
    assert all(option == "" for option, _ in graphics), graphics
    if shutil.which("pdflatex") is None:
        pytest.skip(NO_PDFLATEX)
    folder = Path(outputs["report_folder"])
    done = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "report.tex"],
        cwd=folder, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    log = (folder / "report.log").read_text(errors="replace")
    assert done.returncode == 0, log[-2000:]
    assert not overfull(log)


def test_expressions_compile_as_math(tmp_path):
    """Every construct of the parser's whitelist becomes math that compiles and fits."""
    from csqbound.report.tables import Table, expression_latex, render

    texts = [
        "x1*x2*x3", "He3((x1 - x2)/sqrt(2))", "He(4, x2) - 0.5*x1", "sign(x1 + x2 + x3)",
        "abs(x1)*x2", "max(x1, x2, -x3)", "min(x1, x2)", "relu((x1 + x2)/sqrt(2))",
        "tanh(x1) + exp(x2) + sin(x3) + cos(x4)", "(x1**2)**3 - x2**2", "2*-x1", "-x1*x2 + 3/4",
        "x1 - (x2 - x3)", "(x1 + x2)**64",
    ]  # fmt: skip
    for text in texts:
        assert expression_latex(text).latex.startswith("$"), text
    table = Table(("expression", "text"), tuple((expression_latex(t), t) for t in texts))
    code, log = compile_in_article(render(table, "latex"), tmp_path)
    assert code == 0, log[-3000:]
    assert overfull(log) == []


def test_wide_tables_are_fitted_to_the_textwidth(tmp_path):
    """Long user text and many columns: smaller type, two-line headers, paragraph columns."""
    words = "a fairly long description of a target from somebody's paper, with a citation"
    rows = tuple(
        (f"target {i}", words, i, 0.5 * i, "boolean", words[: 10 + 5 * i]) for i in range(5)
    )
    from csqbound.report.tables import Table, render

    t = Table(("name of it", "description", "leap value", "slope value", "domain", "source"), rows)
    latex = render(t, "latex")
    assert "p{" in latex
    code, log = compile_in_article(latex, tmp_path)
    assert code == 0, log[-3000:]
    assert overfull(log) == []
