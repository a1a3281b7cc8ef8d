"""Rows to text: plain tables, markdown, JSON and LaTeX (booktabs, escaped).

Library functions return data; this module only renders it. A :class:`Table`
is a header plus rows of strings; :func:`render` turns it into one of the
output formats every CLI command shares. Cells are plain text and escaped for
LaTeX, except cells wrapped in :class:`Math`, which are LaTeX math already
built by csqbound itself (never from user text).
"""

from __future__ import annotations

import io
import json
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from csqbound.errors import CsqboundError
from csqbound.monomial import Monomial

__all__ = [
    "Format",
    "Math",
    "Table",
    "check_format",
    "latex_document",
    "latex_escape",
    "monomial_latex",
    "render",
    "to_json",
]

Format = Literal["table", "json", "markdown", "latex"]

_LATEX_SPECIALS = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
    "|": r"\textbar{}",
}


# Non-ASCII symbols that turn up in csqbound's own labels and in user text, as LaTeX
# that compiles without extra packages; anything else outside Latin-1 is transliterated.
_LATEX_UNICODE = {
    "∘": r"\ensuremath{\circ}",
    "→": r"\ensuremath{\to}",
    "≤": r"\ensuremath{\le}",
    "≥": r"\ensuremath{\ge}",
    "≠": r"\ensuremath{\ne}",
    "≈": r"\ensuremath{\approx}",
    "×": r"\ensuremath{\times}",
    "·": r"\ensuremath{\cdot}",
    "−": "-",
    "–": "--",
    "—": "---",
    "√": r"\ensuremath{\surd}",
    "∞": r"\ensuremath{\infty}",
    "∈": r"\ensuremath{\in}",
    "⊆": r"\ensuremath{\subseteq}",
    "⊂": r"\ensuremath{\subset}",
    "∪": r"\ensuremath{\cup}",
    "∩": r"\ensuremath{\cap}",
    "∅": r"\ensuremath{\emptyset}",
    "‖": r"\ensuremath{\|}",
    "²": r"\ensuremath{^2}",
    "³": r"\ensuremath{^3}",
    "…": r"\ldots{}",
    "“": "``",
    "”": "''",
    "‘": "`",
    "’": "'",
}
_GREEK = [
    "alpha",
    "beta",
    "gamma",
    "delta",
    "epsilon",
    "zeta",
    "eta",
    "theta",
    "iota",
    "kappa",
    "lambda",
    "mu",
    "nu",
    "xi",
    "omicron",
    "pi",
    "rho",
    "sigma",
    "tau",
    "upsilon",
    "phi",
    "chi",
    "psi",
    "omega",
]
for _i, _name in enumerate(_GREEK):
    _LATEX_UNICODE[chr(0x3B1 + _i + (1 if _i >= 17 else 0))] = rf"\ensuremath{{\{_name}}}"
_LATEX_UNICODE["ο"] = "o"
_LATEX_UNICODE.update(
    {
        "ß": r"\ss{}",
        "æ": r"\ae{}",
        "Æ": r"\AE{}",
        "ø": r"\o{}",
        "Ø": r"\O{}",
        "œ": r"\oe{}",
        "Œ": r"\OE{}",
        "ł": r"\l{}",
        "Ł": r"\L{}",
        "¡": "!`",
        "¿": "?`",
        "£": r"\pounds{}",
        "§": r"\S{}",
        "¶": r"\P{}",
        "©": r"\copyright{}",
        "°": r"\ensuremath{^\circ}",
        "±": r"\ensuremath{\pm}",
        "µ": r"\ensuremath{\mu}",
        "¬": r"\ensuremath{\neg}",
        "÷": r"\ensuremath{\div}",
        "¹": r"\ensuremath{^1}",
        "\xa0": "~",
    }
)
# Accents as LaTeX accent commands, so accented letters compile in any font encoding.
_LATEX_ACCENTS = {
    "\u0300": "\\`",
    "\u0301": "\\'",
    "\u0302": "\\^",
    "\u0303": "\\~",
    "\u0304": "\\=",
    "\u0306": "\\u",
    "\u0307": "\\.",
    "\u0308": '\\"',
    "\u030a": "\\r",
    "\u030b": "\\H",
    "\u030c": "\\v",
    "\u0327": "\\c",
    "\u0328": "\\k",
}


