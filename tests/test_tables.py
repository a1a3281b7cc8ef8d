"""Tests of the table renderer: escaping, formats, and LaTeX that compiles."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from csqbound.errors import CsqboundError
from csqbound.monomial import Monomial
from csqbound.report.tables import (
    Table,
    check_format,
    latex_escape,
    monomial_latex,
    render,
)

NASTY = r"50% & $x_1$ #2 {a} ~ ^ \ < > | end"


def test_escape_every_special_character():
    out = latex_escape(NASTY)
    for raw in "&%$#_{}":
        assert f"\\{raw}" in out
    assert "\\textbackslash{}" in out
    assert "~" not in out.replace("\\textasciitilde{}", "")


@given(st.text(max_size=40))
def test_escape_leaves_no_unescaped_special(text):
    from csqbound.report.tables import _LATEX_ACCENTS, _LATEX_UNICODE

    out = latex_escape(text)
    assert out.isascii()
    stripped = out
    replacements = [
        r"\textbackslash{}",
        r"\textasciitilde{}",
        r"\textasciicircum{}",
        r"\textless{}",
        r"\textgreater{}",
        r"\textbar{}",
        *_LATEX_UNICODE.values(),
    ]
    for rep in sorted(replacements, key=len, reverse=True):
        stripped = stripped.replace(rep, "")
    for accent in _LATEX_ACCENTS.values():
        stripped = stripped.replace(accent + "{", "")
    for ch in "&%$#_{}":
        stripped = stripped.replace("\\" + ch, "")
    stripped = stripped.replace("}", "")  # closing braces of accent commands
    assert not any(ch in stripped for ch in "\\&%$#_{~^")


def test_formats_agree_on_content():
    t = Table(("target", "leap"), (("x1*x2", 2), ("x1 + x1*x2", 1)), title="Leaps")
    md = render(t, "markdown")
    assert "| x1*x2 | 2 |" in md
    data = json.loads(render(t, "json"))
    assert data == [{"target": "x1*x2", "leap": 2}, {"target": "x1 + x1*x2", "leap": 1}]
    assert "x1 + x1*x2" in render(t, "table")
    latex = render(t, "latex")
    assert "\\toprule" in latex
    assert "\\midrule" in latex
    assert "\\bottomrule" in latex


def test_bad_format_and_ragged_rows():
    with pytest.raises(CsqboundError, match="unknown format"):
        check_format("html")
    with pytest.raises(CsqboundError, match="columns"):
        Table(("a", "b"), (("only one",),))


def test_latex_table_compiles(tmp_path, compile_latex):
    mono = monomial_latex(Monomial.from_mapping({1: 2, 3: 1}))
    t = Table(("name & more", "monomial"), ((NASTY, mono),), title="Caption with 100% _ & #")
    done = compile_latex(render(t, "latex"))
    assert done.returncode == 0, done.stdout[-2000:]
    assert (tmp_path / "doc.pdf").stat().st_size > 0


def test_text_table_shows_brackets_literally():
    out = render(
        Table(("class [d]",), (("pi: [P] -> [d] [bold]x[/bold]",),), title="[P]→[d]"), "table"
    )
    assert "[P] -> [d] [bold]x[/bold]" in out
    assert "[P]→[d]" in out
    assert "class [d]" in out


def test_unicode_and_latin1_text_compiles(compile_latex):
    from csqbound.report.tables import _LATEX_UNICODE

    latin1 = "".join(chr(c) for c in range(161, 256) if chr(c) not in "\xad")
    text = "f∘π [P]→[d] " + "".join(_LATEX_UNICODE) + " 日本 ∑ " + latin1
    t = Table(("text",), ((text,),), title=text[:40])
    done = compile_latex(render(t, "latex"))
    assert done.returncode == 0, done.stdout[-3000:]


def test_latex_cells_are_typeset_and_numbers_right_aligned():
    from csqbound.report.tables import expression_latex, scale_latex

    t = Table(
        ("name", "n", "exact", "flag", "law", "ci", "range"),
        (
            (expression_latex("He2(x1)*x3"), 12, "20833270833374999/2500", False,
             scale_latex("d^2"), "[-0.50, 1.20]", "8-32"),
            ("b", -3, "1/100", True, scale_latex("d log d"), "-", "16-64"),
        ),
    )  # fmt: skip
    latex = render(t, "latex")
    assert r"\begin{tabular}{lrrllrr}" in latex
    assert r"$\mathrm{He}_{2}(x_{1})\,x_{3}$" in latex
    assert r"$8.33\times10^{12}$" in latex
    assert "$1/100$" in latex
    assert " no " in latex
    assert " yes " in latex
    assert r"$d^{2}$" in latex
    assert r"$d\log d$" in latex
    assert r"[\ensuremath{-}0.50, 1.20]" in latex
    assert "8--32" in latex
    assert r"\ensuremath{-}3" in latex
    # the other formats are untouched: the numbers and words as given
    assert "20833270833374999/2500" in render(t, "table")
    assert json.loads(render(t, "json"))[0]["flag"] is False


def test_notes_are_paragraphs_in_latex_and_a_table_elsewhere():
    t = Table(("a",), ((1,),), notes=("grows as d^3 queries, 50% of tau",))
    latex = render(t, "latex")
    assert "{l}" not in latex
    assert r"grows as $d^{3}$ queries, 50\% of $\tau$\par" in latex.split(r"\end{tabular}")[1]
    plain = render(t, "table")
    assert plain.endswith(
        render(Table(("note",), (("grows as d^3 queries, 50% of tau",),)), "table")
    )


def test_select_columns_and_compact_sets():
    from csqbound.report.tables import parse_columns, select_columns

    t = Table(("A b", "c"), ((1, 2),), compact=("c",))
    assert "A b" not in render(t, "latex")
    assert "A b" in render(t, "latex", ["all"])
    assert render(t, "markdown", ["a  B"]).splitlines()[0] == "| A b |"
    assert parse_columns("all, c") == ("all",)
    with pytest.raises(CsqboundError, match="choose from: A b, c"):
        select_columns([t], ["nope"], "table")
    with pytest.raises(CsqboundError, match="compact columns"):
        Table(("a",), ((1,),), compact=("b",))