def _latex_non_ascii(ch: str) -> str:
    """One non-ASCII character as LaTeX that needs no package beyond the kernel."""
    if ch in _LATEX_UNICODE:
        return _LATEX_UNICODE[ch]
    parts = unicodedata.normalize("NFKD", ch)
    base, marks = parts[:1], parts[1:]
    if base.isascii() and base.isalpha() and marks and all(m in _LATEX_ACCENTS for m in marks):
        out = base
        for mark in marks:
            out = _LATEX_ACCENTS[mark] + "{" + out + "}"
        return out
    ascii_form = parts.encode("ascii", "ignore").decode()
    return latex_escape(ascii_form) if ascii_form else "?"


def check_format(fmt: str) -> Format:
    """Validate an output format name.

    Examples
    --------
    >>> check_format("latex")
    'latex'
    """
    match fmt:
        case "table" | "json" | "markdown" | "latex":
            return fmt  # type: ignore[return-value]
        case _:
            msg = f"unknown format {fmt!r}: use table, json, markdown or latex"
            raise CsqboundError(msg)


def latex_escape(text: str) -> str:
    r"""Escape text for LaTeX's text mode (every special character, control characters dropped).

    Examples
    --------
    >>> latex_escape("x1*x2 & 50% of $_{}")
    'x1*x2 \\& 50\\% of \\$\\_\\{\\}'
    >>> latex_escape("a\\b~c^d")
    'a\\textbackslash{}b\\textasciitilde{}c\\textasciicircum{}d'
    """
    out = []
    for ch in str(text):
        if ch in _LATEX_SPECIALS:
            out.append(_LATEX_SPECIALS[ch])
        elif ch in "\n\t\r":
            out.append(" ")
        elif ord(ch) < 32 or 127 <= ord(ch) < 160:
            continue
        elif ch.isascii():
            out.append(ch)
        else:
            out.append(_latex_non_ascii(ch))
    return "".join(out)


@dataclass(frozen=True)
class Math:
    """A cell holding LaTeX math built by csqbound (not escaped), with a plain-text twin."""

    latex: str
    text: str

    def __str__(self) -> str:
        return self.text


def monomial_latex(monomial: Monomial) -> Math:
    r"""LaTeX math for a monomial: ``x_{1} x_{2}`` or ``\mathrm{He}_{2}(x_{1})``.

    Examples
    --------
    >>> monomial_latex(Monomial.from_mapping({1: 2, 3: 1})).latex
    '$\\mathrm{He}_{2}(x_{1})\\,x_{3}$'
    """
    if not monomial.powers:
        return Math("$1$", "1")
    parts = [
        f"x_{{{c}}}" if k == 1 else f"\\mathrm{{He}}_{{{k}}}(x_{{{c}}})" for c, k in monomial.powers
    ]
    return Math("$" + r"\,".join(parts) + "$", str(monomial))


Cell = str | int | float | Math | None


@dataclass(frozen=True)
class Table:
    """A header and rows of cells, with an optional title (caption in LaTeX).

    Examples
    --------
    >>> t = Table(("target", "leap"), (("x1*x2", 2),))
    >>> print(render(t, "markdown"))
    | target | leap |
    |---|---|
    | x1*x2 | 2 |
    """

    columns: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]
    title: str | None = None
    label: str | None = None

    def __post_init__(self) -> None:
        for row in self.rows:
            if len(row) != len(self.columns):
                msg = (
                    f"row {row!r} has {len(row)} cells "
                    f"but the table has {len(self.columns)} columns"
                )
                raise CsqboundError(msg)

    @classmethod
    def from_records(
        cls, records: Iterable[Mapping[str, Cell]], columns: Sequence[str], title: str | None = None
    ) -> Table:
        """Build from dicts, taking ``columns`` in order (missing keys are empty)."""
        rows = tuple(tuple(rec.get(c) for c in columns) for rec in records)
        return cls(tuple(columns), rows, title)


def _plain(cell: Cell) -> str:
    if cell is None:
        return ""
    if isinstance(cell, float):
        return f"{cell:.6g}"
    return str(cell)


def _latex_cell(cell: Cell) -> str:
    if isinstance(cell, Math):
        return cell.latex
    return latex_escape(_plain(cell))


def _to_text(table: Table) -> str:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table as RichTable

    rich_table = RichTable(title=escape(table.title) if table.title else None, show_lines=False)
    for col in table.columns:
        rich_table.add_column(escape(col), overflow="fold")
    for row in table.rows:
        rich_table.add_row(*(escape(_plain(c)) for c in row))
    buffer = io.StringIO()
    Console(file=buffer, width=160, color_system=None, force_terminal=False).print(rich_table)
    return buffer.getvalue().rstrip("\n")


def _to_markdown(table: Table) -> str:
    def esc(s: str) -> str:
        return s.replace("|", r"\|").replace("\n", " ")

    lines = []
    if table.title:
        lines += [f"**{esc(table.title)}**", ""]
    lines.append("| " + " | ".join(esc(c) for c in table.columns) + " |")
    lines.append("|" + "---|" * len(table.columns))
    lines += ["| " + " | ".join(esc(_plain(c)) for c in row) + " |" for row in table.rows]
    return "\n".join(lines)


def _to_latex(table: Table) -> str:
    align = "l" * len(table.columns)
    lines = [r"\begin{table}[ht]", r"\centering"]
    if table.title:
        lines.append(r"\caption{" + latex_escape(table.title) + "}")
    if table.label:
        lines.append(r"\label{" + latex_escape(table.label) + "}")
    lines += [
        r"\begin{tabular}{" + align + "}",
        r"\toprule",
        " & ".join(latex_escape(c) for c in table.columns) + r" \\",
        r"\midrule",
    ]
    lines += [" & ".join(_latex_cell(c) for c in row) + r" \\" for row in table.rows]
    lines += [r"\bottomrule", r"\end{tabular}", r"\end{table}"]
    return "\n".join(lines)


def to_json(data: Any) -> str:
    """Serialise CLI data: ``Math`` cells become their text, other objects their ``str``."""

    def default(obj: Any) -> Any:
        if isinstance(obj, Math):
            return obj.text
        if isinstance(obj, set | frozenset | tuple):
            return list(obj)
        if hasattr(obj, "to_dict"):
            return obj.to_dict()
        return str(obj)

    return json.dumps(data, indent=2, default=default, allow_nan=False)


def render(table: Table, fmt: str) -> str:
    """Render a table as ``table`` (aligned text), ``markdown``, ``latex`` or ``json``.

    Examples
    --------
    >>> t = Table(("name", "leap"), (("50% & more", 1),))
    >>> print(render(t, "latex"))
    \\begin{table}[ht]
    \\centering
    \\begin{tabular}{ll}
    \\toprule
    name & leap \\\\
    \\midrule
    50\\% \\& more & 1 \\\\
    \\bottomrule
    \\end{tabular}
    \\end{table}
    """
    match check_format(fmt):
        case "table":
            return _to_text(table)
        case "markdown":
            return _to_markdown(table)
        case "latex":
            return _to_latex(table)
        case "json":
            records = [
                {
                    c: (_plain(v) if isinstance(v, Math) else v)
                    for c, v in zip(table.columns, row, strict=True)
                }
                for row in table.rows
            ]
            return to_json(records)


def latex_document(*bodies: str, title: str | None = None, landscape: bool = False) -> str:
    """A standalone LaTeX document (article, booktabs, graphicx) around table bodies.

    Examples
    --------
    >>> doc = latex_document("x")
    >>> doc.splitlines()[0]
    '\\\\documentclass{article}'
    """
    head = [
        r"\documentclass{article}",
        r"\usepackage{booktabs}",
        r"\usepackage{graphicx}",
        r"\usepackage{amsmath}",
        r"\usepackage[margin=1.5cm%s]{geometry}" % (",landscape" if landscape else ""),
        r"\begin{document}",
    ]
    if title:
        head.append(r"\section*{" + latex_escape(title) + "}")
    return "\n".join([*head, *bodies, r"\end{document}", ""])
